package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client holds what all workers share: the endpoint and one keep-alive
// transport with a connection per worker.
//
// Requests go straight to Transport.RoundTrip: there are no redirects to
// follow, and http.Client would copy every request's headers for them.
type client struct {
	rt      *http.Transport
	url     *url.URL
	creds   credentials
	region  string
	timeout time.Duration // per request
}

func newClient(endpoint string, creds credentials, region string, conns int, timeout time.Duration) (*client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("-endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("-endpoint: want http://host:port, got %q", endpoint)
	}
	u.Path, u.RawQuery = "/", ""
	tr := &http.Transport{
		Proxy:                 nil, // never route benchmark traffic through a proxy from the environment
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true, // the server does not compress; skip the Accept-Encoding dance
		ForceAttemptHTTP2:     false,
		// Large enough that a 4 KiB Encrypt goes out in one write and its
		// answer comes in with one read.
		WriteBufferSize: 16 << 10,
		ReadBufferSize:  16 << 10,
	}
	return &client{rt: tr, url: u, creds: creds, region: region, timeout: timeout}, nil
}

// call is one prebuilt request: its target header, body and body hash. The
// slices are shared, read-only, by every request built from the call.
type call struct {
	op     string   // operation name, as in "Encrypt"
	target []string // {"TrentService.Encrypt"}
	body   []byte
	hash   string // hex SHA-256 of body
}

func newCall(op string, body any) (*call, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &call{op: op, target: []string{"TrentService." + op}, body: b, hash: payloadHash(b)}, nil
}

var (
	contentType = []string{"application/x-amz-json-1.1"}
	userAgent   = []string{"keyward-loadgen"}
)

// worker is one sequential stream of requests with its own signer, buffers,
// histogram and error counts, so that workers share nothing but the
// transport.
type worker struct {
	cl        *client
	sig       *signer
	dates     dateCache
	hdrs      []header // sorted; see newWorker
	dateIdx   int
	targetIdx int
	resp      bytes.Buffer

	hist     *histogram
	ok       uint64
	errs     map[string]uint64
	firstErr string
}

func (cl *client) newWorker() *worker {
	w := &worker{
		cl:   cl,
		sig:  newSigner(cl.creds, cl.region, "kms"),
		hist: newHistogram(),
		errs: make(map[string]uint64),
	}
	// The server insists that every X-Amz-* header is signed: X-Amz-Target
	// names the operation. Names are in sorted order, as SigV4 requires.
	w.hdrs = []header{
		{"content-type", contentType[0]},
		{"host", cl.url.Host},
		{"x-amz-date", ""},
	}
	w.dateIdx = 2
	if cl.creds.SessionToken != "" {
		w.hdrs = append(w.hdrs, header{"x-amz-security-token", cl.creds.SessionToken})
	}
	w.hdrs = append(w.hdrs, header{"x-amz-target", ""})
	w.targetIdx = len(w.hdrs) - 1
	w.resp.Grow(8 << 10)
	return w
}

// reset clears the results of a previous phase.
func (w *worker) reset() {
	clear(w.hist.counts)
	*w.hist = histogram{counts: w.hist.counts}
	w.ok = 0
	clear(w.errs)
	w.firstErr = ""
}

// do sends c and reads the whole response into w.resp, so that the
// connection goes back to the pool. It returns the HTTP status, or an error
// if no response arrived. Cancelling ctx abandons the request, even in the
// middle of the response body.
func (w *worker) do(ctx context.Context, c *call) (int, error) {
	date := w.dates.format(time.Now())
	w.hdrs[w.dateIdx].value = date
	w.hdrs[w.targetIdx].value = c.target[0]
	auth := w.sig.authorization(http.MethodPost, "/", w.hdrs, date, c.hash)

	h := http.Header{
		"Content-Type":  contentType,
		"X-Amz-Target":  c.target,
		"X-Amz-Date":    {date},
		"Authorization": {auth},
		"User-Agent":    userAgent,
	}
	if w.cl.creds.SessionToken != "" {
		h["X-Amz-Security-Token"] = []string{w.cl.creds.SessionToken}
	}
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           w.cl.url,
		Host:          w.cl.url.Host,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
	}).WithContext(ctx)
	resp, err := w.cl.rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	w.resp.Reset()
	_, err = w.resp.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("reading response: %w", err)
	}
	return resp.StatusCode, nil
}

// errorType names a failed request's error for the counts: the AWS __type
// of an error response, "HTTP <status>" if it has none, or the kind of
// transport failure.
func errorType(status int, body []byte, err error) string {
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return "Timeout"
		case errors.Is(err, context.Canceled):
			return "Canceled" // still running when the run's hard stop came
		}
		return "TransportError"
	}
	var e struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(body, &e) == nil && e.Type != "" {
		// AWS may qualify the type with a namespace: "ns#Code".
		if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		return e.Type
	}
	return "HTTP " + strconv.Itoa(status)
}

// send does c once and records the outcome.
func (w *worker) send(ctx context.Context, c *call) {
	start := time.Now()
	status, err := w.do(ctx, c)
	lat := time.Since(start)
	if err == nil && status == http.StatusOK {
		w.ok++
		w.hist.record(lat)
		return
	}
	w.errs[errorType(status, w.resp.Bytes(), err)]++
	if w.firstErr == "" {
		if err != nil {
			w.firstErr = c.op + ": " + err.Error()
		} else {
			w.firstErr = c.op + ": HTTP " + strconv.Itoa(status) + ": " + truncate(w.resp.String(), 200)
		}
	}
}

// invoke does one setup request and decodes its JSON answer into out.
func (w *worker) invoke(c *call, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cl.timeout)
	defer cancel()
	status, err := w.do(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", c.op, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", c.op, status, truncate(w.resp.String(), 300))
	}
	if err := json.Unmarshal(w.resp.Bytes(), out); err != nil {
		return fmt.Errorf("%s: decoding response: %w", c.op, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// createKey makes a symmetric encryption key for the run.
func (w *worker) createKey() (string, error) {
	c, err := newCall("CreateKey", map[string]any{
		"Description": "keyward loadgen " + time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		return "", err
	}
	var out struct {
		KeyMetadata struct{ KeyId string }
	}
	if err := w.invoke(c, &out); err != nil {
		return "", err
	}
	if out.KeyMetadata.KeyId == "" {
		return "", errors.New("CreateKey: no KeyId in response")
	}
	return out.KeyMetadata.KeyId, nil
}

// encryptOnce returns a ciphertext (base64, as on the wire) of size random
// bytes, for Decrypt to use over and over.
func (w *worker) encryptOnce(keyID string, size int) (string, error) {
	c, err := encryptCall(keyID, size)
	if err != nil {
		return "", err
	}
	var out struct{ CiphertextBlob string }
	if err := w.invoke(c, &out); err != nil {
		return "", err
	}
	if out.CiphertextBlob == "" {
		return "", errors.New("Encrypt: no CiphertextBlob in response")
	}
	return out.CiphertextBlob, nil
}

func encryptCall(keyID string, size int) (*call, error) {
	pt := make([]byte, size)
	rand.Read(pt)
	return newCall("Encrypt", map[string]any{"KeyId": keyID, "Plaintext": pt}) // []byte marshals as base64
}
