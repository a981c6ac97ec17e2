package policy

import "strings"

// GrantConstraints are a grant's encryption context constraints
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
// An empty map is no constraint.
type GrantConstraints struct {
	// EncryptionContextEquals: the request's encryption context must be
	// exactly these pairs.
	EncryptionContextEquals map[string]string
	// EncryptionContextSubset: the request's encryption context must include
	// these pairs, and may have others.
	EncryptionContextSubset map[string]string
}

// Grant is a grant on the key
// (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html).
type Grant struct {
	// ID identifies the grant in Decision.By.
	ID string
	// GranteePrincipal is the ARN the grant gives permissions to. A grant to
	// a role applies to the role's sessions.
	GranteePrincipal string
	// Operations are grant operation names, such as "Decrypt".
	Operations  []string
	Constraints *GrantConstraints
}

// KMSInput is everything AWS KMS weighs to authorize one request on a key
// (https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html).
type KMSInput struct {
	// Request is the request to decide; it must not be nil.
	Request *Request
	// KeyAccount is the account that owns the key.
	KeyAccount string
	// KeyPolicy is the key's policy, parsed as KeyPolicy.
	KeyPolicy *Policy
	// IdentityPolicies are the caller's own policies, in the caller's
	// account, parsed as IdentityPolicy.
	IdentityPolicies []*Policy
	// Grants are the key's grants. For kms:RetireGrant, pass only the grant
	// being retired: a grant that lists RetireGrant lets its grantee retire
	// that grant, not others.
	Grants []Grant
	// NewGrant is, for kms:CreateGrant, the grant being created. A grantee
	// who got CreateGrant from a grant may only create grants at least as
	// restrictive as that grant, so without NewGrant no grant allows
	// CreateGrant.
	NewGrant *Grant
}

// Decision is the outcome of DecideKMS.
type Decision struct {
	Allowed bool
	// Reason ends AWS's AccessDenied message when the request is denied,
	// such as "because no resource-based policy allows the kms:Encrypt
	// action". When allowed, it says what allowed the request, for audit.
	Reason string
	// By names the deciding key policy or identity policy statement (its Sid,
	// or "#<index>") or grant (its ID); empty when nothing applied.
	By string
}

// Reasons. The denial wording is AWS's; the AccessDeniedException message is
// "User: <arn> is not authorized to perform: <action> on resource: <arn> " +
// Reason.
const (
	reasonDenyResource = "with an explicit deny in a resource-based policy"
	reasonDenyIdentity = "with an explicit deny in an identity-based policy"

	reasonAllowKeyPolicy = "allowed by the key policy"
	reasonAllowIAM       = "allowed by an identity-based policy the key policy enables"
	reasonAllowGrant     = "allowed by a grant"
)

func reasonNoResource(action string) string {
	return "because no resource-based policy allows the " + action + " action"
}

func reasonNoIdentity(action string) string {
	return "because no identity-based policy allows the " + action + " action"
}

// Message returns the AccessDeniedException message for a denied decision,
// such as "User: arn:aws:iam::111122223333:user/alice is not authorized to
// perform: kms:Encrypt on resource: arn:aws:kms:...:key/... because no
// resource-based policy allows the kms:Encrypt action". It returns "" for an
// allowed decision.
func (d Decision) Message(principalARN, action, resource string) string {
	if d.Allowed {
		return ""
	}
	return "User: " + principalARN + " is not authorized to perform: " + action + " on resource: " + resource + " " + d.Reason
}

// DecideKMS decides whether AWS KMS would allow in.Request on the key.
//
// It follows the AWS KMS authorization flow
// (https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html):
//
//  1. An explicit Deny in the key policy or in one of the caller's identity
//     policies denies, whatever allows (policy evaluation logic,
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
//     Grants cannot deny, and cannot override a Deny.
//  2. The key policy is the root of access. A statement that names the
//     caller, the caller's role, or "*" allows a caller of the key's account
//     by itself. A statement that names an account ("111122223333" or
//     arn:aws:iam::111122223333:root) "doesn't give any IAM users or roles
//     permission"; it lets that account's IAM policies allow access
//     (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#allow-iam-policies).
//     Without it, "IAM policies that allow access to the key are
//     ineffective".
//  3. A caller in another account needs both: the key policy must allow its
//     account or itself, and an identity policy in its own account must
//     allow the action on the key
//     (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
//  4. A grant whose grantee is the caller (or its role) allows the grant's
//     operations, within its constraints, in any account
//     (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html).
//
// The account root user has no identity policies; IAM gives it "full
// access" within its account
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow),
// so it passes step 2's IAM half wherever the key policy enables its
// account. It gets nothing the key policy does not enable: AWS has no
// root bypass of key policies.
func DecideKMS(in *KMSInput) Decision {
	r := in.Request
	var kp verdict
	in.KeyPolicy.eval(r, &kp)
	if kp.deny {
		return Decision{Reason: reasonDenyResource, By: kp.denyBy}
	}
	var id verdict
	for _, p := range in.IdentityPolicies {
		p.eval(r, &id)
		if id.deny {
			return Decision{Reason: reasonDenyIdentity, By: id.denyBy}
		}
	}
	sameAccount := r.Principal.Account != "" && r.Principal.Account == in.KeyAccount
	iamAllows := id.direct || r.Principal.IsRoot
	switch {
	case sameAccount && kp.direct:
		return Decision{Allowed: true, Reason: reasonAllowKeyPolicy, By: kp.directBy}
	case (kp.direct || kp.account) && iamAllows:
		by := id.directBy
		switch {
		case by != "":
		case kp.direct:
			by = kp.directBy
		default:
			by = kp.accountBy
		}
		return Decision{Allowed: true, Reason: reasonAllowIAM, By: by}
	}
	if g := grantAllows(in); g != nil {
		return Decision{Allowed: true, Reason: reasonAllowGrant, By: g.ID}
	}
	if !kp.direct && !kp.account {
		return Decision{Reason: reasonNoResource(r.Action)}
	}
	return Decision{Reason: reasonNoIdentity(r.Action)}
}

// grantOps are the operations a grant can allow
// (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html#terms-grant-operations).
// "A grant can only allow grant operations", whatever its Operations say.
var grantOps = map[string]bool{
	"decrypt": true, "encrypt": true, "generatedatakey": true,
	"generatedatakeywithoutplaintext": true, "generatedatakeypair": true,
	"generatedatakeypairwithoutplaintext": true, "reencryptfrom": true,
	"reencryptto": true, "sign": true, "verify": true, "getpublickey": true,
	"generatemac": true, "verifymac": true, "derivesharedsecret": true,
	"creategrant": true, "retiregrant": true, "describekey": true,
}

// ecOps are the grant operations that take an encryption context. "AWS KMS
// applies the grant constraints only to cryptographic operations that
// support an encryption context, that is, all cryptographic operations with
// a symmetric KMS key"; they are "not applied to ... management operations,
// such as DescribeKey or RetireGrant". Encryption context constraints cannot
// be set on grants for asymmetric keys, so Encrypt and Decrypt listed here
// only ever meet constraints on symmetric keys.
var ecOps = map[string]bool{
	"decrypt": true, "encrypt": true, "generatedatakey": true,
	"generatedatakeywithoutplaintext": true, "generatedatakeypair": true,
	"generatedatakeypairwithoutplaintext": true, "reencryptfrom": true,
	"reencryptto": true,
}

// grantAllows returns the first grant that allows the request, or nil.
func grantAllows(in *KMSInput) *Grant {
	r := in.Request
	svc, op, ok := strings.Cut(r.Action, ":")
	if !ok || !strings.EqualFold(svc, "kms") {
		return nil
	}
	op = strings.ToLower(op)
	if !grantOps[op] {
		return nil
	}
	for i := range in.Grants {
		g := &in.Grants[i]
		if !granteeMatches(g.GranteePrincipal, &r.Principal) || !hasOp(g.Operations, op) {
			continue
		}
		if op == "creategrant" {
			// "The grantee principal can only create grants that allow some
			// or all of the operations in the parent grant" and "The grant
			// constraints in the grants they create must be at least as
			// strict"
			// (https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant).
			if in.NewGrant == nil || !narrower(in.NewGrant, g) {
				continue
			}
		} else if ecOps[op] && !constraintsHold(g.Constraints, r.EncryptionContext) {
			continue
		}
		return g
	}
	return nil
}

// granteeMatches compares ARNs exactly. A grant to a role applies to the
// role's sessions.
func granteeMatches(grantee string, p *Principal) bool {
	return grantee != "" && (grantee == p.ARN || grantee == p.RoleARN)
}

func hasOp(ops []string, op string) bool {
	for _, o := range ops {
		if strings.EqualFold(o, op) {
			return true
		}
	}
	return false
}

// constraintsHold checks grant constraints against the request's encryption
// context. "In a grant constraint, the key in each key-value pair is not
// case sensitive, but the value is case sensitive"
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html).
func constraintsHold(c *GrantConstraints, ec map[string]string) bool {
	if c == nil {
		return true
	}
	if len(c.EncryptionContextEquals) > 0 {
		if len(ec) != len(c.EncryptionContextEquals) || !includes(ec, c.EncryptionContextEquals) || !includes(c.EncryptionContextEquals, ec) {
			return false
		}
	}
	if len(c.EncryptionContextSubset) > 0 && !includes(ec, c.EncryptionContextSubset) {
		return false
	}
	return true
}

// includes reports whether every pair of want is in have, keys compared
// without case and values exactly.
func includes(have, want map[string]string) bool {
	for wk, wv := range want {
		found := false
		for hk, hv := range have {
			if hv == wv && strings.EqualFold(hk, wk) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// narrower reports whether child is at least as restrictive as parent: a
// subset of its operations, and constraints that "add pairs to an
// EncryptionContextSubset constraint ... but cannot remove them", or "change
// an EncryptionContextSubset constraint to an EncryptionContextEquals
// constraint, but not the reverse".
func narrower(child, parent *Grant) bool {
	for _, op := range child.Operations {
		if !hasOp(parent.Operations, op) {
			return false
		}
	}
	var pe, ps, ce, cs map[string]string
	if parent.Constraints != nil {
		pe, ps = parent.Constraints.EncryptionContextEquals, parent.Constraints.EncryptionContextSubset
	}
	if child.Constraints != nil {
		ce, cs = child.Constraints.EncryptionContextEquals, child.Constraints.EncryptionContextSubset
	}
	if len(pe) > 0 {
		if len(ce) != len(pe) || !includes(ce, pe) || !includes(pe, ce) {
			return false
		}
	}
	if len(ps) > 0 {
		if !(len(ce) > 0 && includes(ce, ps)) && !(len(cs) > 0 && includes(cs, ps)) {
			return false
		}
	}
	return true
}

// lockoutMessage is AWS KMS's MalformedPolicyDocumentException message when
// a new key policy fails the lockout safety check.
const lockoutMessage = "The new key policy will not allow you to update the key policy in the future."

// CheckLockout runs the key policy lockout safety check of CreateKey and
// PutKeyPolicy: unless the request sets BypassPolicyLockoutSafetyCheck, "the
// key policy must allow the principal that is making the PutKeyPolicy
// request to make a subsequent PutKeyPolicy request on the KMS key"
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html).
//
// req is the CreateKey or PutKeyPolicy request (its principal and condition
// keys; Resource must be the key's ARN); the check asks p about kms:PutKeyPolicy
// with them. The policy passes when it allows the caller directly, or enables
// the caller's account to allow it through IAM (as the default key policy
// does), and no statement denies it. It returns a *MalformedError with AWS's
// message when the policy fails.
func CheckLockout(p *Policy, req *Request, keyAccount string) error {
	q := *req
	q.Action = "kms:PutKeyPolicy"
	var v verdict
	p.eval(&q, &v)
	sameAccount := q.Principal.Account != "" && q.Principal.Account == keyAccount
	if v.deny || !sameAccount || (!v.direct && !v.account) {
		return malformed(lockoutMessage)
	}
	return nil
}

// DefaultKeyPolicy returns the key policy AWS KMS gives a key created
// without one, byte for byte as GetKeyPolicy returns it
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam).
// account is the 12-digit ID of the account that owns the key, partition
// that of its region (aws, or aws-cn in the China Regions).
func DefaultKeyPolicy(partition, account string) []byte {
	arn := appendString(nil, "arn:"+partition+":iam::"+account+":root", true)
	b := make([]byte, 0, 256)
	b = append(b, "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : "...)
	b = append(b, arn...)
	b = append(b, "\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}"...)
	return b
}
