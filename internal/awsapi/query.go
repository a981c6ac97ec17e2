package awsapi

// The AWS Query protocol door: IAM and STS on the same endpoint as KMS.
//
// A Query request is POST / with Content-Type
// application/x-www-form-urlencoded and a body such as
// "Action=CreateUser&Version=2010-05-08&UserName=bob" (or, for presigned
// STS calls, GET /?Action=GetCallerIdentity&... with the signature in the
// query string). The Action names the operation; IAM actions are signed for
// SigV4 service "iam" and STS actions for "sts". Responses and errors are
// XML in the shapes IAM and STS send.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/sigv4"
)

// queryService is IAM or STS.
type queryService struct {
	name      string // SigV4 service name
	version   string // API version, the Version parameter
	namespace string // XML namespace of responses
	internal  string // error code of an internal failure
}

var (
	iamService = &queryService{name: "iam", version: "2010-05-08", namespace: "https://iam.amazonaws.com/doc/2010-05-08/", internal: "ServiceFailure"}
	stsService = &queryService{name: "sts", version: "2011-06-15", namespace: "https://sts.amazonaws.com/doc/2011-06-15/", internal: "InternalFailure"}
)

// queryOp is one Query operation. call returns the content of the
// <ActionResult> element, or nil for operations that answer without one.
type queryOp struct {
	svc  *queryService
	call func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error)
}

const (
	// queryBody bounds a Query request body: a 131072-character policy
	// document, percent-encoded, with room to spare.
	queryBody    = 512 << 10
	queryTimeout = 10 * time.Second
	// globalRegion is where AWS's global IAM and STS endpoints sign. SDKs
	// pointed at a custom endpoint sign with their configured region (seen
	// with aws-sdk-go-v2 and the AWS CLI), which the server's verifier
	// accepts; tools that hard-code the global endpoint's region are
	// accepted too.
	globalRegion = "us-east-1"
)

// queryDoor holds the state of the Query door.
type queryDoor struct {
	once   sync.Once
	global *sigv4.Verifier
	err    error
}

// globalVerifier verifies requests signed for us-east-1 when the server is
// configured for another region. It uses the default clock-skew window.
func (h *Handler) globalVerifier() (*sigv4.Verifier, error) {
	h.query.once.Do(func() {
		h.query.global, h.query.err = sigv4.New(SecretLookup(h.dir), sigv4.Options{Region: globalRegion, MaxSkew: h.maxSkew})
	})
	return h.query.global, h.query.err
}

// isQuery reports whether r speaks the Query protocol rather than AWS JSON.
func isQuery(r *http.Request) bool {
	if r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	switch r.Method {
	case http.MethodPost:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return err == nil && mt == "application/x-www-form-urlencoded"
	case http.MethodGet:
		return strings.Contains(r.URL.RawQuery, "Action=")
	}
	return false
}

// Error codes of the door itself, beside iam's.
const (
	codeInvalidAction = "InvalidAction"
	codeMissingAction = "MissingAction"
	codeMalformedQS   = "MalformedQueryString"
)

// serveQuery handles one Query request and reports what it answered.
func (h *Handler) serveQuery(w http.ResponseWriter, r *http.Request, reqID string) (opName string, status int, code string) {
	svc := iamService
	fail := func(err error) (string, int, string) {
		st, c := h.writeQueryError(w, reqID, svc, opName, err)
		return opName, st, c
	}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, queryBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return fail(&iam.Error{Code: iam.CodeValidation, Message: fmt.Sprintf("Request body exceeds the limit of %d bytes.", queryBody)})
			}
			return fail(&iam.Error{Code: iam.CodeValidation, Message: "Could not read request body."})
		}
	}
	p, err := parseParams(r.URL.RawQuery, body)
	if err != nil {
		return fail(err)
	}
	opName = p.get("Action")
	version := p.get("Version")
	op, known := queryOps[opName]
	switch {
	case known:
		svc = op.svc
	case version == stsService.version:
		svc = stsService
	}

	res, principal, err := h.verifyQuery(r, body, svc.name)
	if err != nil {
		return fail(err)
	}
	switch {
	case opName == "":
		return fail(&iam.Error{Code: codeMissingAction, Message: "The request must contain the parameter Action."})
	case !known || version != "" && version != svc.version:
		return fail(&iam.Error{Code: codeInvalidAction, Message: "Could not find operation " + opName + " for version " + cmp.Or(version, svc.version)})
	}

	caller := &iam.Caller{Principal: principal, AccessKeyID: res.AccessKeyID, SourceIP: sourceIP(r), SecureTransport: r.TLS != nil}
	noteQueryCaller(w, svc.name, caller) // for the audit record (audit.go)
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	result, err := op.call(ctx, h.dir, caller, p)
	if err != nil {
		return fail(err)
	}
	out, err := encodeQueryResponse(svc, opName, reqID, result)
	if err != nil {
		return fail(err)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return opName, http.StatusOK, ""
}

// verifyQuery authenticates a Query request, accepting a signature scoped to
// us-east-1 as well as to the server's region.
func (h *Handler) verifyQuery(r *http.Request, body []byte, service string) (sigv4.Result, iam.Principal, error) {
	res, p, err := h.verifyPrincipal(r, body, service, h.verifier)
	var se *sigv4.Error
	if errors.As(err, &se) && strings.Contains(se.Message, "Credential should be scoped to a valid region, not '"+globalRegion+"'.") {
		v, verr := h.globalVerifier()
		if verr != nil {
			return sigv4.Result{}, iam.Principal{}, verr
		}
		return h.verifyPrincipal(r, body, service, v)
	}
	return res, p, err
}

// queryStatuses maps Query error codes to AWS's HTTP statuses; codes not
// listed are 400.
var queryStatuses = map[string]int{
	iam.CodeNoSuchEntity:         http.StatusNotFound,
	iam.CodeEntityAlreadyExists:  http.StatusConflict,
	iam.CodeDeleteConflict:       http.StatusConflict,
	iam.CodeLimitExceeded:        http.StatusConflict,
	iam.CodeAccessDenied:         http.StatusForbidden,
	"InvalidClientTokenId":       http.StatusForbidden,
	"SignatureDoesNotMatch":      http.StatusForbidden,
	"MissingAuthenticationToken": http.StatusForbidden,
	"ExpiredToken":               http.StatusForbidden,
	codeMalformedQS:              http.StatusNotFound,
	"ServiceFailure":             http.StatusInternalServerError,
	"InternalFailure":            http.StatusInternalServerError,
}

// sigv4Query translates the verifier's (AWS JSON) error types to the names
// Query-protocol services use for the same conditions, with their messages
// (IAM and STS API references, "Common Errors").
var sigv4Query = map[string]struct{ code, msg string }{
	sigv4.CodeMissingAuthenticationToken: {"MissingAuthenticationToken", "Request is missing Authentication Token"},
	sigv4.CodeIncompleteSignature:        {"IncompleteSignature", ""},
	sigv4.CodeInvalidSignature:           {"SignatureDoesNotMatch", ""},
	sigv4.CodeUnrecognizedClient:         {"InvalidClientTokenId", "The security token included in the request is invalid."},
	codeExpiredToken:                     {"ExpiredToken", "The security token included in the request is expired"},
	sigv4.CodeMalformedQueryString:       {codeMalformedQS, ""},
}

// writeQueryError is the one place where errors become Query error responses.
func (h *Handler) writeQueryError(w http.ResponseWriter, reqID string, svc *queryService, opName string, err error) (int, string) {
	var code, msg string
	var ierr *iam.Error
	var serr *sigv4.Error
	switch {
	case errors.As(err, &ierr):
		code, msg = ierr.Code, ierr.Message
	case errors.As(err, &serr):
		code, msg = serr.Code, serr.Message
		if t, ok := sigv4Query[code]; ok {
			code = t.code
			if t.msg != "" {
				msg = t.msg
			}
		}
	case err == errUnrecorded: // logged by logFailure
		code, msg = svc.internal, "The request processing has failed because of an unknown error, exception or failure."
	case errors.Is(err, context.DeadlineExceeded):
		h.log.Error("timeout", "id", reqID, "op", opName, "err", err)
		code, msg = svc.internal, "The request processing has failed because of an unknown error, exception or failure."
	default:
		h.log.Error("internal error", "id", reqID, "op", opName, "err", err)
		code, msg = svc.internal, "The request processing has failed because of an unknown error, exception or failure."
	}
	status, ok := queryStatuses[code]
	if !ok {
		status = http.StatusBadRequest
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + svc.namespace + `"><Error><Type>` + typ + `</Type><Code>`)
	b.WriteString(xmlText.Replace(code))
	b.WriteString(`</Code><Message>`)
	b.WriteString(xmlText.Replace(msg))
	b.WriteString(`</Message></Error><RequestId>` + reqID + `</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write(b.Bytes())
	return status, code
}

// xmlText escapes character data. Unlike xml.EscapeText it leaves quotes
// alone, as AWS does ("Credential should be scoped to correct service: 'iam'.").
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// encodeQueryResponse writes <ActionResponse><ActionResult>result
// </ActionResult><ResponseMetadata>...</ActionResponse>.
func encodeQueryResponse(svc *queryService, action, reqID string, result any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`<` + action + `Response xmlns="` + svc.namespace + `">`)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	b.WriteString(`<ResponseMetadata><RequestId>` + reqID + `</RequestId></ResponseMetadata></` + action + `Response>`)
	return b.Bytes(), nil
}

// params are the parameters of a Query request: the body's, then the URL's.
type params struct {
	v url.Values
}

func parseParams(rawQuery string, body []byte) (params, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return params{}, &iam.Error{Code: codeMalformedQS, Message: "The request body is not a valid form-encoded parameter list."}
	}
	if rawQuery != "" {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return params{}, &iam.Error{Code: codeMalformedQS, Message: "The query string is not a valid parameter list."}
		}
		for k, vs := range q {
			v[k] = append(v[k], vs...)
		}
	}
	return params{v: v}, nil
}

// get returns the first value of name, "" if absent.
func (p params) get(name string) string { return p.v.Get(name) }

func (p params) has(name string) bool { return p.v.Has(name) }

// int returns an integer parameter, 0 if absent. field names it in AWS's
// validation messages (maxItems, durationSeconds).
func (p params) int(name, field string) (int, error) {
	s := p.get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &iam.Error{Code: iam.CodeValidation, Message: "1 validation error detected: Value '" + s + "' at '" + field + "' failed to satisfy constraint: Member must be a number"}
	}
	return n, nil
}

// maxListMembers bounds the members read from a list parameter.
const maxListMembers = 1000

// list reads the members prefix.1, prefix.2, ... ("TagKeys.member").
func (p params) list(prefix string) []string {
	var out []string
	for i := 1; i <= maxListMembers; i++ {
		k := prefix + "." + strconv.Itoa(i)
		if !p.has(k) {
			break
		}
		out = append(out, p.get(k))
	}
	return out
}

// tags reads Tags.member.N.Key and Tags.member.N.Value.
func (p params) tags() []iam.Tag {
	var out []iam.Tag
	for i := 1; i <= maxListMembers; i++ {
		k := "Tags.member." + strconv.Itoa(i)
		if !p.has(k+".Key") && !p.has(k+".Value") {
			break
		}
		out = append(out, iam.Tag{Key: p.get(k + ".Key"), Value: p.get(k + ".Value")})
	}
	return out
}

func (p params) listInput() (*iam.ListInput, error) {
	n, err := p.int("MaxItems", "maxItems")
	if err != nil {
		return nil, err
	}
	return &iam.ListInput{PathPrefix: p.get("PathPrefix"), Marker: p.get("Marker"), MaxItems: n}, nil
}

// queryOps is the static table of Query operations: IAM's in query_iam.go,
// STS's in query_sts.go.
var queryOps = func() map[string]queryOp {
	m := map[string]queryOp{}
	for k, v := range iamOps {
		m[k] = queryOp{svc: iamService, call: v}
	}
	for k, v := range stsOps {
		m[k] = queryOp{svc: stsService, call: v}
	}
	return m
}()

type opFunc = func(ctx context.Context, d *iam.Directory, c *iam.Caller, p params) (any, error)

// XML shapes shared by IAM and STS.

// isoTime is how IAM and STS write times.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// members is a list as the Query protocol writes it: <member> elements.
// Unlike a bare slice it writes an empty element for an empty list, as AWS
// does.
type members[T any] struct {
	Member []T `xml:"member"`
}
