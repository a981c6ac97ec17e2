// Package sigv4 verifies AWS Signature Version 4 on incoming requests, so
// that the HTTP layer can tell which access key signed a request before the
// request reaches the KMS core.
//
// It checks both forms AWS accepts: the Authorization header
// ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...") and
// presigned query strings (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Expires). It rebuilds the
// canonical request the way the AWS SDKs build it for services other than
// S3, enforces the clock-skew window, the credential scope (region, service,
// date, terminator) and the presence of the headers that must be signed, and
// compares signatures in constant time. Every refusal is an *Error carrying
// the error type, message and HTTP status that AWS JSON-protocol services
// (KMS among them) use, so that SDK clients see the errors they expect.
//
// The signing key (kDate -> kRegion -> kService -> kSigning) is cached per
// access key, day and service. A cache entry remembers a SHA-256 fingerprint
// of the secret it was derived from and is used only while Lookup keeps
// returning that same secret, so rotating a secret takes effect on the next
// request.
//
// This package must never:
//   - put a secret access key, a derived signing key or the signature it
//     computed into an error, a log line or any other output. The messages
//     it returns quote only what the client itself sent;
//   - accept a request without comparing the signature in constant time;
//   - accept a request whose body differs from the one that was signed: the
//     payload hash is always computed from the body the caller read, never
//     taken from the client (X-Amz-Content-Sha256 is only checked against
//     it, and UNSIGNED-PAYLOAD is refused);
//   - read the request body, do I/O or log. The caller reads the body with
//     its own size limit and supplies the secrets through Lookup.
package sigv4
