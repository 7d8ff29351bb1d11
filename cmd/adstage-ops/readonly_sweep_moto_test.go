package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/tui"
)

// motoURL is the moto server the integration tests talk to. With CI set, a missing moto is a
// failure: the read-only proof must run there.
func motoURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("MOTO_URL")
	if u != "" {
		if resp, err := http.Get(u + "/moto-api/"); err == nil {
			resp.Body.Close()
			return u
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("moto is not reachable (MOTO_URL=%q): .ci/run must start moto_server", u)
	}
	t.Skip("moto not running: set MOTO_URL (bash scripts/test.sh starts it)")
	return ""
}

// motoEnv points the standard credential chain at moto (test credentials, us-east-1, no
// profile or shared files, one attempt per call) and returns moto's URL.
func motoEnv(t *testing.T) string {
	t.Helper()
	base := motoURL(t)
	t.Setenv("AWS_ENDPOINT_URL", base)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	return base
}

func motoPost(t *testing.T, base, path string) []byte {
	t.Helper()
	resp, err := http.Post(base+path, "application/json", nil)
	if err != nil {
		t.Fatalf("moto %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.Bytes()
}

// recordedActions reads moto's request recording and returns the API action of every request
// made by this test's clients (their user agent carries appID), not by tests running beside it.
func recordedActions(t *testing.T, base, appID string) []string {
	t.Helper()
	resp, err := http.Get(base + "/moto-api/recorder/download-recording")
	if err != nil {
		t.Fatalf("download moto recording: %v", err)
	}
	defer resp.Body.Close()
	var actions []string
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var rec struct {
			URL         string            `json:"url"`
			Body        string            `json:"body"`
			BodyEncoded bool              `json:"body_encoded"`
			Headers     map[string]string `json:"headers"`
		}
		if err := dec.Decode(&rec); err != nil {
			t.Fatalf("decode moto recording: %v", err)
		}
		if !strings.Contains(rec.Headers["User-Agent"], "app/"+appID) {
			continue
		}
		body := rec.Body
		if rec.BodyEncoded {
			if b, err := base64.StdEncoding.DecodeString(body); err == nil {
				body = string(b)
			}
		}
		action := ""
		if u, err := url.Parse(rec.URL); err == nil {
			action = u.Query().Get("Action")
		}
		if action == "" {
			if v, err := url.ParseQuery(body); err == nil {
				action = v.Get("Action")
			}
		}
		if action == "" {
			action = "unknown:" + rec.URL
		}
		actions = append(actions, action)
	}
	return actions
}

// seedMoto creates, through the SDK, a service with a launch template of two versions, a target
// group and a tagged group, so that the console has something to read and roll back.
func seedMoto(t *testing.T, ec2c *ec2.Client, elb *elbv2.Client, asg *autoscaling.Client) {
	t.Helper()
	ctx := context.Background()
	imgs, err := ec2c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(imgs.Images) < 2 {
		t.Fatalf("moto images: %v (%d)", err, len(imgs.Images))
	}
	vpcs, err := ec2c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("moto default VPC: %v", err)
	}
	subnets, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpcs.Vpcs[0].VpcId}}}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("moto subnets: %v", err)
	}
	lt, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("sweep-api"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: imgs.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro}})
	if err != nil {
		t.Fatalf("create launch template: %v", err)
	}
	if _, err := ec2c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId,
		SourceVersion: aws.String("1"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: imgs.Images[1].ImageId}}); err != nil {
		t.Fatalf("create launch template version: %v", err)
	}
	tg, err := elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("sweep-api"), Port: aws.Int32(80), Protocol: "HTTP", VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		t.Fatalf("create target group: %v", err)
	}
	if _, err := asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("sweep-api-staging"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("2")},
		VPCZoneIdentifier: subnets.Subnets[0].SubnetId, TargetGroupARNs: []string{*tg.TargetGroups[0].TargetGroupArn},
		Tags: []astypes.Tag{{Key: aws.String("Service"), Value: aws.String("sweep-api"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("Environment"), Value: aws.String("staging"), PropagateAtLaunch: aws.Bool(true)}},
	}); err != nil {
		t.Fatalf("create autoscaling group: %v", err)
	}
	// A production group whose instance carries its own Environment tag saying staging: its
	// environment is still the group's (production), for the config-read-only sweep.
	if _, err := asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("sweep-web-production"), MinSize: aws.Int32(1), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("2")},
		VPCZoneIdentifier: subnets.Subnets[0].SubnetId,
		Tags: []astypes.Tag{{Key: aws.String("Service"), Value: aws.String("sweep-web"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("Environment"), Value: aws.String("production"), PropagateAtLaunch: aws.Bool(false)}},
	}); err != nil {
		t.Fatalf("create autoscaling group: %v", err)
	}
	out, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"sweep-web-production"}})
	if err != nil || len(out.AutoScalingGroups) != 1 || len(out.AutoScalingGroups[0].Instances) == 0 {
		t.Fatalf("sweep-web-production instances: %v", err)
	}
	if _, err := ec2c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(out.AutoScalingGroups[0].Instances[0].InstanceId)},
		Tags: []ec2types.Tag{{Key: aws.String("Environment"), Value: aws.String("staging")}}}); err != nil {
		t.Fatalf("tag the instance staging: %v", err)
	}
}

// mutationsOf are the recorded actions that are not reads.
func mutationsOf(actions []string) []string {
	var out []string
	for _, a := range actions {
		if !isRead(a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// sweep presses every key of every binding of the keymap, dangerous ones included (walked
// from the keymap, not a hand-written list, so a new binding is swept without an edit here):
// on the services screen, on the service screen, in the audit view and in each dialog a key
// opens. The session settles after each key (every command it started has answered), so
// nothing waits on wall-clock time.
func sweep(t *testing.T, s *tui.Session) {
	keys := s.Keys()
	quit := keys.Global.Quit
	// goTo returns to the services screen (cancel closes any dialog, help or filter, back
	// leaves a screen), then opens the screen under test on the first service.
	goTo := func(screen string) {
		for range 2 {
			s.Press(keys.Dialog.Cancel)
			s.Press(keys.Global.Back)
		}
		s.Press(keys.Nav.Top)
		switch screen {
		case "service":
			s.Press(keys.Services.Open)
		case "audit":
			s.Press(keys.Services.Open)
			s.Press(keys.Service.Audit)
		}
	}
	for _, screen := range []string{"services", "service", "audit"} {
		for _, b := range keys.AllBindings() {
			if slices.Equal(b.Keys(), quit.Keys()) {
				continue // the end of the session, pressed last
			}
			goTo(screen)
			s.Press(b)
			// Answer whatever the key opened: a label for the bake form (x, y and z are bound
			// to nothing), then confirm.
			s.Type("xyz")
			s.Press(keys.Dialog.Confirm)
		}
	}
	goTo("services")
}

var isRead = func(action string) bool {
	for _, op := range awsapi.ReadOperations {
		if op.Name == action {
			return true
		}
	}
	return false
}

// TestMoto_ReadOnlyKeySweepSendsOnlyReads drives every key binding in read-only mode against
// moto with request recording on, and proves that only read operations reached it. The same
// sweep in normal mode must record mutating requests, so the test can fail.
func TestMoto_ReadOnlyKeySweepSendsOnlyReads(t *testing.T) {
	// moto answers DescribeInstanceRefreshes (not implemented there) with HTTP 500, which the
	// retryer would back off on and retry five times per call: most of the sweep's time. Which
	// operations reach moto, the sweep's subject, does not depend on retries (motoEnv sets
	// AWS_MAX_ATTEMPTS=1).
	base := motoEnv(t)
	// Tag this test's requests, so that the recording can be told from other tests' traffic.
	appID := fmt.Sprintf("sweep-%d", time.Now().UnixNano())
	t.Setenv("AWS_SDK_UA_APP_ID", appID)
	motoPost(t, base, "/moto-api/reset")
	ctx := context.Background()

	rw, _, err := awsapi.LoadClients(ctx, awsapi.LoadOptions{Region: "us-east-1"})
	if err != nil {
		t.Fatalf("clients: %v", err)
	}
	seedMoto(t, rw.EC2.(*ec2.Client), rw.ELBv2.(*elbv2.Client), rw.AutoScaling.(*autoscaling.Client))

	for _, mode := range []string{"read-only", "normal", "production read-only in the config"} {
		t.Run(mode, func(t *testing.T) {
			motoPost(t, base, "/moto-api/recorder/stop-recording")
			motoPost(t, base, "/moto-api/recorder/reset-recording")
			motoPost(t, base, "/moto-api/recorder/start-recording")
			defer motoPost(t, base, "/moto-api/recorder/stop-recording")

			clients, read, err := awsapi.LoadClients(ctx, awsapi.LoadOptions{Region: "us-east-1", ReadOnly: mode == "read-only"})
			if err != nil {
				t.Fatalf("clients: %v", err)
			}
			opts := ops.Options{Options: inventory.Options{Refresh: time.Hour}}
			conf := tui.Config{Refresh: time.Hour, Clipboard: func(string) {}}
			switch mode {
			case "read-only":
				conf.Reader, conf.ReadOnly = inventory.NewInventory(read, opts.Options), true
			case "normal":
				op := ops.NewOperator(clients, opts)
				conf.Reader, conf.Operator = op, op
			default:
				op := ops.NewOperator(clients, opts)
				conf.Reader, conf.Operator = op, envGuard{Operator: op, readOnly: map[string]bool{"production": true}}
			}
			start := time.Now()
			s := tui.NewSession(conf, 120, 36)
			if v := s.View(); !strings.Contains(v, "sweep-api") {
				t.Fatalf("the console does not list sweep-api:\n%s", v)
			}
			if mode != "normal" && mode != "read-only" {
				// Bake sweep-web's production instance, tagged staging on its own: the plan
				// is production's (refused for the disagreeing tags), and confirming it
				// anyway reaches no AWS write.
				keys := s.Keys()
				s.Press(keys.Services.Filter)
				s.Type("sweep-web")
				s.Press(keys.Filter.Apply)
				s.Type("enter")
				s.Press(keys.Service.Bake)
				s.Type("proofbake")
				s.Press(keys.Dialog.Confirm)
				if v := s.View(); !strings.Contains(v, "disagree") {
					t.Fatalf("the bake plan of a production instance tagged staging does not refuse it:\n%s", v)
				}
				s.Press(keys.Dialog.Confirm)
				s.Press(keys.Global.Quit)
				s.Close()
				if writes := mutationsOf(recordedActions(t, base, appID)); len(writes) > 0 {
					t.Fatalf("baking a production instance tagged staging sent %v with production read-only", writes)
				}
				return
			}
			sweep(t, s)
			// Then bake, deliberately: b on the service screen, a label, enter for the plan,
			// enter to confirm. Read-only mode must answer "read-only mode" and send nothing.
			keys := s.Keys()
			s.Type("enter")       // Press would send all of Open's keys, "l" (console output) among them
			s.Press(keys.Nav.Top) // the first instance: the sweep moved the service screen's cursor
			s.Press(keys.Service.Bake)
			if mode == "read-only" {
				if v := s.View(); !strings.Contains(v, "read-only mode") {
					t.Fatalf("b in read-only mode does not say why it is unavailable:\n%s", v)
				}
			} else {
				s.Type("proofbake")
				s.Press(keys.Dialog.Confirm)
				if v := s.View(); !strings.Contains(v, "label proofbake") {
					t.Fatalf("no bake plan for label proofbake:\n%s", v)
				}
				s.Press(keys.Dialog.Confirm)
				if v := s.View(); !strings.Contains(v, "bake i-") {
					t.Fatalf("the confirmed bake was not sent:\n%s", v)
				}
			}
			s.Press(keys.Global.Quit)
			s.Close()
			t.Logf("%s sweep: %s", mode, time.Since(start).Round(time.Millisecond))

			actions := recordedActions(t, base, appID)
			seen := map[string]int{}
			for _, a := range actions {
				seen[a]++
			}
			var writes []string
			for a := range seen {
				if !isRead(a) {
					writes = append(writes, a)
				}
			}
			t.Logf("%s sweep: %d requests: %v", mode, len(actions), seen)
			if mode == "read-only" {
				if len(writes) > 0 {
					t.Fatalf("read-only sweep sent non-read operations to AWS: %v", writes)
				}
				for _, want := range []string{"DescribeAutoScalingGroups", "DescribeTargetHealth", "DescribeLaunchTemplateVersions", "GetCallerIdentity", "DescribeImages"} {
					if seen[want] == 0 {
						t.Errorf("read-only sweep never called %s: the sweep did not exercise the console", want)
					}
				}
				return
			}
			if len(writes) == 0 {
				t.Fatalf("normal-mode sweep sent no mutating operation: the sweep cannot tell read-only from normal (%v)", seen)
			}
		})
	}
}
