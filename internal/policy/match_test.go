package policy

import (
	"strings"
	"testing"
	"time"
)

type mapResolver map[string]string

func (m mapResolver) variable(k string) (string, bool) { v, ok := m[k]; return v, ok }

func TestPatternMatch(t *testing.T) {
	r := mapResolver{"aws:username": "alice", "aws:pat": "a*"}
	tests := []struct {
		pat        string
		wild, vars bool
		fold       bool
		s          string
		want       bool
	}{
		{"*", true, false, false, "", true},
		{"*", true, false, false, "anything:at/all", true},
		{"*", false, false, false, "x", false},
		{"*", false, false, false, "*", true},
		{"kms:*", true, false, true, "KMS:Encrypt", true},
		{"kms:Gen*", true, false, true, "kms:GenerateDataKey", true},
		{"kms:?ncrypt", true, false, true, "kms:Encrypt", true},
		{"kms:?ncrypt", true, false, true, "kms:Decrypt", false},
		{"kms:?ncrypt", true, false, true, "kms:ncrypt", false},
		{"a*b*c", true, false, false, "aXbYbZc", true},
		{"a*b*c", true, false, false, "aXbYbZ", false},
		{"a**c", true, false, false, "ac", true},
		{"*a*a*a*a*b", true, false, false, strings.Repeat("a", 200), false}, // no exponential backtracking
		{"?", true, false, false, "é", true},                                // ? is one character, not one byte
		{"??", true, false, false, "é", false},
		{"ÉTÉ*", true, false, true, "été!", true},
		{"K", false, false, true, "\u212a", true}, // Kelvin sign folds to K
		{"abc", false, false, false, "abcd", false},
		{"home/${aws:username}/*", true, true, false, "home/alice/x", true},
		{"home/${aws:username}/*", true, true, false, "home/bob/x", false},
		{"home/${aws:username}", true, false, false, "home/${aws:username}", true}, // vars off: literal
		{"${aws:missing}", false, true, false, "", false},
		{"${aws:missing, 'dflt'}", false, true, false, "dflt", true},
		{"${AWS:UserName}", false, true, false, "alice", true}, // variable names are case-insensitive
		{"${aws:pat}", true, true, false, "abc", false},        // a resolved value is literal
		{"${aws:pat}", true, true, false, "a*", true},
		{"x${*}y${?}z${$}", true, true, false, "x*y?z$", true},
		{"${unterminated", true, true, false, "${unterminated", true},
	}
	for _, tt := range tests {
		p := compilePattern(tt.pat, tt.wild, tt.vars)
		if got := p.match(tt.s, tt.fold, r); got != tt.want {
			t.Errorf("compilePattern(%q, wild=%v, vars=%v).match(%q, fold=%v) = %v, want %v", tt.pat, tt.wild, tt.vars, tt.s, tt.fold, got, tt.want)
		}
	}
}

func TestARNPattern(t *testing.T) {
	r := mapResolver{"aws:username": "alice"}
	tests := []struct {
		pat      string
		varsFrom int
		s        string
		want     bool
	}{
		{"arn:aws:kms:*:111122223333:key/*", 6, keyARN, true},
		{"arn:aws:kms:*:111122223333:key/*", 6, "arn:aws:kms:us-east-1:444455556666:key/x", false},
		{"arn:aws:kms:*:*3333:key/*", 6, keyARN, true},
		{"arn:aws:s3:::bucket/*", 6, "arn:aws:s3:::bucket/a:b:c", true}, // the resource keeps its colons
		{"arn:aws:kms:us-east-1:111122223333:key/${aws:username}", 5, "arn:aws:kms:us-east-1:111122223333:key/alice", true},
		{"arn:aws:kms:${aws:username}:111122223333:key/x", 5, "arn:aws:kms:alice:111122223333:key/x", false},
		{"arn:aws:kms:${aws:username}:111122223333:key/x", 0, "arn:aws:kms:alice:111122223333:key/x", true},
		{"*", 6, "not an arn", true},
		{"arn:aws:kms:*", 6, keyARN, true}, // fewer than six components: whole-string match
		{"arn:aws:kms:*:*:*:*", 6, "arn:aws:kms:r:a:key/x", false},
		{"arn:aws:kms:*:*:*", 6, "arn:aws:kms", false},
	}
	for _, tt := range tests {
		a := compileARN(tt.pat, tt.varsFrom)
		if got := a.match(tt.s, r); got != tt.want {
			t.Errorf("compileARN(%q).match(%q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, s := range []string{"2024-03-01", "2024-03-01T00:00Z", "2024-03-01T00:00:00Z", "2024-03-01T00:00:00.000Z", "2024-03-01T02:00:00+02:00", "1709251200", "2024-03-01T00:00:00"} {
		if got, ok := parseDate(s); !ok || got != want {
			t.Errorf("parseDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	if got, ok := parseDate("2024"); !ok || got != time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("parseDate(2024) = %v, %v; want the year", got, ok)
	}
	for _, s := range []string{"", "-", "now", "2024-13-01", "99999999999999999999"} {
		if _, ok := parseDate(s); ok {
			t.Errorf("parseDate(%q) succeeded", s)
		}
	}
}
