// Package store defines the small transactional key-value interface that every
// Keyward storage engine implements, in the spirit of Vault's physical backend.
//
// The store is untrusted: key material reaches it only after the keystore has
// wrapped it, so a dump of any engine reveals no key. Engines must be ACID and
// must not acknowledge a committed Update before it is durable.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Tx.Get for a key that does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrReadOnly is returned by Put and Delete inside a View transaction.
var ErrReadOnly = errors.New("store: read-only transaction")

// Store is a transactional, ordered key-value store.
//
// Keys are UTF-8 strings ordered bytewise; values are opaque bytes. A
// transaction sees a consistent snapshot. Update transactions are serialised
// (or behave as if they were): if fn returns nil the writes are committed and
// durable before Update returns; if it returns an error nothing is written.
// Implementations are safe for concurrent use.
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. It must not be used after its function returns.
// Values returned by Get and List are owned by the caller.
type Tx interface {
	// Get returns the value of key, or ErrNotFound.
	Get(key string) ([]byte, error)
	// Put sets key to value.
	Put(key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key string) error
	// List returns up to limit entries whose keys start with prefix and sort
	// strictly after the key after (or from the first key when after is ""),
	// in ascending key order. limit <= 0 means no limit.
	List(prefix, after string, limit int) ([]Entry, error)
}

// Entry is one key and its value.
type Entry struct {
	Key   string
	Value []byte
}
