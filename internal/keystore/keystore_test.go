package keystore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSoftRoundTripAndBinding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root.key")
	s, created, err := OpenSoft(path)
	if err != nil || !created {
		t.Fatalf("OpenSoft = %v, created %v", err, created)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode = %v, want 0600", fi.Mode().Perm())
	}
	w, err := s.Wrap([]byte("secret"), []byte("key/1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, []byte("secret")) {
		t.Fatal("wrapped value contains the plaintext")
	}
	s2, created, err := OpenSoft(path)
	if err != nil || created {
		t.Fatalf("reopen = %v, created %v", err, created)
	}
	if pt, err := s2.Unwrap(w, []byte("key/1")); err != nil || string(pt) != "secret" {
		t.Fatalf("Unwrap = %q, %v", pt, err)
	}
	if _, err := s2.Unwrap(w, []byte("key/2")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("Unwrap with other aad = %v, want ErrUnwrap", err)
	}
	for i := range w {
		bad := bytes.Clone(w)
		bad[i] ^= 1
		if _, err := s2.Unwrap(bad, []byte("key/1")); !errors.Is(err, ErrUnwrap) {
			t.Fatalf("Unwrap(flip %d) = %v, want ErrUnwrap", i, err)
		}
	}
	other, _ := NewSoft(make([]byte, 32))
	if _, err := other.Unwrap(w, []byte("key/1")); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("Unwrap under another root = %v, want ErrUnwrap", err)
	}
}

func TestSoftRefusesLooseModeAndBadLength(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "loose")
	os.WriteFile(p, make([]byte, 32), 0o644)
	if _, _, err := OpenSoft(p); err == nil {
		t.Error("OpenSoft accepted a world-readable root key")
	}
	p = filepath.Join(dir, "short")
	os.WriteFile(p, make([]byte, 16), 0o600)
	if _, _, err := OpenSoft(p); err == nil {
		t.Error("OpenSoft accepted a 16-byte root key")
	}
}
