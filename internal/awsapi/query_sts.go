package awsapi

import (
	"context"

	"github.com/keyward/keyward/internal/iam"
)

// stsOps are the STS actions Keyward implements.
var stsOps = map[string]opFunc{
	"GetCallerIdentity": getCallerIdentity,
	"AssumeRole":        assumeRole,
}

type callerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

// getCallerIdentity needs no permission: "No permissions are required to
// perform this operation"
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
func getCallerIdentity(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	return callerIdentityResult{Arn: c.ARN, UserID: c.UserID, Account: c.Account}, nil
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xmlAssumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type assumeRoleResult struct {
	Credentials     xmlCredentials     `xml:"Credentials"`
	AssumedRoleUser xmlAssumedRoleUser `xml:"AssumedRoleUser"`
	SourceIdentity  string             `xml:"SourceIdentity,omitempty"`
}

func assumeRole(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error) {
	// Session policies would narrow the session's permissions; applying
	// none would grant more than the caller asked for, so refuse them.
	if p.has("Policy") || p.has("PolicyArns.member.1.arn") {
		return nil, &iam.Error{Code: iam.CodeValidation, Message: "Session policies (Policy, PolicyArns) are not supported by this server."}
	}
	dur, err := p.int("DurationSeconds", "durationSeconds")
	if err != nil {
		return nil, err
	}
	cr, err := d.AssumeRole(ctx, c, &iam.AssumeRoleInput{
		RoleARN: p.get("RoleArn"), RoleSessionName: p.get("RoleSessionName"), DurationSeconds: dur, Tags: p.tags(),
		ExternalID: p.get("ExternalId"), SourceIdentity: p.get("SourceIdentity"),
	})
	if err != nil {
		return nil, err
	}
	return assumeRoleResult{
		Credentials: xmlCredentials{
			AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken,
			Expiration: isoTime(cr.Expiration),
		},
		AssumedRoleUser: xmlAssumedRoleUser{AssumedRoleID: cr.AssumedRoleID, Arn: cr.AssumedRoleARN},
		SourceIdentity:  p.get("SourceIdentity"),
	}, nil
}
