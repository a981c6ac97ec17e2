package kms

import "fmt"

// Error is a failure a client is meant to see: Code is the AWS error type
// (the "__type" on the wire) and Message is AWS's text. The HTTP layer maps
// Code to a status in one table; the core never thinks about HTTP.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The AWS KMS error types raised by the core.
const (
	CodeAlreadyExists        = "AlreadyExistsException"
	CodeDisabled             = "DisabledException"
	CodeDryRun               = "DryRunOperationException"
	CodeIncorrectKey         = "IncorrectKeyException"
	CodeInternal             = "KMSInternalException"
	CodeInvalidAliasName     = "InvalidAliasNameException"
	CodeInvalidArn           = "InvalidArnException"
	CodeInvalidCiphertext    = "InvalidCiphertextException"
	CodeInvalidKeyUsage      = "InvalidKeyUsageException"
	CodeInvalidSignature     = "KMSInvalidSignatureException"
	CodeInvalidMac           = "KMSInvalidMacException"
	CodeInvalidMarker        = "InvalidMarkerException"
	CodeMalformedPolicy      = "MalformedPolicyDocumentException"
	CodeInvalidGrantToken    = "InvalidGrantTokenException"
	CodeInvalidGrantID       = "InvalidGrantIdException"
	CodeInvalidState         = "KMSInvalidStateException"
	CodeLimitExceeded        = "LimitExceededException"
	CodeNotAuthorized        = "NotAuthorizedException"
	CodeNotFound             = "NotFoundException"
	CodeTag                  = "TagException"
	CodeUnsupportedOperation = "UnsupportedOperationException"
	CodeValidation           = "ValidationException"
	CodeAccessDenied         = "AccessDeniedException"
)

func errf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errInvalidCiphertext is the one answer to every decryption failure. Its
// message is empty, as AWS's is, so that nothing about the cause leaks.
var errInvalidCiphertext = &Error{Code: CodeInvalidCiphertext}
