package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Preallocation.
//
// Every acknowledged record costs the caller one fdatasync of the log file
// (shared by the batch). Appending makes that fdatasync also commit a
// journal transaction for the file's new size and blocks; overwriting
// blocks that were already written and synced needs only the data flush.
// Measured on this project's CI machine (ext4, 4 KiB write + fdatasync in a
// loop): 0.45–1.2 ms appending against 0.25–0.42 ms overwriting. With
// clients waiting on the fsync, that latency is the request rate's ceiling.
//
// So a zeroFiller keeps the live file zero-filled and synced ahead of the
// records, from its own goroutine, and the file is cut back to its records
// when it is closed. Records are JSON lines and never contain a NUL byte,
// which makes the zero tail a crash leaves behind unambiguous: recovery,
// Verify and Query strip it (see trimZeros) before looking for a torn
// record.
const (
	fillChunk = 256 << 10 // zeros written per call, so the writer never waits long for the lock
	fillAhead = 4 << 20   // zeros kept beyond the records
	fillRetry = time.Second
)

var zeroChunk = make([]byte, fillChunk)

// zeroFiller owns the write offset of a live log file. The writer appends
// records through write; the filler goroutine writes zeros only beyond the
// records, under the same lock, so it can never overwrite one.
//
// The filler writes and syncs through a descriptor of its own (own). Its
// fdatasync flushes the records in the page cache too, and Linux reports
// a writeback error once per open file description: through the writer's
// descriptor, the filler's sync would take the error that the writer's
// fsync must see, and records the disk lost would be acknowledged.
type zeroFiller struct {
	f      *os.File // the writer's: records, and the cut at close
	own    *os.File // the filler's: zeros and their syncs
	mu     sync.Mutex
	end    int64 // end of the records: where the next write goes
	zeroed int64 // end of the zeros written so far (>= end)
	failed bool  // the last zero write failed; retried every fillRetry, not on every write

	// noSpace is the Log's: set while the zeros ahead are short of
	// fillAhead because a zero write failed, nil once they are not.
	noSpace *atomic.Pointer[error]
	limit   *atomic.Int64 // test hook: zero writes past this offset fail with ENOSPC

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newZeroFiller(f *os.File, noSpace *atomic.Pointer[error], limit *atomic.Int64) (*zeroFiller, error) {
	own, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	z := &zeroFiller{f: f, own: own, noSpace: noSpace, limit: limit,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go z.run()
	z.wake <- struct{}{}
	return z, nil
}

// write appends records at the end of the file and wakes the filler when
// the zeros ahead run short.
func (z *zeroFiller) write(buf []byte) error {
	z.mu.Lock()
	n, err := z.f.WriteAt(buf, z.end)
	z.end += int64(n)
	z.zeroed = max(z.zeroed, z.end)
	short := !z.failed && z.zeroed-z.end < fillAhead/2
	z.mu.Unlock()
	if short {
		select {
		case z.wake <- struct{}{}:
		default:
		}
	}
	return err
}

func (z *zeroFiller) run() {
	defer close(z.done)
	var retry <-chan time.Time
	for {
		select {
		case <-z.stop:
			return
		case <-z.wake:
		case <-retry:
		}
		wrote, err := z.fill()
		if err == errStopped {
			return
		}
		if wrote {
			// Make the blocks and the size durable now, so that the
			// writer's fdatasyncs find no metadata to commit. An error
			// here is the writer's to see too, through its own
			// descriptor, at its next fsync.
			fdatasync(z.own)
		}
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrNoSpace, err)
			z.noSpace.Store(&err)
			retry = time.After(fillRetry)
		} else {
			z.noSpace.Store(nil)
			retry = nil
		}
	}
}

var errStopped = errors.New("stopped")

// fill writes zeros until fillAhead of them lie beyond the records. It
// reports whether it wrote any, and the error that stopped it short.
func (z *zeroFiller) fill() (wrote bool, err error) {
	for {
		z.mu.Lock()
		if z.zeroed-z.end >= fillAhead {
			z.failed = false
			z.mu.Unlock()
			return wrote, nil
		}
		if lim := z.limit.Load(); lim > 0 && z.zeroed+fillChunk > lim {
			err = &os.PathError{Op: "write", Path: z.f.Name(), Err: syscall.ENOSPC}
		} else {
			_, err = z.own.WriteAt(zeroChunk, z.zeroed)
		}
		if err != nil {
			// e.g. a full disk: records still go into the zeros left,
			// and then by appending
			z.failed = true
		} else {
			z.zeroed += fillChunk
			wrote = true
		}
		z.mu.Unlock()
		if err != nil {
			return wrote, err
		}
		select {
		case <-z.stop:
			return wrote, errStopped
		default:
		}
	}
}

// close stops the filler and cuts the file back to its records. sync says
// whether to make the cut durable.
func (z *zeroFiller) close(sync bool) error {
	close(z.stop)
	<-z.done
	z.own.Close()
	z.mu.Lock()
	defer z.mu.Unlock()
	if err := z.f.Truncate(z.end); err != nil {
		return err
	}
	if sync {
		return fdatasync(z.f)
	}
	return nil
}

// trimZeros returns data without the zero tail that preallocation leaves in
// a file that was live when the writer stopped.
func trimZeros(data []byte) []byte {
	return bytes.TrimRight(data, "\x00")
}

// abandon stops the filler and leaves the file as a crash would: records,
// then zeros.
func (z *zeroFiller) abandon() {
	close(z.stop)
	<-z.done
	z.own.Close()
}
