package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestIAMWithAWSCLI: the AWS CLI creates a user, its access key and a role
// the user may assume; the user assumes it; the session asks who it is.
func TestIAMWithAWSCLI(t *testing.T) {
	awsPath := awsCLI(t)
	e := start(t, "")
	// run runs the CLI with the given credentials: the data directory's
	// credentials file (root) when creds is nil, else the key, secret and
	// optional token from the environment.
	run := func(creds []string, args ...string) map[string]any {
		t.Helper()
		env := cliEnv("AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(e.dataDir, "credentials"), "AWS_PROFILE=default")
		if creds != nil {
			env = cliEnv("AWS_SHARED_CREDENTIALS_FILE=/dev/null",
				"AWS_ACCESS_KEY_ID="+creds[0], "AWS_SECRET_ACCESS_KEY="+creds[1], "AWS_SESSION_TOKEN="+strings.Join(creds[2:], ""))
		}
		return runCLI(t, awsPath, e.url, env, args...)
	}
	field := func(m map[string]any, path ...string) string {
		t.Helper()
		var v any = m
		for _, p := range path {
			mm, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v has no %v", m, path)
			}
			v = mm[p]
		}
		s, _ := v.(string)
		return s
	}

	user := run(nil, "iam", "create-user", "--user-name", "cli-user")
	userARN := field(user, "User", "Arn")
	if userARN != "arn:aws:iam::"+testAccount+":user/cli-user" {
		t.Fatalf("aws iam create-user = %v", user)
	}
	key := run(nil, "iam", "create-access-key", "--user-name", "cli-user")
	userCreds := []string{field(key, "AccessKey", "AccessKeyId"), field(key, "AccessKey", "SecretAccessKey")}
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"sts:AssumeRole"}}`
	role := run(nil, "iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document", trust)
	roleARN := field(role, "Role", "Arn")
	// The CLI decodes IAM's URL-encoded policy documents back into JSON.
	if doc, ok := role["Role"].(map[string]any)["AssumeRolePolicyDocument"].(map[string]any); !ok || doc["Version"] != "2012-10-17" {
		t.Errorf("aws iam create-role AssumeRolePolicyDocument = %v", role["Role"])
	}
	me := run(userCreds, "sts", "get-caller-identity")
	if field(me, "Arn") != userARN {
		t.Errorf("aws sts get-caller-identity as the user = %v", me)
	}

	assumed := run(userCreds, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "cli-session")
	sessCreds := []string{field(assumed, "Credentials", "AccessKeyId"), field(assumed, "Credentials", "SecretAccessKey"), field(assumed, "Credentials", "SessionToken")}
	wantARN := "arn:aws:sts::" + testAccount + ":assumed-role/cli-role/cli-session"
	if field(assumed, "AssumedRoleUser", "Arn") != wantARN || sessCreds[2] == "" {
		t.Fatalf("aws sts assume-role = %v", assumed)
	}
	id := run(sessCreds, "sts", "get-caller-identity")
	if field(id, "Arn") != wantARN || field(id, "Account") != testAccount || !strings.HasSuffix(field(id, "UserId"), ":cli-session") {
		t.Errorf("aws sts get-caller-identity as the session = %v", id)
	}

	// The assumed role encrypts with KMS once its role policy allows it, and
	// is refused what the policy does not allow.
	keyID := field(run(nil, "kms", "create-key"), "KeyMetadata", "KeyId")
	run(nil, "iam", "put-role-policy", "--role-name", "cli-role", "--policy-name", "kms-encrypt",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`)
	ptFile := filepath.Join(t.TempDir(), "pt")
	os.WriteFile(ptFile, []byte("from an assumed role"), 0o600)
	enc := run(sessCreds, "kms", "encrypt", "--key-id", keyID, "--plaintext", "fileb://"+ptFile)
	if field(enc, "KeyId") != "arn:aws:kms:"+testRegion+":"+testAccount+":key/"+keyID || field(enc, "CiphertextBlob") == "" {
		t.Errorf("aws kms encrypt as the session = %v", enc)
	}
	cmd := exec.Command(awsPath, "--endpoint-url", e.url, "--region", testRegion, "kms", "describe-key", "--key-id", keyID)
	cmd.Env = cliEnv("AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ACCESS_KEY_ID="+sessCreds[0], "AWS_SECRET_ACCESS_KEY="+sessCreds[1], "AWS_SESSION_TOKEN="+sessCreds[2], "AWS_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "AccessDeniedException") || !strings.Contains(string(out), wantARN+" is not authorized to perform: kms:DescribeKey") {
		t.Errorf("aws kms describe-key as the session = %v\n%s; want AccessDeniedException", err, out)
	}
}
