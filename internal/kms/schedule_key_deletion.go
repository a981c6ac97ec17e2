package kms

import (
	"context"
	"strconv"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/store"
)

// The waiting period of ScheduleKeyDeletion: 7 to 30 days, 30 by default
// (ScheduleKeyDeletion API reference).
const (
	minDeletionWindow     = 7
	maxDeletionWindow     = 30
	defaultDeletionWindow = 30
)

// ScheduleKeyDeletion puts a key in PendingDeletion for PendingWindowInDays.
// The key refuses every cryptographic operation from now on; at the end of
// the window the scheduler destroys it (runDelete), unless
// CancelKeyDeletion comes first.
func (s *Service) ScheduleKeyDeletion(ctx context.Context, caller *Caller, req *ScheduleKeyDeletionRequest) (*ScheduleKeyDeletionResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.num("pendingWindowInDays", req.PendingWindowInDays, minDeletionWindow, maxDeletionWindow)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "ScheduleKeyDeletion", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	window := int32(defaultDeletionWindow)
	if req.PendingWindowInDays != nil {
		window = *req.PendingWindowInDays
	}
	az := withKeys(nil, "kms:ScheduleKeyDeletionPendingWindowInDays", strconv.Itoa(int(window)))
	if err := s.authorize(caller, "ScheduleKeyDeletion", e, az); err != nil {
		return nil, err
	}
	when := s.timeNow().Add(days(window))
	k, err := s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, "ScheduleKeyDeletion"); err != nil {
			return err
		}
		if err := k.SetState(keys.PendingDeletion); err != nil {
			return err
		}
		k.DeletionAt, k.DeletionWindow = &when, window
		return s.life.sched.ScheduleTx(tx, scheduler.Job{ID: deleteJobID(k.ID), Kind: jobDelete, Due: when, Data: jobData{KeyID: k.ID}.bytes()})
	})
	if err != nil {
		return nil, err
	}
	return &ScheduleKeyDeletionResponse{
		KeyId:               k.ARN(),
		DeletionDate:        ts(when),
		KeyState:            string(keys.PendingDeletion),
		PendingWindowInDays: &window,
	}, nil
}

// CancelKeyDeletion takes a key out of PendingDeletion. It comes back
// Disabled (AWS's rule, so that nothing starts using it unnoticed), or
// PendingImport if imported material it needs was deleted or expired.
func (s *Service) CancelKeyDeletion(ctx context.Context, caller *Caller, req *KeyRequest) (*CancelKeyDeletionResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "CancelKeyDeletion", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "CancelKeyDeletion", e, nil); err != nil {
		return nil, err
	}
	k, err := s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, "CancelKeyDeletion"); err != nil {
			return err
		}
		to := keys.Disabled
		if k.MissingMaterial() {
			to = keys.PendingImport
		}
		if err := k.SetState(to); err != nil {
			return err
		}
		k.DeletionAt, k.DeletionWindow = nil, 0
		return s.life.sched.CancelTx(tx, deleteJobID(k.ID))
	})
	if err != nil {
		return nil, err
	}
	return &CancelKeyDeletionResponse{KeyId: k.ARN()}, nil
}
