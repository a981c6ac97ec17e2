package policy

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzRequests exercise every lookup path: derived keys, encryption context,
// tags, multi-valued keys, variables.
func fuzzRequests() []*Request {
	a := &Request{Principal: alice, Action: "kms:Encrypt", Resource: keyARN, EncryptionContext: map[string]string{"Dept": "IT", "dept": "it", "app": "x"}}
	a.Set("aws:SourceIp", "203.0.113.7")
	a.Set("aws:CurrentTime", "2026-05-01T12:00:00Z")
	a.Set("kms:ResourceAliases", "alias/a", "alias/b")
	a.Set("test:N", "12.5")
	b := &Request{Principal: session, Action: "kms:CreateGrant", Resource: keyARN}
	c := &Request{Principal: bob, Action: "sts:AssumeRole", Resource: roleARN, EncryptionContext: map[string]string{}}
	c.Set("aws:SourceIp", "not an ip")
	d := &Request{Principal: root, Action: "KMS:PUTKEYPOLICY", Resource: "*"}
	return []*Request{a, b, c, d}
}

func FuzzParse(f *testing.F) {
	for _, d := range validDocs {
		f.Add([]byte(d.doc))
	}
	for i, c := range kmsCases {
		if c.kp != "" && c.kp != "-" && i%3 == 0 {
			f.Add([]byte(c.kp))
		}
	}
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"kms:*","Resource":"arn:aws:kms:${aws:x}:1:key/${aws:PrincipalTag/a, 'b'}"}}`))
	reqs := fuzzRequests()
	grants := []Grant{{ID: "g", GranteePrincipal: aliceARN, Operations: []string{"Encrypt", "CreateGrant"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"dept": "IT"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{KeyPolicy, IdentityPolicy, TrustPolicy} {
			p, err := Parse(data, kind)
			if err != nil {
				var me *MalformedError
				if !errors.As(err, &me) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("Parse(%q, %v) = %#v, want a *MalformedError or ErrTooLarge", data, kind, err)
				}
				continue
			}
			out, err := p.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			p2, err := Parse(out, kind)
			if err != nil {
				t.Fatalf("Parse(MarshalJSON(%q)) = %v; marshalled %s", data, err, out)
			}
			if out2, _ := p2.MarshalJSON(); !bytes.Equal(out, out2) {
				t.Fatalf("MarshalJSON is not a fixpoint for %q:\n%s\n%s", data, out, out2)
			}
			for _, r := range reqs {
				e1, s1 := p.Evaluate(r)
				e2, s2 := p2.Evaluate(r)
				if e1 != e2 || s1 != s2 {
					t.Fatalf("Evaluate differs after a round trip of %q: %v %q, then %v %q", data, e1, s1, e2, s2)
				}
				in := &KMSInput{Request: r, KeyAccount: acct, Grants: grants, NewGrant: &grants[0]}
				if kind == KeyPolicy {
					in.KeyPolicy = p
					_ = CheckLockout(p, r, acct)
				} else {
					in.IdentityPolicies = []*Policy{p, nil}
				}
				d := DecideKMS(in)
				if d.Allowed == (d.Message(r.Principal.ARN, r.Action, r.Resource) != "") {
					t.Fatalf("Decision %+v: Message disagrees with Allowed", d)
				}
			}
		}
	})
}
