package kms

import (
	"context"
)

// GetPublicKey returns the DER SubjectPublicKeyInfo of an asymmetric key and
// what it may be used for.
func (s *Service) GetPublicKey(ctx context.Context, caller *Caller, req *GetPublicKeyRequest) (*GetPublicKeyResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "GetPublicKey", *req.KeyId, keyOrAlias)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "GetPublicKey", e, nil); err != nil {
		return nil, err
	}
	if err := checkState(e.key); err != nil {
		return nil, err
	}
	if !isAsymmetric(e.key.Spec) {
		return nil, errf(CodeUnsupportedOperation, "%s key spec is %s which is not valid for GetPublicKey.", e.key.ARN(), e.key.Spec)
	}
	m := s.metadata(e.key)
	return &GetPublicKeyResponse{
		KeyId:                   e.key.ARN(),
		PublicKey:               e.private[e.key.Current().ID].Public().Bytes(),
		CustomerMasterKeySpec:   e.key.Spec,
		KeySpec:                 e.key.Spec,
		KeyUsage:                e.key.Usage,
		EncryptionAlgorithms:    m.EncryptionAlgorithms,
		SigningAlgorithms:       m.SigningAlgorithms,
		KeyAgreementAlgorithms:  m.KeyAgreementAlgorithms,
		EncapsulationAlgorithms: m.EncapsulationAlgorithms,
	}, nil
}
