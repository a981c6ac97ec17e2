package blob

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"testing"
	"testing/iotest"
)

const testKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

var testHeader = Header{KeyID: testKeyID, KeyVersion: 7}

func testMaterial(b byte) Secret {
	return NewSecret(bytes.Repeat([]byte{b}, MaterialSize))
}

func mustSeal(t testing.TB, material Secret, h Header, plaintext []byte, ctx map[string]string) []byte {
	t.Helper()
	blob, err := Seal(rand.Reader, material, h, plaintext, ctx)
	if err != nil {
		t.Fatalf("Seal(%q) = %v, want nil error", plaintext, err)
	}
	return blob
}

var testContexts = []map[string]string{
	nil,
	{},
	{"purpose": "test"},
	{"tenant": "acme", "env": "prod", "": "empty key", "empty value": ""},
	{"région": "Zürich", "名前": "値", "emoji": "🔑", "nul\x00key": "nul\x00value"},
}

func TestSealOpen(t *testing.T) {
	material := testMaterial(1)
	plaintexts := [][]byte{{}, {0x42}, bytes.Repeat([]byte("0123456789abcdef"), 256)} // 0, 1, 4096 bytes
	for _, pt := range plaintexts {
		for _, ctx := range testContexts {
			blob := mustSeal(t, material, testHeader, pt, ctx)
			if len(blob) != len(pt)+Overhead {
				t.Errorf("len(Seal(%d bytes)) = %d, want %d", len(pt), len(blob), len(pt)+Overhead)
			}
			if cap(blob) != len(blob) {
				t.Errorf("cap(Seal(%d bytes)) = %d, want %d: the AAD scratch space must not be reachable", len(pt), cap(blob), len(blob))
			}
			got, err := Open(material, blob, ctx)
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("Open(Seal(%.16q, %v)) = %.16q, %v, want %.16q, nil", pt, ctx, got, err, pt)
			}
			if got != nil && cap(got) != len(got) {
				t.Errorf("cap(Open(...)) = %d, want %d", cap(got), len(got))
			}
			h, err := ParseHeader(blob)
			if err != nil || h != testHeader {
				t.Errorf("ParseHeader(Seal(...)) = %+v, %v, want %+v, nil", h, err, testHeader)
			}
		}
	}
}

func TestNilAndEmptyContextAreEqual(t *testing.T) {
	material := testMaterial(1)
	for _, pair := range [][2]map[string]string{{nil, {}}, {{}, nil}} {
		blob := mustSeal(t, material, testHeader, []byte("x"), pair[0])
		if got, err := Open(material, blob, pair[1]); err != nil || string(got) != "x" {
			t.Errorf("Open(sealed with %#v, %#v) = %q, %v, want %q, nil", pair[0], pair[1], got, err, "x")
		}
	}
}

func TestSealDiffers(t *testing.T) {
	material := testMaterial(1)
	a := mustSeal(t, material, testHeader, []byte("same"), nil)
	b := mustSeal(t, material, testHeader, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Errorf("Seal(%q) twice = %x both times, want different blobs", "same", a)
	}
	if bytes.Equal(a[saltOffset:nonceOffset], b[saltOffset:nonceOffset]) {
		t.Errorf("Seal(%q) twice reused salt %x", "same", a[saltOffset:nonceOffset])
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	material := testMaterial(1)
	for _, h := range []Header{
		{KeyID: "00000000-0000-0000-0000-000000000000", KeyVersion: 0},
		{KeyID: "ffffffff-ffff-ffff-ffff-ffffffffffff", KeyVersion: 0xffffffff},
		{KeyID: "0123abcd-4567-89ef-a0b1-c2d3e4f56789", KeyVersion: 1},
	} {
		blob := mustSeal(t, material, h, nil, nil)
		if got, err := ParseHeader(blob); err != nil || got != h {
			t.Errorf("ParseHeader(Seal(%+v)) = %+v, %v, want %+v, nil", h, got, err, h)
		}
	}
}

func TestSealErrors(t *testing.T) {
	tests := []struct {
		name     string
		material Secret
		h        Header
	}{
		{"short material", NewSecret(make([]byte, 16)), testHeader},
		{"long material", NewSecret(make([]byte, 33)), testHeader},
		{"zero Secret", Secret{}, testHeader},
		{"uppercase key id", testMaterial(1), Header{KeyID: strings.ToUpper(testKeyID)}},
		{"braced key id", testMaterial(1), Header{KeyID: "{" + testKeyID + "}"}},
		{"no hyphens", testMaterial(1), Header{KeyID: strings.ReplaceAll(testKeyID, "-", "")}},
		{"hyphen moved", testMaterial(1), Header{KeyID: "1234abc-d12ab-34cd-56ef-1234567890ab"}},
		{"non-hex", testMaterial(1), Header{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ag"}},
		{"alias", testMaterial(1), Header{KeyID: "alias/foo"}},
		{"empty key id", testMaterial(1), Header{}},
	}
	for _, tt := range tests {
		if blob, err := Seal(nil, tt.material, tt.h, []byte("x"), nil); err == nil || blob != nil {
			t.Errorf("Seal(%s) = %x, %v, want nil, error", tt.name, blob, err)
		}
	}
	failing := iotest.ErrReader(errors.New("entropy exhausted"))
	if blob, err := Seal(failing, testMaterial(1), testHeader, []byte("x"), nil); err == nil || blob != nil {
		t.Errorf("Seal(failing rand) = %x, %v, want nil, error", blob, err)
	}
	short := bytes.NewReader(make([]byte, 10))
	if blob, err := Seal(short, testMaterial(1), testHeader, []byte("x"), nil); err == nil || blob != nil {
		t.Errorf("Seal(short rand) = %x, %v, want nil, error", blob, err)
	}
}

// TestOpenTamper flips bits in every byte of a blob in turn, and truncates
// it at every length: each must give ErrInvalid and no plaintext.
func TestOpenTamper(t *testing.T) {
	material := testMaterial(1)
	ctx := map[string]string{"purpose": "tamper"}
	blob := mustSeal(t, material, testHeader, []byte("attack at dawn"), ctx)

	for i := range blob {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			tampered := bytes.Clone(blob)
			tampered[i] ^= mask
			if got, err := Open(material, tampered, ctx); err != ErrInvalid || got != nil {
				t.Errorf("Open(%x) with byte %d ^ %#x = %q, %v, want nil, %v", tampered, i, mask, got, err, ErrInvalid)
			}
		}
	}
	for n := range len(blob) {
		if got, err := Open(material, blob[:n], ctx); err != ErrInvalid || got != nil {
			t.Errorf("Open(%x) truncated to %d = %q, %v, want nil, %v", blob[:n], n, got, err, ErrInvalid)
		}
	}
	extended := append(bytes.Clone(blob), 0)
	if got, err := Open(material, extended, ctx); err != ErrInvalid || got != nil {
		t.Errorf("Open(%x) with a byte appended = %q, %v, want nil, %v", extended, got, err, ErrInvalid)
	}
	if got, err := Open(material, nil, ctx); err != ErrInvalid || got != nil {
		t.Errorf("Open(nil) = %q, %v, want nil, %v", got, err, ErrInvalid)
	}
}

func TestOpenWrongVersion(t *testing.T) {
	material := testMaterial(1)
	blob := mustSeal(t, material, testHeader, []byte("x"), nil)
	for _, v := range []byte{0x00, 0x02, 0x81, 0xff} {
		b := bytes.Clone(blob)
		b[0] = v
		if got, err := Open(material, b, nil); err != ErrInvalid || got != nil {
			t.Errorf("Open(%x) with version %#x = %q, %v, want nil, %v", b, v, got, err, ErrInvalid)
		}
		if h, err := ParseHeader(b); err != ErrInvalid || h != (Header{}) {
			t.Errorf("ParseHeader(%x) with version %#x = %+v, %v, want {}, %v", b, v, h, err, ErrInvalid)
		}
	}
}

func TestOpenWrongContext(t *testing.T) {
	material := testMaterial(1)
	tests := []struct {
		name      string
		seal, use map[string]string
	}{
		{"extra key", map[string]string{"a": "1"}, map[string]string{"a": "1", "b": "2"}},
		{"missing key", map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1"}},
		{"changed value", map[string]string{"a": "1"}, map[string]string{"a": "2"}},
		{"renamed key", map[string]string{"a": "1"}, map[string]string{"A": "1"}},
		{"none given", map[string]string{"a": "1"}, nil},
		{"none sealed", nil, map[string]string{"a": "1"}},
		{"empty entry", nil, map[string]string{"": ""}},
		{"boundary moved", map[string]string{"a": "bc"}, map[string]string{"ab": "c"}},
		{"key and value swapped", map[string]string{"a": "b"}, map[string]string{"b": "a"}},
		{"entries merged", map[string]string{"a": "b", "c": "d"}, map[string]string{"a": "bcd"}},
		{"length prefix forged", map[string]string{"a": "b"}, map[string]string{"a": "b\x00\x00\x00\x01c\x00\x00\x00\x01d"}},
		{"unicode normal forms", map[string]string{"café": "x"}, map[string]string{"cafe\u0301": "x"}},
	}
	for _, tt := range tests {
		blob := mustSeal(t, material, testHeader, []byte("secret"), tt.seal)
		if got, err := Open(material, blob, tt.use); err != ErrInvalid || got != nil {
			t.Errorf("Open(%s: sealed %q, opened %q) = %q, %v, want nil, %v", tt.name, tt.seal, tt.use, got, err, ErrInvalid)
		}
	}
}

func TestOpenWrongMaterial(t *testing.T) {
	blob := mustSeal(t, testMaterial(1), testHeader, []byte("secret"), nil)
	for _, m := range []Secret{testMaterial(2), testMaterial(0), NewSecret(append(bytes.Repeat([]byte{1}, 31), 0))} {
		if got, err := Open(m, blob, nil); err != ErrInvalid || got != nil {
			t.Errorf("Open(%x) with other material = %q, %v, want nil, %v", blob, got, err, ErrInvalid)
		}
	}
	// A wrong-sized material is the caller's bug and gets its own error,
	// decided before the blob is read.
	for _, m := range []Secret{{}, NewSecret(make([]byte, 16))} {
		if got, err := Open(m, blob, nil); err == nil || errors.Is(err, ErrInvalid) || got != nil {
			t.Errorf("Open(%x) with %d-byte material = %q, %v, want nil, a material-size error", blob, m.Len(), got, err)
		}
	}
}

// TestHeaderIsBound rewrites the key id and version of a blob: the result
// must not open, even under the same material (say, a rotated key version
// that shares material through a bug).
func TestHeaderIsBound(t *testing.T) {
	material := testMaterial(1)
	blob := mustSeal(t, material, testHeader, []byte("secret"), nil)
	other := mustSeal(t, material, Header{KeyID: "00000000-0000-0000-0000-000000000001", KeyVersion: 8}, nil, nil)
	b := bytes.Clone(blob)
	copy(b[:saltOffset], other[:saltOffset])
	if got, err := Open(material, b, nil); err != ErrInvalid || got != nil {
		t.Errorf("Open(%x) with a rewritten key id and version = %q, %v, want nil, %v", b, got, err, ErrInvalid)
	}
}

func TestParseHeaderShort(t *testing.T) {
	blob := mustSeal(t, testMaterial(1), testHeader, nil, nil)
	for n := range len(blob) {
		if h, err := ParseHeader(blob[:n]); err != ErrInvalid || h != (Header{}) {
			t.Errorf("ParseHeader(%x) = %+v, %v, want {}, %v", blob[:n], h, err, ErrInvalid)
		}
	}
}

func TestKeyID(t *testing.T) {
	for _, s := range []string{testKeyID, "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"} {
		id, ok := parseKeyID(s)
		if !ok {
			t.Errorf("parseKeyID(%q) = _, false, want true", s)
			continue
		}
		if got := formatKeyID(&id); got != s {
			t.Errorf("formatKeyID(parseKeyID(%q)) = %q, want %q", s, got, s)
		}
	}
	if id, _ := parseKeyID(testKeyID); !bytes.Equal(id[:], mustHexT(t, "1234abcd12ab34cd56ef1234567890ab")) {
		t.Errorf("parseKeyID(%q) = %x, want the hex digits in order", testKeyID, id)
	}
}

// TestNoAliasing checks that Seal does not keep or modify its inputs and
// that Open's result does not alias the blob.
func TestNoAliasing(t *testing.T) {
	material := testMaterial(1)
	pt := []byte("plaintext")
	ctx := map[string]string{"k": "v"}
	ctxCopy := maps.Clone(ctx)
	blob := mustSeal(t, material, testHeader, pt, ctx)
	if string(pt) != "plaintext" || !maps.Equal(ctx, ctxCopy) {
		t.Fatalf("Seal modified its inputs: %q, %v", pt, ctx)
	}
	before := bytes.Clone(blob)
	got, err := Open(material, blob, ctx)
	if err != nil {
		t.Fatal(err)
	}
	got[0] ^= 0xff
	if !bytes.Equal(blob, before) {
		t.Errorf("modifying Open's result changed the blob")
	}
}

// TestFormatV1KnownAnswer pins format v1: blobs already handed out must stay
// decryptable, so any change to the layout, the KDF label or context, or the
// AAD must fail here. The expected blob was computed from the format comment
// by an independent implementation (Python: hmac, hashlib and pyca
// cryptography's AESGCM), with salt and nonce the bytes 0x00 to 0x2b.
func TestFormatV1KnownAnswer(t *testing.T) {
	const want = "01" + "1234abcd12ab34cd56ef1234567890ab" + "00000007" +
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + // salt
		"202122232425262728292a2b" + // nonce
		"fcfa6b6f533e6c319a6b508509f8" + // ciphertext
		"e2296bd4d4b89cc5999d8b3e86d94a95" // tag
	material := testMaterial(1)
	ctx := map[string]string{"purpose": "golden", "région": "Zürich"}
	plaintext := []byte("hello, keyward")
	var rnd [44]byte
	for i := range rnd {
		rnd[i] = byte(i)
	}
	blob, err := Seal(bytes.NewReader(rnd[:]), material, testHeader, plaintext, ctx)
	if err != nil || hex.EncodeToString(blob) != want {
		t.Errorf("Seal(%q) = %x, %v, want %s, nil", plaintext, blob, err, want)
	}
	if got, err := Open(material, mustHexT(t, want), ctx); err != nil || !bytes.Equal(got, plaintext) {
		t.Errorf("Open(%s) = %q, %v, want %q, nil", want, got, err, plaintext)
	}
}
