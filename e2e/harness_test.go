// Package e2e tests Keyward as its users use it: the real server on a
// loopback listener, driven by the real aws-sdk-go-v2 client with signed
// requests and a custom endpoint, by raw signed HTTP where a client would
// not send what a test needs, and by the AWS CLI when it is installed.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/internal/server"
)

const (
	testRegion  = "us-east-1"
	testAccount = "111122223333"
)

// env is one running server and a client for it.
type env struct {
	t       *testing.T
	dataDir string
	region  string
	url     string
	srv     *server.Server
	akid    string
	secret  string
	kms     *kms.Client
	stopFn  func()
}

// start runs a server on a fresh (or the given) data directory.
func start(t *testing.T, dataDir string) *env {
	t.Helper()
	return startWith(t, dataDir, nil)
}

// startWith is start with a change to the server configuration.
func startWith(t *testing.T, dataDir string, change func(*server.Config)) *env {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	cfg := server.Config{
		Listen: "127.0.0.1:0", DataDir: dataDir, Region: testRegion, AccountID: testAccount,
		MaxSkew: 5 * time.Minute, LogLevel: "info",
	}
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("server.Open: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	e := &env{t: t, dataDir: dataDir, region: cfg.Region, url: "http://" + ln.Addr().String(), srv: srv}
	stopped := false
	e.stopFn = func() {
		if !stopped {
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}
	}
	t.Cleanup(e.stop)
	e.akid, e.secret = readCredentials(t, filepath.Join(dataDir, "credentials"))
	e.kms = newClient(e.url, e.akid, e.secret, cfg.Region)
	return e
}

func (e *env) stop() { e.stopFn() }

func newClient(url, akid, secret, region string) *kms.Client {
	return kms.New(kms.Options{
		Region:           region,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// readCredentials parses the [default] profile of a shared-credentials file.
func readCredentials(t *testing.T, path string) (akid, secret string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			akid = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if akid == "" || secret == "" {
		t.Fatalf("credentials file %s lacks a key pair", path)
	}
	return akid, secret
}

// raw sends a signed AWS JSON 1.1 request with the given target and body,
// and returns the status and body. mutate, if not nil, may change the
// request after signing (to test refusals).
func (e *env) raw(target, body string, mutate func(*http.Request)) (int, string) {
	e.t.Helper()
	return rawSigned(e.t, e.url, target, body, e.akid, e.secret, e.region, "kms", time.Now(), mutate)
}

func rawSigned(t *testing.T, url, target, body, akid, secret, region, service string, when time.Time, mutate func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	sum := sha256.Sum256([]byte(body))
	if akid != "" {
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, when); err != nil {
			t.Fatal(err)
		}
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// apiErr returns the AWS error code and message of err, or fails.
func apiErr(t *testing.T, err error) (code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an AWS API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// wantErr checks that err is the AWS error code, and that its message
// contains msgPart.
func wantErr(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	c, m := apiErr(t, err)
	if c != code || !strings.Contains(m, msgPart) {
		t.Fatalf("got %s: %q, want %s containing %q", c, m, code, msgPart)
	}
}

var ctx = context.Background()

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
