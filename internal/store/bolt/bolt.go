// Package bolt is the default embedded Store engine: one bbolt file in the
// data directory. bbolt fsyncs on every committed write transaction, so an
// Update that returns nil has reached the disk.
package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/keyward/keyward/internal/store"
	bbolt "go.etcd.io/bbolt"
)

var bucket = []byte("keyward")

// DB is a store.Store backed by a bbolt file.
type DB struct {
	db *bbolt.DB
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path with mode 0600.
// It fails fast if another process holds the file.
func Open(path string) (*DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("init store: %w", err)
	}
	return &DB{db: db}, nil
}

// View runs fn in a read-only transaction.
func (d *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.db.View(func(tx *bbolt.Tx) error {
		return fn(&boltTx{b: tx.Bucket(bucket)})
	})
}

// Update runs fn in a read-write transaction, committed and synced if fn returns nil.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.db.Update(func(tx *bbolt.Tx) error {
		return fn(&boltTx{b: tx.Bucket(bucket), rw: true})
	})
}

// Close closes the file.
func (d *DB) Close() error { return d.db.Close() }

type boltTx struct {
	b  *bbolt.Bucket
	rw bool
}

func (t *boltTx) Get(key string) ([]byte, error) {
	v := t.b.Get([]byte(key))
	if v == nil {
		return nil, store.ErrNotFound
	}
	// bbolt's slice is only valid inside the transaction.
	return bytes.Clone(v), nil
}

func (t *boltTx) Put(key string, value []byte) error {
	if !t.rw {
		return store.ErrReadOnly
	}
	if value == nil {
		value = []byte{}
	}
	return t.b.Put([]byte(key), value)
}

func (t *boltTx) Delete(key string) error {
	if !t.rw {
		return store.ErrReadOnly
	}
	return t.b.Delete([]byte(key))
}

func (t *boltTx) List(prefix, after string, limit int) ([]store.Entry, error) {
	var out []store.Entry
	c := t.b.Cursor()
	p := []byte(prefix)
	var k, v []byte
	if after != "" && after >= prefix {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(p)
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, store.Entry{Key: string(k), Value: bytes.Clone(v)})
	}
	return out, nil
}
