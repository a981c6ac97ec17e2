package iam

import (
	"strings"
	"testing"
)

// FuzzParseRoleARN: no panics, and whatever parses is a role ARN of a
// 12-digit account whose last path segment is the name.
func FuzzParseRoleARN(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/a/b/c", "arn:aws:iam::1:role/x", "arn:aws:iam::111122223333:role/", "arn:aws:iam::111122223333:user/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		acct, name, ok := parseRoleARN("aws", s)
		if !ok {
			return
		}
		if !isAccountID(acct) || name == "" || strings.Contains(name, "/") || !strings.HasSuffix(s, "/"+name) ||
			!strings.HasPrefix(s, "arn:aws:iam::"+acct+":role/") {
			t.Errorf("parseRoleARN(%q) = %q, %q", s, acct, name)
		}
	})
}
