package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestCreateAndDescribeKey(t *testing.T) {
	e := start(t, "")
	before := time.Now().Add(-time.Second)
	out := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("payments"),
		Tags:        []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("core")}},
	}))
	m := out.KeyMetadata
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(*m.KeyId) {
		t.Errorf("KeyId = %q, want a UUID", *m.KeyId)
	}
	if want := "arn:aws:kms:us-east-1:111122223333:key/" + *m.KeyId; *m.Arn != want {
		t.Errorf("Arn = %q, want %q", *m.Arn, want)
	}
	checks := []struct{ name, got, want string }{
		{"AWSAccountId", *m.AWSAccountId, testAccount},
		{"Description", *m.Description, "payments"},
		{"KeyUsage", string(m.KeyUsage), "ENCRYPT_DECRYPT"},
		{"KeyState", string(m.KeyState), "Enabled"},
		{"Origin", string(m.Origin), "AWS_KMS"},
		{"KeyManager", string(m.KeyManager), "CUSTOMER"},
		{"CustomerMasterKeySpec", string(m.CustomerMasterKeySpec), "SYMMETRIC_DEFAULT"},
		{"KeySpec", string(m.KeySpec), "SYMMETRIC_DEFAULT"},
		{"EncryptionAlgorithms", fmt.Sprint(m.EncryptionAlgorithms), "[SYMMETRIC_DEFAULT]"},
		{"Enabled", fmt.Sprint(m.Enabled), "true"},
		{"MultiRegion", fmt.Sprint(aws.ToBool(m.MultiRegion)), "false"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("CreateKey KeyMetadata.%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if m.CreationDate == nil || m.CreationDate.Before(before) || m.CreationDate.After(time.Now().Add(time.Second)) {
		t.Errorf("CreationDate = %v, want about now", m.CreationDate)
	}
	if m.MultiRegion == nil {
		t.Error("MultiRegion absent, AWS always sends it")
	}

	// Every way of naming the key finds it.
	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/pay"), TargetKeyId: m.KeyId}))
	for _, ref := range []string{*m.KeyId, *m.Arn, "alias/pay", "arn:aws:kms:us-east-1:111122223333:alias/pay"} {
		d, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil {
			t.Fatalf("DescribeKey(%q) = %v", ref, err)
		}
		if *d.KeyMetadata.KeyId != *m.KeyId || !d.KeyMetadata.CreationDate.Equal(*m.CreationDate) {
			t.Errorf("DescribeKey(%q) = %s, want %s", ref, *d.KeyMetadata.KeyId, *m.KeyId)
		}
	}

	// The wire shape: Description is sent even when empty, dates are epoch seconds.
	_, body := e.raw("TrentService.CreateKey", `{}`, nil)
	var wire struct{ KeyMetadata map[string]any }
	if err := json.Unmarshal([]byte(body), &wire); err != nil {
		t.Fatalf("CreateKey body %s: %v", body, err)
	}
	for _, f := range []string{"AWSAccountId", "KeyId", "Arn", "CreationDate", "Enabled", "Description", "KeyUsage", "KeyState", "Origin", "KeyManager", "CustomerMasterKeySpec", "KeySpec", "EncryptionAlgorithms", "MultiRegion"} {
		if _, ok := wire.KeyMetadata[f]; !ok {
			t.Errorf("CreateKey response lacks KeyMetadata.%s: %s", f, body)
		}
	}
	if _, ok := wire.KeyMetadata["CreationDate"].(float64); !ok {
		t.Errorf("CreationDate = %v, want a number of epoch seconds", wire.KeyMetadata["CreationDate"])
	}
}

func TestDescribeKeyErrors(t *testing.T) {
	e := start(t, "")
	id := *must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	missing := "11111111-2222-4333-8444-555555555555"
	cases := []struct {
		keyID, code, msg string
	}{
		{missing, "NotFoundException", "Key 'arn:aws:kms:us-east-1:111122223333:key/" + missing + "' does not exist"},
		{"arn:aws:kms:us-east-1:111122223333:key/" + missing, "NotFoundException", "does not exist"},
		{"not-a-key", "NotFoundException", "Invalid keyId 'not-a-key'"},
		// AWS (as recorded by LocalStack's snapshot tests) treats a well-formed
		// multi-Region key id as a key that does not exist, and a malformed one
		// as an invalid id.
		{"mrk-d3b95762d3b95762d3b95762d3b95762", "NotFoundException", "Key 'arn:aws:kms:us-east-1:111122223333:key/mrk-d3b95762d3b95762d3b95762d3b95762' does not exist"},
		{"arn:aws:kms:us-east-1:111122223333:key/mrk-d3b95762d3b95762d3b95762d3b95762", "NotFoundException", "does not exist"},
		{"mrk-fake-key-id", "NotFoundException", "Invalid keyId 'mrk-fake-key-id'"},
		{"134f2428cec14b25a1ae9048164dba47", "NotFoundException", "Invalid keyId '134f2428cec14b25a1ae9048164dba47'"},
		{"alias/nope", "NotFoundException", "Alias arn:aws:kms:us-east-1:111122223333:alias/nope is not found."},
		{"arn:aws:kms:eu-west-1:111122223333:key/" + id, "NotFoundException", "Invalid arn eu-west-1"},
		{"arn:aws:kms:us-east-1:444455556666:key/" + id, "AccessDeniedException", "is not authorized to perform: kms:DescribeKey"},
		{"", "ValidationException", "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	}
	for _, c := range cases {
		_, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(c.keyID)})
		if err == nil {
			t.Errorf("DescribeKey(%q) succeeded, want %s", c.keyID, c.code)
			continue
		}
		code, msg := apiErr(t, err)
		if code != c.code || !regexp.MustCompile(regexp.QuoteMeta(c.msg)).MatchString(msg) {
			t.Errorf("DescribeKey(%q) = %s: %q, want %s: %q", c.keyID, code, msg, c.code, c.msg)
		}
	}
}

func TestCreateKeyRefusals(t *testing.T) {
	e := start(t, "")
	cases := []struct {
		name string
		in   *kms.CreateKeyInput
		code string
	}{
		{"bad key usage for symmetric", &kms.CreateKeyInput{KeyUsage: types.KeyUsageTypeSignVerify}, "ValidationException"},
		{"reserved tag", &kms.CreateKeyInput{Tags: []types.Tag{{TagKey: aws.String("aws:x"), TagValue: aws.String("v")}}}, "TagException"},
		{"duplicate tag", &kms.CreateKeyInput{Tags: []types.Tag{{TagKey: aws.String("a"), TagValue: aws.String("1")}, {TagKey: aws.String("a"), TagValue: aws.String("2")}}}, "TagException"},
		{"long description", &kms.CreateKeyInput{Description: aws.String(string(repeat('d', 8193)))}, "ValidationException"},
		{"multi-region", &kms.CreateKeyInput{MultiRegion: aws.Bool(true)}, "UnsupportedOperationException"},
	}
	for _, c := range cases {
		_, err := e.kms.CreateKey(ctx, c.in)
		if err == nil {
			t.Errorf("CreateKey(%s) succeeded, want %s", c.name, c.code)
			continue
		}
		if code, msg := apiErr(t, err); code != c.code {
			t.Errorf("CreateKey(%s) = %s: %s, want %s", c.name, code, msg, c.code)
		}
	}
	// A refused request changes nothing.
	l := must[*kms.ListKeysOutput](t)(e.kms.ListKeys(ctx, &kms.ListKeysInput{}))
	if len(l.Keys) != 0 {
		t.Errorf("ListKeys after refused CreateKeys = %d keys, want 0", len(l.Keys))
	}
}

func TestListKeysPaging(t *testing.T) {
	e := start(t, "")
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, *must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId)
	}
	sort.Strings(ids)
	var got []string
	var marker *string
	pages := 0
	for {
		out := must[*kms.ListKeysOutput](t)(e.kms.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(3), Marker: marker}))
		pages++
		for _, k := range out.Keys {
			got = append(got, *k.KeyId)
			if *k.KeyArn != "arn:aws:kms:us-east-1:111122223333:key/"+*k.KeyId {
				t.Errorf("KeyArn = %s", *k.KeyArn)
			}
		}
		if !out.Truncated {
			if out.NextMarker != nil {
				t.Errorf("NextMarker = %q on the last page, want none", *out.NextMarker)
			}
			break
		}
		if len(out.Keys) != 3 || out.NextMarker == nil {
			t.Fatalf("truncated page has %d keys, marker %v", len(out.Keys), out.NextMarker)
		}
		marker = out.NextMarker
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("ListKeys pages = %d, keys %v, want 3 pages of %v", pages, got, ids)
	}

	// Paging stays stable while other clients insert keys: no key that
	// existed at the start is missed or listed twice.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ {
			e.kms.CreateKey(ctx, &kms.CreateKeyInput{})
		}
	}()
	seen := map[string]int{}
	marker = nil
	for {
		out := must[*kms.ListKeysOutput](t)(e.kms.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(2), Marker: marker}))
		for _, k := range out.Keys {
			seen[*k.KeyId]++
		}
		if !out.Truncated {
			break
		}
		marker = out.NextMarker
	}
	wg.Wait()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("key %s listed %d times during concurrent inserts, want 1", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("key %s listed %d times", id, n)
		}
	}

	for _, c := range []struct {
		in   *kms.ListKeysInput
		code string
	}{
		{&kms.ListKeysInput{Limit: aws.Int32(0)}, "ValidationException"},
		{&kms.ListKeysInput{Limit: aws.Int32(1001)}, "ValidationException"},
		{&kms.ListKeysInput{Marker: aws.String("!!not-a-marker!!")}, "InvalidMarkerException"},
	} {
		_, err := e.kms.ListKeys(ctx, c.in)
		wantErr(t, err, c.code, "")
	}
}

func TestEnableDisableAndDescription(t *testing.T) {
	e := start(t, "")
	k := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("hi")})).CiphertextBlob

	must[*kms.DisableKeyOutput](t)(e.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k.Arn}))
	d := must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})).KeyMetadata
	if d.Enabled || d.KeyState != types.KeyStateDisabled {
		t.Errorf("after DisableKey: Enabled=%v KeyState=%s", d.Enabled, d.KeyState)
	}
	disabled := *k.Arn + " is disabled."
	_, err := e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("hi")})
	wantErr(t, err, "DisabledException", disabled)
	_, err = e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct})
	wantErr(t, err, "DisabledException", disabled)
	_, err = e.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256})
	wantErr(t, err, "DisabledException", disabled)
	// Metadata operations still work on a disabled key.
	must[*kms.UpdateKeyDescriptionOutput](t)(e.kms.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: k.KeyId, Description: aws.String("new")}))

	must[*kms.EnableKeyOutput](t)(e.kms.EnableKey(ctx, &kms.EnableKeyInput{KeyId: k.KeyId}))
	pt := must[*kms.DecryptOutput](t)(e.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct})).Plaintext
	if string(pt) != "hi" {
		t.Errorf("Decrypt after EnableKey = %q", pt)
	}
	d = must[*kms.DescribeKeyOutput](t)(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})).KeyMetadata
	if *d.Description != "new" || !d.Enabled {
		t.Errorf("Description = %q, Enabled = %v", *d.Description, d.Enabled)
	}

	// EnableKey, DisableKey and UpdateKeyDescription take no aliases.
	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/k"), TargetKeyId: k.KeyId}))
	_, err = e.kms.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String("alias/k")})
	wantErr(t, err, "NotFoundException", "")
	_, err = e.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("alias/k")})
	wantErr(t, err, "NotFoundException", "")
	_, err = e.kms.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: aws.String("alias/k"), Description: aws.String("x")})
	wantErr(t, err, "NotFoundException", "")
}

func TestTags(t *testing.T) {
	e := start(t, "")
	id := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{
		Tags: []types.Tag{{TagKey: aws.String("b"), TagValue: aws.String("1")}},
	})).KeyMetadata.KeyId
	tag := func(k, v string) types.Tag { return types.Tag{TagKey: aws.String(k), TagValue: aws.String(v)} }
	must[*kms.TagResourceOutput](t)(e.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []types.Tag{tag("a", "x"), tag("b", "2"), tag("c", "")}}))
	list := func(limit int32) string {
		var all []string
		var marker *string
		for {
			out := must[*kms.ListResourceTagsOutput](t)(e.kms.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: id, Limit: aws.Int32(limit), Marker: marker}))
			for _, tg := range out.Tags {
				all = append(all, *tg.TagKey+"="+*tg.TagValue)
			}
			if !out.Truncated {
				return fmt.Sprint(all)
			}
			marker = out.NextMarker
		}
	}
	if got := list(2); got != "[a=x b=2 c=]" {
		t.Errorf("ListResourceTags = %s, want [a=x b=2 c=]", got)
	}
	must[*kms.UntagResourceOutput](t)(e.kms.UntagResource(ctx, &kms.UntagResourceInput{KeyId: id, TagKeys: []string{"a", "zzz"}}))
	if got := list(50); got != "[b=2 c=]" {
		t.Errorf("after UntagResource = %s, want [b=2 c=]", got)
	}

	_, err := e.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []types.Tag{tag("aws:cost", "1")}})
	wantErr(t, err, "TagException", "Tags beginning with aws: are reserved")
	_, err = e.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []types.Tag{tag("d", "1"), tag("d", "2")}})
	wantErr(t, err, "TagException", "Duplicate tag keys")
	_, err = e.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: []types.Tag{tag(string(repeat('k', 129)), "1")}})
	wantErr(t, err, "ValidationException", "at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128")
	var many []types.Tag
	for i := 0; i < 49; i++ {
		many = append(many, tag(fmt.Sprintf("t%02d", i), "v"))
	}
	_, err = e.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: id, Tags: many})
	wantErr(t, err, "TagException", "Too many tags")
	// None of the refused requests changed anything.
	if got := list(50); got != "[b=2 c=]" {
		t.Errorf("after refused TagResource = %s, want [b=2 c=]", got)
	}
	_, err = e.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String("alias/x"), Tags: []types.Tag{tag("a", "b")}})
	wantErr(t, err, "NotFoundException", "")
}
