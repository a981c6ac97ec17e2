package awsapi

import (
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/kms"
)

// keyIDResponse lists the operations whose record carries the affected
// key's ARN in responseElements.keyId, though the operation returns none:
// AWS KMS has logged it since December 2022 (developer guide, "Logging AWS
// KMS API calls with AWS CloudTrail").
var keyIDResponse = map[string]bool{
	"CreateAlias": true, "CreateGrant": true, "DeleteAlias": true, "DisableKey": true, "EnableKey": true,
	"EnableKeyRotation": true, "ImportKeyMaterial": true, "TagResource": true, "UntagResource": true, "UpdateAlias": true,
}

// auditFacts is what kms.Facts answers to: a response that tells its
// record more than its wire form does.
type auditFacts interface{ AuditFacts() *kms.Facts }

// addFacts adds to the record of a KMS request that succeeded what AWS KMS
// logs beyond the request and the response, as its developer guide shows
// in the example of each operation: the key material a cryptographic
// operation used and the grant RetireGrant retired (additionalEventData),
// the alias and the key of an alias operation (resources), and the
// affected key's ARN (responseElements, keyIDResponse).
func (h *Handler) addFacts(ev *audit.Event, op string, result any, body []byte) {
	var facts kms.Facts
	if f, ok := result.(auditFacts); ok {
		facts = *f.AuditFacts()
	}

	// AWS logs a key material ID only for symmetric encryption keys, as
	// the operations return one only for them.
	const sym = "SYMMETRIC_DEFAULT"
	var data [][2]string
	switch r := result.(type) {
	case *kms.EncryptResponse:
		if r.EncryptionAlgorithm == sym {
			data = append(data, [2]string{"keyMaterialId", facts.KeyMaterialID})
		}
	case *kms.DecryptResponse:
		if r.EncryptionAlgorithm == sym {
			data = append(data, [2]string{"keyMaterialId", r.KeyMaterialId})
		}
	case *kms.GenerateDataKeyResponse:
		data = append(data, [2]string{"keyMaterialId", r.KeyMaterialId})
	case *kms.GenerateDataKeyPairResponse:
		data = append(data, [2]string{"keyMaterialId", r.KeyMaterialId})
	case *kms.ReEncryptResponse:
		if r.DestinationEncryptionAlgorithm == sym {
			data = append(data, [2]string{"destinationKeyMaterialId", r.DestinationKeyMaterialId})
		}
		if r.SourceEncryptionAlgorithm == sym {
			data = append(data, [2]string{"sourceKeyMaterialId", r.SourceKeyMaterialId})
		}
	}
	if facts.GrantID != "" {
		data = append(data, [2]string{"grantId", facts.GrantID})
	}
	if len(data) > 0 {
		ev.AdditionalEventData = stringObject(make([]byte, 0, 128), data)
	}

	if facts.KeyARN != "" {
		key := audit.Resource{AccountID: arn.Account(facts.KeyARN), Type: audit.ResourceTypeKey, ARN: facts.KeyARN}
		switch op {
		case "CreateAlias", "UpdateAlias", "DeleteAlias":
			// The alias too, typed as a key as AWS types it: after the
			// key for CreateAlias, before it otherwise, as AWS's
			// examples list them.
			name := jsonString(member(body, "AliasName"))
			alias := audit.Resource{AccountID: ev.RecipientAccountID, Type: audit.ResourceTypeKey, ARN: keys.AliasARN(h.aud.region, ev.RecipientAccountID, name)}
			if op == "CreateAlias" {
				ev.Resources = append(ev.Resources[:0], key, alias)
			} else {
				ev.Resources = append(ev.Resources[:0], alias, key)
			}
		default:
			ev.Resources = append(ev.Resources[:0], key)
		}
	}
	if keyIDResponse[op] && len(member(ev.ResponseElements, "keyId")) == 0 {
		for _, r := range ev.Resources {
			if strings.Contains(r.ARN, ":key/") {
				ev.ResponseElements = addKeyID(ev.ResponseElements, r.ARN)
				break
			}
		}
	}
}

// addKeyID returns the JSON object elems (or a new one, for nil) with a
// last member "keyId": keyARN.
func addKeyID(elems []byte, keyARN string) []byte {
	if len(elems) < 2 {
		return stringObject(nil, [][2]string{{"keyId", keyARN}})
	}
	b := append([]byte(nil), elems[:len(elems)-1]...)
	b = append(b, `,"keyId":`...)
	b = appendQuoted(b, keyARN)
	return append(b, '}')
}

// stringObject appends a JSON object of the members with a value, or
// returns b unchanged (nil for nil) when none has one.
func stringObject(b []byte, members [][2]string) []byte {
	n := 0
	for _, m := range members {
		if m[1] == "" {
			continue
		}
		if n == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		n++
		b = appendQuoted(b, m[0])
		b = append(b, ':')
		b = appendQuoted(b, m[1])
	}
	if n == 0 {
		return b
	}
	return append(b, '}')
}

// appendQuoted appends s as a JSON string. It is on every cryptographic
// request's path, where encoding/json cost a dozen allocations a record.
func appendQuoted(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\ufffd")
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
