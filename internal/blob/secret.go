package blob

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Secret holds key bytes. It is built so that key material cannot leave the
// process by accident: String, GoString and Format print
// "blob.Secret(REDACTED)" for every verb, LogValue gives log/slog the same
// text, and MarshalJSON, MarshalText and MarshalBinary (and so encoding/json,
// encoding/xml and encoding/gob) fail. The only way to the bytes is Expose.
//
// The bytes sit two pointers away from the Secret. fmt prints a Secret held
// in an unexported struct field by reflection, without calling Format, and
// in doing so follows at most one pointer to a struct (a bad verb such as %s
// on a pointer field does that); a second pointer it prints as an address.
// So such a field shows up as {0xc000012345}, never as the key. Tests check
// this for every verb. It also means copies of a Secret share their bytes:
// Destroy on one destroys them all.
//
// The zero Secret holds no bytes.
type Secret struct {
	p *secretBytes
}

type secretBytes struct {
	b *[]byte // a pointer, not a slice: see Secret
}

const redacted = "blob.Secret(REDACTED)"

var errMarshalSecret = errors.New("blob: refusing to marshal a Secret")

// NewSecret returns a Secret holding a copy of b. The caller keeps ownership
// of b and should zero it when done.
func NewSecret(b []byte) Secret {
	c := append([]byte(nil), b...)
	return Secret{&secretBytes{b: &c}}
}

// Expose returns the raw key bytes. The caller must not modify or retain
// them, and must not let them reach a log, an error message, a response or
// storage unwrapped. The name is meant to be alarming at the call site.
func (s Secret) Expose() []byte {
	if s.p == nil {
		return nil
	}
	return *s.p.b
}

// Len returns the number of key bytes, which is not secret.
func (s Secret) Len() int {
	if s.p == nil {
		return 0
	}
	return len(*s.p.b)
}

// Destroy zeroes the key bytes and releases them, for s and every copy of s.
// It is best effort: the garbage collector may already have copied the bytes
// elsewhere, and derived state (such as an expanded AES key schedule) is out
// of its reach.
func (s *Secret) Destroy() {
	if s.p == nil {
		return
	}
	clear(*s.p.b)
	*s.p.b = nil
}

// String returns "blob.Secret(REDACTED)".
func (s Secret) String() string { return redacted }

// GoString returns "blob.Secret(REDACTED)", for %#v.
func (s Secret) GoString() string { return redacted }

// Format writes "blob.Secret(REDACTED)" whatever the verb, so that %x, %d or
// %q cannot print the bytes either.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer with a redacted value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns an error: key material is never serialised as JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return nil, errMarshalSecret }

// MarshalText returns an error: key material is never serialised as text.
func (s Secret) MarshalText() ([]byte, error) { return nil, errMarshalSecret }

// MarshalBinary returns an error. Keys are stored only after a keystore has
// wrapped them, which it does through Expose, never through a marshaller.
func (s Secret) MarshalBinary() ([]byte, error) { return nil, errMarshalSecret }

var (
	_ fmt.Stringer   = Secret{}
	_ fmt.GoStringer = Secret{}
	_ fmt.Formatter  = Secret{}
	_ slog.LogValuer = Secret{}
)
