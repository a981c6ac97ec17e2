package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestAccessControlEndToEnd gives one application the right to encrypt with
// one key under one encryption context, an administrator the right to
// manage but not use keys, and checks every decision through the real
// server with signed requests from each principal.
func TestAccessControlEndToEnd(t *testing.T) {
	e := start(t, "")
	root := newIAM(e.url, e.akid, e.secret, "")
	appKey, appSecret := userWithKey(t, root, "app")
	admKey, admSecret := userWithKey(t, root, "admin")
	app := newKMSWithToken(e.url, appKey, appSecret, "")
	adm := newKMSWithToken(e.url, admKey, admSecret, "")

	k := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	other := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	ec := map[string]string{"tenant": "acme"}

	// Before any policy: both are refused, in AWS's words.
	_, err := app.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: ec})
	wantErr(t, err, "AccessDeniedException", "User: arn:aws:iam::"+testAccount+":user/app is not authorized to perform: kms:Encrypt on resource: "+*k.Arn+" because no identity-based policy allows the kms:Encrypt action")

	// The application may encrypt with this key, under this context only.
	must[*iam.PutUserPolicyOutput](t)(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("app"), PolicyName: aws.String("encrypt"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"` + *k.Arn + `",
		 "Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"acme"}}}]}`)}))
	// The administrator may manage keys but not use them.
	must[*iam.PutUserPolicyOutput](t)(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("manage"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Disable*","kms:Get*","kms:TagResource","kms:UntagResource"],"Resource":"*"}]}`)}))

	ct := must[*kms.EncryptOutput](t)(app.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: ec})).CiphertextBlob
	for name, call := range map[string]func() error{
		"app Encrypt, other context": func() error {
			return ret(app.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: map[string]string{"tenant": "evil"}}))
		},
		"app Encrypt, no context": func() error { return ret(app.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})) },
		"app Encrypt, other key": func() error {
			return ret(app.Encrypt(ctx, &kms.EncryptInput{KeyId: other.KeyId, Plaintext: []byte("x"), EncryptionContext: ec}))
		},
		"app Decrypt": func() error {
			return ret(app.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: ec}))
		},
		"app DisableKey": func() error { return ret(app.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.KeyId})) },
		"app CreateKey":  func() error { return ret(app.CreateKey(ctx, &kms.CreateKeyInput{})) },
		"admin Encrypt": func() error {
			return ret(adm.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x"), EncryptionContext: ec}))
		},
		"admin Decrypt": func() error {
			return ret(adm.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: ec}))
		},
		"admin GenerateDataKey": func() error {
			return ret(adm.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256}))
		},
		"admin ScheduleKeyDeletion": func() error {
			return ret(adm.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)}))
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s succeeded, want AccessDeniedException", name)
		} else if code, _ := apiErr(t, err); code != "AccessDeniedException" {
			t.Errorf("%s = %v, want AccessDeniedException", name, err)
		}
	}
	// In order: DisableKey must come before EnableKey, so not a map.
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"admin DescribeKey", func() error { return ret(adm.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})) }},
		{"admin DisableKey", func() error { return ret(adm.DisableKey(ctx, &kms.DisableKeyInput{KeyId: other.KeyId})) }},
		{"admin EnableKey", func() error { return ret(adm.EnableKey(ctx, &kms.EnableKeyInput{KeyId: other.KeyId})) }},
		{"admin CreateKey", func() error { return ret(adm.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("by admin")})) }},
		{"admin ListKeys", func() error { return ret(adm.ListKeys(ctx, &kms.ListKeysInput{})) }},
		{"admin TagResource", func() error {
			return ret(adm.TagResource(ctx, &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{{TagKey: aws.String("o"), TagValue: aws.String("a")}}}))
		}},
	} {
		if err := c.call(); err != nil {
			t.Errorf("%s = %v, want success", c.name, err)
		}
	}

	// A key policy statement that denies decryption outside business
	// context overrides the identity policies of everyone, root included.
	deny := `{"Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"NoDecryptWithoutTenant","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"Null":{"kms:EncryptionContext:tenant":"true"}}}]}`
	must[*kms.PutKeyPolicyOutput](t)(adm.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(deny), PolicyName: aws.String("default")}))
	got := must[*kms.GetKeyPolicyOutput](t)(e.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: k.KeyId, PolicyName: aws.String("default")}))
	if *got.Policy != deny || *got.PolicyName != "default" {
		t.Errorf("GetKeyPolicy = %q", *got.Policy)
	}
	names := must[*kms.ListKeyPoliciesOutput](t)(e.kms.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: k.KeyId}))
	if len(names.PolicyNames) != 1 || names.PolicyNames[0] != "default" {
		t.Errorf("ListKeyPolicies = %v", names.PolicyNames)
	}
	plain := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})).CiphertextBlob
	_, err = e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: plain})
	wantErr(t, err, "AccessDeniedException", "with an explicit deny in a resource-based policy")
	must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, EncryptionContext: ec}))

	// The lock-out safety check refuses a policy that would lock the caller out.
	_, err = e.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: other.KeyId, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/app"},"Action":"kms:*","Resource":"*"}]}`)})
	wantErr(t, err, "MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.")
	_, err = e.kms.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*"}]}`)})
	wantErr(t, err, "MalformedPolicyDocumentException", "")

	// A grant lets the application decrypt one tenant's data, immediately,
	// and stops when retired.
	g := must[*kms.CreateGrantOutput](t)(e.kms.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: other.KeyId, GranteePrincipal: aws.String("arn:aws:iam::" + testAccount + ":user/app"), RetiringPrincipal: aws.String("arn:aws:iam::" + testAccount + ":user/admin"),
		Operations:  []types.GrantOperation{types.GrantOperationDecrypt, types.GrantOperationGenerateDataKey},
		Constraints: &types.GrantConstraints{EncryptionContextSubset: ec}, Name: aws.String("acme-app"),
	}))
	dk := must[*kms.GenerateDataKeyOutput](t)(app.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: other.KeyId, KeySpec: types.DataKeySpecAes256,
		EncryptionContext: map[string]string{"tenant": "acme", "file": "1"}, GrantTokens: []string{*g.GrantToken}}))
	must[*kms.DecryptOutput](t)(app.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "acme", "file": "1"}}))
	_, err = app.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: other.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: map[string]string{"tenant": "other"}})
	wantErr(t, err, "AccessDeniedException", "")
	grants := must[*kms.ListGrantsOutput](t)(e.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: other.KeyId}))
	if len(grants.Grants) != 1 || *grants.Grants[0].GrantId != *g.GrantId || *grants.Grants[0].Name != "acme-app" || len(grants.Grants[0].Operations) != 2 {
		t.Errorf("ListGrants = %+v", grants.Grants)
	}
	ret := must[*kms.ListRetirableGrantsOutput](t)(adm.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String("arn:aws:iam::" + testAccount + ":user/admin")}))
	if len(ret.Grants) != 1 {
		t.Errorf("ListRetirableGrants = %+v", ret.Grants)
	}
	must[*kms.RetireGrantOutput](t)(adm.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken}))
	_, err = app.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "acme", "file": "1"}})
	wantErr(t, err, "AccessDeniedException", "")
	_, err = e.kms.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: aws.String("bogus")})
	wantErr(t, err, "InvalidGrantTokenException", "")
}

// TestCrossAccount shares a key with a second account, created with
// `keyward admin create-account` on the stopped server's data directory.
func TestCrossAccount(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	k := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	e.stop()
	credsB := filepath.Join(t.TempDir(), "credentials-b")
	out, err := exec.Command(binary(t), "admin", "create-account", "--data-dir", dir, "--account-id", "444455556666", "--credentials-file", credsB).CombinedOutput()
	if err != nil {
		t.Fatalf("keyward admin create-account: %v\n%s", err, out)
	}
	e = start(t, dir)
	bAkid, bSecret := readCredentials(t, credsB)
	bRoot := newIAM(e.url, bAkid, bSecret, "")
	uKey, uSecret := userWithKey(t, bRoot, "worker")
	worker := newKMSWithToken(e.url, uKey, uSecret, "")
	bRootKMS := newKMSWithToken(e.url, bAkid, bSecret, "")

	// Neither side alone is enough.
	_, err = bRootKMS.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("x")})
	wantErr(t, err, "AccessDeniedException", "")
	share := `{"Version":"2012-10-17","Statement":[
 {"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"Share","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}`
	must[*kms.PutKeyPolicyOutput](t)(e.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k.KeyId, Policy: aws.String(share)}))
	_, err = worker.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("x")})
	wantErr(t, err, "AccessDeniedException", "")
	must[*iam.PutUserPolicyOutput](t)(bRoot.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("worker"), PolicyName: aws.String("use-shared"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"` + *k.Arn + `"}]}`)}))
	enc := must[*kms.EncryptOutput](t)(worker.Encrypt(ctx, &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("shared")}))
	dec := must[*kms.DecryptOutput](t)(worker.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}))
	if string(dec.Plaintext) != "shared" || *dec.KeyId != *k.Arn {
		t.Errorf("cross-account Decrypt = %q under %s", dec.Plaintext, *dec.KeyId)
	}
	// The other account's root may describe it (key policy + root's full IAM access), but never manage it.
	must[*kms.DescribeKeyOutput](t)(bRootKMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.Arn}))
	_, err = bRootKMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.Arn})
	wantErr(t, err, "AccessDeniedException", "")
	// By bare key id the key is looked up in the caller's own account.
	_, err = worker.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "NotFoundException", "arn:aws:kms:us-east-1:444455556666:key/")
	// Account B's ListKeys shows none of A's keys.
	l := must[*kms.ListKeysOutput](t)(bRootKMS.ListKeys(ctx, &kms.ListKeysInput{}))
	for _, x := range l.Keys {
		if strings.Contains(*x.KeyArn, testAccount) {
			t.Errorf("account B lists A's key %s", *x.KeyArn)
		}
	}
}
