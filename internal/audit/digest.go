package audit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// digestVersion is the version of the digest payload format.
const digestVersion = 1

// signingContext prefixes every signed digest payload, so that a signature
// made by the digest key can never be mistaken for one over something else
// the same key might sign.
const signingContext = "keyward audit digest v1\n"

// digest is the signed payload of a digest file. Its field names follow
// CloudTrail's digest files where one exists.
type digest struct {
	Version   int       `json:"version"`
	LogID     string    `json:"logId"` // random, fixed when the directory is first used
	DigestSeq uint64    `json:"digestSeq"`
	StartTime time.Time `json:"digestStartTime"`
	EndTime   time.Time `json:"digestEndTime"`
	Reason    string    `json:"reason"` // "interval", "close" or "open"

	PreviousDigestFile      string   `json:"previousDigestFile,omitempty"`
	PreviousDigestHash      *hexHash `json:"previousDigestHashValue,omitempty"` // SHA-256 of the previous payload
	PreviousDigestSignature []byte   `json:"previousDigestSignature,omitempty"`

	// LogFiles lists every log file closed since the previous digest.
	LogFiles []digestFile `json:"logFiles"`
	// LastSeq and LastHash are the chain head when the digest was made.
	LastSeq  uint64  `json:"lastSeq"`
	LastHash hexHash `json:"lastHash"`

	Floor    floor     `json:"floor"`
	Deleted  []string  `json:"deletedFiles,omitempty"` // removed by retention right after this digest
	Recovery *Recovery `json:"recovery,omitempty"`
	// NewKey marks the first digest a key new to the trail signed
	// (Options.NewKey): it links to the digests before it, but vouches for
	// nothing they say.
	NewKey bool `json:"newKey,omitempty"`

	PublicKeyFingerprint string `json:"digestPublicKeyFingerprint"`
	SignatureAlgorithm   string `json:"digestSignatureAlgorithm"`
}

// digestFile describes one closed log file.
type digestFile struct {
	Name          string    `json:"name"`
	Size          int64     `json:"size"`
	Hash          hexHash   `json:"hashValue"` // SHA-256 of the whole file
	FirstSeq      uint64    `json:"firstSeq"`
	LastSeq       uint64    `json:"lastSeq"`
	FirstPrevHash hexHash   `json:"firstPrevHash"`
	LastHash      hexHash   `json:"lastHash"`
	Created       time.Time `json:"created"`
	LastWrite     time.Time `json:"lastWrite"`
}

// floor records where the retained log begins, so that retention can delete
// old files without breaking verification: Verify trusts the floor of the
// newest validly signed digest and checks everything from there on.
type floor struct {
	Seq        uint64   `json:"seq"`      // first record that must be present
	PrevHash   hexHash  `json:"prevHash"` // its prevHash
	DigestSeq  uint64   `json:"digestSeq,omitempty"`
	DigestHash *hexHash `json:"digestHashValue,omitempty"` // oldest digest that must be present; none when DigestSeq is 0
}

// Recovery reports a torn tail that Open cut from the last log file after an
// unclean shutdown. The next digest records it too, so the cut is itself
// signed and visible to Verify's readers.
type Recovery struct {
	File    string    `json:"file"`
	Offset  int64     `json:"offset"`  // the file now ends here
	Bytes   int64     `json:"bytes"`   // bytes removed
	SHA256  string    `json:"sha256"`  // of the removed bytes, as evidence
	Records int       `json:"records"` // complete but unverifiable lines among them
	Time    time.Time `json:"time"`
}

// digestEnvelope is the content of a digest file: the payload exactly as
// signed, and the signature over signingContext || payload.
type digestEnvelope struct {
	Payload   json.RawMessage `json:"payload"`
	Signature []byte          `json:"signature"`
}

type parsedDigest struct {
	digest
	payload []byte
	sig     []byte
	hash    hexHash // SHA-256 of payload
}

func parseDigest(data []byte) (*parsedDigest, error) {
	var env digestEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("audit: parse digest: %w", err)
	}
	p := &parsedDigest{payload: env.Payload, sig: env.Signature, hash: sha256Sum(env.Payload)}
	if err := json.Unmarshal(env.Payload, &p.digest); err != nil {
		return nil, fmt.Errorf("audit: parse digest payload: %w", err)
	}
	if p.Version != digestVersion {
		return nil, fmt.Errorf("audit: digest version %d not supported", p.Version)
	}
	return p, nil
}

func marshalDigest(d *digest, signer crypto.Signer) (*parsedDigest, []byte, error) {
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, nil, err
	}
	sig, err := sign(signer, payload)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: sign digest: %w", err)
	}
	file, err := json.Marshal(digestEnvelope{Payload: payload, Signature: sig})
	if err != nil {
		return nil, nil, err
	}
	return &parsedDigest{digest: *d, payload: payload, sig: sig, hash: sha256Sum(payload)}, append(file, '\n'), nil
}

func sign(s crypto.Signer, payload []byte) ([]byte, error) {
	msg := append([]byte(signingContext), payload...)
	if _, ok := s.Public().(ed25519.PublicKey); ok {
		return s.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	h := sha256.Sum256(msg)
	return s.Sign(rand.Reader, h[:], crypto.SHA256)
}

var errBadSignature = errors.New("signature does not verify")

func verifySignature(pub crypto.PublicKey, payload, sig []byte) error {
	msg := append([]byte(signingContext), payload...)
	h := sha256.Sum256(msg)
	ok := false
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		ok = len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pub, h[:], sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
	default:
		return fmt.Errorf("audit: unsupported public key type %T", pub)
	}
	if !ok {
		return errBadSignature
	}
	return nil
}

// keyInfo returns the algorithm name and the SHA-256 fingerprint of the
// PKIX encoding of a digest-signing public key.
func keyInfo(pub crypto.PublicKey) (alg, fingerprint string, err error) {
	switch pub.(type) {
	case ed25519.PublicKey:
		alg = "Ed25519"
	case *ecdsa.PublicKey:
		alg = "ECDSA-SHA256"
	case *rsa.PublicKey:
		alg = "RSA-PKCS1v15-SHA256"
	default:
		return "", "", fmt.Errorf("audit: unsupported signer key type %T", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("audit: signer public key: %w", err)
	}
	return alg, sha256Sum(der).String(), nil
}
