package e2e

import (
	"bytes"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyward/keyward/internal/server"
)

const chinaRegion = "cn-north-1"

// startChina runs a server that answers for Beijing, cn-north-1, in the
// aws-cn partition.
func startChina(t *testing.T) *env {
	t.Helper()
	return startWith(t, "", func(c *server.Config) { c.Region = chinaRegion })
}

// TestChinaRegionPartition checks that a server in a China Region names
// everything in the aws-cn partition, as AWS does there: key and alias ARNs,
// the default key policy, grant issuers, and IAM and STS principals; and
// that ARNs of the aws partition do not name its keys.
func TestChinaRegionPartition(t *testing.T) {
	e := startChina(t)
	const keyPrefix = "arn:aws-cn:kms:cn-north-1:" + testAccount + ":key/"
	const root = "arn:aws-cn:iam::" + testAccount + ":root"

	m := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	if !strings.HasPrefix(*m.Arn, keyPrefix) || *m.Arn != keyPrefix+*m.KeyId {
		t.Fatalf("CreateKey Arn = %s, want %s<id>", *m.Arn, keyPrefix)
	}
	pol := must[*kms.GetKeyPolicyOutput](t)(e.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: m.KeyId}))
	if !strings.Contains(*pol.Policy, `"AWS" : "`+root+`"`) {
		t.Errorf("default key policy does not name %s:\n%s", root, *pol.Policy)
	}

	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/beijing"), TargetKeyId: m.KeyId}))
	aliases := must[*kms.ListAliasesOutput](t)(e.kms.ListAliases(ctx, &kms.ListAliasesInput{KeyId: m.KeyId}))
	if len(aliases.Aliases) != 1 || *aliases.Aliases[0].AliasArn != "arn:aws-cn:kms:cn-north-1:"+testAccount+":alias/beijing" {
		t.Errorf("ListAliases = %+v", aliases.Aliases)
	}

	// The key ARN and the alias ARN of the aws-cn partition work; the same
	// ARN in the aws partition names nothing.
	for _, id := range []string{*m.Arn, "arn:aws-cn:kms:cn-north-1:" + testAccount + ":alias/beijing"} {
		enc := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")}))
		if *enc.KeyId != *m.Arn {
			t.Errorf("Encrypt(%s).KeyId = %s, want %s", id, *enc.KeyId, *m.Arn)
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}))
		if *dec.KeyId != *m.Arn || string(dec.Plaintext) != "x" {
			t.Errorf("Decrypt = %s %q", *dec.KeyId, dec.Plaintext)
		}
	}
	wrong := "arn:aws:kms:cn-north-1:" + testAccount + ":key/" + *m.KeyId
	_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(wrong), Plaintext: []byte("x")})
	if err == nil {
		t.Errorf("Encrypt with %s (aws partition) succeeded on a cn-north-1 server", wrong)
	}

	g := must[*kms.CreateGrantOutput](t)(e.kms.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: m.KeyId, GranteePrincipal: aws.String(root), Operations: []types.GrantOperation{"Decrypt"}}))
	grants := must[*kms.ListGrantsOutput](t)(e.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: m.KeyId}))
	if len(grants.Grants) != 1 || *grants.Grants[0].GrantId != *g.GrantId || *grants.Grants[0].IssuingAccount != root || *grants.Grants[0].KeyId != *m.Arn {
		t.Errorf("ListGrants = %+v", grants.Grants)
	}

	// IAM and STS principals are in aws-cn too.
	creds := credentials.NewStaticCredentialsProvider(e.akid, e.secret, "")
	st := sts.New(sts.Options{Region: chinaRegion, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1, Credentials: creds})
	who := must[*sts.GetCallerIdentityOutput](t)(st.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if *who.Arn != root {
		t.Errorf("GetCallerIdentity Arn = %s, want %s", *who.Arn, root)
	}
	ic := iam.New(iam.Options{Region: chinaRegion, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1, Credentials: creds})
	u := must[*iam.CreateUserOutput](t)(ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}))
	if *u.User.Arn != "arn:aws-cn:iam::"+testAccount+":user/alice" {
		t.Errorf("CreateUser Arn = %s", *u.User.Arn)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + root + `"},"Action":"sts:AssumeRole"}]}`
	r := must[*iam.CreateRoleOutput](t)(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ops"), AssumeRolePolicyDocument: aws.String(trust)}))
	if *r.Role.Arn != "arn:aws-cn:iam::"+testAccount+":role/ops" {
		t.Fatalf("CreateRole Arn = %s", *r.Role.Arn)
	}
	// Roles are not for root: alice, allowed sts:AssumeRole, takes it.
	must[*iam.PutUserPolicyOutput](t)(ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}))
	ak := must[*iam.CreateAccessKeyOutput](t)(ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})).AccessKey
	st = sts.New(sts.Options{Region: chinaRegion, BaseEndpoint: aws.String(e.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(*ak.AccessKeyId, *ak.SecretAccessKey, "")})
	// An aws-partition role ARN does not name the role.
	if _, err := st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + testAccount + ":role/ops"), RoleSessionName: aws.String("s1")}); err == nil {
		t.Error("AssumeRole with an aws-partition role ARN succeeded on a cn-north-1 server")
	}
	ar := must[*sts.AssumeRoleOutput](t)(st.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: r.Role.Arn, RoleSessionName: aws.String("s1")}))
	if *ar.AssumedRoleUser.Arn != "arn:aws-cn:sts::"+testAccount+":assumed-role/ops/s1" {
		t.Errorf("AssumeRole Arn = %s", *ar.AssumedRoleUser.Arn)
	}
}

// sm2Curve is the SM2 curve (GB/T 32918.5) as generic crypto/elliptic
// parameters: its a is p-3, which CurveParams assumes. The test uses it as
// an implementation of the curve independent of the server's.
func sm2Curve() *elliptic.CurveParams {
	h := func(s string) *big.Int { n, _ := new(big.Int).SetString(s, 16); return n }
	return &elliptic.CurveParams{
		Name:    "SM2",
		BitSize: 256,
		P:       h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"),
		N:       h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"),
		B:       h("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"),
		Gx:      h("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
		Gy:      h("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"),
	}
}

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSM2Curve    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
)

// sm2SPKI parses an SM2 SubjectPublicKeyInfo with encoding/asn1 alone.
func sm2SPKI(t *testing.T, der []byte) (x, y *big.Int) {
	t.Helper()
	var spki struct {
		Algorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.ObjectIdentifier
		}
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		t.Fatalf("SM2 public key is not SPKI: %v", err)
	}
	if !spki.Algorithm.Algorithm.Equal(oidECPublicKey) || !spki.Algorithm.Parameters.Equal(oidSM2Curve) {
		t.Fatalf("SPKI algorithm %v / %v, want id-ecPublicKey / sm2", spki.Algorithm.Algorithm, spki.Algorithm.Parameters)
	}
	x, y = elliptic.Unmarshal(sm2Curve(), spki.PublicKey.Bytes) //nolint:staticcheck // generic curve on purpose
	if x == nil {
		t.Fatal("SM2 public key is not an uncompressed point on the curve")
	}
	return x, y
}

func openSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not on PATH")
	}
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSM2 exercises the SM2 key spec in a China Region through the SDK:
// every usage, each result checked by OpenSSL or by generic curve
// arithmetic from the public key alone.
func TestSM2(t *testing.T) {
	e := startChina(t)
	openssl := openSSL(t)
	dir := t.TempDir()
	msg := []byte("signed in Beijing")
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, msg, 0o600)

	t.Run("sign", func(t *testing.T) {
		m := createKey(t, e, "SM2", "SIGN_VERIFY")
		if !slices.Equal(m.SigningAlgorithms, []types.SigningAlgorithmSpec{"SM2DSA"}) || m.EncryptionAlgorithms != nil || *m.Arn != "arn:aws-cn:kms:cn-north-1:"+testAccount+":key/"+*m.KeyId {
			t.Errorf("KeyMetadata: signing %v, encryption %v, arn %s", m.SigningAlgorithms, m.EncryptionAlgorithms, *m.Arn)
		}
		pk := must[*kms.GetPublicKeyOutput](t)(e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId}))
		sm2SPKI(t, pk.PublicKey)
		pubFile := writePEM(t, filepath.Join(dir, "sign.pem"), "PUBLIC KEY", pk.PublicKey)
		sig := must[*kms.SignOutput](t)(e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: "SM2DSA"})).Signature
		sigFile := filepath.Join(dir, "sig")
		os.WriteFile(sigFile, sig, 0o600)
		// OpenSSL verifies with AWS's distinguishing ID, from the public key alone.
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubFile, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:1234567812345678", "-sigfile", sigFile, "-in", msgFile).CombinedOutput()
		if err != nil {
			t.Errorf("openssl refused Keyward's SM2DSA signature: %v\n%s", err, out)
		}
		v := must[*kms.VerifyOutput](t)(e.kms.Verify(ctx, &kms.VerifyInput{KeyId: m.KeyId, Message: msg, Signature: sig, SigningAlgorithm: "SM2DSA"}))
		if !v.SignatureValid {
			t.Error("Verify refused Keyward's own signature")
		}
		_, err = e.kms.Verify(ctx, &kms.VerifyInput{KeyId: m.KeyId, Message: []byte("other"), Signature: sig, SigningAlgorithm: "SM2DSA"})
		wantErr(t, err, "KMSInvalidSignatureException", "")
		// A DIGEST must be the 32 bytes of SM3(Z_A || M).
		_, err = e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: make([]byte, 31), MessageType: "DIGEST", SigningAlgorithm: "SM2DSA"})
		wantErr(t, err, "ValidationException", "")
		_, err = e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: msg, SigningAlgorithm: "ECDSA_SHA_256"})
		wantErr(t, err, "InvalidKeyUsageException", "Algorithm ECDSA_SHA_256 is incompatible with key spec SM2.")
	})

	t.Run("encrypt", func(t *testing.T) {
		m := createKey(t, e, "SM2", "ENCRYPT_DECRYPT")
		if !slices.Equal(m.EncryptionAlgorithms, []types.EncryptionAlgorithmSpec{"SM2PKE"}) {
			t.Errorf("EncryptionAlgorithms = %v", m.EncryptionAlgorithms)
		}
		pk := must[*kms.GetPublicKeyOutput](t)(e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId}))
		pubFile := writePEM(t, filepath.Join(dir, "enc.pem"), "PUBLIC KEY", pk.PublicKey)
		pt := bytes.Repeat([]byte("k"), 1024)
		ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: pt, EncryptionAlgorithm: "SM2PKE"}))
		// The ciphertext is the ASN.1 form AWS documents (openssl asn1parse reads it).
		ctFile := filepath.Join(dir, "ct")
		os.WriteFile(ctFile, ct.CiphertextBlob, 0o600)
		if out, err := exec.Command(openssl, "asn1parse", "-inform", "DER", "-in", ctFile).CombinedOutput(); err != nil {
			t.Errorf("openssl asn1parse: %v\n%s", err, out)
		}
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: ct.CiphertextBlob, EncryptionAlgorithm: "SM2PKE"}))
		if !bytes.Equal(dec.Plaintext, pt) {
			t.Error("SM2PKE round trip changed the plaintext")
		}
		// OpenSSL encrypts to the public key; Keyward decrypts.
		ptFile := filepath.Join(dir, "pt")
		os.WriteFile(ptFile, []byte("from openssl"), 0o600)
		ossl, err := exec.Command(openssl, "pkeyutl", "-encrypt", "-pubin", "-inkey", pubFile, "-in", ptFile).Output()
		if err != nil {
			t.Fatalf("openssl pkeyutl -encrypt: %v", err)
		}
		dec = must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: ossl, EncryptionAlgorithm: "SM2PKE"}))
		if string(dec.Plaintext) != "from openssl" {
			t.Errorf("Decrypt(openssl ciphertext) = %q", dec.Plaintext)
		}
		ossl[len(ossl)-1] ^= 1
		_, err = e.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: m.KeyId, CiphertextBlob: ossl, EncryptionAlgorithm: "SM2PKE"})
		wantErr(t, err, "InvalidCiphertextException", "")
		_, err = e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: append(pt, 'x'), EncryptionAlgorithm: "SM2PKE"})
		wantErr(t, err, "ValidationException", "cannot encrypt data larger than 1024 bytes")
	})

	t.Run("key agreement", func(t *testing.T) {
		m := createKey(t, e, "SM2", "KEY_AGREEMENT")
		if !slices.Equal(m.KeyAgreementAlgorithms, []types.KeyAgreementAlgorithmSpec{"ECDH"}) {
			t.Errorf("KeyAgreementAlgorithms = %v", m.KeyAgreementAlgorithms)
		}
		pk := must[*kms.GetPublicKeyOutput](t)(e.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: m.KeyId}))
		kx, ky := sm2SPKI(t, pk.PublicKey)
		c := sm2Curve()
		d, err := rand.Int(rand.Reader, new(big.Int).Sub(c.N, big.NewInt(2)))
		if err != nil {
			t.Fatal(err)
		}
		d.Add(d, big.NewInt(1))
		px, py := c.ScalarBaseMult(d.Bytes())
		peer, _ := asn1.Marshal(struct {
			Algorithm struct {
				Algorithm  asn1.ObjectIdentifier
				Parameters asn1.ObjectIdentifier
			}
			PublicKey asn1.BitString
		}{struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.ObjectIdentifier
		}{oidECPublicKey, oidSM2Curve}, asn1.BitString{Bytes: elliptic.Marshal(c, px, py), BitLength: 65 * 8}}) //nolint:staticcheck
		out := must[*kms.DeriveSharedSecretOutput](t)(e.kms.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: m.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: peer}))
		sx, _ := c.ScalarMult(kx, ky, d.Bytes())
		if want := sx.FillBytes(make([]byte, 32)); !bytes.Equal(out.SharedSecret, want) {
			t.Errorf("DeriveSharedSecret = %x, the peer computes %x", out.SharedSecret, want)
		}
		p256, _ := ecdh.P256().GenerateKey(rand.Reader)
		other, _ := x509.MarshalPKIXPublicKey(p256.PublicKey())
		_, err = e.kms.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: m.KeyId, KeyAgreementAlgorithm: "ECDH", PublicKey: other})
		wantErr(t, err, "ValidationException", "")
	})

	t.Run("data key pair", func(t *testing.T) {
		sym := createKey(t, e, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
		out := must[*kms.GenerateDataKeyPairOutput](t)(e.kms.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: sym.KeyId, KeyPairSpec: "SM2"}))
		dec := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.PrivateKeyCiphertextBlob}))
		if !bytes.Equal(dec.Plaintext, out.PrivateKeyPlaintext) {
			t.Error("the encrypted private key differs from the plaintext one")
		}
		// OpenSSL reads the PKCS #8 key as SM2 and derives the same public key.
		keyFile := filepath.Join(dir, "pair.der")
		os.WriteFile(keyFile, out.PrivateKeyPlaintext, 0o600)
		pub, err := exec.Command(openssl, "pkey", "-inform", "DER", "-in", keyFile, "-pubout", "-outform", "DER").Output()
		if err != nil || !bytes.Equal(pub, out.PublicKey) {
			t.Errorf("openssl pkey -pubout = %x, %v; want the returned public key %x", pub, err, out.PublicKey)
		}
		sm2SPKI(t, out.PublicKey)
	})
}

// TestSM2OutsideChina: AWS offers SM2 only in its China Regions.
func TestSM2OutsideChina(t *testing.T) {
	e := start(t, "")
	_, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: "SM2", KeyUsage: "SIGN_VERIFY"})
	wantErr(t, err, "ValidationException", "")
}

// TestSM2WithCLI signs with an SM2 key through the AWS CLI in cn-north-1.
func TestSM2WithCLI(t *testing.T) {
	awsPath := awsCLI(t)
	e := startChina(t)
	env := cliEnv("AWS_ACCESS_KEY_ID="+e.akid, "AWS_SECRET_ACCESS_KEY="+e.secret)
	key := runCLI(t, awsPath, e.url, env, "--region", chinaRegion, "kms", "create-key", "--key-spec", "SM2", "--key-usage", "SIGN_VERIFY")
	meta := key["KeyMetadata"].(map[string]any)
	if arn, _ := meta["Arn"].(string); !strings.HasPrefix(arn, "arn:aws-cn:kms:cn-north-1:") {
		t.Fatalf("aws kms create-key Arn = %v", meta["Arn"])
	}
	// fileb:// passes bytes the same way in CLI v1 and v2.
	dir := t.TempDir()
	msgFile, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
	os.WriteFile(msgFile, []byte("hello"), 0o600)
	sig := runCLI(t, awsPath, e.url, env, "--region", chinaRegion, "kms", "sign", "--key-id", meta["KeyId"].(string),
		"--message", "fileb://"+msgFile, "--signing-algorithm", "SM2DSA")
	raw, err := base64.StdEncoding.DecodeString(sig["Signature"].(string))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(sigFile, raw, 0o600)
	ver := runCLI(t, awsPath, e.url, env, "--region", chinaRegion, "kms", "verify", "--key-id", meta["KeyId"].(string),
		"--message", "fileb://"+msgFile, "--signing-algorithm", "SM2DSA", "--signature", "fileb://"+sigFile)
	if ver["SignatureValid"] != true {
		t.Errorf("aws kms verify = %v", ver)
	}
}

// TestSM2Import imports key material wrapped with SM2PKE under an SM2
// wrapping key, as AWS allows in its China Regions: a symmetric key and an
// SM2 signing key, each wrapped by OpenSSL from the public key alone.
func TestSM2Import(t *testing.T) {
	e := startChina(t)
	openssl := openSSL(t)
	dir := t.TempDir()
	wrap := func(t *testing.T, id *string, material []byte) (token, wrapped []byte) {
		t.Helper()
		p := must[*kms.GetParametersForImportOutput](t)(e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{
			KeyId: id, WrappingAlgorithm: "SM2PKE", WrappingKeySpec: "SM2"}))
		sm2SPKI(t, p.PublicKey)
		pubFile := writePEM(t, filepath.Join(dir, "wrap.pem"), "PUBLIC KEY", p.PublicKey)
		in := filepath.Join(dir, "material")
		os.WriteFile(in, material, 0o600)
		out, err := exec.Command(openssl, "pkeyutl", "-encrypt", "-pubin", "-inkey", pubFile, "-in", in).Output()
		if err != nil {
			t.Fatalf("openssl pkeyutl -encrypt: %v", err)
		}
		return p.ImportToken, out
	}

	t.Run("symmetric", func(t *testing.T) {
		m := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: "EXTERNAL"})).KeyMetadata
		material := make([]byte, 32)
		rand.Read(material)
		token, wrapped := wrap(t, m.KeyId, material)
		must[*kms.ImportKeyMaterialOutput](t)(e.kms.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId,
			ImportToken: token, EncryptedKeyMaterial: wrapped, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"}))
		ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: m.KeyId, Plaintext: []byte("imported")}))
		pt := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob}))
		if string(pt.Plaintext) != "imported" {
			t.Errorf("Decrypt = %q", pt.Plaintext)
		}
		// A damaged wrapping is refused and changes nothing.
		other := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: "EXTERNAL"})).KeyMetadata
		token, wrapped = wrap(t, other.KeyId, material)
		wrapped[len(wrapped)-1] ^= 1
		_, err := e.kms.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: other.KeyId, ImportToken: token, EncryptedKeyMaterial: wrapped,
			ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"})
		wantErr(t, err, "InvalidCiphertextException", "")
		d := must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: other.KeyId}))
		if d.KeyMetadata.KeyState != "PendingImport" {
			t.Errorf("after a refused import the key is %s", d.KeyMetadata.KeyState)
		}
	})

	t.Run("SM2 signing key", func(t *testing.T) {
		keyPEM := filepath.Join(dir, "sm2.pem")
		if out, err := exec.Command(openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:sm2", "-out", keyPEM).CombinedOutput(); err != nil {
			t.Fatalf("openssl genpkey: %v\n%s", err, out)
		}
		p8, err := exec.Command(openssl, "pkcs8", "-topk8", "-nocrypt", "-in", keyPEM, "-outform", "DER").Output()
		if err != nil {
			t.Fatal(err)
		}
		m := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: "EXTERNAL", KeySpec: "SM2", KeyUsage: "SIGN_VERIFY"})).KeyMetadata
		token, wrapped := wrap(t, m.KeyId, p8)
		must[*kms.ImportKeyMaterialOutput](t)(e.kms.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: m.KeyId,
			ImportToken: token, EncryptedKeyMaterial: wrapped, ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE"}))
		msg := filepath.Join(dir, "signme")
		os.WriteFile(msg, []byte("imported SM2 key"), 0o600)
		sig := must[*kms.SignOutput](t)(e.kms.Sign(ctx, &kms.SignInput{KeyId: m.KeyId, Message: []byte("imported SM2 key"), SigningAlgorithm: "SM2DSA"})).Signature
		sigFile := filepath.Join(dir, "importsig")
		os.WriteFile(sigFile, sig, 0o600)
		// OpenSSL checks it with the key it generated: the imported key is the one in use.
		out, err := exec.Command(openssl, "pkeyutl", "-verify", "-inkey", keyPEM, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:1234567812345678", "-sigfile", sigFile, "-in", msg).CombinedOutput()
		if err != nil {
			t.Errorf("openssl refused the imported key's signature: %v\n%s", err, out)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		m := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: "EXTERNAL"})).KeyMetadata
		for _, c := range []struct {
			alg  types.AlgorithmSpec
			spec types.WrappingKeySpec
		}{{"SM2PKE", "RSA_2048"}, {"RSAES_OAEP_SHA_256", "SM2"}} {
			_, err := e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: m.KeyId, WrappingAlgorithm: c.alg, WrappingKeySpec: c.spec})
			wantErr(t, err, "ValidationException", "is not compatible with wrapping key spec")
		}
		rsaKey := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Origin: "EXTERNAL", KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY"})).KeyMetadata
		_, err := e.kms.GetParametersForImport(ctx, &kms.GetParametersForImportInput{KeyId: rsaKey.KeyId, WrappingAlgorithm: "SM2PKE", WrappingKeySpec: "SM2"})
		wantErr(t, err, "ValidationException", "RSA_2048 key material cannot be wrapped with SM2PKE.")
	})
}
