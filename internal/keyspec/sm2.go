package keyspec

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"errors"

	gmecdh "github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
)

// SM2 (GB/T 32918, GM/T 0003) is an elliptic curve of its own with its own
// signature and encryption schemes. The curve arithmetic, SM3 and the schemes
// come from github.com/emmansun/gmsm; this file chooses the encodings AWS KMS
// uses and OpenSSL 3 writes:
//
//   - keys: id-ecPublicKey with the named curve 1.2.156.10197.1.301 (sm2), in
//     the same PKCS #8 / RFC 5915 and SubjectPublicKeyInfo shapes as the other
//     named curves. The SM2-specific algorithm OID 1.2.156.10197.1.301.1 is
//     neither accepted nor produced: AWS and OpenSSL use id-ecPublicKey.
//   - signatures (SM2DSA): DER SEQUENCE {r INTEGER, s INTEGER} over
//     e = SM3(Z_A || M), Z_A computed with the default distinguishing ID.
//   - ciphertexts (SM2PKE): the GM/T 0009 ASN.1 form SEQUENCE {x INTEGER,
//     y INTEGER, hash OCTET STRING, ciphertext OCTET STRING}, that is C1, C3
//     (the SM3 check value), C2.
//   - ECDH: the x-coordinate of d·Q, as for the NIST curves; not the SM2 key
//     exchange protocol of GB/T 32918.3, which AWS does not offer.
var oidSM2 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}

// sm2DefaultID is the distinguishing ID that goes into Z_A when the signer
// has none: "1234567812345678" (GM/T 0009-2012, section 10). AWS KMS uses it
// for MessageType RAW ("Offline verification with SM2 key pairs", Developer
// Guide), and so must any offline verifier (OpenSSL: -pkeyopt
// distid:1234567812345678; OpenSSL 3.0's own default is an empty ID).
var sm2DefaultID = []byte("1234567812345678")

// sm2PublicKey is an SM2 public key. gmsm represents SM2 keys as
// ecdsa.PublicKey on its own curve; the distinct type keeps every type switch
// in this package from taking one for a NIST key.
type sm2PublicKey ecdsa.PublicKey

func (p *sm2PublicKey) ecdsa() *ecdsa.PublicKey { return (*ecdsa.PublicKey)(p) }

// point returns the uncompressed SEC 1 encoding of p.
func (p *sm2PublicKey) point() ([]byte, error) {
	e, err := sm2.PublicKeyToECDH(p.ecdsa())
	if err != nil {
		return nil, err
	}
	return e.Bytes(), nil
}

func marshalSM2SPKI(pub *sm2PublicKey) ([]byte, error) {
	point, err := pub.point()
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(spkiASN1{
		Algorithm: namedCurve(oidSM2),
		PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
}

// marshalSM2PKCS8 encodes k as OpenSSL 3 does (genpkey with
// ec_paramgen_curve:sm2, then pkcs8 -topk8; see marshalECPKCS8).
func marshalSM2PKCS8(k *sm2.PrivateKey) ([]byte, error) {
	e, err := k.ECDH()
	if err != nil {
		return nil, err
	}
	return marshalECPKCS8(oidSM2, e.Bytes(), e.PublicKey().Bytes())
}

// parseSM2SPKI parses an SM2 SubjectPublicKeyInfo. It accepts only the one
// DER form marshalSM2SPKI writes (the uncompressed point, no trailing data,
// no extra elements, which encoding/asn1 alone would tolerate), and checks
// that the point is on the curve and not the point at infinity.
func parseSM2SPKI(der []byte) (*sm2PublicKey, error) {
	point, err := parseECSPKI(der, oidSM2, "SM2")
	if err != nil {
		return nil, err
	}
	pub, err := sm2.NewPublicKey(point)
	if err != nil {
		return nil, err
	}
	p := (*sm2PublicKey)(pub)
	if again, err := marshalSM2SPKI(p); err != nil || string(again) != string(der) {
		return nil, errors.New("SM2 SubjectPublicKeyInfo is not in canonical DER")
	}
	return p, nil
}

// parseSM2PKCS8 parses an SM2 PKCS #8 private key and, if the key includes
// its public point, checks that the point belongs to the scalar. The scalar
// must be in [1, n-2] (GB/T 32918.1: 1+d must be invertible mod n).
func parseSM2PKCS8(der []byte) (*sm2.PrivateKey, error) {
	ec, err := parseECPKCS8(der, oidSM2, "an SM2")
	if err != nil {
		return nil, err
	}
	k, err := sm2.NewPrivateKey(ec.PrivateKey)
	if err != nil {
		return nil, errors.New("SM2 private scalar out of range")
	}
	if ec.PublicKey.BitLength > 0 {
		pub, err := sm2.NewPublicKey(ec.PublicKey.RightAlign())
		if err != nil || !pub.Equal(&k.PublicKey) {
			return nil, errors.New("ECPrivateKey public key does not match the private key")
		}
	}
	return k, nil
}

// sm2Digest returns e, what SM2DSA signs: for RAW, e = SM3(Z_A || M) with
// Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A) and the
// default ID; for DIGEST, the 32 bytes the caller computed the same way.
func sm2Digest(pub *ecdsa.PublicKey, in signInput) ([]byte, error) {
	if in.digest != nil {
		return in.digest, nil
	}
	return sm2.CalculateSM2Hash(pub, in.msg, sm2DefaultID)
}

// signSM2 returns a DER SM2 signature of the request. gmsm's nonce is hedged
// (HMAC-SM3 of the key, e and fresh randomness), so a weak random source
// alone does not leak the key; its scalar arithmetic is constant time.
func signSM2(k *sm2.PrivateKey, in signInput) ([]byte, error) {
	e, err := sm2Digest(&k.PublicKey, in)
	if err != nil {
		return nil, err
	}
	// With nil options SignASN1 signs e as given; it would otherwise hash again.
	return sm2.SignASN1(rand.Reader, k, e, nil)
}

// verifySM2 reports whether sig is a valid strict-DER SM2 signature of the
// request.
func verifySM2(pub *sm2PublicKey, in signInput, sig []byte) bool {
	e, err := sm2Digest(pub.ecdsa(), in)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1(pub.ecdsa(), e, sig)
}

// encryptSM2 encrypts with a fresh ephemeral scalar per call to gmsm, and
// never lets gmsm pick a second one itself.
//
// Why: gmsm v0.44.1 computes the shared point as Q.ScalarMult(Q, k),
// overwriting the public point Q, and when the key stream t for that k is
// all zero (GB/T 32918.4 A5; for a 1-byte message one k in 256) it loops
// to a new k with the overwritten Q: the ciphertext it returns then never
// decrypts. Measured: 75 of 20,000 one-byte ciphertexts. (No fixed version
// is served by the module proxy.) So gmsm gets a reader that yields one
// scalar's worth of randomness and then fails; where gmsm would have
// looped, the call fails, and the next call starts again from the
// untouched public key.
func encryptSM2(pub *sm2PublicKey, plaintext []byte) ([]byte, error) {
	var err error
	for range 64 {
		var ct []byte
		if ct, err = sm2.EncryptASN1(&oneScalar{}, pub.ecdsa(), plaintext); err == nil {
			return ct, nil
		}
	}
	return nil, err
}

// oneScalar reads 32 bytes from crypto/rand, one SM2 scalar's worth, and
// then fails.
type oneScalar struct{ n int }

var errOneScalar = errors.New("keyspec: SM2 encryption needed a second ephemeral scalar")

func (r *oneScalar) Read(p []byte) (int, error) {
	if r.n+len(p) > 32 {
		return 0, errOneScalar
	}
	r.n += len(p)
	return rand.Read(p)
}

// decryptSM2 decrypts an ASN.1 SM2PKE ciphertext. Every failure is
// ErrDecrypt.
func decryptSM2(k *sm2.PrivateKey, ciphertext []byte) ([]byte, error) {
	// gmsm also accepts the raw C1||C3||C2 concatenation, told apart by its
	// first byte (04, 02 or 03; a DER SEQUENCE starts with 30). AWS accepts
	// only the ASN.1 form, and a ciphertext should have one encoding.
	if len(ciphertext) == 0 || ciphertext[0] != 0x30 {
		return nil, ErrDecrypt
	}
	pt, err := k.Decrypt(nil, ciphertext, sm2.ASN1DecrypterOpts)
	if err != nil || len(pt) == 0 {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// deriveSM2 returns the x-coordinate of d·Q for the peer SPKI, with the same
// refusals and messages as the NIST curves' DeriveSharedSecret.
func deriveSM2(k *sm2.PrivateKey, peerSPKI []byte) ([]byte, error) {
	peer, err := parseSM2SPKI(peerSPKI)
	if err != nil {
		if _, err := unmarshalSPKI(peerSPKI); err != nil {
			return nil, newError(ErrInvalidPeerKey, "The public key is not a valid DER-encoded SubjectPublicKeyInfo for key spec %s.", SM2)
		}
		// A well-formed SPKI of another algorithm or curve, or of an invalid
		// point (off the curve, compressed, the point at infinity).
		return nil, newError(ErrInvalidPeerKey, "The public key is not on the curve of key spec %s.", SM2)
	}
	invalid := newError(ErrInvalidPeerKey, "The public key is not on the curve of key spec %s.", SM2)
	point, err := peer.point()
	if err != nil {
		return nil, invalid
	}
	pe, err := gmecdh.P256().NewPublicKey(point)
	if err != nil {
		return nil, invalid
	}
	ke, err := k.ECDH()
	if err != nil {
		return nil, errKey(SM2, "%v", err)
	}
	// gmecdh's ECDH is plain SEC 1 ECDH: the 32-byte x-coordinate of d·Q
	// (never the point at infinity: the curve has prime order and Q was
	// checked). Its SM2MQV and SM2SharedKey implement the GB/T 32918.3 key
	// exchange protocol instead, which is not what AWS computes.
	secret, err := ke.ECDH(pe)
	if err != nil {
		return nil, invalid
	}
	return secret, nil
}
