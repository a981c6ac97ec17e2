package keyspec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"slices"

	"github.com/emmansun/gmsm/sm2"
)

// Encrypt encrypts plaintext with k using alg:
//
//   - RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256: OAEP with the same hash for the
//     label and MGF1 and an empty label (Key spec reference).
//   - SM2PKE: GB/T 32918.4 public key encryption with SM3, encoded as the
//     GM/T 0009 ASN.1 SEQUENCE {x, y, hash, ciphertext} (C1, C3, C2), the
//     form AWS KMS returns and OpenSSL 3 reads and writes.
//
// The plaintext must be 1 to MaxPlaintext(spec, alg) bytes. Encrypt does not
// know the key's KeyUsage: the caller checks that it is ENCRYPT_DECRYPT
// first.
func (k *PublicKey) Encrypt(alg string, plaintext []byte) ([]byte, error) {
	if info := specs[k.spec]; info == nil || !slices.Contains(info.encryption, alg) {
		return nil, errAlgorithm(alg, k.spec)
	}
	if len(plaintext) < 1 {
		return nil, errLength("plaintext", len(plaintext), MaxMessage)
	}
	if max := MaxPlaintext(k.spec, alg); len(plaintext) > max {
		// AWS's wording, as recorded from AWS KMS.
		return nil, newError(ErrPlaintextTooLong, "Algorithm %s and key spec %s cannot encrypt data larger than %d bytes.", alg, k.spec, max)
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		h, _ := oaepHash(alg)
		return rsa.EncryptOAEP(h.New(), rand.Reader, key, plaintext, nil)
	case *sm2PublicKey:
		return encryptSM2(key, plaintext)
	}
	return nil, errKey(k.spec, "unexpected key type %T", k.key)
}

// Decrypt decrypts an RSAES_OAEP or SM2PKE ciphertext made with the public
// half of k. Every failure of the ciphertext (length, encoding, padding,
// point, hash) is ErrDecrypt, with no detail: a decryption oracle must not
// say why it refused.
func (k *PrivateKey) Decrypt(alg string, ciphertext []byte) ([]byte, error) {
	if info := specs[k.spec]; info == nil || !slices.Contains(info.encryption, alg) {
		return nil, errAlgorithm(alg, k.spec)
	}
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		h, _ := oaepHash(alg)
		pt, err := rsa.DecryptOAEP(h.New(), nil, key, ciphertext, nil)
		if err != nil {
			return nil, ErrDecrypt
		}
		return pt, nil
	case *sm2.PrivateKey:
		return decryptSM2(key, ciphertext)
	}
	return nil, errKey(k.spec, "unexpected key type %T", k.key)
}

// Encrypt parses the SubjectPublicKeyInfo of spec and encrypts plaintext with
// it; see PublicKey.Encrypt.
func Encrypt(spec Spec, public []byte, alg string, plaintext []byte) ([]byte, error) {
	if info := specs[spec]; info == nil || !slices.Contains(info.encryption, alg) {
		return nil, errAlgorithm(alg, spec)
	}
	k, err := ParsePublicKey(spec, public)
	if err != nil {
		return nil, err
	}
	return k.Encrypt(alg, plaintext)
}

// Decrypt parses the PKCS #8 private key of spec and decrypts ciphertext with
// it; see PrivateKey.Decrypt.
func Decrypt(spec Spec, private []byte, alg string, ciphertext []byte) ([]byte, error) {
	if info := specs[spec]; info == nil || !slices.Contains(info.encryption, alg) {
		return nil, errAlgorithm(alg, spec)
	}
	k, err := ParsePrivateKey(spec, private)
	if err != nil {
		return nil, err
	}
	return k.Decrypt(alg, ciphertext)
}

// DeriveSharedSecret returns the raw ECDH shared secret of k and the peer's
// public key, as AWS KMS DeriveSharedSecret does: the x-coordinate of the
// shared point, as many bytes as the field (32, 48 or 66; 32 for SM2, whose
// ECDH is the same plain SEC 1 computation on the SM2 curve, not the
// GB/T 32918.3 key exchange protocol). alg must be ECDH.
// peerSPKI must be a DER SubjectPublicKeyInfo of a named-curve point on the
// same curve as k; points off the curve, the point at infinity, other curves,
// explicit curve parameters and trailing data wrap ErrInvalidPeerKey. The
// caller checks that the key's KeyUsage is KEY_AGREEMENT.
func (k *PrivateKey) DeriveSharedSecret(alg string, peerSPKI []byte) ([]byte, error) {
	info := specs[k.spec]
	if info == nil || !slices.Contains(info.keyAgreement, alg) {
		return nil, errAlgorithm(alg, k.spec)
	}
	if key, ok := k.key.(*sm2.PrivateKey); ok {
		return deriveSM2(key, peerSPKI)
	}
	if k.ecdh == nil {
		return nil, errAlgorithm(alg, k.spec)
	}
	// crypto/x509 accepts only named curves and uncompressed points, and
	// checks that the point is on the curve. It tolerates extra elements
	// inside the SEQUENCEs, so the key must also re-encode to the same bytes:
	// only the one DER form GetPublicKey itself returns is accepted.
	raw, err := x509.ParsePKIXPublicKey(peerSPKI)
	if err != nil {
		return nil, newError(ErrInvalidPeerKey, "The public key is not a valid DER-encoded SubjectPublicKeyInfo for key spec %s.", k.spec)
	}
	peer, ok := raw.(*ecdsa.PublicKey)
	if !ok || peer.Curve != ellipticCurve(k.spec) {
		return nil, newError(ErrInvalidPeerKey, "The public key is not on the curve of key spec %s.", k.spec)
	}
	if der, err := x509.MarshalPKIXPublicKey(peer); err != nil || !bytes.Equal(der, peerSPKI) {
		return nil, newError(ErrInvalidPeerKey, "The public key is not a valid DER-encoded SubjectPublicKeyInfo for key spec %s.", k.spec)
	}
	pe, err := peer.ECDH()
	if err != nil {
		return nil, newError(ErrInvalidPeerKey, "The public key is not on the curve of key spec %s.", k.spec)
	}
	secret, err := k.ecdh.ECDH(pe)
	if err != nil {
		return nil, newError(ErrInvalidPeerKey, "The public key is not on the curve of key spec %s.", k.spec)
	}
	return secret, nil
}

// DeriveSharedSecret parses the PKCS #8 private key of spec and derives the
// ECDH shared secret with peerSPKI; see PrivateKey.DeriveSharedSecret.
func DeriveSharedSecret(spec Spec, private []byte, alg string, peerSPKI []byte) ([]byte, error) {
	if info := specs[spec]; info == nil || !slices.Contains(info.keyAgreement, alg) {
		return nil, errAlgorithm(alg, spec)
	}
	k, err := ParsePrivateKey(spec, private)
	if err != nil {
		return nil, err
	}
	return k.DeriveSharedSecret(alg, peerSPKI)
}

// GenerateMAC returns the HMAC (RFC 2104) of msg under key with alg, which
// must be the MAC algorithm of the HMAC spec (HMAC_SHA_256 for HMAC_256, ...).
// msg is 1 to 4096 bytes; GenerateMac gives message digests no special
// handling (API reference). The key may be of any non-empty length, so that
// imported key material works.
func GenerateMAC(spec Spec, key []byte, alg string, msg []byte) ([]byte, error) {
	info := specs[spec]
	if info == nil || !slices.Contains(info.mac, alg) {
		return nil, errAlgorithm(alg, spec)
	}
	if len(msg) < 1 || len(msg) > MaxMessage {
		return nil, errLength("message", len(msg), MaxMessage)
	}
	if len(key) == 0 {
		return nil, errKey(spec, "empty HMAC key")
	}
	m := hmac.New(macHash(alg).New, key)
	m.Write(msg)
	return m.Sum(nil), nil
}

// VerifyMAC reports whether mac is the HMAC of msg under key with alg,
// comparing in constant time. A MAC of the wrong length, including a
// truncated one, is false: VerifyMac compares the whole tag. Errors are as
// for GenerateMAC, plus a MAC longer than 6144 bytes or empty.
func VerifyMAC(spec Spec, key []byte, alg string, msg, mac []byte) (bool, error) {
	if len(mac) < 1 || len(mac) > MaxMAC {
		if info := specs[spec]; info == nil || !slices.Contains(info.mac, alg) {
			return false, errAlgorithm(alg, spec)
		}
		return false, errLength("mac", len(mac), MaxMAC)
	}
	want, err := GenerateMAC(spec, key, alg, msg)
	if err != nil {
		return false, err
	}
	return hmac.Equal(want, mac), nil
}
