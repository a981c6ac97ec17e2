package kms

import (
	"context"
	"errors"
	"testing"
	"time"
)

type fakeUsage struct {
	last  map[string]Usage
	start time.Time
	err   error
}

func (f *fakeUsage) LastUsage(_ context.Context, arn string) (Usage, bool, error) {
	u, ok := f.last[arn]
	return u, ok, f.err
}

func (f *fakeUsage) TrackingStart() time.Time { return f.start }

func TestGetKeyLastUsage(t *testing.T) {
	s, c := newTestService(t)
	k, err := s.CreateKey(bg, c, &CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id, arn := k.KeyMetadata.KeyId, k.KeyMetadata.Arn
	created := time.Time(*k.KeyMetadata.CreationDate)

	if _, err := s.GetKeyLastUsage(bg, c, &GetKeyLastUsageRequest{KeyId: &id}); code(err) != CodeUnsupportedOperation {
		t.Errorf("GetKeyLastUsage without a UsageSource = %v, want %s", err, CodeUnsupportedOperation)
	}
	when := created.Add(time.Minute)
	src := &fakeUsage{last: map[string]Usage{arn: {Time: when, Operation: "Decrypt", EventID: "ev", RequestID: "req"}}, start: created.Add(-time.Hour)}
	s.usage = src
	r, err := s.GetKeyLastUsage(bg, c, &GetKeyLastUsageRequest{KeyId: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if r.KeyId != id || r.KeyLastUsage.Operation != "Decrypt" || r.KeyLastUsage.CloudTrailEventId != "ev" || r.KeyLastUsage.KmsRequestId != "req" ||
		!time.Time(*r.KeyLastUsage.Timestamp).Equal(when) || !time.Time(*r.TrackingStartDate).Equal(created) || !time.Time(*r.KeyCreationDate).Equal(created) {
		t.Errorf("GetKeyLastUsage(%s) = %+v %+v", arn, r, r.KeyLastUsage)
	}
	// Tracking that began after the key was made starts the window.
	src.start, src.last = created.Add(time.Hour), nil
	r, err = s.GetKeyLastUsage(bg, c, &GetKeyLastUsageRequest{KeyId: &id})
	if err != nil || r.KeyLastUsage == nil || *r.KeyLastUsage != (KeyLastUsageData{}) || !time.Time(*r.TrackingStartDate).Equal(src.start) {
		t.Errorf("GetKeyLastUsage of an unused key = %+v, %v", r, err)
	}
	for _, ref := range []string{"alias/x", "1234abcd-12ab-34cd-56ef-1234567890ab"} {
		if _, err := s.GetKeyLastUsage(bg, c, &GetKeyLastUsageRequest{KeyId: &ref}); code(err) != CodeNotFound {
			t.Errorf("GetKeyLastUsage(%q) = %v, want %s", ref, err, CodeNotFound)
		}
	}
	if _, err := s.GetKeyLastUsage(bg, c, &GetKeyLastUsageRequest{}); code(err) != CodeValidation {
		t.Errorf("GetKeyLastUsage() = %v, want %s", err, CodeValidation)
	}
	src.err = errors.New("disk on fire")
	if _, err := s.GetKeyLastUsage(bg, c, &GetKeyLastUsageRequest{KeyId: &id}); code(err) != CodeInternal {
		t.Errorf("GetKeyLastUsage with a failing source = %v, want %s", err, CodeInternal)
	}
}
