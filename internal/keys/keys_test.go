package keys

import "testing"

func TestIsKeyID(t *testing.T) {
	cases := map[string]bool{
		"1234abcd-12ab-34cd-56ef-1234567890ab":  true,
		"1234ABCD-12ab-34cd-56ef-1234567890ab":  false,
		"1234abcd-12ab-34cd-56ef-1234567890a":   false,
		"1234abcd-12ab-34cd-56ef-1234567890abc": false,
		"1234abcd_12ab-34cd-56ef-1234567890ab":  false,
		"1234abcg-12ab-34cd-56ef-1234567890ab":  false,
		"":                                      false,
	}
	for s, want := range cases {
		if got := IsKeyID(s); got != want {
			t.Errorf("IsKeyID(%q) = %v, want %v", s, got, want)
		}
	}
	for i := 0; i < 100; i++ {
		if id := NewID(); !IsKeyID(id) {
			t.Fatalf("IsKeyID(NewID() = %q) = false", id)
		}
	}
}

func TestIsMultiRegionKeyID(t *testing.T) {
	cases := map[string]bool{
		"mrk-1234abcd12ab34cd56ef1234567890ab":  true,
		"mrk-1234ABCD12ab34cd56ef1234567890ab":  false,
		"mrk-1234abcd12ab34cd56ef1234567890a":   false,
		"mrk-1234abcd12ab34cd56ef1234567890abc": false,
		"mrk-fake-key-id":                       false,
		"1234abcd-12ab-34cd-56ef-1234567890ab":  false,
		"mrk-":                                  false,
	}
	for s, want := range cases {
		if got := IsMultiRegionKeyID(s); got != want {
			t.Errorf("IsMultiRegionKeyID(%q) = %v, want %v", s, got, want)
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
