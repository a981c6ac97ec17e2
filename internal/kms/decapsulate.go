package kms

import "context"

// Decapsulate recovers the shared secret of an ML-KEM encapsulation made
// with the public key of an ENCAPSULATE_DECAPSULATE key. As FIPS 203
// specifies, a ciphertext of the right length that was not made for this key
// yields an unrelated secret rather than an error (implicit rejection); only
// a ciphertext of the wrong length is an InvalidCiphertextException.
func (s *Service) Decapsulate(ctx context.Context, caller *Caller, req *DecapsulateRequest) (*DecapsulateResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.blob("sharedSecretCiphertextBlob", req.SharedSecretCiphertextBlob, true, 1, 6144)
	v.required("encapsulationAlgorithm", req.EncapsulationAlgorithm != nil)
	v.enum("encapsulationAlgorithm", req.EncapsulationAlgorithm, "ML_KEM")
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "Decapsulate", *req.KeyId, "ENCAPSULATE_DECAPSULATE", nil)
	if err != nil {
		return nil, err
	}
	secret, err := e.private[e.key.Current().ID].Decapsulate(*req.EncapsulationAlgorithm, req.SharedSecretCiphertextBlob)
	if err != nil {
		return nil, s.specError(ctx, "Decapsulate", err)
	}
	if err := dryRun(req.DryRun); err != nil {
		clear(secret)
		return nil, err
	}
	return &DecapsulateResponse{KeyId: e.key.ARN(), SharedSecret: secret, EncapsulationAlgorithm: *req.EncapsulationAlgorithm}, nil
}
