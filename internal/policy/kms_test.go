package policy

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const (
	acct    = "111122223333"
	other   = "444455556666"
	keyID   = "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyARN  = "arn:aws:kms:us-east-1:111122223333:key/" + keyID
	key2ARN = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"

	aliceARN   = "arn:aws:iam::111122223333:user/alice"
	carolARN   = "arn:aws:iam::111122223333:user/carol"
	bobARN     = "arn:aws:iam::444455556666:user/bob"
	roleARN    = "arn:aws:iam::111122223333:role/App"
	sessionARN = "arn:aws:sts::111122223333:assumed-role/App/s1"
	extRoleARN = "arn:aws:iam::444455556666:role/Engineering"
	extSessARN = "arn:aws:sts::444455556666:assumed-role/Engineering/bob"
	rootARN    = "arn:aws:iam::111122223333:root"
	otherRoot  = "arn:aws:iam::444455556666:root"
)

var (
	alice       = Principal{ARN: aliceARN, Account: acct, UserName: "alice", UserID: "AIDAALICE", Tags: map[string]string{"Team": "blue", "keyid": keyID}}
	carol       = Principal{ARN: carolARN, Account: acct, UserName: "carol", UserID: "AIDACAROL"}
	bob         = Principal{ARN: bobARN, Account: other, UserName: "bob", UserID: "AIDABOB"}
	session     = Principal{ARN: sessionARN, Account: acct, RoleARN: roleARN, UserID: "AROAAPP:s1"}
	session2    = Principal{ARN: "arn:aws:sts::111122223333:assumed-role/App/s2", Account: acct, RoleARN: roleARN, UserID: "AROAAPP:s2"}
	extSess     = Principal{ARN: extSessARN, Account: other, RoleARN: extRoleARN, UserID: "AROAENG:bob"}
	aliceNoName = Principal{ARN: aliceARN, Account: acct} // a caller without aws:username
	root        = Principal{ARN: rootARN, Account: acct, UserID: acct, IsRoot: true}
	otherRootP  = Principal{ARN: otherRoot, Account: other, UserID: other, IsRoot: true}
)

// Denial reasons, verbatim from AWS's AccessDeniedException messages.
const (
	rDenyR = "with an explicit deny in a resource-based policy"
	rDenyI = "with an explicit deny in an identity-based policy"
	rKP    = "allowed by the key policy"
	rIAM   = "allowed by an identity-based policy the key policy enables"
	rGrant = "allowed by a grant"
)

func noR(action string) string {
	return "because no resource-based policy allows the " + action + " action"
}
func noI(action string) string {
	return "because no identity-based policy allows the " + action + " action"
}

var (
	nrEnc = noR("kms:Encrypt")
	niEnc = noI("kms:Encrypt")
)

func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// Statements used across the table.
const (
	// The default key policy's only statement.
	enableIAM = `{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}`
	// Key policy statements naming principals directly.
	aliceEncrypt = `{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Encrypt","Resource":"*"}`
	aliceAll     = `{"Sid":"AliceAll","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}`
	otherAcctUse = `{"Sid":"External","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}`
	// Identity policy statements.
	iamEncryptKey = `{"Effect":"Allow","Action":"kms:Encrypt","Resource":"` + keyARN + `"}`
	iamAllKMS     = `{"Effect":"Allow","Action":"kms:*","Resource":"*"}`
	iamDenyAll    = `{"Sid":"NoKMS","Effect":"Deny","Action":"kms:*","Resource":"*"}`
)

var defaultPolicy = string(DefaultKeyPolicy("aws", acct))

// keyStmt is a key policy statement "C" allowing alice kms:Encrypt under one condition.
func keyStmt(cond string) string {
	return `{"Sid":"C","Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt","Resource":"*","Condition":` + cond + `}`
}

type kmsCase struct {
	rule   string // the documented rule the case exercises
	p      Principal
	action string // default kms:Encrypt
	res    string // default keyARN
	ec     map[string]string
	ctx    map[string][]string
	kp     string // key policy; default DefaultKeyPolicy("aws", acct)
	ids    []string
	grants []Grant
	ng     *Grant
	allow  bool
	reason string
	by     string // when set, the deciding statement or grant
}

// op builds a condition-operator case: the key policy lets alice encrypt
// under {op: {key: val}}; vals nil leaves the key out of the request.
func op(rule, operator, key, val string, vals []string, allow bool) kmsCase {
	c := kmsCase{rule: rule, p: alice, kp: doc(keyStmt(`{"` + operator + `":{"` + key + `":` + val + `}}`)), allow: allow}
	if vals != nil {
		c.ctx = map[string][]string{key: vals}
	}
	if allow {
		c.reason, c.by = rKP, "C"
	} else {
		c.reason = nrEnc
	}
	return c
}

func vals(v ...string) []string { return v }

func ecCase(rule, cond string, ec map[string]string, p Principal, allow bool) kmsCase {
	c := kmsCase{rule: rule, p: p, kp: doc(keyStmt(cond)), ec: ec, allow: allow, reason: nrEnc}
	if allow {
		c.reason, c.by = rKP, "C"
	}
	return c
}

var blob = base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff})

var kmsCases = []kmsCase{
	// --- Default key policy: it "allows the account to use IAM policies" and gives no principal access by itself (key-policy-default.html).
	{rule: "default policy + IAM allow on the key ARN", p: alice, ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "default policy alone gives no IAM user access", p: alice, reason: niEnc},
	{rule: "default policy: IAM allows another action only", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}`)}, reason: niEnc},
	{rule: "default policy: IAM allows another key only", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","Resource":"` + key2ARN + `"}`)}, reason: niEnc},
	{rule: "default policy: IAM allows Resource *", p: alice, ids: []string{doc(iamAllKMS)}, allow: true, reason: rIAM},
	{rule: "default policy: IAM resource with per-component wildcards", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}`)}, allow: true, reason: rIAM},
	{rule: "default policy: wildcard in the account component must not span components", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:us-east-1:*3333:alias/*"}`)}, reason: niEnc},
	{rule: "default policy: root user has full access in its account (evaluation logic)", p: root, allow: true, reason: rIAM, by: "Enable IAM User Permissions"},
	{rule: "default policy: another account is not enabled", p: bob, ids: []string{doc(iamAllKMS)}, reason: nrEnc},
	{rule: "default policy: role session with IAM allow", p: session, ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "default policy: IAM NotAction allows all but the listed action", p: alice, ids: []string{doc(`{"Effect":"Allow","NotAction":"kms:Decrypt","Resource":"*"}`)}, allow: true, reason: rIAM},
	{rule: "default policy: IAM NotAction excludes the requested action", p: alice, action: "kms:Decrypt", ids: []string{doc(`{"Effect":"Allow","NotAction":"kms:Decrypt","Resource":"*"}`)}, reason: noI("kms:Decrypt")},
	{rule: "IAM allow from a second identity policy counts", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}`), doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "actions are case-insensitive in identity policies", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"KMS:ENCRYPT","Resource":"*"}`)}, allow: true, reason: rIAM},

	// --- An explicit deny in any policy overrides any allow (reference_policies_evaluation-logic.html).
	{rule: "key policy Deny beats key policy Allow", p: alice, kp: doc(aliceAll, `{"Sid":"D","Effect":"Deny","Principal":{"AWS":"`+aliceARN+`"},"Action":"kms:Encrypt","Resource":"*"}`), reason: rDenyR, by: "D"},
	{rule: "identity policy Deny beats key policy Allow", p: alice, kp: doc(aliceAll), ids: []string{doc(iamDenyAll)}, reason: rDenyI, by: "NoKMS"},
	{rule: "identity Deny beats identity Allow", p: alice, ids: []string{doc(iamAllKMS), doc(iamDenyAll)}, reason: rDenyI},
	{rule: "key policy Deny naming the account applies to its users", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:Encrypt","Resource":"*"}`), reason: rDenyR, by: "#1"},
	{rule: "key policy Deny * outside an IP range applies", p: alice, ctx: map[string][]string{"aws:SourceIp": {"198.51.100.7"}}, kp: doc(aliceAll, `{"Sid":"IP","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`), reason: rDenyR, by: "IP"},
	{rule: "key policy Deny * outside an IP range does not apply inside it", p: alice, ctx: map[string][]string{"aws:SourceIp": {"203.0.113.9"}}, kp: doc(aliceAll, `{"Sid":"IP","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`), allow: true, reason: rKP, by: "AliceAll"},
	{rule: "key policy Deny beats a grant (grants cannot override a Deny)", p: alice, kp: doc(enableIAM, `{"Effect":"Deny","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`), grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}}}, reason: rDenyR},
	{rule: "identity Deny beats a grant", p: alice, ids: []string{doc(iamDenyAll)}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}}}, reason: rDenyI},
	{rule: "a Deny for another action does not apply", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "Deny with NotAction denies every other action", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}`), reason: rDenyR},
	{rule: "Deny with NotAction spares the listed action", p: alice, action: "kms:Decrypt", kp: doc(aliceAll, `{"Effect":"Deny","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "explicit deny in the key policy is reported before one in IAM", p: alice, kp: doc(`{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}`), ids: []string{doc(iamDenyAll)}, reason: rDenyR},

	// --- Delegation to the account versus a directly named principal (key-policy-default.html#allow-iam-policies).
	{rule: "principal named directly needs no IAM policy", p: alice, kp: doc(aliceEncrypt), allow: true, reason: rKP, by: "Alice"},
	{rule: "account principal (ARN form) without IAM policy is not access", p: alice, kp: doc(enableIAM), reason: niEnc},
	{rule: "account principal (ID form) delegates like the ARN form", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}`), ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "IAM allow is ineffective when the key policy does not enable the account", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + carolARN + `"},"Action":"kms:*","Resource":"*"}`), ids: []string{doc(iamAllKMS)}, reason: nrEnc},
	{rule: `Principal "*" allows every principal directly`, p: alice, kp: doc(`{"Sid":"Any","Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`), allow: true, reason: rKP, by: "Any"},
	{rule: `Principal {"AWS":"*"} is the same as "*"`, p: carol, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: `"*" with kms:CallerAccount limits to one account (conditions-kms.html#conditions-kms-caller-account)`, p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}`), allow: true, reason: rKP},
	{rule: `"*" with kms:CallerAccount of another account`, p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"444455556666"}}}`), reason: nrEnc},
	{rule: `"*" with kms:ViaService from the request context`, p: alice, ctx: map[string][]string{"kms:ViaService": {"ec2.us-west-2.amazonaws.com"}}, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"ec2.us-west-2.amazonaws.com"}}}`), allow: true, reason: rKP},
	{rule: `kms:ViaService missing: the condition is false`, p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"ec2.us-west-2.amazonaws.com"}}}`), reason: nrEnc},
	{rule: "a principal allowed other actions only", p: alice, action: "kms:Decrypt", kp: doc(aliceEncrypt), reason: noR("kms:Decrypt")},
	{rule: "no root bypass: the key policy names only alice", p: root, kp: doc(aliceAll), reason: nrEnc},
	{rule: "root user with the account enabled", p: root, kp: doc(enableIAM), allow: true, reason: rIAM},
	{rule: "delegation statement whose condition fails does not enable IAM", p: alice, ctx: map[string][]string{"aws:SourceIp": {"198.51.100.1"}}, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + rootARN + `"},"Action":"kms:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), ids: []string{doc(iamAllKMS)}, reason: nrEnc},
	{rule: "IAM can delegate only the actions the key policy gives the account", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + rootARN + `"},"Action":"kms:Decrypt","Resource":"*"}`), ids: []string{doc(iamAllKMS)}, reason: nrEnc},
	{rule: "key policy Resource may name the key's own ARN", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt","Resource":"` + keyARN + `"}`), allow: true, reason: rKP},
	{rule: "key policy Resource naming another key does not apply", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt","Resource":"` + key2ARN + `"}`), reason: nrEnc},
	{rule: "key policy statement without Resource has no effect (key-policy-overview.html)", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt"}`), reason: nrEnc},
	{rule: "key policy statement without Action has no effect (API_PutKeyPolicy.html)", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Resource":"*"}`), reason: nrEnc},
	{rule: "a key policy Deny without Resource has no effect either", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","Principal":"*","Action":"kms:*"}`), allow: true, reason: rKP},
	{rule: "a key policy with many principals ORs them", p: carol, kp: doc(`{"Effect":"Allow","Principal":{"AWS":["` + aliceARN + `","` + carolARN + `"]},"Action":"kms:Encrypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "principal ARNs are compared with case (user name is case sensitive)", p: Principal{ARN: "arn:aws:iam::111122223333:user/Alice", Account: acct}, kp: doc(aliceEncrypt), reason: nrEnc},
	{rule: "a nil key policy allows nothing", p: alice, kp: "-", ids: []string{doc(iamAllKMS)}, reason: nrEnc},

	// --- Cross-account: key policy AND the caller's IAM policy (key-policy-modifying-external-accounts.html).
	{rule: "cross-account: key policy enables the account and IAM allows", p: bob, kp: doc(enableIAM, otherAcctUse), ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "cross-account: key policy only", p: bob, kp: doc(enableIAM, otherAcctUse), reason: niEnc},
	{rule: "cross-account: IAM policy only", p: bob, ids: []string{doc(iamAllKMS)}, reason: nrEnc},
	{rule: "cross-account: principal named in the key policy still needs IAM", p: bob, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + bobARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), reason: niEnc},
	{rule: "cross-account: principal named in the key policy plus IAM", p: bob, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + bobARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "cross-account: IAM names another key", p: bob, kp: doc(otherAcctUse), ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","Resource":"` + key2ARN + `"}`)}, reason: niEnc},
	{rule: "cross-account: IAM cannot widen the actions the key policy gives", p: bob, action: "kms:ScheduleKeyDeletion", kp: doc(otherAcctUse), ids: []string{doc(iamAllKMS)}, reason: noR("kms:ScheduleKeyDeletion")},
	{rule: "cross-account: wildcard actions in the key policy (kms:GenerateDataKey*)", p: bob, action: "kms:GenerateDataKeyWithoutPlaintext", kp: doc(otherAcctUse), ids: []string{doc(iamAllKMS)}, allow: true, reason: rIAM},
	{rule: "cross-account: the other account's root has full IAM access at home", p: otherRootP, kp: doc(otherAcctUse), allow: true, reason: rIAM},
	{rule: `cross-account: "*" still needs IAM in the caller's account`, p: bob, kp: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`), reason: niEnc},
	{rule: `cross-account: "*" plus IAM`, p: bob, kp: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*"}`), ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "cross-account: a grant suffices without IAM (grants.md)", p: bob, grants: []Grant{{ID: "gx", GranteePrincipal: bobARN, Operations: []string{"Encrypt"}}}, allow: true, reason: rGrant, by: "gx"},
	{rule: "cross-account: IAM Deny in the caller's account", p: bob, kp: doc(otherAcctUse), ids: []string{doc(iamEncryptKey, iamDenyAll)}, reason: rDenyI},
	{rule: "cross-account: role session in the other account, account enabled (policy-evaluation.html example 2)", p: extSess, kp: doc(otherAcctUse), ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "cross-account: key policy names the external role; session plus IAM", p: extSess, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + extRoleARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), ids: []string{doc(iamEncryptKey)}, allow: true, reason: rIAM},
	{rule: "cross-account: the account principal of the key's account does not cover others", p: bob, kp: doc(enableIAM), ids: []string{doc(iamEncryptKey)}, reason: nrEnc},

	// --- Role sessions named by role ARN (reference_policies_elements_principal.html#principal-roles).
	{rule: "key policy naming the role allows its sessions", p: session, kp: doc(`{"Sid":"Role","Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), allow: true, reason: rKP, by: "Role"},
	{rule: "key policy naming the session ARN", p: session, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + sessionARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "key policy naming a session does not cover other sessions", p: session2, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + sessionARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), reason: nrEnc},
	{rule: "key policy naming another role", p: session, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Other"},"Action":"kms:Encrypt","Resource":"*"}`), reason: nrEnc},
	{rule: "aws:PrincipalArn of a session is the role ARN", p: session, kp: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"` + roleARN + `"}}}`), allow: true, reason: rKP},
	{rule: "a role name is not a user ARN", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), reason: nrEnc},

	// --- NotPrincipal (reference_policies_elements_notprincipal.html), NotAction, NotResource.
	{rule: "Deny NotPrincipal listing the user and its account spares the user", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","NotPrincipal":{"AWS":["`+aliceARN+`","`+rootARN+`"]},"Action":"kms:*","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "Deny NotPrincipal without the account ARN denies the account, so the user", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","NotPrincipal":{"AWS":"`+aliceARN+`"},"Action":"kms:*","Resource":"*"}`), reason: rDenyR},
	{rule: "Deny NotPrincipal denies everyone else", p: carol, kp: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`, `{"Effect":"Deny","NotPrincipal":{"AWS":["`+aliceARN+`","`+rootARN+`"]},"Action":"kms:*","Resource":"*"}`), reason: rDenyR},
	{rule: "Deny NotPrincipal spares a session when session, role and account are listed", p: session, kp: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`, `{"Effect":"Deny","NotPrincipal":{"AWS":["`+sessionARN+`","`+roleARN+`","`+rootARN+`"]},"Action":"kms:*","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "Deny NotPrincipal without the role ARN denies the session", p: session, kp: doc(`{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}`, `{"Effect":"Deny","NotPrincipal":{"AWS":["`+sessionARN+`","`+rootARN+`"]},"Action":"kms:*","Resource":"*"}`), reason: rDenyR},
	{rule: "Allow NotPrincipal allows principals not listed", p: alice, kp: doc(`{"Effect":"Allow","NotPrincipal":{"AWS":"` + otherRoot + `"},"Action":"kms:Encrypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "Allow NotPrincipal does not allow the listed principal", p: alice, kp: doc(`{"Effect":"Allow","NotPrincipal":{"AWS":"` + aliceARN + `"},"Action":"kms:Encrypt","Resource":"*"}`), reason: nrEnc},
	{rule: "Allow NotPrincipal listing the account excludes its users", p: carol, kp: doc(`{"Effect":"Allow","NotPrincipal":{"AWS":"` + acct + `"},"Action":"kms:Encrypt","Resource":"*"}`), reason: nrEnc},
	{rule: "Allow NotAction allows other actions", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"NotAction":"kms:ScheduleKeyDeletion","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "Allow NotAction excludes the listed action", p: alice, action: "kms:ScheduleKeyDeletion", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"NotAction":"kms:ScheduleKeyDeletion","Resource":"*"}`), reason: noR("kms:ScheduleKeyDeletion")},
	{rule: "IAM NotResource excluding this key", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","NotResource":"` + keyARN + `"}`)}, reason: niEnc},
	{rule: "IAM NotResource excluding another key", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","NotResource":"` + key2ARN + `"}`)}, allow: true, reason: rIAM},
	{rule: "IAM Deny with NotResource denies every key but one", p: alice, ids: []string{doc(iamAllKMS, `{"Effect":"Deny","Action":"kms:*","NotResource":"`+key2ARN+`"}`)}, reason: rDenyI},
	{rule: "IAM NotResource with a wildcard", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/1234*"}`)}, reason: niEnc},

	// --- Wildcard and case-insensitive actions (reference_policies_grammar.html, action_string).
	{rule: `"kms:*" matches every KMS action`, p: alice, action: "kms:GenerateDataKey", kp: doc(aliceAll), allow: true, reason: rKP},
	{rule: `"*" matches every action`, p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"*","Resource":"*"}`), allow: true, reason: rKP},
	{rule: `"kms:Gen*" matches GenerateDataKey`, p: alice, action: "kms:GenerateDataKey", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Gen*","Resource":"*"}`), allow: true, reason: rKP},
	{rule: `"kms:Gen*" does not match Encrypt`, p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Gen*","Resource":"*"}`), reason: nrEnc},
	{rule: `"kms:?ncrypt" matches Encrypt`, p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:?ncrypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: `"kms:?ncrypt" does not match Decrypt`, p: alice, action: "kms:Decrypt", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:?ncrypt","Resource":"*"}`), reason: noR("kms:Decrypt")},
	{rule: `"kms:ReEncrypt*" matches ReEncryptFrom`, p: alice, action: "kms:ReEncryptFrom", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:ReEncrypt*","Resource":"*"}`), allow: true, reason: rKP},
	{rule: `"kms:*crypt" matches Decrypt`, p: alice, action: "kms:Decrypt", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:*crypt","Resource":"*"}`), allow: true, reason: rKP},
	{rule: `"kms:*crypt" does not match ReEncryptFrom`, p: alice, action: "kms:ReEncryptFrom", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:*crypt","Resource":"*"}`), reason: noR("kms:ReEncryptFrom")},
	{rule: "action names are case-insensitive in key policies", p: alice, action: "KMS:encrypt", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:ENCRYPT","Resource":"*"}`), allow: true, reason: rKP},
	{rule: "an action must match whole, not as a prefix", p: alice, action: "kms:EncryptX", kp: doc(aliceEncrypt), reason: noR("kms:EncryptX")},
	{rule: "another service's wildcard does not match", p: alice, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"s3:*","Resource":"*"}`), reason: nrEnc},
	{rule: "several actions are ORed", p: alice, action: "kms:Decrypt", kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}`), allow: true, reason: rKP},

	// --- String condition operators (reference_policies_elements_condition_operators.html#Conditions_String).
	op("StringEquals match", "StringEquals", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, vals("SYMMETRIC_DEFAULT"), true),
	op("StringEquals is case sensitive", "StringEquals", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, vals("symmetric_default"), false),
	op("StringEquals: missing key is false", "StringEquals", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, nil, false),
	op("StringEqualsIfExists: missing key is true", "StringEqualsIfExists", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, nil, true),
	op("StringEqualsIfExists: present key is tested", "StringEqualsIfExists", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, vals("RSAES_OAEP_SHA_256"), false),
	op("StringEquals: values are ORed", "StringEquals", "kms:EncryptionAlgorithm", `["RSAES_OAEP_SHA_1","RSAES_OAEP_SHA_256"]`, vals("RSAES_OAEP_SHA_256"), true),
	op("StringEquals: * is literal", "StringEquals", "kms:EncryptionAlgorithm", `"RSA*"`, vals("RSAES_OAEP_SHA_256"), false),
	op("StringNotEquals match", "StringNotEquals", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, vals("RSAES_OAEP_SHA_256"), true),
	op("StringNotEquals miss", "StringNotEquals", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, vals("SYMMETRIC_DEFAULT"), false),
	op("StringNotEquals: missing key is true", "StringNotEquals", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, nil, true),
	op("StringNotEquals: several values are NORed", "StringNotEquals", "kms:EncryptionAlgorithm", `["A","B"]`, vals("B"), false),
	op("StringNotEqualsIfExists: present and equal", "StringNotEqualsIfExists", "kms:EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`, vals("SYMMETRIC_DEFAULT"), false),
	op("StringEqualsIgnoreCase match", "StringEqualsIgnoreCase", "aws:username", `"ALICE"`, vals("alice"), true),
	op("StringEqualsIgnoreCase miss", "StringEqualsIgnoreCase", "aws:PrincipalType", `"User"`, vals("AssumedRole"), false),
	op("StringEqualsIgnoreCase: missing key is false", "StringEqualsIgnoreCase", "test:Missing", `"x"`, nil, false),
	op("StringEqualsIgnoreCaseIfExists: missing key is true", "StringEqualsIgnoreCaseIfExists", "test:Missing", `"x"`, nil, true),
	op("StringNotEqualsIgnoreCase match", "StringNotEqualsIgnoreCase", "kms:RequestAlias", `"alias/Prod"`, vals("alias/test"), true),
	op("StringNotEqualsIgnoreCase miss", "StringNotEqualsIgnoreCase", "kms:RequestAlias", `"alias/Prod"`, vals("ALIAS/PROD"), false),
	op("StringNotEqualsIgnoreCase: missing key is true", "StringNotEqualsIgnoreCase", "kms:RequestAlias", `"alias/Prod"`, nil, true),
	op("StringLike with *", "StringLike", "kms:RequestAlias", `"alias/app-*"`, vals("alias/app-web"), true),
	op("StringLike with ?", "StringLike", "kms:RequestAlias", `"alias/app-??"`, vals("alias/app-01"), true),
	op("StringLike miss", "StringLike", "kms:RequestAlias", `"alias/app-*"`, vals("alias/db-1"), false),
	op("StringLike is case sensitive", "StringLike", "kms:RequestAlias", `"alias/app-*"`, vals("alias/APP-web"), false),
	op("StringLike * spans lines", "StringLike", "test:Note", `"a*z"`, vals("a\nb\nz"), true),
	op("StringLike: missing key is false", "StringLike", "kms:RequestAlias", `"*"`, nil, false),
	op("StringLikeIfExists: missing key is true", "StringLikeIfExists", "kms:RequestAlias", `"alias/app-*"`, nil, true),
	op("StringNotLike match", "StringNotLike", "kms:RequestAlias", `"alias/secret-*"`, vals("alias/app"), true),
	op("StringNotLike miss", "StringNotLike", "kms:RequestAlias", `"alias/secret-*"`, vals("alias/secret-1"), false),
	op("StringNotLike: missing key is true", "StringNotLike", "kms:RequestAlias", `"alias/secret-*"`, nil, true),

	// --- Numeric condition operators.
	op("NumericEquals match", "NumericEquals", "test:Count", `"10"`, vals("10.0"), true),
	op("NumericEquals miss", "NumericEquals", "test:Count", `10`, vals("11"), false),
	op("NumericEquals: a non-number request value does not match", "NumericEquals", "test:Count", `10`, vals("ten"), false),
	op("NumericEquals: missing key is false", "NumericEquals", "test:Count", `10`, nil, false),
	op("NumericEqualsIfExists: missing key is true", "NumericEqualsIfExists", "test:Count", `10`, nil, true),
	op("NumericNotEquals match", "NumericNotEquals", "test:Count", `10`, vals("9"), true),
	op("NumericNotEquals miss", "NumericNotEquals", "test:Count", `10`, vals("10"), false),
	op("NumericNotEquals: missing key is true", "NumericNotEquals", "test:Count", `10`, nil, true),
	op("NumericLessThan match", "NumericLessThan", "aws:MultiFactorAuthAge", `"3600"`, vals("120"), true),
	op("NumericLessThan miss at the bound", "NumericLessThan", "aws:MultiFactorAuthAge", `"3600"`, vals("3600"), false),
	op("NumericLessThan: missing key is false", "NumericLessThan", "aws:MultiFactorAuthAge", `"3600"`, nil, false),
	op("NumericLessThanIfExists: missing key is true", "NumericLessThanIfExists", "aws:MultiFactorAuthAge", `"3600"`, nil, true),
	op("NumericLessThanEquals at the bound", "NumericLessThanEquals", "test:Count", `10`, vals("10"), true),
	op("NumericLessThanEquals miss", "NumericLessThanEquals", "test:Count", `10`, vals("10.5"), false),
	op("NumericGreaterThan match", "NumericGreaterThan", "test:Count", `10`, vals("11"), true),
	op("NumericGreaterThan miss", "NumericGreaterThan", "test:Count", `10`, vals("-3"), false),
	op("NumericGreaterThanEquals at the bound", "NumericGreaterThanEquals", "test:Count", `1.5`, vals("1.5"), true),
	op("NumericGreaterThanEquals miss", "NumericGreaterThanEquals", "test:Count", `1.5`, vals("1.25"), false),
	op("NumericGreaterThanEqualsIfExists: present and too small", "NumericGreaterThanEqualsIfExists", "test:Count", `1.5`, vals("1"), false),

	// --- Date condition operators (ISO 8601 and epoch).
	op("DateLessThan match", "DateLessThan", "aws:CurrentTime", `"2030-01-01T00:00:00Z"`, vals("2026-05-01T12:00:00Z"), true),
	op("DateLessThan miss", "DateLessThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`, vals("2026-05-01T12:00:00Z"), false),
	op("DateLessThan: missing key is false", "DateLessThan", "aws:CurrentTime", `"2030-01-01T00:00:00Z"`, nil, false),
	op("DateLessThanIfExists: missing key is true", "DateLessThanIfExists", "aws:CurrentTime", `"2030-01-01T00:00:00Z"`, nil, true),
	op("DateGreaterThan with an epoch policy value", "DateGreaterThan", "aws:CurrentTime", `1577836800`, vals("2026-05-01T12:00:00Z"), true),
	op("DateGreaterThan with an epoch request value", "DateGreaterThan", "aws:EpochTime", `"2020-01-01T00:00:00Z"`, vals("1577836799"), false),
	op("DateEquals across time zones", "DateEquals", "aws:TokenIssueTime", `"2024-03-01T10:00:00+02:00"`, vals("2024-03-01T08:00:00Z"), true),
	op("DateEquals with a date-only value", "DateEquals", "test:Day", `"2024-03-01"`, vals("2024-03-01T00:00:00Z"), true),
	op("DateNotEquals match", "DateNotEquals", "test:Day", `"2024-03-01"`, vals("2024-03-02T00:00:00Z"), true),
	op("DateNotEquals: missing key is true", "DateNotEquals", "test:Day", `"2024-03-01"`, nil, true),
	op("DateLessThanEquals at the bound", "DateLessThanEquals", "aws:CurrentTime", `"2026-05-01T12:00:00Z"`, vals("2026-05-01T12:00:00Z"), true),
	op("DateGreaterThanEquals at the bound", "DateGreaterThanEquals", "aws:CurrentTime", `"2026-05-01T12:00:00Z"`, vals("2026-05-01T12:00:00Z"), true),
	op("DateGreaterThanEquals miss", "DateGreaterThanEquals", "aws:CurrentTime", `"2026-05-01T12:00:00Z"`, vals("2026-05-01T11:59:59.999Z"), false),
	op("DateGreaterThan: an unparsable request value does not match", "DateGreaterThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`, vals("yesterday"), false),

	// --- Bool, Binary, IP address.
	op("Bool true", "Bool", "aws:SecureTransport", `"true"`, vals("true"), true),
	op("Bool JSON true matches \"true\"", "Bool", "aws:SecureTransport", `true`, vals("true"), true),
	op("Bool false does not match true", "Bool", "aws:SecureTransport", `"false"`, vals("true"), false),
	op("Bool: missing key is false", "Bool", "kms:GrantIsForAWSResource", `true`, nil, false),
	op("BoolIfExists: missing key is true", "BoolIfExists", "kms:GrantIsForAWSResource", `true`, nil, true),
	op("BinaryEquals byte for byte", "BinaryEquals", "test:Blob", `"`+blob+`"`, vals(string([]byte{0, 1, 2, 0xff})), true),
	op("BinaryEquals miss", "BinaryEquals", "test:Blob", `"`+blob+`"`, vals(string([]byte{0, 1, 2})), false),
	op("BinaryEquals: missing key is false", "BinaryEquals", "test:Blob", `"`+blob+`"`, nil, false),
	op("BinaryEqualsIfExists: missing key is true", "BinaryEqualsIfExists", "test:Blob", `"`+blob+`"`, nil, true),
	op("IpAddress in an IPv4 range", "IpAddress", "aws:SourceIp", `"203.0.113.0/24"`, vals("203.0.113.77"), true),
	op("IpAddress outside the range", "IpAddress", "aws:SourceIp", `"203.0.113.0/24"`, vals("203.0.114.1"), false),
	op("IpAddress without a prefix is /32", "IpAddress", "aws:SourceIp", `"203.0.113.5"`, vals("203.0.113.5"), true),
	op("IpAddress in an IPv6 range", "IpAddress", "aws:SourceIp", `["203.0.113.0/24","2001:DB8:1234:5678::/64"]`, vals("2001:db8:1234:5678::42"), true),
	op("IpAddress: missing key is false", "IpAddress", "aws:SourceIp", `"0.0.0.0/0"`, nil, false),
	op("IpAddressIfExists: missing key is true", "IpAddressIfExists", "aws:SourceIp", `"10.0.0.0/8"`, nil, true),
	op("NotIpAddress outside the range", "NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, vals("192.0.2.1"), true),
	op("NotIpAddress inside the range", "NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, vals("10.1.2.3"), false),
	op("NotIpAddress: missing key is true", "NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, nil, true),

	// --- ARN condition operators: each component matched separately.
	op("ArnEquals exact", "ArnEquals", "aws:SourceArn", `"arn:aws:sns:us-east-1:111122223333:topic"`, vals("arn:aws:sns:us-east-1:111122223333:topic"), true),
	op("ArnEquals takes wildcards like ArnLike", "ArnEquals", "aws:SourceArn", `"arn:aws:sns:*:111122223333:*"`, vals("arn:aws:sns:eu-west-1:111122223333:topic"), true),
	op("ArnLike per component", "ArnLike", "aws:SourceArn", `"arn:aws:someservice:*:111122223333:finance/*"`, vals("arn:aws:someservice:us-east-2:111122223333:finance/doc.txt"), true),
	op("ArnLike: * does not span components (the operators page example)", "ArnLike", "aws:SourceArn", `"arn:aws:someservice:*:111122223333:finance/*"`, vals("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), false),
	op("StringLike on the same ARN does span components", "StringLike", "aws:SourceArn", `"arn:aws:someservice:*:111122223333:finance/*"`, vals("arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), true),
	op("ArnLike: a non-ARN value does not match", "ArnLike", "aws:SourceArn", `"arn:aws:sns:*:*:*"`, vals("not-an-arn"), false),
	op("ArnLike: missing key is false", "ArnLike", "aws:SourceArn", `"arn:aws:sns:*:*:*"`, nil, false),
	op("ArnLikeIfExists: missing key is true", "ArnLikeIfExists", "aws:SourceArn", `"arn:aws:sns:*:*:*"`, nil, true),
	op("ArnNotEquals match", "ArnNotEquals", "aws:SourceArn", `"arn:aws:sns:*:111122223333:*"`, vals("arn:aws:sns:us-east-1:444455556666:t"), true),
	op("ArnNotLike miss", "ArnNotLike", "aws:SourceArn", `"arn:aws:sns:*:111122223333:*"`, vals("arn:aws:sns:us-east-1:111122223333:t"), false),
	op("ArnNotLike: missing key is true", "ArnNotLike", "aws:SourceArn", `"arn:aws:sns:*:111122223333:*"`, nil, true),

	// --- Null: true means the key is absent.
	op("Null true: key absent", "Null", "aws:TokenIssueTime", `"true"`, nil, true),
	op("Null true: key present", "Null", "aws:TokenIssueTime", `"true"`, vals("2024-01-01T00:00:00Z"), false),
	op("Null false: key present", "Null", "aws:TokenIssueTime", `false`, vals("2024-01-01T00:00:00Z"), true),
	op("Null false: key absent", "Null", "aws:TokenIssueTime", `false`, nil, false),

	// --- Condition key names are case-insensitive, values are not (reference_policies_elements_condition.html).
	op("condition key name case-insensitive (set and written in capitals)", "IpAddress", "AWS:SOURCEIP", `"203.0.113.0/24"`, vals("203.0.113.1"), true),
	{rule: "Deny with a negated IfExists operator still denies when the key is missing (Conditions_IfExists)", p: alice, kp: doc(aliceAll, `{"Sid":"OnlyS3","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`), reason: rDenyR, by: "OnlyS3"},
	{rule: "Deny with a negated IfExists operator does not deny the matching value", p: alice, ctx: map[string][]string{"kms:ViaService": {"s3.us-east-1.amazonaws.com"}}, kp: doc(aliceAll, `{"Sid":"OnlyS3","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`), allow: true, reason: rKP},
	{rule: "condition key set as aws:SourceIp, written AWS:SOURCEIP in the policy", p: alice, ctx: map[string][]string{"aws:SourceIp": {"203.0.113.1"}}, kp: doc(keyStmt(`{"IpAddress":{"AWS:SOURCEIP":"203.0.113.0/24"}}`)), allow: true, reason: rKP},
	{rule: "several keys under one operator are ANDed", p: alice, ctx: map[string][]string{"kms:ViaService": {"s3.us-east-1.amazonaws.com"}}, kp: doc(keyStmt(`{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com","kms:CallerAccount":"444455556666"}}`)), reason: nrEnc},
	{rule: "several operators are ANDed", p: alice, ctx: map[string][]string{"aws:SourceIp": {"10.0.0.1"}, "aws:SecureTransport": {"true"}}, kp: doc(keyStmt(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}`)), allow: true, reason: rKP},
	{rule: "one failing operator fails the statement", p: alice, ctx: map[string][]string{"aws:SourceIp": {"10.0.0.1"}, "aws:SecureTransport": {"false"}}, kp: doc(keyStmt(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}`)), reason: nrEnc},

	// --- kms:EncryptionContext:<key> (conditions-kms.html#conditions-kms-encryption-context).
	ecCase("EC pair required and present", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`, map[string]string{"Dept": "IT", "Other": "x"}, alice, true),
	ecCase("EC key part is not case sensitive", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`, map[string]string{"dEPT": "IT"}, alice, true),
	ecCase("EC value is case sensitive under StringEquals", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`, map[string]string{"Dept": "it"}, alice, false),
	ecCase("EC value compared without case under StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"kms:EncryptionContext:Dept":"it"}}`, map[string]string{"Dept": "IT"}, alice, true),
	ecCase("EC pair missing", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`, map[string]string{"Project": "Alpha"}, alice, false),
	ecCase("no EC at all", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`, nil, alice, false),
	ecCase("two EC pairs required (ANDed)", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT","kms:EncryptionContext:Project":"Alpha"}}`, map[string]string{"Dept": "IT", "Project": "Alpha"}, alice, true),
	ecCase("two EC pairs required, one missing", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT","kms:EncryptionContext:Project":"Alpha"}}`, map[string]string{"Dept": "IT"}, alice, false),
	ecCase("one of several EC values (ORed)", `{"StringEquals":{"kms:EncryptionContext:Stage":["Restricted","Production"]}}`, map[string]string{"Stage": "Production"}, alice, true),
	ecCase("EC condition key written in another case", `{"StringEquals":{"KMS:ENCRYPTIONCONTEXT:DEPT":"IT"}}`, map[string]string{"Dept": "IT"}, alice, true),
	ecCase("StringLike on an EC value", `{"StringLike":{"kms:EncryptionContext:path":"/home/*"}}`, map[string]string{"path": "/home/alice/x"}, alice, true),
	ecCase("EC with keys that differ only by case: any value may match", `{"StringEquals":{"kms:EncryptionContext:foo":"bar1"}}`, map[string]string{"foo": "bar1", "Foo": "bar2"}, alice, true),
	ecCase("EC with keys that differ only by case: negated needs none to match", `{"StringNotEquals":{"kms:EncryptionContext:foo":"bar1"}}`, map[string]string{"foo": "bar1", "Foo": "bar2"}, alice, false),
	{rule: "Deny on an EC pair", p: alice, ec: map[string]string{"Stage": "Restricted"}, kp: doc(aliceAll, `{"Sid":"NoRestricted","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Stage":"Restricted"}}}`), reason: rDenyR, by: "NoRestricted"},
	{rule: "Deny on an EC pair does not apply to other values", p: alice, ec: map[string]string{"Stage": "Test"}, kp: doc(aliceAll, `{"Sid":"NoRestricted","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:Stage":"Restricted"}}}`), allow: true, reason: rKP},
	{rule: "an EC condition key set explicitly wins over the derived one", p: alice, ec: map[string]string{"Dept": "HR"}, ctx: map[string][]string{"kms:EncryptionContext:Dept": {"IT"}}, kp: doc(keyStmt(`{"StringEquals":{"kms:EncryptionContext:Dept":"IT"}}`)), allow: true, reason: rKP},

	// --- kms:EncryptionContextKeys with ForAnyValue / ForAllValues (reference_policies_multi-value-conditions.html).
	ecCase("ForAnyValue: one request key matches", `{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"AppName"}}`, map[string]string{"AppName": "Helper", "Project": "Alpha"}, alice, true),
	ecCase("ForAnyValue: no request key matches", `{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"AppName"}}`, map[string]string{"Project": "Alpha"}, alice, false),
	ecCase("ForAnyValue: missing key is false", `{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"AppName"}}`, nil, alice, false),
	ecCase("ForAnyValue: empty EC is an empty set, false", `{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"AppName"}}`, map[string]string{}, alice, false),
	ecCase("ForAnyValue with StringEquals is case sensitive on EC keys", `{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"AppName"}}`, map[string]string{"appname": "x"}, alice, false),
	ecCase("ForAllValues: every request key is listed", `{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["Dept","Project"]}}`, map[string]string{"Dept": "IT"}, alice, true),
	ecCase("ForAllValues: an unlisted request key", `{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["Dept","Project"]}}`, map[string]string{"Dept": "IT", "Other": "x"}, alice, false),
	ecCase("ForAllValues: missing key is true", `{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["Dept","Project"]}}`, nil, alice, true),
	ecCase("ForAllValues: empty EC is true", `{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["Dept"]}}`, map[string]string{}, alice, true),
	ecCase("ForAllValues + EC pair: the pair makes an EC required", `{"StringEquals":{"kms:EncryptionContext:Dept":"IT"},"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["Dept"]}}`, nil, alice, false),
	ecCase("ForAllValues:StringNotLike: no request key is forbidden", `{"ForAllValues:StringNotLike":{"kms:EncryptionContextKeys":"secret*"}}`, map[string]string{"a": "1", "b": "2"}, alice, true),
	ecCase("ForAllValues:StringNotLike: one request key is forbidden", `{"ForAllValues:StringNotLike":{"kms:EncryptionContextKeys":"secret*"}}`, map[string]string{"a": "1", "secretX": "2"}, alice, false),
	ecCase("ForAnyValue:StringNotEquals: some key is not listed", `{"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"AppName"}}`, map[string]string{"AppName": "1", "Other": "2"}, alice, true),
	ecCase("ForAnyValue:StringNotEquals: every key is listed", `{"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"AppName"}}`, map[string]string{"AppName": "1"}, alice, false),
	ecCase("ForAnyValue:StringNotEquals: missing key is false", `{"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"AppName"}}`, nil, alice, false),
	ecCase("ForAnyValue:StringLikeIfExists: missing key is true", `{"ForAnyValue:StringLikeIfExists":{"kms:EncryptionContextKeys":"App*"}}`, nil, alice, true),
	ecCase("Null false on EncryptionContextKeys requires an EC", `{"Null":{"kms:EncryptionContextKeys":false}}`, map[string]string{"a": "b"}, alice, true),
	ecCase("Null false on EncryptionContextKeys without EC", `{"Null":{"kms:EncryptionContextKeys":false}}`, nil, alice, false),
	ecCase("Null true on EncryptionContextKeys with an empty EC", `{"Null":{"kms:EncryptionContextKeys":"true"}}`, map[string]string{}, alice, true),
	{rule: "Deny with ForAnyValue does not apply when the key is missing", p: alice, kp: doc(aliceAll, `{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"Forbidden"}}}`), allow: true, reason: rKP},
	{rule: "ForAnyValue on a multivalued key from the request context", p: alice, ctx: map[string][]string{"kms:ResourceAliases": {"alias/a", "alias/prod-db"}}, kp: doc(keyStmt(`{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/prod-*"}}`)), allow: true, reason: rKP},
	{rule: "ForAllValues on a multivalued key from the request context", p: alice, ctx: map[string][]string{"kms:ResourceAliases": {"alias/a", "alias/prod-db"}}, kp: doc(keyStmt(`{"ForAllValues:StringLike":{"kms:ResourceAliases":"alias/prod-*"}}`)), reason: nrEnc},
	{rule: "a key set with no values is missing", p: alice, ctx: map[string][]string{"kms:ResourceAliases": {}}, kp: doc(keyStmt(`{"ForAllValues:StringLike":{"kms:ResourceAliases":"alias/prod-*"}}`)), allow: true, reason: rKP},

	// --- Policy variables (reference_policies_variables.html).
	ecCase("${aws:username} in an EC condition (conditions-kms.html example)", `{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}`, map[string]string{"user": "alice"}, alice, true),
	ecCase("${aws:username} resolves to the caller, not another user", `{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}`, map[string]string{"user": "bob"}, alice, false),
	ecCase("${aws:userid}", `{"StringEquals":{"kms:EncryptionContext:owner":"${aws:userid}"}}`, map[string]string{"owner": "AIDAALICE"}, alice, true),
	ecCase("${aws:PrincipalTag/team} (tag key compared without case)", `{"StringEquals":{"kms:EncryptionContext:team":"${aws:PrincipalTag/team}"}}`, map[string]string{"team": "blue"}, alice, true),
	ecCase("${aws:PrincipalAccount} inside a longer value", `{"StringEquals":{"kms:EncryptionContext:tenant":"acct-${aws:PrincipalAccount}"}}`, map[string]string{"tenant": "acct-111122223333"}, alice, true),
	ecCase("an unresolvable variable matches nothing", `{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}`, map[string]string{"user": ""}, aliceNoName, false),
	ecCase("an unresolvable variable matches nothing, not even its own text", `{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}`, map[string]string{"user": "${aws:username}"}, aliceNoName, false),
	ecCase("a variable's default value when it cannot be resolved", `{"StringEquals":{"kms:EncryptionContext:user":"${aws:username, 'anonymous'}"}}`, map[string]string{"user": "anonymous"}, aliceNoName, true),
	ecCase("a variable's default value is unused when it resolves", `{"StringEquals":{"kms:EncryptionContext:user":"${aws:username, 'anonymous'}"}}`, map[string]string{"user": "anonymous"}, alice, false),
	ecCase("${*} is a literal asterisk", `{"StringLike":{"kms:EncryptionContext:x":"a${*}b"}}`, map[string]string{"x": "a*b"}, alice, true),
	ecCase("${*} is not a wildcard", `{"StringLike":{"kms:EncryptionContext:x":"a${*}b"}}`, map[string]string{"x": "axyzb"}, alice, false),
	ecCase("${?} is a literal question mark", `{"StringLike":{"kms:EncryptionContext:x":"why${?}"}}`, map[string]string{"x": "why?"}, alice, true),
	ecCase("${$} is a literal dollar", `{"StringEquals":{"kms:EncryptionContext:x":"${$}{aws:username}"}}`, map[string]string{"x": "${aws:username}"}, alice, true),
	ecCase("a resolved variable is literal text, not a pattern", `{"StringLike":{"kms:EncryptionContext:x":"${aws:PrincipalTag/pat}"}}`, map[string]string{"x": "anything"}, Principal{ARN: aliceARN, Account: acct, Tags: map[string]string{"pat": "*"}}, false),
	{rule: "${aws:SourceIp} resolves from the request context", p: alice, ctx: map[string][]string{"aws:SourceIp": {"192.0.2.10"}}, ec: map[string]string{"ip": "192.0.2.10"}, kp: doc(keyStmt(`{"StringEquals":{"kms:EncryptionContext:ip":"${aws:SourceIp}"}}`)), allow: true, reason: rKP},
	{rule: "${aws:CurrentTime} resolves from the request context", p: alice, ctx: map[string][]string{"aws:CurrentTime": {"2026-05-01T12:00:00Z"}}, ec: map[string]string{"ts": "2026-05-01T12:00:00Z"}, kp: doc(keyStmt(`{"StringEquals":{"kms:EncryptionContext:ts":"${aws:CurrentTime}"}}`)), allow: true, reason: rKP},
	{rule: "a multivalued key cannot be a policy variable", p: alice, ctx: map[string][]string{"test:Multi": {"a", "b"}}, ec: map[string]string{"x": "a"}, kp: doc(keyStmt(`{"StringEquals":{"kms:EncryptionContext:x":"${test:Multi}"}}`)), reason: nrEnc},
	{rule: "variables in Resource (the resource component)", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/keyid}"}`)}, allow: true, reason: rIAM},
	{rule: "variables in Resource: another principal's tag", p: carol, ids: []string{doc(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/keyid}"}`)}, reason: niEnc},
	{rule: "variables in Resource are literal before the fifth colon", p: alice, ids: []string{doc(`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*"}`)}, reason: niEnc},
	{rule: "Version 2008-10-17 treats ${aws:username} as literal text", p: alice, ec: map[string]string{"user": "alice"}, kp: `{"Version":"2008-10-17","Statement":` + keyStmt(`{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}`) + `}`, reason: nrEnc},
	{rule: "Version 2008-10-17 literal text matches itself", p: alice, ec: map[string]string{"user": "${aws:username}"}, kp: `{"Version":"2008-10-17","Statement":` + keyStmt(`{"StringEquals":{"kms:EncryptionContext:user":"${aws:username}"}}`) + `}`, allow: true, reason: rKP},
	{rule: "variables are not expanded in numeric conditions", p: alice, ctx: map[string][]string{"test:N": {"5"}}, kp: doc(keyStmt(`{"NumericEquals":{"test:N":"5"}}`)), allow: true, reason: rKP},

	// --- Grants (grants.md, create-grant-overview.md, API_GrantConstraints.html).
	{rule: "grant allows its operation without any policy", p: alice, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt", "Decrypt"}}}, allow: true, reason: rGrant, by: "g1"},
	{rule: "grant does not allow an operation it does not list", p: alice, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Decrypt"}}}, reason: niEnc},
	{rule: "grant for another principal", p: carol, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}}}, reason: niEnc},
	{rule: "grants allow only grant operations", p: alice, action: "kms:ScheduleKeyDeletion", grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"ScheduleKeyDeletion"}}}, reason: noI("kms:ScheduleKeyDeletion")},
	{rule: "grant operations are matched without case", p: alice, action: "kms:generatedatakey", grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"GenerateDataKey"}}}, allow: true, reason: rGrant},
	{rule: "a grant to a role applies to its sessions", p: session, grants: []Grant{{ID: "g1", GranteePrincipal: roleARN, Operations: []string{"Encrypt"}}}, allow: true, reason: rGrant},
	{rule: "a grant to one session does not cover another", p: session2, grants: []Grant{{ID: "g1", GranteePrincipal: sessionARN, Operations: []string{"Encrypt"}}}, reason: niEnc},
	{rule: "grants never allow another service's actions", p: alice, action: "s3:Encrypt", grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}}}, reason: noR("s3:Encrypt")},
	{rule: "EncryptionContextEquals: exact pairs", p: alice, ec: map[string]string{"Department": "IT"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, allow: true, reason: rGrant},
	{rule: "EncryptionContextEquals: an extra pair fails", p: alice, ec: map[string]string{"Department": "IT", "Purpose": "Test"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, reason: niEnc},
	{rule: "EncryptionContextEquals: the value is case sensitive", p: alice, ec: map[string]string{"Department": "it"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, reason: niEnc},
	{rule: "grant constraint keys are not case sensitive (API_GrantConstraints.html)", p: alice, ec: map[string]string{"department": "IT"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, allow: true, reason: rGrant},
	{rule: "EncryptionContextEquals: no EC fails", p: alice, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, reason: niEnc},
	{rule: "EncryptionContextSubset: extra pairs are fine", p: alice, ec: map[string]string{"Customer": "12345", "Department": "Finance", "Classification": "Public"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "Finance", "Classification": "Public"}}}}, allow: true, reason: rGrant},
	{rule: "EncryptionContextSubset: an incomplete EC fails", p: alice, ec: map[string]string{"Department": "Finance"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "Finance", "Classification": "Public"}}}}, reason: niEnc},
	{rule: "EncryptionContextSubset: no EC fails", p: alice, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "Finance"}}}}, reason: niEnc},
	{rule: "constraints do not apply to DescribeKey", p: alice, action: "kms:DescribeKey", grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"DescribeKey"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, allow: true, reason: rGrant},
	{rule: "constraints do not apply to RetireGrant", p: alice, action: "kms:RetireGrant", grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"RetireGrant"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}}, allow: true, reason: rGrant},
	{rule: "constraints apply to ReEncryptFrom", p: alice, action: "kms:ReEncryptFrom", ec: map[string]string{"Department": "HR"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"ReEncryptFrom"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}}, reason: noI("kms:ReEncryptFrom")},
	{rule: "a second grant can allow what the first does not", p: alice, ec: map[string]string{"Department": "HR"}, grants: []Grant{{ID: "g1", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}, {ID: "g2", GranteePrincipal: aliceARN, Operations: []string{"Encrypt"}}}, allow: true, reason: rGrant, by: "g2"},
	{rule: "CreateGrant from a grant: child operations are a subset", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"GenerateDataKey", "Decrypt", "CreateGrant"}}}, ng: &Grant{GranteePrincipal: carolARN, Operations: []string{"Decrypt", "CreateGrant"}}, allow: true, reason: rGrant},
	{rule: "CreateGrant from a grant: child adds an operation", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"Decrypt", "CreateGrant"}}}, ng: &Grant{GranteePrincipal: carolARN, Operations: []string{"Decrypt", "ReEncryptFrom"}}, reason: noI("kms:CreateGrant")},
	{rule: "CreateGrant from a grant: the child grant must be known", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"CreateGrant"}}}, reason: noI("kms:CreateGrant")},
	{rule: "CreateGrant from a grant: child adds pairs to the Subset", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"Decrypt", "CreateGrant"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}}, ng: &Grant{Operations: []string{"Decrypt"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT", "Project": "X"}}}, allow: true, reason: rGrant},
	{rule: "CreateGrant from a grant: child drops the constraint", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"Decrypt", "CreateGrant"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}}, ng: &Grant{Operations: []string{"Decrypt"}}, reason: noI("kms:CreateGrant")},
	{rule: "CreateGrant from a grant: Subset may become Equals", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"Decrypt", "CreateGrant"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}}, ng: &Grant{Operations: []string{"Decrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}, allow: true, reason: rGrant},
	{rule: "CreateGrant from a grant: Equals may not become Subset", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"Decrypt", "CreateGrant"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, ng: &Grant{Operations: []string{"Decrypt"}, Constraints: &GrantConstraints{EncryptionContextSubset: map[string]string{"Department": "IT"}}}, reason: noI("kms:CreateGrant")},
	{rule: "CreateGrant from a grant: Equals kept as is", p: alice, action: "kms:CreateGrant", grants: []Grant{{ID: "p", GranteePrincipal: aliceARN, Operations: []string{"Decrypt", "CreateGrant"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}}, ng: &Grant{Operations: []string{"Decrypt"}, Constraints: &GrantConstraints{EncryptionContextEquals: map[string]string{"Department": "IT"}}}, allow: true, reason: rGrant},
	{rule: "CreateGrant from a policy is not limited by grant rules", p: alice, action: "kms:CreateGrant", kp: doc(aliceAll), ng: &Grant{Operations: []string{"ScheduleKeyDeletion"}}, allow: true, reason: rKP},
	{rule: "kms:GrantOperations limits CreateGrant in a policy", p: alice, action: "kms:CreateGrant", ctx: map[string][]string{"kms:GrantOperations": {"Decrypt", "Encrypt"}}, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:CreateGrant","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt","GenerateDataKey"]}}}`), reason: noR("kms:CreateGrant")},
	{rule: "kms:GrantIsForAWSResource in the console's key users statement", p: bob, action: "kms:CreateGrant", ctx: map[string][]string{"kms:GrantIsForAWSResource": {"true"}}, kp: doc(`{"Effect":"Allow","Principal":{"AWS":"` + otherRoot + `"},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*","Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}`), ids: []string{doc(iamAllKMS)}, allow: true, reason: rIAM},
}

func TestDecideKMS(t *testing.T) {
	t.Logf("%d authorization cases", len(kmsCases))
	if len(kmsCases) < 150 {
		t.Fatalf("the table has %d cases, want at least 150", len(kmsCases))
	}
	for i, c := range kmsCases {
		req := &Request{Principal: c.p, Action: c.action, Resource: c.res, EncryptionContext: c.ec}
		if req.Action == "" {
			req.Action = "kms:Encrypt"
		}
		if req.Resource == "" {
			req.Resource = keyARN
		}
		for k, v := range c.ctx {
			req.Set(k, v...)
		}
		in := &KMSInput{Request: req, KeyAccount: acct, Grants: c.grants, NewGrant: c.ng}
		switch c.kp {
		case "-":
		case "":
			in.KeyPolicy = mustParse(t, defaultPolicy, KeyPolicy)
		default:
			in.KeyPolicy = mustParse(t, c.kp, KeyPolicy)
		}
		for _, d := range c.ids {
			in.IdentityPolicies = append(in.IdentityPolicies, mustParse(t, d, IdentityPolicy))
		}
		got := DecideKMS(in)
		if got.Allowed != c.allow || got.Reason != c.reason || (c.by != "" && got.By != c.by) {
			t.Errorf("case %d (%s): DecideKMS = %+v, want allowed=%v reason=%q by=%q", i, c.rule, got, c.allow, c.reason, c.by)
		}
	}
}

func mustParse(t testing.TB, doc string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), kind)
	if err != nil {
		t.Fatalf("Parse(%s) = %v", doc, err)
	}
	return p
}

func TestDecisionMessage(t *testing.T) {
	d := Decision{Reason: noR("kms:Decrypt")}
	got := d.Message("arn:aws:sts::111122223333:assumed-role/plan/ci", "kms:Decrypt", keyARN)
	want := "User: arn:aws:sts::111122223333:assumed-role/plan/ci is not authorized to perform: kms:Decrypt on resource: " + keyARN + " because no resource-based policy allows the kms:Decrypt action"
	if got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	d = Decision{Reason: rDenyI}
	got = d.Message(aliceARN, "kms:Encrypt", keyARN)
	want = "User: " + aliceARN + " is not authorized to perform: kms:Encrypt on resource: " + keyARN + " with an explicit deny in an identity-based policy"
	if got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if got := (Decision{Allowed: true, Reason: rKP}).Message(aliceARN, "kms:Encrypt", keyARN); got != "" {
		t.Errorf("Message of an allowed decision = %q, want empty", got)
	}
}

func TestDefaultKeyPolicy(t *testing.T) {
	// Byte for byte the GetKeyPolicy output of a key created without a policy
	// (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html).
	want := "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}"
	if got := string(DefaultKeyPolicy("aws", acct)); got != want {
		t.Errorf("DefaultKeyPolicy(%q) = %q, want %q", acct, got, want)
	}
	p := mustParse(t, want, KeyPolicy)
	if e, sid := p.Evaluate(&Request{Principal: alice, Action: "kms:Encrypt", Resource: keyARN}); e != Allow || sid != "Enable IAM User Permissions" {
		t.Errorf("Evaluate(default policy) = %v, %q", e, sid)
	}
	// An account ID cannot break out of its JSON string.
	if _, err := Parse(DefaultKeyPolicy("aws", `1"}`), KeyPolicy); err == nil {
		t.Errorf("Parse(DefaultKeyPolicy with a quote) succeeded, want an invalid principal")
	}
}

func TestCheckLockout(t *testing.T) {
	tests := []struct {
		rule   string
		doc    string
		p      Principal
		ctx    map[string][]string
		wantOK bool
	}{
		// The default key policy enables IAM policies for the account, so any
		// principal of the account may still be allowed PutKeyPolicy.
		{"default key policy", defaultPolicy, alice, nil, true},
		{"caller named for kms:PutKeyPolicy", doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:PutKeyPolicy","Resource":"*"}`), alice, nil, true},
		{"caller named through kms:Put*", doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:Put*","Resource":"*"}`), alice, nil, true},
		{"caller's role named", doc(`{"Effect":"Allow","Principal":{"AWS":"` + roleARN + `"},"Action":"kms:*","Resource":"*"}`), session, nil, true},
		{"policy allows only another user", doc(`{"Effect":"Allow","Principal":{"AWS":"` + carolARN + `"},"Action":"kms:*","Resource":"*"}`), alice, nil, false},
		{"policy allows the caller only to use the key", doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}`), alice, nil, false},
		{"policy denies the caller PutKeyPolicy", doc(enableIAM, `{"Effect":"Deny","Principal":{"AWS":"`+aliceARN+`"},"Action":"kms:PutKeyPolicy","Resource":"*"}`), alice, nil, false},
		{"root is not exempt: a policy naming only alice locks root out", doc(aliceAll), root, nil, false},
		{"root with its account enabled", defaultPolicy, root, nil, true},
		{"condition evaluated with the request's context (match)", doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), alice, map[string][]string{"aws:SourceIp": {"10.1.1.1"}}, true},
		{"condition evaluated with the request's context (miss)", doc(`{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"kms:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), alice, map[string][]string{"aws:SourceIp": {"192.0.2.1"}}, false},
		{"only another account enabled", doc(otherAcctUse, `{"Effect":"Allow","Principal":{"AWS":"`+otherRoot+`"},"Action":"kms:*","Resource":"*"}`), alice, nil, false},
	}
	for _, tt := range tests {
		p := mustParse(t, tt.doc, KeyPolicy)
		req := &Request{Principal: tt.p, Action: "kms:CreateKey", Resource: keyARN}
		for k, v := range tt.ctx {
			req.Set(k, v...)
		}
		err := CheckLockout(p, req, acct)
		if (err == nil) != tt.wantOK {
			t.Errorf("%s: CheckLockout = %v, want ok=%v", tt.rule, err, tt.wantOK)
			continue
		}
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) || me.Reason != "The new key policy will not allow you to update the key policy in the future." {
				t.Errorf("%s: CheckLockout = %#v, want AWS's lockout message", tt.rule, err)
			}
		}
	}
}

func TestCheckLockoutDoesNotChangeRequest(t *testing.T) {
	req := &Request{Principal: alice, Action: "kms:CreateKey", Resource: keyARN}
	_ = CheckLockout(mustParse(t, defaultPolicy, KeyPolicy), req, acct)
	if req.Action != "kms:CreateKey" {
		t.Errorf("CheckLockout changed the request's action to %q", req.Action)
	}
}
