package awsapi_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
)

// TestExplain_RealCredentialFailures builds clients with LoadClients in environments without
// usable credentials and checks Explain on the errors the SDK's credential chain really
// returns (nothing is sent: the chain fails before signing).
func TestExplain_RealCredentialFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  string
		profile string
		want    []string
	}{
		{name: "no credentials anywhere", want: []string{"No AWS credentials", "AWS_PROFILE", "aws sso login", "--demo"}},
		{name: "SSO session never logged in or expired", profile: "prod-sso", config: `[profile prod-sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Operator
region = eu-west-1

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
`, want: []string{"expired", "aws sso login --profile prod-sso"}},
		{name: "legacy SSO profile, expired cache", profile: "legacy-sso", config: `[profile legacy-sso]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Operator
region = us-east-1
`, want: []string{"aws sso login --profile legacy-sso"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			awstest.IsolateAWSEnv(t, "http://127.0.0.1:1")
			t.Setenv("AWS_ACCESS_KEY_ID", "")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "")
			home := t.TempDir()
			t.Setenv("HOME", home) // the SSO token cache lives under ~/.aws/sso/cache
			if tc.config != "" {
				cfg := filepath.Join(home, "config")
				if err := os.WriteFile(cfg, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				t.Setenv("AWS_CONFIG_FILE", cfg)
			}
			_, rc, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{Profile: tc.profile})
			if err == nil {
				_, err = rc.STS.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			}
			if err == nil {
				t.Fatal("no error without credentials")
			}
			got := awsapi.Explain(err)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Explain(%v)\n = %q, want %q in it", err, got, w)
				}
			}
		})
	}
}
