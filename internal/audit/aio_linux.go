package audit

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// asyncSync makes the writer's fdatasync asynchronous with Linux AIO
// (IOCB_CMD_FDSYNC, Linux 4.18+): the kernel runs the sync on a worker and
// signals an eventfd that sits in Go's network poller, so the writer
// goroutine waits like a network read instead of blocking its thread in a
// system call.
//
// Why: a blocking fdatasync makes the runtime hand the writer's P to
// another thread, wake that thread, park the writer's thread when the sync
// returns, and keeps sysmon polling every 20 µs while syscalls are frequent.
// With the server on one core that cost 13 context switches per batch
// (7.5k/s at 570 batches/s) and ~8% of the core in finish_task_switch
// (perf, Encrypt c=32). Durability is unchanged: a record is acknowledged
// only after the kernel reports the sync done, with its error.
//
// The writer hears of completion late when the server is busy: Go's
// scheduler polls the network (and so the eventfd) only when it runs out of
// runnable goroutines. That is a good batching policy, and measured as one:
// waking the writer as soon as the kernel's completion ring showed the sync
// done (checked by every Append) cut the mean wait per batch from 3.0 to 2.5
// ms at c=128, but made batches smaller and fsyncs more frequent, and the
// rate fell: Encrypt with audit on, as a ratio to fsync off, paired runs
// (bench/ab.sh, 10 rounds), 0.90 -> 0.86 at c=128 and 0.95 -> 0.89 at c=256.
// With the server sharing both cores (PIN=0), where the sync itself took
// 0.35 ms (median; 8 µs from queueing to the worker starting) but the
// writer saw it done after about 1 ms at c=32, the ring wake-up gained
// nothing either: 0.78 against 0.81 at c=32, 0.93 against 0.91 at c=128
// (8 rounds).
//
// Also tried and dropped: writing each batch with O_DIRECT as one AIO write
// carrying RWF_DSYNC, with no separate fsync. It took 30% less CPU per batch
// on an idle machine, but the kernel finishes such a write (the cache flush
// after it) on a worker of the CPU that took the disk's interrupt, and when
// that CPU is busy the write waits for it: 3.8 ms per write instead of 0.3
// ms with a busy loop on the other core, where a buffered write with this
// AIO fsync, or a blocking one, stayed at 0.3-0.4 ms.
// Measured again in paired runs on a loaded server, that design was no
// better than this one: 0.73 against 0.78 at c=32 and 0.88 against 0.83 at
// c=128 with the server on one core, 0.81 against 0.81 and 0.91 against
// 0.86 sharing both cores (8 rounds each; runs differ by about 0.05).
//
// Also tried and dropped: two syncs in flight. A throwaway build wrote each
// batch and submitted its AIO fsync at once, while the previous batch's
// sync still ran, so that records arriving during a sync need not wait for
// it to end before theirs starts; each batch was answered when its own
// sync completed. On an idle machine two write+fdatasync loops on one file
// do 1.3-1.5 times the syncs per second of one (at 0.15-0.2 ms a sync), so
// the disk path does overlap them. The server gained nothing: audit on over
// fsync off, paired runs (bench/ab.sh, Encrypt 32 B), two in flight against
// one: server on one core (10 rounds) 0.65 against 0.64 at c=32, 0.86
// against 0.82 at c=128, 0.90 against 0.94 at c=256; sharing both cores (8
// rounds) 0.66 against 0.67 at c=32, 0.89 against 0.93 at c=128, 0.91
// against 0.86 at c=256. At c=32 the server loses its core about equally to
// waiting on syncs and to the kernel workers that carry them out, and each
// request costs it more system time (bench/cpusplit.sh, bench/README.md);
// more syncs in flight cannot cut the second and did not measurably cut
// the first.
type asyncSync struct {
	ctx    uintptr  // aio_context_t
	efd    *os.File // eventfd, non-blocking, in the poller
	efdNum uint32   // its descriptor (efd.Fd would make it blocking)
	iocb   iocb
	iocbs  [1]*iocb
	events [1]ioEvent
}

// iocb and ioEvent mirror struct iocb and struct io_event of
// <linux/aio_abi.h> on little-endian 64-bit machines.
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   uint32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

type ioEvent struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

const (
	iocbCmdFdsync = 3
	iocbFlagResfd = 1 << 0
	efdNonblock   = syscall.O_NONBLOCK
	efdCloexec    = syscall.O_CLOEXEC
)

// newAsyncSync sets up an AIO context and its eventfd, or returns an error
// when the kernel or the platform has none (the caller then syncs
// synchronously).
func newAsyncSync() (*asyncSync, error) {
	if unsafe.Sizeof(iocb{}) != 64 || unsafe.Sizeof(ioEvent{}) != 32 || !littleEndian() {
		return nil, errors.New("aio: unsupported platform layout")
	}
	var ctx uintptr
	if _, _, e := syscall.Syscall(syscall.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil, e
	}
	fd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, efdNonblock|efdCloexec, 0)
	if e != 0 {
		syscall.Syscall(syscall.SYS_IO_DESTROY, ctx, 0, 0)
		return nil, e
	}
	a := &asyncSync{ctx: ctx, efd: os.NewFile(fd, "audit-aio-eventfd"), efdNum: uint32(fd)}
	a.iocbs[0] = &a.iocb
	return a, nil
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// errAIOUnsupported reports that the kernel refused an AIO fsync for this
// file; the caller falls back to fdatasync for good.
var errAIOUnsupported = errors.New("aio: fdsync not supported")

// fdatasync makes f's data durable through the AIO context and waits for
// the kernel's answer.
func (a *asyncSync) fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		a.iocb = iocb{opcode: iocbCmdFdsync, fildes: uint32(fd), flags: iocbFlagResfd, resfd: a.efdNum}
		n, _, e := syscall.Syscall(syscall.SYS_IO_SUBMIT, a.ctx, 1, uintptr(unsafe.Pointer(&a.iocbs[0])))
		switch {
		case e == syscall.EINVAL || e == syscall.ENOSYS || e == syscall.EOPNOTSUPP:
			serr = errAIOUnsupported
		case e != 0:
			serr = e
		case n != 1:
			serr = errors.New("aio: io_submit queued nothing")
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	// The eventfd counts completions; one sync is in flight at a time.
	var buf [8]byte
	if _, err := a.efd.Read(buf[:]); err != nil {
		return err
	}
	var ts syscall.Timespec
	n, _, e := syscall.Syscall6(syscall.SYS_IO_GETEVENTS, a.ctx, 1, 1, uintptr(unsafe.Pointer(&a.events[0])), uintptr(unsafe.Pointer(&ts)), 0)
	if e != 0 {
		return e
	}
	if n != 1 {
		return errors.New("aio: no completion after the eventfd fired")
	}
	if res := a.events[0].res; res < 0 {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: syscall.Errno(-res)}
	}
	return nil
}

// close releases the AIO context and the eventfd.
func (a *asyncSync) close() {
	syscall.Syscall(syscall.SYS_IO_DESTROY, a.ctx, 0, 0)
	a.efd.Close()
}
