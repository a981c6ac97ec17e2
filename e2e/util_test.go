package e2e

import (
	"cmp"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }
func fmtInt(i int) string         { return strconv.Itoa(i) }

// awsCLI returns the AWS CLI to test with (KEYWARD_TEST_AWS, else aws on
// PATH), or skips the test.
func awsCLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath(cmp.Or(os.Getenv("KEYWARD_TEST_AWS"), "aws"))
	if err != nil {
		t.Skip("aws CLI not on PATH (or KEYWARD_TEST_AWS); .ci/run installs it (apt-get install awscli)")
	}
	return p
}

// cliEnv is the environment without any of the caller's AWS_ settings, plus extra.
func cliEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(append(env, "AWS_CONFIG_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1"), extra...)
}

// runCLI runs the AWS CLI against url with JSON output and returns the
// decoded output, failing the test on any error.
func runCLI(t *testing.T, awsPath, url string, env []string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(awsPath, append([]string{"--endpoint-url", url, "--region", testRegion, "--output", "json"}, args...)...)
	cmd.Env = env
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
