package awsapi

import (
	"context"
	"time"

	"github.com/keyward/keyward/internal/kms"
)

// route is one KMS operation: how to decode its request, call the core, and
// how much body and time it may take. The table is static; there is no
// reflection-based dispatch.
type route struct {
	call      func(s *kms.Service, ctx context.Context, c *kms.Caller, body []byte) (any, error)
	bodyLimit int64
	timeout   time.Duration
	// readOnly is the audit record's: true for what changes no key, the
	// cryptographic operations included, as AWS KMS logs them.
	readOnly bool
}

const (
	smallBody   = 64 << 10  // every KMS request but those carrying a key policy
	policyBody  = 512 << 10 // a 32 KiB policy document, JSON-escaped, with room to spare
	opTimeout   = 10 * time.Second
	listTimeout = 30 * time.Second
)

// op adapts a typed core method to the route table.
func op[Req, Resp any](m func(*kms.Service, context.Context, *kms.Caller, *Req) (*Resp, error)) func(*kms.Service, context.Context, *kms.Caller, []byte) (any, error) {
	return func(s *kms.Service, ctx context.Context, c *kms.Caller, body []byte) (any, error) {
		var req Req
		if err := decode(body, &req); err != nil {
			return nil, err
		}
		resp, err := m(s, ctx, c, &req)
		if err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// routes maps the operation of "X-Amz-Target: TrentService.<Operation>".
var routes = map[string]route{
	"CreateKey":                           {call: op((*kms.Service).CreateKey), bodyLimit: policyBody, timeout: opTimeout},
	"DescribeKey":                         {call: op((*kms.Service).DescribeKey), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"ListKeys":                            {call: op((*kms.Service).ListKeys), bodyLimit: smallBody, timeout: listTimeout, readOnly: true},
	"EnableKey":                           {call: op((*kms.Service).EnableKey), bodyLimit: smallBody, timeout: opTimeout},
	"DisableKey":                          {call: op((*kms.Service).DisableKey), bodyLimit: smallBody, timeout: opTimeout},
	"UpdateKeyDescription":                {call: op((*kms.Service).UpdateKeyDescription), bodyLimit: smallBody, timeout: opTimeout},
	"CreateAlias":                         {call: op((*kms.Service).CreateAlias), bodyLimit: smallBody, timeout: opTimeout},
	"UpdateAlias":                         {call: op((*kms.Service).UpdateAlias), bodyLimit: smallBody, timeout: opTimeout},
	"DeleteAlias":                         {call: op((*kms.Service).DeleteAlias), bodyLimit: smallBody, timeout: opTimeout},
	"ListAliases":                         {call: op((*kms.Service).ListAliases), bodyLimit: smallBody, timeout: listTimeout, readOnly: true},
	"TagResource":                         {call: op((*kms.Service).TagResource), bodyLimit: smallBody, timeout: opTimeout},
	"UntagResource":                       {call: op((*kms.Service).UntagResource), bodyLimit: smallBody, timeout: opTimeout},
	"ListResourceTags":                    {call: op((*kms.Service).ListResourceTags), bodyLimit: smallBody, timeout: listTimeout, readOnly: true},
	"Encrypt":                             {call: op((*kms.Service).Encrypt), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"Decrypt":                             {call: op((*kms.Service).Decrypt), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"ReEncrypt":                           {call: op((*kms.Service).ReEncrypt), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GenerateDataKey":                     {call: op((*kms.Service).GenerateDataKey), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GenerateDataKeyWithoutPlaintext":     {call: op((*kms.Service).GenerateDataKeyWithoutPlaintext), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GenerateRandom":                      {call: op((*kms.Service).GenerateRandom), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"Sign":                                {call: op((*kms.Service).Sign), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"Verify":                              {call: op((*kms.Service).Verify), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GetPublicKey":                        {call: op((*kms.Service).GetPublicKey), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GenerateMac":                         {call: op((*kms.Service).GenerateMac), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"VerifyMac":                           {call: op((*kms.Service).VerifyMac), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GenerateDataKeyPair":                 {call: op((*kms.Service).GenerateDataKeyPair), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"GenerateDataKeyPairWithoutPlaintext": {call: op((*kms.Service).GenerateDataKeyPairWithoutPlaintext), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"DeriveSharedSecret":                  {call: op((*kms.Service).DeriveSharedSecret), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"Encapsulate":                         {call: op((*kms.Service).Encapsulate), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"Decapsulate":                         {call: op((*kms.Service).Decapsulate), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"PutKeyPolicy":                        {call: op((*kms.Service).PutKeyPolicy), bodyLimit: policyBody, timeout: opTimeout},
	"GetKeyPolicy":                        {call: op((*kms.Service).GetKeyPolicy), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"ListKeyPolicies":                     {call: op((*kms.Service).ListKeyPolicies), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"CreateGrant":                         {call: op((*kms.Service).CreateGrant), bodyLimit: smallBody, timeout: opTimeout},
	"ListGrants":                          {call: op((*kms.Service).ListGrants), bodyLimit: smallBody, timeout: listTimeout, readOnly: true},
	"ListRetirableGrants":                 {call: op((*kms.Service).ListRetirableGrants), bodyLimit: smallBody, timeout: listTimeout, readOnly: true},
	"RetireGrant":                         {call: op((*kms.Service).RetireGrant), bodyLimit: smallBody, timeout: opTimeout},
	"RevokeGrant":                         {call: op((*kms.Service).RevokeGrant), bodyLimit: smallBody, timeout: opTimeout},
	"EnableKeyRotation":                   {call: op((*kms.Service).EnableKeyRotation), bodyLimit: smallBody, timeout: opTimeout},
	"DisableKeyRotation":                  {call: op((*kms.Service).DisableKeyRotation), bodyLimit: smallBody, timeout: opTimeout},
	"GetKeyRotationStatus":                {call: op((*kms.Service).GetKeyRotationStatus), bodyLimit: smallBody, timeout: opTimeout, readOnly: true},
	"RotateKeyOnDemand":                   {call: op((*kms.Service).RotateKeyOnDemand), bodyLimit: smallBody, timeout: opTimeout},
	"ListKeyRotations":                    {call: op((*kms.Service).ListKeyRotations), bodyLimit: smallBody, timeout: listTimeout, readOnly: true},
	"ScheduleKeyDeletion":                 {call: op((*kms.Service).ScheduleKeyDeletion), bodyLimit: smallBody, timeout: opTimeout},
	"CancelKeyDeletion":                   {call: op((*kms.Service).CancelKeyDeletion), bodyLimit: smallBody, timeout: opTimeout},
	"GetParametersForImport":              {call: op((*kms.Service).GetParametersForImport), bodyLimit: smallBody, timeout: listTimeout, readOnly: true}, // RSA-4096 key generation can take seconds
	"ImportKeyMaterial":                   {call: op((*kms.Service).ImportKeyMaterial), bodyLimit: smallBody, timeout: opTimeout},
	"DeleteImportedKeyMaterial":           {call: op((*kms.Service).DeleteImportedKeyMaterial), bodyLimit: smallBody, timeout: opTimeout},
	"GetKeyLastUsage":                     {call: op((*kms.Service).GetKeyLastUsage), bodyLimit: smallBody, timeout: opTimeout, readOnly: true}, // answered from the audit trail
}

// knownOperations is every operation of the AWS KMS API. Those without a
// route answer UnsupportedOperationException; anything else is unknown.
var knownOperations = map[string]bool{
	"CancelKeyDeletion": true, "ConnectCustomKeyStore": true, "CreateAlias": true, "CreateCustomKeyStore": true,
	"CreateGrant": true, "CreateKey": true, "Decapsulate": true, "Decrypt": true, "DeleteAlias": true,
	"DeleteCustomKeyStore": true, "DeleteImportedKeyMaterial": true, "DeriveSharedSecret": true,
	"DescribeCustomKeyStores": true, "DescribeKey": true, "DisableKey": true, "DisableKeyRotation": true,
	"DisconnectCustomKeyStore": true, "EnableKey": true, "EnableKeyRotation": true, "Encapsulate": true,
	"Encrypt": true, "GenerateDataKey": true, "GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true,
	"GenerateDataKeyWithoutPlaintext": true, "GenerateMac": true, "GenerateRandom": true, "GetKeyLastUsage": true,
	"GetKeyPolicy": true, "GetKeyRotationStatus": true, "GetParametersForImport": true, "GetPublicKey": true,
	"ImportKeyMaterial": true, "ListAliases": true, "ListGrants": true, "ListKeyPolicies": true,
	"ListKeyRotations": true, "ListKeys": true, "ListResourceTags": true, "ListRetirableGrants": true,
	"PutKeyPolicy": true, "ReEncrypt": true, "ReplicateKey": true, "RetireGrant": true, "RevokeGrant": true,
	"RotateKeyOnDemand": true, "ScheduleKeyDeletion": true, "Sign": true, "TagResource": true,
	"UntagResource": true, "UpdateAlias": true, "UpdateCustomKeyStore": true, "UpdateKeyDescription": true,
	"UpdatePrimaryRegion": true, "Verify": true, "VerifyMac": true,
}
