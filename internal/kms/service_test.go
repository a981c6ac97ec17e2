package kms

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/store/memory"
)

var bg = context.Background()

func newTestService(t testing.TB) (*Service, *Caller) {
	t.Helper()
	w, err := keystore.NewSoft(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Region: "us-east-1", Store: memory.New(), Wrapper: w})
	if err != nil {
		t.Fatal(err)
	}
	return s, &Caller{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root"}
}

func ptr[T any](v T) *T { return &v }

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "non-KMS error: " + err.Error()
}

func TestCacheInvalidation(t *testing.T) {
	s, c := newTestService(t)
	k, err := s.CreateKey(bg, c, &CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := k.KeyMetadata.KeyId
	if _, err := s.Encrypt(bg, c, &EncryptRequest{KeyId: &id, Plaintext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if s.keys[id] == nil {
		t.Fatal("Encrypt did not cache the key")
	}
	if _, err := s.DisableKey(bg, c, &KeyRequest{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Encrypt(bg, c, &EncryptRequest{KeyId: &id, Plaintext: []byte("x")}); code(err) != CodeDisabled {
		t.Fatalf("Encrypt after DisableKey = %v, want DisabledException", err)
	}
	if _, err := s.EnableKey(bg, c, &KeyRequest{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Encrypt(bg, c, &EncryptRequest{KeyId: &id, Plaintext: []byte("x")}); err != nil {
		t.Fatalf("Encrypt after EnableKey = %v", err)
	}

	// Alias changes reach cached alias lookups at once.
	k2, _ := s.CreateKey(bg, c, &CreateKeyRequest{})
	if _, err := s.CreateAlias(bg, c, &CreateAliasRequest{AliasName: ptr("alias/a"), TargetKeyId: &id}); err != nil {
		t.Fatal(err)
	}
	enc, _ := s.Encrypt(bg, c, &EncryptRequest{KeyId: ptr("alias/a"), Plaintext: []byte("x")})
	if enc.KeyId != k.KeyMetadata.Arn {
		t.Fatalf("alias/a -> %s", enc.KeyId)
	}
	if _, err := s.UpdateAlias(bg, c, &UpdateAliasRequest{AliasName: ptr("alias/a"), TargetKeyId: &k2.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	enc, _ = s.Encrypt(bg, c, &EncryptRequest{KeyId: ptr("alias/a"), Plaintext: []byte("x")})
	if enc.KeyId != k2.KeyMetadata.Arn {
		t.Fatalf("alias/a after UpdateAlias -> %s, want %s", enc.KeyId, k2.KeyMetadata.Arn)
	}
	if _, err := s.DeleteAlias(bg, c, &DeleteAliasRequest{AliasName: ptr("alias/a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Encrypt(bg, c, &EncryptRequest{KeyId: ptr("alias/a"), Plaintext: []byte("x")}); code(err) != CodeNotFound {
		t.Fatalf("Encrypt(deleted alias) = %v, want NotFoundException", err)
	}
}

func TestOtherAccountCannotSeeKeys(t *testing.T) {
	s, c := newTestService(t)
	k, _ := s.CreateKey(bg, c, &CreateKeyRequest{})
	enc, _ := s.Encrypt(bg, c, &EncryptRequest{KeyId: &k.KeyMetadata.KeyId, Plaintext: []byte("x")})
	other := &Caller{Account: "444455556666", ARN: "arn:aws:iam::444455556666:root"}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"DescribeKey by id", second(s.DescribeKey(bg, other, &DescribeKeyRequest{KeyId: &k.KeyMetadata.KeyId})), CodeNotFound},
		{"DescribeKey by ARN", second(s.DescribeKey(bg, other, &DescribeKeyRequest{KeyId: &k.KeyMetadata.Arn})), CodeAccessDenied},
		{"Decrypt", second(s.Decrypt(bg, other, &DecryptRequest{CiphertextBlob: enc.CiphertextBlob})), CodeAccessDenied},
		{"DisableKey", second(s.DisableKey(bg, other, &KeyRequest{KeyId: &k.KeyMetadata.KeyId})), CodeNotFound},
	}
	for _, c := range cases {
		if got := code(c.err); got != c.want {
			t.Errorf("%s from another account = %v, want %s", c.name, c.err, c.want)
		}
	}
	l, _ := s.ListKeys(bg, other, &ListKeysRequest{})
	if len(l.Keys) != 0 {
		t.Errorf("ListKeys from another account = %v", l.Keys)
	}
}

func second[T any](_ T, err error) error { return err }

func TestValidationMessages(t *testing.T) {
	cases := []struct {
		name string
		fill func(v *validator)
		want string
	}{
		{"null", func(v *validator) { v.required("keyId", false) }, "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"short", func(v *validator) { v.str("keyId", ptr(""), 1, 2048, nil) }, "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"hidden", func(v *validator) { v.blob("plaintext", make([]byte, 4097), true, 1, 4096) }, "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"},
		{"enum", func(v *validator) { v.enum("keySpec", ptr("AES"), "AES_256", "AES_128") }, "1 validation error detected: Value 'AES' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"},
		{"two", func(v *validator) {
			v.num("limit", ptr(int32(0)), 1, 100)
			v.num("numberOfBytes", ptr(int32(2000)), 1, 1024)
		},
			"2 validation errors detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"},
	}
	for _, c := range cases {
		var v validator
		c.fill(&v)
		err := v.err()
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeValidation || e.Message != c.want {
			t.Errorf("%s: got %v, want ValidationException %q", c.name, err, c.want)
		}
	}
}

// BenchmarkEncrypt measures the core of the Encrypt hot path: key lookup in
// the cache, state checks and sealing, without HTTP.
func BenchmarkEncrypt32(b *testing.B) { benchEncrypt(b, 32) }
func BenchmarkEncrypt4K(b *testing.B) { benchEncrypt(b, 4096) }
func BenchmarkDecrypt32(b *testing.B) { benchDecrypt(b, 32) }

func benchEncrypt(b *testing.B, n int) {
	s, c := newTestService(b)
	k, _ := s.CreateKey(bg, c, &CreateKeyRequest{})
	req := &EncryptRequest{KeyId: &k.KeyMetadata.KeyId, Plaintext: make([]byte, n), EncryptionContext: map[string]string{"app": "bench"}}
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		if _, err := s.Encrypt(bg, c, req); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecrypt(b *testing.B, n int) {
	s, c := newTestService(b)
	k, _ := s.CreateKey(bg, c, &CreateKeyRequest{})
	ec := map[string]string{"app": "bench"}
	enc, _ := s.Encrypt(bg, c, &EncryptRequest{KeyId: &k.KeyMetadata.KeyId, Plaintext: make([]byte, n), EncryptionContext: ec})
	req := &DecryptRequest{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Decrypt(bg, c, req); err != nil {
			b.Fatal(err)
		}
	}
}
