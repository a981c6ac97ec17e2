package awsapi

// The audit hook: one CloudTrail record per API request, durable before any
// byte of the response leaves.
//
// ServeHTTP hands the doors an exchange instead of the real ResponseWriter.
// The exchange keeps the status and body the door produces and captures the
// request body as the door reads it; once the door returns, record builds
// the event, appends it (Append returns when the record is on disk), and
// only then writes the held response. If Append fails the client gets an
// internal error instead: no request succeeds unlogged, and with no
// audit.Log configured every API request fails.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/kms"
)

// AuditConfig configures a Handler's audit trail.
type AuditConfig struct {
	// Log receives one record per API request, durable before the response
	// is written. Required: without it every API request answers with an
	// internal error, since no request may succeed unlogged.
	Log *audit.Log
	// Dir is the log's directory, which LookupEvents reads.
	Dir string
	// Usage, if set, learns every successful cryptographic operation, for
	// GetKeyLastUsage.
	Usage *UsageIndex
	// Unrecorded, if set, keeps the record of a request that took effect
	// (it succeeded and is not read-only) when Append failed, the log
	// having stopped while the request ran, for the owner to add to the
	// trail once it can. The client still gets KMSInternalException.
	Unrecorded func(ctx context.Context, e *audit.Event) error
}

// Event sources, as CloudTrail names the services.
const (
	sourceKMS        = audit.EventSourceKMS
	sourceCloudTrail = "cloudtrail.amazonaws.com"
	sourceIAM        = "iam.amazonaws.com"
	sourceSTS        = "sts.amazonaws.com"
)

// What Keyward writes where CloudTrail writes "AWS Internal": the identity,
// address and user agent of something the service did on its own.
const awsInternal = "AWS Internal"

var errNoAuditLog = errors.New("awsapi: no audit log configured; refusing to serve unlogged")

// exchange stands in for the ResponseWriter while a door handles a request.
// It holds the response until the request's record is durable, captures the
// request body as the door reads it, and carries what the door learned
// about the caller. Exchanges are pooled.
type exchange struct {
	w      http.ResponseWriter
	status int
	out    []byte // the response body, held back
	in     []byte // the request body, as far as the door read it
	inFull bool   // in was cut at maxCapture
	body   captureBody

	source   string      // event source, if the door said
	caller   *kms.Caller // KMS and CloudTrail callers
	qcaller  *iam.Caller // IAM and STS callers
	resource [2]audit.Resource
	result   any // the core's answer to a KMS request that succeeded
}

// maxCapture bounds the request body kept for the record; a larger body is
// logged without requestParameters.
const maxCapture = 1 << 20

var exchangePool = sync.Pool{New: func() any {
	x := &exchange{out: make([]byte, 0, 1024), in: make([]byte, 0, 1024)}
	x.body.x = x
	return x
}}

func newExchange(w http.ResponseWriter, r *http.Request) *exchange {
	x := exchangePool.Get().(*exchange)
	x.w = w
	if r.Body != nil {
		x.body.r = r.Body
		r.Body = &x.body
	}
	return x
}

func (x *exchange) release() {
	out, in := x.out, x.in
	if cap(out) > 64<<10 {
		out = make([]byte, 0, 1024)
	}
	if cap(in) > 64<<10 {
		in = make([]byte, 0, 1024)
	}
	*x = exchange{out: out[:0], in: in[:0]}
	x.body.x = x
	exchangePool.Put(x)
}

// Header returns the real writer's header map: nothing is sent until commit.
func (x *exchange) Header() http.Header { return x.w.Header() }

func (x *exchange) WriteHeader(status int) {
	if x.status == 0 {
		x.status = status
	}
}

func (x *exchange) Write(p []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	x.out = append(x.out, p...)
	return len(p), nil
}

// captureBody copies what the door reads of the request body.
type captureBody struct {
	r io.ReadCloser
	x *exchange
}

func (c *captureBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if x := c.x; len(x.in)+n <= maxCapture {
		x.in = append(x.in, p[:n]...)
	} else {
		x.inFull = true
	}
	return n, err
}

func (c *captureBody) Close() error { return c.r.Close() }

// noteCaller tells the audit hook who the authenticated caller is.
func noteCaller(w http.ResponseWriter, c *kms.Caller) {
	if x, ok := w.(*exchange); ok {
		x.caller = c
	}
}

// noteResult keeps the core's answer for the record: some of what AWS KMS
// logs is not in the answer's wire form (kms.Facts).
func noteResult(w http.ResponseWriter, resp any) {
	if x, ok := w.(*exchange); ok {
		x.result = resp
	}
}

// noteQueryCaller is noteCaller for IAM and STS; service is "iam" or "sts".
func noteQueryCaller(w http.ResponseWriter, service string, c *iam.Caller) {
	if x, ok := w.(*exchange); ok {
		x.qcaller = c
		x.source = service + ".amazonaws.com"
	}
}

// noteSource tells the audit hook which service a request is for.
func noteSource(w http.ResponseWriter, source string) {
	if x, ok := w.(*exchange); ok {
		x.source = source
	}
}

// serveLogged runs the doors for one request and reports what they
// answered. A door that panics is answered, and so recorded, as an internal
// error, rather than leaving the request unlogged.
func (h *Handler) serveLogged(x *exchange, r *http.Request, reqID string) (opName string, status int, code string) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		h.log.Error("panic serving request", "id", reqID, "panic", p, "stack", string(debug.Stack()))
		x.status, x.out = 0, x.out[:0]
		err := fmt.Errorf("panic: %v", p)
		if isQuery(r) {
			opName = parseAction(r.URL.RawQuery, x.in)
			svc := iamService
			if querySource(opName, x.in) == sourceSTS {
				svc = stsService
			}
			status, code = h.writeQueryError(x, reqID, svc, opName, err)
			return
		}
		opName = targetOp(r)
		status, code = h.writeError(x, r, reqID, opName, err)
	}()
	return h.serveAPI(x, r, reqID)
}

func parseAction(rawQuery string, body []byte) string {
	p, err := parseParams(rawQuery, body)
	if err != nil {
		return ""
	}
	return p.get("Action")
}

// record writes the audit record of the request whose response x holds,
// then sends the response, or an internal error if the record could not be
// made durable. It returns the status and error code actually sent.
func (h *Handler) record(x *exchange, r *http.Request, reqID, opName string, status int, code string) (int, string) {
	// CloudTrail's eventTime is when the request was completed, not when
	// it arrived: the record-contents reference says so, and it keeps the
	// times in the trail, which is in completion order, nearly ordered.
	completed := time.Now()
	if x.status == 0 { // a door that wrote nothing
		x.status = status
	}
	status = x.status
	source := x.source
	query := false
	if source == "" {
		source = sourceKMS
		if isQuery(r) {
			query = true
			source = querySource(opName, x.in)
		}
	} else if source == sourceIAM || source == sourceSTS {
		query = true
	}
	x.source = source
	name := eventName(opName)
	ok := status < 300

	ev := audit.Event{
		EventTime:       completed,
		EventSource:     source,
		EventName:       name,
		AWSRegion:       h.aud.region,
		SourceIPAddress: sourceIP(r),
		UserAgent:       truncate(r.UserAgent(), 1024),
		RequestID:       reqID,
		EventID:         keys.NewID(), // made here, not by Append: GetKeyLastUsage reports it
		EventType:       audit.TypeAPICall,
	}
	if r.TLS != nil {
		ev.TLSDetails = &audit.TLSDetails{
			TLSVersion:               tlsVersion(r.TLS.Version),
			CipherSuite:              cipherSuiteName(r.TLS.CipherSuite),
			ClientProvidedHostHeader: r.Host,
		}
	}
	switch {
	case x.caller != nil:
		ev.UserIdentity = identity(x.caller)
		ev.RecipientAccountID = x.caller.Account
	case x.qcaller != nil:
		c := &kms.Caller{Account: x.qcaller.Account, ARN: x.qcaller.ARN, AccessKeyID: x.qcaller.AccessKeyID,
			UserID: x.qcaller.UserID, Type: x.qcaller.Type, UserName: x.qcaller.UserName, RoleARN: x.qcaller.RoleARN,
			SessionCreated: x.qcaller.SessionCreated}
		ev.UserIdentity = identity(c)
		ev.RecipientAccountID = c.Account
	default:
		// Not authenticated: record what the request claims, and file it
		// with the account whose key it names, if that key exists.
		ev.UserIdentity.Type = "Unknown"
		if akid := claimedAccessKey(r); akid != "" {
			ev.UserIdentity.AccessKeyID = akid
			if h.dir != nil {
				if _, p, err := h.dir.Lookup(r.Context(), akid); err == nil {
					ev.RecipientAccountID = p.Account
				}
			}
		}
	}
	if !ok {
		ev.ErrorCode = code
		ev.ErrorMessage = truncate(redactSignature(errorMessage(x.out, query)), 2048)
	}

	body := x.in
	if x.inFull {
		body = nil
	}
	switch {
	case source == sourceKMS:
		rt, routed := routes[name]
		ev.ReadOnly = routed && rt.readOnly
		if body != nil {
			ev.RequestParameters = kmsRequestParameters(name, body)
		}
		if ok {
			if re, err := audit.ResponseElements(name, x.out); err == nil {
				ev.ResponseElements = re
			}
		}
		ev.Resources = keyResources(x.resource[:0], ok, x.out, ev.RequestParameters, h.aud.region, ev.RecipientAccountID)
		if len(ev.Resources) == 0 {
			ev.Resources = nil // no resources field
			if name == "GenerateRandom" {
				// "Because this operation doesn't use an AWS KMS key,
				// the resources field is empty": AWS logs it as [].
				ev.Resources = []audit.Resource{}
			}
		}
		if ok {
			h.addFacts(&ev, name, x.result, body)
		}
	case source == sourceCloudTrail:
		// Of the CloudTrail API only LookupEvents is built; the calls
		// refused as unsupported are logged without parameters, and
		// read-only as CloudTrail logs them (Describe, Get, List, Lookup).
		ev.ReadOnly = readOnlyName(name)
		if body != nil && name == "LookupEvents" {
			ev.RequestParameters = lookupEventsParameters(body)
		}
	case query:
		ev.ReadOnly = readOnlyName(name)
		if body != nil || r.URL.RawQuery != "" {
			ev.RequestParameters = queryParameters(r.URL.RawQuery, body)
		}
	}

	// A successful use of a key is noted in the usage index right after
	// its record is durable; the gate keeps a snapshot of the index from
	// falling between the two (see UsageIndex.Snapshot).
	track := ok && source == sourceKMS && h.aud.usage != nil && kms.TrackedOperations[name]
	if track {
		h.aud.usage.gate.RLock()
	}
	err := errNoAuditLog
	var appendStart time.Time
	if h.aud.log != nil {
		appendStart = time.Now()
		// Not the request's context: a client that hangs up must not
		// leave a request it made, and that may have changed state,
		// unrecorded. Append always answers once the writer has tried.
		err = h.aud.log.Append(context.Background(), &ev)
		h.metrics.appended(time.Since(appendStart), err)
	}
	if track {
		if err == nil {
			h.aud.usage.note(name, completed, ev.EventID, reqID, ev.Resources)
		}
		h.aud.usage.gate.RUnlock() // before the answer: a slow reader must not hold Snapshot up
	}
	if err != nil {
		// The record may not be durable, so the answer must not leave.
		h.aud.logFailure(h.log, reqID, name, err)
		if ok && !ev.ReadOnly && h.aud.unrecorded != nil {
			// But the request took effect: keep its record for the trail.
			if kerr := h.aud.unrecorded(context.Background(), &ev); kerr != nil {
				h.log.Error("audit: a request took effect, and its record could be neither appended nor kept", "id", reqID, "op", name, "err", kerr)
			} else {
				h.log.Warn("audit: a request took effect while the audit log failed; its record is kept for the next start to add to the trail", "id", reqID, "op", name)
			}
		}
		clear(x.w.Header())
		x.w.Header().Set("x-amzn-RequestId", reqID)
		return h.writeUnrecorded(x.w, r, reqID, name, query, source)
	}
	x.w.WriteHeader(status)
	x.w.Write(x.out)
	return status, code
}

// ServiceEvent records something Keyward did on its own, such as deleting a
// key whose waiting period ended or rotating a key, as an AwsServiceEvent
// on the key keyARN of account. It returns once the record is durable.
//
// details is the record's serviceEventDetails, or nil.
func (h *Handler) ServiceEvent(ctx context.Context, name, keyARN, account string, details json.RawMessage) error {
	if h.aud.log == nil {
		return errNoAuditLog
	}
	ev := audit.Event{
		EventSource:         sourceKMS,
		EventName:           name,
		AWSRegion:           h.aud.region,
		SourceIPAddress:     awsInternal,
		UserAgent:           awsInternal,
		UserIdentity:        audit.UserIdentity{AccountID: account, InvokedBy: awsInternal},
		EventType:           audit.TypeServiceCall,
		RecipientAccountID:  account,
		ServiceEventDetails: details,
	}
	if keyARN != "" {
		ev.Resources = []audit.Resource{{AccountID: arn.Account(keyARN), Type: audit.ResourceTypeKey, ARN: keyARN}}
		if name == "DeleteKey" {
			// AWS has logged the deleted key's ARN here since December 2022.
			ev.ResponseElements, _ = json.Marshal(map[string]string{"keyId": keyARN})
		}
	}
	return h.aud.log.Append(ctx, &ev)
}

// auditor is the Handler's audit state.
type auditor struct {
	region     string
	log        *audit.Log
	dir        string
	usage      *UsageIndex
	unrecorded func(context.Context, *audit.Event) error

	lastStopLine atomic.Int64  // when logFailure last logged a stopped log (unix ns)
	unlogged     atomic.Uint64 // refusals since that line
}

// identity is CloudTrail's userIdentity for an authenticated caller.
func identity(c *kms.Caller) audit.UserIdentity {
	u := audit.UserIdentity{
		Type:        c.Type,
		PrincipalID: c.UserID,
		ARN:         c.ARN,
		AccountID:   c.Account,
		AccessKeyID: c.AccessKeyID,
	}
	if u.Type == "" && arn.IsAccountRoot(c.ARN, c.Account) {
		u.Type = iam.TypeRoot
	}
	switch u.Type {
	case iam.TypeRoot:
		if u.PrincipalID == "" {
			u.PrincipalID = c.Account
		}
	case iam.TypeUser:
		u.UserName = c.UserName
	case iam.TypeAssumedRole:
		roleID, _, _ := strings.Cut(c.UserID, ":")
		u.SessionContext = &audit.SessionContext{
			SessionIssuer: &audit.SessionIssuer{
				Type:        "Role",
				PrincipalID: roleID,
				ARN:         c.RoleARN,
				AccountID:   c.Account,
				UserName:    c.RoleARN[strings.LastIndexByte(c.RoleARN, '/')+1:],
			},
			Attributes: audit.SessionAttributes{CreationDate: c.SessionCreated.UTC()},
		}
	}
	return u
}

// claimedAccessKey returns the access key id an unauthenticated request
// names in its Authorization header or X-Amz-Credential parameter, if it
// looks like one.
func claimedAccessKey(r *http.Request) string {
	var cred string
	if a := r.Header.Get("Authorization"); a != "" {
		_, after, ok := strings.Cut(a, "Credential=")
		if !ok {
			return ""
		}
		cred = after
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	akid, _, _ := strings.Cut(cred, "/")
	if len(akid) < 16 || len(akid) > 128 {
		return ""
	}
	for i := 0; i < len(akid); i++ {
		if c := akid[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return ""
		}
	}
	return akid
}

// eventName is the operation as recorded: what the client asked for when
// it is a plausible operation name, else "UnknownOperation", so that a
// client cannot write arbitrary text into the eventName column.
func eventName(op string) string {
	if op == "" || len(op) > 64 {
		return "UnknownOperation"
	}
	for i := 0; i < len(op); i++ {
		c := op[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '.' && c != '-' {
			return "UnknownOperation"
		}
	}
	return op
}

// querySource is the event source of a Query request that failed before
// its door knew the caller.
func querySource(action string, body []byte) string {
	if op, ok := queryOps[action]; ok {
		return op.svc.name + ".amazonaws.com"
	}
	if bytes.Contains(body, []byte("Version="+stsService.version)) {
		return sourceSTS
	}
	return sourceIAM
}

// kmsRequestParameters is requestParameters for a KMS request: the fields
// audit.RequestParameters keeps, and for the few operations it has no list
// for, the same kind of list here.
func kmsRequestParameters(op string, body []byte) json.RawMessage {
	p, _ := audit.RequestParameters(op, body) // an operation audit has no list for logs none
	return p
}

// queryLoggable lists the IAM and STS parameters a record may carry, with
// CloudTrail's names. Secrets never appear in Query requests (secret keys
// and session tokens travel only in responses, which are not logged), but
// the list keeps unknown parameters out all the same.
var queryLoggable = map[string]string{
	"UserName": "userName", "NewUserName": "newUserName", "RoleName": "roleName", "RoleArn": "roleArn",
	"RoleSessionName": "roleSessionName", "DurationSeconds": "durationSeconds", "PolicyName": "policyName",
	"PolicyArn": "policyArn", "PolicyDocument": "policyDocument", "AssumeRolePolicyDocument": "assumeRolePolicyDocument",
	"Path": "path", "PathPrefix": "pathPrefix", "NewPath": "newPath", "AccessKeyId": "accessKeyId", "Status": "status",
	"Marker": "marker", "MaxItems": "maxItems", "Description": "description", "MaxSessionDuration": "maxSessionDuration",
	"AccountId": "accountId", "Policy": "policy",
}

func queryParameters(rawQuery string, body []byte) json.RawMessage {
	p, err := parseParams(rawQuery, body)
	if err != nil {
		return nil
	}
	m := map[string]any{}
	for k, vs := range p.v {
		if name, ok := queryLoggable[k]; ok && len(vs) > 0 {
			m[name] = truncate(vs[0], 32<<10)
		}
	}
	if len(m) == 0 {
		return nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return out
}

// keyResources returns the KMS keys a request used, as CloudTrail's
// resources element, appending to dst. A successful response names the key
// by ARN (KeyId, SourceKeyId, KeyMetadata.Arn); otherwise the request's key
// id or key ARN is used. Aliases are not resolved.
func keyResources(dst []audit.Resource, ok bool, resp []byte, params json.RawMessage, region, account string) []audit.Resource {
	add := func(keyARN string) {
		for _, r := range dst {
			if r.ARN == keyARN {
				return
			}
		}
		dst = append(dst, audit.Resource{AccountID: arn.Account(keyARN), Type: audit.ResourceTypeKey, ARN: keyARN})
	}
	if ok && len(resp) > 0 && bytes.IndexByte(resp[1:], '{') < 0 && bytes.IndexByte(resp, '[') < 0 {
		// A flat object (every cryptographic operation's response): no
		// member can hide inside another, so a plain search finds the
		// top-level ones, quicker than walking a long ciphertext.
		if s := flatString(resp, `"SourceKeyId":"`); isKeyARN(s) {
			add(s)
		}
		if s := flatString(resp, `"KeyId":"`); isKeyARN(s) {
			add(s)
		}
		if len(dst) > 0 {
			return dst
		}
	} else if ok && len(resp) > 0 {
		if v := member(resp, "SourceKeyId"); v != nil {
			if s := jsonString(v); isKeyARN(s) {
				add(s)
			}
		}
		if v := member(resp, "KeyId"); v != nil {
			if s := jsonString(v); isKeyARN(s) {
				add(s)
			}
		}
		if v := member(resp, "KeyMetadata"); v != nil {
			if s := jsonString(member(v, "Arn")); isKeyARN(s) {
				add(s)
			}
		}
		if len(dst) > 0 {
			return dst
		}
	}
	if len(params) == 0 {
		return dst
	}
	for _, name := range [...]string{"keyId", "sourceKeyId", "destinationKeyId", "targetKeyId"} {
		v := member(params, name)
		if v == nil {
			continue
		}
		s := jsonString(v)
		switch {
		case isKeyARN(s):
			add(s)
		case keys.IsKeyID(s) && account != "":
			add(keys.KeyARN(region, account, s))
		}
	}
	return dst
}

// flatString returns the string value after prefix (`"Name":"`) in a flat
// JSON object, or "" if there is none or it holds escapes.
func flatString(b []byte, prefix string) string {
	i := bytes.Index(b, []byte(prefix))
	if i < 0 {
		return ""
	}
	v := b[i+len(prefix):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return ""
	}
	return string(v[:j])
}

// isKeyARN reports whether s is arn:PARTITION:kms:<region>:<account>:key/<id>.
func isKeyARN(s string) bool {
	rest, ok := strings.CutPrefix(s, "arn:")
	p := strings.IndexByte(rest, ':')
	if !ok || p <= 0 {
		return false
	}
	if rest, ok = strings.CutPrefix(rest[p+1:], "kms:"); !ok {
		return false
	}
	i := strings.IndexByte(rest, ':')
	if i <= 0 {
		return false
	}
	rest = rest[i+1:]
	j := strings.IndexByte(rest, ':')
	return j > 0 && strings.HasPrefix(rest[j+1:], "key/") && len(rest) > j+5
}

// errorMessage extracts the message of an error response body: the
// "message" of an AWS JSON error, the <Message> of a Query error.
func errorMessage(body []byte, query bool) string {
	if query {
		_, after, ok := bytes.Cut(body, []byte("<Message>"))
		if !ok {
			return ""
		}
		msg, _, _ := bytes.Cut(after, []byte("</Message>"))
		s := string(msg)
		if strings.IndexByte(s, '&') >= 0 {
			r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&apos;", "'", "&#x9;", "\t", "&#xA;", "\n", "&#xD;", "\r")
			s = r.Replace(s)
		}
		return s
	}
	return jsonString(member(body, "message"))
}

// redactSignature cuts the signature out of an error message that quotes
// an Authorization header: within the skew window a signature could be
// replayed by anyone who reads the log.
func redactSignature(msg string) string {
	const tag = "Signature="
	i := strings.Index(msg, tag)
	if i < 0 {
		return msg
	}
	j := i + len(tag)
	for j < len(msg) && (msg[j] >= '0' && msg[j] <= '9' || msg[j] >= 'a' && msg[j] <= 'f' || msg[j] >= 'A' && msg[j] <= 'F') {
		j++
	}
	return msg[:i+len(tag)] + "<redacted>" + redactSignature(msg[j:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return tls.VersionName(v)
}

// cipherSuiteName names a cipher suite as CloudTrail's tlsDetails do:
// OpenSSL's names (ECDHE-RSA-AES128-GCM-SHA256) for TLS 1.2 suites, which
// for TLS 1.3 suites are the IANA names Go uses too.
func cipherSuiteName(id uint16) string {
	if name, ok := opensslSuiteNames[id]; ok {
		return name
	}
	return tls.CipherSuiteName(id)
}

// opensslSuiteNames covers every TLS 1.2 suite crypto/tls implements
// (TestCipherSuiteNames checks both that and the names, against the
// openssl command where it has the suite).
var opensslSuiteNames = map[uint16]string{
	tls.TLS_RSA_WITH_RC4_128_SHA:                      "RC4-SHA",
	tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 "DES-CBC3-SHA",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA:                  "AES128-SHA",
	tls.TLS_RSA_WITH_AES_256_CBC_SHA:                  "AES256-SHA",
	tls.TLS_RSA_WITH_AES_128_CBC_SHA256:               "AES128-SHA256",
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA:              "ECDHE-ECDSA-RC4-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
	tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA:                "ECDHE-RSA-RC4-SHA",
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           "ECDHE-RSA-DES-CBC3-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:       "ECDHE-ECDSA-AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         "ECDHE-RSA-AES128-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
}

// member returns the raw value of the top-level member name of the JSON
// object b, or nil.
func member(b []byte, name string) []byte { return audit.Member(b, name) }

// jsonString returns the JSON string v as a Go string, "" if v is not one.
func jsonString(v []byte) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return ""
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// UsageIndex remembers, for each key, the last successful cryptographic
// operation the audit trail records, so that GetKeyLastUsage answers
// without reading files. It implements kms.UsageSource and is safe for
// concurrent use.
type UsageIndex struct {
	// gate is held for reading by each request from its Append to its
	// note, and for writing by Snapshot: so a snapshot never sees a
	// durable record whose use is not noted yet.
	gate  sync.RWMutex
	mu    sync.RWMutex
	last  map[string]kms.Usage // by key ARN
	start time.Time
}

var _ kms.UsageSource = (*UsageIndex)(nil)

// NewUsageIndex returns an empty index; Load fills it from the trail.
func NewUsageIndex() *UsageIndex {
	return &UsageIndex{last: map[string]kms.Usage{}}
}

// Load fills the index from the audit log in dir, whose identity is logID
// (audit.Log.ID). With a snapshot that Snapshot made of this log, it reads
// only the records after the snapshot; otherwise (none, another log, or one
// that does not parse) every record, in one pass whose cost grows with the
// retained trail. Tracking starts at the oldest record, or at now for an
// empty trail. It returns the number of records it read.
func (u *UsageIndex) Load(dir, logID string, snapshot []byte, now time.Time) (int, error) {
	var after uint64
	var start time.Time
	var snap usageSnapshot
	if len(snapshot) > 0 && json.Unmarshal(snapshot, &snap) == nil && snap.LogID == logID && logID != "" && snap.Seq > 0 {
		after, start = snap.Seq, snap.Start
		u.mu.Lock()
		for arn, us := range snap.Last {
			u.last[arn] = us
		}
		u.mu.Unlock()
	}
	read := 0
	var bad error
	// A few fields of each record, picked out without decoding the rest:
	// a start after a crash reads up to a save interval's worth of
	// records, a minute of 10,000 requests a second, and a full decode
	// took 23 µs a record (BenchmarkUsageIndexLoad).
	err := audit.ScanAfter(dir, after, func(seq uint64, raw []byte) bool {
		var source, name, typ, eventID, reqID, at, resources []byte
		failed := false
		if bad = audit.Members(raw, func(k, v []byte) {
			switch string(k) {
			case "eventSource":
				source = v
			case "eventName":
				name = v
			case "eventType":
				typ = v
			case "eventID":
				eventID = v
			case "requestID":
				reqID = v
			case "eventTime":
				at = v
			case "resources":
				resources = v
			case "errorCode":
				failed = true
			}
		}); bad != nil {
			bad = fmt.Errorf("%w: record %d: %v", audit.ErrCorrupt, seq, bad)
			return false
		}
		if string(source) != `"`+sourceKMS+`"` {
			return true
		}
		read++
		t, err := time.Parse(time.RFC3339, jsonString(at))
		if err != nil {
			bad = fmt.Errorf("%w: record %d: eventTime: %v", audit.ErrCorrupt, seq, err)
			return false
		}
		if start.IsZero() {
			start = t
		}
		op := jsonString(name)
		if failed || string(typ) != `"`+audit.TypeAPICall+`"` || !kms.TrackedOperations[op] {
			return true
		}
		var rs []audit.Resource
		if err := json.Unmarshal(resources, &rs); err != nil && resources != nil {
			bad = fmt.Errorf("%w: record %d: resources: %v", audit.ErrCorrupt, seq, err)
			return false
		}
		u.note(op, t, jsonString(eventID), jsonString(reqID), rs)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return read, err
	}
	if start.IsZero() {
		start = now
	}
	u.mu.Lock()
	u.start = start
	u.mu.Unlock()
	return read, nil
}

// usageSnapshot is the index as Snapshot saves it.
type usageSnapshot struct {
	LogID string               `json:"logId"`
	Seq   uint64               `json:"seq"`
	Start time.Time            `json:"start"`
	Last  map[string]kms.Usage `json:"last"`
}

// Snapshot returns the index, for a later Load, as covering the records of
// log logID up to lastSeq(), the log's last durable record. It may run
// while requests are served: it waits for those between their Append and
// their note (holding new ones back meanwhile, for about one group
// commit), so every use recorded up to that point is in the index.
func (u *UsageIndex) Snapshot(logID string, lastSeq func() uint64) ([]byte, error) {
	u.gate.Lock()
	seq := lastSeq()
	u.mu.RLock()
	snap := usageSnapshot{LogID: logID, Seq: seq, Start: u.start, Last: maps.Clone(u.last)}
	u.mu.RUnlock()
	u.gate.Unlock()
	return json.Marshal(snap)
}

// note records a successful cryptographic operation on the keys rs.
func (u *UsageIndex) note(op string, t time.Time, eventID, reqID string, rs []audit.Resource) {
	u.mu.Lock()
	for _, r := range rs {
		if r.Type != audit.ResourceTypeKey {
			continue
		}
		if old, ok := u.last[r.ARN]; ok && old.Time.After(t) {
			continue
		}
		u.last[r.ARN] = kms.Usage{Time: t, Operation: op, EventID: eventID, RequestID: reqID}
	}
	u.mu.Unlock()
}

// LastUsage implements kms.UsageSource.
func (u *UsageIndex) LastUsage(_ context.Context, keyARN string) (kms.Usage, bool, error) {
	u.mu.RLock()
	us, ok := u.last[keyARN]
	u.mu.RUnlock()
	return us, ok, nil
}

// TrackingStart implements kms.UsageSource.
func (u *UsageIndex) TrackingStart() time.Time {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.start
}

// errUnrecorded is what the error writers get for a request whose record
// could not be written: KMSInternalException (or the Query services'
// InternalFailure), opaque, with the cause logged once by logFailure.
var errUnrecorded = errors.New("awsapi: request not recorded")

func (h *Handler) writeUnrecorded(w http.ResponseWriter, r *http.Request, reqID, op string, query bool, source string) (int, string) {
	if query {
		svc := iamService
		if source == sourceSTS {
			svc = stsService
		}
		return h.writeQueryError(w, reqID, svc, op, errUnrecorded)
	}
	return h.writeError(w, r, reqID, op, errUnrecorded)
}

// refuse answers a request that arrived while no new work may be recorded
// (auditor.err). It must not take effect, so its door never runs. Nor is
// it recorded: with a stopped log it cannot be, and with a full disk the
// space left is kept for the records of the requests admitted before (a
// request already past the check when the disk fills writes its record
// into that reserve; see audit/prealloc.go). A write error is different:
// a request past the check when the log stops still takes effect, and its
// client gets KMSInternalException, as after any internal error; its record
// goes to AuditConfig.Unrecorded, for the trail at the next start.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, reqID, op string, err error) (int, string) {
	h.aud.logFailure(h.log, reqID, op, err)
	return h.writeUnrecorded(w, r, reqID, op, isQuery(r), querySource(op, nil))
}

// err reports why no new work can be recorded now: there is no audit log,
// it stopped after a write error, or its disk is full (audit.Log.Err).
func (a *auditor) err() error {
	if a.log == nil {
		return errNoAuditLog
	}
	return a.log.Err()
}

// refusedOp names the operation of a request that is refused unread, for
// its metrics and the server's log.
func refusedOp(r *http.Request) string {
	if isQuery(r) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(r.Body, smallBody))
		}
		return parseAction(r.URL.RawQuery, body)
	}
	return targetOp(r)
}

// targetOp is the operation an AWS JSON request names in X-Amz-Target (the
// part after the last dot), whether or not it is one Keyward serves.
func targetOp(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	return t[strings.LastIndexByte(t, '.')+1:]
}

// SnapshotMark returns the log and the last record that a saved index
// covers (see Snapshot): records that were durable when it was saved. It is
// the zero Mark for an empty snapshot or one that does not parse.
func SnapshotMark(snapshot []byte) audit.Mark {
	var snap usageSnapshot
	if len(snapshot) == 0 || json.Unmarshal(snapshot, &snap) != nil {
		return audit.Mark{}
	}
	return audit.Mark{LogID: snap.LogID, Seq: snap.Seq}
}

// stopLineEvery spaces the log lines about a stopped audit log.
const stopLineEvery = 10 * time.Second

// logFailure logs a failed append. Once the log has stopped, every request
// fails the same way, at the request rate: one line every stopLineEvery,
// counting the refusals since the last, tells the operator without flooding
// the log (/healthz and keyward_audit_broken say it too).
func (a *auditor) logFailure(log *slog.Logger, reqID, op string, err error) {
	var what string
	switch {
	case errors.Is(err, audit.ErrBroken), errors.Is(err, errNoAuditLog):
		what = "audit append failed: the audit log has stopped, and every request is refused with an internal error until the server restarts"
	case errors.Is(err, audit.ErrNoSpace):
		what = "audit log out of disk space: new requests are refused with an internal error until space is freed"
	default:
		log.Error("audit append failed; answering with an internal error", "id", reqID, "op", op, "err", err)
		return
	}
	now := time.Now().UnixNano()
	last := a.lastStopLine.Load()
	if (last != 0 && now-last < int64(stopLineEvery)) || !a.lastStopLine.CompareAndSwap(last, now) {
		a.unlogged.Add(1)
		return
	}
	log.Error(what, "id", reqID, "op", op, "err", err, "refused_since_last_line", a.unlogged.Swap(0))
}

// readOnlyName reports whether an operation of the IAM, STS or CloudTrail
// API reads without changing anything, by the verb its name starts with,
// as CloudTrail's readOnly field says of them.
func readOnlyName(name string) bool {
	for _, verb := range []string{"Get", "List", "Describe", "Lookup"} {
		if strings.HasPrefix(name, verb) {
			return true
		}
	}
	return false
}
