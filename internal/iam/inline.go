package iam

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// Users and roles share the inline policy and tag operations; holder is
// what those operations need of either.
type holder struct {
	noun     string // "user" or "role"
	name     string // as stored
	policies *map[string]string
	tags     *[]Tag
	save     func(tx store.Tx) error
}

// Entity kinds for the shared operations.
const (
	kindUser = "User"
	kindRole = "Role"
)

func (d *Directory) findHolder(tx store.Tx, c *Caller, kind, action, name string) (*holder, error) {
	if kind == kindUser {
		u, err := d.findUser(tx, c, action, name)
		if err != nil {
			return nil, err
		}
		return &holder{noun: "user", name: u.Name, policies: &u.Policies, tags: &u.Tags,
			save: func(tx store.Tx) error { return putJSON(tx, userPath(u.Account, u.Name), u) }}, nil
	}
	r, err := d.findRole(tx, c, action, name)
	if err != nil {
		return nil, err
	}
	return &holder{noun: "role", name: r.Name, policies: &r.Policies, tags: &r.Tags,
		save: func(tx store.Tx) error { return putJSON(tx, rolePath(r.Account, r.Name), r) }}, nil
}

// InlinePolicy is an inline policy as GetUserPolicy and GetRolePolicy return it.
type InlinePolicy struct {
	EntityName string // the user or role name as stored
	PolicyName string
	Document   string // as it was given
}

func (d *Directory) putPolicy(ctx context.Context, c *Caller, kind, entity, name, doc string) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	if _, err := parseDoc("policyDocument", doc, policy.IdentityPolicy); err != nil {
		return err
	}
	return d.update(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:Put"+kind+"Policy", entity)
		if err != nil {
			return err
		}
		m := maps.Clone(*h.policies)
		if m == nil {
			m = map[string]string{}
		}
		m[name] = doc
		// The quotas are on the aggregate size of an entity's inline policies.
		limit := maxUserPolicyLen
		if kind == kindRole {
			limit = maxRolePolicyLen
		}
		total := 0
		for _, d := range m {
			total += policySize(d)
		}
		if total > limit {
			return errf(CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", limit, h.noun, h.name)
		}
		*h.policies = m
		return h.save(tx)
	})
}

func noSuchPolicy(noun, name string) *Error {
	return errf(CodeNoSuchEntity, "The %s policy with name %s cannot be found.", noun, name)
}

func (d *Directory) getPolicy(ctx context.Context, c *Caller, kind, entity, name string) (*InlinePolicy, error) {
	if err := checkPolicyName(name); err != nil {
		return nil, err
	}
	var out *InlinePolicy
	err := d.store.View(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:Get"+kind+"Policy", entity)
		if err != nil {
			return err
		}
		doc, ok := (*h.policies)[name]
		if !ok {
			return noSuchPolicy(h.noun, name)
		}
		out = &InlinePolicy{EntityName: h.name, PolicyName: name, Document: doc}
		return nil
	})
	return out, err
}

// NameList is a page of policy names.
type NameList struct {
	Names       []string
	IsTruncated bool
	Marker      string
}

func (d *Directory) listPolicies(ctx context.Context, c *Caller, kind, entity string, in *ListInput) (*NameList, error) {
	var names []string
	err := d.store.View(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:List"+kind+"Policies", entity)
		if err != nil {
			return err
		}
		names = slices.Sorted(maps.Keys(*h.policies))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &NameList{}
	out.Names, out.Marker, out.IsTruncated, err = page(names, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (d *Directory) deletePolicy(ctx context.Context, c *Caller, kind, entity, name string) error {
	if err := checkPolicyName(name); err != nil {
		return err
	}
	return d.update(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:Delete"+kind+"Policy", entity)
		if err != nil {
			return err
		}
		if _, ok := (*h.policies)[name]; !ok {
			return noSuchPolicy(h.noun, name)
		}
		m := maps.Clone(*h.policies)
		delete(m, name)
		*h.policies = m
		return h.save(tx)
	})
}

func (d *Directory) tag(ctx context.Context, c *Caller, kind, entity string, tags []Tag) error {
	if len(tags) == 0 {
		return required("tags")
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	return d.update(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:Tag"+kind, entity)
		if err != nil {
			return err
		}
		merged := mergeTags(*h.tags, tags)
		if len(merged) > maxTags {
			return errf(CodeLimitExceeded, "The number of tags has reached the maximum limit.")
		}
		*h.tags = merged
		return h.save(tx)
	})
}

func (d *Directory) untag(ctx context.Context, c *Caller, kind, entity string, keys []string) error {
	if len(keys) == 0 {
		return required("tagKeys")
	}
	for _, k := range keys {
		if k == "" || len([]rune(k)) > 128 {
			return validation(k, "tagKeys", "have length less than or equal to 128")
		}
	}
	return d.update(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:Untag"+kind, entity)
		if err != nil {
			return err
		}
		*h.tags = removeTags(*h.tags, keys)
		return h.save(tx)
	})
}

// TagList is a page of tags.
type TagList struct {
	Tags        []Tag
	IsTruncated bool
	Marker      string
}

func (d *Directory) listTags(ctx context.Context, c *Caller, kind, entity string, in *ListInput) (*TagList, error) {
	var tags []Tag
	err := d.store.View(ctx, func(tx store.Tx) error {
		h, err := d.findHolder(tx, c, kind, "iam:List"+kind+"Tags", entity)
		if err != nil {
			return err
		}
		tags = *h.tags
		return nil
	})
	if err != nil {
		return nil, err
	}
	byKey := map[string]Tag{}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		byKey[k] = t
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := &TagList{}
	keys, out.Marker, out.IsTruncated, err = page(keys, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		out.Tags = append(out.Tags, byKey[k])
	}
	return out, nil
}

// PutUserPolicy adds or replaces an inline policy of a user.
func (d *Directory) PutUserPolicy(ctx context.Context, c *Caller, user, name, doc string) error {
	return d.putPolicy(ctx, c, kindUser, user, name, doc)
}

// GetUserPolicy returns an inline policy of a user.
func (d *Directory) GetUserPolicy(ctx context.Context, c *Caller, user, name string) (*InlinePolicy, error) {
	return d.getPolicy(ctx, c, kindUser, user, name)
}

// ListUserPolicies lists the names of a user's inline policies.
func (d *Directory) ListUserPolicies(ctx context.Context, c *Caller, user string, in *ListInput) (*NameList, error) {
	return d.listPolicies(ctx, c, kindUser, user, in)
}

// DeleteUserPolicy deletes an inline policy of a user.
func (d *Directory) DeleteUserPolicy(ctx context.Context, c *Caller, user, name string) error {
	return d.deletePolicy(ctx, c, kindUser, user, name)
}

// PutRolePolicy adds or replaces an inline policy of a role.
func (d *Directory) PutRolePolicy(ctx context.Context, c *Caller, role, name, doc string) error {
	return d.putPolicy(ctx, c, kindRole, role, name, doc)
}

// GetRolePolicy returns an inline policy of a role.
func (d *Directory) GetRolePolicy(ctx context.Context, c *Caller, role, name string) (*InlinePolicy, error) {
	return d.getPolicy(ctx, c, kindRole, role, name)
}

// ListRolePolicies lists the names of a role's inline policies.
func (d *Directory) ListRolePolicies(ctx context.Context, c *Caller, role string, in *ListInput) (*NameList, error) {
	return d.listPolicies(ctx, c, kindRole, role, in)
}

// DeleteRolePolicy deletes an inline policy of a role.
func (d *Directory) DeleteRolePolicy(ctx context.Context, c *Caller, role, name string) error {
	return d.deletePolicy(ctx, c, kindRole, role, name)
}

// TagUser adds or overwrites tags of a user.
func (d *Directory) TagUser(ctx context.Context, c *Caller, user string, tags []Tag) error {
	return d.tag(ctx, c, kindUser, user, tags)
}

// UntagUser removes tags of a user.
func (d *Directory) UntagUser(ctx context.Context, c *Caller, user string, keys []string) error {
	return d.untag(ctx, c, kindUser, user, keys)
}

// ListUserTags lists a user's tags, by key.
func (d *Directory) ListUserTags(ctx context.Context, c *Caller, user string, in *ListInput) (*TagList, error) {
	return d.listTags(ctx, c, kindUser, user, in)
}

// TagRole adds or overwrites tags of a role.
func (d *Directory) TagRole(ctx context.Context, c *Caller, role string, tags []Tag) error {
	return d.tag(ctx, c, kindRole, role, tags)
}

// UntagRole removes tags of a role.
func (d *Directory) UntagRole(ctx context.Context, c *Caller, role string, keys []string) error {
	return d.untag(ctx, c, kindRole, role, keys)
}

// ListRoleTags lists a role's tags, by key.
func (d *Directory) ListRoleTags(ctx context.Context, c *Caller, role string, in *ListInput) (*TagList, error) {
	return d.listTags(ctx, c, kindRole, role, in)
}
