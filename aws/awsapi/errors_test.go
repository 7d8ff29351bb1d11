package awsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
)

// opErr wraps an API error the way the SDK does.
func opErr(serviceID, op, code, msg string) error {
	return &smithy.OperationError{ServiceID: serviceID, OperationName: op, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

func TestExplain(t *testing.T) {
	t.Setenv("AWS_PROFILE", "prod-admin")
	t.Setenv("AWS_ENDPOINT_URL", "")
	for _, tc := range []struct {
		name string
		err  error
		want []string // every one must appear
		not  []string // none may appear
	}{
		{"no credentials (IMDS fallback)", fmt.Errorf("operation error STS: GetCallerIdentity, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, request canceled"),
			[]string{"No AWS credentials", "AWS_PROFILE", "aws sso login", "--demo"}, nil},
		{"expired SSO session (ssocreds)", fmt.Errorf("refresh: %w", &ssocreds.InvalidTokenError{Err: errors.New("cached SSO token is expired")}),
			[]string{"expired", "aws sso login --profile prod-admin"}, []string{"--demo"}},
		{"SSO token has expired (text)", errors.New("get credentials: failed to refresh cached credentials, refresh cached SSO token failed, unable to refresh SSO token, token has expired"),
			[]string{"aws sso login --profile prod-admin"}, nil},
		{"ExpiredToken", opErr(sts.ServiceID, "GetCallerIdentity", "ExpiredToken", "The security token included in the request is expired"),
			[]string{"expired", "aws sso login --profile prod-admin"}, nil},
		{"ExpiredTokenException", opErr(autoscaling.ServiceID, "DescribeAutoScalingGroups", "ExpiredTokenException", "expired"),
			[]string{"aws sso login"}, nil},
		{"AccessDenied autoscaling", opErr(autoscaling.ServiceID, "DescribeAutoScalingGroups", "AccessDenied", "User is not authorized"),
			[]string{"denied", "autoscaling:DescribeAutoScalingGroups", "iam-policy"}, nil},
		{"AccessDeniedException", opErr(autoscaling.ServiceID, "StartInstanceRefresh", "AccessDeniedException", "no"),
			[]string{"autoscaling:StartInstanceRefresh"}, nil},
		{"not authorized to use launch template (its own sentence, not UpdateAutoScalingGroup)", opErr(autoscaling.ServiceID, "UpdateAutoScalingGroup", "ValidationError", "You are not authorized to use launch template: lt-0abc"),
			[]string{"ec2:RunInstances", "iam:PassRole", "lt-0abc", "iam-policy"}, []string{"grant that IAM action", "autoscaling:UpdateAutoScalingGroup;"}},
		{"not authorized to use launch template behind AccessDenied", opErr(autoscaling.ServiceID, "StartInstanceRefresh", "AccessDenied", "You are not authorized to use launch template: lt-0abc"),
			[]string{"ec2:RunInstances"}, []string{"grant that IAM action"}},
		{"UnauthorizedOperation ec2", opErr(ec2.ServiceID, "CreateImage", "UnauthorizedOperation", "You are not authorized"),
			[]string{"ec2:CreateImage"}, nil},
		{"AccessDenied elbv2 uses elasticloadbalancing", opErr(elbv2.ServiceID, "DescribeTargetHealth", "AccessDenied", "no"),
			[]string{"elasticloadbalancing:DescribeTargetHealth"}, []string{"elasticloadbalancingv2"}},
		{"AccessDenied classic elb", opErr(elb.ServiceID, "DescribeInstanceHealth", "AccessDenied", "no"),
			[]string{"elasticloadbalancing:DescribeInstanceHealth"}, nil},
		{"Throttling", opErr(elbv2.ServiceID, "DescribeTargetHealth", "Throttling", "Rate exceeded"),
			[]string{"AWS is throttling", "backs off", "keeps the last data"}, nil},
		{"ThrottlingException", opErr(autoscaling.ServiceID, "DescribeAutoScalingGroups", "ThrottlingException", "Rate exceeded"),
			[]string{"AWS is throttling"}, nil},
		{"RequestLimitExceeded", opErr(ec2.ServiceID, "DescribeImages", "RequestLimitExceeded", "Request limit exceeded."),
			[]string{"AWS is throttling"}, nil},
		{"retry quota exceeded", fmt.Errorf("operation error EC2: DescribeImages, %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}),
			[]string{"AWS is throttling"}, nil},
		{"read-only refusal", fmt.Errorf("promote web: %w", &awsapi.ReadOnlyError{Service: "ec2", Operation: "CreateLaunchTemplateVersion"}),
			[]string{"ec2:CreateLaunchTemplateVersion", "read-only"}, nil},
		{"read-only sentinel", fmt.Errorf("bake: %w", awsapi.ErrReadOnly),
			[]string{"read-only"}, nil},
		{"refresh running (sentinel)", fmt.Errorf("snapshot: %w", awsapi.ErrRefreshRunning),
			[]string{"already running", "wait"}, nil},
		{"InstanceRefreshInProgress", opErr(autoscaling.ServiceID, "StartInstanceRefresh", "InstanceRefreshInProgress", "An Instance Refresh is already in progress"),
			[]string{"already running", "roll it back"}, nil},
		{"InvalidAMIID.NotFound", opErr(ec2.ServiceID, "DescribeImages", "InvalidAMIID.NotFound", "The image id '[ami-1]' does not exist"),
			[]string{"AMI does not exist", "bake"}, nil},
		{"endpoint unreachable", fmt.Errorf("operation error EC2: DescribeInstances, https response error: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}),
			[]string{"Cannot reach the AWS endpoint", "network"}, nil},
		{"dns failure", &net.DNSError{Err: "no such host", Name: "ec2.nowhere-1.amazonaws.com"},
			[]string{"Cannot reach"}, nil},
		{"context deadline", fmt.Errorf("refresh: %w", context.DeadlineExceeded),
			[]string{"did not answer in time"}, nil},
		{"no region", fmt.Errorf("load AWS configuration: %w", awsapi.ErrNoRegion),
			[]string{"No AWS region", "--region", "AWS_REGION"}, nil},
		{"invalid keys", opErr(sts.ServiceID, "GetCallerIdentity", "InvalidClientTokenId", "The security token included in the request is invalid."),
			[]string{"rejected your credentials"}, nil},
		{"other API error keeps the action and code", opErr(autoscaling.ServiceID, "UpdateAutoScalingGroup", "ValidationError", "Max bound must be >= desired."),
			[]string{"autoscaling:UpdateAutoScalingGroup", "ValidationError", "Max bound must be >= desired"}, nil},
		{"plain error", errors.New("launch template lt-1 has no version 7"),
			[]string{"launch template lt-1 has no version 7"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := awsapi.Explain(tc.err)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Explain = %q, want it to contain %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("Explain = %q, must not contain %q", got, n)
				}
			}
			if strings.Contains(strings.TrimSuffix(got, "."), "\n") || !strings.HasSuffix(got, ".") {
				t.Errorf("Explain = %q, want one sentence ending with a period", got)
			}
		})
	}
	if got := awsapi.Explain(nil); got != "" {
		t.Errorf("Explain(nil) = %q", got)
	}
}

func TestExplain_EndpointFromEnv(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	got := awsapi.Explain(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	if !strings.Contains(got, "http://127.0.0.1:1") || !strings.Contains(got, "AWS_ENDPOINT_URL") {
		t.Errorf("Explain = %q, want the endpoint and the variable named", got)
	}
}

// TestExplain_RealSDKErrors runs real SDK clients against a server answering each operation
// with a real AWS error body, so that Explain is checked on the errors the SDK really builds.
func TestExplain_RealSDKErrors(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"DescribeAutoScalingGroups": {http.StatusForbidden, awstest.QueryError("AccessDenied", "User: arn:aws:iam::1:user/x is not authorized to perform: autoscaling:DescribeAutoScalingGroups")},
		"DescribeInstances":         {http.StatusForbidden, awstest.EC2Error("UnauthorizedOperation", "You are not authorized to perform this operation.")},
		"DescribeTargetHealth":      {http.StatusForbidden, awstest.QueryError("AccessDenied", "not authorized")},
		"DescribeInstanceHealth":    {http.StatusForbidden, awstest.QueryError("AccessDenied", "not authorized")},
		"GetCallerIdentity":         {http.StatusForbidden, awstest.QueryError("ExpiredToken", "The security token included in the request is expired")},
		"DescribeImages":            {http.StatusBadRequest, awstest.EC2Error("InvalidAMIID.NotFound", "The image id '[ami-1]' does not exist")},
		"StartInstanceRefresh":      {http.StatusBadRequest, awstest.QueryError("InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")},
	}
	rec := &awstest.WireRecorder{Answer: func(action string) (int, string) {
		a, ok := answers[action]
		if !ok {
			return http.StatusBadRequest, awstest.QueryError("Unexpected", action)
		}
		return a.status, a.body
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	awstest.IsolateAWSEnv(t, srv.URL)
	t.Setenv("AWS_PROFILE", "")
	_, read, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{Region: "eu-west-1"})
	if err != nil {
		t.Fatalf("LoadClients: %v", err)
	}
	calls := awstest.OperationCalls(awstest.RawClients(t, read))
	for action, want := range map[string]string{
		"autoscaling:DescribeAutoScalingGroups":       "AWS denied autoscaling:DescribeAutoScalingGroups",
		"ec2:DescribeInstances":                       "AWS denied ec2:DescribeInstances",
		"elasticloadbalancing:DescribeTargetHealth":   "AWS denied elasticloadbalancing:DescribeTargetHealth",
		"elasticloadbalancing:DescribeInstanceHealth": "AWS denied elasticloadbalancing:DescribeInstanceHealth",
		"sts:GetCallerIdentity":                       "aws sso login --profile default",
		"ec2:DescribeImages":                          "AMI does not exist",
		"autoscaling:StartInstanceRefresh":            "already running",
	} {
		err := calls[action](context.Background())
		if err == nil {
			t.Errorf("%s: no error from the server's error answer", action)
			continue
		}
		if got := awsapi.Explain(err); !strings.Contains(got, want) {
			t.Errorf("%s: Explain(%v) = %q, want %q in it", action, err, got, want)
		}
	}
}

// TestExplain_NoRegion loads clients with no region anywhere.
func TestExplain_NoRegion(t *testing.T) {
	awstest.IsolateAWSEnv(t, "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "")
	_, _, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{})
	if !errors.Is(err, awsapi.ErrNoRegion) {
		t.Fatalf("LoadClients with no region: err = %v, want ErrNoRegion", err)
	}
	if got := awsapi.Explain(err); !strings.Contains(got, "--region") {
		t.Errorf("Explain = %q", got)
	}
}
