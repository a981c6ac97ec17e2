package keyspec

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// crypto/x509 knows only the NIST curves, so secp256k1 keys are encoded here,
// in the same shapes crypto/x509 and OpenSSL use for named-curve EC keys.
// sm2.go reuses these shapes for SM2.
var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

type spkiASN1 struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

type pkcs8ASN1 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKeyASN1 is RFC 5915's ECPrivateKey. The curve is named in the
// PKCS #8 AlgorithmIdentifier, so, as crypto/x509 does, the optional
// parameters are left out and the public key included.
type ecPrivateKeyASN1 struct {
	Version    int
	PrivateKey []byte
	Parameters asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// namedCurve returns the AlgorithmIdentifier of an EC key on a named curve:
// id-ecPublicKey with the curve's OID as parameters (RFC 5480).
func namedCurve(curve asn1.ObjectIdentifier) pkix.AlgorithmIdentifier {
	params, _ := asn1.Marshal(curve)
	return pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: params}}
}

// isNamedCurve reports whether a is id-ecPublicKey with exactly the named
// curve given.
func isNamedCurve(a pkix.AlgorithmIdentifier, curve asn1.ObjectIdentifier) bool {
	var got asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(a.Parameters.FullBytes, &got)
	return err == nil && len(rest) == 0 && a.Algorithm.Equal(oidECPublicKey) && got.Equal(curve)
}

func k1Algorithm() pkix.AlgorithmIdentifier { return namedCurve(oidSecp256k1) }

func marshalK1SPKI(pub *secp256k1.PublicKey) []byte {
	point := pub.SerializeUncompressed()
	der, err := asn1.Marshal(spkiASN1{
		Algorithm: k1Algorithm(),
		PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
	if err != nil {
		panic("keyspec: marshal secp256k1 SPKI: " + err.Error()) // fixed shapes; cannot fail
	}
	return der
}

func marshalK1PKCS8(k *secp256k1.PrivateKey) []byte {
	der, err := marshalECPKCS8(oidSecp256k1, k.Serialize(), k.PubKey().SerializeUncompressed())
	if err != nil {
		panic("keyspec: marshal secp256k1 PKCS #8: " + err.Error()) // fixed shapes; cannot fail
	}
	return der
}

// parseK1SPKI parses a secp256k1 SubjectPublicKeyInfo. It accepts only the
// uncompressed point encoding, the one AWS and marshalK1SPKI use, and checks
// that the point is on the curve.
func parseK1SPKI(der []byte) (*secp256k1.PublicKey, error) {
	point, err := parseECSPKI(der, oidSecp256k1, "secp256k1")
	if err != nil {
		return nil, err
	}
	return secp256k1.ParsePubKey(point)
}

// parseK1PKCS8 parses a secp256k1 PKCS #8 private key and, if the key
// includes its public point, checks that the point belongs to the scalar.
func parseK1PKCS8(der []byte) (*secp256k1.PrivateKey, error) {
	ec, err := parseECPKCS8(der, oidSecp256k1, "a secp256k1")
	if err != nil {
		return nil, err
	}
	var scalar secp256k1.ModNScalar
	if overflow := scalar.SetByteSlice(ec.PrivateKey); overflow || scalar.IsZero() {
		return nil, errors.New("secp256k1 private scalar out of range")
	}
	k := secp256k1.NewPrivateKey(&scalar)
	if ec.PublicKey.BitLength > 0 {
		pub, err := secp256k1.ParsePubKey(ec.PublicKey.RightAlign())
		if err != nil || !pub.IsEqual(k.PubKey()) {
			return nil, errors.New("ECPrivateKey public key does not match the private key")
		}
	}
	return k, nil
}

// signK1 returns a DER ECDSA signature of the 32-byte digest.
//
// It does not call decred's ecdsa.Sign. That function computes k·G with
// ScalarBaseMultNonConst, which adds one table point per non-zero byte of k,
// and inverts k with InverseValNonConst, so its running time depends on the
// nonce. A service that signs for remote callers must not leak nonce bits
// through timing (a few leaked bits per signature are enough for lattice
// attacks that recover the key). Here the nonce is random and both secret
// dependent steps are blinded with fresh random scalars:
//
//   - k·G is computed as (k−m)·G + m·G: each multiplication sees a scalar that
//     is uniform and independent of k.
//   - k⁻¹ is computed as b·(k·b)⁻¹: the inversion sees k·b, uniform and
//     independent of k. Multiplication and addition mod N are constant time.
//
// As decred does, s is normalized to the lower half of the order (BIP 62);
// AWS does not promise either form, and both verify.
func signK1(priv *secp256k1.PrivateKey, digest []byte) ([]byte, error) {
	var e secp256k1.ModNScalar
	e.SetByteSlice(digest) // a 32-byte SHA-256 digest; reduced mod N as ECDSA requires
	for {
		k, err := randomScalar()
		if err != nil {
			return nil, err
		}
		m, err := randomScalar()
		if err != nil {
			return nil, err
		}
		b, err := randomScalar()
		if err != nil {
			return nil, err
		}
		var km secp256k1.ModNScalar
		km.NegateVal(m).Add(k)
		var p1, p2, R secp256k1.JacobianPoint
		secp256k1.ScalarBaseMultNonConst(&km, &p1)
		secp256k1.ScalarBaseMultNonConst(m, &p2)
		secp256k1.AddNonConst(&p1, &p2, &R)
		// If k−m = −m (k = 0, impossible) R is the point at infinity; ToAffine
		// then gives X = 0 and so r = 0, which is retried below.
		R.ToAffine()
		var r secp256k1.ModNScalar
		r.SetBytes(R.X.Bytes())
		if r.IsZero() {
			continue
		}
		var kb, kinv secp256k1.ModNScalar
		kb.Mul2(k, b)
		kinv.InverseValNonConst(&kb).Mul(b)
		var s secp256k1.ModNScalar
		s.Mul2(&priv.Key, &r).Add(&e).Mul(&kinv)
		if s.IsZero() {
			continue
		}
		if s.IsOverHalfOrder() {
			s.Negate()
		}
		return k1ecdsa.NewSignature(&r, &s).Serialize(), nil
	}
}

func randomScalar() (*secp256k1.ModNScalar, error) {
	k, err := secp256k1.GeneratePrivateKey() // uniform in [1, N-1] by rejection sampling
	if err != nil {
		return nil, err
	}
	return &k.Key, nil
}

// verifyK1 reports whether sig is a valid strict-DER ECDSA signature of the
// 32-byte digest. High-S signatures are accepted: AWS's are not normalized.
func verifyK1(pub *secp256k1.PublicKey, digest, sig []byte) bool {
	s, err := k1ecdsa.ParseDERSignature(sig)
	if err != nil {
		return false
	}
	return s.Verify(digest, pub)
}

// unmarshalAll unmarshals der into *v and requires that nothing follows;
// what names the structure for the error.
func unmarshalAll[T any](der []byte, v *T, what string) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data after " + what)
	}
	return nil
}

// unmarshalSPKI parses a SubjectPublicKeyInfo with nothing after it.
func unmarshalSPKI(der []byte) (*spkiASN1, error) {
	var spki spkiASN1
	if err := unmarshalAll(der, &spki, "SubjectPublicKeyInfo"); err != nil {
		return nil, err
	}
	return &spki, nil
}

// parseECSPKI returns the point of a SubjectPublicKeyInfo for a named curve
// outside crypto/x509's list (secp256k1, SM2), accepting only the
// uncompressed encoding, the one AWS uses. The caller checks that the point
// is on the curve. name is the curve's name for errors.
func parseECSPKI(der []byte, oid asn1.ObjectIdentifier, name string) ([]byte, error) {
	spki, err := unmarshalSPKI(der)
	switch {
	case err != nil:
		return nil, err
	case !isNamedCurve(spki.Algorithm, oid):
		return nil, errors.New("not a " + name + " public key")
	case spki.PublicKey.BitLength != 8*65 || spki.PublicKey.Bytes[0] != 4:
		return nil, errors.New(name + " public key is not an uncompressed point")
	}
	return spki.PublicKey.Bytes, nil
}

// marshalECPKCS8 encodes a key on such a curve as OpenSSL 3 does (pkcs8
// -topk8): PKCS #8 with id-ecPublicKey and the curve, holding an RFC 5915
// ECPrivateKey with the 32-byte scalar and the uncompressed public point,
// without the redundant curve parameters. parseECPKCS8 reads it back.
func marshalECPKCS8(oid asn1.ObjectIdentifier, scalar, point []byte) ([]byte, error) {
	inner, err := asn1.Marshal(ecPrivateKeyASN1{
		Version:    1,
		PrivateKey: scalar,
		PublicKey:  asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pkcs8ASN1{Algorithm: namedCurve(oid), PrivateKey: inner})
}

// parseECPKCS8 parses the PKCS #8 envelope OpenSSL writes for a key on a
// named curve outside crypto/x509's list (secp256k1, SM2): id-ecPublicKey
// with the curve oid, holding an RFC 5915 ECPrivateKey with a 32-byte scalar
// and no other curve. name is the curve's name for errors. The caller checks
// the scalar's range and the optional public point.
func parseECPKCS8(der []byte, oid asn1.ObjectIdentifier, name string) (*ecPrivateKeyASN1, error) {
	var p8 pkcs8ASN1
	if err := unmarshalAll(der, &p8, "PKCS #8"); err != nil {
		return nil, err
	}
	if p8.Version != 0 || !isNamedCurve(p8.Algorithm, oid) {
		return nil, errors.New("not " + name + " private key")
	}
	var ec ecPrivateKeyASN1
	rest, err := asn1.Unmarshal(p8.PrivateKey, &ec)
	switch {
	case err != nil:
		return nil, err
	case len(rest) != 0 || ec.Version != 1 || len(ec.PrivateKey) != 32:
		return nil, errors.New("malformed ECPrivateKey")
	case ec.Parameters != nil && !ec.Parameters.Equal(oid):
		return nil, errors.New("ECPrivateKey names another curve")
	}
	return &ec, nil
}
