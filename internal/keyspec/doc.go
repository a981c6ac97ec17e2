// Package keyspec holds the key specs of AWS KMS and the primitives behind
// them: which KeySpec goes with which KeyUsage (and in which regions), which
// encryption, signing, MAC and key agreement algorithms each allows, the size
// limits AWS enforces, and the cryptography for every asymmetric, HMAC and
// key agreement operation.
//
// The package is pure and transport-free: it takes and returns bytes and
// errors, never touches storage, the network or a clock, and keeps no state
// beyond parsed keys the caller chooses to hold. The service core calls it for
// CreateKey, GetPublicKey, Sign, Verify, Encrypt and Decrypt with RSA and SM2
// keys, GenerateMac, VerifyMac, DeriveSharedSecret and GenerateDataKeyPair.
//
// Key material formats:
//
//   - Asymmetric private keys are PKCS #8 DER (RFC 5958). For ML-DSA that is
//     the seed-only form of RFC 9881 (a 32-byte seed in [0] IMPLICIT); for
//     secp256k1 and SM2 the algorithm is id-ecPublicKey with curve
//     1.3.132.0.10 or 1.2.156.10197.1.301 and the inner structure an RFC 5915
//     ECPrivateKey, as OpenSSL writes it.
//   - Public keys are DER SubjectPublicKeyInfo (RFC 5280), the format AWS
//     returns from GetPublicKey and GenerateDataKeyPair.
//   - HMAC keys are raw random bytes.
//
// What it must never do:
//
//   - Return private key material, except from [Generate] (whose result the
//     caller wraps with the keystore before storing it) and
//     [GenerateDataKeyPair] (whose private half AWS returns to the caller).
//   - Print, log or marshal key bytes: [PrivateKey] redacts itself in fmt and
//     refuses JSON and text marshalling.
//   - Tell callers why a decryption failed: every RSA and SM2 decryption
//     failure is [ErrDecrypt], so the service answers with one
//     InvalidCiphertextException.
//   - Produce a signature, MAC or shared secret with an algorithm the key spec
//     does not allow.
//
// SM2 (China Regions only at AWS) is implemented with github.com/emmansun/gmsm
// for SM3 and the SM2 curve and schemes; the encodings are AWS's and OpenSSL
// 3's (see sm2.go). The ML-KEM key specs are in the rules tables but their
// cryptography is not implemented: operations on them return
// [ErrUnsupported].
package keyspec
