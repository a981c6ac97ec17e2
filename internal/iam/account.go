package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keyward/keyward/internal/store"
)

// Account is a stored account.
type Account struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// Access key statuses.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// AccessKey is a stored long-term access key. Its secret is wrapped.
type AccessKey struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	UserName string `json:"userName,omitempty"` // "" for the account root
	// WrappedSecret is the secret wrapped under the root key with
	// secretAAD(ID). It must never leave the server.
	WrappedSecret []byte    `json:"wrappedSecret"`
	Status        string    `json:"status"` // StatusActive or StatusInactive
	Created       time.Time `json:"created"`

	// Legacy holds the principal of keys stored before users existed; only
	// root keys were.
	Legacy *Principal `json:"principal,omitempty"`
}

func (k *AccessKey) normalize() {
	if k.Account == "" && k.Legacy != nil {
		k.Account = k.Legacy.Account
	}
	k.Legacy = nil
}

// EnsureAccount creates account with its root principal and one access key
// if the account does not exist yet. It returns the new key's id and secret
// when it created them, and empty strings when the account already existed.
func (d *Directory) EnsureAccount(ctx context.Context, account string, now time.Time) (akid, secret string, err error) {
	akid, secret, err = d.CreateAccount(ctx, account, now)
	if errors.Is(err, ErrAccountExists) {
		return "", "", nil
	}
	return akid, secret, err
}

// CreateAccount creates account (12 digits) with its root principal and one
// root access key, and returns the key's id and secret: the only time the
// secret is ever returned. It returns ErrAccountExists if the account exists.
func (d *Directory) CreateAccount(ctx context.Context, account string, now time.Time) (akid, secret string, err error) {
	if !isAccountID(account) {
		return "", "", fmt.Errorf("account id %q is not 12 digits", account)
	}
	err = d.update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(accountPath(account)); err == nil {
			return ErrAccountExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := putJSON(tx, accountPath(account), Account{ID: account, Created: now.UTC()}); err != nil {
			return err
		}
		k, s, err := d.putAccessKey(tx, account, "", now)
		akid, secret = k.ID, s
		return err
	})
	if errors.Is(err, ErrAccountExists) {
		return "", "", err
	}
	if err != nil {
		return "", "", fmt.Errorf("create account %s: %w", account, err)
	}
	return akid, secret, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// accountExists reports whether account exists, inside tx.
func accountExists(tx store.Tx, account string) (bool, error) {
	_, err := tx.Get(accountPath(account))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// putAccessKey makes and stores a new active long-term key for the root
// (user "") or a user: "AKIA" + 16 characters and a 40-character secret,
// the shapes AWS uses.
func (d *Directory) putAccessKey(tx store.Tx, account, user string, now time.Time) (*AccessKey, string, error) {
	id := newID("AKIA", 16)
	secret := newSecret()
	w, err := d.wrapper.Wrap([]byte(secret), secretAAD(id))
	if err != nil {
		return nil, "", err
	}
	k := &AccessKey{ID: id, Account: account, UserName: user, WrappedSecret: w, Status: StatusActive, Created: now.UTC()}
	if err := putJSON(tx, accessKeyPath(id), k); err != nil {
		return nil, "", err
	}
	if err := tx.Put(ownerKeyPrefix(account, user)+id, nil); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// ListAccessKeys returns every stored long-term access key of every account
// (secrets still wrapped), in id order.
func (d *Directory) ListAccessKeys(ctx context.Context) ([]AccessKey, error) {
	var out []AccessKey
	err := d.store.View(ctx, func(tx store.Tx) error {
		es, err := tx.List("iam/accesskey/", "", 0)
		for _, e := range es {
			var k AccessKey
			if err := json.Unmarshal(e.Value, &k); err != nil {
				return err
			}
			k.normalize()
			out = append(out, k)
		}
		return err
	})
	return out, err
}

// AccountInventory is what an account holds, for administrators: never a
// secret.
type AccountInventory struct {
	Account Account
	Users   []User
	Roles   []Role
	// Keys are the long-term access keys of the root and the users, in id
	// order, without their wrapped secrets.
	Keys []AccessKey
	// Sessions counts the unexpired temporary credentials.
	Sessions int
}

// Inventory lists every account with its users, roles and access keys.
func (d *Directory) Inventory(ctx context.Context) ([]AccountInventory, error) {
	now := d.Now()
	var out []AccountInventory
	err := d.store.View(ctx, func(tx store.Tx) error {
		accts, err := tx.List("iam/account/", "", 0)
		if err != nil {
			return err
		}
		idx := map[string]int{}
		for _, e := range accts {
			var a Account
			if err := json.Unmarshal(e.Value, &a); err != nil {
				return err
			}
			idx[a.ID] = len(out)
			inv := AccountInventory{Account: a}
			users, err := listUsers(tx, a.ID)
			if err != nil {
				return err
			}
			for _, u := range users {
				inv.Users = append(inv.Users, u.public(d.partition))
			}
			roles, err := listRoles(tx, a.ID)
			if err != nil {
				return err
			}
			for _, r := range roles {
				inv.Roles = append(inv.Roles, r.public(d.partition))
			}
			out = append(out, inv)
		}
		keys, err := tx.List("iam/accesskey/", "", 0)
		if err != nil {
			return err
		}
		for _, e := range keys {
			var k AccessKey
			if err := json.Unmarshal(e.Value, &k); err != nil {
				return err
			}
			k.normalize()
			k.WrappedSecret = nil
			if i, ok := idx[k.Account]; ok {
				out[i].Keys = append(out[i].Keys, k)
			}
		}
		sess, err := tx.List("iam/session/", "", 0)
		if err != nil {
			return err
		}
		for _, e := range sess {
			var s sessionRecord
			if err := json.Unmarshal(e.Value, &s); err != nil {
				return err
			}
			if i, ok := idx[s.Account]; ok && now.Before(s.Expires) {
				out[i].Sessions++
			}
		}
		return nil
	})
	return out, err
}
