// Package awstest is test support shared by the action layer's packages: raw SDK clients over
// the read clients, one call of every operation, a wire recorder, and the moto server helpers.
package awstest

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// sdkClients are the concrete SDK clients behind awsapi.ReadClients, so that a test can try the
// mutating operations a read-only console never exposes.
type SDKClients struct {
	AutoScaling *autoscaling.Client
	EC2         *ec2.Client
	ELBv2       *elbv2.Client
	ELB         *elb.Client
	STS         *sts.Client
	CloudWatch  *cloudwatch.Client
	KMS         *kms.Client
}

func RawClients(t *testing.T, rc awsapi.ReadClients) SDKClients {
	t.Helper()
	c := SDKClients{}
	var ok [7]bool
	c.AutoScaling, ok[0] = rc.AutoScaling.(*autoscaling.Client)
	c.EC2, ok[1] = rc.EC2.(*ec2.Client)
	c.ELBv2, ok[2] = rc.ELBv2.(*elbv2.Client)
	c.ELB, ok[3] = rc.ELB.(*elb.Client)
	c.STS, ok[4] = rc.STS.(*sts.Client)
	c.CloudWatch, ok[5] = rc.CloudWatch.(*cloudwatch.Client)
	c.KMS, ok[6] = rc.KMS.(*kms.Client)
	for i, o := range ok {
		if !o {
			t.Fatalf("LoadClients returned a client %d that is not the SDK's", i)
		}
	}
	return c
}

// operationCalls makes, for every operation of awsapi.ReadOperations and awsapi.WriteOperations, one
// call through the SDK with inputs that pass the SDK's client-side validation, keyed by IAM
// action. Tests check that the table covers both lists exactly.
func OperationCalls(c SDKClients) map[string]func(context.Context) error {
	s := aws.String
	return map[string]func(context.Context) error{
		"autoscaling:DescribeAutoScalingGroups": func(ctx context.Context) error {
			_, err := c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
			return err
		},
		"autoscaling:DescribeInstanceRefreshes": func(ctx context.Context) error {
			_, err := c.AutoScaling.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: s("g")})
			return err
		},
		"autoscaling:DescribeScalingActivities": func(ctx context.Context) error {
			_, err := c.AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: s("g")})
			return err
		},
		"autoscaling:CancelInstanceRefresh": func(ctx context.Context) error {
			_, err := c.AutoScaling.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: s("g")})
			return err
		},
		"autoscaling:RollbackInstanceRefresh": func(ctx context.Context) error {
			_, err := c.AutoScaling.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: s("g")})
			return err
		},
		"autoscaling:StartInstanceRefresh": func(ctx context.Context) error {
			_, err := c.AutoScaling.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: s("g")})
			return err
		},
		"autoscaling:EnterStandby": func(ctx context.Context) error {
			_, err := c.AutoScaling.EnterStandby(ctx, &autoscaling.EnterStandbyInput{AutoScalingGroupName: s("g"), InstanceIds: []string{"i-0"}, ShouldDecrementDesiredCapacity: aws.Bool(true)})
			return err
		},
		"autoscaling:ExitStandby": func(ctx context.Context) error {
			_, err := c.AutoScaling.ExitStandby(ctx, &autoscaling.ExitStandbyInput{AutoScalingGroupName: s("g"), InstanceIds: []string{"i-0"}})
			return err
		},
		"autoscaling:UpdateAutoScalingGroup": func(ctx context.Context) error {
			_, err := c.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: s("g"), DesiredCapacity: aws.Int32(0)})
			return err
		},
		"ec2:CreateImage": func(ctx context.Context) error {
			_, err := c.EC2.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: s("i-0123456789abcdef0"), Name: s("readonly-proof")})
			return err
		},
		"ec2:CreateLaunchTemplateVersion": func(ctx context.Context) error {
			_, err := c.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
				LaunchTemplateName: s("readonly-proof"),
				LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: s("ami-12345678")},
			})
			return err
		},
		"ec2:CreateTags": func(ctx context.Context) error {
			_, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"ami-12345678"}, Tags: []ec2types.Tag{{Key: s("k"), Value: s("v")}}})
			return err
		},
		"ec2:DescribeImages": func(ctx context.Context) error {
			_, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
			return err
		},
		"ec2:DescribeInstances": func(ctx context.Context) error {
			_, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		},
		"ec2:DescribeLaunchTemplateVersions": func(ctx context.Context) error {
			_, err := c.EC2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: s("readonly-proof")})
			return err
		},
		"ec2:DescribeSnapshots": func(ctx context.Context) error {
			_, err := c.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
			return err
		},
		"elasticloadbalancing:DescribeTargetHealth": func(ctx context.Context) error {
			_, err := c.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: s("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef")})
			return err
		},
		"elasticloadbalancing:DescribeTargetGroupAttributes": func(ctx context.Context) error {
			_, err := c.ELBv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: s("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef")})
			return err
		},
		"elasticloadbalancing:DescribeTargetGroups": func(ctx context.Context) error {
			_, err := c.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
			return err
		},
		"elasticloadbalancing:DescribeInstanceHealth": func(ctx context.Context) error {
			_, err := c.ELB.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: s("classic")})
			return err
		},
		"elasticloadbalancing:DescribeLoadBalancerAttributes": func(ctx context.Context) error {
			_, err := c.ELB.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: s("classic")})
			return err
		},
		"elasticloadbalancing:DescribeLoadBalancers": func(ctx context.Context) error {
			_, err := c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		},
		"ec2:GetConsoleOutput": func(ctx context.Context) error {
			_, err := c.EC2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: s("i-0123456789abcdef0"), Latest: aws.Bool(true)})
			return err
		},
		"cloudwatch:GetMetricData": func(ctx context.Context) error {
			now := time.Now().Truncate(time.Minute)
			_, err := c.CloudWatch.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now),
				MetricDataQueries: []cwtypes.MetricDataQuery{{Id: s("q0"), MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: s("AWS/ELB"), MetricName: s("RequestCount"),
						Dimensions: []cwtypes.Dimension{{Name: s("LoadBalancerName"), Value: s("classic")}}},
					Period: aws.Int32(60), Stat: s("Sum")}}},
			}, QueryProtocol)
			return err
		},
		"cloudwatch:DescribeAlarms": func(ctx context.Context) error {
			_, err := c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm}, QueryProtocol)
			return err
		},
		"ec2:DescribeImageAttribute": func(ctx context.Context) error {
			_, err := c.EC2.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: s("ami-12345678"), Attribute: ec2types.ImageAttributeNameLaunchPermission})
			return err
		},
		"ec2:DescribeSnapshotAttribute": func(ctx context.Context) error {
			_, err := c.EC2.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: s("snap-12345678"), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission})
			return err
		},
		"ec2:ModifyImageAttribute": func(ctx context.Context) error {
			_, err := c.EC2.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: s("ami-12345678"),
				LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: s("210987654321")}}}})
			return err
		},
		"ec2:ModifySnapshotAttribute": func(ctx context.Context) error {
			_, err := c.EC2.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: s("snap-12345678"),
				Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: ec2types.OperationTypeAdd, UserIds: []string{"210987654321"}})
			return err
		},
		"ec2:CopyImage": func(ctx context.Context) error {
			_, err := c.EC2.CopyImage(ctx, &ec2.CopyImageInput{Name: s("readonly-proof"), SourceImageId: s("ami-12345678"), SourceRegion: s("us-east-1")})
			return err
		},
		"kms:DescribeKey": func(ctx context.Context) error {
			_, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: s("alias/aws/ebs")})
			return err
		},
		"sts:GetCallerIdentity": func(ctx context.Context) error {
			_, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
	}
}

// QueryProtocol switches a CloudWatch call from the SDK's default RPC v2 CBOR protocol, which
// moto 5.2 does not speak (it answers 404 and records nothing), to the query protocol
// CloudWatch also serves. The read-only guard runs before serialization either way.
func QueryProtocol(o *cloudwatch.Options) {
	o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
}

// isolateAWSEnv points the SDK's standard chain at endpoint with static test credentials, and
// away from the developer's own ~/.aws files and profile.
func IsolateAWSEnv(t *testing.T, endpoint string) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_DEFAULT_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_RETRY_MODE", "")
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
}

// WireRecorder is an HTTP server standing in for AWS that records the Action of every request
// it receives and answers with a canned error (status and body chosen per action).
type WireRecorder struct {
	mu      sync.Mutex
	actions []string
	Answer  func(action string) (int, string)
}

func (w *WireRecorder) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	action := ""
	if err := r.ParseForm(); err == nil {
		action = r.PostForm.Get("Action")
	}
	if action == "" {
		// JSON protocols (KMS) name the operation in X-Amz-Target: "TrentService.DescribeKey".
		if t := r.Header.Get("X-Amz-Target"); t != "" {
			action = t[strings.LastIndex(t, ".")+1:]
		}
	}
	if action == "" {
		if q, err := url.ParseQuery(r.URL.RawQuery); err == nil {
			action = q.Get("Action")
		}
	}
	if action == "" {
		// The RPC v2 protocol (CloudWatch) names the operation in the path:
		// /service/{service}/operation/{operation}.
		if i := strings.LastIndex(r.URL.Path, "/operation/"); i >= 0 {
			action = r.URL.Path[i+len("/operation/"):]
		}
	}
	w.mu.Lock()
	w.actions = append(w.actions, action)
	w.mu.Unlock()
	status, body := http.StatusBadRequest, QueryError("TestServerRefused", "the test server answers every call with an error")
	if w.Answer != nil {
		status, body = w.Answer(action)
	}
	rw.Header().Set("Content-Type", "text/xml")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(body))
}

func (w *WireRecorder) Seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.actions...)
}

func (w *WireRecorder) Reset() {
	w.mu.Lock()
	w.actions = nil
	w.mu.Unlock()
}

// queryError is an error body in the awsquery protocol (Auto Scaling, ELB, STS); the EC2
// protocol's deserializer finds Code and Message in it as well (Response/Errors/Error).
func QueryError(code, msg string) string {
	return `<ErrorResponse><Error><Type>Sender</Type><Code>` + code + `</Code><Message>` + msg +
		`</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`
}

// ec2Error is an error body in the EC2 protocol.
func EC2Error(code, msg string) string {
	return `<Response><Errors><Error><Code>` + code + `</Code><Message>` + msg +
		`</Message></Error></Errors><RequestID>req-1</RequestID></Response>`
}

// Progress reads a running action's progress until the channel closes and returns the events.
// A channel still open after a minute fails the test: the action never ended.
func Progress(t *testing.T, ch <-chan model.Progress) []model.Progress {
	t.Helper()
	var out []model.Progress
	timeout := time.After(time.Minute)
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, p)
		case <-timeout:
			t.Fatalf("progress did not end; got %+v", out)
		}
	}
}
