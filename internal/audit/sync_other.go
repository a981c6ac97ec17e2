//go:build !linux

package audit

import (
	"errors"
	"os"
)

func fdatasync(f *os.File) error { return f.Sync() }

// asyncSync exists on Linux only; elsewhere syncs block.
type asyncSync struct{}

var errAIOUnsupported = errors.New("aio: not available")

func newAsyncSync() (*asyncSync, error)       { return nil, errAIOUnsupported }
func (*asyncSync) fdatasync(f *os.File) error { return errAIOUnsupported }
func (*asyncSync) close()                     {}

// removed reports whether f's directory entry is gone; only Linux checks.
func removed(f *os.File) bool { return false }
