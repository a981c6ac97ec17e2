package kms

import (
	"bytes"
	"testing"
	"time"
)

func TestAutomaticRotation(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	ct1 := e.encrypt(k.KeyId, "before")
	if _, err := e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	st, err := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	if !st.KeyRotationEnabled || st.KeyId != k.Arn || st.RotationPeriodInDays == nil || *st.RotationPeriodInDays != 365 ||
		st.NextRotationDate == nil || !time.Time(*st.NextRotationDate).Equal(t0.Add(365*day)) || st.OnDemandRotationStartDate != nil {
		t.Fatalf("GetKeyRotationStatus = %+v, want enabled, 365 days, next %v", st, t0.Add(365*day))
	}
	if n := e.advance(364 * day); n != 0 {
		t.Fatalf("%d jobs ran before the rotation date", n)
	}
	if n := e.advance(day); n != 1 {
		t.Fatalf("%d jobs ran at the rotation date, want 1", n)
	}
	m := e.describe(k.KeyId)
	if m.CurrentKeyMaterialId == k.CurrentKeyMaterialId || m.KeyId != k.KeyId || m.Arn != k.Arn {
		t.Errorf("after rotation: CurrentKeyMaterialId %s (was %s), id %s", m.CurrentKeyMaterialId, k.CurrentKeyMaterialId, m.KeyId)
	}
	l, err := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId})
	if err != nil || len(l.Rotations) != 1 {
		t.Fatalf("ListKeyRotations = %+v, %v", l, err)
	}
	r := l.Rotations[0]
	if r.RotationType != "AUTOMATIC" || r.KeyId != k.KeyId || r.KeyMaterialId != m.CurrentKeyMaterialId || r.KeyMaterialState != "CURRENT" ||
		r.RotationDate == nil || !time.Time(*r.RotationDate).Equal(t0.Add(365*day)) || r.ImportState != "" {
		t.Errorf("rotation entry = %+v", r)
	}
	// Old ciphertexts decrypt with the old material; new ones use the new.
	d1, err := e.decrypt(ct1)
	if err != nil || string(d1.Plaintext) != "before" || d1.KeyMaterialId != k.CurrentKeyMaterialId {
		t.Fatalf("Decrypt(old) = %+v, %v", d1, err)
	}
	ct2 := e.encrypt(k.KeyId, "after")
	if d2, err := e.decrypt(ct2); err != nil || d2.KeyMaterialId != m.CurrentKeyMaterialId {
		t.Fatalf("Decrypt(new) = %+v, %v", d2, err)
	}
	re, err := e.s.ReEncrypt(bg, e.c, &ReEncryptRequest{CiphertextBlob: ct1, DestinationKeyId: &k.KeyId})
	if err != nil || re.SourceKeyMaterialId != k.CurrentKeyMaterialId || re.DestinationKeyMaterialId != m.CurrentKeyMaterialId {
		t.Fatalf("ReEncrypt = %+v, %v", re, err)
	}
	if d3, err := e.decrypt(re.CiphertextBlob); err != nil || string(d3.Plaintext) != "before" || d3.KeyMaterialId != m.CurrentKeyMaterialId {
		t.Fatalf("Decrypt(re-encrypted) = %+v, %v", d3, err)
	}
	st, _ = e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if st.NextRotationDate == nil || !time.Time(*st.NextRotationDate).Equal(t0.Add(730*day)) {
		t.Errorf("next rotation = %v, want %v", st.NextRotationDate, t0.Add(730*day))
	}
	if ev := e.eventList(); len(ev) != 1 || ev[0] != "RotateKey "+k.Arn {
		t.Errorf("events = %q", ev)
	}
	want := ServiceEventDetails{RotationType: "AUTOMATIC", KeyOrigin: "AWS_KMS", PreviousKeyMaterialID: k.CurrentKeyMaterialId, CurrentKeyMaterialID: m.CurrentKeyMaterialId, KeyID: k.KeyId}
	if d := e.detailList(); len(d) != 1 || d[0] == nil || *d[0] != want {
		t.Errorf("event details = %+v, want %+v", d, want)
	}
}

func TestRotationEvery90Days(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	if _, err := e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId, RotationPeriodInDays: ptr(int32(90))}); err != nil {
		t.Fatal(err)
	}
	var cts [][]byte
	for range 13 { // 390 days in 30-day steps
		cts = append(cts, e.encrypt(k.KeyId, "x"))
		e.advance(30 * day)
	}
	l, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId})
	if len(l.Rotations) != 4 {
		t.Fatalf("%d rotations in 390 days at 90 days, want 4", len(l.Rotations))
	}
	for i, r := range l.Rotations {
		if want := t0.Add(time.Duration(i+1) * 90 * day); r.RotationDate == nil || !time.Time(*r.RotationDate).Equal(want) {
			t.Errorf("rotation %d on %v, want %v", i, r.RotationDate, want)
		}
	}
	for i, ct := range cts {
		if _, err := e.decrypt(ct); err != nil {
			t.Errorf("Decrypt(ciphertext %d) after rotations: %v", i, err)
		}
	}
}

func TestRotationPausedWhileDisabled(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	if _, err := e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId, RotationPeriodInDays: ptr(int32(90))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DisableKey(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	e.advance(100 * day)
	if l, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId}); len(l.Rotations) != 0 {
		t.Fatalf("a disabled key rotated: %+v", l.Rotations)
	}
	if st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); !st.KeyRotationEnabled {
		t.Error("rotation status of a disabled key changed")
	}
	// Re-enabled after its rotation date: it rotates at once.
	if _, err := e.s.EnableKey(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	if n := e.runDue(); n != 1 {
		t.Fatalf("%d jobs after EnableKey, want the overdue rotation", n)
	}
	l, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId})
	if len(l.Rotations) != 1 || !time.Time(*l.Rotations[0].RotationDate).Equal(t0.Add(100*day)) {
		t.Fatalf("rotations = %+v", l.Rotations)
	}
	st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if !time.Time(*st.NextRotationDate).Equal(t0.Add(190 * day)) {
		t.Errorf("next rotation = %v, want %v", st.NextRotationDate, t0.Add(190*day))
	}
}

func TestRotationPeriodChange(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	enable := func(p int32) {
		t.Helper()
		if _, err := e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId, RotationPeriodInDays: &p}); err != nil {
			t.Fatal(err)
		}
	}
	next := func() time.Time {
		st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
		return time.Time(*st.NextRotationDate)
	}
	enable(365)
	e.advance(100 * day)
	enable(90) // 90 days after creation has passed: rotate now
	if !next().Equal(t0.Add(100 * day)) {
		t.Fatalf("next = %v", next())
	}
	if n := e.runDue(); n != 1 {
		t.Fatalf("ran %d", n)
	}
	enable(180) // counted from the rotation just done
	if want := t0.Add(280 * day); !next().Equal(want) {
		t.Errorf("next = %v, want %v", next(), want)
	}
	enable(180) // no change
	if want := t0.Add(280 * day); !next().Equal(want) {
		t.Errorf("next = %v, want %v", next(), want)
	}
	if _, err := e.s.DisableKeyRotation(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if st.KeyRotationEnabled || st.NextRotationDate != nil || st.RotationPeriodInDays != nil {
		t.Errorf("status after DisableKeyRotation = %+v", st)
	}
	if n := e.advance(400 * day); n != 0 {
		t.Errorf("%d jobs ran after DisableKeyRotation", n)
	}
}

func TestRotationErrors(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	hmacKey := e.createKey(&CreateKeyRequest{KeySpec: ptr("HMAC_256"), KeyUsage: ptr("GENERATE_VERIFY_MAC")})
	ext := e.createKey(&CreateKeyRequest{Origin: ptr("EXTERNAL")})
	off := e.createKey(&CreateKeyRequest{})
	e.s.DisableKey(bg, e.c, &KeyRequest{KeyId: &off.KeyId})
	gone := e.createKey(&CreateKeyRequest{})
	e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &gone.KeyId})

	cases := []struct {
		name       string
		err        error
		code, part string
	}{
		{"period 89", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId, RotationPeriodInDays: ptr(int32(89))})),
			CodeValidation, "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"},
		{"period 2561", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId, RotationPeriodInDays: ptr(int32(2561))})),
			CodeValidation, "Member must have value less than or equal to 2560"},
		{"HMAC", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &hmacKey.KeyId})),
			CodeUnsupportedOperation, hmacKey.Arn + " key spec is HMAC_256 which is not valid for this operation."},
		{"EXTERNAL", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &ext.KeyId})),
			CodeUnsupportedOperation, ext.Arn + " origin is EXTERNAL which is not valid for this operation."},
		{"disable EXTERNAL", second(e.s.DisableKeyRotation(bg, e.c, &KeyRequest{KeyId: &ext.KeyId})),
			CodeUnsupportedOperation, "origin is EXTERNAL"},
		{"disabled key", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &off.KeyId})),
			CodeDisabled, off.Arn + " is disabled."},
		{"pending deletion", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &gone.KeyId})),
			CodeInvalidState, gone.Arn + " is pending deletion."},
		{"on demand HMAC", second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &hmacKey.KeyId})),
			CodeUnsupportedOperation, "key spec is HMAC_256"},
		{"on demand EXTERNAL pending import", second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &ext.KeyId})),
			CodeInvalidState, ext.Arn + " is pending import."},
		{"on demand disabled", second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &off.KeyId})),
			CodeDisabled, "is disabled."},
		{"list HMAC", second(e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &hmacKey.KeyId})),
			CodeUnsupportedOperation, "key spec is HMAC_256"},
		{"list bad marker", second(e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId, Marker: ptr("zz")})),
			CodeInvalidMarker, ""},
		{"list limit", second(e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId, Limit: ptr(int32(1001))})),
			CodeValidation, "Member must have value less than or equal to 1000"},
		{"alias", second(e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: ptr("alias/x")})),
			CodeNotFound, "Invalid keyId 'alias/x'"},
	}
	for _, c := range cases {
		wantErr(t, c.name, c.err, c.code, c.part)
	}
	// Keys that cannot rotate read as not rotating; a key pending deletion too.
	for _, id := range []string{hmacKey.KeyId, ext.KeyId, gone.KeyId} {
		st, err := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &id})
		if err != nil || st.KeyRotationEnabled {
			t.Errorf("GetKeyRotationStatus(%s) = %+v, %v", id, st, err)
		}
	}
}

func TestRotationStatusPendingDeletion(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId})
	if _, err := e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); st.KeyRotationEnabled {
		t.Error("a key pending deletion reads as rotating")
	}
	e.s.CancelKeyDeletion(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); !st.KeyRotationEnabled {
		t.Error("rotation status not restored by CancelKeyDeletion")
	}
}

func TestRotateKeyOnDemand(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	ct := e.encrypt(k.KeyId, "x")
	out, err := e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if err != nil || out.KeyId != k.Arn {
		t.Fatalf("RotateKeyOnDemand = %+v, %v", out, err)
	}
	st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if st.OnDemandRotationStartDate == nil || !time.Time(*st.OnDemandRotationStartDate).Equal(t0) || st.KeyRotationEnabled {
		t.Fatalf("status during on-demand rotation = %+v", st)
	}
	wantErr(t, "second RotateKeyOnDemand", second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId})), CodeConflict, "in progress")
	if n := e.runDue(); n != 1 {
		t.Fatalf("ran %d", n)
	}
	st, _ = e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if st.OnDemandRotationStartDate != nil {
		t.Errorf("OnDemandRotationStartDate still set after the rotation: %+v", st)
	}
	l, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId})
	if len(l.Rotations) != 1 || l.Rotations[0].RotationType != "ON_DEMAND" {
		t.Fatalf("rotations = %+v", l.Rotations)
	}
	m := e.describe(k.KeyId)
	if m.CurrentKeyMaterialId == k.CurrentKeyMaterialId {
		t.Error("CurrentKeyMaterialId unchanged by on-demand rotation")
	}
	want := ServiceEventDetails{RotationType: "ON_DEMAND", KeyOrigin: "AWS_KMS", PreviousKeyMaterialID: k.CurrentKeyMaterialId, CurrentKeyMaterialID: m.CurrentKeyMaterialId, KeyID: k.KeyId}
	if d := e.detailList(); len(d) != 1 || d[0] == nil || *d[0] != want {
		t.Errorf("event details = %+v, want %+v", d, want)
	}
	if _, err := e.decrypt(ct); err != nil {
		t.Fatal(err)
	}
	// 25 on-demand rotations per key.
	for i := 1; i < maxOnDemandRotations; i++ {
		if _, err := e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
			t.Fatalf("rotation %d: %v", i+1, err)
		}
		e.runDue()
	}
	wantErr(t, "26th RotateKeyOnDemand", second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId})), CodeLimitExceeded, "25")

	// Paging through 25 rotations, and ALL_KEY_MATERIAL adds the first.
	var seen []RotationsListEntry
	var marker *string
	for {
		l, err := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId, Limit: ptr(int32(10)), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, l.Rotations...)
		if !l.Truncated {
			break
		}
		marker = &l.NextMarker
	}
	if len(seen) != 25 || seen[24].KeyMaterialState != "CURRENT" || seen[0].KeyMaterialState != "NON_CURRENT" {
		t.Errorf("paged %d rotations; last %+v", len(seen), seen[len(seen)-1])
	}
	all, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId, IncludeKeyMaterial: ptr("ALL_KEY_MATERIAL")})
	if len(all.Rotations) != 26 || all.Rotations[0].KeyMaterialId != k.CurrentKeyMaterialId || all.Rotations[0].RotationType != "" {
		t.Errorf("ALL_KEY_MATERIAL: %d entries, first %+v", len(all.Rotations), all.Rotations[0])
	}
}

func TestRotateOnDemandConflictsWithAutomatic(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &k.KeyId, RotationPeriodInDays: ptr(int32(90))})
	e.advance(90*day - 10*time.Minute)
	wantErr(t, "RotateKeyOnDemand 10 minutes before an automatic rotation",
		second(e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId})), CodeConflict, "20 minutes")
	e.advance(10 * time.Minute)
	if _, err := e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatalf("RotateKeyOnDemand after the automatic rotation: %v", err)
	}
	e.runDue()
	l, _ := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &k.KeyId})
	if len(l.Rotations) != 2 || l.Rotations[0].RotationType != "AUTOMATIC" || l.Rotations[1].RotationType != "ON_DEMAND" {
		t.Errorf("rotations = %+v", l.Rotations)
	}
	// The on-demand rotation left the automatic schedule alone.
	st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	if !time.Time(*st.NextRotationDate).Equal(t0.Add(180 * day)) {
		t.Errorf("next automatic rotation = %v", st.NextRotationDate)
	}
}

// TestRotatedMaterialStaysWrapped checks that rotation never puts key
// material in the store in the clear.
func TestRotatedMaterialStaysWrapped(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	e.s.RotateKeyOnDemand(bg, e.c, &KeyRequest{KeyId: &k.KeyId})
	e.runDue()
	ck, err := e.s.getKey(bg, k.KeyId)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.material) != 2 {
		t.Fatalf("%d versions of material", len(ck.material))
	}
	for _, en := range storeDump(t, e.st) {
		for v, m := range ck.material {
			if bytes.Contains(en.Value, m.Expose()) {
				t.Errorf("material v%d in the clear at %s", v, en.Key)
			}
		}
	}
}
