package policy

import "strings"

// Principal is the authenticated identity behind a request.
type Principal struct {
	// ARN is the caller: arn:aws:iam::111122223333:root, ...:user/alice,
	// arn:aws:sts::111122223333:assumed-role/R/session, or a service
	// principal name such as "dynamodb.amazonaws.com".
	ARN string
	// Account is the caller's 12-digit account ID.
	Account string
	// RoleARN is the role of an assumed-role session
	// (arn:aws:iam::111122223333:role/R). A policy that names the role
	// applies to its sessions.
	RoleARN string
	// UserName is the friendly name of an IAM user (${aws:username}); empty
	// for other principals, for which AWS leaves the key "not present".
	UserName string
	// UserID is the unique ID behind ${aws:userid}.
	UserID string
	// Tags are the principal's tags, aws:PrincipalTag/<key>. Tag keys are
	// compared without case.
	Tags map[string]string
	// IsRoot marks the account root user, arn:aws:iam::ACCOUNT:root.
	IsRoot bool
}

// Request is one authorization question: may Principal perform Action on
// Resource, given the condition keys of the request?
//
// A Request is read, never written, by evaluation; build it, then share it
// freely between goroutines.
type Request struct {
	Principal Principal
	// Action is the action, such as "kms:Encrypt". Actions are compared
	// without case.
	Action string
	// Resource is the resource ARN, such as
	// "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	// or "*" for operations on no particular resource.
	Resource string
	// EncryptionContext is the request's encryption context, nil when the
	// operation takes none. It provides the condition keys
	// kms:EncryptionContext:<key> (the key compared without case) and
	// kms:EncryptionContextKeys, and is what grant constraints check.
	EncryptionContext map[string]string

	ctx map[string][]string // condition keys, lower-cased
}

// Set sets the values of a condition key, replacing any it had. Key names
// are case-insensitive ("aws:SourceIp" and "AWS:sourceip" are one key);
// values are kept as given. Set no values to make a key absent.
//
// Evaluation never reads a clock: the caller sets aws:CurrentTime (ISO 8601)
// and aws:EpochTime (seconds) when policies may test them. Values of keys
// tested with BinaryEquals are the raw bytes, not base64.
//
// Keys set here take precedence over those the request derives by itself:
// kms:EncryptionContext:<key> and kms:EncryptionContextKeys from
// EncryptionContext; aws:username, aws:userid, aws:PrincipalArn (the role
// ARN for a role session), aws:PrincipalAccount, kms:CallerAccount and
// aws:PrincipalTag/<key> from Principal.
func (r *Request) Set(key string, values ...string) {
	if r.ctx == nil {
		r.ctx = make(map[string][]string)
	}
	r.ctx[strings.ToLower(key)] = values
}

const ecPrefix = "kms:encryptioncontext:"

// lookup returns the values of the lower-cased condition key.
func (r *Request) lookup(key string) valueSet {
	if v, ok := r.ctx[key]; ok {
		if len(v) == 0 {
			return valueSet{}
		}
		return valueSet{mode: vsList, list: v}
	}
	if len(r.EncryptionContext) > 0 {
		if strings.HasPrefix(key, ecPrefix) {
			return valueSet{mode: vsEC, suffix: key[len(ecPrefix):], ec: r.EncryptionContext}
		}
		if key == "kms:encryptioncontextkeys" {
			return valueSet{mode: vsECKeys, ec: r.EncryptionContext}
		}
	}
	p := &r.Principal
	one := func(s string) valueSet {
		if s == "" {
			return valueSet{}
		}
		return valueSet{mode: vsOne, one: s}
	}
	switch key {
	case "aws:username":
		return one(p.UserName)
	case "aws:userid":
		return one(p.UserID)
	case "aws:principalaccount", "kms:calleraccount":
		return one(p.Account)
	case "aws:principalarn":
		if p.RoleARN != "" {
			return one(p.RoleARN)
		}
		return one(p.ARN)
	}
	if len(p.Tags) > 0 && strings.HasPrefix(key, "aws:principaltag/") {
		return valueSet{mode: vsEC, suffix: key[len("aws:principaltag/"):], ec: p.Tags}
	}
	return valueSet{}
}

// variable resolves a policy variable to the key's single value.
func (r *Request) variable(key string) (string, bool) {
	vs := r.lookup(key)
	return vs.single()
}

// verdict is what one policy says about one request, split by how the
// principal matched.
type verdict struct {
	deny    bool // an applicable Deny statement
	direct  bool // an applicable Allow naming the caller, its role, or "*"
	account bool // an applicable Allow naming only the caller's account
	// labels of the deciding statements
	denyBy, directBy, accountBy string
}

// Evaluate returns the effect of this policy alone for req, and the Sid of
// the deciding statement ("#<index>" when it has none).
//
// In a resource-based policy, a statement naming the caller's account
// applies to every principal of that account; what that means for AWS KMS
// (delegation to IAM policies, not access) is DecideKMS's business.
func (p *Policy) Evaluate(req *Request) (Effect, string) {
	var v verdict
	p.eval(req, &v)
	switch {
	case v.deny:
		return Deny, v.denyBy
	case v.direct:
		return Allow, v.directBy
	case v.account:
		return Allow, v.accountBy
	}
	return NoMatch, ""
}

// eval adds p's statements to v. It stops at the first applicable Deny
// ("an explicit deny in any policy overrides any allows").
func (p *Policy) eval(r *Request, v *verdict) {
	if p == nil {
		return
	}
	for i := range p.stmts {
		s := &p.stmts[i]
		if s.inert || (!s.deny && v.direct) {
			continue
		}
		if !s.matchAction(r.Action) {
			continue
		}
		direct, account := true, false
		if s.hasPrincipal {
			direct, account = s.matchPrincipal(&r.Principal)
			if !direct && !account {
				continue
			}
		}
		if !s.matchResource(r) || !s.matchConditions(r) {
			continue
		}
		switch {
		case s.deny:
			v.deny, v.denyBy = true, s.label
			return
		case direct:
			v.direct, v.directBy = true, s.label
		case !v.account:
			v.account, v.accountBy = true, s.label
		}
	}
}

// matchAction: "Action names can include wildcards"; actions are not case
// sensitive. NotAction applies to every action it does not list.
func (s *statement) matchAction(action string) bool {
	found := false
	for i := range s.actions {
		if s.actions[i].match(action, true, nil) {
			found = true
			break
		}
	}
	return found != s.notAction
}

// matchResource matches ARNs component by component: "You can use wildcard
// characters (* and ?) within any ARN segment"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
func (s *statement) matchResource(r *Request) bool {
	if !s.hasResource {
		return true // a trust policy: the role is the resource
	}
	found := false
	for i := range s.resources {
		if s.resources[i].match(r.Resource, r) {
			found = true
			break
		}
	}
	return found != s.notResource
}

// matchConditions: "If your policy statement has multiple condition
// operators, the condition operators are evaluated using a logical AND", and
// so are several keys under one operator.
func (s *statement) matchConditions(r *Request) bool {
	for i := range s.conds {
		if !s.conds[i].eval(r) {
			return false
		}
	}
	return true
}

// matchPrincipal reports whether the statement's Principal applies to p,
// either naming p itself (its ARN, its role for a role session, or "*") or
// only p's account.
//
// NotPrincipal follows the NotPrincipal page
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html):
// AWS validates "the account first, then the role, and then the assumed-role
// user", so a Deny with NotPrincipal spares a caller only when its account,
// its role (for a session) and the caller itself are all listed. An Allow
// with NotPrincipal applies only when none of them is listed.
func (s *statement) matchPrincipal(p *Principal) (direct, account bool) {
	ps := &s.principal
	if !s.notPrincipal {
		if ps.star {
			return true, false
		}
		if p.ARN != "" && (contains(ps.arns, p.ARN) || contains(ps.services, p.ARN) || contains(ps.federated, p.ARN)) {
			return true, false
		}
		if p.RoleARN != "" && contains(ps.arns, p.RoleARN) {
			return true, false
		}
		return false, p.Account != "" && contains(ps.accounts, p.Account)
	}
	listed, all := 0, 0
	check := func(ok bool) {
		all++
		if ok || ps.star {
			listed++
		}
	}
	check(p.Account != "" && contains(ps.accounts, p.Account))
	if !p.IsRoot {
		check(p.ARN != "" && (contains(ps.arns, p.ARN) || contains(ps.services, p.ARN) || contains(ps.federated, p.ARN)))
		if p.RoleARN != "" {
			check(contains(ps.arns, p.RoleARN))
		}
	}
	if s.deny {
		return listed < all, false
	}
	return listed == 0, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
