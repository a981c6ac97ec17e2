package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/bolt"
)

// failingStore is a store whose writes fail while fail is set, as on a
// damaged or read-only disk.
type failingStore struct {
	store.Store
	fail atomic.Bool
}

var errStoreDown = errors.New("store is down (test)")

func (f *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if f.fail.Load() {
		return errStoreDown
	}
	return f.Store.Update(ctx, fn)
}

// openRootAndStore opens a data directory's root key and store as the
// server does, closing the store when the test ends.
func openRootAndStore(t *testing.T, dir string) (*keystore.Soft, *bolt.DB) {
	t.Helper()
	root, _, err := keystore.OpenSoft(filepath.Join(dir, rootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return root, db
}

// lockedBuffer is a log destination the saver goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// A store that fails while records keep coming makes the mark saver log
// once, not every second, and say when saving works again; the mark it
// then saves is the trail's durable one.
func TestMarkSaverLogsAFailingStoreOnce(t *testing.T) {
	dir := t.TempDir()
	root, db := openRootAndStore(t, dir)
	st := &failingStore{Store: db}
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(filepath.Join(dir, auditDirName), audit.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var logged lockedBuffer
	s := &Server{
		cfg:   Config{AuditUsageSaveInterval: time.Hour},
		log:   slog.New(slog.NewTextHandler(&logged, nil)),
		store: st,
		aud:   serverAudit{root: root},
	}
	ctx := context.Background()
	// appendFor appends a record every 100 ms for d, so that every tick of
	// the mark saver finds the trail grown.
	appendFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if err := l.Append(ctx, &audit.Event{EventName: "Encrypt"}); err != nil {
				t.Fatal(err)
			}
		}
	}

	st.fail.Store(true)
	s.startSavers(l)
	appendFor(3500 * time.Millisecond) // three or four ticks, each failing
	warns := strings.Count(logged.String(), "could not save the audit mark")
	if warns != 1 {
		t.Errorf("%d warnings for 3.5 s of a failing store, want 1:\n%s", warns, logged.String())
	}

	st.fail.Store(false)
	appendFor(1500 * time.Millisecond)
	s.aud.saverStop()
	<-s.aud.saverDone
	out := logged.String()
	if n := strings.Count(out, "saved the audit mark again"); n != 1 {
		t.Errorf("%d lines saying the mark saves again, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "failed_saves=3") && !strings.Contains(out, "failed_saves=4") {
		t.Errorf("the recovery line does not count 3 or 4 failed saves:\n%s", out)
	}
	if n := strings.Count(out, "could not save"); n != 1 {
		t.Errorf("%d warnings in all, want 1:\n%s", n, out)
	}

	// The mark the saver stored after recovering is a record the trail
	// made durable, at most a second before the last one.
	got, err := loadAuditMark(ctx, st, root)
	if err != nil {
		t.Fatal(err)
	}
	want := l.Durable()
	if got.LogID != want.LogID || got.Seq == 0 || got.Seq > want.Seq || want.Seq-got.Seq > 12 {
		t.Errorf("stored mark %s #%d, want log %s near record %d", got.LogID, got.Seq, want.LogID, want.Seq)
	}
}

// A replacement signing key stored for --audit-new-trail and taken back
// when the start is refused leaves the store's audit entries as they were,
// whether or not it held a mark: storeAuditKey adds the first mark only
// where there was none, and says so.
func TestTakeBackAuditKey(t *testing.T) {
	for _, tt := range []struct {
		name string
		mark []byte // the stored audit mark; nil for none
	}{
		{"mark kept", []byte("a wrapped mark (test)")},
		{"no mark", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, st := openRootAndStore(t, t.TempDir())
			ctx := context.Background()
			if tt.mark != nil {
				if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put(auditMarkStoreName, tt.mark) }); err != nil {
					t.Fatal(err)
				}
			}
			entries := func() (key, mark []byte) {
				t.Helper()
				err := st.View(ctx, func(tx store.Tx) error {
					for name, dst := range map[string]*[]byte{auditKeyStoreName: &key, auditMarkStoreName: &mark} {
						b, err := tx.Get(name)
						if errors.Is(err, store.ErrNotFound) {
							continue
						} else if err != nil {
							return err
						}
						*dst = bytes.Clone(b)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return key, mark
			}

			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			signer, added, err := storeAuditKey(ctx, st, root, priv)
			if err != nil {
				t.Fatal(err)
			}
			if !priv.Equal(signer) || added != (tt.mark == nil) {
				t.Errorf("storeAuditKey: the new key returned %v, added a mark %v; want true, %v", priv.Equal(signer), added, tt.mark == nil)
			}
			if key, mark := entries(); key == nil || mark == nil {
				t.Fatalf("after storeAuditKey: key stored %v, mark stored %v", key != nil, mark != nil)
			}
			if err := takeBackAuditKey(ctx, st, added); err != nil {
				t.Fatal(err)
			}
			if key, mark := entries(); key != nil || !bytes.Equal(mark, tt.mark) {
				t.Errorf("after takeBackAuditKey: key stored %v, mark %q; want none and %q", key != nil, mark, tt.mark)
			}
		})
	}
}
