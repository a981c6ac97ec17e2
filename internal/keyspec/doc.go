// Package keyspec holds the key specs of AWS KMS and the primitives behind
// them: which KeySpec goes with which KeyUsage (and in which regions), which
// encryption, signing, MAC, key agreement and key encapsulation algorithms
// each allows, the size limits AWS enforces, and the cryptography for every
// asymmetric, HMAC, key agreement and key encapsulation operation.
//
// The package is pure and transport-free: it takes and returns bytes and
// errors, never touches storage, the network or a clock, and keeps no state
// beyond parsed keys the caller chooses to hold. The service core calls it for
// CreateKey, GetPublicKey, Sign, Verify, Encrypt and Decrypt with RSA and SM2
// keys, GenerateMac, VerifyMac, DeriveSharedSecret, Encapsulate and
// Decapsulate with ML-KEM keys, and GenerateDataKeyPair.
//
// Key material formats:
//
//   - Asymmetric private keys are PKCS #8 DER (RFC 5958). For ML-DSA that is
//     the seed-only form of RFC 9881 (a 32-byte seed in [0] IMPLICIT), for
//     ML-KEM the seed-only form of RFC 9935 (the 64-byte d || z in
//     [0] IMPLICIT; the expandedKey and both forms are read too); for
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
//     failure, and an ML-KEM ciphertext of the wrong length, is [ErrDecrypt],
//     so the service answers with one InvalidCiphertextException. (An ML-KEM
//     ciphertext of the right length always decapsulates: FIPS 203's implicit
//     rejection turns a wrong one into an unrelated secret.)
//   - Produce a signature, MAC or shared secret with an algorithm the key spec
//     does not allow.
//
// SM2 (China Regions only at AWS) is implemented with github.com/emmansun/gmsm
// for SM3 and the SM2 curve and schemes; the encodings are AWS's and OpenSSL
// 3's (see sm2.go). ML-KEM (FIPS 203; not in the China Regions) uses the
// standard library's crypto/mlkem for ML-KEM-768 and ML-KEM-1024 and gmsm's
// mlkem for ML-KEM-512, which the standard library lacks, and for keys
// imported in the expanded form (see mlkem.go). Every key spec in the rules
// table is implemented.
package keyspec
