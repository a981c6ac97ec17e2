package kms

import "context"

// DescribeKey returns a key's metadata. It accepts every form of KeyId.
func (s *Service) DescribeKey(ctx context.Context, caller *Caller, req *DescribeKeyRequest) (*DescribeKeyResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.resolve(ctx, caller, "DescribeKey", *req.KeyId, keyOrAlias)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(caller, "DescribeKey", e, nil); err != nil {
		return nil, err
	}
	return &DescribeKeyResponse{KeyMetadata: s.metadata(e.key)}, nil
}
