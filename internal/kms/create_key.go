package kms

import (
	"context"
	"encoding/json"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/keyspec"
	"github.com/keyward/keyward/internal/policy"
	"github.com/keyward/keyward/internal/store"
)

// Enumerations from the AWS KMS API model, used for validation messages.
var (
	allKeySpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2",
		"ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"}
	allCMKSpecs = []string{"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521",
		"ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"}
	allKeyUsages    = []string{"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"}
	allOrigins      = []string{"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}
	allEncAlgs      = []string{"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"}
	allDataKeySpecs = []string{"AES_256", "AES_128"}
)

// maxTags is AWS KMS's limit of tags per key.
const maxTags = 50

// CreateKey creates a KMS key in the caller's account.
func (s *Service) CreateKey(ctx context.Context, caller *Caller, req *CreateKeyRequest) (*CreateKeyResponse, error) {
	var v validator
	v.str("policy", req.Policy, 1, 131072, nil)
	v.str("description", req.Description, 0, 8192, nil)
	v.enum("keyUsage", req.KeyUsage, allKeyUsages...)
	v.enum("customerMasterKeySpec", req.CustomerMasterKeySpec, allCMKSpecs...)
	v.enum("keySpec", req.KeySpec, allKeySpecs...)
	v.enum("origin", req.Origin, allOrigins...)
	v.str("customKeyStoreId", req.CustomKeyStoreId, 1, 64, nil)
	v.str("xksKeyId", req.XksKeyId, 1, 128, nil)
	v.tags(req.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	if req.KeySpec != nil && req.CustomerMasterKeySpec != nil {
		return nil, errf(CodeValidation, "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.")
	}
	spec := keys.SpecSymmetricDefault
	if req.KeySpec != nil {
		spec = *req.KeySpec
	} else if req.CustomerMasterKeySpec != nil {
		spec = *req.CustomerMasterKeySpec
	}
	usage := ""
	if req.KeyUsage != nil {
		usage = *req.KeyUsage
	}
	if err := keyspec.Check(keyspec.Spec(spec), keyspec.Usage(usage), s.region); err != nil {
		return nil, s.specError(ctx, "CreateKey", err)
	}
	if usage == "" {
		usage = keys.UsageEncryptDecrypt
	}
	origin := keys.OriginAWSKMS
	if req.Origin != nil {
		origin = *req.Origin
	}
	if origin == keys.OriginExternal {
		if err := checkImportSpec(spec); err != nil {
			return nil, err
		}
	} else if origin != keys.OriginAWSKMS {
		return nil, errf(CodeUnsupportedOperation, "Origin %s is not supported by this server yet.", origin)
	}
	if req.CustomKeyStoreId != nil || req.XksKeyId != nil {
		return nil, errf(CodeUnsupportedOperation, "Custom key stores are not supported by this server yet.")
	}
	if req.MultiRegion != nil && *req.MultiRegion {
		return nil, errf(CodeUnsupportedOperation, "Multi-Region keys are not supported by this server.")
	}
	if err := checkTags(req.Tags, nil); err != nil {
		return nil, err
	}
	az := tagAuthz(req.Tags, nil)
	tagSet := az.set
	az.set = func(r *policy.Request) {
		tagSet(r)
		r.Set("kms:KeySpec", spec)
		r.Set("kms:KeyUsage", usage)
		r.Set("kms:KeyOrigin", origin)
		r.Set("kms:MultiRegion", "false")
		if b := boolStr(req.BypassPolicyLockoutSafetyCheck); b != "" {
			r.Set("kms:BypassPolicyLockoutSafetyCheck", b)
		}
	}
	if err := s.authorizeAccount(caller, "CreateKey", az); err != nil {
		return nil, err
	}

	now := s.timeNow()
	k := &keys.Key{
		ID:          keys.NewID(),
		Account:     caller.Account,
		Region:      s.region,
		Created:     now,
		State:       keys.Enabled,
		Spec:        spec,
		Usage:       usage,
		Origin:      origin,
		MultiRegion: false,
	}
	if req.Description != nil {
		k.Description = *req.Description
	}
	if req.Policy != nil {
		if _, err := s.parseKeyPolicy(caller, *req.Policy, req.BypassPolicyLockoutSafetyCheck, k.ARN(), k.Account); err != nil {
			return nil, err
		}
		k.Policy = *req.Policy
	} else {
		k.Policy = string(policy.DefaultKeyPolicy(arn.Partition(k.Region), k.Account))
	}
	for _, t := range req.Tags {
		k.Tags = append(k.Tags, keys.Tag{Key: t.TagKey, Value: t.TagValue})
	}
	if origin == keys.OriginExternal {
		// No material until ImportKeyMaterial (see import_key_material.go).
		k.State = keys.PendingImport
	} else {
		material, err := s.newMaterial(spec)
		if err != nil {
			return nil, s.specError(ctx, "CreateKey", err)
		}
		err = s.addVersion(k, now, material)
		clear(material)
		if err != nil {
			return nil, s.internal(ctx, "CreateKey", err)
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		return nil, s.internal(ctx, "CreateKey", err)
	}
	err = s.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(keyPath(k.ID), b); err != nil {
			return err
		}
		return tx.Put(acctKeyPath(k.Account, k.ID), nil)
	})
	if err != nil {
		return nil, s.internal(ctx, "CreateKey", err)
	}
	return &CreateKeyResponse{KeyMetadata: s.metadata(k)}, nil
}

// newMaterial generates backing material for a key spec: 256 random bits
// for symmetric keys, a PKCS#8 private key or an HMAC key otherwise.
func (s *Service) newMaterial(spec string) ([]byte, error) {
	if spec == keys.SpecSymmetricDefault {
		m := make([]byte, 32)
		if _, err := s.rand.Read(m); err != nil {
			return nil, err
		}
		return m, nil
	}
	return keyspec.Generate(keyspec.Spec(spec))
}

// addVersion wraps material under the root key and appends it to k as the
// newest version.
func (s *Service) addVersion(k *keys.Key, now time.Time, material []byte) error {
	var id uint32 = 1
	if c := k.Current(); c != nil {
		id = c.ID + 1
	}
	wrapped, err := s.wrapper.Wrap(material, keys.MaterialAAD(k.ID, id))
	if err != nil {
		return err
	}
	k.Versions = append(k.Versions, keys.Version{ID: id, Created: now, Wrapped: wrapped})
	return nil
}
