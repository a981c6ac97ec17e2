// Package awsapi is Keyward's one door for HTTP: it speaks AWS JSON 1.1 as
// AWS KMS does, authenticates every request with SigV4, dispatches through a
// static route table to the transport-free core, and maps errors to AWS's
// error shapes and statuses in exactly one place.
//
// It must never put secrets (plaintext, data keys, secret keys) in logs, and
// never send internal details (paths, store errors) to a client.
package awsapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/sigv4"
)

// Config configures a Handler.
type Config struct {
	KMS       *kms.Service
	Directory *iam.Directory
	Verifier  *sigv4.Verifier
	MaxSkew   time.Duration // the Verifier's clock skew, for the us-east-1 verifier of IAM and STS
	Logger    *slog.Logger
	Audit     AuditConfig // required: see AuditConfig (audit.go)
}

// Handler serves the AWS KMS API and the health check.
type Handler struct {
	kms      *kms.Service
	dir      *iam.Directory
	verifier *sigv4.Verifier
	maxSkew  time.Duration
	log      *slog.Logger
	query    queryDoor // IAM and STS over the Query protocol (query.go)
	aud      auditor   // the audit trail (audit.go)
	metrics  *metrics  // GET /metrics (metrics.go)
}

// New returns a Handler.
func New(cfg Config) *Handler {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	h := &Handler{kms: cfg.KMS, dir: cfg.Directory, verifier: cfg.Verifier, maxSkew: cfg.MaxSkew, log: l}
	h.aud = auditor{log: cfg.Audit.Log, dir: cfg.Audit.Dir, usage: cfg.Audit.Usage, unrecorded: cfg.Audit.Unrecorded}
	if cfg.KMS != nil {
		h.aud.region = cfg.KMS.Region()
	}
	h.metrics = newMetrics(cfg.Audit.Log)
	return h
}

const targetPrefix = "TrentService."

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h.serveHealth(w)
		return
	}
	if r.URL.Path == "/metrics" && r.Method == http.MethodGet {
		h.metrics.handler.ServeHTTP(w, r)
		return
	}
	reqID := keys.NewID()
	w.Header().Set("x-amzn-RequestId", reqID)
	start := time.Now()
	// The door answers into x; record sends the answer once its audit
	// record is durable (audit.go).
	x := newExchange(w, r)
	var opName string
	var status int
	var code string
	if err := h.aud.err(); err != nil {
		opName = refusedOp(r)
		status, code = h.refuse(x.w, r, reqID, opName, err)
	} else {
		opName, status, code = h.serveLogged(x, r, reqID)
		status, code = h.record(x, r, reqID, opName, status, code)
	}
	h.metrics.observe(cmp.Or(x.source, sourceKMS), eventName(opName), code, time.Since(start))
	x.release()
	h.log.Debug("request", "id", reqID, "op", opName, "status", status, "error", code, "dur", time.Since(start))
}

// serveAPI handles one API request and reports what it answered.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, reqID string) (opName string, status int, code string) {
	fail := func(err error) (string, int, string) {
		st, c := h.writeError(w, r, reqID, opName, err)
		return opName, st, c
	}
	if isQuery(r) {
		return h.serveQuery(w, r, reqID)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return fail(&kms.Error{Code: "UnknownOperationException"})
	}
	target := r.Header.Get("X-Amz-Target")
	if op, ok := cloudTrailOp(target); ok {
		return h.serveCloudTrail(w, r, reqID, op)
	}
	opName, isKMS := strings.CutPrefix(target, targetPrefix)
	rt, implemented := routes[opName]
	limit := int64(smallBody)
	if implemented {
		limit = rt.bodyLimit
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(&kms.Error{Code: "SerializationException", Message: fmt.Sprintf("Request body exceeds the limit of %d bytes.", limit)})
		}
		return fail(&kms.Error{Code: "SerializationException", Message: "Could not read request body."})
	}

	caller, err := h.authenticate(r, body, "kms")
	if err != nil {
		return fail(err)
	}
	noteCaller(w, caller)
	switch {
	case !isKMS || !knownOperations[opName]:
		return fail(&kms.Error{Code: "UnknownOperationException"})
	case !implemented:
		return fail(&kms.Error{Code: kms.CodeUnsupportedOperation, Message: "Operation " + opName + " is not supported by this server yet."})
	}

	ctx, cancel := context.WithTimeout(r.Context(), rt.timeout)
	defer cancel()
	resp, err := rt.call(h.kms, ctx, caller, body)
	if err != nil {
		return fail(err)
	}
	noteResult(w, resp)
	if err := writeJSON(w, resp); err != nil {
		return fail(err)
	}
	return opName, http.StatusOK, ""
}

// authenticate verifies the SigV4 signature and the session token, and
// returns the caller.
func (h *Handler) authenticate(r *http.Request, body []byte, service string) (*kms.Caller, error) {
	res, p, err := h.verifyPrincipal(r, body, service, h.verifier)
	if err != nil {
		return nil, err
	}
	return &kms.Caller{
		Account: p.Account, ARN: p.ARN, AccessKeyID: res.AccessKeyID, SourceIP: sourceIP(r),
		// Authorization: the principal as iam.Directory.Lookup resolved it.
		// Tags and Policies are shared with the directory's cache: read-only.
		UserID: p.UserID, Type: p.Type, UserName: p.UserName, RoleARN: p.RoleARN, SessionCreated: p.SessionCreated,
		Tags: p.Tags, Policies: p.Policies, SecureTransport: r.TLS != nil,
	}, nil
}

// codeExpiredToken is the JSON-protocol error type for expired temporary
// credentials (the Query protocol's ExpiredToken).
const codeExpiredToken = "ExpiredTokenException"

// verifyPrincipal checks r's signature with v, then the session token: a
// request signed with temporary ("ASIA") credentials must carry exactly the
// token issued with them (X-Amz-Security-Token, compared in constant time)
// before they expire; one signed with a long-term key must carry none.
func (h *Handler) verifyPrincipal(r *http.Request, body []byte, service string, v *sigv4.Verifier) (sigv4.Result, iam.Principal, error) {
	res, err := v.Verify(r, body, service)
	if err != nil {
		return sigv4.Result{}, iam.Principal{}, err
	}
	invalid := &sigv4.Error{Code: sigv4.CodeUnrecognizedClient, Message: "The security token included in the request is invalid.", Status: http.StatusBadRequest}
	_, p, err := h.dir.Lookup(r.Context(), res.AccessKeyID)
	if errors.Is(err, iam.ErrUnknownAccessKey) {
		// Deleted or deactivated since Verify looked it up.
		return sigv4.Result{}, iam.Principal{}, invalid
	} else if err != nil {
		return sigv4.Result{}, iam.Principal{}, err
	}
	switch err := h.dir.CheckSessionToken(&p, res.SessionToken); {
	case errors.Is(err, iam.ErrExpiredToken):
		return sigv4.Result{}, iam.Principal{}, &sigv4.Error{Code: codeExpiredToken, Message: "The security token included in the request is expired", Status: http.StatusBadRequest}
	case err != nil:
		return sigv4.Result{}, iam.Principal{}, invalid
	}
	return res, p, nil
}

// SecretLookup adapts an iam.Directory to the verifier's lookup.
func SecretLookup(d *iam.Directory) sigv4.Lookup {
	return func(akid string) ([]byte, error) {
		secret, _, err := d.Lookup(context.Background(), akid)
		if errors.Is(err, iam.ErrUnknownAccessKey) {
			return nil, sigv4.ErrUnknownAccessKey
		}
		return secret, err
	}
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statuses maps AWS error types to HTTP statuses. Every client error is 400,
// as AWS KMS answers; only real internal faults are 5xx.
var statuses = map[string]int{
	kms.CodeInternal:             http.StatusInternalServerError,
	"KeyUnavailableException":    http.StatusInternalServerError,
	"DependencyTimeoutException": http.StatusServiceUnavailable,
}

// writeError is the one place where errors become AWS error responses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, reqID, opName string, err error) (int, string) {
	var code, msg string
	status := http.StatusBadRequest
	var kerr *kms.Error
	var serr *sigv4.Error
	switch {
	case errors.As(err, &kerr):
		code, msg = kerr.Code, kerr.Message
		if s, ok := statuses[code]; ok {
			status = s
		}
	case errors.As(err, &serr):
		code, msg, status = serr.Code, serr.Message, serr.Status
	case err == errUnrecorded: // logged by logFailure
		code, msg, status = kms.CodeInternal, "An internal error occurred. Try again later.", http.StatusInternalServerError
	default:
		// Unknown failures are logged with the request id and reported opaquely.
		h.log.Error("internal error", "id", reqID, "op", opName, "err", err)
		code, msg, status = kms.CodeInternal, "An internal error occurred. Try again later.", http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-ErrorType", code)
	w.WriteHeader(status)
	// AWS sends no message at all for the opaque crypto failures.
	if msg == "" {
		fmt.Fprintf(w, `{"__type":%s}`, quote(code))
	} else {
		fmt.Fprintf(w, `{"__type":%s,"message":%s}`, quote(code), quote(msg))
	}
	return status, code
}

func quote(s string) string {
	b, _ := encode(s)
	return string(b)
}

// serveHealth answers the health check: 200 while the server can answer
// requests, 503 while every request fails with KMSInternalException because
// its audit record cannot be written (the log stopped after a write error,
// until a restart, or its disk is full, until space is freed), so that a
// load balancer takes the node out and a monitor pages someone. The cause
// (a path and an errno) goes to the server's log, not to this
// unauthenticated page.
func (h *Handler) serveHealth(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.aud.err(); err != nil && h.aud.log != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		if errors.Is(err, audit.ErrNoSpace) {
			io.WriteString(w, "audit log out of disk space: every request fails until space is freed\n")
		} else {
			io.WriteString(w, "audit log stopped after a write error: every request fails until the server restarts\n")
		}
		return
	}
	io.WriteString(w, "ok\n")
}
