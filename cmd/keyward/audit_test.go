package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/server"
)

// auditDataDir makes a data directory with an audit log of three records
// and the public key file, as the server leaves them.
func auditDataDir(t *testing.T) string {
	t.Helper()
	dataDir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	os.WriteFile(server.AuditPublicKeyFile(dataDir), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	l, err := audit.Open(server.DefaultAuditDir(dataDir), audit.Options{Signer: priv})
	if err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for i, name := range []string{"CreateKey", "Encrypt", "Decrypt"} {
		ev := &audit.Event{
			EventName: name, EventTime: time.Date(2024, 5, 1, 0, 0, i, 0, time.UTC), AWSRegion: "us-east-1", SourceIPAddress: "192.0.2.1",
			UserIdentity: audit.UserIdentity{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333"},
			Resources:    []audit.Resource{{AccountID: "111122223333", Type: audit.ResourceTypeKey, ARN: arn}},
		}
		if name == "Decrypt" {
			ev.ErrorCode = "InvalidCiphertextException"
		}
		if err := l.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dataDir
}

func runCmd(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, func(string) string { return "" }, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestAuditVerifyCommand(t *testing.T) {
	dataDir := auditDataDir(t)
	code, out, errOut := runCmd("audit", "verify", "--data-dir", dataDir)
	// No store in this data directory: the mark is not checked, and says so.
	if code != 0 || !strings.Contains(out, ": OK") || !strings.Contains(out, "records   1 to 3 (3)") || !strings.Contains(out, "mark      not checked: no store") {
		t.Fatalf("audit verify = %d\n%s%s", code, out, errOut)
	}
	// Change one byte of record 2.
	logs, _ := filepath.Glob(filepath.Join(server.DefaultAuditDir(dataDir), "audit-*.log"))
	data, _ := os.ReadFile(logs[0])
	os.WriteFile(logs[0], bytes.Replace(data, []byte(`"eventName":"Encrypt"`), []byte(`"eventName":"Encrypu"`), 1), 0o600)
	code, out, errOut = runCmd("audit", "verify", "--data-dir", dataDir)
	if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, filepath.Base(logs[0])+":2: modified at record 2") {
		t.Errorf("audit verify after changing record 2 = %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd("audit", "verify", "--data-dir", dataDir, "--public-key", filepath.Join(dataDir, "nope.pem")); code != 2 || !strings.Contains(errOut, "--public-key") {
		t.Errorf("audit verify with a missing key = %d %s", code, errOut)
	}
}

func TestAuditQueryCommand(t *testing.T) {
	dataDir := auditDataDir(t)
	code, out, errOut := runCmd("audit", "query", "--data-dir", dataDir, "--output", "json", "--error-code", "InvalidCiphertextException")
	var ev audit.Event
	if code != 0 || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &ev) != nil || ev.EventName != "Decrypt" {
		t.Errorf("audit query --error-code = %d %q %s", code, out, errOut)
	}
	code, out, _ = runCmd("audit", "query", "--data-dir", dataDir, "--start", "2024-05-01T00:00:01Z", "--key", "1234abcd-12ab-34cd-56ef-1234567890ab")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "Encrypt") || !strings.Contains(lines[2], "InvalidCiphertextException") {
		t.Errorf("audit query --start --key (table) = %d\n%s", code, out)
	}
	if code, _, errOut := runCmd("audit", "query", "--data-dir", dataDir, "--start", "yesterday"); code != 2 || !strings.Contains(errOut, "--start") {
		t.Errorf("audit query --start yesterday = %d %s", code, errOut)
	}
}
