package audit

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEventJSON(t *testing.T) {
	at := time.Date(2025, 5, 20, 20, 46, 16, 999, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		ev   Event
		want string
	}{{
		// The Encrypt example of the AWS KMS developer guide.
		name: "Encrypt",
		ev: Event{
			EventVersion: "1.11",
			UserIdentity: UserIdentity{
				Type: "IAMUser", PrincipalID: "EX_PRINCIPAL_ID", ARN: "arn:aws:iam::111122223333:user/Alice",
				AccountID: "111122223333", AccessKeyID: "EXAMPLE_KEY_ID", UserName: "Alice",
			},
			EventTime: at, EventSource: "kms.amazonaws.com", EventName: "Encrypt", AWSRegion: "us-east-1",
			SourceIPAddress: "192.0.2.0", UserAgent: "AWS Internal",
			RequestParameters:   json.RawMessage(`{"encryptionContext":{"Department":"Engineering"},"keyId":"` + testKeyARN + `","encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`),
			AdditionalEventData: json.RawMessage(`{"keyMaterialId":"0123"}`),
			RequestID:           "f3423043-63bc-11e4-bc2b-4198b6150d5c", EventID: "91235988-eb87-476a-ac2c-0cdc244e6dca",
			ReadOnly: true, Resources: []Resource{{AccountID: "111122223333", Type: ResourceTypeKey, ARN: testKeyARN}},
			EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: "111122223333", EventCategory: "Management",
			TLSDetails: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_256_GCM_SHA384", ClientProvidedHostHeader: "kms.us-east-1.amazonaws.com"},
		},
		want: `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"},` +
			`"eventTime":"2025-05-20T19:46:16Z","eventSource":"kms.amazonaws.com","eventName":"Encrypt","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","userAgent":"AWS Internal",` +
			`"requestParameters":{"encryptionContext":{"Department":"Engineering"},"keyId":"` + testKeyARN + `","encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"responseElements":null,` +
			`"additionalEventData":{"keyMaterialId":"0123"},"requestID":"f3423043-63bc-11e4-bc2b-4198b6150d5c","eventID":"91235988-eb87-476a-ac2c-0cdc244e6dca","readOnly":true,` +
			`"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"` + testKeyARN + `"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",` +
			`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_256_GCM_SHA384","clientProvidedHostHeader":"kms.us-east-1.amazonaws.com"}}`,
	}, {
		name: "failed Decrypt",
		ev: Event{
			EventVersion: "1.11", UserIdentity: UserIdentity{Type: "IAMUser", AccountID: "111122223333"},
			EventTime: at, EventSource: "kms.amazonaws.com", EventName: "Decrypt", AWSRegion: "us-west-2",
			SourceIPAddress: "192.0.2.0", UserAgent: "ua", ErrorCode: "IncorrectKeyException",
			ErrorMessage:      "The key ID in the request does not identify a CMK that can perform this operation.",
			RequestParameters: json.RawMessage(`{"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`),
			RequestID:         "r", EventID: "e", ReadOnly: true, EventType: "AwsApiCall", ManagementEvent: true, EventCategory: "Management",
		},
		want: `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","accountId":"111122223333"},"eventTime":"2025-05-20T19:46:16Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt",` +
			`"awsRegion":"us-west-2","sourceIPAddress":"192.0.2.0","userAgent":"ua","errorCode":"IncorrectKeyException","errorMessage":"The key ID in the request does not identify a CMK that can perform this operation.",` +
			`"requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"responseElements":null,"requestID":"r","eventID":"e","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management"}`,
	}, {
		// What AWS KMS writes when it deletes a key after its waiting period.
		name: "DeleteKey service event",
		ev: Event{
			EventVersion: "1.11", UserIdentity: UserIdentity{AccountID: "111122223333", InvokedBy: "AWS Internal"},
			EventTime: at, EventSource: "kms.amazonaws.com", EventName: "DeleteKey", AWSRegion: "us-east-1",
			SourceIPAddress: "AWS Internal", UserAgent: "AWS Internal", EventID: "b25f9cda-74e1-4458-847b-4972a0bf9668",
			Resources: []Resource{{AccountID: "111122223333", Type: ResourceTypeKey, ARN: testKeyARN}},
			EventType: "AwsServiceEvent", ManagementEvent: true, RecipientAccountID: "111122223333", EventCategory: "Management",
		},
		want: `{"eventVersion":"1.11","userIdentity":{"accountId":"111122223333","invokedBy":"AWS Internal"},"eventTime":"2025-05-20T19:46:16Z","eventSource":"kms.amazonaws.com","eventName":"DeleteKey",` +
			`"awsRegion":"us-east-1","sourceIPAddress":"AWS Internal","userAgent":"AWS Internal","requestParameters":null,"responseElements":null,"eventID":"b25f9cda-74e1-4458-847b-4972a0bf9668","readOnly":false,` +
			`"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"` + testKeyARN + `"}],"eventType":"AwsServiceEvent","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
	}, {
		// The RotateKey example of the AWS KMS developer guide.
		name: "RotateKey service event",
		ev: Event{
			EventVersion: "1.11", UserIdentity: UserIdentity{AccountID: "111122223333", InvokedBy: "AWS Internal"},
			EventTime: at, EventSource: "kms.amazonaws.com", EventName: "RotateKey", AWSRegion: "us-west-2",
			SourceIPAddress: "AWS Internal", UserAgent: "AWS Internal", EventID: "a24b3967-ddad-417f-9b22-2332b918db06",
			Resources: []Resource{{AccountID: "111122223333", Type: ResourceTypeKey, ARN: testKeyARN}},
			EventType: "AwsServiceEvent", ManagementEvent: true, RecipientAccountID: "111122223333", EventCategory: "Management",
			ServiceEventDetails: json.RawMessage(`{"rotationType":"AUTOMATIC","keyOrigin":"AWS_KMS","previousKeyMaterialId":"0123","currentKeyMaterialId":"4567","keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}`),
		},
		want: `{"eventVersion":"1.11","userIdentity":{"accountId":"111122223333","invokedBy":"AWS Internal"},"eventTime":"2025-05-20T19:46:16Z","eventSource":"kms.amazonaws.com","eventName":"RotateKey",` +
			`"awsRegion":"us-west-2","sourceIPAddress":"AWS Internal","userAgent":"AWS Internal","requestParameters":null,"responseElements":null,"eventID":"a24b3967-ddad-417f-9b22-2332b918db06","readOnly":false,` +
			`"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"` + testKeyARN + `"}],"eventType":"AwsServiceEvent","managementEvent":true,"recipientAccountId":"111122223333",` +
			`"serviceEventDetails":{"rotationType":"AUTOMATIC","keyOrigin":"AWS_KMS","previousKeyMaterialId":"0123","currentKeyMaterialId":"4567","keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"},"eventCategory":"Management"}`,
	}, {
		name: "assumed role",
		ev: Event{
			EventVersion: "1.11",
			UserIdentity: UserIdentity{
				Type: "AssumedRole", PrincipalID: "AROAIDPPEZS35WEXAMPLE:S", ARN: "arn:aws:sts::123456789012:assumed-role/R/S",
				AccountID: "123456789012", AccessKeyID: "ASIA",
				SessionContext: &SessionContext{
					SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "AROAIDPPEZS35WEXAMPLE", ARN: "arn:aws:iam::123456789012:role/R", AccountID: "123456789012", UserName: "R"},
					Attributes:    SessionAttributes{CreationDate: at, MFAAuthenticated: false},
				},
			},
			EventTime: at, EventSource: "kms.amazonaws.com", EventName: "DescribeKey", AWSRegion: "us-west-2",
			SourceIPAddress: "192.0.2.0", UserAgent: "ua\n\"quoted\" \x01 \xff \u2028 <&>",
			RequestParameters: json.RawMessage("{\n  \"keyId\": \"1234\"\n}"),
			EventID:           "e", ReadOnly: true, EventType: "AwsApiCall", ManagementEvent: true, EventCategory: "Management",
		},
		want: `{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole","principalId":"AROAIDPPEZS35WEXAMPLE:S","arn":"arn:aws:sts::123456789012:assumed-role/R/S","accountId":"123456789012","accessKeyId":"ASIA",` +
			`"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAIDPPEZS35WEXAMPLE","arn":"arn:aws:iam::123456789012:role/R","accountId":"123456789012","userName":"R"},"attributes":{"creationDate":"2025-05-20T19:46:16Z","mfaAuthenticated":"false"}}},` +
			`"eventTime":"2025-05-20T19:46:16Z","eventSource":"kms.amazonaws.com","eventName":"DescribeKey","awsRegion":"us-west-2","sourceIPAddress":"192.0.2.0","userAgent":"ua\n\"quoted\" \u0001 \ufffd \u2028 <&>",` +
			`"requestParameters":{"keyId":"1234"},"responseElements":null,"eventID":"e","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management"}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ev.appendJSON(nil)
			if err != nil {
				t.Fatalf("appendJSON = %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("appendJSON =\n%s\nwant\n%s", got, tt.want)
			}
			var back Event
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("json.Unmarshal(appendJSON) = %v", err)
			}
			if !reflect.DeepEqual(normalize(back), normalize(tt.ev)) {
				t.Errorf("round trip =\n%+v\nwant\n%+v", back, tt.ev)
			}
		})
	}
}

// normalize maps an Event to what survives a JSON round trip.
func normalize(e Event) Event {
	e.EventTime = e.EventTime.UTC().Truncate(time.Second)
	if sc := e.UserIdentity.SessionContext; sc != nil {
		c := *sc
		c.Attributes.CreationDate = c.Attributes.CreationDate.UTC().Truncate(time.Second)
		e.UserIdentity.SessionContext = &c
	}
	for _, s := range []*string{&e.UserAgent, &e.EventName, &e.UserIdentity.UserName} {
		*s = validUTF8(*s)
	}
	e.Resources = slices.Clone(e.Resources)
	for i := range e.Resources {
		e.Resources[i].ARN = validUTF8(e.Resources[i].ARN)
	}
	for _, raw := range []*json.RawMessage{&e.RequestParameters, &e.ResponseElements, &e.AdditionalEventData, &e.ServiceEventDetails} {
		if isNull(*raw) {
			*raw = nil
		} else {
			var v any
			json.Unmarshal(*raw, &v)
			*raw, _ = json.Marshal(v)
		}
	}
	return e
}

// validUTF8 replaces each invalid byte with U+FFFD, as JSON encoders do.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

func TestEventJSONRejects(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"not JSON", `{"keyId":`},
		{"array", `["a"]`},
		{"string", `"a"`},
	}
	for _, tt := range tests {
		ev := Event{EventName: "Encrypt", RequestParameters: json.RawMessage(tt.raw)}
		if _, err := ev.appendJSON(nil); err == nil {
			t.Errorf("appendJSON(requestParameters %s) = nil error, want one", tt.raw)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &Event{EventName: "Encrypt", EventID: ""}
	got, err := e.withDefaults(now)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventVersion != "1.11" || got.EventSource != "kms.amazonaws.com" || got.EventType != "AwsApiCall" ||
		got.EventCategory != "Management" || !got.ManagementEvent || !got.EventTime.Equal(now) || len(got.EventID) != 36 {
		t.Errorf("withDefaults = %+v", got)
	}
	if e.EventID != "" || e.EventVersion != "" {
		t.Errorf("withDefaults modified its receiver: %+v", e)
	}
	if _, err := (&Event{}).withDefaults(now); err == nil {
		t.Errorf("withDefaults(no eventName) = nil error")
	}
}

func FuzzEventJSON(f *testing.F) {
	f.Add("Alice", "Encrypt", "ua", `{"keyId":"k"}`, int64(0), true)
	f.Add("\xff\x00\u2028", "\"", "\\", "{\n}", int64(1<<40), false)
	f.Fuzz(func(t *testing.T, user, name, ua, params string, unix int64, mfa bool) {
		ev := Event{
			EventName: name, UserAgent: ua, EventTime: time.Unix(unix%(1<<35), 0),
			UserIdentity:      UserIdentity{UserName: user, SessionContext: &SessionContext{Attributes: SessionAttributes{MFAAuthenticated: mfa, CreationDate: time.Unix(unix%(1<<35), 0)}}},
			RequestParameters: json.RawMessage(params),
			Resources:         []Resource{{ARN: user + name}},
		}
		b, err := ev.appendJSON(nil)
		if err != nil {
			return // invalid requestParameters
		}
		if !json.Valid(b) || strings.ContainsAny(string(b), "\n\r") {
			t.Fatalf("appendJSON = %q: not one line of valid JSON", b)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("json.Unmarshal(%q) = %v", b, err)
		}
		if !reflect.DeepEqual(normalize(back), normalize(ev)) {
			t.Fatalf("round trip =\n%+v\nwant\n%+v", normalize(back), normalize(ev))
		}
	})
}

func FuzzParseLine(f *testing.F) {
	var zero [32]byte
	good := appendLine(nil, 7, &zero, &zero, []byte(`{"eventName":"Encrypt"}`))
	f.Add(good[:len(good)-1])
	f.Add([]byte(`{"seq":01,"prevHash":"`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := parseLine(line)
		if err != nil {
			return
		}
		again := appendLine(nil, r.Seq, &r.Prev, &r.Hash, r.Event)
		if string(again[:len(again)-1]) != string(line) {
			t.Fatalf("parseLine(%q) then appendLine = %q", line, again)
		}
	})
}
