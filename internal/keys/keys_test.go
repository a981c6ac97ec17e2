package keys

import "testing"

// TestKeyIDForms checks both id forms against the same strings: a key id
// (a lower-case UUID) and a multi-Region key id ("mrk-" and 32 lower-case
// hex digits).
func TestKeyIDForms(t *testing.T) {
	cases := []struct {
		s          string
		key, multi bool
	}{
		{"1234abcd-12ab-34cd-56ef-1234567890ab", true, false},
		{"1234ABCD-12ab-34cd-56ef-1234567890ab", false, false},
		{"1234abcd-12ab-34cd-56ef-1234567890a", false, false},
		{"1234abcd-12ab-34cd-56ef-1234567890abc", false, false},
		{"1234abcd_12ab-34cd-56ef-1234567890ab", false, false},
		{"1234abcg-12ab-34cd-56ef-1234567890ab", false, false},
		{"mrk-1234abcd12ab34cd56ef1234567890ab", false, true},
		{"mrk-1234ABCD12ab34cd56ef1234567890ab", false, false},
		{"mrk-1234abcd12ab34cd56ef1234567890a", false, false},
		{"mrk-1234abcd12ab34cd56ef1234567890abc", false, false},
		{"mrk-fake-key-id", false, false},
		{"mrk-", false, false},
		{"", false, false},
	}
	for _, c := range cases {
		if got := IsKeyID(c.s); got != c.key {
			t.Errorf("IsKeyID(%q) = %v, want %v", c.s, got, c.key)
		}
		if got := IsMultiRegionKeyID(c.s); got != c.multi {
			t.Errorf("IsMultiRegionKeyID(%q) = %v, want %v", c.s, got, c.multi)
		}
	}
	for i := 0; i < 100; i++ {
		if id := NewID(); !IsKeyID(id) {
			t.Fatalf("IsKeyID(NewID() = %q) = false", id)
		}
	}
}

func TestParseRef(t *testing.T) {
	cases := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"1234abcd-12ab-34cd-56ef-1234567890ab", Ref{Kind: RefKeyID, KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab"}, true},
		{"arn:aws:kms:us-east-1:111122223333:key/k", Ref{Kind: RefKeyARN, Region: "us-east-1", Account: "111122223333", KeyID: "k"}, true},
		{"alias/x", Ref{Kind: RefAliasName, Alias: "alias/x"}, true},
		{"arn:aws:kms:us-east-1:111122223333:alias/x", Ref{Kind: RefAliasARN, Region: "us-east-1", Account: "111122223333", Alias: "alias/x"}, true},
		{"arn:aws:s3:us-east-1:111122223333:key/k", Ref{}, false},
		{"arn:aws:kms:us-east-1:111122223333:grant/k", Ref{}, false},
		{"arn:aws-cn:kms:cn-north-1:111122223333:key/k", Ref{Kind: RefKeyARN, Region: "cn-north-1", Account: "111122223333", KeyID: "k"}, true},
		{"arn:aws-cn:kms:cn-northwest-1:111122223333:alias/x", Ref{Kind: RefAliasARN, Region: "cn-northwest-1", Account: "111122223333", Alias: "alias/x"}, true},
		{"arn:aws:kms:cn-north-1:111122223333:key/k", Ref{}, false},   // partition not the region's
		{"arn:aws-cn:kms:us-east-1:111122223333:key/k", Ref{}, false}, // likewise
	}
	for _, c := range cases {
		got, ok := ParseRef(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
