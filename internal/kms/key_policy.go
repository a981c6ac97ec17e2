package kms

import (
	"context"
	"errors"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// PutKeyPolicyRequest is the input of PutKeyPolicy.
type PutKeyPolicyRequest struct {
	KeyId                          *string `json:"KeyId"`
	PolicyName                     *string `json:"PolicyName"`
	Policy                         *string `json:"Policy"`
	BypassPolicyLockoutSafetyCheck *bool   `json:"BypassPolicyLockoutSafetyCheck"`
}

// GetKeyPolicyRequest is the input of GetKeyPolicy.
type GetKeyPolicyRequest struct {
	KeyId      *string `json:"KeyId"`
	PolicyName *string `json:"PolicyName"`
}

// GetKeyPolicyResponse is the output of GetKeyPolicy.
type GetKeyPolicyResponse struct {
	Policy     string `json:"Policy"`
	PolicyName string `json:"PolicyName"`
}

// ListKeyPoliciesRequest is the input of ListKeyPolicies.
type ListKeyPoliciesRequest struct {
	KeyId  *string `json:"KeyId"`
	Limit  *int32  `json:"Limit"`
	Marker *string `json:"Marker"`
}

// ListKeyPoliciesResponse is the output of ListKeyPolicies.
type ListKeyPoliciesResponse struct {
	PolicyNames []string `json:"PolicyNames"`
	NextMarker  string   `json:"NextMarker,omitempty"`
	Truncated   bool     `json:"Truncated"`
}

var policyNameRE = aliasPattern // [\w]+ in the model; "default" is the only name

// parseKeyPolicy parses a key policy document and, unless bypassed, applies
// AWS's lock-out safety check for the caller.
func (s *Service) parseKeyPolicy(caller *Caller, doc string, bypass *bool, keyARN, account string) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(doc), policy.KeyPolicy)
	if errors.Is(err, policy.ErrTooLarge) {
		return nil, errf(CodeLimitExceeded, "The key policy exceeds the maximum size of 32768 bytes.")
	}
	var merr *policy.MalformedError
	if errors.As(err, &merr) {
		return nil, &Error{Code: CodeMalformedPolicy, Message: merr.Reason}
	} else if err != nil {
		return nil, &Error{Code: CodeMalformedPolicy, Message: err.Error()}
	}
	if bypass == nil || !*bypass {
		if err := policy.CheckLockout(p, s.request(caller, "kms:PutKeyPolicy", keyARN, nil), account); err != nil {
			return nil, &Error{Code: CodeMalformedPolicy, Message: err.Error()}
		}
	}
	return p, nil
}

// PutKeyPolicy replaces a key's policy.
func (s *Service) PutKeyPolicy(ctx context.Context, caller *Caller, req *PutKeyPolicyRequest) (*Empty, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.str("policyName", req.PolicyName, 1, 128, policyNameRE)
	v.reqStr("policy", req.Policy, 1, 131072, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "PutKeyPolicy", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "PutKeyPolicy", e, withKeys(nil, "kms:BypassPolicyLockoutSafetyCheck", boolStr(req.BypassPolicyLockoutSafetyCheck))); err != nil {
		return nil, err
	}
	if req.PolicyName != nil && *req.PolicyName != "default" {
		return nil, errf(CodeNotFound, "Policy name '%s' is not a valid policy name. The only valid name is 'default'.", *req.PolicyName)
	}
	if _, err := s.parseKeyPolicy(caller, *req.Policy, req.BypassPolicyLockoutSafetyCheck, e.key.ARN(), e.key.Account); err != nil {
		return nil, err
	}
	_, err = s.updateKey(ctx, e.key.ID, func(_ store.Tx, k *keys.Key) error {
		if k.State == keys.PendingDeletion {
			return errf(CodeInvalidState, "%s is pending deletion.", k.ARN())
		}
		k.Policy = *req.Policy
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// GetKeyPolicy returns a key's policy exactly as it was set.
func (s *Service) GetKeyPolicy(ctx context.Context, caller *Caller, req *GetKeyPolicyRequest) (*GetKeyPolicyResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.str("policyName", req.PolicyName, 1, 128, policyNameRE)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "GetKeyPolicy", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "GetKeyPolicy", e, nil); err != nil {
		return nil, err
	}
	if req.PolicyName != nil && *req.PolicyName != "default" {
		return nil, errf(CodeNotFound, "Policy name '%s' is not a valid policy name. The only valid name is 'default'.", *req.PolicyName)
	}
	doc := e.key.Policy
	if doc == "" {
		doc = string(policy.DefaultKeyPolicy(arn.Partition(e.key.Region), e.key.Account))
	}
	return &GetKeyPolicyResponse{Policy: doc, PolicyName: "default"}, nil
}

// ListKeyPolicies lists a key's policy names: always just "default".
func (s *Service) ListKeyPolicies(ctx context.Context, caller *Caller, req *ListKeyPoliciesRequest) (*ListKeyPoliciesResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.paging(req.Limit, req.Marker, 1000)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "ListKeyPolicies", *req.KeyId, keyOnly)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "ListKeyPolicies", e, nil); err != nil {
		return nil, err
	}
	if req.Marker != nil {
		return &ListKeyPoliciesResponse{PolicyNames: []string{}}, nil
	}
	return &ListKeyPoliciesResponse{PolicyNames: []string{"default"}}, nil
}

func boolStr(b *bool) string {
	if b == nil {
		return ""
	}
	if *b {
		return "true"
	}
	return "false"
}
