// Package keystore holds Keyward's root of trust: the key that wraps every
// piece of key material and every secret before it reaches a store.
//
// A Wrapper never reveals its root key. The soft keystore keeps the root key
// in a 0600 file; a PKCS#11 keystore (an HSM) can implement the same interface.
package keystore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Wrapper encrypts and authenticates small secrets under a root key.
// aad binds a wrapped value to its purpose and owner (for example a key id and
// version), so that a wrapped value moved to another record does not unwrap.
// Implementations are safe for concurrent use.
type Wrapper interface {
	Wrap(plaintext, aad []byte) ([]byte, error)
	// Unwrap returns ErrUnwrap for any wrapped value that is not authentic.
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

// ErrUnwrap reports a wrapped value that fails authentication.
var ErrUnwrap = errors.New("keystore: unwrap failed")

const softVersion = 0x01

// Soft is a Wrapper whose 256-bit root key lives in a file.
type Soft struct {
	aead cipher.AEAD
}

var _ Wrapper = (*Soft)(nil)

// OpenSoft loads the root key from path, creating it (mode 0600, 32 random
// bytes) when the file does not exist. created reports whether it was made.
func OpenSoft(path string) (s *Soft, created bool, err error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, false, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create root key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("write root key: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("sync root key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, false, err
		}
		created = true
	} else if err != nil {
		return nil, false, fmt.Errorf("read root key: %w", err)
	}
	if len(key) != 32 {
		return nil, false, fmt.Errorf("root key %s: want 32 bytes, have %d", path, len(key))
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("root key %s: mode %v is readable by others; want 0600", path, fi.Mode().Perm())
	}
	s, err = NewSoft(key)
	clear(key)
	return s, created, err
}

// NewSoft returns a Soft wrapper for a 32-byte root key. Tests use it directly.
func NewSoft(key []byte) (*Soft, error) {
	if len(key) != 32 {
		return nil, errors.New("keystore: root key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &Soft{aead: aead}, nil
}

// Wrap returns version || nonce || AES-256-GCM(plaintext, aad).
func (s *Soft) Wrap(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+12, 1+12+len(plaintext)+16)
	out[0] = softVersion
	if _, err := rand.Read(out[1:13]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:13], plaintext, s.ad(aad)), nil
}

// Unwrap reverses Wrap.
func (s *Soft) Unwrap(wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < 1+12+16 || wrapped[0] != softVersion {
		return nil, ErrUnwrap
	}
	pt, err := s.aead.Open(nil, wrapped[1:13], wrapped[13:], s.ad(aad))
	if err != nil {
		return nil, ErrUnwrap
	}
	return pt, nil
}

// ad prefixes the caller's aad with the format version so that a value wrapped
// by a future format can never be opened as this one.
func (s *Soft) ad(aad []byte) []byte {
	return append([]byte{softVersion}, bytes.Clone(aad)...)
}
