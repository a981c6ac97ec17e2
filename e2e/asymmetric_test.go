package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/mldsa"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

func createKey(t *testing.T, e *env, spec types.KeySpec, usage types.KeyUsageType) *types.KeyMetadata {
	t.Helper()
	out, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey(%s, %s) = %v", spec, usage, err)
	}
	return out.KeyMetadata
}

func TestCreateKeySpecUsageMatrix(t *testing.T) {
	e := start(t, "")
	cases := []struct {
		spec       types.KeySpec
		usage      types.KeyUsageType
		enc, sign  string
		mac, agree string
	}{
		{"SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "[SYMMETRIC_DEFAULT]", "[]", "[]", "[]"},
		{"RSA_2048", "ENCRYPT_DECRYPT", "[RSAES_OAEP_SHA_1 RSAES_OAEP_SHA_256]", "[]", "[]", "[]"},
		{"RSA_3072", "SIGN_VERIFY", "[]", "[RSASSA_PKCS1_V1_5_SHA_256 RSASSA_PKCS1_V1_5_SHA_384 RSASSA_PKCS1_V1_5_SHA_512 RSASSA_PSS_SHA_256 RSASSA_PSS_SHA_384 RSASSA_PSS_SHA_512]", "[]", "[]"},
		{"ECC_NIST_P256", "SIGN_VERIFY", "[]", "[ECDSA_SHA_256]", "[]", "[]"},
		{"ECC_NIST_P384", "KEY_AGREEMENT", "[]", "[]", "[]", "[ECDH]"},
		{"ECC_NIST_P521", "SIGN_VERIFY", "[]", "[ECDSA_SHA_512]", "[]", "[]"},
		{"ECC_SECG_P256K1", "SIGN_VERIFY", "[]", "[ECDSA_SHA_256]", "[]", "[]"},
		{"ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "[]", "[ED25519_SHA_512 ED25519_PH_SHA_512]", "[]", "[]"},
		{"HMAC_224", "GENERATE_VERIFY_MAC", "[]", "[]", "[HMAC_SHA_224]", "[]"},
		{"HMAC_512", "GENERATE_VERIFY_MAC", "[]", "[]", "[HMAC_SHA_512]", "[]"},
		{"ML_DSA_44", "SIGN_VERIFY", "[]", "[ML_DSA_SHAKE_256]", "[]", "[]"},
	}
	for _, c := range cases {
		m := createKey(t, e, c.spec, c.usage)
		d := must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: m.KeyId})).KeyMetadata
		got := fmt.Sprint(d.EncryptionAlgorithms, d.SigningAlgorithms, d.MacAlgorithms, d.KeyAgreementAlgorithms)
		// Compare as sets: AWS's order is its own.
		want := c.enc + " " + c.sign + " " + c.mac + " " + c.agree
		if sortedFields(got) != sortedFields(want) || d.KeySpec != c.spec || d.KeyUsage != c.usage {
			t.Errorf("DescribeKey(%s/%s) algorithms = %s, want %s", c.spec, c.usage, got, want)
		}
		// AWS gives key material IDs to symmetric encryption keys only.
		if (d.CurrentKeyMaterialId != nil) != (c.spec == "SYMMETRIC_DEFAULT") {
			t.Errorf("DescribeKey(%s/%s) CurrentKeyMaterialId = %v", c.spec, c.usage, aws.ToString(d.CurrentKeyMaterialId))
		}
	}

	refused := []struct {
		spec  types.KeySpec
		usage types.KeyUsageType
		msg   string
	}{
		{"RSA_2048", "GENERATE_VERIFY_MAC", "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec RSA_2048"},
		{"RSA_2048", "KEY_AGREEMENT", "not compatible"},
		{"ECC_NIST_P256", "ENCRYPT_DECRYPT", "not compatible"},
		{"ECC_SECG_P256K1", "KEY_AGREEMENT", "not compatible"},
		{"ECC_NIST_EDWARDS25519", "KEY_AGREEMENT", "not compatible"},
		{"HMAC_256", "SIGN_VERIFY", "not compatible"},
		{"HMAC_256", "", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."},
		{"ML_DSA_65", "ENCRYPT_DECRYPT", "not compatible"},
		{"SYMMETRIC_DEFAULT", "SIGN_VERIFY", "not compatible"},
		{"SM2", "SIGN_VERIFY", "China"},
	}
	for _, c := range refused {
		_, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: c.spec, KeyUsage: c.usage})
		if err == nil {
			t.Errorf("CreateKey(%s, %s) succeeded", c.spec, c.usage)
			continue
		}
		if code, msg := apiErr(t, err); code != "ValidationException" || !contains(msg, c.msg) {
			t.Errorf("CreateKey(%s, %s) = %s: %q, want ValidationException %q", c.spec, c.usage, code, msg, c.msg)
		}
	}
}

func sortedFields(s string) string {
	b := []byte(s)
	slices.Sort(b)
	return string(b)
}

// pubKey fetches a key's public key and parses it with the standard library.
func pubKey(t *testing.T, e *env, id *string) (any, []byte) {
	t.Helper()
	out := must[*kms.GetPublicKeyOutput](t)(e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id}))
	pk, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, out.PublicKey
	}
	return pk, out.PublicKey
}

func digestFor(alg types.SigningAlgorithmSpec, msg []byte) (crypto.Hash, []byte) {
	var h hash.Hash
	var ch crypto.Hash
	switch alg {
	case "RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256", "ECDSA_SHA_256":
		h, ch = sha256.New(), crypto.SHA256
	case "RSASSA_PSS_SHA_384", "RSASSA_PKCS1_V1_5_SHA_384", "ECDSA_SHA_384":
		h, ch = sha512.New384(), crypto.SHA384
	default:
		h, ch = sha512.New(), crypto.SHA512
	}
	h.Write(msg)
	return ch, h.Sum(nil)
}

// TestSignVerifyEverySpec signs with every signing algorithm of every spec,
// as RAW and as DIGEST, and checks each signature with Keyward's Verify and
// with an independent implementation holding only the public key.
func TestSignVerifyEverySpec(t *testing.T) {
	e := start(t, "")
	msg := []byte("the message to sign")
	for _, spec := range []types.KeySpec{"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87"} {
		m := createKey(t, e, spec, "SIGN_VERIFY")
		pk, spki := pubKey(t, e, m.KeyId)
		for _, alg := range m.SigningAlgorithms {
			for _, mt := range []types.MessageType{"RAW", "DIGEST"} {
				input := msg
				ch, digest := digestFor(alg, msg)
				switch {
				case alg == "ED25519_SHA_512" && mt == "DIGEST", alg == "ML_DSA_SHAKE_256" && mt == "DIGEST":
					continue // RAW only
				case alg == "ED25519_PH_SHA_512" && mt == "RAW":
					continue // DIGEST only
				case mt == "DIGEST":
					input = digest
				}
				name := fmt.Sprintf("%s/%s/%s", spec, alg, mt)
				sig := must[*kms.SignOutput](t)(e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: input, MessageType: mt, SigningAlgorithm: alg}))
				if *sig.KeyId != *m.Arn || sig.SigningAlgorithm != alg {
					t.Errorf("%s: Sign answered KeyId %s alg %s", name, *sig.KeyId, sig.SigningAlgorithm)
				}
				v, err := e.kms.Verify(ctx, &kms.VerifyInput{KeyId: m.KeyId, Message: input, MessageType: mt, Signature: sig.Signature, SigningAlgorithm: alg})
				if err != nil || !v.SignatureValid {
					t.Errorf("%s: Verify = %v", name, err)
				}
				bad := bytes.Clone(sig.Signature)
				bad[len(bad)/2] ^= 0x10
				_, err = e.kms.Verify(ctx, &kms.VerifyInput{KeyId: m.KeyId, Message: input, MessageType: mt, Signature: bad, SigningAlgorithm: alg})
				if err == nil {
					t.Errorf("%s: Verify accepted a tampered signature", name)
				} else if code, m := apiErr(t, err); code != "KMSInvalidSignatureException" || m != "" {
					t.Errorf("%s: tampered Verify = %s %q", name, code, m)
				}
				if !independentVerify(t, spec, pk, spki, alg, ch, digest, msg, sig.Signature) {
					t.Errorf("%s: an independent verifier refused the signature", name)
				}
			}
		}
		_, err := e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: []byte("short"), MessageType: "DIGEST", SigningAlgorithm: m.SigningAlgorithms[0]})
		if spec != "ECC_NIST_EDWARDS25519" && spec[:2] != "ML" {
			wantErr(t, err, "ValidationException", "Digest is invalid length for algorithm "+string(m.SigningAlgorithms[0])+".")
		}
	}
}

func independentVerify(t *testing.T, spec types.KeySpec, pk any, spki []byte, alg types.SigningAlgorithmSpec, ch crypto.Hash, digest, msg, sig []byte) bool {
	switch k := pk.(type) {
	case *rsa.PublicKey:
		if bytes.HasPrefix([]byte(alg), []byte("RSASSA_PSS")) {
			return rsa.VerifyPSS(k, ch, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(k, ch, digest, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, sig)
	case ed25519.PublicKey:
		if alg == "ED25519_PH_SHA_512" {
			// AWS hashes the given SHA-512 digest again as Ed25519ph's input.
			pre := sha512.Sum512(digest)
			return ed25519.VerifyWithOptions(k, pre[:], sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
		}
		return ed25519.Verify(k, msg, sig)
	}
	// secp256k1 and ML-DSA are outside crypto/x509: parse the SPKI by hand.
	var info struct {
		Algo pkix.AlgorithmIdentifier
		Key  asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		t.Fatalf("%s: SPKI does not parse: %v", spec, err)
	}
	switch spec {
	case "ECC_SECG_P256K1":
		pub, err := secp256k1.ParsePubKey(info.Key.Bytes)
		if err != nil {
			t.Fatalf("secp256k1 public key: %v", err)
		}
		s, err := secpecdsa.ParseDERSignature(sig)
		return err == nil && s.Verify(digest, pub)
	case "ML_DSA_44", "ML_DSA_65", "ML_DSA_87":
		params := map[types.KeySpec]mldsa.Parameters{"ML_DSA_44": mldsa.MLDSA44(), "ML_DSA_65": mldsa.MLDSA65(), "ML_DSA_87": mldsa.MLDSA87()}[spec]
		pub, err := mldsa.NewPublicKey(params, info.Key.Bytes)
		if err != nil {
			t.Fatalf("ML-DSA public key: %v", err)
		}
		return mldsa.Verify(pub, msg, sig, nil) == nil
	}
	t.Fatalf("%s: no independent verifier for %T", spec, pk)
	return false
}

// TestSignaturesVerifyWithOpenSSL has openssl check signatures from the
// public key alone.
func TestSignaturesVerifyWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	e := start(t, "")
	dir := t.TempDir()
	msg := []byte("signed by keyward, checked by openssl")
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, msg, 0o600)
	cases := []struct {
		spec types.KeySpec
		alg  types.SigningAlgorithmSpec
		args []string
	}{
		{"RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", []string{"dgst", "-sha256"}},
		{"RSA_2048", "RSASSA_PSS_SHA_256", []string{"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"}},
		{"ECC_NIST_P256", "ECDSA_SHA_256", []string{"dgst", "-sha256"}},
		{"ECC_SECG_P256K1", "ECDSA_SHA_256", []string{"dgst", "-sha256"}},
		{"ECC_NIST_EDWARDS25519", "ED25519_SHA_512", []string{"pkeyutl", "-rawin"}},
	}
	for i, c := range cases {
		m := createKey(t, e, c.spec, "SIGN_VERIFY")
		_, spki := pubKey(t, e, m.KeyId)
		pemFile := filepath.Join(dir, fmt.Sprintf("pub%d.pem", i))
		os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600)
		sig := must[*kms.SignOutput](t)(e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: c.alg})).Signature
		sigFile := filepath.Join(dir, fmt.Sprintf("sig%d", i))
		os.WriteFile(sigFile, sig, 0o600)
		var args []string
		if c.args[0] == "pkeyutl" {
			args = append(c.args, "-verify", "-pubin", "-inkey", pemFile, "-sigfile", sigFile, "-in", msgFile)
		} else {
			args = append(c.args, "-verify", pemFile, "-signature", sigFile, msgFile)
		}
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Errorf("openssl refused the %s %s signature: %v\n%s", c.spec, c.alg, err, out)
		}
	}
}

func TestRSAEncryption(t *testing.T) {
	e := start(t, "")
	m := createKey(t, e, "RSA_2048", "ENCRYPT_DECRYPT")
	pk, spki := pubKey(t, e, m.KeyId)
	rsaPub := pk.(*rsa.PublicKey)
	for _, c := range []struct {
		alg types.EncryptionAlgorithmSpec
		h   hash.Hash
		max int
	}{{"RSAES_OAEP_SHA_1", nil, 214}, {"RSAES_OAEP_SHA_256", sha256.New(), 190}} {
		pt := bytes.Repeat([]byte{'p'}, c.max)
		enc := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: pt, EncryptionAlgorithm: c.alg}))
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: c.alg}))
		if !bytes.Equal(dec.Plaintext, pt) || dec.EncryptionAlgorithm != c.alg {
			t.Errorf("%s round trip failed", c.alg)
		}
		if dec.KeyMaterialId != nil {
			t.Errorf("Decrypt with an RSA key returned KeyMaterialId %s; AWS returns it for symmetric keys only", *dec.KeyMaterialId)
		}
		_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: append(pt, 'x'), EncryptionAlgorithm: c.alg})
		wantErr(t, err, "ValidationException", fmt.Sprintf("Algorithm %s and key spec RSA_2048 cannot encrypt data larger than %d bytes.", c.alg, c.max))
		// A ciphertext made outside Keyward with the public key alone.
		if c.h != nil {
			ct, err := rsa.EncryptOAEP(c.h, rand.Reader, rsaPub, []byte("from go"), nil)
			if err != nil {
				t.Fatal(err)
			}
			dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: ct, EncryptionAlgorithm: c.alg}))
			if string(dec.Plaintext) != "from go" {
				t.Errorf("Decrypt of Go's OAEP = %q", dec.Plaintext)
			}
		}
	}
	_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "InvalidKeyUsageException", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.")
	_, err = e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: make([]byte, 256), EncryptionAlgorithm: "RSAES_OAEP_SHA_256"})
	wantErr(t, err, "InvalidCiphertextException", "")

	// openssl encrypts with the SPKI alone; Keyward decrypts.
	if openssl, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		pemFile := filepath.Join(dir, "pub.pem")
		os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600)
		os.WriteFile(filepath.Join(dir, "pt"), []byte("from openssl"), 0o600)
		out, err := exec.Command(openssl, "pkeyutl", "-encrypt", "-pubin", "-inkey", pemFile, "-in", filepath.Join(dir, "pt"),
			"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256").Output()
		if err != nil {
			t.Fatalf("openssl pkeyutl -encrypt: %v", err)
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: out, EncryptionAlgorithm: "RSAES_OAEP_SHA_256"}))
		if string(dec.Plaintext) != "from openssl" {
			t.Errorf("Decrypt of openssl's OAEP = %q", dec.Plaintext)
		}
	}

	// ReEncrypt moves between symmetric and RSA keys both ways.
	sym := createKey(t, e, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
	ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: sym.KeyId, Plaintext: []byte("hop")})).CiphertextBlob
	re := must[*kms.ReEncryptOutput](t)(e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: ct, DestinationKeyId: m.KeyId, DestinationEncryptionAlgorithm: "RSAES_OAEP_SHA_256"}))
	back := must[*kms.ReEncryptOutput](t)(e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: re.CiphertextBlob, SourceKeyId: m.KeyId, SourceEncryptionAlgorithm: "RSAES_OAEP_SHA_256", DestinationKeyId: sym.KeyId}))
	dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: back.CiphertextBlob}))
	if string(dec.Plaintext) != "hop" || back.SourceEncryptionAlgorithm != "RSAES_OAEP_SHA_256" {
		t.Errorf("ReEncrypt symmetric -> RSA -> symmetric = %q", dec.Plaintext)
	}
	// Only the symmetric side of each hop has a key material ID.
	if re.SourceKeyMaterialId == nil || re.DestinationKeyMaterialId != nil || back.SourceKeyMaterialId != nil || back.DestinationKeyMaterialId == nil {
		t.Errorf("ReEncrypt key material IDs: to RSA source %v destination %v, back source %v destination %v",
			aws.ToString(re.SourceKeyMaterialId), aws.ToString(re.DestinationKeyMaterialId), aws.ToString(back.SourceKeyMaterialId), aws.ToString(back.DestinationKeyMaterialId))
	}
}

func TestHMAC(t *testing.T) {
	e := start(t, "")
	msg := []byte("authenticate me")
	for _, c := range []struct {
		spec types.KeySpec
		alg  types.MacAlgorithmSpec
		n    int
	}{{"HMAC_224", "HMAC_SHA_224", 28}, {"HMAC_256", "HMAC_SHA_256", 32}, {"HMAC_384", "HMAC_SHA_384", 48}, {"HMAC_512", "HMAC_SHA_512", 64}} {
		m := createKey(t, e, c.spec, "GENERATE_VERIFY_MAC")
		out := must[*kms.GenerateMacOutput](t)(e.kms.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg}))
		if len(out.Mac) != c.n || *out.KeyId != *m.Arn {
			t.Errorf("GenerateMac(%s) = %d bytes", c.spec, len(out.Mac))
		}
		again := must[*kms.GenerateMacOutput](t)(e.kms.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg}))
		if !bytes.Equal(again.Mac, out.Mac) {
			t.Errorf("GenerateMac(%s) is not deterministic", c.spec)
		}
		v := must[*kms.VerifyMacOutput](t)(e.kms.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg, Mac: out.Mac}))
		if !v.MacValid {
			t.Errorf("VerifyMac(%s) = invalid", c.spec)
		}
		bad := bytes.Clone(out.Mac)
		bad[0] ^= 1
		_, err := e.kms.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: c.alg, Mac: bad})
		if err == nil {
			t.Errorf("VerifyMac(%s) accepted a tampered MAC", c.spec)
		} else if code, msg := apiErr(t, err); code != "KMSInvalidMacException" || msg != "" {
			t.Errorf("VerifyMac(%s, tampered) = %s %q", c.spec, code, msg)
		}
	}
	m := createKey(t, e, "HMAC_256", "GENERATE_VERIFY_MAC")
	_, err := e.kms.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: "HMAC_SHA_512"})
	wantErr(t, err, "InvalidKeyUsageException", "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.")
	// The enum in AWS's own order, as recorded from AWS.
	_, err = e.kms.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: "INVALID"})
	wantErr(t, err, "ValidationException", "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]")
	_, err = e.kms.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: m.KeyId, Message: msg, MacAlgorithm: "INVALID", Mac: []byte("m")})
	wantErr(t, err, "ValidationException", "Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]")
	sym := createKey(t, e, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
	_, err = e.kms.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: sym.KeyId, Message: msg, MacAlgorithm: "HMAC_SHA_256"})
	wantErr(t, err, "InvalidKeyUsageException", *sym.Arn+" key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.")
	_, err = e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: "ECDSA_SHA_256"})
	wantErr(t, err, "InvalidKeyUsageException", *m.Arn+" key usage is GENERATE_VERIFY_MAC which is not valid for Sign.")
	_, err = e.kms.Verify(ctx, &kms.VerifyInput{KeyId: sym.KeyId, Message: msg, Signature: []byte("s"), SigningAlgorithm: "ECDSA_SHA_256"})
	wantErr(t, err, "InvalidKeyUsageException", *sym.Arn+" key usage is ENCRYPT_DECRYPT which is not valid for Verify.")
	signer := createKey(t, e, "ECC_NIST_P256", "SIGN_VERIFY")
	_, err = e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: signer.KeyId, Plaintext: msg})
	wantErr(t, err, "InvalidKeyUsageException", *signer.Arn+" key usage is SIGN_VERIFY which is not valid for Encrypt.")
	_, err = e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: sym.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "")
}

func TestGenerateDataKeyPair(t *testing.T) {
	e := start(t, "")
	sym := createKey(t, e, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
	ec := map[string]string{"purpose": "pair"}
	for _, spec := range []types.DataKeyPairSpec{"RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519"} {
		out := must[*kms.GenerateDataKeyPairOutput](t)(e.kms.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: spec, EncryptionContext: ec}))
		if out.KeyPairSpec != spec || *out.KeyId != *sym.Arn {
			t.Errorf("GenerateDataKeyPair(%s) = %s under %s", spec, out.KeyPairSpec, *out.KeyId)
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: ec}))
		if !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
			t.Errorf("%s: the encrypted private key differs from the plaintext one", spec)
		}
		if spec == "ECC_SECG_P256K1" {
			continue // crypto/x509 has no secp256k1
		}
		priv, err := x509.ParsePKCS8PrivateKey(out.PrivateKeyPlaintext)
		if err != nil {
			t.Fatalf("%s: private key is not PKCS#8: %v", spec, err)
		}
		pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
		if err != nil {
			t.Fatalf("%s: public key is not SPKI: %v", spec, err)
		}
		if !priv.(interface{ Public() crypto.PublicKey }).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Errorf("%s: public key does not match private key", spec)
		}
	}
	wp := must[*kms.GenerateDataKeyPairWithoutPlaintextOutput](t)(e.kms.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: sym.KeyId, KeyPairSpec: "ECC_NIST_P256"}))
	dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wp.PrivateKeyCiphertextBlob}))
	if _, err := x509.ParsePKCS8PrivateKey(dec.Plaintext); err != nil {
		t.Errorf("WithoutPlaintext private key: %v", err)
	}
	rsaKey := createKey(t, e, "RSA_2048", "ENCRYPT_DECRYPT")
	_, err := e.kms.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: rsaKey.KeyId, KeyPairSpec: "ECC_NIST_P256"})
	wantErr(t, err, "InvalidKeyUsageException", "")
	_, err = e.kms.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: "SM2"})
	wantErr(t, err, "ValidationException", "")
}

func TestDeriveSharedSecret(t *testing.T) {
	e := start(t, "")
	curves := map[types.KeySpec]ecdh.Curve{"ECC_NIST_P256": ecdh.P256(), "ECC_NIST_P384": ecdh.P384(), "ECC_NIST_P521": ecdh.P521()}
	for spec, curve := range curves {
		m := createKey(t, e, spec, "KEY_AGREEMENT")
		pk, _ := pubKey(t, e, m.KeyId)
		kmsPub, err := pk.(*ecdsa.PublicKey).ECDH()
		if err != nil {
			t.Fatal(err)
		}
		peer, _ := curve.GenerateKey(rand.Reader)
		peerSPKI, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
		out := must[*kms.DeriveSharedSecretOutput](t)(e.kms.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: m.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peerSPKI}))
		want, _ := peer.ECDH(kmsPub)
		if !bytes.Equal(out.SharedSecret, want) || out.KeyOrigin != "AWS_KMS" || *out.KeyId != *m.Arn {
			t.Errorf("DeriveSharedSecret(%s) differs from the peer's ECDH", spec)
		}
		// A point on another curve, and garbage, are refused.
		other, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
		otherSPKI, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
		for name, bad := range map[string][]byte{"other curve": otherSPKI, "garbage": []byte("not a key")} {
			_, err := e.kms.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: m.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: bad})
			if err == nil {
				t.Errorf("DeriveSharedSecret(%s, %s) succeeded", spec, name)
			} else if code, _ := apiErr(t, err); code != "ValidationException" {
				t.Errorf("DeriveSharedSecret(%s, %s) = %s", spec, name, code)
			}
		}
		if spec != "ECC_NIST_P256" {
			continue
		}
		// openssl derives the same secret from the KMS public key and the peer's private key.
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			continue
		}
		dir := t.TempDir()
		_, spki := pubKey(t, e, m.KeyId)
		os.WriteFile(filepath.Join(dir, "kms.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600)
		peerPKCS8, _ := x509.MarshalPKCS8PrivateKey(peer)
		os.WriteFile(filepath.Join(dir, "peer.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: peerPKCS8}), 0o600)
		got, err := exec.Command(openssl, "pkeyutl", "-derive", "-inkey", filepath.Join(dir, "peer.pem"), "-peerkey", filepath.Join(dir, "kms.pem")).Output()
		if err != nil || !bytes.Equal(got, out.SharedSecret) {
			t.Errorf("openssl pkeyutl -derive = %x, %v; want %x", got, err, out.SharedSecret)
		}
	}
	signer := createKey(t, e, "ECC_NIST_P256", "SIGN_VERIFY")
	_, err := e.kms.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: signer.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: []byte("x")})
	wantErr(t, err, "InvalidKeyUsageException", "key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.")
	_ = aws.String
}
