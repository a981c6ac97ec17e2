package keyspec

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// wantUsages is the CreateKey API reference's KeyUsage list, written out
// independently of the rules table it checks.
var wantUsages = map[Spec][]Usage{
	SymmetricDefault:    {EncryptDecrypt},
	HMAC224:             {GenerateVerifyMAC},
	HMAC256:             {GenerateVerifyMAC},
	HMAC384:             {GenerateVerifyMAC},
	HMAC512:             {GenerateVerifyMAC},
	RSA2048:             {EncryptDecrypt, SignVerify},
	RSA3072:             {EncryptDecrypt, SignVerify},
	RSA4096:             {EncryptDecrypt, SignVerify},
	ECCNISTP256:         {SignVerify, KeyAgreement},
	ECCNISTP384:         {SignVerify, KeyAgreement},
	ECCNISTP521:         {SignVerify, KeyAgreement},
	ECCNISTEdwards25519: {SignVerify},
	ECCSECGP256K1:       {SignVerify},
	MLDSA44:             {SignVerify},
	MLDSA65:             {SignVerify},
	MLDSA87:             {SignVerify},
	MLKEM512:            {EncapsulateDecapsulate},
	MLKEM768:            {EncapsulateDecapsulate},
	MLKEM1024:           {EncapsulateDecapsulate},
	SM2:                 {EncryptDecrypt, SignVerify, KeyAgreement},
}

func TestCheckEveryCombination(t *testing.T) {
	if len(wantUsages) != len(Specs()) {
		t.Fatalf("Specs() has %d specs, the test table %d", len(Specs()), len(wantUsages))
	}
	regions := []string{"us-east-1", "eu-west-2", "cn-north-1", "cn-northwest-1", ""}
	accepted, refused := 0, 0
	for _, spec := range Specs() {
		for _, usage := range Usages() {
			for _, region := range regions {
				want := slices.Contains(wantUsages[spec], usage)
				china := region == "cn-north-1" || region == "cn-northwest-1"
				if spec == SM2 && !china {
					want = false
				}
				if strings.HasPrefix(string(spec), "ML_KEM") && china {
					want = false
				}
				err := Check(spec, usage, region)
				if (err == nil) != want {
					t.Errorf("Check(%s, %s, %q) = %v, want accepted=%v", spec, usage, region, err, want)
					continue
				}
				if err != nil {
					refused++
					if !errors.Is(err, ErrInvalidKeySpec) {
						t.Errorf("Check(%s, %s, %q) = %v, want ErrInvalidKeySpec", spec, usage, region, err)
					}
				} else {
					accepted++
				}
			}
		}
	}
	t.Logf("%d combinations accepted, %d refused", accepted, refused)
}

func TestCheckMessages(t *testing.T) {
	for _, tc := range []struct {
		spec   Spec
		usage  Usage
		region string
		want   string
	}{
		{RSA2048, GenerateVerifyMAC, "us-east-1", "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec RSA_2048"},
		{HMAC256, SignVerify, "us-east-1", "KeyUsage SIGN_VERIFY is not compatible with KeySpec HMAC_256"},
		{ECCSECGP256K1, KeyAgreement, "us-east-1", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1"},
		{ECCNISTEdwards25519, KeyAgreement, "us-east-1", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_NIST_EDWARDS25519"},
		{SM2, SignVerify, "us-east-1", "KeySpec SM2 is only available in China Regions."},
		{MLKEM768, EncapsulateDecapsulate, "cn-north-1", "KeySpec ML_KEM_768 is not available in China Regions."},
		{RSA2048, "", "us-east-1", "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."},
		{"RSA_1024", SignVerify, "us-east-1", "1 validation error detected: Value 'RSA_1024' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: ["},
		{RSA2048, "SIGN", "us-east-1", "1 validation error detected: Value 'SIGN' at 'keyUsage' failed to satisfy constraint"},
	} {
		err := Check(tc.spec, tc.usage, tc.region)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Check(%s, %s, %q) = %v, want %q", tc.spec, tc.usage, tc.region, err, tc.want)
		}
	}
	// AWS's defaults: no KeySpec is SYMMETRIC_DEFAULT, no KeyUsage with it ENCRYPT_DECRYPT.
	for _, tc := range []struct {
		spec  Spec
		usage Usage
	}{{"", ""}, {SymmetricDefault, ""}, {"", EncryptDecrypt}} {
		if err := Check(tc.spec, tc.usage, "us-east-1"); err != nil {
			t.Errorf("Check(%q, %q) = %v, want nil", tc.spec, tc.usage, err)
		}
	}
	if err := Check("", SignVerify, "us-east-1"); err == nil {
		t.Errorf("Check(\"\", SIGN_VERIFY) = nil, want refusal (SYMMETRIC_DEFAULT is ENCRYPT_DECRYPT only)")
	}
}

func TestAlgorithmLists(t *testing.T) {
	rsaSign := []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}
	for _, tc := range []struct {
		spec                             Spec
		usage                            Usage
		enc, sign, mac, kagreements, kem []string
	}{
		{SymmetricDefault, EncryptDecrypt, []string{"SYMMETRIC_DEFAULT"}, nil, nil, nil, nil},
		{RSA2048, EncryptDecrypt, []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}, nil, nil, nil, nil},
		{RSA4096, SignVerify, nil, rsaSign, nil, nil, nil},
		{ECCNISTP256, SignVerify, nil, []string{"ECDSA_SHA_256"}, nil, nil, nil},
		{ECCNISTP384, SignVerify, nil, []string{"ECDSA_SHA_384"}, nil, nil, nil},
		{ECCNISTP521, SignVerify, nil, []string{"ECDSA_SHA_512"}, nil, nil, nil},
		{ECCNISTP521, KeyAgreement, nil, nil, nil, []string{"ECDH"}, nil},
		{ECCSECGP256K1, SignVerify, nil, []string{"ECDSA_SHA_256"}, nil, nil, nil},
		{ECCNISTEdwards25519, SignVerify, nil, []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}, nil, nil, nil},
		{MLDSA65, SignVerify, nil, []string{"ML_DSA_SHAKE_256"}, nil, nil, nil},
		{HMAC224, GenerateVerifyMAC, nil, nil, []string{"HMAC_SHA_224"}, nil, nil},
		{HMAC512, GenerateVerifyMAC, nil, nil, []string{"HMAC_SHA_512"}, nil, nil},
		{SM2, EncryptDecrypt, []string{"SM2PKE"}, nil, nil, nil, nil},
		{SM2, SignVerify, nil, []string{"SM2DSA"}, nil, nil, nil},
		{SM2, KeyAgreement, nil, nil, nil, []string{"ECDH"}, nil},
		{RSA2048, KeyAgreement, nil, nil, nil, nil, nil}, // invalid pair: nothing
		{MLKEM512, EncapsulateDecapsulate, nil, nil, nil, nil, []string{"ML_KEM"}},
		{MLKEM768, EncapsulateDecapsulate, nil, nil, nil, nil, []string{"ML_KEM"}},
		{MLKEM1024, EncapsulateDecapsulate, nil, nil, nil, nil, []string{"ML_KEM"}},
		{MLKEM768, EncryptDecrypt, nil, nil, nil, nil, nil}, // invalid pair: nothing
		{ECCNISTP256, EncapsulateDecapsulate, nil, nil, nil, nil, nil},
		{SymmetricDefault, EncapsulateDecapsulate, nil, nil, nil, nil, nil},
	} {
		if got := EncryptionAlgorithms(tc.spec, tc.usage); !slices.Equal(got, tc.enc) {
			t.Errorf("EncryptionAlgorithms(%s, %s) = %v, want %v", tc.spec, tc.usage, got, tc.enc)
		}
		if got := SigningAlgorithms(tc.spec, tc.usage); !slices.Equal(got, tc.sign) {
			t.Errorf("SigningAlgorithms(%s, %s) = %v, want %v", tc.spec, tc.usage, got, tc.sign)
		}
		if got := MACAlgorithms(tc.spec, tc.usage); !slices.Equal(got, tc.mac) {
			t.Errorf("MACAlgorithms(%s, %s) = %v, want %v", tc.spec, tc.usage, got, tc.mac)
		}
		if got := KeyAgreementAlgorithms(tc.spec, tc.usage); !slices.Equal(got, tc.kagreements) {
			t.Errorf("KeyAgreementAlgorithms(%s, %s) = %v, want %v", tc.spec, tc.usage, got, tc.kagreements)
		}
		if got := EncapsulationAlgorithms(tc.spec, tc.usage); !slices.Equal(got, tc.kem) {
			t.Errorf("EncapsulationAlgorithms(%s, %s) = %v, want %v", tc.spec, tc.usage, got, tc.kem)
		}
	}
	// Returned slices are copies.
	SigningAlgorithms(RSA2048, SignVerify)[0] = "mutated"
	if SigningAlgorithms(RSA2048, SignVerify)[0] != rsaSign[0] {
		t.Error("SigningAlgorithms returned the table's own slice")
	}
	EncapsulationAlgorithms(MLKEM768, EncapsulateDecapsulate)[0] = "mutated"
	if EncapsulationAlgorithms(MLKEM768, EncapsulateDecapsulate)[0] != "ML_KEM" {
		t.Error("EncapsulationAlgorithms returned the table's own slice")
	}
}

func TestMaxPlaintext(t *testing.T) {
	// Key spec reference, "Maximum plaintext size (in bytes) in an Encrypt operation".
	for _, tc := range []struct {
		spec Spec
		alg  string
		want int
	}{
		{RSA2048, "RSAES_OAEP_SHA_1", 214}, {RSA2048, "RSAES_OAEP_SHA_256", 190},
		{RSA3072, "RSAES_OAEP_SHA_1", 342}, {RSA3072, "RSAES_OAEP_SHA_256", 318},
		{RSA4096, "RSAES_OAEP_SHA_1", 470}, {RSA4096, "RSAES_OAEP_SHA_256", 446},
		{SymmetricDefault, "SYMMETRIC_DEFAULT", 4096},
		{SM2, "SM2PKE", 1024},
		{RSA2048, "SYMMETRIC_DEFAULT", 0},
		{ECCNISTP256, "RSAES_OAEP_SHA_1", 0},
	} {
		if got := MaxPlaintext(tc.spec, tc.alg); got != tc.want {
			t.Errorf("MaxPlaintext(%s, %s) = %d, want %d", tc.spec, tc.alg, got, tc.want)
		}
	}
}

func TestCheckDataKeyPair(t *testing.T) {
	want := []string{"ECC_NIST_EDWARDS25519", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "ML_KEM_1024", "ML_KEM_512", "ML_KEM_768", "RSA_2048", "RSA_3072", "RSA_4096", "SM2"}
	if got := DataKeyPairSpecs(); !slices.Equal(got, want) {
		t.Fatalf("DataKeyPairSpecs() = %v, want %v", got, want)
	}
	for _, ps := range want {
		for _, region := range []string{"us-west-2", "cn-northwest-1"} {
			china := region == "cn-northwest-1"
			ok := true
			if ps == "SM2" && !china || strings.HasPrefix(ps, "ML_KEM") && china {
				ok = false
			}
			if err := CheckDataKeyPair(ps, region); (err == nil) != ok {
				t.Errorf("CheckDataKeyPair(%s, %s) = %v, want accepted=%v", ps, region, err, ok)
			}
		}
	}
	if err := CheckDataKeyPair("HMAC_256", "us-east-1"); !errors.Is(err, ErrInvalidKeySpec) {
		t.Errorf("CheckDataKeyPair(HMAC_256) = %v, want ErrInvalidKeySpec", err)
	}
}
