package kms

import (
	"context"

	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/keyspec"
)

var allDataKeyPairSpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
	"ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}

// GenerateDataKeyPair returns a new key pair: the public key, the private key
// as PKCS#8 and the private key encrypted under a symmetric KMS key.
func (s *Service) GenerateDataKeyPair(ctx context.Context, caller *Caller, req *GenerateDataKeyPairRequest) (*GenerateDataKeyPairResponse, error) {
	return s.generateDataKeyPair(ctx, caller, "GenerateDataKeyPair", req, true)
}

// GenerateDataKeyPairWithoutPlaintext is GenerateDataKeyPair without the
// plaintext private key.
func (s *Service) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, caller *Caller, req *GenerateDataKeyPairRequest) (*GenerateDataKeyPairResponse, error) {
	return s.generateDataKeyPair(ctx, caller, "GenerateDataKeyPairWithoutPlaintext", req, false)
}

func (s *Service) generateDataKeyPair(ctx context.Context, caller *Caller, op string, req *GenerateDataKeyPairRequest, withPlaintext bool) (*GenerateDataKeyPairResponse, error) {
	var v validator
	v.keyID("keyId", req.KeyId, true)
	v.required("keyPairSpec", req.KeyPairSpec != nil)
	v.enum("keyPairSpec", req.KeyPairSpec, allDataKeyPairSpecs...)
	v.grantTokens(req.GrantTokens)
	if err := v.err(); err != nil {
		return nil, err
	}
	if req.Recipient != nil {
		return nil, errf(CodeUnsupportedOperation, "Recipient (Nitro Enclaves attestation) is not supported by this server.")
	}
	if err := keyspec.CheckDataKeyPair(*req.KeyPairSpec, s.region); err != nil {
		return nil, s.specError(ctx, op, err)
	}
	e, err := s.useKey(ctx, caller, op, *req.KeyId, keys.UsageEncryptDecrypt, withKeys(req.EncryptionContext, "kms:DataKeyPairSpec", *req.KeyPairSpec))
	if err != nil {
		return nil, err
	}
	if err := checkSymmetric(e.key, op); err != nil {
		return nil, err
	}
	if err := dryRun(req.DryRun); err != nil {
		return nil, err
	}
	priv, pub, err := keyspec.GenerateDataKeyPair(*req.KeyPairSpec)
	if err != nil {
		return nil, s.specError(ctx, op, err)
	}
	ct, err := s.seal(ctx, e, priv, req.EncryptionContext)
	if err != nil {
		clear(priv)
		return nil, err
	}
	out := &GenerateDataKeyPairResponse{
		PrivateKeyCiphertextBlob: ct,
		PublicKey:                pub,
		KeyId:                    e.key.ARN(),
		KeyPairSpec:              *req.KeyPairSpec,
		KeyMaterialId:            materialID(e.key.ID, e.key.Current().ID),
	}
	if withPlaintext {
		out.PrivateKeyPlaintext = priv
	} else {
		clear(priv)
	}
	return out, nil
}

// checkSymmetric refuses keys that cannot protect data keys: only symmetric
// encryption keys can.
func checkSymmetric(k *keys.Key, op string) error {
	if k.Spec != keys.SpecSymmetricDefault {
		return errf(CodeInvalidKeyUsage, "%s key spec is %s which is not valid for %s.", k.ARN(), k.Spec, op)
	}
	return nil
}
