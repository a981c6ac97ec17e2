package kms

import (
	"context"
	"errors"

	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// Decrypt decrypts a ciphertext made by Encrypt, GenerateDataKey or ReEncrypt.
// Every failure of the ciphertext itself is the same opaque
// InvalidCiphertextException, so that a caller learns nothing from it.
func (s *Service) Decrypt(ctx context.Context, caller *Caller, req *DecryptRequest) (*DecryptResponse, error) {
	var v validator
	v.blob("ciphertextBlob", req.CiphertextBlob, true, 1, 6144)
	v.grantTokens(req.GrantTokens)
	v.keyID("keyId", req.KeyId, false)
	v.enum("encryptionAlgorithm", req.EncryptionAlgorithm, allEncAlgs...)
	if err := v.err(); err != nil {
		return nil, err
	}
	if req.Recipient != nil {
		return nil, errf(CodeUnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	e, version, err := s.ciphertextKey(ctx, caller, "Decrypt", req.CiphertextBlob, req.KeyId)
	if err != nil {
		return nil, err
	}
	if err := checkUsable(e.key, "Decrypt", keys.UsageEncryptDecrypt); err != nil {
		return nil, err
	}
	alg, err := symmetricAlg(e.key, req.EncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	pt, err := s.open(e, version, req.CiphertextBlob, req.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &DecryptResponse{KeyId: e.key.ARN(), Plaintext: pt, EncryptionAlgorithm: alg, KeyMaterialId: materialID(e.key.ID, version)}, nil
}

// ciphertextKey finds the key a ciphertext was made under. If the request
// names a key, it must be that key (IncorrectKeyException otherwise).
func (s *Service) ciphertextKey(ctx context.Context, caller *Caller, op string, ct []byte, keyID *string) (*cachedKey, uint32, error) {
	h, err := blob.ParseHeader(ct)
	if err != nil {
		return nil, 0, errInvalidCiphertext
	}
	if keyID != nil {
		named, err := s.resolve(ctx, caller, op, *keyID, keyOrAlias)
		if err != nil {
			return nil, 0, err
		}
		if named.key.ID != h.KeyID {
			return nil, 0, errf(CodeIncorrectKey, "The key ID in the request does not identify a CMK that can perform this operation.")
		}
	}
	e, err := s.getKey(ctx, h.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		// A forged or mangled key id must look like any other tampering.
		return nil, 0, errInvalidCiphertext
	} else if err != nil {
		return nil, 0, s.internal(ctx, op, err)
	}
	if e.key.Account != caller.Account {
		return nil, 0, errf(CodeAccessDenied, "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
	}
	if _, ok := e.material[h.KeyVersion]; !ok {
		return nil, 0, errInvalidCiphertext
	}
	return e, h.KeyVersion, nil
}

// open authenticates and decrypts a ciphertext with one material version.
func (s *Service) open(e *cachedKey, version uint32, ct []byte, encCtx map[string]string) ([]byte, error) {
	pt, err := blob.Open(e.material[version], ct, encCtx)
	if err != nil {
		return nil, errInvalidCiphertext
	}
	return pt, nil
}
