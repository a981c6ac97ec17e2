// Package storetest is the conformance suite every store.Store engine must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/keyward/keyward/internal/store"
)

// Run exercises s. The store must be empty; Run leaves data behind.
func Run(t *testing.T, s store.Store) {
	ctx := context.Background()
	put := func(t *testing.T, kv ...string) {
		t.Helper()
		if err := s.Update(ctx, func(tx store.Tx) error {
			for i := 0; i < len(kv); i += 2 {
				if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("Update(put) = %v", err)
		}
	}
	get := func(t *testing.T, k string) ([]byte, error) {
		t.Helper()
		var v []byte
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			v, err = tx.Get(k)
			return err
		})
		return v, err
	}
	list := func(t *testing.T, prefix, after string, limit int) []string {
		t.Helper()
		var keys []string
		if err := s.View(ctx, func(tx store.Tx) error {
			es, err := tx.List(prefix, after, limit)
			for _, e := range es {
				keys = append(keys, e.Key+"="+string(e.Value))
			}
			return err
		}); err != nil {
			t.Fatalf("List = %v", err)
		}
		return keys
	}

	t.Run("GetMissing", func(t *testing.T) {
		if _, err := get(t, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(nope) = %v, want ErrNotFound", err)
		}
	})
	t.Run("PutGetOverwriteDelete", func(t *testing.T) {
		put(t, "a/1", "x")
		if v, err := get(t, "a/1"); err != nil || string(v) != "x" {
			t.Fatalf("Get(a/1) = %q, %v, want x", v, err)
		}
		put(t, "a/1", "y")
		if v, _ := get(t, "a/1"); string(v) != "y" {
			t.Fatalf("Get(a/1) after overwrite = %q, want y", v)
		}
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Delete("a/1") }); err != nil {
			t.Fatal(err)
		}
		if _, err := get(t, "a/1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
		}
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Delete("a/never") }); err != nil {
			t.Fatalf("Delete(missing) = %v, want nil", err)
		}
	})
	t.Run("EmptyValue", func(t *testing.T) {
		put(t, "empty", "")
		if v, err := get(t, "empty"); err != nil || len(v) != 0 {
			t.Fatalf("Get(empty) = %q, %v", v, err)
		}
	})
	t.Run("RollbackOnError", func(t *testing.T) {
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put("rb/1", []byte("v")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		if _, err := get(t, "rb/1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("write of failed tx visible: %v", err)
		}
	})
	t.Run("ReadOnlyView", func(t *testing.T) {
		err := s.View(ctx, func(tx store.Tx) error { return tx.Put("ro", []byte("x")) })
		if !errors.Is(err, store.ErrReadOnly) {
			t.Fatalf("Put in View = %v, want ErrReadOnly", err)
		}
		err = s.View(ctx, func(tx store.Tx) error { return tx.Delete("ro") })
		if !errors.Is(err, store.ErrReadOnly) {
			t.Fatalf("Delete in View = %v, want ErrReadOnly", err)
		}
	})
	t.Run("ReadYourWrites", func(t *testing.T) {
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put("ryw/b", []byte("2")); err != nil {
				return err
			}
			v, err := tx.Get("ryw/b")
			if err != nil || string(v) != "2" {
				return fmt.Errorf("Get in tx = %q, %v", v, err)
			}
			es, err := tx.List("ryw/", "", 0)
			if err != nil || len(es) != 1 {
				return fmt.Errorf("List in tx = %v, %v", es, err)
			}
			return tx.Delete("ryw/b")
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ListOrderPrefixPaging", func(t *testing.T) {
		put(t, "l/c", "3", "l/a", "1", "l/b", "2", "l/bb", "22", "m/a", "x", "k/z", "y")
		cases := []struct {
			prefix, after string
			limit         int
			want          string
		}{
			{"l/", "", 0, "[l/a=1 l/b=2 l/bb=22 l/c=3]"},
			{"l/", "", 2, "[l/a=1 l/b=2]"},
			{"l/", "l/b", 2, "[l/bb=22 l/c=3]"},
			{"l/", "l/bb", 0, "[l/c=3]"},
			{"l/", "l/c", 0, "[]"},
			{"l/", "l/0", 1, "[l/a=1]"},                   // marker that is not a key
			{"l/", "a", 0, "[l/a=1 l/b=2 l/bb=22 l/c=3]"}, // marker before the prefix
			{"l/", "z", 0, "[]"},                          // marker after the prefix
			{"n/", "", 0, "[]"},
		}
		for _, c := range cases {
			if got := fmt.Sprint(list(t, c.prefix, c.after, c.limit)); got != c.want {
				t.Errorf("List(%q, %q, %d) = %s, want %s", c.prefix, c.after, c.limit, got, c.want)
			}
		}
	})
	t.Run("ReturnedValuesAreCopies", func(t *testing.T) {
		put(t, "cp", "abc")
		v, _ := get(t, "cp")
		v[0] = 'z'
		if v2, _ := get(t, "cp"); string(v2) != "abc" {
			t.Fatalf("store value changed through returned slice: %q", v2)
		}
	})
	t.Run("ConcurrentUpdates", func(t *testing.T) {
		// Read-modify-write from many goroutines must not lose increments.
		put(t, "ctr", "0")
		var wg sync.WaitGroup
		const n = 20
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Update(ctx, func(tx store.Tx) error {
					v, err := tx.Get("ctr")
					if err != nil {
						return err
					}
					var c int
					fmt.Sscan(string(v), &c)
					return tx.Put("ctr", []byte(fmt.Sprint(c+1)))
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if v, _ := get(t, "ctr"); string(v) != fmt.Sprint(n) {
			t.Fatalf("counter = %s, want %d", v, n)
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Update(cctx, func(tx store.Tx) error { return tx.Put("cancel", nil) }); err == nil {
			t.Fatal("Update with canceled context succeeded")
		}
	})
}
