package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSCLI drives the server with the AWS CLI, as the README's walkthrough does.
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath(cmpOr(os.Getenv("KEYWARD_TEST_AWS"), "aws"))
	if err != nil {
		t.Skip("aws CLI not on PATH; .ci/run installs it (apt-get install awscli)")
	}
	e := start(t, "")
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(awsPath, append([]string{"--endpoint-url", e.url, "--region", testRegion, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(e.dataDir, "credentials"),
			"AWS_CONFIG_FILE=/dev/null", "AWS_PROFILE=default", "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
			"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("aws %v: %v\n%s", args, err, stderr)
		}
		var m map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %v output %q: %v", args, out, err)
			}
		}
		return m
	}
	key := run("kms", "create-key", "--description", "from the cli")["KeyMetadata"].(map[string]any)
	id := key["KeyId"].(string)
	run("kms", "create-alias", "--alias-name", "alias/cli", "--target-key-id", id)
	// fileb:// passes raw bytes the same way in AWS CLI v1 and v2.
	tmp := t.TempDir()
	ptFile := filepath.Join(tmp, "pt")
	os.WriteFile(ptFile, []byte("hello"), 0o600)
	enc := run("kms", "encrypt", "--key-id", "alias/cli", "--plaintext", "fileb://"+ptFile, "--encryption-context", "app=cli")
	ct, err := base64.StdEncoding.DecodeString(enc["CiphertextBlob"].(string))
	if err != nil {
		t.Fatal(err)
	}
	ctFile := filepath.Join(tmp, "ct")
	os.WriteFile(ctFile, ct, 0o600)
	dec := run("kms", "decrypt", "--ciphertext-blob", "fileb://"+ctFile, "--encryption-context", "app=cli")
	if dec["Plaintext"] != base64.StdEncoding.EncodeToString([]byte("hello")) || dec["KeyId"] != key["Arn"] {
		t.Errorf("aws kms decrypt = %v", dec)
	}
	list := run("kms", "list-keys")
	if keys := list["Keys"].([]any); len(keys) != 1 {
		t.Errorf("aws kms list-keys = %v", list)
	}
	aliases := run("kms", "list-aliases", "--key-id", id)["Aliases"].([]any)
	if len(aliases) != 1 {
		t.Errorf("aws kms list-aliases = %v", aliases)
	}
	// The CLI's own pagination follows NextMarker over many pages.
	for i := 0; i < 5; i++ {
		run("kms", "create-key")
	}
	all := run("kms", "list-keys", "--page-size", "2")["Keys"].([]any)
	if len(all) != 6 {
		t.Errorf("aws kms list-keys --page-size 2 found %d keys, want 6", len(all))
	}
}
