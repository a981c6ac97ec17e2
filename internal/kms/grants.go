package kms

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// GrantConstraints are a grant's encryption context constraints on the wire.
type GrantConstraints struct {
	EncryptionContextSubset map[string]string `json:"EncryptionContextSubset,omitempty"`
	EncryptionContextEquals map[string]string `json:"EncryptionContextEquals,omitempty"`
}

// CreateGrantRequest is the input of CreateGrant.
type CreateGrantRequest struct {
	KeyId             *string           `json:"KeyId"`
	GranteePrincipal  *string           `json:"GranteePrincipal"`
	RetiringPrincipal *string           `json:"RetiringPrincipal"`
	Operations        []string          `json:"Operations"`
	Constraints       *GrantConstraints `json:"Constraints"`
	GrantTokens       []string          `json:"GrantTokens"`
	Name              *string           `json:"Name"`
	DryRun            *bool             `json:"DryRun"`
}

// CreateGrantResponse is the output of CreateGrant.
type CreateGrantResponse struct {
	GrantToken string `json:"GrantToken"`
	GrantId    string `json:"GrantId"`
}

// ListGrantsRequest is the input of ListGrants.
type ListGrantsRequest struct {
	Limit            *int32  `json:"Limit"`
	Marker           *string `json:"Marker"`
	KeyId            *string `json:"KeyId"`
	GrantId          *string `json:"GrantId"`
	GranteePrincipal *string `json:"GranteePrincipal"`
}

// ListRetirableGrantsRequest is the input of ListRetirableGrants.
type ListRetirableGrantsRequest struct {
	Limit             *int32  `json:"Limit"`
	Marker            *string `json:"Marker"`
	RetiringPrincipal *string `json:"RetiringPrincipal"`
}

// GrantListEntry is one grant in ListGrants and ListRetirableGrants.
type GrantListEntry struct {
	KeyId             string            `json:"KeyId"`
	GrantId           string            `json:"GrantId"`
	Name              string            `json:"Name,omitempty"`
	CreationDate      *Timestamp        `json:"CreationDate"`
	GranteePrincipal  string            `json:"GranteePrincipal"`
	RetiringPrincipal string            `json:"RetiringPrincipal,omitempty"`
	IssuingAccount    string            `json:"IssuingAccount"`
	Operations        []string          `json:"Operations"`
	Constraints       *GrantConstraints `json:"Constraints,omitempty"`
}

// ListGrantsResponse is the output of ListGrants and ListRetirableGrants.
type ListGrantsResponse struct {
	Grants     []GrantListEntry `json:"Grants"`
	NextMarker string           `json:"NextMarker,omitempty"`
	Truncated  bool             `json:"Truncated"`
}

// RetireGrantRequest is the input of RetireGrant.
type RetireGrantRequest struct {
	GrantToken *string `json:"GrantToken"`
	KeyId      *string `json:"KeyId"`
	GrantId    *string `json:"GrantId"`
	DryRun     *bool   `json:"DryRun"`
}

// RevokeGrantRequest is the input of RevokeGrant.
type RevokeGrantRequest struct {
	KeyId   *string `json:"KeyId"`
	GrantId *string `json:"GrantId"`
	DryRun  *bool   `json:"DryRun"`
}

// Grant is a stored grant.
type Grant struct {
	ID          string            `json:"id"`
	KeyID       string            `json:"keyId"`
	Account     string            `json:"account"`
	Name        string            `json:"name,omitempty"`
	Grantee     string            `json:"grantee"`
	Retiring    string            `json:"retiring,omitempty"`
	Operations  []string          `json:"operations"`
	Constraints *GrantConstraints `json:"constraints,omitempty"`
	Created     time.Time         `json:"created"`
	Token       string            `json:"token"`
}

// maxGrantsPerKey is AWS KMS's quota of grants on one key.
const maxGrantsPerKey = 50000

func grantPath(keyID, grantID string) string { return "grant/" + keyID + "/" + grantID }
func grantPrefix(keyID string) string        { return "grant/" + keyID + "/" }
func retirablePath(principal, keyID, grantID string) string {
	return "grantret/" + principal + "/" + keyID + "/" + grantID
}

// forPolicy converts a stored grant for the policy engine.
func (g *Grant) forPolicy() policy.Grant {
	pg := policy.Grant{ID: g.ID, GranteePrincipal: g.Grantee, Operations: g.Operations}
	if g.Constraints != nil {
		pg.Constraints = &policy.GrantConstraints{
			EncryptionContextEquals: g.Constraints.EncryptionContextEquals,
			EncryptionContextSubset: g.Constraints.EncryptionContextSubset,
		}
	}
	return pg
}

func listGrants(tx store.Tx, keyID string) ([]Grant, error) {
	es, err := tx.List(grantPrefix(keyID), "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]Grant, 0, len(es))
	for _, e := range es {
		var g Grant
		if err := json.Unmarshal(e.Value, &g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Grant tokens are base64url(grant id || 32 random bytes): they name their
// grant, so a request that carries one can be checked against it.
func grantToken(id, secret string) string {
	b, _ := hex.DecodeString(id)
	s, _ := hex.DecodeString(secret)
	return base64.RawURLEncoding.EncodeToString(append(b, s...))
}

func parseGrantToken(tok string) (id string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 64 {
		return "", false
	}
	return hex.EncodeToString(b[:32]), true
}

// checkGrantTokens refuses grant tokens that are not tokens Keyward issued.
// Grants take effect at once here, so a valid token adds nothing more.
func checkGrantTokens(tokens []string) error {
	for _, t := range tokens {
		if _, ok := parseGrantToken(t); !ok {
			return errf(CodeInvalidGrantToken, "Invalid grant token.")
		}
	}
	return nil
}

var (
	grantNameRE = regexp.MustCompile(`^[a-zA-Z0-9:/_-]+$`)
	principalRE = regexp.MustCompile(`^(arn:aws(-cn|-us-gov)?:(iam|sts)::[0-9]{12}:(root|user/.+|role/.+|assumed-role/.+)|[0-9]{12}|[a-z0-9.-]+\.amazonaws\.com)$`)
	grantIDRE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// CreateGrant gives a principal permission to use a key for some grant
// operations, optionally within encryption context constraints.
func (s *Service) CreateGrant(ctx context.Context, caller *Caller, req *CreateGrantRequest) (*CreateGrantResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.reqStr("granteePrincipal", req.GranteePrincipal, 1, 256, nil)
	v.str("retiringPrincipal", req.RetiringPrincipal, 1, 256, nil)
	v.required("operations", req.Operations != nil)
	for i := range req.Operations {
		v.enum(fmt.Sprintf("operations.%d.member", i+1), &req.Operations[i], grantOperations...)
	}
	v.grantTokens(req.GrantTokens)
	v.str("name", req.Name, 1, 256, grantNameRE)
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(req.Operations) == 0 {
		return nil, errf(CodeValidation, "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	for _, p := range []*string{req.GranteePrincipal, req.RetiringPrincipal} {
		if p != nil && !principalRE.MatchString(*p) {
			return nil, errf(CodeValidation, "Invalid principal: %s", *p)
		}
	}
	e, err := s.resolve(ctx, caller, "CreateGrant", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	ops := slices.Clone(req.Operations)
	slices.Sort(ops)
	ops = slices.Compact(ops)
	g := &Grant{KeyID: e.key.ID, Account: e.key.Account, Grantee: *req.GranteePrincipal, Operations: ops, Constraints: req.Constraints, Created: s.timeNow()}
	if req.RetiringPrincipal != nil {
		g.Retiring = *req.RetiringPrincipal
	}
	if req.Name != nil {
		g.Name = *req.Name
	}
	pg := g.forPolicy()
	a := &authz{newGrant: &pg, set: func(r *policy.Request) {
		r.Set("kms:GranteePrincipal", g.Grantee)
		if g.Retiring != "" {
			r.Set("kms:RetiringPrincipal", g.Retiring)
		}
		r.Set("kms:GrantOperations", ops...)
		r.Set("kms:GrantIsForAWSResource", "false")
		if g.Constraints != nil {
			for k, val := range g.Constraints.EncryptionContextEquals {
				r.Set("kms:GrantConstraintType", "EncryptionContextEquals")
				r.Set("kms:EncryptionContext:"+k, val)
			}
			for k, val := range g.Constraints.EncryptionContextSubset {
				r.Set("kms:GrantConstraintType", "EncryptionContextSubset")
				r.Set("kms:EncryptionContext:"+k, val)
			}
		}
	}}
	if err := s.authorize(caller, "CreateGrant", e, a); err != nil {
		return nil, err
	}
	if err := checkState(e.key); err != nil && e.key.State != "Disabled" {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	var idb, secret [32]byte
	rand.Read(idb[:])
	rand.Read(secret[:])
	g.ID = hex.EncodeToString(idb[:])
	g.Token = hex.EncodeToString(secret[:])
	err = s.store.Update(ctx, func(tx store.Tx) error {
		existing, err := listGrants(tx, e.key.ID)
		if err != nil {
			return err
		}
		if g.Name != "" {
			// A retry with the same name and parameters returns the same grant.
			for _, x := range existing {
				if x.Name == g.Name && sameGrant(&x, g) {
					*g = x
					return nil
				}
			}
		}
		if len(existing) >= maxGrantsPerKey {
			return errf(CodeLimitExceeded, "The request was rejected because a quota was exceeded: the key already has %d grants.", maxGrantsPerKey)
		}
		b, _ := json.Marshal(g)
		if err := tx.Put(grantPath(g.KeyID, g.ID), b); err != nil {
			return err
		}
		if g.Retiring != "" {
			return tx.Put(retirablePath(g.Retiring, g.KeyID, g.ID), nil)
		}
		return nil
	})
	s.invalidate([]string{e.key.ID}, nil)
	if err != nil {
		return nil, s.asError(ctx, "CreateGrant", err)
	}
	return &CreateGrantResponse{GrantToken: grantToken(g.ID, g.Token), GrantId: g.ID}, nil
}

func sameGrant(a, b *Grant) bool {
	eq := func(x, y *GrantConstraints) bool {
		if x == nil || y == nil {
			return (x == nil || (len(x.EncryptionContextEquals) == 0 && len(x.EncryptionContextSubset) == 0)) &&
				(y == nil || (len(y.EncryptionContextEquals) == 0 && len(y.EncryptionContextSubset) == 0))
		}
		return maps.Equal(x.EncryptionContextEquals, y.EncryptionContextEquals) && maps.Equal(x.EncryptionContextSubset, y.EncryptionContextSubset)
	}
	return a.Grantee == b.Grantee && a.Retiring == b.Retiring && slices.Equal(a.Operations, b.Operations) && eq(a.Constraints, b.Constraints)
}

func (g *Grant) entry(region string) GrantListEntry {
	return GrantListEntry{
		KeyId: keys.KeyARN(region, g.Account, g.KeyID), GrantId: g.ID, Name: g.Name, CreationDate: ts(g.Created),
		GranteePrincipal: g.Grantee, RetiringPrincipal: g.Retiring, IssuingAccount: arn.Prefix(region) + "iam::" + g.Account + ":root",
		Operations: g.Operations, Constraints: g.Constraints,
	}
}

// ListGrants lists the grants of a key, in grant-id order.
func (s *Service) ListGrants(ctx context.Context, caller *Caller, req *ListGrantsRequest) (*ListGrantsResponse, error) {
	var v validator
	v.paging(req.Limit, req.Marker, 100)
	v.keyID("keyId", req.KeyId, true)
	v.str("grantId", req.GrantId, 1, 128, nil)
	v.str("granteePrincipal", req.GranteePrincipal, 1, 256, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "ListGrants", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "ListGrants", e, nil); err != nil {
		return nil, err
	}
	after, err := decodeMarker(req.Marker)
	if err != nil {
		return nil, err
	}
	var grants []Grant
	if err := s.store.View(ctx, func(tx store.Tx) error {
		grants, err = listGrants(tx, e.key.ID)
		return err
	}); err != nil {
		return nil, s.internal(ctx, "ListGrants", err)
	}
	grants = slices.DeleteFunc(grants, func(g Grant) bool {
		return (req.GrantId != nil && g.ID != *req.GrantId) || (req.GranteePrincipal != nil && g.Grantee != *req.GranteePrincipal)
	})
	return s.pageGrants(grants, after, limitOr(req.Limit, 50)), nil
}

func (s *Service) pageGrants(grants []Grant, after string, limit int) *ListGrantsResponse {
	out := &ListGrantsResponse{Grants: []GrantListEntry{}}
	for _, g := range grants {
		k := g.KeyID + "/" + g.ID
		if after != "" && k <= after {
			continue
		}
		if len(out.Grants) == limit {
			last := out.Grants[limit-1]
			out.Truncated = true
			out.NextMarker = encodeMarker(last.KeyId[strings.LastIndex(last.KeyId, "/")+1:] + "/" + last.GrantId)
			break
		}
		out.Grants = append(out.Grants, g.entry(s.region))
	}
	return out
}

// ListRetirableGrants lists the grants that name a principal as their
// retiring principal.
func (s *Service) ListRetirableGrants(ctx context.Context, caller *Caller, req *ListRetirableGrantsRequest) (*ListGrantsResponse, error) {
	var v validator
	v.paging(req.Limit, req.Marker, 100)
	v.reqStr("retiringPrincipal", req.RetiringPrincipal, 1, 256, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorizeAccount(caller, "ListRetirableGrants", nil); err != nil {
		return nil, err
	}
	after, err := decodeMarker(req.Marker)
	if err != nil {
		return nil, err
	}
	var grants []Grant
	err = s.store.View(ctx, func(tx store.Tx) error {
		prefix := "grantret/" + *req.RetiringPrincipal + "/"
		es, err := tx.List(prefix, "", 0)
		if err != nil {
			return err
		}
		for _, en := range es {
			b, err := tx.Get("grant/" + strings.TrimPrefix(en.Key, prefix))
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			var g Grant
			if err := json.Unmarshal(b, &g); err != nil {
				return err
			}
			// Only grants of keys in the caller's account are visible.
			if g.Account == caller.Account {
				grants = append(grants, g)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(ctx, "ListRetirableGrants", err)
	}
	return s.pageGrants(grants, after, limitOr(req.Limit, 50)), nil
}

// RetireGrant deletes a grant; the grant's retiring principal, or its
// grantee when the grant allows RetireGrant, or a principal whose policies
// allow kms:RetireGrant may do it.
func (s *Service) RetireGrant(ctx context.Context, caller *Caller, req *RetireGrantRequest) (*Empty, error) {
	var v validator
	v.str("grantToken", req.GrantToken, 1, 8192, nil)
	v.keyID("keyId", req.KeyId, false)
	v.str("grantId", req.GrantId, 1, 128, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	var keyID, grantID string
	switch {
	case req.GrantToken != nil:
		id, ok := parseGrantToken(*req.GrantToken)
		if !ok {
			return nil, errf(CodeInvalidGrantToken, "Invalid grant token.")
		}
		grantID = id
	case req.KeyId != nil && req.GrantId != nil:
		grantID = *req.GrantId
	default:
		return nil, errf(CodeValidation, "Either GrantToken, or both KeyId and GrantId must be specified.")
	}
	var g *Grant
	if req.KeyId != nil {
		e, err := s.resolve(ctx, caller, "RetireGrant", *req.KeyId, keyOnly)
		if err != nil {
			return nil, err
		}
		keyID = e.key.ID
		g, err = s.findGrant(ctx, keyID, grantID)
		if err != nil {
			return nil, err
		}
	} else {
		var err error
		if g, err = s.findGrantByID(ctx, grantID); err != nil {
			return nil, err
		}
		keyID = g.KeyID
	}
	if req.GrantToken != nil && grantToken(g.ID, g.Token) != *req.GrantToken {
		return nil, errf(CodeInvalidGrantToken, "Invalid grant token.")
	}
	allowed := caller.ARN == g.Retiring || (caller.ARN == g.Grantee && slices.Contains(g.Operations, "RetireGrant"))
	if !allowed {
		e, err := s.getKey(ctx, keyID)
		if err != nil {
			return nil, s.asError(ctx, "RetireGrant", err)
		}
		only := *e
		only.grants = []policy.Grant{g.forPolicy()}
		if err := s.authorize(caller, "RetireGrant", &only, nil); err != nil {
			return nil, err
		}
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	if err := s.deleteGrant(ctx, g); err != nil {
		return nil, err
	}
	return &Empty{Facts{KeyARN: keys.KeyARN(s.region, g.Account, g.KeyID), GrantID: g.ID}}, nil
}

// RevokeGrant deletes a grant on the key's owner's authority.
func (s *Service) RevokeGrant(ctx context.Context, caller *Caller, req *RevokeGrantRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.reqStr("grantId", req.GrantId, 1, 128, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "RevokeGrant", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "RevokeGrant", e, nil); err != nil {
		return nil, err
	}
	g, err := s.findGrant(ctx, e.key.ID, *req.GrantId)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	return &Empty{}, s.deleteGrant(ctx, g)
}

func (s *Service) findGrant(ctx context.Context, keyID, grantID string) (*Grant, error) {
	if !grantIDRE.MatchString(grantID) {
		return nil, errf(CodeInvalidGrantID, "Invalid grant ID.")
	}
	var g Grant
	err := s.store.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(grantPath(keyID, grantID))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &g)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeNotFound, "Grant ID %s not found", grantID)
	} else if err != nil {
		return nil, s.internal(ctx, "grant", err)
	}
	return &g, nil
}

// findGrantByID looks a grant up by id alone (RetireGrant with a token).
func (s *Service) findGrantByID(ctx context.Context, grantID string) (*Grant, error) {
	var found *Grant
	err := s.store.View(ctx, func(tx store.Tx) error {
		es, err := tx.List("grant/", "", 0)
		if err != nil {
			return err
		}
		for _, e := range es {
			if strings.HasSuffix(e.Key, "/"+grantID) {
				var g Grant
				if err := json.Unmarshal(e.Value, &g); err != nil {
					return err
				}
				found = &g
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(ctx, "grant", err)
	}
	if found == nil {
		return nil, errf(CodeNotFound, "Grant ID %s not found", grantID)
	}
	return found, nil
}

func (s *Service) deleteGrant(ctx context.Context, g *Grant) error {
	err := s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(grantPath(g.KeyID, g.ID)); err != nil {
			return err
		}
		if g.Retiring != "" {
			return tx.Delete(retirablePath(g.Retiring, g.KeyID, g.ID))
		}
		return nil
	})
	s.invalidate([]string{g.KeyID}, nil)
	if err != nil {
		return s.internal(ctx, "delete grant", err)
	}
	return nil
}
