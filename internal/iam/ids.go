package iam

import (
	"crypto/rand"
	"encoding/base64"
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns prefix followed by n random characters of A-Z and 2-7, the
// shape of AWS's ids: "AKIA"+16 and "ASIA"+16 for access keys, "AIDA"+17
// for users, "AROA"+17 for roles.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	out := make([]byte, len(prefix), len(prefix)+n)
	copy(out, prefix)
	for _, c := range b {
		out = append(out, idAlphabet[c&31])
	}
	return string(out)
}

// newSecret returns a 40-character secret access key (30 random bytes).
func newSecret() string {
	var b [30]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// newSessionToken returns a session token: 96 random bytes, base64. Like
// AWS's tokens it is opaque; unlike them it carries nothing, the server
// keeps the session.
func newSessionToken() string {
	var b [96]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
