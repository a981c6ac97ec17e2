package audit

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
)

// ProblemKind names one way a log directory fails verification.
type ProblemKind string

const (
	// Modified: a record does not match its own hash, or the record after
	// it does not commit to it (it was replaced by a rehashed forgery).
	Modified ProblemKind = "modified"
	// MissingRecord: records are absent from the chain (deleted).
	MissingRecord ProblemKind = "missing-record"
	// Inserted: a record that does not belong in the chain.
	Inserted ProblemKind = "inserted"
	// Reordered: records are all there but out of order.
	Reordered ProblemKind = "reordered"
	// Truncated: a file ends inside a record. (At the end of the last file
	// that is a crash or a write in flight, reported in Report.TornTail.)
	Truncated ProblemKind = "truncated"
	// Malformed: a line that is not a record.
	Malformed ProblemKind = "malformed"
	// MissingFile: a log file that a digest lists is absent.
	MissingFile ProblemKind = "missing-file"
	// Unsigned: a log file that should be, but is not, listed in a digest.
	Unsigned ProblemKind = "unsigned"
	// BadDigest: a digest file that cannot be parsed.
	BadDigest ProblemKind = "bad-digest"
	// BadSignature: a digest whose signature does not verify: forged or
	// altered. Nothing it says is trusted.
	BadSignature ProblemKind = "bad-signature"
	// DigestMismatch: a log file differs from what its digest says (hash,
	// size, first or last record).
	DigestMismatch ProblemKind = "digest-mismatch"
	// DigestChain: a digest does not link to its predecessor, or belongs
	// to another log.
	DigestChain ProblemKind = "digest-chain"
	// MissingDigest: a digest in the chain is absent.
	MissingDigest ProblemKind = "missing-digest"
	// LostDurable: the trail ends before a record its owner remembers as
	// durable, has another record in its place, or is not the log the
	// owner remembers (VerifyMark): records were cut or rewritten, newest
	// digests and files removed together, or the directory replaced.
	LostDurable ProblemKind = "lost-durable"
)

// Problem is one finding of Verify, located at the first bad record or file.
type Problem struct {
	Kind   ProblemKind
	File   string // file name within the directory
	Line   int    // 1-based line in File; 0 when the problem is not about a line
	Seq    uint64 // sequence number of the first bad record; 0 when not about a record
	More   int    // further problems of this kind in File, after this one
	Detail string
}

func (p Problem) String() string {
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
	}
	if s != "" {
		s += ": "
	}
	s += string(p.Kind)
	if p.Seq > 0 {
		s += fmt.Sprintf(" at record %d", p.Seq)
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	if p.More > 0 {
		s += fmt.Sprintf(" (and %d more in this file)", p.More)
	}
	return s
}

// Report is the result of Verify.
type Report struct {
	LogID    string // the log's identity: the newest valid digest's, else the one recorded before any digest
	Files    int    // log files checked
	Digests  int    // digests whose signature verified
	Records  uint64 // records checked
	FirstSeq uint64 // first record checked (the floor, after retention)
	LastSeq  uint64 // last record checked
	// SignedSeq is the chain head recorded by the newest valid digest:
	// records up to it are protected by a signature, records after it
	// only by the hash chain.
	SignedSeq uint64
	// Pending lists the log files written after the newest digest. Their
	// chain was checked, but until the next digest signs them, someone
	// who can write the directory could rewrite or cut them unnoticed.
	Pending []string
	// TornTail is "file:offset" when the last file ends in an incomplete
	// record: a write in flight, or a crash that Open will repair.
	TornTail string
	// Problems lists what failed, at most one per kind and file.
	Problems []Problem
}

// OK reports whether verification found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks the log in dir: the signature of every digest with pub,
// the chain of digests, that the digests list every file and that each
// file matches its listing, and the hash chain of every record. It returns
// an error only when dir cannot be read; what it finds wrong is in the
// Report, located at the first bad record or file of each kind.
//
// After retention has deleted old files, Verify starts at the floor that
// the newest valid digest records (see doc.go). Verify may run while a Log
// appends; if retention deletes files meanwhile, it can report them
// missing, and a second run settles it. It cannot notice the
// deletion of the newest digests together with the files after them, nor
// records cut since the newest digest, unless the owner remembers the last
// durable record elsewhere (VerifyMark); ship digests off the machine to
// protect the tail.
func Verify(dir string, pub crypto.PublicKey) (*Report, error) {
	return VerifyMark(dir, pub, Mark{})
}

// VerifyMark is Verify that also checks the trail against m, a record its
// owner remembers as durable (see Options.Durable), and reports a
// LostDurable problem when the directory holds another log or none, the
// trail ends before m, or its record m.Seq has another hash than m.Hash:
// the tampering that leaves every signature and the chain intact (the
// newest digests removed with the files after them, records since the
// newest digest cut or rewritten). The zero Mark checks nothing.
func VerifyMark(dir string, pub crypto.PublicKey, m Mark) (*Report, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	v := &verifier{dir: dir, rep: &Report{}, h: sha256.New(), seen: make(map[fileKind]int), mark: m}
	type named struct {
		name string
		seq  uint64
	}
	var logs, digestNames []named
	present := make(map[string]bool)
	for _, e := range entries {
		name := e.Name()
		if seq, _, ok := parseName(name, logPrefix, logSuffix); ok {
			logs = append(logs, named{name, seq})
			present[name] = true
		} else if seq, _, ok := parseName(name, digestPrefix, digestSuffix); ok {
			digestNames = append(digestNames, named{name, seq})
		}
	}

	// Digests: signatures first, then the newest valid one's floor says
	// where the chain of digests and records must begin.
	type dg struct {
		name  string
		p     *parsedDigest
		valid bool
	}
	var all []dg
	var newest *parsedDigest
	for _, n := range digestNames {
		data, err := os.ReadFile(filepath.Join(dir, n.name))
		if errors.Is(err, os.ErrNotExist) {
			continue // removed by retention since ReadDir
		}
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		p, err := parseDigest(data)
		if err != nil {
			v.addAt(n.name, BadDigest, 0, 0, err.Error())
			continue
		}
		d := dg{name: n.name, p: p}
		switch {
		case p.DigestSeq != n.seq:
			v.addAt(n.name, DigestChain, 0, 0, fmt.Sprintf("file name says digest %d, content says %d", n.seq, p.DigestSeq))
		case verifySignature(pub, p.payload, p.sig) != nil:
			v.addAt(n.name, BadSignature, 0, 0, "signature does not verify with the given key")
		default:
			d.valid = true
			newest = p
			v.rep.Digests++
		}
		all = append(all, d)
	}
	fl := floor{Seq: 1}
	if newest != nil {
		fl = newest.Floor
		v.signedSeq, v.signedHash = newest.LastSeq, newest.LastHash
		v.rep.SignedSeq = newest.LastSeq
		v.rep.LogID = newest.LogID
	} else if v.rep.LogID, err = readLogID(dir); err != nil {
		return nil, err
	}
	covered := make(map[string]*digestFile)
	var listed []*digestFile
	var prev *dg
	for i := range all {
		d := &all[i]
		if d.p.DigestSeq < fl.DigestSeq {
			continue // deleted by retention; its removal was interrupted
		}
		switch {
		case prev == nil:
			want := max(fl.DigestSeq, 1)
			switch {
			case d.p.DigestSeq > want:
				v.addAt(d.name, MissingDigest, 0, 0, fmt.Sprintf("digests %d to %d are missing", want, d.p.DigestSeq-1))
			case fl.DigestHash != nil && d.p.hash != *fl.DigestHash:
				v.addAt(d.name, DigestChain, 0, 0, "not the oldest digest the newest digest names")
			case fl.DigestSeq == 0 && d.valid && d.p.PreviousDigestHash != nil:
				v.addAt(d.name, DigestChain, 0, 0, "the first digest names a predecessor")
			}
		case d.p.DigestSeq <= prev.p.DigestSeq:
			v.addAt(d.name, DigestChain, 0, 0, fmt.Sprintf("digest %d follows digest %d", d.p.DigestSeq, prev.p.DigestSeq))
		case d.p.DigestSeq > prev.p.DigestSeq+1:
			v.addAt(d.name, MissingDigest, 0, 0, fmt.Sprintf("digests %d to %d are missing", prev.p.DigestSeq+1, d.p.DigestSeq-1))
		case d.valid && prev.valid:
			if h := d.p.PreviousDigestHash; h == nil || *h != prev.p.hash || !bytes.Equal(d.p.PreviousDigestSignature, prev.p.sig) {
				v.addAt(d.name, DigestChain, 0, 0, "does not link to "+prev.name)
			}
		}
		prev = d
		if !d.valid {
			continue
		}
		if d.p.LogID != newest.LogID {
			v.addAt(d.name, DigestChain, 0, 0, "belongs to log "+d.p.LogID)
		}
		for j := range d.p.LogFiles {
			f := &d.p.LogFiles[j]
			covered[f.Name] = f
			listed = append(listed, f)
		}
	}
	if prev == nil && fl.DigestSeq > 0 {
		v.addAt("", MissingDigest, 0, 0, fmt.Sprintf("digest %d, the oldest the newest digest names, is missing", fl.DigestSeq))
	}

	for _, f := range listed {
		if !present[f.Name] && f.LastSeq >= fl.Seq {
			v.addAt(f.Name, MissingFile, 0, f.FirstSeq, fmt.Sprintf("records %d to %d", f.FirstSeq, f.LastSeq))
			v.explained = append(v.explained, [2]uint64{f.FirstSeq, f.LastSeq})
		}
	}

	// Records, file by file, along one chain from the floor.
	v.e, v.p = fl.Seq, fl.PrevHash
	v.rep.FirstSeq = fl.Seq
	for i, f := range logs {
		if f.seq < fl.Seq {
			continue // deleted by retention; its removal was interrupted
		}
		if err := v.file(f.name, i == len(logs)-1, covered[f.name]); err != nil {
			return nil, err
		}
	}
	if v.e <= v.signedSeq {
		name := ""
		if len(logs) > 0 {
			name = logs[len(logs)-1].name
		}
		v.gap(name, 0, v.e, v.signedSeq)
	}
	v.rep.LastSeq = v.e - 1
	v.checkMark()
	return v.rep, nil
}

type fileKind struct {
	file string
	kind ProblemKind
}

type verifier struct {
	dir        string
	rep        *Report
	mark       Mark // VerifyMark's
	h          hash.Hash
	seen       map[fileKind]int // index in rep.Problems
	signedSeq  uint64
	signedHash [32]byte
	explained  [][2]uint64 // seq ranges of missing files, already reported

	// Chain state: the next expected record and its prevHash.
	e uint64
	p [32]byte
	// The last record accepted into the chain.
	last struct {
		file       string
		line       int
		seq        uint64
		prev, hash [32]byte
	}
	file_       string
	suppressGap bool // the last problem already explains the next gap
}

// vrec is one line of a log file, as far as Verify needs it.
type vrec struct {
	line       int
	malformed  bool
	selfOK     bool // Hash matches Prev, Seq and the event
	seq        uint64
	prev, hash [32]byte
}

// checkMark reports a trail that does not reach v.mark (see VerifyMark);
// a record with another hash in its place is reported by accept.
func (v *verifier) checkMark() {
	m, r := v.mark, v.rep
	switch {
	case m.LogID == "":
	case r.LogID != m.LogID:
		found := "no log"
		if r.LogID != "" {
			found = "log " + r.LogID
		}
		v.addAt("", LostDurable, 0, 0, fmt.Sprintf("the directory holds %s, but log %s was durable here through record %d: the trail was removed or replaced", found, m.LogID, m.Seq))
	case r.LastSeq < m.Seq:
		v.addAt("", LostDurable, 0, r.LastSeq+1, fmt.Sprintf("the trail ends at record %d, but record %d was durable: records %d to %d were removed, or an older copy was put back", r.LastSeq, m.Seq, r.LastSeq+1, m.Seq))
	}
}

func (v *verifier) addAt(file string, kind ProblemKind, line int, seq uint64, detail string) {
	k := fileKind{file, kind}
	if i, ok := v.seen[k]; ok {
		v.rep.Problems[i].More++
		return
	}
	v.seen[k] = len(v.rep.Problems)
	v.rep.Problems = append(v.rep.Problems, Problem{Kind: kind, File: file, Line: line, Seq: seq, Detail: detail})
}

func (v *verifier) add(kind ProblemKind, line int, seq uint64, detail string) {
	v.addAt(v.file_, kind, line, seq, detail)
}

func (v *verifier) file(name string, isLast bool, listing *digestFile) error {
	data, err := readLog(filepath.Join(v.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil // removed since ReadDir: the chain reports any gap it leaves
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if isLast {
		// A live (or crashed) writer's file ends in preallocated zeros.
		data = trimZeros(data)
	}
	v.file_ = name
	v.rep.Files++
	before := len(v.rep.Problems)

	var rs []vrec
	truncLine := 0
	off, line := 0, 0
	for off < len(data) {
		line++
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			if isLast {
				v.rep.TornTail = fmt.Sprintf("%s:%d", name, off)
			} else {
				truncLine = line
			}
			break
		}
		r, err := parseLine(data[off : off+nl])
		off += nl + 1
		if err != nil {
			rs = append(rs, vrec{line: line, malformed: true})
			continue
		}
		rs = append(rs, vrec{
			line: line, seq: r.Seq, prev: r.Prev, hash: r.Hash,
			selfOK: recordHash(v.h, &r.Prev, r.Seq, r.Event) == r.Hash,
		})
	}
	v.walk(rs)
	if truncLine > 0 {
		v.add(Truncated, truncLine, v.e, "file ends inside a record")
		v.suppressGap = true
	}

	var first, last *vrec
	for i := range rs {
		if !rs[i].malformed {
			if first == nil {
				first = &rs[i]
			}
			last = &rs[i]
		}
	}
	if listing == nil {
		fileSeq, _, _ := parseName(name, logPrefix, logSuffix)
		if fileSeq <= v.signedSeq {
			v.add(Unsigned, 0, 0, "no digest lists this file")
		} else {
			v.rep.Pending = append(v.rep.Pending, name)
		}
		return nil
	}
	if len(v.rep.Problems) > before {
		return nil // a record-level problem already says more than a hash would
	}
	var diff string
	switch {
	case int64(len(data)) != listing.Size:
		diff = fmt.Sprintf("size is %d, digest says %d", len(data), listing.Size)
	case sha256Sum(data) != listing.Hash:
		diff = fmt.Sprintf("SHA-256 is %s, digest says %s", sha256Sum(data), listing.Hash)
	case first == nil:
		diff = "file has no records"
	case first.seq != listing.FirstSeq || first.prev != listing.FirstPrevHash:
		diff = fmt.Sprintf("first record is %d, digest says %d", first.seq, listing.FirstSeq)
	case last.seq != listing.LastSeq || last.hash != listing.LastHash:
		diff = fmt.Sprintf("last record is %d, digest says %d", last.seq, listing.LastSeq)
	}
	if diff != "" {
		v.add(DigestMismatch, 0, 0, diff)
	}
	return nil
}

// walk follows the chain through one file's records, classifying each
// record that does not fit by what the records around it show.
func (v *verifier) walk(rs []vrec) {
	next := func(i int) *vrec {
		for j := i + 1; j < len(rs); j++ {
			if !rs[j].malformed {
				return &rs[j]
			}
		}
		return nil
	}
	for i := 0; i < len(rs); i++ {
		r := &rs[i]
		switch {
		case r.malformed:
			v.add(Malformed, r.line, v.e, "line is not a record")
			v.suppressGap = true
			continue
		case !r.selfOK:
			v.add(Modified, r.line, r.seq, "record does not match its hash")
			v.accept(r)
			continue
		case r.seq == v.e && r.prev == v.p:
			v.accept(r)
			continue
		}
		// r is intact but does not fit here.
		if r.seq > v.e {
			if m := reorderWindow(rs, i, v.e); m > i {
				v.add(Reordered, r.line, v.e, fmt.Sprintf("record %d stands where %d belongs", r.seq, v.e))
				w := slices.Clone(rs[i : m+1])
				slices.SortFunc(w, func(a, b vrec) int { return cmp.Compare(a.seq, b.seq) })
				for k := range w {
					if w[k].prev != v.p {
						v.add(Modified, w[k].line, w[k].seq, "does not link to its predecessor")
					}
					v.accept(&w[k])
				}
				i = m
				continue
			}
		}
		if n := next(i); n != nil && n.selfOK && n.seq == v.e && n.prev == v.p {
			v.add(Inserted, r.line, r.seq, fmt.Sprintf("record does not belong before record %d", v.e))
			continue
		}
		switch {
		case r.seq == v.e:
			// It links to something else than the record before it:
			// that one was replaced, hash and all.
			v.addAt(v.last.file, Modified, v.last.line, v.last.seq,
				fmt.Sprintf("record %d does not commit to this record", r.seq))
			v.accept(r)
		case r.seq > v.e:
			v.gap(v.file_, r.line, v.e, r.seq-1)
			v.accept(r)
		default:
			if n := next(i); r.seq == v.last.seq && r.prev == v.last.prev && (n == nil || n.prev == r.hash) {
				// Two records claim the same place; the chain goes on
				// from this one, so the one before it was inserted.
				v.addAt(v.last.file, Inserted, v.last.line, v.last.seq,
					fmt.Sprintf("the chain continues from the other record %d", r.seq))
				v.accept(r)
				continue
			}
			v.add(Inserted, r.line, r.seq, fmt.Sprintf("record %d out of place after record %d", r.seq, v.e-1))
		}
	}
}

// reorderWindow returns the smallest m > i such that rs[i..m] holds exactly
// the records e, e+1, ... in some order, or -1.
func reorderWindow(rs []vrec, i int, e uint64) int {
	seen := make(map[uint64]bool)
	hi := uint64(0)
	for m := i; m < len(rs) && m < i+1024; m++ {
		r := rs[m]
		if r.malformed || !r.selfOK || r.seq < e || seen[r.seq] {
			return -1
		}
		seen[r.seq] = true
		hi = max(hi, r.seq)
		if m > i && hi-e == uint64(m-i) {
			return m
		}
	}
	return -1
}

func (v *verifier) accept(r *vrec) {
	if r.seq == v.signedSeq && r.hash != v.signedHash {
		v.add(DigestMismatch, r.line, r.seq, "record differs from the chain head the newest digest signed")
	}
	if m := v.mark; r.seq == m.Seq && m.LogID == v.rep.LogID && m.Hash != ([32]byte{}) && r.hash != m.Hash {
		v.add(LostDurable, r.line, r.seq, "record differs from the one that was durable (its chain hash): records up to it were rewritten")
	}
	v.e, v.p = r.seq+1, r.hash
	v.last.file, v.last.line, v.last.seq, v.last.prev, v.last.hash = v.file_, r.line, r.seq, r.prev, r.hash
	v.rep.Records++
	v.suppressGap = false
}

// gap reports records from..to as missing unless a problem already
// reported explains them.
func (v *verifier) gap(file string, line int, from, to uint64) {
	if v.suppressGap {
		v.suppressGap = false
		return
	}
	for _, x := range v.explained {
		if from >= x[0] && from <= x[1] {
			return
		}
	}
	v.addAt(file, MissingRecord, line, from, fmt.Sprintf("records %d to %d are missing", from, to))
}
