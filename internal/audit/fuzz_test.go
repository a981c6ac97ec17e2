package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// verifyFixture is a closed trail (every file signed) that
// FuzzVerifyByteChange copies for each input: 24 records in four log files
// under two digests.
var verifyFixture struct {
	once  sync.Once
	files map[string][]byte
	names []string // log files, then digests
}

func loadVerifyFixture(f *testing.F) {
	verifyFixture.once.Do(func() {
		dir := f.TempDir()
		l := openLog(f, dir, Options{MaxFileBytes: 8 << 10})
		appendN(f, l, 0, 12)
		forceDigest(f, l)
		appendN(f, l, 12, 12)
		if err := l.Close(); err != nil {
			f.Fatal(err)
		}
		verifyFixture.files = map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			verifyFixture.files[e.Name()] = data
		}
		verifyFixture.names = append(listFiles(f, dir, logPrefix), listFiles(f, dir, digestPrefix)...)
	})
	if n := len(verifyFixture.names); n != 6 {
		f.Fatalf("fixture has %d log and digest files, want 6", n)
	}
}

// FuzzVerifyByteChange changes one byte of one file of a closed trail and
// checks that Verify notices. Every record and every file is signed, so
// the only change allowed to pass is one that leaves a digest meaning the
// same (JSON whitespace, the case of a field name, the unused bits of a
// base64 signature): what the signature covers is the payload's exact
// bytes. A change to a log file must be reported in that file at the changed
// record's line or before it, or, for a problem without a line (a record
// cut from the end), by that record's number or an earlier one: "the first
// bad record" must never lie beyond the one that was changed.
func FuzzVerifyByteChange(f *testing.F) {
	loadVerifyFixture(f)
	f.Add(uint8(0), uint32(0), uint8(1))      // first byte of the first log
	f.Add(uint8(1), uint32(700), uint8(0x20)) // inside a record: case of a letter
	f.Add(uint8(3), uint32(1<<31), uint8(0x0a))
	f.Add(uint8(4), uint32(20), uint8(0x20)) // a digest
	f.Add(uint8(5), uint32(9), uint8(0x41))
	// The last newline of the last log file turned into a NUL, which reads as
	// the zero tail of a crash: the record is reported cut, by number.
	f.Add(uint8(3), uint32(len(verifyFixture.files[verifyFixture.names[3]])-1), uint8(0x0a))
	f.Fuzz(func(t *testing.T, file uint8, off uint32, x uint8) {
		if x == 0 {
			return
		}
		name := verifyFixture.names[int(file)%len(verifyFixture.names)]
		dir := t.TempDir()
		for n, data := range verifyFixture.files {
			if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		data := bytes.Clone(verifyFixture.files[name])
		at := int(off % uint32(len(data)))
		data[at] ^= x
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}

		rep, err := Verify(dir, testKey.Public())
		if err != nil {
			t.Fatalf("Verify = %v", err)
		}
		if rep.OK() {
			if isDigest(name) && sameDigest(verifyFixture.files[name], data) {
				return
			}
			t.Fatalf("byte %d of %s changed (^%#x) and Verify found nothing", at, name, x)
		}
		if isDigest(name) {
			return
		}
		orig := verifyFixture.files[name]
		line := 1 + bytes.Count(orig[:at], []byte("\n"))
		seq := mustParse(t, bytes.SplitAfter(orig, []byte("\n"))[line-1]).Seq
		for _, p := range rep.Problems {
			if p.File == name && (p.Line > 0 && p.Line <= line || p.Line == 0 && p.Seq > 0 && p.Seq <= seq) {
				return
			}
		}
		t.Fatalf("byte %d (line %d) of %s changed (^%#x); Verify reported:\n%s", at, line, name, x, problems(rep))
	})
}

func isDigest(name string) bool {
	_, _, ok := parseName(name, digestPrefix, digestSuffix)
	return ok
}

// sameDigest reports whether two digest files parse to the same signed
// payload and signature.
func sameDigest(a, b []byte) bool {
	pa, errA := parseDigest(a)
	pb, errB := parseDigest(b)
	return errA == nil && errB == nil && bytes.Equal(pa.payload, pb.payload) && bytes.Equal(pa.sig, pb.sig)
}

// FuzzRecoverTornTail writes arbitrary bytes after the records of a
// crashed log, as a write in flight at the crash can leave them, and
// checks that Open repairs the trail: it cuts the file back to exactly the
// records that were there, reports a Recovery whenever it cut anything but
// zeros, keeps the durable mark's record, and what it writes next verifies.
// No tail can forge a record: one would need a SHA-256 preimage.
func FuzzRecoverTornTail(f *testing.F) {
	f.Add([]byte(`{"seq":6,"prevHash":"00`))
	f.Add([]byte("\x00\x00\x00"))
	f.Add([]byte("\n\n"))
	f.Add([]byte("}\n{\"seq\":7}\n\x00garbage"))
	f.Add(bytes.Repeat([]byte("x"), 9000))
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := t.TempDir()
		// No fsync: recovery reads the same bytes either way, and
		// preallocating 4 MiB for each input would make the fuzzer crawl.
		opts := Options{MaxFileBytes: 4 << 10, InsecureSkipFsync: true}
		l := openLog(t, dir, opts)
		appendN(t, l, 0, 5)
		mark := l.Durable()
		crash(t, l)
		logs := listFiles(t, dir, logPrefix)
		name := logs[len(logs)-1]
		path := filepath.Join(dir, name)
		end := recordsEnd(t, path)
		fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = fh.Write(tail)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}

		opts.Durable = mark
		l = openLog(t, dir, opts)
		rec := l.Recovery()
		garbage := len(bytes.TrimRight(tail, "\x00")) > 0
		if garbage != (rec != nil) {
			t.Errorf("tail %.64q (%d bytes): Recovery() = %+v", tail, len(tail), rec)
		}
		if rec != nil && (rec.File != name || rec.Offset != end) {
			t.Errorf("Recovery() = %+v, want a cut of %s at %d", rec, name, end)
		}
		if st, err := os.Stat(path); err != nil {
			t.Fatal(err)
		} else if st.Size() != end {
			t.Errorf("%s is %d bytes after Open, want %d", name, st.Size(), end)
		}
		appendN(t, l, 5, 2)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if rep := mustVerify(t, dir); rep.Records != 7 {
			t.Errorf("Verify checked %d records, want 7", rep.Records)
		}
	})
}
