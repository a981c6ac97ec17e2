package kms

import (
	"bytes"
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/store/memory"
)

// wrapKWP is AES Key Wrap with Padding (RFC 5649), the client side of
// unwrapKWP, for tests.
func wrapKWP(kek, p []byte) []byte {
	b, err := aes.NewCipher(kek)
	if err != nil {
		panic(err)
	}
	n := (len(p) + 7) / 8
	r := make([]byte, 8*n)
	copy(r, p)
	var a [8]byte
	copy(a[:4], kwpIV[:])
	binary.BigEndian.PutUint32(a[4:], uint32(len(p)))
	if n == 1 {
		blk := append(a[:], r...)
		b.Encrypt(blk, blk)
		return blk
	}
	var blk [16]byte
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(blk[:8], a[:])
			copy(blk[8:], r[(i-1)*8:i*8])
			b.Encrypt(blk[:], blk[:])
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(blk[:8])^uint64(n*j+i))
			copy(r[(i-1)*8:i*8], blk[8:])
		}
	}
	return append(a[:], r...)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// TestKWPVectors checks unwrapKWP against the test vectors of RFC 5649,
// section 6.
func TestKWPVectors(t *testing.T) {
	kek := unhex("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8")
	cases := []struct{ key, wrapped string }{
		{"c37b7e6492584340 bed1220780894115 5068f738", "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"},
		{"466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"},
	}
	for _, c := range cases {
		got, err := unwrapKWP(kek, unhex(c.wrapped))
		if err != nil || !bytes.Equal(got, unhex(c.key)) {
			t.Errorf("unwrapKWP(%s) = %x, %v, want %s", c.wrapped, got, err, c.key)
		}
		if w := wrapKWP(kek, unhex(c.key)); !bytes.Equal(w, unhex(c.wrapped)) {
			t.Errorf("wrapKWP(%s) = %x, want %s", c.key, w, c.wrapped)
		}
	}
}

func TestKWPRoundTripAndTamper(t *testing.T) {
	for _, kl := range []int{16, 24, 32} {
		kek := make([]byte, kl)
		rand.Read(kek)
		for n := 1; n <= 70; n++ {
			p := make([]byte, n)
			rand.Read(p)
			w := wrapKWP(kek, p)
			got, err := unwrapKWP(kek, w)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("round trip of %d bytes under AES-%d: %x, %v", n, 8*kl, got, err)
			}
			for _, i := range []int{0, 4, len(w) / 2, len(w) - 1} {
				bad := bytes.Clone(w)
				bad[i] ^= 1
				if _, err := unwrapKWP(kek, bad); err == nil {
					t.Fatalf("unwrapKWP accepted a wrapping of %d bytes with bit flipped at %d", n, i)
				}
			}
			if _, err := unwrapKWP(kek, w[:len(w)-8]); err == nil && n > 8 {
				t.Fatalf("unwrapKWP accepted a truncated wrapping of %d bytes", n)
			}
		}
	}
	for _, c := range [][]byte{nil, make([]byte, 8), make([]byte, 15), make([]byte, 17)} {
		if _, err := unwrapKWP(make([]byte, 32), c); err == nil {
			t.Errorf("unwrapKWP(%d bytes) = nil error", len(c))
		}
	}
}

// TestKWPOpenSSL unwraps what `openssl enc -id-aes256-wrap-pad` makes, as
// AWS's import guide has clients do.
func TestKWPOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed; skipping the openssl AES-KWP cross-check")
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	for _, n := range []int{1, 8, 9, 32, 121, 1217} {
		p := make([]byte, n)
		rand.Read(p)
		cmd := exec.Command("openssl", "enc", "-id-aes256-wrap-pad", "-K", hex.EncodeToString(kek), "-iv", "A65959A6")
		cmd.Stdin = bytes.NewReader(p)
		w, err := cmd.Output()
		if err != nil {
			t.Skipf("openssl enc -id-aes256-wrap-pad failed (%v); skipping", err)
		}
		got, err := unwrapKWP(kek, w)
		if err != nil || !bytes.Equal(got, p) {
			t.Errorf("unwrapKWP(openssl wrap of %d bytes) = %v", n, err)
		}
		if !bytes.Equal(wrapKWP(kek, p), w) {
			t.Errorf("wrapKWP(%d bytes) differs from openssl", n)
		}
	}
}

func FuzzUnwrapKWP(f *testing.F) {
	kek := unhex("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8")
	f.Add(unhex("138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"))
	f.Add(unhex("afbeb0f07dfbf541 9200f2ccb50bb24f"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, c []byte) {
		p, err := unwrapKWP(kek, c)
		if err != nil {
			return
		}
		if w := wrapKWP(kek, p); !bytes.Equal(w, c) {
			t.Fatalf("unwrap then wrap of %x gave %x", c, w)
		}
	})
}

// wrapForImport encrypts material under a GetParametersForImport public key
// as AWS's import guide describes for each wrapping algorithm.
func wrapForImport(t *testing.T, pub []byte, alg string, material []byte) []byte {
	t.Helper()
	k, err := x509.ParsePKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	rk := k.(*rsa.PublicKey)
	var h hash.Hash = sha256.New()
	if strings.HasSuffix(alg, "SHA_1") {
		h = sha1.New()
	}
	if strings.HasPrefix(alg, "RSAES_OAEP") {
		ct, err := rsa.EncryptOAEP(h, rand.Reader, rk, material, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	ek, err := rsa.EncryptOAEP(h, rand.Reader, rk, kek, nil)
	if err != nil {
		t.Fatal(err)
	}
	return append(ek, wrapKWP(kek, material)...)
}

// importInto runs GetParametersForImport and ImportKeyMaterial.
func (e *lifeEnv) importInto(id, alg, spec string, material []byte, req *ImportKeyMaterialRequest) (*ImportKeyMaterialResponse, error) {
	e.t.Helper()
	p, err := e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &id, WrappingAlgorithm: &alg, WrappingKeySpec: &spec})
	if err != nil {
		e.t.Fatalf("GetParametersForImport(%s, %s): %v", alg, spec, err)
	}
	if req == nil {
		req = &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire)}
	}
	req.KeyId, req.ImportToken, req.EncryptedKeyMaterial = &id, p.ImportToken, wrapForImport(e.t, p.PublicKey, alg, material)
	return e.s.ImportKeyMaterial(bg, e.c, req)
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestImportSymmetric(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL"), Description: ptr("byok")})
	if k.KeyState != "PendingImport" || k.Enabled || k.Origin != "EXTERNAL" || k.CurrentKeyMaterialId != "" || k.ExpirationModel != "" {
		t.Fatalf("CreateKey(EXTERNAL) = %+v", k)
	}
	wantErr(t, "Encrypt(pending import)", second(e.s.Encrypt(bg, e.c, &EncryptRequest{KeyId: &k.KeyId, Plaintext: []byte("x")})),
		CodeInvalidState, k.Arn+" is pending import.")
	p, err := e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &k.KeyId, WrappingAlgorithm: ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: ptr("RSA_2048")})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(p.PublicKey)
	if rk, ok := pub.(*rsa.PublicKey); err != nil || !ok || rk.N.BitLen() != 2048 {
		t.Fatalf("PublicKey is not an RSA-2048 SPKI: %v", err)
	}
	if p.KeyId != k.Arn || p.ParametersValidTo == nil || !time.Time(*p.ParametersValidTo).Equal(t0.Add(24*time.Hour)) || len(p.ImportToken) == 0 {
		t.Fatalf("GetParametersForImport = %+v", p)
	}
	material := random(32)
	out, err := e.s.ImportKeyMaterial(bg, e.c, &ImportKeyMaterialRequest{KeyId: &k.KeyId, ImportToken: p.ImportToken,
		EncryptedKeyMaterial: wrapForImport(t, p.PublicKey, "RSAES_OAEP_SHA_256", material), ExpirationModel: ptr(doesNotExpire)})
	if err != nil {
		t.Fatal(err)
	}
	m := e.describe(k.KeyId)
	if out.KeyId != k.Arn || out.KeyMaterialId == "" || m.CurrentKeyMaterialId != out.KeyMaterialId || m.KeyState != "Enabled" || !m.Enabled ||
		m.ExpirationModel != doesNotExpire || m.ValidTo != nil {
		t.Fatalf("after import: %+v, %+v", out, m)
	}
	ct := e.encrypt(k.KeyId, "secret")
	if d, err := e.decrypt(ct); err != nil || string(d.Plaintext) != "secret" {
		t.Fatalf("Decrypt = %+v, %v", d, err)
	}
	// The material never reaches the store in the clear.
	for _, en := range storeDump(t, e.st) {
		if bytes.Contains(en.Value, material) || strings.Contains(string(en.Value), hex.EncodeToString(material)) {
			t.Errorf("imported material in the clear at %s", en.Key)
		}
	}

	// The same material again (a reimport) is fine; different material is not.
	if _, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_1", "RSA_2048", material, nil); err != nil {
		t.Fatalf("reimport of the same material: %v", err)
	}
	_, err = e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(32), nil)
	wantErr(t, "import of different material", err, CodeIncorrectKeyMaterial, "not the key material that was previously imported")

	// Deleting the material makes the key unusable until the same material
	// comes back; old ciphertexts then decrypt again.
	del, err := e.s.DeleteImportedKeyMaterial(bg, e.c, &DeleteImportedKeyMaterialRequest{KeyId: &k.KeyId})
	if err != nil || del.KeyId != k.Arn || del.KeyMaterialId != out.KeyMaterialId {
		t.Fatalf("DeleteImportedKeyMaterial = %+v, %v", del, err)
	}
	if m := e.describe(k.KeyId); m.KeyState != "PendingImport" || m.Enabled {
		t.Fatalf("after DeleteImportedKeyMaterial: %s", m.KeyState)
	}
	wantErr(t, "Decrypt(material deleted)", second(e.decrypt(ct)), CodeInvalidState, k.Arn+" is pending import.")
	if _, err := e.s.DeleteImportedKeyMaterial(bg, e.c, &DeleteImportedKeyMaterialRequest{KeyId: &k.KeyId}); err != nil {
		t.Errorf("DeleteImportedKeyMaterial twice: %v", err)
	}
	_, err = e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(32), nil)
	wantErr(t, "import of different material after delete", err, CodeIncorrectKeyMaterial, "")
	if _, err := e.importInto(k.KeyId, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048", material, nil); err != nil {
		t.Fatalf("reimport after delete: %v", err)
	}
	if d, err := e.decrypt(ct); err != nil || string(d.Plaintext) != "secret" {
		t.Fatalf("Decrypt after reimport = %+v, %v", d, err)
	}
}

func TestImportWrappingAlgorithms(t *testing.T) {
	e := newLifeEnv(t)
	for _, alg := range []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"} {
		for _, spec := range []string{"RSA_2048", "RSA_3072"} {
			k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
			if _, err := e.importInto(k.KeyId, alg, spec, random(32), nil); err != nil {
				t.Errorf("import with %s under %s: %v", alg, spec, err)
				continue
			}
			e.encrypt(k.KeyId, "x")
		}
	}
	// Wrapped with one algorithm, imported with the token of another.
	k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	p, _ := e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &k.KeyId, WrappingAlgorithm: ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: ptr("RSA_2048")})
	_, err := e.s.ImportKeyMaterial(bg, e.c, &ImportKeyMaterialRequest{KeyId: &k.KeyId, ImportToken: p.ImportToken,
		EncryptedKeyMaterial: wrapForImport(t, p.PublicKey, "RSAES_OAEP_SHA_1", random(32)), ExpirationModel: ptr(doesNotExpire)})
	wantErr(t, "import with the wrong wrapping algorithm", err, CodeInvalidCiphertext, "")
}

func TestImportTokens(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	k2 := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	params := func(id string) *GetParametersForImportResponse {
		p, err := e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &id, WrappingAlgorithm: ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: ptr("RSA_2048")})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	imp := func(tok, pub []byte) error {
		_, err := e.s.ImportKeyMaterial(bg, e.c, &ImportKeyMaterialRequest{KeyId: &k.KeyId, ImportToken: tok,
			EncryptedKeyMaterial: wrapForImport(t, pub, "RSAES_OAEP_SHA_256", random(32)), ExpirationModel: ptr(doesNotExpire)})
		return err
	}
	p := params(k.KeyId)
	other := params(k2.KeyId)
	flipped := bytes.Clone(p.ImportToken)
	flipped[len(flipped)/2] ^= 1

	// A token of another Keyward (another root key) is foreign.
	e2 := newLifeEnv(t)
	e2.s = e2.open(bytes.Repeat([]byte{9}, 32))
	fk := e2.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	fp, err := e2.s.GetParametersForImport(bg, e2.c, &GetParametersForImportRequest{KeyId: &fk.KeyId, WrappingAlgorithm: ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: ptr("RSA_2048")})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string][]byte{"other key's": other.ImportToken, "tampered": flipped, "foreign": fp.ImportToken, "garbage": []byte("x")} {
		wantErr(t, "ImportKeyMaterial with a "+name+" token", imp(tok, p.PublicKey), CodeInvalidImportToken, "invalid or is associated with a different KMS key")
	}
	e.advance(24 * time.Hour)
	wantErr(t, "ImportKeyMaterial with an expired token", imp(p.ImportToken, p.PublicKey), CodeExpiredImportToken, "GetParametersForImport")
	if _, err := e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &k.KeyId, WrappingAlgorithm: ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: ptr("RSA_2048")}); err != nil {
		t.Fatal(err)
	}
	// The expired wrapping keys are gone from the store; the fresh one is kept.
	n := 0
	for _, en := range storeDump(t, e.st) {
		if strings.HasPrefix(en.Key, importParamsPrefix(k.KeyId)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d import wrapping keys of %s stored, want only the fresh one", n, k.KeyId)
	}
}

func TestImportValidation(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	aws := e.createKey(&CreateKeyRequest{})
	rsaKey := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL"), KeySpec: ptr("RSA_2048"), KeyUsage: ptr("SIGN_VERIFY")})
	p521 := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL"), KeySpec: ptr("ECC_NIST_P521"), KeyUsage: ptr("SIGN_VERIFY")})
	gpi := func(id, alg, spec string) error {
		return second(e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &id, WrappingAlgorithm: &alg, WrappingKeySpec: &spec}))
	}
	past, far := Timestamp(t0.Add(-time.Second)), Timestamp(t0.Add(366*day))
	imp := func(r *ImportKeyMaterialRequest) error {
		r.KeyId, r.ImportToken, r.EncryptedKeyMaterial = &k.KeyId, []byte("t"), []byte("m")
		return second(e.s.ImportKeyMaterial(bg, e.c, r))
	}
	cases := []struct {
		name       string
		err        error
		code, part string
	}{
		{"AWS_KMS origin", gpi(aws.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048"), CodeUnsupportedOperation, aws.Arn + " origin is AWS_KMS which is not valid for this operation."},
		{"bad algorithm", gpi(k.KeyId, "RSA_OAEP", "RSA_2048"), CodeValidation, "Value 'RSA_OAEP' at 'wrappingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set"},
		{"no key spec", second(e.s.GetParametersForImport(bg, e.c, &GetParametersForImportRequest{KeyId: &k.KeyId, WrappingAlgorithm: ptr("RSAES_OAEP_SHA_256")})),
			CodeValidation, "Value null at 'wrappingKeySpec' failed to satisfy constraint: Member must not be null"},
		{"PKCS1", gpi(k.KeyId, "RSAES_PKCS1_V1_5", "RSA_2048"), CodeUnsupportedOperation, "RSAES_PKCS1_V1_5"},
		{"SM2", gpi(k.KeyId, "RSAES_OAEP_SHA_256", "SM2"), CodeUnsupportedOperation, "China"},
		{"RSA material by OAEP", gpi(rsaKey.KeyId, "RSAES_OAEP_SHA_256", "RSA_4096"), CodeValidation, "RSA_AES_KEY_WRAP"},
		{"P-521 under RSA_2048", gpi(p521.KeyId, "RSAES_OAEP_SHA_1", "RSA_2048"), CodeValidation, "ECC_NIST_P521"},
		{"no ValidTo", imp(&ImportKeyMaterialRequest{}), CodeValidation, "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"},
		{"ValidTo without expiry", imp(&ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), ValidTo: &far}), CodeValidation, "ValidTo cannot be specified"},
		{"ValidTo past", imp(&ImportKeyMaterialRequest{ValidTo: &past}), CodeValidation, "future"},
		{"ValidTo far", imp(&ImportKeyMaterialRequest{ValidTo: &far}), CodeValidation, "365 days"},
		{"NEW with id", imp(&ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), ImportType: ptr(importNew), KeyMaterialId: ptr(strings.Repeat("a", 64))}), CodeValidation, "KeyMaterialId"},
		{"bad id", imp(&ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), KeyMaterialId: ptr("abc")}), CodeValidation, "at 'keyMaterialId'"},
		{"delete on AWS_KMS key", second(e.s.DeleteImportedKeyMaterial(bg, e.c, &DeleteImportedKeyMaterialRequest{KeyId: &aws.KeyId})), CodeUnsupportedOperation, "origin is AWS_KMS"},
		{"ML-DSA EXTERNAL", second(e.s.CreateKey(bg, e.c, &CreateKeyRequest{Origin: ptr("EXTERNAL"), KeySpec: ptr("ML_DSA_44"), KeyUsage: ptr("SIGN_VERIFY")})), CodeUnsupportedOperation, "ML_DSA_44"},
	}
	for _, c := range cases {
		wantErr(t, c.name, c.err, c.code, c.part)
	}
	// Material that does not fit the key spec.
	_, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(16), nil)
	wantErr(t, "16-byte symmetric material", err, CodeIncorrectKeyMaterial, "SYMMETRIC_DEFAULT")
	// A key pending deletion takes no material.
	e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId})
	wantErr(t, "GetParametersForImport(pending deletion)", gpi(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048"), CodeInvalidState, "is pending deletion.")
}

func TestImportHMACAndAsymmetric(t *testing.T) {
	e := newLifeEnv(t)
	// HMAC: lengths from the hash size to the block size.
	hk := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL"), KeySpec: ptr("HMAC_256"), KeyUsage: ptr("GENERATE_VERIFY_MAC")})
	_, err := e.importInto(hk.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(20), nil)
	wantErr(t, "20-byte HMAC_256 material", err, CodeIncorrectKeyMaterial, "HMAC_256")
	hmacKey := random(40)
	out, err := e.importInto(hk.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", hmacKey, nil)
	if err != nil || out.KeyMaterialId != "" {
		t.Fatalf("import HMAC key = %+v, %v (KeyMaterialId is for symmetric keys only)", out, err)
	}
	mac, err := e.s.GenerateMac(bg, e.c, &GenerateMacRequest{KeyId: &hk.KeyId, Message: []byte("m"), MacAlgorithm: ptr("HMAC_SHA_256")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.VerifyMac(bg, e.c, &VerifyMacRequest{KeyId: &hk.KeyId, Message: []byte("m"), MacAlgorithm: ptr("HMAC_SHA_256"), Mac: mac.Mac}); err != nil {
		t.Fatalf("VerifyMac: %v", err)
	}
	_, err = e.importInto(hk.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(40), &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), ImportType: ptr(importNew)})
	wantErr(t, "ImportType on an HMAC key", err, CodeValidation, "symmetric encryption")
	_, err = e.importInto(hk.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(40), nil)
	wantErr(t, "new material into an HMAC key", err, CodeIncorrectKeyMaterial, "")

	// ECC: a PKCS #8 key of the right curve, by RSAES-OAEP and by AES key wrap.
	for _, alg := range []string{"RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1"} {
		ek := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL"), KeySpec: ptr("ECC_NIST_P256"), KeyUsage: ptr("SIGN_VERIFY")})
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		if _, err := e.importInto(ek.KeyId, alg, "RSA_2048", der, nil); err != nil {
			t.Fatalf("import P-256 key with %s: %v", alg, err)
		}
		pk, err := e.s.GetPublicKey(bg, e.c, &GetPublicKeyRequest{KeyId: &ek.KeyId})
		want, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		if err != nil || !bytes.Equal(pk.PublicKey, want) {
			t.Fatalf("GetPublicKey of imported key = %v; differs from the imported key's", err)
		}
		digest := sha256.Sum256([]byte("msg"))
		sig, err := e.s.Sign(bg, e.c, &SignRequest{KeyId: &ek.KeyId, Message: digest[:], MessageType: ptr("DIGEST"), SigningAlgorithm: ptr("ECDSA_SHA_256")})
		if err != nil || !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], sig.Signature) {
			t.Fatalf("Sign with imported key: %v", err)
		}
		wrong, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		der384, _ := x509.MarshalPKCS8PrivateKey(wrong)
		_, err = e.importInto(ek.KeyId, alg, "RSA_2048", der384, nil)
		wantErr(t, "P-384 material into a P-256 key", err, CodeIncorrectKeyMaterial, "ECC_NIST_P256")
	}
	// RSA material needs RSA_AES_KEY_WRAP.
	rk := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL"), KeySpec: ptr("RSA_2048"), KeyUsage: ptr("ENCRYPT_DECRYPT")})
	rpriv, err := cachedRSA(2048)
	if err != nil {
		t.Fatal(err)
	}
	rder, _ := x509.MarshalPKCS8PrivateKey(rpriv)
	if _, err := e.importInto(rk.KeyId, "RSA_AES_KEY_WRAP_SHA_256", "RSA_3072", rder, nil); err != nil {
		t.Fatalf("import RSA key: %v", err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &rpriv.PublicKey, []byte("to kms"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.s.Decrypt(bg, e.c, &DecryptRequest{KeyId: &rk.KeyId, CiphertextBlob: ct, EncryptionAlgorithm: ptr("RSAES_OAEP_SHA_256")})
	if err != nil || string(d.Plaintext) != "to kms" {
		t.Fatalf("Decrypt with imported RSA key = %v", err)
	}
}

func TestImportedMaterialExpires(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	material := random(32)
	validTo := Timestamp(t0.Add(10 * day))
	if _, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", material, &ImportKeyMaterialRequest{ValidTo: &validTo}); err != nil {
		t.Fatal(err)
	}
	m := e.describe(k.KeyId)
	if m.ExpirationModel != expires || m.ValidTo == nil || !time.Time(*m.ValidTo).Equal(time.Time(validTo)) {
		t.Fatalf("DescribeKey = %+v", m)
	}
	imported := m.CurrentKeyMaterialId
	ct := e.encrypt(k.KeyId, "x")
	e.advance(10*day - time.Second) // drops the expired import parameters
	if m := e.describe(k.KeyId); m.KeyState != "Enabled" {
		t.Fatalf("KeyState = %s before ValidTo", m.KeyState)
	}
	if n := e.advance(time.Second); n != 1 {
		t.Fatalf("%d jobs at ValidTo, want 1", n)
	}
	m = e.describe(k.KeyId)
	if m.KeyState != "PendingImport" || m.ValidTo != nil || m.ExpirationModel != "" {
		t.Fatalf("after expiry: %+v", m)
	}
	wantErr(t, "Decrypt after expiry", second(e.decrypt(ct)), CodeInvalidState, "is pending import.")
	if ev := e.eventList(); len(ev) != 1 || ev[0] != "DeleteExpiredKeyMaterial "+k.Arn {
		t.Errorf("events = %q", ev)
	}
	if d := e.detailList(); len(d) != 1 || d[0] == nil || *d[0] != (ServiceEventDetails{KeyID: k.KeyId, KeyMaterialID: imported}) || imported == "" {
		t.Errorf("event details = %+v, want the key ID and its expired material ID %s", d, imported)
	}
	// Reimported without expiry, it stays.
	if _, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", material, nil); err != nil {
		t.Fatal(err)
	}
	e.advance(400 * day)
	if m := e.describe(k.KeyId); m.KeyState != "Enabled" {
		t.Errorf("KeyState = %s long after a reimport without expiry", m.KeyState)
	}
	if _, err := e.decrypt(ct); err != nil {
		t.Fatal(err)
	}
	// A reimport with a later ValidTo replaces the expiry.
	v1, v2 := Timestamp(e.clk.Now().Add(5*day)), Timestamp(e.clk.Now().Add(50*day))
	e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", material, &ImportKeyMaterialRequest{ValidTo: &v1})
	e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", material, &ImportKeyMaterialRequest{ValidTo: &v2})
	e.advance(6 * day)
	if m := e.describe(k.KeyId); m.KeyState != "Enabled" {
		t.Errorf("expired at the replaced ValidTo: %s", m.KeyState)
	}
	e.advance(45 * day)
	if m := e.describe(k.KeyId); m.KeyState != "PendingImport" {
		t.Errorf("not expired at the new ValidTo: %s", m.KeyState)
	}
}

// TestImportedKeyRotation imports new material into a symmetric key and
// rotates to it on demand.
func TestImportedKeyRotation(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	m1, m2 := random(32), random(32)
	first, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", m1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ct1 := e.encrypt(k.KeyId, "one")
	wantErr(t, "RotateKeyOnDemand without new material", second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId})),
		CodeInvalidState, "no key material pending rotation")
	_, err = e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", m1, &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), ImportType: ptr(importNew)})
	wantErr(t, "NEW_KEY_MATERIAL with the current material", err, CodeIncorrectKeyMaterial, "already associated")
	next, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", m2, &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire),
		ImportType: ptr(importNew), KeyMaterialDescription: ptr("2031")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", random(32), &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), ImportType: ptr(importNew)})
	wantErr(t, "second pending material", err, CodeInvalidState, "because another key material (id: "+next.KeyMaterialId+") is pending rotation.")
	all, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId, IncludeKeyMaterial: ptr("ALL_KEY_MATERIAL")})
	if len(all.Rotations) != 2 || all.Rotations[0].KeyMaterialState != "CURRENT" || all.Rotations[1].KeyMaterialState != "PENDING_ROTATION" ||
		all.Rotations[1].KeyMaterialDescription != "2031" || all.Rotations[1].ImportState != "IMPORTED" || all.Rotations[0].ExpirationModel != doesNotExpire {
		t.Fatalf("ALL_KEY_MATERIAL = %+v", all.Rotations)
	}
	if m := e.describe(k.KeyId); m.CurrentKeyMaterialId != first.KeyMaterialId {
		t.Fatal("pending material became current before the rotation")
	}
	if _, err := e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	e.runDue()
	if m := e.describe(k.KeyId); m.CurrentKeyMaterialId != next.KeyMaterialId {
		t.Fatalf("CurrentKeyMaterialId = %s, want %s", m.CurrentKeyMaterialId, next.KeyMaterialId)
	}
	l, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId})
	if len(l.Rotations) != 1 || l.Rotations[0].RotationType != "ON_DEMAND" || l.Rotations[0].KeyMaterialId != next.KeyMaterialId {
		t.Fatalf("rotations = %+v", l.Rotations)
	}
	ct2 := e.encrypt(k.KeyId, "two")
	if d, _ := e.decrypt(ct2); d == nil || d.KeyMaterialId != next.KeyMaterialId {
		t.Fatalf("new encryptions do not use the rotated-to material: %+v", d)
	}
	// Deleting the old material disables the key until it is reimported,
	// by KeyMaterialId.
	if _, err := e.s.DeleteImportedKeyMaterial(bg, e.c, &DeleteImportedKeyMaterialRequest{KeyId: &k.KeyId, KeyMaterialId: &first.KeyMaterialId}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Encrypt with a non-current material deleted", second(e.s.Encrypt(bg, e.c, &EncryptRequest{KeyId: &k.KeyId, Plaintext: []byte("x")})), CodeInvalidState, "pending import")
	_, err = e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", m2, &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), KeyMaterialId: &first.KeyMaterialId})
	wantErr(t, "reimport of the wrong material for a KeyMaterialId", err, CodeIncorrectKeyMaterial, "")
	if _, err := e.importInto(k.KeyId, "RSAES_OAEP_SHA_256", "RSA_2048", m1, &ImportKeyMaterialRequest{ExpirationModel: ptr(doesNotExpire), KeyMaterialId: &first.KeyMaterialId}); err != nil {
		t.Fatal(err)
	}
	for _, ct := range [][]byte{ct1, ct2} {
		if _, err := e.decrypt(ct); err != nil {
			t.Errorf("Decrypt after reimport: %v", err)
		}
	}
}

// FuzzOpenToken feeds arbitrary import tokens to the token parser: it must
// refuse them without panicking, and a sealed token must round-trip.
func FuzzOpenToken(f *testing.F) {
	w, err := keystore.NewSoft(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{Region: "us-east-1", Store: memory.New(), Wrapper: w})
	if err != nil {
		f.Fatal(err)
	}
	want := importToken{id: strings.Repeat("ab", 16), keyID: "1234abcd-12ab-34cd-56ef-1234567890ab", expires: t0}
	good, err := s.sealToken(bg, want)
	if err != nil {
		f.Fatal(err)
	}
	if got, err := s.openToken(bg, good); err != nil || got != want {
		f.Fatalf("openToken(sealToken(%+v)) = %+v, %v", want, got, err)
	}
	f.Add(good)
	f.Add([]byte{tokenVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tok []byte) {
		got, err := s.openToken(bg, tok)
		if err == nil && !bytes.Equal(tok, good) {
			t.Fatalf("openToken accepted a forged token: %+v", got)
		}
	})
}
