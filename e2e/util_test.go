package e2e

import (
	"strconv"
	"strings"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }
func fmtInt(i int) string         { return strconv.Itoa(i) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
