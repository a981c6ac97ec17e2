package sigv4

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// ErrUnknownAccessKey is returned by a Lookup, possibly wrapped, when it does
// not know the access key id. Verify turns it into an UnrecognizedClientException.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key id")

// Error types (the "__type" of an AWS JSON-protocol error) that Verify returns.
//
// They are the names AWS JSON-protocol services such as KMS, DynamoDB and
// Kinesis use. Query-protocol services (IAM, STS) name the same conditions
// MissingAuthenticationToken, IncompleteSignature, SignatureDoesNotMatch and
// InvalidClientTokenId; translating is the HTTP layer's job.
const (
	// CodeMissingAuthenticationToken: the request carries no AWS
	// authentication at all.
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// CodeIncompleteSignature: the authentication parameters are malformed
	// or incomplete.
	CodeIncompleteSignature = "IncompleteSignatureException"
	// CodeInvalidSignature: the signature is wrong, out of its time window,
	// or scoped to another region, service or day.
	CodeInvalidSignature = "InvalidSignatureException"
	// CodeUnrecognizedClient: the access key id is not known.
	CodeUnrecognizedClient = "UnrecognizedClientException"
	// CodeMalformedQueryString: the query string has a bad percent-escape,
	// so no canonical request can be built from it.
	CodeMalformedQueryString = "MalformedQueryString"
)

// Error is returned for every refusal. Code is the AWS error type, Message
// the text AWS sends with it, and Status the HTTP status AWS uses.
//
// Any other error from Verify is an internal failure (for example a Lookup
// that could not reach its store) and must not be shown to the client.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error returns the code and the message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Messages, verbatim as AWS services send them. Sources, since AWS does not
// document them: responses captured from DynamoDB and Kinesis (JSON-protocol
// services like KMS) in the comments and tests of the dynalite and
// kinesalite emulators; the error-ordering tests of scratchstack-aws-signature,
// a server-side SigV4 implementation checked against AWS; and error output
// quoted in SDK issues. Messages built from request values (date, scope,
// credential, Authorization) are written out where they are raised.
const (
	// kinesalite; aws/aws-sdk-cpp#2466 (Secrets Manager).
	msgMissingToken = "Missing Authentication Token"
	// dynalite (DynamoDB); Kinesis, CloudWatch Logs, Cognito and ECS
	// responses in SDK issues, all with status 400.
	msgUnknownKey = "The security token included in the request is invalid."
	// dynalite, scratchstack; AWS may append the canonical request and
	// string to sign it expected, which is left out here.
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	// kinesalite.
	msgBothAuth = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	// scratchstack (dynalite has DynamoDB's older "'Host' must be a
	// 'SignedHeader' in the AWS Authorization.").
	msgHostNotSigned = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	// S3's XAmzContentSHA256Mismatch text. Other services have no error of
	// their own for this; they just fail the signature.
	msgContentSHA = "The provided 'x-amz-content-sha256' header does not match what was computed."
	// S3's text for a presigned URL past X-Amz-Expires (other services
	// ignore X-Amz-Expires).
	msgRequestExpired = "Request has expired"
	// kinesalite, scratchstack.
	msgReexamineQuery = "Re-examine the query-string parameters."
	// S3 (AuthorizationQueryParametersError).
	msgExpiresNumber   = "X-Amz-Expires should be a number"
	msgExpiresNegative = "X-Amz-Expires must be non-negative"
	msgExpiresWeek     = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
	// scratchstack (MalformedQueryString).
	msgIncompleteEsc = "Incomplete trailing escape % sequence"
	msgIllegalHex    = "Illegal hex character in escape % pattern: %"
)

// Statuses: IncompleteSignature is 400 in AWS's "Common Errors" pages.
// InvalidSignatureException and UnrecognizedClientException come back as 400
// from JSON-protocol services in every report found (Kinesis, DynamoDB, ECS,
// CloudWatch Logs, Secrets Manager). MissingAuthenticationTokenException is
// 400 from DynamoDB (dynalite's tests, which also run against AWS) and
// kinesalite; the "Common Errors" pages give 403, but for the query-protocol
// MissingAuthenticationToken of IAM and STS.

func missingToken() *Error {
	return &Error{Code: CodeMissingAuthenticationToken, Message: msgMissingToken, Status: http.StatusBadRequest}
}

func incomplete(msg string) *Error {
	return &Error{Code: CodeIncompleteSignature, Message: msg, Status: http.StatusBadRequest}
}

func invalid(msg string) *Error {
	return &Error{Code: CodeInvalidSignature, Message: msg, Status: http.StatusBadRequest}
}

func unrecognized() *Error {
	return &Error{Code: CodeUnrecognizedClient, Message: msgUnknownKey, Status: http.StatusBadRequest}
}

func malformedQuery(msg string) *Error {
	return &Error{Code: CodeMalformedQueryString, Message: msg, Status: http.StatusBadRequest}
}

// amzTime is the ISO 8601 basic format of X-Amz-Date.
const amzTime = "20060102T150405Z"

// skewText formats the allowed skew the way AWS does in "Signature expired"
// messages ("5 min", "15 min"). AWS only ever uses whole minutes; other
// values are written in seconds.
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec"
}

func expiredError(t, now time.Time, skew time.Duration) *Error {
	return invalid("Signature expired: " + t.Format(amzTime) + " is now earlier than " +
		now.Add(-skew).Format(amzTime) + " (" + now.Format(amzTime) + " - " + skewText(skew) + ".)")
}

func notYetCurrentError(t, now time.Time, skew time.Duration) *Error {
	return invalid("Signature not yet current: " + t.Format(amzTime) + " is still later than " +
		now.Add(skew).Format(amzTime) + " (" + now.Format(amzTime) + " + " + skewText(skew) + ".)")
}
