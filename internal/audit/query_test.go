package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuery(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	t0 := clk.Now()
	l := openLog(t, dir, Options{Now: clk.Now, MaxFileAge: 30 * time.Minute})
	keyB := "arn:aws:kms:us-west-2:111122223333:key/bbbb"
	alias := "arn:aws:kms:us-west-2:111122223333:alias/payments"
	events := []*Event{
		encryptEvent("alice-encrypt"),
		{
			EventName: "Decrypt", RequestID: "bob-decrypt", ErrorCode: "IncorrectKeyException", ReadOnly: true,
			UserIdentity: UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/Bob", UserName: "Bob", AccessKeyID: "AKIDBOB"},
			Resources:    []Resource{{Type: ResourceTypeKey, ARN: keyB}},
		},
		{
			EventName: "DescribeKey", RequestID: "role-describe", ReadOnly: true,
			UserIdentity: UserIdentity{
				Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:session",
				SessionContext: &SessionContext{SessionIssuer: &SessionIssuer{UserName: "Deployer"}},
			},
			Resources: []Resource{{Type: ResourceTypeKey, ARN: keyB}},
		},
		{
			EventName: "CreateAlias", RequestID: "alice-alias", EventID: "11111111-2222-4333-8444-555555555555",
			UserIdentity: UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/Alice", UserName: "Alice"},
			Resources:    []Resource{{Type: "AWS::KMS::Alias", ARN: alias}, {Type: ResourceTypeKey, ARN: keyB}},
		},
	}
	for _, e := range events {
		if err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		l.do(func() {})
		clk.Advance(time.Hour) // one file per event
	}
	l.Close()
	if n := len(listFiles(t, dir, logPrefix)); n != len(events) {
		t.Fatalf("%d log files, want %d", n, len(events))
	}
	no := false
	tests := []struct {
		name string
		f    Filter
		want []string // request IDs
	}{
		{"all", Filter{}, []string{"alice-encrypt", "bob-decrypt", "role-describe", "alice-alias"}},
		{"event name", Filter{EventName: "Decrypt"}, []string{"bob-decrypt"}},
		{"key id", Filter{KeyID: "bbbb"}, []string{"bob-decrypt", "role-describe", "alice-alias"}},
		{"key ARN", Filter{KeyID: testKeyARN}, []string{"alice-encrypt"}},
		{"alias", Filter{KeyID: "alias/payments"}, []string{"alice-alias"}},
		{"principal ARN", Filter{Principal: "arn:aws:iam::111122223333:user/Alice"}, []string{"alice-encrypt", "alice-alias"}},
		{"principal id", Filter{Principal: "AROAEXAMPLE:session"}, []string{"role-describe"}},
		{"username", Filter{Username: "Bob"}, []string{"bob-decrypt"}},
		{"session issuer", Filter{Username: "Deployer"}, []string{"role-describe"}},
		{"access key", Filter{AccessKeyID: "AKIDBOB"}, []string{"bob-decrypt"}},
		{"error code", Filter{ErrorCode: "IncorrectKeyException"}, []string{"bob-decrypt"}},
		{"read-write", Filter{ReadOnly: &no}, []string{"alice-alias"}},
		{"event id", Filter{EventID: "11111111-2222-4333-8444-555555555555"}, []string{"alice-alias"}},
		{"resource type", Filter{ResourceType: "AWS::KMS::Alias"}, []string{"alice-alias"}},
		{"resource name", Filter{ResourceName: keyB, EventName: "DescribeKey"}, []string{"role-describe"}},
		{"event source", Filter{EventSource: "cloudtrail.amazonaws.com"}, nil},
		{"time range", Filter{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}, []string{"bob-decrypt", "role-describe"}},
		{"from", Filter{Start: t0.Add(2*time.Hour + time.Second)}, []string{"alice-alias"}},
		{"until", Filter{End: t0.Add(-time.Second)}, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, e := range queryAll(t, dir, tt.f) {
			got = append(got, e.RequestID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Query(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}

	n := 0
	Query(dir, Filter{}, func(*Event) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("Query went on after fn returned false: %d calls", n)
	}

	logs := listFiles(t, dir, logPrefix)
	appendBytes(t, filepath.Join(dir, logs[1]), []byte("garbage\n"))
	if err := Query(dir, Filter{}, func(*Event) bool { return true }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Query(corrupt file) = %v, want ErrCorrupt", err)
	}
	if err := Query(filepath.Join(dir, "nonexistent"), Filter{}, nil); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Query(missing dir) = %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		op, body string
		req      bool
		want     string
	}{
		{"Encrypt", `{"KeyId":"k","Plaintext":"c2VjcmV0","EncryptionContext":{"KeyId":"v"},"EncryptionAlgorithm":"SYMMETRIC_DEFAULT","GrantTokens":["t"]}`, true,
			`{"keyId":"k","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"KeyId":"v"}}`},
		{"Encrypt", `{"CiphertextBlob":"AQID","KeyId":"arn","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`, false, ``},
		// Decrypt always logs its algorithm, the default too (the AWS
		// KMS developer guide, Decrypt log entries).
		{"Decrypt", `{"CiphertextBlob":"AQID","KeyId":"k","EncryptionContext":{"a":"b"}}`, true,
			`{"keyId":"k","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"a":"b"}}`},
		{"Decrypt", `{"CiphertextBlob":"AQID","EncryptionAlgorithm":"RSAES_OAEP_SHA_256"}`, true, `{"encryptionAlgorithm":"RSAES_OAEP_SHA_256"}`},
		{"ReEncrypt", `{"CiphertextBlob":"AQID","DestinationKeyId":"k"}`, true,
			`{"destinationKeyId":"k","sourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT","destinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT"}`},
		{"Sign", `{"KeyId":"k","Message":"bQ==","SigningAlgorithm":"ECDSA_SHA_256"}`, true, `{"keyId":"k","signingAlgorithm":"ECDSA_SHA_256","messageType":"RAW"}`},
		{"GetKeyPolicy", `{"KeyId":"k"}`, true, `{"keyId":"k","policyName":"default"}`},
		{"ScheduleKeyDeletion", `{"KeyId":"k"}`, true, `{"keyId":"k","pendingWindowInDays":30}`},
		{"GenerateRandom", `{"NumberOfBytes":16}`, true, ``},
		{"RetireGrant", `{"GrantToken":"secret","KeyId":"k","GrantId":"g"}`, true, ``},
		{"Decrypt", `{"Plaintext":"c2VjcmV0","KeyId":"k"}`, false, ``},
		{"GenerateDataKey", `{"KeyId":"k","KeySpec":"AES_256","EncryptionContext":{"Project":"Alpha"}}`, true,
			`{"keyId":"k","keySpec":"AES_256","encryptionContext":{"Project":"Alpha"}}`},
		{"GenerateDataKey", `{"Plaintext":"a2V5","CiphertextBlob":"AQID","KeyId":"k"}`, false, ``},
		{"CreateKey", `{"Description":"d","KeyUsage":"ENCRYPT_DECRYPT","KeySpec":"SYMMETRIC_DEFAULT","Tags":[{"TagKey":"k","TagValue":"v"}]}`, true,
			`{"description":"d","keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","customerMasterKeySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS","bypassPolicyLockoutSafetyCheck":false,"tags":[{"tagKey":"k","tagValue":"v"}]}`},
		// The defaults AWS KMS logs for a CreateKey without parameters,
		// and the deprecated CustomerMasterKeySpec standing for KeySpec.
		{"CreateKey", `{}`, true,
			`{"description":"","keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","customerMasterKeySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS","bypassPolicyLockoutSafetyCheck":false}`},
		{"CreateKey", `{"CustomerMasterKeySpec":"RSA_2048","KeyUsage":"SIGN_VERIFY","Origin":"EXTERNAL"}`, true,
			`{"description":"","keyUsage":"SIGN_VERIFY","keySpec":"RSA_2048","customerMasterKeySpec":"RSA_2048","origin":"EXTERNAL","bypassPolicyLockoutSafetyCheck":false}`},
		// Dates inside the elements are written as AWS KMS writes them.
		{"CreateKey", `{"KeyMetadata":{"AWSAccountId":"111","KeyId":"k","Enabled":true,"CreationDate":1660171107.503}}`, false,
			`{"keyMetadata":{"AWSAccountId":"111","creationDate":"Aug 10, 2022, 10:38:27 PM","enabled":true,"keyId":"k"}}`},
		{"ScheduleKeyDeletion", `{"KeyId":"arn","DeletionDate":1.635895525E9,"KeyState":"PendingDeletion"}`, false,
			`{"keyId":"arn","deletionDate":"Nov 2, 2021, 11:25:25 PM","keyState":"PendingDeletion"}`},
		{"ImportKeyMaterial", `{"KeyId":"k","ValidTo":1747806465,"ExpirationModel":"KEY_MATERIAL_EXPIRES"}`, true,
			`{"keyId":"k","validTo":"May 21, 2025, 5:47:45 AM","expirationModel":"KEY_MATERIAL_EXPIRES"}`},
		{"DescribeKey", `{"KeyId":"alias/x","GrantTokens":["t"]}`, true, `{"keyId":"alias/x"}`},
		{"DescribeKey", `{"KeyMetadata":{"KeyId":"k"}}`, false, ``},
		{"CreateGrant", `{"GrantToken":"secret","GrantId":"g"}`, false, `{"grantId":"g"}`},
		{"ImportKeyMaterial", `{"KeyId":"k","ImportToken":"t","EncryptedKeyMaterial":"m"}`, true, `{"keyId":"k"}`},
		{"ListKeys", ``, true, ``},
	}
	for _, tt := range tests {
		f := ResponseElements
		if tt.req {
			f = RequestParameters
		}
		got, err := f(tt.op, []byte(tt.body))
		if err != nil {
			t.Errorf("%s(%s) error = %v", tt.op, tt.body, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s(%s) = %s, want %s", tt.op, tt.body, got, tt.want)
		}
		if got != nil && !json.Valid(got) {
			t.Errorf("%s(%s) = %s: invalid JSON", tt.op, tt.body, got)
		}
	}
	if _, err := RequestParameters("Frobnicate", []byte(`{}`)); !errors.Is(err, ErrUnknownOperation) {
		t.Errorf("RequestParameters(unknown op) = %v, want ErrUnknownOperation", err)
	}
	if _, err := RequestParameters("Encrypt", []byte(`[]`)); err == nil {
		t.Errorf("RequestParameters(array body) = nil error")
	}
}

func TestLoggableFits(t *testing.T) {
	for op, f := range loggable {
		if len(f.req) > 16 || len(f.resp) > 16 {
			t.Errorf("%s lists more than the 16 fields pick can hold", op)
		}
	}
}

// FuzzRequestParameters checks the member scanner against encoding/json.
func FuzzRequestParameters(f *testing.F) {
	f.Add([]byte(`{"KeyId":"k","Plaintext":"c2VjcmV0","EncryptionContext":{"a":"}\"{"},"DryRun":true}`))
	f.Add([]byte(` { "keyid" : "k" , "Key\u0049d":[1,{"x":"]"}] } `))
	f.Add([]byte(`{"KeyId":"a","KeyId":"b"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := RequestParameters("Encrypt", body)
		if got != nil && !json.Valid(got) {
			t.Fatalf("RequestParameters(%q) = %q: invalid JSON", body, got)
		}
		var ref map[string]json.RawMessage
		if json.Unmarshal(body, &ref) != nil {
			return // not an object: err or not, no panic is all
		}
		if err != nil {
			t.Fatalf("RequestParameters(%q) = %v for a valid object", body, err)
		}
		if !uniqueKeys(body) {
			return
		}
		var out map[string]json.RawMessage
		if got != nil {
			if err := json.Unmarshal(got, &out); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		if _, ok := ref["EncryptionAlgorithm"]; !ok {
			n++ // logged by default
			if a := out["encryptionAlgorithm"]; string(a) != `"SYMMETRIC_DEFAULT"` {
				t.Fatalf("RequestParameters(%q) = %s, want the default encryptionAlgorithm", body, got)
			}
		}
		for _, name := range loggable["Encrypt"].req {
			for k, v := range ref {
				if k == name {
					n++
					if !jsonEqual(out[camel(name)], v) {
						t.Fatalf("RequestParameters(%q)[%s] = %s, want %s", body, name, out[camel(name)], v)
					}
				}
			}
		}
		if n != len(out) {
			t.Fatalf("RequestParameters(%q) = %s: %d fields, want %d", body, got, len(out), n)
		}
	})
}

// uniqueKeys reports whether the top-level keys of a JSON object differ
// even when case is ignored.
func uniqueKeys(body []byte) bool {
	seen := map[string]bool{}
	ok := true
	members(body, func(k, _ []byte) {
		var s string
		if json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &s) != nil {
			s = string(k)
		}
		s = strings.ToLower(s)
		ok = ok && !seen[s]
		seen[s] = true
	})
	return ok
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestRequestParametersExactNames: the log shows the member the server
// acted on, not one spelled in another case that the decoder ignored.
func TestRequestParametersExactNames(t *testing.T) {
	got, err := RequestParameters("Encrypt", []byte(`{"keyid":"decoy","KeyId":"real","Plaintext":"c2VjcmV0"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"keyId":"real","encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`; string(got) != want {
		t.Errorf("RequestParameters = %s, want %s", got, want)
	}
}

// TestQueryBackward checks that QueryBackward returns what Query returns, in
// reverse, from several files including a live one with its preallocated
// zeros; that before bounds it; and that backwardLines handles lines that
// cross chunk boundaries.
func TestQueryBackward(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 16 << 10})
	appendN(t, l, 0, 60)
	var fwd []string
	if err := Query(dir, Filter{}, func(e *Event) bool { fwd = append(fwd, e.RequestID); return true }); err != nil {
		t.Fatal(err)
	}
	if len(listFiles(t, dir, logPrefix)) < 3 || len(fwd) != 60 {
		t.Fatalf("setup: %d files, %d records", len(listFiles(t, dir, logPrefix)), len(fwd))
	}
	var back []string
	var seqs []uint64
	if err := QueryBackward(dir, Filter{}, 0, func(seq uint64, e *Event) bool {
		back = append(back, e.RequestID)
		seqs = append(seqs, seq)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(fwd) {
		t.Fatalf("QueryBackward found %d records, Query %d", len(back), len(fwd))
	}
	for i := range back {
		if back[i] != fwd[len(fwd)-1-i] || seqs[i] != uint64(len(fwd)-i) {
			t.Fatalf("record %d from the end: %s (seq %d), want %s (seq %d)", i, back[i], seqs[i], fwd[len(fwd)-1-i], len(fwd)-i)
		}
	}
	// Paging: before=the seq of the last one seen; a filter; stopping early.
	var page []uint64
	QueryBackward(dir, Filter{}, 31, func(seq uint64, e *Event) bool { page = append(page, seq); return len(page) < 5 })
	if len(page) != 5 || page[0] != 30 || page[4] != 26 {
		t.Errorf("page before 31 = %v, want 30..26", page)
	}
	var one []string
	QueryBackward(dir, Filter{EventID: "none"}, 0, func(seq uint64, e *Event) bool { one = append(one, e.RequestID); return true })
	if len(one) != 0 {
		t.Errorf("a filter nothing matches returned %v", one)
	}
	l.Close()

	// Lines longer than a chunk and a last line without its newline.
	path := filepath.Join(t.TempDir(), "lines")
	long := strings.Repeat("x", backwardChunk+10)
	content := "a\n" + long + "\nb\n" + long[:backwardChunk-3] + "\nc\nunfinished" + long + string(make([]byte, 5000))
	os.WriteFile(path, []byte(content), 0o600)
	var got []string
	if err := backwardLines(path, func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"c", long[:backwardChunk-3], "b", long, "a"}
	if len(got) != len(want) {
		t.Fatalf("backwardLines gave %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d from the end: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}
}

func TestQueryAfter(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{MaxFileBytes: 16 << 10})
	appendN(t, l, 0, 40)
	l.Close()
	for _, after := range []uint64{0, 1, 17, 39, 40, 100} {
		var seqs []uint64
		if err := QueryAfter(dir, Filter{}, after, func(seq uint64, e *Event) bool { seqs = append(seqs, seq); return true }); err != nil {
			t.Fatal(err)
		}
		want := max(0, 40-int(min(after, 40)))
		if len(seqs) != want || want > 0 && (seqs[0] != after+1 || seqs[len(seqs)-1] != 40) {
			t.Errorf("QueryAfter(%d) = %d records %v", after, len(seqs), seqs)
		}
	}
}

// TestQueryPrefilter: skipping records by substring before decoding them
// never changes what Query and QueryBackward return, whether the filter's
// values are plain (used as needles) or hold characters an encoder escapes
// (left to Match), and a record that holds the text elsewhere is still
// judged by Match.
func TestQueryPrefilter(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	odd := "Zoë <ops> & \"co\""
	events := []*Event{
		encryptEvent("plain"),
		{EventName: "Decrypt", RequestID: "odd-user",
			UserIdentity: UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/zoe", UserName: odd, AccessKeyID: "AKIDZOE"}},
		{EventName: "Encrypt", RequestID: "decoy",
			// Every needle below appears in this record, none where Match looks.
			RequestParameters: json.RawMessage(`{"note":"Decrypt AKIDZOE Bob 1234abcd-12ab-34cd-56ef-1234567890ab arn:aws:iam::111122223333:user/zoe"}`),
			UserIdentity:      UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/Carol", UserName: "Carol"}},
		{EventName: "Decrypt", RequestID: "assumed",
			UserIdentity: UserIdentity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:s1",
				SessionContext: &SessionContext{SessionIssuer: &SessionIssuer{UserName: "Bob"}}},
			Resources: []Resource{{Type: ResourceTypeKey, ARN: testKeyARN}}},
	}
	for _, e := range events {
		if err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	var all []*Event
	Query(dir, Filter{}, func(e *Event) bool { all = append(all, e); return true })
	for _, f := range []Filter{
		{EventName: "Decrypt"},
		{Username: odd},
		{Username: "Bob"},
		{AccessKeyID: "AKIDZOE"},
		{KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab"},
		{Principal: "arn:aws:iam::111122223333:user/zoe"},
		{Principal: "AROAEXAMPLE:s1", EventName: "Decrypt"},
		{EventName: "Decrypt", Username: odd},
		{EventName: "NoSuchThing"},
	} {
		var want, got, back []string
		for _, e := range all {
			if f.Match(e) {
				want = append(want, e.RequestID)
			}
		}
		Query(dir, f, func(e *Event) bool { got = append(got, e.RequestID); return true })
		QueryBackward(dir, f, 0, func(_ uint64, e *Event) bool { back = append(back, e.RequestID); return true })
		slices.Reverse(back)
		if !slices.Equal(got, want) || !slices.Equal(back, want) {
			t.Errorf("filter %+v: Query = %q, QueryBackward (reversed) = %q, Match over all = %q", f, got, back, want)
		}
		if len(want) == 0 && f.EventName != "NoSuchThing" {
			t.Errorf("filter %+v matches nothing: the case tests nothing", f)
		}
	}
}

// TestQueryEscapedValues: filter values that JSON escapes still find their
// records, forward and backward, though the prefilter looks for them in
// the encoded lines.
func TestQueryEscapedValues(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, Options{})
	values := []string{"Zoë", `a"b\c`, "tab\there", "line\u2028sep", "ctl\x01", "plain"}
	for i, v := range values {
		e := encryptEvent(fmt.Sprint("req-", i))
		e.UserIdentity.UserName = v
		e.Resources = []Resource{{AccountID: "111122223333", Type: ResourceTypeKey, ARN: "arn:aws:kms:us-east-1:111122223333:alias/" + v}}
		if err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		for _, f := range []Filter{{Username: v}, {KeyID: "alias/" + v}} {
			got := queryAll(t, dir, f)
			var back []string
			QueryBackward(dir, f, 0, func(_ uint64, e *Event) bool { back = append(back, e.RequestID); return true })
			want := fmt.Sprint("req-", i)
			if len(got) != 1 || got[0].RequestID != want || len(back) != 1 || back[0] != want {
				t.Errorf("filter %+v: Query found %d, QueryBackward %v; want %s", f, len(got), back, want)
			}
		}
	}
}
