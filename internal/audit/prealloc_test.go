package audit

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPreallocation checks that the live file is zero-filled ahead of its
// records, that Query reads past the zeros while the writer runs, and that
// Close cuts the file back to its records so Verify sees what a digest
// lists.
func TestPreallocation(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 5)
	logs := listFiles(t, dir, logPrefix)
	live := filepath.Join(dir, logs[len(logs)-1])
	end := recordsEnd(t, live)
	waitUntil(t, "zeros are preallocated", func() bool {
		st, err := os.Stat(live)
		return err == nil && st.Size() >= end+fillAhead/2
	})
	if got := len(queryAll(t, dir, Filter{})); got != 5 {
		t.Errorf("Query on the live log found %d records, want 5", got)
	}
	appendN(t, l, 5, 5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != recordsEnd(t, live) || st.Size() == 0 {
		t.Errorf("closed file is %d bytes, want its %d bytes of records", st.Size(), recordsEnd(t, live))
	}
	if rep := mustVerify(t, dir); rep.Records != 10 || rep.TornTail != "" {
		t.Errorf("Verify = %+v, want 10 records and no torn tail", rep)
	}
}

// TestOutOfSpace: when the zeros ahead cannot be written (a full disk,
// simulated with the fillCap hook), Err reports ErrNoSpace and the cause
// while Append still records into the zeros left; the file is neither
// rotated nor closed for a digest, which would give up that space; once
// space is freed Err clears by itself, within fillRetry, and rotation
// resumes.
func TestOutOfSpace(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 8 << 10})
	l.fillCap.Store(fillAhead / 2)
	appendN(t, l, 0, 1)
	waitUntil(t, "Err reports ErrNoSpace", func() bool { return l.Err() != nil })
	err := l.Err()
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), logPrefix) {
		t.Fatalf("Err with a full disk = %v, want ErrNoSpace naming ENOSPC and the file, not ErrBroken", err)
	}
	if s := l.Stats(); !s.NoSpace || s.Broken {
		t.Errorf("Stats: NoSpace %v, Broken %v; want true, false", s.NoSpace, s.Broken)
	}

	digests := len(listFiles(t, dir, digestPrefix))
	appendN(t, l, 1, 100) // about 50 KiB, past MaxFileBytes
	if n := len(listFiles(t, dir, logPrefix)); n != 1 {
		t.Errorf("%d log files after 101 records with a full disk, want the records kept in the first", n)
	}
	l.do(func() { l.nextDigest = time.Time{}; l.housekeep() })
	if n := len(listFiles(t, dir, digestPrefix)); n != digests {
		t.Errorf("a digest came due with a full disk: %d digests, want %d", n, digests)
	}

	l.fillCap.Store(0) // space freed
	waitUntil(t, "Err clears", func() bool { return l.Err() == nil })
	if l.Stats().NoSpace {
		t.Error("Stats().NoSpace after space was freed")
	}
	appendN(t, l, 101, 1)
	if n := len(listFiles(t, dir, logPrefix)); n != 2 {
		t.Errorf("%d log files after space was freed, want the full one rotated", n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if rep := mustVerify(t, dir); rep.Records != 102 {
		t.Errorf("Verify = %+v, want 102 records", rep)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestPreallocationSkippedWithoutFsync: the insecure benchmark mode writes
// no zeros, since it makes nothing durable anyway.
func TestPreallocationSkippedWithoutFsync(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{InsecureSkipFsync: true})
	appendN(t, l, 0, 3)
	logs := listFiles(t, dir, logPrefix)
	live := filepath.Join(dir, logs[len(logs)-1])
	time.Sleep(50 * time.Millisecond)
	st, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != recordsEnd(t, live) {
		t.Errorf("file is %d bytes with %d of records; want no zeros", st.Size(), recordsEnd(t, live))
	}
	l.Close()
}

func TestTrimZeros(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"\x00\x00", ""},
		{"a\n", "a\n"},
		{"a\n\x00\x00\x00", "a\n"},
		{"a\n\x00b\x00", "a\n\x00b"},
	} {
		if got := string(trimZeros([]byte(tc.in))); got != tc.want {
			t.Errorf("trimZeros(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestVerifyAfterCrashWithZeros: Verify on a directory whose writer was
// killed (no Open since) reads the records before the preallocated zeros and
// reports neither a torn tail nor a problem.
func TestVerifyAfterCrashWithZeros(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 4)
	logs := listFiles(t, dir, logPrefix)
	live := filepath.Join(dir, logs[len(logs)-1])
	waitUntil(t, "zeros are preallocated", func() bool {
		st, err := os.Stat(live)
		return err == nil && st.Size() > recordsEnd(t, live)
	})
	crash(t, l)
	rep := mustVerify(t, dir)
	if rep.LastSeq != 4 || rep.TornTail != "" || len(rep.Problems) != 0 {
		t.Errorf("Verify = %+v, want 4 records, no torn tail, no problems", rep)
	}
}

// The filler writes and syncs the live file through an open file
// description of its own: Linux reports a writeback error once per
// description, and the filler's fdatasync, which flushes the records too,
// must not take the error the writer's fsync has to see. Separate
// descriptions have separate file offsets; a shared one (the same
// *os.File, or a dup) would move both.
func TestZeroFillerOwnDescription(t *testing.T) {
	l := openLog(t, t.TempDir(), Options{})
	defer l.Close()
	appendN(t, l, 0, 1)
	var own, recs int64
	var err error
	l.do(func() {
		z := l.cur.zf
		if _, err = z.own.Seek(4096, io.SeekStart); err == nil {
			recs, err = z.f.Seek(0, io.SeekCurrent)
		}
		if err == nil {
			own, err = z.own.Seek(0, io.SeekCurrent)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if own != 4096 || recs == 4096 {
		t.Errorf("after seeking the filler's descriptor to 4096: it is at %d, the writer's at %d; want separate offsets", own, recs)
	}
}
