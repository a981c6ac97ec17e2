package blob

import (
	"bytes"
	"crypto/rand"
	mathrand "math/rand/v2"
	"testing"
)

var fuzzMaterial = testMaterial(9)

// sealDeterministic seals with a fixed salt and nonce stream. The fuzzing
// engine runs the fuzz function's setup in every worker process, and the
// seeds must come out the same in each for FuzzOpen's oracle to hold.
func sealDeterministic(t testing.TB, plaintext []byte, ctx map[string]string) []byte {
	t.Helper()
	blob, err := Seal(mathrand.NewChaCha8([32]byte{'f', 'u', 'z', 'z'}), fuzzMaterial, testHeader, plaintext, ctx)
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

func FuzzOpen(f *testing.F) {
	ctx := map[string]string{"purpose": "fuzz"}
	valid := sealDeterministic(f, []byte("fuzzing plaintext"), ctx)
	empty := sealDeterministic(f, nil, nil)
	f.Add(valid, "fuzz")
	f.Add(empty, "")
	f.Add(valid[:Overhead], "fuzz")
	f.Add(append(bytes.Clone(valid), 0), "fuzz")
	f.Add([]byte{}, "")
	f.Add([]byte{Version1}, "")
	f.Fuzz(func(t *testing.T, blob []byte, purpose string) {
		var c map[string]string
		if purpose != "" {
			c = map[string]string{"purpose": purpose}
		}
		pt, err := Open(fuzzMaterial, blob, c)
		if err != nil {
			if err != ErrInvalid || pt != nil {
				t.Fatalf("Open(%x) = %q, %v, want nil, %v or success", blob, pt, err, ErrInvalid)
			}
			return
		}
		// Forging GCM is out of the fuzzer's reach: success means it
		// found one of the seeds, unchanged.
		if !(bytes.Equal(blob, valid) && purpose == "fuzz" && string(pt) == "fuzzing plaintext") &&
			!(bytes.Equal(blob, empty) && purpose == "" && len(pt) == 0) {
			t.Fatalf("Open(%x, purpose %q) = %q, nil: accepted a blob that was never sealed", blob, purpose, pt)
		}
		if _, err := ParseHeader(blob); err != nil {
			t.Fatalf("ParseHeader(%x) = %v after Open succeeded", blob, err)
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add(mustSeal(f, fuzzMaterial, testHeader, []byte("x"), nil))
	f.Add(make([]byte, Overhead))
	f.Add(append([]byte{Version1}, make([]byte, Overhead)...))
	f.Add(bytes.Repeat([]byte{0xff}, Overhead+1))
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := ParseHeader(blob)
		wantOK := len(blob) >= Overhead && blob[0] == Version1
		if (err == nil) != wantOK {
			t.Fatalf("ParseHeader(%x) = %+v, %v; want success %v", blob, h, err, wantOK)
		}
		if err != nil {
			if err != ErrInvalid || h != (Header{}) {
				t.Fatalf("ParseHeader(%x) = %+v, %v, want {}, %v", blob, h, err, ErrInvalid)
			}
			return
		}
		// Re-serialise the parsed header the way Seal does and compare it
		// with the blob's prefix.
		sealed, err := Seal(rand.Reader, fuzzMaterial, h, nil, nil)
		if err != nil {
			t.Fatalf("Seal(ParseHeader(%x) = %+v) = %v, want a parsed header to be sealable", blob, h, err)
		}
		if !bytes.Equal(sealed[:saltOffset], blob[:saltOffset]) {
			t.Fatalf("ParseHeader(%x) = %+v, which re-serialises to %x, want %x", blob, h, sealed[:saltOffset], blob[:saltOffset])
		}
	})
}
