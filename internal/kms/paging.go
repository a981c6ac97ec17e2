package kms

import "encoding/base64"

// Markers are opaque to clients: the base64url of the last item returned.
// Paging resumes strictly after that item in key order, so items inserted
// while a client pages never cause duplicates or skip existing items.
func encodeMarker(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

func decodeMarker(m *string) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*m)
	if err != nil || len(b) == 0 {
		return "", errf(CodeInvalidMarker, "Invalid marker")
	}
	return string(b), nil
}

func limitOr(l *int32, def int) int {
	if l == nil {
		return def
	}
	return int(*l)
}
