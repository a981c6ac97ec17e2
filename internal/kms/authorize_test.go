package kms

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/policy"
)

func mustPolicy(t *testing.T, doc string, kind policy.Kind) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s) = %v", doc, err)
	}
	return p
}

func user(t *testing.T, account, name string, docs ...string) *Caller {
	c := &Caller{Account: account, ARN: "arn:aws:iam::" + account + ":user/" + name, UserName: name, UserID: "AIDA" + strings.ToUpper(name), Type: "IAMUser"}
	for _, d := range docs {
		c.Policies = append(c.Policies, mustPolicy(t, d, policy.IdentityPolicy))
	}
	return c
}

func wantCode(t *testing.T, what string, err error, code, msgPart string) {
	t.Helper()
	got := ""
	msg := ""
	if e, ok := err.(*Error); ok {
		got, msg = e.Code, e.Message
	} else if err != nil {
		got = err.Error()
	}
	if got != code || !strings.Contains(msg, msgPart) {
		t.Errorf("%s = %s %q, want %s %q", what, got, msg, code, msgPart)
	}
}

const allowEncryptAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`

func TestAuthorizationThroughTheCore(t *testing.T) {
	s, root := newTestService(t)
	k, err := s.CreateKey(bg, root, &CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := k.KeyMetadata.KeyId
	arn := k.KeyMetadata.Arn
	pt := []byte("x")

	// An IAM user with no policy is refused; the default key policy
	// delegates to IAM, so the message blames the identity policies.
	bob := user(t, "111122223333", "bob")
	_, err = s.Encrypt(bg, bob, &EncryptRequest{KeyId: &id, Plaintext: pt})
	wantCode(t, "Encrypt(bob, no policy)", err, CodeAccessDenied,
		"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: kms:Encrypt on resource: "+arn+" because no identity-based policy allows the kms:Encrypt action")

	// An identity policy that allows Encrypt works, for Encrypt only.
	alice := user(t, "111122223333", "alice", allowEncryptAll)
	enc, err := s.Encrypt(bg, alice, &EncryptRequest{KeyId: &id, Plaintext: pt})
	if err != nil {
		t.Fatalf("Encrypt(alice) = %v", err)
	}
	_, err = s.Decrypt(bg, alice, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob})
	wantCode(t, "Decrypt(alice)", err, CodeAccessDenied, "kms:Decrypt")
	_, err = s.CreateKey(bg, alice, &CreateKeyRequest{})
	wantCode(t, "CreateKey(alice)", err, CodeAccessDenied, "because no identity-based policy allows the kms:CreateKey action")

	// An explicit deny in an identity policy wins over an allow.
	carol := user(t, "111122223333", "carol", allowEncryptAll,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"StringNotEquals":{"kms:EncryptionContext:app":"payroll"}}}]}`)
	_, err = s.Encrypt(bg, carol, &EncryptRequest{KeyId: &id, Plaintext: pt})
	wantCode(t, "Encrypt(carol, no context)", err, CodeAccessDenied, "with an explicit deny in an identity-based policy")
	if _, err := s.Encrypt(bg, carol, &EncryptRequest{KeyId: &id, Plaintext: pt, EncryptionContext: map[string]string{"app": "payroll"}}); err != nil {
		t.Errorf("Encrypt(carol, app=payroll) = %v", err)
	}

	// A key policy that names a user directly, under an encryption context
	// condition, and an administrator who may manage but not use the key.
	doc := `{"Version":"2012-10-17","Statement":[
 {"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"app","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/app"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
  "Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"t1"}}},
 {"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},
  "Action":["kms:Describe*","kms:Enable*","kms:Disable*","kms:Put*","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource"],"Resource":"*"}]}`
	k2, err := s.CreateKey(bg, root, &CreateKeyRequest{Policy: &doc})
	if err != nil {
		t.Fatal(err)
	}
	id2 := k2.KeyMetadata.KeyId
	app := user(t, "111122223333", "app")
	t1 := map[string]string{"tenant": "t1"}
	enc2, err := s.Encrypt(bg, app, &EncryptRequest{KeyId: &id2, Plaintext: pt, EncryptionContext: t1})
	if err != nil {
		t.Fatalf("Encrypt(app, tenant=t1) = %v", err)
	}
	if _, err := s.Decrypt(bg, app, &DecryptRequest{CiphertextBlob: enc2.CiphertextBlob, EncryptionContext: t1}); err != nil {
		t.Errorf("Decrypt(app, tenant=t1) = %v", err)
	}
	_, err = s.Encrypt(bg, app, &EncryptRequest{KeyId: &id2, Plaintext: pt, EncryptionContext: map[string]string{"tenant": "t2"}})
	wantCode(t, "Encrypt(app, tenant=t2)", err, CodeAccessDenied, "because no identity-based policy allows the kms:Encrypt action")
	admin := user(t, "111122223333", "admin")
	if _, err := s.DisableKey(bg, admin, &KeyRequest{KeyId: &id2}); err != nil {
		t.Errorf("DisableKey(admin) = %v", err)
	}
	if _, err := s.EnableKey(bg, admin, &KeyRequest{KeyId: &id2}); err != nil {
		t.Errorf("EnableKey(admin) = %v", err)
	}
	_, err = s.Encrypt(bg, admin, &EncryptRequest{KeyId: &id2, Plaintext: pt, EncryptionContext: t1})
	wantCode(t, "Encrypt(admin)", err, CodeAccessDenied, "kms:Encrypt")
	gp, err := s.GetKeyPolicy(bg, admin, &GetKeyPolicyRequest{KeyId: &id2})
	if err != nil || gp.Policy != doc || gp.PolicyName != "default" {
		t.Errorf("GetKeyPolicy = %v, %v; want the document as given", gp, err)
	}
	// The default policy reads back byte for byte as AWS writes it.
	gp, _ = s.GetKeyPolicy(bg, root, &GetKeyPolicyRequest{KeyId: &id})
	if gp.Policy != string(policy.DefaultKeyPolicy("aws", "111122223333")) {
		t.Errorf("default policy = %s", gp.Policy)
	}
}

func TestCrossAccountUse(t *testing.T) {
	s, root := newTestService(t)
	doc := `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}`
	k, err := s.CreateKey(bg, root, &CreateKeyRequest{Policy: &doc})
	if err != nil {
		t.Fatal(err)
	}
	arn, id := k.KeyMetadata.Arn, k.KeyMetadata.KeyId
	pt := []byte("x")
	// The other account's user needs its own identity policy too.
	noPolicy := user(t, "444455556666", "dave")
	_, err = s.Encrypt(bg, noPolicy, &EncryptRequest{KeyId: &arn, Plaintext: pt})
	wantCode(t, "Encrypt(other account, no identity policy)", err, CodeAccessDenied, "kms:Encrypt")
	erin := user(t, "444455556666", "erin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"`+arn+`"}]}`)
	enc, err := s.Encrypt(bg, erin, &EncryptRequest{KeyId: &arn, Plaintext: pt})
	if err != nil {
		t.Fatalf("Encrypt(other account, both policies) = %v", err)
	}
	if _, err := s.Decrypt(bg, erin, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob}); err != nil {
		t.Errorf("Decrypt(other account) = %v", err)
	}
	// A bare key id names a key in the caller's own account only.
	_, err = s.Encrypt(bg, erin, &EncryptRequest{KeyId: &id, Plaintext: pt})
	wantCode(t, "Encrypt(other account, key id)", err, CodeNotFound, "does not exist")
	// Management operations never cross accounts.
	_, err = s.DisableKey(bg, erin, &KeyRequest{KeyId: &arn})
	wantCode(t, "DisableKey(other account)", err, CodeAccessDenied, "")
	// A third account the key policy does not name is refused even with an identity policy.
	frank := user(t, "777788889999", "frank", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`)
	_, err = s.Encrypt(bg, frank, &EncryptRequest{KeyId: &arn, Plaintext: pt})
	wantCode(t, "Encrypt(unnamed account)", err, CodeAccessDenied, "because no resource-based policy allows the kms:Encrypt action")
}

func TestLockoutSafetyCheck(t *testing.T) {
	s, root := newTestService(t)
	k, _ := s.CreateKey(bg, root, &CreateKeyRequest{})
	id := k.KeyMetadata.KeyId
	lockout := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/someone"},"Action":"kms:*","Resource":"*"}]}`
	_, err := s.PutKeyPolicy(bg, root, &PutKeyPolicyRequest{KeyId: &id, Policy: &lockout})
	wantCode(t, "PutKeyPolicy(lockout)", err, CodeMalformedPolicy, "The new key policy will not allow you to update the key policy in the future.")
	_, err = s.PutKeyPolicy(bg, root, &PutKeyPolicyRequest{KeyId: &id, Policy: ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"`)})
	wantCode(t, "PutKeyPolicy(malformed)", err, CodeMalformedPolicy, "")
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("a", 33000) + `","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}`
	_, err = s.PutKeyPolicy(bg, root, &PutKeyPolicyRequest{KeyId: &id, Policy: &big})
	wantCode(t, "PutKeyPolicy(33 KB)", err, CodeLimitExceeded, "")
	// With the check bypassed the policy is set, and root is then locked out.
	if _, err := s.PutKeyPolicy(bg, root, &PutKeyPolicyRequest{KeyId: &id, Policy: &lockout, BypassPolicyLockoutSafetyCheck: ptr(true)}); err != nil {
		t.Fatalf("PutKeyPolicy(bypass) = %v", err)
	}
	_, err = s.DescribeKey(bg, root, &DescribeKeyRequest{KeyId: &id})
	wantCode(t, "DescribeKey(root, locked out)", err, CodeAccessDenied, "because no resource-based policy allows the kms:DescribeKey action")
	someone := user(t, "111122223333", "someone")
	if _, err := s.DescribeKey(bg, someone, &DescribeKeyRequest{KeyId: &id}); err != nil {
		t.Errorf("DescribeKey(named user) = %v", err)
	}
}

func TestGrants(t *testing.T) {
	s, root := newTestService(t)
	k, _ := s.CreateKey(bg, root, &CreateKeyRequest{})
	id := k.KeyMetadata.KeyId
	app := user(t, "111122223333", "app")
	ops := &Caller{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/ops", Type: "IAMUser"}
	ec := map[string]string{"db": "orders"}
	enc, _ := s.Encrypt(bg, root, &EncryptRequest{KeyId: &id, Plaintext: []byte("x"), EncryptionContext: ec})
	enc2, _ := s.Encrypt(bg, root, &EncryptRequest{KeyId: &id, Plaintext: []byte("x"), EncryptionContext: map[string]string{"db": "users"}})

	_, err := s.Decrypt(bg, app, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	wantCode(t, "Decrypt(app) before the grant", err, CodeAccessDenied, "")
	g, err := s.CreateGrant(bg, root, &CreateGrantRequest{KeyId: &id, GranteePrincipal: &app.ARN, RetiringPrincipal: &ops.ARN,
		Operations: []string{"Decrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: ec}, Name: ptr("orders")})
	if err != nil {
		t.Fatalf("CreateGrant = %v", err)
	}
	if len(g.GrantId) != 64 || g.GrantToken == "" {
		t.Errorf("CreateGrant = %+v", g)
	}
	again, _ := s.CreateGrant(bg, root, &CreateGrantRequest{KeyId: &id, GranteePrincipal: &app.ARN, RetiringPrincipal: &ops.ARN,
		Operations: []string{"Decrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: ec}, Name: ptr("orders")})
	if again.GrantId != g.GrantId {
		t.Errorf("CreateGrant retry with the same name = %s, want %s", again.GrantId, g.GrantId)
	}
	if _, err := s.Decrypt(bg, app, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, GrantTokens: []string{g.GrantToken}}); err != nil {
		t.Errorf("Decrypt(app) with the grant = %v", err)
	}
	_, err = s.Decrypt(bg, app, &DecryptRequest{CiphertextBlob: enc2.CiphertextBlob, EncryptionContext: map[string]string{"db": "users"}})
	wantCode(t, "Decrypt(app) outside the grant's constraint", err, CodeAccessDenied, "")
	_, err = s.Encrypt(bg, app, &EncryptRequest{KeyId: &id, Plaintext: []byte("x"), EncryptionContext: ec})
	wantCode(t, "Encrypt(app), not a granted operation", err, CodeAccessDenied, "")
	_, err = s.Decrypt(bg, app, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, GrantTokens: []string{"not-a-token"}})
	wantCode(t, "Decrypt with a bad grant token", err, CodeInvalidGrantToken, "")

	l, err := s.ListGrants(bg, root, &ListGrantsRequest{KeyId: &id})
	if err != nil || len(l.Grants) != 1 || l.Grants[0].GranteePrincipal != app.ARN || l.Grants[0].IssuingAccount != "arn:aws:iam::111122223333:root" {
		t.Errorf("ListGrants = %+v, %v", l, err)
	}
	r, err := s.ListRetirableGrants(bg, root, &ListRetirableGrantsRequest{RetiringPrincipal: &ops.ARN})
	if err != nil || len(r.Grants) != 1 {
		t.Errorf("ListRetirableGrants = %+v, %v", r, err)
	}
	// The retiring principal retires it by token; the grant stops working at once.
	if _, err := s.RetireGrant(bg, ops, &RetireGrantRequest{GrantToken: &g.GrantToken}); err != nil {
		t.Fatalf("RetireGrant = %v", err)
	}
	_, err = s.Decrypt(bg, app, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	wantCode(t, "Decrypt(app) after RetireGrant", err, CodeAccessDenied, "")

	g2, _ := s.CreateGrant(bg, root, &CreateGrantRequest{KeyId: &id, GranteePrincipal: &app.ARN, Operations: []string{"Encrypt", "Decrypt"}})
	_, err = s.RetireGrant(bg, app, &RetireGrantRequest{KeyId: &id, GrantId: &g2.GrantId})
	wantCode(t, "RetireGrant by a grantee without RetireGrant", err, CodeAccessDenied, "")
	if _, err := s.RevokeGrant(bg, root, &RevokeGrantRequest{KeyId: &id, GrantId: &g2.GrantId}); err != nil {
		t.Errorf("RevokeGrant = %v", err)
	}
	_, err = s.RevokeGrant(bg, root, &RevokeGrantRequest{KeyId: &id, GrantId: &g2.GrantId})
	wantCode(t, "RevokeGrant twice", err, CodeNotFound, "")
	_, err = s.RevokeGrant(bg, root, &RevokeGrantRequest{KeyId: &id, GrantId: ptr("nope")})
	wantCode(t, "RevokeGrant(bad id)", err, CodeInvalidGrantID, "")
	_, err = s.CreateGrant(bg, root, &CreateGrantRequest{KeyId: &id, GranteePrincipal: ptr("bob"), Operations: []string{"Decrypt"}})
	wantCode(t, "CreateGrant(bad principal)", err, CodeValidation, "")
	_, err = s.CreateGrant(bg, root, &CreateGrantRequest{KeyId: &id, GranteePrincipal: &app.ARN, Operations: []string{"ScheduleKeyDeletion"}})
	wantCode(t, "CreateGrant(non-grant operation)", err, CodeValidation, "Member must satisfy enum value set")
	// A user may not create grants without permission.
	_, err = s.CreateGrant(bg, app, &CreateGrantRequest{KeyId: &id, GranteePrincipal: &app.ARN, Operations: []string{"Decrypt"}})
	wantCode(t, "CreateGrant(app)", err, CodeAccessDenied, "kms:CreateGrant")
}

// BenchmarkAuthorizeEncrypt measures authorization on the Encrypt path
// with a 20-statement key policy with conditions.
func BenchmarkAuthorizeEncrypt(b *testing.B) {
	s, root := newTestService(b)
	var st []string
	st = append(st, `{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}`)
	for i := 0; i < 18; i++ {
		st = append(st, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/u`+strings.Repeat("x", i)+`"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"t`+strings.Repeat("1", i+1)+`"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`)
	}
	st = append(st, `{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"aws:PrincipalAccount":"999999999999"}}}`)
	doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
	k, err := s.CreateKey(bg, root, &CreateKeyRequest{Policy: &doc})
	if err != nil {
		b.Fatal(err)
	}
	e, _ := s.getKey(bg, k.KeyMetadata.KeyId)
	app := &Caller{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/app", Type: "IAMUser", SourceIP: "127.0.0.1",
		Policies: []*policy.Policy{mustPolicy(&testing.T{}, allowEncryptAll, policy.IdentityPolicy)}}
	a := withKeys(map[string]string{"tenant": "t1"}, "kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.authorize(app, "Encrypt", e, a); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResourceAliasesCondition: access follows the key's aliases
// (kms:ResourceAliases), and alias changes reach cached keys at once.
func TestResourceAliasesCondition(t *testing.T) {
	s, root := newTestService(t)
	doc := `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/fin"},"Action":"kms:Encrypt","Resource":"*",
  "Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/finance-*"}}}]}`
	k, err := s.CreateKey(bg, root, &CreateKeyRequest{Policy: &doc})
	if err != nil {
		t.Fatal(err)
	}
	id := k.KeyMetadata.KeyId
	fin := user(t, "111122223333", "fin")
	_, err = s.Encrypt(bg, fin, &EncryptRequest{KeyId: &id, Plaintext: []byte("x")})
	wantCode(t, "Encrypt without a finance alias", err, CodeAccessDenied, "")
	if _, err := s.CreateAlias(bg, root, &CreateAliasRequest{AliasName: ptr("alias/finance-ledger"), TargetKeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Encrypt(bg, fin, &EncryptRequest{KeyId: &id, Plaintext: []byte("x")}); err != nil {
		t.Errorf("Encrypt with alias/finance-ledger = %v", err)
	}
	if _, err := s.DeleteAlias(bg, root, &DeleteAliasRequest{AliasName: ptr("alias/finance-ledger")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Encrypt(bg, fin, &EncryptRequest{KeyId: &id, Plaintext: []byte("x")})
	wantCode(t, "Encrypt after the alias is deleted", err, CodeAccessDenied, "")
}
