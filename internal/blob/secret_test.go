package blob

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// secretText is distinctive in every form fmt might print it in.
const secretText = "hunter2-correct-horse-battery-42"

// leaks reports whether out contains the secret in a recognisable form:
// raw, hex, or as fmt prints a byte slice with %v or %d.
func leaks(out string) bool {
	forms := []string{
		secretText,
		fmt.Sprintf("%x", secretText),
		fmt.Sprintf("%X", secretText),
		strings.Trim(fmt.Sprintf("%v", []byte(secretText)), "[]"),
		fmt.Sprintf("% x", secretText),
		"aHVudGVy", // base64 of "hunter"
	}
	for _, f := range forms {
		if strings.Contains(out, f) {
			return true
		}
	}
	return false
}

func TestSecretFormatRedacts(t *testing.T) {
	s := NewSecret([]byte(secretText))
	type exported struct{ Key Secret }
	type unexported struct{ key Secret }
	type nested struct {
		Name  string
		inner unexported
	}
	values := []struct {
		name string
		v    any
	}{
		{"Secret", s},
		{"*Secret", &s},
		{"exported field", exported{s}},
		{"unexported field", unexported{s}},
		{"*unexported field", &unexported{s}},
		{"nested unexported field", nested{"n", unexported{s}}},
		{"slice", []Secret{s}},
		{"map", map[string]Secret{"k": s}},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "% x", "%T"}
	for _, tt := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, tt.v)
			if leaks(out) {
				t.Errorf("Sprintf(%q, %s) = %q, want the key redacted", verb, tt.name, out)
			}
		}
		if out := fmt.Sprint(tt.v) + fmt.Sprintln(tt.v); leaks(out) {
			t.Errorf("Sprint(%s) = %q, want the key redacted", tt.name, out)
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		if got := fmt.Sprintf(verb, s); got != redacted {
			t.Errorf("Sprintf(%q, secret) = %q, want %q", verb, got, redacted)
		}
	}
	if got := s.String(); got != redacted {
		t.Errorf("String() = %q, want %q", got, redacted)
	}
	if got := s.GoString(); got != redacted {
		t.Errorf("GoString() = %q, want %q", got, redacted)
	}
	if err := fmt.Errorf("wrapping %v", s); leaks(err.Error()) {
		t.Errorf("fmt.Errorf(%%v, secret) = %q, want the key redacted", err)
	}
}

func TestSecretMarshalRefuses(t *testing.T) {
	s := NewSecret([]byte(secretText))
	type wrapper struct {
		Key Secret `json:"key" xml:"key"`
	}
	tests := []struct {
		name    string
		marshal func() ([]byte, error)
	}{
		{"json.Marshal(Secret)", func() ([]byte, error) { return json.Marshal(s) }},
		{"json.Marshal(*Secret)", func() ([]byte, error) { return json.Marshal(&s) }},
		{"json.Marshal(struct)", func() ([]byte, error) { return json.Marshal(wrapper{s}) }},
		{"json.Marshal(map)", func() ([]byte, error) { return json.Marshal(map[string]Secret{"k": s}) }},
		{"xml.Marshal(struct)", func() ([]byte, error) { return xml.Marshal(wrapper{s}) }},
		{"MarshalText", s.MarshalText},
		{"MarshalBinary", s.MarshalBinary},
		{"MarshalJSON", s.MarshalJSON},
		{"gob", func() ([]byte, error) {
			var buf bytes.Buffer
			err := gob.NewEncoder(&buf).Encode(wrapper{s})
			return buf.Bytes(), err
		}},
	}
	for _, tt := range tests {
		out, err := tt.marshal()
		if err == nil {
			t.Errorf("%s = %q, nil, want an error", tt.name, out)
		}
		if leaks(string(out)) || (err != nil && leaks(err.Error())) {
			t.Errorf("%s = %q, %v: leaks the key", tt.name, out, err)
		}
	}
}

func TestSecretSlogRedacts(t *testing.T) {
	s := NewSecret([]byte(secretText))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("msg", "key", s, "ptr", &s)
		l.Info("msg", slog.Any("key", s), slog.Group("g", "key", s))
		l.Info("msg", "struct", struct{ K Secret }{s})
	}
	out := buf.String()
	if leaks(out) {
		t.Errorf("slog output = %q, want the key redacted", out)
	}
	if !strings.Contains(out, redacted) {
		t.Errorf("slog output = %q, want it to contain %q", out, redacted)
	}
	if v := s.LogValue(); v.String() != redacted {
		t.Errorf("LogValue() = %v, want %q", v, redacted)
	}
}

func TestSecret(t *testing.T) {
	raw := []byte(secretText)
	s := NewSecret(raw)
	raw[0] = 'X'
	if got := string(s.Expose()); got != secretText {
		t.Errorf("NewSecret did not copy: Expose() = %q, want %q", got, secretText)
	}
	if got := s.Len(); got != len(secretText) {
		t.Errorf("Len() = %d, want %d", got, len(secretText))
	}

	exposed := s.Expose()
	cp := s
	cp.Destroy()
	if !bytes.Equal(exposed, make([]byte, len(exposed))) {
		t.Errorf("after Destroy the bytes are %q, want zeros", exposed)
	}
	if s.Len() != 0 || s.Expose() != nil {
		t.Errorf("after Destroy of a copy, Len() = %d, Expose() = %q, want 0, nil", s.Len(), s.Expose())
	}
	cp.Destroy() // twice is fine

	var zero Secret
	zero.Destroy()
	if zero.Len() != 0 || zero.Expose() != nil || zero.String() != redacted {
		t.Errorf("zero Secret: Len() = %d, Expose() = %q, String() = %q, want 0, nil, %q", zero.Len(), zero.Expose(), zero.String(), redacted)
	}
}
