package e2e

import (
	"bytes"
	"crypto/mlkem"
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// mlkemSPKI parses an ML-KEM SubjectPublicKeyInfo (RFC 9935) with
// encoding/asn1 alone and returns its OID and encapsulation key.
func mlkemSPKI(t *testing.T, der []byte) (asn1.ObjectIdentifier, []byte) {
	t.Helper()
	var spki struct {
		Algorithm struct{ Algorithm asn1.ObjectIdentifier }
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ML-KEM public key is not SPKI: %v", err)
	}
	return spki.Algorithm.Algorithm, spki.PublicKey.Bytes
}

// mlkemSeed returns the 64-byte seed of a seed-only ML-KEM PKCS #8 key.
func mlkemSeed(t *testing.T, der []byte) []byte {
	t.Helper()
	var p8 struct {
		Version    int
		Algorithm  struct{ Algorithm asn1.ObjectIdentifier }
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &p8); err != nil {
		t.Fatalf("ML-KEM private key is not PKCS #8: %v", err)
	}
	var seed asn1.RawValue
	if _, err := asn1.Unmarshal(p8.PrivateKey, &seed); err != nil || seed.Class != asn1.ClassContextSpecific || seed.Tag != 0 || len(seed.Bytes) != 64 {
		t.Fatalf("ML-KEM private key is not the seed form: %v %+v", err, seed)
	}
	return seed.Bytes
}

// independentKEM is crypto/mlkem for the parameter sets it has (768, 1024).
type independentKEM interface {
	Encapsulate() (sharedKey, ciphertext []byte)
	Bytes() []byte
}

func independentEncapsulationKey(t *testing.T, spec types.KeySpec, ek []byte) independentKEM {
	t.Helper()
	var k independentKEM
	var err error
	switch spec {
	case "ML_KEM_768":
		k, err = mlkem.NewEncapsulationKey768(ek)
	case "ML_KEM_1024":
		k, err = mlkem.NewEncapsulationKey1024(ek)
	default:
		return nil
	}
	if err != nil {
		t.Fatalf("crypto/mlkem refused the %s public key: %v", spec, err)
	}
	return k
}

func TestMLKEM(t *testing.T) {
	e := start(t, "")
	oids := map[types.KeySpec]asn1.ObjectIdentifier{
		"ML_KEM_512": {2, 16, 840, 1, 101, 3, 4, 4, 1}, "ML_KEM_768": {2, 16, 840, 1, 101, 3, 4, 4, 2}, "ML_KEM_1024": {2, 16, 840, 1, 101, 3, 4, 4, 3},
	}
	for _, spec := range []types.KeySpec{"ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"} {
		t.Run(string(spec), func(t *testing.T) {
			m := createKey(t, e, spec, "ENCAPSULATE_DECAPSULATE")
			if len(m.EncapsulationAlgorithms) != 1 || m.EncapsulationAlgorithms[0] != "ML_KEM" || m.EncryptionAlgorithms != nil {
				t.Errorf("KeyMetadata: encapsulation %v, encryption %v", m.EncapsulationAlgorithms, m.EncryptionAlgorithms)
			}
			pk := must[*kms.GetPublicKeyOutput](t)(e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId}))
			oid, ek := mlkemSPKI(t, pk.PublicKey)
			if !oid.Equal(oids[spec]) || len(pk.EncapsulationAlgorithms) != 1 {
				t.Errorf("GetPublicKey: OID %v, algorithms %v", oid, pk.EncapsulationAlgorithms)
			}

			enc := must[*kms.EncapsulateOutput](t)(e.kms.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: m.KeyId, EncapsulationAlgorithm: "ML_KEM"}))
			if len(enc.SharedSecret) != 32 || *enc.KeyId != *m.Arn {
				t.Fatalf("Encapsulate: %d-byte secret, key %s", len(enc.SharedSecret), *enc.KeyId)
			}
			dec := must[*kms.DecapsulateOutput](t)(e.kms.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: m.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: enc.SharedSecretCiphertextBlob}))
			if !bytes.Equal(dec.SharedSecret, enc.SharedSecret) {
				t.Error("Decapsulate does not recover Encapsulate's secret")
			}
			// Someone with only the public key encapsulates (crypto/mlkem, an
			// independent implementation); the key holder recovers the secret.
			if ind := independentEncapsulationKey(t, spec, ek); ind != nil {
				secret, ct := ind.Encapsulate()
				got := must[*kms.DecapsulateOutput](t)(e.kms.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: m.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: ct}))
				if !bytes.Equal(got.SharedSecret, secret) {
					t.Error("Decapsulate of a crypto/mlkem ciphertext differs from its secret")
				}
			}
			// Implicit rejection: a damaged ciphertext gives another secret,
			// not an error; a wrong length is an invalid ciphertext.
			bad := bytes.Clone(enc.SharedSecretCiphertextBlob)
			bad[0] ^= 1
			got := must[*kms.DecapsulateOutput](t)(e.kms.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: m.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: bad}))
			if bytes.Equal(got.SharedSecret, enc.SharedSecret) {
				t.Error("a damaged ciphertext decapsulated to the original secret")
			}
			_, err := e.kms.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: m.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: bad[1:]})
			wantErr(t, err, "InvalidCiphertextException", "")
		})
	}

	t.Run("usage", func(t *testing.T) {
		signer := createKey(t, e, "ECC_NIST_P256", "SIGN_VERIFY")
		_, err := e.kms.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: signer.KeyId, EncapsulationAlgorithm: "ML_KEM"})
		wantErr(t, err, "InvalidKeyUsageException", "key usage is SIGN_VERIFY which is not valid for Encapsulate.")
		_, err = e.kms.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: signer.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: []byte("x")})
		wantErr(t, err, "InvalidKeyUsageException", "key usage is SIGN_VERIFY which is not valid for Decapsulate.")
		kem := createKey(t, e, "ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
		_, err = e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: kem.KeyId, Plaintext: []byte("x")})
		wantErr(t, err, "InvalidKeyUsageException", "")
		_, err = e.kms.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "RSA"})
		wantErr(t, err, "ValidationException", "encapsulationAlgorithm")
		// Grant tokens are checked like every other operation's.
		_, err = e.kms.Encapsulate(ctx, &kms.EncapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", GrantTokens: []string{"not-a-grant-token"}})
		wantErr(t, err, "InvalidGrantTokenException", "")
		_, err = e.kms.Decapsulate(ctx, &kms.DecapsulateInput{KeyId: kem.KeyId, EncapsulationAlgorithm: "ML_KEM", SharedSecretCiphertextBlob: []byte("x"), GrantTokens: []string{"not-a-grant-token"}})
		wantErr(t, err, "InvalidGrantTokenException", "")
		// A grant can allow Decapsulate alone.
		must[*kms.CreateGrantOutput](t)(e.kms.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: kem.KeyId,
			GranteePrincipal: aws.String("arn:aws:iam::" + testAccount + ":root"), Operations: []types.GrantOperation{"Decapsulate", "Encapsulate"}}))
	})

	t.Run("data key pairs", func(t *testing.T) {
		sym := createKey(t, e, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
		for _, spec := range []types.DataKeyPairSpec{"ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"} {
			out := must[*kms.GenerateDataKeyPairOutput](t)(e.kms.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: spec}))
			dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob}))
			if !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
				t.Errorf("%s: the encrypted private key differs from the plaintext one", spec)
			}
			seed := mlkemSeed(t, out.PrivateKeyPlaintext)
			oid, ek := mlkemSPKI(t, out.PublicKey)
			if !oid.Equal(oids[types.KeySpec(spec)]) {
				t.Errorf("%s: public key OID %v", spec, oid)
			}
			// crypto/mlkem expands the seed to the same public key.
			var want []byte
			switch spec {
			case "ML_KEM_768":
				dk, err := mlkem.NewDecapsulationKey768(seed)
				if err != nil {
					t.Fatal(err)
				}
				want = dk.EncapsulationKey().Bytes()
			case "ML_KEM_1024":
				dk, err := mlkem.NewDecapsulationKey1024(seed)
				if err != nil {
					t.Fatal(err)
				}
				want = dk.EncapsulationKey().Bytes()
			default:
				continue
			}
			if !bytes.Equal(want, ek) {
				t.Errorf("%s: crypto/mlkem derives another public key from the seed", spec)
			}
		}
	})

	// The trail records each Decapsulate with its key and algorithm, never
	// the ciphertext or the secret.
	e.stop()
	n := 0
	for _, ev := range trail(t, e.dataDir) {
		if ev.EventName != "Decapsulate" || ev.ErrorCode != "" {
			continue
		}
		n++
		p := string(ev.RequestParameters)
		if !strings.Contains(p, `"encapsulationAlgorithm":"ML_KEM"`) || !strings.Contains(p, `"keyId":`) || strings.Contains(p, "iphertext") || len(ev.Resources) != 1 {
			t.Errorf("Decapsulate record: requestParameters %s, resources %v", p, ev.Resources)
		}
	}
	if n == 0 {
		t.Error("no Decapsulate record in the trail")
	}
}

// TestMLKEMNotInChina: AWS offers no ML-KEM keys in its China Regions.
func TestMLKEMNotInChina(t *testing.T) {
	e := startChina(t)
	_, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "ML_KEM_768", KeyUsage: "ENCAPSULATE_DECAPSULATE"})
	wantErr(t, err, "ValidationException", "")
}
