package awsapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A profile that assumes a role with mfa_serial: LoadClients asks for the code once, before it
// returns (so before a console takes the terminal over), whatever happens next; without a way
// to ask, it refuses with what to do. (The role is assumed against a closed local port: this
// test only proves when the code is asked for.)
func TestLoadClients_MFAProfileAsksForTheCodeFirst(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config")
	if err := os.WriteFile(conf, []byte(`[profile base]
aws_access_key_id = testing
aws_secret_access_key = testing
region = us-east-1

[profile ops-mfa]
role_arn = arn:aws:iam::123456789012:role/ops
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/alice
region = us-east-1

[profile plain]
aws_access_key_id = testing
aws_secret_access_key = testing
region = us-east-1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", conf)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"} {
		t.Setenv(k, "")
	}
	ctx := context.Background()

	var asked []string
	mfa := func(serial string) (string, error) {
		asked = append(asked, serial)
		return "123456", nil
	}
	_, _, err := LoadClients(ctx, LoadOptions{Profile: "ops-mfa", MFA: mfa})
	if len(asked) != 1 || asked[0] != "arn:aws:iam::123456789012:mfa/alice" {
		t.Fatalf("asked for %v before LoadClients returned (err %v), want the device once", asked, err)
	}
	if err == nil || !strings.Contains(err.Error(), "assume the role of profile ops-mfa with an MFA code") {
		t.Errorf("the role could not be assumed here, want that said: %v", err)
	}

	asked = nil
	if _, _, err := LoadClients(ctx, LoadOptions{Profile: "plain", MFA: mfa}); err != nil || len(asked) != 0 {
		t.Errorf("a profile without mfa_serial: err %v, asked %v", err, asked)
	}
	_, _, err = LoadClients(ctx, LoadOptions{Profile: "ops-mfa"})
	if err == nil || !strings.Contains(err.Error(), "needs a code from MFA device arn:aws:iam::123456789012:mfa/alice") {
		t.Errorf("without a way to ask: %v", err)
	}
}
