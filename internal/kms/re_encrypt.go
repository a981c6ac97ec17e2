package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keys"
)

// ReEncrypt decrypts a ciphertext and encrypts the plaintext under another
// key (or the newest material of the same key) without exposing it. Either
// side may be symmetric or RSA.
func (s *Service) ReEncrypt(ctx context.Context, caller *Caller, req *ReEncryptRequest) (*ReEncryptResponse, error) {
	var v validator
	v.blob("ciphertextBlob", req.CiphertextBlob, true, 1, 6144)
	v.keyID("sourceKeyId", req.SourceKeyId, false)
	v.keyID("destinationKeyId", req.DestinationKeyId, true)
	v.enum("sourceEncryptionAlgorithm", req.SourceEncryptionAlgorithm, allEncAlgs...)
	v.enum("destinationEncryptionAlgorithm", req.DestinationEncryptionAlgorithm, allEncAlgs...)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	dst, err := s.resolve(ctx, caller, "ReEncrypt", *req.DestinationKeyId, keyOrAlias)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "ReEncryptTo", dst, withKeys(req.DestinationEncryptionContext, "kms:EncryptionAlgorithm", deref(req.DestinationEncryptionAlgorithm, algSymmetricDefault))); err != nil {
		return nil, err
	}
	if err := checkUsable(dst.key, "ReEncrypt", keys.UsageEncryptDecrypt); err != nil {
		return nil, err
	}
	dstAlg, err := checkEncryptionAlg(dst.key, req.DestinationEncryptionAlgorithm, req.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	src, err := s.decryptWith(ctx, caller, "ReEncrypt", req.CiphertextBlob, req.SourceKeyId, req.SourceEncryptionAlgorithm, req.SourceEncryptionContext, req.DryRun)
	if err != nil {
		return nil, err
	}
	defer clear(src.plaintext)
	ct, err := s.encryptWith(ctx, "ReEncrypt", dst, dstAlg, src.plaintext, req.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	return &ReEncryptResponse{
		CiphertextBlob:                 ct,
		SourceKeyId:                    src.key.key.ARN(),
		KeyId:                          dst.key.ARN(),
		SourceEncryptionAlgorithm:      src.alg,
		DestinationEncryptionAlgorithm: dstAlg,
		SourceKeyMaterialId:            keyMaterialID(src.key.key, src.version),
		DestinationKeyMaterialId:       keyMaterialID(dst.key, dst.key.Current().ID),
	}, nil
}
