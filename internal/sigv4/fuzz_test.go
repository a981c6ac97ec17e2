package sigv4

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseAuthorization feeds arbitrary Authorization headers to the
// parser and to Verify: neither may panic, and whatever parses completely
// must survive a format -> parse round trip unchanged.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=00")
	f.Add("AWS4-HMAC-SHA256 FooBar, BazBurp")
	f.Add("AWS4-HMAC-SHA512 Credential=x")
	f.Add("AWS4-HMAC-SHA256   ,, Credential==, Signature=a=b")
	f.Add("Bearer token")
	f.Add("")
	v := newTestVerifier(f, nil)
	f.Fuzz(func(t *testing.T, authz string) {
		p, missing, err := parseAuthorization(authz)
		if err == nil && missing == "" {
			formatted := algorithm + " Credential=" + p.credential + ", SignedHeaders=" + p.signedHeaders + ", Signature=" + p.signature
			q, missing2, err2 := parseAuthorization(formatted)
			if err2 != nil || missing2 != "" {
				t.Fatalf("re-parsing %q: %v %q", formatted, err2, missing2)
			}
			if q != p {
				t.Fatalf("round trip of %q: got %+v, want %+v", authz, q, p)
			}
		}

		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		r.Header.Set("X-Amz-Date", "20150830T123600Z")
		r.Header["Authorization"] = []string{authz}
		if _, err := v.Verify(r, []byte("{}"), "kms"); err == nil {
			t.Fatalf("Verify accepted Authorization %q", authz)
		}
	})
}

// FuzzCanonicalRequest builds canonical requests from arbitrary paths,
// queries and header values. Nothing may panic, and the pieces must have
// their canonical shape: escaped paths and queries use only unreserved
// characters, '/', '&', '=' and upper-case %XX; normalized paths have no
// empty, "." or ".." segments; header values are trimmed with single spaces.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("/", "", "value")
	f.Add("/example space/../a//b/./c/", "Param-3=Value3&Param=Value2&%E1%88%B4=Value1", "  a   b  ")
	f.Add("//..//../", "a=%zz&b=%4", "\t\"x  y\"\t")
	f.Add("/\xe1\x88\xb4", "\xe1\x88\xb4=bar&+=+", "")
	v := newTestVerifier(f, nil)
	f.Fuzz(func(t *testing.T, path, query, value string) {
		for _, normalize := range []bool{true, false} {
			p := string(appendCanonicalPath(nil, path, normalize))
			if !strings.HasPrefix(p, "/") && path != "" && path[0] == '/' {
				t.Fatalf("canonical path %q of %q does not start with '/'", p, path)
			}
			checkEscaped(t, "path", p, "/")
			if normalize {
				if strings.Contains(p, "//") {
					t.Fatalf("normalized path %q of %q has an empty segment", p, path)
				}
				for _, seg := range strings.Split(p, "/") {
					if seg == "." || seg == ".." {
						t.Fatalf("normalized path %q of %q has a dot segment", p, path)
					}
				}
			} else if needsNormalizing(path) != (string(appendCanonicalPath(nil, path, true)) != p) {
				t.Fatalf("needsNormalizing(%q) = %v, but normalized %q vs as sent %q",
					path, needsNormalizing(path), appendCanonicalPath(nil, path, true), p)
			}
		}

		if ps, err := parseQuery(query, nil); err == nil {
			cq := canonicalQuery(ps, false)
			checkEscaped(t, "query", cq, "&=")
			// The canonical query is a fixed point: canonicalizing it again
			// changes nothing.
			ps2, err := parseQuery(cq, nil)
			if err != nil {
				t.Fatalf("canonical query %q does not parse: %v", cq, err)
			}
			if cq2 := canonicalQuery(ps2, false); cq2 != cq && len(ps) == len(ps2) {
				t.Fatalf("canonical query of %q is %q, but of that %q", query, cq, cq2)
			}
		}

		hv := string(appendHeaderValue(nil, value))
		if strings.HasPrefix(hv, " ") || strings.HasSuffix(hv, " ") || strings.Contains(hv, "  ") {
			t.Fatalf("header value %q of %q is not trimmed", hv, value)
		}

		// And the whole of Verify, which must refuse (the signature is not
		// valid) without panicking.
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RequestURI = "/" + strings.TrimPrefix(path, "/")
		if query != "" {
			r.RequestURI += "?" + query
		}
		r.Header.Set("My-Header", value)
		r.Header.Set("X-Amz-Date", "20150830T123600Z")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKeyID+"/20150830/"+testRegion+
			"/kms/aws4_request, SignedHeaders=host;my-header;x-amz-date, Signature="+goodSig)
		if _, err := v.Verify(r, nil, "kms"); err == nil {
			t.Fatal("Verify accepted a request with a made-up signature")
		}
	})
}

func checkEscaped(t *testing.T, what, s, extra string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case unreserved(c) || strings.IndexByte(extra, c) >= 0:
		case c == '%' && i+2 < len(s) && strings.IndexByte(upperHex, s[i+1]) >= 0 && strings.IndexByte(upperHex, s[i+2]) >= 0:
			i += 2
		default:
			t.Fatalf("canonical %s %q has unescaped byte %q at %d", what, s, c, i)
		}
	}
}
