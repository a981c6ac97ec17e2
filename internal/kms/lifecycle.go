package kms

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/store"
)

// Key lifecycle work runs on the scheduler, so that it happens at its time
// even across restarts, and once across nodes:
//
//	kms/rotate/<key id>                  automatic rotation at NextRotation
//	kms/rotate-on-demand/<key id>        an on-demand rotation in progress
//	kms/delete/<key id>                  deletion at the end of the waiting period
//	kms/expire-import/<key id>/<version> expiry of imported key material (ValidTo)
//	kms/drop-import-params/<token id>    removal of an import wrapping key after 24 hours
//
// Each handler does its work and the job's completion in one store
// transaction (scheduler.CompleteTx), so the work commits exactly once even
// when a handler runs twice. A handler also checks that the key still wants
// the work (the key is re-read in the transaction): an operation that
// changes its mind (CancelKeyDeletion, DisableKeyRotation, a reimport)
// cancels or replaces the job in the same transaction as its own change,
// and a job that outlives that is completed without effect.
const (
	jobRotate           = "kms/rotate"
	jobRotateOnDemand   = "kms/rotate-on-demand"
	jobDelete           = "kms/delete"
	jobExpireImport     = "kms/expire-import"
	jobDropImportParams = "kms/drop-import-params"
)

func rotateJobID(keyID string) string         { return jobRotate + "/" + keyID }
func rotateOnDemandJobID(keyID string) string { return jobRotateOnDemand + "/" + keyID }
func deleteJobID(keyID string) string         { return jobDelete + "/" + keyID }
func expireJobID(keyID string, v uint32) string {
	return fmt.Sprintf("%s/%s/%d", jobExpireImport, keyID, v)
}
func dropParamsJobID(tokenID string) string { return jobDropImportParams + "/" + tokenID }

// jobData is the Data of every lifecycle job: which key (and material
// version, or import token) it is about. It holds no secret.
type jobData struct {
	KeyID   string `json:"key,omitempty"`
	Version uint32 `json:"version,omitempty"`
	TokenID string `json:"token,omitempty"`
}

func (d jobData) bytes() []byte {
	b, _ := json.Marshal(d)
	return b
}

// Service events, named as AWS KMS names the CloudTrail events of work it
// does on its own (AwsServiceEvent).
const (
	EventRotateKey                = "RotateKey"
	EventDeleteKey                = "DeleteKey"
	EventDeleteExpiredKeyMaterial = "DeleteExpiredKeyMaterial"
)

// ServiceEvent is work the service did on its own, as Config.OnServiceEvent
// hears of it.
type ServiceEvent struct {
	Name   string // EventRotateKey, EventDeleteKey or EventDeleteExpiredKeyMaterial
	KeyARN string
	// Details are the event's serviceEventDetails as AWS KMS logs them
	// (RotateKey and DeleteExpiredKeyMaterial), or nil.
	Details *ServiceEventDetails
}

// ServiceEventDetails are the serviceEventDetails of a service event's
// CloudTrail record, in AWS KMS's field names.
type ServiceEventDetails struct {
	RotationType          string `json:"rotationType,omitempty"` // AUTOMATIC or ON_DEMAND
	KeyOrigin             string `json:"keyOrigin,omitempty"`
	PreviousKeyMaterialID string `json:"previousKeyMaterialId,omitempty"`
	CurrentKeyMaterialID  string `json:"currentKeyMaterialId,omitempty"`
	KeyID                 string `json:"keyId"` // the key ID, not its ARN
	KeyMaterialID         string `json:"keyMaterialId,omitempty"`
}

// rotated returns the details of a RotateKey event: k rotated from material
// version prev to its current one.
func rotated(k *keys.Key, rotation string, prev uint32) *ServiceEventDetails {
	d := &ServiceEventDetails{RotationType: rotation, KeyOrigin: k.Origin, PreviousKeyMaterialID: materialID(k.ID, prev), KeyID: k.ID}
	if cur := k.Current(); cur != nil {
		d.CurrentKeyMaterialID = materialID(k.ID, cur.ID)
	}
	return d
}

// currentID returns the ID of k's current material version, or 0.
func currentID(k *keys.Key) uint32 {
	if cur := k.Current(); cur != nil {
		return cur.ID
	}
	return 0
}

// lifecycle is the Service's part for rotation, deletion and imported key
// material.
type lifecycle struct {
	sched   *scheduler.Scheduler
	onEvent func(ServiceEvent)
	// genRSA makes the RSA wrapping keys of GetParametersForImport. Tests
	// replace it to reuse keys: RSA-4096 generation takes seconds.
	genRSA func(bits int) (*rsa.PrivateKey, error)

	secretMu sync.Mutex
	secret   blob.Secret // see importSecret; zero until first use
}

// initLifecycle sets up the scheduler and registers the lifecycle job
// handlers. It runs in New, before the defaults are applied.
func (s *Service) initLifecycle(cfg Config) {
	sched := cfg.Scheduler
	if sched == nil {
		sched = scheduler.New(cfg.Store, scheduler.Options{Clock: cfg.Clock, Logger: cfg.Logger})
	}
	if s.now == nil && cfg.Clock != nil {
		s.now = cfg.Clock.Now
	}
	s.life = &lifecycle{
		sched:   sched,
		onEvent: cfg.OnServiceEvent,
		genRSA:  func(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) },
	}
	handle := func(kind string, run scheduler.Handler) {
		ready := cfg.ServiceEventsReady
		if ready == nil {
			sched.Handle(kind, run)
			return
		}
		sched.Handle(kind, func(ctx context.Context, job scheduler.Job) error {
			if err := ready(); err != nil {
				return fmt.Errorf("waiting until service events can be recorded: %w", err)
			}
			return run(ctx, job)
		})
	}
	handle(jobRotate, s.runRotate)
	handle(jobRotateOnDemand, s.runRotateOnDemand)
	handle(jobDelete, s.runDelete)
	handle(jobExpireImport, s.runExpireImport)
	handle(jobDropImportParams, s.runDropImportParams)
}

// Scheduler returns the scheduler that runs the service's lifecycle jobs.
// The caller runs it (Scheduler.Run); until then jobs wait in the store.
func (s *Service) Scheduler() *scheduler.Scheduler { return s.life.sched }

// event reports a service event to the configured hook and the log.
func (s *Service) event(ctx context.Context, name string, k *keys.Key, details *ServiceEventDetails) {
	s.log.InfoContext(ctx, "key lifecycle event", "event", name, "key", k.ARN())
	if s.life.onEvent != nil {
		s.life.onEvent(ServiceEvent{Name: name, KeyARN: k.ARN(), Details: details})
	}
}

func decodeJob(job scheduler.Job) (jobData, error) {
	var d jobData
	if err := json.Unmarshal(job.Data, &d); err != nil {
		return d, fmt.Errorf("job %s: bad data: %w", job.ID, err)
	}
	return d, nil
}

// getKeyTx reads a key inside a transaction.
func getKeyTx(tx store.Tx, id string) (*keys.Key, error) {
	b, err := tx.Get(keyPath(id))
	if err != nil {
		return nil, err
	}
	var k keys.Key
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

func putKeyTx(tx store.Tx, k *keys.Key) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return tx.Put(keyPath(k.ID), b)
}

// lifecycleTx runs fn on key id in one store transaction that also
// completes job, and drops the cached key once it commits. fn returns
// whether it changed the key (and the key is then written back). A key that
// no longer exists completes the job without calling fn.
func (s *Service) lifecycleTx(ctx context.Context, job scheduler.Job, id string, fn func(tx store.Tx, k *keys.Key) (bool, error)) (*keys.Key, error) {
	var changed *keys.Key
	err := s.store.Update(ctx, func(tx store.Tx) error {
		changed = nil
		if err := s.life.sched.CompleteTx(tx, job); err != nil {
			return err
		}
		k, err := getKeyTx(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		ok, err := fn(tx, k)
		if err != nil || !ok {
			return err
		}
		changed = k
		return putKeyTx(tx, k)
	})
	if err != nil {
		return nil, err
	}
	if changed != nil {
		s.invalidate([]string{id}, nil)
	}
	return changed, nil
}

// nextVersionID returns the id for a new version of k's material: one more
// than any version it has, pending or not.
func nextVersionID(k *keys.Key) uint32 {
	var id uint32
	for _, v := range k.Versions {
		id = max(id, v.ID)
	}
	return id + 1
}

// rotateTo appends new material to k as its current version.
func (s *Service) rotateTo(k *keys.Key, material []byte, rotation string, now time.Time) error {
	id := nextVersionID(k)
	wrapped, err := s.wrapper.Wrap(material, keys.MaterialAAD(k.ID, id))
	if err != nil {
		return err
	}
	t := now
	k.Versions = append(k.Versions, keys.Version{ID: id, Created: now, Wrapped: wrapped, Rotation: rotation, Rotated: &t})
	return nil
}

// nextAfter returns the first time of the schedule due, due+period,
// due+2*period, ... that is after now. A rotation that was due while the
// service was down is done once, and the schedule keeps its phase.
func nextAfter(due time.Time, period time.Duration, now time.Time) time.Time {
	if due.After(now) {
		return due
	}
	n := now.Sub(due)/period + 1
	return due.Add(n * period)
}

func days(n int32) time.Duration { return time.Duration(n) * 24 * time.Hour }

// runRotate rotates a key's material at its NextRotation. A key that is not
// enabled then is not rotated; EnableKey resumes the schedule (see
// resumeRotation).
func (s *Service) runRotate(ctx context.Context, job scheduler.Job) error {
	d, err := decodeJob(job)
	if err != nil {
		return err
	}
	material, err := s.newMaterial(keys.SpecSymmetricDefault)
	if err != nil {
		return err
	}
	defer clear(material)
	now := s.timeNow()
	var prev uint32
	k, err := s.lifecycleTx(ctx, job, d.KeyID, func(tx store.Tx, k *keys.Key) (bool, error) {
		if !k.RotationEnabled || k.NextRotation == nil || !k.NextRotation.Equal(job.Due) || k.State != keys.Enabled {
			return false, nil // disabled, rescheduled, or paused
		}
		prev = currentID(k)
		if err := s.rotateTo(k, material, "AUTOMATIC", now); err != nil {
			return false, err
		}
		next := nextAfter(*k.NextRotation, days(k.RotationPeriod), now).UTC()
		k.NextRotation = &next
		return true, s.scheduleRotation(tx, k)
	})
	if err != nil {
		return err
	}
	if k != nil {
		s.event(ctx, EventRotateKey, k, rotated(k, "AUTOMATIC", prev))
	}
	return nil
}

// scheduleRotation stores the automatic rotation job of k for
// k.NextRotation, replacing any earlier one.
func (s *Service) scheduleRotation(tx store.Tx, k *keys.Key) error {
	return s.life.sched.ScheduleTx(tx, scheduler.Job{ID: rotateJobID(k.ID), Kind: jobRotate, Due: *k.NextRotation, Data: jobData{KeyID: k.ID}.bytes()})
}

// resumeRotation restarts the automatic rotation of a key that becomes
// enabled. If a rotation fell due while the key was not enabled, it happens
// now: AWS KMS rotates a re-enabled key at once when its rotation period
// has passed, and otherwise keeps the schedule (GetKeyRotationStatus API
// reference). EnableKey calls it in its transaction.
func (s *Service) resumeRotation(tx store.Tx, k *keys.Key) error {
	if !k.RotationEnabled || k.NextRotation == nil || k.State != keys.Enabled {
		return nil
	}
	if now := s.timeNow(); k.NextRotation.Before(now) {
		k.NextRotation = &now
	}
	return s.scheduleRotation(tx, k)
}

// runRotateOnDemand completes an on-demand rotation: new material for a key
// whose material KMS generates, or the imported material pending rotation.
func (s *Service) runRotateOnDemand(ctx context.Context, job scheduler.Job) error {
	d, err := decodeJob(job)
	if err != nil {
		return err
	}
	material, err := s.newMaterial(keys.SpecSymmetricDefault)
	if err != nil {
		return err
	}
	defer clear(material)
	now := s.timeNow()
	done := false
	var prev uint32
	k, err := s.lifecycleTx(ctx, job, d.KeyID, func(tx store.Tx, k *keys.Key) (bool, error) {
		done = false
		if k.OnDemandStarted == nil {
			return false, nil
		}
		k.OnDemandStarted = nil
		if k.State == keys.PendingDeletion || k.State == keys.PendingImport {
			return true, nil // abandoned: the key cannot be used now
		}
		prev = currentID(k)
		if k.Origin == keys.OriginExternal {
			for i := range k.Versions {
				if v := &k.Versions[i]; v.Pending {
					t := now
					v.Pending, v.Rotation, v.Rotated = false, "ON_DEMAND", &t
					done = true
				}
			}
			return true, nil
		}
		done = true
		return true, s.rotateTo(k, material, "ON_DEMAND", now)
	})
	if err != nil {
		return err
	}
	if done {
		s.event(ctx, EventRotateKey, k, rotated(k, "ON_DEMAND", prev))
	}
	return nil
}

// runDelete destroys a key at the end of its waiting period: the key record
// with every version of its wrapped material, its index entry, its aliases,
// its grants, its import parameters and its other jobs go in one
// transaction, and no copy stays in the cache.
func (s *Service) runDelete(ctx context.Context, job scheduler.Job) error {
	d, err := decodeJob(job)
	if err != nil {
		return err
	}
	now := s.timeNow()
	var gone *keys.Key
	var aliasKeys []string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		gone, aliasKeys = nil, nil
		if err := s.life.sched.CompleteTx(tx, job); err != nil {
			return err
		}
		k, err := getKeyTx(tx, d.KeyID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if k.State != keys.PendingDeletion || k.DeletionAt == nil || k.DeletionAt.After(now) {
			return nil // cancelled, or rescheduled
		}
		if aliasKeys, err = s.destroyKeyTx(tx, k); err != nil {
			return err
		}
		gone = k
		return nil
	})
	// Invalidate even on failure: nothing is lost by reloading.
	s.invalidate([]string{d.KeyID}, aliasKeys)
	if err != nil {
		return err
	}
	if gone != nil {
		s.event(ctx, EventDeleteKey, gone, nil)
	}
	return nil
}

// destroyKeyTx deletes everything of k inside tx and returns the alias cache
// keys to invalidate.
func (s *Service) destroyKeyTx(tx store.Tx, k *keys.Key) ([]string, error) {
	var aliasKeys []string
	aliases, err := tx.List(aliasPrefix(k.Account), "", 0)
	if err != nil {
		return nil, err
	}
	for _, e := range aliases {
		var a keys.Alias
		if err := json.Unmarshal(e.Value, &a); err != nil {
			return nil, err
		}
		if a.TargetKeyID != k.ID {
			continue
		}
		if err := tx.Delete(e.Key); err != nil {
			return nil, err
		}
		aliasKeys = append(aliasKeys, aliasCacheKey(k.Account, a.Name))
	}
	grants, err := listGrants(tx, k.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		if err := tx.Delete(grantPath(k.ID, g.ID)); err != nil {
			return nil, err
		}
		if g.Retiring != "" {
			if err := tx.Delete(retirablePath(g.Retiring, k.ID, g.ID)); err != nil {
				return nil, err
			}
		}
	}
	params, err := tx.List(importParamsPrefix(k.ID), "", 0)
	if err != nil {
		return nil, err
	}
	for _, e := range params {
		if err := tx.Delete(e.Key); err != nil {
			return nil, err
		}
		tok := strings.TrimPrefix(e.Key, importParamsPrefix(k.ID))
		if err := s.life.sched.CancelTx(tx, dropParamsJobID(tok)); err != nil {
			return nil, err
		}
	}
	jobs := []string{rotateJobID(k.ID), rotateOnDemandJobID(k.ID)}
	for _, v := range k.Versions {
		jobs = append(jobs, expireJobID(k.ID, v.ID))
	}
	for _, id := range jobs {
		if err := s.life.sched.CancelTx(tx, id); err != nil {
			return nil, err
		}
	}
	if err := tx.Delete(acctKeyPath(k.Account, k.ID)); err != nil {
		return nil, err
	}
	return aliasKeys, tx.Delete(keyPath(k.ID))
}

// runExpireImport deletes imported key material at its ValidTo. The key goes
// to PendingImport (a key pending deletion keeps its state); material that
// was only pending rotation is simply dropped.
func (s *Service) runExpireImport(ctx context.Context, job scheduler.Job) error {
	d, err := decodeJob(job)
	if err != nil {
		return err
	}
	k, err := s.lifecycleTx(ctx, job, d.KeyID, func(tx store.Tx, k *keys.Key) (bool, error) {
		v := k.Version(d.Version)
		if v == nil || v.Wrapped == nil || v.ValidTo == nil || !v.ValidTo.Equal(job.Due) {
			return false, nil // deleted, reimported, or expiry changed
		}
		return true, s.dropMaterial(k, v)
	})
	if err != nil {
		return err
	}
	if k != nil {
		s.event(ctx, EventDeleteExpiredKeyMaterial, k, &ServiceEventDetails{KeyID: k.ID, KeyMaterialID: materialID(k.ID, d.Version)})
	}
	return nil
}

// dropMaterial deletes the imported material of version v of k, for
// DeleteImportedKeyMaterial and expiry. The fingerprint stays, so that only
// the same material can come back.
func (s *Service) dropMaterial(k *keys.Key, v *keys.Version) error {
	if v.Pending {
		// Material pending rotation is not yet part of the key.
		k.Versions = deleteVersion(k.Versions, v.ID)
		return nil
	}
	v.Wrapped, v.ValidTo, v.ExpirationModel = nil, nil, ""
	if k.State == keys.PendingDeletion {
		return nil
	}
	return k.SetState(keys.PendingImport)
}

func deleteVersion(vs []keys.Version, id uint32) []keys.Version {
	out := vs[:0]
	for _, v := range vs {
		if v.ID != id {
			out = append(out, v)
		}
	}
	return out
}

// runDropImportParams deletes the wrapping key of an import token that has
// expired.
func (s *Service) runDropImportParams(ctx context.Context, job scheduler.Job) error {
	d, err := decodeJob(job)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx store.Tx) error {
		if err := s.life.sched.CompleteTx(tx, job); err != nil {
			return err
		}
		return tx.Delete(importParamsPath(d.KeyID, d.TokenID))
	})
}
