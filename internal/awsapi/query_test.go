package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/sigv4"
	"github.com/keyward/keyward/internal/store/memory"
)

// queryServer is a handler behind a real listener, with the directory's
// clock under the test's control.
type queryServer struct {
	url          string
	akid, secret string
	mu           sync.Mutex
	now          time.Time
}

func (q *queryServer) clock() time.Time { q.mu.Lock(); defer q.mu.Unlock(); return q.now }
func (q *queryServer) advance(d time.Duration) {
	q.mu.Lock()
	q.now = q.now.Add(d)
	q.mu.Unlock()
}

func newQueryServer(t *testing.T, region string) *queryServer {
	t.Helper()
	q := &queryServer{now: time.Now()}
	w, _ := keystore.NewSoft(bytes.Repeat([]byte{2}, 32))
	st := memory.New()
	dir := iam.New(st, w, iam.WithClock(q.clock))
	var err error
	q.akid, q.secret, err = dir.EnsureAccount(context.Background(), "111122223333", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := kms.New(kms.Config{Region: region, Store: st, Wrapper: w})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sigv4.New(SecretLookup(dir), sigv4.Options{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{KMS: svc, Directory: dir, Verifier: v, Audit: testAudit(t)}))
	t.Cleanup(srv.Close)
	q.url = srv.URL
	return q
}

func (q *queryServer) iam(region, akid, secret, token string) *awsiam.Client {
	return awsiam.New(awsiam.Options{Region: region, BaseEndpoint: aws.String(q.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token)})
}

func (q *queryServer) sts(region, akid, secret, token string) *sts.Client {
	return sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(q.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token)})
}

// post sends a Query request signed for region and service.
func (q *queryServer) post(t *testing.T, region, service, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, q.url+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: q.akid, SecretAccessKey: q.secret},
		req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func apiCode(err error) (string, string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}

// TestQueryExpiredCredentials moves the directory's clock past a session's
// expiry: STS, IAM and KMS then refuse its credentials as AWS does.
func TestQueryExpiredCredentials(t *testing.T) {
	ctx := context.Background()
	q := newQueryServer(t, "us-east-1")
	root := q.iam("us-east-1", q.akid, q.secret, "")
	if _, err := root.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	trust := `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}`
	role, err := root.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	alice := q.sts("us-east-1", *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	out, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if d := c.Expiration.Sub(q.clock()); d < 899*time.Second || d > 900*time.Second {
		t.Errorf("Expiration %v is %v from now, want 900s", c.Expiration, d)
	}
	sess := q.sts("us-east-1", *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if id, err := sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil || *id.Arn != "arn:aws:sts::111122223333:assumed-role/app/short" {
		t.Fatalf("GetCallerIdentity(session) = %v, %v", id, err)
	}
	q.advance(901 * time.Second)
	_, err = sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code, msg := apiCode(err); code != "ExpiredToken" || msg != "The security token included in the request is expired" {
		t.Errorf("GetCallerIdentity(expired) = %v, want ExpiredToken", err)
	}
	_, err = q.iam("us-east-1", *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).ListUsers(ctx, &awsiam.ListUsersInput{})
	if code, _ := apiCode(err); code != "ExpiredToken" {
		t.Errorf("ListUsers(expired) = %v, want ExpiredToken", err)
	}
	k2 := awskms.New(awskms.Options{Region: "us-east-1", BaseEndpoint: aws.String(q.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)})
	_, err = k2.ListKeys(ctx, &awskms.ListKeysInput{})
	if code, msg := apiCode(err); code != "ExpiredTokenException" || msg != "The security token included in the request is expired" {
		t.Errorf("kms ListKeys(expired) = %v, want ExpiredTokenException", err)
	}
}

// TestQueryRegions: SDKs sign IAM and STS for their configured region when
// given an endpoint; us-east-1, where AWS's global endpoints sign, is
// accepted too; any other region is refused as AWS refuses it.
func TestQueryRegions(t *testing.T) {
	ctx := context.Background()
	q := newQueryServer(t, "eu-west-1")
	if _, err := q.iam("eu-west-1", q.akid, q.secret, "").ListUsers(ctx, &awsiam.ListUsersInput{}); err != nil {
		t.Errorf("ListUsers signed for eu-west-1: %v", err)
	}
	if _, err := q.sts("us-east-1", q.akid, q.secret, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity signed for us-east-1: %v", err)
	}
	_, err := q.iam("ap-south-1", q.akid, q.secret, "").ListUsers(ctx, &awsiam.ListUsersInput{})
	if code, msg := apiCode(err); code != "SignatureDoesNotMatch" || !strings.Contains(msg, "Credential should be scoped to a valid region, not 'ap-south-1'.") {
		t.Errorf("ListUsers signed for ap-south-1 = %v", err)
	}
	// KMS stays strict: only the server's region.
	_, err = awskms.New(awskms.Options{Region: "us-east-1", BaseEndpoint: aws.String(q.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(q.akid, q.secret, "")}).ListKeys(ctx, &awskms.ListKeysInput{})
	if code, _ := apiCode(err); code != "InvalidSignatureException" {
		t.Errorf("kms ListKeys signed for us-east-1 on an eu-west-1 server = %v", err)
	}
}

// TestQueryWireShapes checks whole responses byte for byte against the
// shapes IAM and STS send.
func TestQueryWireShapes(t *testing.T) {
	q := newQueryServer(t, "us-east-1")
	cases := []struct {
		service, body string
		status        int
		want          string // with REQID for the request id
	}{
		{"iam", "Action=GetUser&Version=2010-05-08&UserName=bob", 404,
			`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name bob cannot be found.</Message></Error><RequestId>REQID</RequestId></ErrorResponse>`},
		{"iam", "Action=Frob&Version=2010-05-08", 400,
			`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation Frob for version 2010-05-08</Message></Error><RequestId>REQID</RequestId></ErrorResponse>`},
		{"sts", "Action=GetCallerIdentity&Version=2011-06-15", 200,
			`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:root</Arn><UserId>111122223333</UserId><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>REQID</RequestId></ResponseMetadata></GetCallerIdentityResponse>`},
		{"iam", "Action=ListUsers&Version=2010-05-08", 200,
			`<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult><Users></Users><IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>REQID</RequestId></ResponseMetadata></ListUsersResponse>`},
		{"iam", "Action=CreateUser&Version=2010-05-08&UserName=a%20b", 400,
			`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+</Message></Error><RequestId>REQID</RequestId></ErrorResponse>`},
		// An STS action signed for IAM: the scope names the wrong service.
		{"iam", "Action=GetCallerIdentity&Version=2011-06-15", 403,
			`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to correct service: 'sts'. </Message></Error><RequestId>REQID</RequestId></ErrorResponse>`},
	}
	for _, c := range cases {
		status, body, h := q.post(t, "us-east-1", c.service, c.body)
		want := strings.ReplaceAll(c.want, "REQID", h.Get("x-amzn-RequestId"))
		if status != c.status || body != want || h.Get("Content-Type") != "text/xml" {
			t.Errorf("%s %s = %d %s\nwant %d %s", c.service, c.body, status, body, c.status, want)
		}
	}
	// Unsigned: MissingAuthenticationToken, 403, in the namespace of the
	// service the Version names.
	resp, err := http.Post(q.url+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message>`) {
		t.Errorf("unsigned GetCallerIdentity = %d %s", resp.StatusCode, b)
	}
}

// TestQueryPresigned: a presigned GetCallerIdentity URL, the form that
// Vault's and Kubernetes' AWS authenticators send, answers with the signer.
func TestQueryPresigned(t *testing.T) {
	q := newQueryServer(t, "us-east-1")
	r, err := sts.NewPresignClient(q.sts("us-east-1", q.akid, q.secret, "")).PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Arn>arn:aws:iam::111122223333:root</Arn>") {
		t.Errorf("GET %s = %d %s", r.Method, resp.StatusCode, b)
	}
}
