package kms

import "context"

// Encapsulate makes a fresh 32-byte shared secret and its ML-KEM
// encapsulation under the public key of an ENCAPSULATE_DECAPSULATE key, as
// AWS KMS does (FIPS 203). The holder of the key recovers the secret with
// Decapsulate; anyone with the public key could do this offline.
func (s *Service) Encapsulate(ctx context.Context, caller *Caller, req *EncapsulateRequest) (*EncapsulateResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("encapsulationAlgorithm", req.EncapsulationAlgorithm != nil)
	v.enum("encapsulationAlgorithm", req.EncapsulationAlgorithm, "ML_KEM")
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "Encapsulate", *req.KeyId, "ENCAPSULATE_DECAPSULATE", nil)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	ct, secret, err := e.private[e.key.Current().ID].Public().Encapsulate(*req.EncapsulationAlgorithm)
	if err != nil {
		return nil, s.specError(ctx, "Encapsulate", err)
	}
	return &EncapsulateResponse{KeyId: e.key.ARN(), SharedSecret: secret, SharedSecretCiphertextBlob: ct, EncapsulationAlgorithm: *req.EncapsulationAlgorithm}, nil
}
