package bolt

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.Run(t, db)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.Put("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(ctx, func(tx store.Tx) error {
		v, err := tx.Get("k")
		if err == nil && string(v) != "v" {
			t.Errorf("Get(k) = %q, want v", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
