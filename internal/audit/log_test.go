package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendQueryVerify(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, Options{Now: clk.Now})
	appendN(t, l, 0, 5)
	if err := l.Append(context.Background(), &Event{EventName: "DescribeKey"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	evs := queryAll(t, dir, Filter{})
	if len(evs) != 6 {
		t.Fatalf("Query returned %d events, want 6", len(evs))
	}
	for i, e := range evs[:5] {
		if want := fmt.Sprintf("req-%d", i); e.RequestID != want {
			t.Errorf("event %d: RequestID = %q, want %q", i, e.RequestID, want)
		}
	}
	d := evs[5] // filled in by Append
	if d.EventVersion != EventVersion || d.EventSource != EventSourceKMS || d.EventType != TypeAPICall ||
		d.EventCategory != CategoryMgmt || !d.ManagementEvent || !d.EventTime.Equal(clk.Now()) || len(d.EventID) != 36 {
		t.Errorf("defaults = %+v", d)
	}
	rep := mustVerify(t, dir)
	if rep.Records != 6 || rep.Files != 1 || rep.Digests != 1 || rep.SignedSeq != 6 || len(rep.Pending) != 0 {
		t.Errorf("Verify = %+v", rep)
	}
}

func TestAppendErrors(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	ctx := context.Background()
	if err := l.Append(ctx, &Event{}); err == nil {
		t.Errorf("Append(no eventName) = nil")
	}
	if err := l.Append(ctx, &Event{EventName: "Encrypt", RequestParameters: json.RawMessage(`[1]`)}); err == nil {
		t.Errorf("Append(array requestParameters) = nil")
	}
	big := json.RawMessage(`{"policy":"` + strings.Repeat("a", MaxEventBytes) + `"}`)
	if err := l.Append(ctx, &Event{EventName: "CreateKey", RequestParameters: big}); err == nil {
		t.Errorf("Append(%d-byte event) = nil", len(big))
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Append(cancelled, encryptEvent("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Append(cancelled ctx) = %v, want context.Canceled", err)
	}
	if _, err := Open(dir, Options{Signer: testKey}); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	if _, err := Open(t.TempDir(), Options{}); err == nil {
		t.Errorf("Open(no Signer) = nil error")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, encryptEvent("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if evs := queryAll(t, dir, Filter{}); len(evs) != 0 {
		t.Errorf("rejected events were logged: %d", len(evs))
	}
	mustVerify(t, dir)
}

// TestConcurrentAppend appends from 50 goroutines through file rotations
// and checks that every record is there once, in each goroutine's order,
// on an intact chain, and that group commit shared fsyncs.
func TestConcurrentAppend(t *testing.T) {
	const writers, each = 50, 40
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 32 << 10})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				if err := l.Append(context.Background(), encryptEvent(fmt.Sprintf("%d/%d", g, i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append = %v", err)
	}
	st := l.Stats()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Records != writers*each || st.Seq != writers*each {
		t.Errorf("Stats = %+v, want %d records", st, writers*each)
	}
	if st.Batches >= st.Records {
		t.Errorf("Stats: %d batches for %d records: no group commit", st.Batches, st.Records)
	}
	next := make([]int, writers)
	n := 0
	for _, e := range queryAll(t, dir, Filter{}) {
		g, i, _ := strings.Cut(e.RequestID, "/")
		gi, _ := strconv.Atoi(g)
		ii, _ := strconv.Atoi(i)
		if ii != next[gi] {
			t.Fatalf("writer %d: record %d follows %d", gi, ii, next[gi]-1)
		}
		next[gi]++
		n++
	}
	if n != writers*each {
		t.Errorf("Query found %d records, want %d", n, writers*each)
	}
	rep := mustVerify(t, dir)
	if rep.Records != writers*each || rep.Files < 2 {
		t.Errorf("Verify = %+v, want %d records in several files", rep, writers*each)
	}
	t.Logf("%d records, %d batches, %d fsyncs, %d files", st.Records, st.Batches, st.Fsyncs, rep.Files)
}

func TestRecovery(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string) int64 // damages the last log file; returns the valid bytes it added
		records int                                   // records left
		cut     bool                                  // Open reports a Recovery
	}{
		{"partial line", func(t *testing.T, path string) int64 {
			appendBytes(t, path, []byte(`{"seq":11,"prevHash":"00ab`))
			return 0
		}, 10, true},
		{"zero-filled block", func(t *testing.T, path string) int64 {
			// Zeros past the records are what preallocation leaves:
			// not a torn record, and cut without a report.
			appendBytes(t, path, make([]byte, 4096))
			return 0
		}, 10, false},
		{"whole batch, half written", func(t *testing.T, path string) int64 {
			// Two records of a batch reached the disk, the page
			// between them did not: the first stays.
			lines := readLines(t, path)
			last := mustParse(t, lines[len(lines)-1])
			l1 := fakeRecord(last.Seq+1, last.Hash, "torn-1")
			r1 := mustParse(t, l1)
			l2 := fakeRecord(last.Seq+2, r1.Hash, "torn-2")
			appendBytes(t, path, concat(l1, bytes.Repeat([]byte{0}, 100), l2))
			return int64(len(l1))
		}, 11, true},
		{"complete line with a bad hash", func(t *testing.T, path string) int64 {
			lines := readLines(t, path)
			last := mustParse(t, lines[len(lines)-1])
			line := fakeRecord(last.Seq+1, last.Hash, "x")
			line[len(`{"seq":11,"prevHash":"`)+64+len(`","hash":"`)] ^= 1
			appendBytes(t, path, line)
			return 0
		}, 10, true},
		{"valid records past the crash", func(t *testing.T, path string) int64 {
			// A batch written completely whose fsync did not return:
			// the records are good and stay.
			lines := readLines(t, path)
			last := mustParse(t, lines[len(lines)-1])
			line := fakeRecord(last.Seq+1, last.Hash, "late")
			appendBytes(t, path, line)
			return int64(len(line))
		}, 11, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, Options{MaxFileBytes: 4 << 10})
			appendN(t, l, 0, 10)
			crash(t, l)
			logs := listFiles(t, dir, logPrefix)
			last := filepath.Join(dir, logs[len(logs)-1])
			valid := recordsEnd(t, last) + tt.damage(t, last)

			l = openLog(t, dir, Options{MaxFileBytes: 4 << 10})
			rec := l.Recovery()
			if tt.cut {
				after, _ := os.Stat(last)
				if rec == nil || rec.File != logs[len(logs)-1] || rec.Offset != valid || after.Size() != valid {
					t.Fatalf("Recovery() = %+v, want a cut of %s at %d (file now %d bytes)", rec, logs[len(logs)-1], valid, after.Size())
				}
			} else if rec != nil {
				t.Fatalf("Recovery() = %+v, want nil", rec)
			} else if after, _ := os.Stat(last); after.Size() != valid {
				t.Fatalf("%s is %d bytes after Open, want %d (records only)", last, after.Size(), valid)
			}
			appendN(t, l, 100, 5)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := len(queryAll(t, dir, Filter{})); got != tt.records+5 {
				t.Errorf("Query found %d records, want %d", got, tt.records+5)
			}
			rep := mustVerify(t, dir)
			if rep.Records != uint64(tt.records+5) {
				t.Errorf("Verify checked %d records, want %d", rep.Records, tt.records+5)
			}
			var signed *Recovery
			for _, d := range readDigests(t, dir) {
				if d.Recovery != nil {
					signed = d.Recovery
				}
			}
			if tt.cut && (signed == nil || *signed != *rec) {
				t.Errorf("digests record recovery %+v, want %+v", signed, rec)
			}
		})
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// fakeRecord builds a valid record line that continues a chain.
func fakeRecord(seq uint64, prev [32]byte, requestID string) []byte {
	ev, _ := encryptEvent(requestID).withDefaults(time.Unix(0, 0))
	b, _ := ev.appendJSON(nil)
	sum := recordHash(sha256.New(), &prev, seq, b)
	return appendLine(nil, seq, &prev, &sum, b)
}

// appendBytes writes b after the records of the file at path: over the
// zeros a crashed writer preallocated, or at the end of a closed file.
func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, recordsEnd(t, path)); err != nil {
		t.Fatal(err)
	}
}

func TestRecoveryEmptyFile(t *testing.T) {
	// A crash right after a new file was created.
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, Options{Now: clk.Now})
	appendN(t, l, 0, 3)
	crash(t, l)
	// The writer closed (and cut) the file before it made the next one.
	for _, name := range listFiles(t, dir, logPrefix) {
		cutZeros(t, filepath.Join(dir, name))
	}
	empty := filepath.Join(dir, logName(4, clk.Now().Add(time.Second)))
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, Options{Now: clk.Now})
	if rec := l.Recovery(); rec != nil {
		t.Errorf("Recovery() = %+v, want nil", rec)
	}
	appendN(t, l, 3, 2)
	l.Close()
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty file still there: %v", err)
	}
	if rep := mustVerify(t, dir); rep.Records != 5 {
		t.Errorf("Verify checked %d records, want 5", rep.Records)
	}
}

// TestOpenRefusesDamage checks that Open does not sign over damage a crash
// cannot cause.
func TestOpenRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 4 << 10})
	appendN(t, l, 0, 12)
	crash(t, l)
	logs := listFiles(t, dir, logPrefix)
	if len(logs) < 3 {
		t.Fatalf("%d log files, want 3 or more", len(logs))
	}
	path := filepath.Join(dir, logs[0])
	lines := readLines(t, path)
	lines[1] = bytes.Replace(lines[1], []byte("Alice"), []byte("Mallory"), 1)
	writeLines(t, path, lines)
	if l, err := Open(dir, Options{Signer: testKey}); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			l.Close()
		}
		t.Fatalf("Open(damaged unsigned file) = %v, want ErrCorrupt", err)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, Options{Now: clk.Now, MaxFileAge: 10 * time.Minute, DigestInterval: time.Hour})
	// l.do waits until the writer has finished housekeeping, so that it
	// sees each clock change only at the next commit.
	for range 3 {
		appendN(t, l, 0, 2)
		l.do(func() {})
		clk.Advance(11 * time.Minute)
	}
	appendN(t, l, 0, 1)
	l.do(func() {})
	if n := len(listFiles(t, dir, digestPrefix)); n != 0 {
		t.Errorf("%d digests before the interval, want 0", n)
	}
	clk.Advance(time.Hour)
	appendN(t, l, 0, 1) // a digest is due after this commit
	l.do(func() {})     // wait for the writer to get there
	if n := len(listFiles(t, dir, digestPrefix)); n != 1 {
		t.Errorf("%d digests after the interval, want 1", n)
	}
	l.Close()
	if n := len(listFiles(t, dir, logPrefix)); n != 5 {
		t.Errorf("%d log files, want 5", n)
	}
	ds := readDigests(t, dir)
	// The interval digest closed the fifth file; nothing was written after it.
	if len(ds) != 2 || len(ds[0].LogFiles) != 5 || len(ds[1].LogFiles) != 0 || ds[0].Reason != "interval" || ds[1].Reason != "close" {
		for _, d := range ds {
			t.Errorf("digest %d (%s) lists %d files", d.DigestSeq, d.Reason, len(d.LogFiles))
		}
	}
	mustVerify(t, dir)
}

func TestBroken(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 1)
	l.do(func() { l.cur.f.Close() }) // the next write fails
	for i := range 2 {
		if err := l.Append(context.Background(), encryptEvent("x")); !errors.Is(err, ErrBroken) {
			t.Errorf("Append #%d after a write error = %v, want ErrBroken", i, err)
		}
	}
	if !l.Stats().Broken {
		t.Errorf("Stats().Broken = false")
	}
	if err := l.Close(); !errors.Is(err, ErrBroken) {
		t.Errorf("Close = %v, want ErrBroken", err)
	}
	// Reopening recovers: the record that made it is signed, the chain goes on.
	l = openLog(t, dir, Options{})
	appendN(t, l, 1, 1)
	l.Close()
	if rep := mustVerify(t, dir); rep.Records != 2 {
		t.Errorf("Verify checked %d records, want 2", rep.Records)
	}
}

func TestSigners(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	for _, s := range []struct {
		name string
		key  crypto.Signer
	}{{"Ed25519", testKey}, {"ECDSA P-256", ec}} {
		t.Run(s.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, Options{Signer: s.key})
			appendN(t, l, 0, 3)
			l.Close()
			rep, err := Verify(dir, s.key.Public())
			if err != nil || !rep.OK() {
				t.Fatalf("Verify(right key) = %v\n%s", err, problems(rep))
			}
			rep, err = Verify(dir, other.Public())
			if err != nil || !hasProblem(rep, Problem{Kind: BadSignature, File: listFiles(t, dir, digestPrefix)[0]}) {
				t.Fatalf("Verify(wrong key) = %v, want a bad signature:\n%s", err, problems(rep))
			}
		})
	}
}

// TestLogIDSurvivesCrash: a log keeps its identity when the writer dies
// before any digest carried it, and through the digests after that.
func TestLogIDSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	id := l.ID()
	appendN(t, l, 0, 2)
	if n := len(listFiles(t, dir, digestPrefix)); n != 0 {
		t.Fatalf("%d digests before the first interval", n)
	}
	crash(t, l)
	l = openLog(t, dir, Options{})
	if l.ID() != id {
		t.Errorf("ID after a crash before the first digest = %s, want %s", l.ID(), id)
	}
	appendN(t, l, 2, 1)
	l.Close()
	l = openLog(t, dir, Options{})
	if l.ID() != id {
		t.Errorf("ID after a clean restart = %s, want %s", l.ID(), id)
	}
	l.Close()
	for _, d := range readDigests(t, dir) {
		if d.LogID != id {
			t.Errorf("digest %d carries log ID %s, want %s", d.DigestSeq, d.LogID, id)
		}
	}
	if rep := mustVerify(t, dir); rep.Records != 3 || len(rep.Problems) != 0 {
		t.Errorf("Verify = %+v", rep)
	}
}

// TestLiveFileRemoved checks that records written after someone deletes the
// live log file are not acknowledged: they would reach no file anyone can
// read.
func TestLiveFileRemoved(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux checks for a removed live file")
	}
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	defer l.Close()
	appendN(t, l, 0, 1)
	var name string
	l.do(func() { name = l.cur.name })
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), encryptEvent("x")); !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "removed") {
		t.Errorf("Append after the live file was removed = %v, want ErrBroken naming the removal", err)
	}
	if l.Err() == nil {
		t.Errorf("Err() = nil after the live file was removed")
	}
}

// TestOpenRefusesLostDurableRecords checks Options.Durable: a trail that
// ends before a record known to have been durable is refused with
// ErrCorrupt, and the refused Open changes nothing in the directory (a
// torn-looking record is not cut, no digest signs over the loss).
func TestOpenRefusesLostDurableRecords(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"last records removed", func(t *testing.T, path string) {
			lines := readLines(t, path)
			if err := os.Truncate(path, int64(len(bytes.Join(lines[:3], nil)))); err != nil {
				t.Fatal(err)
			}
		}},
		{"a record altered, so it looks torn", func(t *testing.T, path string) {
			lines := readLines(t, path)
			lines[3][len(lines[3])-3] ^= 1 // inside record 4's event
			if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, Options{})
			id := l.ID()
			appendN(t, l, 0, 5)
			crash(t, l)
			logs := listFiles(t, dir, logPrefix)
			tc.damage(t, filepath.Join(dir, logs[len(logs)-1]))

			openRefused(t, dir, Mark{LogID: id, Seq: 5}, ErrCorrupt, "record 5 was durable")
			// A mark the trail reaches does not stop it.
			opensWith(t, dir, Mark{LogID: id, Seq: 3}, "record 3 durable")
		})
	}
}

// TestOpenRefusesRewrittenRecords checks Options.Durable's hash: records a
// crash left unsigned, rewritten with their chain recomputed so that every
// hash checks, pass an Open given only the durable record's number (and
// would be signed by it), but not one given its hash too; and the refusal
// changes nothing in the directory.
func TestOpenRefusesRewrittenRecords(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 5)
	m := l.Durable()
	if m.LogID != l.ID() || m.Seq != 5 {
		t.Fatalf("Durable() = %+v after 5 records", m)
	}
	crash(t, l)

	rewriteRecord(t, dir, 2)

	openRefused(t, dir, m, ErrCorrupt, "record 5 is not the record that was durable")
	// Without the hash the rewrite goes unnoticed: what the hash is for.
	opensWith(t, dir, Mark{LogID: m.LogID, Seq: m.Seq}, "record 5's number only")
}

// TestOpenRefusesOtherTrail checks that Open given a mark refuses a
// directory that does not hold the marked log (removed, emptied, or another
// log's) with ErrOtherTrail, changes nothing there, and that without the
// mark the same directory opens: the owner's way to start a new trail.
func TestOpenRefusesOtherTrail(t *testing.T) {
	other := t.TempDir()
	l := openLog(t, other, Options{})
	appendN(t, l, 0, 2)
	l.Close()

	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		found string
	}{
		{"removed", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, "does not exist"},
		{"emptied", func(t *testing.T, dir string) {
			names, _ := os.ReadDir(dir)
			for _, n := range names {
				os.Remove(filepath.Join(dir, n.Name()))
			}
		}, "holds no audit log"},
		{"another log's", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(dir, os.DirFS(other)); err != nil {
				t.Fatal(err)
			}
		}, "holds audit log "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "audit")
			l := openLog(t, dir, Options{})
			m := Mark{LogID: l.ID(), Seq: 3}
			appendN(t, l, 0, 3)
			crash(t, l)
			tc.setup(t, dir)
			if _, err := os.Stat(dir); err == nil {
				// A digest write cut short: an Open that goes on removes it.
				if err := os.WriteFile(filepath.Join(dir, "digest-cut"+tmpSuffix), []byte("{"), 0o600); err != nil {
					t.Fatal(err)
				}
			}

			openRefused(t, dir, m, ErrOtherTrail, tc.found, m.LogID)
			l, err := Open(dir, Options{Signer: testKey})
			if err != nil {
				t.Fatalf("Open without a mark = %v", err)
			}
			if l.ID() == m.LogID {
				t.Errorf("Open without a mark continued log %s, which the directory does not hold", m.LogID)
			}
			l.Close()
		})
	}
}

// opensWith checks that Open of dir given the mark m succeeds; what says
// what the mark holds, for the failure message.
func opensWith(t *testing.T, dir string, m Mark, what string) {
	t.Helper()
	l, err := Open(dir, Options{Signer: testKey, Durable: m})
	if err != nil {
		t.Fatalf("Open with %s = %v", what, err)
	}
	l.Close()
}

// openRefused checks that Open of dir given the mark m fails with target,
// saying each of want, and changes nothing in dir (makes none, if there is
// none).
func openRefused(t *testing.T, dir string, m Mark, target error, want ...string) {
	t.Helper()
	before := dirState(t, dir)
	_, err := Open(dir, Options{Signer: testKey, Durable: m})
	if !errors.Is(err, target) {
		t.Fatalf("Open with %+v = %v, want %v", m, err, target)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("Open with %+v = %v, want it to say %q", m, err, w)
		}
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("the refused Open changed the directory:\nbefore %s\nafter  %s", before, after)
	}
}

// dirState describes the files in dir: names, sizes and content hashes;
// "" when dir does not exist.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d:%x ", e.Name(), len(data), sha256.Sum256(data))
	}
	return b.String()
}

// A digest whose directory entry could not be synced counts as not
// written, and goes: the retry must not leave two digests with the same
// sequence number, which Verify would report as tampering.
func TestDigestRetryAfterDirSyncError(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, Options{Now: clk.Now})
	appendN(t, l, 0, 3)
	l.dirFail.Store(true)
	var err error
	l.do(func() { err = l.digestNow("test") })
	if err == nil {
		t.Fatal("digest with a failing directory sync succeeded")
	}
	l.dirFail.Store(false)
	clk.Advance(time.Second) // the retry's file name differs
	forceDigest(t, l)
	appendN(t, l, 3, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64]int{}
	for _, d := range readDigests(t, dir) {
		if seqs[d.DigestSeq]++; seqs[d.DigestSeq] > 1 {
			t.Errorf("two digests with sequence number %d: %v", d.DigestSeq, listFiles(t, dir, digestPrefix))
		}
	}
	mustVerify(t, dir)
}
