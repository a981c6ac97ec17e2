package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keys"
)

// ReEncrypt decrypts a ciphertext and encrypts the plaintext under another
// key (or the newest material of the same key) without exposing it.
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
	src, version, err := s.ciphertextKey(ctx, caller, "ReEncrypt", req.CiphertextBlob, req.SourceKeyId)
	if err != nil {
		return nil, err
	}
	if err := checkUsable(src.key, "ReEncrypt", keys.UsageEncryptDecrypt); err != nil {
		return nil, err
	}
	srcAlg, err := symmetricAlg(src.key, req.SourceEncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	dst, err := s.resolve(ctx, caller, "ReEncrypt", *req.DestinationKeyId, keyOrAlias)
	if err != nil {
		return nil, err
	}
	if err := checkUsable(dst.key, "ReEncrypt", keys.UsageEncryptDecrypt); err != nil {
		return nil, err
	}
	dstAlg, err := symmetricAlg(dst.key, req.DestinationEncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	pt, err := s.open(src, version, req.CiphertextBlob, req.SourceEncryptionContext)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	ct, err := s.seal(ctx, dst, pt, req.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	return &ReEncryptResponse{
		CiphertextBlob:                 ct,
		SourceKeyId:                    src.key.ARN(),
		KeyId:                          dst.key.ARN(),
		SourceEncryptionAlgorithm:      srcAlg,
		DestinationEncryptionAlgorithm: dstAlg,
		SourceKeyMaterialId:            materialID(src.key.ID, version),
		DestinationKeyMaterialId:       materialID(dst.key.ID, dst.key.Current().ID),
	}, nil
}
