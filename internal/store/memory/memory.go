// Package memory is an in-memory Store engine for tests. It is not durable.
package memory

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/keyward/keyward/internal/store"
)

// DB is an in-memory store.Store. Updates are serialised by a mutex and
// applied atomically on success.
type DB struct {
	mu sync.RWMutex
	m  map[string][]byte
}

var _ store.Store = (*DB)(nil)

// New returns an empty store.
func New() *DB { return &DB{m: map[string][]byte{}} }

// View runs fn against a consistent view.
func (d *DB) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return fn(&memTx{db: d})
}

// Update runs fn; its writes are applied only if fn returns nil.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	tx := &memTx{db: d, rw: true, writes: map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.writes {
		if v == nil {
			delete(d.m, k)
		} else {
			d.m[k] = v
		}
	}
	return nil
}

// Close does nothing.
func (d *DB) Close() error { return nil }

type memTx struct {
	db     *DB
	rw     bool
	writes map[string][]byte // nil value = deleted
}

func (t *memTx) lookup(k string) ([]byte, bool) {
	if v, ok := t.writes[k]; ok {
		return v, v != nil
	}
	v, ok := t.db.m[k]
	return v, ok
}

func (t *memTx) Get(key string) ([]byte, error) {
	v, ok := t.lookup(key)
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *memTx) Put(key string, value []byte) error {
	if !t.rw {
		return store.ErrReadOnly
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	t.writes[key] = v
	return nil
}

func (t *memTx) Delete(key string) error {
	if !t.rw {
		return store.ErrReadOnly
	}
	t.writes[key] = nil
	return nil
}

func (t *memTx) List(prefix, after string, limit int) ([]store.Entry, error) {
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if seen[k] || !strings.HasPrefix(k, prefix) || (after != "" && k <= after) {
			return
		}
		seen[k] = true
		if _, ok := t.lookup(k); ok {
			keys = append(keys, k)
		}
	}
	for k := range t.db.m {
		add(k)
	}
	for k := range t.writes {
		add(k)
	}
	sort.Strings(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]store.Entry, len(keys))
	for i, k := range keys {
		v, _ := t.lookup(k)
		out[i] = store.Entry{Key: k, Value: bytes.Clone(v)}
	}
	return out, nil
}
