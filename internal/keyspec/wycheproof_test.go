package keyspec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Project Wycheproof vectors (C2SP/wycheproof testvectors_v1), kept outside
// the module in shared/vectors. Every "valid" case must pass and every
// "invalid" one fail. "acceptable" cases are allowed either way and logged
// with what this package did; the decisions are noted where they arise.

const wycheproofDir = "../../../shared/vectors/wycheproof"

type wpFile struct {
	Algorithm  string            `json:"algorithm"`
	TestGroups []json.RawMessage `json:"testGroups"`
}

type wpCase struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
	Msg     wpHex    `json:"msg"`
	Sig     wpHex    `json:"sig"`
	Ct      wpHex    `json:"ct"`
	Label   wpHex    `json:"label"`
	Key     wpHex    `json:"key"`
	Tag     wpHex    `json:"tag"`
	Public  wpHex    `json:"public"`
	Private wpHex    `json:"private"`
	Shared  wpHex    `json:"shared"`
}

type wpHex []byte

func (h *wpHex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// wpCounts tallies one vector file.
type wpCounts struct {
	run, skipped                  int
	valid, invalid                int
	acceptAccepted, acceptRefused int
	acceptedComments              map[string]int
}

func (c *wpCounts) log(t *testing.T, file string) {
	t.Logf("%s: %d run (%d valid, %d invalid, acceptable: %d accepted, %d refused), %d skipped",
		file, c.run, c.valid, c.invalid, c.acceptAccepted, c.acceptRefused, c.skipped)
	if len(c.acceptedComments) > 0 {
		t.Logf("%s: acceptable cases accepted: %v", file, c.acceptedComments)
	}
	if c.run == 0 {
		t.Errorf("%s: no vectors ran", file)
	}
}

// check records a case's outcome and reports a mismatch.
func (c *wpCounts) check(t *testing.T, file string, tc wpCase, ok bool, detail any) {
	t.Helper()
	c.run++
	switch tc.Result {
	case "valid":
		c.valid++
		if !ok {
			t.Errorf("%s tcId %d (%s, %v): refused a valid case: %v", file, tc.TcID, tc.Comment, tc.Flags, detail)
		}
	case "invalid":
		c.invalid++
		if ok {
			t.Errorf("%s tcId %d (%s, %v): accepted an invalid case", file, tc.TcID, tc.Comment, tc.Flags)
		}
	default:
		if ok {
			c.acceptAccepted++
			if c.acceptedComments == nil {
				c.acceptedComments = map[string]int{}
			}
			c.acceptedComments[tc.Comment]++
		} else {
			c.acceptRefused++
		}
	}
}

func loadWycheproof(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(wycheproofDir, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("Wycheproof vectors not found at %s (shared/vectors is not checked out beside the module)", wycheproofDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f wpFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f.TestGroups
}

func rsaSpec(bits int) Spec {
	switch bits {
	case 2048:
		return RSA2048
	case 3072:
		return RSA3072
	case 4096:
		return RSA4096
	}
	return ""
}

func shaSuffix(sha string) string {
	return map[string]string{"SHA-1": "SHA_1", "SHA-256": "SHA_256", "SHA-384": "SHA_384", "SHA-512": "SHA_512"}[sha]
}

// TestWycheproofRSAOAEP runs RSA-OAEP decryption vectors through Decrypt.
// AWS uses the same hash for OAEP and MGF1 and an empty label, so groups with
// other parameters or key sizes are skipped, and a case with a non-empty
// label must be refused whatever its Wycheproof result: Decrypt has no label.
func TestWycheproofRSAOAEP(t *testing.T) {
	for _, file := range []string{
		"rsa_oaep_2048_sha1_mgf1sha1_test.json", "rsa_oaep_2048_sha256_mgf1sha256_test.json",
		"rsa_oaep_3072_sha256_mgf1sha256_test.json", "rsa_oaep_4096_sha256_mgf1sha256_test.json",
		"rsa_oaep_misc_test.json",
	} {
		var c wpCounts
		for _, raw := range loadWycheproof(t, file) {
			var g struct {
				KeySize    int    `json:"keySize"`
				SHA        string `json:"sha"`
				MGFSHA     string `json:"mgfSha"`
				PrivateKey wpHex  `json:"privateKeyPkcs8"`
				Tests      []wpCase
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			spec, alg := rsaSpec(g.KeySize), "RSAES_OAEP_"+shaSuffix(g.SHA)
			if spec == "" || g.SHA != g.MGFSHA || MaxPlaintext(spec, alg) == 0 {
				c.skipped += len(g.Tests)
				continue
			}
			k, err := ParsePrivateKey(spec, g.PrivateKey)
			if err != nil {
				t.Fatalf("%s: ParsePrivateKey: %v", file, err)
			}
			for _, tc := range g.Tests {
				pt, err := k.Decrypt(alg, tc.Ct)
				ok := err == nil && bytes.Equal(pt, tc.Msg)
				if err != nil && err != ErrDecrypt {
					t.Errorf("%s tcId %d: Decrypt error %v is not exactly ErrDecrypt", file, tc.TcID, err)
				}
				if len(tc.Label) > 0 {
					c.run++
					if ok {
						t.Errorf("%s tcId %d: decrypted a ciphertext made with a label", file, tc.TcID)
					}
					continue
				}
				c.check(t, file, tc, ok, err)
			}
		}
		c.log(t, file)
	}
}

// TestWycheproofRSASignatures runs RSA PSS and PKCS #1 v1.5 verification
// vectors through Verify, with the message RAW (when AWS accepts its length)
// and as a DIGEST. For PSS only groups with MGF1 over the message hash and a
// salt as long as the hash are AWS's algorithms; Verify enforces that salt
// length, so other groups are skipped.
func TestWycheproofRSASignatures(t *testing.T) {
	files := []string{
		"rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_2048_sha384_mgf1_48_test.json",
		"rsa_pss_3072_sha256_mgf1_32_test.json", "rsa_pss_4096_sha256_mgf1_32_test.json",
		"rsa_pss_4096_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json",
		"rsa_pss_misc_test.json",
	}
	for _, bits := range []string{"2048", "3072", "4096"} {
		for _, sha := range []string{"sha256", "sha384", "sha512"} {
			files = append(files, "rsa_signature_"+bits+"_"+sha+"_test.json")
		}
	}
	for _, file := range files {
		var c wpCounts
		pss := strings.HasPrefix(file, "rsa_pss")
		for _, raw := range loadWycheproof(t, file) {
			var g struct {
				KeySize   int    `json:"keySize"`
				SHA       string `json:"sha"`
				MGFSHA    string `json:"mgfSha"`
				SLen      int    `json:"sLen"`
				PublicKey wpHex  `json:"publicKeyDer"`
				Tests     []wpCase
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			spec := rsaSpec(g.KeySize)
			alg := "RSASSA_PKCS1_V1_5_" + shaSuffix(g.SHA)
			if pss {
				alg = "RSASSA_PSS_" + shaSuffix(g.SHA)
			}
			if spec == "" || !slices.Contains(rsaSigning, alg) || pss && (g.MGFSHA != g.SHA || g.SLen != signingHash(alg).Size()) {
				c.skipped += len(g.Tests)
				continue
			}
			pub, err := ParsePublicKey(spec, g.PublicKey)
			if err != nil {
				t.Fatalf("%s: ParsePublicKey: %v", file, err)
			}
			for _, tc := range g.Tests {
				c.check(t, file, tc, verifyBothWays(t, pub, alg, tc), nil)
			}
		}
		c.log(t, file)
	}
}

// verifyBothWays verifies a Wycheproof case as a DIGEST and, when the
// message is 1 to 4096 bytes, as RAW; the two must agree.
func verifyBothWays(t *testing.T, pub *PublicKey, alg string, tc wpCase) bool {
	t.Helper()
	ok, err := pub.Verify(alg, MessageDigest, digestFor(alg, tc.Msg), tc.Sig)
	if err != nil {
		t.Fatalf("tcId %d: Verify DIGEST: %v", tc.TcID, err)
	}
	if len(tc.Msg) >= 1 && len(tc.Msg) <= MaxMessage {
		okRaw, err := pub.Verify(alg, MessageRaw, tc.Msg, tc.Sig)
		if err != nil || okRaw != ok {
			t.Errorf("tcId %d: Verify RAW = %v, %v; DIGEST = %v", tc.TcID, okRaw, err, ok)
		}
	}
	return ok
}

// TestWycheproofRSAPKCS1Sign checks that Sign reproduces the deterministic
// PKCS #1 v1.5 signatures of rsa_pkcs1_2048_sig_gen_test.json (SHA-2 groups;
// SHA-1 and small keys are not AWS algorithms and are skipped).
func TestWycheproofRSAPKCS1Sign(t *testing.T) {
	const file = "rsa_pkcs1_2048_sig_gen_test.json"
	var c wpCounts
	for _, raw := range loadWycheproof(t, file) {
		var g struct {
			KeySize    int    `json:"keySize"`
			SHA        string `json:"sha"`
			PrivateKey wpHex  `json:"privateKeyPkcs8"`
			Tests      []wpCase
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		spec, alg := rsaSpec(g.KeySize), "RSASSA_PKCS1_V1_5_"+shaSuffix(g.SHA)
		if spec == "" || !slices.Contains(rsaSigning, alg) {
			c.skipped += len(g.Tests)
			continue
		}
		k, err := ParsePrivateKey(spec, g.PrivateKey)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tc := range g.Tests {
			sig, err := k.Sign(alg, MessageDigest, digestFor(alg, tc.Msg))
			c.check(t, file, tc, err == nil && bytes.Equal(sig, tc.Sig), err)
		}
	}
	c.log(t, file)
}

// TestWycheproofECDSA runs the DER-encoded ECDSA verification vectors
// through Verify. (The P1363 files are the raw r||s of JOSE, which AWS never
// produces or accepts, and are not run.)
func TestWycheproofECDSA(t *testing.T) {
	for _, tc := range []struct {
		file string
		spec Spec
		alg  string
	}{
		{"ecdsa_secp256r1_sha256_test.json", ECCNISTP256, "ECDSA_SHA_256"},
		{"ecdsa_secp384r1_sha384_test.json", ECCNISTP384, "ECDSA_SHA_384"},
		{"ecdsa_secp521r1_sha512_test.json", ECCNISTP521, "ECDSA_SHA_512"},
		{"ecdsa_secp256k1_sha256_test.json", ECCSECGP256K1, "ECDSA_SHA_256"},
	} {
		var c wpCounts
		for _, raw := range loadWycheproof(t, tc.file) {
			var g struct {
				PublicKey wpHex `json:"publicKeyDer"`
				Tests     []wpCase
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(tc.spec, g.PublicKey)
			if err != nil {
				t.Fatalf("%s: ParsePublicKey(%x): %v", tc.file, g.PublicKey, err)
			}
			for _, v := range g.Tests {
				c.check(t, tc.file, v, verifyBothWays(t, pub, tc.alg, v), nil)
			}
		}
		c.log(t, tc.file)
	}
}

// TestWycheproofECDH runs ECDH vectors through DeriveSharedSecret. The
// "asn" files give the peer as a SubjectPublicKeyInfo, as AWS takes it; the
// "ecpoint" file gives a bare point, which the test wraps in a P-256 SPKI.
//
// Acceptable cases are compressed points and SPKIs with explicit curve
// parameters or unusual encodings. DeriveSharedSecret refuses them: AWS
// documents the peer key as the DER SPKI that GetPublicKey returns (a named
// curve, uncompressed point), and being strict removes parsing attack
// surface.
func TestWycheproofECDH(t *testing.T) {
	for _, tc := range []struct {
		file    string
		spec    Spec
		ecpoint bool
	}{
		{"ecdh_secp256r1_test.json", ECCNISTP256, false},
		{"ecdh_secp384r1_test.json", ECCNISTP384, false},
		{"ecdh_secp521r1_test.json", ECCNISTP521, false},
		{"ecdh_secp256r1_ecpoint_test.json", ECCNISTP256, true},
	} {
		var c wpCounts
		curve := ellipticCurve(tc.spec)
		size := (curve.Params().BitSize + 7) / 8
		for _, raw := range loadWycheproof(t, tc.file) {
			var g struct{ Tests []wpCase }
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			for _, v := range g.Tests {
				d := new(big.Int).SetBytes(v.Private)
				ek, err := ecdsa.ParseRawPrivateKey(curve, d.FillBytes(make([]byte, size)))
				if err != nil {
					t.Fatalf("%s tcId %d: private key: %v", tc.file, v.TcID, err)
				}
				p8, _ := x509.MarshalPKCS8PrivateKey(ek)
				peer := []byte(v.Public)
				if tc.ecpoint {
					peer = wrapP256Point(v.Public)
				}
				got, err := DeriveSharedSecret(tc.spec, p8, "ECDH", peer)
				if err != nil && !errors.Is(err, ErrInvalidPeerKey) {
					t.Errorf("%s tcId %d: error %v does not wrap ErrInvalidPeerKey", tc.file, v.TcID, err)
				}
				c.check(t, tc.file, v, err == nil && bytes.Equal(got, v.Shared), err)
			}
		}
		c.log(t, tc.file)
	}
}

func wrapP256Point(point []byte) []byte {
	params, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7})
	type algo struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	der, _ := asn1.Marshal(struct {
		Algo algo
		Key  asn1.BitString
	}{algo{oidECPublicKey, asn1.RawValue{FullBytes: params}}, asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
	return der
}

// TestWycheproofHMAC runs the HMAC vectors through GenerateMAC and VerifyMAC.
// AWS's GenerateMac returns the full tag and VerifyMac compares full tags,
// so for groups with truncated tags the test checks that the tag is a prefix
// of GenerateMAC's output for valid cases and that VerifyMAC refuses the
// truncated tag. Empty messages are outside AWS's 1-4096 byte limit and are
// checked to be refused.
func TestWycheproofHMAC(t *testing.T) {
	for _, tc := range []struct {
		file string
		spec Spec
		alg  string
	}{
		{"hmac_sha224_test.json", HMAC224, "HMAC_SHA_224"},
		{"hmac_sha256_test.json", HMAC256, "HMAC_SHA_256"},
		{"hmac_sha384_test.json", HMAC384, "HMAC_SHA_384"},
		{"hmac_sha512_test.json", HMAC512, "HMAC_SHA_512"},
	} {
		var c wpCounts
		full := macHash(tc.alg).Size()
		for _, raw := range loadWycheproof(t, tc.file) {
			var g struct {
				TagSize int `json:"tagSize"`
				Tests   []wpCase
			}
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			for _, v := range g.Tests {
				if len(v.Msg) == 0 {
					if _, err := GenerateMAC(tc.spec, v.Key, tc.alg, v.Msg); !errors.Is(err, ErrMessageLength) {
						t.Errorf("%s tcId %d: GenerateMAC(empty message) = %v, want ErrMessageLength", tc.file, v.TcID, err)
					}
					c.skipped++
					continue
				}
				mac, err := GenerateMAC(tc.spec, v.Key, tc.alg, v.Msg)
				if err != nil {
					t.Fatalf("%s tcId %d: %v", tc.file, v.TcID, err)
				}
				okVerify, err := VerifyMAC(tc.spec, v.Key, tc.alg, v.Msg, v.Tag)
				if err != nil {
					t.Fatalf("%s tcId %d: VerifyMAC: %v", tc.file, v.TcID, err)
				}
				if g.TagSize/8 == full {
					c.check(t, tc.file, v, okVerify && bytes.Equal(mac, v.Tag), nil)
					continue
				}
				c.check(t, tc.file, v, bytes.HasPrefix(mac, v.Tag), nil)
				if okVerify {
					t.Errorf("%s tcId %d: VerifyMAC accepted a %d-bit truncated tag", tc.file, v.TcID, g.TagSize)
				}
			}
		}
		c.log(t, tc.file)
	}
}
