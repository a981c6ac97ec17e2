package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keyspec"
)

// allMacAlgs is in the order AWS KMS lists them in its validation message
// (recorded from AWS: "[HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224,
// HMAC_SHA_512]"), not the API model's.
var allMacAlgs = []string{"HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"}

// GenerateMac computes an HMAC of a message with an HMAC key.
func (s *Service) GenerateMac(ctx context.Context, caller *Caller, req *GenerateMacRequest) (*GenerateMacResponse, error) {
	var v validator
	v.blob("message", req.Message, true, 1, 4096)
	v.keyID("keyId", req.KeyId, true)
	v.required("macAlgorithm", req.MacAlgorithm != nil)
	v.enum("macAlgorithm", req.MacAlgorithm, allMacAlgs...)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "GenerateMac", *req.KeyId, "GENERATE_VERIFY_MAC", withKeys(nil, "kms:MacAlgorithm", *req.MacAlgorithm))
	if err != nil {
		return nil, err
	}
	key := e.material[e.key.Current().ID].Expose()
	mac, err := keyspec.GenerateMAC(keyspec.Spec(e.key.Spec), key, *req.MacAlgorithm, req.Message)
	if err != nil {
		return nil, s.specError(ctx, "GenerateMac", err)
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	return &GenerateMacResponse{Mac: mac, MacAlgorithm: *req.MacAlgorithm, KeyId: e.key.ARN()}, nil
}

// VerifyMac checks an HMAC in constant time. A mismatch is
// KMSInvalidMacException, with no message, as AWS answers.
func (s *Service) VerifyMac(ctx context.Context, caller *Caller, req *VerifyMacRequest) (*VerifyMacResponse, error) {
	var v validator
	v.blob("message", req.Message, true, 1, 4096)
	v.keyID("keyId", req.KeyId, true)
	v.required("macAlgorithm", req.MacAlgorithm != nil)
	v.enum("macAlgorithm", req.MacAlgorithm, allMacAlgs...)
	v.blob("mac", req.Mac, true, 1, 6144)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "VerifyMac", *req.KeyId, "GENERATE_VERIFY_MAC", withKeys(nil, "kms:MacAlgorithm", *req.MacAlgorithm))
	if err != nil {
		return nil, err
	}
	key := e.material[e.key.Current().ID].Expose()
	ok, err := keyspec.VerifyMAC(keyspec.Spec(e.key.Spec), key, *req.MacAlgorithm, req.Message, req.Mac)
	if err != nil {
		return nil, s.specError(ctx, "VerifyMac", err)
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Code: CodeInvalidMac}
	}
	return &VerifyMacResponse{KeyId: e.key.ARN(), MacValid: true, MacAlgorithm: *req.MacAlgorithm}, nil
}
