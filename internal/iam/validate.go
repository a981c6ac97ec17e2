package iam

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Constraints from the IAM and STS API references.
const (
	patName        = `[\w+=,.@-]+`
	patSessionName = `[\w+=,.@-]*`
	patPath        = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	patTagKey      = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	patTagValue    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	patDescription = `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`

	maxTags          = 50
	maxKeysPerUser   = 2
	maxUserPolicyLen = 2048  // aggregate inline policy size of a user
	maxRolePolicyLen = 10240 // aggregate inline policy size of a role
	maxTrustLen      = 2048  // ACLSizePerRole
)

func isNameChar(c rune) bool {
	return c < utf8.RuneSelf && (c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9')
}

// checkName validates a user, role, policy or session name.
func checkName(field, v string, minLen, maxLen int, pattern string) error {
	n := utf8.RuneCountInString(v)
	switch {
	case n < minLen:
		if n == 0 && minLen > 0 {
			return required(field)
		}
		return validation(v, field, "have length greater than or equal to "+strconv.Itoa(minLen))
	case n > maxLen:
		return validation(v, field, "have length less than or equal to "+strconv.Itoa(maxLen))
	}
	for _, c := range v {
		if !isNameChar(c) {
			return validation(v, field, "satisfy regular expression pattern: "+pattern)
		}
	}
	return nil
}

func checkUserName(field, v string) error { return checkName(field, v, 1, 64, patName) }
func checkRoleName(v string) error        { return checkName("roleName", v, 1, 64, patName) }
func checkPolicyName(v string) error      { return checkName("policyName", v, 1, 128, patName) }
func checkSessionName(v string) error     { return checkName("roleSessionName", v, 2, 64, patSessionName) }

// checkPath validates a path; "" means "/".
func checkPath(v string) (string, error) {
	if v == "" {
		return "/", nil
	}
	if len(v) > 512 {
		return "", validation(v, "path", "have length less than or equal to 512")
	}
	ok := v == "/" || len(v) >= 3 && v[0] == '/' && v[len(v)-1] == '/'
	for i := 0; ok && i < len(v); i++ {
		ok = v[i] >= 0x21 && v[i] <= 0x7e
	}
	if !ok {
		return "", validation(v, "path", "satisfy regular expression pattern: "+patPath)
	}
	return v, nil
}

// checkPathPrefix validates a PathPrefix of ListUsers or ListRoles.
func checkPathPrefix(v string) (string, error) {
	if v == "" {
		return "/", nil
	}
	ok := len(v) <= 512 && v[0] == '/'
	for i := 0; ok && i < len(v); i++ {
		ok = v[i] >= 0x21 && v[i] <= 0x7e
	}
	if !ok {
		return "", validation(v, "pathPrefix", `satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	return v, nil
}

func tagChar(c rune) bool {
	return unicode.IsLetter(c) || unicode.In(c, unicode.Z) || unicode.IsNumber(c) ||
		strings.ContainsRune("_.:/=+-@", c)
}

// checkTags validates tags given to a create or tag call. field is "tags".
func checkTags(tags []Tag) error {
	if len(tags) > maxTags {
		return &Error{Code: CodeValidation, Message: "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to " + strconv.Itoa(maxTags)}
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		field := "tags." + strconv.Itoa(i+1) + ".member"
		if n := utf8.RuneCountInString(t.Key); n < 1 {
			return validation(t.Key, field+".key", "have length greater than or equal to 1")
		} else if n > 128 {
			return validation(t.Key, field+".key", "have length less than or equal to 128")
		}
		if utf8.RuneCountInString(t.Value) > 256 {
			return validation(t.Value, field+".value", "have length less than or equal to 256")
		}
		for _, c := range t.Key {
			if !tagChar(c) {
				return validation(t.Key, field+".key", "satisfy regular expression pattern: "+patTagKey)
			}
		}
		for _, c := range t.Value {
			if !tagChar(c) {
				return validation(t.Value, field+".value", "satisfy regular expression pattern: "+patTagValue)
			}
		}
		k := strings.ToLower(t.Key)
		if seen[k] {
			return errf(CodeInvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

// mergeTags sets tags on existing ones; keys match without case and take the
// new key's case, as TagUser and TagRole do.
func mergeTags(old, add []Tag) []Tag {
	out := make([]Tag, 0, len(old)+len(add))
	for _, t := range old {
		replaced := false
		for _, a := range add {
			if strings.EqualFold(a.Key, t.Key) {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return append(out, add...)
}

// removeTags deletes the given keys, compared without case.
func removeTags(old []Tag, keys []string) []Tag {
	out := old[:0:0]
	for _, t := range old {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(k, t.Key) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func checkDescription(v string) error {
	if utf8.RuneCountInString(v) > 1000 {
		return validation(v, "description", "have length less than or equal to 1000")
	}
	for _, c := range v {
		if !(c == '\t' || c == '\n' || c == '\r' || c >= 0x20 && c <= 0x7e || c >= 0xa1 && c <= 0xff) {
			return validation(v, "description", "satisfy regular expression pattern: "+patDescription)
		}
	}
	return nil
}

// checkMaxItems validates MaxItems; 0 means the default, 100.
func checkMaxItems(n int) (int, error) {
	switch {
	case n == 0:
		return 100, nil
	case n < 1:
		return 0, validation(strconv.Itoa(n), "maxItems", "have value greater than or equal to 1")
	case n > 1000:
		return 0, validation(strconv.Itoa(n), "maxItems", "have value less than or equal to 1000")
	}
	return n, nil
}

// policySize is a document's size as IAM counts it against its quotas:
// "IAM does not count white space when calculating the size of a policy".
func policySize(doc string) int {
	n := 0
	for _, c := range doc {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	return n
}
