package arn

import "testing"

func TestPartition(t *testing.T) {
	for _, tc := range []struct{ region, want string }{
		{"us-east-1", "aws"},
		{"eu-west-3", "aws"},
		{"ap-southeast-5", "aws"},
		{"cn-north-1", "aws-cn"},
		{"cn-northwest-1", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov"},
		{"us-gov-east-1", "aws-us-gov"},
	} {
		if got := Partition(tc.region); got != tc.want {
			t.Errorf("Partition(%q) = %q, want %q", tc.region, got, tc.want)
		}
		if got, want := Prefix(tc.region), "arn:"+tc.want+":"; got != want {
			t.Errorf("Prefix(%q) = %q, want %q", tc.region, got, want)
		}
	}
}

func TestIsAccountRoot(t *testing.T) {
	for _, tc := range []struct {
		s, account string
		want       bool
	}{
		{"arn:aws:iam::111122223333:root", "111122223333", true},
		{"arn:aws-cn:iam::111122223333:root", "111122223333", true},
		{"arn:aws:iam::111122223333:root", "444455556666", false},
		{"arn:aws:iam::111122223333:user/root", "111122223333", false},
		{"arn::iam::111122223333:root", "111122223333", false},
		{"arn:aws:sts::111122223333:root", "111122223333", false},
		{"111122223333", "111122223333", false},
	} {
		if got := IsAccountRoot(tc.s, tc.account); got != tc.want {
			t.Errorf("IsAccountRoot(%q, %q) = %v, want %v", tc.s, tc.account, got, tc.want)
		}
	}
}

func TestAccount(t *testing.T) {
	for _, tc := range []struct{ s, want string }{
		{"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "111122223333"},
		{"arn:aws-cn:kms:cn-north-1:444455556666:alias/x", "444455556666"},
		{"arn:aws:iam::111122223333:root", "111122223333"},
		{"arn:aws:kms:us-east-1:111122223333", ""},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", ""},
		{"", ""},
	} {
		if got := Account(tc.s); got != tc.want {
			t.Errorf("Account(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
