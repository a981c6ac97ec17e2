package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// TestAWSCLI drives the server with the AWS CLI, as the README's walkthrough does.
func TestAWSCLI(t *testing.T) {
	awsPath := awsCLI(t)
	e := start(t, "")
	env := cliEnv("AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(e.dataDir, "credentials"), "AWS_PROFILE=default")
	run := func(args ...string) map[string]any {
		t.Helper()
		return runCLI(t, awsPath, e.url, env, args...)
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
