package e2e

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	bin "encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/server"
)

const day = 24 * time.Hour

// startClock is start with the server's time on clk, so that a test can
// move time through rotations, deletion windows and expiries. Requests are
// still signed with the real time.
func startClock(t *testing.T, dataDir string, clk *scheduler.FakeClock) *env {
	t.Helper()
	return startWith(t, dataDir, func(c *server.Config) { c.Clock = clk })
}

// advanceUntil moves the server's clock by d and waits until cond holds
// while the server's scheduler does the work that fell due. It nudges the
// clock a second at a time meanwhile: the scheduler sleeps on the fake
// clock between passes.
func advanceUntil(t *testing.T, clk *scheduler.FakeClock, d time.Duration, what string, cond func() bool) {
	t.Helper()
	clk.Advance(d)
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
		clk.Advance(time.Second)
	}
}

// quiesce lets the scheduler run anything else that is due, so that a test
// can check that nothing more happened.
func quiesce(clk *scheduler.FakeClock) {
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		clk.Advance(time.Second)
	}
}

func (e *env) rotations(id string) []types.RotationsListEntry {
	e.t.Helper()
	out, err := e.kms.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: aws.String(id)})
	if err != nil {
		e.t.Fatalf("ListKeyRotations(%s): %v", id, err)
	}
	return out.Rotations
}

func (e *env) state(id string) types.KeyState {
	e.t.Helper()
	out, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		e.t.Fatalf("DescribeKey(%s): %v", id, err)
	}
	return out.KeyMetadata.KeyState
}

func (e *env) createKey(in *kms.CreateKeyInput) *types.KeyMetadata {
	e.t.Helper()
	return must[*kms.CreateKeyOutput](e.t)(e.kms.CreateKey(ctx, in)).KeyMetadata
}

func (e *env) encrypt(id, pt string) []byte {
	e.t.Helper()
	return must[*kms.EncryptOutput](e.t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte(pt)})).CiphertextBlob
}

// importGo imports material wrapped in Go (RSAES-OAEP with SHA-256).
func (e *env) importGo(id string, material []byte, validTo *time.Time) error {
	e.t.Helper()
	p := must[*kms.GetParametersForImportOutput](e.t)(e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{
		KeyId: aws.String(id), WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048}))
	in := &kms.ImportKeyMaterialInput{KeyId: aws.String(id), ImportToken: p.ImportToken, EncryptedKeyMaterial: oaepWrap(e.t, p.PublicKey, material),
		ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}
	if validTo != nil {
		in.ExpirationModel, in.ValidTo = types.ExpirationModelTypeKeyMaterialExpires, validTo
	}
	_, err := e.kms.ImportKeyMaterial(ctx, in)
	return err
}

func oaepWrap(t *testing.T, pub, material []byte) []byte {
	t.Helper()
	k, err := x509.ParsePKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.(*rsa.PublicKey), material, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// TestLifecycleAcrossRestart moves the server's clock through a year and a
// bit, with a restart in the middle: automatic rotations every 365 and 90
// days, a deletion, a cancelled deletion and the expiry of imported key
// material. Work that fell due while the server was down runs once when it
// comes back.
func TestLifecycleAcrossRestart(t *testing.T) {
	clk := scheduler.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	t0 := clk.Now()
	dir := t.TempDir()
	e := startClock(t, dir, clk)

	yearly := e.createKey(&kms.CreateKeyInput{})
	quarterly := e.createKey(&kms.CreateKeyInput{})
	doomed := e.createKey(&kms.CreateKeyInput{})
	spared := e.createKey(&kms.CreateKeyInput{})
	imported := e.createKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	must[*kms.EnableKeyRotationOutput](t)(e.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: yearly.KeyId}))
	must[*kms.EnableKeyRotationOutput](t)(e.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: quarterly.KeyId, RotationPeriodInDays: aws.Int32(90)}))
	st := must[*kms.GetKeyRotationStatusOutput](t)(e.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: quarterly.KeyId}))
	if !st.KeyRotationEnabled || aws.ToInt32(st.RotationPeriodInDays) != 90 || st.NextRotationDate == nil || !st.NextRotationDate.Equal(t0.Add(90*day)) || aws.ToString(st.KeyId) != aws.ToString(quarterly.Arn) {
		t.Fatalf("GetKeyRotationStatus = %+v", st)
	}
	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/doomed"), TargetKeyId: doomed.KeyId}))
	del := must[*kms.ScheduleKeyDeletionOutput](t)(e.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: doomed.KeyId, PendingWindowInDays: aws.Int32(7)}))
	if del.KeyState != types.KeyStatePendingDeletion || aws.ToInt32(del.PendingWindowInDays) != 7 || !del.DeletionDate.Equal(t0.Add(7*day)) || aws.ToString(del.KeyId) != aws.ToString(doomed.Arn) {
		t.Fatalf("ScheduleKeyDeletion = %+v", del)
	}
	_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: doomed.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "KMSInvalidStateException", aws.ToString(doomed.Arn)+" is pending deletion.")
	must[*kms.ScheduleKeyDeletionOutput](t)(e.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: spared.KeyId, PendingWindowInDays: aws.Int32(10)}))
	material := make([]byte, 32)
	rand.Read(material)
	validTo := t0.Add(200 * day)
	if err := e.importGo(aws.ToString(imported.KeyId), material, &validTo); err != nil {
		t.Fatal(err)
	}
	cts := map[string][][]byte{}
	for _, k := range []*types.KeyMetadata{yearly, quarterly, imported} {
		cts[*k.KeyId] = append(cts[*k.KeyId], e.encrypt(*k.KeyId, "day 0"))
	}

	// Day 3: the cancellation leaves the key disabled.
	clk.Advance(3 * day)
	must[*kms.CancelKeyDeletionOutput](t)(e.kms.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: spared.KeyId}))
	if s := e.state(*spared.KeyId); s != types.KeyStateDisabled {
		t.Fatalf("state after CancelKeyDeletion = %s", s)
	}
	// Day 8: the deletion has happened.
	advanceUntil(t, clk, 5*day, "the key deletion", func() bool {
		_, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: doomed.KeyId})
		return err != nil
	})
	_, err = e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: doomed.KeyId})
	wantErr(t, err, "NotFoundException", "Key '"+aws.ToString(doomed.Arn)+"' does not exist")
	_, err = e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/doomed")})
	wantErr(t, err, "NotFoundException", "alias/doomed is not found")
	// Day 98: one rotation of the quarterly key.
	advanceUntil(t, clk, 90*day, "the first 90-day rotation", func() bool { return len(e.rotations(*quarterly.KeyId)) == 1 })
	cts[*quarterly.KeyId] = append(cts[*quarterly.KeyId], e.encrypt(*quarterly.KeyId, "day 98"))

	// Down from day 98 to day 250: the quarterly rotation due on day 180
	// and the expiry on day 200 wait for the restart, and run once.
	e.stop()
	clk.Advance(152 * day)
	e = startClock(t, dir, clk)
	advanceUntil(t, clk, 0, "catch-up after the restart", func() bool {
		return len(e.rotations(*quarterly.KeyId)) == 2 && e.state(*imported.KeyId) == types.KeyStatePendingImport
	})
	quiesce(clk)
	if n := len(e.rotations(*quarterly.KeyId)); n != 2 {
		t.Fatalf("%d rotations after catch-up, want 2: the missed rotation must run once", n)
	}
	st = must[*kms.GetKeyRotationStatusOutput](t)(e.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: quarterly.KeyId}))
	if !st.NextRotationDate.Equal(t0.Add(270 * day)) {
		t.Errorf("next rotation after catch-up = %v, want day 270 (the schedule keeps its phase)", st.NextRotationDate)
	}
	_, err = e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: cts[*imported.KeyId][0]})
	wantErr(t, err, "KMSInvalidStateException", aws.ToString(imported.Arn)+" is pending import.")

	// On to day 370 in 30-day steps.
	for d := 250; d < 370; d += 30 {
		clk.Advance(30 * day)
		quiesce(clk)
	}
	advanceUntil(t, clk, 0, "a year of rotations", func() bool {
		return len(e.rotations(*yearly.KeyId)) == 1 && len(e.rotations(*quarterly.KeyId)) == 4
	})
	quiesce(clk)
	if n, m := len(e.rotations(*yearly.KeyId)), len(e.rotations(*quarterly.KeyId)); n != 1 || m != 4 {
		t.Fatalf("rotations in a year: %d at 365 days (want 1), %d at 90 days (want 4)", n, m)
	}
	for _, r := range e.rotations(*quarterly.KeyId) {
		if r.RotationType != types.RotationTypeAutomatic || r.RotationDate == nil || aws.ToString(r.KeyId) != *quarterly.KeyId {
			t.Errorf("rotation entry %+v", r)
		}
	}
	// Every ciphertext still decrypts; ReEncrypt moves one to the newest material.
	for id, list := range cts {
		if id == *imported.KeyId {
			continue
		}
		for _, ct := range list {
			if _, err := e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct}); err != nil {
				t.Errorf("Decrypt(ciphertext of %s) after rotations: %v", id, err)
			}
		}
	}
	cur := must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: quarterly.KeyId})).KeyMetadata.CurrentKeyMaterialId
	re := must[*kms.ReEncryptOutput](t)(e.kms.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: cts[*quarterly.KeyId][0], DestinationKeyId: quarterly.KeyId}))
	if aws.ToString(re.DestinationKeyMaterialId) != aws.ToString(cur) || aws.ToString(re.SourceKeyMaterialId) == aws.ToString(cur) {
		t.Errorf("ReEncrypt: source material %s, destination %s, current %s", aws.ToString(re.SourceKeyMaterialId), aws.ToString(re.DestinationKeyMaterialId), aws.ToString(cur))
	}
	// The cancelled deletion never happened; the expired material comes back.
	if s := e.state(*spared.KeyId); s != types.KeyStateDisabled {
		t.Errorf("spared key is %s", s)
	}
	if err := e.importGo(*imported.KeyId, material, nil); err != nil {
		t.Fatal(err)
	}
	if d, err := e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: cts[*imported.KeyId][0]}); err != nil || string(d.Plaintext) != "day 0" {
		t.Fatalf("Decrypt after reimport = %v", err)
	}
}

func TestRotateOnDemandE2E(t *testing.T) {
	clk := scheduler.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	e := startClock(t, "", clk)
	k := e.createKey(&kms.CreateKeyInput{})
	ct := e.encrypt(*k.KeyId, "x")
	out := must[*kms.RotateKeyOnDemandOutput](t)(e.kms.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}))
	if aws.ToString(out.KeyId) != aws.ToString(k.Arn) {
		t.Errorf("RotateKeyOnDemand KeyId = %s", aws.ToString(out.KeyId))
	}
	advanceUntil(t, clk, 0, "the on-demand rotation", func() bool { return len(e.rotations(*k.KeyId)) == 1 })
	r := e.rotations(*k.KeyId)[0]
	if r.RotationType != types.RotationTypeOnDemand || r.KeyMaterialState != types.KeyMaterialStateCurrent {
		t.Errorf("rotation = %+v", r)
	}
	all := must[*kms.ListKeyRotationsOutput](t)(e.kms.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k.KeyId, IncludeKeyMaterial: types.IncludeKeyMaterialAllKeyMaterial}))
	if len(all.Rotations) != 2 || all.Rotations[0].KeyMaterialState != types.KeyMaterialStateNonCurrent {
		t.Errorf("ALL_KEY_MATERIAL = %+v", all.Rotations)
	}
	d := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct}))
	if aws.ToString(d.KeyMaterialId) != aws.ToString(all.Rotations[0].KeyMaterialId) {
		t.Errorf("old ciphertext decrypted with material %s, want %s", aws.ToString(d.KeyMaterialId), aws.ToString(all.Rotations[0].KeyMaterialId))
	}
	hmacKey := e.createKey(&kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	_, err := e.kms.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: hmacKey.KeyId})
	var unsupported *types.UnsupportedOperationException
	if !errors.As(err, &unsupported) {
		t.Errorf("RotateKeyOnDemand(HMAC) = %v, want UnsupportedOperationException", err)
	}
}

// openssl runs openssl in dir, or skips the test when it is missing.
func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH; skipping the import tests that wrap key material as AWS's import guide does")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

// wrapWithOpenSSL encrypts the key material in dir/material.bin for import
// with the commands of AWS's guide ("Encrypt key material"), and returns
// the EncryptedKeyMaterial.
func wrapWithOpenSSL(t *testing.T, dir string, pub []byte, alg types.AlgorithmSpec) []byte {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "WrappingPublicKey.bin"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	md := "sha256"
	if alg == types.AlgorithmSpecRsaesOaepSha1 || alg == types.AlgorithmSpecRsaAesKeyWrapSha1 {
		md = "sha1"
	}
	oaep := func(in, out string) {
		openssl(t, dir, "pkeyutl", "-encrypt", "-in", in, "-out", out, "-inkey", "WrappingPublicKey.bin", "-keyform", "DER", "-pubin",
			"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+md, "-pkeyopt", "rsa_mgf1_md:"+md)
	}
	switch alg {
	case types.AlgorithmSpecRsaesOaepSha1, types.AlgorithmSpecRsaesOaepSha256:
		oaep("material.bin", "EncryptedKeyMaterial.bin")
	default:
		openssl(t, dir, "rand", "-out", "aes-key.bin", "32")
		aesKey, err := os.ReadFile(filepath.Join(dir, "aes-key.bin"))
		if err != nil {
			t.Fatal(err)
		}
		openssl(t, dir, "enc", "-id-aes256-wrap-pad", "-K", hex.EncodeToString(aesKey), "-iv", "A65959A6", "-in", "material.bin", "-out", "key-material-wrapped.bin")
		oaep("aes-key.bin", "aes-key-wrapped.bin")
		a, _ := os.ReadFile(filepath.Join(dir, "aes-key-wrapped.bin"))
		b, _ := os.ReadFile(filepath.Join(dir, "key-material-wrapped.bin"))
		return append(a, b...)
	}
	out, err := os.ReadFile(filepath.Join(dir, "EncryptedKeyMaterial.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportOpenSSL imports key material wrapped by openssl with every
// wrapping algorithm: symmetric material under RSA_2048 and RSA_3072, an
// RSA private key under RSA_4096 with RSA_AES_KEY_WRAP_SHA_256, and an ECC
// private key.
func TestImportOpenSSL(t *testing.T) {
	dir := t.TempDir()
	openssl(t, dir, "version")
	e := start(t, "")
	imp := func(id string, alg types.AlgorithmSpec, spec types.WrappingKeySpec) {
		t.Helper()
		p := must[*kms.GetParametersForImportOutput](t)(e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: aws.String(id), WrappingAlgorithm: alg, WrappingKeySpec: spec}))
		if p.ParametersValidTo == nil || time.Until(*p.ParametersValidTo) < 23*time.Hour || time.Until(*p.ParametersValidTo) > 25*time.Hour {
			t.Errorf("ParametersValidTo = %v, want in 24 hours", p.ParametersValidTo)
		}
		enc := wrapWithOpenSSL(t, dir, p.PublicKey, alg)
		if _, err := e.kms.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: aws.String(id), ImportToken: p.ImportToken, EncryptedKeyMaterial: enc,
			ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
			t.Fatalf("ImportKeyMaterial(%s, %s): %v", alg, spec, err)
		}
	}
	for _, alg := range []types.AlgorithmSpec{types.AlgorithmSpecRsaesOaepSha1, types.AlgorithmSpecRsaesOaepSha256, types.AlgorithmSpecRsaAesKeyWrapSha1, types.AlgorithmSpecRsaAesKeyWrapSha256} {
		for _, spec := range []types.WrappingKeySpec{types.WrappingKeySpecRsa2048, types.WrappingKeySpecRsa3072} {
			k := e.createKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal})
			openssl(t, dir, "rand", "-out", "material.bin", "32")
			imp(*k.KeyId, alg, spec)
			if s := e.state(*k.KeyId); s != types.KeyStateEnabled {
				t.Fatalf("state after import = %s", s)
			}
			ct := e.encrypt(*k.KeyId, string(alg))
			if d, err := e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct}); err != nil || string(d.Plaintext) != string(alg) {
				t.Errorf("Decrypt under material imported with %s: %v", alg, err)
			}
		}
	}

	// An RSA private key needs RSA_AES_KEY_WRAP; KMS derives the public key.
	rk := e.createKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	openssl(t, dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.pem")
	openssl(t, dir, "pkcs8", "-topk8", "-inform", "PEM", "-outform", "DER", "-nocrypt", "-in", "rsa.pem", "-out", "material.bin")
	imp(*rk.KeyId, types.AlgorithmSpecRsaAesKeyWrapSha256, types.WrappingKeySpecRsa4096)
	openssl(t, dir, "pkey", "-in", "rsa.pem", "-pubout", "-outform", "DER", "-out", "rsa-pub.der")
	wantPub, _ := os.ReadFile(filepath.Join(dir, "rsa-pub.der"))
	pk := must[*kms.GetPublicKeyOutput](t)(e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: rk.KeyId}))
	if !bytes.Equal(pk.PublicKey, wantPub) {
		t.Error("GetPublicKey of the imported RSA key differs from openssl's public key")
	}
	// ECC key material, directly by RSAES-OAEP.
	ek := e.createKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal, KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	openssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem")
	openssl(t, dir, "pkcs8", "-topk8", "-inform", "PEM", "-outform", "DER", "-nocrypt", "-in", "ec.pem", "-out", "material.bin")
	imp(*ek.KeyId, types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048)
	msg := []byte("signed by imported key")
	sig := must[*kms.SignOutput](t)(e.kms.Sign(ctx, &kms.SignInput{KeyId: ek.KeyId, Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256}))
	os.WriteFile(filepath.Join(dir, "msg.bin"), msg, 0o600)
	os.WriteFile(filepath.Join(dir, "sig.bin"), sig.Signature, 0o600)
	openssl(t, dir, "pkey", "-in", "ec.pem", "-pubout", "-out", "ec-pub.pem")
	if out := openssl(t, dir, "dgst", "-sha256", "-verify", "ec-pub.pem", "-signature", "sig.bin", "msg.bin"); !bytes.Contains(out, []byte("Verified OK")) {
		t.Errorf("openssl did not verify the signature of the imported key: %s", out)
	}
}

// TestImportErrorsE2E drives the import refusals through the SDK.
func TestImportErrorsE2E(t *testing.T) {
	clk := scheduler.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	e := startClock(t, "", clk)
	k := e.createKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	if k.KeyState != types.KeyStatePendingImport || k.Enabled || k.Origin != types.OriginTypeExternal {
		t.Fatalf("CreateKey(EXTERNAL) = %+v", k)
	}
	material := make([]byte, 32)
	rand.Read(material)
	if err := e.importGo(*k.KeyId, material, nil); err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	var incorrect *types.IncorrectKeyMaterialException
	if err := e.importGo(*k.KeyId, other, nil); !errors.As(err, &incorrect) {
		t.Errorf("reimport of different material = %v, want IncorrectKeyMaterialException", err)
	}

	params := func(e *env, id *string) *kms.GetParametersForImportOutput {
		return must[*kms.GetParametersForImportOutput](t)(e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{
			KeyId: id, WrappingAlgorithm: types.AlgorithmSpecRsaAesKeyWrapSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048}))
	}
	imp := func(tok, pub []byte) error {
		_, err := e.kms.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: k.KeyId, ImportToken: tok, EncryptedKeyMaterial: aesWrap(t, pub, material),
			ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
		return err
	}
	p := params(e, k.KeyId)
	if err := imp(p.ImportToken, p.PublicKey); err != nil {
		t.Fatalf("import wrapped with RSA_AES_KEY_WRAP_SHA_256 in Go: %v", err)
	}
	// A token from another server.
	foreign := start(t, "")
	fk := foreign.createKey(&kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	fp := params(foreign, fk.KeyId)
	var invalid *types.InvalidImportTokenException
	if err := imp(fp.ImportToken, p.PublicKey); !errors.As(err, &invalid) {
		t.Errorf("import with a foreign token = %v, want InvalidImportTokenException", err)
	}
	// An expired one.
	clk.Advance(24*time.Hour + time.Second)
	var expired *types.ExpiredImportTokenException
	if err := imp(p.ImportToken, p.PublicKey); !errors.As(err, &expired) {
		t.Errorf("import with an expired token = %v, want ExpiredImportTokenException", err)
	}
	// ValidTo is required for KEY_MATERIAL_EXPIRES.
	_, err := e.kms.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: k.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: []byte("x")})
	wantErr(t, err, "ValidationException", "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
	// Origin AWS_KMS keys take no material.
	ak := e.createKey(&kms.CreateKeyInput{})
	_, err = e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: ak.KeyId, WrappingAlgorithm: types.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: types.WrappingKeySpecRsa2048})
	wantErr(t, err, "UnsupportedOperationException", aws.ToString(ak.Arn)+" origin is AWS_KMS which is not valid for this operation.")

	// Expiry moves the key to PendingImport; DeleteImportedKeyMaterial too.
	validTo := clk.Now().Add(30 * day)
	if err := e.importGo(*k.KeyId, material, &validTo); err != nil {
		t.Fatal(err)
	}
	d := must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})).KeyMetadata
	if d.ExpirationModel != types.ExpirationModelTypeKeyMaterialExpires || d.ValidTo == nil || !d.ValidTo.Equal(validTo) {
		t.Errorf("DescribeKey: ExpirationModel %s, ValidTo %v", d.ExpirationModel, d.ValidTo)
	}
	advanceUntil(t, clk, 30*day, "the expiry of imported material", func() bool { return e.state(*k.KeyId) == types.KeyStatePendingImport })
	if err := e.importGo(*k.KeyId, material, nil); err != nil {
		t.Fatal(err)
	}
	del := must[*kms.DeleteImportedKeyMaterialOutput](t)(e.kms.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: k.KeyId}))
	if aws.ToString(del.KeyId) != aws.ToString(k.Arn) || aws.ToString(del.KeyMaterialId) == "" {
		t.Errorf("DeleteImportedKeyMaterial = %+v", del)
	}
	if s := e.state(*k.KeyId); s != types.KeyStatePendingImport {
		t.Errorf("state after DeleteImportedKeyMaterial = %s", s)
	}
}

// aesWrap wraps material as RSA_AES_KEY_WRAP_SHA_256 does: RSAES-OAEP of an
// ephemeral AES-256 key, then the material under AES Key Wrap with Padding
// (RFC 5649).
func aesWrap(t *testing.T, pub, material []byte) []byte {
	t.Helper()
	kek := make([]byte, 32)
	rand.Read(kek)
	b, err := aes.NewCipher(kek)
	if err != nil {
		t.Fatal(err)
	}
	n := (len(material) + 7) / 8
	r := make([]byte, 8*n)
	copy(r, material)
	a := make([]byte, 8)
	copy(a, []byte{0xA6, 0x59, 0x59, 0xA6})
	bin.BigEndian.PutUint32(a[4:], uint32(len(material)))
	blk := make([]byte, 16)
	if n == 1 {
		b.Encrypt(blk, append(a, r...))
		return append(oaepWrap(t, pub, kek), blk...)
	}
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(blk, a)
			copy(blk[8:], r[(i-1)*8:i*8])
			b.Encrypt(blk, blk)
			bin.BigEndian.PutUint64(a, bin.BigEndian.Uint64(blk[:8])^uint64(n*j+i))
			copy(r[(i-1)*8:i*8], blk[8:])
		}
	}
	return append(oaepWrap(t, pub, kek), append(a, r...)...)
}
