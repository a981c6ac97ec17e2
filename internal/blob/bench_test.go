package blob

import (
	"crypto/rand"
	"testing"
)

var benchContext = map[string]string{"aws:ebs:id": "vol-0123456789abcdef0", "tenant": "acme"}

func benchmarkSeal(b *testing.B, size int) {
	material := testMaterial(1)
	pt := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(rand.Reader, material, testHeader, pt, benchContext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal32(b *testing.B) { benchmarkSeal(b, 32) }
func BenchmarkSeal4K(b *testing.B) { benchmarkSeal(b, 4096) }

func BenchmarkOpen32(b *testing.B) {
	material := testMaterial(1)
	blob := mustSeal(b, material, testHeader, make([]byte, 32), benchContext)
	b.SetBytes(32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(material, blob, benchContext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeriveKey(b *testing.B) {
	key := make([]byte, 32)
	context := make([]byte, headerSize)
	b.ReportAllocs()
	for b.Loop() {
		DeriveKey(key, encryptLabel, context, 32)
	}
}

func BenchmarkParseHeader(b *testing.B) {
	blob := mustSeal(b, testMaterial(1), testHeader, make([]byte, 32), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHeader(blob); err != nil {
			b.Fatal(err)
		}
	}
}
