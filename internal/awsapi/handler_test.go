package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	stdjson "encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/go-json-experiment/json"

	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/sigv4"
	"github.com/keyward/keyward/internal/store/memory"
)

// newTestHandler assembles a handler over an in-memory store with one account.
func newTestHandler(tb testing.TB) (*Handler, string, string) {
	tb.Helper()
	w, _ := keystore.NewSoft(bytes.Repeat([]byte{1}, 32))
	st := memory.New()
	dir := iam.New(st, w)
	akid, secret, err := dir.EnsureAccount(context.Background(), "111122223333", time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	svc, _ := kms.New(kms.Config{Region: "us-east-1", Store: st, Wrapper: w})
	v, _ := sigv4.New(SecretLookup(dir), sigv4.Options{Region: "us-east-1"})
	return New(Config{KMS: svc, Directory: dir, Verifier: v, Audit: testAudit(tb)}), akid, secret
}

func signedRequest(tb testing.TB, akid, secret, target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7878/", bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]), "kms", "us-east-1", time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestErrorShapes(t *testing.T) {
	h, akid, secret := newTestHandler(t)
	cases := []struct {
		target, body string
		status       int
		want         string
	}{
		{"TrentService.DescribeKey", `{"KeyId":"alias/none"}`, 400, `{"__type":"NotFoundException","message":"Alias arn:aws:kms:us-east-1:111122223333:alias/none is not found."}`},
		{"TrentService.Decrypt", `{"CiphertextBlob":"AAAA"}`, 400, `{"__type":"InvalidCiphertextException"}`},
		{"TrentService.Nope", `{}`, 400, `{"__type":"UnknownOperationException"}`},
	}
	for _, c := range cases {
		rec := serve(h, signedRequest(t, akid, secret, c.target, c.body))
		if rec.Code != c.status || rec.Body.String() != c.want || rec.Header().Get("Content-Type") != "application/x-amz-json-1.1" || rec.Header().Get("x-amzn-RequestId") == "" {
			t.Errorf("%s %s = %d %s (%v), want %d %s", c.target, c.body, rec.Code, rec.Body, rec.Header(), c.status, c.want)
		}
	}
}

// BenchmarkHandlerEncrypt32 measures one signed Encrypt through the whole
// handler (read, SigV4, JSON, authorization, crypto, response) without
// sockets; the SigV4 signing of the request is outside the timer's loop body
// only in that requests are pre-built.
func BenchmarkHandlerEncrypt32(b *testing.B) {
	h, akid, secret := newTestHandler(b)
	rec := serve(h, signedRequest(b, akid, secret, "TrentService.CreateKey", `{}`))
	var out struct{ KeyMetadata struct{ KeyId string } }
	stdjson.Unmarshal(rec.Body.Bytes(), &out)
	body := `{"KeyId":"` + out.KeyMetadata.KeyId + `","Plaintext":"` + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" + `","EncryptionContext":{"app":"bench"}}`
	reqs := make([]*http.Request, 1024)
	bodies := make([][]byte, len(reqs))
	for i := range reqs {
		reqs[i] = signedRequest(b, akid, secret, "TrentService.Encrypt", body)
		bodies[i] = []byte(body)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		r.Body = http.NoBody
		r.Body = readCloser{bytes.NewReader(bodies[i%len(reqs)])}
		i++
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("Encrypt = %d %s", rec.Code, rec.Body)
		}
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// The two JSON codecs on an Encrypt request body, for the choice in codec.go.
var encryptBody = []byte(`{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","EncryptionContext":{"app":"bench","tenant":"t1"}}`)

func BenchmarkDecodeJSONv2(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var r kms.EncryptRequest
		if err := json.Unmarshal(encryptBody, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var r kms.EncryptRequest
		if err := stdjson.Unmarshal(encryptBody, &r); err != nil {
			b.Fatal(err)
		}
	}
}
