package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// load reads the directory state at Open: every digest, the chain head of
// the newest one, and the files written after it, which it checks record
// by record because no signature covers them yet.
func (l *Log) load() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var logs, digests []named // os.ReadDir sorts by name, which sorts by seq
	var tmps []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			tmps = append(tmps, name)
			continue
		}
		if seq, t, ok := parseName(name, logPrefix, logSuffix); ok {
			logs = append(logs, named{name, seq, t})
		} else if seq, t, ok := parseName(name, digestPrefix, digestSuffix); ok {
			digests = append(digests, named{name, seq, t})
		}
	}

	var parsed []namedDigest
	for i, d := range digests {
		data, err := os.ReadFile(filepath.Join(l.dir, d.name))
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		p, err := parseDigest(data)
		if err != nil {
			if i == len(digests)-1 {
				return fmt.Errorf("%w: newest digest %s: %v", ErrCorrupt, d.name, err)
			}
			continue // Verify reports it; it covers nothing here
		}
		parsed = append(parsed, namedDigest{d.name, d.seq, p})
	}
	// The log's identity, as the newest digest or the ID file states it;
	// a newest digest of another log than the ID file names was copied in.
	idFile, err := readLogID(l.dir)
	if err != nil {
		return err
	}
	l.logID = idFile
	if len(parsed) > 0 {
		newest := parsed[len(parsed)-1]
		if l.logID = newest.p.LogID; idFile != "" && idFile != l.logID {
			return fmt.Errorf("%w: newest digest %s is of audit log %s, but the directory's is %s: it was copied in", ErrCorrupt, newest.name, l.logID, idFile)
		}
	}
	// Before anything here changes: a directory that does not hold the
	// owner's trail must neither pass for it nor have a new trail started
	// in it. (That it holds another log is worth saying even before its
	// digests are checked: nothing is done on their word here.)
	if m := l.opts.Durable; m.LogID != "" && m.LogID != l.logID {
		found := "holds no audit log"
		if l.logID != "" {
			found = "holds audit log " + l.logID
		}
		return otherTrail(l.dir, found, m)
	}
	trusted, err := l.trustedDigests(parsed)
	if err != nil {
		return err
	}
	// What the digests say of each file (its last write, for retention).
	// With NewKey none of it is vouched for: those files are kept.
	covered := make(map[string]*digestFile)
	for _, d := range trusted {
		p := d.p
		l.digests = append(l.digests, digestRef{name: d.name, seq: p.DigestSeq, end: p.EndTime, hash: p.hash, files: p.LogFiles})
		for j := range p.LogFiles {
			if !l.opts.NewKey {
				covered[p.LogFiles[j].Name] = &p.LogFiles[j]
			}
		}
		l.last = p
	}
	l.newKeyOpen = l.opts.NewKey && l.last != nil
	fl := floor{Seq: 1}
	if l.last != nil { // the newest digest parsed: l.logID is its
		l.seq, l.prev, fl = l.last.LastSeq, l.last.LastHash, l.last.Floor
		// Only Options.NewKey lets an unverified digest this far; even
		// then, one whose floor lies beyond itself is not a digest this
		// package wrote, and acting on it would delete the whole trail.
		if fl.DigestSeq > l.last.DigestSeq || fl.Seq > l.seq+1 {
			return fmt.Errorf("%w: newest digest %s: its floor (record %d, digest %d) lies beyond its own head (record %d, digest %d)",
				ErrCorrupt, l.digests[len(l.digests)-1].name, fl.Seq, fl.DigestSeq, l.seq, l.last.DigestSeq)
		}
	}
	if err := l.checkDurableHash(); err != nil { // the mark is the newest digest's head
		return err
	}
	if l.last != nil && l.last.Recovery != nil && !l.opts.NewKey {
		if err := l.finishCut(covered); err != nil {
			return err
		}
	}
	if l.opts.NewKey && l.last != nil {
		// No key this Log holds signed the floor: vouch for no more than
		// is here, and delete nothing on its word.
		fl = l.floorFound(fl, logs, parsed)
		// Nor does a signature stand for the records up to the head, so
		// the durable mark is checked against them here.
		if err := l.checkDurableIn(logs, fl); err != nil {
			return err
		}
	}
	l.floor = fl
	for _, name := range tmps {
		// A digest whose write was cut short; it was never renamed into
		// place, so nothing refers to it.
		os.Remove(filepath.Join(l.dir, name))
	}
	if l.logID == "" {
		if l.logID, err = l.newLogIDFile(); err != nil {
			return err
		}
	}
	// Files and digests below the floor were recorded as deleted by a
	// signed digest; a crash interrupted their removal. (With NewKey no
	// key signed the floor, and floorFound put it below all there is; in
	// case it could not, nothing is deleted on its word either way.)
	for !l.opts.NewKey && len(l.digests) > 0 && l.digests[0].seq < fl.DigestSeq {
		os.Remove(filepath.Join(l.dir, l.digests[0].name))
		l.digests = l.digests[1:]
	}
	// Files from before a new key (which no trusted digest lists) count
	// as last written when the new key took them over, so that retention
	// goes on, a whole Retention later.
	var adopted time.Time
	var adoptedHead uint64 // only files before the new key's first head are adopted
	switch {
	case l.opts.NewKey:
		adopted, adoptedHead = l.now(), l.seq
	case len(trusted) > 0 && trusted[0].p.NewKey:
		adopted, adoptedHead = trusted[0].p.EndTime, trusted[0].p.LastSeq
	}
	adoptedFiles := map[int]bool{}
	var unsigned []named
	for _, f := range logs {
		switch {
		case f.seq < fl.Seq:
			if !l.opts.NewKey {
				os.Remove(filepath.Join(l.dir, f.name))
			}
		case f.seq <= l.seq:
			info := covered[f.name]
			if info == nil && !adopted.IsZero() && f.seq <= adoptedHead {
				if info = l.adoptedInfo(f, adopted); info != nil {
					adoptedFiles[len(l.files)] = true
				}
			}
			l.files = append(l.files, fileRef{name: f.name, firstSeq: f.seq, info: info})
		default:
			unsigned = append(unsigned, f)
		}
	}
	// An adopted file's own records say where it ends, and retention
	// signs a floor after it: they must end before the next file starts
	// (linked to it, if right before), or the file is not adopted and
	// retention stops there. So a file planted among them cannot move the
	// floor past a record that is there. (A gap after a file, left by a
	// failed deletion or a torn tail, moves it only into the gap, which
	// Verify reports as missing anyway.)
	for i := range l.files {
		info := l.files[i].info
		if !adoptedFiles[i] {
			continue
		}
		nextSeq, linked := l.seq+1, info.LastHash == l.prev
		if i+1 < len(l.files) {
			nextSeq, linked = l.files[i+1].firstSeq, true // unknown: only the numbers are checked
			if n := l.files[i+1].info; n != nil {
				linked = n.FirstPrevHash == info.LastHash
			}
		}
		if info.LastSeq+1 > nextSeq || info.LastSeq+1 == nextSeq && !linked {
			l.files[i].info = nil
		}
	}
	for i, f := range unsigned {
		if err := l.scanFile(f.name, f.seq, f.created, i == len(unsigned)-1); err != nil {
			return err
		}
	}
	if err := l.checkDurable(); err != nil {
		return err
	}
	if len(l.pending) > 0 || l.unsigned != nil || l.newKeyOpen {
		// Sign what the crash left unsigned, or a head that no key this
		// Log holds has signed, before accepting new records.
		if err := l.writeDigest("open"); err != nil {
			return err
		}
	}
	// A torn tail is cut only once the digest that records it is
	// durable: cut first, and a failed digest would leave a clean file
	// and no trace of what was removed.
	if r := l.recovery; r != nil {
		path := filepath.Join(l.dir, r.File)
		err := cutFile(path, r.Offset)
		if r.Offset == 0 && err == nil {
			err = os.Remove(path) // nothing in it was acknowledged
		}
		if err != nil {
			return fmt.Errorf("audit: recover %s: %w", r.File, err)
		}
	}
	return nil
}

// floorFound lowers fl, the floor an unverified digest claims, to the
// oldest log file and digest present, so that what lies between stays
// and is checked: a floor set too high (planted) would have Open delete
// records, and the next digest, signed with the new key, vouch for their
// absence. A floor below what is present is kept: Verify reports what is
// missing above it. The oldest file's first record, not a digest, says
// where it starts.
func (l *Log) floorFound(fl floor, logs []named, parsed []namedDigest) floor {
	if len(logs) > 0 && logs[0].seq < fl.Seq {
		// If that record cannot be read, the floor goes to the start of
		// the log: Verify then reports whatever is missing or damaged.
		fl.Seq, fl.PrevHash = 1, hexHash{}
		if data, err := readLog(filepath.Join(l.dir, logs[0].name)); err == nil {
			for r := range l.fileChain(data, logs[0].seq) {
				fl.Seq, fl.PrevHash = r.Seq, r.Prev
				break
			}
		}
	}
	if len(parsed) > 0 && parsed[0].p.DigestSeq < fl.DigestSeq {
		oldest := parsed[0].p
		fl.DigestSeq, fl.DigestHash = 0, nil // every digest from the first must be here
		if oldest.DigestSeq > 1 {
			h := oldest.hash
			fl.DigestSeq, fl.DigestHash = oldest.DigestSeq, &h
		}
	}
	return fl
}

// adoptedInfo describes log file f from its own records, as last written
// at: for a file that only digests signed by an earlier key list
// (Options.NewKey), so that retention can delete it once at is older than
// Retention, and never sooner on an unverified digest's word. It ends at
// the last record of the chain that starts the file (a torn tail after it
// is left out); nil if even the first record is bad, and retention then
// stops there.
func (l *Log) adoptedInfo(f named, at time.Time) *digestFile {
	data, err := readLog(filepath.Join(l.dir, f.name))
	if err != nil {
		return nil
	}
	data = trimZeros(data)
	info := digestFile{Name: f.name, Size: int64(len(data)), Hash: sha256.Sum256(data), FirstSeq: f.seq, Created: f.created.UTC(), LastWrite: at.UTC()}
	for r := range l.fileChain(data, f.seq) {
		if info.LastSeq == 0 {
			info.FirstPrevHash = r.Prev
		}
		info.LastSeq, info.LastHash = r.Seq, r.Hash
	}
	if info.LastSeq == 0 {
		return nil
	}
	return &info
}

// fileChain yields the records of a log file's data from its first, which
// must be record firstSeq, for as long as each is a whole line, hashes
// right and follows the one before: the chain a file's own records make,
// whatever a digest says of them.
func (l *Log) fileChain(data []byte, firstSeq uint64) iter.Seq[record] {
	return func(yield func(record) bool) {
		var last record
		for line := range bytes.Lines(data) {
			r, err := parseLine(bytes.TrimSuffix(line, []byte{'\n'}))
			if err != nil || !bytes.HasSuffix(line, []byte{'\n'}) || recordHash(l.h, &r.Prev, r.Seq, r.Event) != r.Hash {
				return
			}
			if last.Seq == 0 && r.Seq != firstSeq || last.Seq != 0 && (r.Seq != last.Seq+1 || r.Prev != last.Hash) {
				return
			}
			if !yield(r) {
				return
			}
			last = r
		}
	}
}

// checkDurableIn fails with ErrCorrupt when the record Options.Durable
// names lies before the chain head the newest digest states, and the log
// files hold it with another hash, or not at all: with Options.NewKey no
// signature vouches for those records, so the mark is all there is to
// tell a rewritten or cut trail.
func (l *Log) checkDurableIn(logs []named, fl floor) error {
	m := l.opts.Durable
	if m.LogID != l.logID || m.Seq >= l.seq || m.Seq < fl.Seq || m.Hash == ([32]byte{}) {
		return nil // none, another log's, checked as the chain reaches it, or deleted by retention
	}
	var in *named
	for i := range logs {
		if logs[i].seq <= m.Seq {
			in = &logs[i]
		}
	}
	if in != nil {
		data, err := readLog(filepath.Join(l.dir, in.name))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("audit: %w", err)
		}
		// The chain is recomputed from the file's first record on: a
		// record rewritten with its old hash field kept is no match.
		for r := range l.fileChain(trimZeros(data), in.seq) {
			if r.Seq != m.Seq {
				continue
			}
			if r.Hash != m.Hash {
				return fmt.Errorf("%w: record %d is not the record that was durable (its chain hash differs): records up to it were rewritten", ErrCorrupt, m.Seq)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: record %d was durable, but no log file holds it with an intact chain: records were removed or rewritten", ErrCorrupt, m.Seq)
}

// finishCut completes a cut that the newest digest recorded but a crash
// kept from happening: the file it names is still longer than the signed
// offset. It cuts only if what lies beyond is exactly the torn tail the
// digest describes (and preallocated zeros); anything else is left for
// Verify to report.
func (l *Log) finishCut(covered map[string]*digestFile) error {
	r := l.last.Recovery
	if f := covered[r.File]; f == nil || f.Size != r.Offset {
		return nil
	}
	path := filepath.Join(l.dir, r.File)
	data, err := readLog(path)
	if err != nil || int64(len(data)) <= r.Offset {
		return nil // gone, or already cut: Verify says which
	}
	if tail := trimZeros(data[r.Offset:]); int64(len(tail)) != r.Bytes || sha256Sum(tail).String() != r.SHA256 {
		return nil
	}
	if err := cutFile(path, r.Offset); err != nil {
		return fmt.Errorf("audit: recover %s: %w", r.File, err)
	}
	return nil
}

// named is a log or digest file, with what its name says.
type named struct {
	name    string
	seq     uint64
	created time.Time
}

type namedDigest struct {
	name string
	seq  uint64 // from the name
	p    *parsedDigest
}

// trustedDigests returns the digests, of those parsed (oldest first), that
// Open may act on. Open deletes what lies below the newest digest's floor,
// continues its chain, skips the Durable check for the records it signed,
// and lets retention go by what digests say of each file, so a digest
// planted by someone who can write the directory but has no signing key
// must not count: it could name a floor past every record, or every file
// as old, and have Open or retention delete the trail, and the next real
// digest vouch for that. So the newest digest must verify with the signing
// key and sit under its own name (a copy of an older or another trail's
// digest, renamed to sort last, does not), and an older one counts only if
// the chain of digests from the newest reaches it by hash
// (previousDigestHashValue), under its own name, within the same log, and
// not past a digest that a new key signed first (newKey: what came before
// it no key vouched for). Any other is left alone, for Verify to report.
//
// With Options.NewKey the key is new to the trail and can have signed
// none of it: only the newest digest counts, for its head, and Open
// vouches for nothing else it says.
func (l *Log) trustedDigests(ds []namedDigest) ([]namedDigest, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	newest := ds[len(ds)-1]
	if newest.seq != newest.p.DigestSeq {
		return nil, fmt.Errorf("%w: digest file %s holds digest %d: it was copied or renamed", ErrCorrupt, newest.name, newest.p.DigestSeq)
	}
	if l.opts.NewKey {
		return ds[len(ds)-1:], nil
	}
	if err := verifySignature(l.opts.Signer.Public(), newest.p.payload, newest.p.sig); err != nil {
		return nil, fmt.Errorf("%w: newest digest %s: %v: it was forged, or signed with another key", ErrUnverified, newest.name, err)
	}
	byHash := make(map[hexHash]int, len(ds))
	for i, d := range ds[:len(ds)-1] {
		byHash[d.p.hash] = i
	}
	chain := []namedDigest{newest}
	inChain := map[int]bool{len(ds) - 1: true}
	for cur, below := newest.p, len(ds)-1; cur.PreviousDigestHash != nil && !cur.NewKey; {
		i, ok := byHash[*cur.PreviousDigestHash]
		if !ok || i >= below || ds[i].seq != ds[i].p.DigestSeq || ds[i].p.LogID != newest.p.LogID {
			break
		}
		chain = append(chain, ds[i])
		inChain[i] = true
		cur, below = ds[i].p, i
	}
	slices.Reverse(chain)
	// Every digest from the oldest the floor says must be here (or from a
	// new key's first) is in that chain, in a trail this package wrote:
	// one that is not was planted, or the newest is a copy from elsewhere
	// (a moved-aside trail signed with the same key) that does not know
	// this trail's digests.
	from := newest.p.Floor.DigestSeq
	if chain[0].p.NewKey {
		from = max(from, chain[0].p.DigestSeq)
	}
	numbers := make(map[uint64]bool, len(chain))
	for _, d := range chain {
		numbers[d.p.DigestSeq] = true
	}
	for i, d := range ds {
		// A digest with a chain member's number is a retried write's
		// first try, which a power loss can bring back (writeFileAtomic);
		// it claims nothing the chain does not.
		if d.p.DigestSeq >= from && !inChain[i] && !numbers[d.p.DigestSeq] {
			return nil, fmt.Errorf("%w: digest %s is not in the chain of the newest digest, %s: one of them was planted or copied in", ErrUnverified, d.name, newest.name)
		}
	}
	return chain, nil
}

// readLogID returns the identity of a log that has no digest yet, as an
// earlier Open recorded it in idName so that a crash before the first
// digest does not change it; "" when there is none.
func readLogID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, idName))
	if id := strings.TrimSpace(string(b)); err == nil && len(id) == 32 && strings.Trim(id, "0123456789abcdef") == "" {
		return id, nil
	}
	if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("audit: %w", err)
	}
	return "", nil
}

// newLogIDFile makes the identity of a new log and records it in idName.
func (l *Log) newLogIDFile() (string, error) {
	id := newLogID()
	if err := l.writeFileAtomic(idName, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	return id, nil
}

// scanFile checks an unsigned log file against the chain head and advances
// the head past it. A bad record in the last file is what a crash during a
// write leaves behind: the file is cut there and the cut recorded. Anywhere
// else it is not, and scanFile fails.
func (l *Log) scanFile(name string, firstSeq uint64, created time.Time, isLast bool) error {
	path := filepath.Join(l.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	padded := false
	if isLast {
		// The live file when the writer stopped: records, then the zeros
		// preallocation wrote ahead of them.
		trimmed := trimZeros(data)
		padded, data = len(trimmed) < len(data), trimmed
	}
	if len(data) == 0 {
		// A crash right after the file was created: nothing in it was
		// ever acknowledged.
		return os.Remove(path)
	}
	if firstSeq != l.seq+1 {
		return fmt.Errorf("%w: %s starts at record %d, want %d", ErrCorrupt, name, firstSeq, l.seq+1)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	// The file's last write is its mtime, but never later than the clock
	// says it is now, so that retention follows Options.Now.
	lastWrite := st.ModTime()
	if now := l.now(); now.Before(lastWrite) {
		lastWrite = now
	}
	info := digestFile{Name: name, FirstSeq: firstSeq, FirstPrevHash: l.prev, Created: created.UTC(), LastWrite: lastWrite.UTC()}
	off, line := 0, 0
	for off < len(data) {
		line++
		nl := bytes.IndexByte(data[off:], '\n')
		if nl >= 0 {
			r, err := parseLine(data[off : off+nl])
			if err == nil && r.Seq == l.seq+1 && r.Prev == l.prev && recordHash(l.h, &l.prev, r.Seq, r.Event) == r.Hash {
				l.seq, l.prev = r.Seq, r.Hash
				off += nl + 1
				if err := l.checkDurableHash(); err != nil {
					return err
				}
				continue
			}
		}
		if !isLast {
			return fmt.Errorf("%w: %s line %d: bad record %d", ErrCorrupt, name, line, l.seq+1)
		}
		// Cutting here would destroy the evidence if the records from here
		// on were durable.
		if err := l.checkDurable(); err != nil {
			return fmt.Errorf("%w (%s line %d is bad)", err, name, line)
		}
		// A crash tears the last write; it does not leave a whole record
		// that fails to follow the head where the tear begins. With NewKey
		// the head is a digest's word alone, so such a record is refused,
		// not cut.
		if l.opts.NewKey && wholeRecordAt(data[off:]) {
			return fmt.Errorf("%w: %s line %d does not follow the chain head record %d that the newest digest, unverified, states: not cut under a new key; check it with Verify", ErrCorrupt, name, line, l.seq)
		}
		l.truncate(name, data, off)
		break
	}
	if padded && off == len(data) {
		if err := cutFile(path, int64(off)); err != nil {
			return fmt.Errorf("audit: recover %s: %w", name, err)
		}
	}
	if off == 0 {
		if l.recovery != nil {
			return nil // the whole file is the torn tail: load removes it once the digest recording it is durable
		}
		return os.Remove(path)
	}
	info.Size = int64(off)
	info.Hash = sha256.Sum256(data[:off])
	info.LastSeq, info.LastHash = l.seq, l.prev
	l.pending = append(l.pending, info)
	l.files = append(l.files, fileRef{name: name, firstSeq: firstSeq})
	return nil
}

// wholeRecordAt reports whether b starts with a complete, well-formed
// record line: not what a torn write leaves (a partial line, or the zeros
// of a page that did not reach the disk), but a record that does not
// follow the chain head.
func wholeRecordAt(b []byte) bool {
	line, _, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return false
	}
	_, err := parseLine(line)
	return err == nil
}

// truncate records the torn tail of name from off, for the "open" digest;
// load cuts it once that digest is durable.
func (l *Log) truncate(name string, data []byte, off int) {
	tail := data[off:]
	l.recovery = &Recovery{
		File:    name,
		Offset:  int64(off),
		Bytes:   int64(len(tail)),
		SHA256:  sha256Sum(tail).String(),
		Records: bytes.Count(tail, []byte{'\n'}),
		Time:    l.now().UTC(),
	}
	l.unsigned = l.recovery
}

// cutFile truncates the file at path to size, durably.
func cutFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// otherTrail is the error of an Open whose directory does not hold the log
// that Options.Durable names.
func otherTrail(dir, found string, m Mark) error {
	was := fmt.Sprintf("audit log %s was durable there through record %d", m.LogID, m.Seq)
	if m.Seq == 0 {
		was = fmt.Sprintf("audit log %s was started there", m.LogID)
	}
	return fmt.Errorf("%w: %s %s, but %s: the trail was removed or replaced", ErrOtherTrail, dir, found, was)
}

// checkDurableHash fails with ErrCorrupt when the chain has just reached
// the record Options.Durable names, and that record's hash is not the one
// the mark holds: the records up to it were rewritten, their chain
// recomputed. (Records that a digest signed need no such check.)
func (l *Log) checkDurableHash() error {
	m := l.opts.Durable
	if m.LogID == l.logID && m.Seq == l.seq && m.Hash != ([32]byte{}) && m.Hash != l.prev {
		return fmt.Errorf("%w: record %d is not the record that was durable (its chain hash differs): records up to it were rewritten", ErrCorrupt, m.Seq)
	}
	return nil
}

// checkDurable fails with ErrCorrupt when the chain read so far ends before
// the record Options.Durable says this log made durable.
func (l *Log) checkDurable() error {
	if m := l.opts.Durable; m.LogID != "" && m.LogID == l.logID && l.seq < m.Seq {
		return fmt.Errorf("%w: the trail ends at record %d, but record %d was durable: records were removed, or the directory was replaced by an older copy", ErrCorrupt, l.seq, m.Seq)
	}
	return nil
}
