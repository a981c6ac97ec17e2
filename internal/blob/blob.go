// Package blob implements Keyward's symmetric ciphertext format, the
// SP 800-108 key derivation it uses, and Secret, the type that carries key
// bytes.
//
// A blob is what Encrypt returns to a KMS client and what Decrypt takes back.
// It is self-describing: its header names the key and key version that
// sealed it, so Decrypt needs no key id, and it authenticates everything,
// header and encryption context included, with AES-256-GCM.
//
// This package must never:
//   - tell a caller why a blob was rejected. Open and ParseHeader return
//     ErrInvalid, and only ErrInvalid, for every malformed, truncated,
//     tampered or mis-keyed blob, so that a client cannot use Decrypt as an
//     oracle (AWS KMS likewise answers InvalidCiphertextException, whatever
//     went wrong);
//   - release plaintext before the GCM tag has been verified;
//   - let key bytes be printed, logged or marshalled (see Secret);
//   - do I/O, logging or key lookup. Callers find the key material from
//     ParseHeader and pass it in.
//
// # Format v1
//
// All integers are big-endian.
//
//	offset  size  field
//	     0     1  version, 0x01
//	     1    16  key id: the KMS key's UUID, its 32 hex digits as 16 bytes in order
//	    17     4  key version, uint32
//	    21    32  salt, random
//	    53    12  nonce, random
//	    65     n  AES-256-GCM ciphertext of the n-byte plaintext
//	  65+n    16  GCM tag
//
// Bytes 0 to 64 are the header. With material the key version's 32-byte
// backing key:
//
//	message key = DeriveKey(material, "keyward/v1/encrypt", header, 32)
//	AAD         = header || EncodeContext(encryptionContext)
//	blob        = header || AES-256-GCM-Seal(message key, nonce, plaintext, AAD)
//
// Overhead is 65 + 16 = 81 bytes.
//
// Why a fresh key per message: with one key and random 96-bit nonces, GCM
// must stop at 2^32 messages to keep the chance of a nonce collision, which
// would reveal the GHASH key and allow forgeries, below 2^-32 (SP 800-38D
// section 8.3). Deriving each message's key from a 256-bit random salt takes
// that limit off a key version, however long it stays in use. The random
// nonce then matters little, but costs nothing and keeps every message key
// and nonce pair unique even if the salt were ever repeated.
//
// Why the header goes into the KDF as well as the AAD: the AAD alone already
// stops a header from being altered. Deriving the key from it as well means a
// blob whose key id or version is rewritten is decrypted, if at all, under an
// unrelated key. The label, in turn, keeps message keys apart from anything
// else the same material may ever be used to derive.
package blob

import (
	"crypto/aes"
	"crypto/cipher"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrInvalid is the only error Open and ParseHeader return for a blob they
// reject, whatever the reason.
var ErrInvalid = errors.New("blob: invalid ciphertext")

// Version1 is the first byte of every blob in format v1.
const Version1 = 0x01

// MaterialSize is the size of the key material Seal and Open take: an
// AES-256 key's worth.
const MaterialSize = 32

const (
	keyIDOffset      = 1
	keyVersionOffset = keyIDOffset + 16
	saltOffset       = keyVersionOffset + 4
	nonceOffset      = saltOffset + 32
	headerSize       = nonceOffset + 12 // 65
	tagSize          = 16
)

// Overhead is the number of bytes Seal adds to a plaintext:
// len(Seal(...)) - len(plaintext).
const Overhead = headerSize + tagSize

// encryptLabel is the SP 800-108 label for deriving message keys. The version
// in it keeps keys for a future format apart from v1's. It must contain no
// 0x00 byte (see DeriveKey).
var encryptLabel = []byte("keyward/v1/encrypt")

// Header is the authenticated, self-describing part of a blob that
// identifies the key that sealed it.
type Header struct {
	// KeyID is the KMS key's id, a canonical lowercase UUID such as
	// "1234abcd-12ab-34cd-56ef-1234567890ab". It is stored as 16 bytes.
	KeyID string
	// KeyVersion is the version of the key's backing material; rotation
	// adds versions.
	KeyVersion uint32
}

// Seal encrypts plaintext under a fresh key derived from material and returns
// the blob. material must be exactly MaterialSize bytes, and h.KeyID a
// canonical lowercase UUID. The salt and nonce are read from rand, or from
// crypto/rand if rand is nil, so sealing the same plaintext twice gives two
// different blobs. A nil and an empty encryptionContext are the same.
//
// Seal's errors concern its arguments, not secrets, and may be shown to an
// operator.
func Seal(rand io.Reader, material Secret, h Header, plaintext []byte, encryptionContext map[string]string) ([]byte, error) {
	if material.Len() != MaterialSize {
		return nil, materialSizeError(material.Len())
	}
	id, ok := parseKeyID(h.KeyID)
	if !ok {
		return nil, fmt.Errorf("blob: key id %q is not a canonical lowercase UUID", h.KeyID)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}

	// One allocation holds the blob and, in the capacity past its end, the
	// AAD (a copy of the header followed by the encoded context). GCM needs
	// the AAD contiguous; building it there saves a second buffer. The
	// returned slice is capped at the blob's end so the AAD is unreachable
	// through it.
	end := headerSize + len(plaintext) + tagSize
	buf := make([]byte, headerSize, end+headerSize+contextLen(encryptionContext))
	header := buf[:headerSize]
	header[0] = Version1
	copy(header[keyIDOffset:keyVersionOffset], id[:])
	binary.BigEndian.PutUint32(header[keyVersionOffset:saltOffset], h.KeyVersion)
	if _, err := io.ReadFull(rand, header[saltOffset:headerSize]); err != nil {
		return nil, fmt.Errorf("blob: reading salt and nonce: %w", err)
	}
	aad := append(buf[end:end], header...)
	aad = appendContext(aad, encryptionContext)

	aead, err := messageAEAD(material, header)
	if err != nil {
		return nil, err
	}
	// GCM appends the ciphertext and tag to header, inside buf's capacity,
	// so they land at buf[headerSize:end] without another allocation.
	out := aead.Seal(header, header[nonceOffset:headerSize], plaintext, aad)
	return out[:end:end], nil
}

// ParseHeader returns the header of blob without decrypting it, so that the
// caller can find the key material to Open it with. The header is not
// authenticated until Open succeeds: use it to choose a key, and trust
// nothing else about it before then.
//
// ParseHeader returns ErrInvalid, and no other error, if blob is shorter
// than Overhead or is not format v1.
func ParseHeader(blob []byte) (Header, error) {
	if !wellFormed(blob) {
		return Header{}, ErrInvalid
	}
	return Header{
		KeyID:      formatKeyID((*[16]byte)(blob[keyIDOffset:keyVersionOffset])),
		KeyVersion: binary.BigEndian.Uint32(blob[keyVersionOffset:saltOffset]),
	}, nil
}

// Open authenticates and decrypts blob with material, which must be the
// material of the key version named in its header, under encryptionContext,
// which must equal the one given to Seal (nil and empty are the same).
//
// Any tampering, truncation, unknown version, wrong context or wrong
// material gives ErrInvalid and nothing else, and no plaintext. Open returns
// another error only when it could not have opened any blob: material that
// is not MaterialSize bytes long (checked before the blob is looked at), or
// an AES-GCM that cannot be built, as under GODEBUG=fips140=only, which
// refuses caller-chosen GCM nonces. Such errors say nothing about the blob;
// callers should treat them as internal errors, not as bad ciphertext.
func Open(material Secret, blob []byte, encryptionContext map[string]string) ([]byte, error) {
	if material.Len() != MaterialSize {
		return nil, materialSizeError(material.Len())
	}
	if !wellFormed(blob) {
		return nil, ErrInvalid
	}
	header := blob[:headerSize]
	ciphertext := blob[headerSize:]

	// As in Seal, one allocation holds the plaintext and, past it, the AAD.
	n := len(ciphertext) - tagSize
	buf := make([]byte, n, n+headerSize+contextLen(encryptionContext))
	aad := append(buf[n:n], header...)
	aad = appendContext(aad, encryptionContext)

	aead, err := messageAEAD(material, header)
	if err != nil {
		return nil, err
	}
	plaintext, err := aead.Open(buf[:0], header[nonceOffset:headerSize], ciphertext, aad)
	if err != nil {
		// cipher.AEAD does not say why; neither do we.
		return nil, ErrInvalid
	}
	return plaintext[:n:n], nil
}

// wellFormed reports whether blob is long enough to be a v1 blob and starts
// with the v1 version byte. Neither fact is secret, so returning early on
// them leaks nothing that the blob does not already show.
func wellFormed(blob []byte) bool {
	return len(blob) >= Overhead && blob[0] == Version1
}

// messageAEAD returns AES-256-GCM keyed with the message key for header.
func messageAEAD(material Secret, header []byte) (cipher.AEAD, error) {
	var key [32]byte
	deriveKey(key[:0], material.Expose(), encryptLabel, header, len(key))
	block, err := aes.NewCipher(key[:])
	// The cipher has expanded its own copy of the key; this one is no
	// longer needed. (The expanded schedule lives as long as the AEAD.)
	clear(key[:])
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return aead, nil
}

func materialSizeError(n int) error {
	return fmt.Errorf("blob: key material is %d bytes, want %d", n, MaterialSize)
}

// parseKeyID parses a canonical lowercase UUID (hex digits in groups of
// 8-4-4-4-12 joined by hyphens). Only that one spelling is accepted,
// so that the 16 stored bytes and the KeyID string map one to one and
// ParseHeader gives back exactly the string that was sealed.
func parseKeyID(s string) (id [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	j := 0
	for i := 0; i < len(s); {
		if i == 8 || i == 13 || i == 18 || i == 23 { // the hyphens, checked above
			i++
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return id, false
		}
		id[j] = hi<<4 | lo
		j++
		i += 2
	}
	return id, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// formatKeyID is the inverse of parseKeyID.
func formatKeyID(id *[16]byte) string {
	const hexDigits = "0123456789abcdef"
	var s [36]byte
	j := 0
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j] = hexDigits[b>>4]
		s[j+1] = hexDigits[b&0x0f]
		j += 2
	}
	return string(s[:])
}
