package audit

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	opts := Options{Now: clk.Now, MaxFileAge: 20 * time.Minute, DigestInterval: time.Hour, Retention: 3 * time.Hour}
	l := openLog(t, dir, opts)
	run := func(l *Log, steps int) {
		for range steps { // 10 minutes each
			appendN(t, l, 0, 2)
			l.do(func() {})
			clk.Advance(10 * time.Minute)
		}
	}
	run(l, 60)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir)
	if rep.FirstSeq < 60 || rep.LastSeq != 120 || rep.Records != rep.LastSeq-rep.FirstSeq+1 {
		t.Errorf("Verify = %+v, want the records of the last 3-4 hours", rep)
	}
	digests := readDigests(t, dir)
	if digests[0].DigestSeq == 1 || len(digests) > 6 {
		t.Errorf("%d digests kept, oldest %d: old digests not deleted", len(digests), digests[0].DigestSeq)
	}
	deleted := 0
	for _, d := range digests {
		deleted += len(d.Deleted)
	}
	if deleted == 0 {
		t.Errorf("no kept digest records a deletion")
	}
	if evs := queryAll(t, dir, Filter{}); uint64(len(evs)) != rep.Records {
		t.Errorf("Query found %d events, Verify %d", len(evs), rep.Records)
	}

	// The floor survives a restart and further deletions.
	l = openLog(t, dir, opts)
	run(l, 30)
	l.Close()
	rep2 := mustVerify(t, dir)
	if rep2.FirstSeq <= rep.FirstSeq || rep2.LastSeq != 180 {
		t.Errorf("after restart: Verify = %+v", rep2)
	}

	// Deleting more than retention did is still tampering.
	tests := []struct {
		name   string
		remove func() string // returns the file removed
		want   ProblemKind
	}{
		{"oldest log file", func() string { return listFiles(t, dir, logPrefix)[0] }, MissingFile},
		{"oldest digest", func() string { return listFiles(t, dir, digestPrefix)[0] }, MissingDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.remove()
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(dir, name))
			defer os.WriteFile(filepath.Join(dir, name), data, 0o600)
			rep, err := Verify(dir, testKey.Public())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				found = found || p.Kind == tt.want
			}
			if !found {
				t.Errorf("Verify after removing %s found:\n%s\nwant %s", name, problems(rep), tt.want)
			}
		})
	}
}

// TestRetentionKeepsUnsigned checks that retention never deletes records
// no digest covers, however old.
func TestRetentionKeepsUnsigned(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	opts := Options{Now: clk.Now, Retention: time.Hour}
	l := openLog(t, dir, opts)
	appendN(t, l, 0, 5)
	crash(t, l)
	clk.Advance(48 * time.Hour)
	l = openLog(t, dir, opts) // signs the old file; must not delete it in the same breath
	l.Close()
	if rep := mustVerify(t, dir); rep.Records != 5 {
		t.Errorf("Verify checked %d records, want 5", rep.Records)
	}
	l = openLog(t, dir, opts)
	clk.Advance(2 * time.Hour)
	l.Close() // now it is signed and old: gone
	rep := mustVerify(t, dir)
	if rep.Records != 0 || rep.FirstSeq != 6 || len(listFiles(t, dir, logPrefix)) != 0 {
		t.Errorf("Verify = %+v, want every record deleted", rep)
	}
	l = openLog(t, dir, opts)
	appendN(t, l, 5, 1)
	l.Close()
	if rep := mustVerify(t, dir); rep.FirstSeq != 6 || rep.LastSeq != 6 {
		t.Errorf("Verify = %+v, want record 6 alone", rep)
	}
}
