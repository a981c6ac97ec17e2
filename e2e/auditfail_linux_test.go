package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/server"
	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/bolt"
)

// limitFileSize caps the size of the files process pid may write
// (RLIMIT_FSIZE): a write at or beyond limit fails with EFBIG, as on a full
// disk. Go ignores the SIGXFSZ that comes with it.
func limitFileSize(t *testing.T, pid int, limit uint64) {
	t.Helper()
	var old, lim struct{ cur, max uint64 }
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE, 0, uintptr(unsafe.Pointer(&old)), 0, 0); e != 0 {
		t.Skipf("prlimit: %v", e)
	}
	lim.cur, lim.max = limit, old.max
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE, uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		t.Skipf("prlimit: %v", e)
	}
}

// TestAuditWriteFailureFailsClosed checks what a client and an operator see
// when the audit log cannot be written (here: a file size limit on the
// server process, which fails writes the way a full disk does): the request
// whose record cannot be written, and every request after it, fails with
// KMSInternalException (HTTP 500); the health check answers 503 and the
// metrics say the log is broken; the server stops on SIGTERM; the next start
// recovers the trail, which verifies and holds a record of every request
// that was answered with success.
func TestAuditWriteFailureFailsClosed(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	akid, secret := readCredentials(t, filepath.Join(dir, "credentials"))
	// No retries: the SDK retries a 500 with backoff, which only slows this down.
	c := kms.New(newClient(p.url, akid, secret, testRegion).Options(), func(o *kms.Options) { o.Retryer = aws.NopRetryer{} })
	key := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId
	if code, body := get(t, p.url+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz before the failure = %d %q", code, body)
	}

	// About a thousand records fit under the limit. The log has zero-filled
	// the file beyond it by then, as its reserve of space; writes past the
	// limit fail even there, as after an I/O error, where a full disk would
	// let the records in (TestAuditDiskFullRefusesNewRequests).
	waitReserve(t, dir, 4<<20)
	limitFileSize(t, p.cmd.Process.Pid, 1<<20)

	// Keys are made throughout: a CreateKey under way when the log fails
	// takes effect though its record cannot be written, and its client gets
	// KMSInternalException; the server keeps the record for the next start.
	succeeded, _, failed := untilFailure(5, encryptCall(c, key), createKeyCall(c, 0), createKeyCall(c, 0), createKeyCall(c, 0))
	if len(failed) == 0 {
		t.Fatalf("%d requests succeeded and none failed under a 1 MiB file size limit", len(succeeded))
	}
	for _, err := range failed {
		wantInternal(t, "a request when the audit log failed", err)
	}
	t.Logf("%d requests succeeded before the audit log failed; %d failed", len(succeeded), len(failed))

	// Nothing succeeds unlogged afterwards, reads included.
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")})
	wantInternal(t, "Encrypt", err)
	_, err = c.ListKeys(ctx, &kms.ListKeysInput{})
	wantInternal(t, "ListKeys", err)
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("must not appear")})
	wantInternal(t, "CreateKey", err)

	if code, body := get(t, p.url+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "audit log stopped") {
		t.Errorf("/healthz after the audit log failed = %d %q, want 503 naming the audit log", code, body)
	}
	if _, body := get(t, p.url+"/metrics"); !strings.Contains(body, "\nkeyward_audit_broken 1\n") {
		t.Errorf("/metrics lacks keyward_audit_broken 1")
	}
	if log := p.log(); !strings.Contains(log, "audit append failed") || strings.Contains(log, secret) {
		t.Errorf("server log after the failure: want the audit error and no secret:\n%s", log)
	}
	// Every request now fails the same way; the log says so once every
	// 10 s, not once a request.
	for range 20 {
		c.ListKeys(ctx, &kms.ListKeysInput{})
	}
	if n := strings.Count(p.log(), "audit append failed"); n > 2 {
		t.Errorf("the server logged the stopped audit log %d times for about 30 refused requests, want a line every 10 s", n)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { p.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("the server did not stop on SIGTERM with a broken audit log:\n%s", p.log())
	}

	// The next start (without the limit) recovers and serves.
	p2 := startProc(t, dir)
	c2 := newClient(p2.url, akid, secret, testRegion)
	must[*kms.EncryptOutput](t)(c2.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("after")}))
	if code, body := get(t, p2.url+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after the restart = %d %q", code, body)
	}
	var keyARNs []string
	for _, k := range must[*kms.ListKeysOutput](t)(c2.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)})).Keys {
		d := must[*kms.DescribeKeyOutput](t)(c2.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})).KeyMetadata
		if aws.ToString(d.Description) == "must not appear" {
			t.Errorf("CreateKey refused with KMSInternalException after the audit log failed made key %s anyway", *k.KeyId)
		}
		keyARNs = append(keyARNs, *k.KeyArn)
	}
	t.Logf("%d records kept while the log failed were added at the restart", strings.Count(p2.log(), "added to the trail the record"))
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Wait()

	verifyTrailHolds(t, dir, succeeded)
	// Every key that exists was recorded as made, the keys whose CreateKey
	// was under way when the log failed included.
	made := map[string]bool{}
	audit.Query(server.DefaultAuditDir(dir), audit.Filter{EventName: "CreateKey"}, func(e *audit.Event) bool {
		if e.ErrorCode == "" && len(e.Resources) == 1 {
			made[e.Resources[0].ARN] = true
		}
		return true
	})
	for _, arn := range keyARNs {
		if !made[arn] {
			t.Errorf("key %s exists but the trail has no record of its CreateKey", arn)
		}
	}
}

// waitReserve waits until the live audit log file of the server in dir is
// at least size bytes long, records and the zeros beyond them, and has
// stopped growing: the log has filled its reserve.
func waitReserve(t *testing.T, dir string, size int64) {
	t.Helper()
	last := int64(-1)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		logs, _ := filepath.Glob(filepath.Join(server.DefaultAuditDir(dir), "audit-*.log"))
		if len(logs) > 0 {
			if st, err := os.Stat(logs[len(logs)-1]); err == nil {
				if st.Size() >= size && st.Size() == last {
					return
				}
				last = st.Size()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live audit log in %s did not settle at %d bytes or more", dir, size)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAuditDiskFullRefusesNewRequests checks the audit log's disk space
// reserve. When the disk fills up (here: a file size limit 8 MiB into the
// live log, which the log meets while zero-filling ahead of its records),
// the server refuses new requests with KMSInternalException before they
// take effect, while the requests it had admitted write their records into
// the space reserved and succeed: no request takes effect unrecorded, and
// no key is made by a CreateKey whose client got an error. Once space is
// freed the server serves again without a restart.
func TestAuditDiskFullRefusesNewRequests(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	akid, secret := readCredentials(t, filepath.Join(dir, "credentials"))
	c := kms.New(newClient(p.url, akid, secret, testRegion).Options(), func(o *kms.Options) { o.Retryer = aws.NopRetryer{} })
	key := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata.KeyId

	limitFileSize(t, p.cmd.Process.Pid, 8<<20)

	succeeded, made, failed := untilFailure(7, encryptCall(c, key), createKeyCall(c, 20*time.Millisecond))
	created := map[string]bool{*key: true} // keys CreateKey answered with
	for _, k := range made {
		created[k] = true
	}
	if len(failed) == 0 {
		t.Fatalf("%d requests succeeded and none failed under an 8 MiB file size limit", len(succeeded))
	}
	for _, err := range failed {
		wantInternal(t, "a request with the disk full", err)
	}
	t.Logf("%d requests succeeded (%d keys made) before the disk filled; %d failed", len(succeeded), len(created)-1, len(failed))

	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("x")})
	wantInternal(t, "Encrypt with the disk full", err)
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("must not appear")})
	wantInternal(t, "CreateKey with the disk full", err)
	if code, body := get(t, p.url+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "out of disk space") {
		t.Errorf("/healthz with the disk full = %d %q, want 503 naming the disk space", code, body)
	}
	if _, body := get(t, p.url+"/metrics"); !strings.Contains(body, "\nkeyward_audit_no_space 1\n") || !strings.Contains(body, "\nkeyward_audit_broken 0\n") {
		t.Errorf("/metrics with the disk full lacks keyward_audit_no_space 1 and keyward_audit_broken 0")
	}
	for range 20 {
		c.ListKeys(ctx, &kms.ListKeysInput{})
	}
	log := p.log()
	if n := strings.Count(log, "audit log out of disk space"); n < 1 || n > 2 || strings.Contains(log, `msg="internal error"`) || strings.Contains(log, secret) {
		t.Errorf("server log with the disk full: want one or two lines about the disk space for about 25 refused requests, no other internal error and no secret:\n%s", log)
	}

	// Space is freed: the server serves again, without a restart.
	limitFileSize(t, p.cmd.Process.Pid, ^uint64(0))
	freed := time.Now()
	for {
		out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("after")})
		if err == nil {
			id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
			succeeded = append(succeeded, id)
			t.Logf("serving again %v after space was freed", time.Since(freed).Round(time.Millisecond))
			if code, body := get(t, p.url+"/healthz"); code != http.StatusOK {
				t.Errorf("/healthz after space was freed = %d %q", code, body)
			}
			break
		}
		if time.Since(freed) > 10*time.Second {
			t.Errorf("Encrypt 10 s after space was freed: %v", err)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	// No refused CreateKey made a key.
	p2 := startProc(t, dir)
	pager := kms.NewListKeysPaginator(newClient(p2.url, akid, secret, testRegion), &kms.ListKeysInput{})
	for pager.HasMorePages() {
		page := must[*kms.ListKeysOutput](t)(pager.NextPage(ctx))
		for _, k := range page.Keys {
			if !created[*k.KeyId] {
				t.Errorf("key %s exists, but no CreateKey was answered with it", *k.KeyId)
			}
		}
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Wait()

	verifyTrailHolds(t, dir, succeeded)
}

// untilFailure runs n workers calling the first call, and one more for
// each further call, until a call fails or a minute has passed. A call
// returns the request ID of a success and what it made, if anything. It
// returns the request IDs of the successes, what they made, and the
// failures: one for each worker that stopped on one.
func untilFailure(n int, calls ...func() (id, made string, err error)) (succeeded, made []string, failed []error) {
	var (
		mu   sync.Mutex
		stop = make(chan struct{})
		once sync.Once
		wg   sync.WaitGroup
	)
	deadline := time.Now().Add(60 * time.Second)
	work := func(call func() (string, string, error)) {
		defer wg.Done()
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			default:
			}
			id, m, err := call()
			mu.Lock()
			if err == nil {
				succeeded = append(succeeded, id)
				if m != "" {
					made = append(made, m)
				}
			} else {
				failed = append(failed, err)
			}
			mu.Unlock()
			if err != nil {
				once.Do(func() { close(stop) })
				return
			}
		}
	}
	for i := range n + len(calls) - 1 {
		wg.Add(1)
		go work(calls[max(0, i-n+1)])
	}
	wg.Wait()
	return succeeded, made, failed
}

// encryptCall is an untilFailure call: an Encrypt under key.
func encryptCall(c *kms.Client, key *string) func() (string, string, error) {
	return func() (string, string, error) {
		out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("audited or refused")})
		if err != nil {
			return "", "", err
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return id, "", nil
	}
}

// createKeyCall is an untilFailure call: a CreateKey after a pause, which
// keeps the key store small under a file size limit.
func createKeyCall(c *kms.Client, pause time.Duration) func() (string, string, error) {
	return func() (string, string, error) {
		time.Sleep(pause)
		out, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("made while the log failed")})
		if err != nil {
			return "", "", err
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return id, *out.KeyMetadata.KeyId, nil
	}
}

// wantInternal checks that err is what a request gets when its record
// cannot be written: KMSInternalException with HTTP 500.
func wantInternal(t *testing.T, what string, err error) {
	t.Helper()
	code, _ := apiErr(t, err)
	var re *awshttp.ResponseError
	if code != "KMSInternalException" || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		t.Errorf("%s = %v, want KMSInternalException with HTTP 500", what, err)
	}
}

// verifyTrailHolds checks, once the server in dir has stopped, that its
// trail verifies and holds a record of each request in succeeded.
func verifyTrailHolds(t *testing.T, dir string, succeeded []string) {
	t.Helper()
	if out, err := exec.Command(binary(t), "audit", "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("keyward audit verify: %v\n%s", err, out)
	}
	logged := map[string]bool{}
	if err := audit.Query(server.DefaultAuditDir(dir), audit.Filter{}, func(e *audit.Event) bool {
		logged[e.RequestID] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range succeeded {
		if !logged[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d requests answered with success have no audit record", missing, len(succeeded))
	}
}

// TestForgedKeptRecordIgnored: a record planted in the store where the
// server keeps the records of requests that took effect while its audit log
// failed is not added to the trail, since it is not wrapped under the root
// key; the server says so and starts.
func TestForgedKeptRecordIgnored(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	st, err := bolt.Open(filepath.Join(dir, "keyward.db"))
	if err != nil {
		t.Fatal(err)
	}
	forged := `{"eventVersion":"1.11","eventSource":"kms.amazonaws.com","eventName":"DisableKey","requestID":"forged-request"}`
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Put("audit-unrecorded/00000000000000000001-x", []byte(forged)) }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	p2 := startProc(t, dir)
	if log := p2.log(); !strings.Contains(log, "does not unwrap under the root key") {
		t.Errorf("the server did not report the planted record:\n%s", log)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.cmd.Wait()
	audit.Query(server.DefaultAuditDir(dir), audit.Filter{}, func(e *audit.Event) bool {
		if e.RequestID == "forged-request" {
			t.Errorf("the planted record is in the trail: %+v", e)
		}
		return true
	})
}

// TestKeptRecordReplayedOnce: a kept record whose event is in the trail
// already, as after a crash between its append at a start and its removal
// from the store, is forgotten at the next start without a second copy in
// the trail, and so is a copy of it under another name.
func TestKeptRecordReplayedOnce(t *testing.T) {
	dir := t.TempDir()
	p, c := startSigned(t, dir)
	key := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()

	auditDir := server.DefaultAuditDir(dir)
	var created *audit.Event
	audit.Query(auditDir, audit.Filter{EventName: "CreateKey"}, func(e *audit.Event) bool { created = e; return false })
	if created == nil {
		t.Fatal("no CreateKey record")
	}
	// The server keeps the eventTime it made, finer than the second the
	// trail writes.
	created.EventTime = created.EventTime.Add(700 * time.Millisecond)
	// Keep it as the server keeps a record whose append failed: wrapped
	// under the root key, with the AAD of internal/server's unrecordedAAD.
	root, _, err := keystore.OpenSoft(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := root.Wrap(b, []byte("keyward audit unrecorded record v1"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "keyward.db"))
	if err != nil {
		t.Fatal(err)
	}
	kept := []string{"audit-unrecorded/00000000000000000001-" + created.EventID, "audit-unrecorded/00000000000000000002-copy"}
	if err := st.Update(ctx, func(tx store.Tx) error {
		for _, name := range kept {
			if err := tx.Put(name, wrapped); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	p2, c2 := startSigned(t, dir)
	must[*kms.DescribeKeyOutput](t)(c2.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: key.KeyId}))
	p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.wait()
	if n := strings.Count(p2.log(), "was in the trail already"); n != len(kept) {
		t.Errorf("the server reported %d kept records as in the trail already, want %d:\n%s", n, len(kept), p2.log())
	}
	copies := 0
	audit.Query(auditDir, audit.Filter{EventID: created.EventID}, func(*audit.Event) bool { copies++; return true })
	if copies != 1 {
		t.Errorf("the trail holds %d records with eventID %s, want 1", copies, created.EventID)
	}
	st, err = bolt.Open(filepath.Join(dir, "keyward.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.View(ctx, func(tx store.Tx) error {
		left, err := tx.List("audit-unrecorded/", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Errorf("%d kept records left in the store after the start", len(left))
		}
		return nil
	})
	verifyTrailHolds(t, dir, nil)
}
