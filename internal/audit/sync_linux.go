package audit

import (
	"os"
	"syscall"
)

// fdatasync flushes a log file's data and the metadata needed to read it
// back (its size), skipping the timestamps fsync would also write.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

// removed reports whether f's directory entry is gone (someone deleted the
// live log file): records written to it then reach no file anyone can
// read, so they must not be acknowledged.
func removed(f *os.File) bool {
	var st syscall.Stat_t
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	rc.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) })
	return serr == nil && st.Nlink == 0
}
