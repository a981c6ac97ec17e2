package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"time"
)

// This file is a minimal AWS Signature Version 4 signer for header
// authentication, written against the standard library so that its cost is
// small and shows up plainly in a profile. It signs only what the load
// generator sends: a fixed path, no query string, single-valued headers whose
// values need no trimming. It is not a general-purpose signer.

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
)

// header is one signed header: a lower-case name and its value as sent.
type header struct {
	name, value string
}

// credentials are an AWS access key.
type credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// signer signs requests for one access key, region and service. It caches
// the derived signing key for the current day and keeps its hashes and
// buffers between calls, so that a signature costs two SHA-256 passes over a
// few hundred bytes and no allocation besides the returned string.
//
// A signer is not safe for concurrent use: each worker has its own.
type signer struct {
	creds   credentials
	region  string
	service string

	day  string    // YYYYMMDD of the cached signing key; "" before the first use
	mac  hash.Hash // HMAC-SHA256 keyed with the signing key for day
	sha  hash.Hash
	sum  [sha256.Size]byte
	buf  []byte
	auth []byte
}

func newSigner(c credentials, region, service string) *signer {
	return &signer{
		creds:   c,
		region:  region,
		service: service,
		sha:     sha256.New(),
		buf:     make([]byte, 0, 1024),
		auth:    make([]byte, 0, 256),
	}
}

// signingKey derives the SigV4 signing key for a day (YYYYMMDD).
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// keyFor makes the cached MAC the one for day, deriving the key only when
// the day changes (the derivation is four HMACs and several allocations).
func (s *signer) keyFor(day string) {
	if s.day == day && s.mac != nil {
		s.mac.Reset()
		return
	}
	s.day = day
	s.mac = hmac.New(sha256.New, signingKey(s.creds.SecretAccessKey, day, s.region, s.service))
}

// appendCanonicalRequest appends the canonical request. hdrs must be sorted
// by name; payloadHash is the lower-case hex SHA-256 of the body.
func appendCanonicalRequest(b []byte, method, path string, hdrs []header, payloadHash string) []byte {
	b = append(b, method...)
	b = append(b, '\n')
	b = append(b, path...)
	b = append(b, '\n', '\n') // empty canonical query string
	for _, h := range hdrs {
		b = append(b, h.name...)
		b = append(b, ':')
		b = append(b, h.value...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = appendSignedHeaders(b, hdrs)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	return b
}

func appendSignedHeaders(b []byte, hdrs []header) []byte {
	for i, h := range hdrs {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h.name...)
	}
	return b
}

// appendStringToSign appends the string to sign for a canonical request
// whose SHA-256 is creqSum.
func (s *signer) appendStringToSign(b []byte, amzDate string, creqSum []byte) []byte {
	b = append(b, sigAlgorithm+"\n"...)
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = s.appendScope(b, amzDate[:8])
	b = append(b, '\n')
	return hex.AppendEncode(b, creqSum)
}

func (s *signer) appendScope(b []byte, day string) []byte {
	b = append(b, day...)
	b = append(b, '/')
	b = append(b, s.region...)
	b = append(b, '/')
	b = append(b, s.service...)
	return append(b, "/aws4_request"...)
}

// authorization returns the Authorization header value for a request. hdrs
// are the signed headers, sorted by name, with x-amz-date among them equal
// to amzDate (YYYYMMDD'T'HHMMSS'Z').
func (s *signer) authorization(method, path string, hdrs []header, amzDate, payloadHash string) string {
	s.buf = appendCanonicalRequest(s.buf[:0], method, path, hdrs, payloadHash)
	s.sha.Reset()
	s.sha.Write(s.buf)
	creqSum := s.sha.Sum(s.sum[:0])

	s.buf = s.appendStringToSign(s.buf[:0], amzDate, creqSum)
	s.keyFor(amzDate[:8])
	s.mac.Write(s.buf)
	sig := s.mac.Sum(s.sum[:0])

	b := append(s.auth[:0], sigAlgorithm+" Credential="...)
	b = append(b, s.creds.AccessKeyID...)
	b = append(b, '/')
	b = s.appendScope(b, amzDate[:8])
	b = append(b, ", SignedHeaders="...)
	b = appendSignedHeaders(b, hdrs)
	b = append(b, ", Signature="...)
	b = hex.AppendEncode(b, sig)
	s.auth = b
	return string(b)
}

// payloadHash returns the lower-case hex SHA-256 of body.
func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// dateCache formats X-Amz-Date once per second rather than once per request.
type dateCache struct {
	unix int64
	text string
}

func (d *dateCache) format(t time.Time) string {
	t = t.UTC()
	if u := t.Unix(); u != d.unix || d.text == "" {
		d.unix = u
		d.text = t.Format(amzDateFmt)
	}
	return d.text
}
