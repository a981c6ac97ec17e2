package e2e

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func newIAM(url, akid, secret, token string) *iam.Client {
	return iam.New(iam.Options{
		Region: testRegion, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
	})
}

func newSTS(url, akid, secret, token string) *sts.Client {
	return sts.New(sts.Options{
		Region: testRegion, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
	})
}

func newKMSWithToken(url, akid, secret, token string) *kms.Client {
	return kms.New(kms.Options{
		Region: testRegion, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
	})
}

// wantStatus checks the HTTP status of a failed call.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v carries no HTTP response", err)
	}
	if re.HTTPStatusCode() != status {
		t.Errorf("HTTP status %d, want %d (%v)", re.HTTPStatusCode(), status, err)
	}
}

// userWithKey creates a user with an access key through root.
func userWithKey(t *testing.T, root *iam.Client, name string) (akid, secret string) {
	t.Helper()
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
}

// TestIAMUsersAndKeys drives the IAM Query API with aws-sdk-go-v2: users,
// access keys, inline policies, errors with AWS's codes, messages and
// statuses, and keys that stop working the moment they are disabled.
func TestIAMUsersAndKeys(t *testing.T) {
	e := start(t, "")
	root := newIAM(e.url, e.akid, e.secret, "")

	u := must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{
		UserName: aws.String("alice"), Path: aws.String("/eng/"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("blue")}},
	}))
	if *u.User.Arn != "arn:aws:iam::"+testAccount+":user/eng/alice" || !strings.HasPrefix(*u.User.UserId, "AIDA") || len(*u.User.UserId) != 21 ||
		*u.User.Path != "/eng/" || u.User.CreateDate == nil || len(u.User.Tags) != 1 {
		t.Fatalf("CreateUser = %+v", u.User)
	}
	k := must[*iam.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")}))
	if !strings.HasPrefix(*k.AccessKey.AccessKeyId, "AKIA") || len(*k.AccessKey.SecretAccessKey) != 40 || k.AccessKey.Status != iamtypes.StatusTypeActive {
		t.Fatalf("CreateAccessKey = %+v", k.AccessKey)
	}
	aliceSTS := newSTS(e.url, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	id := must[*sts.GetCallerIdentityOutput](t)(aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != *u.User.Arn || *id.UserId != *u.User.UserId || *id.Account != testAccount {
		t.Errorf("GetCallerIdentity(alice) = %s %s %s", *id.Arn, *id.UserId, *id.Account)
	}
	rootID := must[*sts.GetCallerIdentityOutput](t)(newSTS(e.url, e.akid, e.secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *rootID.Arn != "arn:aws:iam::"+testAccount+":root" || *rootID.UserId != testAccount {
		t.Errorf("GetCallerIdentity(root) = %s %s", *rootID.Arn, *rootID.UserId)
	}
	me := must[*iam.GetUserOutput](t)(root.GetUser(ctx, &iam.GetUserInput{}))
	if *me.User.Arn != *rootID.Arn || me.User.UserName != nil {
		t.Errorf("GetUser() as root = %+v", me.User)
	}

	alice := newIAM(e.url, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	errCases := []struct {
		name   string
		err    error
		code   string
		msg    string
		status int
	}{
		{"exists", ret(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Alice")})), "EntityAlreadyExists", "User with name Alice already exists.", 409},
		{"no such user", ret(root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("bob")})), "NoSuchEntity", "The user with name bob cannot be found.", 404},
		{"keys first", ret(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})), "DeleteConflict", "Cannot delete entity, must delete access keys first.", 409},
		{"malformed", ret(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("p"),
			PolicyDocument: aws.String(`{"Statement":{"Effect":"Permit","Action":"iam:*","Resource":"*"}}`)})), "MalformedPolicyDocument", "Effect", 400},
		{"no permission", ret(alice.ListUsers(ctx, &iam.ListUsersInput{})), "AccessDenied",
			"User: arn:aws:iam::" + testAccount + ":user/eng/alice is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::" + testAccount + ":user/ because no identity-based policy allows the iam:ListUsers action", 403},
		{"invalid name", ret(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("a/b"), AssumeRolePolicyDocument: aws.String("{}")})), "ValidationError",
			`Value 'a/b' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`, 400},
		{"quota", ret(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("big"),
			PolicyDocument: aws.String(`{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::` + testAccount + `:user/` + strings.Repeat("x", 2048) + `"}}`)})),
			"LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user alice", 409},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, c.err, c.code, c.msg)
			wantStatus(t, c.err, c.status)
		})
	}

	// An inline policy lets alice list, and GetUserPolicy returns the
	// document URL-encoded, as IAM does.
	doc := `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*"], "Resource": "*"}}`
	must[*iam.PutUserPolicyOutput](t)(root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read"), PolicyDocument: aws.String(doc)}))
	gp := must[*iam.GetUserPolicyOutput](t)(root.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read")}))
	if dec, err := url.QueryUnescape(*gp.PolicyDocument); err != nil || dec != doc || strings.ContainsAny(*gp.PolicyDocument, " {\"") {
		t.Errorf("GetUserPolicy document = %q", *gp.PolicyDocument)
	}
	names := must[*iam.ListUserPoliciesOutput](t)(root.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("alice")}))
	if len(names.PolicyNames) != 1 || names.PolicyNames[0] != "read" {
		t.Errorf("ListUserPolicies = %v", names.PolicyNames)
	}
	for _, n := range []string{"bob", "carol", "dave"} {
		must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(n)}))
	}
	// The SDK's paginator follows Marker and IsTruncated.
	var all []string
	pages := 0
	for p := iam.NewListUsersPaginator(alice, &iam.ListUsersInput{MaxItems: aws.Int32(1)}); p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListUsers page %d: %v", pages, err)
		}
		for _, u := range out.Users {
			all = append(all, *u.UserName)
		}
	}
	if strings.Join(all, ",") != "alice,bob,carol,dave" || pages != 4 {
		t.Errorf("ListUsers pages = %d, users %v", pages, all)
	}
	wantErr(t, ret(alice.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("eve")})), "AccessDenied", "iam:CreateUser on resource: arn:aws:iam::"+testAccount+":user/eve")

	// Tags.
	must[*iam.TagUserOutput](t)(root.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("alice"), Tags: []iamtypes.Tag{{Key: aws.String("Team"), Value: aws.String("red")}, {Key: aws.String("x"), Value: aws.String("1")}}}))
	must[*iam.UntagUserOutput](t)(root.UntagUser(ctx, &iam.UntagUserInput{UserName: aws.String("alice"), TagKeys: []string{"X"}}))
	tags := must[*iam.ListUserTagsOutput](t)(root.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice")}))
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "Team" || *tags.Tags[0].Value != "red" {
		t.Errorf("ListUserTags = %+v", tags.Tags)
	}

	// A disabled key stops working at once; a re-enabled one works again.
	must[*iam.UpdateAccessKeyOutput](t)(root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeInactive}))
	_, err := aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
	wantStatus(t, err, 403)
	_, err = newKMSWithToken(e.url, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "").ListKeys(ctx, &kms.ListKeysInput{})
	wantErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	must[*iam.UpdateAccessKeyOutput](t)(root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKey.AccessKeyId, Status: iamtypes.StatusTypeActive}))
	must[*sts.GetCallerIdentityOutput](t)(aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	keys := must[*iam.ListAccessKeysOutput](t)(alice.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}))
	if len(keys.AccessKeyMetadata) != 1 || *keys.AccessKeyMetadata[0].AccessKeyId != *k.AccessKey.AccessKeyId {
		t.Errorf("ListAccessKeys() as alice = %+v", keys.AccessKeyMetadata)
	}

	// Tear down in the order IAM demands.
	must[*iam.DeleteAccessKeyOutput](t)(root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKey.AccessKeyId}))
	wantErr(t, ret(aliceSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})), "InvalidClientTokenId", "")
	wantErr(t, ret(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})), "DeleteConflict", "Cannot delete entity, must delete policies first.")
	must[*iam.DeleteUserPolicyOutput](t)(root.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read")}))
	must[*iam.DeleteUserOutput](t)(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")}))
	wantErr(t, ret(root.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")})), "NoSuchEntity", "")
}

func ret[T any](_ T, err error) error { return err }

// TestIAMAssumeRole: a role whose trust policy names one user; that user
// gets temporary credentials, another does not; the credentials work with
// their session token only, through STS and KMS, under the role's policies.
// (Expiry is tested with a moved clock in internal/awsapi's
// TestQueryExpiredCredentials.)
func TestIAMAssumeRole(t *testing.T) {
	e := start(t, "")
	root := newIAM(e.url, e.akid, e.secret, "")
	aliceID, aliceSecret := userWithKey(t, root, "alice")
	malloryID, mallorySecret := userWithKey(t, root, "mallory")

	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/alice"},"Action":["sts:AssumeRole","sts:TagSession"]}}`
	wantErr(t, ret(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"),
		AssumeRolePolicyDocument: aws.String(`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`)})), "MalformedPolicyDocument", "Principal")
	role := must[*iam.CreateRoleOutput](t)(root.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200),
		Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
	})).Role
	if *role.Arn != "arn:aws:iam::"+testAccount+":role/app" || !strings.HasPrefix(*role.RoleId, "AROA") || *role.MaxSessionDuration != 7200 {
		t.Fatalf("CreateRole = %+v", role)
	}
	if dec, _ := url.QueryUnescape(*role.AssumeRolePolicyDocument); dec != trust {
		t.Errorf("AssumeRolePolicyDocument = %q", *role.AssumeRolePolicyDocument)
	}
	wantErr(t, ret(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("APP"), AssumeRolePolicyDocument: aws.String(trust)})), "EntityAlreadyExists", "Role with name APP already exists.")

	aliceSTS := newSTS(e.url, aliceID, aliceSecret, "")
	out := must[*sts.AssumeRoleOutput](t)(aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: role.Arn, RoleSessionName: aws.String("job-1"), DurationSeconds: aws.Int32(900),
		Tags: []ststypes.Tag{{Key: aws.String("run"), Value: aws.String("7")}},
	}))
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || *out.AssumedRoleUser.Arn != "arn:aws:sts::"+testAccount+":assumed-role/app/job-1" ||
		*out.AssumedRoleUser.AssumedRoleId != *role.RoleId+":job-1" || c.SessionToken == nil || c.Expiration == nil {
		t.Fatalf("AssumeRole = %+v %+v", out.AssumedRoleUser, c)
	}
	sess := newSTS(e.url, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	id := must[*sts.GetCallerIdentityOutput](t)(sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *id.Arn != *out.AssumedRoleUser.Arn || *id.UserId != *out.AssumedRoleUser.AssumedRoleId || *id.Account != testAccount {
		t.Errorf("GetCallerIdentity(session) = %s %s %s", *id.Arn, *id.UserId, *id.Account)
	}

	// Another user is refused, in AWS's words.
	_, err := newSTS(e.url, malloryID, mallorySecret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: aws.String("x1")})
	wantErr(t, err, "AccessDenied", "User: arn:aws:iam::"+testAccount+":user/mallory is not authorized to perform: sts:AssumeRole on resource: "+*role.Arn)
	wantStatus(t, err, 403)
	_, err = newSTS(e.url, e.akid, e.secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: aws.String("x1")})
	wantErr(t, err, "AccessDenied", "Roles may not be assumed by root accounts.")
	_, err = aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: aws.String("x1"), DurationSeconds: aws.Int32(7201)})
	wantErr(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	_, err = aliceSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/none"), RoleSessionName: aws.String("x1")})
	wantErr(t, err, "AccessDenied", "on resource: arn:aws:iam::"+testAccount+":role/none")

	// The session token must come with the temporary key, exactly; and a
	// long-term key must come without one.
	for _, tc := range []struct {
		name, akid, secret, token string
	}{
		{"wrong token", *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken + "A"},
		{"no token", *c.AccessKeyId, *c.SecretAccessKey, ""},
		{"another session's token", *c.AccessKeyId, *c.SecretAccessKey, strings.ToUpper(*c.SessionToken)},
		{"token on a long-term key", aliceID, aliceSecret, *c.SessionToken},
	} {
		_, err := newSTS(e.url, tc.akid, tc.secret, tc.token).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantErr(t, err, "InvalidClientTokenId", "The security token included in the request is invalid.")
		_, err = newKMSWithToken(e.url, tc.akid, tc.secret, tc.token).ListKeys(ctx, &kms.ListKeysInput{})
		wantErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	}

	// KMS sees the session with the role's policies, and sees a change to
	// them at once.
	sessKMS := newKMSWithToken(e.url, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	_, err = sessKMS.ListKeys(ctx, &kms.ListKeysInput{})
	wantErr(t, err, "AccessDeniedException", "assumed-role/app/job-1 is not authorized to perform: kms:ListKeys")
	must[*iam.PutRolePolicyOutput](t)(root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:ListKeys","Resource":"*"}}`)}))
	must[*kms.ListKeysOutput](t)(sessKMS.ListKeys(ctx, &kms.ListKeysInput{}))
	rp := must[*iam.ListRolePoliciesOutput](t)(root.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("app")}))
	if len(rp.PolicyNames) != 1 {
		t.Errorf("ListRolePolicies = %v", rp.PolicyNames)
	}
	wantErr(t, ret(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")})), "DeleteConflict", "Cannot delete entity, must delete policies first.")
	must[*iam.DeleteRolePolicyOutput](t)(root.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("list")}))
	wantErr(t, ret(sessKMS.ListKeys(ctx, &kms.ListKeysInput{})), "AccessDeniedException", "")

	// Deleting the role ends its sessions.
	must[*iam.DeleteRoleOutput](t)(root.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")}))
	wantErr(t, ret(sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})), "InvalidClientTokenId", "")
}
