package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/keyward/keyward/internal/store"
)

// keyTarget resolves the UserName parameter of the access key operations:
// a named user, or the caller's own keys (the root's for the root).
// It returns the user name, "" for the root.
func (d *Directory) keyTarget(tx store.Tx, c *Caller, action, name string) (string, error) {
	if name == "" {
		switch c.Type {
		case TypeRoot:
			return "", nil
		case TypeUser:
			name = c.UserName
		default:
			return "", errNeedUserName
		}
	}
	u, err := d.findUser(tx, c, action, name)
	if err != nil {
		return "", err
	}
	return u.Name, nil
}

func noSuchKey(id string) *Error {
	return errf(CodeNoSuchEntity, "The Access Key with id %s cannot be found.", id)
}

// CreateAccessKey creates a long-term access key for the named user, or for
// the caller if name is "". It returns the key and its secret: the only time
// the secret is ever returned.
func (d *Directory) CreateAccessKey(ctx context.Context, c *Caller, name string) (*AccessKey, string, error) {
	var k *AccessKey
	var secret string
	err := d.update(ctx, func(tx store.Tx) error {
		user, err := d.keyTarget(tx, c, "iam:CreateAccessKey", name)
		if err != nil {
			return err
		}
		have, err := tx.List(ownerKeyPrefix(c.Account, user), "", 0)
		if err != nil {
			return err
		}
		if len(have) >= maxKeysPerUser {
			return errf(CodeLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", maxKeysPerUser)
		}
		k, secret, err = d.putAccessKey(tx, c.Account, user, d.Now())
		return err
	})
	if err != nil {
		return nil, "", err
	}
	out := *k
	out.WrappedSecret = nil
	return &out, secret, nil
}

// ListUserAccessKeys lists the access keys of the named user, or of the
// caller if name is "", without their secrets.
func (d *Directory) ListUserAccessKeys(ctx context.Context, c *Caller, name string) ([]AccessKey, error) {
	var out []AccessKey
	err := d.store.View(ctx, func(tx store.Tx) error {
		user, err := d.keyTarget(tx, c, "iam:ListAccessKeys", name)
		if err != nil {
			return err
		}
		ids, err := tx.List(ownerKeyPrefix(c.Account, user), "", 0)
		if err != nil {
			return err
		}
		for _, e := range ids {
			id := e.Key[strings.LastIndexByte(e.Key, '/')+1:]
			var k AccessKey
			if err := getJSON(tx, accessKeyPath(id), &k); err != nil {
				return err
			}
			k.normalize()
			k.WrappedSecret = nil
			out = append(out, k)
		}
		return nil
	})
	return out, err
}

// ownKey reads access key id and checks that it belongs to user ("" for
// the root) of the caller's account.
func ownKey(tx store.Tx, c *Caller, user, id string) (*AccessKey, error) {
	var k AccessKey
	err := getJSON(tx, accessKeyPath(id), &k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, noSuchKey(id)
	} else if err != nil {
		return nil, err
	}
	k.normalize()
	if k.Account != c.Account || !strings.EqualFold(k.UserName, user) {
		return nil, noSuchKey(id)
	}
	return &k, nil
}

func checkKeyID(id string) error {
	if id == "" {
		return required("accessKeyId")
	}
	if len(id) < 16 {
		return validation(id, "accessKeyId", "have length greater than or equal to 16")
	}
	if len(id) > 128 {
		return validation(id, "accessKeyId", "have length less than or equal to 128")
	}
	for _, ch := range id {
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
			return validation(id, "accessKeyId", `satisfy regular expression pattern: [\w]+`)
		}
	}
	return nil
}

// UpdateAccessKey sets a key's status. An inactive key stops working at
// once.
func (d *Directory) UpdateAccessKey(ctx context.Context, c *Caller, name, id, status string) error {
	if err := checkKeyID(id); err != nil {
		return err
	}
	switch status {
	case StatusActive, StatusInactive:
	case "":
		return required("status")
	default:
		return validation(status, "status", "satisfy enum value set: [Active, Inactive]")
	}
	return d.update(ctx, func(tx store.Tx) error {
		user, err := d.keyTarget(tx, c, "iam:UpdateAccessKey", name)
		if err != nil {
			return err
		}
		k, err := ownKey(tx, c, user, id)
		if err != nil {
			return err
		}
		k.Status = status
		return putJSON(tx, accessKeyPath(id), k)
	})
}

// DeleteAccessKey deletes a key. It stops working at once.
func (d *Directory) DeleteAccessKey(ctx context.Context, c *Caller, name, id string) error {
	if err := checkKeyID(id); err != nil {
		return err
	}
	return d.update(ctx, func(tx store.Tx) error {
		user, err := d.keyTarget(tx, c, "iam:DeleteAccessKey", name)
		if err != nil {
			return err
		}
		if _, err := ownKey(tx, c, user, id); err != nil {
			return err
		}
		if err := tx.Delete(accessKeyPath(id)); err != nil {
			return err
		}
		return tx.Delete(ownerKeyPrefix(c.Account, user) + id)
	})
}
