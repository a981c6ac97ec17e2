package keyspec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
)

func TestGenerateParsePublic(t *testing.T) {
	for _, spec := range asymmetricSpecs {
		t.Run(string(spec), func(t *testing.T) {
			der := testKey(t, spec)
			k, err := ParsePrivateKey(spec, der)
			if err != nil {
				t.Fatalf("ParsePrivateKey(%s) = %v", spec, err)
			}
			spki, err := Public(spec, der)
			if err != nil {
				t.Fatalf("Public(%s) = %v", spec, err)
			}
			if !bytes.Equal(spki, k.Public().Bytes()) {
				t.Errorf("Public(%s) differs from ParsePrivateKey().Public()", spec)
			}
			pub, err := ParsePublicKey(spec, spki)
			if err != nil {
				t.Fatalf("ParsePublicKey(%s) = %v", spec, err)
			}
			if !bytes.Equal(pub.Bytes(), spki) {
				t.Errorf("ParsePublicKey(%s).Bytes() changed the SPKI", spec)
			}
			// The SPKI alone is usable by other implementations: the Go standard
			// library (filippo.io/mldsa/x509 for ML-DSA, whose OIDs are RFC 9881's).
			// The standard library knows neither secp256k1 nor SM2; OpenSSL
			// reads those in openssl_test.go. crypto/x509 has no ML-KEM:
			// mlkem_test.go checks those encodings field by field and the keys
			// against crypto/mlkem.
			if spec != ECCSECGP256K1 && spec != SM2 && specs[spec].family != famMLKEM {
				got, err := mldsax509.ParsePKIXPublicKey(spki)
				if err != nil {
					t.Fatalf("x509.ParsePKIXPublicKey(%s SPKI) = %v", spec, err)
				}
				switch got.(type) {
				case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, *mldsa.PublicKey:
				default:
					t.Errorf("x509.ParsePKIXPublicKey(%s SPKI) = %T", spec, got)
				}
			}
		})
	}
}

func TestGenerateHMAC(t *testing.T) {
	for spec, n := range map[Spec]int{HMAC224: 28, HMAC256: 32, HMAC384: 48, HMAC512: 64} {
		a, err := Generate(spec)
		if err != nil || len(a) != n {
			t.Errorf("Generate(%s) = %d bytes, %v; want %d bytes", spec, len(a), err, n)
		}
		b, _ := Generate(spec)
		if bytes.Equal(a, b) {
			t.Errorf("Generate(%s) returned the same key twice", spec)
		}
	}
}

func TestGenerateRefused(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want error
	}{
		{SymmetricDefault, ErrInvalidKey}, {"RSA_1024", ErrInvalidKey},
	} {
		if _, err := Generate(tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("Generate(%s) = %v, want %v", tc.spec, err, tc.want)
		}
	}
}

func TestParseMismatch(t *testing.T) {
	// Key material of one spec never parses as another.
	for _, a := range asymmetricSpecs {
		for _, b := range asymmetricSpecs {
			if a == b {
				continue
			}
			if _, err := ParsePrivateKey(b, testKey(t, a)); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ParsePrivateKey(%s, <%s key>) = %v, want ErrInvalidKey", b, a, err)
			}
			if _, err := ParsePublicKey(b, testPrivate(t, a).Public().Bytes()); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ParsePublicKey(%s, <%s key>) = %v, want ErrInvalidKey", b, a, err)
			}
		}
	}
	if _, err := ParsePrivateKey(ECCNISTP256, []byte("not DER")); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("ParsePrivateKey(garbage) = %v, want ErrInvalidKey", err)
	}
}

func TestPrivateKeyRedacted(t *testing.T) {
	k := testPrivate(t, ECCNISTP256)
	raw := testKey(t, ECCNISTP256)
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s %x", k, k, k, k, k), fmt.Sprintf("%v", *k),
	} {
		if !strings.Contains(s, "redacted") && !strings.Contains(s, "72656461637465") {
			t.Errorf("formatted PrivateKey = %q, want it redacted", s)
		}
		if strings.Contains(s, hex.EncodeToString(raw[len(raw)-40:])) {
			t.Errorf("formatted PrivateKey leaks key bytes: %q", s)
		}
	}
	if b, err := json.Marshal(k); err == nil {
		t.Errorf("json.Marshal(PrivateKey) = %s, want an error", b)
	}
	if b, err := json.Marshal(struct{ K *PrivateKey }{k}); err == nil {
		t.Errorf("json.Marshal(struct with PrivateKey) = %s, want an error", b)
	}
}

func TestSecp256k1Encoding(t *testing.T) {
	der := testKey(t, ECCSECGP256K1)
	// The PKCS #8 and SPKI shapes are those of crypto/x509 for named curves,
	// with the secp256k1 OID: compare with a P-256 key, byte for byte where
	// the shapes agree.
	k := testPrivate(t, ECCSECGP256K1)
	spki := k.Public().Bytes()
	wantPrefix, _ := hex.DecodeString("3056301006072a8648ce3d020106052b8104000a034200")
	if !bytes.HasPrefix(spki, wantPrefix) || len(spki) != len(wantPrefix)+65 {
		t.Errorf("secp256k1 SPKI = %x, want prefix %x and a 65-byte point", spki, wantPrefix)
	}
	if !bytes.HasPrefix(der, []byte{0x30, 0x81, 0x84, 0x02, 0x01, 0x00, 0x30, 0x10}) {
		t.Errorf("secp256k1 PKCS #8 = %x, want the RFC 5915-in-PKCS #8 shape", der)
	}
	// Tampering with the embedded public key is detected.
	bad := bytes.Clone(der)
	bad[len(bad)-1] ^= 1
	if _, err := ParsePrivateKey(ECCSECGP256K1, bad); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("ParsePrivateKey(secp256k1 with wrong public key) = %v, want ErrInvalidKey", err)
	}
	// A compressed point in an SPKI is refused.
	comp := append(bytes.Clone(wantPrefix[:len(wantPrefix)-3]), 0x03, 0x22, 0x00, 0x02)
	comp[1] = byte(len(comp) - 2 + 32)
	comp = append(comp, spki[len(spki)-64:len(spki)-32]...)
	if _, err := ParsePublicKey(ECCSECGP256K1, comp); err == nil {
		t.Error("ParsePublicKey(secp256k1 compressed point) = nil error, want refusal")
	}
}

// TestMLDSAKeyGenKAT checks key generation from a seed against the example
// keys of RFC 9881, Appendix C (seed 00 01 ... 1f), by SHA-256 of the SPKI.
func TestMLDSAKeyGenKAT(t *testing.T) {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{MLDSA44, rfc9881SPKI44},
		{MLDSA65, rfc9881SPKI65},
		{MLDSA87, rfc9881SPKI87},
	} {
		sk, err := mldsa.NewPrivateKey(mldsaParams(tc.spec), seed)
		if err != nil {
			t.Fatal(err)
		}
		p8, err := mldsax509.MarshalPKCS8PrivateKey(sk)
		if err != nil {
			t.Fatal(err)
		}
		spki, err := Public(tc.spec, p8)
		if err != nil {
			t.Fatalf("Public(%s) = %v", tc.spec, err)
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(spki)); got != tc.want {
			t.Errorf("SHA-256(SPKI of %s from RFC 9881 seed) = %s, want %s", tc.spec, got, tc.want)
		}
		// PKCS #8 is the seed-only form: 22 bytes of header, then the seed.
		if !bytes.HasSuffix(p8, append([]byte{0x80, 0x20}, seed...)) || len(p8) != 54 {
			t.Errorf("ML-DSA PKCS #8 = %x, want the RFC 9881 seed-only form", p8)
		}
	}
}

func TestGenerateDataKeyPair(t *testing.T) {
	for _, ps := range []string{"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "SM2"} {
		priv, pub, err := GenerateDataKeyPair(ps)
		if err != nil {
			t.Fatalf("GenerateDataKeyPair(%s) = %v", ps, err)
		}
		spec := Spec(ps)
		got, err := Public(spec, priv)
		if err != nil || !bytes.Equal(got, pub) {
			t.Errorf("GenerateDataKeyPair(%s): public key does not match private key (%v)", ps, err)
		}
		if spec == SM2 {
			if _, err := ParsePrivateKey(SM2, priv); err != nil || !bytes.HasPrefix(pub, mustHex("3059301306072a8648ce3d020106082a811ccf5501822d")) {
				t.Errorf("GenerateDataKeyPair(SM2) = PKCS #8 that does not parse (%v) or SPKI %x", err, pub)
			}
		} else if spec != ECCSECGP256K1 {
			if _, err := x509.ParsePKCS8PrivateKey(priv); err != nil {
				t.Errorf("GenerateDataKeyPair(%s): crypto/x509 cannot parse the private key: %v", ps, err)
			}
		}
	}
	for _, ps := range []string{"ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"} {
		priv, pub, err := GenerateDataKeyPair(ps)
		if err != nil {
			t.Fatalf("GenerateDataKeyPair(%s) = %v", ps, err)
		}
		spec := Spec(ps)
		if got, err := Public(spec, priv); err != nil || !bytes.Equal(got, pub) {
			t.Errorf("GenerateDataKeyPair(%s): public key does not match private key (%v)", ps, err)
		}
		// RFC 9935 seed-only PKCS #8 (86 bytes) and an SPKI crypto/mlkem's
		// sizes agree with.
		seed := mlkemSeedOf(t, priv)
		if len(priv) != 86 || len(seed) != 64 || len(mlkemEKOf(t, pub)) != mlkemSizes[spec].ek {
			t.Errorf("GenerateDataKeyPair(%s) = %d-byte PKCS #8, %d-byte encapsulation key", ps, len(priv), len(mlkemEKOf(t, pub)))
		}
		ct, ss, err := Encapsulate(spec, pub, "ML_KEM")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decapsulate(spec, priv, "ML_KEM", ct); err != nil || !bytes.Equal(got, ss) {
			t.Errorf("GenerateDataKeyPair(%s): the pair does not decapsulate its own encapsulation (%v)", ps, err)
		}
	}
	if _, _, err := GenerateDataKeyPair("HMAC_256"); !errors.Is(err, ErrInvalidKeySpec) {
		t.Errorf("GenerateDataKeyPair(HMAC_256) = %v, want ErrInvalidKeySpec", err)
	}
}
