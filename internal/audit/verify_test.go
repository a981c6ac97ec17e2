package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tamperFixture writes a closed log of 42 records in six files (about
// seven records each) under three digests, and returns its directory and
// file names.
func tamperFixture(t *testing.T) (dir string, logs, digests []string) {
	t.Helper()
	dir = t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 8 << 10})
	appendN(t, l, 0, 14)
	forceDigest(t, l)
	appendN(t, l, 14, 14)
	forceDigest(t, l)
	appendN(t, l, 28, 14)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	logs, digests = listFiles(t, dir, logPrefix), listFiles(t, dir, digestPrefix)
	if len(logs) != 6 || len(digests) != 3 || len(readLines(t, filepath.Join(dir, logs[1]))) < 6 {
		t.Fatalf("fixture has %d log files and %d digests", len(logs), len(digests))
	}
	mustVerify(t, dir)
	return dir, logs, digests
}

func seqAt(t *testing.T, path string, line int) uint64 {
	return mustParse(t, readLines(t, path)[line-1]).Seq
}

func rewrite(t *testing.T, path string, f func([][]byte) [][]byte) {
	t.Helper()
	writeLines(t, path, f(readLines(t, path)))
}

// rechain recomputes every hash from prev on, as an attacker without the
// signing key would after changing a record.
func rechain(t *testing.T, dir string, files []string, prev [32]byte) {
	t.Helper()
	for _, name := range files {
		rewrite(t, filepath.Join(dir, name), func(lines [][]byte) [][]byte {
			for i, line := range lines {
				r := mustParse(t, line)
				sum := recordHash(sha256.New(), &prev, r.Seq, r.Event)
				lines[i] = appendLine(nil, r.Seq, &prev, &sum, r.Event)
				prev = sum
			}
			return lines
		})
	}
}

// resign rewrites a digest with the given change and a valid signature by
// key, as a bug or a stolen key would.
func resign(t *testing.T, path string, key ed25519.PrivateKey, change func(*digest)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseDigest(data)
	if err != nil {
		t.Fatal(err)
	}
	change(&p.digest)
	_, data, err = marshalDigest(&p.digest, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyTampering(t *testing.T) {
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, logs, digests []string) Problem // returns the problem Verify must report
	}{{
		name: "modified record",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			seq := seqAt(t, path, 3)
			rewrite(t, path, func(lines [][]byte) [][]byte {
				lines[2] = bytes.Replace(lines[2], []byte(`"userName":"Alice"`), []byte(`"userName":"Carol"`), 1)
				return lines
			})
			return Problem{Kind: Modified, File: logs[1], Line: 3, Seq: seq}
		},
	}, {
		name: "modified record, chain recomputed",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			first := mustParse(t, readLines(t, path)[0])
			rewrite(t, path, func(lines [][]byte) [][]byte {
				lines[2] = bytes.Replace(lines[2], []byte(`"userName":"Alice"`), []byte(`"userName":"Carol"`), 1)
				return lines
			})
			rechain(t, dir, logs[1:], first.Prev)
			return Problem{Kind: DigestMismatch, File: logs[1]}
		},
	}, {
		name: "deleted record",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			seq := seqAt(t, path, 3)
			rewrite(t, path, func(lines [][]byte) [][]byte { return append(lines[:2], lines[3:]...) })
			return Problem{Kind: MissingRecord, File: logs[1], Line: 3, Seq: seq}
		},
	}, {
		name: "deleted last records",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[5])
			lines := readLines(t, path)
			seq := mustParse(t, lines[len(lines)-1]).Seq
			writeLines(t, path, lines[:len(lines)-1])
			return Problem{Kind: MissingRecord, File: logs[5], Seq: seq}
		},
	}, {
		name: "inserted copy of a record",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			seq := seqAt(t, path, 1)
			rewrite(t, path, func(lines [][]byte) [][]byte {
				return append(lines[:4], append([][]byte{lines[0]}, lines[4:]...)...)
			})
			return Problem{Kind: Inserted, File: logs[1], Line: 5, Seq: seq}
		},
	}, {
		name: "inserted forged record that links",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			lines := readLines(t, path)
			after := mustParse(t, lines[2])
			forged := fakeRecord(after.Seq+1, after.Hash, "forged")
			writeLines(t, path, append(lines[:3], append([][]byte{forged}, lines[3:]...)...))
			return Problem{Kind: Inserted, File: logs[1], Line: 4, Seq: after.Seq + 1}
		},
	}, {
		name: "reordered records",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			seq := seqAt(t, path, 3)
			rewrite(t, path, func(lines [][]byte) [][]byte {
				lines[2], lines[3] = lines[3], lines[2]
				return lines
			})
			return Problem{Kind: Reordered, File: logs[1], Line: 3, Seq: seq}
		},
	}, {
		name: "truncated file",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			seq := seqAt(t, path, 4)
			rewrite(t, path, func(lines [][]byte) [][]byte {
				return append(lines[:3], lines[3][:len(lines[3])/2])
			})
			return Problem{Kind: Truncated, File: logs[1], Line: 4, Seq: seq}
		},
	}, {
		name: "missing file",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			path := filepath.Join(dir, logs[1])
			seq := seqAt(t, path, 1)
			os.Remove(path)
			return Problem{Kind: MissingFile, File: logs[1], Seq: seq}
		},
	}, {
		name: "forged digest",
		tamper: func(t *testing.T, dir string, _, digests []string) Problem {
			path := filepath.Join(dir, digests[0])
			data, _ := os.ReadFile(path)
			os.WriteFile(path, bytes.Replace(data, []byte(`"reason":"test"`), []byte(`"reason":"tset"`), 1), 0o600)
			return Problem{Kind: BadSignature, File: digests[0]}
		},
	}, {
		name: "digest signed by another key",
		tamper: func(t *testing.T, dir string, _, digests []string) Problem {
			resign(t, filepath.Join(dir, digests[1]), otherKey, func(*digest) {})
			return Problem{Kind: BadSignature, File: digests[1]}
		},
	}, {
		name: "digest with a wrong file hash",
		tamper: func(t *testing.T, dir string, logs, digests []string) Problem {
			resign(t, filepath.Join(dir, digests[0]), testKey, func(d *digest) { d.LogFiles[1].Hash[0] ^= 1 })
			return Problem{Kind: DigestMismatch, File: logs[1]}
		},
	}, {
		name: "missing digest",
		tamper: func(t *testing.T, dir string, _, digests []string) Problem {
			os.Remove(filepath.Join(dir, digests[1]))
			return Problem{Kind: MissingDigest, File: digests[2]}
		},
	}, {
		name: "extra unsigned file among signed ones",
		tamper: func(t *testing.T, dir string, logs, _ []string) Problem {
			// Split a signed file in two: the second half is listed nowhere.
			path := filepath.Join(dir, logs[1])
			lines := readLines(t, path)
			r := mustParse(t, lines[3])
			name := logName(r.Seq, parseTime(t, logs[1]))
			writeLines(t, path, lines[:3])
			writeLines(t, filepath.Join(dir, name), lines[3:])
			return Problem{Kind: Unsigned, File: name}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, logs, digests := tamperFixture(t)
			want := tt.tamper(t, dir, logs, digests)
			rep, err := Verify(dir, testKey.Public())
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if !hasProblem(rep, want) {
				t.Errorf("Verify found:\n%s\nwant %v", problems(rep), want)
			}
			t.Logf("found:\n%s", problems(rep))
		})
	}
}

func parseTime(t *testing.T, name string) (tm time.Time) {
	_, tm, ok := parseName(name, logPrefix, logSuffix)
	if !ok {
		t.Fatalf("parseName(%q) failed", name)
	}
	return tm
}

func TestVerifyPendingAndTornTail(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 8 << 10})
	appendN(t, l, 0, 10)
	forceDigest(t, l)
	appendN(t, l, 10, 3)
	crash(t, l)
	logs := listFiles(t, dir, logPrefix)
	appendBytes(t, filepath.Join(dir, logs[len(logs)-1]), []byte(`{"seq":14,"pr`))
	rep := mustVerify(t, dir)
	if rep.SignedSeq != 10 || rep.LastSeq != 13 || len(rep.Pending) != 1 || rep.Pending[0] != logs[len(logs)-1] || rep.TornTail == "" {
		t.Errorf("Verify = %+v, want records 11-13 pending and a torn tail", rep)
	}
}

// TestVerifyMark checks VerifyMark against the trails a mark can meet: one
// that reaches it, one cut short of it (a removal every signature survives:
// the newest digest with its file), one rewritten after its last digest
// with the chain recomputed, another log's, and none.
func TestVerifyMark(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	id := l.ID()
	appendN(t, l, 0, 3)
	m3 := l.Durable()
	l.Close() // digest 1 signs records 1-3
	l = openLog(t, dir, Options{})
	appendN(t, l, 3, 2)
	m5 := l.Durable()
	l.Close() // digest 2 signs records 4-5
	if rep := mustVerify(t, dir); rep.LogID != id || rep.LastSeq != 5 || m5.Seq != 5 || m3.Seq != 3 {
		t.Fatalf("Verify: log %s through record %d, marks %+v %+v; want %s through 5", rep.LogID, rep.LastSeq, m3, m5, id)
	}
	// The newest digest and its file, removed together: still OK alone.
	for _, prefix := range []string{digestPrefix, logPrefix} {
		names := listFiles(t, dir, prefix)
		if err := os.Remove(filepath.Join(dir, names[len(names)-1])); err != nil {
			t.Fatal(err)
		}
	}
	if rep := mustVerify(t, dir); rep.LastSeq != 3 {
		t.Fatalf("Verify after the removal: OK through record %d, want 3", rep.LastSeq)
	}
	// A crashed log whose unsigned records were rewritten, chain and all.
	rewritten := t.TempDir()
	l = openLog(t, rewritten, Options{})
	appendN(t, l, 0, 4)
	mr := l.Durable()
	crash(t, l)
	rewriteRecord(t, rewritten, 2)
	if rep := mustVerify(t, rewritten); rep.LastSeq != 4 {
		t.Fatalf("Verify after the rewrite: OK through record %d, want 4", rep.LastSeq)
	}

	tests := []struct {
		name string
		dir  string
		mark Mark
		want string // "" for no problem
	}{
		{"no mark", dir, Mark{}, ""},
		{"mark reached", dir, m3, ""},
		{"mark beyond the trail", dir, m5, "lost-durable at record 4: the trail ends at record 3, but record 5 was durable: records 4 to 5 were removed"},
		{"records rewritten", rewritten, mr, ":4: lost-durable at record 4: record differs from the one that was durable"},
		{"rewritten, mark without its hash", rewritten, Mark{LogID: mr.LogID, Seq: mr.Seq}, ""},
		{"another log's mark", dir, Mark{LogID: "0123456789abcdef0123456789abcdef", Seq: 1}, "lost-durable: the directory holds log " + id + ", but log 0123456789abcdef0123456789abcdef was durable here through record 1"},
		{"no log at all", t.TempDir(), Mark{LogID: id, Seq: 1}, "lost-durable: the directory holds no log, but log " + id},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := VerifyMark(tc.dir, testKey.Public(), tc.mark)
			if err != nil {
				t.Fatal(err)
			}
			got := problems(rep)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("VerifyMark(%+v): problems %q, want %q", tc.mark, got, tc.want)
			}
		})
	}
}
