// Package kms is Keyward's transport-free service core: one file per AWS KMS
// operation, each taking an authenticated Caller and a typed request and
// returning a typed response or an *Error.
//
// The core never sees HTTP and never holds unwrapped key material outside its
// in-memory cache; it must never return key material except where AWS KMS
// does (data keys, public keys, random bytes).
package kms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/keyspec"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/store"
)

// Caller is the authenticated principal behind a request, with everything
// authorization needs to know about it.
type Caller struct {
	Account     string // 12-digit account id
	ARN         string // e.g. arn:aws:iam::111122223333:root
	AccessKeyID string
	SourceIP    string

	UserID          string            // principalId: the account id for root, AIDA... for users, AROA...:session for roles
	Type            string            // "Root", "IAMUser" or "AssumedRole"; "" is treated as "Root" when ARN is the root ARN
	UserName        string            // IAM user name
	RoleARN         string            // the role of an assumed-role session
	SessionCreated  time.Time         // when an assumed-role session was issued
	Tags            map[string]string // principal tags (user tags, or role and session tags)
	Policies        []*policy.Policy  // the caller's identity policies
	SecureTransport bool              // the request came over TLS
}

// Config configures a Service.
type Config struct {
	Region  string
	Store   store.Store
	Wrapper keystore.Wrapper
	Now     func() time.Time // nil: time.Now
	Rand    io.Reader        // nil: crypto/rand
	Logger  *slog.Logger     // nil: discard

	// Usage answers GetKeyLastUsage; nil makes it UnsupportedOperationException.
	Usage UsageSource

	// Scheduler runs key lifecycle jobs (rotation, deletion, expiry of
	// imported material); New registers their handlers on it. nil: New
	// makes one on Store, which the caller runs via Service.Scheduler.
	Scheduler *scheduler.Scheduler
	// Clock is the time source of the scheduler New makes, and of the
	// service when Now is nil. nil: the system clock.
	Clock scheduler.Clock
	// OnServiceEvent, if set, is told of work the service does on its own
	// (EventRotateKey, EventDeleteKey, EventDeleteExpiredKeyMaterial).
	OnServiceEvent func(ServiceEvent)
	// ServiceEventsReady, if set, is asked before each lifecycle job. While it
	// returns an error (the audit log cannot take records), the job is not
	// done and the scheduler retries it later, so that no key is rotated or
	// deleted without a record of it.
	ServiceEventsReady func() error
}

// Service implements the AWS KMS operations.
type Service struct {
	region  string
	store   store.Store
	wrapper keystore.Wrapper
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	usage   UsageSource
	life    *lifecycle // rotation, deletion, import: see lifecycle.go

	// The cache holds keys with their unwrapped material so that Encrypt and
	// Decrypt do no store I/O in the common case. Writers invalidate after
	// their transaction commits; gen stops a reader that loaded before the
	// commit from inserting a stale entry after the invalidation.
	clock atomic.Pointer[clockCache] // see clockStrings

	mu      sync.RWMutex
	gen     uint64
	keys    map[string]*cachedKey // by key id
	aliases map[string]string     // account + "/" + alias name -> key id
}

// cachedKey is an immutable snapshot of a key and its unwrapped material.
// Asymmetric private keys are parsed once here, because parsing costs as
// much as signing (ML-DSA, Ed25519, secp256k1).
type cachedKey struct {
	key      *keys.Key
	material map[uint32]blob.Secret
	private  map[uint32]*keyspec.PrivateKey // asymmetric keys only
	policy   *policy.Policy                 // the parsed key policy
	grants   []policy.Grant                 // the key's grants, for authorization
	aliases  []string                       // the key's alias names, for kms:ResourceAliases
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Region == "" || cfg.Store == nil || cfg.Wrapper == nil {
		return nil, errors.New("kms: Region, Store and Wrapper are required")
	}
	s := &Service{
		region:  cfg.Region,
		store:   cfg.Store,
		wrapper: cfg.Wrapper,
		now:     cfg.Now,
		rand:    cfg.Rand,
		log:     cfg.Logger,
		usage:   cfg.Usage,
		keys:    map[string]*cachedKey{},
		aliases: map[string]string{},
	}
	s.initLifecycle(cfg)
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Region is the region the service answers for.
func (s *Service) Region() string { return s.region }

// KeyStorePrefix begins the store key of every KMS key. Key ids are
// globally unique, so keys are stored by id alone; the per-account index
// orders ListKeys.
const KeyStorePrefix = "key/"

// Store layout.
func keyPath(id string) string                  { return KeyStorePrefix + id }
func acctKeyPath(account, id string) string     { return "acctkey/" + account + "/" + id }
func aliasPath(account, name string) string     { return "alias/" + account + "/" + name }
func aliasPrefix(account string) string         { return "alias/" + account + "/" }
func acctKeyPrefix(account string) string       { return "acctkey/" + account + "/" }
func aliasCacheKey(account, name string) string { return account + "/" + name }

// internal logs err with context and returns the opaque KMSInternalException.
// Details (paths, store errors) stay in the server log.
func (s *Service) internal(ctx context.Context, op string, err error) error {
	s.log.ErrorContext(ctx, "internal error", "op", op, "err", err)
	return &Error{Code: CodeInternal, Message: "An internal error occurred. Try again later."}
}

func (s *Service) timeNow() time.Time { return s.now().UTC() }

// getKey returns the cached key with id, loading and unwrapping it on a miss.
// It returns store.ErrNotFound for an unknown id.
func (s *Service) getKey(ctx context.Context, id string) (*cachedKey, error) {
	s.mu.RLock()
	e, gen := s.keys[id], s.gen
	s.mu.RUnlock()
	if e != nil {
		return e, nil
	}
	var k keys.Key
	var grants []Grant
	var aliases []string
	err := s.store.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(keyPath(id))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
		if grants, err = listGrants(tx, id); err != nil {
			return err
		}
		// Aliases are few per account; this runs only on a cache miss.
		es, err := tx.List(aliasPrefix(k.Account), "", 0)
		for _, en := range es {
			var a keys.Alias
			if json.Unmarshal(en.Value, &a) == nil && a.TargetKeyID == id {
				aliases = append(aliases, a.Name)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	e = &cachedKey{key: &k, material: make(map[uint32]blob.Secret, len(k.Versions)), aliases: aliases}
	doc := []byte(k.Policy)
	if k.Policy == "" {
		doc = policy.DefaultKeyPolicy(arn.Partition(k.Region), k.Account)
	}
	if e.policy, err = policy.Parse(doc, policy.KeyPolicy); err != nil {
		return nil, fmt.Errorf("parse key policy of %s: %w", k.ID, err)
	}
	for _, g := range grants {
		e.grants = append(e.grants, g.forPolicy())
	}
	for _, v := range k.Versions {
		if v.Wrapped == nil {
			continue // imported material that was deleted or expired
		}
		pt, err := s.wrapper.Unwrap(v.Wrapped, keys.MaterialAAD(k.ID, v.ID))
		if err != nil {
			return nil, fmt.Errorf("unwrap material of %s v%d: %w", k.ID, v.ID, err)
		}
		if isAsymmetric(k.Spec) {
			priv, err := keyspec.ParsePrivateKey(keyspec.Spec(k.Spec), pt)
			if err != nil {
				clear(pt)
				return nil, fmt.Errorf("parse material of %s v%d: %w", k.ID, v.ID, err)
			}
			if e.private == nil {
				e.private = map[uint32]*keyspec.PrivateKey{}
			}
			e.private[v.ID] = priv
		}
		e.material[v.ID] = blob.NewSecret(pt)
		clear(pt)
	}
	s.mu.Lock()
	if s.gen == gen {
		s.keys[id] = e
	}
	s.mu.Unlock()
	return e, nil
}

// invalidate drops cached keys and aliases after a committed write.
func (s *Service) invalidate(keyIDs []string, aliasKeys []string) {
	s.mu.Lock()
	s.gen++
	for _, id := range keyIDs {
		delete(s.keys, id)
	}
	for _, a := range aliasKeys {
		delete(s.aliases, a)
	}
	s.mu.Unlock()
}

// lookupAlias returns the key id an alias points to, or store.ErrNotFound.
func (s *Service) lookupAlias(ctx context.Context, account, name string) (string, error) {
	ck := aliasCacheKey(account, name)
	s.mu.RLock()
	id, ok := s.aliases[ck]
	gen := s.gen
	s.mu.RUnlock()
	if ok {
		return id, nil
	}
	var a keys.Alias
	err := s.store.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(aliasPath(account, name))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &a)
	})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.gen == gen {
		s.aliases[ck] = a.TargetKeyID
	}
	s.mu.Unlock()
	return a.TargetKeyID, nil
}

// refMode says which forms of KeyId an operation accepts.
type refMode int

const (
	keyOnly    refMode = iota // key id or key ARN
	keyOrAlias                // also alias name or alias ARN
)

// resolve finds the key a KeyId parameter names, as caller sees it. op is
// the operation name, for AWS's messages.
func (s *Service) resolve(ctx context.Context, caller *Caller, op, keyID string, mode refMode) (*cachedKey, error) {
	ref, ok := keys.ParseRef(keyID)
	if !ok {
		return nil, errf(CodeNotFound, "Invalid keyId '%s'", keyID)
	}
	account := caller.Account
	switch ref.Kind {
	case keys.RefAliasName, keys.RefAliasARN:
		if mode == keyOnly {
			return nil, errf(CodeNotFound, "Invalid keyId '%s'", keyID)
		}
		if ref.Kind == keys.RefAliasARN {
			if err := s.checkARNScope(caller, op, ref); err != nil {
				return nil, err
			}
		}
		id, err := s.lookupAlias(ctx, account, ref.Alias)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errf(CodeNotFound, "Alias %s is not found.", keys.AliasARN(s.region, account, ref.Alias))
		} else if err != nil {
			return nil, s.internal(ctx, "resolve", err)
		}
		return s.keyForCaller(ctx, caller, id)
	case keys.RefKeyARN:
		if !validKeyID(ref.KeyID) {
			return nil, errf(CodeNotFound, "Invalid arn %s", keyID)
		}
		if ref.Region != s.region {
			return nil, errf(CodeNotFound, "Invalid arn %s", ref.Region)
		}
		if ref.Account != caller.Account {
			return s.crossAccountKey(ctx, caller, op, ref)
		}
		return s.keyForCaller(ctx, caller, ref.KeyID)
	default:
		if !validKeyID(ref.KeyID) {
			return nil, errf(CodeNotFound, "Invalid keyId '%s'", keyID)
		}
		return s.keyForCaller(ctx, caller, ref.KeyID)
	}
}

// validKeyID reports whether id has the form of a key id AWS KMS looks up:
// a key id, or a multi-Region key id (which Keyward never holds, so it is
// not found, as AWS answers for one that does not exist).
func validKeyID(id string) bool {
	return keys.IsKeyID(id) || keys.IsMultiRegionKeyID(id)
}

// crossAccountOps are the operations AWS KMS allows on a key of another
// account, named by its key ARN; the key policy (and the caller's identity
// policies) then decide.
var crossAccountOps = map[string]bool{
	"CreateGrant": true, "Decrypt": true, "DescribeKey": true, "Encrypt": true, "GenerateDataKey": true,
	"GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true, "GenerateDataKeyWithoutPlaintext": true,
	"GenerateMac": true, "GetKeyRotationStatus": true, "GetPublicKey": true, "ListGrants": true, "ReEncrypt": true,
	"RetireGrant": true, "RevokeGrant": true, "Sign": true, "Verify": true, "VerifyMac": true, "DeriveSharedSecret": true,
	"Encapsulate": true, "Decapsulate": true,
}

// crossAccountKey loads a key of another account for an operation AWS lets
// cross accounts. A missing key and a refused operation look the same.
func (s *Service) crossAccountKey(ctx context.Context, caller *Caller, op string, ref keys.Ref) (*cachedKey, error) {
	denied := errf(CodeAccessDenied, "User: %s is not authorized to perform: kms:%s on this resource because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access", caller.ARN, op)
	if !crossAccountOps[op] || !keys.IsKeyID(ref.KeyID) {
		return nil, denied
	}
	e, err := s.getKey(ctx, ref.KeyID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.key.Account != ref.Account) {
		return nil, denied
	} else if err != nil {
		return nil, s.internal(ctx, op, err)
	}
	return e, nil
}

// checkARNScope refuses alias ARNs outside this region and the caller's
// account with the errors AWS gives: an ARN of another region is "Invalid
// arn <region>"; aliases are never shared across accounts.
func (s *Service) checkARNScope(caller *Caller, op string, ref keys.Ref) error {
	if ref.Region != s.region {
		return errf(CodeNotFound, "Invalid arn %s", ref.Region)
	}
	if ref.Account != caller.Account {
		return errf(CodeAccessDenied, "User: %s is not authorized to perform: kms:%s on this resource because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access", caller.ARN, op)
	}
	return nil
}

// keyForCaller loads key id and checks that it is in the caller's account;
// a key in another account is reported exactly like a missing one.
func (s *Service) keyForCaller(ctx context.Context, caller *Caller, id string) (*cachedKey, error) {
	e, err := s.getKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.key.Account != caller.Account) {
		return nil, errf(CodeNotFound, "Key '%s' does not exist", keys.KeyARN(s.region, caller.Account, id))
	} else if err != nil {
		return nil, s.internal(ctx, "load key", err)
	}
	return e, nil
}

// updateKey applies fn to the stored key in one transaction and drops the
// cached copy once the change is durable.
func (s *Service) updateKey(ctx context.Context, id string, fn func(tx store.Tx, k *keys.Key) error) (*keys.Key, error) {
	var out *keys.Key
	err := s.store.Update(ctx, func(tx store.Tx) error {
		b, err := tx.Get(keyPath(id))
		if err != nil {
			return err
		}
		var k keys.Key
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
		if err := fn(tx, &k); err != nil {
			return err
		}
		nb, err := json.Marshal(&k)
		if err != nil {
			return err
		}
		out = &k
		return tx.Put(keyPath(id), nb)
	})
	s.invalidate([]string{id}, nil)
	if err != nil {
		var kerr *Error
		if errors.As(err, &kerr) {
			return nil, kerr
		}
		return nil, s.internal(ctx, "update key", err)
	}
	return out, nil
}

// materialID is the public identifier of one version of backing material
// (KeyMaterialId): a hash that reveals nothing about the material.
func materialID(keyID string, version uint32) string {
	var buf [96]byte // "keyward/key-material-id/%s/%d" without fmt: Encrypt's audit record needs it
	b := append(buf[:0], "keyward/key-material-id/"...)
	b = append(b, keyID...)
	b = append(b, '/')
	b = strconv.AppendUint(b, uint64(version), 10)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// keyMaterialID is the ID of k's key material version v where AWS KMS
// shows one: only symmetric encryption keys have key material IDs (with
// AWS_KMS origin, or EXTERNAL and single-Region). For every other key it is
// "", which leaves the field out of DescribeKey, Decrypt and ReEncrypt.
func keyMaterialID(k *keys.Key, v uint32) string {
	if k.Spec != keys.SpecSymmetricDefault || (k.Origin == keys.OriginExternal && k.MultiRegion) {
		return ""
	}
	return materialID(k.ID, v)
}

// metadata renders a key as KeyMetadata.
func (s *Service) metadata(k *keys.Key) *KeyMetadata {
	m := &KeyMetadata{
		AWSAccountId:          k.Account,
		KeyId:                 k.ID,
		Arn:                   k.ARN(),
		CreationDate:          ts(k.Created),
		Enabled:               k.State == keys.Enabled,
		Description:           k.Description,
		KeyUsage:              k.Usage,
		KeyState:              string(k.State),
		Origin:                k.Origin,
		KeyManager:            keys.ManagerCustomer,
		CustomerMasterKeySpec: k.Spec,
		KeySpec:               k.Spec,
		MultiRegion:           k.MultiRegion,
	}
	if v := k.Current(); v != nil {
		m.CurrentKeyMaterialId = keyMaterialID(k, v.ID)
	}
	spec, usage := keyspec.Spec(k.Spec), keyspec.Usage(k.Usage)
	m.EncryptionAlgorithms = keyspec.EncryptionAlgorithms(spec, usage)
	m.SigningAlgorithms = keyspec.SigningAlgorithms(spec, usage)
	m.MacAlgorithms = keyspec.MACAlgorithms(spec, usage)
	m.KeyAgreementAlgorithms = keyspec.KeyAgreementAlgorithms(spec, usage)
	m.EncapsulationAlgorithms = keyspec.EncapsulationAlgorithms(spec, usage)
	if k.State == keys.PendingDeletion && k.DeletionAt != nil {
		m.DeletionDate = ts(*k.DeletionAt)
		if k.DeletionWindow > 0 {
			w := k.DeletionWindow
			m.PendingDeletionWindowInDays = &w
		}
	}
	if k.Origin == keys.OriginExternal {
		m.ExpirationModel, m.ValidTo = importedExpiry(k)
	}
	return m
}

const algSymmetricDefault = "SYMMETRIC_DEFAULT"

// isAsymmetric reports whether a key spec names a public-key pair.
func isAsymmetric(spec string) bool {
	return spec != keys.SpecSymmetricDefault && !isHMAC(spec)
}

// isHMAC reports whether a key spec names an HMAC key.
func isHMAC(spec string) bool {
	switch spec {
	case "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512":
		return true
	}
	return false
}

// specError turns a keyspec refusal into the AWS error a client expects.
// Failures that are not the request's fault become internal errors.
func (s *Service) specError(ctx context.Context, op string, err error) error {
	var kerr *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &kerr):
		return kerr
	case errors.Is(err, keyspec.ErrDecrypt):
		return errInvalidCiphertext
	case errors.Is(err, keyspec.ErrInvalidAlgorithm):
		return &Error{Code: CodeInvalidKeyUsage, Message: err.Error()}
	case errors.Is(err, keyspec.ErrInvalidKeySpec), errors.Is(err, keyspec.ErrMessageType),
		errors.Is(err, keyspec.ErrDigestLength), errors.Is(err, keyspec.ErrMessageLength),
		errors.Is(err, keyspec.ErrPlaintextTooLong), errors.Is(err, keyspec.ErrInvalidPeerKey):
		return &Error{Code: CodeValidation, Message: err.Error()}
	}
	return s.internal(ctx, op, err)
}

// useKey is the start of every operation on one key: it resolves keyID
// (a key id, key ARN, alias name or alias ARN) for op, authorizes the caller
// with the request's condition keys a, and checks that the key's state and
// usage allow op, in that order, which is the order in which AWS reports
// the errors.
func (s *Service) useKey(ctx context.Context, caller *Caller, op, keyID, usage string, a *authz) (*cachedKey, error) {
	e, err := s.resolve(ctx, caller, op, keyID, keyOrAlias)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, op, e, a); err != nil {
		return nil, err
	}
	if err := checkUsable(e.key, op, usage); err != nil {
		return nil, err
	}
	return e, nil
}

// checkUsable reports whether a key's state and usage allow op, with AWS's
// error for each case that does not.
func checkUsable(k *keys.Key, op, usage string) error {
	if err := checkState(k); err != nil {
		return err
	}
	if k.Usage != usage {
		return errf(CodeInvalidKeyUsage, "%s key usage is %s which is not valid for %s.", k.ARN(), k.Usage, op)
	}
	return nil
}

// checkState reports whether a key's state allows cryptographic use.
// The rules and messages live in the key state table (keys.Allow).
func checkState(k *keys.Key) error { return allow(k, "Encrypt") }

// dryRun answers a request whose DryRun flag is set, after every check that
// a real call would make has passed.
func dryRun(flag *bool) error {
	if flag != nil && *flag {
		return &Error{Code: CodeDryRun, Message: "The request would have succeeded, but the DryRun option is set."}
	}
	return nil
}
