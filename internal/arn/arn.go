// Package arn knows the one thing about Amazon Resource Names that depends on
// where Keyward runs: the partition. Every ARN Keyward prints starts with
// "arn:PARTITION:", and AWS keeps its China Regions (Beijing cn-north-1,
// Ningxia cn-northwest-1) in their own partition, aws-cn, and GovCloud in
// aws-us-gov
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
// A server configured for cn-north-1 must therefore name its keys
// arn:aws-cn:kms:cn-north-1:... and its principals arn:aws-cn:iam::...,
// exactly as AWS does there.
package arn

import "strings"

// Partition returns the partition that holds region: "aws-cn" for the China
// Regions, "aws-us-gov" for GovCloud (US), "aws" for every other region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// Prefix returns "arn:" + Partition(region) + ":", the start of every ARN in
// that region's partition.
func Prefix(region string) string { return "arn:" + Partition(region) + ":" }

// IsAccountRoot reports whether s is arn:PARTITION:iam::ACCOUNT:root, the
// root user of account, in any partition.
func IsAccountRoot(s, account string) bool {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	partition, rest, ok := strings.Cut(rest, ":")
	return ok && partition != "" && rest == "iam::"+account+":root"
}

// Account returns the account field of an ARN (the fifth, as in
// arn:aws:kms:us-east-1:111122223333:key/...), or "" if s has fewer fields.
func Account(s string) string {
	for range 4 {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return ""
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return ""
}
