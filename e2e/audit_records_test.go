package e2e

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/keyward/keyward/internal/audit"
)

// TestAuditRecordsAsAWSLogsThem drives one request of each kind through the
// SDK and checks its record against what the AWS KMS developer guide's
// example log entry for the operation shows (the "ct-<operation>" pages):
// the defaults logged for omitted request fields, the key material in
// additionalEventData, the key ARN added to responseElements, the alias and
// key resources, the dates written as AWS writes them, and readOnly.
func TestAuditRecordsAsAWSLogsThem(t *testing.T) {
	e := start(t, "")
	c := e.kms
	var ids requestIDs
	id := ids.add

	k1 := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	id(k1.ResultMetadata)
	key1, arn1, mat1 := *k1.KeyMetadata.KeyId, *k1.KeyMetadata.Arn, *k1.KeyMetadata.CurrentKeyMaterialId
	k2 := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	id(k2.ResultMetadata)
	arn2 := *k2.KeyMetadata.Arn
	ec := map[string]string{"Department": "Engineering"}
	enc := must[*kms.EncryptOutput](t)(c.Encrypt(ctx, &kms.EncryptInput{KeyId: &key1, Plaintext: []byte("x"), EncryptionContext: ec}))
	id(enc.ResultMetadata)
	id(must[*kms.DecryptOutput](t)(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})).ResultMetadata)
	id(must[*kms.GenerateDataKeyOutput](t)(c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: &key1, KeySpec: kmstypes.DataKeySpecAes256})).ResultMetadata)
	id(must[*kms.ReEncryptOutput](t)(c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: &arn2})).ResultMetadata)
	id(must[*kms.GenerateRandomOutput](t)(c.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(16)})).ResultMetadata)
	id(must[*kms.CreateAliasOutput](t)(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/ExampleAlias"), TargetKeyId: &key1})).ResultMetadata)
	id(must[*kms.UpdateAliasOutput](t)(c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/ExampleAlias"), TargetKeyId: &arn2})).ResultMetadata)
	id(must[*kms.DeleteAliasOutput](t)(c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/ExampleAlias")})).ResultMetadata)
	id(must[*kms.DisableKeyOutput](t)(c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: &key1})).ResultMetadata)
	id(must[*kms.EnableKeyOutput](t)(c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: &key1})).ResultMetadata)
	id(must[*kms.EnableKeyRotationOutput](t)(c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: &key1})).ResultMetadata)
	id(must[*kms.DisableKeyRotationOutput](t)(c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: &key1})).ResultMetadata)
	id(must[*kms.TagResourceOutput](t)(c.TagResource(ctx, &kms.TagResourceInput{KeyId: &key1, Tags: []kmstypes.Tag{{TagKey: aws.String("k"), TagValue: aws.String("v")}}})).ResultMetadata)
	grant := must[*kms.CreateGrantOutput](t)(c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: &key1, GranteePrincipal: aws.String("arn:aws:iam::" + testAccount + ":root"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt}}))
	id(grant.ResultMetadata)
	id(must[*kms.RetireGrantOutput](t)(c.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: grant.GrantToken})).ResultMetadata)
	id(must[*kms.GetKeyPolicyOutput](t)(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &key1})).ResultMetadata)
	id(must[*kms.GetKeyLastUsageOutput](t)(c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: &key1})).ResultMetadata)
	id(must[*kms.ScheduleKeyDeletionOutput](t)(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &key1, PendingWindowInDays: aws.Int32(7)})).ResultMetadata)
	sk := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify}))
	id(sk.ResultMetadata)
	id(must[*kms.SignOutput](t)(c.Sign(ctx, &kms.SignInput{KeyId: sk.KeyMetadata.KeyId, Message: []byte("m"), SigningAlgorithm: kmstypes.SigningAlgorithmSpecEcdsaSha256})).ResultMetadata)
	e.stop()

	aliasARN := "arn:aws:kms:" + testRegion + ":" + testAccount + ":alias/ExampleAlias"
	humanDate := `"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M"`
	tests := []recordCase{
		{op: "CreateKey", req: `{"description":"","keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","customerMasterKeySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS","bypassPolicyLockoutSafetyCheck":false}`,
			resp: `/"creationDate":` + humanDate + `/`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "CreateKey", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(arn2)}},
		{op: "Encrypt", req: `{"keyId":"` + key1 + `","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"Department":"Engineering"}}`,
			resp: "null", data: `{"keyMaterialId":"` + mat1 + `"}`, readOnly: true, resources: []audit.Resource{keyResource(arn1)}},
		{op: "Decrypt", req: `{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"Department":"Engineering"}}`,
			resp: "null", data: `{"keyMaterialId":"` + mat1 + `"}`, readOnly: true, resources: []audit.Resource{keyResource(arn1)}},
		{op: "GenerateDataKey", req: `{"keyId":"` + key1 + `","keySpec":"AES_256"}`, resp: "null", data: `{"keyMaterialId":"` + mat1 + `"}`, readOnly: true, resources: []audit.Resource{keyResource(arn1)}},
		{op: "ReEncrypt", req: `{"destinationKeyId":"` + arn2 + `","sourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT","destinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT","sourceEncryptionContext":{"Department":"Engineering"}}`,
			resp: "null", data: `{"destinationKeyMaterialId":"` + *k2.KeyMetadata.CurrentKeyMaterialId + `","sourceKeyMaterialId":"` + mat1 + `"}`, readOnly: true,
			resources: []audit.Resource{keyResource(arn1), keyResource(arn2)}},
		{op: "GenerateRandom", req: "null", resp: "null", data: "null", readOnly: true},
		{op: "CreateAlias", req: `{"aliasName":"alias/ExampleAlias","targetKeyId":"` + key1 + `"}`, resp: `{"keyId":"` + arn1 + `"}`, data: "null",
			resources: []audit.Resource{keyResource(arn1), keyResource(aliasARN)}},
		{op: "UpdateAlias", req: `{"aliasName":"alias/ExampleAlias","targetKeyId":"` + arn2 + `"}`, resp: `{"keyId":"` + arn2 + `"}`, data: "null",
			resources: []audit.Resource{keyResource(aliasARN), keyResource(arn2)}},
		{op: "DeleteAlias", req: `{"aliasName":"alias/ExampleAlias"}`, resp: `{"keyId":"` + arn2 + `"}`, data: "null",
			resources: []audit.Resource{keyResource(aliasARN), keyResource(arn2)}},
		{op: "DisableKey", req: `{"keyId":"` + key1 + `"}`, resp: `{"keyId":"` + arn1 + `"}`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "EnableKey", req: `{"keyId":"` + key1 + `"}`, resp: `{"keyId":"` + arn1 + `"}`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "EnableKeyRotation", req: `{"keyId":"` + key1 + `"}`, resp: `{"keyId":"` + arn1 + `"}`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "DisableKeyRotation", req: `{"keyId":"` + key1 + `"}`, resp: "null", data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "TagResource", req: `{"keyId":"` + key1 + `","tags":[{"tagKey":"k","tagValue":"v"}]}`, resp: `{"keyId":"` + arn1 + `"}`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "CreateGrant", req: skip, resp: `{"grantId":"` + *grant.GrantId + `","keyId":"` + arn1 + `"}`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "RetireGrant", req: "null", resp: "null", data: `{"grantId":"` + *grant.GrantId + `"}`, resources: []audit.Resource{keyResource(arn1)}},
		{op: "GetKeyPolicy", req: `{"keyId":"` + key1 + `","policyName":"default"}`, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(arn1)}},
		{op: "GetKeyLastUsage", req: `{"keyId":"` + key1 + `"}`, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(arn1)}},
		{op: "ScheduleKeyDeletion", req: `{"keyId":"` + key1 + `","pendingWindowInDays":7}`,
			resp: `/^\{"keyId":"` + regexp.QuoteMeta(arn1) + `","deletionDate":` + humanDate + `,"keyState":"PendingDeletion","pendingWindowInDays":7\}$/`, data: "null", resources: []audit.Resource{keyResource(arn1)}},
		{op: "CreateKey", req: `{"description":"","keyUsage":"SIGN_VERIFY","keySpec":"ECC_NIST_P256","customerMasterKeySpec":"ECC_NIST_P256","origin":"AWS_KMS","bypassPolicyLockoutSafetyCheck":false}`,
			resp: skip, data: "null", resources: []audit.Resource{keyResource(*sk.KeyMetadata.Arn)}},
		{op: "Sign", req: `{"keyId":"` + *sk.KeyMetadata.KeyId + `","signingAlgorithm":"ECDSA_SHA_256","messageType":"RAW"}`, resp: "null", data: "null", readOnly: true,
			resources: []audit.Resource{keyResource(*sk.KeyMetadata.Arn)}},
	}
	checkRecords(t, e.dataDir, ids, tests)
}

// requestIDs collects the request IDs of SDK calls, in order.
type requestIDs []string

func (ids *requestIDs) add(m middleware.Metadata) {
	r, _ := awsmiddleware.GetRequestIDMetadata(m)
	*ids = append(*ids, r)
}

// keyResource is the resources entry for arn, a key's or an alias's: AWS
// KMS types both AWS::KMS::Key.
func keyResource(arn string) audit.Resource {
	return audit.Resource{AccountID: testAccount, Type: audit.ResourceTypeKey, ARN: arn}
}

// skip is a recordCase value that is not checked.
const skip = ""

// recordCase is what the AWS KMS developer guide's example shows for one
// request's record.
type recordCase struct {
	op              string
	req, resp, data string // exact JSON, or null; resp and data may be a regexp in /.../
	readOnly        bool
	resources       []audit.Resource
}

// checkRecords checks the record of each request in ids, in the trail of
// the stopped server in dataDir, against the case at the same index.
func checkRecords(t *testing.T, dataDir string, ids requestIDs, tests []recordCase) {
	t.Helper()
	byID := map[string]*audit.Event{}
	for _, ev := range trail(t, dataDir) {
		byID[ev.RequestID] = ev
	}
	if len(tests) != len(ids) {
		t.Fatalf("%d cases for %d requests", len(tests), len(ids))
	}
	match := func(what, got, want string) {
		t.Helper()
		switch {
		case want == skip:
		case len(want) > 1 && want[0] == '/' && want[len(want)-1] == '/':
			if !regexp.MustCompile(want[1 : len(want)-1]).MatchString(got) {
				t.Errorf("%s = %s, want a match of %s", what, got, want)
			}
		case got != want:
			t.Errorf("%s =\n %s\nwant\n %s", what, got, want)
		}
	}
	for i, tt := range tests {
		ev := byID[ids[i]]
		if ev == nil || ev.EventName != tt.op || ev.ErrorCode != "" {
			t.Errorf("request %d (%s): record %+v", i, tt.op, ev)
			continue
		}
		match(tt.op+" requestParameters", string(orNull(ev.RequestParameters)), tt.req)
		match(tt.op+" responseElements", string(orNull(ev.ResponseElements)), tt.resp)
		match(tt.op+" additionalEventData", string(orNull(ev.AdditionalEventData)), tt.data)
		if ev.ReadOnly != tt.readOnly {
			t.Errorf("%s readOnly = %v, want %v", tt.op, ev.ReadOnly, tt.readOnly)
		}
		if !slices.Equal(ev.Resources, tt.resources) {
			t.Errorf("%s resources = %+v, want %+v", tt.op, ev.Resources, tt.resources)
		}
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// TestAuditRecordsOfMoreOperations is TestAuditRecordsAsAWSLogsThem for the
// other operations the developer guide has an example entry for: the
// remaining data key, signing and MAC operations, listings, policy,
// rotation, grant, tag, deletion and import management.
func TestAuditRecordsOfMoreOperations(t *testing.T) {
	e := start(t, "")
	c := e.kms
	var ids requestIDs
	id := ids.add
	quote := func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	k := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	id(k.ResultMetadata)
	key, arn, mat := *k.KeyMetadata.KeyId, *k.KeyMetadata.Arn, *k.KeyMetadata.CurrentKeyMaterialId
	ec := map[string]string{"Project": "Alpha"}
	id(must[*kms.DescribeKeyOutput](t)(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &key})).ResultMetadata)
	id(must[*kms.ListAliasesOutput](t)(c.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(5)})).ResultMetadata)
	id(must[*kms.GenerateDataKeyWithoutPlaintextOutput](t)(c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: &key, KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: ec})).ResultMetadata)
	id(must[*kms.GenerateDataKeyPairOutput](t)(c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{
		KeyId: &key, KeyPairSpec: kmstypes.DataKeyPairSpecEccNistP256, EncryptionContext: ec})).ResultMetadata)
	id(must[*kms.GenerateDataKeyPairWithoutPlaintextOutput](t)(c.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{
		KeyId: &key, KeyPairSpec: kmstypes.DataKeyPairSpecEccNistP256, EncryptionContext: map[string]string{"Index": "5"}})).ResultMetadata)
	id(must[*kms.UpdateKeyDescriptionOutput](t)(c.UpdateKeyDescription(ctx, &kms.UpdateKeyDescriptionInput{KeyId: &key, Description: aws.String("New key description")})).ResultMetadata)
	id(must[*kms.GetKeyRotationStatusOutput](t)(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: &key})).ResultMetadata)
	id(must[*kms.ListKeyRotationsOutput](t)(c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: &key, IncludeKeyMaterial: kmstypes.IncludeKeyMaterialAllKeyMaterial})).ResultMetadata)
	grant := must[*kms.CreateGrantOutput](t)(c.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: &key, GranteePrincipal: aws.String("arn:aws:iam::" + testAccount + ":root"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt}}))
	id(grant.ResultMetadata)
	id(must[*kms.ListGrantsOutput](t)(c.ListGrants(ctx, &kms.ListGrantsInput{KeyId: &key, Limit: aws.Int32(10)})).ResultMetadata)
	id(must[*kms.RevokeGrantOutput](t)(c.RevokeGrant(ctx, &kms.RevokeGrantInput{KeyId: &key, GrantId: grant.GrantId})).ResultMetadata)
	id(must[*kms.TagResourceOutput](t)(c.TagResource(ctx, &kms.TagResourceInput{KeyId: &key, Tags: []kmstypes.Tag{{TagKey: aws.String("Dept"), TagValue: aws.String("IT")}}})).ResultMetadata)
	id(must[*kms.UntagResourceOutput](t)(c.UntagResource(ctx, &kms.UntagResourceInput{KeyId: &arn, TagKeys: []string{"Dept"}})).ResultMetadata)
	gp := must[*kms.GetKeyPolicyOutput](t)(c.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &key}))
	id(gp.ResultMetadata)
	policy := *gp.Policy
	id(must[*kms.PutKeyPolicyOutput](t)(c.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &key, Policy: &policy})).ResultMetadata)
	id(must[*kms.ScheduleKeyDeletionOutput](t)(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &key})).ResultMetadata)
	id(must[*kms.CancelKeyDeletionOutput](t)(c.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: &key})).ResultMetadata)

	sk := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify}))
	id(sk.ResultMetadata)
	sig := must[*kms.SignOutput](t)(c.Sign(ctx, &kms.SignInput{KeyId: sk.KeyMetadata.KeyId, Message: []byte("m"), SigningAlgorithm: kmstypes.SigningAlgorithmSpecRsassaPkcs1V15Sha256}))
	id(sig.ResultMetadata)
	id(must[*kms.VerifyOutput](t)(c.Verify(ctx, &kms.VerifyInput{KeyId: sk.KeyMetadata.KeyId, Message: []byte("m"), Signature: sig.Signature,
		SigningAlgorithm: kmstypes.SigningAlgorithmSpecRsassaPkcs1V15Sha256})).ResultMetadata)

	hk := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecHmac512, KeyUsage: kmstypes.KeyUsageTypeGenerateVerifyMac}))
	id(hk.ResultMetadata)
	mac := must[*kms.GenerateMacOutput](t)(c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: hk.KeyMetadata.KeyId, Message: []byte("m"), MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha512}))
	id(mac.ResultMetadata)
	id(must[*kms.VerifyMacOutput](t)(c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: hk.KeyMetadata.Arn, Message: []byte("m"), Mac: mac.Mac,
		MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha512})).ResultMetadata)

	xk := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{Origin: kmstypes.OriginTypeExternal}))
	id(xk.ResultMetadata)
	xkey, xarn := *xk.KeyMetadata.KeyId, *xk.KeyMetadata.Arn
	params := must[*kms.GetParametersForImportOutput](t)(c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{
		KeyId: &xkey, WrappingAlgorithm: kmstypes.AlgorithmSpecRsaesOaepSha256, WrappingKeySpec: kmstypes.WrappingKeySpecRsa2048}))
	id(params.ResultMetadata)
	validTo := time.Now().Add(48 * time.Hour)
	imp := must[*kms.ImportKeyMaterialOutput](t)(c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: &xkey, ImportToken: params.ImportToken,
		EncryptedKeyMaterial: oaepWrap(t, params.PublicKey, repeat(7, 32)), ExpirationModel: kmstypes.ExpirationModelTypeKeyMaterialExpires, ValidTo: &validTo,
		ImportType: kmstypes.ImportTypeNewKeyMaterial, KeyMaterialDescription: aws.String("ExampleKeyMaterialA")}))
	id(imp.ResultMetadata)
	xmat := *imp.KeyMaterialId
	id(must[*kms.DeleteImportedKeyMaterialOutput](t)(c.DeleteImportedKeyMaterial(ctx, &kms.DeleteImportedKeyMaterialInput{KeyId: &xkey, KeyMaterialId: &xmat})).ResultMetadata)
	e.stop()

	humanDate := `"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M"`
	keyOnly := `{"keyId":"` + key + `"}`
	tests := []recordCase{
		{op: "CreateKey", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "DescribeKey", req: keyOnly, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		// ListAliases: AWS's example, of 2014, writes "resources": []; later
		// examples of operations without a key leave the field out.
		{op: "ListAliases", req: `{"limit":5}`, resp: "null", data: "null", readOnly: true},
		{op: "GenerateDataKeyWithoutPlaintext", req: `{"keyId":"` + key + `","keySpec":"AES_256","encryptionContext":{"Project":"Alpha"}}`, resp: "null",
			data: `{"keyMaterialId":"` + mat + `"}`, readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "GenerateDataKeyPair", req: `{"keyId":"` + key + `","keyPairSpec":"ECC_NIST_P256","encryptionContext":{"Project":"Alpha"}}`, resp: "null",
			data: `{"keyMaterialId":"` + mat + `"}`, readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "GenerateDataKeyPairWithoutPlaintext", req: `{"keyId":"` + key + `","keyPairSpec":"ECC_NIST_P256","encryptionContext":{"Index":"5"}}`, resp: "null",
			data: `{"keyMaterialId":"` + mat + `"}`, readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "UpdateKeyDescription", req: `{"keyId":"` + key + `","description":"New key description"}`, resp: "null", data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "GetKeyRotationStatus", req: keyOnly, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "ListKeyRotations", req: `{"keyId":"` + key + `","includeKeyMaterial":"ALL_KEY_MATERIAL"}`, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "CreateGrant", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "ListGrants", req: `{"keyId":"` + key + `","limit":10}`, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "RevokeGrant", req: `{"keyId":"` + key + `","grantId":"` + *grant.GrantId + `"}`, resp: "null", data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "TagResource", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "UntagResource", req: `{"keyId":"` + arn + `","tagKeys":["Dept"]}`, resp: `{"keyId":"` + arn + `"}`, data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "GetKeyPolicy", req: skip, resp: skip, data: skip, readOnly: true, resources: []audit.Resource{keyResource(arn)}},
		{op: "PutKeyPolicy", req: `{"keyId":"` + key + `","policyName":"default","policy":` + quote(policy) + `,"bypassPolicyLockoutSafetyCheck":false}`,
			resp: "null", data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "ScheduleKeyDeletion", req: `{"keyId":"` + key + `","pendingWindowInDays":30}`, resp: skip, data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "CancelKeyDeletion", req: keyOnly, resp: `{"keyId":"` + arn + `"}`, data: "null", resources: []audit.Resource{keyResource(arn)}},
		{op: "CreateKey", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(*sk.KeyMetadata.Arn)}},
		{op: "Sign", req: skip, resp: "null", data: "null", readOnly: true, resources: []audit.Resource{keyResource(*sk.KeyMetadata.Arn)}},
		{op: "Verify", req: `{"keyId":"` + *sk.KeyMetadata.KeyId + `","signingAlgorithm":"RSASSA_PKCS1_V1_5_SHA_256","messageType":"RAW"}`, resp: "null", data: "null",
			readOnly: true, resources: []audit.Resource{keyResource(*sk.KeyMetadata.Arn)}},
		{op: "CreateKey", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(*hk.KeyMetadata.Arn)}},
		{op: "GenerateMac", req: `{"keyId":"` + *hk.KeyMetadata.KeyId + `","macAlgorithm":"HMAC_SHA_512"}`, resp: "null", data: "null",
			readOnly: true, resources: []audit.Resource{keyResource(*hk.KeyMetadata.Arn)}},
		{op: "VerifyMac", req: `{"keyId":"` + *hk.KeyMetadata.Arn + `","macAlgorithm":"HMAC_SHA_512"}`, resp: "null", data: "null",
			readOnly: true, resources: []audit.Resource{keyResource(*hk.KeyMetadata.Arn)}},
		{op: "CreateKey", req: skip, resp: skip, data: "null", resources: []audit.Resource{keyResource(xarn)}},
		{op: "GetParametersForImport", req: `{"keyId":"` + xkey + `","wrappingAlgorithm":"RSAES_OAEP_SHA_256","wrappingKeySpec":"RSA_2048"}`, resp: "null", data: "null",
			readOnly: true, resources: []audit.Resource{keyResource(xarn)}},
		{op: "ImportKeyMaterial",
			req:  `/^\{"keyId":"` + xkey + `","validTo":` + humanDate + `,"expirationModel":"KEY_MATERIAL_EXPIRES","importType":"NEW_KEY_MATERIAL","keyMaterialDescription":"ExampleKeyMaterialA"\}$/`,
			resp: `{"keyId":"` + xarn + `","keyMaterialId":"` + xmat + `"}`, data: "null", resources: []audit.Resource{keyResource(xarn)}},
		{op: "DeleteImportedKeyMaterial", req: `{"keyId":"` + xkey + `","keyMaterialId":"` + xmat + `"}`, resp: `{"keyId":"` + xarn + `","keyMaterialId":"` + xmat + `"}`,
			data: "null", resources: []audit.Resource{keyResource(xarn)}},
	}
	checkRecords(t, e.dataDir, ids, tests)
}
