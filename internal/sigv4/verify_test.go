package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testKeyID  = "AKIAKEYWARDTEST00001"
	testSecret = "kwSecretKeyForTests/0123456789abcdefABCDEF"
	testRegion = "eu-west-1"
)

var testNow = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

func testLookup(id string) ([]byte, error) {
	if id == testKeyID {
		return []byte(testSecret), nil
	}
	return nil, fmt.Errorf("access key %q: %w", id, ErrUnknownAccessKey)
}

func newTestVerifier(t testing.TB, lookup Lookup) *Verifier {
	t.Helper()
	if lookup == nil {
		lookup = testLookup
	}
	v, err := New(lookup, Options{Region: testRegion, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signSpec describes a request for refSign, a SigV4 signer written
// independently of the package (straight from the specification, with
// crypto/hmac) so that the tests do not check the verifier against itself.
// It handles what the tests need: an already-canonical path and query.
type signSpec struct {
	method, path, query string
	host                string
	headers             [][2]string // sent in this order; names as written
	body                []byte
	keyID, secret       string
	date                time.Time
	scopeDate           string // default: date's day
	region, service     string
	term                string // default aws4_request
	signed              []string
}

func kmsSpec() signSpec {
	return signSpec{
		method: http.MethodPost,
		path:   "/",
		host:   "kms.eu-west-1.amazonaws.com",
		headers: [][2]string{
			{"Content-Type", "application/x-amz-json-1.1"},
			{"X-Amz-Target", "TrentService.Encrypt"},
			{"X-Amz-Date", testNow.Format(amzTime)},
		},
		body:    []byte(`{"KeyId":"alias/keyward-test","Plaintext":"SGVsbG8sIFdvcmxkIQ=="}`),
		keyID:   testKeyID,
		secret:  testSecret,
		date:    testNow,
		region:  testRegion,
		service: "kms",
		signed:  []string{"content-type", "host", "x-amz-date", "x-amz-target"},
	}
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// refSign returns the hex signature for s.
func refSign(s signSpec) string {
	var canon strings.Builder
	fmt.Fprintf(&canon, "%s\n%s\n%s\n", s.method, s.path, s.query)
	for _, name := range s.signed {
		var vals []string
		if name == "host" {
			vals = append(vals, s.host)
		}
		for _, h := range s.headers {
			if strings.EqualFold(h[0], name) {
				vals = append(vals, strings.Join(strings.Fields(h[1]), " "))
			}
		}
		fmt.Fprintf(&canon, "%s:%s\n", name, strings.Join(vals, ","))
	}
	bodySum := sha256.Sum256(s.body)
	fmt.Fprintf(&canon, "\n%s\n%s", strings.Join(s.signed, ";"), hex.EncodeToString(bodySum[:]))
	creqSum := sha256.Sum256([]byte(canon.String()))
	scope := s.scope()
	sts := "AWS4-HMAC-SHA256\n" + s.date.UTC().Format(amzTime) + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	k := hmacSHA256([]byte("AWS4"+s.secret), s.scopeDay())
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	k = hmacSHA256(k, s.terminator())
	return hex.EncodeToString(hmacSHA256(k, sts))
}

func (s signSpec) scopeDay() string {
	if s.scopeDate != "" {
		return s.scopeDate
	}
	return s.date.UTC().Format("20060102")
}

func (s signSpec) terminator() string {
	if s.term != "" {
		return s.term
	}
	return "aws4_request"
}

func (s signSpec) scope() string {
	return s.scopeDay() + "/" + s.region + "/" + s.service + "/" + s.terminator()
}

func (s signSpec) authorization() string {
	return "AWS4-HMAC-SHA256 Credential=" + s.keyID + "/" + s.scope() +
		", SignedHeaders=" + strings.Join(s.signed, ";") + ", Signature=" + refSign(s)
}

// request builds the request a server handler would see, signed in the
// Authorization header.
func (s signSpec) request() *http.Request {
	target := s.path
	if s.query != "" {
		target += "?" + s.query
	}
	r := httptest.NewRequest(s.method, target, bytes.NewReader(s.body))
	r.Host = s.host
	for _, h := range s.headers {
		r.Header.Add(h[0], h[1])
	}
	r.Header.Set("Authorization", s.authorization())
	return r
}

func TestVerifyAccepts(t *testing.T) {
	v := newTestVerifier(t, nil)
	tests := []struct {
		name string
		spec func() signSpec
		tok  string
	}{
		{"kms encrypt", kmsSpec, ""},
		{"session token", func() signSpec {
			s := kmsSpec()
			s.headers = append(s.headers, [2]string{"X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLE"})
			s.signed = []string{"content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"}
			return s
		}, "FQoGZXIvYXdzEXAMPLE"},
		{"Date header instead of X-Amz-Date", func() signSpec {
			s := kmsSpec()
			s.headers[2] = [2]string{"Date", testNow.Format(http.TimeFormat)}
			s.signed = []string{"content-type", "date", "host", "x-amz-target"}
			return s
		}, ""},
		{"two minutes old", func() signSpec {
			s := kmsSpec()
			s.date = testNow.Add(-2 * time.Minute)
			s.headers[2][1] = s.date.Format(amzTime)
			return s
		}, ""},
		{"content sha256 header", func() signSpec {
			s := kmsSpec()
			sum := sha256.Sum256(s.body)
			s.headers = append(s.headers, [2]string{"X-Amz-Content-Sha256", hex.EncodeToString(sum[:])})
			s.signed = []string{"content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"}
			return s
		}, ""},
		{"unsigned user-agent", func() signSpec {
			s := kmsSpec()
			s.headers = append(s.headers, [2]string{"User-Agent", "aws-sdk-go-v2/1.0"})
			return s
		}, ""},
		{"iam service", func() signSpec {
			s := kmsSpec()
			s.service = "iam"
			return s
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec()
			res, err := v.Verify(s.request(), s.body, s.service)
			if err != nil {
				t.Fatalf("Verify = %v, want success", err)
			}
			want := Result{AccessKeyID: testKeyID, SessionToken: tt.tok, Region: testRegion, Service: s.service, SignedAt: s.date.Truncate(time.Second)}
			if !res.SignedAt.Equal(want.SignedAt) {
				t.Errorf("SignedAt = %v, want %v", res.SignedAt, want.SignedAt)
			}
			res.SignedAt = want.SignedAt
			if res != want {
				t.Errorf("Result = %+v, want %+v", res, want)
			}
		})
	}
}

// errCase is one refusal: build returns the request and body.
type errCase struct {
	name    string
	build   func() (*http.Request, []byte)
	code    string
	status  int
	message string // exact; if it ends in "…", a prefix
}

func fromSpec(f func(*signSpec)) func() (*http.Request, []byte) {
	return func() (*http.Request, []byte) {
		s := kmsSpec()
		f(&s)
		return s.request(), s.body
	}
}

// tweak signs the KMS request and then changes the signed request.
func tweak(f func(r *http.Request, s signSpec)) func() (*http.Request, []byte) {
	return func() (*http.Request, []byte) {
		s := kmsSpec()
		r := s.request()
		f(r, s)
		return r, s.body
	}
}

func redate(s *signSpec, t time.Time) {
	s.date = t
	for i := range s.headers {
		if s.headers[i][0] == "X-Amz-Date" {
			s.headers[i][1] = t.Format(amzTime)
		}
	}
}

func withAuthorization(a string) func() (*http.Request, []byte) {
	return tweak(func(r *http.Request, _ signSpec) { r.Header.Set("Authorization", a) })
}

const (
	goodCred  = testKeyID + "/20150830/eu-west-1/kms/aws4_request"
	goodSig   = "0000000000000000000000000000000000000000000000000000000000000000"
	goodSHead = "content-type;host;x-amz-date;x-amz-target"
)

// presigned returns a presigned GET with the given query (the signature in
// it is not valid: every check here fails before the signature is compared).
func presigned(query string) func() (*http.Request, []byte) {
	return func() (*http.Request, []byte) {
		r := httptest.NewRequest(http.MethodGet, "/?"+query, nil)
		r.Host = "kms.eu-west-1.amazonaws.com"
		return r, nil
	}
}

const presignBase = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + testKeyID + "%2F20150830%2Feu-west-1%2Fkms%2Faws4_request" +
	"&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig

func TestVerifyRefuses(t *testing.T) {
	const (
		bad = http.StatusBadRequest
	)
	tests := []errCase{
		{"no authentication", tweak(func(r *http.Request, _ signSpec) { r.Header.Del("Authorization") }),
			CodeMissingAuthenticationToken, bad, "Missing Authentication Token"},
		{"other scheme", withAuthorization("Bearer abc"),
			CodeMissingAuthenticationToken, bad, "Missing Authentication Token"},
		{"AWS4 without dash", withAuthorization("AWS4"),
			CodeMissingAuthenticationToken, bad, "Missing Authentication Token"},
		{"presigned with other algorithm", presigned(strings.Replace(presignBase, "SHA256", "SHA512", 1)),
			CodeMissingAuthenticationToken, bad, "Missing Authentication Token"},

		{"unsupported algorithm", withAuthorization("AWS4-HMAC-SHA512 Credential=" + goodCred + ", SignedHeaders=" + goodSHead + ", Signature=" + goodSig),
			CodeIncompleteSignature, bad, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "},
		{"no parameters", withAuthorization("AWS4-HMAC-SHA256"),
			CodeIncompleteSignature, bad, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{"no Signature", withAuthorization("AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=" + goodSHead),
			CodeIncompleteSignature, bad, "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders=" + goodSHead},
		{"no SignedHeaders", withAuthorization("AWS4-HMAC-SHA256 Credential=" + goodCred + ", Signature=" + goodSig),
			CodeIncompleteSignature, bad, "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=" + goodCred + ", Signature=" + goodSig},
		{"empty Credential", withAuthorization("AWS4-HMAC-SHA256 Credential=, SignedHeaders=" + goodSHead + ", Signature=" + goodSig),
			CodeIncompleteSignature, bad, "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 Credential=, SignedHeaders=" + goodSHead + ", Signature=" + goodSig},
		{"no date", tweak(func(r *http.Request, _ signSpec) { r.Header.Del("X-Amz-Date") }),
			CodeIncompleteSignature, bad, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=…"},
		{"parameter without equal sign", withAuthorization("AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders, Signature=" + goodSig),
			CodeIncompleteSignature, bad, "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=" + goodCred + ", SignedHeaders, Signature=" + goodSig + "'."},
		{"extended ISO 8601 date", tweak(func(r *http.Request, _ signSpec) { r.Header.Set("X-Amz-Date", "2015-08-30T12:36:00Z") }),
			CodeIncompleteSignature, bad, "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"impossible date", tweak(func(r *http.Request, _ signSpec) { r.Header.Set("X-Amz-Date", "20150231T123600Z") }),
			CodeIncompleteSignature, bad, "Date must be in ISO-8601 'basic format'. Got '20150231T123600Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{"credential with four elements", withAuthorization("AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20150830/eu-west-1/kms, SignedHeaders=" + goodSHead + ", Signature=" + goodSig),
			CodeIncompleteSignature, bad, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + testKeyID + "/20150830/eu-west-1/kms'"},
		{"presigned without credential and date", presigned("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig),
			CodeIncompleteSignature, bad, "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."},
		{"presigned expires not a number", presigned(presignBase + "&X-Amz-Expires=soon"),
			CodeIncompleteSignature, bad, "X-Amz-Expires should be a number"},
		{"presigned expires negative", presigned(presignBase + "&X-Amz-Expires=-1"),
			CodeIncompleteSignature, bad, "X-Amz-Expires must be non-negative"},
		{"presigned expires over a week", presigned(presignBase + "&X-Amz-Expires=604801"),
			CodeIncompleteSignature, bad, "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"},

		{"malformed query escape", tweak(func(r *http.Request, _ signSpec) { r.RequestURI = "/?a=%zz" }),
			CodeMalformedQueryString, bad, "Illegal hex character in escape % pattern: %zz"},
		{"truncated query escape", tweak(func(r *http.Request, _ signSpec) { r.RequestURI = "/?a=%4" }),
			CodeMalformedQueryString, bad, "Incomplete trailing escape % sequence"},

		{"unknown access key", fromSpec(func(s *signSpec) { s.keyID = "AKIAUNKNOWN000000000" }),
			CodeUnrecognizedClient, bad, "The security token included in the request is invalid."},

		{"header and query authentication", tweak(func(r *http.Request, _ signSpec) { r.RequestURI = "/?" + presignBase }),
			CodeInvalidSignature, bad, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."},
		{"host not signed", fromSpec(func(s *signSpec) { s.signed = []string{"content-type", "x-amz-date", "x-amz-target"} }),
			CodeInvalidSignature, bad, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"presigned host not signed", presigned(strings.Replace(presignBase, "SignedHeaders=host", "SignedHeaders=x-amz-date", 1)),
			CodeInvalidSignature, bad, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"X-Amz-Date not signed", fromSpec(func(s *signSpec) { s.signed = []string{"content-type", "host", "x-amz-target"} }),
			CodeInvalidSignature, bad, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."},
		{"X-Amz-Target not signed", fromSpec(func(s *signSpec) { s.signed = []string{"content-type", "host", "x-amz-date"} }),
			CodeInvalidSignature, bad, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
		{"expired", fromSpec(func(s *signSpec) { redate(s, testNow.Add(-6*time.Minute)) }),
			CodeInvalidSignature, bad, "Signature expired: 20150830T123000Z is now earlier than 20150830T123100Z (20150830T123600Z - 5 min.)"},
		{"not yet current", fromSpec(func(s *signSpec) { redate(s, testNow.Add(5*time.Minute+time.Second)) }),
			CodeInvalidSignature, bad, "Signature not yet current: 20150830T124101Z is still later than 20150830T124100Z (20150830T123600Z + 5 min.)"},
		{"presigned past X-Amz-Expires", presigned(presignBase[:strings.Index(presignBase, "X-Amz-Date")] + "X-Amz-Date=20150830T123400Z&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Signature=" + goodSig),
			CodeInvalidSignature, bad, "Request has expired"},
		{"wrong region", fromSpec(func(s *signSpec) { s.region = "us-west-2" }),
			CodeInvalidSignature, bad, "Credential should be scoped to a valid region, not 'us-west-2'. "},
		{"wrong service", fromSpec(func(s *signSpec) { s.service = "iam" }),
			CodeInvalidSignature, bad, "Credential should be scoped to correct service: 'kms'. "},
		{"wrong terminator", fromSpec(func(s *signSpec) { s.term = "aws5_request" }),
			CodeInvalidSignature, bad, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "},
		{"scope date differs from X-Amz-Date", fromSpec(func(s *signSpec) { s.scopeDate = "20150829" }),
			CodeInvalidSignature, bad, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from '20150830T123600Z'. "},
		{"wrong region and service", fromSpec(func(s *signSpec) { s.region, s.service = "us-west-2", "sts" }),
			CodeInvalidSignature, bad, "Credential should be scoped to a valid region, not 'us-west-2'. Credential should be scoped to correct service: 'kms'. "},
		{"content sha256 mismatch", fromSpec(func(s *signSpec) {
			s.headers = append(s.headers, [2]string{"X-Amz-Content-Sha256", strings.Repeat("ab", 32)})
			s.signed = []string{"content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"}
		}), CodeInvalidSignature, bad, "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{"unsigned payload", fromSpec(func(s *signSpec) {
			s.headers = append(s.headers, [2]string{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"})
			s.signed = []string{"content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"}
		}), CodeInvalidSignature, bad, "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{"wrong secret", fromSpec(func(s *signSpec) { s.secret = "not-the-secret" }),
			CodeInvalidSignature, bad, msgSignatureMismatch},
		{"body changed after signing", func() (*http.Request, []byte) {
			s := kmsSpec()
			return s.request(), []byte(`{"KeyId":"alias/other"}`)
		}, CodeInvalidSignature, bad, msgSignatureMismatch},
		{"operation changed after signing", tweak(func(r *http.Request, _ signSpec) { r.Header.Set("X-Amz-Target", "TrentService.ScheduleKeyDeletion") }),
			CodeInvalidSignature, bad, msgSignatureMismatch},
		{"upper-case signature", tweak(func(r *http.Request, s signSpec) {
			r.Header.Set("Authorization", strings.Replace(s.authorization(), refSign(s), strings.ToUpper(refSign(s)), 1))
		}), CodeInvalidSignature, bad, msgSignatureMismatch},
		{"short signature", tweak(func(r *http.Request, s signSpec) {
			r.Header.Set("Authorization", strings.Replace(s.authorization(), refSign(s), refSign(s)[:63], 1))
		}), CodeInvalidSignature, bad, msgSignatureMismatch},
	}
	v := newTestVerifier(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := tt.build()
			_, err := v.Verify(r, body, "kms")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify = %v, want *Error %s", err, tt.code)
			}
			if e.Code != tt.code || e.Status != tt.status {
				t.Errorf("Verify = %s (%d) %q, want %s (%d)", e.Code, e.Status, e.Message, tt.code, tt.status)
			}
			if prefix, ok := strings.CutSuffix(tt.message, "…"); ok {
				if !strings.HasPrefix(e.Message, prefix) {
					t.Errorf("message = %q, want prefix %q", e.Message, prefix)
				}
			} else if e.Message != tt.message {
				t.Errorf("message = %q\nwant      %q", e.Message, tt.message)
			}
			// Nothing secret may reach the client: not the secret, not the
			// signature the server computed, not the signing key.
			s := kmsSpec()
			for _, secret := range []string{testSecret, refSign(s), "AWS4" + testSecret} {
				if strings.Contains(e.Error(), secret) && !strings.Contains(r.Header.Get("Authorization"), secret) {
					t.Errorf("error %q contains secret material", e.Error())
				}
			}
		})
	}
}

func TestVerifyLookupFailure(t *testing.T) {
	internal := errors.New("store unreachable")
	v := newTestVerifier(t, func(string) ([]byte, error) { return nil, internal })
	s := kmsSpec()
	_, err := v.Verify(s.request(), s.body, "kms")
	var e *Error
	if errors.As(err, &e) || !errors.Is(err, internal) {
		t.Fatalf("Verify with failing Lookup = %v, want an internal error wrapping %v", err, internal)
	}

	v = newTestVerifier(t, func(string) ([]byte, error) { return nil, nil })
	_, err = v.Verify(s.request(), s.body, "kms")
	if err == nil || errors.As(err, &e) {
		t.Fatalf("Verify with empty secret = %v, want an internal error", err)
	}
}

func TestVerifySecretRotation(t *testing.T) {
	var mu sync.Mutex
	secret := testSecret
	v := newTestVerifier(t, func(id string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return []byte(secret), nil
	})
	old := kmsSpec()
	if _, err := v.Verify(old.request(), old.body, "kms"); err != nil {
		t.Fatalf("Verify(old secret) = %v", err)
	}
	mu.Lock()
	secret = "rotated-secret/abcdefghijklmnopqrstuvwxyz012"
	mu.Unlock()
	// The cache still holds the key derived from the old secret; it must
	// not be used.
	if _, err := v.Verify(old.request(), old.body, "kms"); err == nil {
		t.Fatal("Verify(old secret) after rotation succeeded")
	}
	s := kmsSpec()
	s.secret = "rotated-secret/abcdefghijklmnopqrstuvwxyz012"
	if _, err := v.Verify(s.request(), s.body, "kms"); err != nil {
		t.Fatalf("Verify(new secret) = %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newKeyCache(testRegion)
	for i := range cacheSize + 100 {
		c.signingKey(fmt.Sprintf("AKID%d", i), "20150830", "kms", []byte(testSecret))
	}
	if n := len(c.m); n > cacheSize {
		t.Fatalf("cache holds %d entries, want at most %d", n, cacheSize)
	}
	want := deriveSigningKey([]byte(testSecret), "20150830", testRegion, "kms")
	if got := c.signingKey("AKID1", "20150830", "kms", []byte(testSecret)); got != want {
		t.Fatal("signingKey after eviction differs from a fresh derivation")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v := newTestVerifier(t, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				s := kmsSpec()
				s.service = []string{"kms", "iam"}[(g+i)%2]
				if _, err := v.Verify(s.request(), s.body, s.service); err != nil {
					t.Errorf("Verify = %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMacPrefixed(t *testing.T) {
	for n := range 300 {
		var key [32]byte
		for i := range key {
			key[i] = byte(n*7 + i)
		}
		msg := bytes.Repeat([]byte{byte(n)}, n)
		buf := append(make([]byte, 64), msg...)
		got := macPrefixed(&key, buf)
		want := hmacSHA256(key[:], string(msg))
		if !bytes.Equal(got[:], want) {
			t.Fatalf("macPrefixed(len %d) = %x, want %x", n, got, want)
		}
		if !bytes.Equal(buf[:64], make([]byte, 64)) {
			t.Fatal("macPrefixed left key material in its scratch space")
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		lookup  Lookup
		opts    Options
		wantErr bool
		skew    time.Duration
	}{
		{"defaults", testLookup, Options{Region: "us-east-1"}, false, 5 * time.Minute},
		{"15 minutes", testLookup, Options{Region: "us-east-1", MaxSkew: 15 * time.Minute}, false, 15 * time.Minute},
		{"over 15 minutes", testLookup, Options{Region: "us-east-1", MaxSkew: 15*time.Minute + time.Second}, true, 0},
		{"negative skew", testLookup, Options{Region: "us-east-1", MaxSkew: -time.Second}, true, 0},
		{"no region", testLookup, Options{}, true, 0},
		{"no lookup", nil, Options{Region: "us-east-1"}, true, 0},
	}
	for _, tt := range tests {
		v, err := New(tt.lookup, tt.opts)
		if (err != nil) != tt.wantErr {
			t.Errorf("New(%s) error = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && v.maxSkew != tt.skew {
			t.Errorf("New(%s).maxSkew = %v, want %v", tt.name, v.maxSkew, tt.skew)
		}
	}
}

func TestSkewText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute:  "5 min",
		15 * time.Minute: "15 min",
		90 * time.Second: "90 sec",
	} {
		if got := skewText(d); got != want {
			t.Errorf("skewText(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCanonicalPath(t *testing.T) {
	tests := []struct {
		in         string
		normalized string
		raw        string
	}{
		{"", "/", "/"},
		{"/", "/", "/"},
		{"//", "/", "//"},
		{"/a/./b/../c/", "/a/c/", "/a/./b/../c/"},
		{"/../..", "/", "/../.."},
		{"/a/b/..", "/a", "/a/b/.."},
		{"/a%20b/c", "/a%2520b/c", "/a%2520b/c"}, // encoded once more, as the SDKs do
		{"/key:abc/~x", "/key%3Aabc/~x", "/key%3Aabc/~x"},
		{"/a//b///", "/a/b/", "/a//b///"},
	}
	for _, tt := range tests {
		if got := string(appendCanonicalPath(nil, tt.in, true)); got != tt.normalized {
			t.Errorf("canonical path(%q, normalized) = %q, want %q", tt.in, got, tt.normalized)
		}
		if got := string(appendCanonicalPath(nil, tt.in, false)); got != tt.raw {
			t.Errorf("canonical path(%q, as sent) = %q, want %q", tt.in, got, tt.raw)
		}
		if got, want := needsNormalizing(tt.in), tt.in != "" && string(appendCanonicalPath(nil, tt.in, true)) != string(appendCanonicalPath(nil, tt.in, false)); got != want {
			t.Errorf("needsNormalizing(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=10", "a=1&a=10&a=2"},
		{"Param-3=3&Param=2", "Param=2&Param-3=3"},             // sorted by name, not by "name=value"
		{"k=a%2Fb&k=a-b", "k=a%2Fb&k=a-b"},                     // sorted after encoding
		{"flag&x=", "flag=&x="},                                // a missing value is empty
		{"sp=a+b&pct=%7e%41", "pct=~A&sp=a%20b"},               // '+' is a space; unreserved escapes decoded
		{"X-Amz-Signature=abc&z=1", "X-Amz-Signature=abc&z=1"}, // kept in header mode
	}
	for _, tt := range tests {
		ps, err := parseQuery(tt.raw, nil)
		if err != nil {
			t.Errorf("parseQuery(%q) = %v", tt.raw, err)
			continue
		}
		if got := canonicalQuery(ps, false); got != tt.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
	ps, _ := parseQuery("X-Amz-Signature=abc&z=1", nil)
	if got := canonicalQuery(ps, true); got != "z=1" {
		t.Errorf("canonicalQuery(presigned) = %q, want %q", got, "z=1")
	}
}

func TestCanonicalHeaderValue(t *testing.T) {
	for in, want := range map[string]string{
		"  a   b  c  ": "a b c",
		"\ta\t":        "a",
		`"a   b"`:      `"a b"`,
		"":             "",
		"   ":          "",
	} {
		if got := string(appendHeaderValue(nil, in)); got != want {
			t.Errorf("appendHeaderValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderValuesNonCanonicalKeys(t *testing.T) {
	h := http.Header{"x-custom": {"b"}, "X-CUSTOM": {"a"}, "X-Amz-Date": {"d"}}
	if got := headerValues(h, "x-amz-date"); len(got) != 1 || got[0] != "d" {
		t.Errorf("headerValues(x-amz-date) = %q", got)
	}
	got := headerValues(h, "x-custom")
	sort.Strings(got)
	if strings.Join(got, ",") != "a,b" {
		t.Errorf("headerValues(x-custom) = %q, want a and b", got)
	}
}
