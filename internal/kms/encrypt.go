package kms

import (
	"context"

	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
)

// Encrypt encrypts up to 4096 bytes under a symmetric key's newest material,
// or a few hundred bytes under an RSA key with RSAES-OAEP.
func (s *Service) Encrypt(ctx context.Context, caller *Caller, req *EncryptRequest) (*EncryptResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.blob("plaintext", req.Plaintext, true, 1, 4096)
	v.grantTokens(req.GrantTokens)
	v.enum("encryptionAlgorithm", req.EncryptionAlgorithm, allEncAlgs...)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "Encrypt", *req.KeyId, keys.UsageEncryptDecrypt, withKeys(req.EncryptionContext, "kms:EncryptionAlgorithm", deref(req.EncryptionAlgorithm, algSymmetricDefault)))
	if err != nil {
		return nil, err
	}
	alg, err := checkEncryptionAlg(e.key, req.EncryptionAlgorithm, req.EncryptionContext)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	ct, err := s.encryptWith(ctx, "Encrypt", e, alg, req.Plaintext, req.EncryptionContext)
	if err != nil {
		return nil, err
	}
	out := &EncryptResponse{CiphertextBlob: ct, KeyId: e.key.ARN(), EncryptionAlgorithm: alg}
	if cur := e.key.Current(); cur != nil {
		out.KeyMaterialID = keyMaterialID(e.key, cur.ID)
	}
	return out, nil
}

// checkEncryptionAlg checks a request's EncryptionAlgorithm (default
// SYMMETRIC_DEFAULT) and encryption context against the key, and returns the
// algorithm to use.
func checkEncryptionAlg(k *keys.Key, alg *string, encCtx map[string]string) (string, error) {
	a := algSymmetricDefault
	if alg != nil {
		a = *alg
	}
	if k.Spec == keys.SpecSymmetricDefault {
		if a != algSymmetricDefault {
			return "", errf(CodeInvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", a, k.Spec)
		}
		return a, nil
	}
	if a == algSymmetricDefault {
		return "", errf(CodeInvalidKeyUsage, "Algorithm %s is incompatible with key spec %s.", a, k.Spec)
	}
	// Asymmetric algorithms have no associated data to bind a context to.
	if len(encCtx) > 0 {
		return "", errf(CodeValidation, "EncryptionContext is not supported with asymmetric KMS keys.")
	}
	return a, nil
}

// encryptWith encrypts under e's newest material with alg, already checked.
func (s *Service) encryptWith(ctx context.Context, op string, e *cachedKey, alg string, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	cur := e.key.Current()
	if isAsymmetric(e.key.Spec) {
		ct, err := e.private[cur.ID].Public().Encrypt(alg, plaintext)
		if err != nil {
			return nil, s.specError(ctx, op, err)
		}
		return ct, nil
	}
	ct, err := blob.Seal(s.rand, e.material[cur.ID], blob.Header{KeyID: e.key.ID, KeyVersion: cur.ID}, plaintext, encCtx)
	if err != nil {
		return nil, s.internal(ctx, op, err)
	}
	return ct, nil
}

// seal encrypts under a symmetric key's newest material.
func (s *Service) seal(ctx context.Context, e *cachedKey, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	return s.encryptWith(ctx, "seal", e, algSymmetricDefault, plaintext, encCtx)
}
