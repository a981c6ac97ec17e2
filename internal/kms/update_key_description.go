package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// UpdateKeyDescription replaces a key's description.
func (s *Service) UpdateKeyDescription(ctx context.Context, caller *Caller, req *UpdateKeyDescriptionRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("description", req.Description != nil)
	v.str("description", req.Description, 0, 8192, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "UpdateKeyDescription", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "UpdateKeyDescription", e, nil); err != nil {
		return nil, err
	}
	_, err = s.updateKey(ctx, e.key.ID, func(_ store.Tx, k *keys.Key) error {
		if k.State == keys.PendingDeletion {
			return errf(CodeInvalidState, "%s is pending deletion.", k.ARN())
		}
		k.Description = *req.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}
