package keyspec

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns for a bad request wraps
// exactly one of them (test with errors.Is) and carries, as its Error text,
// the message AWS KMS sends with the matching exception, so the service can
// pass it through unchanged. Where AWS's exact wording could not be found,
// the message follows AWS's style; the comment on each sentinel says which.
var (
	// ErrInvalidKeySpec means CreateKey (or GenerateDataKeyPair) was asked
	// for a key spec and key usage that AWS does not accept together, or not
	// in that region. AWS: ValidationException. Message "KeyUsage X is not
	// compatible with KeySpec Y" as the local-kms and floci emulators return
	// it; AWS's own text for this case is not published.
	ErrInvalidKeySpec = errors.New("keyspec: invalid key spec")

	// ErrInvalidAlgorithm means the encryption, signing, MAC, key agreement
	// or key encapsulation algorithm is not one the key supports. AWS: InvalidKeyUsageException
	// ("The encryption algorithm or signing algorithm specified for the
	// operation is incompatible with the type of key material in the KMS key
	// (KeySpec)", API reference). Message "Algorithm X is incompatible with
	// key spec Y." as local-kms and floci return it.
	ErrInvalidAlgorithm = errors.New("keyspec: algorithm not supported by key spec")

	// ErrMessageType means MessageType is unknown or not allowed with the
	// signing algorithm (DIGEST with ED25519_SHA_512 or ML_DSA_SHAKE_256, RAW
	// with ED25519_PH_SHA_512, EXTERNAL_MU with anything but
	// ML_DSA_SHAKE_256). AWS: ValidationException; message in AWS's style.
	ErrMessageType = errors.New("keyspec: message type not allowed")

	// ErrDigestLength means a DIGEST message is not exactly the length of the
	// algorithm's hash (32 bytes for SM2DSA), or an EXTERNAL_MU message is not
	// 64 bytes. AWS: ValidationException "Digest is invalid length for
	// algorithm X." (as reported by AWS users).
	ErrDigestLength = errors.New("keyspec: invalid digest length")

	// ErrMessageLength means a message, plaintext or MAC is empty or longer
	// than AWS allows (4096 bytes for Sign, Verify, GenerateMac, VerifyMac
	// and Encrypt; 6144 for a MAC). AWS: ValidationException with its
	// standard constraint text.
	ErrMessageLength = errors.New("keyspec: invalid message length")

	// ErrPlaintextTooLong means an RSA or SM2 Encrypt plaintext is longer
	// than the key spec and algorithm allow (see MaxPlaintext). AWS:
	// ValidationException; message in AWS's style.
	ErrPlaintextTooLong = errors.New("keyspec: plaintext too long")

	// ErrInvalidPeerKey means the peer public key of DeriveSharedSecret is
	// not a DER SubjectPublicKeyInfo of a valid point on the key's curve.
	// AWS: ValidationException; message in AWS's style.
	ErrInvalidPeerKey = errors.New("keyspec: invalid peer public key")

	// ErrDecrypt means an RSA or SM2 ciphertext did not decrypt, or an
	// ML-KEM ciphertext for Decapsulate is not the parameter set's length
	// (768, 1088 or 1568 bytes). It is deliberately uninformative. AWS:
	// InvalidCiphertextException.
	ErrDecrypt = errors.New("keyspec: decryption failed")

	// ErrInvalidKey means stored key material is malformed or does not match
	// its key spec. It points at corrupted storage or a bug, never at the
	// request. AWS: KMSInternalException.
	ErrInvalidKey = errors.New("keyspec: key material does not match key spec")
)

// Error is the error type returned for bad requests. Its Error method returns
// the AWS-style message; Unwrap returns one of the sentinels above.
type Error struct {
	kind error
	msg  string
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinel that classifies e.
func (e *Error) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &Error{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func errAlgorithm(alg string, spec Spec) error {
	return newError(ErrInvalidAlgorithm, "Algorithm %s is incompatible with key spec %s.", alg, spec)
}

func errDigest(alg string) error {
	return newError(ErrDigestLength, "Digest is invalid length for algorithm %s.", alg)
}

func errMessageType(mt, alg string) error {
	return newError(ErrMessageType, "Message type %s is incompatible with algorithm %s.", mt, alg)
}

// errLength is AWS's (Smithy's) standard constraint message for a blob field.
func errLength(field string, n, max int) error {
	if n < 1 {
		return newError(ErrMessageLength, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", field)
	}
	return newError(ErrMessageLength, "1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, max)
}

func errKey(spec Spec, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidKey, spec, fmt.Sprintf(format, args...))
}
