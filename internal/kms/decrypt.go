package kms

import (
	"context"
	"errors"

	"github.com/keyward/keyward/internal/blob"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/store"
)

// Decrypt decrypts a ciphertext made by Encrypt, GenerateDataKey, ReEncrypt
// or, for RSA keys, by anyone holding the public key. Every failure of the
// ciphertext itself is the same opaque InvalidCiphertextException, so that a
// caller learns nothing from it.
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
	d, err := s.decryptWith(ctx, caller, "Decrypt", req.CiphertextBlob, req.KeyId, req.EncryptionAlgorithm, req.EncryptionContext, req.DryRun)
	if err != nil {
		return nil, err
	}
	return &DecryptResponse{KeyId: d.key.key.ARN(), Plaintext: d.plaintext, EncryptionAlgorithm: d.alg, KeyMaterialId: keyMaterialID(d.key.key, d.version)}, nil
}

// decrypted is the result of decryptWith.
type decrypted struct {
	key       *cachedKey
	version   uint32
	alg       string
	plaintext []byte
}

// decryptWith finds the key of a ciphertext and decrypts it. A symmetric
// ciphertext names its key in its header; if the request also names a key,
// it must be that key (IncorrectKeyException otherwise). An RSA ciphertext
// carries nothing, so the request must name its key.
func (s *Service) decryptWith(ctx context.Context, caller *Caller, op string, ct []byte, keyID, alg *string, encCtx map[string]string, dry *bool) (*decrypted, error) {
	// ReEncrypt needs kms:ReEncryptFrom on the source key, Decrypt kms:Decrypt.
	authOp := op
	if op == "ReEncrypt" {
		authOp = "ReEncryptFrom"
	}
	az := withKeys(encCtx, "kms:EncryptionAlgorithm", deref(alg, algSymmetricDefault))
	var named *cachedKey
	if keyID != nil {
		var err error
		if named, err = s.resolve(ctx, caller, op, *keyID, keyOrAlias); err != nil {
			return nil, err
		}
	}
	if named != nil && isAsymmetric(named.key.Spec) {
		if err := s.authorize(caller, authOp, named, az); err != nil {
			return nil, err
		}
		if err := checkUsable(named.key, op, keys.UsageEncryptDecrypt); err != nil {
			return nil, err
		}
		a, err := checkEncryptionAlg(named.key, alg, encCtx)
		if err != nil {
			return nil, err
		}
		if err := dryRun(dry); err != nil {
			return nil, err
		}
		cur := named.key.Current()
		pt, err := named.private[cur.ID].Decrypt(a, ct)
		if err != nil {
			return nil, s.specError(ctx, op, err)
		}
		return &decrypted{key: named, version: cur.ID, alg: a, plaintext: pt}, nil
	}

	h, err := blob.ParseHeader(ct)
	if err != nil {
		return nil, errInvalidCiphertext
	}
	if named != nil && named.key.ID != h.KeyID {
		return nil, errf(CodeIncorrectKey, "The key ID in the request does not identify a CMK that can perform this operation.")
	}
	e, err := s.getKey(ctx, h.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		// A forged or mangled key id must look like any other tampering.
		return nil, errInvalidCiphertext
	} else if err != nil {
		return nil, s.internal(ctx, op, err)
	}
	if err := s.authorize(caller, authOp, e, az); err != nil {
		if e.key.Account != caller.Account {
			return nil, errf(CodeAccessDenied, "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
		}
		return nil, err
	}
	if e.key.Spec != keys.SpecSymmetricDefault {
		return nil, errInvalidCiphertext
	}
	if err := checkUsable(e.key, op, keys.UsageEncryptDecrypt); err != nil {
		return nil, err
	}
	a, err := checkEncryptionAlg(e.key, alg, encCtx)
	if err != nil {
		return nil, err
	}
	if err := dryRun(dry); err != nil {
		return nil, err
	}
	material, ok := e.material[h.KeyVersion]
	if !ok {
		return nil, errInvalidCiphertext
	}
	pt, err := blob.Open(material, ct, encCtx)
	if err != nil {
		return nil, errInvalidCiphertext
	}
	return &decrypted{key: e, version: h.KeyVersion, alg: a, plaintext: pt}, nil
}
