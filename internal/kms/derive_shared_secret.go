package kms

import "context"

// DeriveSharedSecret runs ECDH between a KEY_AGREEMENT key and a peer's
// public key and returns the raw shared secret, as AWS does (no KDF).
func (s *Service) DeriveSharedSecret(ctx context.Context, caller *Caller, req *DeriveSharedSecretRequest) (*DeriveSharedSecretResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("keyAgreementAlgorithm", req.KeyAgreementAlgorithm != nil)
	v.enum("keyAgreementAlgorithm", req.KeyAgreementAlgorithm, "ECDH")
	v.blob("publicKey", req.PublicKey, true, 1, 8192)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	if req.Recipient != nil {
		return nil, errf(CodeUnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	e, err := s.useKey(ctx, caller, "DeriveSharedSecret", *req.KeyId, "KEY_AGREEMENT", withKeys(nil, "kms:KeyAgreementAlgorithm", *req.KeyAgreementAlgorithm))
	if err != nil {
		return nil, err
	}
	secret, err := e.private[e.key.Current().ID].DeriveSharedSecret(*req.KeyAgreementAlgorithm, req.PublicKey)
	if err != nil {
		return nil, s.specError(ctx, "DeriveSharedSecret", err)
	}
	if err := dryRun(req.DryRun); err != nil {
		clear(secret)
		return nil, err
	}
	return &DeriveSharedSecretResponse{KeyId: e.key.ARN(), SharedSecret: secret, KeyAgreementAlgorithm: *req.KeyAgreementAlgorithm, KeyOrigin: e.key.Origin}, nil
}
