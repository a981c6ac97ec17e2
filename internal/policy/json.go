package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The policy grammar needs more than encoding/json gives by default: it
// must refuse duplicate keys ("Individual elements must not contain multiple
// instances of the same key",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html#policies-grammar-notes)
// and keep the order and JSON type of every value so that MarshalJSON can
// write the document back. So the document is read token by token into a
// small ordered tree.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jBool:
		return "a Boolean"
	case jNum:
		return "a number"
	case jStr:
		return "a string"
	case jArr:
		return "an array"
	default:
		return "an object"
	}
}

type jval struct {
	kind jkind
	s    string // string value, number text, or "true"/"false"
	arr  []*jval
	keys []string
	vals []*jval
}

// get returns the member named k of an object.
func (v *jval) get(k string) *jval {
	for i, key := range v.keys {
		if key == k {
			return v.vals[i]
		}
	}
	return nil
}

// maxDepth bounds nesting. The deepest valid policy (document, Statement
// array, statement, Condition, operator, key, value array, value) is 8 deep.
const maxDepth = 32

func decodeJSON(doc []byte) (*jval, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed("The policy document has data after the end of its top-level JSON object.")
	}
	return v, nil
}

func syntaxErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return malformedf("The policy document is not valid JSON: %s (at byte offset %d).", se.Error(), se.Offset)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return malformed("The policy document is not valid JSON: it ends before its top-level object is closed.")
	}
	return malformedf("The policy document is not valid JSON: %s.", err.Error())
}

func readValue(dec *json.Decoder, depth int) (*jval, error) {
	if depth > maxDepth {
		return nil, malformed("The policy document nests JSON values too deeply.")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(err)
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := &jval{kind: jObj}
			var seen map[string]bool
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxErr(err)
				}
				k, _ := kt.(string)
				if len(v.keys) >= 8 && seen == nil {
					seen = make(map[string]bool, 16)
					for _, key := range v.keys {
						seen[key] = true
					}
				}
				dup := false
				if seen != nil {
					dup = seen[k]
					seen[k] = true
				} else {
					for _, key := range v.keys {
						if key == k {
							dup = true
						}
					}
				}
				if dup {
					return nil, malformedf("The policy document contains the element %s more than once in the same JSON object.", quote(k))
				}
				child, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, child)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(err)
			}
			return v, nil
		case '[':
			v := &jval{kind: jArr}
			for dec.More() {
				child, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, child)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(err)
			}
			return v, nil
		}
		return nil, malformed("The policy document is not valid JSON.")
	case string:
		return &jval{kind: jStr, s: t}, nil
	case json.Number:
		return &jval{kind: jNum, s: string(t)}, nil
	case bool:
		return &jval{kind: jBool, s: strconv.FormatBool(t)}, nil
	case nil:
		return &jval{kind: jNull}, nil
	}
	return nil, malformed("The policy document is not valid JSON.")
}

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone, so documents keep the bytes their authors wrote. With
// latin1 set it escapes every character above U+00FF, so that the result
// stays within the key policy character set; such characters can only have
// reached a key policy as \u escapes, so the output is no longer than the
// input was.
func appendString(b []byte, s string, latin1 bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		valid := r != utf8.RuneError || w > 1 // invalid UTF-8 becomes \ufffd
		if valid && (!latin1 || r <= 0xff) {
			b = append(b, s[i-w:i]...)
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			b = appendU(b, r1)
			b = appendU(b, r2)
		} else {
			b = appendU(b, r)
		}
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}

// quote quotes s for an error message.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return string(appendString(nil, s, false))
}
