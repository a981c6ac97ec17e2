// Package iam holds Keyward's principals and their credentials: accounts,
// their root principals and access keys. Secret access keys are stored only
// wrapped under the root key; this package must never log or return a secret
// except once, to the creator of an access key.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/store"
)

// ErrUnknownAccessKey reports an access key id that does not exist or is inactive.
var ErrUnknownAccessKey = errors.New("iam: unknown access key")

// Principal is an authenticated identity.
type Principal struct {
	Account string `json:"account"`
	ARN     string `json:"arn"`
	UserID  string `json:"userId"` // principalId in CloudTrail; the account id for root
	Type    string `json:"type"`   // "Root", "IAMUser", "AssumedRole"
}

// AccessKey is a stored access key. Its secret is wrapped.
type AccessKey struct {
	ID            string    `json:"id"`
	Principal     Principal `json:"principal"`
	WrappedSecret []byte    `json:"wrappedSecret"`
	Status        string    `json:"status"` // "Active" | "Inactive"
	Created       time.Time `json:"created"`
}

// Account is a stored account.
type Account struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// Directory looks up credentials and principals. It is safe for concurrent use.
type Directory struct {
	store   store.Store
	wrapper keystore.Wrapper

	mu    sync.RWMutex
	cache map[string]*cred // access key id -> unwrapped credential
}

type cred struct {
	secret    []byte
	principal Principal
}

// New returns a Directory over s, wrapping secrets with w.
func New(s store.Store, w keystore.Wrapper) *Directory {
	return &Directory{store: s, wrapper: w, cache: map[string]*cred{}}
}

func accountPath(id string) string { return "iam/account/" + id }
func accessKeyPath(id string) string { return "iam/accesskey/" + id }

func secretAAD(akid string) []byte { return []byte("keyward/access-key/v1/" + akid) }

// RootARN is the ARN of an account's root principal.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// EnsureAccount creates account with its root principal and one access key
// if the account does not exist yet. It returns the new key's id and secret
// when it created them, and empty strings when the account already existed.
func (d *Directory) EnsureAccount(ctx context.Context, account string, now time.Time) (akid, secret string, err error) {
	root := Principal{Account: account, ARN: RootARN(account), UserID: account, Type: "Root"}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(accountPath(account)); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		b, _ := json.Marshal(Account{ID: account, Created: now})
		if err := tx.Put(accountPath(account), b); err != nil {
			return err
		}
		var k *AccessKey
		k, secret, err = d.newAccessKey(root, now)
		if err != nil {
			return err
		}
		akid = k.ID
		kb, _ := json.Marshal(k)
		return tx.Put(accessKeyPath(k.ID), kb)
	})
	if err != nil {
		return "", "", fmt.Errorf("ensure account %s: %w", account, err)
	}
	return akid, secret, nil
}

// newAccessKey makes a long-term key: "AKIA" + 16 base32 characters, and a
// 40-character secret, the shapes AWS uses.
func (d *Directory) newAccessKey(p Principal, now time.Time) (*AccessKey, string, error) {
	var idb [10]byte
	var sb [30]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, "", err
	}
	if _, err := rand.Read(sb[:]); err != nil {
		return nil, "", err
	}
	id := "AKIA" + base32.StdEncoding.EncodeToString(idb[:])
	secret := base64.StdEncoding.EncodeToString(sb[:])
	w, err := d.wrapper.Wrap([]byte(secret), secretAAD(id))
	if err != nil {
		return nil, "", err
	}
	return &AccessKey{ID: id, Principal: p, WrappedSecret: w, Status: "Active", Created: now}, secret, nil
}

// Lookup returns the secret and principal of an active access key, or
// ErrUnknownAccessKey. The secret is shared: callers must not modify it.
func (d *Directory) Lookup(ctx context.Context, akid string) ([]byte, Principal, error) {
	d.mu.RLock()
	c := d.cache[akid]
	d.mu.RUnlock()
	if c != nil {
		return c.secret, c.principal, nil
	}
	var k AccessKey
	err := d.store.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(accessKeyPath(akid))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &k)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, Principal{}, ErrUnknownAccessKey
	} else if err != nil {
		return nil, Principal{}, err
	}
	if k.Status != "Active" {
		return nil, Principal{}, ErrUnknownAccessKey
	}
	secret, err := d.wrapper.Unwrap(k.WrappedSecret, secretAAD(akid))
	if err != nil {
		return nil, Principal{}, fmt.Errorf("unwrap secret of %s: %w", akid, err)
	}
	c = &cred{secret: secret, principal: k.Principal}
	d.mu.Lock()
	d.cache[akid] = c
	d.mu.Unlock()
	return c.secret, c.principal, nil
}

// ListAccessKeys returns the stored access keys (secrets still wrapped).
func (d *Directory) ListAccessKeys(ctx context.Context) ([]AccessKey, error) {
	var out []AccessKey
	err := d.store.View(ctx, func(tx store.Tx) error {
		es, err := tx.List("iam/accesskey/", "", 0)
		for _, e := range es {
			var k AccessKey
			if err := json.Unmarshal(e.Value, &k); err != nil {
				return err
			}
			out = append(out, k)
		}
		return err
	})
	return out, err
}
