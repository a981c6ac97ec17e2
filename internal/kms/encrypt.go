package kms

import (
	"context"

	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
)

// Encrypt encrypts up to 4096 bytes under a symmetric key's newest material.
func (s *Service) Encrypt(ctx context.Context, caller *Caller, req *EncryptRequest) (*EncryptResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.blob("plaintext", req.Plaintext, true, 1, 4096)
	v.grantTokens(req.GrantTokens)
	v.enum("encryptionAlgorithm", req.EncryptionAlgorithm, allEncAlgs...)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "Encrypt", *req.KeyId, keyOrAlias)
	if err != nil {
		return nil, err
	}
	if err := checkUsable(e.key, "Encrypt", keys.UsageEncryptDecrypt); err != nil {
		return nil, err
	}
	alg, err := symmetricAlg(e.key, req.EncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	ct, err := s.seal(ctx, e, req.Plaintext, req.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &EncryptResponse{CiphertextBlob: ct, KeyId: e.key.ARN(), EncryptionAlgorithm: alg}, nil
}

// symmetricAlg checks the EncryptionAlgorithm of a request on a symmetric key.
func symmetricAlg(k *keys.Key, alg *string) (string, error) {
	if alg == nil || *alg == algSymmetricDefault {
		return algSymmetricDefault, nil
	}
	return "", errf(CodeInvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", *alg, k.Spec)
}

// seal encrypts under the key's newest material version.
func (s *Service) seal(ctx context.Context, e *cachedKey, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	cur := e.key.Current()
	ct, err := blob.Seal(s.rand, e.material[cur.ID], blob.Header{KeyID: e.key.ID, KeyVersion: cur.ID}, plaintext, encCtx)
	if err != nil {
		return nil, s.internal(ctx, "seal", err)
	}
	return ct, nil
}
