package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
// eventTime: the time a request spends in the server. Query uses it to skip
// files that cannot hold events in [Start, End].
const querySlack = 15 * time.Minute

// Query calls fn with every event in dir that matches f, in the order the
// log holds them, until fn returns false. That is commit order: eventTimes
// of concurrent requests can be out of order by their processing time.
//
// Query reads without locking and may run while a Log appends; an
// incomplete record at the end of the last file is skipped. It checks no
// hashes or signatures: that is Verify's job.
func Query(dir string, f Filter, fn func(*Event) bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	type named struct {
		name    string
		created time.Time
	}
	var logs []named
	for _, e := range entries {
		if _, t, ok := parseName(e.Name(), logPrefix, logSuffix); ok {
			logs = append(logs, named{e.Name(), t})
		}
	}
	for i, lf := range logs {
		// File i holds records written from its creation until the next
		// file's creation.
		if !f.End.IsZero() && lf.created.After(f.End.Add(querySlack)) {
			return nil
		}
		if !f.Start.IsZero() && i+1 < len(logs) && logs[i+1].created.Before(f.Start) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, lf.name))
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
			var e Event
			if err := json.Unmarshal(r.Event, &e); err != nil {
				return fmt.Errorf("%w: %s line %d: %v", ErrCorrupt, lf.name, line, err)
			}
			if f.Match(&e) && !fn(&e) {
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
