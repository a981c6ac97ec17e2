package iam

import "fmt"

// Error is a failure a client is meant to see: Code is the IAM or STS error
// code of the Query protocol ("NoSuchEntity") and Message AWS's text. The
// HTTP layer maps Code to the status AWS uses, in one table.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes raised by this package, as IAM and STS name them.
const (
	CodeNoSuchEntity            = "NoSuchEntity"            // 404
	CodeEntityAlreadyExists     = "EntityAlreadyExists"     // 409
	CodeDeleteConflict          = "DeleteConflict"          // 409
	CodeLimitExceeded           = "LimitExceeded"           // 409
	CodeValidation              = "ValidationError"         // 400
	CodeInvalidInput            = "InvalidInput"            // 400
	CodeMalformedPolicyDocument = "MalformedPolicyDocument" // 400
	CodeAccessDenied            = "AccessDenied"            // 403
)

func errf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// validation builds AWS's "1 validation error detected: ..." message.
func validation(value, field, constraint string) *Error {
	return &Error{Code: CodeValidation, Message: "1 validation error detected: Value '" + value + "' at '" + field +
		"' failed to satisfy constraint: Member must " + constraint}
}

// required is AWS's message for a missing required parameter.
func required(field string) *Error {
	return &Error{Code: CodeValidation, Message: "1 validation error detected: Value null at '" + field +
		"' failed to satisfy constraint: Member must not be null"}
}
