package awsapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/sigv4"
	"github.com/keyward/keyward/internal/store/memory"
)

// testAudit opens an audit log in a temporary directory, closed when the
// test ends. Benchmarks get InsecureSkipFsync: a sequential benchmark
// cannot share fsyncs, so it would measure the disk, not the handler.
func testAudit(tb testing.TB) AuditConfig {
	tb.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	dir := tb.TempDir()
	_, bench := tb.(*testing.B)
	l, err := audit.Open(dir, audit.Options{Signer: priv, InsecureSkipFsync: bench})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return AuditConfig{Log: l, Dir: dir, Usage: NewUsageIndex()}
}

type auditHandler struct {
	h            *Handler
	aud          AuditConfig
	akid, secret string
}

func newAuditHandler(t *testing.T, withLog bool) *auditHandler {
	t.Helper()
	w, _ := keystore.NewSoft(bytes.Repeat([]byte{3}, 32))
	st := memory.New()
	dir := iam.New(st, w)
	akid, secret, err := dir.EnsureAccount(context.Background(), "111122223333", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var aud AuditConfig
	if withLog {
		aud = testAudit(t)
	}
	svc, _ := kms.New(kms.Config{Region: "us-east-1", Store: st, Wrapper: w, Usage: aud.Usage})
	v, _ := sigv4.New(SecretLookup(dir), sigv4.Options{Region: "us-east-1"})
	return &auditHandler{h: New(Config{KMS: svc, Directory: dir, Verifier: v, Audit: aud}), aud: aud, akid: akid, secret: secret}
}

func (a *auditHandler) events(t *testing.T) []*audit.Event {
	t.Helper()
	var evs []*audit.Event
	if err := audit.Query(a.aud.Dir, audit.Filter{}, func(e *audit.Event) bool { evs = append(evs, e); return true }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestAuditEveryRequest checks that allowed, failed and unauthenticated
// requests each leave exactly one record, and what the records say.
func TestAuditEveryRequest(t *testing.T) {
	a := newAuditHandler(t, true)
	rec := serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService.CreateKey", `{"Description":"d"}`))
	if rec.Code != 200 {
		t.Fatalf("CreateKey = %d %s", rec.Code, rec.Body)
	}
	var ck struct{ KeyMetadata struct{ KeyId, Arn string } }
	json.Unmarshal(rec.Body.Bytes(), &ck)
	serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService.Encrypt", `{"KeyId":"`+ck.KeyMetadata.KeyId+`","Plaintext":"c2VjcmV0"}`))
	serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService.DescribeKey", `{"KeyId":"alias/none"}`))
	bad := signedRequest(t, a.akid, "wrong-secret", "TrentService.ListKeys", `{}`)
	if rec := serve(a.h, bad); rec.Code != 400 {
		t.Fatalf("badly signed ListKeys = %d", rec.Code)
	}
	evs := a.events(t)
	if len(evs) != 4 {
		t.Fatalf("%d records, want 4", len(evs))
	}
	create, enc, desc, unauth := evs[0], evs[1], evs[2], evs[3]
	if create.EventName != "CreateKey" || create.ErrorCode != "" || len(create.Resources) != 1 || create.Resources[0].ARN != ck.KeyMetadata.Arn ||
		create.UserIdentity.Type != "Root" || create.UserIdentity.AccessKeyID != a.akid || create.RecipientAccountID != "111122223333" || create.ReadOnly {
		t.Errorf("CreateKey record = %+v", create)
	}
	// As AWS KMS logs an Encrypt: the default algorithm, no response, the
	// key material used, read-only.
	if enc.EventName != "Encrypt" || enc.Resources[0].ARN != ck.KeyMetadata.Arn || !enc.ReadOnly ||
		string(enc.RequestParameters) != `{"keyId":"`+ck.KeyMetadata.KeyId+`","encryptionAlgorithm":"SYMMETRIC_DEFAULT"}` || string(enc.ResponseElements) != "null" ||
		!regexp.MustCompile(`^\{"keyMaterialId":"[0-9a-f]{64}"\}$`).Match(enc.AdditionalEventData) {
		t.Errorf("Encrypt record = %+v (requestParameters %s, additionalEventData %s)", enc, enc.RequestParameters, enc.AdditionalEventData)
	}
	if desc.ErrorCode != "NotFoundException" || !strings.Contains(desc.ErrorMessage, "alias/none") || !desc.ReadOnly {
		t.Errorf("DescribeKey record = %+v", desc)
	}
	if unauth.ErrorCode != sigv4.CodeInvalidSignature || unauth.UserIdentity.ARN != "" || unauth.UserIdentity.AccessKeyID != a.akid ||
		unauth.RecipientAccountID != "111122223333" || unauth.EventName != "ListKeys" {
		t.Errorf("unauthenticated record = %+v", unauth)
	}
	for _, e := range evs {
		if e.RequestID == "" || e.EventID == "" || e.AWSRegion != "us-east-1" || e.EventSource != "kms.amazonaws.com" {
			t.Errorf("record lacks ids: %+v", e)
		}
	}
	// GetKeyLastUsage reads the index that the Encrypt updated.
	rec = serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService.GetKeyLastUsage", `{"KeyId":"`+ck.KeyMetadata.KeyId+`"}`))
	var lu kms.GetKeyLastUsageResponse
	json.Unmarshal(rec.Body.Bytes(), &lu)
	if rec.Code != 200 || lu.KeyLastUsage == nil || lu.KeyLastUsage.Operation != "Encrypt" || lu.KeyLastUsage.CloudTrailEventId != enc.EventID || lu.KeyLastUsage.KmsRequestId != enc.RequestID {
		t.Errorf("GetKeyLastUsage = %d %s, want the Encrypt of event %s", rec.Code, rec.Body, enc.EventID)
	}
}

// TestAuditFailsClosed checks that no response leaves unlogged: with the
// log closed, or with none at all, a request that would succeed answers
// KMSInternalException.
func TestAuditFailsClosed(t *testing.T) {
	a := newAuditHandler(t, true)
	a.aud.Log.Close()
	rec := serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService.CreateKey", `{}`))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "KMSInternalException") || strings.Contains(rec.Body.String(), "KeyMetadata") {
		t.Errorf("CreateKey with the audit log closed = %d %s, want 500 KMSInternalException", rec.Code, rec.Body)
	}
	b := newAuditHandler(t, false)
	rec = serve(b.h, signedRequest(t, b.akid, b.secret, "TrentService.ListKeys", `{}`))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "KMSInternalException") {
		t.Errorf("ListKeys without an audit log = %d %s, want 500 KMSInternalException", rec.Code, rec.Body)
	}
	if rec := serve(b.h, httptestGet("/healthz")); rec.Code != 200 {
		t.Errorf("/healthz without an audit log = %d", rec.Code)
	}
}

func httptestGet(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
	return r
}

func TestKeyResources(t *testing.T) {
	const keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	const arn2 = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-000000000000"
	cases := []struct {
		ok           bool
		resp, params string
		want         []string
	}{
		{true, `{"CiphertextBlob":"AAAA","KeyId":"` + keyARN + `","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`, `{"keyId":"alias/x"}`, []string{keyARN}},
		{true, `{"KeyMetadata":{"KeyId":"x","Arn":"` + keyARN + `"}}`, ``, []string{keyARN}},
		{true, `{"CiphertextBlob":"AA","SourceKeyId":"` + arn2 + `","KeyId":"` + keyARN + `"}`, ``, []string{arn2, keyARN}},
		{false, `{"__type":"NotFoundException"}`, `{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`, []string{keyARN}},
		{false, ``, `{"keyId":"` + arn2 + `"}`, []string{arn2}},
		{false, ``, `{"keyId":"alias/x"}`, nil},
		// An encryption context that names another key is not a resource.
		{false, ``, `{"encryptionContext":{"keyId":"` + arn2 + `"}}`, nil},
		{true, `{"Keys":[{"KeyId":"` + keyARN + `"}]}`, ``, nil},
		{true, ``, `{"sourceKeyId":"` + keyARN + `","destinationKeyId":"` + arn2 + `"}`, []string{keyARN, arn2}},
	}
	for _, c := range cases {
		var got []string
		for _, r := range keyResources(nil, c.ok, []byte(c.resp), json.RawMessage(c.params), "us-east-1", "111122223333") {
			got = append(got, r.ARN)
			if r.AccountID != arn.Account(r.ARN) || r.Type != audit.ResourceTypeKey {
				t.Errorf("resource %+v", r)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("keyResources(%v, %s, %s) = %v, want %v", c.ok, c.resp, c.params, got, c.want)
		}
	}
}

func TestEventName(t *testing.T) {
	for in, want := range map[string]string{
		"Encrypt": "Encrypt", "": "UnknownOperation", "a b": "UnknownOperation", "x\"y": "UnknownOperation",
		strings.Repeat("A", 65): "UnknownOperation", "TrentService.Foo": "TrentService.Foo",
	} {
		if got := eventName(in); got != want {
			t.Errorf("eventName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactSignature(t *testing.T) {
	in := "Authorization=AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=0123abcdef; again Signature=ff"
	want := "Authorization=AWS4-HMAC-SHA256 Credential=AKID/x, SignedHeaders=host, Signature=<redacted>; again Signature=<redacted>"
	if got := redactSignature(in); got != want {
		t.Errorf("redactSignature(%q) = %q, want %q", in, got, want)
	}
}

func TestClaimedAccessKey(t *testing.T) {
	r := httptestGet("/")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00")
	if got := claimedAccessKey(r); got != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("claimedAccessKey = %q", got)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=<script>/x")
	if got := claimedAccessKey(r); got != "" {
		t.Errorf("claimedAccessKey(junk) = %q, want none", got)
	}
}

// BenchmarkKMSRequestParameters measures requestParameters for an Encrypt
// body, built from the body as the audit package does.
func BenchmarkKMSRequestParameters(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		kmsRequestParameters("Encrypt", encryptBody)
	}
}

// TestAuditPanic checks that a door that panics still leaves a record, and
// answers with an internal error.
func TestAuditPanic(t *testing.T) {
	a := newAuditHandler(t, true)
	a.h.kms = nil // every KMS operation now panics
	rec := serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService.ListKeys", `{}`))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "KMSInternalException") {
		t.Errorf("ListKeys with a panicking core = %d %s", rec.Code, rec.Body)
	}
	evs := a.events(t)
	if len(evs) != 1 || evs[0].EventName != "ListKeys" || evs[0].ErrorCode != "KMSInternalException" || evs[0].UserIdentity.Type != "Root" {
		t.Errorf("records after a panic = %v", names(evs))
	}
}

func names(evs []*audit.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.EventName+"/"+e.ErrorCode)
	}
	return s
}

// TestUsageIndexSnapshot checks that Load with a snapshot of the same log
// reads only the records after it, and that a snapshot of another log is
// ignored for a full read.
func TestUsageIndexSnapshot(t *testing.T) {
	aud := testAudit(t)
	l := aud.Log
	const keyA = "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	const keyB = "arn:aws:kms:us-east-1:111122223333:key/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	use := func(op, key, id string) {
		t.Helper()
		err := l.Append(context.Background(), &audit.Event{EventSource: sourceKMS, EventName: op, EventID: id, RequestID: "r-" + id,
			EventType: audit.TypeAPICall, Resources: []audit.Resource{{Type: audit.ResourceTypeKey, ARN: key}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	use("Encrypt", keyA, "ev-a")
	first := NewUsageIndex()
	if _, err := first.Load(aud.Dir, l.ID(), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	snap, err := first.Snapshot(l.ID(), func() uint64 { return l.Stats().Seq })
	if err != nil {
		t.Fatal(err)
	}
	// Mark the snapshot's entry, to see whether a Load used it or re-read
	// the record it covers.
	var s usageSnapshot
	json.Unmarshal(snap, &s)
	marked := s.Last[keyA]
	marked.EventID = "from-snapshot"
	s.Last[keyA] = marked
	snap, _ = json.Marshal(s)
	use("Decrypt", keyB, "ev-b")

	for _, tc := range []struct {
		name, logID, wantA string
	}{
		{"same log", l.ID(), "from-snapshot"},
		{"another log", "another", "ev-a"},
	} {
		idx := NewUsageIndex()
		read, err := idx.Load(aud.Dir, tc.logID, snap, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 2}[tc.logID == l.ID()]; read != want {
			t.Errorf("%s: Load read %d records, want %d", tc.name, read, want)
		}
		a, okA, _ := idx.LastUsage(context.Background(), keyA)
		b, okB, _ := idx.LastUsage(context.Background(), keyB)
		if !okA || a.EventID != tc.wantA || !okB || b.EventID != "ev-b" || b.Operation != "Decrypt" {
			t.Errorf("%s: A = %+v (%v), B = %+v (%v); want A from %s and B from the trail", tc.name, a, okA, b, okB, tc.wantA)
		}
	}
}

// TestUsageSnapshotWaitsForNotes: a snapshot taken while a request sits
// between its durable record and its note waits for the note, so it never
// claims a record whose use it lacks.
func TestUsageSnapshotWaitsForNotes(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	u := NewUsageIndex()
	u.gate.RLock() // the request's record is durable (seq 7), its note not yet made
	done := make(chan []byte, 1)
	go func() {
		b, err := u.Snapshot("log", func() uint64 { return 7 })
		if err != nil {
			t.Error(err)
		}
		done <- b
	}()
	select {
	case <-done:
		t.Fatal("Snapshot did not wait for the request between its Append and its note")
	case <-time.After(50 * time.Millisecond):
	}
	u.note("Encrypt", time.Now(), "ev-1", "req-1", []audit.Resource{{Type: audit.ResourceTypeKey, ARN: key}})
	u.gate.RUnlock()
	var s usageSnapshot
	if err := json.Unmarshal(<-done, &s); err != nil {
		t.Fatal(err)
	}
	if s.Seq != 7 || s.Last[key].EventID != "ev-1" {
		t.Errorf("snapshot = %+v, want seq 7 with the use of ev-1", s)
	}
}

// TestEveryRouteHasLoggableFields: each KMS operation the server answers
// has a reviewed list of the request fields its audit record may carry.
func TestEveryRouteHasLoggableFields(t *testing.T) {
	for name := range routes {
		if _, err := audit.RequestParameters(name, []byte(`{}`)); errors.Is(err, audit.ErrUnknownOperation) {
			t.Errorf("%s has no loggable-field list in internal/audit", name)
		}
	}
}

// TestAppendQuoted: the record's hand-written JSON strings read back as
// encoding/json reads them.
func TestAppendQuoted(t *testing.T) {
	for _, s := range []string{"", "arn:aws:kms:us-east-1:111122223333:key/1234", `q"b\s`, "\x00\x1f\n\t", "é ✓ \u2028", "bad \xff utf-8"} {
		b := appendQuoted([]byte("x"), s)
		var got string
		if b[0] != 'x' || json.Unmarshal(b[1:], &got) != nil || got != strings.ToValidUTF8(s, "\ufffd") {
			t.Errorf("appendQuoted(%q) = %s", s, b[1:])
		}
	}
}

// BenchmarkUsageIndexLoad measures what a start after a crash spends
// re-reading the records logged since the index was last saved, per record
// (Encrypts, each noted in the index).
func BenchmarkUsageIndexLoad(b *testing.B) {
	dir := b.TempDir()
	_, priv, _ := ed25519.GenerateKey(nil)
	l, err := audit.Open(dir, audit.Options{Signer: priv, InsecureSkipFsync: true})
	if err != nil {
		b.Fatal(err)
	}
	const n = 20000
	for i := range n {
		arn := fmt.Sprintf("arn:aws:kms:us-east-1:111122223333:key/%08d-0000-4000-8000-000000000000", i%100)
		err := l.Append(context.Background(), &audit.Event{EventSource: "kms.amazonaws.com", EventName: "Encrypt", AWSRegion: "us-east-1",
			UserIdentity:    audit.UserIdentity{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333", AccessKeyID: "AKIAEXAMPLE"},
			SourceIPAddress: "192.0.2.1", UserAgent: "aws-sdk-go-v2/1.41.0 os/linux lang/go#1.26 api/kms#1.62.4 m/E",
			RequestParameters:   json.RawMessage(`{"keyId":"` + arn + `","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"app":"bench"}}`),
			AdditionalEventData: json.RawMessage(`{"keyMaterialId":"6088b3cfffeba09a133c16e45bfa6158f356585500433dac743e244835884a9b"}`),
			RequestID:           fmt.Sprint("req-", i), ReadOnly: true, RecipientAccountID: "111122223333",
			Resources: []audit.Resource{{AccountID: "111122223333", Type: audit.ResourceTypeKey, ARN: arn}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	id := l.ID()
	l.Close()
	for b.Loop() {
		u := NewUsageIndex()
		if read, err := u.Load(dir, id, nil, time.Now()); err != nil || read != n {
			b.Fatalf("Load = %d, %v", read, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
}

// TestUsageIndexLoadMatchesQuery: Load, which picks a few fields out of
// each record, builds the index that decoding every record with Query and
// noting the tracked uses builds.
func TestUsageIndexLoadMatchesQuery(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(nil)
	l, err := audit.Open(dir, audit.Options{Signer: priv})
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) string {
		return fmt.Sprintf("arn:aws:kms:us-east-1:111122223333:key/%08d-0000-4000-8000-000000000000", i)
	}
	res := func(arns ...string) (rs []audit.Resource) {
		for _, a := range arns {
			rs = append(rs, audit.Resource{AccountID: "111122223333", Type: audit.ResourceTypeKey, ARN: a})
		}
		return rs
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, ev := range []audit.Event{
		{EventSource: "kms.amazonaws.com", EventName: "Encrypt", Resources: res(key(1))},
		{EventSource: "kms.amazonaws.com", EventName: "Decrypt", ErrorCode: "InvalidCiphertextException", Resources: res(key(2))},
		{EventSource: "iam.amazonaws.com", EventName: "CreateUser"},
		{EventSource: "kms.amazonaws.com", EventName: "DescribeKey", Resources: res(key(3))},
		{EventSource: "kms.amazonaws.com", EventName: "ReEncrypt", Resources: res(key(4), key(5)), UserAgent: "a \"quoted\" \u2028 agent"},
		{EventSource: "kms.amazonaws.com", EventName: "RotateKey", EventType: audit.TypeServiceCall, Resources: res(key(6))},
		{EventSource: "kms.amazonaws.com", EventName: "Sign", Resources: res(key(1))},
		{EventSource: "kms.amazonaws.com", EventName: "GenerateDataKey", Resources: []audit.Resource{{Type: "AWS::KMS::Alias", ARN: "arn:aws:kms:us-east-1:111122223333:alias/x"}}},
	} {
		ev.EventTime = t0.Add(time.Duration(i) * time.Second)
		ev.RequestID = fmt.Sprintf("req-%d-\u00e9", i)
		ev.AWSRegion = "us-east-1"
		if err := l.Append(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	id := l.ID()
	l.Close()

	want := NewUsageIndex()
	var start time.Time
	audit.Query(dir, audit.Filter{EventSource: "kms.amazonaws.com"}, func(e *audit.Event) bool {
		if start.IsZero() {
			start = e.EventTime
		}
		if e.ErrorCode == "" && e.EventType == audit.TypeAPICall && kms.TrackedOperations[e.EventName] {
			want.note(e.EventName, e.EventTime, e.EventID, e.RequestID, e.Resources)
		}
		return true
	})
	got := NewUsageIndex()
	read, err := got.Load(dir, id, nil, time.Now())
	if err != nil || read != 7 {
		t.Fatalf("Load = %d records, %v; want 7", read, err)
	}
	if !got.TrackingStart().Equal(start) || !reflect.DeepEqual(got.last, want.last) || len(got.last) != 3 {
		t.Errorf("Load built start %v, %+v\nwant %v, %+v (3 keys)", got.TrackingStart(), got.last, start, want.last)
	}
}

// sleepReader returns EOF after a pause: the end of a slowly sent body.
type sleepReader struct {
	d    time.Duration
	done *time.Time
}

func (s sleepReader) Read([]byte) (int, error) {
	time.Sleep(s.d)
	*s.done = time.Now()
	return 0, io.EOF
}

// CloudTrail's eventTime is "the date and time the request was
// completed": a request whose body takes over a second to arrive is
// recorded at its end, not at its start. (eventTime has whole seconds.)
func TestAuditEventTimeIsCompletion(t *testing.T) {
	a := newAuditHandler(t, true)
	r := signedRequest(t, a.akid, a.secret, "TrentService.ListKeys", `{}`)
	var bodyDone time.Time
	r.Body = io.NopCloser(io.MultiReader(r.Body, sleepReader{1100 * time.Millisecond, &bodyDone}))
	if rec := serve(a.h, r); rec.Code != 200 {
		t.Fatalf("ListKeys = %d %s", rec.Code, rec.Body)
	}
	evs := a.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d records, want 1", len(evs))
	}
	if got, min := evs[0].EventTime, bodyDone.Truncate(time.Second); got.Before(min) {
		t.Errorf("eventTime %s, before the request's body had arrived (%s)", got.Format(time.RFC3339), bodyDone.Format(time.RFC3339Nano))
	}
}

// TestCipherSuiteNames checks that every TLS 1.2 suite crypto/tls can
// negotiate has an OpenSSL name, and the names against the openssl
// command's own table where it has the suite.
func TestCipherSuiteNames(t *testing.T) {
	var openssl map[string]string // IANA name -> OpenSSL name
	if path, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not found: names not cross-checked")
	} else if out, err := exec.Command(path, "ciphers", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output(); err != nil {
		t.Logf("openssl ciphers: %v: names not cross-checked", err)
	} else {
		openssl = map[string]string{}
		for line := range strings.Lines(string(out)) {
			if f := strings.Fields(line); len(f) >= 3 && f[1] == "-" {
				openssl[f[0]] = f[2]
			}
		}
	}
	checked := 0
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		got := cipherSuiteName(s.ID)
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) && got == s.Name {
			t.Errorf("%s: no OpenSSL name", s.Name)
		}
		if want, ok := openssl[s.Name]; ok {
			checked++
			if got != want {
				t.Errorf("%s: named %q, openssl says %q", s.Name, got, want)
			}
		}
	}
	if openssl != nil && checked < 15 {
		t.Errorf("only %d suites cross-checked with openssl", checked)
	}
	t.Logf("%d suites cross-checked with openssl", checked)
}

// TestAuditTLSDetails: a request over TLS 1.2 is recorded with the
// version, the suite by its OpenSSL name, and the Host header as the
// client sent it, as CloudTrail's tlsDetails show them.
func TestAuditTLSDetails(t *testing.T) {
	a := newAuditHandler(t, true)
	srv := httptest.NewTLSServer(a.h)
	defer srv.Close()
	c := srv.Client()
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.MaxVersion = tls.VersionTLS12
	tr.TLSClientConfig.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Host = "kms.us-east-1.amazonaws.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	evs := a.events(t)
	if len(evs) != 1 || evs[0].TLSDetails == nil {
		t.Fatalf("records %+v, want one with tlsDetails", evs)
	}
	want := audit.TLSDetails{TLSVersion: "TLSv1.2", CipherSuite: "ECDHE-RSA-AES128-GCM-SHA256", ClientProvidedHostHeader: "kms.us-east-1.amazonaws.com"}
	if got := *evs[0].TLSDetails; got != want {
		t.Errorf("tlsDetails = %+v, want %+v", got, want)
	}
}

// GenerateRandom uses no key, and AWS logs its record with an empty
// resources list ("resources": []); other records without a key have no
// resources field.
func TestAuditGenerateRandomResources(t *testing.T) {
	a := newAuditHandler(t, true)
	for _, op := range []string{"GenerateRandom", "ListKeys"} {
		body := `{}`
		if op == "GenerateRandom" {
			body = `{"NumberOfBytes":16}`
		}
		if rec := serve(a.h, signedRequest(t, a.akid, a.secret, "TrentService."+op, body)); rec.Code != 200 {
			t.Fatalf("%s = %d %s", op, rec.Code, rec.Body)
		}
	}
	evs := a.events(t)
	if len(evs) != 2 {
		t.Fatalf("%d records, want 2", len(evs))
	}
	if r := evs[0].Resources; r == nil || len(r) != 0 {
		t.Errorf("GenerateRandom record resources = %#v, want []", r)
	}
	if r := evs[1].Resources; r != nil {
		t.Errorf("ListKeys record resources = %#v, want no field", r)
	}
}
