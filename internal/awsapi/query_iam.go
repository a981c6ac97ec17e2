package awsapi

import (
	"context"
	"net/url"
	"strings"

	"github.com/keyward/keyward/internal/iam"
)

// iamOps are the IAM actions Keyward implements.
var iamOps = map[string]opFunc{
	"CreateUser":             createUser,
	"GetUser":                getUser,
	"ListUsers":              listUsers,
	"DeleteUser":             deleteUser,
	"CreateAccessKey":        createAccessKey,
	"ListAccessKeys":         listAccessKeys,
	"UpdateAccessKey":        updateAccessKey,
	"DeleteAccessKey":        deleteAccessKey,
	"CreateRole":             createRole,
	"GetRole":                getRole,
	"ListRoles":              listRoles,
	"DeleteRole":             deleteRole,
	"UpdateRole":             updateRole,
	"UpdateAssumeRolePolicy": updateAssumeRolePolicy,
	"PutUserPolicy":          putPolicy((*iam.Directory).PutUserPolicy, "UserName"),
	"GetUserPolicy":          getPolicy((*iam.Directory).GetUserPolicy, false),
	"ListUserPolicies":       listPolicies((*iam.Directory).ListUserPolicies, "UserName"),
	"DeleteUserPolicy":       deletePolicy((*iam.Directory).DeleteUserPolicy, "UserName"),
	"PutRolePolicy":          putPolicy((*iam.Directory).PutRolePolicy, "RoleName"),
	"GetRolePolicy":          getPolicy((*iam.Directory).GetRolePolicy, true),
	"ListRolePolicies":       listPolicies((*iam.Directory).ListRolePolicies, "RoleName"),
	"DeleteRolePolicy":       deletePolicy((*iam.Directory).DeleteRolePolicy, "RoleName"),
	"TagUser":                tagEntity((*iam.Directory).TagUser, "UserName"),
	"UntagUser":              untagEntity((*iam.Directory).UntagUser, "UserName"),
	"ListUserTags":           listTags((*iam.Directory).ListUserTags, "UserName"),
	"TagRole":                tagEntity((*iam.Directory).TagRole, "RoleName"),
	"UntagRole":              untagEntity((*iam.Directory).UntagRole, "RoleName"),
	"ListRoleTags":           listTags((*iam.Directory).ListRoleTags, "RoleName"),
}

// policyEscape encodes a policy document as IAM returns it: "URL-encoded
// compliant with RFC 3986"
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html).
func policyEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func xmlTags(tags []iam.Tag) *members[xmlTag] {
	if len(tags) == 0 {
		return nil
	}
	m := &members[xmlTag]{Member: make([]xmlTag, len(tags))}
	for i, t := range tags {
		m.Member[i] = xmlTag{Key: t.Key, Value: t.Value}
	}
	return m
}

type xmlUser struct {
	Path       string           `xml:"Path,omitempty"`
	UserName   string           `xml:"UserName,omitempty"`
	UserID     string           `xml:"UserId"`
	Arn        string           `xml:"Arn"`
	CreateDate string           `xml:"CreateDate"`
	Tags       *members[xmlTag] `xml:"Tags,omitempty"`
}

func toXMLUser(u *iam.User, withTags bool) xmlUser {
	x := xmlUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: isoTime(u.Created)}
	if withTags {
		x.Tags = xmlTags(u.Tags)
	}
	return x
}

type userResult struct {
	User xmlUser `xml:"User"`
}

func createUser(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	u, err := d.CreateUser(ctx, c, &iam.CreateUserInput{UserName: p.get("UserName"), Path: p.get("Path"), Tags: p.tags()})
	if err != nil {
		return nil, err
	}
	return userResult{toXMLUser(u, true)}, nil
}

func getUser(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	u, err := d.GetUser(ctx, c, p.get("UserName"))
	if err != nil {
		return nil, err
	}
	return userResult{toXMLUser(u, true)}, nil
}

type listUsersResult struct {
	Users       members[xmlUser] `xml:"Users"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func listUsers(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	in, err := p.listInput()
	if err != nil {
		return nil, err
	}
	l, err := d.ListUsers(ctx, c, in)
	if err != nil {
		return nil, err
	}
	out := listUsersResult{IsTruncated: l.IsTruncated, Marker: l.Marker}
	out.Users.Member = make([]xmlUser, len(l.Users))
	for i := range l.Users {
		// ListUsers does not return tags.
		out.Users.Member[i] = toXMLUser(&l.Users[i], false)
	}
	return out, nil
}

func deleteUser(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	return nil, d.DeleteUser(ctx, c, p.get("UserName"))
}

type xmlAccessKey struct {
	UserName        string `xml:"UserName,omitempty"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

type createAccessKeyResult struct {
	AccessKey xmlAccessKey `xml:"AccessKey"`
}

func createAccessKey(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	k, secret, err := d.CreateAccessKey(ctx, c, p.get("UserName"))
	if err != nil {
		return nil, err
	}
	return createAccessKeyResult{xmlAccessKey{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, SecretAccessKey: secret, CreateDate: isoTime(k.Created)}}, nil
}

type listAccessKeysResult struct {
	UserName          string                `xml:"UserName,omitempty"`
	AccessKeyMetadata members[xmlAccessKey] `xml:"AccessKeyMetadata"`
	IsTruncated       bool                  `xml:"IsTruncated"`
}

func listAccessKeys(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	keys, err := d.ListUserAccessKeys(ctx, c, p.get("UserName"))
	if err != nil {
		return nil, err
	}
	out := listAccessKeysResult{}
	for _, k := range keys {
		out.UserName = k.UserName
		out.AccessKeyMetadata.Member = append(out.AccessKeyMetadata.Member,
			xmlAccessKey{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, CreateDate: isoTime(k.Created)})
	}
	return out, nil
}

func updateAccessKey(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	return nil, d.UpdateAccessKey(ctx, c, p.get("UserName"), p.get("AccessKeyId"), p.get("Status"))
}

func deleteAccessKey(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	return nil, d.DeleteAccessKey(ctx, c, p.get("UserName"), p.get("AccessKeyId"))
}

type xmlRole struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration"`
	Tags                     *members[xmlTag] `xml:"Tags,omitempty"`
}

func toXMLRole(r *iam.Role, withTags bool) xmlRole {
	x := xmlRole{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: isoTime(r.Created),
		AssumeRolePolicyDocument: policyEscape(r.TrustPolicy), Description: r.Description, MaxSessionDuration: r.MaxSessionDuration,
	}
	if withTags {
		x.Tags = xmlTags(r.Tags)
	}
	return x
}

type roleResult struct {
	Role xmlRole `xml:"Role"`
}

func createRole(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	maxDur, err := p.int("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return nil, err
	}
	r, err := d.CreateRole(ctx, c, &iam.CreateRoleInput{
		RoleName: p.get("RoleName"), Path: p.get("Path"), AssumeRolePolicyDocument: p.get("AssumeRolePolicyDocument"),
		Description: p.get("Description"), MaxSessionDuration: maxDur, Tags: p.tags(),
	})
	if err != nil {
		return nil, err
	}
	return roleResult{toXMLRole(r, true)}, nil
}

func getRole(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	r, err := d.GetRole(ctx, c, p.get("RoleName"))
	if err != nil {
		return nil, err
	}
	return roleResult{toXMLRole(r, true)}, nil
}

type listRolesResult struct {
	Roles       members[xmlRole] `xml:"Roles"`
	IsTruncated bool             `xml:"IsTruncated"`
	Marker      string           `xml:"Marker,omitempty"`
}

func listRoles(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	in, err := p.listInput()
	if err != nil {
		return nil, err
	}
	l, err := d.ListRoles(ctx, c, in)
	if err != nil {
		return nil, err
	}
	out := listRolesResult{IsTruncated: l.IsTruncated, Marker: l.Marker}
	out.Roles.Member = make([]xmlRole, len(l.Roles))
	for i := range l.Roles {
		// ListRoles does not return tags.
		out.Roles.Member[i] = toXMLRole(&l.Roles[i], false)
	}
	return out, nil
}

func deleteRole(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	return nil, d.DeleteRole(ctx, c, p.get("RoleName"))
}

func updateRole(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	maxDur, err := p.int("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return nil, err
	}
	var desc *string
	if p.has("Description") {
		s := p.get("Description")
		desc = &s
	}
	// UpdateRole answers with an empty <UpdateRoleResult/>.
	return struct{}{}, d.UpdateRole(ctx, c, p.get("RoleName"), desc, maxDur)
}

func updateAssumeRolePolicy(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	return nil, d.UpdateAssumeRolePolicy(ctx, c, p.get("RoleName"), p.get("PolicyDocument"))
}

func putPolicy(m func(*iam.Directory, context.Context, *iam.Caller, string, string, string) error, entity string) opFunc {
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		return nil, m(d, ctx, c, p.get(entity), p.get("PolicyName"), p.get("PolicyDocument"))
	}
}

type userPolicyResult struct {
	UserName       string `xml:"UserName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type rolePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func getPolicy(m func(*iam.Directory, context.Context, *iam.Caller, string, string) (*iam.InlinePolicy, error), role bool) opFunc {
	entity := "UserName"
	if role {
		entity = "RoleName"
	}
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		ip, err := m(d, ctx, c, p.get(entity), p.get("PolicyName"))
		if err != nil {
			return nil, err
		}
		if role {
			return rolePolicyResult{ip.EntityName, ip.PolicyName, policyEscape(ip.Document)}, nil
		}
		return userPolicyResult{ip.EntityName, ip.PolicyName, policyEscape(ip.Document)}, nil
	}
}

type listPoliciesResult struct {
	PolicyNames members[string] `xml:"PolicyNames"`
	IsTruncated bool            `xml:"IsTruncated"`
	Marker      string          `xml:"Marker,omitempty"`
}

func listPolicies(m func(*iam.Directory, context.Context, *iam.Caller, string, *iam.ListInput) (*iam.NameList, error), entity string) opFunc {
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		in, err := p.listInput()
		if err != nil {
			return nil, err
		}
		l, err := m(d, ctx, c, p.get(entity), in)
		if err != nil {
			return nil, err
		}
		return listPoliciesResult{PolicyNames: members[string]{l.Names}, IsTruncated: l.IsTruncated, Marker: l.Marker}, nil
	}
}

func deletePolicy(m func(*iam.Directory, context.Context, *iam.Caller, string, string) error, entity string) opFunc {
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		return nil, m(d, ctx, c, p.get(entity), p.get("PolicyName"))
	}
}

func tagEntity(m func(*iam.Directory, context.Context, *iam.Caller, string, []iam.Tag) error, entity string) opFunc {
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		return nil, m(d, ctx, c, p.get(entity), p.tags())
	}
}

func untagEntity(m func(*iam.Directory, context.Context, *iam.Caller, string, []string) error, entity string) opFunc {
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		return nil, m(d, ctx, c, p.get(entity), p.list("TagKeys.member"))
	}
}

type listTagsResult struct {
	Tags        members[xmlTag] `xml:"Tags"`
	IsTruncated bool            `xml:"IsTruncated"`
	Marker      string          `xml:"Marker,omitempty"`
}

func listTags(m func(*iam.Directory, context.Context, *iam.Caller, string, *iam.ListInput) (*iam.TagList, error), entity string) opFunc {
	return func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
		in, err := p.listInput()
		if err != nil {
			return nil, err
		}
		l, err := m(d, ctx, c, p.get(entity), in)
		if err != nil {
			return nil, err
		}
		out := listTagsResult{IsTruncated: l.IsTruncated, Marker: l.Marker}
		for _, t := range l.Tags {
			out.Tags.Member = append(out.Tags.Member, xmlTag{t.Key, t.Value})
		}
		return out, nil
	}
}
