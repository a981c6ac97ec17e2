package policy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// validDocs parse, and survive Parse -> MarshalJSON -> Parse unchanged.
var validDocs = []struct {
	kind Kind
	doc  string
}{
	{KeyPolicy, defaultPolicy},
	// The complete example key policy of key-policy-overview.html.
	{KeyPolicy, `{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-2",
  "Statement": [
    {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:user/KMSAdminUser", "arn:aws:iam::111122223333:role/KMSAdminRole"]},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
     "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:user/ExampleUser", "arn:aws:iam::111122223333:role/ExampleRole", "arn:aws:iam::444455556666:root"]},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:user/ExampleUser", "arn:aws:iam::111122223333:role/ExampleRole", "arn:aws:iam::444455556666:root"]},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
  ]
}`},
	// A single statement object, every operator family, numbers and Booleans as JSON values.
	{KeyPolicy, `{"Version":"2012-10-17","Statement":{"Sid":"S","Effect":"Deny","NotPrincipal":{"AWS":["111122223333","arn:aws:sts::111122223333:assumed-role/R/s"]},"NotAction":["kms:Decrypt"],"NotResource":"arn:aws:kms:*:*:key/x",
	  "Condition":{"NumericLessThan":{"test:N":[1,2.5]},"Bool":{"aws:SecureTransport":false},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},
	  "ForAnyValue:StringLikeIfExists":{"kms:EncryptionContextKeys":"a*"},"Null":{"kms:GrantOperations":"true"},"BinaryEquals":{"test:B":"AAEC"},"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}}}`},
	{KeyPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:note":"caf\u00e9 <&> \u4e00\ud83d\ude00"}}}]}`},
	{KeyPolicy, "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Sid\":\"with spaces and caf\u00e9\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"dynamodb.amazonaws.com\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}"},
	{KeyPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt"}]}`}, // inert: no Resource
	{IdentityPolicy, `{"Statement":[{"Sid":"A1","Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/${aws:username}"}]}`},
	{IdentityPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`},
	{TrustPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob","Federated":"accounts.google.com"},"Action":"sts:AssumeRole"}]}`},
}

func TestParseValid(t *testing.T) {
	reqs := []*Request{
		{Principal: alice, Action: "kms:Encrypt", Resource: keyARN, EncryptionContext: map[string]string{"note": "café <&> \u4e00😀", "a1": "x"}},
		{Principal: bob, Action: "kms:Decrypt", Resource: keyARN},
		{Principal: session, Action: "sts:AssumeRole", Resource: roleARN},
	}
	for _, tt := range validDocs {
		p, err := Parse([]byte(tt.doc), tt.kind)
		if err != nil {
			t.Errorf("Parse(%s, %v) = %v", tt.doc, tt.kind, err)
			continue
		}
		out, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		p2, err := Parse(out, tt.kind)
		if err != nil {
			t.Errorf("Parse(MarshalJSON(%s)) = %v; marshalled %s", tt.doc, err, out)
			continue
		}
		out2, _ := p2.MarshalJSON()
		if !bytes.Equal(out, out2) {
			t.Errorf("MarshalJSON is not a fixpoint:\n%s\n%s", out, out2)
		}
		for _, r := range reqs {
			e1, s1 := p.Evaluate(r)
			e2, s2 := p2.Evaluate(r)
			if e1 != e2 || s1 != s2 {
				t.Errorf("%s: Evaluate differs after the round trip: %v %q, then %v %q", tt.doc, e1, s1, e2, s2)
			}
		}
	}
}

func TestParseRoundTripText(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a b","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"kms:*","Resource":["*"],"Condition":{"NumericEquals":{"test:N":10.50},"Bool":{"aws:SecureTransport":true}}}]}`, KeyPolicy)
	got, _ := p.MarshalJSON()
	want := `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a b","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":"kms:*","Resource":["*"],"Condition":{"NumericEquals":{"test:N":10.50},"Bool":{"aws:SecureTransport":true}}}]}`
	if string(got) != want {
		t.Errorf("MarshalJSON = %s, want %s", got, want)
	}
}

func TestParseMalformed(t *testing.T) {
	const v = `"Version":"2012-10-17",`
	st := func(s string) string { return `{` + v + `"Statement":[` + s + `]}` }
	kp := func(extra string) string {
		return st(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"` + extra + `}`)
	}
	withCond := func(c string) string { return kp(`,"Condition":` + c) }
	tests := []struct {
		kind Kind
		doc  string
		want string // a part of the message
	}{
		{KeyPolicy, "", "empty"},
		{KeyPolicy, "   \n", "empty"},
		{KeyPolicy, `{"Version":`, "not valid JSON"},
		{KeyPolicy, `{"Version":"2012-10-17",}`, "not valid JSON"},
		{KeyPolicy, `[]`, "must be a JSON object, not an array"},
		{KeyPolicy, kp("") + `{}`, "data after the end"},
		{KeyPolicy, `{` + v + `"Foo":1,"Statement":[]}`, `unsupported element "Foo"`},
		{KeyPolicy, `{` + v + `"Version":"2012-10-17","Statement":[]}`, `"Version" more than once`},
		{KeyPolicy, st(`{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}`), `"Effect" more than once`},
		{KeyPolicy, withCond(`{"StringEquals":{"aws:a":"1","aws:a":"2"}}`), `"aws:a" more than once`},
		{KeyPolicy, `{"Version":"2012-10-18","Statement":[]}`, "Version element must be"},
		{KeyPolicy, `{"Version":20121017,"Statement":[]}`, "Version element must be"},
		{KeyPolicy, `{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}`, "must have a Version element"},
		{IdentityPolicy, `{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}`, "Id element is not allowed"},
		{KeyPolicy, `{"Version":"2012-10-17","Id":7,"Statement":[]}`, "Id element must be a string"},
		{KeyPolicy, `{` + v + `"Id":"x"}`, "must have a Statement element"},
		{KeyPolicy, `{` + v + `"Statement":[]}`, "at least one statement"},
		{KeyPolicy, `{` + v + `"Statement":"Allow"}`, "object or an array of objects, not a string"},
		{KeyPolicy, st(`"Allow"`), "Statement 0 must be a JSON object"},
		{KeyPolicy, st(`{"Principal":"*","Action":"kms:*","Resource":"*"}`), "has no Effect"},
		{KeyPolicy, st(`{"Effect":"allow","Principal":"*","Action":"kms:*","Resource":"*"}`), `Effect must be "Allow" or "Deny"`},
		{KeyPolicy, kp(`,"NotAction":"kms:Decrypt"`), "both Action and NotAction"},
		{KeyPolicy, kp(`,"NotResource":"*"`), "both Resource and NotResource"},
		{KeyPolicy, kp(`,"NotPrincipal":"*"`), "both Principal and NotPrincipal"},
		{KeyPolicy, kp(`,"Actions":"kms:*"`), `unsupported element "Actions"`},
		{KeyPolicy, kp(`,"Sid":5`), "Sid must be a string"},
		{IdentityPolicy, `{` + v + `"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}`, "must not specify a principal"},
		{KeyPolicy, st(`{"Sid":"NoP","Effect":"Allow","Action":"kms:*","Resource":"*"}`), `Statement "NoP" has no Principal`},
		{TrustPolicy, st(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), "has no Principal"},
		{IdentityPolicy, st(`{"Effect":"Allow","Resource":"*"}`), "must contain actions"},
		{IdentityPolicy, st(`{"Effect":"Allow","Action":"kms:*"}`), "must contain resources"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":"Encrypt","Resource":"*"}`), `the action "Encrypt" must be`},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":"kms:","Resource":"*"}`), `the action "kms:" must be`},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}`), "Action must not be an empty array"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":"","Resource":"*"}`), "Action must not be an empty string"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":["kms:Encrypt",7],"Resource":"*"}`), "every value of Action must be a string; found a number"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":null,"Resource":"*"}`), "Action must be a string or an array of strings, not null"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":{}}`), "Resource must be a string or an array of strings, not an object"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"kms:*","Resource":"*"}`), "Policy contains a statement with one or more invalid principals."},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"kms:*","Resource":"*"}`), "contains a wildcard"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:s3:::bucket"},"Action":"kms:*","Resource":"*"}`), "is not the ARN of an account, user, role"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1111:user/x"},"Action":"kms:*","Resource":"*"}`), "invalid principals"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df9"},"Action":"kms:*","Resource":"*"}`), `principal type "CanonicalUser" is not supported`},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"kms:*","Resource":"*"}`), `must be "*" or an object`},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":{},"Action":"kms:*","Resource":"*"}`), "names no principal"},
		{KeyPolicy, st(`{"Effect":"Allow","Principal":["*"],"Action":"kms:*","Resource":"*"}`), "not an array"},
		{KeyPolicy, withCond(`"x"`), "Condition must be an object"},
		{KeyPolicy, withCond(`{"StringEqualz":{"aws:a":"1"}}`), `condition operator "StringEqualz" is not supported`},
		{KeyPolicy, withCond(`{"stringequals":{"aws:a":"1"}}`), `condition operator "stringequals" is not supported`},
		{KeyPolicy, withCond(`{"NullIfExists":{"aws:a":"true"}}`), `"NullIfExists" is not supported`},
		{KeyPolicy, withCond(`{"ForSomeValues:StringEquals":{"aws:a":"1"}}`), "is not supported"},
		{KeyPolicy, withCond(`{"StringEquals":"x"}`), "must be an object of condition keys"},
		{KeyPolicy, withCond(`{"StringEquals":{}}`), "has no condition key"},
		{KeyPolicy, withCond(`{"StringEquals":{"SourceIp":"1"}}`), `condition key "SourceIp" must have a service prefix`},
		{KeyPolicy, withCond(`{"StringEquals":{"aws:a":[]}}`), "empty array of values"},
		{KeyPolicy, withCond(`{"StringEquals":{"aws:a":{"b":"c"}}}`), "must be a string, number, Boolean or an array of them, not an object"},
		{KeyPolicy, withCond(`{"StringEquals":{"aws:a":["x",null]}}`), "must be strings, numbers or Booleans; found null"},
		{KeyPolicy, withCond(`{"NumericLessThan":{"aws:a":"ten"}}`), `NumericLessThan condition on aws:a needs a number, not "ten"`},
		{KeyPolicy, withCond(`{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}`), "needs an ISO 8601 date"},
		{KeyPolicy, withCond(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`), "needs an IP address or CIDR range"},
		{KeyPolicy, withCond(`{"NotIpAddress":{"aws:SourceIp":"localhost"}}`), "needs an IP address or CIDR range"},
		{KeyPolicy, withCond(`{"BinaryEquals":{"test:B":"not base64!"}}`), "needs a base64 value"},
		{KeyPolicy, withCond(`{"Bool":{"aws:SecureTransport":"yes"}}`), `needs "true" or "false"`},
		{KeyPolicy, withCond(`{"Null":{"aws:a":"maybe"}}`), "Null condition on aws:a needs true or false"},
		{KeyPolicy, withCond(`{"ForAllValues:StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`), "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key"},
		{KeyPolicy, withCond(`{"ForAllValues:StringLike":{"aws:RequestTag/env":"prod"}}`), "OverlyPermissiveCondition: Using the ForAllValues set operator"},
		{KeyPolicy, st(`{"Sid":"A","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}`), `Statement IDs (SID) in a single policy must be unique: "A" appears more than once`},
		{IdentityPolicy, st(`{"Sid":"has space","Effect":"Allow","Action":"kms:*","Resource":"*"}`), "can contain only the letters"},
		{TrustPolicy, st(`{"Sid":"a-b","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`), "can contain only the letters"},
		{KeyPolicy, st(`{"Sid":"` + "\u4e00" + `","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`), "contains the character U+4E00 at byte offset"},
		{KeyPolicy, kp("") + "\x01", "U+0001"},
		{KeyPolicy, "{\"Version\":\"2012-10-17\",\"Statement\":[\xff]}", "not valid UTF-8"},
		{IdentityPolicy, "{\"Version\":\"2012-10-17\",\"Statement\":[\xff]}", "not valid UTF-8"},
		{KeyPolicy, strings.Repeat("[", 100) + strings.Repeat("]", 100), "nests JSON values too deeply"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc), tt.kind)
		var me *MalformedError
		if !errors.As(err, &me) {
			t.Errorf("Parse(%q, %v) = %v, want a *MalformedError containing %q", tt.doc, tt.kind, err, tt.want)
			continue
		}
		if !strings.Contains(me.Reason, tt.want) {
			t.Errorf("Parse(%q, %v) = %q, want it to contain %q", tt.doc, tt.kind, me.Reason, tt.want)
		}
	}
}

func TestParseLimits(t *testing.T) {
	// Exactly 32768 bytes is accepted; one more is LimitExceeded.
	base := `{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`
	pad := MaxKeyPolicySize - len(base)
	at := strings.Replace(base, `"Sid":""`, `"Sid":"`+strings.Repeat("x", pad)+`"`, 1)
	if len(at) != MaxKeyPolicySize {
		t.Fatalf("test document is %d bytes", len(at))
	}
	if _, err := Parse([]byte(at), KeyPolicy); err != nil {
		t.Errorf("Parse(%d bytes) = %v, want success", len(at), err)
	}
	if _, err := Parse([]byte(at+" "), KeyPolicy); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(%d bytes) = %v, want ErrTooLarge", len(at)+1, err)
	}
	big := strings.Repeat(" ", maxDocSize+1)
	if _, err := Parse([]byte(big), IdentityPolicy); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Parse(identity policy of %d bytes) = %v, want ErrTooLarge", len(big), err)
	}
	if _, err := Parse([]byte(defaultPolicy), Kind(9)); err == nil || errors.As(err, new(*MalformedError)) {
		t.Errorf("Parse(kind 9) = %v, want a plain error", err)
	}
}

func TestEvaluateLabels(t *testing.T) {
	p := mustParse(t, doc(`{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}`, `{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`), KeyPolicy)
	r := &Request{Principal: alice, Action: "kms:Encrypt", Resource: keyARN}
	if e, by := p.Evaluate(r); e != Allow || by != "#1" {
		t.Errorf("Evaluate = %v, %q; want Allow, \"#1\"", e, by)
	}
	r.Action = "kms:Sign"
	if e, by := p.Evaluate(r); e != NoMatch || by != "" {
		t.Errorf("Evaluate = %v, %q; want NoMatch", e, by)
	}
	p = mustParse(t, doc(enableIAM, `{"Sid":"D","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:Sign","Resource":"*"}`), KeyPolicy)
	if e, by := p.Evaluate(r); e != Deny || by != "D" {
		t.Errorf("Evaluate = %v, %q; want Deny, \"D\"", e, by)
	}
	// An account principal applies to the account's users when the policy is evaluated alone.
	r.Action = "kms:Encrypt"
	if e, by := p.Evaluate(r); e != Allow || by != "Enable IAM User Permissions" {
		t.Errorf("Evaluate = %v, %q; want Allow", e, by)
	}
	// A trust policy has no Resource: the role is the resource.
	tp := mustParse(t, doc(`{"Effect":"Allow","Principal":{"AWS":"`+bobARN+`"},"Action":"sts:AssumeRole"}`), TrustPolicy)
	if e, _ := tp.Evaluate(&Request{Principal: bob, Action: "sts:AssumeRole", Resource: roleARN}); e != Allow {
		t.Errorf("trust policy Evaluate = %v, want Allow", e)
	}
	if e, _ := tp.Evaluate(&Request{Principal: alice, Action: "sts:AssumeRole", Resource: roleARN}); e != NoMatch {
		t.Errorf("trust policy Evaluate for another principal = %v, want NoMatch", e)
	}
	for _, e := range []Effect{NoMatch, Allow, Deny, Effect(7)} {
		if e.String() == "" {
			t.Errorf("Effect(%d).String() is empty", int(e))
		}
	}
	for _, k := range []Kind{KeyPolicy, IdentityPolicy, TrustPolicy, Kind(0)} {
		if k.String() == "" {
			t.Errorf("Kind(%d).String() is empty", int(k))
		}
	}
	if tp.Kind() != TrustPolicy {
		t.Errorf("Kind() = %v", tp.Kind())
	}
}

func TestRequestSet(t *testing.T) {
	var r Request
	r.Set("AWS:SourceIp", "10.0.0.1")
	r.Set("aws:sourceip", "10.0.0.2") // the same key: replaced
	vs := r.lookup("aws:sourceip")
	if s, ok := vs.single(); !ok || s != "10.0.0.2" {
		t.Errorf("lookup after Set = %q, %v; want 10.0.0.2", s, ok)
	}
	r.Set("aws:SourceIp")
	if vs := r.lookup("aws:sourceip"); vs.present() {
		t.Errorf("a key set with no values is present")
	}
}
