package kms

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/memory"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// lifeEnv is a Service on a fake clock with its scheduler, as the server
// runs it, except that tests run due jobs themselves.
type lifeEnv struct {
	t   *testing.T
	s   *Service
	c   *Caller
	clk *scheduler.FakeClock
	st  store.Store

	mu       sync.Mutex
	events   []string
	details  []*ServiceEventDetails // of events, in order
	notReady error                  // what ServiceEventsReady answers
}

// rsaKeys caches wrapping keys across tests: generating RSA keys is slow.
var rsaKeys sync.Map // bits -> *rsa.PrivateKey

func cachedRSA(bits int) (*rsa.PrivateKey, error) {
	if k, ok := rsaKeys.Load(bits); ok {
		return k.(*rsa.PrivateKey), nil
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	rsaKeys.Store(bits, k)
	return k, nil
}

func newLifeEnv(t *testing.T) *lifeEnv {
	t.Helper()
	e := &lifeEnv{t: t, clk: scheduler.NewFakeClock(t0), st: memory.New(), c: &Caller{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root"}}
	e.s = e.open(bytes.Repeat([]byte{7}, 32))
	return e
}

// open starts a Service (and scheduler) on e's store and clock, as a
// server restart does.
func (e *lifeEnv) open(root []byte) *Service {
	e.t.Helper()
	w, err := keystore.NewSoft(root)
	if err != nil {
		e.t.Fatal(err)
	}
	sched := scheduler.New(e.st, scheduler.Options{Clock: e.clk})
	s, err := New(Config{Region: "us-east-1", Store: e.st, Wrapper: w, Scheduler: sched, Clock: e.clk,
		OnServiceEvent: func(ev ServiceEvent) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.events = append(e.events, ev.Name+" "+ev.KeyARN)
			e.details = append(e.details, ev.Details)
		},
		ServiceEventsReady: func() error {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.notReady
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	s.life.genRSA = cachedRSA
	return s
}

// advance moves the clock and runs the jobs that are then due.
func (e *lifeEnv) advance(d time.Duration) int {
	e.t.Helper()
	e.clk.Advance(d)
	return e.runDue()
}

func (e *lifeEnv) runDue() int {
	e.t.Helper()
	n, err := e.s.Scheduler().RunDue(bg)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *lifeEnv) eventList() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.events...)
}

func (e *lifeEnv) detailList() []*ServiceEventDetails {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*ServiceEventDetails(nil), e.details...)
}

func (e *lifeEnv) createKey(req *CreateKeyRequest) *KeyMetadata {
	e.t.Helper()
	out, err := e.s.CreateKey(bg, e.c, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return out.KeyMetadata
}

func (e *lifeEnv) describe(id string) *KeyMetadata {
	e.t.Helper()
	out, err := e.s.DescribeKey(bg, e.c, &DescribeKeyRequest{KeyId: &id})
	if err != nil {
		e.t.Fatalf("DescribeKey(%s): %v", id, err)
	}
	return out.KeyMetadata
}

func (e *lifeEnv) encrypt(id string, pt string) []byte {
	e.t.Helper()
	out, err := e.s.Encrypt(bg, e.c, &EncryptRequest{KeyId: &id, Plaintext: []byte(pt)})
	if err != nil {
		e.t.Fatalf("Encrypt(%s): %v", id, err)
	}
	return out.CiphertextBlob
}

func (e *lifeEnv) decrypt(ct []byte) (*DecryptResponse, error) {
	return e.s.Decrypt(bg, e.c, &DecryptRequest{CiphertextBlob: ct})
}

// wantErr checks an error's AWS code and that its message contains part.
func wantErr(t *testing.T, what string, err error, code, part string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Code != code || !strings.Contains(e.Message, part) {
		t.Errorf("%s = %v, want %s containing %q", what, err, code, part)
	}
}

// storeDump returns every key and value in the store.
func storeDump(t *testing.T, st store.Store) []store.Entry {
	t.Helper()
	var all []store.Entry
	if err := st.View(bg, func(tx store.Tx) error {
		var err error
		all, err = tx.List("", "", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

// TestRestartRunsDueWorkOnce stops a service while a rotation and a
// deletion are due and starts another on the same store: each runs once.
func TestRestartRunsDueWorkOnce(t *testing.T) {
	e := newLifeEnv(t)
	rot, del := e.rotatingAndDeleting()
	// "Down" for 200 days: the old service runs nothing.
	e.clk.Advance(200 * day)
	e.s = e.open(bytes.Repeat([]byte{7}, 32))
	if n := e.runDue(); n != 2 {
		t.Errorf("catch-up ran %d jobs, want 2 (one rotation, one deletion)", n)
	}
	if n := e.runDue(); n != 0 {
		t.Errorf("second pass ran %d jobs, want 0", n)
	}
	l, err := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &rot.KeyId})
	if err != nil || len(l.Rotations) != 1 {
		t.Fatalf("ListKeyRotations after catch-up = %+v, %v; want exactly one rotation", l, err)
	}
	st, _ := e.s.GetKeyRotationStatus(bg, e.c, &KeyRequest{KeyId: &rot.KeyId})
	if want := t0.Add(270 * day); st.NextRotationDate == nil || !time.Time(*st.NextRotationDate).Equal(want) {
		t.Errorf("NextRotationDate = %v, want %v (the schedule keeps its phase)", st.NextRotationDate, want)
	}
	if _, err := e.s.DescribeKey(bg, e.c, &DescribeKeyRequest{KeyId: &del.KeyId}); code(err) != CodeNotFound {
		t.Errorf("DescribeKey(deleted) = %v, want NotFoundException", err)
	}
	if ev := e.eventList(); len(ev) != 2 {
		t.Errorf("events = %q, want one RotateKey and one DeleteKey", ev)
	}
}

// TestHandlersIdempotent runs a lifecycle job whose work has already been
// done (or undone): it completes without effect.
func TestHandlersIdempotent(t *testing.T) {
	e := newLifeEnv(t)
	k := e.createKey(&CreateKeyRequest{})
	if _, err := e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &k.KeyId, PendingWindowInDays: ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	// A stale delete job (its deletion was cancelled and scheduled again
	// later) must not delete the key early.
	if _, err := e.s.CancelKeyDeletion(bg, e.c, &KeyRequest{KeyId: &k.KeyId}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Scheduler().Schedule(bg, scheduler.Job{ID: deleteJobID(k.KeyId), Kind: jobDelete, Due: t0.Add(day), Data: jobData{KeyID: k.KeyId}.bytes()}); err != nil {
		t.Fatal(err)
	}
	if n := e.advance(2 * day); n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	if m := e.describe(k.KeyId); m.KeyState != "Disabled" {
		t.Errorf("KeyState = %s after a stale delete job, want Disabled", m.KeyState)
	}
}

// TestLifecycleWaitsForAudit checks that no lifecycle job runs while its
// service event cannot be recorded: a due deletion and a due rotation wait,
// with nothing changed, and run once recording works again.
func TestLifecycleWaitsForAudit(t *testing.T) {
	e := newLifeEnv(t)
	rot, del := e.rotatingAndDeleting()
	e.mu.Lock()
	e.notReady = errors.New("audit: log stopped after a write error")
	e.mu.Unlock()
	// Due, and attempted three times (the scheduler counts attempts).
	for _, d := range []time.Duration{91 * day, time.Minute, time.Hour} {
		e.advance(d)
	}
	if k := e.describe(del.KeyId); k.KeyState != "PendingDeletion" {
		t.Errorf("key due for deletion is %s while events could not be recorded, want PendingDeletion", k.KeyState)
	}
	if l, err := e.s.ListKeyRotations(bg, e.c, &ListKeyRotationsRequest{KeyId: &rot.KeyId}); err != nil || len(l.Rotations) != 0 {
		t.Errorf("ListKeyRotations while events could not be recorded = %+v, %v; want none", l, err)
	}
	if ev := e.eventList(); len(ev) != 0 {
		t.Errorf("events while they could not be recorded: %q", ev)
	}

	e.mu.Lock()
	e.notReady = nil
	e.mu.Unlock()
	if n := e.advance(2 * time.Hour); n != 2 {
		t.Errorf("once events can be recorded, %d jobs ran, want 2", n)
	}
	if _, err := e.s.DescribeKey(bg, e.c, &DescribeKeyRequest{KeyId: &del.KeyId}); code(err) != CodeNotFound {
		t.Errorf("DescribeKey(deleted) = %v, want NotFoundException", err)
	}
	if ev := e.eventList(); len(ev) != 2 {
		t.Errorf("events = %q, want one RotateKey and one DeleteKey", ev)
	}
}

// rotatingAndDeleting makes two keys: one that rotates every 90 days, and
// one scheduled for deletion in 7 days.
func (e *lifeEnv) rotatingAndDeleting() (rot, del *KeyMetadata) {
	e.t.Helper()
	rot = e.createKey(&CreateKeyRequest{})
	del = e.createKey(&CreateKeyRequest{})
	if _, err := e.s.EnableKeyRotation(bg, e.c, &EnableKeyRotationRequest{KeyId: &rot.KeyId, RotationPeriodInDays: ptr(int32(90))}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.s.ScheduleKeyDeletion(bg, e.c, &ScheduleKeyDeletionRequest{KeyId: &del.KeyId, PendingWindowInDays: ptr(int32(7))}); err != nil {
		e.t.Fatal(err)
	}
	return rot, del
}
