package awsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// throttlingServer answers Throttling while throttled is set, and a GetCallerIdentity result
// otherwise; it counts the requests.
type throttlingServer struct {
	throttled atomic.Bool
	requests  atomic.Int64
}

func (s *throttlingServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.requests.Add(1)
	w.Header().Set("Content-Type", "text/xml")
	if s.throttled.Load() {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>`))
		return
	}
	_, _ = w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ops</Arn><UserId>U</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`))
}

var noBackoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })

// throttleMinute makes calls calls to a server that throttles every request (about a minute of
// account-wide throttling for a polling console), then one call after throttling stops. It
// returns the errors of the throttled calls and of the last call.
func throttleMinute(t *testing.T, retryer aws.Retryer, calls int) (*throttlingServer, []error, error) {
	t.Helper()
	srv := &throttlingServer{}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(hs.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      retryer,
	})
	srv.throttled.Store(true)
	var errs []error
	for range calls {
		_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		errs = append(errs, err)
	}
	srv.throttled.Store(false)
	_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return srv, errs, err
}

func isQuotaExceeded(err error) bool {
	var qe ratelimit.QuotaExceededError
	return errors.As(err, &qe) || err != nil && strings.Contains(err.Error(), "retry quota exceeded")
}

// TestRetryer_ThrottlingNeverExhaustsARetryQuota: 25 calls throttled on every attempt make 125
// retries, more than the standard retryer's quota allows (500 tokens at 5 per retry). The
// console's retryer keeps backing off and retrying every call to its last attempt, never
// fails one with "retry quota exceeded", and the first call after throttling stops succeeds.
func TestRetryer_ThrottlingNeverExhaustsARetryQuota(t *testing.T) {
	const calls = 25
	srv, errs, after := throttleMinute(t, newRetryerWith(noBackoff), calls)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded while every request was throttled", i)
		}
		if isQuotaExceeded(err) {
			t.Fatalf("call %d failed with the retry quota: %v", i, err)
		}
		if !strings.Contains(Explain(err), "AWS is throttling") {
			t.Errorf("call %d: Explain = %q", i, Explain(err))
		}
	}
	if got, want := srv.requests.Load(), int64(calls*retryMaxAttempts+1); got != want {
		t.Errorf("server saw %d requests, want %d (%d attempts per call, then one)", got, want, retryMaxAttempts)
	}
	if after != nil {
		t.Errorf("first call after throttling stopped: %v", after)
	}
}

// TestRetryer_DefaultStandardRetryerDoesExhaustItsQuota is the control: under the same
// throttling the SDK's default standard retryer does fail calls with "retry quota exceeded".
func TestRetryer_DefaultStandardRetryerDoesExhaustItsQuota(t *testing.T) {
	def := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryMaxAttempts
		o.Backoff = noBackoff
	})
	_, errs, _ := throttleMinute(t, def, 25)
	quota := 0
	for _, err := range errs {
		if isQuotaExceeded(err) {
			quota++
		}
	}
	if quota == 0 {
		t.Fatalf("the default retryer never ran out of retry quota; the test above proves nothing")
	}
}

// TestLoadClients_UsesTheConsoleRetryer: every client gets newRetryer's attempts, and
// AWS_MAX_ATTEMPTS still overrides them.
func TestLoadClients_UsesTheConsoleRetryer(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
	}{{"", retryMaxAttempts}, {"2", 2}} {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
		t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_PROFILE", "")
		t.Setenv("AWS_RETRY_MODE", "")
		t.Setenv("AWS_MAX_ATTEMPTS", tc.env)
		c, _, err := LoadClients(context.Background(), LoadOptions{Region: "eu-west-1"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{
			"autoscaling": c.AutoScaling.(*autoscaling.Client).Options().Retryer.MaxAttempts(),
			"ec2":         c.EC2.(*ec2.Client).Options().Retryer.MaxAttempts(),
			"elbv2":       c.ELBv2.(*elbv2.Client).Options().Retryer.MaxAttempts(),
			"elb":         c.ELB.(*elb.Client).Options().Retryer.MaxAttempts(),
			"sts":         c.STS.(*sts.Client).Options().Retryer.MaxAttempts(),
		}
		for svc, n := range got {
			if n != tc.want {
				t.Errorf("AWS_MAX_ATTEMPTS=%q: %s client makes %d attempts, want %d", tc.env, svc, n, tc.want)
			}
		}
		if c.Region != "eu-west-1" {
			t.Errorf("region %q", c.Region)
		}
	}
}
