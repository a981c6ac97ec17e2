package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// clock is a manual clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 5, 20, 20, 46, 16, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openLog(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	if opts.Signer == nil {
		opts.Signer = testKey
	}
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	return l
}

const testKeyARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func encryptEvent(requestID string) *Event {
	return &Event{
		UserIdentity: UserIdentity{
			Type: "IAMUser", PrincipalID: "EX_PRINCIPAL_ID", ARN: "arn:aws:iam::111122223333:user/Alice",
			AccountID: "111122223333", AccessKeyID: "EXAMPLE_KEY_ID", UserName: "Alice",
		},
		EventName:          "Encrypt",
		AWSRegion:          "us-west-2",
		SourceIPAddress:    "192.0.2.0",
		UserAgent:          "aws-sdk-go-v2/1.0",
		RequestParameters:  json.RawMessage(`{"keyId":"` + testKeyARN + `","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"Department":"Engineering"}}`),
		RequestID:          requestID,
		ReadOnly:           true,
		Resources:          []Resource{{AccountID: "111122223333", Type: ResourceTypeKey, ARN: testKeyARN}},
		RecipientAccountID: "111122223333",
	}
}

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Append(context.Background(), encryptEvent(fmt.Sprintf("req-%d", i))); err != nil {
			t.Fatalf("Append(req-%d) = %v", i, err)
		}
	}
}

// crash stops l the way a killed process would: no final digest.
func crash(t testing.TB, l *Log) {
	t.Helper()
	l.do(func() { l.crashed = true })
	if err := l.Close(); err != nil {
		t.Fatalf("Close after crash = %v", err)
	}
}

// forceDigest makes l write a digest now.
func forceDigest(t testing.TB, l *Log) {
	t.Helper()
	var err error
	l.do(func() { err = l.digestNow("test") })
	if err != nil {
		t.Fatalf("digest: %v", err)
	}
}

func listFiles(t testing.TB, dir, prefix string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && !strings.HasSuffix(e.Name(), tmpSuffix) {
			names = append(names, e.Name())
		}
	}
	return names
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = trimZeros(data) // a crashed writer's preallocated tail
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLines(t testing.TB, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t testing.TB, line []byte) record {
	t.Helper()
	r, err := parseLine(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatalf("parseLine(%q) = %v", line, err)
	}
	return r
}

// queryAll returns every event in dir.
func queryAll(t testing.TB, dir string, f Filter) []*Event {
	t.Helper()
	var evs []*Event
	if err := Query(dir, f, func(e *Event) bool { evs = append(evs, e); return true }); err != nil {
		t.Fatalf("Query = %v", err)
	}
	return evs
}

func readDigests(t testing.TB, dir string) []*parsedDigest {
	t.Helper()
	var ds []*parsedDigest
	for _, name := range listFiles(t, dir, digestPrefix) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := parseDigest(data)
		if err != nil {
			t.Fatalf("parseDigest(%s) = %v", name, err)
		}
		ds = append(ds, p)
	}
	return ds
}

func mustVerify(t testing.TB, dir string) *Report {
	t.Helper()
	rep, err := Verify(dir, testKey.Public())
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if !rep.OK() {
		t.Fatalf("Verify found problems:\n%s", problems(rep))
	}
	return rep
}

func problems(rep *Report) string {
	var s []string
	for _, p := range rep.Problems {
		s = append(s, "  "+p.String())
	}
	return strings.Join(s, "\n")
}

func hasProblem(rep *Report, want Problem) bool {
	return slices.ContainsFunc(rep.Problems, func(p Problem) bool {
		return p.Kind == want.Kind && p.File == want.File && p.Seq == want.Seq && (want.Line == 0 || p.Line == want.Line)
	})
}

// recordsEnd is the size of the file at path without the zero tail a
// crashed writer leaves.
func recordsEnd(t testing.TB, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(trimZeros(data)))
}

// cutZeros removes the zero tail of the file at path, as closing a file
// does.
func cutZeros(t testing.TB, path string) {
	t.Helper()
	if err := os.Truncate(path, recordsEnd(t, path)); err != nil {
		t.Fatal(err)
	}
}

// rewriteRecord changes record seq's event in the last log file in dir and
// recomputes the chain from there on, as a forger who can write the
// directory would: every hash checks, only a signature or a mark can tell.
func rewriteRecord(t testing.TB, dir string, seq uint64) {
	t.Helper()
	logs := listFiles(t, dir, logPrefix)
	path := filepath.Join(dir, logs[len(logs)-1])
	var out []byte
	var prev [32]byte
	changed := false
	for i, line := range readLines(t, path) {
		r, err := parseLine(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			prev = r.Prev
		}
		event := r.Event
		if r.Seq == seq {
			event = bytes.Replace(event, []byte(`"sourceIPAddress":"`), []byte(`"sourceIPAddress":"6`), 1)
			changed = len(event) != len(r.Event)
		}
		sum := recordHash(sha256.New(), &prev, r.Seq, event)
		out = appendLine(out, r.Seq, &prev, &sum, event)
		prev = sum
	}
	if !changed {
		t.Fatalf("record %d is not in %s, or has no sourceIPAddress", seq, path)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
