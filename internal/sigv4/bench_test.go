package sigv4

import (
	"bytes"
	"testing"
)

// benchRequest is a typical KMS call: POST / with host, content-type,
// x-amz-date and x-amz-target signed and a 100-byte JSON body.
func benchRequest(b *testing.B) (*Verifier, signSpec) {
	s := kmsSpec()
	s.body = bytes.Repeat([]byte("a"), 100)
	copy(s.body, `{"KeyId":"alias/bench","Plaintext":"`)
	s.body[99] = '}'
	// Return a stored slice, as a real keystore lookup would, so that the
	// figures are Verify's own.
	secret := []byte(testSecret)
	v := newTestVerifier(b, func(id string) ([]byte, error) {
		if id == testKeyID {
			return secret, nil
		}
		return nil, ErrUnknownAccessKey
	})
	return v, s
}

// BenchmarkVerify measures a verification with the signing key cached,
// which is every request after an access key's first of the day.
func BenchmarkVerify(b *testing.B) {
	v, s := benchRequest(b)
	r := s.request()
	if _, err := v.Verify(r, s.body, "kms"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, s.body, "kms"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyParallel is BenchmarkVerify from all cores at once, to
// show the cost of the shared cache lock.
func BenchmarkVerifyParallel(b *testing.B) {
	v, s := benchRequest(b)
	if _, err := v.Verify(s.request(), s.body, "kms"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := s.request()
		for pb.Next() {
			if _, err := v.Verify(r, s.body, "kms"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyCacheMiss derives the signing key on every request, as
// after a secret rotation.
func BenchmarkVerifyCacheMiss(b *testing.B) {
	v, s := benchRequest(b)
	r := s.request()
	b.ReportAllocs()
	for b.Loop() {
		v.cache = newKeyCache(testRegion)
		if _, err := v.Verify(r, s.body, "kms"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRefused is the cost of a request with a wrong signature,
// which an attacker can send at will.
func BenchmarkVerifyRefused(b *testing.B) {
	v, s := benchRequest(b)
	s.secret = "wrong"
	r := s.request()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, s.body, "kms"); err == nil {
			b.Fatal("accepted")
		}
	}
}
