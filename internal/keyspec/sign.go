package keyspec

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"slices"
	"strings"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// signInput is a Sign or Verify request after validation.
type signInput struct {
	alg    string
	hash   crypto.Hash // hash of RSA, ECDSA and Ed25519ph algorithms
	digest []byte      // RSA, ECDSA: the digest to sign; Ed25519ph: the SHA-512 prehash; SM2DSA DIGEST: e
	msg    []byte      // Ed25519, ML-DSA, SM2DSA RAW: the message; ML-DSA EXTERNAL_MU: μ
	mu     bool
}

// prepare validates a Sign or Verify request against the rules of AWS KMS and
// computes what the primitive signs. The checks, in AWS's order of concern:
//
//  1. The algorithm must be one the key spec supports (InvalidKeyUsage).
//  2. The message type must be RAW, DIGEST or EXTERNAL_MU; empty means RAW
//     (AWS's default), and the algorithm must allow it (Sign API reference):
//     ED25519_SHA_512 requires RAW, ED25519_PH_SHA_512 requires DIGEST,
//     EXTERNAL_MU is the 64-byte μ of ML-DSA and nothing else, and ML-DSA has
//     no DIGEST form (FIPS 204 pure ML-DSA; HashML-DSA is not offered).
//  3. The message is 1 to 4096 bytes; a DIGEST is exactly the hash length
//     (32 bytes for SM2DSA, whose DIGEST is e = SM3(Z_A || M)), an
//     EXTERNAL_MU exactly 64 bytes.
func prepare(spec Spec, alg, messageType string, msg []byte) (signInput, error) {
	info := specs[spec]
	if info == nil || !slices.Contains(info.signing, alg) {
		return signInput{}, errAlgorithm(alg, spec)
	}
	switch messageType {
	case "":
		messageType = MessageRaw
	case MessageRaw, MessageDigest, MessageExternalMu:
	default:
		return signInput{}, newError(ErrMessageType, "1 validation error detected: Value '%s' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]", messageType)
	}
	if len(msg) < 1 || len(msg) > MaxMessage {
		return signInput{}, errLength("message", len(msg), MaxMessage)
	}
	in := signInput{alg: alg, hash: signingHash(alg)}
	switch {
	case alg == "ML_DSA_SHAKE_256":
		switch messageType {
		case MessageRaw:
			in.msg = msg
		case MessageExternalMu:
			if len(msg) != 64 {
				return signInput{}, errDigest(alg)
			}
			in.msg, in.mu = msg, true
		default:
			return signInput{}, errMessageType(messageType, alg)
		}
	case alg == "ED25519_SHA_512":
		if messageType != MessageRaw {
			return signInput{}, errMessageType(messageType, alg)
		}
		in.msg = msg
	case alg == "ED25519_PH_SHA_512":
		if messageType != MessageDigest {
			return signInput{}, errMessageType(messageType, alg)
		}
		if len(msg) != sha512.Size {
			return signInput{}, errDigest(alg)
		}
		// "When you specify the ED25519_PH_SHA_512 signing algorithm with
		// MessageType:DIGEST, KMS still performs the SHA-512 prehash described
		// in Step 1 of Section 7.8.1 in FIPS 186-5. This means the input is
		// hashed twice" (Sign API reference). So the 64 bytes are the message
		// M of Ed25519ph, and PH(M) = SHA-512(M) is what gets signed.
		ph := sha512.Sum512(msg)
		in.digest = ph[:]
	case strings.HasPrefix(alg, "RSASSA_") || strings.HasPrefix(alg, "ECDSA_"):
		switch messageType {
		case MessageRaw:
			h := in.hash.New()
			h.Write(msg)
			in.digest = h.Sum(nil)
		case MessageDigest:
			if len(msg) != in.hash.Size() {
				return signInput{}, errDigest(alg)
			}
			in.digest = msg
		default:
			return signInput{}, errMessageType(messageType, alg)
		}
	case alg == "SM2DSA":
		switch messageType {
		case MessageRaw:
			// e = SM3(Z_A || M) needs the public key: sm2Digest computes it.
			in.msg = msg
		case MessageDigest:
			if len(msg) != sm3.Size {
				return signInput{}, errDigest(alg)
			}
			in.digest = msg
		default:
			return signInput{}, errMessageType(messageType, alg)
		}
	default: // unreachable: the rules table lists no other algorithm
		return signInput{}, errAlgorithm(alg, spec)
	}
	return in, nil
}

// Sign signs message with k using the signing algorithm alg and messageType
// (RAW, DIGEST or EXTERNAL_MU; empty means RAW), as AWS KMS Sign does:
//
//   - RSASSA_PKCS1_V1_5_SHA_*: PKCS #1 v1.5 over the SHA-2 digest.
//   - RSASSA_PSS_SHA_*: PSS with MGF1 over the same hash and a salt as long as
//     the hash (Key spec reference: "a 256-bit salt" for SHA-256, ...).
//   - ECDSA_SHA_*: a DER-encoded ECDSA-Sig-Value SEQUENCE {r, s}.
//   - ED25519_SHA_512: pure Ed25519 (RFC 8032) over the RAW message.
//   - ED25519_PH_SHA_512: Ed25519ph of the 64-byte DIGEST message.
//   - ML_DSA_SHAKE_256: pure ML-DSA with an empty context over the RAW
//     message, or over the 64-byte μ with EXTERNAL_MU. Signing is the
//     deterministic variant of FIPS 204, so a RAW signature and the
//     EXTERNAL_MU signature of the same message's μ are identical, as the
//     ML-DSA page of the Developer Guide says of AWS.
//   - SM2DSA: a DER SEQUENCE {r, s} (GB/T 32918.2) over e = SM3(Z_A || M),
//     where Z_A hashes the default distinguishing ID "1234567812345678", the
//     curve and the public key (GM/T 0009); with DIGEST the 32-byte message
//     is e itself, which the caller computed the same way.
//
// Sign does not know the key's KeyUsage: the caller checks that it is
// SIGN_VERIFY first.
func (k *PrivateKey) Sign(alg, messageType string, message []byte) ([]byte, error) {
	in, err := prepare(k.spec, alg, messageType, message)
	if err != nil {
		return nil, err
	}
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		if strings.HasPrefix(alg, "RSASSA_PSS_") {
			return rsa.SignPSS(rand.Reader, key, in.hash, in.digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(nil, key, in.hash, in.digest)
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, key, in.digest)
	case *secp256k1.PrivateKey:
		return signK1(key, in.digest)
	case *sm2.PrivateKey:
		return signSM2(key, in)
	case ed25519.PrivateKey:
		if in.digest != nil {
			return key.Sign(nil, in.digest, &ed25519.Options{Hash: crypto.SHA512})
		}
		return ed25519.Sign(key, in.msg), nil
	case *mldsa.PrivateKey:
		if in.mu {
			return key.SignDeterministic(in.msg, mldsacrypto.MLDSAMu)
		}
		return key.SignDeterministic(in.msg, nil)
	}
	return nil, errKey(k.spec, "unexpected key type %T", k.key)
}

// Verify reports whether sig is a valid signature of message by k with alg
// and messageType. The message type need not be the one used to sign (Verify
// API reference): a RAW message and its DIGEST verify alike. A signature that
// does not verify, including one that is malformed, gives false and no error
// (the service answers KMSInvalidSignatureException); an error means the
// request itself is invalid, as for Sign.
func (k *PublicKey) Verify(alg, messageType string, message, sig []byte) (bool, error) {
	in, err := prepare(k.spec, alg, messageType, message)
	if err != nil {
		return false, err
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		if strings.HasPrefix(alg, "RSASSA_PSS_") {
			return rsa.VerifyPSS(key, in.hash, in.digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil, nil
		}
		return rsa.VerifyPKCS1v15(key, in.hash, in.digest, sig) == nil, nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(key, in.digest, sig), nil
	case *secp256k1.PublicKey:
		return verifyK1(key, in.digest, sig), nil
	case *sm2PublicKey:
		return verifySM2(key, in, sig), nil
	case ed25519.PublicKey:
		if in.digest != nil {
			return ed25519.VerifyWithOptions(key, in.digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil, nil
		}
		return ed25519.Verify(key, in.msg, sig), nil
	case *mldsa.PublicKey:
		if in.mu {
			return verifyMLDSAMu(key, in.msg, sig), nil
		}
		return mldsa.Verify(key, in.msg, sig, nil) == nil, nil
	}
	return false, errKey(k.spec, "unexpected key type %T", k.key)
}

// Sign parses the PKCS #8 private key of spec and signs message with it; see
// PrivateKey.Sign. Callers that sign repeatedly should parse once instead.
func Sign(spec Spec, private []byte, alg, messageType string, message []byte) ([]byte, error) {
	if _, err := prepare(spec, alg, messageType, message); err != nil {
		return nil, err // report request errors before key errors
	}
	k, err := ParsePrivateKey(spec, private)
	if err != nil {
		return nil, err
	}
	return k.Sign(alg, messageType, message)
}

// Verify parses the SubjectPublicKeyInfo of spec and verifies sig with it; see
// PublicKey.Verify.
func Verify(spec Spec, public []byte, alg, messageType string, message, sig []byte) (bool, error) {
	if _, err := prepare(spec, alg, messageType, message); err != nil {
		return false, err
	}
	k, err := ParsePublicKey(spec, public)
	if err != nil {
		return false, err
	}
	return k.Verify(alg, messageType, message, sig)
}

// ExternalMu returns the 64-byte ML-DSA message representative μ of message
// for the ML-DSA public key spki (FIPS 204, Algorithm 7 line 6, with an empty
// context): SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || message, 64). It is
// what a client computes to sign a large message with MessageType
// EXTERNAL_MU.
func ExternalMu(spec Spec, spki, message []byte) ([]byte, error) {
	k, err := ParsePublicKey(spec, spki)
	if err != nil {
		return nil, err
	}
	pk, ok := k.key.(*mldsa.PublicKey)
	if !ok {
		return nil, errAlgorithm("ML_DSA_SHAKE_256", spec)
	}
	return mldsaMu(pk.Bytes(), message), nil
}
