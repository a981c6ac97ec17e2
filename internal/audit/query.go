package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Filter selects events for Query. Every non-zero field must match. The
// string fields mirror CloudTrail LookupEvents' lookup attributes.
type Filter struct {
	Start, End time.Time // eventTime bounds, both inclusive; zero is unbounded

	EventID     string
	EventName   string
	EventSource string
	ErrorCode   string
	ReadOnly    *bool
	// KeyID matches a resource whose ARN is KeyID or ends in "/"+KeyID or
	// ":"+KeyID, so a key id, a key ARN or "alias/name" all work.
	KeyID        string
	Principal    string // userIdentity.arn or userIdentity.principalId
	Username     string // userIdentity.userName, or the session issuer's
	AccessKeyID  string
	ResourceType string // e.g. ResourceTypeKey
	ResourceName string // a resource ARN
}

// querySlack bounds how long before being logged an event can carry its
// eventTime (when the request completed): the wait for the writer, and a
// slow background job's. Query uses it to skip files that cannot hold
// events in [Start, End].
const querySlack = 15 * time.Minute

// Query calls fn with every event in dir that matches f, in the order the
// log holds them, until fn returns false. That is commit order: eventTimes
// of concurrent requests can be out of order by their wait for the writer.
//
// Query reads without locking and may run while a Log appends; an
// incomplete record at the end of the last file is skipped. It checks no
// hashes or signatures: that is Verify's job.
func Query(dir string, f Filter, fn func(*Event) bool) error {
	return QueryAfter(dir, f, 0, func(_ uint64, e *Event) bool { return fn(e) })
}

// QueryAfter is Query for the records whose sequence number is above after,
// with each record's sequence number: a reader that has seen the trail up
// to some record reads only what came after it.
func QueryAfter(dir string, f Filter, after uint64, fn func(seq uint64, e *Event) bool) error {
	needles := f.needles()
	return scanAfter(dir, f.Start, f.End, after, func(seq uint64, raw []byte) (bool, error) {
		if !containsAll(raw, needles) {
			return true, nil
		}
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return false, fmt.Errorf("record %d: %w", seq, err)
		}
		return !f.Match(&e) || fn(seq, &e), nil
	})
}

// ScanAfter calls fn with the sequence number and the JSON of each record
// above after, in log order, until fn returns false: QueryAfter without
// decoding, for a reader that needs a few fields of every record (see
// Members) and would spend most of its time in encoding/json otherwise.
// The JSON is valid only until fn returns.
func ScanAfter(dir string, after uint64, fn func(seq uint64, event []byte) bool) error {
	return scanAfter(dir, time.Time{}, time.Time{}, after, func(seq uint64, raw []byte) (bool, error) {
		return fn(seq, raw), nil
	})
}

// scanAfter reads the records above after of the files that can hold events
// in [start, end] (zero: unbounded), calling fn with each until it returns
// false or an error, which comes back marked ErrCorrupt.
func scanAfter(dir string, start, end time.Time, after uint64, fn func(seq uint64, raw []byte) (bool, error)) error {
	logs, err := listLogs(dir)
	if err != nil {
		return err
	}
	for i, lf := range logs {
		// File i holds records written from its creation until the next
		// file's creation, numbered from its first up to the next file's.
		if !end.IsZero() && lf.created.After(end.Add(querySlack)) {
			return nil
		}
		if i+1 < len(logs) && (logs[i+1].firstSeq <= after+1 || !start.IsZero() && logs[i+1].created.Before(start)) {
			continue
		}
		data, err := readLog(filepath.Join(dir, lf.name))
		if errors.Is(err, os.ErrNotExist) {
			continue // removed by retention since ReadDir
		}
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		line := 0
		for len(data) > 0 {
			line++
			nl := bytes.IndexByte(data, '\n')
			if nl < 0 {
				if i == len(logs)-1 {
					break // a write in flight
				}
				return fmt.Errorf("%w: %s line %d: incomplete record", ErrCorrupt, lf.name, line)
			}
			r, err := parseLine(data[:nl])
			data = data[nl+1:]
			if err != nil {
				return fmt.Errorf("%w: %s line %d: %v", ErrCorrupt, lf.name, line, err)
			}
			if r.Seq <= after {
				continue
			}
			more, err := fn(r.Seq, r.Event)
			if err != nil {
				return fmt.Errorf("%w: %s line %d: %v", ErrCorrupt, lf.name, line, err)
			}
			if !more {
				return nil
			}
		}
	}
	return nil
}

// Match reports whether e satisfies f.
func (f *Filter) Match(e *Event) bool {
	u := &e.UserIdentity
	switch {
	case !f.Start.IsZero() && e.EventTime.Before(f.Start),
		!f.End.IsZero() && e.EventTime.After(f.End),
		f.EventID != "" && e.EventID != f.EventID,
		f.EventName != "" && e.EventName != f.EventName,
		f.EventSource != "" && e.EventSource != f.EventSource,
		f.ErrorCode != "" && e.ErrorCode != f.ErrorCode,
		f.ReadOnly != nil && e.ReadOnly != *f.ReadOnly,
		f.Principal != "" && u.ARN != f.Principal && u.PrincipalID != f.Principal,
		f.AccessKeyID != "" && u.AccessKeyID != f.AccessKeyID:
		return false
	}
	if f.Username != "" && u.UserName != f.Username &&
		(u.SessionContext == nil || u.SessionContext.SessionIssuer == nil || u.SessionContext.SessionIssuer.UserName != f.Username) {
		return false
	}
	if f.KeyID != "" || f.ResourceType != "" || f.ResourceName != "" {
		found := false
		for _, r := range e.Resources {
			if (f.KeyID == "" || r.ARN == f.KeyID || strings.HasSuffix(r.ARN, "/"+f.KeyID) || strings.HasSuffix(r.ARN, ":"+f.KeyID)) &&
				(f.ResourceType == "" || r.Type == f.ResourceType) &&
				(f.ResourceName == "" || r.ARN == f.ResourceName) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// needles returns strings that every record matching f contains, so that
// Query can pass over the others without decoding them: a sparse filter
// then costs a substring search per record instead of a JSON parse. Every
// field Match compares is written by Event.appendJSON, which encodes a
// string one character at a time and always the same way, so a matching
// record contains each value the filter asks for exactly as appendString
// encodes it (for KeyID, as a suffix of a resource ARN: still a
// substring).
func (f *Filter) needles() [][]byte {
	var ns [][]byte
	for _, v := range []string{f.EventID, f.EventName, f.EventSource, f.ErrorCode, f.KeyID, f.Principal,
		f.Username, f.AccessKeyID, f.ResourceType, f.ResourceName} {
		if v != "" {
			q := appendString(nil, v)
			ns = append(ns, q[1:len(q)-1])
		}
	}
	return ns
}

func containsAll(b []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(b, n) {
			return false
		}
	}
	return true
}

// QueryBackward calls fn with every event in dir that matches f and whose
// sequence number is below before (0: no bound), newest first, until fn
// returns false. It reads the newest files first and each from its end, so
// the cost of a page of recent events does not grow with the size of the
// trail; a caller pages by passing the sequence number of the last event it
// got as the next before. Like Query it reads without locking, skips an
// incomplete record (and the preallocated zeros) at the end of the live
// file, and checks no hashes.
func QueryBackward(dir string, f Filter, before uint64, fn func(seq uint64, e *Event) bool) error {
	logs, err := listLogs(dir)
	if err != nil {
		return err
	}
	needles := f.needles()
	for i := len(logs) - 1; i >= 0; i-- {
		lf := logs[i]
		switch {
		case before != 0 && lf.firstSeq >= before:
			continue
		case !f.End.IsZero() && lf.created.After(f.End.Add(querySlack)):
			continue
		case !f.Start.IsZero() && i+1 < len(logs) && logs[i+1].created.Before(f.Start):
			return nil // this file and every older one ended before Start
		}
		stop := false
		line := 0
		err := backwardLines(filepath.Join(dir, lf.name), func(b []byte) error {
			line++
			r, err := parseLine(b)
			if err != nil {
				return fmt.Errorf("%w: %s line %d from the end: %v", ErrCorrupt, lf.name, line, err)
			}
			if before != 0 && r.Seq >= before || !containsAll(r.Event, needles) {
				return nil
			}
			var e Event
			if err := json.Unmarshal(r.Event, &e); err != nil {
				return fmt.Errorf("%w: %s record %d: %v", ErrCorrupt, lf.name, r.Seq, err)
			}
			if f.Match(&e) && !fn(r.Seq, &e) {
				stop = true
				return errStop
			}
			return nil
		})
		if errors.Is(err, os.ErrNotExist) {
			continue // removed by retention since ReadDir
		}
		if stop {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var errStop = errors.New("stop")

// backwardChunk is how much of a log file backwardLines reads at a time.
const backwardChunk = 1 << 20

// backwardLines calls fn with each complete line of the file at path, without
// its newline, last line first, reading the file from its end a chunk at a
// time. The zeros preallocation leaves after the records, and a last line
// that has no newline yet (a write in flight), are skipped. An error from fn
// stops the walk and is returned. A line is valid only until fn returns:
// its buffer is reused.
func backwardLines(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// The size from seeking, not fstat: reading the live file's ctime would
	// make the writer's next fsync rewrite its inode (see removed).
	pos, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	buf := make([]byte, backwardChunk)
	// Find the end of the data: skip the zero tail, chunk by chunk.
	for pos > 0 {
		n := min(int64(backwardChunk), pos)
		if _, err := f.ReadAt(buf[:n], pos-n); err != nil {
			return err
		}
		if t := trimZeros(buf[:n]); len(t) > 0 {
			pos -= n - int64(len(t))
			break
		}
		pos -= n
	}
	var carry []byte // the start of the earliest line seen, whose beginning is further back
	var ends []int   // offsets just past each newline in the chunk
	// Two buffers in turn, the carry being in the other one: a fresh
	// megabyte a chunk cost a tenth of a sparse query in clearing it.
	bufs := [2][]byte{buf, nil}
	first := true
	for pos > 0 {
		n := min(int64(backwardChunk), pos)
		pos -= n
		if need := int(n) + len(carry); cap(bufs[0]) < need {
			bufs[0] = make([]byte, need)
		}
		b := bufs[0][:int(n)+len(carry)]
		bufs[0], bufs[1] = bufs[1], bufs[0]
		if _, err := f.ReadAt(b[:n], pos); err != nil {
			return err
		}
		copy(b[n:], carry)
		if first {
			// Drop a last line still being written, which may be longer
			// than a chunk.
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				carry = nil
				continue
			}
			first = false
			b = b[:i+1]
		}
		// b is [part of a line][line\n]...[line\n]: hand out the whole
		// lines, last first. The newlines are found going forward, where
		// bytes.IndexByte is vectorised and LastIndexByte is not (it took
		// a third of a sparse query's time).
		ends = ends[:0]
		for i := 0; ; {
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			ends = append(ends, i)
		}
		for k := len(ends) - 1; k > 0; k-- {
			if err := fn(b[ends[k-1] : ends[k]-1]); err != nil {
				return err
			}
		}
		if len(ends) > 0 {
			b = b[:ends[0]]
		}
		if pos == 0 && len(b) > 0 {
			return fn(b[:len(b)-1]) // the file's first line
		}
		carry = b
	}
	return nil
}

// logFile is a log file of a directory, as its name describes it.
type logFile struct {
	name     string
	firstSeq uint64
	created  time.Time
}

// listLogs returns the log files in dir, oldest first (os.ReadDir sorts by
// name, which sorts by first sequence number).
func listLogs(dir string) ([]logFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	var logs []logFile
	for _, e := range entries {
		if seq, t, ok := parseName(e.Name(), logPrefix, logSuffix); ok {
			logs = append(logs, logFile{e.Name(), seq, t})
		}
	}
	return logs, nil
}

// readLog returns the contents of the log file at path as os.ReadFile would,
// but takes the size by seeking rather than fstat: a reader of the live file
// that asks for its ctime makes the writer's next fsync rewrite the inode
// (see removed). Bytes appended after the seek are not read, as a read an
// instant earlier would not have seen them.
func readLog(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	n, err := f.ReadAt(data, 0)
	if err == io.EOF {
		err = nil // cut since the seek: what is left is the file
	}
	return data[:n], err
}
