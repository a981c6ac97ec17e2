package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keyspec"
)

var (
	allSigningAlgs = []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
		"RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512",
		"SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512"}
	allMessageTypes = []string{"RAW", "DIGEST", "EXTERNAL_MU"}
)

// Sign signs a message or digest with an asymmetric SIGN_VERIFY key.
func (s *Service) Sign(ctx context.Context, caller *Caller, req *SignRequest) (*SignResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.blob("message", req.Message, true, 1, 4096)
	v.enum("messageType", req.MessageType, allMessageTypes...)
	v.grantTokens(req.GrantTokens)
	v.required("signingAlgorithm", req.SigningAlgorithm != nil)
	v.enum("signingAlgorithm", req.SigningAlgorithm, allSigningAlgs...)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "Sign", *req.KeyId, "SIGN_VERIFY", withKeys(nil, "kms:SigningAlgorithm", *req.SigningAlgorithm, "kms:MessageType", messageType(req.MessageType)))
	if err != nil {
		return nil, err
	}
	priv := e.private[e.key.Current().ID]
	if err := s.dryRunSigning(ctx, "Sign", priv.Public(), *req.SigningAlgorithm, req.MessageType, req.Message, req.DryRun); err != nil {
		return nil, err
	}
	sig, err := priv.Sign(*req.SigningAlgorithm, messageType(req.MessageType), req.Message)
	if err != nil {
		return nil, s.specError(ctx, "Sign", err)
	}
	return &SignResponse{KeyId: e.key.ARN(), Signature: sig, SigningAlgorithm: *req.SigningAlgorithm}, nil
}

// dryRunSigning answers a DryRun Sign or Verify only after the algorithm,
// message type and digest checks a real call makes, by verifying an empty
// signature: keyspec checks the request before it looks at the signature.
func (s *Service) dryRunSigning(ctx context.Context, op string, pub *keyspec.PublicKey, alg string, mt *string, msg []byte, dry *bool) error {
	if dry == nil || !*dry {
		return nil
	}
	if _, err := pub.Verify(alg, messageType(mt), msg, nil); err != nil {
		return s.specError(ctx, op, err)
	}
	return dryRun(dry)
}

func messageType(mt *string) string {
	if mt == nil {
		return keyspec.MessageRaw
	}
	return *mt
}

// Verify checks a signature with the public half of a SIGN_VERIFY key. A
// signature that does not verify is KMSInvalidSignatureException, with no
// message, as AWS answers.
func (s *Service) Verify(ctx context.Context, caller *Caller, req *VerifyRequest) (*VerifyResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.blob("message", req.Message, true, 1, 4096)
	v.enum("messageType", req.MessageType, allMessageTypes...)
	v.blob("signature", req.Signature, true, 1, 6144)
	v.required("signingAlgorithm", req.SigningAlgorithm != nil)
	v.enum("signingAlgorithm", req.SigningAlgorithm, allSigningAlgs...)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	e, err := s.useKey(ctx, caller, "Verify", *req.KeyId, "SIGN_VERIFY", withKeys(nil, "kms:SigningAlgorithm", *req.SigningAlgorithm, "kms:MessageType", messageType(req.MessageType)))
	if err != nil {
		return nil, err
	}
	pub := e.private[e.key.Current().ID].Public()
	if err := s.dryRunSigning(ctx, "Verify", pub, *req.SigningAlgorithm, req.MessageType, req.Message, req.DryRun); err != nil {
		return nil, err
	}
	ok, err := pub.Verify(*req.SigningAlgorithm, messageType(req.MessageType), req.Message, req.Signature)
	if err != nil {
		return nil, s.specError(ctx, "Verify", err)
	}
	if !ok {
		return nil, &Error{Code: CodeInvalidSignature}
	}
	return &VerifyResponse{KeyId: e.key.ARN(), SignatureValid: true, SigningAlgorithm: *req.SigningAlgorithm}, nil
}
