package keyspec

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// Interoperability with OpenSSL, an implementation that shares no code with
// this package: it verifies Sign's signatures from the SPKI alone, encrypts
// for Decrypt, derives ECDH secrets with DeriveSharedSecret's public keys,
// and reads the PKCS #8 keys Generate writes. OpenSSL 3.0 has no ML-DSA, so
// ML-DSA is checked against filippo.io/mldsa in sign_test.go instead. SM2 has
// its own test, TestOpenSSLSM2. ML-KEM needs OpenSSL 3.5 (TestOpenSSLMLKEM);
// TestPythonCryptographyMLKEM reaches a newer OpenSSL through pyca/cryptography.

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
		// OpenSSL 3.0's default SM2 distinguishing ID is empty; AWS's is
		// 1234567812345678.
		{SM2, "SM2DSA", []string{"pkeyutl", "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"}},
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
	for _, spec := range []Spec{RSA2048, ECCNISTP256, ECCNISTP521, ECCSECGP256K1, ECCNISTEdwards25519, SM2} {
		p8 := writeFile(t, dir, "key.der", testKey(t, spec))
		got := runOpenSSL(t, bin, "pkey", "-inform", "DER", "-in", p8, "-pubout", "-outform", "DER")
		want, _ := Public(spec, testKey(t, spec))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: openssl's SPKI %x, Public's %x", spec, got, want)
		}
	}
}

// TestOpenSSLSM2 checks SM2 against OpenSSL 3 in both directions: key
// encodings byte for byte, SM2DSA with the default distinguishing ID, and
// SM2PKE ciphertexts in the GM/T 0009 ASN.1 form.
func TestOpenSSLSM2(t *testing.T) {
	bin := needOpenSSL(t)
	dir := t.TempDir()
	// An OpenSSL key: genpkey, then PKCS #8 DER as "openssl pkcs8 -topk8
	// -nocrypt" writes it.
	sslKey := filepath.Join(dir, "ssl.pem")
	runOpenSSL(t, bin, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:sm2", "-out", sslKey)
	sslP8 := runOpenSSL(t, bin, "pkcs8", "-topk8", "-nocrypt", "-in", sslKey, "-outform", "DER")
	sslSPKI := runOpenSSL(t, bin, "pkey", "-in", sslKey, "-pubout", "-outform", "DER")
	// Keyward's key, for OpenSSL.
	ours := testPrivate(t, SM2)
	oursP8 := writeFile(t, dir, "ours.der", testKey(t, SM2))
	oursPub := pemFile(t, dir, "ours.pem", "PUBLIC KEY", ours.Public().Bytes())

	t.Run("keys", func(t *testing.T) {
		k, err := ParsePrivateKey(SM2, sslP8)
		if err != nil {
			t.Fatalf("ParsePrivateKey(OpenSSL SM2 PKCS #8) = %v", err)
		}
		if !bytes.Equal(k.Public().Bytes(), sslSPKI) {
			t.Errorf("Public(OpenSSL key) = %x, openssl wrote %x", k.Public().Bytes(), sslSPKI)
		}
		again, err := marshalSM2PKCS8(k.key.(*sm2.PrivateKey))
		if err != nil || !bytes.Equal(again, sslP8) {
			t.Errorf("marshalSM2PKCS8 = %x, openssl wrote %x (%v)", again, sslP8, err)
		}
		if _, err := ParsePublicKey(SM2, sslSPKI); err != nil {
			t.Errorf("ParsePublicKey(OpenSSL SM2 SPKI) = %v", err)
		}
		out := runOpenSSL(t, bin, "pkey", "-inform", "DER", "-in", oursP8, "-noout", "-text")
		if !bytes.Contains(out, []byte("ASN1 OID: SM2")) {
			t.Errorf("openssl does not see an SM2 key in Keyward's PKCS #8:\n%s", out)
		}
	})

	t.Run("openssl signs", func(t *testing.T) {
		msg := []byte("signed by openssl, verified by keyward")
		msgFile := writeFile(t, dir, "msg", msg)
		sigFile := filepath.Join(dir, "sig")
		runOpenSSL(t, bin, "pkeyutl", "-sign", "-inkey", sslKey, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:1234567812345678", "-in", msgFile, "-out", sigFile)
		sig, _ := os.ReadFile(sigFile)
		for _, in := range []mtInput{{MessageRaw, msg}, {MessageDigest, sm2E(t, sslSPKI, msg)}} {
			if ok, err := Verify(SM2, sslSPKI, "SM2DSA", in.mt, in.m, sig); !ok || err != nil {
				t.Errorf("Verify(SM2, %s, openssl signature) = %v, %v; want true", in.mt, ok, err)
			}
		}
		// Without distid OpenSSL 3.0 signs with an empty ID: not AWS's Z_A.
		runOpenSSL(t, bin, "pkeyutl", "-sign", "-inkey", sslKey, "-rawin", "-digest", "sm3", "-in", msgFile, "-out", sigFile)
		sig, _ = os.ReadFile(sigFile)
		if ok, _ := Verify(SM2, sslSPKI, "SM2DSA", MessageRaw, msg, sig); ok {
			t.Error("Verify(SM2) accepted a signature made with an empty distinguishing ID")
		}
	})

	t.Run("openssl encrypts", func(t *testing.T) {
		for _, n := range []int{1, 1024} {
			pt := bytes.Repeat([]byte{'s'}, n)
			ctFile := filepath.Join(dir, "ct")
			runOpenSSL(t, bin, "pkeyutl", "-encrypt", "-pubin", "-inkey", oursPub, "-in", writeFile(t, dir, "pt", pt), "-out", ctFile)
			ct, _ := os.ReadFile(ctFile)
			got, err := Decrypt(SM2, testKey(t, SM2), "SM2PKE", ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Errorf("Decrypt(SM2) of openssl's %d-byte ciphertext of %d bytes = %v", len(ct), n, err)
			}
		}
	})

	t.Run("openssl decrypts", func(t *testing.T) {
		for _, n := range []int{1, 1024} {
			pt := bytes.Repeat([]byte{'k'}, n)
			ct, err := Encrypt(SM2, ours.Public().Bytes(), "SM2PKE", pt)
			if err != nil {
				t.Fatal(err)
			}
			got := runOpenSSL(t, bin, "pkeyutl", "-decrypt", "-inkey", oursP8, "-keyform", "DER", "-in", writeFile(t, dir, "ct", ct))
			if !bytes.Equal(got, pt) {
				t.Errorf("openssl decrypted Keyward's SM2 ciphertext of %d bytes to %d bytes", n, len(got))
			}
		}
	})

	// OpenSSL does no key exchange with SM2 keys ("pkeyutl -derive": operation
	// not supported for this keytype; openssl/openssl#28043). Its SM2
	// encryption computes the same shared point, though: C1 = k·G, and
	// (x2, y2) = k·P = d·C1 goes into C3 = SM3(x2 || M || y2). So
	// DeriveSharedSecret(d, C1) must give an x2 that, with one of its two y2,
	// reproduces OpenSSL's C3.
	t.Run("derive", func(t *testing.T) {
		pt := []byte("the shared point, committed by openssl")
		ctFile := filepath.Join(dir, "ct")
		runOpenSSL(t, bin, "pkeyutl", "-encrypt", "-pubin", "-inkey", oursPub, "-in", writeFile(t, dir, "pt", pt), "-out", ctFile)
		ct, _ := os.ReadFile(ctFile)
		var c struct {
			X, Y     *big.Int
			Hash, CT []byte
		}
		if _, err := asn1.Unmarshal(ct, &c); err != nil {
			t.Fatal(err)
		}
		point := append([]byte{4}, c.X.FillBytes(make([]byte, 32))...)
		point = append(point, c.Y.FillBytes(make([]byte, 32))...)
		peer, _ := asn1.Marshal(spkiASN1{Algorithm: namedCurve(oidSM2), PublicKey: asn1.BitString{Bytes: point, BitLength: 520}})
		x2, err := DeriveSharedSecret(SM2, testKey(t, SM2), "ECDH", peer)
		if err != nil {
			t.Fatal(err)
		}
		// y2² = x2³ − 3·x2 + b mod p.
		p, x := sm2RefCurve.P, new(big.Int).SetBytes(x2)
		rhs := new(big.Int).Exp(x, big.NewInt(3), p)
		rhs.Sub(rhs, new(big.Int).Mul(x, big.NewInt(3)))
		rhs.Add(rhs, sm2RefCurve.B).Mod(rhs, p)
		y := new(big.Int).ModSqrt(rhs, p)
		if y == nil {
			t.Fatalf("DeriveSharedSecret = %x: not the x-coordinate of a point", x2)
		}
		found := false
		for _, y2 := range []*big.Int{y, new(big.Int).Sub(p, y)} {
			h := sm3.New()
			h.Write(x2)
			h.Write(pt)
			h.Write(y2.FillBytes(make([]byte, 32)))
			found = found || bytes.Equal(h.Sum(nil), c.Hash)
		}
		if !found {
			t.Errorf("DeriveSharedSecret(SM2, openssl's C1) = %x does not match openssl's C3", x2)
		}
	})
}

// TestOpenSSLMLKEM runs with OpenSSL 3.5 or later, the first with ML-KEM
// (3.0 has none, and the test skips). OpenSSL reads Keyward's seed-only
// PKCS #8 keys and derives the same SubjectPublicKeyInfo from them, reads
// that SPKI back unchanged, and Keyward reads the keys OpenSSL generates,
// which by default are in RFC 9935's both form.
func TestOpenSSLMLKEM(t *testing.T) {
	bin := needOpenSSL(t)
	if out, err := exec.Command(bin, "list", "-kem-algorithms").CombinedOutput(); err != nil || !bytes.Contains(out, []byte("ML-KEM-768")) {
		version, _ := exec.Command(bin, "version").Output()
		t.Skipf("%s has no ML-KEM (OpenSSL 3.5 or later does); mlkem_test.go checks the encodings field by field", bytes.TrimSpace(version))
	}
	dir := t.TempDir()
	for _, spec := range mlkemSpecs {
		name := "ML-KEM-" + strings.TrimPrefix(string(spec), "ML_KEM_")
		p8 := writeFile(t, dir, "key.der", testKey(t, spec))
		spki := testPrivate(t, spec).Public().Bytes()
		if got := runOpenSSL(t, bin, "pkey", "-inform", "DER", "-in", p8, "-pubout", "-outform", "DER"); !bytes.Equal(got, spki) {
			t.Errorf("%s: openssl derives another SPKI from Keyward's PKCS #8", spec)
		}
		pub := writeFile(t, dir, "pub.der", spki)
		if got := runOpenSSL(t, bin, "pkey", "-pubin", "-inform", "DER", "-in", pub, "-outform", "DER"); !bytes.Equal(got, spki) {
			t.Errorf("%s: openssl does not read back Keyward's SPKI unchanged", spec)
		}
		theirs := filepath.Join(dir, "theirs.der")
		runOpenSSL(t, bin, "genpkey", "-algorithm", name, "-outform", "DER", "-out", theirs)
		der, err := os.ReadFile(theirs)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParsePrivateKey(spec, der)
		if err != nil {
			t.Fatalf("ParsePrivateKey(%s key from openssl genpkey) = %v", spec, err)
		}
		if want := runOpenSSL(t, bin, "pkey", "-inform", "DER", "-in", theirs, "-pubout", "-outform", "DER"); !bytes.Equal(k.Public().Bytes(), want) {
			t.Errorf("%s: Keyward derives another SPKI from openssl's key", spec)
		}
		t.Logf("%s: openssl and Keyward read each other's keys", spec)
	}
}

// mlkemPyScript is the other side of TestPythonCryptographyMLKEM: with
// pyca/cryptography (47 or later; it brings its own OpenSSL), it reads
// Keyward's PKCS #8 and SPKI, encapsulates for Keyward's key, decapsulates
// Keyward's ciphertext, and writes a key of its own.
const mlkemPyScript = `
import sys, os
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import mlkem
d = sys.argv[1]
r = lambda n: open(os.path.join(d, n), "rb").read()
def w(n, b):
    open(os.path.join(d, n), "wb").write(b)
k = s.load_der_private_key(r("priv.der"), None)
pub = s.load_der_public_key(r("pub.der"))
spki = (s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
assert k.public_key().public_bytes(*spki) == r("pub.der"), "another SPKI from Keyward's PKCS #8"
assert pub.public_bytes(*spki) == r("pub.der"), "SPKI not read back unchanged"
secret, ct = pub.encapsulate()
w("py.ct", ct); w("py.ss", secret)
w("keyward.ss", k.decapsulate(r("keyward.ct")))
theirs = getattr(mlkem, "MLKEM%sPrivateKey" % sys.argv[2]).generate()
w("theirs.der", theirs.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()))
w("theirs.pub", theirs.public_key().public_bytes(*spki))
`

// TestPythonCryptographyMLKEM checks ML-KEM-768 and -1024 against
// pyca/cryptography, whose ML-KEM is OpenSSL's (3.5 or later, bundled with
// its wheels), for hosts whose own openssl is older. It skips when python3
// or a cryptography with ML-KEM is missing. (cryptography has no ML-KEM-512.)
func TestPythonCryptographyMLKEM(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH; skipping the pyca/cryptography ML-KEM check")
	}
	if out, err := exec.Command(py, "-c", "from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey as K; K.generate()").CombinedOutput(); err != nil {
		t.Skipf("python3 has no pyca/cryptography with ML-KEM (47 or later): %s", lastLine(out))
	}
	version, _ := exec.Command(py, "-c", "import cryptography; from cryptography.hazmat.backends.openssl import backend as b; print(cryptography.__version__, b.openssl_version_text())").Output()
	for _, spec := range []Spec{MLKEM768, MLKEM1024} {
		dir := t.TempDir()
		k := testPrivate(t, spec)
		writeFile(t, dir, "priv.der", testKey(t, spec))
		writeFile(t, dir, "pub.der", k.Public().Bytes())
		ct, secret, err := k.Public().Encapsulate("ML_KEM")
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "keyward.ct", ct)
		if out, err := exec.Command(py, "-c", mlkemPyScript, dir, strings.TrimPrefix(string(spec), "ML_KEM_")).CombinedOutput(); err != nil {
			t.Fatalf("%s: pyca/cryptography: %v\n%s", spec, err, out)
		}
		read := func(name string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if got, err := k.Decapsulate("ML_KEM", read("py.ct")); err != nil || !bytes.Equal(got, read("py.ss")) {
			t.Errorf("%s: Decapsulate of a pyca/cryptography ciphertext = %v; secret differs", spec, err)
		}
		if !bytes.Equal(read("keyward.ss"), secret) {
			t.Errorf("%s: pyca/cryptography decapsulates Keyward's ciphertext to another secret", spec)
		}
		theirs, err := ParsePrivateKey(spec, read("theirs.der"))
		if err != nil {
			t.Fatalf("ParsePrivateKey(%s key from pyca/cryptography) = %v", spec, err)
		}
		if !bytes.Equal(theirs.Public().Bytes(), read("theirs.pub")) {
			t.Errorf("%s: Keyward derives another SPKI from pyca/cryptography's key", spec)
		}
		// It writes the seed-only form, as Keyward does.
		if d := read("theirs.der"); len(d) != 86 || !bytes.Equal(d[:22], testKey(t, spec)[:22]) {
			t.Errorf("%s: pyca/cryptography PKCS #8 %x is not the seed-only form", spec, d[:22])
		}
		t.Logf("%s: Keyward and pyca/cryptography %s agree", spec, bytes.TrimSpace(version))
	}
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}
