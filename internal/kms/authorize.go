package kms

import (
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/policy"
)

// authz carries the operation-specific condition keys of one request.
type authz struct {
	encryptionContext map[string]string // nil when the operation takes none
	set               func(r *policy.Request)
	newGrant          *policy.Grant
}

// principal converts a caller for the policy engine.
func (c *Caller) principal() policy.Principal {
	return policy.Principal{
		ARN:      c.ARN,
		Account:  c.Account,
		RoleARN:  c.RoleARN,
		UserName: c.UserName,
		UserID:   c.UserID,
		Tags:     c.Tags,
		IsRoot:   c.isRoot(),
	}
}

func (c *Caller) isRoot() bool {
	return c.Type == "Root" || (c.Type == "" && arn.IsAccountRoot(c.ARN, c.Account))
}

// request builds the policy request for action on resource with the global
// condition keys AWS sets on every request.
func (s *Service) request(c *Caller, action, resource string, a *authz) *policy.Request {
	r := &policy.Request{Principal: c.principal(), Action: action, Resource: resource}
	// Condition key names are given in lower case: Set folds case, and
	// folding an already lower-case name costs nothing on this hot path.
	now, epoch := s.clockStrings()
	r.Set("aws:currenttime", now)
	r.Set("aws:epochtime", epoch)
	if c.SourceIP != "" {
		r.Set("aws:sourceip", c.SourceIP)
	}
	r.Set("aws:securetransport", strconv.FormatBool(c.SecureTransport))
	if a != nil {
		r.EncryptionContext = a.encryptionContext
		if a.set != nil {
			a.set(r)
		}
	}
	return r
}

// clockStrings returns aws:CurrentTime and aws:EpochTime for now, formatted
// once per second rather than once per request.
func (s *Service) clockStrings() (string, string) {
	now := s.timeNow().Unix()
	if c := s.clock.Load(); c != nil && c.unix == now {
		return c.iso, c.epoch
	}
	c := &clockCache{unix: now, iso: time.Unix(now, 0).UTC().Format(time.RFC3339), epoch: strconv.FormatInt(now, 10)}
	s.clock.Store(c)
	return c.iso, c.epoch
}

type clockCache struct {
	unix       int64
	iso, epoch string
}

// authorize decides whether caller may perform op ("Encrypt") on the key e,
// as AWS KMS decides: the key policy is the root of access, identity
// policies count where the key policy enables the caller's account, grants
// add what they list, and an explicit deny anywhere wins.
func (s *Service) authorize(caller *Caller, op string, e *cachedKey, a *authz) error {
	action := "kms:" + op
	r := s.request(caller, action, e.key.ARN(), a)
	k := e.key
	r.Set("kms:keyspec", k.Spec)
	r.Set("kms:keyusage", k.Usage)
	r.Set("kms:keyorigin", k.Origin)
	r.Set("kms:keymanager", "CUSTOMER")
	if len(e.aliases) > 0 {
		r.Set("kms:resourcealiases", e.aliases...)
	}
	for _, t := range k.Tags {
		r.Set("aws:ResourceTag/"+t.Key, t.Value)
	}
	in := &policy.KMSInput{
		Request:          r,
		KeyAccount:       k.Account,
		KeyPolicy:        e.policy,
		IdentityPolicies: caller.identityPolicies(k.Account),
		Grants:           e.grants,
	}
	if a != nil {
		in.NewGrant = a.newGrant
	}
	d := policy.DecideKMS(in)
	if !d.Allowed {
		return &Error{Code: CodeAccessDenied, Message: d.Message(caller.ARN, action, k.ARN())}
	}
	return nil
}

// identityPolicies are the caller's policies. They live in the caller's own
// account, so they apply to keys of other accounts too (cross-account use
// needs both sides).
func (c *Caller) identityPolicies(string) []*policy.Policy { return c.Policies }

// authorizeAccount decides operations on no particular key (CreateKey,
// ListKeys, ListAliases, GenerateRandom, ...): AWS controls them with
// identity policies alone. The account root user may do them in its own
// account.
func (s *Service) authorizeAccount(caller *Caller, op string, a *authz) error {
	if caller.isRoot() {
		return nil
	}
	action := "kms:" + op
	r := s.request(caller, action, "*", a)
	allowed := false
	for _, p := range caller.Policies {
		switch eff, _ := p.Evaluate(r); eff {
		case policy.Deny:
			return &Error{Code: CodeAccessDenied, Message: "User: " + caller.ARN + " is not authorized to perform: " + action + " on resource: * with an explicit deny in an identity-based policy"}
		case policy.Allow:
			allowed = true
		}
	}
	if !allowed {
		return &Error{Code: CodeAccessDenied, Message: "User: " + caller.ARN + " is not authorized to perform: " + action + " on resource: * because no identity-based policy allows the " + action + " action"}
	}
	return nil
}

// withKeys returns an authz that sets condition keys from name/value pairs,
// skipping empty values.
func withKeys(encCtx map[string]string, kv ...string) *authz {
	return &authz{encryptionContext: encCtx, set: func(r *policy.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				r.Set(kv[i], kv[i+1])
			}
		}
	}}
}

// grantOps lists the operations a grant may allow, in AWS's enum order.
var grantOperations = []string{"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
	"ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey",
	"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate"}

func joinOps(ops []string) string { return strings.Join(ops, ",") }

// tagAuthz sets the tag condition keys of TagResource, UntagResource and
// CreateKey: aws:RequestTag/<key> for tags being set and aws:TagKeys for
// every tag key in the request.
func tagAuthz(tags []Tag, removed []string) *authz {
	return &authz{set: func(r *policy.Request) {
		var keys []string
		for _, t := range tags {
			r.Set("aws:RequestTag/"+t.TagKey, t.TagValue)
			keys = append(keys, t.TagKey)
		}
		keys = append(keys, removed...)
		if len(keys) > 0 {
			r.Set("aws:TagKeys", keys...)
		}
	}}
}

func deref(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}
