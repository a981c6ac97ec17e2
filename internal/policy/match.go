package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Patterns are compiled once at Parse time into tokens so that Evaluate
// matches without building strings: a policy variable is resolved to the
// request's value and compared in place, never substituted into a copy of
// the pattern.

type tokKind uint8

const (
	tLit  tokKind = iota // literal text
	tStar                // * : any run of characters, newlines included
	tOne                 // ? : exactly one character
	tVar                 // ${key} or ${key, 'default'}
)

type tok struct {
	kind   tokKind
	s      string // literal text, or the lower-cased context key of a variable
	def    string // default value of a variable
	hasDef bool
}

// pattern is one compiled string value: an Action, a Resource, or a
// condition value.
type pattern struct {
	raw   string
	toks  []tok
	lit   bool // the whole pattern is toks[0].s (or empty): compare directly
	any   bool // the pattern is exactly "*" with wildcards on
	hasVr bool // the pattern contains a policy variable
}

// compilePattern compiles s. wild turns on the * and ? wildcards; vars turns
// on policy variables and the ${*} ${?} ${$} escapes. See
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
func compilePattern(s string, wild, vars bool) pattern {
	p := pattern{raw: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.toks = append(p.toks, tok{kind: tLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if vars && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end >= 0 {
				inner := s[i+2 : i+2+end]
				i += 2 + end + 1
				switch inner {
				case "*", "?", "$":
					// "use where you need an * (asterisk) character" etc.: the
					// escape is always literal, never a wildcard.
					lit.WriteString(inner)
					continue
				}
				flush()
				t := tok{kind: tVar}
				name := inner
				// ${aws:userid, 'anonymous'}: "separate the variable text
				// and the default value with a comma and space".
				if j := strings.Index(inner, ", '"); j >= 0 && strings.HasSuffix(inner, "'") && len(inner) >= j+4 {
					name = inner[:j]
					t.def = inner[j+3 : len(inner)-1]
					t.hasDef = true
				}
				t.s = strings.ToLower(strings.TrimSpace(name))
				p.toks = append(p.toks, t)
				p.hasVr = true
				continue
			}
		}
		if wild && (c == '*' || c == '?') {
			flush()
			if c == '*' {
				// Collapse runs of stars: they match the same strings.
				if n := len(p.toks); n == 0 || p.toks[n-1].kind != tStar {
					p.toks = append(p.toks, tok{kind: tStar})
				}
			} else {
				p.toks = append(p.toks, tok{kind: tOne})
			}
			i++
			continue
		}
		lit.WriteByte(c)
		i++
	}
	flush()
	switch {
	case len(p.toks) == 0:
		p.lit = true
	case len(p.toks) == 1 && p.toks[0].kind == tLit:
		p.lit = true
	case len(p.toks) == 1 && p.toks[0].kind == tStar:
		p.any = true
	}
	return p
}

// litText returns the literal text of a literal pattern.
func (p *pattern) litText() string {
	if len(p.toks) == 0 {
		return ""
	}
	return p.toks[0].s
}

// resolver looks up policy variables. ok is false when the request has no
// single value for the key.
type resolver interface {
	variable(key string) (string, bool)
}

// match reports whether s matches p. fold compares letters without case.
// A variable the request cannot resolve (and that has no default) makes the
// value match nothing: "any attempt to match it fails"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable).
func (p *pattern) match(s string, fold bool, r resolver) bool {
	if p.any {
		return true
	}
	if p.lit {
		if fold {
			return strings.EqualFold(p.litText(), s)
		}
		return p.litText() == s
	}
	// Iterative wildcard matching with one backtrack point (the last star):
	// linear in practice, O(len(s)*len(toks)) at worst, never exponential.
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(p.toks) {
			t := &p.toks[ti]
			switch t.kind {
			case tStar:
				starTi, starSi = ti, si
				ti++
				continue
			case tOne:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			case tLit:
				if n, ok := hasPrefix(s[si:], t.s, fold); ok {
					si += n
					ti++
					continue
				}
			case tVar:
				v, ok := r.variable(t.s)
				if !ok {
					if !t.hasDef {
						return false
					}
					v = t.def
				}
				if n, ok := hasPrefix(s[si:], v, fold); ok {
					si += n
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		starSi += w
		si = starSi
		ti = starTi + 1
	}
}

// hasPrefix reports whether s starts with prefix, and how many bytes of s the
// prefix covers (which can differ from len(prefix) under case folding).
func hasPrefix(s, prefix string, fold bool) (int, bool) {
	if !fold {
		if strings.HasPrefix(s, prefix) {
			return len(prefix), true
		}
		return 0, false
	}
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0, false
		}
		sr, w := utf8.DecodeRuneInString(s[i:])
		if sr != pr && !equalFoldRune(sr, pr) {
			return 0, false
		}
		i += w
	}
	return i, true
}

func equalFoldRune(a, b rune) bool {
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// arnPattern matches an ARN field by field: "Each of the six colon-delimited
// components of the ARN is checked separately and each can include
// multi-character match wildcards (*) or single-character match wildcards
// (?)" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).
// A pattern with fewer than six components (such as "*") is matched against
// the whole string.
type arnPattern struct {
	whole  pattern
	fields [6]pattern
	split  bool
}

// compileARN compiles s. varsFrom is the first component (0-5) in which
// policy variables are expanded, or 6 for none: the Resource element allows
// variables "only in the resource portion of the ARN" (after the fifth
// colon), ARN condition operators allow them anywhere.
func compileARN(s string, varsFrom int) arnPattern {
	var a arnPattern
	parts, ok := splitARNPattern(s, varsFrom == 0)
	if !ok {
		a.whole = compilePattern(s, true, varsFrom == 0)
		return a
	}
	a.split = true
	for i, f := range parts {
		a.fields[i] = compilePattern(f, true, i >= varsFrom)
	}
	return a
}

func (a *arnPattern) match(s string, r resolver) bool {
	if !a.split {
		return a.whole.match(s, false, r)
	}
	parts, ok := splitARN(s)
	if !ok {
		return false
	}
	for i := range parts {
		if !a.fields[i].match(parts[i], false, r) {
			return false
		}
	}
	return true
}

// splitARNPattern is splitARN for a pattern: with vars set, a colon inside
// a policy variable (${aws:username}) does not split.
func splitARNPattern(s string, vars bool) ([6]string, bool) {
	if !vars || !strings.Contains(s, "${") {
		return splitARN(s)
	}
	var out [6]string
	n, start := 0, 0
	for i := 0; i < len(s) && n < 5; i++ {
		switch s[i] {
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
					i += 2 + end
				}
			}
		case ':':
			out[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	if n < 5 {
		return out, false
	}
	out[5] = s[start:]
	return out, true
}

// splitARN splits s at its first five colons. The sixth component (the
// resource) keeps any further colons.
func splitARN(s string) ([6]string, bool) {
	var out [6]string
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return out, false
		}
		out[i] = s[:j]
		s = s[j+1:]
	}
	out[5] = s
	return out, true
}
