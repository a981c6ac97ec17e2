package scheduler

import (
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(t0)
	now := c.After(0)
	a := c.After(time.Second)
	b := c.After(time.Minute)
	if got := <-now; !got.Equal(t0) {
		t.Fatalf("After(0) = %v, want %v", got, t0)
	}
	if n := c.Waiters(); n != 2 {
		t.Fatalf("Waiters() = %d, want 2", n)
	}
	c.Advance(time.Second - 1)
	select {
	case <-a:
		t.Fatal("After(1s) fired early")
	default:
	}
	c.Advance(1)
	if got := <-a; !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("After(1s) = %v, want %v", got, t0.Add(time.Second))
	}
	c.Set(t0) // backwards: nothing fires
	if n := c.Waiters(); n != 1 {
		t.Fatalf("Waiters() = %d, want 1", n)
	}
	c.Set(t0.Add(time.Hour))
	if got := <-b; !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("After(1m) = %v, want %v", got, t0.Add(time.Hour))
	}
	if got := c.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Now() = %v, want %v", got, t0.Add(time.Hour))
	}
}
