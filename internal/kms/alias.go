package kms

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// checkAliasName applies AWS's alias rules for CreateAlias and UpdateAlias.
func checkAliasName(name string) error {
	if msg := keys.CheckAliasName(name); msg != "" {
		return errf(CodeValidation, "%s", msg)
	}
	if keys.IsReservedAlias(name) {
		// AWS answers a reserved alias with a bare NotAuthorizedException.
		return &Error{Code: CodeNotAuthorized}
	}
	return nil
}

// aliasTarget resolves the TargetKeyId of CreateAlias or UpdateAlias: a key
// id or key ARN (not an alias) of a key that is not pending deletion.
func (s *Service) aliasTarget(ctx context.Context, caller *Caller, op, target, alias string) (*keys.Key, error) {
	if strings.HasPrefix(target, "alias/") || strings.Contains(target, ":alias/") {
		return nil, errf(CodeValidation, "Aliases must refer to keys. Not aliases")
	}
	e, err := s.resolve(ctx, caller, op, target, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, op, e, withKeys(nil, "kms:RequestAlias", alias)); err != nil {
		return nil, err
	}
	if e.key.State == keys.PendingDeletion {
		return nil, errf(CodeInvalidState, "%s is pending deletion.", e.key.ARN())
	}
	return e.key, nil
}

// CreateAlias creates an alias for a key in the caller's account.
func (s *Service) CreateAlias(ctx context.Context, caller *Caller, req *CreateAliasRequest) (*Empty, error) {
	var v validator
	v.reqStr("aliasName", req.AliasName, 1, 256, aliasPattern)
	v.keyID("targetKeyId", req.TargetKeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	name := *req.AliasName
	if err := checkAliasName(name); err != nil {
		return nil, err
	}
	k, err := s.aliasTarget(ctx, caller, "CreateAlias", *req.TargetKeyId, name)
	if err != nil {
		return nil, err
	}
	now := s.timeNow()
	b, _ := json.Marshal(keys.Alias{Name: name, TargetKeyID: k.ID, Created: now, Updated: now})
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(aliasPath(caller.Account, name)); err == nil {
			return errf(CodeAlreadyExists, "An alias with the name %s already exists", keys.AliasARN(s.region, caller.Account, name))
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := tx.Get(keyPath(k.ID)); err != nil {
			return err // deleted meanwhile
		}
		return tx.Put(aliasPath(caller.Account, name), b)
	})
	// The key's cached kms:ResourceAliases change too.
	s.invalidate([]string{k.ID}, []string{aliasCacheKey(caller.Account, name)})
	if err != nil {
		return nil, s.asError(ctx, "CreateAlias", err)
	}
	return &Empty{Facts{KeyARN: k.ARN()}}, nil
}

// UpdateAlias points an existing alias at another key of the same type and usage.
func (s *Service) UpdateAlias(ctx context.Context, caller *Caller, req *UpdateAliasRequest) (*Empty, error) {
	var v validator
	v.reqStr("aliasName", req.AliasName, 1, 256, aliasPattern)
	v.keyID("targetKeyId", req.TargetKeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	name := *req.AliasName
	if err := checkAliasName(name); err != nil {
		return nil, err
	}
	if err := s.authorizeAliasKey(ctx, caller, "UpdateAlias", name); err != nil {
		return nil, err
	}
	k, err := s.aliasTarget(ctx, caller, "UpdateAlias", *req.TargetKeyId, name)
	if err != nil {
		return nil, err
	}
	var oldTarget string
	err = s.store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(aliasPath(caller.Account, name))
		if errors.Is(err, store.ErrNotFound) {
			return errf(CodeNotFound, "Alias %s is not found.", keys.AliasARN(s.region, caller.Account, name))
		} else if err != nil {
			return err
		}
		var a keys.Alias
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		// AWS requires the new key to have the same type and usage as the old.
		if ob, err := tx.Get(keyPath(a.TargetKeyID)); err == nil {
			var old keys.Key
			if err := json.Unmarshal(ob, &old); err != nil {
				return err
			}
			if old.Spec != k.Spec || old.Usage != k.Usage {
				return errf(CodeValidation, "Alias %s cannot be changed from a key with key spec %s and key usage %s to a key with key spec %s and key usage %s.",
					keys.AliasARN(s.region, caller.Account, name), old.Spec, old.Usage, k.Spec, k.Usage)
			}
		}
		oldTarget = a.TargetKeyID
		a.TargetKeyID = k.ID
		a.Updated = s.timeNow()
		nb, _ := json.Marshal(a)
		return tx.Put(aliasPath(caller.Account, name), nb)
	})
	s.invalidate([]string{oldTarget, k.ID}, []string{aliasCacheKey(caller.Account, name)})
	if err != nil {
		return nil, s.asError(ctx, "UpdateAlias", err)
	}
	return &Empty{Facts{KeyARN: k.ARN()}}, nil
}

// DeleteAlias deletes an alias; the key is unaffected.
func (s *Service) DeleteAlias(ctx context.Context, caller *Caller, req *DeleteAliasRequest) (*Empty, error) {
	var v validator
	v.reqStr("aliasName", req.AliasName, 1, 256, aliasPattern)
	if err := v.err(); err != nil {
		return nil, err
	}
	name := *req.AliasName
	if err := checkAliasName(name); err != nil {
		return nil, err
	}
	if err := s.authorizeAliasKey(ctx, caller, "DeleteAlias", name); err != nil {
		return nil, err
	}
	var oldTarget string
	err := s.store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(aliasPath(caller.Account, name))
		if errors.Is(err, store.ErrNotFound) {
			return errf(CodeNotFound, "Alias %s is not found.", keys.AliasARN(s.region, caller.Account, name))
		} else if err != nil {
			return err
		}
		var a keys.Alias
		if json.Unmarshal(b, &a) == nil {
			oldTarget = a.TargetKeyID
		}
		return tx.Delete(aliasPath(caller.Account, name))
	})
	s.invalidate([]string{oldTarget}, []string{aliasCacheKey(caller.Account, name)})
	if err != nil {
		return nil, s.asError(ctx, "DeleteAlias", err)
	}
	return &Empty{Facts{KeyARN: keys.KeyARN(s.region, caller.Account, oldTarget)}}, nil
}

// ListAliases lists the caller's aliases in name order, optionally only those
// of one key.
func (s *Service) ListAliases(ctx context.Context, caller *Caller, req *ListAliasesRequest) (*ListAliasesResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, false)
	v.paging(req.Limit, req.Marker, 100)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorizeAccount(caller, "ListAliases", nil); err != nil {
		return nil, err
	}
	after, err := decodeMarker(req.Marker)
	if err != nil {
		return nil, err
	}
	var target string
	if req.KeyId != nil {
		e, err := s.resolve(ctx, caller, "ListAliases", *req.KeyId, keyOnly)
		if err != nil {
			return nil, err
		}
		target = e.key.ID
	}
	limit := limitOr(req.Limit, 50)
	prefix := aliasPrefix(caller.Account)
	if after != "" {
		after = prefix + after
	}
	out := &ListAliasesResponse{Aliases: []AliasListEntry{}}
	err = s.store.View(ctx, func(tx store.Tx) error {
		// Page through the store until the page is full, skipping aliases of
		// other keys when filtering by key.
		for {
			entries, err := tx.List(prefix, after, limit+1)
			if err != nil {
				return err
			}
			for _, en := range entries {
				var a keys.Alias
				if err := json.Unmarshal(en.Value, &a); err != nil {
					return err
				}
				after = en.Key
				if target != "" && a.TargetKeyID != target {
					continue
				}
				if len(out.Aliases) == limit {
					out.Truncated = true
					out.NextMarker = encodeMarker(out.Aliases[limit-1].AliasName)
					return nil
				}
				out.Aliases = append(out.Aliases, AliasListEntry{
					AliasName:       a.Name,
					AliasArn:        keys.AliasARN(s.region, caller.Account, a.Name),
					TargetKeyId:     a.TargetKeyID,
					CreationDate:    ts(a.Created),
					LastUpdatedDate: ts(a.Updated),
				})
			}
			if len(entries) <= limit {
				return nil
			}
		}
	})
	if err != nil {
		return nil, s.asError(ctx, "ListAliases", err)
	}
	return out, nil
}

// authorizeAliasKey checks op against the key an existing alias points to.
// A missing alias is left for the operation to report.
func (s *Service) authorizeAliasKey(ctx context.Context, caller *Caller, op, name string) error {
	id, err := s.lookupAlias(ctx, caller.Account, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return s.internal(ctx, op, err)
	}
	e, err := s.getKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return s.internal(ctx, op, err)
	}
	return s.authorize(caller, op, e, withKeys(nil, "kms:RequestAlias", name))
}

// asError passes *Error values through and turns anything else into an
// internal error.
func (s *Service) asError(ctx context.Context, op string, err error) error {
	var kerr *Error
	if errors.As(err, &kerr) {
		return kerr
	}
	return s.internal(ctx, op, err)
}
