package kms

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleKeyDeletion(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	ct := e.encrypt(k.KeyId, "x")
	out, err := e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	when := t0.Add(30 * day)
	if out.KeyId != k.Arn || out.KeyState != "PendingDeletion" || out.PendingWindowInDays == nil || *out.PendingWindowInDays != 30 ||
		out.DeletionDate == nil || !time.Time(*out.DeletionDate).Equal(when) {
		t.Fatalf("ScheduleKeyDeletion = %+v", out)
	}
	m := e.describe(k.KeyId)
	if m.KeyState != "PendingDeletion" || m.Enabled || m.DeletionDate == nil || !time.Time(*m.DeletionDate).Equal(when) ||
		m.PendingDeletionWindowInDays == nil || *m.PendingDeletionWindowInDays != 30 {
		t.Errorf("DescribeKey = %+v", m)
	}
	pending := k.Arn + " is pending deletion."
	wantErr(t, "Encrypt", second(e.s.Encrypt(bg, e.c, &EncryptRequest{KeyId: &k.KeyId, Plaintext: []byte("x")})), CodeInvalidState, pending)
	wantErr(t, "Decrypt", second(e.decrypt(ct)), CodeInvalidState, pending)
	wantErr(t, "GenerateDataKey", second(e.s.GenerateDataKey(bg, e.c, &GenerateDataKeyRequest{KeyId: &k.KeyId, KeySpec: ptr("AES_256")})), CodeInvalidState, pending)
	wantErr(t, "EnableKey", second(e.s.EnableKey(bg, e.c, &KeyRequest{KeyId: &k.KeyId})), CodeInvalidState, pending)
	wantErr(t, "ScheduleKeyDeletion again", second(e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId})), CodeInvalidState, pending)
	for _, w := range []int32{6, 31} {
		err := second(e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId, PendingWindowInDays: &w}))
		wantErr(t, "PendingWindowInDays", err, CodeValidation, "at 'pendingWindowInDays' failed to satisfy constraint")
	}
}

func TestKeyDestroyedAtDeletionDate(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	other := e.createKey(&CreateKeyRequest{})
	for _, a := range []string{"alias/one", "alias/two"} {
		if _, err := e.s.CreateAlias(bg, e.c, &CreateAliasRequest{AliasName: ptr(a), TargetKeyId: &k.KeyId}); err != nil {
			t.Fatal(err)
		}
	}
	e.s.CreateAlias(bg, e.c, &CreateAliasRequest{AliasName: ptr("alias/other"), TargetKeyId: &other.KeyId})
	if _, err := e.s.CreateGrant(bg, e.c, &CreateGrantRequest{KeyId: &k.KeyId, GranteePrincipal: ptr("arn:aws:iam::111122223333:role/app"),
		RetiringPrincipal: ptr("arn:aws:iam::111122223333:role/ops"), Operations: []string{"Encrypt"}}); err != nil {
		t.Fatal(err)
	}
	e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId})
	e.encrypt(k.KeyId, "cache me") // the key is in the cache
	if _, err := e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId, PendingWindowInDays: ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	e.describe(k.KeyId) // and cached again while pending
	if n := e.advance(7*day - time.Second); n != 0 {
		t.Fatalf("%d jobs before the deletion date", n)
	}
	if n := e.advance(time.Second); n != 1 {
		t.Fatalf("%d jobs at the deletion date, want 1", n)
	}
	wantErr(t, "DescribeKey", second(e.s.DescribeKey(bg, e.c, &DescribeKeyRequest{KeyId: &k.KeyId})), CodeNotFound, "Key '"+k.Arn+"' does not exist")
	wantErr(t, "DescribeKey(alias)", second(e.s.DescribeKey(bg, e.c, &DescribeKeyRequest{KeyId: ptr("alias/one")})), CodeNotFound, "alias/one is not found")
	e.s.mu.RLock()
	_, cached := e.s.keys[k.KeyId]
	e.s.mu.RUnlock()
	if cached {
		t.Error("deleted key still in the cache")
	}
	for _, en := range storeDump(t, e.st) {
		if strings.Contains(en.Key, k.KeyId) || strings.Contains(string(en.Value), k.KeyId) {
			t.Errorf("store still holds %s after deletion: %s", k.KeyId, en.Key)
		}
	}
	if _, err := e.s.DescribeKey(bg, e.c, &DescribeKeyRequest{KeyId: ptr("alias/other")}); err != nil {
		t.Errorf("an alias of another key went too: %v", err)
	}
	l, _ := e.s.ListKeys(bg, e.c, &ListKeysRequest{})
	if len(l.Keys) != 1 || l.Keys[0].KeyId != other.KeyId {
		t.Errorf("ListKeys = %+v", l.Keys)
	}
	if ev := e.eventList(); len(ev) != 1 || ev[0] != "DeleteKey "+k.Arn {
		t.Errorf("events = %q", ev)
	}
	if n := e.advance(400 * day); n != 0 {
		t.Errorf("%d jobs of the deleted key ran later", n)
	}
}

func TestCancelKeyDeletion(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	wantErr(t, "CancelKeyDeletion(enabled)", second(e.s.CancelKeyDeletion(bg, e.c, &KeyRequest{KeyId: &k.KeyId})),
		CodeInvalidState, k.Arn+" is not pending deletion.")
	e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId, PendingWindowInDays: ptr(int32(7))})
	e.advance(3 * day)
	out, err := e.s.CancelKeyDeletion(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if err != nil || out.KeyId != k.Arn {
		t.Fatalf("CancelKeyDeletion = %+v, %v", out, err)
	}
	m := e.describe(k.KeyId)
	if m.KeyState != "Disabled" || m.DeletionDate != nil || m.PendingDeletionWindowInDays != nil {
		t.Errorf("after cancel: %+v", m)
	}
	if n := e.advance(30 * day); n != 0 {
		t.Errorf("%d jobs ran after the cancellation", n)
	}
	e.describe(k.KeyId)
	wantErr(t, "Encrypt(disabled)", second(e.s.Encrypt(bg, e.c, &EncryptRequest{KeyId: &k.KeyId, Plaintext: []byte("x")})), CodeDisabled, k.Arn+" is disabled.")
	if _, err := e.s.EnableKey(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	e.encrypt(k.KeyId, "x")
}
