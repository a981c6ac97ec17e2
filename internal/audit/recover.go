package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
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
	type named struct {
		name    string
		seq     uint64
		created time.Time
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

	covered := make(map[string]*digestFile)
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
		l.digests = append(l.digests, digestRef{name: d.name, seq: p.DigestSeq, end: p.EndTime, hash: p.hash, files: p.LogFiles})
		for j := range p.LogFiles {
			covered[p.LogFiles[j].Name] = &p.LogFiles[j]
		}
		l.last = p
	}
	fl := floor{Seq: 1}
	if l.last != nil {
		l.logID, l.seq, l.prev, fl = l.last.LogID, l.last.LastSeq, l.last.LastHash, l.last.Floor
	} else if l.logID, err = readLogID(l.dir); err != nil {
		return err
	}
	// Before anything here changes: a directory that does not hold the
	// owner's trail must neither pass for it nor have a new trail started
	// in it.
	if m := l.opts.Durable; m.LogID != "" && m.LogID != l.logID {
		found := "holds no audit log"
		if l.logID != "" {
			found = "holds audit log " + l.logID
		}
		return otherTrail(l.dir, found, m)
	}
	if err := l.checkDurableHash(); err != nil { // the mark is the newest digest's head
		return err
	}
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
	// signed digest; a crash interrupted their removal.
	for len(l.digests) > 0 && l.digests[0].seq < fl.DigestSeq {
		os.Remove(filepath.Join(l.dir, l.digests[0].name))
		l.digests = l.digests[1:]
	}
	var unsigned []named
	for _, f := range logs {
		switch {
		case f.seq < fl.Seq:
			os.Remove(filepath.Join(l.dir, f.name))
		case f.seq <= l.seq:
			l.files = append(l.files, fileRef{name: f.name, firstSeq: f.seq, info: covered[f.name]})
		default:
			unsigned = append(unsigned, f)
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
	if len(l.pending) > 0 || l.unsigned != nil {
		// Sign what the crash left unsigned before accepting new records.
		if err := l.writeDigest("open"); err != nil {
			return err
		}
	}
	return nil
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
		if err := l.truncate(name, data, off); err != nil {
			return err
		}
		break
	}
	if padded && off == len(data) {
		if err := cutFile(path, int64(off)); err != nil {
			return fmt.Errorf("audit: recover %s: %w", name, err)
		}
	}
	if off == 0 {
		return os.Remove(path)
	}
	info.Size = int64(off)
	info.Hash = sha256.Sum256(data[:off])
	info.LastSeq, info.LastHash = l.seq, l.prev
	l.pending = append(l.pending, info)
	l.files = append(l.files, fileRef{name: name, firstSeq: firstSeq})
	return nil
}

// truncate cuts name at off and records what was removed.
func (l *Log) truncate(name string, data []byte, off int) error {
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
	if err := cutFile(filepath.Join(l.dir, name), int64(off)); err != nil {
		return fmt.Errorf("audit: recover %s: %w", name, err)
	}
	return nil
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
