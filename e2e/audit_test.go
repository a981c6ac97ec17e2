package e2e

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/server"
)

func newCloudTrail(url, akid, secret string) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region: testRegion, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""),
	})
}

// trail returns every audit record of the server's data directory.
func trail(t *testing.T, dataDir string) []*audit.Event {
	t.Helper()
	var evs []*audit.Event
	err := audit.Query(server.DefaultAuditDir(dataDir), audit.Filter{}, func(e *audit.Event) bool {
		evs = append(evs, e)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func auditPublicKey(t *testing.T, dataDir string) any {
	t.Helper()
	data, err := os.ReadFile(server.AuditPublicKeyFile(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s is not PEM", server.AuditPublicKeyFile(dataDir))
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func names(evs []*audit.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.EventName+"/"+cmp.Or(e.ErrorCode, "OK"))
	}
	return s
}

// TestAuditOneRecordPerRequest sends allowed, failed and unauthenticated
// requests, and requests carrying secrets, and checks that each leaves
// exactly one record and that no secret reaches the audit files.
func TestAuditOneRecordPerRequest(t *testing.T) {
	e := start(t, "")
	// Recognizable secrets, raw and base64, to look for in the files.
	plaintext := []byte("PLAINTEXT-CANARY-7f3a9c1e-do-not-log")
	material := []byte("KEY-MATERIAL-CANARY-5b2d8e4f-do-not-log")
	token := []byte("IMPORT-TOKEN-CANARY-9e1c7a3b-do-not-log")
	secrets := map[string][]byte{"plaintext": plaintext, "key material": material, "import token": token, "secret access key": []byte(e.secret)}

	key := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("audited")}))
	keyID := *key.KeyMetadata.KeyId
	enc := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plaintext,
		EncryptionContext: map[string]string{"purpose": "audit-test"}}))
	secrets["ciphertext"] = enc.CiphertextBlob
	dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "audit-test"}}))
	if !bytes.Equal(dec.Plaintext, plaintext) {
		t.Fatal("Decrypt did not round-trip")
	}
	dk := must[*kms.GenerateDataKeyOutput](t)(e.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: kmstypes.DataKeySpecAes256}))
	secrets["data key"], secrets["data key ciphertext"] = dk.Plaintext, dk.CiphertextBlob
	dkp := must[*kms.GenerateDataKeyPairOutput](t)(e.kms.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: aws.String(keyID), KeyPairSpec: kmstypes.DataKeyPairSpecEccNistP256}))
	secrets["private key"], secrets["private key ciphertext"] = dkp.PrivateKeyPlaintext, dkp.PrivateKeyCiphertextBlob
	// An ImportKeyMaterial-shaped body: the key is not EXTERNAL, so the
	// call fails, but its body passes through the audit hook all the same.
	body, _ := json.Marshal(map[string]any{"KeyId": keyID, "ImportToken": token, "EncryptedKeyMaterial": material, "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"})
	if st, _ := e.raw("TrentService.ImportKeyMaterial", string(body), nil); st != 400 {
		t.Errorf("ImportKeyMaterial on an AWS_KMS key = %d, want 400", st)
	}
	// A raw Encrypt: the plaintext in base64, as the wire carries it.
	e.raw("TrentService.Encrypt", `{"KeyId":"`+keyID+`","Plaintext":"`+base64.StdEncoding.EncodeToString(plaintext)+`"}`, nil)
	// Failed with an AWS error.
	_, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	wantErr(t, err, "NotFoundException", "alias/missing")
	// Unauthenticated: a wrong secret key, and no signature at all.
	bad := newClient(e.url, e.akid, "not-the-secret-key-0000000000000000000000", testRegion)
	_, err = bad.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plaintext})
	wantErr(t, err, "InvalidSignatureException", "signature")
	if st, _ := rawSigned(t, e.url, "TrentService.ListKeys", `{}`, "", "", testRegion, "kms", time.Now(), nil); st != 400 {
		t.Errorf("unsigned ListKeys = %d, want 400", st)
	}
	// An IAM call whose response carries a secret key.
	root := newIAM(e.url, e.akid, e.secret, "")
	must[*iamsdk.CreateUserOutput](t)(root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("audited-user")}))
	ak := must[*iamsdk.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("audited-user")}))
	secrets["IAM user's secret key"] = []byte(*ak.AccessKey.SecretAccessKey)

	e.stop()
	evs := trail(t, e.dataDir)
	want := []string{"CreateKey/OK", "Encrypt/OK", "Decrypt/OK", "GenerateDataKey/OK", "GenerateDataKeyPair/OK",
		"ImportKeyMaterial/" + evs[min(5, len(evs)-1)].ErrorCode, "Encrypt/OK", "DescribeKey/NotFoundException",
		"Encrypt/InvalidSignatureException", "ListKeys/MissingAuthenticationTokenException", "CreateUser/OK", "CreateAccessKey/OK"}
	if got := names(evs); !slices.Equal(got, want) {
		t.Fatalf("audit records:\n got %v\nwant %v", got, want)
	}
	if evs[5].ErrorCode == "" {
		t.Errorf("ImportKeyMaterial on an AWS_KMS key was recorded as a success")
	}
	keyARN := *key.KeyMetadata.Arn
	for i, ev := range evs[:7] {
		if len(ev.Resources) != 1 || ev.Resources[0].ARN != keyARN {
			t.Errorf("record %d (%s) resources = %+v, want %s", i, ev.EventName, ev.Resources, keyARN)
		}
	}
	if len(evs[7].Resources) != 0 { // an alias that names no key
		t.Errorf("DescribeKey of a missing alias: resources = %+v", evs[7].Resources)
	}
	if u := evs[8].UserIdentity; u.AccessKeyID != e.akid || u.ARN != "" || evs[8].RecipientAccountID != testAccount {
		t.Errorf("badly signed request's identity = %+v", u)
	}
	if u := evs[9].UserIdentity; u.AccessKeyID != "" || u.ARN != "" {
		t.Errorf("unsigned request's identity = %+v", u)
	}
	if evs[10].EventSource != "iam.amazonaws.com" || evs[10].UserIdentity.Type != "Root" || !strings.Contains(string(evs[10].RequestParameters), "audited-user") {
		t.Errorf("CreateUser record = %+v", evs[10])
	}
	if string(evs[1].RequestParameters) != `{"keyId":"`+keyID+`","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"purpose":"audit-test"}}` {
		t.Errorf("Encrypt requestParameters = %s", evs[1].RequestParameters)
	}

	files, _ := filepath.Glob(filepath.Join(server.DefaultAuditDir(e.dataDir), "*"))
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	for name, s := range secrets {
		for _, form := range []string{string(s), base64.StdEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s), hex.EncodeToString(s)} {
			if len(form) >= 8 && bytes.Contains(all, []byte(form)) {
				t.Errorf("the %s appears in the audit files", name)
			}
		}
	}
}

// TestAuditRestartVerifyTamper checks that the chain continues across a
// restart, that it verifies, that a byte changed in a record is found and
// named, and that GetKeyLastUsage survives the restart.
func TestAuditRestartVerifyTamper(t *testing.T) {
	e := start(t, "")
	key := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
	keyID := *key.KeyMetadata.KeyId
	enc, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	reqID, _ := awsmiddleware.GetRequestIDMetadata(enc.ResultMetadata)
	lu := must[*kms.GetKeyLastUsageOutput](t)(e.kms.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(keyID)}))
	if lu.KeyLastUsage == nil || lu.KeyLastUsage.Operation != kmstypes.KeyLastUsageTrackingOperationEncrypt || aws.ToString(lu.KeyLastUsage.KmsRequestId) != reqID ||
		lu.KeyLastUsage.Timestamp == nil || time.Since(*lu.KeyLastUsage.Timestamp) > time.Minute || aws.ToString(lu.KeyId) != keyID ||
		lu.TrackingStartDate == nil || lu.KeyCreationDate == nil {
		t.Fatalf("GetKeyLastUsage after Encrypt = %+v %+v", lu, lu.KeyLastUsage)
	}
	eventID := aws.ToString(lu.KeyLastUsage.CloudTrailEventId)
	e.stop()

	e2 := start(t, e.dataDir)
	lu2 := must[*kms.GetKeyLastUsageOutput](t)(e2.kms.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: key.KeyMetadata.Arn}))
	if aws.ToString(lu2.KeyLastUsage.CloudTrailEventId) != eventID {
		t.Errorf("GetKeyLastUsage after a restart names event %s, want %s", aws.ToString(lu2.KeyLastUsage.CloudTrailEventId), eventID)
	}
	other := must[*kms.CreateKeyOutput](t)(e2.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
	lu3 := must[*kms.GetKeyLastUsageOutput](t)(e2.kms.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: other.KeyMetadata.KeyId}))
	if lu3.KeyLastUsage == nil || lu3.KeyLastUsage.Operation != "" || lu3.KeyLastUsage.CloudTrailEventId != nil {
		t.Errorf("GetKeyLastUsage of an unused key = %+v", lu3.KeyLastUsage)
	}
	_, err = e2.kms.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String("alias/x")})
	wantErr(t, err, "NotFoundException", "")
	e2.stop()

	dir := server.DefaultAuditDir(e.dataDir)
	pub := auditPublicKey(t, e.dataDir)
	rep, err := audit.Verify(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(len(trail(t, e.dataDir)))
	if !rep.OK() || rep.Records != n || rep.FirstSeq != 1 || rep.LastSeq != n || rep.SignedSeq != n || rep.Files < 2 {
		t.Fatalf("Verify after a restart = %+v, want OK over records 1..%d in 2 or more files", rep, n)
	}

	// Change one byte of record 3: its eventName "GetKeyLastUsage"
	// becomes "GetKeyLastUsagf".
	logs, _ := filepath.Glob(filepath.Join(dir, "audit-*.log"))
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) < 3 || !bytes.Contains(lines[2], []byte(`"eventName":"GetKeyLastUsage"`)) {
		t.Fatalf("record 3 of %s is not the GetKeyLastUsage: %s", logs[0], lines[min(2, len(lines)-1)])
	}
	lines[2] = bytes.Replace(lines[2], []byte(`"GetKeyLastUsage"`), []byte(`"GetKeyLastUsagf"`), 1)
	if err := os.WriteFile(logs[0], bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err = audit.Verify(dir, pub)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range rep.Problems {
		if p.Kind == audit.Modified && p.Seq == 3 && p.Line == 3 && p.File == filepath.Base(logs[0]) {
			found = true
		}
	}
	if rep.OK() || !found {
		t.Errorf("Verify after changing record 3 = %+v, want a %q problem at record 3, line 3 of %s", rep.Problems, audit.Modified, filepath.Base(logs[0]))
	}
}

// TestLookupEvents drives CloudTrail's LookupEvents with aws-sdk-go-v2.
func TestLookupEvents(t *testing.T) {
	e := start(t, "")
	ct := newCloudTrail(e.url, e.akid, e.secret)
	a := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
	b := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
	for i := 0; i < 5; i++ {
		must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: a.KeyMetadata.KeyId, Plaintext: []byte("a")}))
	}
	for i := 0; i < 2; i++ {
		must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: b.KeyMetadata.Arn, Plaintext: []byte("b")}))
	}
	// Page through with MaxResults 2: seven Encrypts, newest first.
	lookup := func(attr cttypes.LookupAttribute, max int32) []cttypes.Event {
		t.Helper()
		var all []cttypes.Event
		pages := cloudtrail.NewLookupEventsPaginator(ct, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{attr}, MaxResults: aws.Int32(max)})
		for n := 0; pages.HasMorePages(); n++ {
			p, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Events) > int(max) || n > 10 {
				t.Fatalf("page %d has %d events, MaxResults %d", n, len(p.Events), max)
			}
			all = append(all, p.Events...)
		}
		return all
	}
	encrypts := lookup(cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("Encrypt")}, 2)
	var fromTrail []string
	for _, ev := range trail(t, e.dataDir) {
		if ev.EventName == "Encrypt" {
			fromTrail = append([]string{ev.EventID}, fromTrail...) // newest first
		}
	}
	var got []string
	for _, ev := range encrypts {
		got = append(got, aws.ToString(ev.EventId))
		if aws.ToString(ev.EventName) != "Encrypt" || aws.ToString(ev.EventSource) != "kms.amazonaws.com" || aws.ToString(ev.ReadOnly) != "true" ||
			aws.ToString(ev.Username) != "root" || aws.ToString(ev.AccessKeyId) != e.akid || ev.EventTime == nil || len(ev.Resources) != 1 {
			t.Errorf("event %+v", ev)
		}
		var ce audit.Event
		if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &ce); err != nil || ce.EventID != aws.ToString(ev.EventId) || ce.RequestID == "" {
			t.Errorf("CloudTrailEvent %q: %v", aws.ToString(ev.CloudTrailEvent), err)
		}
	}
	if !slices.Equal(got, fromTrail) {
		t.Errorf("LookupEvents EventName=Encrypt, 2 a page = %v, want the trail's %v, newest first", got, fromTrail)
	}
	byKey := lookup(cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyResourceName, AttributeValue: a.KeyMetadata.Arn}, 4)
	var seq []string
	for _, ev := range byKey {
		seq = append(seq, aws.ToString(ev.EventName))
		if aws.ToString(ev.Resources[0].ResourceName) != *a.KeyMetadata.Arn || aws.ToString(ev.Resources[0].ResourceType) != "AWS::KMS::Key" {
			t.Errorf("ResourceName lookup returned %+v", ev.Resources)
		}
	}
	if want := []string{"Encrypt", "Encrypt", "Encrypt", "Encrypt", "Encrypt", "CreateKey"}; !slices.Equal(seq, want) {
		t.Errorf("LookupEvents ResourceName=key A = %v, want %v", seq, want)
	}

	// ReadOnly=false finds the writes: Encrypt, like every cryptographic
	// operation, is read-only as AWS KMS logs it.
	var writes []string
	for _, ev := range lookup(cttypes.LookupAttribute{AttributeKey: cttypes.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false")}, 50) {
		writes = append(writes, aws.ToString(ev.EventName))
	}
	if want := []string{"CreateKey", "CreateKey"}; !slices.Equal(writes, want) {
		t.Errorf("LookupEvents ReadOnly=false = %v, want %v", writes, want)
	}

	// AWS takes one lookup attribute at most.
	_, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("Encrypt")},
		{AttributeKey: cttypes.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false")}}})
	wantErr(t, err, "InvalidLookupAttributesException", "")
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(51)})
	wantErr(t, err, "InvalidMaxResultsException", "")
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{NextToken: aws.String("bm9wZQ")})
	wantErr(t, err, "InvalidNextTokenException", "")
	now := time.Now()
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{StartTime: aws.Time(now), EndTime: aws.Time(now.Add(-time.Hour))})
	wantErr(t, err, "InvalidTimeRangeException", "")
	_, err = ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EventCategory: cttypes.EventCategory("management")})
	wantErr(t, err, "InvalidEventCategoryException", "")
	// Insights events are the only category there is, and Keyward makes
	// none: an empty page, not the management events.
	if out, err := ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EventCategory: cttypes.EventCategoryInsight}); err != nil || len(out.Events) != 0 || out.NextToken != nil {
		t.Errorf("LookupEvents EventCategory=insight = %+v, %v; want no events", out, err)
	}
	// The rest of the CloudTrail API is known but not built.
	_, err = ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	wantErr(t, err, "UnsupportedOperationException", "Operation DescribeTrails is not supported by this server")
	_, err = ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("t"), S3BucketName: aws.String("secret-bucket")})
	wantErr(t, err, "UnsupportedOperationException", "Operation CreateTrail is not supported by this server")
	// Both are recorded, read-only as CloudTrail logs them, without their
	// parameters.
	for _, ev := range trail(t, e.dataDir) {
		if ev.EventName != "DescribeTrails" && ev.EventName != "CreateTrail" {
			continue
		}
		if ev.EventSource != "cloudtrail.amazonaws.com" || ev.ErrorCode != "UnsupportedOperationException" ||
			ev.ReadOnly != (ev.EventName == "DescribeTrails") || (len(ev.RequestParameters) > 0 && string(ev.RequestParameters) != "null") {
			t.Errorf("%s recorded as %+v", ev.EventName, ev)
		}
	}
	// A time window that ends before anything happened is empty.
	old := must[*cloudtrail.LookupEventsOutput](t)(ct.LookupEvents(ctx, &cloudtrail.LookupEventsInput{EndTime: aws.Time(time.Now().Add(-time.Hour))}))
	if len(old.Events) != 0 {
		t.Errorf("LookupEvents before the server existed = %d events", len(old.Events))
	}

	// An IAM user needs an identity policy allowing cloudtrail:LookupEvents.
	root := newIAM(e.url, e.akid, e.secret, "")
	must[*iamsdk.CreateUserOutput](t)(root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("auditor")}))
	k := must[*iamsdk.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("auditor")}))
	userCT := newCloudTrail(e.url, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey)
	_, err = userCT.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	wantErr(t, err, "AccessDeniedException", "cloudtrail:LookupEvents")
	must[*iamsdk.PutUserPolicyOutput](t)(root.PutUserPolicy(ctx, &iamsdk.PutUserPolicyInput{UserName: aws.String("auditor"), PolicyName: aws.String("read-trail"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}`)}))
	mine := must[*cloudtrail.LookupEventsOutput](t)(userCT.LookupEvents(ctx, &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(1),
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyUsername, AttributeValue: aws.String("auditor")}}}))
	if len(mine.Events) != 1 || aws.ToString(mine.Events[0].EventName) != "LookupEvents" || aws.ToString(mine.Events[0].EventSource) != "cloudtrail.amazonaws.com" {
		t.Errorf("the auditor's newest event = %+v, want its denied LookupEvents", mine.Events)
	} else if !strings.Contains(aws.ToString(mine.Events[0].CloudTrailEvent), `"errorCode":"AccessDeniedException"`) {
		t.Errorf("the denied LookupEvents was recorded as %s", aws.ToString(mine.Events[0].CloudTrailEvent))
	}
}

// TestAuditServiceEventAndMetrics checks the record of work the server
// does on its own, and the Prometheus counters.
func TestAuditServiceEventAndMetrics(t *testing.T) {
	e := start(t, "")
	key := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
	must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("m")}))
	_, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/none")})
	wantErr(t, err, "NotFoundException", "")
	// An on-demand rotation: the request, then the rotation itself, which
	// the server does in the background and records as a service event.
	must[*kms.RotateKeyOnDemandOutput](t)(e.kms.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: key.KeyMetadata.KeyId}))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := must[*kms.ListKeyRotationsOutput](t)(e.kms.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: key.KeyMetadata.KeyId}))
		if len(r.Rotations) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the on-demand rotation did not happen within 20 s")
		}
	}
	rotated := must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: key.KeyMetadata.KeyId})).KeyMetadata

	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`keyward_requests_total{code="OK",operation="Encrypt",service="kms"} 1`,
		`keyward_requests_total{code="OK",operation="CreateKey",service="kms"} 1`,
		`keyward_requests_total{code="NotFoundException",operation="DescribeKey",service="kms"} 1`,
		`keyward_request_duration_seconds_count{operation="Encrypt",service="kms"} 1`,
		`keyward_requests_total{code="OK",operation="RotateKeyOnDemand",service="kms"} 1`,
		"keyward_audit_queue_depth 0",
		"keyward_audit_broken 0",
	} {
		if !bytes.Contains(m, []byte(want+"\n")) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The fsync histogram counts every fsync of a log file.
	value := func(name string) string {
		_, v, _ := strings.Cut(string(m), "\n"+name+" ")
		v, _, _ = strings.Cut(v, "\n")
		return v
	}
	if n := value("keyward_audit_fsync_seconds_count"); n == "" || n == "0" || n != value("keyward_audit_fsyncs_total") || n != value(`keyward_audit_fsync_seconds_bucket{le="+Inf"}`) {
		t.Errorf("fsync histogram count %q, fsyncs_total %q", n, value("keyward_audit_fsyncs_total"))
	}

	// One record per request, and one for the rotation.
	records, _ := strconv.Atoi(value("keyward_audit_records_total"))
	appends, _ := strconv.Atoi(value("keyward_audit_append_duration_seconds_count"))
	if records < 5 || records != appends+1 {
		t.Errorf("keyward_audit_records_total %d, keyward_audit_append_duration_seconds_count %d: want a record per request and one more", records, appends)
	}

	e.stop()
	evs := trail(t, e.dataDir)
	var ev *audit.Event
	for _, x := range evs {
		if x.EventName == "RotateKey" {
			ev = x
		}
	}
	if ev == nil {
		t.Fatalf("no RotateKey record in %v", names(evs))
	}
	if ev.EventType != "AwsServiceEvent" || ev.UserIdentity.InvokedBy != "AWS Internal" || ev.UserIdentity.AccountID != testAccount ||
		ev.UserIdentity.ARN != "" || ev.RecipientAccountID != testAccount || len(ev.Resources) != 1 || ev.Resources[0].ARN != *key.KeyMetadata.Arn ||
		ev.SourceIPAddress != "AWS Internal" || ev.RequestID != "" || string(ev.RequestParameters) != "null" || string(ev.ResponseElements) != "null" {
		t.Errorf("service event record = %+v", ev)
	}
	// The details AWS KMS logs for a rotation (developer guide, RotateKey).
	want := `{"rotationType":"ON_DEMAND","keyOrigin":"AWS_KMS","previousKeyMaterialId":"` + *key.KeyMetadata.CurrentKeyMaterialId +
		`","currentKeyMaterialId":"` + *rotated.CurrentKeyMaterialId + `","keyId":"` + *key.KeyMetadata.KeyId + `"}`
	if string(ev.ServiceEventDetails) != want {
		t.Errorf("RotateKey serviceEventDetails = %s, want %s", ev.ServiceEventDetails, want)
	}
}

// TestLookupEventsCLI runs `aws cloudtrail lookup-events` against the server.
func TestLookupEventsCLI(t *testing.T) {
	awsPath, err := exec.LookPath(cmp.Or(os.Getenv("KEYWARD_TEST_AWS"), "aws"))
	if err != nil {
		t.Skip("aws CLI not on PATH; .ci/run installs it (apt-get install awscli)")
	}
	e := start(t, "")
	key := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
	cmd := exec.Command(awsPath, "--endpoint-url", e.url, "--region", testRegion, "--output", "json",
		"cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=ResourceName,AttributeValue="+*key.KeyMetadata.Arn)
	cmd.Env = append(os.Environ(),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(e.dataDir, "credentials"),
		"AWS_CONFIG_FILE=/dev/null", "AWS_PROFILE=default", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("aws cloudtrail lookup-events: %v\n%s", err, stderr)
	}
	var res struct {
		Events []struct {
			EventId, EventName, CloudTrailEvent string
			EventTime                           any
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("aws cloudtrail lookup-events printed %s: %v", out, err)
	}
	if len(res.Events) != 1 || res.Events[0].EventName != "CreateKey" || !strings.Contains(res.Events[0].CloudTrailEvent, *key.KeyMetadata.Arn) {
		t.Errorf("aws cloudtrail lookup-events = %s", out)
	}
}

// TestAuditAssumedRoleIdentity checks the userIdentity of a request made
// with temporary credentials: the session, and the role that issued it.
func TestAuditAssumedRoleIdentity(t *testing.T) {
	e := start(t, "")
	root := newIAM(e.url, e.akid, e.secret, "")
	must[*iamsdk.CreateUserOutput](t)(root.CreateUser(ctx, &iamsdk.CreateUserInput{UserName: aws.String("carol")}))
	k := must[*iamsdk.CreateAccessKeyOutput](t)(root.CreateAccessKey(ctx, &iamsdk.CreateAccessKeyInput{UserName: aws.String("carol")}))
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:user/carol"},"Action":"sts:AssumeRole"}}`
	role := must[*iamsdk.CreateRoleOutput](t)(root.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("worker"), AssumeRolePolicyDocument: aws.String(trust)})).Role
	out := must[*sts.AssumeRoleOutput](t)(newSTS(e.url, *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "").AssumeRole(ctx,
		&sts.AssumeRoleInput{RoleArn: role.Arn, RoleSessionName: aws.String("batch-7")}))
	c := out.Credentials
	sess := newKMSWithToken(e.url, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	_, err := sess.ListKeys(ctx, &kms.ListKeysInput{}) // denied: the role has no policy
	wantErr(t, err, "AccessDeniedException", "assumed-role/worker/batch-7")
	e.stop()

	evs := trail(t, e.dataDir)
	assume, list := evs[len(evs)-2], evs[len(evs)-1]
	if assume.EventName != "AssumeRole" || assume.EventSource != "sts.amazonaws.com" || assume.UserIdentity.Type != "IAMUser" ||
		assume.UserIdentity.UserName != "carol" || !strings.Contains(string(assume.RequestParameters), `"roleSessionName":"batch-7"`) ||
		strings.Contains(string(assume.ResponseElements), *c.SecretAccessKey) {
		t.Errorf("AssumeRole record = %+v, requestParameters %s", assume, assume.RequestParameters)
	}
	u := list.UserIdentity
	if u.Type != "AssumedRole" || u.ARN != *out.AssumedRoleUser.Arn || u.PrincipalID != *out.AssumedRoleUser.AssumedRoleId ||
		u.AccessKeyID != *c.AccessKeyId || u.SessionContext == nil || u.SessionContext.SessionIssuer == nil ||
		u.SessionContext.SessionIssuer.ARN != *role.Arn || u.SessionContext.SessionIssuer.PrincipalID != *role.RoleId ||
		u.SessionContext.SessionIssuer.UserName != "worker" || u.SessionContext.SessionIssuer.Type != "Role" || list.ErrorCode != "AccessDeniedException" {
		t.Errorf("ListKeys by a role session: userIdentity = %+v (issuer %+v)", u, u.SessionContext)
	}
	// The session's creation date is when AssumeRole issued it: the
	// credentials expire an hour (the default duration) later.
	if u.SessionContext != nil {
		if got, want := u.SessionContext.Attributes.CreationDate, c.Expiration.Add(-time.Hour); got.Sub(want).Abs() > 2*time.Second {
			t.Errorf("sessionContext.attributes.creationDate = %v, want about %v", got, want)
		}
	}
}

// TestUsageIndexSavedUnderLoad: the index is saved while Encrypts run on
// several connections (run with -race, this exercises the gate between the
// requests and the saver), and after a restart GetKeyLastUsage names each
// key's last request.
func TestUsageIndexSavedUnderLoad(t *testing.T) {
	e := startWith(t, "", func(c *server.Config) { c.AuditUsageSaveInterval = time.Second })
	var keys [4]string
	for i := range keys {
		keys[i] = *must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	}
	var last [4]string
	var wg sync.WaitGroup
	deadline := time.Now().Add(2500 * time.Millisecond) // across two saves
	for i := range keys {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				out, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keys[i]), Plaintext: []byte("x")})
				if err != nil {
					t.Error(err)
					return
				}
				last[i], _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
			}
		})
	}
	wg.Wait()
	e.stop()
	e2 := start(t, e.dataDir)
	for i, key := range keys {
		lu := must[*kms.GetKeyLastUsageOutput](t)(e2.kms.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(key)}))
		if lu.KeyLastUsage == nil || aws.ToString(lu.KeyLastUsage.KmsRequestId) != last[i] {
			t.Errorf("key %d: GetKeyLastUsage after a restart = %+v, want request %s", i, lu.KeyLastUsage, last[i])
		}
	}
}
