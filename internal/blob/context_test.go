package blob

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"testing"
)

// decodeContext is the strict inverse of EncodeContext, for tests: it
// accepts only canonical encodings (keys strictly ascending, no trailing
// bytes), so decode(b) succeeding implies EncodeContext(decode(b)) == b.
func decodeContext(b []byte) (map[string]string, error) {
	errBad := errors.New("bad encoding")
	next := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(len(b)) < uint64(n) {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	if len(b) < 4 {
		return nil, errBad
	}
	count := binary.BigEndian.Uint32(b)
	b = b[4:]
	m := map[string]string{}
	prev := ""
	for i := uint32(0); i < count; i++ {
		k, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 || (i > 0 && k <= prev) {
			return nil, errBad
		}
		m[k], prev = v, k
	}
	if len(b) != 0 {
		return nil, errBad
	}
	return m, nil
}

func TestEncodeContext(t *testing.T) {
	tests := []struct {
		ctx  map[string]string
		want string // hex
	}{
		{nil, "00000000"},
		{map[string]string{}, "00000000"},
		{map[string]string{"": ""}, "00000001" + "00000000" + "00000000"},
		{map[string]string{"a": "bc"}, "00000001" + "00000001" + "61" + "00000002" + "6263"},
		{map[string]string{"ab": "c"}, "00000001" + "00000002" + "6162" + "00000001" + "63"},
		// Sorted bytewise: "B" (0x42) < "a" (0x61) < "é" (0xc3 0xa9).
		{map[string]string{"é": "1", "a": "2", "B": "3"},
			"00000003" + "00000001" + "42" + "00000001" + "33" + "00000001" + "61" + "00000001" + "32" + "00000002" + "c3a9" + "00000001" + "31"},
	}
	for _, tt := range tests {
		got := EncodeContext(tt.ctx)
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("EncodeContext(%q) = %x, want %s", tt.ctx, got, tt.want)
		}
		if len(got) != contextLen(tt.ctx) {
			t.Errorf("contextLen(%q) = %d, want %d", tt.ctx, contextLen(tt.ctx), len(got))
		}
	}
}

// TestEncodeContextInjective checks pairs that naive encodings confuse.
func TestEncodeContextInjective(t *testing.T) {
	ctxs := []map[string]string{
		nil,
		{"": ""},
		{"a": "bc"}, {"ab": "c"}, {"abc": ""}, {"": "abc"},
		{"a": "b", "c": "d"}, {"a": "bcd"}, {"a": "b\x00c\x00d"}, {"a": "b=c,d"},
		{"a": "b", "c": ""}, {"a": "b", "": "c"},
		{"a": "\x00\x00\x00\x01b"}, {"a\x00\x00\x00\x01": "b"},
		{"k": "v"}, {"v": "k"},
	}
	seen := map[string]map[string]string{}
	for _, ctx := range ctxs {
		enc := string(EncodeContext(ctx))
		if prev, ok := seen[enc]; ok && !maps.Equal(prev, ctx) {
			t.Errorf("EncodeContext(%q) = EncodeContext(%q) = %x, want different encodings", ctx, prev, enc)
		}
		seen[enc] = ctx
		if got, err := decodeContext([]byte(enc)); err != nil || !maps.Equal(got, ctx) {
			t.Errorf("decodeContext(EncodeContext(%q)) = %q, %v, want %q, nil", ctx, got, err, ctx)
		}
	}
}

// TestEncodeContextLarge covers maps larger than appendContext's stack array.
func TestEncodeContextLarge(t *testing.T) {
	m := map[string]string{}
	for i := range 100 {
		m[strings.Repeat("k", i)] = strings.Repeat("v", 100-i)
	}
	got, err := decodeContext(EncodeContext(m))
	if err != nil || !maps.Equal(got, m) {
		t.Errorf("decodeContext(EncodeContext(100 entries)) = %d entries, %v, want 100, nil", len(got), err)
	}
}

// mapFromBytes turns fuzz input into a map: fields separated by 0xff,
// taken as key, value, key, value... Keys and values may contain 0x00,
// which naive NUL-separated encodings get wrong.
func mapFromBytes(b []byte) map[string]string {
	if len(b) == 0 {
		return nil
	}
	fields := bytes.Split(b, []byte{0xff})
	m := map[string]string{}
	for i := 0; i < len(fields); i += 2 {
		v := ""
		if i+1 < len(fields) {
			v = string(fields[i+1])
		}
		m[string(fields[i])] = v
	}
	return m
}

func FuzzEncodeContext(f *testing.F) {
	f.Add([]byte("a\xffbc"), []byte("ab\xffc"))
	f.Add([]byte("a\xffb\xffc\xffd"), []byte("a\xffbcd"))
	f.Add([]byte(""), []byte("\xff"))
	f.Add([]byte("k\x00\x00\x00\x01\xffv"), []byte("k\xff\x00\x00\x00\x01v"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ma, mb := mapFromBytes(a), mapFromBytes(b)
		ea, eb := EncodeContext(ma), EncodeContext(mb)
		if got, err := decodeContext(ea); err != nil || !maps.Equal(got, ma) {
			t.Fatalf("decodeContext(EncodeContext(%q)) = %q, %v, want %q, nil", ma, got, err, ma)
		}
		if bytes.Equal(ea, eb) != maps.Equal(ma, mb) {
			t.Fatalf("EncodeContext(%q) = %x, EncodeContext(%q) = %x: equal encodings must mean equal maps", ma, ea, mb, eb)
		}
		// Read a as an encoding too: whatever the strict decoder accepts
		// must be the canonical encoding of what it decodes to.
		if m, err := decodeContext(a); err == nil {
			if re := EncodeContext(m); !bytes.Equal(re, a) {
				t.Fatalf("EncodeContext(decodeContext(%x)) = %x, want the input back", a, re)
			}
		}
	})
}
