package kms

import (
	"context"
	"strings"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// ListKeys lists the keys in the caller's account in key-id order.
func (s *Service) ListKeys(ctx context.Context, caller *Caller, req *ListKeysRequest) (*ListKeysResponse, error) {
	var v validator
	v.paging(req.Limit, req.Marker, 1000)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorizeAccount(caller, "ListKeys", nil); err != nil {
		return nil, err
	}
	after, err := decodeMarker(req.Marker)
	if err != nil {
		return nil, err
	}
	limit := limitOr(req.Limit, 100)
	prefix := acctKeyPrefix(caller.Account)
	if after != "" {
		after = prefix + after
	}
	var entries []store.Entry
	err = s.store.View(ctx, func(tx store.Tx) error {
		// One more than asked, to know whether the list is truncated.
		entries, err = tx.List(prefix, after, limit+1)
		return err
	})
	if err != nil {
		return nil, s.internal(ctx, "ListKeys", err)
	}
	out := &ListKeysResponse{Keys: make([]KeyListEntry, 0, min(len(entries), limit))}
	for i, en := range entries {
		if i == limit {
			out.Truncated = true
			out.NextMarker = encodeMarker(out.Keys[len(out.Keys)-1].KeyId)
			break
		}
		id := strings.TrimPrefix(en.Key, prefix)
		out.Keys = append(out.Keys, KeyListEntry{KeyId: id, KeyArn: keys.KeyARN(s.region, caller.Account, id)})
	}
	return out, nil
}
