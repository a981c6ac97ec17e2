package iam

import (
	"strconv"
	"time"

	"github.com/keyward/keyward/internal/policy"
)

// principalType is the value of aws:PrincipalType.
func principalType(t string) string {
	switch t {
	case TypeRoot:
		return "Account"
	case TypeUser:
		return "User"
	}
	return t
}

// request builds the authorization question for c performing action on
// resource, with the global condition keys Keyward knows.
func (c *Caller) request(action, resource string, now time.Time) *policy.Request {
	r := &policy.Request{Principal: c.PolicyPrincipal(), Action: action, Resource: resource}
	r.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	r.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	r.Set("aws:SecureTransport", strconv.FormatBool(c.SecureTransport))
	r.Set("aws:PrincipalType", principalType(c.Type))
	if c.SourceIP != "" {
		r.Set("aws:SourceIp", c.SourceIP)
	}
	return r
}

// identityVerdict evaluates the caller's identity policies: Deny if any
// denies explicitly, else Allow if any allows, else NoMatch.
func identityVerdict(pols []*policy.Policy, r *policy.Request) policy.Effect {
	out := policy.NoMatch
	for _, p := range pols {
		switch e, _ := p.Evaluate(r); e {
		case policy.Deny:
			return policy.Deny
		case policy.Allow:
			out = policy.Allow
		}
	}
	return out
}

// authorize decides an IAM call in the caller's own account: the root may
// do everything there; users and role sessions need an identity policy that
// allows action on resource and none that denies it
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
func (d *Directory) authorize(c *Caller, action, resource string) error {
	if c.Type == TypeRoot {
		return nil
	}
	switch identityVerdict(c.Policies, c.request(action, resource, d.Now())) {
	case policy.Allow:
		return nil
	case policy.Deny:
		return accessDenied(c.ARN, action, resource, " with an explicit deny in an identity-based policy")
	}
	return accessDenied(c.ARN, action, resource, " because no identity-based policy allows the "+action+" action")
}

// accessDenied is IAM's AccessDenied message.
func accessDenied(who, action, resource, reason string) *Error {
	return &Error{Code: CodeAccessDenied, Message: "User: " + who + " is not authorized to perform: " + action + " on resource: " + resource + reason}
}
