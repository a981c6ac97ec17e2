package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/internal/keys"
)

// Values Append writes for empty Event fields.
const (
	EventVersion    = "1.11"
	EventSourceKMS  = "kms.amazonaws.com"
	TypeAPICall     = "AwsApiCall"      // a request made by a principal
	TypeServiceCall = "AwsServiceEvent" // something Keyward did on its own, e.g. deleting a key after its waiting period
	CategoryMgmt    = "Management"
	ResourceTypeKey = "AWS::KMS::Key"
	timeLayout      = "2006-01-02T15:04:05Z"
)

// Event is one CloudTrail record, with the field names, nesting and types
// that AWS CloudTrail writes for AWS KMS (eventVersion 1.11).
//
// RequestParameters, ResponseElements and AdditionalEventData are JSON
// objects or nil; nil is written as null for the first two and omitted for
// the third, as CloudTrail does. They must never carry plaintext, data keys,
// ciphertext blobs, grant tokens or any other secret: build them with
// RequestParameters and ResponseElements, which keep only the fields AWS KMS
// logs for each operation.
type Event struct {
	EventVersion        string          `json:"eventVersion"`
	UserIdentity        UserIdentity    `json:"userIdentity"`
	EventTime           time.Time       `json:"eventTime"` // written in UTC, to the second
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"` // the KMS operation, e.g. "Encrypt"
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode,omitempty"` // the AWS error type, e.g. "AccessDeniedException"
	ErrorMessage        string          `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData json.RawMessage `json:"additionalEventData,omitempty"`
	RequestID           string          `json:"requestID,omitempty"`
	EventID             string          `json:"eventID"`
	ReadOnly            bool            `json:"readOnly"`
	Resources           []Resource      `json:"resources,omitempty"` // nil: no field; empty: [] (GenerateRandom, as AWS logs it)
	EventType           string          `json:"eventType"`
	ManagementEvent     bool            `json:"managementEvent"`
	RecipientAccountID  string          `json:"recipientAccountId,omitempty"`
	ServiceEventDetails json.RawMessage `json:"serviceEventDetails,omitempty"` // AwsServiceEvent only, e.g. RotateKey's key material IDs
	EventCategory       string          `json:"eventCategory"`
	TLSDetails          *TLSDetails     `json:"tlsDetails,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity element: who made the request.
// An AwsServiceEvent carries only AccountID and InvokedBy.
type UserIdentity struct {
	Type           string          `json:"type,omitempty"` // "IAMUser", "AssumedRole", "Root", ...
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"` // the access key id, never the secret key
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
	InvokedBy      string          `json:"invokedBy,omitempty"`
}

// SessionContext describes the session behind temporary credentials.
type SessionContext struct {
	SessionIssuer *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes    SessionAttributes `json:"attributes"`
}

// SessionIssuer is the identity that issued temporary credentials, e.g. a role.
type SessionIssuer struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// SessionAttributes are the attributes of a session. CloudTrail writes
// mfaAuthenticated as the string "true" or "false".
type SessionAttributes struct {
	CreationDate     time.Time `json:"creationDate"`
	MFAAuthenticated bool      `json:"mfaAuthenticated,string"`
}

// Resource is one entry of CloudTrail's resources element.
type Resource struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"` // ResourceTypeKey for a KMS key
	ARN       string `json:"ARN"`
}

// TLSDetails describes the TLS connection that carried the request.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion,omitempty"`
	CipherSuite              string `json:"cipherSuite,omitempty"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader,omitempty"`
}

var errNoEventName = errors.New("audit: event has no eventName")

// withDefaults returns a copy of e with the fields CloudTrail always writes
// filled in. It never modifies e.
func (e *Event) withDefaults(now time.Time) (Event, error) {
	ev := *e
	if ev.EventName == "" {
		return ev, errNoEventName
	}
	if ev.EventVersion == "" {
		ev.EventVersion = EventVersion
	}
	if ev.EventTime.IsZero() {
		ev.EventTime = now
	}
	if ev.EventSource == "" {
		ev.EventSource = EventSourceKMS
	}
	if ev.EventType == "" {
		ev.EventType = TypeAPICall
	}
	if ev.EventCategory == "" {
		ev.EventCategory = CategoryMgmt
	}
	if ev.EventCategory == CategoryMgmt {
		// Every AWS KMS event, including Encrypt and Decrypt, is a
		// management event.
		ev.ManagementEvent = true
	}
	if ev.EventID == "" {
		ev.EventID = keys.NewID() // a random UUID, the form of CloudTrail's eventID
	}
	return ev, nil
}

const hexDigits = "0123456789abcdef"

// appendJSON appends e as one line of compact JSON, fields in the order
// CloudTrail writes them. It is the hot path of Append, hence hand-written:
// encoding/json costs several times more. FuzzEventJSON checks that
// encoding/json decodes what it writes back to the same Event.
func (e *Event) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, e.EventVersion)
	b = append(b, `,"userIdentity":`...)
	b = e.UserIdentity.appendJSON(b)
	b = append(b, `,"eventTime":`...)
	b = appendTime(b, e.EventTime)
	b = appendField(b, "eventSource", e.EventSource)
	b = appendField(b, "eventName", e.EventName)
	b = appendField(b, "awsRegion", e.AWSRegion)
	b = appendField(b, "sourceIPAddress", e.SourceIPAddress)
	b = appendField(b, "userAgent", e.UserAgent)
	b = appendFieldOmit(b, "errorCode", e.ErrorCode)
	b = appendFieldOmit(b, "errorMessage", e.ErrorMessage)
	b = append(b, `,"requestParameters":`...)
	if b, err = appendRaw(b, e.RequestParameters, "requestParameters"); err != nil {
		return b, err
	}
	b = append(b, `,"responseElements":`...)
	if b, err = appendRaw(b, e.ResponseElements, "responseElements"); err != nil {
		return b, err
	}
	if !isNull(e.AdditionalEventData) {
		b = append(b, `,"additionalEventData":`...)
		if b, err = appendRaw(b, e.AdditionalEventData, "additionalEventData"); err != nil {
			return b, err
		}
	}
	b = appendFieldOmit(b, "requestID", e.RequestID)
	b = appendField(b, "eventID", e.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, e.ReadOnly)
	if e.Resources != nil {
		b = append(b, `,"resources":[`...)
		for i, r := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendObject(b, func(b []byte) []byte {
				b = appendFieldOmit(b, "accountId", r.AccountID)
				b = appendFieldOmit(b, "type", r.Type)
				return appendField(b, "ARN", r.ARN)
			})
		}
		b = append(b, ']')
	}
	b = appendField(b, "eventType", e.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, e.ManagementEvent)
	b = appendFieldOmit(b, "recipientAccountId", e.RecipientAccountID)
	if !isNull(e.ServiceEventDetails) {
		b = append(b, `,"serviceEventDetails":`...)
		if b, err = appendRaw(b, e.ServiceEventDetails, "serviceEventDetails"); err != nil {
			return b, err
		}
	}
	b = appendField(b, "eventCategory", e.EventCategory)
	if t := e.TLSDetails; t != nil {
		b = append(b, `,"tlsDetails":`...)
		b = appendObject(b, func(b []byte) []byte {
			b = appendFieldOmit(b, "tlsVersion", t.TLSVersion)
			b = appendFieldOmit(b, "cipherSuite", t.CipherSuite)
			return appendFieldOmit(b, "clientProvidedHostHeader", t.ClientProvidedHostHeader)
		})
	}
	return append(b, '}'), nil
}

func (u *UserIdentity) appendJSON(b []byte) []byte {
	return appendObject(b, func(b []byte) []byte {
		b = appendFieldOmit(b, "type", u.Type)
		b = appendFieldOmit(b, "principalId", u.PrincipalID)
		b = appendFieldOmit(b, "arn", u.ARN)
		b = appendFieldOmit(b, "accountId", u.AccountID)
		b = appendFieldOmit(b, "accessKeyId", u.AccessKeyID)
		b = appendFieldOmit(b, "userName", u.UserName)
		if sc := u.SessionContext; sc != nil {
			b = append(b, `,"sessionContext":`...)
			b = appendObject(b, func(b []byte) []byte {
				if si := sc.SessionIssuer; si != nil {
					b = append(b, `,"sessionIssuer":`...)
					b = appendObject(b, func(b []byte) []byte {
						b = appendFieldOmit(b, "type", si.Type)
						b = appendFieldOmit(b, "principalId", si.PrincipalID)
						b = appendFieldOmit(b, "arn", si.ARN)
						b = appendFieldOmit(b, "accountId", si.AccountID)
						return appendFieldOmit(b, "userName", si.UserName)
					})
				}
				b = append(b, `,"attributes":{"creationDate":`...)
				b = appendTime(b, sc.Attributes.CreationDate)
				b = append(b, `,"mfaAuthenticated":"`...)
				b = strconv.AppendBool(b, sc.Attributes.MFAAuthenticated)
				return append(b, `"}`...)
			})
		}
		return appendFieldOmit(b, "invokedBy", u.InvokedBy)
	})
}

// appendObject appends {fields}, where fields writes each member with a
// leading comma; the first comma is dropped.
func appendObject(b []byte, fields func([]byte) []byte) []byte {
	n := len(b)
	b = fields(append(b, '{'))
	if len(b) > n+1 {
		b = append(b[:n+1], b[n+2:]...)
	}
	return append(b, '}')
}

func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

func appendFieldOmit(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return appendField(b, name, value)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// appendRaw appends a caller-supplied JSON value, which must be an object or
// null. It is compacted so that a record never spans lines.
func appendRaw(b []byte, raw json.RawMessage, name string) ([]byte, error) {
	if isNull(raw) {
		return append(b, "null"...), nil
	}
	if !json.Valid(raw) {
		return b, errors.New("audit: " + name + " is not valid JSON")
	}
	if v := bytes.TrimLeft(raw, " \t\r\n"); v[0] != '{' {
		return b, errors.New("audit: " + name + " is not a JSON object")
	}
	if bytes.ContainsAny(raw, "\r\n") {
		var buf bytes.Buffer
		json.Compact(&buf, raw) // cannot fail: raw is valid
		return append(b, buf.Bytes()...), nil
	}
	return append(b, raw...), nil
}

// appendString appends s as a JSON string. Like encoding/json it replaces
// invalid UTF-8 with U+FFFD and escapes U+2028 and U+2029; unlike it, it
// leaves <, > and & alone, which JSON does not require escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
