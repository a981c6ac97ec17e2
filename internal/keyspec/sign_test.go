package keyspec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// SHA-256 of the example SubjectPublicKeyInfos of RFC 9881, Appendix C,
// whose private keys are the seed 00 01 02 ... 1f.
const (
	rfc9881SPKI44 = "837832708c5236d951581f1fddf2b79991b3424a0486d16da1ddad0fd69701be"
	rfc9881SPKI65 = "b8b62131bfbe84433efb2273d7f5b87f7a22854a2cfd366fc2aead86d837c52d"
	rfc9881SPKI87 = "07e57c4f14dbad1267f621ec3777b4e2e6c4fbc4c22fbb87510ff8e0b3c6a642"
)

// digestFor returns what a client sends with MessageType DIGEST for alg.
func digestFor(alg string, msg []byte) []byte {
	if alg == "ED25519_PH_SHA_512" {
		d := sha512.Sum512(msg)
		return d[:]
	}
	h := signingHash(alg).New()
	h.Write(msg)
	return h.Sum(nil)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	msg := []byte("Keyward signs what AWS KMS signs")
	for _, spec := range asymmetricSpecs {
		k := testPrivate(t, spec)
		pub := k.Public()
		for _, alg := range specs[spec].signing {
			// Every message type the algorithm allows, and what it is given.
			var inputs []mtInput
			switch alg {
			case "ED25519_SHA_512":
				inputs = append(inputs, mtInput{MessageRaw, msg})
			case "ED25519_PH_SHA_512":
				inputs = append(inputs, mtInput{MessageDigest, digestFor(alg, msg)})
			case "ML_DSA_SHAKE_256":
				inputs = append(inputs, mtInput{MessageRaw, msg}, mtInput{MessageExternalMu, mldsaMu(pub.key.(*mldsa.PublicKey).Bytes(), msg)})
			case "SM2DSA":
				// DIGEST is e = SM3(Z_A || M), computed here without gmsm's Z_A.
				inputs = append(inputs, mtInput{MessageRaw, msg}, mtInput{"", msg}, mtInput{MessageDigest, sm2E(t, pub.Bytes(), msg)})
			default:
				inputs = append(inputs, mtInput{MessageRaw, msg}, mtInput{"", msg}, mtInput{MessageDigest, digestFor(alg, msg)})
			}
			for _, in := range inputs {
				sig, err := k.Sign(alg, in.mt, in.m)
				if err != nil {
					t.Errorf("Sign(%s, %s, %q) = %v", spec, alg, in.mt, err)
					continue
				}
				// The message type of Verify need not be the one of Sign.
				for _, v := range inputs {
					ok, err := pub.Verify(alg, v.mt, v.m, sig)
					if err != nil || !ok {
						t.Errorf("Verify(%s, %s, signed %q, verified %q) = %v, %v; want true", spec, alg, in.mt, v.mt, ok, err)
					}
					// The package-level functions, from the bytes alone.
					ok, err = Verify(spec, pub.Bytes(), alg, v.mt, v.m, sig)
					if err != nil || !ok {
						t.Errorf("Verify(%s bytes, %s) = %v, %v; want true", spec, alg, ok, err)
					}
				}
				// A changed message or signature does not verify.
				bad := bytes.Clone(in.m)
				bad[0] ^= 1
				if ok, err := pub.Verify(alg, in.mt, bad, sig); ok || err != nil {
					t.Errorf("Verify(%s, %s, changed message) = %v, %v; want false, nil", spec, alg, ok, err)
				}
				badSig := bytes.Clone(sig)
				badSig[len(badSig)/2] ^= 0x10
				if ok, err := pub.Verify(alg, in.mt, in.m, badSig); ok || err != nil {
					t.Errorf("Verify(%s, %s, changed signature) = %v, %v; want false, nil", spec, alg, ok, err)
				}
				if ok, _ := pub.Verify(alg, in.mt, in.m, nil); ok {
					t.Errorf("Verify(%s, %s, empty signature) = true", spec, alg)
				}
			}
		}
	}
}

// TestVerifyWithStdlib verifies Sign's output with the Go standard library
// (and decred for secp256k1), from the SPKI alone, as an offline verifier of
// GetPublicKey's output would.
func TestVerifyWithStdlib(t *testing.T) {
	msg := []byte("verified outside the key service")
	for _, tc := range []struct {
		spec Spec
		alg  string
	}{
		{RSA2048, "RSASSA_PKCS1_V1_5_SHA_256"}, {RSA3072, "RSASSA_PKCS1_V1_5_SHA_384"}, {RSA4096, "RSASSA_PKCS1_V1_5_SHA_512"},
		{RSA2048, "RSASSA_PSS_SHA_256"}, {RSA3072, "RSASSA_PSS_SHA_384"}, {RSA4096, "RSASSA_PSS_SHA_512"},
		{ECCNISTP256, "ECDSA_SHA_256"}, {ECCNISTP384, "ECDSA_SHA_384"}, {ECCNISTP521, "ECDSA_SHA_512"},
		{ECCSECGP256K1, "ECDSA_SHA_256"},
		{ECCNISTEdwards25519, "ED25519_SHA_512"}, {ECCNISTEdwards25519, "ED25519_PH_SHA_512"},
		{MLDSA44, "ML_DSA_SHAKE_256"}, {MLDSA65, "ML_DSA_SHAKE_256"}, {MLDSA87, "ML_DSA_SHAKE_256"},
	} {
		mt, m := MessageRaw, msg
		if tc.alg == "ED25519_PH_SHA_512" {
			mt, m = MessageDigest, digestFor(tc.alg, msg)
		}
		sig, err := Sign(tc.spec, testKey(t, tc.spec), tc.alg, mt, m)
		if err != nil {
			t.Fatalf("Sign(%s, %s) = %v", tc.spec, tc.alg, err)
		}
		spki, _ := Public(tc.spec, testKey(t, tc.spec))
		var ok bool
		if tc.spec == ECCSECGP256K1 {
			ok = verifyK1Independently(t, spki, digestFor(tc.alg, msg), sig)
		} else {
			pub, err := ParsePublicKeyStd(spki)
			if err != nil {
				t.Fatalf("parse %s SPKI: %v", tc.spec, err)
			}
			h := signingHash(tc.alg)
			switch p := pub.(type) {
			case *rsa.PublicKey:
				if strings.Contains(tc.alg, "PSS") {
					ok = rsa.VerifyPSS(p, h, digestFor(tc.alg, msg), sig, &rsa.PSSOptions{SaltLength: h.Size()}) == nil
				} else {
					ok = rsa.VerifyPKCS1v15(p, h, digestFor(tc.alg, msg), sig) == nil
				}
			case *ecdsa.PublicKey:
				ok = ecdsa.VerifyASN1(p, digestFor(tc.alg, msg), sig)
				var rs struct{ R, S *big.Int }
				if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
					t.Errorf("%s signature is not a DER SEQUENCE {r, s}: %v", tc.spec, err)
				}
			case ed25519.PublicKey:
				if tc.alg == "ED25519_PH_SHA_512" {
					// Ed25519ph of M = the 64-byte digest the client sent:
					// PH(M) = SHA-512(M) is what is signed.
					ph := sha512.Sum512(m)
					ok = ed25519.VerifyWithOptions(p, ph[:], sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
				} else {
					ok = ed25519.Verify(p, msg, sig)
				}
			case *mldsa.PublicKey:
				ok = mldsa.Verify(p, msg, sig, nil) == nil
			}
		}
		if !ok {
			t.Errorf("%s %s: signature does not verify from the SPKI alone", tc.spec, tc.alg)
		}
	}
}

// verifyK1Independently parses the secp256k1 SPKI with encoding/asn1 and
// verifies with decred's ecdsa package, not with this package's helpers.
func verifyK1Independently(t *testing.T, spki, digest, sig []byte) bool {
	var s struct {
		Algo struct {
			Algorithm, Curve asn1.ObjectIdentifier
		}
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &s); err != nil {
		t.Fatalf("secp256k1 SPKI: %v", err)
	}
	if !s.Algo.Curve.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 10}) {
		t.Errorf("secp256k1 SPKI curve = %v, want 1.3.132.0.10", s.Algo.Curve)
	}
	pub, err := secp256k1.ParsePubKey(s.Key.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := k1ecdsa.ParseDERSignature(sig)
	if err != nil {
		t.Fatalf("secp256k1 signature is not strict DER: %v", err)
	}
	return ps.Verify(digest, pub)
}

// ParsePublicKeyStd is crypto/x509, extended for ML-DSA by filippo.io/mldsa.
var ParsePublicKeyStd = mldsax509.ParsePKIXPublicKey

type mtInput struct {
	mt string
	m  []byte
}

func TestSecp256k1LowS(t *testing.T) {
	k := testPrivate(t, ECCSECGP256K1)
	halfN := new(big.Int).Rsh(secp256k1.S256().N, 1)
	for i := 0; i < 64; i++ {
		sig, err := k.Sign("ECDSA_SHA_256", MessageRaw, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &rs); err != nil {
			t.Fatal(err)
		}
		if rs.S.Cmp(halfN) > 0 {
			t.Fatalf("secp256k1 signature has high S")
		}
	}
	// A high-S signature (AWS does not normalize) still verifies.
	sig, _ := k.Sign("ECDSA_SHA_256", MessageRaw, []byte("m"))
	var rs struct{ R, S *big.Int }
	asn1.Unmarshal(sig, &rs)
	rs.S.Sub(secp256k1.S256().N, rs.S)
	high, _ := asn1.Marshal(rs)
	if ok, err := k.Public().Verify("ECDSA_SHA_256", MessageRaw, []byte("m"), high); !ok || err != nil {
		t.Errorf("Verify(high-S secp256k1 signature) = %v, %v; want true", ok, err)
	}
}

func TestSignErrors(t *testing.T) {
	big := bytes.Repeat([]byte{1}, MaxMessage+1)
	d32 := make([]byte, 32)
	for _, tc := range []struct {
		spec    Spec
		alg, mt string
		msg     []byte
		want    error
		wantMsg string
	}{
		{RSA2048, "ECDSA_SHA_256", MessageRaw, []byte("m"), ErrInvalidAlgorithm, "Algorithm ECDSA_SHA_256 is incompatible with key spec RSA_2048."},
		{ECCNISTP256, "ECDSA_SHA_384", MessageRaw, []byte("m"), ErrInvalidAlgorithm, "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."},
		{ECCNISTP256, "RSASSA_PSS_SHA_256", MessageRaw, []byte("m"), ErrInvalidAlgorithm, ""},
		{MLDSA65, "ECDSA_SHA_256", MessageRaw, []byte("m"), ErrInvalidAlgorithm, ""},
		{ECCNISTEdwards25519, "ECDSA_SHA_512", MessageRaw, []byte("m"), ErrInvalidAlgorithm, ""},
		{HMAC256, "HMAC_SHA_256", MessageRaw, []byte("m"), ErrInvalidAlgorithm, ""},
		{ECCNISTP256, "ECDSA_SHA_256", MessageRaw, big, ErrMessageLength, "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{ECCNISTP256, "ECDSA_SHA_256", MessageRaw, nil, ErrMessageLength, "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{ECCNISTP256, "ECDSA_SHA_256", MessageDigest, make([]byte, 31), ErrDigestLength, "Digest is invalid length for algorithm ECDSA_SHA_256."},
		{ECCNISTP521, "ECDSA_SHA_512", MessageDigest, d32, ErrDigestLength, "Digest is invalid length for algorithm ECDSA_SHA_512."},
		{RSA2048, "RSASSA_PSS_SHA_384", MessageDigest, d32, ErrDigestLength, ""},
		{RSA2048, "RSASSA_PKCS1_V1_5_SHA_256", MessageExternalMu, make([]byte, 64), ErrMessageType, "Message type EXTERNAL_MU is incompatible with algorithm RSASSA_PKCS1_V1_5_SHA_256."},
		{ECCNISTP256, "ECDSA_SHA_256", "HASHED", d32, ErrMessageType, "1 validation error detected: Value 'HASHED' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]"},
		{ECCNISTEdwards25519, "ED25519_SHA_512", MessageDigest, make([]byte, 64), ErrMessageType, "Message type DIGEST is incompatible with algorithm ED25519_SHA_512."},
		{ECCNISTEdwards25519, "ED25519_PH_SHA_512", MessageRaw, []byte("m"), ErrMessageType, "Message type RAW is incompatible with algorithm ED25519_PH_SHA_512."},
		{ECCNISTEdwards25519, "ED25519_PH_SHA_512", "", []byte("m"), ErrMessageType, ""},
		{ECCNISTEdwards25519, "ED25519_PH_SHA_512", MessageDigest, d32, ErrDigestLength, "Digest is invalid length for algorithm ED25519_PH_SHA_512."},
		{MLDSA44, "ML_DSA_SHAKE_256", MessageDigest, d32, ErrMessageType, "Message type DIGEST is incompatible with algorithm ML_DSA_SHAKE_256."},
		{MLDSA44, "ML_DSA_SHAKE_256", MessageExternalMu, d32, ErrDigestLength, "Digest is invalid length for algorithm ML_DSA_SHAKE_256."},
		{MLDSA87, "ML_DSA_SHAKE_256", MessageRaw, big, ErrMessageLength, ""},
		{SM2, "ECDSA_SHA_256", MessageRaw, []byte("m"), ErrInvalidAlgorithm, "Algorithm ECDSA_SHA_256 is incompatible with key spec SM2."},
		{ECCNISTP256, "SM2DSA", MessageRaw, []byte("m"), ErrInvalidAlgorithm, "Algorithm SM2DSA is incompatible with key spec ECC_NIST_P256."},
		{SM2, "SM2DSA", MessageDigest, make([]byte, 31), ErrDigestLength, "Digest is invalid length for algorithm SM2DSA."},
		{SM2, "SM2DSA", MessageDigest, make([]byte, 33), ErrDigestLength, "Digest is invalid length for algorithm SM2DSA."},
		{SM2, "SM2DSA", MessageDigest, make([]byte, 64), ErrDigestLength, ""},
		{SM2, "SM2DSA", MessageExternalMu, make([]byte, 64), ErrMessageType, "Message type EXTERNAL_MU is incompatible with algorithm SM2DSA."},
		{SM2, "SM2DSA", MessageRaw, big, ErrMessageLength, "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{SM2, "SM2DSA", MessageRaw, nil, ErrMessageLength, ""},
	} {
		var priv []byte
		if specs[tc.spec].family != famHMAC {
			priv = testKey(t, tc.spec)
		}
		_, err := Sign(tc.spec, priv, tc.alg, tc.mt, tc.msg)
		if !errors.Is(err, tc.want) || (tc.wantMsg != "" && err.Error() != tc.wantMsg) {
			t.Errorf("Sign(%s, %s, %s, %d bytes) = %v, want %v %q", tc.spec, tc.alg, tc.mt, len(tc.msg), err, tc.want, tc.wantMsg)
		}
		var spki []byte
		if priv != nil {
			spki, _ = Public(tc.spec, priv)
		}
		_, err = Verify(tc.spec, spki, tc.alg, tc.mt, tc.msg, []byte("sig"))
		if !errors.Is(err, tc.want) {
			t.Errorf("Verify(%s, %s, %s, %d bytes) = %v, want %v", tc.spec, tc.alg, tc.mt, len(tc.msg), err, tc.want)
		}
	}
	if _, err := Sign(MLKEM768, nil, "SM2DSA", MessageRaw, []byte("m")); !errors.Is(err, ErrInvalidAlgorithm) {
		t.Errorf("Sign(ML_KEM_768) = %v, want ErrInvalidAlgorithm", err)
	}
	if _, err := Sign(SM2, nil, "SM2DSA", MessageRaw, []byte("m")); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Sign(SM2, no key) = %v, want ErrInvalidKey", err)
	}
}

// TestMLDSAExternalMu checks the AWS property "The signatures produced by the
// externally computed μ are the same as the RAW ones when using the same
// message and private key" (Developer Guide, ML-DSA keys), and that
// ExternalMu computes FIPS 204's μ.
func TestMLDSAExternalMu(t *testing.T) {
	for _, spec := range []Spec{MLDSA44, MLDSA65, MLDSA87} {
		k := testPrivate(t, spec)
		msg := bytes.Repeat([]byte("large message "), 1000) // above 4096: only EXTERNAL_MU can sign it
		mu, err := ExternalMu(spec, k.Public().Bytes(), msg)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := k.Sign("ML_DSA_SHAKE_256", MessageExternalMu, mu)
		if err != nil {
			t.Fatal(err)
		}
		// filippo.io/mldsa verifies the full message with pure ML-DSA.
		if err := mldsa.Verify(k.Public().key.(*mldsa.PublicKey), msg, sig, nil); err != nil {
			t.Errorf("%s: EXTERNAL_MU signature does not verify as pure ML-DSA of the message: %v", spec, err)
		}
		small := []byte("small")
		mu2, _ := ExternalMu(spec, k.Public().Bytes(), small)
		a, _ := k.Sign("ML_DSA_SHAKE_256", MessageRaw, small)
		b, _ := k.Sign("ML_DSA_SHAKE_256", MessageExternalMu, mu2)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: RAW and EXTERNAL_MU signatures of the same message differ", spec)
		}
	}
}

// TestMLDSAMuVerifierMatchesReference drives this package's EXTERNAL_MU
// verifier and filippo.io/mldsa's message verifier with the same valid and
// corrupted signatures; they must agree on every one.
func TestMLDSAMuVerifierMatchesReference(t *testing.T) {
	for _, spec := range []Spec{MLDSA44, MLDSA65, MLDSA87} {
		k := testPrivate(t, spec)
		pk := k.Public().key.(*mldsa.PublicKey)
		agreeValid, agreeInvalid := 0, 0
		for i := 0; i < 8; i++ {
			msg := []byte{byte(i), 'k', 'w'}
			sig, _ := k.key.(*mldsa.PrivateKey).Sign(rand.Reader, msg, nil) // hedged: a fresh signature each time
			mu := mldsaMu(pk.Bytes(), msg)
			if !verifyMLDSAMu(pk, mu, sig) {
				t.Fatalf("%s: verifyMLDSAMu rejects a valid signature", spec)
			}
			agreeValid++
			// Corrupt every region: c~, z (including out-of-range values),
			// the hint indices and counts.
			p := mldsaSetFor(pk.Parameters())
			positions := []int{0, p.lambdaB - 1, p.lambdaB, p.lambdaB + 100, len(sig) - p.omega - p.k - 1,
				len(sig) - p.omega - p.k, len(sig) - p.k - 1, len(sig) - p.k, len(sig) - 1}
			for _, pos := range positions {
				for _, flip := range []byte{0x01, 0x80, 0xff} {
					bad := bytes.Clone(sig)
					bad[pos] ^= flip
					want := mldsa.Verify(pk, msg, bad, nil) == nil
					if got := verifyMLDSAMu(pk, mu, bad); got != want {
						t.Errorf("%s: sig[%d]^=%#x: verifyMLDSAMu = %v, filippo.io/mldsa = %v", spec, pos, flip, got, want)
					}
					if want {
						agreeValid++
					} else {
						agreeInvalid++
					}
				}
			}
			badMu := bytes.Clone(mu)
			badMu[63] ^= 1
			if verifyMLDSAMu(pk, badMu, sig) {
				t.Errorf("%s: verifyMLDSAMu accepts a wrong mu", spec)
			}
			if verifyMLDSAMu(pk, mu, sig[:len(sig)-1]) {
				t.Errorf("%s: verifyMLDSAMu accepts a short signature", spec)
			}
		}
		t.Logf("%s: verifiers agree on %d accepted and %d refused signatures", spec, agreeValid, agreeInvalid)
	}
}

func TestEd25519PHDoubleHash(t *testing.T) {
	// With ED25519_PH_SHA_512 and DIGEST, the 64 bytes are hashed once more
	// (Sign API reference): the signature is Ed25519ph with PH(M) = SHA-512(M)
	// where M is the client's digest, not Ed25519ph of the original message.
	k := testPrivate(t, ECCNISTEdwards25519)
	msg := []byte("original")
	d := sha512.Sum512(msg)
	sig, err := k.Sign("ED25519_PH_SHA_512", MessageDigest, d[:])
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public().key.(ed25519.PublicKey)
	dd := sha512.Sum512(d[:])
	if err := ed25519.VerifyWithOptions(pub, dd[:], sig, &ed25519.Options{Hash: crypto.SHA512}); err != nil {
		t.Errorf("ED25519_PH_SHA_512 signature is not Ed25519ph over the digest: %v", err)
	}
	if ed25519.VerifyWithOptions(pub, d[:], sig, &ed25519.Options{Hash: crypto.SHA512}) == nil {
		t.Error("ED25519_PH_SHA_512 signature verifies as single-hash Ed25519ph of the message")
	}
}
