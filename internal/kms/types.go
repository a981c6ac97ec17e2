package kms

import (
	"strconv"
	"time"
)

// The request and response types below mirror the AWS KMS API shapes
// member for member; their JSON names are the wire names of AWS JSON 1.1.
// Optional numbers and booleans are pointers so that "absent" and "zero" differ.

// Timestamp is a time that travels as epoch seconds, as AWS JSON 1.1 sends it.
type Timestamp time.Time

// MarshalJSON writes seconds with millisecond precision, e.g. 1700000000.123.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*t = Timestamp(time.UnixMilli(int64(f * 1000)).UTC())
	return nil
}

func ts(t time.Time) *Timestamp { v := Timestamp(t); return &v }

// Tag is a resource tag on the wire.
type Tag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

// KeyMetadata describes a key as DescribeKey returns it.
type KeyMetadata struct {
	AWSAccountId                string     `json:"AWSAccountId"`
	KeyId                       string     `json:"KeyId"`
	Arn                         string     `json:"Arn"`
	CreationDate                *Timestamp `json:"CreationDate,omitempty"`
	CurrentKeyMaterialId        string     `json:"CurrentKeyMaterialId,omitempty"`
	Enabled                     bool       `json:"Enabled"`
	Description                 string     `json:"Description"`
	KeyUsage                    string     `json:"KeyUsage"`
	KeyState                    string     `json:"KeyState"`
	DeletionDate                *Timestamp `json:"DeletionDate,omitempty"`
	PendingDeletionWindowInDays *int32     `json:"PendingDeletionWindowInDays,omitempty"`
	ValidTo                     *Timestamp `json:"ValidTo,omitempty"`
	Origin                      string     `json:"Origin"`
	ExpirationModel             string     `json:"ExpirationModel,omitempty"`
	KeyManager                  string     `json:"KeyManager"`
	CustomerMasterKeySpec       string     `json:"CustomerMasterKeySpec"`
	KeySpec                     string     `json:"KeySpec"`
	EncryptionAlgorithms        []string   `json:"EncryptionAlgorithms,omitempty"`
	SigningAlgorithms           []string   `json:"SigningAlgorithms,omitempty"`
	MacAlgorithms               []string   `json:"MacAlgorithms,omitempty"`
	KeyAgreementAlgorithms      []string   `json:"KeyAgreementAlgorithms,omitempty"`
	EncapsulationAlgorithms     []string   `json:"EncapsulationAlgorithms,omitempty"`
	MultiRegion                 bool       `json:"MultiRegion"`
}

// CreateKeyRequest is the input of CreateKey.
type CreateKeyRequest struct {
	Policy                         *string `json:"Policy"`
	Description                    *string `json:"Description"`
	KeyUsage                       *string `json:"KeyUsage"`
	CustomerMasterKeySpec          *string `json:"CustomerMasterKeySpec"`
	KeySpec                        *string `json:"KeySpec"`
	Origin                         *string `json:"Origin"`
	CustomKeyStoreId               *string `json:"CustomKeyStoreId"`
	BypassPolicyLockoutSafetyCheck *bool   `json:"BypassPolicyLockoutSafetyCheck"`
	Tags                           []Tag   `json:"Tags"`
	MultiRegion                    *bool   `json:"MultiRegion"`
	XksKeyId                       *string `json:"XksKeyId"`
}

// CreateKeyResponse is the output of CreateKey.
type CreateKeyResponse struct {
	KeyMetadata *KeyMetadata `json:"KeyMetadata"`
}

// KeyRequest is the input of the operations that take only a KeyId:
// EnableKey and DisableKey.
type KeyRequest struct {
	KeyId *string `json:"KeyId"`
}

// DescribeKeyRequest is the input of DescribeKey.
type DescribeKeyRequest struct {
	KeyId       *string  `json:"KeyId"`
	GrantTokens []string `json:"GrantTokens"`
}

// DescribeKeyResponse is the output of DescribeKey.
type DescribeKeyResponse struct {
	KeyMetadata *KeyMetadata `json:"KeyMetadata"`
}

// ListKeysRequest is the input of ListKeys.
type ListKeysRequest struct {
	Limit  *int32  `json:"Limit"`
	Marker *string `json:"Marker"`
}

// KeyListEntry is one key in ListKeys.
type KeyListEntry struct {
	KeyId  string `json:"KeyId"`
	KeyArn string `json:"KeyArn"`
}

// ListKeysResponse is the output of ListKeys.
type ListKeysResponse struct {
	Keys       []KeyListEntry `json:"Keys"`
	NextMarker string         `json:"NextMarker,omitempty"`
	Truncated  bool           `json:"Truncated"`
}

// UpdateKeyDescriptionRequest is the input of UpdateKeyDescription.
type UpdateKeyDescriptionRequest struct {
	KeyId       *string `json:"KeyId"`
	Description *string `json:"Description"`
}

// CreateAliasRequest is the input of CreateAlias.
type CreateAliasRequest struct {
	AliasName   *string `json:"AliasName"`
	TargetKeyId *string `json:"TargetKeyId"`
}

// UpdateAliasRequest is the input of UpdateAlias.
type UpdateAliasRequest struct {
	AliasName   *string `json:"AliasName"`
	TargetKeyId *string `json:"TargetKeyId"`
}

// DeleteAliasRequest is the input of DeleteAlias.
type DeleteAliasRequest struct {
	AliasName *string `json:"AliasName"`
}

// ListAliasesRequest is the input of ListAliases.
type ListAliasesRequest struct {
	KeyId  *string `json:"KeyId"`
	Limit  *int32  `json:"Limit"`
	Marker *string `json:"Marker"`
}

// AliasListEntry is one alias in ListAliases.
type AliasListEntry struct {
	AliasName       string     `json:"AliasName"`
	AliasArn        string     `json:"AliasArn"`
	TargetKeyId     string     `json:"TargetKeyId,omitempty"`
	CreationDate    *Timestamp `json:"CreationDate,omitempty"`
	LastUpdatedDate *Timestamp `json:"LastUpdatedDate,omitempty"`
}

// ListAliasesResponse is the output of ListAliases.
type ListAliasesResponse struct {
	Aliases    []AliasListEntry `json:"Aliases"`
	NextMarker string           `json:"NextMarker,omitempty"`
	Truncated  bool             `json:"Truncated"`
}

// TagResourceRequest is the input of TagResource.
type TagResourceRequest struct {
	KeyId *string `json:"KeyId"`
	Tags  []Tag   `json:"Tags"`
}

// UntagResourceRequest is the input of UntagResource.
type UntagResourceRequest struct {
	KeyId   *string  `json:"KeyId"`
	TagKeys []string `json:"TagKeys"`
}

// ListResourceTagsRequest is the input of ListResourceTags.
type ListResourceTagsRequest struct {
	KeyId  *string `json:"KeyId"`
	Limit  *int32  `json:"Limit"`
	Marker *string `json:"Marker"`
}

// ListResourceTagsResponse is the output of ListResourceTags.
type ListResourceTagsResponse struct {
	Tags       []Tag  `json:"Tags"`
	NextMarker string `json:"NextMarker,omitempty"`
	Truncated  bool   `json:"Truncated"`
}

// EncryptRequest is the input of Encrypt.
type EncryptRequest struct {
	KeyId               *string           `json:"KeyId"`
	Plaintext           []byte            `json:"Plaintext"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	GrantTokens         []string          `json:"GrantTokens"`
	EncryptionAlgorithm *string           `json:"EncryptionAlgorithm"`
	DryRun              *bool             `json:"DryRun"`
}

// EncryptResponse is the output of Encrypt.
type EncryptResponse struct {
	CiphertextBlob      []byte     `json:"CiphertextBlob"`
	KeyId               string     `json:"KeyId"`
	EncryptionAlgorithm string     `json:"EncryptionAlgorithm"`
	Facts               `json:"-"` // KeyMaterialID
}

// Recipient is a Nitro Enclaves attestation target; Keyward has no enclaves.
type Recipient struct {
	KeyEncryptionAlgorithm *string `json:"KeyEncryptionAlgorithm"`
	AttestationDocument    []byte  `json:"AttestationDocument"`
}

// DecryptRequest is the input of Decrypt.
type DecryptRequest struct {
	CiphertextBlob      []byte            `json:"CiphertextBlob"`
	EncryptionContext   map[string]string `json:"EncryptionContext"`
	GrantTokens         []string          `json:"GrantTokens"`
	KeyId               *string           `json:"KeyId"`
	EncryptionAlgorithm *string           `json:"EncryptionAlgorithm"`
	Recipient           *Recipient        `json:"Recipient"`
	DryRun              *bool             `json:"DryRun"`
	DryRunModifiers     []string          `json:"DryRunModifiers"`
}

// DecryptResponse is the output of Decrypt.
type DecryptResponse struct {
	KeyId               string `json:"KeyId"`
	Plaintext           []byte `json:"Plaintext"`
	EncryptionAlgorithm string `json:"EncryptionAlgorithm"`
	KeyMaterialId       string `json:"KeyMaterialId,omitempty"`
}

// ReEncryptRequest is the input of ReEncrypt.
type ReEncryptRequest struct {
	CiphertextBlob                 []byte            `json:"CiphertextBlob"`
	SourceEncryptionContext        map[string]string `json:"SourceEncryptionContext"`
	SourceKeyId                    *string           `json:"SourceKeyId"`
	DestinationKeyId               *string           `json:"DestinationKeyId"`
	DestinationEncryptionContext   map[string]string `json:"DestinationEncryptionContext"`
	SourceEncryptionAlgorithm      *string           `json:"SourceEncryptionAlgorithm"`
	DestinationEncryptionAlgorithm *string           `json:"DestinationEncryptionAlgorithm"`
	GrantTokens                    []string          `json:"GrantTokens"`
	DryRun                         *bool             `json:"DryRun"`
	DryRunModifiers                []string          `json:"DryRunModifiers"`
}

// ReEncryptResponse is the output of ReEncrypt.
type ReEncryptResponse struct {
	CiphertextBlob                 []byte `json:"CiphertextBlob"`
	SourceKeyId                    string `json:"SourceKeyId"`
	KeyId                          string `json:"KeyId"`
	SourceEncryptionAlgorithm      string `json:"SourceEncryptionAlgorithm"`
	DestinationEncryptionAlgorithm string `json:"DestinationEncryptionAlgorithm"`
	SourceKeyMaterialId            string `json:"SourceKeyMaterialId,omitempty"`
	DestinationKeyMaterialId       string `json:"DestinationKeyMaterialId,omitempty"`
}

// GenerateDataKeyRequest is the input of GenerateDataKey and
// GenerateDataKeyWithoutPlaintext (which has no Recipient).
type GenerateDataKeyRequest struct {
	KeyId             *string           `json:"KeyId"`
	EncryptionContext map[string]string `json:"EncryptionContext"`
	NumberOfBytes     *int32            `json:"NumberOfBytes"`
	KeySpec           *string           `json:"KeySpec"`
	GrantTokens       []string          `json:"GrantTokens"`
	Recipient         *Recipient        `json:"Recipient"`
	DryRun            *bool             `json:"DryRun"`
}

// GenerateDataKeyResponse is the output of GenerateDataKey.
type GenerateDataKeyResponse struct {
	CiphertextBlob []byte `json:"CiphertextBlob"`
	Plaintext      []byte `json:"Plaintext,omitempty"`
	KeyId          string `json:"KeyId"`
	KeyMaterialId  string `json:"KeyMaterialId,omitempty"`
}

// GenerateRandomRequest is the input of GenerateRandom.
type GenerateRandomRequest struct {
	NumberOfBytes    *int32     `json:"NumberOfBytes"`
	CustomKeyStoreId *string    `json:"CustomKeyStoreId"`
	Recipient        *Recipient `json:"Recipient"`
}

// GenerateRandomResponse is the output of GenerateRandom.
type GenerateRandomResponse struct {
	Plaintext []byte `json:"Plaintext"`
}

// Empty is the output of operations that return nothing, but for the
// audit record.
type Empty struct {
	Facts `json:"-"`
}

// Facts are what an answer tells its audit record beyond the answer itself,
// where AWS KMS logs more than it returns: the key an alias operation
// affected, the key material an Encrypt used, the grant RetireGrant
// retired. They are never sent to the client.
type Facts struct {
	KeyARN        string
	KeyMaterialID string
	GrantID       string
}

// AuditFacts returns the facts for the audit record.
func (f *Facts) AuditFacts() *Facts { return f }

// SignRequest is the input of Sign.
type SignRequest struct {
	KeyId            *string  `json:"KeyId"`
	Message          []byte   `json:"Message"`
	MessageType      *string  `json:"MessageType"`
	GrantTokens      []string `json:"GrantTokens"`
	SigningAlgorithm *string  `json:"SigningAlgorithm"`
	DryRun           *bool    `json:"DryRun"`
}

// SignResponse is the output of Sign.
type SignResponse struct {
	KeyId            string `json:"KeyId"`
	Signature        []byte `json:"Signature"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
}

// VerifyRequest is the input of Verify.
type VerifyRequest struct {
	KeyId            *string  `json:"KeyId"`
	Message          []byte   `json:"Message"`
	MessageType      *string  `json:"MessageType"`
	Signature        []byte   `json:"Signature"`
	SigningAlgorithm *string  `json:"SigningAlgorithm"`
	GrantTokens      []string `json:"GrantTokens"`
	DryRun           *bool    `json:"DryRun"`
}

// VerifyResponse is the output of Verify.
type VerifyResponse struct {
	KeyId            string `json:"KeyId"`
	SignatureValid   bool   `json:"SignatureValid"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
}

// GetPublicKeyRequest is the input of GetPublicKey.
type GetPublicKeyRequest struct {
	KeyId       *string  `json:"KeyId"`
	GrantTokens []string `json:"GrantTokens"`
}

// GetPublicKeyResponse is the output of GetPublicKey.
type GetPublicKeyResponse struct {
	KeyId                   string   `json:"KeyId"`
	PublicKey               []byte   `json:"PublicKey"`
	CustomerMasterKeySpec   string   `json:"CustomerMasterKeySpec"`
	KeySpec                 string   `json:"KeySpec"`
	KeyUsage                string   `json:"KeyUsage"`
	EncryptionAlgorithms    []string `json:"EncryptionAlgorithms,omitempty"`
	SigningAlgorithms       []string `json:"SigningAlgorithms,omitempty"`
	KeyAgreementAlgorithms  []string `json:"KeyAgreementAlgorithms,omitempty"`
	EncapsulationAlgorithms []string `json:"EncapsulationAlgorithms,omitempty"`
}

// GenerateMacRequest is the input of GenerateMac.
type GenerateMacRequest struct {
	Message      []byte   `json:"Message"`
	KeyId        *string  `json:"KeyId"`
	MacAlgorithm *string  `json:"MacAlgorithm"`
	GrantTokens  []string `json:"GrantTokens"`
	DryRun       *bool    `json:"DryRun"`
}

// GenerateMacResponse is the output of GenerateMac.
type GenerateMacResponse struct {
	Mac          []byte `json:"Mac"`
	MacAlgorithm string `json:"MacAlgorithm"`
	KeyId        string `json:"KeyId"`
}

// VerifyMacRequest is the input of VerifyMac.
type VerifyMacRequest struct {
	Message      []byte   `json:"Message"`
	KeyId        *string  `json:"KeyId"`
	MacAlgorithm *string  `json:"MacAlgorithm"`
	Mac          []byte   `json:"Mac"`
	GrantTokens  []string `json:"GrantTokens"`
	DryRun       *bool    `json:"DryRun"`
}

// VerifyMacResponse is the output of VerifyMac.
type VerifyMacResponse struct {
	KeyId        string `json:"KeyId"`
	MacValid     bool   `json:"MacValid"`
	MacAlgorithm string `json:"MacAlgorithm"`
}

// GenerateDataKeyPairRequest is the input of GenerateDataKeyPair and
// GenerateDataKeyPairWithoutPlaintext.
type GenerateDataKeyPairRequest struct {
	EncryptionContext map[string]string `json:"EncryptionContext"`
	KeyId             *string           `json:"KeyId"`
	KeyPairSpec       *string           `json:"KeyPairSpec"`
	GrantTokens       []string          `json:"GrantTokens"`
	Recipient         *Recipient        `json:"Recipient"`
	DryRun            *bool             `json:"DryRun"`
}

// GenerateDataKeyPairResponse is the output of GenerateDataKeyPair.
type GenerateDataKeyPairResponse struct {
	PrivateKeyCiphertextBlob []byte `json:"PrivateKeyCiphertextBlob"`
	PrivateKeyPlaintext      []byte `json:"PrivateKeyPlaintext,omitempty"`
	PublicKey                []byte `json:"PublicKey"`
	KeyId                    string `json:"KeyId"`
	KeyPairSpec              string `json:"KeyPairSpec"`
	KeyMaterialId            string `json:"KeyMaterialId,omitempty"`
}

// DeriveSharedSecretRequest is the input of DeriveSharedSecret.
type DeriveSharedSecretRequest struct {
	KeyId                 *string    `json:"KeyId"`
	KeyAgreementAlgorithm *string    `json:"KeyAgreementAlgorithm"`
	PublicKey             []byte     `json:"PublicKey"`
	GrantTokens           []string   `json:"GrantTokens"`
	DryRun                *bool      `json:"DryRun"`
	Recipient             *Recipient `json:"Recipient"`
}

// DeriveSharedSecretResponse is the output of DeriveSharedSecret.
type DeriveSharedSecretResponse struct {
	KeyId                 string `json:"KeyId"`
	SharedSecret          []byte `json:"SharedSecret"`
	KeyAgreementAlgorithm string `json:"KeyAgreementAlgorithm"`
	KeyOrigin             string `json:"KeyOrigin"`
}

// EnableKeyRotationRequest is the input of EnableKeyRotation.
type EnableKeyRotationRequest struct {
	KeyId                *string `json:"KeyId"`
	RotationPeriodInDays *int32  `json:"RotationPeriodInDays"`
}

// GetKeyRotationStatusResponse is the output of GetKeyRotationStatus.
type GetKeyRotationStatusResponse struct {
	KeyRotationEnabled        bool       `json:"KeyRotationEnabled"`
	KeyId                     string     `json:"KeyId"`
	RotationPeriodInDays      *int32     `json:"RotationPeriodInDays,omitempty"`
	NextRotationDate          *Timestamp `json:"NextRotationDate,omitempty"`
	OnDemandRotationStartDate *Timestamp `json:"OnDemandRotationStartDate,omitempty"`
}

// RotateKeyOnDemandResponse is the output of RotateKeyOnDemand.
type RotateKeyOnDemandResponse struct {
	KeyId string `json:"KeyId"`
}

// ListKeyRotationsRequest is the input of ListKeyRotations.
type ListKeyRotationsRequest struct {
	KeyId              *string `json:"KeyId"`
	IncludeKeyMaterial *string `json:"IncludeKeyMaterial"`
	Limit              *int32  `json:"Limit"`
	Marker             *string `json:"Marker"`
}

// RotationsListEntry is one key material in ListKeyRotations.
type RotationsListEntry struct {
	KeyId                  string     `json:"KeyId"`
	KeyMaterialId          string     `json:"KeyMaterialId,omitempty"`
	KeyMaterialDescription string     `json:"KeyMaterialDescription,omitempty"`
	ImportState            string     `json:"ImportState,omitempty"`
	KeyMaterialState       string     `json:"KeyMaterialState,omitempty"`
	ExpirationModel        string     `json:"ExpirationModel,omitempty"`
	ValidTo                *Timestamp `json:"ValidTo,omitempty"`
	RotationDate           *Timestamp `json:"RotationDate,omitempty"`
	RotationType           string     `json:"RotationType,omitempty"`

	version uint32 // for paging
}

// ListKeyRotationsResponse is the output of ListKeyRotations.
type ListKeyRotationsResponse struct {
	Rotations  []RotationsListEntry `json:"Rotations"`
	NextMarker string               `json:"NextMarker,omitempty"`
	Truncated  bool                 `json:"Truncated"`
}

// ScheduleKeyDeletionRequest is the input of ScheduleKeyDeletion.
type ScheduleKeyDeletionRequest struct {
	KeyId               *string `json:"KeyId"`
	PendingWindowInDays *int32  `json:"PendingWindowInDays"`
}

// ScheduleKeyDeletionResponse is the output of ScheduleKeyDeletion.
type ScheduleKeyDeletionResponse struct {
	KeyId               string     `json:"KeyId"`
	DeletionDate        *Timestamp `json:"DeletionDate,omitempty"`
	KeyState            string     `json:"KeyState"`
	PendingWindowInDays *int32     `json:"PendingWindowInDays,omitempty"`
}

// CancelKeyDeletionResponse is the output of CancelKeyDeletion.
type CancelKeyDeletionResponse struct {
	KeyId string `json:"KeyId"`
}

// GetParametersForImportRequest is the input of GetParametersForImport.
type GetParametersForImportRequest struct {
	KeyId             *string `json:"KeyId"`
	WrappingAlgorithm *string `json:"WrappingAlgorithm"`
	WrappingKeySpec   *string `json:"WrappingKeySpec"`
}

// GetParametersForImportResponse is the output of GetParametersForImport.
type GetParametersForImportResponse struct {
	KeyId             string     `json:"KeyId"`
	ImportToken       []byte     `json:"ImportToken"`
	PublicKey         []byte     `json:"PublicKey"`
	ParametersValidTo *Timestamp `json:"ParametersValidTo"`
}

// ImportKeyMaterialRequest is the input of ImportKeyMaterial.
type ImportKeyMaterialRequest struct {
	KeyId                  *string    `json:"KeyId"`
	ImportToken            []byte     `json:"ImportToken"`
	EncryptedKeyMaterial   []byte     `json:"EncryptedKeyMaterial"`
	ValidTo                *Timestamp `json:"ValidTo"`
	ExpirationModel        *string    `json:"ExpirationModel"`
	ImportType             *string    `json:"ImportType"`
	KeyMaterialDescription *string    `json:"KeyMaterialDescription"`
	KeyMaterialId          *string    `json:"KeyMaterialId"`
}

// ImportKeyMaterialResponse is the output of ImportKeyMaterial.
type ImportKeyMaterialResponse struct {
	KeyId         string `json:"KeyId"`
	KeyMaterialId string `json:"KeyMaterialId,omitempty"`
}

// DeleteImportedKeyMaterialRequest is the input of DeleteImportedKeyMaterial.
type DeleteImportedKeyMaterialRequest struct {
	KeyId         *string `json:"KeyId"`
	KeyMaterialId *string `json:"KeyMaterialId"`
}

// DeleteImportedKeyMaterialResponse is the output of DeleteImportedKeyMaterial.
type DeleteImportedKeyMaterialResponse struct {
	KeyId         string `json:"KeyId"`
	KeyMaterialId string `json:"KeyMaterialId,omitempty"`
}

// EncapsulateRequest is the input of Encapsulate.
type EncapsulateRequest struct {
	KeyId                  *string  `json:"KeyId"`
	EncapsulationAlgorithm *string  `json:"EncapsulationAlgorithm"`
	GrantTokens            []string `json:"GrantTokens"`
	DryRun                 *bool    `json:"DryRun"`
}

// EncapsulateResponse is the output of Encapsulate.
type EncapsulateResponse struct {
	KeyId                      string `json:"KeyId"`
	SharedSecret               []byte `json:"SharedSecret"`
	SharedSecretCiphertextBlob []byte `json:"SharedSecretCiphertextBlob"`
	EncapsulationAlgorithm     string `json:"EncapsulationAlgorithm"`
}

// DecapsulateRequest is the input of Decapsulate.
type DecapsulateRequest struct {
	KeyId                      *string  `json:"KeyId"`
	SharedSecretCiphertextBlob []byte   `json:"SharedSecretCiphertextBlob"`
	EncapsulationAlgorithm     *string  `json:"EncapsulationAlgorithm"`
	GrantTokens                []string `json:"GrantTokens"`
	DryRun                     *bool    `json:"DryRun"`
}

// DecapsulateResponse is the output of Decapsulate.
type DecapsulateResponse struct {
	KeyId                  string `json:"KeyId"`
	SharedSecret           []byte `json:"SharedSecret"`
	EncapsulationAlgorithm string `json:"EncapsulationAlgorithm"`
}
