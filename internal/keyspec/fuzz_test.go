package keyspec

import (
	"bytes"
	"crypto/mlkem"
	"encoding/asn1"
	"math/big"
	"testing"

	"filippo.io/mldsa"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/emmansun/gmsm/sm2"
)

// FuzzParsePublicKey feeds arbitrary bytes to the SPKI parsers of every spec:
// no panics, and whatever parses re-encodes to the bytes given (ParsePublicKey
// keeps the input, so check the typed key re-marshals to it).
func FuzzParsePublicKey(f *testing.F) {
	for _, spec := range []Spec{RSA2048, ECCNISTP256, ECCSECGP256K1, ECCNISTEdwards25519, MLDSA44, SM2} {
		f.Add(uint8(0), testPrivate(f, spec).Public().Bytes())
	}
	for i, spec := range mlkemSpecs {
		f.Add(uint8(12+i), testPrivate(f, spec).Public().Bytes())
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

// FuzzParsePrivateKey checks the PKCS #8 parsers (the secp256k1 and SM2 ones
// are this package's own) never panic, and that a parsed key round-trips.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add(uint8(6), testKey(f, ECCSECGP256K1))
	f.Add(uint8(3), testKey(f, ECCNISTP256))
	f.Add(uint8(11), testKey(f, SM2))
	for i, spec := range mlkemSpecs {
		for _, form := range mlkemForms(f, spec, mlkemSeedOf(f, testKey(f, spec))) {
			f.Add(uint8(12+i), form.der)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, der []byte) {
		spec := asymmetricSpecs[int(which)%len(asymmetricSpecs)]
		k, err := ParsePrivateKey(spec, der)
		if err != nil {
			return
		}
		switch key := k.key.(type) {
		case *secp256k1.PrivateKey:
			k2, err := ParsePrivateKey(spec, marshalK1PKCS8(key))
			if err != nil || !bytes.Equal(k2.Public().Bytes(), k.Public().Bytes()) {
				t.Fatalf("secp256k1 key does not round-trip: %v", err)
			}
		case *sm2.PrivateKey:
			der, err := marshalSM2PKCS8(key)
			if err != nil {
				t.Fatal(err)
			}
			k2, err := ParsePrivateKey(spec, der)
			if err != nil || !bytes.Equal(k2.Public().Bytes(), k.Public().Bytes()) {
				t.Fatalf("SM2 key does not round-trip: %v", err)
			}
		case *mlkemPrivateKey:
			// Whatever form parsed, its public half parses and the pair works.
			pub, err := ParsePublicKey(spec, k.Public().Bytes())
			if err != nil {
				t.Fatalf("%s: public half of a parsed key does not parse: %v", spec, err)
			}
			ct, ss, err := pub.Encapsulate("ML_KEM")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.Decapsulate("ML_KEM", ct); err != nil || !bytes.Equal(got, ss) {
				t.Fatalf("%s: parsed key does not decapsulate for its own public key: %v", spec, err)
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

// FuzzDecryptSM2 feeds arbitrary ciphertexts to SM2PKE Decrypt: no panics,
// every failure is exactly ErrDecrypt, and only the one ASN.1 encoding of a
// ciphertext decrypts (re-encrypting is randomized, so check the shape
// instead: a DER SEQUENCE that re-encodes to the same bytes).
func FuzzDecryptSM2(f *testing.F) {
	k := testPrivate(f, SM2)
	ct, _ := k.Public().Encrypt("SM2PKE", []byte("fuzz"))
	f.Add(ct)
	plain, _ := sm2.ASN1Ciphertext2Plain(ct, nil)
	f.Add(plain)
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := k.Decrypt("SM2PKE", ct)
		if err != nil {
			if err != ErrDecrypt {
				t.Fatalf("Decrypt(SM2) = %v, want exactly ErrDecrypt", err)
			}
			return
		}
		var c struct {
			X, Y     *big.Int
			Hash, CT []byte
		}
		rest, err := asn1.Unmarshal(ct, &c)
		again, _ := asn1.Marshal(c)
		if err != nil || len(rest) != 0 || !bytes.Equal(again, ct) || len(c.CT) != len(pt) {
			t.Fatalf("Decrypt(SM2) accepted a non-canonical ciphertext %x", ct)
		}
	})
}

// FuzzDecapsulateMLKEM feeds arbitrary ciphertexts to Decapsulate: no
// panics; a wrong length is exactly ErrDecrypt; any right-length ciphertext
// gives a 32-byte secret, the one crypto/mlkem gives for the same seed.
func FuzzDecapsulateMLKEM(f *testing.F) {
	k := testPrivate(f, MLKEM768)
	ct, _, _ := k.Public().Encapsulate("ML_KEM")
	f.Add(ct)
	f.Add(ct[:100])
	f.Add(make([]byte, len(ct)))
	ref, err := mlkem.NewDecapsulationKey768(mlkemSeedOf(f, testKey(f, MLKEM768)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ct []byte) {
		got, err := k.Decapsulate("ML_KEM", ct)
		if len(ct) != mlkem.CiphertextSize768 {
			if err != ErrDecrypt {
				t.Fatalf("Decapsulate(%d bytes) = %v, want exactly ErrDecrypt", len(ct), err)
			}
			return
		}
		want, _ := ref.Decapsulate(ct)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Decapsulate = %x, %v; crypto/mlkem = %x", got, err, want)
		}
	})
}
