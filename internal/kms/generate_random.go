package kms

import "context"

// GenerateRandom returns 1 to 1024 random bytes from the system CSPRNG.
func (s *Service) GenerateRandom(ctx context.Context, caller *Caller, req *GenerateRandomRequest) (*GenerateRandomResponse, error) {
	var v validator
	v.num("numberOfBytes", req.NumberOfBytes, 1, 1024)
	v.str("customKeyStoreId", req.CustomKeyStoreId, 1, 64, nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorizeAccount(caller, "GenerateRandom", nil); err != nil {
		return nil, err
	}
	if req.NumberOfBytes == nil {
		return nil, errf(CodeValidation, "NumberOfBytes is required.")
	}
	if req.CustomKeyStoreId != nil {
		return nil, errf(CodeUnsupportedOperation, "Custom key stores are not supported by this server yet.")
	}
	if req.Recipient != nil {
		return nil, errf(CodeUnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	b := make([]byte, *req.NumberOfBytes)
	if _, err := s.rand.Read(b); err != nil {
		return nil, s.internal(ctx, "GenerateRandom", err)
	}
	return &GenerateRandomResponse{Plaintext: b}, nil
}
