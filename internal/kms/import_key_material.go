package kms

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/keyspec"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/store"
)

// AWS error types of imports and rotations.
const (
	CodeConflict             = "ConflictException"
	CodeExpiredImportToken   = "ExpiredImportTokenException"
	CodeIncorrectKeyMaterial = "IncorrectKeyMaterialException"
	CodeInvalidImportToken   = "InvalidImportTokenException"
)

// Enumerations of the import operations (AWS KMS API model).
var (
	allWrappingAlgs     = []string{"RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"}
	allWrappingKeySpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "SM2"}
	allExpirationModels = []string{expires, doesNotExpire}
	allImportTypes      = []string{importNew, importExisting}
	materialIDRE        = regexp.MustCompile(`^[a-f0-9]+$`)
)

const (
	expires        = "KEY_MATERIAL_EXPIRES"
	doesNotExpire  = "KEY_MATERIAL_DOES_NOT_EXPIRE"
	importNew      = "NEW_KEY_MATERIAL"
	importExisting = "EXISTING_KEY_MATERIAL"

	// importParamsLife is how long a wrapping public key and import token
	// set is valid (GetParametersForImport API reference: 24 hours).
	importParamsLife = 24 * time.Hour
	// maxValidTo is how far ahead imported material may expire
	// (ImportKeyMaterial API reference: at most 365 days).
	maxValidTo = 365 * 24 * time.Hour
)

// The wrapping private key of each GetParametersForImport answer is kept,
// wrapped under the root key, at imp/<key id>/<token id> until it expires.
func importParamsPath(keyID, tokenID string) string { return "imp/" + keyID + "/" + tokenID }
func importParamsPrefix(keyID string) string        { return "imp/" + keyID + "/" }

func importParamsAAD(keyID, tokenID string) []byte {
	return []byte("keyward/import-wrapping-key/v1/" + keyID + "/" + tokenID)
}

// importParams is a stored wrapping key. It holds no secret in the clear.
type importParams struct {
	Algorithm string    `json:"alg"`
	Spec      string    `json:"spec"`
	Expires   time.Time `json:"expires"`
	Wrapped   []byte    `json:"wrapped"` // PKCS #8, wrapped by the root key under importParamsAAD
}

// checkImportSpec refuses key specs whose material Keyward cannot take in:
// the specs whose private keys AWS KMS accepts as PKCS #8 (RSA, NIST,
// secp256k1 and, in the China Regions where the spec exists, SM2 curves),
// HMAC and symmetric keys are supported.
func checkImportSpec(spec string) error {
	switch keyspec.Spec(spec) {
	case keyspec.SymmetricDefault, keyspec.HMAC224, keyspec.HMAC256, keyspec.HMAC384, keyspec.HMAC512,
		keyspec.RSA2048, keyspec.RSA3072, keyspec.RSA4096,
		keyspec.ECCNISTP256, keyspec.ECCNISTP384, keyspec.ECCNISTP521, keyspec.ECCSECGP256K1, keyspec.SM2:
		return nil
	}
	return errf(CodeUnsupportedOperation, "Importing key material is not supported for key spec %s.", spec)
}

// importSecret returns the service secret from which the import token key
// and the material fingerprint key are derived. It is made once, stored
// wrapped under the root key, and shared by every node on the store.
func (s *Service) importSecret(ctx context.Context) (blob.Secret, error) {
	l := s.life
	l.secretMu.Lock()
	defer l.secretMu.Unlock()
	if l.secret.Len() > 0 {
		return l.secret, nil
	}
	const path = "kms/import-secret"
	aad := []byte("keyward/kms-import-secret/v1")
	var wrapped []byte
	err := s.store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(path)
		if err == nil {
			wrapped = b
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		fresh := make([]byte, 32)
		defer clear(fresh)
		if _, err := io.ReadFull(s.rand, fresh); err != nil {
			return err
		}
		if wrapped, err = s.wrapper.Wrap(fresh, aad); err != nil {
			return err
		}
		return tx.Put(path, wrapped)
	})
	if err != nil {
		return blob.Secret{}, err
	}
	pt, err := s.wrapper.Unwrap(wrapped, aad)
	if err != nil {
		return blob.Secret{}, fmt.Errorf("unwrap import secret: %w", err)
	}
	l.secret = blob.NewSecret(pt)
	clear(pt)
	return l.secret, nil
}

// derivedKey derives a 256-bit key for one purpose from the import secret.
func (s *Service) derivedKey(ctx context.Context, purpose string) ([]byte, error) {
	secret, err := s.importSecret(ctx)
	if err != nil {
		return nil, err
	}
	return hkdf.Key(sha256.New, secret.Expose(), nil, "keyward/"+purpose, 32)
}

// fingerprint is a keyed hash of material imported into key id: equal
// material gives equal fingerprints, and a store dump reveals nothing about
// the material (even short HMAC keys cannot be guessed from it offline).
func (s *Service) fingerprint(ctx context.Context, keyID string, material []byte) (string, error) {
	k, err := s.derivedKey(ctx, "key-material-fingerprint/v1")
	if err != nil {
		return "", err
	}
	defer clear(k)
	m := hmac.New(sha256.New, k)
	m.Write([]byte(keyID))
	m.Write([]byte{0})
	m.Write(material)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Import tokens are opaque to clients:
//
//	0x01 || nonce (12) || AES-256-GCM(token id (16) || expiry (8, Unix seconds) || key id)
//
// sealed under a key derived from the import secret, so that a token made
// by another server or changed in any bit is refused, and its key and
// expiry can be trusted before the store is read.
const tokenVersion = 0x01

var tokenAAD = []byte("keyward/import-token/v1")

type importToken struct {
	id      string // hex
	keyID   string
	expires time.Time
}

func (s *Service) tokenAEAD(ctx context.Context) (cipher.AEAD, error) {
	k, err := s.derivedKey(ctx, "import-token/v1")
	if err != nil {
		return nil, err
	}
	defer clear(k)
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func (s *Service) sealToken(ctx context.Context, t importToken) ([]byte, error) {
	aead, err := s.tokenAEAD(ctx)
	if err != nil {
		return nil, err
	}
	id, err := hex.DecodeString(t.id)
	if err != nil || len(id) != 16 {
		return nil, errors.New("bad token id")
	}
	pt := binary.BigEndian.AppendUint64(id, uint64(t.expires.Unix()))
	pt = append(pt, t.keyID...)
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(pt)+aead.Overhead())
	out[0] = tokenVersion
	if _, err := io.ReadFull(s.rand, out[1:]); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[1:], pt, tokenAAD), nil
}

// openToken returns the token's contents, or InvalidImportTokenException.
func (s *Service) openToken(ctx context.Context, tok []byte) (importToken, error) {
	aead, err := s.tokenAEAD(ctx)
	if err != nil {
		return importToken{}, s.internal(ctx, "ImportKeyMaterial", err)
	}
	n := aead.NonceSize()
	if len(tok) < 1+n+aead.Overhead()+24 || tok[0] != tokenVersion {
		return importToken{}, errInvalidImportToken
	}
	pt, err := aead.Open(nil, tok[1:1+n], tok[1+n:], tokenAAD)
	if err != nil || len(pt) < 24 {
		return importToken{}, errInvalidImportToken
	}
	return importToken{
		id:      hex.EncodeToString(pt[:16]),
		expires: time.Unix(int64(binary.BigEndian.Uint64(pt[16:24])), 0).UTC(),
		keyID:   string(pt[24:]),
	}, nil
}

// The messages of the import token errors are the exceptions' descriptions
// in the AWS KMS API reference.
var (
	errInvalidImportToken = &Error{Code: CodeInvalidImportToken, Message: "The import token is invalid or is associated with a different KMS key."}
	errExpiredImportToken = &Error{Code: CodeExpiredImportToken, Message: "The import token is expired. Use GetParametersForImport to get a new import token and public key, use the new public key to encrypt the key material, and then try the request again."}
)

// GetParametersForImport returns a fresh RSA wrapping public key and an
// import token for a key whose origin is EXTERNAL, both valid for 24 hours.
func (s *Service) GetParametersForImport(ctx context.Context, caller *Caller, req *GetParametersForImportRequest) (*GetParametersForImportResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("wrappingAlgorithm", req.WrappingAlgorithm != nil)
	v.enum("wrappingAlgorithm", req.WrappingAlgorithm, allWrappingAlgs...)
	v.required("wrappingKeySpec", req.WrappingKeySpec != nil)
	v.enum("wrappingKeySpec", req.WrappingKeySpec, allWrappingKeySpecs...)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "GetParametersForImport", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	alg, spec := *req.WrappingAlgorithm, *req.WrappingKeySpec
	az := withKeys(nil, "kms:WrappingAlgorithm", alg, "kms:WrappingKeySpec", spec)
	if err := s.authorize(caller, "GetParametersForImport", e, az); err != nil {
		return nil, err
	}
	k := e.key
	if k.Origin != keys.OriginExternal {
		return nil, unsupportedFor(k, "origin", k.Origin)
	}
	if err := allow(k, "GetParametersForImport"); err != nil {
		return nil, err
	}
	if err := checkWrapping(k.Spec, alg, spec, keyspec.IsChinaRegion(s.region)); err != nil {
		return nil, err
	}
	der, pub, err := s.wrappingKey(spec)
	if err != nil {
		return nil, s.internal(ctx, "GetParametersForImport", err)
	}
	defer clear(der)
	var idb [16]byte
	if _, err := io.ReadFull(s.rand, idb[:]); err != nil {
		return nil, s.internal(ctx, "GetParametersForImport", err)
	}
	tok := importToken{id: hex.EncodeToString(idb[:]), keyID: k.ID, expires: s.timeNow().Add(importParamsLife).Truncate(time.Second)}
	wrapped, err := s.wrapper.Wrap(der, importParamsAAD(k.ID, tok.id))
	if err != nil {
		return nil, s.internal(ctx, "GetParametersForImport", err)
	}
	rec, _ := json.Marshal(importParams{Algorithm: alg, Spec: spec, Expires: tok.expires, Wrapped: wrapped})
	token, err := s.sealToken(ctx, tok)
	if err != nil {
		return nil, s.internal(ctx, "GetParametersForImport", err)
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(keyPath(k.ID)); err != nil {
			return err // deleted meanwhile
		}
		if err := tx.Put(importParamsPath(k.ID, tok.id), rec); err != nil {
			return err
		}
		return s.life.sched.ScheduleTx(tx, scheduler.Job{ID: dropParamsJobID(tok.id), Kind: jobDropImportParams, Due: tok.expires,
			Data: jobData{KeyID: k.ID, TokenID: tok.id}.bytes()})
	})
	if err != nil {
		return nil, s.internal(ctx, "GetParametersForImport", err)
	}
	return &GetParametersForImportResponse{KeyId: k.ARN(), ImportToken: token, PublicKey: pub, ParametersValidTo: ts(tok.expires)}, nil
}

// wrappingKey makes a wrapping key pair of spec (RSA_2048/3072/4096 or SM2)
// for GetParametersForImport: the private key as PKCS #8 and the public key
// as the SubjectPublicKeyInfo the caller encrypts its material to.
func (s *Service) wrappingKey(spec string) (der, pub []byte, err error) {
	if spec == "SM2" {
		if der, err = keyspec.Generate(keyspec.SM2); err != nil {
			return nil, nil, err
		}
		if pub, err = keyspec.Public(keyspec.SM2, der); err != nil {
			clear(der)
			return nil, nil, err
		}
		return der, pub, nil
	}
	bits := map[string]int{"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}[spec]
	priv, err := s.life.genRSA(bits)
	if err != nil {
		return nil, nil, err
	}
	if der, err = x509.MarshalPKCS8PrivateKey(priv); err != nil {
		return nil, nil, err
	}
	if pub, err = x509.MarshalPKIXPublicKey(&priv.PublicKey); err != nil {
		clear(der)
		return nil, nil, err
	}
	return der, pub, nil
}

// checkWrapping applies the rules for wrapping algorithms and wrapping key
// specs ("Select a wrapping algorithm", GetParametersForImport API
// reference): RSAES_PKCS1_V1_5 is no longer supported; RSA private keys are
// too long for RSAES-OAEP and need an RSA_AES_KEY_WRAP algorithm; an
// ECC_NIST_P521 private key does not fit RSAES-OAEP under an RSA_2048
// wrapping key; SM2 is for China Regions only, where SM2PKE goes with an SM2
// wrapping key (and only with it) and cannot carry RSA private keys, which
// are longer than its 1024-byte limit.
func checkWrapping(keySpec, alg, wrappingSpec string, china bool) error {
	sm2Alg, sm2Spec := alg == "SM2PKE", wrappingSpec == "SM2"
	switch {
	case alg == "RSAES_PKCS1_V1_5":
		return errf(CodeUnsupportedOperation, "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.")
	case (sm2Alg || sm2Spec) && !china:
		return errf(CodeUnsupportedOperation, "SM2 wrapping is supported only in China Regions.")
	case sm2Alg != sm2Spec:
		return errf(CodeValidation, "Wrapping algorithm %s is not compatible with wrapping key spec %s.", alg, wrappingSpec)
	case sm2Alg && (keySpec == "RSA_2048" || keySpec == "RSA_3072" || keySpec == "RSA_4096"):
		return errf(CodeValidation, "%s key material cannot be wrapped with SM2PKE.", keySpec)
	}
	oaep := alg == "RSAES_OAEP_SHA_1" || alg == "RSAES_OAEP_SHA_256"
	switch {
	case oaep && (keySpec == "RSA_2048" || keySpec == "RSA_3072" || keySpec == "RSA_4096"):
		return errf(CodeValidation, "%s key material cannot be wrapped with %s. Use RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.", keySpec, alg)
	case oaep && keySpec == "ECC_NIST_P521" && wrappingSpec == "RSA_2048":
		return errf(CodeValidation, "ECC_NIST_P521 key material cannot be wrapped with %s under an RSA_2048 wrapping key. Use a longer wrapping key or an RSA_AES_KEY_WRAP algorithm.", alg)
	}
	return nil
}

// unwrapMaterial decrypts EncryptedKeyMaterial as AWS's import guide
// describes: RSAES_OAEP_SHA_* is RSAES-OAEP (MGF1 with the same hash) of
// the material; RSA_AES_KEY_WRAP_SHA_* is RSAES-OAEP of an ephemeral AES
// key followed by the material wrapped with that key by AES Key Wrap with
// Padding (RFC 5649), as PKCS #11 CKM_RSA_AES_KEY_WRAP does.
func unwrapMaterial(priv *rsa.PrivateKey, alg string, ct []byte) ([]byte, error) {
	var h func() hash.Hash
	switch alg {
	case "RSAES_OAEP_SHA_1", "RSA_AES_KEY_WRAP_SHA_1":
		h = sha1.New
	case "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256":
		h = sha256.New
	default:
		return nil, fmt.Errorf("unsupported wrapping algorithm %s", alg)
	}
	n := priv.Size()
	switch alg {
	case "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256":
		if len(ct) != n {
			return nil, errors.New("wrong length")
		}
		return rsa.DecryptOAEP(h(), nil, priv, ct, nil)
	}
	if len(ct) <= n {
		return nil, errors.New("wrong length")
	}
	kek, err := rsa.DecryptOAEP(h(), nil, priv, ct[:n], nil)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	return unwrapKWP(kek, ct[n:])
}

// kwpIV is the alternative initial value of RFC 5649, section 3.
var kwpIV = [4]byte{0xA6, 0x59, 0x59, 0xA6}

// unwrapKWP undoes AES Key Wrap with Padding (RFC 5649) with kek, an AES
// key of 16, 24 or 32 bytes. Every failure is the same error.
func unwrapKWP(kek, c []byte) ([]byte, error) {
	errKWP := errors.New("kwp: unwrap failed")
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(c) < 16 || len(c)%8 != 0 {
		return nil, errKWP
	}
	n := len(c)/8 - 1 // number of 64-bit plaintext blocks
	var a [8]byte
	p := make([]byte, 8*n)
	if n == 1 {
		// A single block is one AES decryption of A || P (section 4.2).
		var blk [16]byte
		b.Decrypt(blk[:], c)
		copy(a[:], blk[:8])
		copy(p, blk[8:])
		clear(blk[:])
	} else {
		// W^-1 of RFC 3394, section 2.2.2 (index-based form).
		copy(a[:], c[:8])
		copy(p, c[8:])
		var blk [16]byte
		for j := 5; j >= 0; j-- {
			for i := n; i >= 1; i-- {
				t := uint64(n*j + i)
				binary.BigEndian.PutUint64(blk[:8], binary.BigEndian.Uint64(a[:])^t)
				copy(blk[8:], p[(i-1)*8:i*8])
				b.Decrypt(blk[:], blk[:])
				copy(a[:], blk[:8])
				copy(p[(i-1)*8:i*8], blk[8:])
			}
		}
		clear(blk[:])
	}
	// Integrity check (section 3): the alternative IV, a message length
	// that leaves fewer than 8 bytes of padding, and zero padding. The key
	// is the client's own ephemeral key, so there is no oracle to guard
	// beyond giving every failure the same error.
	mli := uint64(binary.BigEndian.Uint32(a[4:]))
	if subtle.ConstantTimeCompare(a[:4], kwpIV[:]) != 1 || mli <= uint64(8*(n-1)) || mli > uint64(8*n) {
		clear(p)
		return nil, errKWP
	}
	var pad byte
	for _, x := range p[mli:] {
		pad |= x
	}
	if pad != 0 {
		clear(p)
		return nil, errKWP
	}
	return p[:mli], nil
}

// hmacLengths are the lengths of HMAC key material, in bytes, that can be
// imported into each HMAC key spec: from the hash's output length up to
// its block length.
var hmacLengths = map[string][2]int{
	"HMAC_224": {28, 64},
	"HMAC_256": {32, 64},
	"HMAC_384": {48, 128},
	"HMAC_512": {64, 128},
}

// checkMaterial checks that imported material fits the key spec: 256 bits
// for symmetric keys, an HMAC key of an allowed length, or a PKCS #8
// private key of the spec's algorithm and size.
func checkMaterial(k *keys.Key, m []byte) error {
	bad := errf(CodeIncorrectKeyMaterial, "The key material is not valid for %s, whose key spec is %s.", k.ARN(), k.Spec)
	switch {
	case k.Spec == keys.SpecSymmetricDefault:
		if len(m) != 32 {
			return bad
		}
	case isHMAC(k.Spec):
		r := hmacLengths[k.Spec]
		if len(m) < r[0] || len(m) > r[1] {
			return bad
		}
	default:
		if _, err := keyspec.ParsePrivateKey(keyspec.Spec(k.Spec), m); err != nil {
			return bad
		}
	}
	return nil
}

// ImportKeyMaterial imports material into a key whose origin is EXTERNAL:
// its first material, the same material again after it was deleted or
// expired (or to change its expiry), or, for symmetric keys, new material
// for a later RotateKeyOnDemand.
func (s *Service) ImportKeyMaterial(ctx context.Context, caller *Caller, req *ImportKeyMaterialRequest) (*ImportKeyMaterialResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.blob("importToken", req.ImportToken, true, 1, 6144)
	v.blob("encryptedKeyMaterial", req.EncryptedKeyMaterial, true, 1, 6144)
	v.enum("expirationModel", req.ExpirationModel, allExpirationModels...)
	v.enum("importType", req.ImportType, allImportTypes...)
	v.str("keyMaterialDescription", req.KeyMaterialDescription, 0, 256, nil)
	v.str("keyMaterialId", req.KeyMaterialId, 64, 64, materialIDRE)
	if err := v.err(); err != nil {
		return nil, err
	}
	now := s.timeNow()
	model := expires
	if req.ExpirationModel != nil {
		model = *req.ExpirationModel
	}
	var validTo *time.Time
	if req.ValidTo != nil {
		t := time.Time(*req.ValidTo).UTC()
		validTo = &t
	}
	switch {
	case model == expires && validTo == nil:
		return nil, errf(CodeValidation, "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
	case model == doesNotExpire && validTo != nil:
		return nil, errf(CodeValidation, "The parameter ValidTo cannot be specified for a key with an expiration model of KEY_MATERIAL_DOES_NOT_EXPIRE")
	case validTo != nil && !validTo.After(now):
		return nil, errf(CodeValidation, "ValidTo must be in the future.")
	case validTo != nil && validTo.After(now.Add(maxValidTo)):
		return nil, errf(CodeValidation, "ValidTo must be at most 365 days in the future.")
	case req.ImportType != nil && *req.ImportType == importNew && req.KeyMaterialId != nil:
		return nil, errf(CodeValidation, "You cannot specify a KeyMaterialId when ImportType is NEW_KEY_MATERIAL.")
	}
	e, err := s.resolve(ctx, caller, "ImportKeyMaterial", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	kv := []string{"kms:ExpirationModel", model}
	if validTo != nil {
		kv = append(kv, "kms:ValidTo", strconv.FormatInt(validTo.Unix(), 10))
	}
	if err := s.authorize(caller, "ImportKeyMaterial", e, withKeys(nil, kv...)); err != nil {
		return nil, err
	}
	k := e.key
	if k.Origin != keys.OriginExternal {
		return nil, unsupportedFor(k, "origin", k.Origin)
	}
	if err := allow(k, "ImportKeyMaterial"); err != nil {
		return nil, err
	}
	if k.Spec != keys.SpecSymmetricDefault && (req.ImportType != nil || req.KeyMaterialId != nil || req.KeyMaterialDescription != nil) {
		return nil, errf(CodeValidation, "ImportType, KeyMaterialId and KeyMaterialDescription are valid only for symmetric encryption KMS keys.")
	}

	material, err := s.openImport(ctx, k, req.ImportToken, req.EncryptedKeyMaterial)
	if err != nil {
		return nil, err
	}
	defer clear(material)
	if err := checkMaterial(k, material); err != nil {
		return nil, err
	}
	fp, err := s.fingerprint(ctx, k.ID, material)
	if err != nil {
		return nil, s.internal(ctx, "ImportKeyMaterial", err)
	}

	var imported uint32
	out, err := s.updateKey(ctx, k.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, "ImportKeyMaterial"); err != nil {
			return err
		}
		ver, err := s.importTarget(k, req, fp)
		if err != nil {
			return err
		}
		wrapped, err := s.wrapper.Wrap(material, keys.MaterialAAD(k.ID, ver.ID))
		if err != nil {
			return err
		}
		ver.Wrapped, ver.Fingerprint, ver.ExpirationModel, ver.ValidTo = wrapped, fp, model, validTo
		if req.KeyMaterialDescription != nil {
			ver.Description = *req.KeyMaterialDescription
		}
		imported = ver.ID
		if k.State == keys.PendingImport && !k.MissingMaterial() {
			if err := k.SetState(keys.Enabled); err != nil {
				return err
			}
		}
		jobID := expireJobID(k.ID, ver.ID)
		if validTo == nil {
			return s.life.sched.CancelTx(tx, jobID)
		}
		return s.life.sched.ScheduleTx(tx, scheduler.Job{ID: jobID, Kind: jobExpireImport, Due: *validTo,
			Data: jobData{KeyID: k.ID, Version: ver.ID}.bytes()})
	})
	if err != nil {
		return nil, err
	}
	resp := &ImportKeyMaterialResponse{KeyId: out.ARN()}
	if out.Spec == keys.SpecSymmetricDefault {
		resp.KeyMaterialId = materialID(out.ID, imported)
	}
	return resp, nil
}

// openImport checks an import token against key k and decrypts the
// material with the token's wrapping key.
func (s *Service) openImport(ctx context.Context, k *keys.Key, token, encrypted []byte) ([]byte, error) {
	tok, err := s.openToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if tok.keyID != k.ID {
		return nil, errInvalidImportToken
	}
	if !s.timeNow().Before(tok.expires) {
		return nil, errExpiredImportToken
	}
	var rec importParams
	err = s.store.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(importParamsPath(k.ID, tok.id))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	if errors.Is(err, store.ErrNotFound) {
		// An authentic token whose wrapping key is gone has expired.
		return nil, errExpiredImportToken
	} else if err != nil {
		return nil, s.internal(ctx, "ImportKeyMaterial", err)
	}
	der, err := s.wrapper.Unwrap(rec.Wrapped, importParamsAAD(k.ID, tok.id))
	if err != nil {
		return nil, s.internal(ctx, "ImportKeyMaterial", fmt.Errorf("unwrap import wrapping key: %w", err))
	}
	defer clear(der)
	if rec.Spec == "SM2" {
		// SM2PKE of the material itself, in the ASN.1 form AWS takes (the
		// SM2OfflineOperationHelper's, and OpenSSL 3's).
		material, err := keyspec.Decrypt(keyspec.SM2, der, "SM2PKE", encrypted)
		if errors.Is(err, keyspec.ErrDecrypt) {
			return nil, errInvalidCiphertext
		} else if err != nil {
			return nil, s.internal(ctx, "ImportKeyMaterial", fmt.Errorf("stored SM2 import wrapping key: %w", err))
		}
		return material, nil
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	priv, ok := key.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, s.internal(ctx, "ImportKeyMaterial", errors.New("stored import wrapping key is not RSA"))
	}
	material, err := unwrapMaterial(priv, rec.Algorithm, encrypted)
	if err != nil {
		return nil, errInvalidCiphertext
	}
	return material, nil
}

// importTarget finds or makes the version that imported material with
// fingerprint fp goes into, following ImportType: NEW_KEY_MATERIAL (the
// default until a key has material) adds material — the first, or for a
// symmetric key material pending rotation; EXISTING_KEY_MATERIAL (the
// default afterwards) reimports material the key had, which must be the
// same.
func (s *Service) importTarget(k *keys.Key, req *ImportKeyMaterialRequest, fp string) (*keys.Version, error) {
	mode := importExisting
	if len(k.Versions) == 0 {
		mode = importNew
	}
	if req.ImportType != nil {
		mode = *req.ImportType
	}
	match := func(v *keys.Version) bool { return hmac.Equal([]byte(v.Fingerprint), []byte(fp)) }
	incorrect := errf(CodeIncorrectKeyMaterial, "The key material is not the key material that was previously imported into %s.", k.ARN())
	now := s.timeNow()

	if mode == importNew && len(k.Versions) > 0 {
		if k.Spec != keys.SpecSymmetricDefault {
			// Asymmetric and HMAC keys keep their first material.
			return nil, incorrect
		}
		newID := nextVersionID(k)
		for i := range k.Versions {
			v := &k.Versions[i]
			if match(v) {
				return nil, errf(CodeIncorrectKeyMaterial, "This key material is already associated with %s (key material id %s). Reimport it with ImportType EXISTING_KEY_MATERIAL.", k.ARN(), materialID(k.ID, v.ID))
			}
			if v.Pending {
				return nil, errf(CodeInvalidState, "New key material (id: %s) cannot be imported into KMS key %s, because another key material (id: %s) is pending rotation.",
					materialID(k.ID, newID), k.ARN(), materialID(k.ID, v.ID))
			}
		}
		k.Versions = append(k.Versions, keys.Version{ID: newID, Created: now, Pending: true})
		return &k.Versions[len(k.Versions)-1], nil
	}
	if mode == importNew {
		k.Versions = append(k.Versions, keys.Version{ID: 1, Created: now})
		return &k.Versions[0], nil
	}
	if len(k.Versions) == 0 {
		return nil, errf(CodeIncorrectKeyMaterial, "No key material was imported into %s yet. Import it with ImportType NEW_KEY_MATERIAL.", k.ARN())
	}
	for i := range k.Versions {
		v := &k.Versions[i]
		if req.KeyMaterialId != nil {
			if materialID(k.ID, v.ID) != *req.KeyMaterialId {
				continue
			}
			if !match(v) {
				return nil, incorrect
			}
			return v, nil
		}
		if match(v) {
			return v, nil
		}
	}
	if req.KeyMaterialId != nil {
		return nil, errf(CodeNotFound, "Key material %s is not associated with %s.", *req.KeyMaterialId, k.ARN())
	}
	return nil, incorrect
}

// DeleteImportedKeyMaterial deletes imported material (the current one, or
// the one KeyMaterialId names). The key becomes PendingImport until the
// same material is imported again; a key pending deletion keeps its state.
// Material pending rotation is dropped without changing the key's state.
func (s *Service) DeleteImportedKeyMaterial(ctx context.Context, caller *Caller, req *DeleteImportedKeyMaterialRequest) (*DeleteImportedKeyMaterialResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.str("keyMaterialId", req.KeyMaterialId, 64, 64, materialIDRE)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "DeleteImportedKeyMaterial", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "DeleteImportedKeyMaterial", e, nil); err != nil {
		return nil, err
	}
	if e.key.Origin != keys.OriginExternal {
		return nil, unsupportedFor(e.key, "origin", e.key.Origin)
	}
	if err := allow(e.key, "DeleteImportedKeyMaterial"); err != nil {
		return nil, err
	}
	var deleted uint32
	out, err := s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		deleted = 0
		var ver *keys.Version
		if req.KeyMaterialId != nil {
			for i := range k.Versions {
				if materialID(k.ID, k.Versions[i].ID) == *req.KeyMaterialId {
					ver = &k.Versions[i]
				}
			}
			if ver == nil {
				return errf(CodeNotFound, "Key material %s is not associated with %s.", *req.KeyMaterialId, k.ARN())
			}
		} else if ver = k.Current(); ver == nil {
			return nil // no material yet: nothing to do
		}
		deleted = ver.ID
		if ver.Wrapped == nil {
			return nil // already deleted
		}
		if err := s.life.sched.CancelTx(tx, expireJobID(k.ID, ver.ID)); err != nil {
			return err
		}
		return s.dropMaterial(k, ver)
	})
	if err != nil {
		return nil, err
	}
	resp := &DeleteImportedKeyMaterialResponse{KeyId: out.ARN()}
	if deleted != 0 && out.Spec == keys.SpecSymmetricDefault {
		resp.KeyMaterialId = materialID(out.ID, deleted)
	}
	return resp, nil
}

// importedExpiry returns KeyMetadata's ExpirationModel (of the current
// material) and ValidTo (the earliest expiry of any imported material that
// belongs to the key) for a key with imported material.
func importedExpiry(k *keys.Key) (string, *Timestamp) {
	var model string
	if c := k.Current(); c != nil && c.Wrapped != nil {
		model = c.ExpirationModel
	}
	var first *time.Time
	for _, v := range k.Versions {
		if !v.Pending && v.Wrapped != nil && v.ValidTo != nil && (first == nil || v.ValidTo.Before(*first)) {
			first = v.ValidTo
		}
	}
	if first == nil {
		return model, nil
	}
	return model, ts(*first)
}
