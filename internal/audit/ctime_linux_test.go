//go:build linux

package audit

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// queriesCtime reports whether fn asks the kernel for the ctime of the file
// at the path it is given.
//
// It rests on multigrain timestamps (Linux 6.13 and later; ext4, xfs, btrfs,
// tmpfs). A write stamps a file with the coarse clock (never earlier than the
// newest fine-grained stamp of any file), unless the file's ctime was queried
// since its last change and the coarse time is no later than that ctime: then
// the stamp is fine-grained, which is what makes the inode dirty again within
// one clock tick. So x and y are written, fn looks at y, and both are written
// again: they end with the same ctime unless fn queried y's. A tick falling
// between two writes can make a round say either, hence many rounds and a
// majority.
func queriesCtime(t *testing.T, fn func(path string)) bool {
	t.Helper()
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	x, y := open("x"), open("y")
	write := func(f *os.File) {
		if _, err := f.Write([]byte("record\n")); err != nil {
			t.Fatal(err)
		}
	}
	ctime := func(f *os.File) unix.StatxTimestamp {
		var stx unix.Statx_t
		if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_CTIME, &stx); err != nil {
			t.Fatal(err)
		}
		return stx.Ctime
	}
	const rounds = 200
	parted := 0
	for range rounds {
		// These writes also clear the queries the last round's checks made.
		write(x)
		write(y)
		fn(y.Name())
		write(x)
		write(y)
		if ctime(x) != ctime(y) {
			parted++
		}
	}
	t.Logf("%d of %d rounds ended with different ctimes", parted, rounds)
	return parted > rounds/2
}

// TestReadersDoNotQueryCtime checks that what reads or watches the live log
// file while the writer runs never asks for its ctime: each query makes the
// writer's next fsync write the file's inode too (ecf41f4 measured 3.0
// block writes per fsync with fstat after each, 2.3 without).
func TestReadersDoNotQueryCtime(t *testing.T) {
	if !queriesCtime(t, func(path string) {
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Skip("this kernel or file system has no multigrain timestamps: a ctime query cannot be told from none")
	}
	if queriesCtime(t, func(string) {}) {
		t.Skip("every write is stamped finely here: a ctime query cannot be told from none")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, path string)
	}{
		{"readLog", func(t *testing.T, path string) {
			if _, err := readLog(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", func(t *testing.T, path string) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if removed(f) {
				t.Fatal("removed reports a file that is there")
			}
		}},
		{"backwardLines", func(t *testing.T, path string) {
			if err := backwardLines(path, func([]byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if queriesCtime(t, func(path string) { tt.fn(t, path) }) {
				t.Errorf("%s asks for the file's ctime: the writer's next fsync would rewrite the inode", tt.name)
			}
		})
	}
}
