// Package keys is Keyward's key model: key metadata, versions of backing
// material, states, ARNs, key ids and aliases.
//
// A Key holds its backing material only in wrapped form; this package never
// sees an unwrapped key.
package keys

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/arn"
)

// State is a key's KeyState as AWS KMS names it.
type State string

// The key states of AWS KMS.
const (
	Enabled         State = "Enabled"
	Disabled        State = "Disabled"
	PendingDeletion State = "PendingDeletion"
	PendingImport   State = "PendingImport"
	Unavailable     State = "Unavailable"
)

// Key specs, usages and origins used by the core. The asymmetric specs live
// in package keyspec.
const (
	SpecSymmetricDefault = "SYMMETRIC_DEFAULT"
	UsageEncryptDecrypt  = "ENCRYPT_DECRYPT"
	OriginAWSKMS         = "AWS_KMS"
	OriginExternal       = "EXTERNAL" // imported key material
	ManagerCustomer      = "CUSTOMER"
)

// Version is one generation of a key's backing material.
type Version struct {
	ID      uint32    `json:"id"`
	Created time.Time `json:"created"`
	// Wrapped is the material wrapped by the keystore, bound to the key id
	// and version by MaterialAAD. It is nil while imported material is
	// deleted or expired (import state PENDING_IMPORT).
	Wrapped []byte `json:"wrapped"`

	// Rotation is how this version became current: "AUTOMATIC" or
	// "ON_DEMAND"; empty for the first material and for imported material
	// pending rotation. Rotated is when.
	Rotation string     `json:"rotation,omitempty"`
	Rotated  *time.Time `json:"rotated,omitempty"`
	// Pending marks imported material waiting for RotateKeyOnDemand
	// (PENDING_ROTATION); it is never used to encrypt.
	Pending bool `json:"pending,omitempty"`
	// Imported material only: a keyed fingerprint of the material, kept
	// after the material is deleted so that only the same material can be
	// imported again; its expiry; and the caller's description of it.
	Fingerprint     string     `json:"fingerprint,omitempty"`
	ExpirationModel string     `json:"expirationModel,omitempty"`
	ValidTo         *time.Time `json:"validTo,omitempty"`
	Description     string     `json:"description,omitempty"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Key is a KMS key as stored. It is a plain value: copy it before changing it.
type Key struct {
	ID          string     `json:"id"`
	Account     string     `json:"account"`
	Region      string     `json:"region"`
	Created     time.Time  `json:"created"`
	Description string     `json:"description"`
	State       State      `json:"state"`
	Spec        string     `json:"spec"`
	Usage       string     `json:"usage"`
	Origin      string     `json:"origin"`
	MultiRegion bool       `json:"multiRegion"`
	Tags        []Tag      `json:"tags,omitempty"`
	Versions    []Version  `json:"versions"`
	Policy      string     `json:"policy,omitempty"`
	DeletionAt  *time.Time `json:"deletionAt,omitempty"`

	// DeletionWindow is the PendingWindowInDays of a scheduled deletion.
	DeletionWindow int32 `json:"deletionWindow,omitempty"`
	// Automatic rotation: whether it is on, its period in days and the
	// next rotation date. OnDemandStarted is set while an on-demand
	// rotation is in progress.
	RotationEnabled bool       `json:"rotationEnabled,omitempty"`
	RotationPeriod  int32      `json:"rotationPeriod,omitempty"`
	NextRotation    *time.Time `json:"nextRotation,omitempty"`
	OnDemandStarted *time.Time `json:"onDemandStarted,omitempty"`
}

// ARN returns the key's ARN.
func (k *Key) ARN() string { return KeyARN(k.Region, k.Account, k.ID) }

// Current returns the newest version of the backing material that is not
// pending rotation, or nil for a key that never had material.
func (k *Key) Current() *Version {
	for i := len(k.Versions) - 1; i >= 0; i-- {
		if !k.Versions[i].Pending {
			return &k.Versions[i]
		}
	}
	return nil
}

// Version returns the version with id v, or nil.
func (k *Key) Version(v uint32) *Version {
	for i := range k.Versions {
		if k.Versions[i].ID == v {
			return &k.Versions[i]
		}
	}
	return nil
}

// Clone returns a deep copy of k.
func (k *Key) Clone() *Key {
	c := *k
	c.Tags = append([]Tag(nil), k.Tags...)
	c.Versions = append([]Version(nil), k.Versions...)
	if k.DeletionAt != nil {
		t := *k.DeletionAt
		c.DeletionAt = &t
	}
	for _, p := range []**time.Time{&c.NextRotation, &c.OnDemandStarted} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	return &c
}

// MaterialAAD binds wrapped material to its key and version, so that wrapped
// material copied into another key's record does not unwrap.
func MaterialAAD(keyID string, version uint32) []byte {
	return fmt.Appendf(nil, "keyward/key-material/v1/%s/%d", keyID, version)
}

// KeyARN formats a key ARN in the partition of region.
func KeyARN(region, account, id string) string {
	return arn.Prefix(region) + "kms:" + region + ":" + account + ":key/" + id
}

// AliasARN formats an alias ARN; name includes the "alias/" prefix.
func AliasARN(region, account, name string) string {
	return arn.Prefix(region) + "kms:" + region + ":" + account + ":" + name
}

// NewID returns a random (version 4) UUID, the form of AWS KMS key ids. It
// also makes request and event ids, once per request, so it avoids fmt.
func NewID() string {
	var u [16]byte
	rand.Read(u[:]) // crypto/rand never fails on supported platforms
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	const hexDigit = "0123456789abcdef"
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigit[c>>4], hexDigit[c&0xf]
		j += 2
	}
	return string(s[:])
}

// IsMultiRegionKeyID reports whether s has the form of a multi-Region key
// id: "mrk-" and 32 lower-case hex digits. Keyward creates no multi-Region
// keys, but AWS KMS answers such an id with "does not exist" rather than
// "Invalid keyId", and so does Keyward.
func IsMultiRegionKeyID(s string) bool {
	if len(s) != 36 || s[:4] != "mrk-" {
		return false
	}
	for i := 4; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// IsKeyID reports whether s has the form of a key id: a lower-case UUID.
// It runs on every request, so it is a loop rather than a regexp.
func IsKeyID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// RefKind says how a client named a key.
type RefKind int

// The ways a key can be named.
const (
	RefKeyID RefKind = iota
	RefKeyARN
	RefAliasName
	RefAliasARN
)

// Ref is a parsed key identifier.
type Ref struct {
	Kind    RefKind
	Region  string // for ARNs
	Account string // for ARNs
	KeyID   string // for key ids and key ARNs
	Alias   string // "alias/..." for alias names and alias ARNs
}

// ParseRef classifies a KeyId parameter. It does not check that the key
// exists. ok is false when s has none of the four forms.
func ParseRef(s string) (Ref, bool) {
	switch {
	case strings.HasPrefix(s, "alias/"):
		return Ref{Kind: RefAliasName, Alias: s}, true
	case strings.HasPrefix(s, "arn:"):
		// arn:PARTITION:kms:<region>:<account>:key/<id> or :alias/<name>,
		// the partition being the region's (aws-cn for cn-north-1).
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 || parts[1] != arn.Partition(parts[3]) || parts[2] != "kms" || parts[3] == "" || parts[4] == "" {
			return Ref{}, false
		}
		r := Ref{Region: parts[3], Account: parts[4]}
		switch res := parts[5]; {
		case strings.HasPrefix(res, "key/"):
			r.Kind, r.KeyID = RefKeyARN, strings.TrimPrefix(res, "key/")
		case strings.HasPrefix(res, "alias/"):
			r.Kind, r.Alias = RefAliasARN, res
		default:
			return Ref{}, false
		}
		return r, true
	default:
		return Ref{Kind: RefKeyID, KeyID: s}, true
	}
}

// Alias is a friendly name for a key.
type Alias struct {
	Name        string    `json:"name"`
	TargetKeyID string    `json:"target"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

var aliasRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)

// CheckAliasName returns a description of what is wrong with an alias name,
// or "" when AWS would accept it for CreateAlias.
func CheckAliasName(name string) string {
	switch {
	case !strings.HasPrefix(name, "alias/"):
		return `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`
	case strings.HasPrefix(name, "alias/aws/"):
		return "" // reserved; the caller reports it with its own error type
	case !aliasRE.MatchString(name):
		return "Alias contains invalid characters"
	}
	return ""
}

// IsReservedAlias reports whether name is in the AWS-managed alias namespace.
func IsReservedAlias(name string) bool { return strings.HasPrefix(name, "alias/aws/") }
