// Command loadgen drives a Keyward server (or anything speaking the AWS KMS
// JSON 1.1 protocol) with signed requests over keep-alive connections and
// reports throughput, latency percentiles and errors by AWS __type.
//
//	loadgen -credentials /tmp/kw-bench/credentials -op encrypt -size 32 -c 32 -d 10s
//
// Every run is bounded: it stops after -d (or -n requests, whichever comes
// first) plus at most one request timeout. It sends only to -endpoint and
// creates at most one key (when -key is empty). It is meant for loopback
// measurements; it must never be pointed at real AWS.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	endpoint string
	credFile string
	profile  string
	region   string
	op       string
	size     int
	conns    int
	duration time.Duration
	requests int64
	warmup   time.Duration
	timeout  time.Duration
	keyID    string
	keySpec  string // for sign and verify
	signAlg  string
	json     bool
	cpuProf  string
}

// countOnlyCap bounds a run given -n but no -d, so that it still ends if the
// server stalls.
const countOnlyCap = 10 * time.Minute

var ops = []string{"encrypt", "decrypt", "generate-data-key", "generate-random", "describe-key", "sign", "verify", "mixed"}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	res, err := bench(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	if res.firstErr != "" {
		fmt.Fprintln(stderr, "loadgen: first error:", res.firstErr)
	}
	if cfg.json {
		b, _ := json.Marshal(res.report(cfg))
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintln(stdout, res.line(cfg))
	}
	if res.hist.n == 0 {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:7878", "server `URL`")
	fs.StringVar(&c.credFile, "credentials", "", "AWS shared credentials `file` (required)")
	fs.StringVar(&c.profile, "profile", "default", "profile in the credentials file")
	fs.StringVar(&c.region, "region", "us-east-1", "SigV4 region")
	fs.StringVar(&c.op, "op", "encrypt", "operation: "+strings.Join(ops, "|"))
	fs.StringVar(&c.keySpec, "key-spec", "ECC_NIST_P256", "KeySpec of the SIGN_VERIFY key that sign and verify create")
	fs.StringVar(&c.signAlg, "signing-algorithm", "", "SigningAlgorithm for sign and verify (default: the first the key spec allows)")
	fs.IntVar(&c.size, "size", 32, "plaintext bytes for encrypt and decrypt, NumberOfBytes for generate-random")
	fs.IntVar(&c.conns, "c", 32, "concurrent workers, one connection each")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "measured duration")
	fs.Int64Var(&c.requests, "n", 0, "measured requests (0: no count limit); with -n and no -d the run is capped at "+countOnlyCap.String())
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up before the run")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request response timeout")
	fs.StringVar(&c.keyID, "key", "", "key id, ARN or alias (empty: create a key first)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object instead of a text line")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write the generator's CPU profile of the measured phase to `file`")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	dSet := false
	fs.Visit(func(f *flag.Flag) { dSet = dSet || f.Name == "d" })
	if c.requests > 0 && !dSet {
		c.duration = countOnlyCap
	}
	switch {
	case c.credFile == "":
		return c, errors.New("-credentials: required")
	case !slices.Contains(ops, c.op):
		return c, fmt.Errorf("-op: want one of %s, got %q", strings.Join(ops, ", "), c.op)
	case c.size < 1 || c.size > 4096:
		return c, fmt.Errorf("-size: want 1..4096 (the KMS plaintext limit), got %d", c.size)
	case c.op == "generate-random" && c.size > 1024:
		return c, fmt.Errorf("-size: GenerateRandom takes at most 1024 bytes, got %d", c.size)
	case c.conns < 1 || c.conns > 4096:
		return c, fmt.Errorf("-c: want 1..4096, got %d", c.conns)
	case c.duration <= 0:
		return c, fmt.Errorf("-d: want > 0, got %v", c.duration)
	case c.requests < 0:
		return c, fmt.Errorf("-n: want >= 0, got %d", c.requests)
	case c.warmup < 0 || c.warmup > time.Minute:
		return c, fmt.Errorf("-warmup: want 0..1m, got %v", c.warmup)
	case c.timeout <= 0:
		return c, fmt.Errorf("-timeout: want > 0, got %v", c.timeout)
	}
	return c, nil
}

// result is the merged outcome of the measured phase.
type result struct {
	hist     *histogram
	errs     map[string]uint64
	elapsed  time.Duration
	cpu      time.Duration // the generator's own CPU time over elapsed
	firstErr string
}

func bench(cfg config) (*result, error) {
	creds, err := loadCredentials(cfg.credFile, cfg.profile)
	if err != nil {
		return nil, fmt.Errorf("-credentials: %w", err)
	}
	cl, err := newClient(cfg.endpoint, creds, cfg.region, cfg.conns, cfg.timeout)
	if err != nil {
		return nil, err
	}
	workers := make([]*worker, cfg.conns)
	for i := range workers {
		workers[i] = cl.newWorker()
	}
	calls, err := prepare(workers[0], cfg)
	if err != nil {
		return nil, err
	}
	if cfg.warmup > 0 {
		runPhase(workers, calls, cfg.warmup, 0, cfg.timeout)
	}
	if cfg.cpuProf != "" {
		f, err := os.Create(cfg.cpuProf)
		if err != nil {
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return runPhase(workers, calls, cfg.duration, cfg.requests, cfg.timeout), nil
}

// prepare creates the key if needed and builds the request bodies: the mix
// for -op mixed, a single call otherwise.
func prepare(w *worker, cfg config) ([]*call, error) {
	keyID := cfg.keyID
	if cfg.op == "sign" || cfg.op == "verify" {
		return prepareSigning(w, cfg)
	}
	if keyID == "" {
		id, err := w.createKey()
		if err != nil {
			return nil, err
		}
		keyID = id
	}
	build := func(op string) (*call, error) {
		switch op {
		case "encrypt":
			return encryptCall(keyID, cfg.size)
		case "decrypt":
			ct, err := w.encryptOnce(keyID, cfg.size)
			if err != nil {
				return nil, err
			}
			// The blob is base64 on the wire both ways, so it goes back as it came.
			return newCall("Decrypt", map[string]any{"CiphertextBlob": ct})
		case "generate-data-key":
			return newCall("GenerateDataKey", map[string]any{"KeyId": keyID, "KeySpec": "AES_256"})
		case "generate-random":
			return newCall("GenerateRandom", map[string]any{"NumberOfBytes": min(cfg.size, 1024)})
		case "describe-key":
			return newCall("DescribeKey", map[string]any{"KeyId": keyID})
		}
		return nil, fmt.Errorf("unknown op %q", op)
	}
	names := []string{cfg.op}
	if cfg.op == "mixed" {
		// Roughly what envelope encryption does: data keys and decrypts
		// dominate, with some direct encrypts and metadata reads.
		names = []string{"generate-data-key", "decrypt", "decrypt", "encrypt", "generate-data-key", "decrypt", "describe-key", "decrypt"}
	}
	built := map[string]*call{}
	var calls []*call
	for _, n := range names {
		c, ok := built[n]
		if !ok {
			var err error
			if c, err = build(n); err != nil {
				return nil, err
			}
			built[n] = c
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// runPhase runs every worker until d has passed or, if n > 0, n requests
// have been started, and merges their results. Requests still running at d
// may finish; any still running timeout later are abandoned, so that the
// phase ends by d + timeout whatever the server does.
func runPhase(workers []*worker, calls []*call, d time.Duration, n int64, timeout time.Duration) *result {
	var stop atomic.Bool
	var started atomic.Int64
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hard := time.AfterFunc(d+timeout, cancel)
	defer hard.Stop()

	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for i, w := range workers {
		w.reset()
		wg.Go(func() {
			for j := i; !stop.Load(); j++ {
				if n > 0 && started.Add(1) > n {
					return
				}
				w.send(ctx, calls[j%len(calls)])
			}
		})
	}
	wg.Wait()
	res := &result{hist: newHistogram(), errs: map[string]uint64{}, elapsed: time.Since(start), cpu: cpuTime() - cpu0}
	for _, w := range workers {
		res.hist.merge(w.hist)
		for k, v := range w.errs {
			res.errs[k] += v
		}
		if res.firstErr == "" {
			res.firstErr = w.firstErr
		}
	}
	return res
}

func (r *result) errorCount() uint64 {
	var n uint64
	for _, v := range r.errs {
		n += v
	}
	return n
}

// cpuPercent is the generator's CPU use during the run, in percent of one
// CPU. Near 100 with GOMAXPROCS=1 means the generator, not the server, may
// be what limits the rate.
func (r *result) cpuPercent() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return 100 * r.cpu.Seconds() / r.elapsed.Seconds()
}

func (r *result) opsPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.hist.n) / r.elapsed.Seconds()
}

// report is the -json output.
type report struct {
	Op        string            `json:"op"`
	Size      int               `json:"size"`
	Conns     int               `json:"c"`
	Seconds   float64           `json:"seconds"`
	Requests  uint64            `json:"requests"`
	OpsPerSec float64           `json:"ops_per_sec"`
	MeanMs    float64           `json:"mean_ms"`
	P50Ms     float64           `json:"p50_ms"`
	P90Ms     float64           `json:"p90_ms"`
	P99Ms     float64           `json:"p99_ms"`
	MaxMs     float64           `json:"max_ms"`
	CPUPct    float64           `json:"loadgen_cpu_pct"`
	Errors    uint64            `json:"errors"`
	ErrorsBy  map[string]uint64 `json:"errors_by_type"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r *result) report(cfg config) report {
	return report{
		Op:        cfg.op,
		Size:      cfg.size,
		Conns:     cfg.conns,
		Seconds:   r.elapsed.Seconds(),
		Requests:  r.hist.n,
		OpsPerSec: float64(int64(r.opsPerSec()*10)) / 10,
		MeanMs:    ms(r.hist.mean()),
		P50Ms:     ms(r.hist.percentile(50)),
		P90Ms:     ms(r.hist.percentile(90)),
		P99Ms:     ms(r.hist.percentile(99)),
		MaxMs:     ms(time.Duration(r.hist.max)),
		CPUPct:    float64(int64(r.cpuPercent())),
		Errors:    r.errorCount(),
		ErrorsBy:  r.errs,
	}
}

func (r *result) line(cfg config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-17s size=%-4d c=%-3d %8.0f ops/s  n=%-8d p50=%-8v p90=%-8v p99=%-8v max=%-8v loadgen_cpu=%3.0f%% errors=%d",
		cfg.op, cfg.size, cfg.conns, r.opsPerSec(), r.hist.n,
		round(r.hist.percentile(50)), round(r.hist.percentile(90)), round(r.hist.percentile(99)),
		round(time.Duration(r.hist.max)), r.cpuPercent(), r.errorCount())
	if len(r.errs) > 0 {
		b.WriteString(" (")
		for i, k := range slices.Sorted(maps.Keys(r.errs)) {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s=%d", k, r.errs[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

// round keeps three significant digits, enough for a latency.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// defaultSigningAlgorithm is the algorithm sign and verify use for a key spec
// when -signing-algorithm is not given.
var defaultSigningAlgorithm = map[string]string{
	"RSA_2048": "RSASSA_PKCS1_V1_5_SHA_256", "RSA_3072": "RSASSA_PKCS1_V1_5_SHA_256", "RSA_4096": "RSASSA_PKCS1_V1_5_SHA_256",
	"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384", "ECC_NIST_P521": "ECDSA_SHA_512",
	"ECC_SECG_P256K1": "ECDSA_SHA_256", "ECC_NIST_EDWARDS25519": "ED25519_SHA_512",
	"ML_DSA_44": "ML_DSA_SHAKE_256", "ML_DSA_65": "ML_DSA_SHAKE_256", "ML_DSA_87": "ML_DSA_SHAKE_256",
}

// prepareSigning creates a SIGN_VERIFY key of -key-spec and builds a Sign
// call, or a Verify call of one signature made once.
func prepareSigning(w *worker, cfg config) ([]*call, error) {
	alg := cfg.signAlg
	if alg == "" {
		alg = defaultSigningAlgorithm[cfg.keySpec]
	}
	if alg == "" {
		return nil, fmt.Errorf("-key-spec %q: give -signing-algorithm", cfg.keySpec)
	}
	kc, err := newCall("CreateKey", map[string]any{"KeySpec": cfg.keySpec, "KeyUsage": "SIGN_VERIFY", "Description": "keyward loadgen signing key"})
	if err != nil {
		return nil, err
	}
	var key struct{ KeyMetadata struct{ KeyId string } }
	if err := w.invoke(kc, &key); err != nil {
		return nil, err
	}
	msg := make([]byte, max(cfg.size, 1))
	rand.Read(msg)
	sign, err := newCall("Sign", map[string]any{"KeyId": key.KeyMetadata.KeyId, "Message": msg, "MessageType": "RAW", "SigningAlgorithm": alg})
	if err != nil {
		return nil, err
	}
	if cfg.op == "sign" {
		return []*call{sign}, nil
	}
	var sig struct{ Signature []byte }
	if err := w.invoke(sign, &sig); err != nil {
		return nil, err
	}
	verify, err := newCall("Verify", map[string]any{"KeyId": key.KeyMetadata.KeyId, "Message": msg, "MessageType": "RAW", "Signature": sig.Signature, "SigningAlgorithm": alg})
	if err != nil {
		return nil, err
	}
	return []*call{verify}, nil
}
