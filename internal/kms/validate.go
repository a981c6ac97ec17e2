package kms

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// validator collects constraint violations in AWS's wording:
//
//	1 validation error detected: Value 'x' at 'keyId' failed to satisfy constraint: Member must ...
//
// Field names are the lower-camel member names AWS reports. Values of
// sensitive members (plaintext, blobs) are never echoed.
type validator struct {
	errs   []string
	tokens []string // grant tokens, checked by err once the constraints hold
}

func (v *validator) add(field string, value *string, constraint string) {
	s := "Value null at '" + field + "'"
	if value != nil {
		s = "Value '" + *value + "' at '" + field + "'"
	}
	v.errs = append(v.errs, s+" failed to satisfy constraint: "+constraint)
}

// addHidden reports a violation without echoing the value, as AWS does for
// sensitive members.
func (v *validator) addHidden(field, constraint string) {
	v.errs = append(v.errs, "Value at '"+field+"' failed to satisfy constraint: "+constraint)
}

// required reports a missing member.
func (v *validator) required(field string, present bool) bool {
	if !present {
		v.add(field, nil, "Member must not be null")
	}
	return present
}

// str checks an optional string's length (in characters) and pattern.
func (v *validator) str(field string, s *string, min, max int, pattern *regexp.Regexp) {
	if s == nil {
		return
	}
	n := utf8.RuneCountInString(*s)
	switch {
	case n < min:
		v.add(field, s, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case n > max:
		v.add(field, s, fmt.Sprintf("Member must have length less than or equal to %d", max))
	case pattern != nil && !pattern.MatchString(*s):
		v.add(field, s, "Member must satisfy regular expression pattern: "+pattern.String())
	}
}

// reqStr is str for a required member.
func (v *validator) reqStr(field string, s *string, min, max int, pattern *regexp.Regexp) {
	if v.required(field, s != nil) {
		v.str(field, s, min, max, pattern)
	}
}

// blob checks a blob's length without echoing it.
func (v *validator) blob(field string, b []byte, required bool, min, max int) {
	if b == nil {
		if required {
			v.add(field, nil, "Member must not be null")
		}
		return
	}
	switch {
	case len(b) < min:
		v.addHidden(field, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case len(b) > max:
		v.addHidden(field, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// num checks an optional integer's range.
func (v *validator) num(field string, n *int32, min, max int32) {
	if n == nil {
		return
	}
	s := fmt.Sprint(*n)
	switch {
	case *n < min:
		v.add(field, &s, fmt.Sprintf("Member must have value greater than or equal to %d", min))
	case *n > max:
		v.add(field, &s, fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

// enum checks an optional string against its allowed values.
func (v *validator) enum(field string, s *string, allowed ...string) {
	if s == nil {
		return
	}
	for _, a := range allowed {
		if *s == a {
			return
		}
	}
	v.add(field, s, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// count checks the number of members of a list or map.
func (v *validator) count(field string, n int, present bool, min, max int) {
	if !present {
		return
	}
	s := "[...]"
	switch {
	case n < min:
		v.add(field, &s, fmt.Sprintf("Member must have length greater than or equal to %d", min))
	case n > max:
		v.add(field, &s, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
}

// grantTokens checks the GrantTokens list common to many operations.
func (v *validator) grantTokens(tokens []string) {
	v.tokens = tokens
	v.count("grantTokens", len(tokens), tokens != nil, 0, 10)
	for i := range tokens {
		v.str(fmt.Sprintf("grantTokens.%d.member", i+1), &tokens[i], 1, 8192, nil)
	}
}

// err returns the validation errors, if any, as AWS words them; then, as
// AWS checks them next, a grant token Keyward did not issue
// (InvalidGrantTokenException).
func (v *validator) err() error {
	switch len(v.errs) {
	case 0:
		return checkGrantTokens(v.tokens)
	case 1:
		return &Error{Code: CodeValidation, Message: "1 validation error detected: " + v.errs[0]}
	default:
		return &Error{Code: CodeValidation, Message: fmt.Sprintf("%d validation errors detected: %s", len(v.errs), strings.Join(v.errs, "; "))}
	}
}

// Shared member constraints from the AWS KMS API model.
var (
	keyIDLen     = [2]int{1, 2048}
	aliasPattern = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)
	markerRE     = regexp.MustCompile(`^[\x{0020}-\x{00FF}]*$`)
)

func (v *validator) keyID(field string, s *string, required bool) {
	if required {
		v.reqStr(field, s, keyIDLen[0], keyIDLen[1], nil)
	} else {
		v.str(field, s, keyIDLen[0], keyIDLen[1], nil)
	}
}

func (v *validator) paging(limit *int32, marker *string, maxLimit int32) {
	v.num("limit", limit, 1, maxLimit)
	v.str("marker", marker, 1, 1024, markerRE)
}
