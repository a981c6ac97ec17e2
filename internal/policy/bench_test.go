package policy

import (
	"fmt"
	"strings"
	"testing"
)

// benchKeyPolicy is a key policy of 20 statements with conditions. The
// caller's allow is the last statement, so every statement is evaluated.
func benchKeyPolicy() string {
	var stmts []string
	for i := 0; i < 18; i++ {
		stmts = append(stmts, fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/u%d","arn:aws:iam::111122223333:role/r%d"]},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Dept":"D%d","kms:ViaService":"s3.us-east-1.amazonaws.com"},"IpAddress":{"aws:SourceIp":"10.%d.0.0/16"}}}`, i, i, i, i, i))
	}
	stmts = append(stmts,
		`{"Sid":"DenyRestricted","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Stage":["Restricted","Production"]},"Bool":{"aws:SecureTransport":"false"}}}`,
		`{"Sid":"App","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*"],"Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Dept":"IT"},"StringLike":{"kms:EncryptionContext:app":"app-*"},"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["Dept","app","Stage"]}}}`)
	return doc(stmts...)
}

func benchInput(b *testing.B) *KMSInput {
	p := mustParse(b, benchKeyPolicy(), KeyPolicy)
	if n := strings.Count(benchKeyPolicy(), `"Sid"`); n != 20 {
		b.Fatalf("the bench key policy has %d statements", n)
	}
	req := &Request{Principal: alice, Action: "kms:Encrypt", Resource: keyARN,
		EncryptionContext: map[string]string{"Dept": "IT", "app": "app-web", "Stage": "Test"}}
	req.Set("aws:SourceIp", "203.0.113.7")
	req.Set("aws:SecureTransport", "true")
	req.Set("aws:CurrentTime", "2026-05-01T12:00:00Z")
	return &KMSInput{Request: req, KeyAccount: acct, KeyPolicy: p}
}

func BenchmarkDecideKMS(b *testing.B) {
	in := benchInput(b)
	if d := DecideKMS(in); !d.Allowed || d.By != "App" {
		b.Fatalf("DecideKMS = %+v, want allowed by App", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		DecideKMS(in)
	}
}

// BenchmarkDecideKMSDefault is the common case: the default key policy and
// an identity policy.
func BenchmarkDecideKMSDefault(b *testing.B) {
	req := &Request{Principal: alice, Action: "kms:Encrypt", Resource: keyARN, EncryptionContext: map[string]string{"Dept": "IT"}}
	in := &KMSInput{Request: req, KeyAccount: acct, KeyPolicy: mustParse(b, defaultPolicy, KeyPolicy),
		IdentityPolicies: []*Policy{mustParse(b, doc(`{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"arn:aws:kms:*:111122223333:key/*"}`), IdentityPolicy)}}
	if d := DecideKMS(in); !d.Allowed {
		b.Fatalf("DecideKMS = %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		DecideKMS(in)
	}
}

func BenchmarkParseKeyPolicy(b *testing.B) {
	d := []byte(benchKeyPolicy())
	b.ReportAllocs()
	b.SetBytes(int64(len(d)))
	for b.Loop() {
		if _, err := Parse(d, KeyPolicy); err != nil {
			b.Fatal(err)
		}
	}
}
