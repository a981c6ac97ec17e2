// Package iam holds Keyward's principals and their credentials: accounts and
// their root principals, IAM users, roles with their trust policies, inline
// identity policies, long-term access keys and the temporary credentials
// that AssumeRole issues. It implements the IAM and STS operations the HTTP
// layer exposes, transport-free: typed inputs, typed results, *Error for
// what a client is meant to see.
//
// Lookup, on the hot path of every request, answers from an in-memory cache
// that every change invalidates.
//
// This package must never log, print or return a secret access key or a
// session token, except once to the caller that created it (CreateAccessKey,
// AssumeRole, CreateAccount). Secrets are stored only wrapped under the root
// key, each bound to its access key id.
package iam

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// ErrUnknownAccessKey reports an access key id that does not exist, is
// inactive, or whose user, role or session is gone.
var ErrUnknownAccessKey = errors.New("iam: unknown access key")

// Session token failures, from CheckSessionToken. The HTTP layer answers
// them with AWS's "The security token included in the request is invalid."
// and "... is expired".
var (
	ErrInvalidToken = errors.New("iam: invalid security token")
	ErrExpiredToken = errors.New("iam: expired security token")
)

// ErrAccountExists is returned by CreateAccount for an account that exists.
var ErrAccountExists = errors.New("iam: account already exists")

// Principal types, as CloudTrail's userIdentity.type names them.
const (
	TypeRoot        = "Root"
	TypeUser        = "IAMUser"
	TypeAssumedRole = "AssumedRole"
)

// Principal is an authenticated identity with everything authorization needs
// to know about it. Values returned by Lookup are shared: callers must not
// modify Tags or Policies.
type Principal struct {
	Account string `json:"account"`
	ARN     string `json:"arn"`
	// UserID is the principalId: the account id for the root, "AIDA..." for
	// a user, "AROA...:<session name>" for an assumed-role session.
	UserID string `json:"userId"`
	Type   string `json:"type"` // TypeRoot, TypeUser or TypeAssumedRole
	// UserName is the IAM user's name; empty for other principals.
	UserName string `json:"userName,omitempty"`
	// RoleARN (arn:aws:iam::ACCT:role/PATH/NAME) and SessionName are set
	// for assumed-role sessions.
	RoleARN     string `json:"roleArn,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	// SessionCreated is when an assumed-role session was issued; CloudTrail
	// records it as sessionContext.attributes.creationDate.
	SessionCreated time.Time `json:"sessionCreated,omitzero"`
	// Tags are the user's tags, or for a session the role's tags overridden
	// by the session tags. Keys keep their case; compare them without it.
	Tags map[string]string `json:"tags,omitempty"`
	// SessionToken is the token a request signed with a temporary ("ASIA")
	// key must carry; "" for long-term keys. It is a credential: never log it.
	SessionToken string `json:"-"`
	// Expires is when temporary credentials expire; zero for long-term keys.
	Expires time.Time `json:"expires,omitzero"`
	// Policies are the principal's identity policies: the user's inline
	// policies, or the role's for a session, in name order. The root has
	// none; its full access to its own account is a rule, not a policy.
	Policies []*policy.Policy `json:"-"`
}

// PolicyPrincipal returns p as the policy package sees it.
func (p *Principal) PolicyPrincipal() policy.Principal {
	return policy.Principal{
		ARN: p.ARN, Account: p.Account, RoleARN: p.RoleARN, UserName: p.UserName,
		UserID: p.UserID, Tags: p.Tags, IsRoot: p.Type == TypeRoot,
	}
}

// Caller is the principal behind an IAM or STS call, with the request facts
// that policy conditions may test.
type Caller struct {
	Principal
	AccessKeyID     string
	SourceIP        string
	SecureTransport bool
}

// Directory stores principals and credentials and answers Lookup. It is safe
// for concurrent use.
type Directory struct {
	store     store.Store
	wrapper   keystore.Wrapper
	now       func() time.Time
	partition string // of every ARN this Directory prints: aws, aws-cn, ...

	// The cache maps access key ids to their unwrapped secret and resolved
	// principal. Writers bump gen and clear the cache after they commit;
	// a reader that loaded before the commit sees gen changed and does not
	// insert its stale entry.
	mu        sync.RWMutex
	gen       uint64
	cache     map[string]*cred
	lastPurge time.Time
}

type cred struct {
	secret    []byte
	principal Principal
}

// maxCache bounds the credential cache; when full it is emptied.
const maxCache = 10000

// Option configures a Directory.
type Option func(*Directory)

// WithClock makes the Directory read time from now instead of time.Now. Tests
// use it to expire temporary credentials.
func WithClock(now func() time.Time) Option {
	return func(d *Directory) { d.now = now }
}

// WithPartition sets the partition of the ARNs the Directory gives its
// principals (arn.Partition of the server's region); the default is "aws".
func WithPartition(p string) Option {
	return func(d *Directory) { d.partition = p }
}

// New returns a Directory over s, wrapping secrets with w.
func New(s store.Store, w keystore.Wrapper, opts ...Option) *Directory {
	d := &Directory{store: s, wrapper: w, now: time.Now, partition: "aws", cache: map[string]*cred{}}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Now returns the Directory's current time.
func (d *Directory) Now() time.Time { return d.now().UTC() }

// invalidate forgets every cached credential. Call it after committing any
// change that affects a principal.
func (d *Directory) invalidate() {
	d.mu.Lock()
	d.gen++
	clear(d.cache)
	d.mu.Unlock()
}

// update runs fn in a write transaction and invalidates the cache after it.
func (d *Directory) update(ctx context.Context, fn func(tx store.Tx) error) error {
	err := d.store.Update(ctx, fn)
	d.invalidate()
	return err
}

// Lookup returns the secret and principal of an access key: an active
// long-term key of a root or user, or the temporary key of a session (expired
// or not: CheckSessionToken decides, so that the client hears "expired"
// rather than "invalid"). It returns ErrUnknownAccessKey for anything else.
// The secret and principal are shared: callers must not modify them.
func (d *Directory) Lookup(ctx context.Context, akid string) ([]byte, Principal, error) {
	d.mu.RLock()
	c, gen := d.cache[akid], d.gen
	d.mu.RUnlock()
	if c != nil {
		return c.secret, c.principal, nil
	}
	var err error
	switch {
	case strings.HasPrefix(akid, "AKIA"):
		c, err = d.loadAccessKey(ctx, akid)
	case strings.HasPrefix(akid, "ASIA"):
		c, err = d.loadSession(ctx, akid)
	default:
		err = ErrUnknownAccessKey
	}
	if err != nil {
		return nil, Principal{}, err
	}
	d.mu.Lock()
	if d.gen == gen {
		if len(d.cache) >= maxCache {
			clear(d.cache)
		}
		d.cache[akid] = c
	}
	d.mu.Unlock()
	return c.secret, c.principal, nil
}

// CheckSessionToken checks the X-Amz-Security-Token a request signed by p's
// key carried: none for a long-term key, and for a temporary key exactly the
// one issued with it (compared in constant time), before it expires.
func (d *Directory) CheckSessionToken(p *Principal, token string) error {
	if p.SessionToken == "" {
		if token != "" {
			return ErrInvalidToken
		}
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(p.SessionToken)) != 1 {
		return ErrInvalidToken
	}
	if !d.Now().Before(p.Expires) {
		return ErrExpiredToken
	}
	return nil
}

func (d *Directory) loadAccessKey(ctx context.Context, akid string) (*cred, error) {
	var k AccessKey
	var p Principal
	err := d.store.View(ctx, func(tx store.Tx) error {
		if err := getJSON(tx, accessKeyPath(akid), &k); err != nil {
			return err
		}
		if k.Status != StatusActive {
			return ErrUnknownAccessKey
		}
		k.normalize()
		if k.UserName == "" {
			p = rootPrincipal(d.partition, k.Account)
			return nil
		}
		u, err := getUser(tx, k.Account, k.UserName)
		if err != nil {
			return err
		}
		p, err = u.principal(d.partition)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrUnknownAccessKey) {
		return nil, ErrUnknownAccessKey
	} else if err != nil {
		return nil, err
	}
	secret, err := d.wrapper.Unwrap(k.WrappedSecret, secretAAD(akid))
	if err != nil {
		return nil, fmt.Errorf("unwrap secret of %s: %w", akid, err)
	}
	return &cred{secret: secret, principal: p}, nil
}

// rootPrincipal is the root user of account.
func rootPrincipal(partition, account string) Principal {
	return Principal{Account: account, ARN: RootARN(partition, account), UserID: account, Type: TypeRoot}
}

// RootARN is the ARN of an account's root principal.
func RootARN(partition, account string) string {
	return "arn:" + partition + ":iam::" + account + ":root"
}

// Store layout. Names are keyed in lower case because IAM names are unique
// without regard to case; records keep the case they were created with.
func accountPath(id string) string      { return "iam/account/" + id }
func accessKeyPath(id string) string    { return "iam/accesskey/" + id }
func userPrefix(acct string) string     { return "iam/user/" + acct + "/" }
func userPath(acct, name string) string { return userPrefix(acct) + strings.ToLower(name) }
func rolePrefix(acct string) string     { return "iam/role/" + acct + "/" }
func rolePath(acct, name string) string { return rolePrefix(acct) + strings.ToLower(name) }
func sessionPath(id string) string      { return "iam/session/" + id }
func userKeyPrefix(acct, user string) string {
	return "iam/userkey/" + acct + "/" + strings.ToLower(user) + "/"
}
func rootKeyPrefix(acct string) string { return "iam/rootkey/" + acct + "/" }
func ownerKeyPrefix(acct, user string) string {
	if user == "" {
		return rootKeyPrefix(acct)
	}
	return userKeyPrefix(acct, user)
}

// secretAAD binds a wrapped secret to its access key id, so that a store
// attacker cannot move one key's secret under another id.
func secretAAD(akid string) []byte { return []byte("keyward/access-key/v1/" + akid) }

func getJSON(tx store.Tx, key string, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func putJSON(tx store.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, b)
}

// parsePolicies parses stored inline policies, in name order.
func parsePolicies(docs map[string]string) ([]*policy.Policy, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*policy.Policy, 0, len(names))
	for _, n := range names {
		p, err := policy.Parse([]byte(docs[n]), policy.IdentityPolicy)
		if err != nil {
			// It parsed when it was stored; a policy package change may
			// have made it invalid. Failing closed would lock the
			// principal out, so report it as an internal error.
			return nil, fmt.Errorf("stored policy %q no longer parses: %w", n, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// tagMap turns tags into the map principals carry.
func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}
