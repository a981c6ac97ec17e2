package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownOperation is returned by RequestParameters and ResponseElements
// for an operation that has no list of loggable fields: add one here
// rather than log a body nobody has reviewed.
var ErrUnknownOperation = errors.New("audit: no loggable fields listed for operation")

// loggable lists, for each KMS operation, the request and response fields
// that may enter an audit record: those AWS KMS itself writes to
// CloudTrail. Everything else is dropped, so a field added to the API later
// stays out until someone reviews it. Never listed: Plaintext,
// CiphertextBlob, Message, Signature, Mac, GrantTokens, GrantToken,
// ImportToken, EncryptedKeyMaterial, PublicKey, PrivateKey*, Recipient,
// SharedSecret, SharedSecretCiphertextBlob and the CiphertextForRecipient of
// any response.
//
// A name ending in "*" is an object (or array of objects) whose own keys
// are renamed too; the values inside, such as an encryption context, are
// copied unchanged.
//
// def lists, in order, the values AWS KMS logs for request fields the
// caller left out (its examples show them, and the Decrypt page says so
// for encryptionAlgorithm): raw JSON, or "@Name" for the value of another
// field. Each applies only while the field is still missing.
var loggable = map[string]struct {
	req, resp []string
	def       [][2]string
}{
	"Encrypt":                             {req: []string{"KeyId", "EncryptionAlgorithm", "EncryptionContext", "DryRun"}, def: [][2]string{{"EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`}}},
	"Decrypt":                             {req: []string{"KeyId", "EncryptionAlgorithm", "EncryptionContext", "DryRun"}, def: [][2]string{{"EncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`}}},
	"ReEncrypt":                           {req: []string{"SourceKeyId", "DestinationKeyId", "SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm", "SourceEncryptionContext", "DestinationEncryptionContext", "DryRun"}, def: [][2]string{{"SourceEncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`}, {"DestinationEncryptionAlgorithm", `"SYMMETRIC_DEFAULT"`}}},
	"GenerateDataKey":                     {req: []string{"KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext", "DryRun"}},
	"GenerateDataKeyWithoutPlaintext":     {req: []string{"KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext", "DryRun"}},
	"GenerateDataKeyPair":                 {req: []string{"KeyId", "KeyPairSpec", "EncryptionContext", "DryRun"}},
	"GenerateDataKeyPairWithoutPlaintext": {req: []string{"KeyId", "KeyPairSpec", "EncryptionContext", "DryRun"}},
	"GenerateRandom":                      {}, // AWS logs requestParameters null
	"GenerateMac":                         {req: []string{"KeyId", "MacAlgorithm", "DryRun"}},
	"VerifyMac":                           {req: []string{"KeyId", "MacAlgorithm", "DryRun"}},
	"Sign":                                {req: []string{"KeyId", "SigningAlgorithm", "MessageType", "DryRun"}, def: [][2]string{{"MessageType", `"RAW"`}}},
	"Verify":                              {req: []string{"KeyId", "SigningAlgorithm", "MessageType", "DryRun"}, def: [][2]string{{"MessageType", `"RAW"`}}},
	"GetPublicKey":                        {req: []string{"KeyId"}},
	"DeriveSharedSecret":                  {req: []string{"KeyId", "KeyAgreementAlgorithm", "DryRun"}},
	"Encapsulate":                         {req: []string{"KeyId", "EncapsulationAlgorithm", "DryRun"}},
	"Decapsulate":                         {req: []string{"KeyId", "EncapsulationAlgorithm", "DryRun"}},
	"GetKeyLastUsage":                     {req: []string{"KeyId"}},

	"CreateKey": {req: []string{"Description", "KeyUsage", "KeySpec", "CustomerMasterKeySpec", "Origin", "Policy", "BypassPolicyLockoutSafetyCheck", "Tags*", "MultiRegion", "CustomKeyStoreId", "XksKeyId"}, resp: []string{"KeyMetadata*"},
		def: [][2]string{{"Description", `""`}, {"KeyUsage", `"ENCRYPT_DECRYPT"`}, {"KeySpec", "@CustomerMasterKeySpec"}, {"KeySpec", `"SYMMETRIC_DEFAULT"`},
			{"CustomerMasterKeySpec", "@KeySpec"}, {"Origin", `"AWS_KMS"`}, {"BypassPolicyLockoutSafetyCheck", "false"}}},
	"DescribeKey":          {req: []string{"KeyId"}},
	"ListKeys":             {req: []string{"Limit", "Marker"}},
	"EnableKey":            {req: []string{"KeyId"}},
	"DisableKey":           {req: []string{"KeyId"}},
	"ScheduleKeyDeletion":  {req: []string{"KeyId", "PendingWindowInDays"}, resp: []string{"KeyId", "DeletionDate", "KeyState", "PendingWindowInDays"}, def: [][2]string{{"PendingWindowInDays", "30"}}},
	"CancelKeyDeletion":    {req: []string{"KeyId"}, resp: []string{"KeyId"}},
	"UpdateKeyDescription": {req: []string{"KeyId", "Description"}},
	"EnableKeyRotation":    {req: []string{"KeyId", "RotationPeriodInDays"}},
	"DisableKeyRotation":   {req: []string{"KeyId"}},
	"GetKeyRotationStatus": {req: []string{"KeyId"}},
	"RotateKeyOnDemand":    {req: []string{"KeyId"}, resp: []string{"KeyId"}},
	"ListKeyRotations":     {req: []string{"KeyId", "IncludeKeyMaterial", "Limit", "Marker"}},
	"GetKeyPolicy":         {req: []string{"KeyId", "PolicyName"}, def: [][2]string{{"PolicyName", `"default"`}}},
	"PutKeyPolicy":         {req: []string{"KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck"}, def: [][2]string{{"PolicyName", `"default"`}, {"BypassPolicyLockoutSafetyCheck", "false"}}},
	"ListKeyPolicies":      {req: []string{"KeyId", "Limit", "Marker"}},

	"CreateAlias": {req: []string{"AliasName", "TargetKeyId"}},
	"UpdateAlias": {req: []string{"AliasName", "TargetKeyId"}},
	"DeleteAlias": {req: []string{"AliasName"}},
	"ListAliases": {req: []string{"KeyId", "Limit", "Marker"}},

	"TagResource":         {req: []string{"KeyId", "Tags*"}},
	"UntagResource":       {req: []string{"KeyId", "TagKeys"}},
	"ListResourceTags":    {req: []string{"KeyId", "Limit", "Marker"}},
	"CreateGrant":         {req: []string{"KeyId", "GranteePrincipal", "RetiringPrincipal", "Operations", "Constraints*", "Name", "DryRun"}, resp: []string{"GrantId"}},
	"RetireGrant":         {}, // AWS logs requestParameters null, and the grant ID in additionalEventData
	"RevokeGrant":         {req: []string{"KeyId", "GrantId", "DryRun"}},
	"ListGrants":          {req: []string{"KeyId", "GrantId", "GranteePrincipal", "Limit", "Marker"}},
	"ListRetirableGrants": {req: []string{"RetiringPrincipal", "Limit", "Marker"}},

	"GetParametersForImport":    {req: []string{"KeyId", "WrappingAlgorithm", "WrappingKeySpec"}},
	"ImportKeyMaterial":         {req: []string{"KeyId", "ValidTo", "ExpirationModel", "ImportType", "KeyMaterialDescription", "KeyMaterialId"}, resp: []string{"KeyId", "KeyMaterialId"}},
	"DeleteImportedKeyMaterial": {req: []string{"KeyId", "KeyMaterialId"}, resp: []string{"KeyId", "KeyMaterialId"}},
}

// RequestParameters returns the requestParameters element for a request to
// the KMS operation op, given its JSON body in the KMS wire format. It keeps
// only the fields AWS KMS logs for op (see loggable), renamed to
// CloudTrail's camelCase; it returns nil, written as null, when none is
// present. Field names match case-insensitively and the last duplicate
// wins, as with encoding/json. It is safe for concurrent use.
func RequestParameters(op string, body []byte) (json.RawMessage, error) {
	f, ok := loggable[op]
	if !ok {
		return nil, ErrUnknownOperation
	}
	return pick(body, f.req, f.def)
}

// ResponseElements is RequestParameters for the response body of op. For
// most operations, Encrypt, Decrypt and GenerateDataKey among them, AWS
// KMS logs no response element at all, and neither does this.
func ResponseElements(op string, body []byte) (json.RawMessage, error) {
	f, ok := loggable[op]
	if !ok {
		return nil, ErrUnknownOperation
	}
	return pick(body, f.resp, nil)
}

func pick(body []byte, fields []string, def [][2]string) (json.RawMessage, error) {
	if len(fields) == 0 || len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	// Find each listed field, matching names exactly (case-sensitively),
	// as the server's request decoder does: a member "keyid" is not the
	// KeyId the operation acted on, so logging it would let a request
	// show the trail a different key from the one it used. The decoder
	// refuses duplicate names, so there is only one occurrence.
	var found [16][]byte // values, indexed like fields
	err := members(body, func(key, value []byte) {
		for i, f := range fields {
			if string(key) == strings.TrimSuffix(f, "*") {
				found[i] = value
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, d := range def {
		i := slices.Index(fields, d[0])
		if found[i] != nil {
			continue
		}
		if from, ok := strings.CutPrefix(d[1], "@"); ok {
			found[i] = found[slices.Index(fields, from)]
		} else {
			found[i] = []byte(d[1])
		}
	}
	var b []byte
	for i, name := range fields {
		v := found[i]
		if v == nil {
			continue
		}
		name, nested := strings.CutSuffix(name, "*")
		if b == nil {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = appendString(b, camel(name))
		b = append(b, ':')
		if nested {
			if v, err = renameKeys(v); err != nil {
				return nil, err
			}
		} else {
			v = humanDate(camel(name), v)
		}
		if b, err = appendCompact(b, v); err != nil {
			return nil, err
		}
	}
	if b == nil {
		return nil, nil
	}
	return append(b, '}'), nil
}

var errNotObject = errors.New("audit: body is not a valid JSON object")

// appendCompact appends the JSON value v, validated and without insignificant
// whitespace.
func appendCompact(b, v []byte) ([]byte, error) {
	if !bytes.ContainsAny(v, " \t\r\n") {
		if !json.Valid(v) {
			return nil, errNotObject
		}
		return append(b, v...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, v); err != nil {
		return nil, errNotObject
	}
	return buf.Bytes(), nil
}

// members calls fn with the key and raw value of each member of the JSON
// object body, without decoding or validating the values: a request's
// Plaintext is skipped over, never examined. A key with escapes is
// unescaped. Values are validated only by whoever keeps them.
// Member returns the raw value of the top-level member name of the JSON
// object body (matched exactly, after unescaping), or nil. The HTTP layer
// uses it to find key ids in the bodies it audits.
func Member(body []byte, name string) []byte {
	var v []byte
	members(body, func(key, value []byte) {
		if string(key) == name {
			v = value
		}
	})
	return v
}

// Members calls fn with the key and the raw value of each top-level member
// of the JSON object body, values undecoded; it fails if body is not an
// object. With ScanAfter it reads a few fields of each record at a
// fraction of what decoding the whole Event costs.
func Members(body []byte, fn func(key, value []byte)) error { return members(body, fn) }

func members(body []byte, fn func(key, value []byte)) error {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return errNotObject
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			if i >= len(body) || body[i] != '"' {
				return errNotObject
			}
			end := stringEnd(body, i)
			if end < 0 {
				return errNotObject
			}
			key := body[i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				var s string
				if json.Unmarshal(body[i:end], &s) != nil {
					return errNotObject
				}
				key = []byte(s)
			}
			i = skipSpace(body, end)
			if i >= len(body) || body[i] != ':' {
				return errNotObject
			}
			i = skipSpace(body, i+1)
			end = valueEnd(body, i)
			if end < 0 {
				return errNotObject
			}
			fn(key, body[i:end])
			i = skipSpace(body, end)
			if i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
				continue
			}
			if i < len(body) && body[i] == '}' {
				i++
				break
			}
			return errNotObject
		}
	}
	if skipSpace(body, i) != len(body) {
		return errNotObject
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index after the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = stringEnd(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && strings.IndexByte(",}] \t\r\n", b[j]) < 0 {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// renameKeys renames the keys of an object, or of each object in an array,
// to camelCase, leaving the values alone.
func renameKeys(v json.RawMessage) (json.RawMessage, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err == nil {
		for i := range list {
			var err error
			if list[i], err = renameKeys(list[i]); err != nil {
				return nil, err
			}
		}
		return json.Marshal(list)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return v, nil // a scalar: nothing to rename
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, x := range obj {
		out[camel(k)] = humanDate(camel(k), x)
	}
	return json.Marshal(out)
}

// humanDate returns v, or, for a date field (seconds since the epoch on
// the wire), the date as AWS KMS writes it inside requestParameters and
// responseElements: "Aug 10, 2022, 10:38:27 PM", in UTC. Only eventTime
// is ISO 8601.
func humanDate(name string, v []byte) []byte {
	switch name {
	case "creationDate", "deletionDate", "validTo":
	default:
		return v
	}
	sec, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(sec, 0) || math.Abs(sec) > 1e11 {
		return v
	}
	t := time.Unix(int64(sec), 0).UTC()
	return appendString(nil, t.Format("Jan 2, 2006, 3:04:05 PM"))
}

// camel turns a KMS wire name into CloudTrail's: KeyId becomes keyId, while
// AWSAccountId stays as CloudTrail writes it.
func camel(s string) string {
	if s == "" || strings.HasPrefix(s, "AWS") || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
