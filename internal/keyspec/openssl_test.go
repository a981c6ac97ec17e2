package keyspec

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Interoperability with OpenSSL, an implementation that shares no code with
// this package: it verifies Sign's signatures from the SPKI alone, encrypts
// for Decrypt, derives ECDH secrets with DeriveSharedSecret's public keys,
// and reads the PKCS #8 keys Generate writes. OpenSSL 3.0 has no ML-DSA, so
// ML-DSA is checked against filippo.io/mldsa in sign_test.go instead.

func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not on PATH; skipping OpenSSL interoperability tests")
	}
	return path
}

func runOpenSSL(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemFile(t *testing.T, dir, name, typ string, der []byte) string {
	return writeFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestOpenSSLVerifiesSignatures(t *testing.T) {
	bin := needOpenSSL(t)
	dir := t.TempDir()
	msg := []byte("signed by keyward, verified by openssl")
	msgFile := writeFile(t, dir, "msg", msg)
	for _, tc := range []struct {
		spec Spec
		alg  string
		args []string // after "-verify pub -signature sig"
	}{
		{RSA2048, "RSASSA_PKCS1_V1_5_SHA_256", []string{"dgst", "-sha256"}},
		{RSA2048, "RSASSA_PKCS1_V1_5_SHA_512", []string{"dgst", "-sha512"}},
		{RSA2048, "RSASSA_PSS_SHA_256", []string{"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256"}},
		{RSA3072, "RSASSA_PSS_SHA_384", []string{"dgst", "-sha384", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:48", "-sigopt", "rsa_mgf1_md:sha384"}},
		{ECCNISTP256, "ECDSA_SHA_256", []string{"dgst", "-sha256"}},
		{ECCNISTP384, "ECDSA_SHA_384", []string{"dgst", "-sha384"}},
		{ECCNISTP521, "ECDSA_SHA_512", []string{"dgst", "-sha512"}},
		{ECCSECGP256K1, "ECDSA_SHA_256", []string{"dgst", "-sha256"}},
		{ECCNISTEdwards25519, "ED25519_SHA_512", []string{"pkeyutl", "-rawin"}},
	} {
		sig, err := Sign(tc.spec, testKey(t, tc.spec), tc.alg, MessageRaw, msg)
		if err != nil {
			t.Fatalf("Sign(%s, %s) = %v", tc.spec, tc.alg, err)
		}
		spki, _ := Public(tc.spec, testKey(t, tc.spec))
		pub := pemFile(t, dir, "pub.pem", "PUBLIC KEY", spki)
		sigFile := writeFile(t, dir, "sig", sig)
		var args []string
		if tc.args[0] == "pkeyutl" {
			args = append(tc.args, "-verify", "-pubin", "-inkey", pub, "-sigfile", sigFile, "-in", msgFile)
		} else {
			args = append(tc.args, "-verify", pub, "-signature", sigFile, msgFile)
		}
		out := runOpenSSL(t, bin, args...)
		if !bytes.Contains(out, []byte("Verified OK")) && !bytes.Contains(out, []byte("Signature Verified Successfully")) {
			t.Errorf("openssl did not verify %s %s: %s", tc.spec, tc.alg, out)
		}
		// And refuses a tampered message.
		bad := writeFile(t, dir, "bad", append(bytes.Clone(msg), '!'))
		args[len(args)-1] = bad
		if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil {
			t.Errorf("openssl verified %s %s over a changed message: %s", tc.spec, tc.alg, out)
		}
		t.Logf("openssl verified %s %s", tc.spec, tc.alg)
	}
}

func TestOpenSSLEncryptsForDecrypt(t *testing.T) {
	bin := needOpenSSL(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		spec Spec
		alg  string
		md   string
	}{
		{RSA2048, "RSAES_OAEP_SHA_256", "sha256"},
		{RSA2048, "RSAES_OAEP_SHA_1", "sha1"},
		{RSA4096, "RSAES_OAEP_SHA_256", "sha256"},
	} {
		pt := bytes.Repeat([]byte{'k'}, MaxPlaintext(tc.spec, tc.alg))
		pub := pemFile(t, dir, "pub.pem", "PUBLIC KEY", testPrivate(t, tc.spec).Public().Bytes())
		in := writeFile(t, dir, "pt", pt)
		ctFile := filepath.Join(dir, "ct")
		runOpenSSL(t, bin, "pkeyutl", "-encrypt", "-pubin", "-inkey", pub,
			"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+tc.md, "-pkeyopt", "rsa_mgf1_md:"+tc.md,
			"-in", in, "-out", ctFile)
		ct, _ := os.ReadFile(ctFile)
		got, err := Decrypt(tc.spec, testKey(t, tc.spec), tc.alg, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Decrypt(%s, %s) of openssl ciphertext = %v", tc.spec, tc.alg, err)
		}
		t.Logf("Decrypt(%s, %s) read openssl's %d-byte OAEP ciphertext of a %d-byte plaintext", tc.spec, tc.alg, len(ct), len(pt))
	}
}

func TestOpenSSLDerive(t *testing.T) {
	bin := needOpenSSL(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		spec  Spec
		curve string
	}{{ECCNISTP256, "P-256"}, {ECCNISTP384, "P-384"}, {ECCNISTP521, "P-521"}} {
		peerKey := filepath.Join(dir, "peer.pem")
		runOpenSSL(t, bin, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+tc.curve, "-out", peerKey)
		peerSPKI := runOpenSSL(t, bin, "pkey", "-in", peerKey, "-pubout", "-outform", "DER")
		ours := pemFile(t, dir, "ours.pem", "PUBLIC KEY", testPrivate(t, tc.spec).Public().Bytes())
		want := runOpenSSL(t, bin, "pkeyutl", "-derive", "-inkey", peerKey, "-peerkey", ours)
		got, err := DeriveSharedSecret(tc.spec, testKey(t, tc.spec), "ECDH", peerSPKI)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("DeriveSharedSecret(%s) = %x, %v; openssl derived %x", tc.spec, got, err, want)
		}
		t.Logf("%s: DeriveSharedSecret equals openssl pkeyutl -derive (%d bytes)", tc.spec, len(got))
	}
}

// TestOpenSSLReadsKeys checks that OpenSSL parses the PKCS #8 private keys
// (including the hand-encoded secp256k1 one) and derives from each the same
// SubjectPublicKeyInfo as Public.
func TestOpenSSLReadsKeys(t *testing.T) {
	bin := needOpenSSL(t)
	dir := t.TempDir()
	for _, spec := range []Spec{RSA2048, ECCNISTP256, ECCNISTP521, ECCSECGP256K1, ECCNISTEdwards25519} {
		p8 := writeFile(t, dir, "key.der", testKey(t, spec))
		got := runOpenSSL(t, bin, "pkey", "-inform", "DER", "-in", p8, "-pubout", "-outform", "DER")
		want, _ := Public(spec, testKey(t, spec))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: openssl's SPKI %x, Public's %x", spec, got, want)
		}
	}
}
