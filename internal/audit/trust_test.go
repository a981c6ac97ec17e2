package audit

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))

// writeDigestFile writes d as a digest file in dir, signed by signer, or
// with a made-up signature when signer is nil, and returns its path.
func writeDigestFile(t testing.TB, dir, name string, d digest, signer crypto.Signer) string {
	t.Helper()
	payload, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte("not a signature")
	if signer != nil {
		if sig, err = sign(signer, payload); err != nil {
			t.Fatal(err)
		}
	}
	env, err := json.Marshal(digestEnvelope{Payload: payload, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, env, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// trailOf100 writes records 1-100 with a digest after record 50, and
// returns the newest digest and the owner's mark of record 100.
func trailOf100(t *testing.T, dir string, clk *clock) (*parsedDigest, Mark) {
	l := openLog(t, dir, Options{Now: clk.Now})
	appendN(t, l, 0, 50)
	forceDigest(t, l)
	appendN(t, l, 50, 50)
	mark := l.Durable()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ds := readDigests(t, dir)
	return ds[len(ds)-1], mark
}

// wantPlantedReported checks that Verify finds records 1-101 in dir and
// reports the digest planted there.
func wantPlantedReported(t *testing.T, dir, planted string) {
	t.Helper()
	rep, err := Verify(dir, testKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if rep.FirstSeq != 1 || rep.LastSeq != 101 || !hasProblem(rep, Problem{Kind: BadSignature, File: planted}) {
		t.Errorf("Verify: records %d-%d, problems:\n%s\nwant records 1-101 and %s reported", rep.FirstSeq, rep.LastSeq, problems(rep), planted)
	}
}

// plantNext writes trailOf100 in dir and plants after its newest digest a
// next one, a copy of the newest listing no files that edit changes,
// signed by signer (nil: a made-up signature). It returns the planted
// digest's name and the owner's mark.
func plantNext(t *testing.T, dir string, clk *clock, signer crypto.Signer, edit func(d *digest, newest *parsedDigest)) (string, Mark) {
	t.Helper()
	newest, mark := trailOf100(t, dir, clk)
	d := newest.digest
	d.DigestSeq++
	d.LogFiles = []digestFile{}
	edit(&d, newest)
	planted := digestName(d.DigestSeq, clk.Now().Add(time.Second))
	writeDigestFile(t, dir, planted, d, signer)
	return planted, mark
}

// plantFloorPastHead is plantNext with a floor past every record.
func plantFloorPastHead(t *testing.T, dir string, clk *clock) (string, Mark) {
	t.Helper()
	return plantNext(t, dir, clk, nil, func(d *digest, newest *parsedDigest) {
		d.Floor = floor{Seq: newest.LastSeq + 1, PrevHash: newest.LastHash, DigestSeq: d.DigestSeq}
	})
}

// Someone who can write the directory but holds no signing key must not
// make Open act on a digest: with a floor past every record, Open would
// delete the whole trail, and the next real digest would vouch for that
// floor. Open refuses any newest digest that does not verify with the
// signing key, and changes nothing.
func TestOpenRefusesUnverifiedDigest(t *testing.T) {
	tests := []struct {
		name string
		// plant changes dir given its newest digest, and returns a way to
		// undo the change.
		plant func(t *testing.T, dir string, newest *parsedDigest, now time.Time) (undo func())
	}{
		{"planted, floor past every record", func(t *testing.T, dir string, newest *parsedDigest, now time.Time) func() {
			d := newest.digest
			d.DigestSeq++
			d.LogFiles = []digestFile{}
			d.Floor = floor{Seq: newest.LastSeq + 1, PrevHash: newest.LastHash, DigestSeq: d.DigestSeq}
			path := writeDigestFile(t, dir, digestName(d.DigestSeq, now), d, nil)
			return func() { os.Remove(path) }
		}},
		{"planted, floor beyond itself", func(t *testing.T, dir string, newest *parsedDigest, now time.Time) func() {
			d := newest.digest
			d.DigestSeq++
			d.Floor = floor{Seq: newest.LastSeq + 1, PrevHash: newest.LastHash, DigestSeq: d.DigestSeq + 1}
			path := writeDigestFile(t, dir, digestName(d.DigestSeq, now), d, nil)
			return func() { os.Remove(path) }
		}},
		{"signed with another key", func(t *testing.T, dir string, newest *parsedDigest, now time.Time) func() {
			d := newest.digest
			d.DigestSeq++
			d.Floor = floor{Seq: newest.LastSeq + 1, PrevHash: newest.LastHash}
			_, d.PublicKeyFingerprint, _ = keyInfo(otherKey.Public())
			path := writeDigestFile(t, dir, digestName(d.DigestSeq, now), d, otherKey)
			return func() { os.Remove(path) }
		}},
		{"newest digest's floor raised, signature kept", func(t *testing.T, dir string, newest *parsedDigest, now time.Time) func() {
			names := listFiles(t, dir, digestPrefix)
			path := filepath.Join(dir, names[len(names)-1])
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			d := newest.digest
			d.Floor = floor{Seq: newest.LastSeq + 1, PrevHash: newest.LastHash}
			payload, _ := json.Marshal(d)
			env, _ := json.Marshal(digestEnvelope{Payload: payload, Signature: newest.sig})
			if err := os.WriteFile(path, env, 0o600); err != nil {
				t.Fatal(err)
			}
			return func() { os.WriteFile(path, orig, 0o600) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			newest, mark := trailOf100(t, dir, clk)
			clk.Advance(time.Second)
			undo := tt.plant(t, dir, newest, clk.Now())
			before := dirState(t, dir)

			_, err := Open(dir, Options{Signer: testKey, Now: clk.Now, Durable: mark})
			if !errors.Is(err, ErrUnverified) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrUnverified (and ErrCorrupt)", err)
			}
			if after := dirState(t, dir); after != before {
				t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
			}

			// The trail itself was not harmed.
			undo()
			l := openLog(t, dir, Options{Now: clk.Now, Durable: mark})
			appendN(t, l, 100, 1)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if rep := mustVerify(t, dir); rep.FirstSeq != 1 || rep.LastSeq != 101 {
				t.Errorf("Verify checked records %d-%d, want 1-101", rep.FirstSeq, rep.LastSeq)
			}
		})
	}
}

// An older digest that the newest does not reach by hash was not vouched
// for by the key, and Open must not act on what it claims: here, that the
// first log file was last written two hours ago, which with one hour's
// retention would have the next digest delete records 1-50 and sign the
// deletion. In a trail this package wrote every digest from the floor's
// on is in the newest's chain, or shares a chain member's number (a
// retried write's first try): one that replaces a real digest makes Open
// refuse, changing nothing; one beside a real digest of its number is
// ignored, and Verify reports it.
func TestOpenUnlinkedDigest(t *testing.T) {
	for _, tt := range []struct {
		name    string
		replace bool // the planted digest takes the real one's place
	}{
		{"beside the real digest of its number", false},
		{"in place of the real digest of its number", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			_, mark := trailOf100(t, dir, clk)
			names := listFiles(t, dir, digestPrefix)
			real := readDigests(t, dir)[0] // digest 1, which lists the first file
			first := real.LogFiles[0]
			d := real.digest
			first.LastWrite = clk.Now().Add(-2 * time.Hour)
			d.LogFiles = []digestFile{first}
			planted := digestName(real.DigestSeq, real.EndTime.Add(-time.Second)) // sorts just before it
			if tt.replace {
				os.Remove(filepath.Join(dir, names[0]))
			}
			writeDigestFile(t, dir, planted, d, nil)
			before := dirState(t, dir)

			clk.Advance(time.Second)
			opts := Options{Now: clk.Now, Durable: mark, Retention: time.Hour}
			if tt.replace {
				opts.Signer = testKey
				_, err := Open(dir, opts)
				if !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), planted) {
					t.Fatalf("Open = %v, want ErrUnverified naming %s", err, planted)
				}
				if after := dirState(t, dir); after != before {
					t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
				}
				return
			}
			l := openLog(t, dir, opts)
			appendN(t, l, 100, 1)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := listFiles(t, dir, logPrefix); !slices.Contains(got, first.Name) {
				t.Fatalf("log files %v: %s was deleted", got, first.Name)
			}
			rep, err := Verify(dir, testKey.Public())
			if err != nil {
				t.Fatal(err)
			}
			if rep.FirstSeq != 1 || rep.LastSeq != 101 || !hasProblem(rep, Problem{Kind: BadSignature, File: planted}) {
				t.Errorf("Verify: records %d-%d, problems:\n%s\nwant records 1-101 and %s reported", rep.FirstSeq, rep.LastSeq, problems(rep), planted)
			}
		})
	}
}

// Options.NewKey is how an owner who lost the signing key goes on with
// another: the digests there are taken as they are, and the head is
// signed with the new key at once, so that later Opens verify again.
func TestOpenNewKey(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	_, mark := trailOf100(t, dir, clk)
	before := dirState(t, dir)
	if _, err := Open(dir, Options{Signer: otherKey, Now: clk.Now, Durable: mark}); !errors.Is(err, ErrUnverified) {
		t.Fatalf("Open with another key = %v, want ErrUnverified", err)
	}
	if after := dirState(t, dir); after != before {
		t.Fatal("a refused Open changed the directory")
	}

	clk.Advance(time.Second)
	l := openLog(t, dir, Options{Signer: otherKey, NewKey: true, Now: clk.Now, Durable: mark})
	crash(t, l) // no digest at Close: the one Open wrote must do
	ds := readDigests(t, dir)
	_, fp, _ := keyInfo(otherKey.Public())
	if d := ds[len(ds)-1]; d.PublicKeyFingerprint != fp || d.Reason != "open" || d.LastSeq != 100 {
		t.Fatalf("newest digest: key %s, reason %q, head %d; want the new key's, \"open\", 100", d.PublicKeyFingerprint, d.Reason, d.LastSeq)
	}
	clk.Advance(time.Second)
	l = openLog(t, dir, Options{Signer: otherKey, Now: clk.Now, Durable: mark})
	appendN(t, l, 100, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, otherKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if rep.LastSeq != 101 || rep.Records != 101 {
		t.Errorf("Verify with the new key: records %d-%d (%d), want 1-101", rep.FirstSeq, rep.LastSeq, rep.Records)
	}
	// What the old key alone signed cannot verify with the new one: its
	// digests, and the files only they list.
	for _, p := range rep.Problems {
		if p.Kind != BadSignature && p.Kind != Unsigned {
			t.Errorf("Verify with the new key: %v; want only the old key's digests and files reported", p)
		}
	}
}

// Even with NewKey, a digest whose floor lies beyond its own head is not
// one this package wrote: acting on it would delete the trail (and once
// made the writer panic).
func TestOpenNewKeyRefusesFloorBeyondHead(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	_, mark := plantNext(t, dir, clk, otherKey, func(d *digest, newest *parsedDigest) {
		d.Floor = floor{Seq: newest.LastSeq + 1, PrevHash: newest.LastHash, DigestSeq: d.DigestSeq + 1}
	})
	before := dirState(t, dir)
	_, err := Open(dir, Options{Signer: otherKey, NewKey: true, Now: clk.Now, Durable: mark})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	if after := dirState(t, dir); after != before {
		t.Fatal("a refused Open changed the directory")
	}
}

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("signer unavailable")
}

// tornTrail leaves dir as a crash during a write of record 4 would, and
// returns the live file's path and the torn bytes.
func tornTrail(t *testing.T, dir string) (string, []byte) {
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 3)
	crash(t, l)
	logs := listFiles(t, dir, logPrefix)
	path := filepath.Join(dir, logs[len(logs)-1])
	tail := []byte(`{"seq":4,"prevHash":"00`)
	appendBytes(t, path, tail)
	return path, tail
}

// The torn tail is cut only after the digest recording the cut is
// durable: if that digest cannot be written, the file keeps its tail and
// the next Open finds and records it again.
func TestRecoveryCutAfterItsDigest(t *testing.T) {
	dir := t.TempDir()
	path, tail := tornTrail(t, dir)
	before := dirState(t, dir)
	if _, err := Open(dir, Options{Signer: failingSigner{testKey}}); err == nil {
		t.Fatal("Open with a failing signer succeeded")
	}
	if after := dirState(t, dir); after != before {
		t.Fatal("Open changed the directory though it could not sign the cut")
	}

	l := openLog(t, dir, Options{})
	rec := l.Recovery()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.Bytes != int64(len(tail)) {
		t.Fatalf("Recovery() = %+v, want the %d-byte tail", rec, len(tail))
	}
	if !slices.ContainsFunc(readDigests(t, dir), func(d *parsedDigest) bool { return d.Recovery != nil && *d.Recovery == *rec }) {
		t.Error("no digest records the cut")
	}
	if got := recordsEnd(t, path); got != rec.Offset {
		t.Errorf("file ends at %d, want %d", got, rec.Offset)
	}
	mustVerify(t, dir)
}

// A crash after the digest that records a cut, before the cut: the next
// Open finishes it, but only if the bytes beyond the signed offset are
// the tail the digest describes.
func TestRecoveryFinishesInterruptedCut(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tail   func(tail []byte) []byte // what lies beyond the offset after the crash
		cut    bool
		report bool // Verify reports a problem afterwards
	}{
		{"the recorded tail", func(tail []byte) []byte { return tail }, true, false},
		{"other bytes", func(tail []byte) []byte { return append(bytes.Clone(tail), "x"...) }, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, tail := tornTrail(t, dir)
			l := openLog(t, dir, Options{})
			rec := l.Recovery()
			crash(t, l) // the newest digest is Open's, with the recovery
			appendBytes(t, path, tt.tail(tail))

			l = openLog(t, dir, Options{})
			if r := l.Recovery(); r != nil {
				t.Errorf("second Open reports a new recovery %+v", r)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := recordsEnd(t, path); (got == rec.Offset) != tt.cut {
				t.Errorf("file ends at %d; offset %d, want cut %v", got, rec.Offset, tt.cut)
			}
			rep, err := Verify(dir, testKey.Public())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() == tt.report {
				t.Errorf("Verify problems:\n%s\nwant some: %v", problems(rep), tt.report)
			}
		})
	}
}

// With NewKey the floor an unverified digest claims is lowered to what
// is there: a planted floor past every record deletes nothing, and the
// new key's first digest vouches only for the records present.
func TestOpenNewKeyKeepsWhatIsThere(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	planted, mark := plantFloorPastHead(t, dir, clk)
	logs := listFiles(t, dir, logPrefix)
	digests := listFiles(t, dir, digestPrefix)

	clk.Advance(2 * time.Second)
	l := openLog(t, dir, Options{NewKey: true, Now: clk.Now, Durable: mark})
	appendN(t, l, 100, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(logs, digests...) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	ds := readDigests(t, dir)
	if fl := ds[len(ds)-1].Floor; fl.Seq != 1 || fl.DigestSeq != 0 {
		t.Errorf("floor after the NewKey start: %+v, want record 1 and every digest", fl)
	}
	wantPlantedReported(t, dir, planted)
}

// With NewKey no signature vouches for the records up to the head, so
// Open checks the owner's durable mark against the log files themselves.
func TestOpenNewKeyChecksMark(t *testing.T) {
	for _, tt := range []struct {
		name string
		mark func(t *testing.T, m Mark, dir string) Mark
		ok   bool
	}{
		{"the record as it was", func(_ *testing.T, m Mark, _ string) Mark { return m }, true},
		{"rewritten", func(_ *testing.T, m Mark, _ string) Mark { m.Hash[0] ^= 1; return m }, false},
		{"its file removed", func(t *testing.T, m Mark, dir string) Mark {
			os.Remove(filepath.Join(dir, listFiles(t, dir, logPrefix)[0]))
			return m
		}, false},
		{"an earlier record rewritten, hash fields kept", func(t *testing.T, m Mark, dir string) Mark {
			path := filepath.Join(dir, listFiles(t, dir, logPrefix)[0])
			lines := readLines(t, path)
			lines[9] = bytes.Replace(lines[9], []byte("req-9"), []byte("req-X"), 1)
			writeLines(t, path, lines)
			return m
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			l := openLog(t, dir, Options{Now: clk.Now})
			appendN(t, l, 0, 30)
			mark := l.Durable() // record 30, in the first file
			appendN(t, l, 30, 20)
			forceDigest(t, l)
			appendN(t, l, 50, 50)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			m := tt.mark(t, mark, dir)
			_, err := Open(dir, Options{Signer: otherKey, NewKey: true, Now: clk.Now, Durable: m})
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrCorrupt)) {
				t.Fatalf("Open with NewKey and the mark of record %d = %v, want ok %v (or ErrCorrupt)", m.Seq, err, tt.ok)
			}
		})
	}
}

// Nor does NewKey let an unverified digest have Open finish a "cut" it
// describes: a planted digest could describe the last real record as a
// torn tail.
func TestOpenNewKeyCutsNothing(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	newest, mark := trailOf100(t, dir, clk)
	last := newest.LogFiles[len(newest.LogFiles)-1]
	path := filepath.Join(dir, last.Name)
	lines := readLines(t, path)
	tail := lines[len(lines)-1]
	d := newest.digest
	d.DigestSeq++
	f := last
	f.Size -= int64(len(tail))
	d.LogFiles = []digestFile{f}
	d.Recovery = &Recovery{File: last.Name, Offset: f.Size, Bytes: int64(len(tail)), SHA256: sha256Sum(tail).String()}
	writeDigestFile(t, dir, digestName(d.DigestSeq, clk.Now().Add(time.Second)), d, nil)

	clk.Advance(2 * time.Second)
	l := openLog(t, dir, Options{NewKey: true, Now: clk.Now, Durable: mark})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := recordsEnd(t, path); got != last.Size {
		t.Errorf("%s ends at %d, want %d: Open cut a record on an unverified digest's word", last.Name, got, last.Size)
	}
}

// A torn record alone in a file (the crash came during the first write to
// a new file) is recorded like any torn tail, and the file, which then
// holds nothing acknowledged, goes once the digest is durable.
func TestRecoveryTornFirstRecord(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	l := openLog(t, dir, Options{Now: clk.Now})
	appendN(t, l, 0, 3)
	if err := l.Close(); err != nil { // the file is closed and signed
		t.Fatal(err)
	}
	torn := []byte(`{"seq":4,"prevHash":"00`)
	path := filepath.Join(dir, logName(4, clk.Now()))
	if err := os.WriteFile(path, append(bytes.Clone(torn), make([]byte, 4096)...), 0o600); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, Options{Now: clk.Now})
	rec := l.Recovery()
	appendN(t, l, 3, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.File != filepath.Base(path) || rec.Offset != 0 || rec.Bytes != int64(len(torn)) {
		t.Fatalf("Recovery() = %+v, want the whole of %s", rec, filepath.Base(path))
	}
	if !slices.ContainsFunc(readDigests(t, dir), func(d *parsedDigest) bool { return d.Recovery != nil && *d.Recovery == *rec }) {
		t.Error("no digest records the cut")
	}
	if rep := mustVerify(t, dir); rep.LastSeq != 4 {
		t.Errorf("Verify: last record %d, want 4", rep.LastSeq)
	}
}

// A directory holding another log is ErrOtherTrail, however its digests
// are signed: that it is not the owner's trail is the finding to report.
func TestOtherTrailBeforeUnverified(t *testing.T) {
	mine, other := t.TempDir(), t.TempDir()
	clk := newClock()
	_, mark := trailOf100(t, mine, clk)
	l := openLog(t, other, Options{Signer: otherKey, Now: clk.Now})
	appendN(t, l, 0, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	openRefused(t, other, mark, ErrOtherTrail, "holds audit log")
}

// Nothing an unverified digest says about files is acted on under
// NewKey, nor later through the new key's digest, which links to it:
// here a planted digest lists every file as written in 1970, which would
// have retention (a day) delete them all.
func TestNewKeyVouchesForNothingBefore(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	newest, mark := trailOf100(t, dir, clk)
	var all []digestFile
	for _, d := range readDigests(t, dir) {
		for _, f := range d.LogFiles {
			f.LastWrite = time.Unix(0, 0).UTC()
			all = append(all, f)
		}
	}
	d := newest.digest
	d.DigestSeq++
	d.LogFiles = all
	planted := digestName(d.DigestSeq, clk.Now().Add(time.Second))
	writeDigestFile(t, dir, planted, d, nil)
	logs := listFiles(t, dir, logPrefix)

	for _, opts := range []Options{
		{NewKey: true, Durable: mark, Retention: 24 * time.Hour},
		{Retention: 24 * time.Hour}, // a later Open, the newest digest now the new key's
	} {
		clk.Advance(2 * time.Second)
		opts.Now = clk.Now
		l := openLog(t, dir, opts)
		appendN(t, l, 100, 1)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		for _, name := range logs {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Fatalf("after an Open with NewKey %v: %v", opts.NewKey, err)
			}
		}
	}
	var flagged int
	for _, d := range readDigests(t, dir) {
		if d.NewKey {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("%d digests say newKey, want 1 (the first the new key signed)", flagged)
	}
}

// A real digest under another name is not the newest digest: copied from
// earlier in this trail, or from another trail signed with the same key
// (one moved aside, say), and named to sort last, it would have Open go
// on from its stale head and act on its floor. Open refuses, changing
// nothing.
func TestOpenRefusesCopiedDigest(t *testing.T) {
	for _, tt := range []struct {
		name string
		// src returns the digest to copy in as digest number seq.
		src      func(t *testing.T, dir string, clk *clock, seq uint64) []byte
		removeID bool // and the LOG-ID file goes, so that only the chain tells
	}{
		{"an older digest of this trail", olderDigest, false},
		{"another trail's, same key, same number", otherTrailDigest, false},
		{"another trail's, same key, same number, LOG-ID removed", otherTrailDigest, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			newest, _ := trailOf100(t, dir, clk)
			path := filepath.Join(dir, digestName(newest.DigestSeq+1, clk.Now().Add(time.Second)))
			if err := os.WriteFile(path, tt.src(t, dir, clk, newest.DigestSeq+1), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.removeID {
				os.Remove(filepath.Join(dir, idName))
			}
			before := dirState(t, dir)
			// No durable mark: the digests are all Open has to go by.
			if _, err := Open(dir, Options{Signer: testKey, Now: clk.Now}); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			if after := dirState(t, dir); after != before {
				t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// olderDigest returns the oldest digest of the trail in dir.
func olderDigest(t *testing.T, dir string, _ *clock, _ uint64) []byte {
	b, err := os.ReadFile(filepath.Join(dir, listFiles(t, dir, digestPrefix)[0]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherTrailDigest returns the newest digest, number seq, of another trail
// signed with the test key whose floor lies past record 200.
func otherTrailDigest(t *testing.T, _ string, clk *clock, seq uint64) []byte {
	// 200 records, and retention then moves its floor past
	// them: past every record of the trail it is copied into.
	other := t.TempDir()
	c := newClock()
	l := openLog(t, other, Options{Now: c.Now})
	appendN(t, l, 0, 200)
	forceDigest(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	c.Advance(48 * time.Hour)
	l = openLog(t, other, Options{Now: c.Now, Retention: time.Hour})
	appendN(t, l, 200, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ds := readDigests(t, other)
	if d := ds[len(ds)-1]; d.DigestSeq != seq || d.Floor.Seq <= 100 {
		t.Fatalf("the other trail's newest digest is number %d with floor %d; want %d, above 100", d.DigestSeq, d.Floor.Seq, seq)
	}
	names := listFiles(t, other, digestPrefix)
	b, err := os.ReadFile(filepath.Join(other, names[len(names)-1]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Under NewKey a planted floor past every record deletes nothing even
// when the oldest file's first record, which floorFound goes by, cannot
// be read: the floor then goes to the start of the log.
func TestOpenNewKeyUnreadableOldestFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		harm func(t *testing.T, dir string, logs []string)
	}{
		{"an empty file planted to sort first", func(t *testing.T, dir string, _ []string) {
			if err := os.WriteFile(filepath.Join(dir, logName(1, time.Unix(0, 0))), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"the oldest file's first byte damaged", func(t *testing.T, dir string, logs []string) {
			path := filepath.Join(dir, logs[0])
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[0] = 'X'
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			_, mark := plantFloorPastHead(t, dir, clk)
			logs := listFiles(t, dir, logPrefix)
			tt.harm(t, dir, logs)
			clk.Advance(2 * time.Second)
			if l, err := Open(dir, Options{Signer: otherKey, NewKey: true, Now: clk.Now, Durable: mark}); err == nil {
				l.Close()
			}
			for _, name := range logs {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// After a key replacement retention goes on: the files from before it,
// whose dates no trusted digest gives, count as last written when the new
// key took them over, and go a whole Retention after that, not sooner.
func TestRetentionAfterNewKey(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	opts := Options{Now: clk.Now, MaxFileAge: 20 * time.Minute, DigestInterval: time.Hour, Retention: 3 * time.Hour}
	l := openLog(t, dir, opts)
	runHours(t, l, clk, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old := listFiles(t, dir, logPrefix)

	opts.Signer = otherKey
	newKey := opts
	newKey.NewKey = true
	l = openLog(t, dir, newKey)
	runHours(t, l, clk, 2) // two hours after the replacement: all kept
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, dir, logPrefix); !slices.Contains(got, old[0]) {
		t.Fatalf("2 h after the key replacement, with 3 h retention, %s is gone", old[0])
	}
	l = openLog(t, dir, opts) // a later start: the chain now ends at the new key's first digest
	runHours(t, l, clk, 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range old {
		if slices.Contains(listFiles(t, dir, logPrefix), name) {
			t.Errorf("5 h after the key replacement, with 3 h retention, %s is still there", name)
		}
	}
}

// Under NewKey the head is an unverified digest's word: records that do
// not follow it are refused, not cut as a torn tail would be. (Here a
// planted digest puts the head at record 50 with a wrong hash, which would
// have Open remove the signed file of records 51-100.)
func TestOpenNewKeyRefusesToCutRecords(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	plantNext(t, dir, clk, nil, func(d *digest, _ *parsedDigest) {
		d.LastSeq = 50
		d.LastHash[0] ^= 1
		d.Floor = floor{Seq: 1}
	})
	before := dirState(t, dir)
	clk.Advance(2 * time.Second)
	// No mark, as after the server's retry on ErrOtherTrail.
	if _, err := Open(dir, Options{Signer: testKey, NewKey: true, Now: clk.Now}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	if after := dirState(t, dir); after != before {
		t.Errorf("Open changed the directory:\nbefore %s\nafter  %s", before, after)
	}
}

// Under NewKey retention goes by nothing an unverified digest says of
// itself either: a planted newest digest dated 1970 is kept, and Verify
// goes on reporting it.
func TestNewKeyKeepsUnverifiedDigest(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	planted, mark := plantNext(t, dir, clk, nil, func(d *digest, _ *parsedDigest) {
		d.EndTime = time.Unix(0, 0).UTC()
	})
	clk.Advance(2 * time.Second)
	l := openLog(t, dir, Options{NewKey: true, Now: clk.Now, Durable: mark, Retention: 24 * time.Hour})
	appendN(t, l, 100, 1)
	forceDigest(t, l) // the second digest: the planted one is no longer the newest
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, planted)); err != nil {
		t.Fatalf("the planted digest was deleted by retention: %v", err)
	}
	rep, err := Verify(dir, testKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !hasProblem(rep, Problem{Kind: BadSignature, File: planted}) {
		t.Errorf("Verify does not report %s:\n%s", planted, problems(rep))
	}
}

// runHours appends two records to l every 10 minutes of clk for hours,
// letting the writer do its housekeeping (rotation, digests, retention)
// after each.
func runHours(t *testing.T, l *Log, clk *clock, hours int) {
	t.Helper()
	for range 6 * hours {
		appendN(t, l, 0, 2)
		l.do(func() {})
		clk.Advance(10 * time.Minute)
	}
}

// writeChain writes a log file of records from..to whose chain holds in
// itself, as anyone can make without a key.
func writeChain(t *testing.T, path string, from, to uint64) {
	t.Helper()
	prev := [32]byte{0xaa}
	var b []byte
	h := sha256.New()
	for seq := from; seq <= to; seq++ {
		ev := []byte(`{"eventName":"Planted"}`)
		sum := recordHash(h, &prev, seq, ev)
		b = appendLine(b, seq, &prev, &sum, ev)
		prev = sum
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Files from before a key replacement are adopted from their own records,
// so those records must end where the next file starts: a file planted
// among them, whose chain claims records into the new key's range (or
// past the head), must not move the floor retention signs, which would
// have Open delete the new key's files, or refuse the trail for good.
func TestAdoptionIgnoresPlantedFile(t *testing.T) {
	for _, claim := range []struct {
		name string
		to   func(head uint64) uint64
	}{
		{"into the new key's records", func(head uint64) uint64 { return head - 2 }},
		{"past the head", func(uint64) uint64 { return 1000 }},
	} {
		t.Run(claim.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			opts := Options{Now: clk.Now, MaxFileAge: 20 * time.Minute, DigestInterval: time.Hour, Retention: 3 * time.Hour}
			l := openLog(t, dir, opts)
			appendN(t, l, 0, 20)
			oldHead := l.Durable().Seq
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			opts.Signer = otherKey
			newKey := opts
			newKey.NewKey = true
			l = openLog(t, dir, newKey)
			runHours(t, l, clk, 1) // an hour with the new key
			head := l.Durable().Seq
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// Numbered as the old head, dated to sort after the old files.
			writeChain(t, filepath.Join(dir, logName(oldHead, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))), oldHead, claim.to(head))
			kept := slices.DeleteFunc(listFiles(t, dir, logPrefix), func(name string) bool {
				seq, _, _ := parseName(name, logPrefix, logSuffix)
				return seq <= oldHead // the old files, which retention may take
			})

			clk.Advance(3 * time.Hour) // past Retention for the old files, not for the new key's
			l = openLog(t, dir, opts)
			forceDigest(t, l)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, err := Open(dir, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			l.Close()
			for _, name := range kept {
				if !slices.Contains(listFiles(t, dir, logPrefix), name) {
					t.Errorf("%s, the new key's and within Retention, was deleted", name)
				}
			}
		})
	}
}

// Retention goes on after a key replacement whatever a crash left in the
// old files: a torn tail whose cut was interrupted (a partial record, or a
// partial record, zeros and a whole later record, as out-of-order
// writeback can leave), or a file below the old floor whose deletion
// failed. Each old file is adopted up to its last good record, and a gap
// after a file does not stop it.
func TestRetentionGoesOnAfterNewKey(t *testing.T) {
	var prev [32]byte
	ev := []byte(`{"eventName":"X"}`)
	sum := recordHash(sha256.New(), &prev, 5, ev)
	hole := append([]byte(`{"seq":4,"pr`), append(make([]byte, 200), appendLine(nil, 5, &prev, &sum, ev)...)...)
	for _, tt := range []struct {
		name string
		// setup leaves dir as the crash did, and returns the file that
		// retention must take in the end.
		setup func(t *testing.T, dir string, opts Options) string
	}{
		{"a torn tail, its cut interrupted", func(t *testing.T, dir string, opts Options) string {
			path, tail := tornTrail(t, dir)
			l := openLog(t, dir, opts)
			crash(t, l)                // after the digest recording the cut,
			appendBytes(t, path, tail) // before the cut
			return path
		}},
		{"a torn write with a hole, its cut interrupted", func(t *testing.T, dir string, opts Options) string {
			path, _ := tornTrail(t, dir)
			cutZeros(t, path)
			logs := readLines(t, path)
			writeLines(t, path, logs[:len(logs)-1]) // tornTrail's own tail
			appendBytes(t, path, hole)
			l := openLog(t, dir, opts)
			crash(t, l)
			appendBytes(t, path, hole)
			return path
		}},
		{"a file below the floor whose deletion failed", func(t *testing.T, dir string, opts Options) string {
			clk := newClock()
			opts.Now = clk.Now
			l := openLog(t, dir, opts)
			runHours(t, l, clk, 2)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			old := listFiles(t, dir, logPrefix)
			first := filepath.Join(dir, old[0])
			saved, err := os.ReadFile(first)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(90 * time.Minute)
			opts.Retention = 3 * time.Hour
			l = openLog(t, dir, opts)
			runHours(t, l, clk, 1)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := listFiles(t, dir, logPrefix); slices.Contains(got, old[1]) {
				t.Fatalf("setup: retention did not delete the first two files: %v", got)
			}
			if err := os.WriteFile(first, saved, 0o600); err != nil { // the failed deletion
				t.Fatal(err)
			}
			return first
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			opts := Options{Now: clk.Now, MaxFileAge: 20 * time.Minute, DigestInterval: time.Hour, Retention: 3 * time.Hour}
			path := tt.setup(t, dir, opts)
			clk.Advance(6 * time.Hour) // the setup's clock ran ahead
			opts.Signer = otherKey
			newKey := opts
			newKey.NewKey = true
			l := openLog(t, dir, newKey)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openLog(t, dir, opts)
			runHours(t, l, clk, 6)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(listFiles(t, dir, logPrefix), filepath.Base(path)) {
				t.Errorf("6 h after the key replacement, with 3 h retention, %s is still there", filepath.Base(path))
			}
		})
	}
}

// In a long run under NewKey, with no restart, retention deletes digests
// as it does after one: the old digest the new key linked to does not
// hold it up.
func TestNewKeyRunDeletesDigests(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	opts := Options{Now: clk.Now, MaxFileAge: 20 * time.Minute, DigestInterval: time.Hour, Retention: 3 * time.Hour}
	l := openLog(t, dir, opts)
	appendN(t, l, 0, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	opts.Signer, opts.NewKey = otherKey, true
	l = openLog(t, dir, opts)
	runHours(t, l, clk, 24)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// 1 old, about 4 within Retention and the floor's, and the last.
	if n := len(listFiles(t, dir, digestPrefix)); n > 8 {
		t.Errorf("%d digests after 24 h with 3 h retention", n)
	}
}

// A power loss can leave a page of zeros and then a whole later record
// (the pages of one write reached the disk out of order): a torn write,
// which a key-replacement start cuts like any other.
func TestNewKeyCutsTornWriteAfterHole(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	appendN(t, l, 0, 3)
	crash(t, l)
	logs := listFiles(t, dir, logPrefix)
	path := filepath.Join(dir, logs[len(logs)-1])
	cutZeros(t, path)
	end := recordsEnd(t, path)
	var prev [32]byte
	ev := []byte(`{"eventName":"X"}`)
	sum := recordHash(sha256.New(), &prev, 5, ev)
	appendBytes(t, path, append(make([]byte, 200), appendLine(nil, 5, &prev, &sum, ev)...))
	l = openLog(t, dir, Options{Signer: otherKey, NewKey: true})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := recordsEnd(t, path); got != end {
		t.Errorf("file ends at %d, want the cut at %d", got, end)
	}
}
