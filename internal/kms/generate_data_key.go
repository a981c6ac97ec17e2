package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keys"
)

// GenerateDataKey returns a new random data key in plaintext and encrypted
// under a symmetric KMS key.
func (s *Service) GenerateDataKey(ctx context.Context, caller *Caller, req *GenerateDataKeyRequest) (*GenerateDataKeyResponse, error) {
	return s.generateDataKey(ctx, caller, "GenerateDataKey", req, true)
}

// GenerateDataKeyWithoutPlaintext is GenerateDataKey that returns only the
// encrypted copy.
func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, caller *Caller, req *GenerateDataKeyRequest) (*GenerateDataKeyResponse, error) {
	return s.generateDataKey(ctx, caller, "GenerateDataKeyWithoutPlaintext", req, false)
}

func (s *Service) generateDataKey(ctx context.Context, caller *Caller, op string, req *GenerateDataKeyRequest, withPlaintext bool) (*GenerateDataKeyResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.num("numberOfBytes", req.NumberOfBytes, 1, 1024)
	v.enum("keySpec", req.KeySpec, allDataKeySpecs...)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	if (req.NumberOfBytes == nil) == (req.KeySpec == nil) {
		return nil, errf(CodeValidation, "Please specify either number of bytes or key spec.")
	}
	if req.Recipient != nil {
		return nil, errf(CodeUnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	e, err := s.useKey(ctx, caller, op, *req.KeyId, keys.UsageEncryptDecrypt, withKeys(req.EncryptionContext))
	if err != nil {
		return nil, err
	}
	if err := checkSymmetric(e.key, op); err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	n := 32
	switch {
	case req.NumberOfBytes != nil:
		n = int(*req.NumberOfBytes)
	case *req.KeySpec == "AES_128":
		n = 16
	}
	dk := make([]byte, n)
	if _, err := s.rand.Read(dk); err != nil {
		return nil, s.internal(ctx, op, err)
	}
	ct, err := s.seal(ctx, e, dk, req.EncryptionContext)
	if err != nil {
		return nil, err
	}
	out := &GenerateDataKeyResponse{CiphertextBlob: ct, KeyId: e.key.ARN(), KeyMaterialId: materialID(e.key.ID, e.key.Current().ID)}
	if withPlaintext {
		out.Plaintext = dk
	} else {
		clear(dk)
	}
	return out, nil
}
