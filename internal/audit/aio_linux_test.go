package audit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestAsyncSync checks that the writer syncs through Linux AIO here, that a
// sync reports success on a real file and an error on a closed one.
func TestAsyncSync(t *testing.T) {
	a, err := newAsyncSync()
	if err != nil {
		t.Skipf("no Linux AIO on this kernel (%v): syncs block, as before", err)
	}
	defer a.close()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("record\n")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := a.fdatasync(f); err != nil {
			t.Fatalf("AIO fdatasync: %v", err)
		}
	}
	f.Close()
	if err := a.fdatasync(f); err == nil {
		t.Error("AIO fdatasync of a closed file succeeded")
	}

	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	if l.aio == nil {
		t.Error("the Log syncs without AIO although the kernel has it")
	}
	appendN(t, l, 0, 20)
	if st := l.Stats(); st.Fsyncs == 0 {
		t.Errorf("Stats = %+v, want fsyncs", st)
	}
	l.Close()
	if rep := mustVerify(t, dir); rep.Records != 20 {
		t.Errorf("Verify = %+v", rep)
	}
}

// TestPokeSeesCompletion: poke wakes the writer exactly when an operation
// is in flight and its completion sits in the ring; the eventfd is left out
// here so that only the ring can tell.
func TestPokeSeesCompletion(t *testing.T) {
	a, err := newAsyncSync()
	if err != nil {
		t.Skipf("no Linux AIO on this kernel (%v)", err)
	}
	defer a.close()
	if a.ring == nil {
		t.Skip("the kernel's AIO ring has an unknown layout: only the eventfd wakes the writer")
	}
	drain := func() bool {
		select {
		case <-a.ready:
			return true
		default:
			return false
		}
	}
	drain()
	a.poke()
	if drain() {
		t.Fatal("poke woke the writer with nothing in flight")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a.inflight.Store(true)
	a.poke()
	if drain() {
		t.Fatal("poke woke the writer before anything completed")
	}
	cb := iocb{opcode: iocbCmdFdsync, fildes: uint32(f.Fd())}
	cbs := [1]*iocb{&cb}
	if _, _, e := syscall.Syscall(syscall.SYS_IO_SUBMIT, a.ctx, 1, uintptr(unsafe.Pointer(&cbs[0]))); e != 0 {
		t.Skipf("io_submit: %v", e)
	}
	r := (*aioRing)(a.ring)
	for deadline := time.Now().Add(5 * time.Second); r.head == r.tail; {
		if time.Now().After(deadline) {
			t.Fatal("the fsync never completed")
		}
		time.Sleep(time.Millisecond)
	}
	a.poke()
	if !drain() {
		t.Error("poke did not wake the writer with a completion in the ring")
	}
	var ev [1]ioEvent
	syscall.Syscall6(syscall.SYS_IO_GETEVENTS, a.ctx, 1, 1, uintptr(unsafe.Pointer(&ev[0])), 0, 0)
	a.inflight.Store(false)
}
