package iam

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/store"
)

// Tag is a key-value pair on a user, role or session.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// User is an IAM user as the API shows it.
type User struct {
	Account string
	Path    string
	Name    string
	ID      string // "AIDA" + 17 characters
	ARN     string
	Created time.Time
	Tags    []Tag
}

type userRecord struct {
	Account  string            `json:"account"`
	Path     string            `json:"path"`
	Name     string            `json:"name"`
	ID       string            `json:"id"`
	Created  time.Time         `json:"created"`
	Tags     []Tag             `json:"tags,omitempty"`
	Policies map[string]string `json:"policies,omitempty"` // inline policy name -> document as given
}

func userARN(partition, account, path, name string) string {
	return "arn:" + partition + ":iam::" + account + ":user" + path + name
}

func (u *userRecord) arn(partition string) string {
	return userARN(partition, u.Account, u.Path, u.Name)
}

func (u *userRecord) public(partition string) User {
	return User{Account: u.Account, Path: u.Path, Name: u.Name, ID: u.ID, ARN: u.arn(partition), Created: u.Created, Tags: u.Tags}
}

func (u *userRecord) principal(partition string) (Principal, error) {
	pols, err := parsePolicies(u.Policies)
	if err != nil {
		return Principal{}, err
	}
	return Principal{
		Account: u.Account, ARN: u.arn(partition), UserID: u.ID, Type: TypeUser, UserName: u.Name,
		Tags: tagMap(u.Tags), Policies: pols,
	}, nil
}

// getUser reads a user; store.ErrNotFound if there is none.
func getUser(tx store.Tx, account, name string) (*userRecord, error) {
	var u userRecord
	if err := getJSON(tx, userPath(account, name), &u); err != nil {
		return nil, err
	}
	return &u, nil
}

func listUsers(tx store.Tx, account string) ([]*userRecord, error) {
	es, err := tx.List(userPrefix(account), "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]*userRecord, 0, len(es))
	for _, e := range es {
		var u userRecord
		if err := json.Unmarshal(e.Value, &u); err != nil {
			return nil, err
		}
		out = append(out, &u)
	}
	return out, nil
}

func noSuchUser(name string) *Error {
	return errf(CodeNoSuchEntity, "The user with name %s cannot be found.", name)
}

// findUser reads the user name names, authorizes action on it (on its
// path-less ARN when it does not exist, so that a caller without permission
// learns nothing about existence) and reports NoSuchEntity after that.
func (d *Directory) findUser(tx store.Tx, c *Caller, action, name string) (*userRecord, error) {
	if err := checkUserName("userName", name); err != nil {
		return nil, err
	}
	u, err := getUser(tx, c.Account, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	resource := userARN(d.partition, c.Account, "/", name)
	if u != nil {
		resource = u.arn(d.partition)
	}
	if err := d.authorize(c, action, resource); err != nil {
		return nil, err
	}
	if u == nil {
		return nil, noSuchUser(name)
	}
	return u, nil
}

// CreateUserInput is the input of CreateUser.
type CreateUserInput struct {
	UserName string
	Path     string // "" means "/"
	Tags     []Tag
}

// CreateUser creates an IAM user in the caller's account.
func (d *Directory) CreateUser(ctx context.Context, c *Caller, in *CreateUserInput) (*User, error) {
	if err := checkUserName("userName", in.UserName); err != nil {
		return nil, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:CreateUser", userARN(d.partition, c.Account, path, in.UserName)); err != nil {
		return nil, err
	}
	u := &userRecord{Account: c.Account, Path: path, Name: in.UserName, ID: newID("AIDA", 17), Created: d.Now(), Tags: in.Tags}
	err = d.update(ctx, func(tx store.Tx) error {
		if _, err := getUser(tx, c.Account, in.UserName); err == nil {
			return errf(CodeEntityAlreadyExists, "User with name %s already exists.", in.UserName)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return putJSON(tx, userPath(c.Account, in.UserName), u)
	})
	if err != nil {
		return nil, err
	}
	pub := u.public(d.partition)
	return &pub, nil
}

// errNeedUserName is IAM's answer to a call that names no user made with
// credentials that are not a user's.
var errNeedUserName = &Error{Code: CodeValidation, Message: "Must specify userName when calling with non-User credentials"}

// GetUser returns the named user or, for name "", the caller: its own user,
// or for the root the account's root "user" (UserId the account id, ARN the
// root ARN, no name).
func (d *Directory) GetUser(ctx context.Context, c *Caller, name string) (*User, error) {
	if name == "" {
		switch c.Type {
		case TypeRoot:
			var a Account
			err := d.store.View(ctx, func(tx store.Tx) error { return getJSON(tx, accountPath(c.Account), &a) })
			if err != nil {
				return nil, err
			}
			return &User{Account: c.Account, ID: c.Account, ARN: c.ARN, Created: a.Created}, nil
		case TypeUser:
			name = c.UserName
		default:
			return nil, errNeedUserName
		}
	}
	var out User
	err := d.store.View(ctx, func(tx store.Tx) error {
		u, err := d.findUser(tx, c, "iam:GetUser", name)
		if err != nil {
			return err
		}
		out = u.public(d.partition)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListInput pages a list call.
type ListInput struct {
	PathPrefix string // ListUsers and ListRoles only; "" means "/"
	Marker     string // from the previous page's Marker
	MaxItems   int    // 0 means 100
}

// UserList is a page of ListUsers.
type UserList struct {
	Users       []User
	IsTruncated bool
	Marker      string // set when IsTruncated
}

// ListUsers lists the users of the caller's account whose path starts with
// PathPrefix, in name order.
func (d *Directory) ListUsers(ctx context.Context, c *Caller, in *ListInput) (*UserList, error) {
	prefix, max, after, err := listParams(in)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:ListUsers", "arn:"+d.partition+":iam::"+c.Account+":user"+prefix); err != nil {
		return nil, err
	}
	out := &UserList{}
	err = d.store.View(ctx, func(tx store.Tx) error {
		us, err := listUsers(tx, c.Account)
		if err != nil {
			return err
		}
		page, truncated, marker := pageByName(us, func(u *userRecord) (string, string) { return u.Name, u.Path }, prefix, after, max)
		for _, u := range page {
			out.Users = append(out.Users, u.public(d.partition))
		}
		out.IsTruncated, out.Marker = truncated, marker
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listParams checks the PathPrefix, MaxItems and Marker of a List call.
func listParams(in *ListInput) (prefix string, max int, after string, err error) {
	if prefix, err = checkPathPrefix(in.PathPrefix); err != nil {
		return "", 0, "", err
	}
	if max, err = checkMaxItems(in.MaxItems); err != nil {
		return "", 0, "", err
	}
	after, err = decodeMarker(in.Marker)
	return prefix, max, after, err
}

// pageByName returns the page of items after the marker name (compared
// without case, as IAM orders names) whose path starts with prefix, at most
// max of them, and the marker for the next page when there is one.
func pageByName[T any](items []T, namePath func(T) (string, string), prefix, after string, max int) (page []T, truncated bool, marker string) {
	for _, it := range items {
		name, path := namePath(it)
		if k := strings.ToLower(name); k <= after && after != "" || !strings.HasPrefix(path, prefix) {
			continue
		}
		if len(page) == max {
			last, _ := namePath(page[max-1])
			return page, true, encodeMarker(strings.ToLower(last))
		}
		page = append(page, it)
	}
	return page, false, ""
}

// DeleteUser deletes a user that has no access keys and no inline policies.
func (d *Directory) DeleteUser(ctx context.Context, c *Caller, name string) error {
	return d.update(ctx, func(tx store.Tx) error {
		u, err := d.findUser(tx, c, "iam:DeleteUser", name)
		if err != nil {
			return err
		}
		keys, err := tx.List(userKeyPrefix(c.Account, u.Name), "", 1)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			return errf(CodeDeleteConflict, "Cannot delete entity, must delete access keys first.")
		}
		if len(u.Policies) > 0 {
			return errf(CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
		}
		return tx.Delete(userPath(c.Account, u.Name))
	})
}

// Markers are opaque to clients: the lower-cased name of the last item of
// the page, base64url.
func encodeMarker(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func decodeMarker(m string) (string, error) {
	if m == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || len(b) == 0 {
		return "", errf(CodeValidation, "Invalid Marker.")
	}
	return string(b), nil
}

// page cuts a sorted list of names after marker to max items.
func page(names []string, marker string, max int) (out []string, next string, truncated bool, err error) {
	max, err = checkMaxItems(max)
	if err != nil {
		return nil, "", false, err
	}
	after, err := decodeMarker(marker)
	if err != nil {
		return nil, "", false, err
	}
	for _, n := range names {
		if after != "" && n <= after {
			continue
		}
		if len(out) == max {
			return out, encodeMarker(out[max-1]), true, nil
		}
		out = append(out, n)
	}
	return out, "", false, nil
}
