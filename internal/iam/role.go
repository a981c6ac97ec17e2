package iam

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// Role is an IAM role as the API shows it.
type Role struct {
	Account     string
	Path        string
	Name        string
	ID          string // "AROA" + 17 characters
	ARN         string
	Description string
	Created     time.Time
	// TrustPolicy is the AssumeRolePolicyDocument as it was given.
	TrustPolicy        string
	MaxSessionDuration int // seconds
	Tags               []Tag
}

type roleRecord struct {
	Account            string            `json:"account"`
	Path               string            `json:"path"`
	Name               string            `json:"name"`
	ID                 string            `json:"id"`
	Description        string            `json:"description,omitempty"`
	Created            time.Time         `json:"created"`
	TrustPolicy        string            `json:"trustPolicy"`
	MaxSessionDuration int               `json:"maxSessionDuration"`
	Tags               []Tag             `json:"tags,omitempty"`
	Policies           map[string]string `json:"policies,omitempty"`
}

// Session duration bounds
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
const (
	defaultSessionDuration = 3600
	maxSessionDuration     = 43200
)

func roleARN(partition, account, path, name string) string {
	return "arn:" + partition + ":iam::" + account + ":role" + path + name
}

func (r *roleRecord) arn(partition string) string {
	return roleARN(partition, r.Account, r.Path, r.Name)
}

func (r *roleRecord) public(partition string) Role {
	return Role{
		Account: r.Account, Path: r.Path, Name: r.Name, ID: r.ID, ARN: r.arn(partition), Description: r.Description,
		Created: r.Created, TrustPolicy: r.TrustPolicy, MaxSessionDuration: r.MaxSessionDuration, Tags: r.Tags,
	}
}

func getRole(tx store.Tx, account, name string) (*roleRecord, error) {
	var r roleRecord
	if err := getJSON(tx, rolePath(account, name), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func listRoles(tx store.Tx, account string) ([]*roleRecord, error) {
	es, err := tx.List(rolePrefix(account), "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*roleRecord, 0, len(es))
	for _, e := range es {
		var r roleRecord
		if err := json.Unmarshal(e.Value, &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, nil
}

func noSuchRole(name string) *Error {
	return errf(CodeNoSuchEntity, "The role with name %s cannot be found.", name)
}

// findRole is findUser for roles.
func (d *Directory) findRole(tx store.Tx, c *Caller, action, name string) (*roleRecord, error) {
	if err := checkRoleName(name); err != nil {
		return nil, err
	}
	r, err := getRole(tx, c.Account, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	resource := roleARN(d.partition, c.Account, "/", name)
	if r != nil {
		resource = r.arn(d.partition)
	}
	if err := d.authorize(c, action, resource); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, noSuchRole(name)
	}
	return r, nil
}

// parseDoc parses a policy document given to IAM, mapping failures to
// IAM's errors.
func parseDoc(field, doc string, kind policy.Kind) (*policy.Policy, error) {
	if doc == "" {
		return nil, required(field)
	}
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		var me *policy.MalformedError
		switch {
		case errors.As(err, &me):
			return nil, &Error{Code: CodeMalformedPolicyDocument, Message: me.Reason}
		case errors.Is(err, policy.ErrTooLarge):
			return nil, validation("", field, "have length less than or equal to 131072")
		}
		return nil, err
	}
	return p, nil
}

// checkTrust validates a role trust policy.
func checkTrust(field, doc string) error {
	if _, err := parseDoc(field, doc, policy.TrustPolicy); err != nil {
		return err
	}
	if policySize(doc) > maxTrustLen {
		return errf(CodeLimitExceeded, "Cannot exceed quota for ACLSizePerRole: %d", maxTrustLen)
	}
	return nil
}

func checkMaxSession(n int) error {
	switch {
	case n < defaultSessionDuration:
		return validation(strconv.Itoa(n), "maxSessionDuration", "have value greater than or equal to "+strconv.Itoa(defaultSessionDuration))
	case n > maxSessionDuration:
		return validation(strconv.Itoa(n), "maxSessionDuration", "have value less than or equal to "+strconv.Itoa(maxSessionDuration))
	}
	return nil
}

// CreateRoleInput is the input of CreateRole.
type CreateRoleInput struct {
	RoleName                 string
	Path                     string // "" means "/"
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       int // 0 means 3600
	Tags                     []Tag
}

// CreateRole creates a role in the caller's account.
func (d *Directory) CreateRole(ctx context.Context, c *Caller, in *CreateRoleInput) (*Role, error) {
	if err := checkRoleName(in.RoleName); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	maxDur := in.MaxSessionDuration
	if maxDur == 0 {
		maxDur = defaultSessionDuration
	} else if err := checkMaxSession(maxDur); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkTrust("assumeRolePolicyDocument", in.AssumeRolePolicyDocument); err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:CreateRole", roleARN(d.partition, c.Account, path, in.RoleName)); err != nil {
		return nil, err
	}
	r := &roleRecord{
		Account: c.Account, Path: path, Name: in.RoleName, ID: newID("AROA", 17), Description: in.Description,
		Created: d.Now(), TrustPolicy: in.AssumeRolePolicyDocument, MaxSessionDuration: maxDur, Tags: in.Tags,
	}
	err = d.update(ctx, func(tx store.Tx) error {
		if _, err := getRole(tx, c.Account, in.RoleName); err == nil {
			return errf(CodeEntityAlreadyExists, "Role with name %s already exists.", in.RoleName)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return putJSON(tx, rolePath(c.Account, in.RoleName), r)
	})
	if err != nil {
		return nil, err
	}
	pub := r.public(d.partition)
	return &pub, nil
}

// GetRole returns a role.
func (d *Directory) GetRole(ctx context.Context, c *Caller, name string) (*Role, error) {
	var out Role
	err := d.store.View(ctx, func(tx store.Tx) error {
		r, err := d.findRole(tx, c, "iam:GetRole", name)
		if err != nil {
			return err
		}
		out = r.public(d.partition)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RoleList is a page of ListRoles.
type RoleList struct {
	Roles       []Role
	IsTruncated bool
	Marker      string
}

// ListRoles lists the roles of the caller's account whose path starts with
// PathPrefix, in name order.
func (d *Directory) ListRoles(ctx context.Context, c *Caller, in *ListInput) (*RoleList, error) {
	prefix, max, after, err := listParams(in)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:ListRoles", "arn:"+d.partition+":iam::"+c.Account+":role"+prefix); err != nil {
		return nil, err
	}
	out := &RoleList{}
	err = d.store.View(ctx, func(tx store.Tx) error {
		rs, err := listRoles(tx, c.Account)
		if err != nil {
			return err
		}
		page, truncated, marker := pageByName(rs, func(r *roleRecord) (string, string) { return r.Name, r.Path }, prefix, after, max)
		for _, r := range page {
			out.Roles = append(out.Roles, r.public(d.partition))
		}
		out.IsTruncated, out.Marker = truncated, marker
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteRole deletes a role that has no inline policies. Its sessions stop
// working at once.
func (d *Directory) DeleteRole(ctx context.Context, c *Caller, name string) error {
	return d.update(ctx, func(tx store.Tx) error {
		r, err := d.findRole(tx, c, "iam:DeleteRole", name)
		if err != nil {
			return err
		}
		if len(r.Policies) > 0 {
			return errf(CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
		}
		return tx.Delete(rolePath(c.Account, r.Name))
	})
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (d *Directory) UpdateAssumeRolePolicy(ctx context.Context, c *Caller, name, doc string) error {
	if err := checkTrust("policyDocument", doc); err != nil {
		return err
	}
	return d.update(ctx, func(tx store.Tx) error {
		r, err := d.findRole(tx, c, "iam:UpdateAssumeRolePolicy", name)
		if err != nil {
			return err
		}
		r.TrustPolicy = doc
		return putJSON(tx, rolePath(c.Account, r.Name), r)
	})
}

// UpdateRole changes a role's description (if description is not nil) and
// maximum session duration (if maxDur is not 0).
func (d *Directory) UpdateRole(ctx context.Context, c *Caller, name string, description *string, maxDur int) error {
	if description != nil {
		if err := checkDescription(*description); err != nil {
			return err
		}
	}
	if maxDur != 0 {
		if err := checkMaxSession(maxDur); err != nil {
			return err
		}
	}
	return d.update(ctx, func(tx store.Tx) error {
		r, err := d.findRole(tx, c, "iam:UpdateRole", name)
		if err != nil {
			return err
		}
		if description != nil {
			r.Description = *description
		}
		if maxDur != 0 {
			r.MaxSessionDuration = maxDur
		}
		return putJSON(tx, rolePath(c.Account, r.Name), r)
	})
}
