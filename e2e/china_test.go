package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyward/keyward/internal/server"
)

const chinaRegion = "cn-north-1"

// startChina runs a server that answers for Beijing, cn-north-1, in the
// aws-cn partition.
func startChina(t *testing.T) *env {
	t.Helper()
	return startWith(t, "", func(c *server.Config) { c.Region = chinaRegion })
}

// TestChinaRegionPartition checks that a server in a China Region names
// everything in the aws-cn partition, as AWS does there: key and alias ARNs,
// the default key policy, grant issuers, and IAM and STS principals; and
// that ARNs of the aws partition do not name its keys.
func TestChinaRegionPartition(t *testing.T) {
	e := startChina(t)
	const keyPrefix = "arn:aws-cn:kms:cn-north-1:" + testAccount + ":key/"
	const root = "arn:aws-cn:iam::" + testAccount + ":root"

	m := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	if !strings.HasPrefix(*m.Arn, keyPrefix) || *m.Arn != keyPrefix+*m.KeyId {
		t.Fatalf("CreateKey Arn = %s, want %s<id>", *m.Arn, keyPrefix)
	}
	pol := must[*kms.GetKeyPolicyOutput](t)(e.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: m.KeyId}))
	if !strings.Contains(*pol.Policy, `"AWS" : "`+root+`"`) {
		t.Errorf("default key policy does not name %s:\n%s", root, *pol.Policy)
	}

	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/beijing"), TargetKeyId: m.KeyId}))
	aliases := must[*kms.ListAliasesOutput](t)(e.kms.ListAliases(ctx, &kms.ListAliasesInput{KeyId: m.KeyId}))
	if len(aliases.Aliases) != 1 || *aliases.Aliases[0].AliasArn != "arn:aws-cn:kms:cn-north-1:"+testAccount+":alias/beijing" {
		t.Errorf("ListAliases = %+v", aliases.Aliases)
	}

	// The key ARN and the alias ARN of the aws-cn partition work; the same
	// ARN in the aws partition names nothing.
	for _, id := range []string{*m.Arn, "arn:aws-cn:kms:cn-north-1:" + testAccount + ":alias/beijing"} {
		enc := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")}))
		if *enc.KeyId != *m.Arn {
			t.Errorf("Encrypt(%s).KeyId = %s, want %s", id, *enc.KeyId, *m.Arn)
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}))
		if *dec.KeyId != *m.Arn || string(dec.Plaintext) != "x" {
			t.Errorf("Decrypt = %s %q", *dec.KeyId, dec.Plaintext)
		}
	}
	wrong := "arn:aws:kms:cn-north-1:" + testAccount + ":key/" + *m.KeyId
	_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(wrong), Plaintext: []byte("x")})
	if err == nil {
		t.Errorf("Encrypt with %s (aws partition) succeeded on a cn-north-1 server", wrong)
	}

	g := must[*kms.CreateGrantOutput](t)(e.kms.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: m.KeyId, GranteePrincipal: aws.String(root), Operations: []types.GrantOperation{"Decrypt"}}))
	grants := must[*kms.ListGrantsOutput](t)(e.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: m.KeyId}))
	if len(grants.Grants) != 1 || *grants.Grants[0].GrantId != *g.GrantId || *grants.Grants[0].IssuingAccount != root || *grants.Grants[0].KeyId != *m.Arn {
		t.Errorf("ListGrants = %+v", grants.Grants)
	}

	// IAM and STS principals are in aws-cn too.
	creds := credentials.NewStaticCredentialsProvider(e.akid, e.secret, "")
	st := sts.New(sts.Options{Region: chinaRegion, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1, Credentials: creds})
	who := must[*sts.GetCallerIdentityOutput](t)(st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *who.Arn != root {
		t.Errorf("GetCallerIdentity Arn = %s, want %s", *who.Arn, root)
	}
	ic := iam.New(iam.Options{Region: chinaRegion, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1, Credentials: creds})
	u := must[*iam.CreateUserOutput](t)(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	if *u.User.Arn != "arn:aws-cn:iam::"+testAccount+":user/alice" {
		t.Errorf("CreateUser Arn = %s", *u.User.Arn)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + root + `"},"Action":"sts:AssumeRole"}]}`
	r := must[*iam.CreateRoleOutput](t)(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ops"), AssumeRolePolicyDocument: aws.String(trust)}))
	if *r.Role.Arn != "arn:aws-cn:iam::"+testAccount+":role/ops" {
		t.Fatalf("CreateRole Arn = %s", *r.Role.Arn)
	}
	// Roles are not for root: alice, allowed sts:AssumeRole, takes it.
	must[*iam.PutUserPolicyOutput](t)(ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}))
	ak := must[*iam.CreateAccessKeyOutput](t)(ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})).AccessKey
	st = sts.New(sts.Options{Region: chinaRegion, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(*ak.AccessKeyId, *ak.SecretAccessKey, "")})
	// An aws-partition role ARN does not name the role.
	if _, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/ops"), RoleSessionName: aws.String("s1")}); err == nil {
		t.Error("AssumeRole with an aws-partition role ARN succeeded on a cn-north-1 server")
	}
	ar := must[*sts.AssumeRoleOutput](t)(st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("s1")}))
	if *ar.AssumedRoleUser.Arn != "arn:aws-cn:sts::"+testAccount+":assumed-role/ops/s1" {
		t.Errorf("AssumeRole Arn = %s", *ar.AssumedRoleUser.Arn)
	}
}
