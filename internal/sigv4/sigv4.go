package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lookup returns the secret access key for an access key id. It returns
// ErrUnknownAccessKey (wrapped or not) when the id is not known; any other
// error is treated as an internal failure. It must be safe for concurrent
// use. Verify does not modify or keep the returned slice.
type Lookup func(accessKeyID string) (secret []byte, err error)

// Options configures a Verifier.
type Options struct {
	// Region is the only region accepted in the credential scope.
	Region string
	// MaxSkew is the allowed difference between the request's date and the
	// server clock, either way. 0 means 5 minutes, what KMS allows; values
	// above 15 minutes, the most any AWS service allows, are refused by New.
	MaxSkew time.Duration
	// Now returns the current time. nil means time.Now; tests pin it.
	Now func() time.Time
}

// Verifier checks SigV4 signatures. It is safe for concurrent use.
type Verifier struct {
	lookup  Lookup
	region  string
	maxSkew time.Duration
	now     func() time.Time
	cache   *keyCache
}

const (
	defaultSkew = 5 * time.Minute
	maxSkew     = 15 * time.Minute
	maxExpires  = 7 * 24 * 60 * 60 // seconds: a signing key is good for a week at most
)

// New returns a Verifier that accepts requests signed for opts.Region by the
// keys that lookup knows.
func New(lookup Lookup, opts Options) (*Verifier, error) {
	if lookup == nil {
		return nil, errors.New("sigv4: nil Lookup")
	}
	if opts.Region == "" {
		return nil, errors.New("sigv4: empty Region")
	}
	skew := opts.MaxSkew
	switch {
	case skew == 0:
		skew = defaultSkew
	case skew < 0 || skew > maxSkew:
		return nil, fmt.Errorf("sigv4: MaxSkew %v out of range (0, %v]", opts.MaxSkew, maxSkew)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Verifier{
		lookup:  lookup,
		region:  opts.Region,
		maxSkew: skew,
		now:     now,
		cache:   newKeyCache(opts.Region),
	}, nil
}

// Result is what a verified request proves.
type Result struct {
	// AccessKeyID is the key that signed the request.
	AccessKeyID string
	// SessionToken is X-Amz-Security-Token (the header, or the query
	// parameter of a presigned request), "" if absent. Verify does not
	// check it; the caller must, against AccessKeyID.
	SessionToken string
	// Region and Service are those of the credential scope.
	Region, Service string
	// SignedAt is the request's X-Amz-Date (or Date).
	SignedAt time.Time
}

// authParams are the signature parameters, from the Authorization header or
// from the query string of a presigned request.
type authParams struct {
	presigned     bool
	credential    string // keyid/date/region/service/aws4_request
	signedHeaders string
	signature     string
	date          string
	dateHeader    string // header the date came from ("x-amz-date" or "date"); "" if presigned
	expires       string // X-Amz-Expires, presigned only
	hasExpires    bool
	token         string
}

// trace receives the canonical requests and strings to sign Verify built,
// for tests: [0] with the normalized path, [1] with the path as sent (built
// only when the two differ and [0] did not match).
type trace struct {
	canonical, stringToSign [2]string
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Verify checks the SigV4 signature of r, whose full body the caller has
// already read into body. service is the SigV4 service name the endpoint
// expects ("kms", "iam", "sts", ...). Header (Authorization:
// AWS4-HMAC-SHA256 ...) and query-string (presigned) authentication are
// both accepted.
//
// A refused request gets an *Error to send to the client as it is. Any
// other error is an internal failure (Lookup failed) to be logged and
// answered with a generic 500.
func (v *Verifier) Verify(r *http.Request, body []byte, service string) (Result, error) {
	return v.verify(r, body, service, nil)
}

func (v *Verifier) verify(r *http.Request, body []byte, service string, tr *trace) (Result, error) {
	path, rawQuery := requestTarget(r)
	var pbuf [8]queryParam
	params, qerr := parseQuery(rawQuery, pbuf[:0])
	if qerr != nil {
		return Result{}, qerr
	}

	ap, perr := parseAuth(r, params)
	if perr != nil {
		return Result{}, perr
	}

	// The host must be signed, or a signature for one endpoint would be
	// good for any other that shares the key.
	if !listHas(ap.signedHeaders, "host") {
		return Result{}, invalid(msgHostNotSigned)
	}
	if ap.dateHeader != "" && !listHas(ap.signedHeaders, ap.dateHeader) {
		return Result{}, invalid("'" + http.CanonicalHeaderKey(ap.dateHeader) + "' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// Every X-Amz-* header must be signed too. For KMS this is what binds
	// the operation: X-Amz-Target names it, and an unsigned target would let
	// anyone replay a captured DisableKey body as ScheduleKeyDeletion. The
	// session token is the exception AWS makes (STS clients may add it after
	// signing; the test suite's post-sts-header-after case); the caller
	// validates it against the access key anyway.
	for k := range r.Header {
		if len(k) > 6 && strings.EqualFold(k[:6], "x-amz-") && !strings.EqualFold(k, "X-Amz-Security-Token") &&
			!listHas(ap.signedHeaders, k) {
			return Result{}, invalid("'" + k + "' must be a 'SignedHeader' in the AWS Authorization.")
		}
	}

	t, stsDate, ok := parseDate(ap.date, ap.dateHeader == "date")
	if !ok {
		return Result{}, incomplete("Date must be in ISO-8601 'basic format'. Got '" + ap.date + "'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	var expires int64
	if ap.hasExpires {
		n, err := strconv.ParseInt(ap.expires, 10, 64)
		switch {
		case err != nil:
			return Result{}, incomplete(msgExpiresNumber)
		case n < 0:
			return Result{}, incomplete(msgExpiresNegative)
		case n > maxExpires:
			return Result{}, incomplete(msgExpiresWeek)
		}
		expires = n
	}

	now := v.now().UTC()
	if t.Before(now.Add(-v.maxSkew)) {
		return Result{}, expiredError(t, now, v.maxSkew)
	}
	if t.After(now.Add(v.maxSkew)) {
		return Result{}, notYetCurrentError(t, now, v.maxSkew)
	}
	// A presigned request is also bounded by its own X-Amz-Expires. (AWS
	// services other than S3 ignore it and apply only the skew window; a
	// shorter lifetime the signer asked for is honoured here.)
	if ap.hasExpires && now.After(t.Add(time.Duration(expires)*time.Second)) {
		return Result{}, invalid(msgRequestExpired)
	}

	if strings.Count(ap.credential, "/") != 4 {
		return Result{}, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + ap.credential + "'")
	}
	accessKeyID, scope, _ := strings.Cut(ap.credential, "/")
	scopeDate, rest, _ := strings.Cut(scope, "/")
	scopeRegion, rest, _ := strings.Cut(rest, "/")
	scopeService, term, _ := strings.Cut(rest, "/")
	if scopeRegion != v.region || scopeService != service || term != "aws4_request" || scopeDate != stsDate[:8] {
		return Result{}, scopeError(scopeDate, scopeRegion, scopeService, term, v.region, service, stsDate)
	}

	secret, err := v.lookup(accessKeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return Result{}, unrecognized()
		}
		return Result{}, fmt.Errorf("sigv4: looking up access key: %w", err)
	}
	if len(secret) == 0 {
		// Anyone can sign with an empty secret; never accept that.
		return Result{}, errors.New("sigv4: Lookup returned an empty secret")
	}

	bodySum := sha256.Sum256(body)
	var bodyHash [2 * sha256.Size]byte
	hex.Encode(bodyHash[:], bodySum[:])
	// The payload hash in the canonical request is always the hash of the
	// body that arrived. A client-supplied X-Amz-Content-Sha256 must agree
	// with it; UNSIGNED-PAYLOAD and the streaming forms never do.
	if vs := headerValues(r.Header, "x-amz-content-sha256"); len(vs) > 0 && vs[0] != string(bodyHash[:]) {
		return Result{}, invalid(msgContentSHA)
	}
	if ap.presigned {
		if p, ok := param(params, "X-Amz-Content-Sha256"); ok && p != string(bodyHash[:]) {
			return Result{}, invalid(msgContentSHA)
		}
	}

	key := v.cache.signingKey(accessKeyID, scopeDate, service, secret)
	query := canonicalQuery(params, ap.presigned)

	bp := bufPool.Get().(*[]byte)
	match := v.check(bp, r, path, true, query, &ap, stsDate, scope, &key, bodyHash[:], tr, 0)
	// aws-sdk-go-v2 signs the path as sent, without removing dot segments
	// or repeated slashes; botocore and the test suite normalize it. Both
	// forms are functions of the path on the request line, so trying the
	// second only lets a signature cover the exact path its signer sent.
	if !match && needsNormalizing(path) {
		match = v.check(bp, r, path, false, query, &ap, stsDate, scope, &key, bodyHash[:], tr, 1)
	}
	if cap(*bp) <= 64<<10 { // do not let one huge request pin a huge buffer
		bufPool.Put(bp)
	}
	clear(key[:])
	if !match {
		return Result{}, invalid(msgSignatureMismatch)
	}
	return Result{
		AccessKeyID:  accessKeyID,
		SessionToken: ap.token,
		Region:       v.region,
		Service:      service,
		SignedAt:     t,
	}, nil
}

// check builds the canonical request and the string to sign, signs it with
// key and compares the result with the client's signature in constant time.
func (v *Verifier) check(bp *[]byte, r *http.Request, path string, normalize bool, query string, ap *authParams,
	stsDate, scope string, key *[sha256.Size]byte, bodyHash []byte, tr *trace, slot int) bool {
	b := appendCanonicalRequest((*bp)[:0], r, path, normalize, query, ap.signedHeaders, bodyHash)
	creqSum := sha256.Sum256(b)
	if tr != nil {
		tr.canonical[slot] = string(b)
	}

	// String to sign, after 64 bytes that macPrefixed uses for the HMAC pad.
	b = append(b[:0], make([]byte, 64)...)
	b = append(b, "AWS4-HMAC-SHA256\n"...)
	b = append(b, stsDate...)
	b = append(b, '\n')
	b = append(b, scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, creqSum[:])
	if tr != nil {
		tr.stringToSign[slot] = string(b[64:])
	}
	mac := macPrefixed(key, b)
	*bp = b

	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	clear(mac[:])
	if len(ap.signature) != len(want) {
		return false // the length of a signature is no secret
	}
	var got [2 * sha256.Size]byte
	copy(got[:], ap.signature)
	eq := hmac.Equal(want[:], got[:])
	clear(want[:])
	return eq
}

func scopeError(date, region, service, term, wantRegion, wantService, stsDate string) *Error {
	// AWS reports every mismatch at once, each sentence followed by a space.
	var b strings.Builder
	if region != wantRegion {
		b.WriteString("Credential should be scoped to a valid region, not '" + region + "'. ")
	}
	if service != wantService {
		b.WriteString("Credential should be scoped to correct service: '" + wantService + "'. ")
	}
	if term != "aws4_request" {
		b.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + term + "'. ")
	}
	if date != stsDate[:8] {
		b.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			date + "' != '" + stsDate[:8] + "', from '" + stsDate + "'. ")
	}
	return invalid(b.String())
}

const algorithm = "AWS4-HMAC-SHA256"

// parseAuth finds the signature parameters in the Authorization header or,
// for a presigned request, in the query string.
func parseAuth(r *http.Request, params []queryParam) (authParams, *Error) {
	authz := firstHeader(r.Header, "authorization")
	alg, presigned := param(params, "X-Amz-Algorithm")
	switch {
	case authz != "" && presigned:
		return authParams{}, invalid(msgBothAuth)
	case presigned:
		return parseQueryAuth(params, alg)
	case authz != "":
		return parseHeaderAuth(r.Header, authz)
	}
	return authParams{}, missingToken()
}

// parseAuthorization parses the value of an Authorization header:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// Parameters may be separated by commas, spaces or both; unknown ones are
// ignored and a repeated one takes its last value. missing lists, in AWS's
// words, the required parameters that are absent or empty.
func parseAuthorization(authz string) (p authParams, missing string, err *Error) {
	s := strings.TrimLeft(authz, " ")
	alg, rest := s, ""
	if i := strings.IndexAny(s, " ,"); i >= 0 {
		alg, rest = s[:i], s[i+1:]
	}
	if alg != algorithm {
		// Some other scheme (or SigV2) is no AWS4 authentication at all;
		// an AWS4 variant we do not implement is a bad signature.
		if strings.HasPrefix(alg, "AWS4-") {
			return p, "", incomplete("Unsupported AWS 'algorithm': '" + alg + "' (only AWS4-HMAC-SHA256 for now). ")
		}
		return p, "", missingToken()
	}
	for rest != "" {
		tok := rest
		if i := strings.IndexAny(rest, " ,"); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if tok == "" {
			continue
		}
		k, val, ok := strings.Cut(tok, "=")
		if !ok {
			return p, "", incomplete("'" + tok + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" + authz + "'.")
		}
		switch k {
		case "Credential":
			p.credential = val
		case "SignedHeaders":
			p.signedHeaders = val
		case "Signature":
			p.signature = val
		}
	}
	if p.credential == "" {
		missing += "Authorization header requires 'Credential' parameter. "
	}
	if p.signature == "" {
		missing += "Authorization header requires 'Signature' parameter. "
	}
	if p.signedHeaders == "" {
		missing += "Authorization header requires 'SignedHeaders' parameter. "
	}
	return p, missing, nil
}

func parseHeaderAuth(h http.Header, authz string) (authParams, *Error) {
	p, missing, err := parseAuthorization(authz)
	if err != nil {
		return p, err
	}
	if p.date = firstHeader(h, "x-amz-date"); p.date != "" {
		p.dateHeader = "x-amz-date"
	} else if p.date = firstHeader(h, "date"); p.date != "" {
		p.dateHeader = "date"
	} else {
		missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
	}
	if missing != "" {
		return p, incomplete(missing + "Authorization=" + authz)
	}
	p.token = firstHeader(h, "x-amz-security-token")
	return p, nil
}

func parseQueryAuth(params []queryParam, alg string) (authParams, *Error) {
	if alg != algorithm {
		return authParams{}, missingToken()
	}
	p := authParams{presigned: true}
	var missing string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"X-Amz-Credential", &p.credential},
		{"X-Amz-Signature", &p.signature},
		{"X-Amz-SignedHeaders", &p.signedHeaders},
		{"X-Amz-Date", &p.date},
	} {
		if *f.dst, _ = param(params, f.name); *f.dst == "" {
			missing += "AWS query-string parameters must include '" + f.name + "'. "
		}
	}
	if missing != "" {
		return p, incomplete(missing + msgReexamineQuery)
	}
	p.expires, p.hasExpires = param(params, "X-Amz-Expires")
	p.token, _ = param(params, "X-Amz-Security-Token")
	return p, nil
}

// parseDate parses an X-Amz-Date value (ISO 8601 basic format, UTC) or,
// with httpDate set, a Date header in any HTTP date format. It returns the
// time and its basic-format text, which goes into the string to sign.
func parseDate(s string, httpDate bool) (time.Time, string, bool) {
	if t, ok := parseBasic(s); ok {
		return t, s, true
	}
	if httpDate {
		if t, err := http.ParseTime(s); err == nil {
			t = t.UTC()
			return t, t.Format(amzTime), true
		}
	}
	return time.Time{}, "", false
}

// parseBasic parses exactly YYYYMMDD'T'HHMMSS'Z'. It is written out rather
// than done with time.Parse to be strict (time.Parse accepts some
// out-of-range fields) and fast.
func parseBasic(s string) (time.Time, bool) {
	if len(s) != 16 || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[4:6])
	day, ok3 := num(s[6:8])
	hour, ok4 := num(s[9:11])
	minute, ok5 := num(s[11:13])
	sec, ok6 := num(s[13:15])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	// time.Date normalizes out-of-range fields (month 13, Feb 30); a date
	// that does not survive the round trip is not a date.
	if t.Year() != year || int(t.Month()) != month || t.Day() != day ||
		t.Hour() != hour || t.Minute() != minute || t.Second() != sec {
		return time.Time{}, false
	}
	return t, true
}
