package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var exampleCreds = credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}

// TestSignPostVanilla is the post-vanilla case of the AWS SigV4 test suite,
// written out so that it runs even without ../shared/vectors.
func TestSignPostVanilla(t *testing.T) {
	s := newSigner(exampleCreds, "us-east-1", "service")
	const date = "20150830T123600Z"
	hdrs := []header{{"host", "example.amazonaws.com"}, {"x-amz-date", date}}
	got := s.authorization("POST", "/", hdrs, date, payloadHash(nil))
	const want = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
		"SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
	if got != want {
		t.Errorf("authorization(post-vanilla) = %q, want %q", got, want)
	}
	// Again, from the cached signing key.
	if got := s.authorization("POST", "/", hdrs, date, payloadHash(nil)); got != want {
		t.Errorf("authorization(post-vanilla) with cached key = %q, want %q", got, want)
	}
}

// vectorsDir is the SigV4 suite in the shared test material, next to the
// repository checkout.
const vectorsDir = "../../../shared/vectors/sigv4/v4"

// suiteCases are the cases within what the signer supports: path "/", no
// query string, single-valued headers that need no trimming.
var suiteCases = []string{
	"get-vanilla",
	"post-vanilla",
	"post-header-key-case",
	"post-header-key-sort",
	"post-header-value-case",
	"post-x-www-form-urlencoded",
	"get-vanilla-with-session-token",
	"post-sts-header-before",
}

func TestSignSuite(t *testing.T) {
	if _, err := os.Stat(vectorsDir); err != nil {
		t.Skipf("SigV4 test suite not found at %s: %v", vectorsDir, err)
	}
	for _, name := range suiteCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(vectorsDir, name)
			read := func(f string) string {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			var ctx struct {
				Credentials struct {
					AccessKeyID     string `json:"access_key_id"`
					SecretAccessKey string `json:"secret_access_key"`
					Token           string `json:"token"`
				}
				Region, Service, Timestamp string
				SignBody                   bool `json:"sign_body"`
			}
			if err := json.Unmarshal([]byte(read("context.json")), &ctx); err != nil {
				t.Fatal(err)
			}
			ts, err := time.Parse(time.RFC3339, ctx.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			date := ts.UTC().Format(amzDateFmt)

			method, path, hdrs, body := parseRawRequest(t, read("request.txt"))
			hash := payloadHash(body)
			hdrs = append(hdrs, header{"x-amz-date", date})
			if ctx.SignBody {
				hdrs = append(hdrs, header{"x-amz-content-sha256", hash})
			}
			if ctx.Credentials.Token != "" {
				hdrs = append(hdrs, header{"x-amz-security-token", ctx.Credentials.Token})
			}
			slices.SortFunc(hdrs, func(a, b header) int { return strings.Compare(a.name, b.name) })

			s := newSigner(credentials{
				AccessKeyID:     ctx.Credentials.AccessKeyID,
				SecretAccessKey: ctx.Credentials.SecretAccessKey,
				SessionToken:    ctx.Credentials.Token,
			}, ctx.Region, ctx.Service)

			creq := string(appendCanonicalRequest(nil, method, path, hdrs, hash))
			if want := read("header-canonical-request.txt"); creq != want {
				t.Errorf("canonical request = %q, want %q", creq, want)
			}
			sum := sha256Sum([]byte(creq))
			if got, want := string(s.appendStringToSign(nil, date, sum)), read("header-string-to-sign.txt"); got != want {
				t.Errorf("string to sign = %q, want %q", got, want)
			}
			auth := s.authorization(method, path, hdrs, date, hash)
			if want := signedAuthorization(t, read("header-signed-request.txt")); auth != want {
				t.Errorf("authorization = %q, want %q", auth, want)
			}
			if want := strings.TrimSpace(read("header-signature.txt")); !strings.HasSuffix(auth, "Signature="+want) {
				t.Errorf("authorization = %q, want signature %s", auth, want)
			}
		})
	}
}

// parseRawRequest reads a suite request.txt: request line, "Name:value"
// headers, blank line, body.
func parseRawRequest(t *testing.T, raw string) (method, path string, hdrs []header, body []byte) {
	t.Helper()
	// A request without a body may end right after its last header.
	head, b, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(strings.TrimSuffix(head, "\n"), "\n")
	f := strings.Fields(lines[0])
	if len(f) != 3 {
		t.Fatalf("bad request line %q", lines[0])
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		hdrs = append(hdrs, header{strings.ToLower(k), v})
	}
	return f[0], f[1], hdrs, []byte(b)
}

func signedAuthorization(t *testing.T, signed string) string {
	t.Helper()
	for l := range strings.SplitSeq(signed, "\n") {
		if v, ok := strings.CutPrefix(l, "Authorization:"); ok {
			return v
		}
	}
	t.Fatal("no Authorization line in header-signed-request.txt")
	return ""
}

func sha256Sum(b []byte) []byte {
	s := newSigner(credentials{}, "", "")
	s.sha.Write(b)
	return s.sha.Sum(nil)
}

// TestSignDayChange checks that the cached signing key follows the date.
func TestSignDayChange(t *testing.T) {
	cached := newSigner(exampleCreds, "us-east-1", "kms")
	for _, date := range []string{"20150830T235959Z", "20150831T000000Z", "20150831T000001Z", "20150830T120000Z"} {
		hdrs := []header{{"host", "127.0.0.1:7878"}, {"x-amz-date", date}}
		got := cached.authorization("POST", "/", hdrs, date, payloadHash([]byte("{}")))
		want := newSigner(exampleCreds, "us-east-1", "kms").authorization("POST", "/", hdrs, date, payloadHash([]byte("{}")))
		if got != want {
			t.Errorf("authorization at %s with cached key = %q, want %q", date, got, want)
		}
	}
}

func TestDateCache(t *testing.T) {
	var d dateCache
	t0 := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{t0, "20150830T123600Z"},
		{t0.Add(999 * time.Millisecond), "20150830T123600Z"},
		{t0.Add(time.Second), "20150830T123601Z"},
		{t0.In(time.FixedZone("x", 3600)), "20150830T123600Z"},
	} {
		if got := d.format(tc.t); got != tc.want {
			t.Errorf("format(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestLoadCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	const file = "# comment\n[other]\naws_access_key_id = NO\naws_secret_access_key = NO\n\n" +
		"[default]\naws_access_key_id = AKID\n aws_secret_access_key=secret/+= \n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadCredentials(path, "default")
	if want := (credentials{AccessKeyID: "AKID", SecretAccessKey: "secret/+="}); err != nil || got != want {
		t.Errorf("loadCredentials(default) = %+v, %v, want %+v", got, err, want)
	}
	if _, err := loadCredentials(path, "missing"); err == nil {
		t.Errorf("loadCredentials(missing) = nil error, want one")
	}
}

func BenchmarkSign(b *testing.B) {
	b.ReportAllocs()
	s := newSigner(exampleCreds, "us-east-1", "kms")
	var d dateCache
	hdrs := []header{
		{"content-type", "application/x-amz-json-1.1"},
		{"host", "127.0.0.1:7878"},
		{"x-amz-date", ""},
		{"x-amz-target", "TrentService.Encrypt"},
	}
	hash := payloadHash([]byte(`{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`))
	for b.Loop() {
		date := d.format(time.Now())
		hdrs[2].value = date
		s.authorization("POST", "/", hdrs, date, hash)
	}
}
