package keyspec

import (
	"crypto"
	"slices"
	"strings"

	"github.com/keyward/keyward/internal/arn"
)

// Spec is an AWS KMS KeySpec, such as "RSA_2048" or "ECC_NIST_P256".
type Spec string

// Usage is an AWS KMS KeyUsage, such as "SIGN_VERIFY".
type Usage string

// Key specs, as listed in the CreateKey API reference (KeySpec).
const (
	SymmetricDefault    Spec = "SYMMETRIC_DEFAULT"
	RSA2048             Spec = "RSA_2048"
	RSA3072             Spec = "RSA_3072"
	RSA4096             Spec = "RSA_4096"
	ECCNISTP256         Spec = "ECC_NIST_P256"
	ECCNISTP384         Spec = "ECC_NIST_P384"
	ECCNISTP521         Spec = "ECC_NIST_P521"
	ECCSECGP256K1       Spec = "ECC_SECG_P256K1"
	ECCNISTEdwards25519 Spec = "ECC_NIST_EDWARDS25519"
	HMAC224             Spec = "HMAC_224"
	HMAC256             Spec = "HMAC_256"
	HMAC384             Spec = "HMAC_384"
	HMAC512             Spec = "HMAC_512"
	MLDSA44             Spec = "ML_DSA_44"
	MLDSA65             Spec = "ML_DSA_65"
	MLDSA87             Spec = "ML_DSA_87"
	MLKEM512            Spec = "ML_KEM_512"
	MLKEM768            Spec = "ML_KEM_768"
	MLKEM1024           Spec = "ML_KEM_1024"
	SM2                 Spec = "SM2"
)

// Key usages, as listed in the CreateKey API reference (KeyUsage).
const (
	EncryptDecrypt         Usage = "ENCRYPT_DECRYPT"
	SignVerify             Usage = "SIGN_VERIFY"
	GenerateVerifyMAC      Usage = "GENERATE_VERIFY_MAC"
	KeyAgreement           Usage = "KEY_AGREEMENT"
	EncapsulateDecapsulate Usage = "ENCAPSULATE_DECAPSULATE"
)

// Message types of Sign and Verify.
const (
	MessageRaw        = "RAW"
	MessageDigest     = "DIGEST"
	MessageExternalMu = "EXTERNAL_MU"
)

// MaxMessage is the largest Message that Sign, Verify, GenerateMac and
// VerifyMac accept, and the largest Plaintext of Encrypt (API reference:
// "You can submit messages of up to 4096 bytes"). AWS also refuses an empty
// one: these fields are the service model's PlaintextType, 1 to 4096 bytes.
const MaxMessage = 4096

// MaxMAC is the largest Mac that VerifyMac accepts (the service model's
// CiphertextType, 1 to 6144 bytes).
const MaxMAC = 6144

// family groups specs whose cryptography is the same apart from size.
type family int

const (
	famSymmetric family = iota
	famRSA
	famNIST
	famK1
	famEd25519
	famHMAC
	famMLDSA
	famMLKEM
	famSM2
)

// specInfo is one row of the rules table.
type specInfo struct {
	family family
	bits   int // RSA modulus bits; HMAC key bits
	usages []Usage
	// algorithms per usage, in the order AWS lists them in KeyMetadata.
	encryption    []string
	signing       []string
	mac           []string
	keyAgreement  []string
	encapsulation []string
	china         chinaRule
}

type chinaRule int

const (
	anyRegion  chinaRule = iota
	chinaOnly            // SM2: "China Regions only"
	notInChina           // ML-KEM: "not available in China Regions"
)

var (
	rsaEncryption = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
	rsaSigning    = []string{
		"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
	}
	ecdhAlgs = []string{"ECDH"}
)

// specs is the rules table. Sources, all AWS KMS documentation:
//   - usages: CreateKey API reference, KeyUsage ("For asymmetric KMS keys with
//     RSA key pairs, specify ENCRYPT_DECRYPT or SIGN_VERIFY", NIST curves
//     "SIGN_VERIFY or KEY_AGREEMENT", ECC_SECG_P256K1 and ML-DSA
//     "SIGN_VERIFY", ML-KEM "ENCAPSULATE_DECAPSULATE", SM2 "ENCRYPT_DECRYPT,
//     SIGN_VERIFY, or KEY_AGREEMENT"), and KeySpec ("ECC_NIST_EDWARDS25519
//     (ed25519) - signing and verification only", "SM2 (China Regions only)",
//     "The ML-KEM key specs are not available in China Regions").
//   - algorithms: Developer Guide, Key spec reference (RSA: RSAES_OAEP_SHA_1/
//     256 and RSASSA_PKCS1_V1_5/PSS_SHA_256/384/512; ECC: ECDSA_SHA_256 for
//     P-256 and secp256k1, _384 for P-384, _512 for P-521; SM2: SM2PKE,
//     SM2DSA), the SigningAlgorithmSpec enum (ED25519_SHA_512,
//     ED25519_PH_SHA_512, ML_DSA_SHAKE_256), DeriveSharedSecret ("The only
//     valid value is ECDH"), Encapsulate and Decapsulate (ML_KEM, the one
//     EncapsulationAlgorithm) and the supported-algorithms table
//     (HMAC_SHA_224..512 for HMAC_224..512).
var specs = map[Spec]*specInfo{
	SymmetricDefault: {family: famSymmetric, usages: []Usage{EncryptDecrypt}, encryption: []string{"SYMMETRIC_DEFAULT"}},

	RSA2048: {family: famRSA, bits: 2048, usages: []Usage{EncryptDecrypt, SignVerify}, encryption: rsaEncryption, signing: rsaSigning},
	RSA3072: {family: famRSA, bits: 3072, usages: []Usage{EncryptDecrypt, SignVerify}, encryption: rsaEncryption, signing: rsaSigning},
	RSA4096: {family: famRSA, bits: 4096, usages: []Usage{EncryptDecrypt, SignVerify}, encryption: rsaEncryption, signing: rsaSigning},

	ECCNISTP256: {family: famNIST, usages: []Usage{SignVerify, KeyAgreement}, signing: []string{"ECDSA_SHA_256"}, keyAgreement: ecdhAlgs},
	ECCNISTP384: {family: famNIST, usages: []Usage{SignVerify, KeyAgreement}, signing: []string{"ECDSA_SHA_384"}, keyAgreement: ecdhAlgs},
	ECCNISTP521: {family: famNIST, usages: []Usage{SignVerify, KeyAgreement}, signing: []string{"ECDSA_SHA_512"}, keyAgreement: ecdhAlgs},

	ECCSECGP256K1:       {family: famK1, usages: []Usage{SignVerify}, signing: []string{"ECDSA_SHA_256"}},
	ECCNISTEdwards25519: {family: famEd25519, usages: []Usage{SignVerify}, signing: []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}},

	HMAC224: {family: famHMAC, bits: 224, usages: []Usage{GenerateVerifyMAC}, mac: []string{"HMAC_SHA_224"}},
	HMAC256: {family: famHMAC, bits: 256, usages: []Usage{GenerateVerifyMAC}, mac: []string{"HMAC_SHA_256"}},
	HMAC384: {family: famHMAC, bits: 384, usages: []Usage{GenerateVerifyMAC}, mac: []string{"HMAC_SHA_384"}},
	HMAC512: {family: famHMAC, bits: 512, usages: []Usage{GenerateVerifyMAC}, mac: []string{"HMAC_SHA_512"}},

	MLDSA44: {family: famMLDSA, usages: []Usage{SignVerify}, signing: []string{"ML_DSA_SHAKE_256"}},
	MLDSA65: {family: famMLDSA, usages: []Usage{SignVerify}, signing: []string{"ML_DSA_SHAKE_256"}},
	MLDSA87: {family: famMLDSA, usages: []Usage{SignVerify}, signing: []string{"ML_DSA_SHAKE_256"}},

	MLKEM512:  {family: famMLKEM, usages: []Usage{EncapsulateDecapsulate}, encapsulation: mlkemAlgs, china: notInChina},
	MLKEM768:  {family: famMLKEM, usages: []Usage{EncapsulateDecapsulate}, encapsulation: mlkemAlgs, china: notInChina},
	MLKEM1024: {family: famMLKEM, usages: []Usage{EncapsulateDecapsulate}, encapsulation: mlkemAlgs, china: notInChina},

	SM2: {family: famSM2, usages: []Usage{EncryptDecrypt, SignVerify, KeyAgreement},
		encryption: []string{"SM2PKE"}, signing: []string{"SM2DSA"}, keyAgreement: ecdhAlgs, china: chinaOnly},
}

// Specs returns every key spec in the rules table, sorted.
func Specs() []Spec {
	out := make([]Spec, 0, len(specs))
	for s := range specs {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Usages returns every key usage, in the order the API reference lists them.
func Usages() []Usage {
	return []Usage{EncryptDecrypt, SignVerify, GenerateVerifyMAC, KeyAgreement, EncapsulateDecapsulate}
}

// ValidUsages returns the key usages AWS accepts with spec, or nil for an
// unknown spec.
func ValidUsages(spec Spec) []Usage {
	if info := specs[spec]; info != nil {
		return slices.Clone(info.usages)
	}
	return nil
}

// IsChinaRegion reports whether region is in the aws-cn partition, the AWS
// China Regions (Beijing cn-north-1, Ningxia cn-northwest-1), where SM2 is
// available and ML-KEM is not.
func IsChinaRegion(region string) bool { return arn.Partition(region) == "aws-cn" }

// Check reports whether AWS accepts spec together with usage for CreateKey in
// region. An empty spec means SYMMETRIC_DEFAULT and an empty usage means
// ENCRYPT_DECRYPT, AWS's defaults; an empty usage with any other spec is
// refused, because AWS requires KeyUsage for asymmetric and HMAC keys. The
// error, if any, wraps ErrInvalidKeySpec and reads as AWS's message.
func Check(spec Spec, usage Usage, region string) error {
	if spec == "" {
		spec = SymmetricDefault
	}
	info := specs[spec]
	if info == nil {
		return newError(ErrInvalidKeySpec, "1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [%s]", spec, joinSpecs())
	}
	if usage == "" {
		if spec != SymmetricDefault {
			// local-kms wording; AWS's is not published.
			return newError(ErrInvalidKeySpec, "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
		}
		usage = EncryptDecrypt
	}
	if !slices.Contains(Usages(), usage) {
		return newError(ErrInvalidKeySpec, "1 validation error detected: Value '%s' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [%s]", usage, joinUsages())
	}
	if !slices.Contains(info.usages, usage) {
		return newError(ErrInvalidKeySpec, "KeyUsage %s is not compatible with KeySpec %s", usage, spec)
	}
	switch {
	case info.china == chinaOnly && !IsChinaRegion(region):
		return newError(ErrInvalidKeySpec, "KeySpec %s is only available in China Regions.", spec)
	case info.china == notInChina && IsChinaRegion(region):
		return newError(ErrInvalidKeySpec, "KeySpec %s is not available in China Regions.", spec)
	}
	return nil
}

func joinSpecs() string {
	var b strings.Builder
	for i, s := range Specs() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(s))
	}
	return b.String()
}

func joinUsages() string {
	var b strings.Builder
	for i, u := range Usages() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(u))
	}
	return b.String()
}

// algorithms returns the list for usage, or nil when the key has another
// usage: a KMS key has exactly one usage, and KeyMetadata lists only the
// algorithms of that usage.
func algorithms(spec Spec, usage Usage, want Usage, pick func(*specInfo) []string) []string {
	info := specs[spec]
	if info == nil || usage != want || !slices.Contains(info.usages, usage) {
		return nil
	}
	return slices.Clone(pick(info))
}

// EncryptionAlgorithms returns the EncryptionAlgorithms of a key with spec and
// usage, as DescribeKey and GetPublicKey list them, or nil.
func EncryptionAlgorithms(spec Spec, usage Usage) []string {
	return algorithms(spec, usage, EncryptDecrypt, func(i *specInfo) []string { return i.encryption })
}

// SigningAlgorithms returns the SigningAlgorithms of a key with spec and
// usage, or nil.
func SigningAlgorithms(spec Spec, usage Usage) []string {
	return algorithms(spec, usage, SignVerify, func(i *specInfo) []string { return i.signing })
}

// MACAlgorithms returns the MacAlgorithms of a key with spec and usage, or nil.
func MACAlgorithms(spec Spec, usage Usage) []string {
	return algorithms(spec, usage, GenerateVerifyMAC, func(i *specInfo) []string { return i.mac })
}

// KeyAgreementAlgorithms returns the KeyAgreementAlgorithms of a key with
// spec and usage, or nil.
func KeyAgreementAlgorithms(spec Spec, usage Usage) []string {
	return algorithms(spec, usage, KeyAgreement, func(i *specInfo) []string { return i.keyAgreement })
}

// EncapsulationAlgorithms returns the EncapsulationAlgorithms of a key with
// spec and usage ([ML_KEM] for the ML-KEM specs with ENCAPSULATE_DECAPSULATE),
// or nil.
func EncapsulationAlgorithms(spec Spec, usage Usage) []string {
	return algorithms(spec, usage, EncapsulateDecapsulate, func(i *specInfo) []string { return i.encapsulation })
}

// Data key pair specs (DataKeyPairSpec in the GenerateDataKeyPair API
// reference). The private key is PKCS #8 and the public key SPKI, both DER.
var dataKeyPairSpecs = map[string]Spec{
	"RSA_2048":              RSA2048,
	"RSA_3072":              RSA3072,
	"RSA_4096":              RSA4096,
	"ECC_NIST_P256":         ECCNISTP256,
	"ECC_NIST_P384":         ECCNISTP384,
	"ECC_NIST_P521":         ECCNISTP521,
	"ECC_SECG_P256K1":       ECCSECGP256K1,
	"ECC_NIST_EDWARDS25519": ECCNISTEdwards25519,
	"SM2":                   SM2,
	"ML_KEM_512":            MLKEM512,
	"ML_KEM_768":            MLKEM768,
	"ML_KEM_1024":           MLKEM1024,
}

// DataKeyPairSpecs returns the DataKeyPairSpec values AWS lists, sorted.
func DataKeyPairSpecs() []string {
	out := make([]string, 0, len(dataKeyPairSpecs))
	for s := range dataKeyPairSpecs {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// CheckDataKeyPair reports whether AWS accepts pairSpec for
// GenerateDataKeyPair in region ("The SM2 key spec is only available in China
// Regions. The ML-KEM key specs are not available in China Regions.").
func CheckDataKeyPair(pairSpec, region string) error {
	spec, ok := dataKeyPairSpecs[pairSpec]
	if !ok {
		return newError(ErrInvalidKeySpec, "1 validation error detected: Value '%s' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: [%s]", pairSpec, strings.Join(DataKeyPairSpecs(), ", "))
	}
	switch info := specs[spec]; {
	case info.china == chinaOnly && !IsChinaRegion(region):
		return newError(ErrInvalidKeySpec, "KeyPairSpec %s is only available in China Regions.", pairSpec)
	case info.china == notInChina && IsChinaRegion(region):
		return newError(ErrInvalidKeySpec, "KeyPairSpec %s is not available in China Regions.", pairSpec)
	}
	return nil
}

// oaepHash returns the hash of an RSAES_OAEP algorithm (used for both the
// label hash and MGF1, with an empty label: Key spec reference).
func oaepHash(alg string) (crypto.Hash, bool) {
	switch alg {
	case "RSAES_OAEP_SHA_1":
		return crypto.SHA1, true
	case "RSAES_OAEP_SHA_256":
		return crypto.SHA256, true
	}
	return 0, false
}

// MaxPlaintext returns the largest plaintext, in bytes, that Encrypt accepts
// for spec and alg, or 0 if the pair is not valid. For RSA it is
// k - 2*hLen - 2 (Key spec reference: 214/190, 342/318 and 470/446 bytes for
// RSA_2048, RSA_3072 and RSA_4096 with RSAES_OAEP_SHA_1/SHA_256); for
// SYMMETRIC_DEFAULT 4096 and for SM2PKE 1024 (Encrypt API reference).
func MaxPlaintext(spec Spec, alg string) int {
	info := specs[spec]
	if info == nil || !slices.Contains(info.encryption, alg) {
		return 0
	}
	switch info.family {
	case famRSA:
		h, _ := oaepHash(alg)
		return info.bits/8 - 2*h.Size() - 2
	case famSM2:
		return 1024
	default:
		return MaxMessage
	}
}

// signingHash returns the hash a signing algorithm applies to a RAW message,
// which is also the length a DIGEST message must have. ML_DSA_SHAKE_256 has
// none: ML-DSA hashes internally, and its EXTERNAL_MU input is 64 bytes.
func signingHash(alg string) crypto.Hash {
	switch {
	case strings.HasSuffix(alg, "_SHA_256"):
		return crypto.SHA256
	case strings.HasSuffix(alg, "_SHA_384"):
		return crypto.SHA384
	case strings.HasSuffix(alg, "_SHA_512"):
		return crypto.SHA512
	}
	return 0
}

func macHash(alg string) crypto.Hash {
	switch alg {
	case "HMAC_SHA_224":
		return crypto.SHA224
	case "HMAC_SHA_256":
		return crypto.SHA256
	case "HMAC_SHA_384":
		return crypto.SHA384
	case "HMAC_SHA_512":
		return crypto.SHA512
	}
	return 0
}
