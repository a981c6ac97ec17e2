package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// EnableKey sets a key's state to Enabled. Only key ids and key ARNs name the key.
func (s *Service) EnableKey(ctx context.Context, caller *Caller, req *KeyRequest) (*Empty, error) {
	return s.setEnabled(ctx, caller, "EnableKey", req, true)
}

// DisableKey sets a key's state to Disabled; it then refuses cryptographic use.
func (s *Service) DisableKey(ctx context.Context, caller *Caller, req *KeyRequest) (*Empty, error) {
	return s.setEnabled(ctx, caller, "DisableKey", req, false)
}

func (s *Service) setEnabled(ctx context.Context, caller *Caller, op string, req *KeyRequest, enable bool) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, op, *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, op, e, nil); err != nil {
		return nil, err
	}
	_, err = s.updateKey(ctx, e.key.ID, func(tx store.Tx, k *keys.Key) error {
		if err := allow(k, op); err != nil {
			return err
		}
		if enable {
			k.State = keys.Enabled
			return s.resumeRotation(tx, k) // rotation pauses while a key is disabled
		}
		k.State = keys.Disabled
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}
