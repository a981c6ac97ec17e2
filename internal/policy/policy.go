package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind says what a policy document is attached to. The grammar is the same
// for all kinds; which elements are required or refused differs.
type Kind int

const (
	// KeyPolicy is the resource-based policy of a KMS key.
	KeyPolicy Kind = iota + 1
	// IdentityPolicy is a policy attached to a user or role.
	IdentityPolicy
	// TrustPolicy is the resource-based policy of a role: who may assume it.
	TrustPolicy
)

func (k Kind) String() string {
	switch k {
	case KeyPolicy:
		return "key policy"
	case IdentityPolicy:
		return "identity-based policy"
	case TrustPolicy:
		return "role trust policy"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Effect is the outcome of evaluating a policy for one request.
type Effect int

const (
	// NoMatch means no statement applies: an implicit deny.
	NoMatch Effect = iota
	// Allow means an Allow statement applies and no Deny statement does.
	Allow
	// Deny means a Deny statement applies: an explicit deny.
	Deny
)

func (e Effect) String() string {
	switch e {
	case NoMatch:
		return "NoMatch"
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "Effect(" + strconv.Itoa(int(e)) + ")"
}

// Policy language versions
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html).
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// MaxKeyPolicySize is the largest key policy AWS KMS accepts: "Up to 32
// kilobytes (32,768 bytes)"
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html#key-policy-format).
const MaxKeyPolicySize = 32768

// maxDocSize bounds identity and trust policies. IAM's own quotas are lower
// and depend on what the policy is attached to; they are the caller's to
// enforce. 131072 is the length limit of IAM's PolicyDocument parameter.
const maxDocSize = 131072

// ErrTooLarge reports a document larger than its kind allows. The service
// maps it to LimitExceededException.
var ErrTooLarge = errors.New("policy: document is larger than the size limit")

// MalformedError reports a document that is not a valid policy. Reason says
// what is wrong in words fit for the client; the service maps the error to
// MalformedPolicyDocumentException with Reason as the message.
type MalformedError struct {
	Reason string
}

func (e *MalformedError) Error() string { return e.Reason }

func malformed(reason string) error { return &MalformedError{Reason: reason} }

func malformedf(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// Policy is a parsed and validated policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	kind       Kind
	version    string
	hasVersion bool
	id         string
	hasID      bool
	stmtArray  bool
	stmts      []statement
	vars       bool // Version 2012-10-17: policy variables are expanded
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

type strList struct {
	vals  []string
	array bool
}

type principalEntry struct {
	typ  string // "AWS", "Service" or "Federated"
	list strList
}

type principalSpec struct {
	star      bool // "*" or {"AWS": "*"}
	accounts  []string
	arns      []string
	services  []string
	federated []string
	// raw form, for MarshalJSON
	rawStar bool // the element was the bare string "*"
	entries []principalEntry
}

type statement struct {
	label  string // Sid, or "#<index>" when the statement has none
	sid    string
	hasSid bool
	deny   bool

	hasPrincipal bool
	notPrincipal bool
	principal    principalSpec

	hasAction bool
	notAction bool
	actions   []pattern
	actionRaw strList

	hasResource bool
	notResource bool
	resources   []arnPattern
	resourceRaw strList

	conds []cond

	// inert marks a key policy statement without Action or Resource. AWS
	// KMS accepts it, but "the policy statement has no effect"
	// (https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html).
	inert bool
}

// Parse parses and validates a policy document of the given kind.
//
// It returns an error wrapping ErrTooLarge for a document larger than its
// kind allows (MaxKeyPolicySize for key policies), a *MalformedError saying
// what is wrong for a document that is not a valid policy, and a plain error
// for an unknown kind.
//
// Parse enforces the IAM grammar
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)
// and, for key policies, the AWS KMS rules
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html):
// the character set, the Version and Principal elements, Sids with spaces,
// and statements without Action or Resource accepted but inert. It cannot
// check that named principals exist; that is the caller's job.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	limit := maxDocSize
	switch kind {
	case KeyPolicy:
		limit = MaxKeyPolicySize
	case IdentityPolicy, TrustPolicy:
	default:
		return nil, fmt.Errorf("policy: unknown kind %d", int(kind))
	}
	if len(doc) > limit {
		return nil, fmt.Errorf("%w: the %s is %d bytes, the limit is %d bytes", ErrTooLarge, kind, len(doc), limit)
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, malformed("The policy document is empty.")
	}
	if kind == KeyPolicy {
		if err := checkKeyPolicyChars(doc); err != nil {
			return nil, err
		}
	} else if !utf8.Valid(doc) {
		return nil, malformed("The policy document is not valid UTF-8.")
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	return build(root, kind)
}

// checkKeyPolicyChars enforces: "A key policy document can include only the
// following characters: Printable ASCII characters, Printable characters in
// the Basic Latin and Latin-1 Supplement character set, The tab (\u0009),
// line feed (\u000A), and carriage return (\u000D) special characters"
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html#key-policy-format),
// which the API reference gives as the pattern [\u0009\u000A\u000D\u0020-\u00FF].
func checkKeyPolicyChars(doc []byte) error {
	for i := 0; i < len(doc); {
		r, w := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && w == 1 {
			return malformedf("The key policy is not valid UTF-8 (at byte offset %d).", i)
		}
		if !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xff)) {
			return malformedf("The key policy contains the character U+%04X at byte offset %d; a key policy can contain only tab, line feed, carriage return and the characters U+0020 through U+00FF.", r, i)
		}
		i += w
	}
	return nil
}

func build(root *jval, kind Kind) (*Policy, error) {
	if root.kind != jObj {
		return nil, malformedf("The policy document must be a JSON object, not %s.", root.kind)
	}
	p := &Policy{kind: kind}
	for i, k := range root.keys {
		v := root.vals[i]
		switch k {
		case "Version":
			if v.kind != jStr || (v.s != Version2012 && v.s != Version2008) {
				return nil, malformedf("The Version element must be %q or %q.", Version2012, Version2008)
			}
			p.version, p.hasVersion = v.s, true
		case "Id":
			if kind == IdentityPolicy {
				// "The id_block ... must not be included in identity-based policies."
				return nil, malformed("The Id element is not allowed in an identity-based policy.")
			}
			if v.kind != jStr {
				return nil, malformedf("The Id element must be a string, not %s.", v.kind)
			}
			p.id, p.hasID = v.s, true
		case "Statement":
		default:
			return nil, malformedf("The policy document contains the unsupported element %s; a policy can contain only Version, Id and Statement.", quote(k))
		}
	}
	if !p.hasVersion && kind == KeyPolicy {
		// "A key policy document must have the following elements: Version ... Statement"
		return nil, malformedf("The key policy must have a Version element (%q).", Version2012)
	}
	// Without Version, IAM uses 2008-10-17, where "variables like
	// ${aws:username} are treated as literal strings".
	p.vars = p.version == Version2012

	st := root.get("Statement")
	if st == nil {
		return nil, malformed("The policy document must have a Statement element.")
	}
	var stmts []*jval
	switch st.kind {
	case jObj:
		stmts = []*jval{st}
	case jArr:
		p.stmtArray = true
		stmts = st.arr
		if len(stmts) == 0 {
			return nil, malformed("The Statement element must contain at least one statement.")
		}
	default:
		return nil, malformedf("The Statement element must be an object or an array of objects, not %s.", st.kind)
	}
	p.stmts = make([]statement, len(stmts))
	sids := make(map[string]bool, len(stmts))
	for i, sv := range stmts {
		if err := p.buildStatement(&p.stmts[i], i, sv); err != nil {
			return nil, err
		}
		s := &p.stmts[i]
		if s.hasSid && s.sid != "" {
			// "In IAM, the Sid value must be unique within a JSON policy"
			// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html).
			if sids[s.sid] {
				return nil, malformedf("Statement IDs (SID) in a single policy must be unique: %s appears more than once.", quote(s.sid))
			}
			sids[s.sid] = true
		}
	}
	return p, nil
}

func stmtName(i int, sv *jval) string {
	if sid := sv.get("Sid"); sid != nil && sid.kind == jStr && sid.s != "" {
		return "Statement " + quote(sid.s)
	}
	return "Statement " + strconv.Itoa(i)
}

func (p *Policy) buildStatement(s *statement, i int, sv *jval) error {
	if sv.kind != jObj {
		return malformedf("Statement %d must be a JSON object, not %s.", i, sv.kind)
	}
	name := stmtName(i, sv)
	s.label = "#" + strconv.Itoa(i)
	var effect, principal, action, resource, condition *jval
	for j, k := range sv.keys {
		v := sv.vals[j]
		switch k {
		case "Sid":
			if v.kind != jStr {
				return malformedf("%s: Sid must be a string, not %s.", name, v.kind)
			}
			if p.kind != KeyPolicy {
				// "For IAM policies, basic alphanumeric characters (A-Z,a-z,0-9)
				// are the only allowed characters in the Sid value"; a key
				// policy Sid "can include spaces".
				for _, c := range []byte(v.s) {
					if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
						return malformedf("%s: the Sid of an IAM policy can contain only the letters A-Z and a-z and the digits 0-9.", name)
					}
				}
			}
			s.sid, s.hasSid = v.s, true
			if v.s != "" {
				s.label = v.s
			}
		case "Effect":
			effect = v
		case "Principal", "NotPrincipal":
			if principal != nil {
				return malformedf("%s has both Principal and NotPrincipal; use one of them.", name)
			}
			principal = v
			s.notPrincipal = k == "NotPrincipal"
		case "Action", "NotAction":
			if action != nil {
				return malformedf("%s has both Action and NotAction; use one of them.", name)
			}
			action = v
			s.notAction = k == "NotAction"
		case "Resource", "NotResource":
			if resource != nil {
				return malformedf("%s has both Resource and NotResource; use one of them.", name)
			}
			resource = v
			s.notResource = k == "NotResource"
		case "Condition":
			condition = v
		default:
			return malformedf("%s contains the unsupported element %s; a statement can contain only Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource and Condition.", name, quote(k))
		}
	}

	if effect == nil {
		return malformedf("%s has no Effect; Effect must be \"Allow\" or \"Deny\".", name)
	}
	if effect.kind != jStr || (effect.s != "Allow" && effect.s != "Deny") {
		return malformedf("%s: Effect must be \"Allow\" or \"Deny\".", name)
	}
	s.deny = effect.s == "Deny"

	// Principal: required in resource-based policies, refused in
	// identity-based ones
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
	switch {
	case principal != nil && p.kind == IdentityPolicy:
		return malformedf("%s: an identity-based policy must not specify a principal (%s).", name, pick(s.notPrincipal, "NotPrincipal", "Principal"))
	case principal == nil && p.kind != IdentityPolicy:
		// "Each statement in the key policy must contain one or more principals."
		return malformedf("%s has no Principal; each statement of a %s must name one or more principals.", name, p.kind)
	case principal != nil:
		s.hasPrincipal = true
		if err := buildPrincipal(&s.principal, name, principal); err != nil {
			return err
		}
	}

	if action == nil {
		if p.kind != KeyPolicy {
			return malformedf("%s has no Action or NotAction; a policy statement must contain actions.", name)
		}
		s.inert = true
	} else {
		s.hasAction = true
		list, err := stringList(name, pick(s.notAction, "NotAction", "Action"), action)
		if err != nil {
			return err
		}
		s.actionRaw = list
		s.actions = make([]pattern, len(list.vals))
		for j, a := range list.vals {
			if a != "*" {
				// "Consists of a service namespace, a colon, and the name of an action."
				if k := strings.IndexByte(a, ':'); k <= 0 || k == len(a)-1 {
					return malformedf("%s: the action %s must be \"*\" or a service prefix, a colon and an action name, such as \"kms:Encrypt\".", name, quote(a))
				}
			}
			s.actions[j] = compilePattern(a, true, false)
		}
	}

	if resource == nil {
		switch p.kind {
		case IdentityPolicy:
			return malformedf("%s has no Resource or NotResource; a policy statement must contain resources.", name)
		case KeyPolicy:
			// "If the required Resource element is missing from a key policy
			// statement, the policy statement has no effect."
			s.inert = true
		}
		// A role trust policy names no resource: the role is the resource.
	} else {
		s.hasResource = true
		list, err := stringList(name, pick(s.notResource, "NotResource", "Resource"), resource)
		if err != nil {
			return err
		}
		s.resourceRaw = list
		s.resources = make([]arnPattern, len(list.vals))
		varsFrom := 6
		if p.vars {
			varsFrom = 5
		}
		for j, r := range list.vals {
			s.resources[j] = compileARN(r, varsFrom)
		}
	}

	if condition != nil {
		conds, err := p.buildConditions(name, condition)
		if err != nil {
			return err
		}
		s.conds = conds
	}
	return nil
}

// stringList reads an element that is a string or a non-empty array of
// strings.
func stringList(name, elem string, v *jval) (strList, error) {
	switch v.kind {
	case jStr:
		if v.s == "" {
			return strList{}, malformedf("%s: %s must not be an empty string.", name, elem)
		}
		return strList{vals: []string{v.s}}, nil
	case jArr:
		if len(v.arr) == 0 {
			return strList{}, malformedf("%s: %s must not be an empty array.", name, elem)
		}
		out := strList{vals: make([]string, len(v.arr)), array: true}
		for i, e := range v.arr {
			if e.kind != jStr {
				return strList{}, malformedf("%s: every value of %s must be a string; found %s.", name, elem, e.kind)
			}
			if e.s == "" {
				return strList{}, malformedf("%s: %s must not contain an empty string.", name, elem)
			}
			out.vals[i] = e.s
		}
		return out, nil
	}
	return strList{}, malformedf("%s: %s must be a string or an array of strings, not %s.", name, elem, v.kind)
}

// invalidPrincipal is AWS KMS's message for a principal it cannot use.
const invalidPrincipal = "Policy contains a statement with one or more invalid principals."

func buildPrincipal(ps *principalSpec, name string, v *jval) error {
	if v.kind == jStr {
		if v.s != "*" {
			return malformedf("%s %s: the Principal element must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::111122223333:root\"}.", invalidPrincipal, name)
		}
		ps.star, ps.rawStar = true, true
		return nil
	}
	if v.kind != jObj {
		return malformedf("%s %s: the Principal element must be \"*\" or an object, not %s.", invalidPrincipal, name, v.kind)
	}
	if len(v.keys) == 0 {
		return malformedf("%s %s: the Principal element names no principal.", invalidPrincipal, name)
	}
	for i, typ := range v.keys {
		list, err := stringList(name, "Principal "+typ, v.vals[i])
		if err != nil {
			return err
		}
		ps.entries = append(ps.entries, principalEntry{typ: typ, list: list})
		switch typ {
		case "AWS":
			for _, id := range list.vals {
				switch {
				case id == "*":
					ps.star = true
				case isAccountID(id):
					// "The account ARN and the shortened account ID behave the same way."
					ps.accounts = append(ps.accounts, id)
				case strings.HasPrefix(id, "arn:"):
					if strings.ContainsRune(id, '*') {
						// "You cannot use a wildcard to match part of a principal name or ARN."
						return malformedf("%s %s: the principal %s contains a wildcard; a principal is \"*\" or a full ARN.", invalidPrincipal, name, quote(id))
					}
					if acct, ok := accountRootARN(id); ok {
						ps.accounts = append(ps.accounts, acct)
					} else if principalARN(id) {
						ps.arns = append(ps.arns, id)
					} else {
						return malformedf("%s %s: %s is not the ARN of an account, user, role, role session or federated user.", invalidPrincipal, name, quote(id))
					}
				default:
					return malformedf("%s %s: %s is neither \"*\", a 12-digit account ID nor an ARN.", invalidPrincipal, name, quote(id))
				}
			}
		case "Service":
			ps.services = append(ps.services, list.vals...)
		case "Federated":
			ps.federated = append(ps.federated, list.vals...)
		default:
			return malformedf("%s %s: the principal type %s is not supported; use AWS, Service or Federated.", invalidPrincipal, name, quote(typ))
		}
	}
	return nil
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
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

// principalARN recognises the ARN of an IAM user or role
// (arn:aws:iam::111122223333:user/alice), a role session or a federated user
// (arn:aws:sts::111122223333:assumed-role/R/s): the forms the Principal
// element takes (reference_policies_elements_principal.html).
func principalARN(s string) bool {
	f, ok := splitARN(s)
	if !ok || f[0] != "arn" || f[1] == "" || f[3] != "" || !isAccountID(f[4]) || f[5] == "" {
		return false
	}
	switch f[2] {
	case "iam":
		return strings.HasPrefix(f[5], "user/") || strings.HasPrefix(f[5], "role/")
	case "sts":
		return strings.HasPrefix(f[5], "assumed-role/") || strings.HasPrefix(f[5], "federated-user/")
	}
	return false
}

// accountRootARN recognises the account principal arn:PARTITION:iam::ACCOUNT:root.
func accountRootARN(s string) (string, bool) {
	f, ok := splitARN(s)
	if !ok || f[0] != "arn" || f[2] != "iam" || f[3] != "" || f[5] != "root" || !isAccountID(f[4]) {
		return "", false
	}
	return f[4], true
}
