package kms

import (
	"context"
	"time"
)

// UsageSource answers GetKeyLastUsage: it remembers, for each key, the last
// successful cryptographic operation. Keyward's implementation reads the
// audit trail (the HTTP layer keeps an index of it), so that the answer is
// exactly what the trail records. Implementations must be safe for
// concurrent use.
type UsageSource interface {
	// LastUsage returns the last successful cryptographic operation on the
	// key with ARN keyARN, and ok=false if there was none since
	// TrackingStart. An error is an internal failure.
	LastUsage(ctx context.Context, keyARN string) (u Usage, ok bool, err error)
	// TrackingStart is when the source began recording: the time of the
	// oldest record it has seen, or when it started if it has seen none.
	TrackingStart() time.Time
}

// Usage is one successful cryptographic operation on a key.
type Usage struct {
	Time      time.Time
	Operation string // "Encrypt", "Decrypt", ..., as KeyLastUsageTrackingOperation names it
	EventID   string // the CloudTrail eventID of the audit record
	RequestID string // the x-amzn-RequestId of the request
}

// TrackedOperations are the operations GetKeyLastUsage reports, in AWS's
// KeyLastUsageTrackingOperation enum.
var TrackedOperations = map[string]bool{
	"Decrypt": true, "DeriveSharedSecret": true, "Encrypt": true, "GenerateDataKey": true,
	"GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true,
	"GenerateDataKeyWithoutPlaintext": true, "GenerateMac": true, "ReEncrypt": true,
	"Sign": true, "Verify": true, "VerifyMac": true, "Encapsulate": true, "Decapsulate": true,
}

// GetKeyLastUsageRequest is the input of GetKeyLastUsage.
type GetKeyLastUsageRequest struct {
	KeyId *string `json:"KeyId"`
}

// KeyLastUsageData is the last successful cryptographic operation on a key;
// every member is absent when there is none.
type KeyLastUsageData struct {
	CloudTrailEventId string     `json:"CloudTrailEventId,omitempty"`
	KmsRequestId      string     `json:"KmsRequestId,omitempty"`
	Operation         string     `json:"Operation,omitempty"`
	Timestamp         *Timestamp `json:"Timestamp,omitempty"`
}

// GetKeyLastUsageResponse is the output of GetKeyLastUsage.
type GetKeyLastUsageResponse struct {
	KeyCreationDate   *Timestamp        `json:"KeyCreationDate,omitempty"`
	KeyId             string            `json:"KeyId"`
	KeyLastUsage      *KeyLastUsageData `json:"KeyLastUsage"` // {} when unused since TrackingStartDate
	TrackingStartDate *Timestamp        `json:"TrackingStartDate,omitempty"`
}

// GetKeyLastUsage reports the last successful cryptographic operation on a
// key, from the Service's UsageSource. Like AWS it takes a key id or key
// ARN, not an alias.
func (s *Service) GetKeyLastUsage(ctx context.Context, caller *Caller, req *GetKeyLastUsageRequest) (*GetKeyLastUsageResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "GetKeyLastUsage", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "GetKeyLastUsage", e, nil); err != nil {
		return nil, err
	}
	if s.usage == nil {
		return nil, &Error{Code: CodeUnsupportedOperation, Message: "Operation GetKeyLastUsage is not supported by this server: it has no audit trail."}
	}
	k := e.key
	u, ok, err := s.usage.LastUsage(ctx, k.ARN())
	if err != nil {
		return nil, s.internal(ctx, "GetKeyLastUsage", err)
	}
	// TrackingStartDate is the later of when tracking began and when the
	// key was created, as AWS defines it.
	start := s.usage.TrackingStart()
	if k.Created.After(start) {
		start = k.Created
	}
	resp := &GetKeyLastUsageResponse{
		KeyCreationDate:   ts(k.Created),
		KeyId:             k.ID,
		KeyLastUsage:      &KeyLastUsageData{},
		TrackingStartDate: ts(start),
	}
	if ok {
		resp.KeyLastUsage = &KeyLastUsageData{
			CloudTrailEventId: u.EventID,
			KmsRequestId:      u.RequestID,
			Operation:         u.Operation,
			Timestamp:         ts(u.Time),
		}
	}
	return resp, nil
}
