package e2e

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func TestAliases(t *testing.T) {
	e := start(t, "")
	k1 := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	k2 := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata

	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: k1.KeyId}))
	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app-2"), TargetKeyId: k1.Arn}))
	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/other"), TargetKeyId: k2.KeyId}))

	// Encrypt through the alias warms the cache; after UpdateAlias the alias
	// must lead to the new key at once.
	enc := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: []byte("x")}))
	if *enc.KeyId != *k1.Arn {
		t.Errorf("Encrypt(alias/app).KeyId = %s, want %s", *enc.KeyId, *k1.Arn)
	}
	must[*kms.UpdateAliasOutput](t)(e.kms.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: k2.KeyId}))
	enc = must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:alias/app"), Plaintext: []byte("x")}))
	if *enc.KeyId != *k2.Arn {
		t.Errorf("Encrypt(alias/app) after UpdateAlias went to %s, want %s", *enc.KeyId, *k2.Arn)
	}

	// ListAliases: all, by key, paged.
	names := func(in *kms.ListAliasesInput) string {
		var got []string
		for {
			out := must[*kms.ListAliasesOutput](t)(e.kms.ListAliases(ctx, in))
			for _, a := range out.Aliases {
				got = append(got, *a.AliasName+">"+aws.ToString(a.TargetKeyId)[:4])
				if *a.AliasArn != "arn:aws:kms:us-east-1:111122223333:"+*a.AliasName || a.CreationDate == nil || a.LastUpdatedDate == nil {
					t.Errorf("alias entry %+v", a)
				}
			}
			if !out.Truncated {
				return fmt.Sprint(got)
			}
			in.Marker = out.NextMarker
		}
	}
	p1, p2 := (*k1.KeyId)[:4], (*k2.KeyId)[:4]
	if got, want := names(&kms.ListAliasesInput{Limit: aws.Int32(1)}), fmt.Sprintf("[alias/app>%s alias/app-2>%s alias/other>%s]", p2, p1, p2); got != want {
		t.Errorf("ListAliases = %s, want %s", got, want)
	}
	if got, want := names(&kms.ListAliasesInput{KeyId: k2.KeyId, Limit: aws.Int32(1)}), fmt.Sprintf("[alias/app>%s alias/other>%s]", p2, p2); got != want {
		t.Errorf("ListAliases(k2) = %s, want %s", got, want)
	}

	must[*kms.DeleteAliasOutput](t)(e.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/app")}))
	_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: []byte("x")})
	wantErr(t, err, "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/app is not found.")
	// The key itself is untouched.
	must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k2.KeyId}))

	cases := []struct {
		name, alias, target, code, msg string
	}{
		{"exists", "alias/app-2", *k2.KeyId, "AlreadyExistsException", "An alias with the name arn:aws:kms:us-east-1:111122223333:alias/app-2 already exists"},
		{"no prefix", "app3", *k1.KeyId, "ValidationException", `Alias must start with the prefix "alias/".`},
		{"reserved", "alias/aws/ebs", *k1.KeyId, "NotAuthorizedException", ""},
		{"bad chars", "alias/a b", *k1.KeyId, "ValidationException", "failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"target alias", "alias/x", "alias/other", "ValidationException", ""},
		{"missing key", "alias/y", "11111111-2222-4333-8444-555555555555", "NotFoundException", "does not exist"},
		{"long", "alias/" + string(repeat('a', 251)), *k1.KeyId, "ValidationException", "Member must have length less than or equal to 256"},
	}
	for _, c := range cases {
		_, err := e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(c.alias), TargetKeyId: aws.String(c.target)})
		if err == nil {
			t.Errorf("CreateAlias(%s) succeeded, want %s", c.name, c.code)
			continue
		}
		code, msg := apiErr(t, err)
		if code != c.code || (c.msg != "" && !contains(msg, c.msg)) {
			t.Errorf("CreateAlias(%s) = %s: %q, want %s: %q", c.name, code, msg, c.code, c.msg)
		}
	}
	_, err = e.kms.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/none"), TargetKeyId: k1.KeyId})
	wantErr(t, err, "NotFoundException", "alias/none is not found.")
	_, err = e.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/none")})
	wantErr(t, err, "NotFoundException", "alias/none is not found.")
	// Nothing refused above was created.
	if got, want := names(&kms.ListAliasesInput{}), fmt.Sprintf("[alias/app-2>%s alias/other>%s]", p1, p2); got != want {
		t.Errorf("ListAliases after refusals = %s, want %s", got, want)
	}
}
