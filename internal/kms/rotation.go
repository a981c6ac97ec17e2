package kms

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/store"
)

// Rotation limits from the AWS KMS documentation: EnableKeyRotation's
// RotationPeriodInDays is 90 to 2560 days, 365 by default; a key can be
// rotated on demand at most 25 times (RotateKeyOnDemand API reference,
// "Perform on-demand key rotation"); an on-demand rotation is refused
// while an automatic one is due within 20 minutes (ConflictException).
const (
	minRotationPeriod     = 90
	maxRotationPeriod     = 2560
	defaultRotationPeriod = 365
	maxOnDemandRotations  = 25
	rotationConflict      = 20 * time.Minute
)

// stateError converts a refusal of keys.Allow into the client's error.
func stateError(err error) error {
	var se *keys.StateError
	if errors.As(err, &se) {
		return &Error{Code: se.Code, Message: se.Message}
	}
	return err
}

// allow applies the key state table to op on k.
func allow(k *keys.Key, op string) error { return stateError(keys.Allow(k, op)) }

// unsupportedFor answers an operation on a key whose kind does not allow it,
// in AWS's wording ("<arn> origin is EXTERNAL which is not valid for this
// operation.").
func unsupportedFor(k *keys.Key, what, value string) error {
	return errf(CodeUnsupportedOperation, "%s %s is %s which is not valid for this operation.", k.ARN(), what, value)
}

// checkRotatable refuses keys that cannot rotate: only symmetric encryption
// keys rotate, and only keys whose material KMS generates rotate
// automatically; imported symmetric keys rotate on demand, to material
// imported beforehand.
func checkRotatable(k *keys.Key, automatic bool) error {
	if k.Spec != keys.SpecSymmetricDefault {
		return unsupportedFor(k, "key spec", k.Spec)
	}
	switch {
	case k.Origin == keys.OriginAWSKMS:
	case k.Origin == keys.OriginExternal && !automatic:
	default:
		return unsupportedFor(k, "origin", k.Origin)
	}
	return nil
}

// lastRotation returns when k's current material became current.
func lastRotation(k *keys.Key) time.Time {
	if c := k.Current(); c != nil && c.Rotated != nil {
		return *c.Rotated
	}
	return k.Created
}

// EnableKeyRotation turns on automatic rotation of a symmetric key's
// material every RotationPeriodInDays (default 365), counted from now; on a
// key that already rotates it changes the period, counted from the last
// rotation.
func (s *Service) EnableKeyRotation(ctx context.Context, caller *Caller, req *EnableKeyRotationRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.num("rotationPeriodInDays", req.RotationPeriodInDays, minRotationPeriod, maxRotationPeriod)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "EnableKeyRotation", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	var az *authz
	if req.RotationPeriodInDays != nil {
		az = withKeys(nil, "kms:RotationPeriodInDays", strconv.Itoa(int(*req.RotationPeriodInDays)))
	}
	if err := s.authorize(caller, "EnableKeyRotation", e, az); err != nil {
		return nil, err
	}
	if err := checkRotatable(e.key, true); err != nil {
		return nil, err
	}
	now := s.timeNow()
	_, err = s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, "EnableKeyRotation"); err != nil {
			return err
		}
		period := int32(defaultRotationPeriod)
		switch {
		case req.RotationPeriodInDays != nil:
			period = *req.RotationPeriodInDays
		case k.RotationEnabled && k.RotationPeriod > 0:
			period = k.RotationPeriod
		}
		var next time.Time
		switch {
		case !k.RotationEnabled || k.NextRotation == nil:
			next = now.Add(days(period))
		case period != k.RotationPeriod:
			next = lastRotation(k).Add(days(period))
			if next.Before(now) {
				next = now
			}
		default:
			return nil // already rotating with this period
		}
		next = next.UTC()
		k.RotationEnabled, k.RotationPeriod, k.NextRotation = true, period, &next
		return s.scheduleRotation(tx, k)
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// DisableKeyRotation turns off automatic rotation. On-demand rotation is
// unaffected.
func (s *Service) DisableKeyRotation(ctx context.Context, caller *Caller, req *KeyRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "DisableKeyRotation", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "DisableKeyRotation", e, nil); err != nil {
		return nil, err
	}
	if err := checkRotatable(e.key, true); err != nil {
		return nil, err
	}
	_, err = s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, "DisableKeyRotation"); err != nil {
			return err
		}
		k.RotationEnabled, k.NextRotation = false, nil
		return s.life.sched.CancelTx(tx, rotateJobID(k.ID))
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// GetKeyRotationStatus reports whether automatic rotation is on, its period
// and next date, and when an on-demand rotation in progress started. A key
// pending deletion reads as not rotating; keys that cannot rotate
// automatically read as not rotating too.
func (s *Service) GetKeyRotationStatus(ctx context.Context, caller *Caller, req *KeyRequest) (*GetKeyRotationStatusResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "GetKeyRotationStatus", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "GetKeyRotationStatus", e, nil); err != nil {
		return nil, err
	}
	k := e.key
	if err := allow(k, "GetKeyRotationStatus"); err != nil {
		return nil, err
	}
	out := &GetKeyRotationStatusResponse{KeyId: k.ARN()}
	if k.RotationEnabled && k.State != keys.PendingDeletion {
		out.KeyRotationEnabled = true
		p := k.RotationPeriod
		out.RotationPeriodInDays = &p
		if k.NextRotation != nil {
			out.NextRotationDate = ts(*k.NextRotation)
		}
	}
	if k.OnDemandStarted != nil {
		out.OnDemandRotationStartDate = ts(*k.OnDemandStarted)
	}
	return out, nil
}

// RotateKeyOnDemand starts a rotation now. It completes in the background
// (GetKeyRotationStatus shows it in progress until then): new material for
// a key whose material KMS generates, or the material imported for it
// (ImportKeyMaterial with ImportType NEW_KEY_MATERIAL) for an imported key.
// The automatic schedule is unchanged.
func (s *Service) RotateKeyOnDemand(ctx context.Context, caller *Caller, req *KeyRequest) (*RotateKeyOnDemandResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "RotateKeyOnDemand", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "RotateKeyOnDemand", e, nil); err != nil {
		return nil, err
	}
	if err := checkRotatable(e.key, false); err != nil {
		return nil, err
	}
	now := s.timeNow()
	_, err = s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, "RotateKeyOnDemand"); err != nil {
			return err
		}
		if k.OnDemandStarted != nil {
			return errf(CodeConflict, "An on-demand rotation of %s is already in progress.", k.ARN())
		}
		if k.RotationEnabled && k.NextRotation != nil && k.NextRotation.Before(now.Add(rotationConflict)) {
			return errf(CodeConflict, "An automatic rotation of %s is in progress or scheduled to begin within the next 20 minutes.", k.ARN())
		}
		n := 0
		for _, v := range k.Versions {
			if v.Rotation == "ON_DEMAND" {
				n++
			}
		}
		if n >= maxOnDemandRotations {
			return errf(CodeLimitExceeded, "%s has reached the limit of %d on-demand rotations.", k.ARN(), maxOnDemandRotations)
		}
		if k.Origin == keys.OriginExternal && !hasPendingMaterial(k) {
			return errf(CodeInvalidState, "%s has no key material pending rotation. Import new key material (ImportType NEW_KEY_MATERIAL) first.", k.ARN())
		}
		t := now
		k.OnDemandStarted = &t
		return s.life.sched.ScheduleTx(tx, scheduler.Job{ID: rotateOnDemandJobID(k.ID), Kind: jobRotateOnDemand, Due: now, Data: jobData{KeyID: k.ID}.bytes()})
	})
	if err != nil {
		return nil, err
	}
	return &RotateKeyOnDemandResponse{KeyId: e.key.ARN()}, nil
}

func hasPendingMaterial(k *keys.Key) bool {
	for _, v := range k.Versions {
		if v.Pending && v.Wrapped != nil {
			return true
		}
	}
	return false
}

// Values of RotationsListEntry.
const (
	includeAll           = "ALL_KEY_MATERIAL"
	includeRotationsOnly = "ROTATIONS_ONLY"
)

// ListKeyRotations lists the materials of a key that can rotate: by
// default those that came from rotations, with ALL_KEY_MATERIAL also the
// first material and imported material pending rotation. Entries are in the
// order the materials were added.
func (s *Service) ListKeyRotations(ctx context.Context, caller *Caller, req *ListKeyRotationsRequest) (*ListKeyRotationsResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.enum("includeKeyMaterial", req.IncludeKeyMaterial, includeAll, includeRotationsOnly)
	v.paging(req.Limit, req.Marker, 1000)
	if err := v.err(); err != nil {
		return nil, err
	}
	after, err := decodeMarker(req.Marker)
	if err != nil {
		return nil, err
	}
	var afterID uint64
	if after != "" {
		if afterID, err = strconv.ParseUint(after, 10, 32); err != nil {
			return nil, errf(CodeInvalidMarker, "Invalid marker")
		}
	}
	e, err := s.resolve(ctx, caller, "ListKeyRotations", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "ListKeyRotations", e, nil); err != nil {
		return nil, err
	}
	k := e.key
	if err := checkRotatable(k, false); err != nil {
		return nil, err
	}
	all := req.IncludeKeyMaterial != nil && *req.IncludeKeyMaterial == includeAll
	limit := limitOr(req.Limit, 100)
	cur := k.Current()
	out := &ListKeyRotationsResponse{Rotations: []RotationsListEntry{}}
	for _, ver := range k.Versions {
		if uint64(ver.ID) <= afterID || (ver.Rotation == "" && !all) {
			continue
		}
		if len(out.Rotations) == limit {
			out.Truncated = true
			out.NextMarker = encodeMarker(strconv.FormatUint(uint64(out.Rotations[limit-1].version), 10))
			break
		}
		r := RotationsListEntry{KeyId: k.ID, KeyMaterialId: materialID(k.ID, ver.ID), KeyMaterialState: "NON_CURRENT", version: ver.ID}
		switch {
		case ver.Pending:
			r.KeyMaterialState = "PENDING_ROTATION"
		case cur != nil && ver.ID == cur.ID:
			r.KeyMaterialState = "CURRENT"
		}
		if ver.Rotation != "" && ver.Rotated != nil {
			r.RotationType, r.RotationDate = ver.Rotation, ts(*ver.Rotated)
		}
		if k.Origin == keys.OriginExternal {
			r.ImportState = "PENDING_IMPORT"
			if ver.Wrapped != nil {
				r.ImportState = "IMPORTED"
				r.ExpirationModel = ver.ExpirationModel
				if ver.ValidTo != nil {
					r.ValidTo = ts(*ver.ValidTo)
				}
			}
			r.KeyMaterialDescription = ver.Description
		}
		out.Rotations = append(out.Rotations, r)
	}
	return out, nil
}
