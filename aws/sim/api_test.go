package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/model"
)

func TestImagePendingToAvailable(t *testing.T) {
	f := newFixture(t, 1, 10)
	ctx := context.Background()
	e := f.c.Clients().EC2
	src := *f.group(t, "app").Instances[0].InstanceId
	tags := []ec2types.Tag{{Key: aws.String("Service"), Value: aws.String("app")}, {Key: aws.String(model.TagLabel), Value: aws.String("abc1234")}}
	out, err := e.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(src), Name: aws.String("app-abc1234"), NoReboot: aws.Bool(true),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags}, {ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags}}})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.ImageId
	if _, err := e.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(src), Name: aws.String("app-abc1234")}); errCode(err) != "InvalidAMIName.Duplicate" {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := e.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String("i-0000000000000000"), Name: aws.String("x-1")}); errCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("missing instance: %v", err)
	}
	image := func() ec2types.Image {
		out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Images[0]
	}
	progress := func() string {
		snap := *image().BlockDeviceMappings[0].Ebs.SnapshotId
		out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
		if err != nil {
			t.Fatal(err)
		}
		s := out.Snapshots[0]
		if len(s.Tags) != 2 {
			t.Errorf("snapshot tags %v", s.Tags)
		}
		return *s.Progress + " " + string(s.State)
	}
	if img := image(); img.State != ec2types.ImageStatePending || len(img.Tags) != 2 {
		t.Errorf("new image %s with tags %v", img.State, img.Tags)
	}
	if p := progress(); p != "0% pending" {
		t.Errorf("at start: %s", p)
	}
	f.clk.Advance(15 * time.Second)
	if p := progress(); p != "50% pending" {
		t.Errorf("after 15 s: %s", p)
	}
	f.clk.Advance(15 * time.Second)
	if p, s := progress(), image().State; p != "100% completed" || s != ec2types.ImageStatePending {
		t.Errorf("after 30 s: %s, image %s", p, s)
	}
	f.clk.Advance(5 * time.Second)
	if s := image().State; s != ec2types.ImageStateAvailable {
		t.Errorf("after 35 s: image %s", s)
	}
	// Listing by tag, owner self.
	list, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:" + model.TagLabel), Values: []string{"abc1234"}}}})
	if err != nil || len(list.Images) != 1 || *list.Images[0].ImageId != id {
		t.Errorf("by tag: %v, %v", list, err)
	}
	list, err = e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:Service"), Values: []string{"app"}}, {Name: aws.String("state"), Values: []string{"available"}}}})
	if err != nil || len(list.Images) != 3 {
		t.Errorf("service images: %d, %v", len(list.Images), err)
	}
	if err := f.c.DeregisterImage(id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}}); errCode(err) != "InvalidAMIID.NotFound" {
		t.Errorf("deregistered image: %v", err)
	}
	if _, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0000000000000000"}}); errCode(err) != "InvalidAMIID.NotFound" {
		t.Errorf("missing image: %v", err)
	}
}

func TestLaunchTemplateVersions(t *testing.T) {
	f := newFixture(t, 1, 10)
	ctx := context.Background()
	e := f.c.Clients().EC2
	note := model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/demo-operator", When: t0, From: f.old, To: f.new, Why: "test"}
	out, err := e.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("app"), SourceVersion: aws.String("1"),
		VersionDescription: aws.String(note.String()), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(f.new)}})
	if err != nil {
		t.Fatal(err)
	}
	v := out.LaunchTemplateVersion
	if *v.VersionNumber != 3 || *v.LaunchTemplateData.ImageId != f.new || *v.CreatedBy != note.Who || out.Warning != nil {
		t.Errorf("new version %+v warning %+v", v, out.Warning)
	}
	if got, ok := model.ParseReleaseNote(*v.VersionDescription); !ok || got.To != f.new {
		t.Errorf("description %q", *v.VersionDescription)
	}
	ver := func(versions ...string) []int64 {
		out, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: v.LaunchTemplateId, Versions: versions})
		if err != nil {
			t.Fatal(err)
		}
		var ns []int64
		for _, v := range out.LaunchTemplateVersions {
			ns = append(ns, *v.VersionNumber)
		}
		return ns
	}
	if got := ver("$Latest", "$Default"); !reflect.DeepEqual(got, []int64{3, 1}) {
		t.Errorf("$Latest,$Default = %v", got)
	}
	if got := ver(); !reflect.DeepEqual(got, []int64{3, 2, 1}) {
		t.Errorf("all = %v", got)
	}
	if _, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("app"), Versions: []string{"7"}}); errCode(err) != "InvalidLaunchTemplateId.VersionNotFound" {
		t.Errorf("missing version: %v", err)
	}
	if _, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("nope")}); errCode(err) != "InvalidLaunchTemplateName.NotFoundException" {
		t.Errorf("missing template: %v", err)
	}
	// The SDK paginator walks pages of one.
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(e, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("app"), MaxResults: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		if _, err := p.NextPage(ctx); err != nil {
			t.Fatal(err)
		}
		pages++
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	// A version naming a missing AMI is accepted with a warning, as on AWS.
	out, err = e.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("app"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-0missing")}})
	if err != nil || out.Warning == nil {
		t.Errorf("missing AMI: %v, warning %v", err, out)
	}
}

func TestPaginationAt100(t *testing.T) {
	clk := NewManualClock(t0)
	c := NewScale(clk, Options{}, ScaleSpec{Groups: 250, InstancesPerGroup: 2, TargetGroups: 50, ClassicELBs: 5})
	ctx := context.Background()
	as := c.Clients().AutoScaling
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(as, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(100)})
	var sizes []int
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.AutoScalingGroups))
		for _, g := range page.AutoScalingGroups {
			seen[*g.AutoScalingGroupName] = true
			if len(g.Instances) != 2 || len(g.TargetGroupARNs) != 1 {
				t.Fatalf("group %s: %d instances, %d target groups", *g.AutoScalingGroupName, len(g.Instances), len(g.TargetGroupARNs))
			}
		}
	}
	if !reflect.DeepEqual(sizes, []int{100, 100, 50}) || len(seen) != 250 || c.Calls()["DescribeAutoScalingGroups"] != 3 {
		t.Errorf("pages %v, %d groups, %d calls", sizes, len(seen), c.Calls()["DescribeAutoScalingGroups"])
	}
	if _, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(101)}); errCode(err) != "ValidationError" {
		t.Errorf("MaxRecords 101: %v", err)
	}
	def, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil || len(def.AutoScalingGroups) != 50 || def.NextToken == nil {
		t.Errorf("default page: %d groups, %v", len(def.AutoScalingGroups), err)
	}
	// Filters: tag:<key> values are ORed, filters ANDed.
	f, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{
		{Name: aws.String("tag:Service"), Values: []string{"svc-0000", "svc-0001"}},
		{Name: aws.String("tag:Environment"), Values: []string{"production"}},
	}})
	if err != nil || len(f.AutoScalingGroups) != 4 {
		t.Errorf("filtered: %d groups, %v", len(f.AutoScalingGroups), err)
	}
	f, err = as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag-key"), Values: []string{"Service"}}}})
	if err != nil || len(f.AutoScalingGroups) != 50 || f.NextToken == nil {
		t.Errorf("tag-key: %d groups, %v", len(f.AutoScalingGroups), err)
	}
	classic := 0
	for _, g := range c.st.Groups {
		classic += len(g.ClassicELBs)
	}
	if classic != 5 {
		t.Errorf("%d groups behind classic ELBs, want 5", classic)
	}
}

func TestThrottlingBuckets(t *testing.T) {
	clk := NewManualClock(t0)
	c := NewScale(clk, Options{Throttle: true}, ScaleSpec{Groups: 4, InstancesPerGroup: 1, TargetGroups: 4, ClassicELBs: 1})
	cl := c.Clients()
	ctx := context.Background()
	arn := c.st.TargetGroups[0].ARN
	count := func(n int, call func() error) (ok, throttled int, code string) {
		for range n {
			err := call()
			switch {
			case err == nil:
				ok++
			default:
				throttled++
				code = errCode(err)
			}
		}
		return
	}
	ec2Call := func() error {
		_, err := cl.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
		return err
	}
	elbCall := func() error {
		_, err := cl.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
		return err
	}
	classicCall := func() error {
		_, err := cl.ELB.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String("clb-000")})
		return err
	}
	asCall := func() error {
		_, err := cl.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		return err
	}
	// ELB API version 1 (classic) has its own bucket ("Each ELB API version has its own
	// buckets and tokens"): its burst is whole right after version 2's was spent.
	for _, tc := range []struct {
		name       string
		call       func() error
		burst, per int
		code       string
	}{
		{"ec2", ec2Call, 100, 20, "RequestLimitExceeded"},
		{"elbv2", elbCall, 40, 10, "Throttling"},
		{"classic elb", classicCall, 40, 10, "Throttling"},
		{"autoscaling", asCall, 40, 10, "Throttling"},
	} {
		if ok, thr, code := count(tc.burst+5, tc.call); ok != tc.burst || thr != 5 || code != tc.code {
			t.Errorf("%s burst: %d ok, %d throttled (%s), want %d ok, 5 %s", tc.name, ok, thr, code, tc.burst, tc.code)
		}
	}
	clk.Advance(time.Second)
	for _, tc := range []struct {
		name string
		call func() error
		per  int
	}{{"ec2", ec2Call, 20}, {"elbv2", elbCall, 10}, {"classic elb", classicCall, 10}, {"autoscaling", asCall, 10}} {
		if ok, thr, _ := count(tc.per+3, tc.call); ok != tc.per || thr != 3 {
			t.Errorf("%s after 1 s: %d ok, %d throttled, want %d and 3", tc.name, ok, thr, tc.per)
		}
	}
	// Emptying the classic bucket leaves version 2's refill alone.
	clk.Advance(time.Second)
	if ok, thr, _ := count(13, classicCall); ok != 10 || thr != 3 {
		t.Errorf("classic after 1 s more: %d ok, %d throttled, want 10 and 3", ok, thr)
	}
	if ok, thr, _ := count(10, elbCall); ok != 10 || thr != 0 {
		t.Errorf("elbv2 with the classic bucket empty: %d ok, %d throttled, want 10 and 0", ok, thr)
	}
	thr := c.Throttled()
	if thr["DescribeImages"] != 8 || thr["DescribeTargetHealth"] != 8 || thr["DescribeAutoScalingGroups"] != 8 || thr["DescribeInstanceHealth"] != 11 {
		t.Errorf("throttled counts %v", thr)
	}
	if c.Calls()["DescribeImages"] != 128 {
		t.Errorf("calls %v", c.Calls())
	}
	// ThrottleUntil throttles everything, buckets or not.
	clk.Advance(time.Hour)
	c.ThrottleUntil(t0.Add(time.Hour + time.Minute))
	if _, err := cl.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); errCode(err) != "Throttling" {
		t.Errorf("during ThrottleUntil: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := cl.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
		t.Errorf("after ThrottleUntil: %v", err)
	}
	c.ResetCalls()
	if len(c.Calls()) != 0 || len(c.Throttled()) != 0 {
		t.Error("ResetCalls left counts")
	}
}

func TestFailNextAndIdentity(t *testing.T) {
	f := newFixture(t, 1, 10)
	ctx := context.Background()
	cl := f.c.Clients()
	f.c.FailNext("DescribeTargetHealth", &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}, 2)
	for i := range 3 {
		_, err := cl.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(f.tgARN)})
		var oe *smithy.OperationError
		if i < 2 && (errCode(err) != "AccessDenied" || !errorsAs(err, &oe) || oe.OperationName != "DescribeTargetHealth") {
			t.Errorf("call %d: %v", i, err)
		}
		if i == 2 && err != nil {
			t.Errorf("call 3: %v", err)
		}
	}
	id, err := cl.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::123456789012:user/demo-operator" || *id.Account != "123456789012" {
		t.Errorf("identity %v, %v", id, err)
	}
	if cl.Region != "us-east-1" {
		t.Errorf("region %s", cl.Region)
	}
}

func errorsAs(err error, target any) bool {
	oe, ok := target.(**smithy.OperationError)
	if !ok {
		return false
	}
	for err != nil {
		if e, ok := err.(*smithy.OperationError); ok {
			*oe = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestDescribeInstances(t *testing.T) {
	f := newFixture(t, 2, 10)
	ctx := context.Background()
	e := f.c.Clients().EC2
	ids := []string{*f.group(t, "app").Instances[0].InstanceId, *f.group(t, "app").Instances[1].InstanceId}
	out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil || len(out.Reservations) != 2 {
		t.Fatalf("%v, %v", out, err)
	}
	in := out.Reservations[0].Instances[0]
	if *in.ImageId != f.old || in.LaunchTime == nil || *in.Placement.AvailabilityZone == "" || in.State.Name != ec2types.InstanceStateNameRunning {
		t.Errorf("instance %+v", in)
	}
	if _, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0nope"}}); errCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("missing instance: %v", err)
	}
	out, err = e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{ids[1], "i-0nope"}}}})
	if err != nil || len(out.Reservations) != 1 || *out.Reservations[0].Instances[0].InstanceId != ids[1] {
		t.Errorf("filter instance-id: %v, %v", out, err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	clk := NewManualClock(t0)
	a := NewDemo(clk)
	clk.Advance(20 * time.Second)
	var buf bytes.Buffer
	if err := a.Save(&buf); err != nil {
		t.Fatal(err)
	}
	clk2 := NewManualClock(t0.Add(20 * time.Second))
	b, err := Load(bytes.NewReader(buf.Bytes()), clk2)
	if err != nil {
		t.Fatal(err)
	}
	// Both worlds evolve identically from here, through the end of the web rollout.
	for _, step := range []time.Duration{0, 30 * time.Second, 2 * time.Minute} {
		clk.Advance(step)
		clk2.Advance(step)
		if ga, gb := describeAll(t, a), describeAll(t, b); ga != gb {
			t.Fatalf("after +%s the loaded world differs:\n%s\n%s", step, ga, gb)
		}
	}
	// A nil clock keeps the saved time.
	c, err := Load(bytes.NewReader(buf.Bytes()), nil)
	if err != nil || !c.Now().Equal(t0.Add(20*time.Second)) {
		t.Errorf("load with nil clock: now %s, %v", c.Now(), err)
	}
	if _, err := Load(bytes.NewReader([]byte("{}")), clk); err == nil {
		t.Error("loading an empty state succeeded")
	}
}

func describeAll(t *testing.T, c *Cloud) string {
	t.Helper()
	ctx := context.Background()
	cl := c.Clients()
	out, err := cl.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Groups    []astypes.AutoScalingGroup
		Refreshes []astypes.InstanceRefresh
		Health    map[string]string
	}
	r := row{Groups: out.AutoScalingGroups, Health: map[string]string{}}
	ref, err := cl.AutoScaling.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web-production")})
	if err != nil {
		t.Fatal(err)
	}
	r.Refreshes = ref.InstanceRefreshes
	for _, g := range out.AutoScalingGroups {
		for _, arn := range g.TargetGroupARNs {
			th, err := cl.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range th.TargetHealthDescriptions {
				r.Health[*d.Target.Id] = string(d.TargetHealth.State)
			}
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDemoKeepsMoving samples the demo fleet every 10 s for ten minutes: something changes
// in (almost) every sample window, including after the web rollout ends.
func TestDemoKeepsMoving(t *testing.T) {
	clk := NewManualClock(t0)
	c := NewDemo(clk)
	prev := describeAll(t, c)
	changes := 0
	lateChanges := 0
	for i := 1; i <= 60; i++ {
		clk.Advance(10 * time.Second)
		cur := describeAll(t, c)
		if cur != prev {
			changes++
			if i > 12 {
				lateChanges++
			}
		}
		prev = cur
	}
	if changes < 30 || lateChanges < 20 {
		t.Errorf("demo changed in %d of 60 samples (%d after the rollout)", changes, lateChanges)
	}
	// Same clock, same fleet.
	first, second := describeAll(t, NewDemo(NewManualClock(t0))), describeAll(t, NewDemo(NewManualClock(t0)))
	if first != second {
		t.Error("two demos at the same time differ")
	}
}

// TestConcurrentClients calls every client from several goroutines while the clock moves and
// a refresh runs (run with -race).
func TestConcurrentClients(t *testing.T) {
	clk := NewManualClock(t0)
	c := NewDemo(clk)
	cl := c.Clients()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				switch (w + i) % 4 {
				case 0:
					_, _ = cl.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
				case 1:
					_, _ = cl.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
				case 2:
					_, _ = cl.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
				case 3:
					clk.Advance(time.Second)
				}
			}
		}()
	}
	wg.Wait()
	calls := c.Calls()
	if calls["DescribeAutoScalingGroups"]+calls["DescribeImages"]+calls["DescribeTargetGroups"] != 150 {
		t.Errorf("calls %v", calls)
	}
}

func TestChurnInstances(t *testing.T) {
	clk := NewManualClock(t0)
	c := NewScale(clk, Options{}, ScaleSpec{Groups: 100, InstancesPerGroup: 10, TargetGroups: 100})
	unhealthy := func() int {
		n := 0
		for _, tg := range c.st.TargetGroups {
			out, err := c.Clients().ELBv2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg.ARN)})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range out.TargetHealthDescriptions {
				if d.TargetHealth.State != "healthy" {
					n++
				}
			}
		}
		return n
	}
	if n := unhealthy(); n != 0 {
		t.Fatalf("%d unhealthy at start", n)
	}
	if n := c.ChurnInstances(0.01); n != 10 {
		t.Errorf("churned %d, want 10", n)
	}
	if n := unhealthy(); n != 10 {
		t.Errorf("%d unhealthy after churning 1%%, want 10", n)
	}
	c.ChurnInstances(0.01)
	if n := unhealthy(); n > 20 || n%2 != 0 {
		t.Errorf("%d unhealthy after a second churn", n)
	}
}
