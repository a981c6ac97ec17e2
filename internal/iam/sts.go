package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// sessionRecord is a stored set of temporary credentials.
type sessionRecord struct {
	ID          string `json:"id"` // "ASIA" + 16
	Account     string `json:"account"`
	RoleName    string `json:"roleName"`
	RoleID      string `json:"roleId"` // the role the session was issued for; a recreated role is another role
	SessionName string `json:"sessionName"`
	// Wrapped is sessionSecrets, JSON, wrapped under the root key with
	// sessionAAD(ID).
	Wrapped        []byte    `json:"wrapped"`
	Tags           []Tag     `json:"tags,omitempty"`
	SourceIdentity string    `json:"sourceIdentity,omitempty"`
	Created        time.Time `json:"created"`
	Expires        time.Time `json:"expires"`
}

type sessionSecrets struct {
	Secret string `json:"secret"`
	Token  string `json:"token"`
}

func sessionAAD(akid string) []byte { return []byte("keyward/session/v1/" + akid) }

func assumedRoleARN(partition, account, role, session string) string {
	return "arn:" + partition + ":sts::" + account + ":assumed-role/" + role + "/" + session
}

func (d *Directory) loadSession(ctx context.Context, akid string) (*cred, error) {
	var s sessionRecord
	var r *roleRecord
	err := d.store.View(ctx, func(tx store.Tx) error {
		if err := getJSON(tx, sessionPath(akid), &s); err != nil {
			return err
		}
		var err error
		r, err = getRole(tx, s.Account, s.RoleName)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownAccessKey
	} else if err != nil {
		return nil, err
	}
	if r.ID != s.RoleID {
		return nil, ErrUnknownAccessKey
	}
	pols, err := parsePolicies(r.Policies)
	if err != nil {
		return nil, err
	}
	raw, err := d.wrapper.Unwrap(s.Wrapped, sessionAAD(akid))
	if err != nil {
		return nil, fmt.Errorf("unwrap session %s: %w", akid, err)
	}
	var sec sessionSecrets
	err = json.Unmarshal(raw, &sec)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", akid, err)
	}
	// Session tags override the role's tags with the same key
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html).
	tags := tagMap(mergeTags(r.Tags, s.Tags))
	p := Principal{
		Account: s.Account, ARN: assumedRoleARN(d.partition, s.Account, r.Name, s.SessionName), UserID: r.ID + ":" + s.SessionName,
		Type: TypeAssumedRole, RoleARN: r.arn(d.partition), SessionName: s.SessionName, SessionCreated: s.Created, Tags: tags,
		SessionToken: sec.Token, Expires: s.Expires, Policies: pols,
	}
	return &cred{secret: []byte(sec.Secret), principal: p}, nil
}

// AssumeRoleInput is the input of AssumeRole.
type AssumeRoleInput struct {
	RoleARN         string
	RoleSessionName string
	DurationSeconds int // 0 means 3600
	Tags            []Tag
	ExternalID      string
	SourceIdentity  string
}

// Credentials are temporary credentials and the session they belong to.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	AssumedRoleID   string // AROA...:session
	AssumedRoleARN  string // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION
}

// STS limits (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
const (
	minDuration      = 900
	chainingDuration = 3600 // "role chaining limits ... to a maximum of one hour"
	sessionGrace     = 24 * time.Hour
	purgeEvery       = 10 * time.Minute
)

// parseRoleARN splits arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
func parseRoleARN(partition, s string) (account, name string, ok bool) {
	rest, ok := strings.CutPrefix(s, "arn:"+partition+":iam::")
	if !ok {
		return "", "", false
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok || !isAccountID(account) || !strings.HasPrefix(res, "role/") {
		return "", "", false
	}
	name = res[strings.LastIndexByte(res, '/')+1:]
	return account, name, name != ""
}

// AssumeRole issues temporary credentials for a role, as STS AssumeRole does.
//
// The role's trust policy decides, together with the caller's identity
// policies
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
// an explicit Deny in either refuses; in the role's own account a trust
// policy statement naming the caller (or its role) suffices, while one
// naming only the account delegates to the caller's identity policies; a
// caller from another account always needs both. Session tags need
// sts:TagSession on the same terms. The root may not assume roles, as in AWS.
func (d *Directory) AssumeRole(ctx context.Context, c *Caller, in *AssumeRoleInput) (*Credentials, error) {
	switch n := len(in.RoleARN); {
	case n == 0:
		return nil, required("roleArn")
	case n < 20:
		return nil, validation(in.RoleARN, "roleArn", "have length greater than or equal to 20")
	case n > 2048:
		return nil, validation(in.RoleARN, "roleArn", "have length less than or equal to 2048")
	}
	if err := checkSessionName(in.RoleSessionName); err != nil {
		return nil, err
	}
	if in.DurationSeconds != 0 {
		switch {
		case in.DurationSeconds < minDuration:
			return nil, validation(strconv.Itoa(in.DurationSeconds), "durationSeconds", "have value greater than or equal to "+strconv.Itoa(minDuration))
		case in.DurationSeconds > maxSessionDuration:
			return nil, validation(strconv.Itoa(in.DurationSeconds), "durationSeconds", "have value less than or equal to "+strconv.Itoa(maxSessionDuration))
		}
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if in.SourceIdentity != "" {
		if err := checkName("sourceIdentity", in.SourceIdentity, 2, 64, patSessionName); err != nil {
			return nil, err
		}
	}
	acct, name, ok := parseRoleARN(d.partition, in.RoleARN)
	if !ok {
		return nil, &Error{Code: CodeValidation, Message: "Request ARN is invalid"}
	}
	denied := accessDenied(c.ARN, "sts:AssumeRole", in.RoleARN, "")
	if c.Type == TypeRoot {
		return nil, &Error{Code: CodeAccessDenied, Message: "Roles may not be assumed by root accounts."}
	}

	var r *roleRecord
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = getRole(tx, acct, name)
		return err
	})
	// A role that does not exist is refused like one that does not trust
	// the caller, so that callers cannot probe other accounts' roles.
	if errors.Is(err, store.ErrNotFound) || err == nil && r.arn(d.partition) != in.RoleARN {
		return nil, denied
	} else if err != nil {
		return nil, err
	}
	trust, err := policy.Parse([]byte(r.TrustPolicy), policy.TrustPolicy)
	if err != nil {
		return nil, fmt.Errorf("role %s: stored trust policy no longer parses: %w", r.arn(d.partition), err)
	}

	now := d.Now()
	req := c.request("sts:AssumeRole", in.RoleARN, now)
	req.Set("sts:RoleSessionName", in.RoleSessionName)
	if in.ExternalID != "" {
		req.Set("sts:ExternalId", in.ExternalID)
	}
	if in.SourceIdentity != "" {
		req.Set("sts:SourceIdentity", in.SourceIdentity)
	}
	if len(in.Tags) > 0 {
		keys := make([]string, len(in.Tags))
		for i, t := range in.Tags {
			keys[i] = t.Key
			req.Set("aws:RequestTag/"+t.Key, t.Value)
		}
		req.Set("aws:TagKeys", keys...)
	}
	if !trusts(trust, c, acct, req) {
		return nil, denied
	}
	if len(in.Tags) > 0 {
		req.Action = "sts:TagSession"
		if !trusts(trust, c, acct, req) {
			return nil, accessDenied(c.ARN, "sts:TagSession", in.RoleARN, "")
		}
	}

	dur := in.DurationSeconds
	switch {
	case dur > r.MaxSessionDuration:
		return nil, &Error{Code: CodeValidation, Message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}
	case c.Type == TypeAssumedRole && dur > chainingDuration:
		return nil, &Error{Code: CodeValidation, Message: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."}
	case dur == 0:
		dur = defaultSessionDuration
	}

	id := newID("ASIA", 16)
	sec := sessionSecrets{Secret: newSecret(), Token: newSessionToken()}
	raw, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	wrapped, err := d.wrapper.Wrap(raw, sessionAAD(id))
	clear(raw)
	if err != nil {
		return nil, err
	}
	// AWS gives whole seconds.
	exp := now.Add(time.Duration(dur) * time.Second).Truncate(time.Second)
	s := &sessionRecord{
		ID: id, Account: acct, RoleName: r.Name, RoleID: r.ID, SessionName: in.RoleSessionName, Wrapped: wrapped,
		Tags: in.Tags, SourceIdentity: in.SourceIdentity, Created: now, Expires: exp,
	}
	if err := d.store.Update(ctx, func(tx store.Tx) error { return putJSON(tx, sessionPath(id), s) }); err != nil {
		return nil, err
	}
	d.maybePurge(ctx, now)
	return &Credentials{
		AccessKeyID: id, SecretAccessKey: sec.Secret, SessionToken: sec.Token, Expiration: exp,
		AssumedRoleID: r.ID + ":" + in.RoleSessionName, AssumedRoleARN: assumedRoleARN(d.partition, acct, r.Name, in.RoleSessionName),
	}, nil
}

// trusts applies the trust decision of AssumeRole's doc comment to req.
func trusts(trust *policy.Policy, c *Caller, roleAccount string, req *policy.Request) bool {
	eff, _ := trust.Evaluate(req)
	if eff != policy.Allow {
		return false
	}
	id := identityVerdict(c.Policies, req)
	if id == policy.Deny {
		return false
	}
	if id == policy.Allow {
		return true
	}
	if c.Account != roleAccount {
		return false
	}
	// Same account, no identity policy allows: only a statement naming the
	// caller itself (or its role, or "*") will do, not one naming just the
	// account. Evaluate tells the two apart only by effect, so ask again
	// without the caller's account: what still allows names the caller.
	direct := *req
	direct.Principal.Account = ""
	eff, _ = trust.Evaluate(&direct)
	return eff == policy.Allow
}

// maybePurge deletes sessions that expired more than sessionGrace ago, at
// most every purgeEvery. Until then an expired session's requests are told
// "expired" rather than "invalid".
func (d *Directory) maybePurge(ctx context.Context, now time.Time) {
	d.mu.Lock()
	due := now.Sub(d.lastPurge) >= purgeEvery
	if due {
		d.lastPurge = now
	}
	d.mu.Unlock()
	if !due {
		return
	}
	d.PurgeSessions(ctx, now.Add(-sessionGrace))
}

// PurgeSessions deletes the sessions that expired before cutoff and returns
// how many it deleted.
func (d *Directory) PurgeSessions(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := d.update(ctx, func(tx store.Tx) error {
		es, err := tx.List("iam/session/", "", 0)
		if err != nil {
			return err
		}
		for _, e := range es {
			var s sessionRecord
			if err := json.Unmarshal(e.Value, &s); err != nil {
				return err
			}
			if s.Expires.Before(cutoff) {
				if err := tx.Delete(e.Key); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}
