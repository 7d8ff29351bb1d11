package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// sentBy marks every request of one member's service clients, so that moto's recorder says
// whose clients made each call (the account they act in comes from the assumed role's
// credentials, not from a header).
func sentBy(name string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Build.Add(middleware.BuildMiddlewareFunc("sentBy", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				req.Header.Set("x-test-sent-by", name)
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
	}
}

// motoMember assumes a role in account with LoadClients (moto's AssumeRole returns
// credentials that act in the role's account) and builds a member for env over it, with
// web/env running image (a stock AMI when "": staging bakes its own below).
func motoMember(t *testing.T, account, region, env string) (accounts.Member, awstest.SDKClients) {
	t.Helper()
	ctx := context.Background()
	c, read, err := awsapi.LoadClients(ctx, awsapi.LoadOptions{
		RoleARN: "arn:aws:iam::" + account + ":role/deployer", SessionName: "adstage-" + env, ExternalID: "adstage-ops",
		Region: region, APIOptions: []func(*middleware.Stack) error{sentBy(env)},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := awstest.RawClients(t, read)
	op := ops.NewOperator(c, ops.Options{})
	return accounts.Member{Name: env + " (role deployer in " + account + ")", Envs: []string{env}, Reader: op, Operator: op, Read: read, Write: c, Tags: model.DefaultTagKeys}, raw
}

// motoService runs web/env in the member's account on image: a launch template and a
// tagged group of one instance.
func motoService(t *testing.T, raw awstest.SDKClients, region, env, image string) {
	t.Helper()
	ctx := context.Background()
	s := aws.String
	lt, err := raw.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: s("web-" + env),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: s(image), InstanceType: ec2types.InstanceTypeT3Micro}})
	mustOK(t, "CreateLaunchTemplate", err)
	_, err = raw.AutoScaling.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: s("web-" + env), MinSize: aws.Int32(1), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1),
		AvailabilityZones: []string{region + "a"},
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: s("1")},
		Tags: []astypes.Tag{
			{Key: s("Service"), Value: s("web"), PropagateAtLaunch: aws.Bool(true)},
			{Key: s("Environment"), Value: s(env), PropagateAtLaunch: aws.Bool(true)},
		},
	})
	mustOK(t, "CreateAutoScalingGroup", err)
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("moto fixture: %s: %v", what, err)
	}
}

// stockImage is one of moto's stock AMIs in the region.
func stockImage(t *testing.T, raw awstest.SDKClients) string {
	t.Helper()
	out, err := raw.EC2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("architecture"), Values: []string{"x86_64"}}}})
	mustOK(t, "DescribeImages", err)
	if len(out.Images) == 0 {
		t.Fatal("moto lists no stock AMI")
	}
	return aws.ToString(out.Images[0].ImageId)
}

// bake makes an image of the account's own (with a snapshot) from an instance of a stock AMI.
func bake(t *testing.T, raw awstest.SDKClients) string {
	t.Helper()
	ctx := context.Background()
	run, err := raw.EC2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(stockImage(t, raw)), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	mustOK(t, "RunInstances", err)
	img, err := raw.EC2.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: run.Instances[0].InstanceId, Name: aws.String("web-release")})
	mustOK(t, "CreateImage", err)
	return aws.ToString(img.ImageId)
}

// sentByOf lists, in order, the operations moto recorded from the clients of one member.
func sentByOf(t *testing.T, entries []awstest.RecordedRequest, member string) []string {
	var out []string
	for _, e := range entries {
		for k, v := range e.Headers {
			if strings.EqualFold(k, "x-test-sent-by") && v == member {
				out = append(out, e.Action(t))
			}
		}
	}
	return out
}

// accountsOf is two moto accounts of the test's own.
func accountsOf(t *testing.T) (string, string) {
	a := awstest.MotoAccount(t)
	return "1" + a[1:], "2" + a[1:]
}

// TestMoto_MergedConsoleAcrossAccountsAndRegions: staging's role in one account (us-east-1)
// and production's in another (eu-west-1) are read in one snapshot, each row with the account
// and region its clients read it in.
func TestMoto_MergedConsoleAcrossAccountsAndRegions(t *testing.T) {
	awstest.IsolateAWSEnv(t, awstest.MotoEndpoint(t))
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	stagingAcct, prodAcct := accountsOf(t)
	staging, sraw := motoMember(t, stagingAcct, "us-east-1", "staging")
	production, praw := motoMember(t, prodAcct, "eu-west-1", "production")
	motoService(t, sraw, "us-east-1", "staging", stockImage(t, sraw))
	motoService(t, praw, "eu-west-1", "production", stockImage(t, praw))
	c := accounts.New([]accounts.Member{staging, production}, accounts.Options{})
	f, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range f.Services {
		got[s.ServiceKey.String()] = s.From().Account + " " + s.From().Region
	}
	want := map[string]string{"web/staging": stagingAcct + " us-east-1", "web/production": prodAcct + " eu-west-1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s read in %q, want %q (all: %v; problems %q)", k, got[k], v, got, f.Problems)
		}
	}
}

// TestMoto_PromoteAcrossAccounts: production (another account, same region) promotes the
// image staging baked. Unshared, the plan offers the share and Execute makes it with
// staging's clients (moto's recorder says whose), then production's clients create the
// release; already shared, nothing is shared again.
func TestMoto_PromoteAcrossAccounts(t *testing.T) {
	awstest.IsolateAWSEnv(t, awstest.MotoEndpoint(t))
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	awstest.MotoAPI(t, "POST", "/moto-api/recorder/start-recording")
	stagingAcct, prodAcct := accountsOf(t)
	staging, sraw := motoMember(t, stagingAcct, "us-east-1", "staging")
	production, praw := motoMember(t, prodAcct, "us-east-1", "production")
	image := bake(t, sraw)
	motoService(t, sraw, "us-east-1", "staging", image)
	motoService(t, praw, "us-east-1", "production", stockImage(t, praw))
	c := accounts.NewOperators([]accounts.Member{staging, production}, accounts.Options{})
	ctx := context.Background()
	if _, err := c.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(awstest.RecordedEntries(t))

	p, err := c.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging"})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if p.Transfer == nil || !p.Transfer.Share || p.Transfer.ImageID != image || p.Blocked() {
		t.Fatalf("transfer %+v (blocked: %s), want a share of %s", p.Transfer, p.FailureText(), image)
	}
	run, cancel := context.WithCancel(ctx)
	var execErr error
	if ch, err := c.Execute(run, p); err != nil {
		execErr = err
	} else {
		for ev := range ch {
			if ev.Err != nil {
				execErr = ev.Err
			}
		}
	}
	t.Logf("execute: %v", execErr)
	cancel()
	entries := awstest.RecordedEntries(t)[before:]
	st, pr := sentByOf(t, entries, "staging"), sentByOf(t, entries, "production")
	for _, op := range []string{"DescribeImageAttribute", "DescribeSnapshotAttribute", "ModifySnapshotAttribute", "ModifyImageAttribute"} {
		if !contains(st, op) || contains(pr, op) {
			t.Errorf("%s: staging's clients sent %v, production's %v; want it from staging only", op, st, pr)
		}
	}
	// Where moto differs from AWS: an image shared from another account is not visible to
	// the target's DescribeImages (moto keeps images per account and never looks at launch
	// permissions across accounts), so production's rollout refuses the image it cannot see
	// before it changes anything. On AWS the shared image is visible and the rollout goes on
	// (TestPromote_SharesTheImageWithTheTargetAccount_Sim follows it there).
	if execErr == nil || !strings.Contains(execErr.Error(), "missing since the plan was made") {
		t.Errorf("execute: %v, want moto's invisible shared image", execErr)
	}
	if !contains(pr, "DescribeImages") || contains(st, "CreateLaunchTemplateVersion") || contains(pr, "CreateLaunchTemplateVersion") {
		t.Errorf("staging's clients sent %v, production's %v; want production's reads and no release", st, pr)
	}
	attr, err := sraw.EC2.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(image), Attribute: ec2types.ImageAttributeNameLaunchPermission})
	mustOK(t, "DescribeImageAttribute", err)
	if len(attr.LaunchPermissions) != 1 || aws.ToString(attr.LaunchPermissions[0].UserId) != prodAcct {
		t.Errorf("launch permissions in staging's account: %+v, want production's account %s", attr.LaunchPermissions, prodAcct)
	}

	// Shared now: a second plan has no transfer step, and says the image is shared.
	p, err = c.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging"})
	if err != nil {
		t.Fatalf("second plan: %v", err)
	}
	if p.Transfer != nil {
		t.Errorf("second plan shares again: %+v", p.Transfer)
	}
	ok := false
	for _, ch := range p.Checks {
		ok = ok || ch.Name == accounts.CheckTargetCanLaunch && ch.OK
	}
	if !ok {
		t.Errorf("second plan does not say production can launch it: %+v", p.Checks)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
