package scheduler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/bolt"
	"github.com/keyward/keyward/internal/store/memory"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// engines runs f against every store engine.
func engines(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("memory", func(t *testing.T) { f(t, memory.New()) })
	t.Run("bolt", func(t *testing.T) { f(t, openBolt(t, filepath.Join(t.TempDir(), "keyward.db"))) })
}

func openBolt(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSched(st store.Store, clk Clock, node string) *Scheduler {
	return New(st, Options{Clock: clk, Node: node, LeaseDuration: time.Minute,
		RetryBackoff: 10 * time.Second, MaxRetryBackoff: 25 * time.Second})
}

// recorder is a handler that records the IDs it ran, in order.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) handle(ctx context.Context, job Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, job.ID)
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.ids
	r.ids = nil
	return ids
}

func mustSchedule(t *testing.T, s *Scheduler, id, kind string, due time.Time) {
	t.Helper()
	if err := s.Schedule(context.Background(), Job{ID: id, Kind: kind, Due: due, Data: []byte("data:" + id)}); err != nil {
		t.Fatalf("Schedule(%q) = %v", id, err)
	}
}

func runDue(t *testing.T, s *Scheduler, want int) {
	t.Helper()
	n, err := s.RunDue(context.Background())
	if err != nil || n != want {
		t.Fatalf("RunDue() at %v = %d, %v; want %d, nil", s.clock.Now(), n, err, want)
	}
}

func pending(t *testing.T, s *Scheduler, prefix string) []Job {
	t.Helper()
	jobs, err := s.Pending(context.Background(), prefix)
	if err != nil {
		t.Fatalf("Pending(%q) = %v", prefix, err)
	}
	return jobs
}

func pendingIDs(t *testing.T, s *Scheduler) []string {
	t.Helper()
	var ids []string
	for _, j := range pending(t, s, "") {
		ids = append(ids, j.ID)
	}
	return ids
}

// eventually waits, briefly and in real time, for a goroutine to get
// somewhere; the scheduler's own time only moves with the fake clock.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunDueRunsDueJobsOnceInOrder(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		s := newSched(st, clk, "a")
		var r recorder
		var gotData []string
		s.Handle("rotate", func(ctx context.Context, job Job) error {
			gotData = append(gotData, string(job.Data))
			if job.Attempt != 1 || job.Kind != "rotate" {
				t.Errorf("handler got Attempt %d, Kind %q; want 1, rotate", job.Attempt, job.Kind)
			}
			return r.handle(ctx, job)
		})
		// Inserted out of due order.
		mustSchedule(t, s, "rotate/k3", "rotate", t0.Add(3*time.Minute))
		mustSchedule(t, s, "rotate/k1", "rotate", t0.Add(1*time.Minute))
		mustSchedule(t, s, "rotate/k2", "rotate", t0.Add(2*time.Minute))

		runDue(t, s, 0)
		clk.Advance(time.Minute - time.Nanosecond)
		runDue(t, s, 0)
		clk.Advance(time.Nanosecond + time.Minute)
		runDue(t, s, 2)
		runDue(t, s, 0)
		if got, want := r.take(), []string{"rotate/k1", "rotate/k2"}; !slices.Equal(got, want) {
			t.Fatalf("ran %q, want %q", got, want)
		}
		if got, want := gotData, []string{"data:rotate/k1", "data:rotate/k2"}; !slices.Equal(got, want) {
			t.Fatalf("handler data %q, want %q", got, want)
		}
		if got, want := pendingIDs(t, s), []string{"rotate/k3"}; !slices.Equal(got, want) {
			t.Fatalf("Pending = %q, want %q", got, want)
		}
		clk.Advance(time.Hour)
		runDue(t, s, 1)
		runDue(t, s, 0)
		if got := pendingIDs(t, s); len(got) != 0 {
			t.Fatalf("Pending after all ran = %q, want none", got)
		}
		assertNoSchedKeys(t, st)
	})
}

// assertNoSchedKeys checks that completed jobs leave nothing behind.
func assertNoSchedKeys(t *testing.T, st store.Store) {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Tx) error {
		es, err := tx.List("sched/", "", 0)
		for _, e := range es {
			t.Errorf("leftover key %q", e.Key)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCatchUpAfterDowntime(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		s := newSched(st, clk, "a")
		var r recorder
		s.Handle("rotate", r.handle)
		s.Handle("delete", r.handle)
		// A rotation due many periods ago runs once; everything due runs
		// in due order, whatever the kind; the future job waits.
		mustSchedule(t, s, "delete/k2", "delete", t0.Add(-2*time.Hour))
		mustSchedule(t, s, "rotate/k1/2", "rotate", t0.Add(-400*24*time.Hour))
		mustSchedule(t, s, "rotate/k3/1", "rotate", t0.Add(-time.Second))
		mustSchedule(t, s, "rotate/k4/1", "rotate", t0.Add(time.Second))
		for i := range 100 { // more than one listing batch
			mustSchedule(t, s, fmt.Sprintf("rotate/bulk/%03d", i), "rotate", t0.Add(-time.Hour))
		}
		runDue(t, s, 103)
		got := r.take()
		want := []string{"rotate/k1/2", "delete/k2"}
		for i := range 100 {
			want = append(want, fmt.Sprintf("rotate/bulk/%03d", i))
		}
		want = append(want, "rotate/k3/1")
		if !slices.Equal(got, want) {
			t.Fatalf("catch-up order = %q, want %q", got, want)
		}
		if got, want := pendingIDs(t, s), []string{"rotate/k4/1"}; !slices.Equal(got, want) {
			t.Fatalf("Pending = %q, want %q", got, want)
		}
	})
}

func TestScheduleIsIdempotentUpsert(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		s := newSched(st, clk, "a")
		var r recorder
		s.Handle("delete", r.handle)
		due := t0.Add(time.Hour)
		mustSchedule(t, s, "delete/k1", "delete", due)
		mustSchedule(t, s, "delete/k1", "delete", due.In(time.FixedZone("X", 3600)))
		if got := pending(t, s, ""); len(got) != 1 || !got[0].Due.Equal(due) || !got[0].Next.Equal(due) {
			t.Fatalf("Pending after scheduling twice = %+v, want one job due %v", got, due)
		}

		// A changed job replaces the stored one: the old due time is gone.
		later := t0.Add(2 * time.Hour)
		mustSchedule(t, s, "delete/k1", "delete", later)
		clk.Set(due)
		runDue(t, s, 0)
		clk.Set(later)
		runDue(t, s, 1)
		if got := r.take(); !slices.Equal(got, []string{"delete/k1"}) {
			t.Fatalf("ran %q, want [delete/k1]", got)
		}
		assertNoSchedKeys(t, st)
	})
}

func TestScheduleKeepsRetryStateWhenUnchanged(t *testing.T) {
	st := memory.New()
	clk := NewFakeClock(t0)
	s := newSched(st, clk, "a")
	s.Handle("k", func(ctx context.Context, job Job) error { return errors.New("boom") })
	mustSchedule(t, s, "j", "k", t0)
	runDue(t, s, 1)
	mustSchedule(t, s, "j", "k", t0) // the same work again: no reset
	if got := pending(t, s, "j"); len(got) != 1 || got[0].Attempt != 1 || got[0].LastError != "boom" || !got[0].Next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("Pending after rescheduling the same job = %+v, want attempt 1, error boom, next +10s", got)
	}
	runDue(t, s, 0) // still backing off
}

func TestScheduleTxAndCancelTxFollowTheTransaction(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := NewFakeClock(t0)
		s := newSched(st, clk, "a")
		var r recorder
		s.Handle("delete", r.handle)

		// A transaction that fails schedules nothing.
		errAbort := errors.New("abort")
		err := st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put("key/k1", []byte("PendingDeletion")); err != nil {
				return err
			}
			if err := s.ScheduleTx(tx, Job{ID: "delete/k1", Kind: "delete", Due: t0}); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("Update = %v, want %v", err, errAbort)
		}
		if got := pendingIDs(t, s); len(got) != 0 {
			t.Fatalf("Pending after aborted ScheduleTx = %q, want none", got)
		}

		// Schedule with the state change, then cancel with the next one.
		for _, id := range []string{"delete/k1", "delete/k2"} {
			if err := st.Update(ctx, func(tx store.Tx) error {
				return s.ScheduleTx(tx, Job{ID: id, Kind: "delete", Due: t0.Add(7 * 24 * time.Hour)})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put("key/k1", []byte("Enabled")); err != nil {
				return err
			}
			return s.CancelTx(tx, "delete/k1")
		}); err != nil {
			t.Fatalf("CancelTx = %v", err)
		}
		if err := st.Update(ctx, func(tx store.Tx) error { return s.CancelTx(tx, "delete/nope") }); err != nil {
			t.Fatalf("CancelTx(missing) = %v, want nil", err)
		}
		if got, want := pendingIDs(t, s), []string{"delete/k2"}; !slices.Equal(got, want) {
			t.Fatalf("Pending after cancel = %q, want %q", got, want)
		}
		clk.Advance(30 * 24 * time.Hour)
		runDue(t, s, 1)
		if got := r.take(); !slices.Equal(got, []string{"delete/k2"}) {
			t.Fatalf("ran %q, want [delete/k2]", got)
		}
		assertNoSchedKeys(t, st)
	})
}

func TestScheduleRejectsInvalidJobs(t *testing.T) {
	s := newSched(memory.New(), NewFakeClock(t0), "a")
	tests := []Job{
		{ID: "", Kind: "k", Due: t0},
		{ID: strings.Repeat("x", MaxIDLen+1), Kind: "k", Due: t0},
		{ID: "bad\xff", Kind: "k", Due: t0},
		{ID: "j", Kind: "", Due: t0},
		{ID: "j", Kind: "k"}, // zero Due
		{ID: "j", Kind: "k", Due: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{ID: "j", Kind: "k", Due: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, job := range tests {
		if err := s.Schedule(context.Background(), job); err == nil {
			t.Errorf("Schedule(%q, %q, %v) = nil, want error", job.ID, job.Kind, job.Due)
		}
	}
}

func TestRestartKeepsJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyward.db")
	ctx := context.Background()
	clk := NewFakeClock(t0)

	db, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := newSched(db, clk, "a")
	var r recorder
	s.Handle("rotate", r.handle)
	for i := 1; i <= 4; i++ {
		mustSchedule(t, s, fmt.Sprintf("rotate/k%d", i), "rotate", t0.Add(time.Duration(i)*time.Minute))
	}
	clk.Set(t0.Add(90 * time.Second))
	runDue(t, s, 1)
	// Node a claims k2 and dies before finishing it.
	clk.Set(t0.Add(2 * time.Minute))
	if _, ok, err := s.claim(ctx, "rotate/k2", t0.Add(2*time.Minute), clk.Now()); !ok || err != nil {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A new process (new node id) comes back 10 seconds later: k2's lease
	// is still live, k3 and k4 are not due yet.
	db = openBolt(t, path)
	clk.Set(t0.Add(2*time.Minute + 10*time.Second))
	s2 := newSched(db, clk, "b")
	var r2 recorder
	s2.Handle("rotate", r2.handle)
	if got, want := pendingIDs(t, s2), []string{"rotate/k2", "rotate/k3", "rotate/k4"}; !slices.Equal(got, want) {
		t.Fatalf("Pending after reopen = %q, want %q", got, want)
	}
	runDue(t, s2, 0)
	// After the downtime everything due runs, k2 once its lease expired.
	clk.Set(t0.Add(time.Hour))
	runDue(t, s2, 3)
	if got, want := r2.take(), []string{"rotate/k2", "rotate/k3", "rotate/k4"}; !slices.Equal(got, want) {
		t.Fatalf("ran after restart %q, want %q", got, want)
	}
	if got := r.take(); !slices.Equal(got, []string{"rotate/k1"}) {
		t.Fatalf("ran before restart %q, want [rotate/k1]", got)
	}
	assertNoSchedKeys(t, db)
}

func TestManyNodesRunEachJobExactlyOnce(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		const nodes, jobs = 4, 120
		ctx := context.Background()
		clk := NewFakeClock(t0)
		var runs [jobs]atomic.Int32
		var running [jobs]atomic.Bool
		var perNode [nodes]atomic.Int32
		scheds := make([]*Scheduler, nodes)
		for n := range scheds {
			s := newSched(st, clk, fmt.Sprintf("node-%d", n))
			s.Handle("rotate", func(ctx context.Context, job Job) error {
				var i int
				fmt.Sscanf(job.ID, "rotate/%d", &i)
				if !running[i].CompareAndSwap(false, true) {
					t.Errorf("job %s run concurrently", job.ID)
				}
				runs[i].Add(1)
				perNode[n].Add(1)
				time.Sleep(10 * time.Microsecond) // widen the race window
				running[i].Store(false)
				return nil
			})
			scheds[n] = s
		}
		for i := range jobs {
			// Pairs of jobs share a due time to make the nodes collide.
			mustSchedule(t, scheds[i%nodes], fmt.Sprintf("rotate/%03d", i), "rotate", t0.Add(time.Duration(i/2)*time.Second))
		}

		var stop atomic.Bool
		var wg sync.WaitGroup
		var total atomic.Int32
		for _, s := range scheds {
			wg.Go(func() {
				for !stop.Load() {
					n, err := s.RunDue(ctx)
					if err != nil {
						t.Errorf("RunDue = %v", err)
						return
					}
					total.Add(int32(n))
				}
			})
		}
		for range jobs / 2 {
			clk.Advance(time.Second)
			time.Sleep(50 * time.Microsecond)
		}
		eventually(t, "all jobs to run", func() bool { return total.Load() >= jobs })
		stop.Store(true)
		wg.Wait()

		for i := range runs {
			if n := runs[i].Load(); n != 1 {
				t.Errorf("job %d ran %d times, want 1", i, n)
			}
		}
		if got := total.Load(); got != jobs {
			t.Errorf("RunDue counts sum to %d, want %d", got, jobs)
		}
		t.Logf("jobs per node: %d %d %d %d", perNode[0].Load(), perNode[1].Load(), perNode[2].Load(), perNode[3].Load())
		assertNoSchedKeys(t, st)
	})
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := NewFakeClock(t0)
		a := newSched(st, clk, "a")
		b := newSched(st, clk, "b")
		var attempts []int
		b.Handle("expire-import", func(ctx context.Context, job Job) error {
			attempts = append(attempts, job.Attempt)
			return nil
		})
		a.Handle("expire-import", func(ctx context.Context, job Job) error {
			t.Error("node a ran the job again")
			return nil
		})
		mustSchedule(t, a, "expire-import/k1", "expire-import", t0)

		// Node a claims the job and crashes (never finishes).
		stale, ok, err := a.claim(ctx, "expire-import/k1", t0, clk.Now())
		if !ok || err != nil {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		runDue(t, b, 0)
		runDue(t, a, 0) // a's own new process cannot take it either
		clk.Advance(time.Minute - time.Nanosecond)
		runDue(t, b, 0)
		clk.Advance(time.Nanosecond)
		runDue(t, b, 1)
		if !slices.Equal(attempts, []int{2}) {
			t.Fatalf("takeover attempts = %v, want [2]", attempts)
		}
		// The crashed attempt waking up cannot complete, and its finish
		// changes nothing.
		err = st.Update(ctx, func(tx store.Tx) error { return a.CompleteTx(tx, stale) })
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("stale CompleteTx = %v, want ErrLeaseLost", err)
		}
		if err := a.finish(ctx, stale, errors.New("late failure"), false); err != nil {
			t.Fatalf("stale finish = %v", err)
		}
		runDue(t, a, 0)
		assertNoSchedKeys(t, st)
	})
}

func TestRunningHandlerRenewsLease(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := NewFakeClock(t0)
		a := newSched(st, clk, "a")
		b := newSched(st, clk, "b")
		started, release := make(chan struct{}), make(chan struct{})
		var runs atomic.Int32
		handler := func(ctx context.Context, job Job) error {
			if runs.Add(1) == 1 {
				close(started)
				<-release
			}
			return nil
		}
		a.Handle("rotate", handler)
		b.Handle("rotate", handler)
		mustSchedule(t, a, "rotate/k1", "rotate", t0)

		done := make(chan error)
		go func() { _, err := a.RunDue(ctx); done <- err }()
		<-started
		// Five minutes pass in renewal steps; the lease (one minute) never
		// runs out, so node b never takes the job.
		for range 15 {
			eventually(t, "renewal timer", func() bool { return clk.Waiters() == 1 })
			clk.Advance(20 * time.Second)
			want := clk.Now().Add(time.Minute)
			eventually(t, "lease renewal", func() bool { return claimExpiry(t, st, "rotate/k1").Equal(want) })
			runDue(t, b, 0)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("RunDue = %v", err)
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("job ran %d times, want 1", n)
		}
		assertNoSchedKeys(t, st)
	})
}

func claimExpiry(t *testing.T, st store.Store, id string) time.Time {
	t.Helper()
	var c claim
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = getClaim(tx, id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return c.Expires
}

func TestFailingHandlerRetriesWithBackoff(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		clk := NewFakeClock(t0)
		s := newSched(st, clk, "a") // backoff 10s, capped at 25s
		var attempts []int
		s.Handle("rotate", func(ctx context.Context, job Job) error {
			attempts = append(attempts, job.Attempt)
			if job.Attempt <= 3 {
				return fmt.Errorf("keystore unavailable (attempt %d)", job.Attempt)
			}
			return nil
		})
		mustSchedule(t, s, "rotate/k1", "rotate", t0)

		steps := []struct {
			wait  time.Duration // until the retry is due
			next  time.Duration // backoff recorded after this attempt
			error string
		}{
			{0, 10 * time.Second, "keystore unavailable (attempt 1)"},
			{10 * time.Second, 20 * time.Second, "keystore unavailable (attempt 2)"},
			{20 * time.Second, 25 * time.Second, "keystore unavailable (attempt 3)"},
		}
		for i, st := range steps {
			if st.wait > 0 {
				clk.Advance(st.wait - time.Nanosecond)
				runDue(t, s, 0)
				clk.Advance(time.Nanosecond)
			}
			runDue(t, s, 1)
			got := pending(t, s, "")
			if len(got) != 1 {
				t.Fatalf("attempt %d: Pending = %+v, want the job kept", i+1, got)
			}
			if j := got[0]; j.Attempt != i+1 || j.LastError != st.error || !j.Next.Equal(clk.Now().Add(st.next)) || !j.Due.Equal(t0) {
				t.Fatalf("attempt %d: job = {Attempt %d, LastError %q, Next %v, Due %v}, want {%d, %q, %v, %v}",
					i+1, j.Attempt, j.LastError, j.Next, j.Due, i+1, st.error, clk.Now().Add(st.next), t0)
			}
		}
		clk.Advance(25 * time.Second)
		runDue(t, s, 1)
		if want := []int{1, 2, 3, 4}; !slices.Equal(attempts, want) {
			t.Fatalf("attempts = %v, want %v", attempts, want)
		}
		assertNoSchedKeys(t, st)
	})
}

func TestHandlerPanicIsAFailedAttempt(t *testing.T) {
	clk := NewFakeClock(t0)
	s := newSched(memory.New(), clk, "a")
	s.Handle("rotate", func(ctx context.Context, job Job) error { panic("bad key spec") })
	mustSchedule(t, s, "rotate/k1", "rotate", t0)
	runDue(t, s, 1)
	if got := pending(t, s, ""); len(got) != 1 || got[0].LastError != "handler panic: bad key spec" {
		t.Fatalf("Pending after panic = %+v, want the job kept with the panic as error", got)
	}
}

func TestRetryAfter(t *testing.T) {
	s := New(memory.New(), Options{RetryBackoff: time.Second, MaxRetryBackoff: time.Minute})
	tests := []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {6, 32 * time.Second}, {7, time.Minute}, {1000, time.Minute}}
	for _, tt := range tests {
		if got := s.retryAfter(tt.attempts); got != tt.want {
			t.Errorf("retryAfter(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

// workHandler does its work and completes its job in one transaction, the
// way the KMS core's handlers should.
func workHandler(s *Scheduler, st store.Store, node string) Handler {
	return func(ctx context.Context, job Job) error {
		return st.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put("work/"+job.ID, []byte(node)); err != nil {
				return err
			}
			return s.CompleteTx(tx, job)
		})
	}
}

func readWork(t *testing.T, st store.Store, id string) string {
	t.Helper()
	var v []byte
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get("work/" + id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func TestCompleteTxCommitsWithTheWork(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := NewFakeClock(t0)
		a := newSched(st, clk, "a")
		b := newSched(st, clk, "b")
		a.Handle("delete", workHandler(a, st, "a"))
		b.Handle("delete", workHandler(b, st, "b"))

		// Normal case: work and completion commit together.
		mustSchedule(t, a, "delete/k1", "delete", t0)
		runDue(t, a, 1)
		if got := readWork(t, st, "delete/k1"); got != "a" {
			t.Fatalf("work = %q, want a", got)
		}
		assertNoSchedKeys(t, st)

		// Node a stalls after claiming; b takes over after the lease and
		// does the work; a's late work transaction must not commit.
		mustSchedule(t, a, "delete/k2", "delete", t0)
		stale, ok, err := a.claim(ctx, "delete/k2", t0, clk.Now())
		if !ok || err != nil {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		clk.Advance(2 * time.Minute)
		runDue(t, b, 1)
		if err := workHandler(a, st, "a")(ctx, stale); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("stale handler = %v, want ErrLeaseLost", err)
		}
		if got := readWork(t, st, "delete/k2"); got != "b" {
			t.Fatalf("work = %q, want only b's", got)
		}
		assertNoSchedKeys(t, st)

		// A work transaction that fails after CompleteTx rolls both back:
		// the job stays and is retried.
		c := newSched(st, clk, "c")
		fail := true
		c.Handle("delete", func(ctx context.Context, job Job) error {
			return st.Update(ctx, func(tx store.Tx) error {
				if err := tx.Put("work/"+job.ID, []byte("c")); err != nil {
					return err
				}
				if err := c.CompleteTx(tx, job); err != nil {
					return err
				}
				if fail {
					return errors.New("wrap failed")
				}
				return nil
			})
		})
		mustSchedule(t, c, "delete/k3", "delete", clk.Now())
		runDue(t, c, 1)
		if got := readWork(t, st, "delete/k3"); got != "" {
			t.Fatalf("work after failed transaction = %q, want none", got)
		}
		if got := pending(t, c, "delete/k3"); len(got) != 1 || got[0].LastError != "wrap failed" {
			t.Fatalf("Pending = %+v, want the job kept", got)
		}
		fail = false
		clk.Advance(10 * time.Second)
		runDue(t, c, 1)
		if got := readWork(t, st, "delete/k3"); got != "c" {
			t.Fatalf("work after retry = %q, want c", got)
		}
		assertNoSchedKeys(t, st)

		// CompleteTx needs a claimed job.
		err = st.Update(ctx, func(tx store.Tx) error { return a.CompleteTx(tx, Job{ID: "delete/k1"}) })
		if err == nil {
			t.Fatal("CompleteTx(unclaimed job) = nil, want error")
		}
	})
}

func TestCancelWhileRunningFencesTheWork(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := NewFakeClock(t0)
		s := newSched(st, clk, "a")
		started, release := make(chan struct{}), make(chan struct{})
		handlerErr := make(chan error, 1)
		work := workHandler(s, st, "a")
		s.Handle("delete", func(ctx context.Context, job Job) error {
			close(started)
			<-release
			err := work(ctx, job)
			handlerErr <- err
			return err
		})
		mustSchedule(t, s, "delete/k1", "delete", t0)
		done := make(chan error)
		go func() { _, err := s.RunDue(ctx); done <- err }()
		<-started
		// CancelKeyDeletion commits while the deletion is running.
		if err := st.Update(ctx, func(tx store.Tx) error { return s.CancelTx(tx, "delete/k1") }); err != nil {
			t.Fatal(err)
		}
		close(release)
		if err := <-handlerErr; !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("handler after cancel = %v, want ErrLeaseLost", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := readWork(t, st, "delete/k1"); got != "" {
			t.Fatalf("work after cancel = %q, want none", got)
		}
		assertNoSchedKeys(t, st)
	})
}

func TestLostLeaseCancelsHandler(t *testing.T) {
	st := memory.New()
	ctx := context.Background()
	clk := NewFakeClock(t0)
	s := newSched(st, clk, "a")
	started := make(chan struct{})
	cause := make(chan error, 1)
	s.Handle("rotate", func(ctx context.Context, job Job) error {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return ctx.Err()
	})
	mustSchedule(t, s, "rotate/k1", "rotate", t0)
	done := make(chan error)
	go func() { _, err := s.RunDue(ctx); done <- err }()
	<-started
	// The job is replaced while it runs; the next renewal notices.
	mustSchedule(t, s, "rotate/k1", "rotate", t0.Add(time.Hour))
	eventually(t, "renewal timer", func() bool { return clk.Waiters() == 1 })
	clk.Advance(20 * time.Second)
	if err := <-cause; !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("handler context cause = %v, want ErrLeaseLost", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The replacement is untouched by the lost attempt.
	if got := pending(t, s, ""); len(got) != 1 || got[0].Attempt != 0 || got[0].LastError != "" || !got[0].Next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Pending = %+v, want the replacement with fresh retry state", got)
	}
}

func TestShutdownReleasesClaim(t *testing.T) {
	st := memory.New()
	clk := NewFakeClock(t0)
	a := newSched(st, clk, "a")
	b := newSched(st, clk, "b")
	started := make(chan struct{})
	a.Handle("rotate", func(ctx context.Context, job Job) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	var r recorder
	b.Handle("rotate", r.handle)
	mustSchedule(t, a, "rotate/k1", "rotate", t0)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := a.RunDue(ctx); done <- err }()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunDue after shutdown = %v, want context.Canceled", err)
	}
	// No lease to wait for, no failure recorded: b runs it at once.
	if got := pending(t, b, ""); len(got) != 1 || got[0].LastError != "" || !got[0].Next.Equal(t0) {
		t.Fatalf("Pending after shutdown = %+v, want the job due as before", got)
	}
	runDue(t, b, 1)
}

func TestJobsWithoutHandlerAreLeftToOtherNodes(t *testing.T) {
	st := memory.New()
	clk := NewFakeClock(t0)
	old := newSched(st, clk, "old") // knows only rotate
	var rOld recorder
	old.Handle("rotate", rOld.handle)
	mustSchedule(t, old, "expire-import/k1", "expire-import", t0)
	mustSchedule(t, old, "rotate/k1", "rotate", t0.Add(time.Second))
	clk.Advance(time.Second)
	runDue(t, old, 1)
	runDue(t, old, 0)

	cur := newSched(st, clk, "new")
	var rCur recorder
	cur.Handle("expire-import", rCur.handle)
	runDue(t, cur, 1)
	if got := rCur.take(); !slices.Equal(got, []string{"expire-import/k1"}) {
		t.Fatalf("new node ran %q, want [expire-import/k1]", got)
	}
}

func TestRunLoop(t *testing.T) {
	st := memory.New()
	clk := NewFakeClock(t0)
	s := New(st, Options{Clock: clk, Node: "a", PollInterval: time.Hour})
	ran := make(chan string, 10)
	s.Handle("rotate", func(ctx context.Context, job Job) error { ran <- job.ID; return nil })
	mustSchedule(t, s, "rotate/overdue", "rotate", t0.Add(-24*time.Hour))
	mustSchedule(t, s, "rotate/soon", "rotate", t0.Add(5*time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	if got := <-ran; got != "rotate/overdue" {
		t.Fatalf("Run ran %q first, want the overdue job", got)
	}
	// Run sleeps until the next due job, not the whole poll interval.
	eventually(t, "Run to wait for the next job", func() bool { return clk.waiting(t0.Add(5 * time.Second)) })
	clk.Advance(5 * time.Second)
	if got := <-ran; got != "rotate/soon" {
		t.Fatalf("Run ran %q, want rotate/soon", got)
	}
	// A job scheduled while Run sleeps for the poll interval wakes it.
	eventually(t, "Run to wait for the poll", func() bool { return clk.waiting(clk.Now().Add(time.Hour)) })
	mustSchedule(t, s, "rotate/later", "rotate", clk.Now().Add(3*time.Second))
	eventually(t, "Run to rearm", func() bool { return clk.waiting(clk.Now().Add(3 * time.Second)) })
	clk.Advance(3 * time.Second)
	if got := <-ran; got != "rotate/later" {
		t.Fatalf("Run ran %q, want rotate/later", got)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

func TestDueKeyRoundTripAndOrder(t *testing.T) {
	times := []time.Time{minTime, t0, t0.Add(time.Nanosecond), maxTime}
	var keys []string
	for _, tm := range times {
		k := dueKey(tm, "rotate/k/1")
		at, id, err := parseDueKey(k)
		if err != nil || !at.Equal(tm) || id != "rotate/k/1" {
			t.Errorf("parseDueKey(%q) = %v, %q, %v; want %v, rotate/k/1, nil", k, at, id, err, tm)
		}
		keys = append(keys, k)
	}
	if !slices.IsSorted(keys) {
		t.Errorf("due keys not in time order: %q", keys)
	}
	for _, bad := range []string{"sched/due/", "sched/due/123/x", "sched/due/000000000000000000x/id", "other/0000000000000000000/id"} {
		if _, _, err := parseDueKey(bad); err == nil {
			t.Errorf("parseDueKey(%q) = nil error, want error", bad)
		}
	}
}

func TestCorruptEntriesDoNotBlockOtherJobs(t *testing.T) {
	st := memory.New()
	clk := NewFakeClock(t0)
	s := newSched(st, clk, "a")
	var r recorder
	s.Handle("rotate", r.handle)
	mustSchedule(t, s, "rotate/bad", "rotate", t0.Add(-2*time.Second))
	mustSchedule(t, s, "rotate/good", "rotate", t0)
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Put(duePrefix+"garbage", []byte("rotate")); err != nil {
			return err
		}
		return tx.Put(jobPrefix+"rotate/bad", []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	runDue(t, s, 1)
	if got := r.take(); !slices.Equal(got, []string{"rotate/good"}) {
		t.Fatalf("ran %q, want [rotate/good]", got)
	}
	if _, err := s.Pending(context.Background(), ""); !errors.Is(err, errCorrupt) {
		t.Fatalf("Pending with a corrupt job = %v, want errCorrupt", err)
	}
}
