package iam

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/memory"
)

const (
	acct  = "111122223333"
	other = "444455556666"
)

var ctx = context.Background()

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	t     *testing.T
	d     *Directory
	st    store.Store
	clock *clock
	root  *Caller // root of acct
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	w, err := keystore.NewSoft(key)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	d := New(st, w, WithClock(c.now))
	f := &fixture{t: t, d: d, st: st, clock: c}
	f.root = f.account(acct)
	return f
}

// account creates an account and returns its root as a Caller, resolved
// through Lookup as the HTTP layer would.
func (f *fixture) account(id string) *Caller {
	f.t.Helper()
	akid, _, err := f.d.CreateAccount(ctx, id, f.clock.now())
	if err != nil {
		f.t.Fatal(err)
	}
	return f.caller(akid)
}

func (f *fixture) caller(akid string) *Caller {
	f.t.Helper()
	_, p, err := f.d.Lookup(ctx, akid)
	if err != nil {
		f.t.Fatalf("Lookup(%s): %v", akid, err)
	}
	return &Caller{Principal: p, AccessKeyID: akid}
}

// user creates a user with an access key and inline policies, and returns
// it as a Caller.
func (f *fixture) user(c *Caller, name string, policies ...string) *Caller {
	f.t.Helper()
	if _, err := f.d.CreateUser(ctx, c, &CreateUserInput{UserName: name}); err != nil {
		f.t.Fatal(err)
	}
	for i, p := range policies {
		if err := f.d.PutUserPolicy(ctx, c, name, "p"+string(rune('0'+i)), p); err != nil {
			f.t.Fatal(err)
		}
	}
	k, _, err := f.d.CreateAccessKey(ctx, c, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.caller(k.ID)
}

func wantCode(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s = %v, want %s", what, err, code)
	}
	if e.Code != code || !strings.Contains(e.Message, msg) {
		t.Fatalf("%s = %s: %q, want %s containing %q", what, e.Code, e.Message, code, msg)
	}
}

const allowAll = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`

func TestLookupRootUserAndInvalidation(t *testing.T) {
	f := newFixture(t)
	if f.root.Type != TypeRoot || f.root.ARN != "arn:aws:iam::"+acct+":root" || f.root.UserID != acct || len(f.root.Policies) != 0 {
		t.Fatalf("root principal = %+v", f.root.Principal)
	}
	u, err := f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: "Alice", Path: "/eng/", Tags: []Tag{{"team", "blue"}}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ARN != "arn:aws:iam::"+acct+":user/eng/Alice" || len(u.ID) != 21 || !strings.HasPrefix(u.ID, "AIDA") {
		t.Fatalf("CreateUser = %+v", u)
	}
	k, secret, err := f.d.CreateAccessKey(ctx, f.root, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ID) != 20 || !strings.HasPrefix(k.ID, "AKIA") || len(secret) != 40 || k.WrappedSecret != nil {
		t.Fatalf("CreateAccessKey = %+v, secret of %d characters", k, len(secret))
	}
	got, p, err := f.d.Lookup(ctx, k.ID)
	if err != nil || string(got) != secret {
		t.Fatalf("Lookup(%s) = %q, %v", k.ID, got, err)
	}
	if p.Type != TypeUser || p.UserName != "Alice" || p.ARN != u.ARN || p.UserID != u.ID || p.Tags["team"] != "blue" || p.SessionToken != "" {
		t.Fatalf("Lookup principal = %+v", p)
	}
	// Every change is seen by the next Lookup.
	if err := f.d.PutUserPolicy(ctx, f.root, "alice", "all", allowAll); err != nil {
		t.Fatal(err)
	}
	if _, p, _ = f.d.Lookup(ctx, k.ID); len(p.Policies) != 1 {
		t.Fatalf("after PutUserPolicy, Lookup has %d policies", len(p.Policies))
	}
	if err := f.d.UpdateAccessKey(ctx, f.root, "alice", k.ID, StatusInactive); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.Lookup(ctx, k.ID); !errors.Is(err, ErrUnknownAccessKey) {
		t.Fatalf("Lookup(inactive) = %v, want ErrUnknownAccessKey", err)
	}
	if err := f.d.UpdateAccessKey(ctx, f.root, "alice", k.ID, StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.Lookup(ctx, k.ID); err != nil {
		t.Fatalf("Lookup(reactivated) = %v", err)
	}
	if err := f.d.DeleteAccessKey(ctx, f.root, "alice", k.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.Lookup(ctx, k.ID); !errors.Is(err, ErrUnknownAccessKey) {
		t.Fatalf("Lookup(deleted) = %v, want ErrUnknownAccessKey", err)
	}
	for _, id := range []string{"", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "XYZ"} {
		if _, _, err := f.d.Lookup(ctx, id); !errors.Is(err, ErrUnknownAccessKey) {
			t.Errorf("Lookup(%q) = %v, want ErrUnknownAccessKey", id, err)
		}
	}
}

// TestSecretsNeverStored checks that no secret access key or session token
// reaches the store in the clear.
func TestSecretsNeverStored(t *testing.T) {
	f := newFixture(t)
	alice := f.user(f.root, "alice")
	rootSecret, _, _ := f.d.Lookup(ctx, f.root.AccessKeyID)
	aliceSecret, _, _ := f.d.Lookup(ctx, alice.AccessKeyID)
	trust := `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/alice"},"Action":"sts:AssumeRole"}}`
	if _, err := f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "app", AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	cr, err := f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/app", RoleSessionName: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{string(rootSecret), string(aliceSecret), cr.SecretAccessKey, cr.SessionToken}
	err = f.st.View(ctx, func(tx store.Tx) error {
		es, err := tx.List("", "", 0)
		for _, e := range es {
			for _, s := range secrets {
				if bytes.Contains(e.Value, []byte(s)) {
					t.Errorf("store key %s holds a secret in the clear", e.Key)
				}
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallerValidationAndConflicts(t *testing.T) {
	f := newFixture(t)
	f.user(f.root, "alice")
	tests := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		{"duplicate ignoring case", ret(f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: "ALICE"})), CodeEntityAlreadyExists, "User with name ALICE already exists."},
		{"missing user", ret(f.d.GetUser(ctx, f.root, "bob")), CodeNoSuchEntity, "The user with name bob cannot be found."},
		{"bad name", ret(f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: "a b"})), CodeValidation, `1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"long name", ret(f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: strings.Repeat("a", 65)})), CodeValidation, "Member must have length less than or equal to 64"},
		{"bad path", ret(f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: "x", Path: "eng"})), CodeValidation, "at 'path' failed to satisfy constraint"},
		{"duplicate tags", ret(f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: "x", Tags: []Tag{{"a", "1"}, {"A", "2"}}})), CodeInvalidInput, "Duplicate tag keys found."},
		{"delete with keys", f.d.DeleteUser(ctx, f.root, "alice"), CodeDeleteConflict, "Cannot delete entity, must delete access keys first."},
		{"malformed policy", f.d.PutUserPolicy(ctx, f.root, "alice", "p", `{"Statement":{"Effect":"Allow","Action":"iam:*"}}`), CodeMalformedPolicyDocument, "Resource"},
		{"policy with principal", f.d.PutUserPolicy(ctx, f.root, "alice", "p", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"iam:*","Resource":"*"}}`), CodeMalformedPolicyDocument, "principal"},
		{"policy not JSON", f.d.PutUserPolicy(ctx, f.root, "alice", "p", `{`), CodeMalformedPolicyDocument, ""},
		{"policy too large", f.d.PutUserPolicy(ctx, f.root, "alice", "p", `{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"`+strings.Repeat("a", 2100)+`"}}`), CodeLimitExceeded, "Maximum policy size of 2048 bytes exceeded for user alice"},
		{"missing policy", ret(f.d.GetUserPolicy(ctx, f.root, "alice", "nope")), CodeNoSuchEntity, "The user policy with name nope cannot be found."},
		{"missing key", f.d.DeleteAccessKey(ctx, f.root, "alice", "AKIAAAAAAAAAAAAAAAAA"), CodeNoSuchEntity, "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found."},
		{"bad status", f.d.UpdateAccessKey(ctx, f.root, "alice", "AKIAAAAAAAAAAAAAAAAA", "On"), CodeValidation, "Member must satisfy enum value set: [Active, Inactive]"},
		{"trust policy required", ret(f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "r"})), CodeValidation, "Value null at 'assumeRolePolicyDocument'"},
		{"trust policy without principal", ret(f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`})), CodeMalformedPolicyDocument, "Principal"},
		{"trust policy too large", ret(f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"` + strings.Repeat("x", 2100) + `"}}}}`})), CodeLimitExceeded, "Cannot exceed quota for ACLSizePerRole: 2048"},
		{"max session too long", ret(f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "r", MaxSessionDuration: 43201, AssumeRolePolicyDocument: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`})), CodeValidation, "Value '43201' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"missing role", ret(f.d.GetRole(ctx, f.root, "r")), CodeNoSuchEntity, "The role with name r cannot be found."},
	}
	for _, tt := range tests {
		wantCode(t, tt.name, tt.err, tt.code, tt.msg)
	}
	// A third access key is over the quota.
	if _, _, err := f.d.CreateAccessKey(ctx, f.root, "alice"); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.d.CreateAccessKey(ctx, f.root, "alice")
	wantCode(t, "third key", err, CodeLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2")

	keys, err := f.d.ListUserAccessKeys(ctx, f.root, "alice")
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListUserAccessKeys = %v, %v", keys, err)
	}
	for _, k := range keys {
		if err := f.d.DeleteAccessKey(ctx, f.root, "alice", k.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.d.PutUserPolicy(ctx, f.root, "alice", "p", allowAll); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete with policies", f.d.DeleteUser(ctx, f.root, "alice"), CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
	if err := f.d.DeleteUserPolicy(ctx, f.root, "alice", "p"); err != nil {
		t.Fatal(err)
	}
	if err := f.d.DeleteUser(ctx, f.root, "alice"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
}

func ret[T any](_ T, err error) error { return err }

func TestAuthorizeIAMCalls(t *testing.T) {
	f := newFixture(t)
	noPolicy := f.user(f.root, "nopolicy")
	reader := f.user(f.root, "reader", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}}`)
	denied := f.user(f.root, "denied", allowAll, `{"Statement":{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}}`)
	self := f.user(f.root, "self", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::`+acct+`:user/${aws:username}"}}`)

	wantCode(t, "no policy ListUsers", ret(f.d.ListUsers(ctx, noPolicy, &ListInput{})), CodeAccessDenied,
		"User: arn:aws:iam::"+acct+":user/nopolicy is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::"+acct+":user/ because no identity-based policy allows the iam:ListUsers action")
	// Authorization comes before existence: no probing for users.
	wantCode(t, "no policy GetUser of a missing user", ret(f.d.GetUser(ctx, noPolicy, "ghost")), CodeAccessDenied, "on resource: arn:aws:iam::"+acct+":user/ghost")
	if _, err := f.d.ListUsers(ctx, reader, &ListInput{}); err != nil {
		t.Errorf("reader ListUsers: %v", err)
	}
	wantCode(t, "reader GetUser of a missing user", ret(f.d.GetUser(ctx, reader, "ghost")), CodeNoSuchEntity, "ghost")
	wantCode(t, "reader CreateUser", ret(f.d.CreateUser(ctx, reader, &CreateUserInput{UserName: "x"})), CodeAccessDenied, "iam:CreateUser")
	wantCode(t, "explicit deny", ret(f.d.CreateUser(ctx, denied, &CreateUserInput{UserName: "x"})), CodeAccessDenied,
		"on resource: arn:aws:iam::"+acct+":user/x with an explicit deny in an identity-based policy")
	if _, err := f.d.CreateRole(ctx, denied, &CreateRoleInput{RoleName: "r", AssumeRolePolicyDocument: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`}); err != nil {
		t.Errorf("denied CreateRole (allowed by another statement): %v", err)
	}
	// Policy variables: a user managing its own keys only.
	if _, _, err := f.d.CreateAccessKey(ctx, self, ""); err != nil {
		t.Errorf("self CreateAccessKey: %v", err)
	}
	wantCode(t, "self CreateAccessKey for another", ret(f.d.ListUserAccessKeys(ctx, self, "reader")), CodeAccessDenied, "iam:ListAccessKeys")
	// GetUser without a name is the caller.
	u, err := f.d.GetUser(ctx, reader, "")
	if err != nil || u.Name != "reader" {
		t.Errorf("reader GetUser() = %+v, %v", u, err)
	}
	u, err = f.d.GetUser(ctx, f.root, "")
	if err != nil || u.ARN != RootARN("aws", acct) || u.ID != acct || u.Name != "" {
		t.Errorf("root GetUser() = %+v, %v", u, err)
	}
}

func TestListPaging(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"d", "b", "a", "c", "e"} {
		path := "/"
		if n == "c" {
			path = "/ops/"
		}
		if _, err := f.d.CreateUser(ctx, f.root, &CreateUserInput{UserName: n, Path: path}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	marker := ""
	for pages := 0; ; pages++ {
		l, err := f.d.ListUsers(ctx, f.root, &ListInput{Marker: marker, MaxItems: 2})
		if err != nil || pages > 5 {
			t.Fatalf("ListUsers: %v", err)
		}
		for _, u := range l.Users {
			got = append(got, u.Name)
		}
		if !l.IsTruncated {
			break
		}
		marker = l.Marker
	}
	if strings.Join(got, ",") != "a,b,c,d,e" {
		t.Errorf("ListUsers pages = %v", got)
	}
	l, err := f.d.ListUsers(ctx, f.root, &ListInput{PathPrefix: "/ops/"})
	if err != nil || len(l.Users) != 1 || l.Users[0].Name != "c" {
		t.Errorf("ListUsers(/ops/) = %+v, %v", l, err)
	}
	wantCode(t, "MaxItems 0", ret(f.d.ListUsers(ctx, f.root, &ListInput{MaxItems: -1})), CodeValidation, "at 'maxItems'")
}

func TestAssumeRole(t *testing.T) {
	f := newFixture(t)
	alice := f.user(f.root, "alice")
	bob := f.user(f.root, "bob")
	carol := f.user(f.root, "carol", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`)
	denyAssume := f.user(f.root, "dave", `{"Statement":{"Effect":"Deny","Action":"sts:*","Resource":"*"}}`)

	trust := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::` + acct + `:user/alice","arn:aws:iam::` + acct + `:user/dave"]},"Action":["sts:AssumeRole","sts:TagSession"]},
		{"Effect":"Allow","Principal":{"AWS":"` + acct + `"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + other + `:root"},"Action":"sts:AssumeRole"}]}`
	role, err := f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "app", Path: "/svc/", AssumeRolePolicyDocument: trust, Tags: []Tag{{"env", "prod"}, {"team", "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if role.ARN != "arn:aws:iam::"+acct+":role/svc/app" || role.MaxSessionDuration != 3600 || !strings.HasPrefix(role.ID, "AROA") || len(role.ID) != 21 {
		t.Fatalf("CreateRole = %+v", role)
	}
	if err := f.d.PutRolePolicy(ctx, f.root, "app", "kms", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`); err != nil {
		t.Fatal(err)
	}
	in := func(c *Caller) error {
		_, err := f.d.AssumeRole(ctx, c, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "s1"})
		return err
	}
	denied := func(who string) string {
		return "User: " + who + " is not authorized to perform: sts:AssumeRole on resource: " + role.ARN
	}
	// Named in the trust policy: allowed without an identity policy.
	if err := in(alice); err != nil {
		t.Errorf("alice: %v", err)
	}
	// Only the account is named: the identity policy must allow.
	wantCode(t, "bob", in(bob), CodeAccessDenied, denied(bob.ARN))
	if err := in(carol); err != nil {
		t.Errorf("carol: %v", err)
	}
	wantCode(t, "explicit deny in identity policy", in(denyAssume), CodeAccessDenied, denied(denyAssume.ARN))
	wantCode(t, "root", in(f.root), CodeAccessDenied, "Roles may not be assumed by root accounts.")

	// Cross-account: the trust policy names the other account, and the
	// caller's own identity policy must allow too.
	oroot := f.account(other)
	ouser := f.user(oroot, "eve")
	wantCode(t, "other account without identity policy", in(ouser), CodeAccessDenied, denied(ouser.ARN))
	ouser2 := f.user(oroot, "frank", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+role.ARN+`"}}`)
	if err := in(ouser2); err != nil {
		t.Errorf("other account with identity policy: %v", err)
	}

	// Missing roles, wrong paths and bad ARNs.
	for _, arn := range []string{"arn:aws:iam::" + acct + ":role/nope", "arn:aws:iam::" + acct + ":role/app"} {
		_, err := f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: arn, RoleSessionName: "s1"})
		wantCode(t, arn, err, CodeAccessDenied, "on resource: "+arn)
	}
	_, err = f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: "arn:aws:s3:::bucket/thing/x", RoleSessionName: "s1"})
	wantCode(t, "bad arn", err, CodeValidation, "Request ARN is invalid")
	_, err = f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "a b"})
	wantCode(t, "bad session name", err, CodeValidation, `Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	_, err = f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "s1", DurationSeconds: 899})
	wantCode(t, "short duration", err, CodeValidation, "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	_, err = f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "s1", DurationSeconds: 7200})
	wantCode(t, "duration over role max", err, CodeValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	// Session tags need sts:TagSession, which the account statement lacks.
	_, err = f.d.AssumeRole(ctx, carol, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "s1", Tags: []Tag{{"k", "v"}}})
	wantCode(t, "tags without TagSession", err, CodeAccessDenied, "is not authorized to perform: sts:TagSession on resource: "+role.ARN)

	// A session: its principal, token and expiry.
	cr, err := f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "web", DurationSeconds: 900, Tags: []Tag{{"ENV", "dev"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cr.AccessKeyID, "ASIA") || len(cr.AccessKeyID) != 20 || cr.AssumedRoleARN != "arn:aws:sts::"+acct+":assumed-role/app/web" ||
		cr.AssumedRoleID != role.ID+":web" || !cr.Expiration.Equal(f.clock.now().Add(900*time.Second)) {
		t.Fatalf("AssumeRole = %+v", cr)
	}
	secret, p, err := f.d.Lookup(ctx, cr.AccessKeyID)
	if err != nil || string(secret) != cr.SecretAccessKey {
		t.Fatalf("Lookup(session) = %v", err)
	}
	if p.Type != TypeAssumedRole || p.ARN != cr.AssumedRoleARN || p.UserID != cr.AssumedRoleID || p.RoleARN != role.ARN ||
		p.Account != acct || len(p.Policies) != 1 || p.UserName != "" {
		t.Fatalf("session principal = %+v", p)
	}
	if len(p.Tags) != 2 || p.Tags["ENV"] != "dev" || p.Tags["team"] != "x" {
		t.Errorf("session tags = %v, want the session's ENV=dev over the role's env, and team=x", p.Tags)
	}
	for _, tt := range []struct {
		token string
		want  error
	}{{cr.SessionToken, nil}, {"", ErrInvalidToken}, {cr.SessionToken + "x", ErrInvalidToken}, {strings.ToLower(cr.SessionToken), ErrInvalidToken}} {
		if err := f.d.CheckSessionToken(&p, tt.token); !errors.Is(err, tt.want) && err != tt.want {
			t.Errorf("CheckSessionToken(%.10q...) = %v, want %v", tt.token, err, tt.want)
		}
	}
	if err := f.d.CheckSessionToken(&alice.Principal, cr.SessionToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("CheckSessionToken(long-term key with a token) = %v, want ErrInvalidToken", err)
	}
	// Role chaining is limited to an hour.
	if err := f.d.UpdateRole(ctx, f.root, "app", nil, 7200); err != nil {
		t.Fatal(err)
	}
	if err := f.d.PutRolePolicy(ctx, f.root, "app", "chain", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`); err != nil {
		t.Fatal(err)
	}
	sess := f.caller(cr.AccessKeyID)
	if _, err := f.d.AssumeRole(ctx, sess, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "chained"}); err != nil {
		t.Errorf("chained AssumeRole: %v", err)
	}
	_, err = f.d.AssumeRole(ctx, sess, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "chained", DurationSeconds: 3601})
	wantCode(t, "chaining", err, CodeValidation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")

	f.clock.add(899 * time.Second)
	if err := f.d.CheckSessionToken(&p, cr.SessionToken); err != nil {
		t.Errorf("CheckSessionToken before expiry = %v", err)
	}
	f.clock.add(time.Second)
	if err := f.d.CheckSessionToken(&p, cr.SessionToken); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("CheckSessionToken at expiry = %v, want ErrExpiredToken", err)
	}
	// Purging keeps recently expired sessions, so clients hear "expired".
	if n, err := f.d.PurgeSessions(ctx, f.clock.now().Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeSessions(an hour ago) = %d, %v", n, err)
	}
	if n, err := f.d.PurgeSessions(ctx, f.clock.now().Add(time.Second)); err != nil || n < 1 {
		t.Errorf("PurgeSessions(now) = %d, %v", n, err)
	}
	if _, _, err := f.d.Lookup(ctx, cr.AccessKeyID); !errors.Is(err, ErrUnknownAccessKey) {
		t.Errorf("Lookup(purged session) = %v", err)
	}

	// Deleting the role ends its sessions, even if it is recreated.
	cr2, err := f.d.AssumeRole(ctx, alice, &AssumeRoleInput{RoleARN: role.ARN, RoleSessionName: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"kms", "chain"} {
		if err := f.d.DeleteRolePolicy(ctx, f.root, "app", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.d.DeleteRole(ctx, f.root, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.CreateRole(ctx, f.root, &CreateRoleInput{RoleName: "app", Path: "/svc/", AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.Lookup(ctx, cr2.AccessKeyID); !errors.Is(err, ErrUnknownAccessKey) {
		t.Errorf("Lookup(session of a deleted role) = %v, want ErrUnknownAccessKey", err)
	}
}

func TestInventoryHasNoSecrets(t *testing.T) {
	f := newFixture(t)
	f.user(f.root, "alice")
	inv, err := f.d.Inventory(ctx)
	if err != nil || len(inv) != 1 || len(inv[0].Users) != 1 || len(inv[0].Keys) != 2 {
		t.Fatalf("Inventory = %+v, %v", inv, err)
	}
	for _, k := range inv[0].Keys {
		if k.WrappedSecret != nil {
			t.Errorf("Inventory key %s carries its wrapped secret", k.ID)
		}
	}
	if _, _, err := f.d.CreateAccount(ctx, acct, f.clock.now()); !errors.Is(err, ErrAccountExists) {
		t.Errorf("CreateAccount(existing) = %v, want ErrAccountExists", err)
	}
	if _, _, err := f.d.CreateAccount(ctx, "12345", f.clock.now()); err == nil {
		t.Errorf("CreateAccount(12345) succeeded")
	}
}

func BenchmarkLookupCached(b *testing.B) {
	key := make([]byte, 32)
	w, _ := keystore.NewSoft(key)
	d := New(memory.New(), w)
	akid, _, err := d.CreateAccount(ctx, acct, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Lookup(ctx, akid); err != nil {
			b.Fatal(err)
		}
	}
}
