package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// errBody decodes an AWS JSON error body.
func errBody(t *testing.T, body string) (typ, msg string, hasMsg bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	typ, _ = m["__type"].(string)
	msg, hasMsg = m["message"].(string)
	return typ, msg, hasMsg
}

func TestProtocolErrors(t *testing.T) {
	e := start(t, "")
	keyID := *must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	cases := []struct {
		name, target, body string
		status             int
		typ, msgPart       string
	}{
		{"unknown target", "TrentService.Frobnicate", `{}`, 400, "UnknownOperationException", ""},
		{"foreign service", "DynamoDB_20120810.ListTables", `{}`, 400, "UnknownOperationException", ""},
		{"unsupported", "TrentService.ReplicateKey", `{}`, 400, "UnsupportedOperationException", "ReplicateKey"},
		{"malformed JSON", "TrentService.DescribeKey", `{"KeyId":`, 400, "SerializationException", ""},
		{"not an object", "TrentService.DescribeKey", `[1,2]`, 400, "SerializationException", ""},
		{"wrong type", "TrentService.DescribeKey", `{"KeyId":5}`, 400, "SerializationException", "KeyId"},
		{"bad base64", "TrentService.Encrypt", `{"KeyId":"` + keyID + `","Plaintext":"***"}`, 400, "SerializationException", "Plaintext"},
		{"duplicate member", "TrentService.DescribeKey", `{"KeyId":"alias/a","KeyId":"` + keyID + `"}`, 400, "SerializationException", "Duplicate member name"},
		{"nested duplicate", "TrentService.Encrypt", `{"KeyId":"` + keyID + `","Plaintext":"aGk=","EncryptionContext":{"a":"1","a":"2"}}`, 400, "SerializationException", "Duplicate"},
		{"invalid UTF-8", "TrentService.DescribeKey", "{\"KeyId\":\"\xff\"}", 400, "SerializationException", ""},
		{"missing required", "TrentService.DescribeKey", `{}`, 400, "ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"},
		{"two violations", "TrentService.ListKeys", `{"Limit":0,"Marker":""}`, 400, "ValidationException", "2 validation errors detected: "},
		{"internal never", "TrentService.ListKeys", `{}`, 200, "", ""},
	}
	for _, c := range cases {
		status, body := e.raw(c.target, c.body, nil)
		if status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, status, c.status, body)
			continue
		}
		if c.typ == "" {
			continue
		}
		typ, msg, _ := errBody(t, body)
		if typ != c.typ || !strings.Contains(msg, c.msgPart) {
			t.Errorf("%s: %s %q, want %s containing %q", c.name, typ, msg, c.typ, c.msgPart)
		}
	}
	// Nothing refused above changed anything.
	l := must[*kms.ListKeysOutput](t)(e.kms.ListKeys(ctx, &kms.ListKeysInput{}))
	if len(l.Keys) != 1 {
		t.Errorf("ListKeys after refusals = %d keys, want 1", len(l.Keys))
	}

	// A body over the cap is refused before it is parsed.
	status, body := e.raw("TrentService.Encrypt", `{"KeyId":"`+keyID+`","Plaintext":"`+strings.Repeat("A", 100<<10)+`"}`, nil)
	if typ, _, _ := errBody(t, body); status != 400 || typ != "SerializationException" {
		t.Errorf("oversized body: %d %s", status, body)
	}
	// InvalidCiphertextException has no message member at all, as in AWS.
	status, body = e.raw("TrentService.Decrypt", `{"CiphertextBlob":"AAAAAAAAAAAAAAAA"}`, nil)
	if typ, _, hasMsg := errBody(t, body); status != 400 || typ != "InvalidCiphertextException" || hasMsg {
		t.Errorf("Decrypt(garbage) = %d %s", status, body)
	}
}

func TestAuthentication(t *testing.T) {
	e := start(t, "")
	const target = "TrentService.ListKeys"
	now := time.Now()
	cases := []struct {
		name                 string
		akid, secret, region string
		service              string
		when                 time.Time
		mutate               func(*http.Request)
		status               int
		typ, msgPart         string
	}{
		{"valid", e.akid, e.secret, testRegion, "kms", now, nil, 200, "", ""},
		{"unsigned", "", "", "", "", now, nil, 400, "MissingAuthenticationTokenException", ""},
		{"unknown key", "AKIAIOSFODNN7EXAMPLE", e.secret, testRegion, "kms", now, nil, 400, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"wrong secret", e.akid, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", testRegion, "kms", now, nil, 400, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"wrong region", e.akid, e.secret, "eu-west-1", "kms", now, nil, 400, "InvalidSignatureException", "eu-west-1"},
		{"wrong service", e.akid, e.secret, testRegion, "s3", now, nil, 400, "InvalidSignatureException", "kms"},
		{"expired", e.akid, e.secret, testRegion, "kms", now.Add(-6 * time.Minute), nil, 400, "InvalidSignatureException", "Signature expired"},
		{"future", e.akid, e.secret, testRegion, "kms", now.Add(6 * time.Minute), nil, 400, "InvalidSignatureException", ""},
		{"body changed", e.akid, e.secret, testRegion, "kms", now, func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 0
		}, 400, "InvalidSignatureException", ""},
		{"target changed", e.akid, e.secret, testRegion, "kms", now, func(r *http.Request) {
			r.Header.Set("X-Amz-Target", "TrentService.ListAliases")
		}, 400, "InvalidSignatureException", ""},
		{"signature flipped", e.akid, e.secret, testRegion, "kms", now, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(flip))
		}, 400, "InvalidSignatureException", ""},
		{"no signature", e.akid, e.secret, testRegion, "kms", now, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, 400, "IncompleteSignatureException", ""},
	}
	for _, c := range cases {
		status, body := rawSigned(t, e.url, target, `{}`, c.akid, c.secret, c.region, c.service, c.when, c.mutate)
		if status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, status, c.status, body)
			continue
		}
		if c.typ == "" {
			continue
		}
		typ, msg, _ := errBody(t, body)
		if typ != c.typ || !strings.Contains(msg, c.msgPart) {
			t.Errorf("%s: %s %q, want %s containing %q", c.name, typ, msg, c.typ, c.msgPart)
		}
		if strings.Contains(body, e.secret) {
			t.Errorf("%s: error body contains the secret", c.name)
		}
	}

	// The SDK with a wrong secret gets the same.
	bad := newClient(e.url, e.akid, "wrong", testRegion)
	_, err := bad.ListKeys(ctx, &kms.ListKeysInput{})
	wantErr(t, err, "InvalidSignatureException", "")
	// And a client configured for another region is refused.
	other := newClient(e.url, e.akid, e.secret, "eu-west-1")
	_, err = other.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1)})
	wantErr(t, err, "InvalidSignatureException", "")

	// The health check needs no signature.
	resp, err := http.Get(e.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %v, %v", resp, err)
	}
	resp.Body.Close()
}
