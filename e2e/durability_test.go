package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	binenc "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/server"
	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/bolt"
)

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	k := must[*kms.CreateKeyOutput](t)(e.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("kept")})).KeyMetadata
	must[*kms.CreateAliasOutput](t)(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/kept"), TargetKeyId: k.KeyId}))
	ct := must[*kms.EncryptOutput](t)(e.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("survive")})).CiphertextBlob
	akid := e.akid
	e.stop()

	e2 := start(t, dir)
	if e2.akid != akid {
		t.Errorf("restart made new credentials: %s, want %s", e2.akid, akid)
	}
	dec := must[*kms.DecryptOutput](t)(e2.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct, KeyId: aws.String("alias/kept")}))
	if string(dec.Plaintext) != "survive" {
		t.Errorf("Decrypt after restart = %q", dec.Plaintext)
	}
	d := must[*kms.DescribeKeyOutput](t)(e2.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})).KeyMetadata
	if *d.Description != "kept" {
		t.Errorf("Description after restart = %q", *d.Description)
	}
	// Secrets and key material are wrapped at rest: neither appears in the store file.
	db, err := os.ReadFile(filepath.Join(dir, "keyward.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(db, []byte(e2.secret)) {
		t.Error("the secret access key is stored in plaintext")
	}
	fi, err := os.Stat(filepath.Join(dir, "credentials"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	fi, err = os.Stat(filepath.Join(dir, "root.key"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Errorf("root key: %v, %v", fi, err)
	}
}

var binOnce struct {
	sync.Once
	path string
	err  error
}

// binary builds cmd/keyward once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyward-bin")
		if err != nil {
			binOnce.err = err
			return
		}
		binOnce.path = filepath.Join(dir, "keyward")
		out, err := exec.Command("go", "build", "-o", binOnce.path, "../cmd/keyward").CombinedOutput()
		if err != nil {
			binOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binOnce.err != nil {
		t.Fatal(binOnce.err)
	}
	return binOnce.path
}

// proc is a keyward server running as a separate process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	mu     sync.Mutex
	eof    chan struct{} // closed once stderr is read to its end
}

// wait waits for the server to exit, having read everything it wrote:
// cmd.Wait closes the pipe, and lines not read by then would be lost.
func (p *proc) wait() error {
	<-p.eof
	return p.cmd.Wait()
}

var endpointRE = regexp.MustCompile(`endpoint=(http://127\.0\.0\.1:[0-9]+)`)

func startProc(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "KEYWARD_LOG_LEVEL=info")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}, eof: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := endpointRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p.url = <-found:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", p.log())
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	akid, secret := readCredentials(t, filepath.Join(dir, "credentials"))
	if strings.Contains(p.log(), secret) {
		t.Fatal("the server logged the secret access key")
	}
	c := newClient(p.url, akid, secret, testRegion)

	type acked struct {
		id string
		ct []byte
	}
	var mu sync.Mutex
	var got []acked
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String(fmt.Sprintf("w%d-%d", w, i))})
				if err != nil {
					t.Error(err)
					return
				}
				enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte(*k.KeyMetadata.KeyId)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, acked{*k.KeyMetadata.KeyId, enc.CiphertextBlob})
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	// Kill without warning right after the last acknowledgement.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	if !strings.Contains(p.log(), "kms list-keys") {
		t.Errorf("start-up log lacks the example command:\n%s", p.log())
	}
	if strings.Contains(p.log(), secret) {
		t.Fatal("the server logged the secret access key")
	}

	p2 := startProc(t, dir)
	c2 := newClient(p2.url, akid, secret, testRegion)
	for _, a := range got {
		dec, err := c2.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: a.ct})
		if err != nil || string(dec.Plaintext) != a.id {
			t.Errorf("after kill -9, key %s: Decrypt = %v", a.id, err)
		}
	}
	if len(got) != 40 {
		t.Errorf("%d keys acknowledged, want 40", len(got))
	}
}

// TestKill9UnderLoadKeepsAuditRecords kills the server three times while
// 16 clients send Encrypt requests, and checks the promise from the
// clients' side: every request answered with success has its record in the
// trail, and the trail the restarts repaired verifies. A server that
// answered before its record was written (an async logger, a buffer
// flushed later) fails here; one that wrote but did not fsync cannot be
// told apart by kill -9, which keeps the page cache.
func TestKill9UnderLoadKeepsAuditRecords(t *testing.T) {
	dir := t.TempDir()
	var key string
	acked := map[string]bool{}
	for round := range 3 {
		p := startProc(t, dir)
		akid, secret := readCredentials(t, filepath.Join(dir, "credentials"))
		c := newClient(p.url, akid, secret, testRegion)
		if key == "" {
			key = *must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
		}
		var mu sync.Mutex
		n, failed := 0, 0
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")})
					mu.Lock()
					if err == nil {
						id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
						acked[id] = true
						n++
					} else {
						failed++
					}
					mu.Unlock()
					if err != nil {
						return // the server is gone
					}
				}
			})
		}
		time.Sleep(time.Second)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.cmd.Wait()
		wg.Wait()
		t.Logf("round %d: %d requests acknowledged, %d cut off by the kill", round, n, failed)
		if n < 100 || failed == 0 {
			t.Fatalf("round %d: %d requests acknowledged and %d cut off by the kill; want at least 100 and some", round, n, failed)
		}
	}

	p := startProc(t, dir)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("server after kill -9: %v\n%s", err, p.log())
	}
	total := len(acked)
	for _, e := range trail(t, dir) {
		if acked[e.RequestID] {
			if e.EventName != "Encrypt" || e.ErrorCode != "" {
				t.Errorf("acknowledged request %s is recorded as %s with error %q", e.RequestID, e.EventName, e.ErrorCode)
			}
			delete(acked, e.RequestID)
		}
	}
	if len(acked) > 0 {
		t.Errorf("%d of %d acknowledged requests have no audit record after kill -9, e.g. %s", len(acked), total, slices.Collect(maps.Keys(acked))[0])
	}
	if out, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("keyward audit verify after three kills and restarts: %v\n%s", err, out)
	}
}

func TestGracefulShutdown(t *testing.T) {
	p := startProc(t, t.TempDir())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
	if !strings.Contains(p.log(), "stopped") {
		t.Errorf("no clean stop in log:\n%s", p.log())
	}
}

func TestInvalidFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--account-id", "123"}, "--account-id"},
		{[]string{"--region", "mars"}, "--region"},
		{[]string{"--listen", "nope"}, "--listen"},
		{[]string{"--max-skew", "20m"}, "--max-skew"},
		{[]string{"--tls-cert", "/nonexistent"}, "--tls-cert"},
		{[]string{"--audit-digest-interval", "10ms"}, "--audit-digest-interval"},
		{[]string{"--audit-max-file-age", "10ms"}, "--audit-max-file-age"},
		{[]string{"--audit-usage-save-interval", "-1s"}, "--audit-usage-save-interval"},
	}
	for _, c := range cases {
		cmd := exec.Command(binary(t), append([]string{"server", "--data-dir", t.TempDir()}, c.args...)...)
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err == nil || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("keyward server %v = %v, output %q; want one line naming %s", c.args, err, out, c.want)
		}
	}
	for _, env := range []struct{ v, want string }{
		{"KEYWARD_ACCOUNT_ID=12", "--account-id"},
		{"KEYWARD_AUDIT_USAGE_SAVE_INTERVAL=soon", "KEYWARD_AUDIT_USAGE_SAVE_INTERVAL"},
		{"KEYWARD_AUDIT_MAX_FILE_AGE=hourly", "KEYWARD_AUDIT_MAX_FILE_AGE"},
	} {
		cmd := exec.Command(binary(t), "server", "--data-dir", t.TempDir())
		cmd.Env = append(os.Environ(), env.v)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), env.want) {
			t.Errorf("%s: %v %s", env.v, err, out)
		}
	}
}

// TestKill9UsageIndexSaved: the GetKeyLastUsage index is saved while the
// server runs, so a start after kill -9 reads only the records logged after
// the last save, and still answers for keys used before and after it.
func TestKill9UsageIndexSaved(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir, "--audit-usage-save-interval", "1s")
	akid, secret := readCredentials(t, filepath.Join(dir, "credentials"))
	c := newClient(p.url, akid, secret, testRegion)
	var keys [2]string
	for i := range keys {
		k, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = *k.KeyMetadata.KeyId
	}
	use := func(key string) string {
		t.Helper()
		out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(key), Plaintext: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return id
	}
	for range 5 { // more records for the save to cover
		use(keys[0])
	}
	before := use(keys[0])
	time.Sleep(2500 * time.Millisecond) // the saver runs at 1 s and 2 s
	after := use(keys[1])
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	p2 := startProc(t, dir)
	m := regexp.MustCompile(`indexed for GetKeyLastUsage.* records_read=([0-9]+)`).FindStringSubmatch(p2.log())
	if m == nil {
		t.Fatalf("no records_read in the start-up log:\n%s", p2.log())
	}
	// The trail holds 2 CreateKey and 7 Encrypt records; the save covered
	// all but the last Encrypt (or, if the kill came late, all of them).
	if n, _ := strconv.Atoi(m[1]); n > 1 {
		t.Errorf("the start after kill -9 read %d records, want at most 1: the saved index was not used", n)
	}
	c2 := newClient(p2.url, akid, secret, testRegion)
	for i, want := range []string{before, after} {
		lu, err := c2.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: aws.String(keys[i])})
		if err != nil {
			t.Fatal(err)
		}
		if lu.KeyLastUsage == nil || aws.ToString(lu.KeyLastUsage.KmsRequestId) != want {
			t.Errorf("key %d: GetKeyLastUsage after kill -9 = %+v, want request %s", i, lu.KeyLastUsage, want)
		}
	}
}

// TestRemovedAuditRecordsStopStart checks that a server does not start on a
// trail that lost records it had made durable (here: the last records cut
// from the live file after kill -9, which no crash does), leaves the
// directory as it found it, does not start a new trail in its place once
// the damaged one is moved aside, and starts one when told to with
// --audit-new-trail. The GetKeyLastUsage index is saved only every minute
// here: the audit mark, saved every second, is what knows the cut records.
func TestRemovedAuditRecordsStopStart(t *testing.T) {
	dir := t.TempDir()
	key, live, data := crashAfterMark(t, dir, 6)
	auditDir := filepath.Dir(live)
	lines := bytes.SplitAfter(bytes.TrimRight(data, "\x00"), []byte("\n"))
	lines = lines[:len(lines)-1] // the empty piece after the last newline
	if len(lines) < 3 {
		t.Fatalf("live file holds %d records", len(lines))
	}
	if err := os.Truncate(live, int64(len(bytes.Join(lines[:len(lines)-2], nil)))); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, auditDir)

	out := refusedStart(t, dir)
	if !strings.Contains(out, "was durable") || !strings.Contains(out, "move it aside") || !strings.Contains(out, "--audit-new-trail") {
		t.Errorf("start on a trail that lost durable records:\n%s\nwant a refusal naming the lost records and the way to a new trail", out)
	}
	if changed := changedFiles(before, readTree(t, auditDir)); len(changed) > 0 {
		t.Errorf("the refused start changed the audit directory: %v", changed)
	}

	if err := os.Rename(auditDir, auditDir+".damaged"); err != nil {
		t.Fatal(err)
	}
	out = refusedStart(t, dir)
	if !strings.Contains(out, "does not exist") || !strings.Contains(out, "--audit-new-trail") {
		t.Errorf("start without the trail:\n%s\nwant a refusal saying the trail is gone", out)
	}
	if _, err := os.Stat(auditDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused start made %s: %v", auditDir, err)
	}
	p2, c2 := startSigned(t, dir, "--audit-new-trail")
	if !strings.Contains(p2.log(), "starting a new trail") {
		t.Errorf("no warning about the new trail in the start-up log:\n%s", p2.log())
	}
	must[*kms.EncryptOutput](t)(c2.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("new trail")}))
}

// TestRemovedAuditTrailStopsStart checks that a server killed right after
// its first requests, before any periodic save, still knows its trail: it
// refuses to start when the audit directory was removed, emptied, or
// replaced by another server's trail, and changes nothing there.
func TestRemovedAuditTrailStopsStart(t *testing.T) {
	other := t.TempDir()
	startProc(t, other).cmd.Process.Kill()

	tests := []struct {
		name  string
		swap  func(t *testing.T, auditDir string)
		found string
	}{
		{"removed", func(t *testing.T, auditDir string) {
			if err := os.RemoveAll(auditDir); err != nil {
				t.Fatal(err)
			}
		}, "does not exist"},
		{"emptied", func(t *testing.T, auditDir string) {
			entries, _ := os.ReadDir(auditDir)
			for _, e := range entries {
				os.Remove(filepath.Join(auditDir, e.Name()))
			}
		}, "holds no audit log"},
		{"another server's trail", func(t *testing.T, auditDir string) {
			if err := os.RemoveAll(auditDir); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(auditDir, os.DirFS(server.DefaultAuditDir(other))); err != nil {
				t.Fatal(err)
			}
		}, "holds audit log"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, c := startSigned(t, dir)
			must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			p.cmd.Wait()
			auditDir := server.DefaultAuditDir(dir)
			tc.swap(t, auditDir)
			var before map[string]string
			if _, err := os.Stat(auditDir); err == nil {
				before = readTree(t, auditDir)
			}

			out := refusedStart(t, dir)
			if !strings.Contains(out, tc.found) || !strings.Contains(out, "the trail was removed or replaced") {
				t.Errorf("start with the audit directory %s:\n%s\nwant a refusal saying it %s", tc.name, out, tc.found)
			}
			if before != nil {
				after := readTree(t, auditDir)
				if changed := changedFiles(before, after); len(changed) > 0 {
					t.Errorf("the refused start changed the audit directory: %v", changed)
				}
			}
		})
	}
}

// TestRemovedNewestDigestStopsStart: the newest digest and the log file it
// signed, removed together after a clean stop, leave a trail whose
// signatures all check; the mark saved at shutdown still knows the records
// in that file, so keyward audit verify reports them lost and the next
// start is refused.
func TestRemovedNewestDigestStopsStart(t *testing.T) {
	dir := t.TempDir()
	p, c := startSigned(t, dir)
	must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
	p, c = startSigned(t, dir)
	must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()

	auditDir := server.DefaultAuditDir(dir)
	digests, _ := filepath.Glob(filepath.Join(auditDir, "digest-*.json"))
	logs, _ := filepath.Glob(filepath.Join(auditDir, "audit-*.log"))
	if len(digests) != 2 || len(logs) != 2 {
		t.Fatalf("after two clean stops: digests %v, log files %v; want two of each", digests, logs)
	}
	for _, f := range []string{digests[1], logs[1]} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	// Every signature and the chain still check; the mark in the store is
	// what tells, and verify reads it too.
	vout, verr := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput()
	if verr == nil || !strings.Contains(string(vout), "lost-durable at record 2: the trail ends at record 1, but record 2 was durable") {
		t.Errorf("keyward audit verify = %v:\n%s\nwant lost-durable at record 2", verr, vout)
	}
	vout, verr = exec.Command(binary(t), "audit", "verify", "--data-dir", dir, "--no-mark").CombinedOutput()
	if verr != nil || !strings.Contains(string(vout), "OK") {
		t.Errorf("keyward audit verify --no-mark = %v:\n%s\nwant OK: without the mark nothing shows the removal", verr, vout)
	}
	out := refusedStart(t, dir)
	if !strings.Contains(out, "the trail ends at record 1, but record 2 was durable") {
		t.Errorf("start after the newest digest and its file were removed:\n%s\nwant a refusal naming record 2", out)
	}
}

// TestRewrittenAuditRecordsStopStart: after kill -9, records the crash left
// unsigned are rewritten with their chain recomputed, as anyone who can
// write the directory and read doc.go can: every hash checks, and a start
// would sign them. The mark holds the chain hash of the last durable
// record, so keyward audit verify reports the rewrite and the start is
// refused, changing nothing.
func TestRewrittenAuditRecordsStopStart(t *testing.T) {
	dir := t.TempDir()
	_, live, data := crashAfterMark(t, dir, 4)
	auditDir := filepath.Dir(live)
	// The record format of doc.go: {"seq":N,"prevHash":H,"hash":H,"event":E},
	// hash = SHA-256(prevHash || uint64be(seq) || E).
	var out []byte
	var prev []byte
	for i, line := range bytes.SplitAfter(bytes.TrimRight(data, "\x00"), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r struct {
			Seq   uint64          `json:"seq"`
			Prev  string          `json:"prevHash"`
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			var err error
			if prev, err = hex.DecodeString(r.Prev); err != nil {
				t.Fatal(err)
			}
		}
		event := []byte(r.Event)
		if r.Seq == 3 {
			event = bytes.Replace(event, []byte(`"sourceIPAddress":"127.0.0.1"`), []byte(`"sourceIPAddress":"127.0.0.2"`), 1)
			if bytes.Equal(event, r.Event) {
				t.Fatalf("record 3 has no sourceIPAddress 127.0.0.1: %s", r.Event)
			}
		}
		h := sha256.New()
		h.Write(prev)
		h.Write(binenc.BigEndian.AppendUint64(nil, r.Seq))
		h.Write(event)
		sum := h.Sum(nil)
		out = fmt.Appendf(out, `{"seq":%d,"prevHash":"%x","hash":"%x","event":%s}`+"\n", r.Seq, prev, sum, event)
		prev = sum
	}
	if err := os.WriteFile(live, out, 0o600); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, auditDir)

	if vout, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir, "--no-mark").CombinedOutput(); err != nil {
		t.Fatalf("keyward audit verify --no-mark = %v; the forged chain should check without the mark:\n%s", err, vout)
	}
	vout, verr := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput()
	if verr == nil || !strings.Contains(string(vout), "lost-durable at record") || !strings.Contains(string(vout), "were rewritten") {
		t.Errorf("keyward audit verify = %v:\n%s\nwant lost-durable naming the rewrite", verr, vout)
	}
	out2 := refusedStart(t, dir)
	if !strings.Contains(out2, "is not the record that was durable") {
		t.Errorf("start after records were rewritten:\n%s\nwant a refusal naming the rewrite", out2)
	}
	if changed := changedFiles(before, readTree(t, auditDir)); len(changed) > 0 {
		t.Errorf("the refused start changed the audit directory: %v", changed)
	}
}

// TestTamperedAuditStoreStopsStart: an audit mark in the store that is not
// the server's (not wrapped under the root key for that purpose), a mark
// removed, or the audit signing key removed stops the start and fails
// keyward audit verify, since the trail can no longer be checked;
// --audit-new-trail starts without the mark, on the same trail.
func TestTamperedAuditStoreStopsStart(t *testing.T) {
	dir := t.TempDir()
	p, c := startSigned(t, dir)
	key := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	db := filepath.Join(dir, "keyward.db")
	pristine, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		tamper func(tx store.Tx) error
		found  string
	}{
		{"plain JSON", func(tx store.Tx) error {
			return tx.Put("server/audit-mark", []byte(`{"logId":"0123456789abcdef0123456789abcdef","seq":1}`))
		}, "audit mark in the store"},
		{"wrapped under the root key, but for the usage index", func(tx store.Tx) error {
			b, err := tx.Get("server/usage-index")
			if err != nil {
				return err
			}
			return tx.Put("server/audit-mark", slices.Clone(b))
		}, "audit mark in the store"},
		// A new signing key would sign the trail on unnoticed.
		{"intact, but the signing key removed", func(tx store.Tx) error {
			return tx.Delete("server/audit-signing-key")
		}, "but holds no audit signing key"},
		// Without the mark and the usage index the trail could be cut or
		// removed unnoticed; the signing key says there was one.
		{"removed, with the usage index", func(tx store.Tx) error {
			if err := tx.Delete("server/audit-mark"); err != nil {
				return err
			}
			return tx.Delete("server/usage-index")
		}, "neither the audit mark nor the GetKeyLastUsage index: they were removed"},
	} {
		// Each case tampers with the store as the server left it; the
		// last one stays for the start with --audit-new-trail below.
		if err := os.WriteFile(db, pristine, 0o600); err != nil {
			t.Fatal(err)
		}
		editStore(t, dir, tc.tamper)
		if out := refusedStart(t, dir); !strings.Contains(out, tc.found) || !strings.Contains(out, "--audit-new-trail") {
			t.Errorf("start with the audit mark %s:\n%s\nwant a refusal saying %q", tc.name, out, tc.found)
		}
		if out, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput(); err == nil || !strings.Contains(string(out), tc.found) {
			t.Errorf("keyward audit verify with the audit mark %s = %v:\n%s\nwant a failure saying %q", tc.name, err, out, tc.found)
		}
	}
	auditDir := server.DefaultAuditDir(dir)
	before := readTree(t, auditDir)
	p2, c2 := startSigned(t, dir, "--audit-new-trail")
	must[*kms.EncryptOutput](t)(c2.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")}))
	// While the server runs, verify cannot read the store and says so.
	vout, verr := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput()
	if verr != nil || !strings.Contains(string(vout), "mark      not checked") || !strings.Contains(string(vout), "running server") {
		t.Errorf("keyward audit verify beside a running server = %v:\n%s\nwant OK, the mark not checked", verr, vout)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Wait()
	// The same trail went on: every file there before is still there.
	for name := range before {
		if _, err := os.Stat(filepath.Join(auditDir, name)); err != nil {
			t.Errorf("after the start with --audit-new-trail: %v", err)
		}
	}
	n := 0
	if err := audit.Query(auditDir, audit.Filter{}, func(*audit.Event) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("the trail holds %d records after CreateKey and Encrypt, want 2", n)
	}

	// Everything that marks the trail removed with it, the public key file
	// too: the KMS key, which only an audited request makes, still says a
	// trail was written.
	editStore(t, dir, func(tx store.Tx) error {
		for _, k := range []string{"server/audit-signing-key", "server/audit-mark", "server/usage-index"} {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err := os.Rename(auditDir, auditDir+"-gone"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(server.AuditPublicKeyFile(dir)); err != nil {
		t.Fatal(err)
	}
	if out := refusedStart(t, dir); !strings.Contains(out, "holds KMS keys but holds no audit signing key") {
		t.Errorf("start with every trace of the trail removed:\n%s\nwant a refusal naming the missing signing key", out)
	}
	if _, err := os.Stat(auditDir); err == nil {
		t.Errorf("the refused start made the audit directory again")
	}
}

// editStore changes the store of the stopped server on dir in one
// transaction.
func editStore(t *testing.T, dir string, edit func(tx store.Tx) error) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "keyward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Update(ctx, edit); err != nil {
		t.Fatal(err)
	}
}

// crashAfterMark starts a server on dir, creates a key and encrypts with it
// n times, waits for the audit mark to be saved (at 1 s), and kills the
// server with SIGKILL. It returns the key, and the live log file the crash
// left with its content (see killLeavingLiveFile).
func crashAfterMark(t *testing.T, dir string, n int) (key *string, live string, data []byte) {
	t.Helper()
	p, c := startSigned(t, dir)
	key = must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	for range n {
		must[*kms.EncryptOutput](t)(c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")}))
	}
	time.Sleep(1500 * time.Millisecond)
	live, data = killLeavingLiveFile(t, p, dir)
	return key, live, data
}

// killLeavingLiveFile kills the server p on dataDir with SIGKILL and
// returns the path and the content (zero tail included) of the live audit
// log file it leaves behind.
func killLeavingLiveFile(t *testing.T, p *proc, dataDir string) (string, []byte) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	logs, _ := filepath.Glob(filepath.Join(server.DefaultAuditDir(dataDir), "audit-*.log"))
	if len(logs) == 0 {
		t.Fatal("no audit log file")
	}
	live := logs[len(logs)-1]
	data, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	return live, data
}

// startSigned starts a server on dir and returns it with a client signed
// with the account root's access key.
func startSigned(t *testing.T, dir string, extra ...string) (*proc, *kms.Client) {
	t.Helper()
	p := startProc(t, dir, extra...)
	akid, secret := readCredentials(t, filepath.Join(dir, "credentials"))
	return p, newClient(p.url, akid, secret, testRegion)
}

// refusedStart starts a server on dataDir that must refuse to start, and
// returns its output.
func refusedStart(t *testing.T, dataDir string, extra ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, extra...)...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the server started:\n%s", out)
	}
	if err == nil {
		t.Fatalf("the server exited without an error:\n%s", out)
	}
	t.Logf("refused start: %v\n%s", err, out)
	return string(out)
}

// readTree returns the content of every file in dir, by name.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// changedFiles names the files that differ between two readTree results:
// added, removed or with other content.
func changedFiles(before, after map[string]string) []string {
	var names []string
	for name, data := range after {
		if old, ok := before[name]; !ok || old != data {
			names = append(names, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestAuditMaxFileAge: with --audit-max-file-age a log file is closed once
// it is that old and the next record starts a new one; the trail verifies
// across the files.
func TestAuditMaxFileAge(t *testing.T) {
	dir := t.TempDir()
	p, c := startSigned(t, dir, "--audit-max-file-age", "1s")
	must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{}))
	time.Sleep(1500 * time.Millisecond)
	must[*kms.ListKeysOutput](t)(c.ListKeys(ctx, &kms.ListKeysInput{}))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()

	files, err := filepath.Glob(filepath.Join(server.DefaultAuditDir(dir), "audit-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Errorf("log files after 1.5 s with --audit-max-file-age 1s: %v, want at least 2", files)
	}
	if out, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("keyward audit verify: %v\n%s", err, out)
	}
}

// TestRemovedSigningKeyNewTrail: with the audit signing key removed from
// the store the start is refused. --audit-new-trail makes a new key and
// says so, but keeps the audit mark: a trail cut after a crash is still
// refused, and the whole trail goes on under the new key.
func TestRemovedSigningKeyNewTrail(t *testing.T) {
	dir := t.TempDir()
	key, live, data := crashAfterMark(t, dir, 3)
	oldPub, err := os.ReadFile(server.AuditPublicKeyFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	editStore(t, dir, func(tx store.Tx) error { return tx.Delete("server/audit-signing-key") })
	if out := refusedStart(t, dir); !strings.Contains(out, "no audit signing key") || !strings.Contains(out, "--audit-new-trail") {
		t.Errorf("start without the signing key:\n%s\nwant a refusal naming it", out)
	}

	// The last record cut as well: the new key does not excuse that.
	records := bytes.SplitAfter(bytes.TrimRight(data, "\x00"), []byte("\n"))
	records = records[:len(records)-1] // the empty piece after the last newline
	if err := os.Truncate(live, int64(len(bytes.Join(records[:len(records)-1], nil)))); err != nil {
		t.Fatal(err)
	}
	// The refused start stored a new key before it opened the trail, and
	// took it back: the store is as it was.
	auditEntries := func() (key, mark []byte) {
		editStore(t, dir, func(tx store.Tx) error {
			if b, err := tx.Get("server/audit-signing-key"); err == nil {
				key = bytes.Clone(b)
			}
			if b, err := tx.Get("server/audit-mark"); err == nil {
				mark = bytes.Clone(b)
			}
			return nil
		})
		return key, mark
	}
	_, markBefore := auditEntries()
	if out := refusedStart(t, dir, "--audit-new-trail"); !strings.Contains(out, "was durable") {
		t.Errorf("start with --audit-new-trail on a cut trail:\n%s\nwant a refusal naming the lost record", out)
	}
	if key, mark := auditEntries(); key != nil || mark == nil || !bytes.Equal(mark, markBefore) {
		t.Errorf("after the refused start the store holds a signing key: %v, the same audit mark: %v", key != nil, bytes.Equal(mark, markBefore))
	}
	if err := os.WriteFile(live, data, 0o600); err != nil {
		t.Fatal(err)
	}

	p, c := startSigned(t, dir, "--audit-new-trail")
	must[*kms.EncryptOutput](t)(c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")}))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
	if !strings.Contains(p.log(), "made a new audit signing key") {
		t.Errorf("the start with --audit-new-trail did not say it made a new key:\n%s", p.log())
	}
	newPub, err := os.ReadFile(server.AuditPublicKeyFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(newPub, oldPub) {
		t.Errorf("the public key file still holds the removed key")
	}
	n := 0
	if err := audit.Query(server.DefaultAuditDir(dir), audit.Filter{}, func(*audit.Event) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("the trail holds %d records after CreateKey and 4 Encrypts, want 5 (the same trail)", n)
	}
	if out, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("keyward audit verify with the new public key = %v:\n%s", err, out)
	}
}

// TestPlantedDigestRefused: a digest planted in the audit directory by
// someone without the signing key, whose floor would have the server
// delete every record, makes the start fail and changes nothing; with
// --audit-new-trail the server goes on, deletes nothing, and verify still
// reports the planted digest.
func TestPlantedDigestRefused(t *testing.T) {
	dir := t.TempDir()
	p, c := startSigned(t, dir)
	key := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	must[*kms.EncryptOutput](t)(c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")}))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()

	// Copy the newest digest as the next one, with a floor past every
	// record; its signature no longer matches.
	auditDir := server.DefaultAuditDir(dir)
	digests, _ := filepath.Glob(filepath.Join(auditDir, "digest-*.json"))
	if len(digests) == 0 {
		t.Fatal("no digest after a clean stop")
	}
	newest := digests[len(digests)-1]
	var env struct {
		Payload   map[string]any `json:"payload"`
		Signature []byte         `json:"signature"`
	}
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	seq := env.Payload["digestSeq"].(float64) + 1
	env.Payload["digestSeq"] = seq
	env.Payload["floor"] = map[string]any{"seq": env.Payload["lastSeq"].(float64) + 1, "prevHash": env.Payload["lastHash"], "digestSeq": seq}
	env.Payload["logFiles"] = []any{}
	b, err = json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(newest)
	planted := filepath.Join(auditDir, fmt.Sprintf("digest-%020d%s", int(seq), base[len("digest-")+20:]))
	if err := os.WriteFile(planted, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logs, _ := filepath.Glob(filepath.Join(auditDir, "audit-*.log"))

	if out := refusedStart(t, dir); !strings.Contains(out, "does not verify") || !strings.Contains(out, filepath.Base(planted)) || !strings.Contains(out, "--audit-new-trail") {
		t.Errorf("start with a planted digest:\n%s\nwant a refusal naming it", out)
	}
	p, c = startSigned(t, dir, "--audit-new-trail")
	must[*kms.EncryptOutput](t)(c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("y")}))
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait()
	if !strings.Contains(p.log(), "does not verify with the audit signing key") {
		t.Errorf("the start with --audit-new-trail did not warn about the digest:\n%s", p.log())
	}
	for _, f := range logs {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("log file %s: %v", filepath.Base(f), err)
		}
	}
	out, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), filepath.Base(planted)) {
		t.Errorf("keyward audit verify = %v:\n%s\nwant the planted digest reported", err, out)
	}
}
