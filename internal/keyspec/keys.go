package keyspec

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"

	"filippo.io/mldsa"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/emmansun/gmsm/sm2"
)

// PrivateKey is a parsed asymmetric private key of a known key spec. Parsing
// PKCS #8 (and, for RSA, validating the key) costs more than most signatures,
// so a caller that uses a key repeatedly should parse it once and keep the
// PrivateKey (for example in a cache keyed by key id and version).
//
// A PrivateKey never prints its material: its String and GoString methods
// name only the spec, and it refuses JSON and text marshalling. It is safe
// for concurrent use.
type PrivateKey struct {
	spec Spec
	key  any              // *rsa.PrivateKey, *ecdsa.PrivateKey, *secp256k1.PrivateKey, *sm2.PrivateKey, ed25519.PrivateKey, *mldsa.PrivateKey or *mlkemPrivateKey
	ecdh *ecdh.PrivateKey // NIST curves; SM2 converts its key per call (see deriveSM2)
	pub  *PublicKey
}

// PublicKey is a parsed public key of a known key spec. It is safe for
// concurrent use.
type PublicKey struct {
	spec Spec
	key  any // *rsa.PublicKey, *ecdsa.PublicKey, *secp256k1.PublicKey, *sm2PublicKey, ed25519.PublicKey, *mldsa.PublicKey or *mlkemPublicKey
	der  []byte
}

// String returns a description of k that holds no key material.
func (k PrivateKey) String() string { return "keyspec.PrivateKey(" + string(k.spec) + ", redacted)" }

// GoString returns the same as String, so %#v cannot dump key material.
func (k PrivateKey) GoString() string { return k.String() }

// MarshalJSON refuses to marshal a private key.
func (k PrivateKey) MarshalJSON() ([]byte, error) {
	return nil, errors.New("keyspec: refusing to marshal a private key")
}

// MarshalText refuses to marshal a private key.
func (k PrivateKey) MarshalText() ([]byte, error) {
	return nil, errors.New("keyspec: refusing to marshal a private key")
}

// Spec returns the key spec of k.
func (k *PrivateKey) Spec() Spec { return k.spec }

// Public returns the public half of k.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Spec returns the key spec of k.
func (k *PublicKey) Spec() Spec { return k.spec }

// Bytes returns the DER SubjectPublicKeyInfo of k, as GetPublicKey returns
// it. The caller must not modify it.
func (k *PublicKey) Bytes() []byte { return k.der }

func ellipticCurve(spec Spec) elliptic.Curve {
	switch spec {
	case ECCNISTP256:
		return elliptic.P256()
	case ECCNISTP384:
		return elliptic.P384()
	case ECCNISTP521:
		return elliptic.P521()
	}
	return nil
}

func mldsaParams(spec Spec) mldsa.Parameters {
	switch spec {
	case MLDSA44:
		return mldsa.MLDSA44()
	case MLDSA65:
		return mldsa.MLDSA65()
	default:
		return mldsa.MLDSA87()
	}
}

// asymmetric returns the rules row of spec if its cryptography is asymmetric.
func asymmetric(spec Spec) (*specInfo, error) {
	info := specs[spec]
	switch {
	case info == nil:
		return nil, errKey(spec, "unknown key spec")
	case info.family == famSymmetric || info.family == famHMAC:
		return nil, errKey(spec, "not an asymmetric key spec")
	}
	return info, nil
}

// Generate returns new private key material for spec: PKCS #8 DER for the
// asymmetric specs (RSA, NIST, secp256k1 and SM2 curves, Ed25519, ML-DSA as
// an RFC 9881 seed-only key, ML-KEM as an RFC 9935 seed-only key) and
// spec-size random bytes for the HMAC specs
// (HMAC_224: 28 bytes, HMAC_256: 32, HMAC_384: 48, HMAC_512: 64). It uses
// crypto/rand; since Go 1.26 the standard library ignores caller-supplied
// randomness for key generation anyway (tests use
// testing/cryptotest.SetGlobalRandom). SYMMETRIC_DEFAULT keys are not made
// here: their cryptography belongs to the ciphertext format.
func Generate(spec Spec) ([]byte, error) {
	info := specs[spec]
	if info != nil && info.family == famHMAC {
		return randomBytes(info.bits / 8)
	}
	info, err := asymmetric(spec)
	if err != nil {
		return nil, err
	}
	var key any
	switch info.family {
	case famRSA:
		key, err = rsa.GenerateKey(rand.Reader, info.bits)
	case famNIST:
		key, err = ecdsa.GenerateKey(ellipticCurve(spec), rand.Reader)
	case famK1:
		k, err := secp256k1.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		defer k.Zero()
		return marshalK1PKCS8(k), nil
	case famSM2:
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return marshalSM2PKCS8(k)
	case famEd25519:
		_, key, err = ed25519.GenerateKey(nil)
	case famMLDSA:
		key, err = mldsa.GenerateKey(mldsaParams(spec))
	case famMLKEM:
		return generateMLKEM(mlkemParamSets[spec])
	}
	if err != nil {
		return nil, err
	}
	return mldsax509.MarshalPKCS8PrivateKey(key)
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// ParsePrivateKey parses PKCS #8 DER private key material of spec, as made by
// Generate, and checks that it matches the spec (algorithm, curve, modulus
// size, ML-DSA or ML-KEM parameter set). ML-KEM keys may also be in RFC
// 9935's expandedKey or both forms (see mlkem.go). A mismatch wraps
// ErrInvalidKey.
func ParsePrivateKey(spec Spec, der []byte) (*PrivateKey, error) {
	info, err := asymmetric(spec)
	if err != nil {
		return nil, err
	}
	k := &PrivateKey{spec: spec}
	var pub any
	switch info.family {
	case famRSA:
		raw, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		rk, ok := raw.(*rsa.PrivateKey)
		if !ok || rk.N.BitLen() != info.bits {
			return nil, errKey(spec, "not an RSA-%d key", info.bits)
		}
		k.key, pub = rk, &rk.PublicKey
	case famNIST:
		raw, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		ek, ok := raw.(*ecdsa.PrivateKey)
		if !ok || ek.Curve != ellipticCurve(spec) {
			return nil, errKey(spec, "not a key on the spec's curve")
		}
		if k.ecdh, err = ek.ECDH(); err != nil {
			return nil, errKey(spec, "%v", err)
		}
		k.key, pub = ek, &ek.PublicKey
	case famK1:
		kk, err := parseK1PKCS8(der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		k.key, pub = kk, kk.PubKey()
	case famSM2:
		sk, err := parseSM2PKCS8(der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		k.key, pub = sk, (*sm2PublicKey)(&sk.PublicKey)
	case famEd25519:
		raw, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		ek, ok := raw.(ed25519.PrivateKey)
		if !ok {
			return nil, errKey(spec, "not an Ed25519 key")
		}
		k.key, pub = ek, ek.Public()
	case famMLDSA:
		raw, err := mldsax509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		mk, ok := raw.(*mldsa.PrivateKey)
		if !ok || mk.PublicKey().Parameters() != mldsaParams(spec) {
			return nil, errKey(spec, "not an %s key", mldsaParams(spec))
		}
		k.key, pub = mk, mk.PublicKey()
	case famMLKEM:
		dk, ek, err := parseMLKEMPKCS8(mlkemParamSets[spec], der)
		if err != nil {
			return nil, errKey(spec, "%v", err)
		}
		k.key, pub = dk, ek
	}
	spki, err := marshalPublic(pub)
	if err != nil {
		return nil, errKey(spec, "%v", err)
	}
	k.pub = &PublicKey{spec: spec, key: pub, der: spki}
	return k, nil
}

func marshalPublic(pub any) ([]byte, error) {
	switch p := pub.(type) {
	case *secp256k1.PublicKey:
		return marshalK1SPKI(p), nil
	case *sm2PublicKey:
		return marshalSM2SPKI(p)
	case *mlkemPublicKey:
		return marshalMLKEMSPKI(p)
	}
	return mldsax509.MarshalPKIXPublicKey(pub)
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo of spec and checks that it
// matches the spec. A mismatch wraps ErrInvalidKey.
func ParsePublicKey(spec Spec, spki []byte) (*PublicKey, error) {
	info, err := asymmetric(spec)
	if err != nil {
		return nil, err
	}
	var pub any
	switch info.family {
	case famK1:
		pub, err = parseK1SPKI(spki)
	case famSM2:
		pub, err = parseSM2SPKI(spki)
	case famMLKEM:
		pub, err = parseMLKEMSPKI(mlkemParamSets[spec], spki)
	default:
		pub, err = mldsax509.ParsePKIXPublicKey(spki)
	}
	if err != nil {
		return nil, errKey(spec, "%v", err)
	}
	ok := false
	switch p := pub.(type) {
	case *rsa.PublicKey:
		ok = info.family == famRSA && p.N.BitLen() == info.bits
	case *ecdsa.PublicKey:
		ok = info.family == famNIST && p.Curve == ellipticCurve(spec)
	case *secp256k1.PublicKey:
		ok = info.family == famK1
	case *sm2PublicKey:
		ok = info.family == famSM2
	case ed25519.PublicKey:
		ok = info.family == famEd25519
	case *mldsa.PublicKey:
		ok = info.family == famMLDSA && p.Parameters() == mldsaParams(spec)
	case *mlkemPublicKey:
		ok = info.family == famMLKEM && p.params == mlkemParamSets[spec]
	}
	if !ok {
		return nil, errKey(spec, "public key does not match the key spec")
	}
	return &PublicKey{spec: spec, key: pub, der: append([]byte(nil), spki...)}, nil
}

// Public returns the DER SubjectPublicKeyInfo of the private key material of
// spec, as GetPublicKey returns it: rsaEncryption, id-ecPublicKey with the
// named curve (secp256k1 is 1.3.132.0.10, SM2 1.2.156.10197.1.301),
// id-Ed25519, id-ml-dsa-44/65/87 (2.16.840.1.101.3.4.3.17/18/19, RFC 9881)
// or id-alg-ml-kem-512/768/1024 (2.16.840.1.101.3.4.4.1/2/3, RFC 9935).
func Public(spec Spec, private []byte) ([]byte, error) {
	k, err := ParsePrivateKey(spec, private)
	if err != nil {
		return nil, err
	}
	return k.pub.der, nil
}

// GenerateDataKeyPair returns a new key pair for the DataKeyPairSpec
// pairSpec: the private key as PKCS #8 DER and the public key as SPKI DER, as
// GenerateDataKeyPair returns them. It is the one function besides Generate
// that returns private key material, because AWS returns it to the caller.
// The region rules are CheckDataKeyPair's. ML-KEM pairs are an RFC 9935
// seed-only PKCS #8 key and its SubjectPublicKeyInfo.
func GenerateDataKeyPair(pairSpec string) (private, public []byte, err error) {
	spec, ok := dataKeyPairSpecs[pairSpec]
	if !ok {
		return nil, nil, CheckDataKeyPair(pairSpec, "")
	}
	if private, err = Generate(spec); err != nil {
		return nil, nil, err
	}
	if public, err = Public(spec, private); err != nil {
		return nil, nil, err
	}
	return private, public, nil
}
