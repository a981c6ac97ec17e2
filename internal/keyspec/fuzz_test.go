package keyspec

import (
	"bytes"
	"testing"

	"filippo.io/mldsa"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// FuzzParsePublicKey feeds arbitrary bytes to the SPKI parsers of every spec:
// no panics, and whatever parses re-encodes to the bytes given (ParsePublicKey
// keeps the input, so check the typed key re-marshals to it).
func FuzzParsePublicKey(f *testing.F) {
	for _, spec := range []Spec{RSA2048, ECCNISTP256, ECCSECGP256K1, ECCNISTEdwards25519, MLDSA44} {
		f.Add(uint8(0), testPrivate(f, spec).Public().Bytes())
	}
	f.Fuzz(func(t *testing.T, which uint8, der []byte) {
		spec := asymmetricSpecs[int(which)%len(asymmetricSpecs)]
		pub, err := ParsePublicKey(spec, der)
		if err != nil {
			return
		}
		again, err := marshalPublic(pub.key)
		if err != nil {
			t.Fatalf("%s: parsed key does not re-marshal: %v", spec, err)
		}
		if _, err := ParsePublicKey(spec, again); err != nil {
			t.Fatalf("%s: re-marshalled key does not parse: %v", spec, err)
		}
	})
}

// FuzzParsePrivateKey checks the PKCS #8 parsers (the secp256k1 one is this
// package's own) never panic, and that a parsed key round-trips.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add(uint8(6), testKey(f, ECCSECGP256K1))
	f.Add(uint8(3), testKey(f, ECCNISTP256))
	f.Fuzz(func(t *testing.T, which uint8, der []byte) {
		spec := asymmetricSpecs[int(which)%len(asymmetricSpecs)]
		k, err := ParsePrivateKey(spec, der)
		if err != nil {
			return
		}
		if spec == ECCSECGP256K1 {
			k2, err := ParsePrivateKey(spec, marshalK1PKCS8(k.key.(*secp256k1.PrivateKey)))
			if err != nil || !bytes.Equal(k2.Public().Bytes(), k.Public().Bytes()) {
				t.Fatalf("secp256k1 key does not round-trip: %v", err)
			}
		}
	})
}

// FuzzVerifyMLDSAMu checks that the EXTERNAL_MU verifier never panics on
// arbitrary signatures and agrees with filippo.io/mldsa on them.
func FuzzVerifyMLDSAMu(f *testing.F) {
	k := testPrivate(f, MLDSA44)
	msg := []byte("fuzz")
	sig, _ := k.Sign("ML_DSA_SHAKE_256", MessageRaw, msg)
	f.Add(sig)
	f.Add(make([]byte, mldsa.MLDSA44SignatureSize))
	pk := k.Public().key.(*mldsa.PublicKey)
	mu := mldsaMu(pk.Bytes(), msg)
	f.Fuzz(func(t *testing.T, sig []byte) {
		got := verifyMLDSAMu(pk, mu, sig)
		want := mldsa.Verify(pk, msg, sig, nil) == nil
		if got != want {
			t.Fatalf("verifyMLDSAMu = %v, filippo.io/mldsa = %v", got, want)
		}
	})
}
