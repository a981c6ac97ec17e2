package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testWorkers returns n workers for srv and one Encrypt-shaped call.
func testWorkers(t *testing.T, srv *httptest.Server, n int, timeout time.Duration) ([]*worker, []*call) {
	t.Helper()
	cl, err := newClient(srv.URL, exampleCreds, "us-east-1", n, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.rt.CloseIdleConnections)
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = cl.newWorker()
	}
	c, err := encryptCall("alias/test", 32)
	if err != nil {
		t.Fatal(err)
	}
	return ws, []*call{c}
}

func TestRunPhaseCount(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		if r.Header.Get("X-Amz-Target") != "TrentService.Encrypt" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") ||
			r.Header.Get("X-Amz-Date") == "" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"IncompleteSignatureException"}`))
			return
		}
		w.Write([]byte(`{"CiphertextBlob":"AAAA"}`))
	}))
	defer srv.Close()
	ws, calls := testWorkers(t, srv, 4, time.Second)
	res := runPhase(ws, calls, time.Minute, 50, time.Second)
	if res.hist.n != 50 || res.errorCount() != 0 || got.Load() != 50 {
		t.Errorf("runPhase(n=50): %d ok, errors %v, server saw %d; want 50, none, 50", res.hist.n, res.errs, got.Load())
	}
}

func TestRunPhaseErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"com.amazon.coral.service#NotFoundException","message":"x"}`))
	}))
	defer srv.Close()
	ws, calls := testWorkers(t, srv, 2, time.Second)
	res := runPhase(ws, calls, time.Minute, 10, time.Second)
	if res.hist.n != 0 || res.errs["NotFoundException"] != 10 || len(res.errs) != 1 {
		t.Errorf("runPhase against a server answering NotFoundException: %d ok, errors %v; want 0, NotFoundException=10", res.hist.n, res.errs)
	}
	if !strings.Contains(res.firstErr, "NotFoundException") {
		t.Errorf("firstErr = %q, want the response body", res.firstErr)
	}
}

// TestRunPhaseBounded checks that a phase ends by d + timeout even when the
// server stops answering in the middle of a response body.
func TestRunPhaseBounded(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"Ciph`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ws, calls := testWorkers(t, srv, 3, 200*time.Millisecond)
	start := time.Now()
	res := runPhase(ws, calls, 100*time.Millisecond, 0, 200*time.Millisecond)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("runPhase(d=100ms, timeout=200ms) took %v against a stalled server", el)
	}
	if res.hist.n != 0 || res.errs["Canceled"] != 3 {
		t.Errorf("runPhase against a stalled server: %d ok, errors %v; want 0, Canceled=3", res.hist.n, res.errs)
	}
}

func TestRunPhaseDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	ws, calls := testWorkers(t, srv, 2, time.Second)
	start := time.Now()
	res := runPhase(ws, calls, 150*time.Millisecond, 0, time.Second)
	if el := time.Since(start); el < 150*time.Millisecond || el > time.Second {
		t.Errorf("runPhase(d=150ms) took %v", el)
	}
	if res.hist.n == 0 || res.errorCount() != 0 {
		t.Errorf("runPhase(d=150ms): %d ok, errors %v; want some, none", res.hist.n, res.errs)
	}
}
