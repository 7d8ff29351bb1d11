package sim

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/smithy-go"
)

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestBootAndHealthCheckTiming(t *testing.T) {
	f := newFixture(t, 2, 30)
	ctx := context.Background()
	if _, err := f.c.Clients().AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("app"), DesiredCapacity: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	g := f.group(t, "app")
	if len(g.Instances) != 3 {
		t.Fatalf("after scaling out: %d instances, want 3", len(g.Instances))
	}
	id := *g.Instances[2].InstanceId
	// Boot: Pending for BootTime (15 s) after the launch at t0+1s.
	type want struct {
		at        time.Duration
		lifecycle astypes.LifecycleState
		target    string
	}
	for _, w := range []want{
		{14 * time.Second, astypes.LifecycleStatePending, ""},
		{16 * time.Second, astypes.LifecycleStateInService, "initial/Elb.RegistrationInProgress"},
		{21 * time.Second, astypes.LifecycleStateInService, "initial/Elb.InitialHealthChecking"},
		{26 * time.Second, astypes.LifecycleStateInService, "healthy"}, // two checks 5 s apart after registration at 16 s
	} {
		f.clk.Set(t0.Add(w.at))
		var got astypes.Instance
		for _, in := range f.group(t, "app").Instances {
			if *in.InstanceId == id {
				got = in
			}
		}
		if got.LifecycleState != w.lifecycle || f.targets(t)[id] != w.target {
			t.Errorf("at +%s: %s / %q, want %s / %q", w.at, got.LifecycleState, f.targets(t)[id], w.lifecycle, w.target)
		}
	}
}

func TestDrainingForDeregistrationDelay(t *testing.T) {
	f := newFixture(t, 3, 30)
	ctx := context.Background()
	if _, err := f.c.Clients().AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("app"), DesiredCapacity: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	var victim string
	for _, in := range f.group(t, "app").Instances {
		if in.LifecycleState == astypes.LifecycleStateTerminating {
			victim = *in.InstanceId
		}
	}
	if victim == "" {
		t.Fatal("no instance terminating after scale-in")
	}
	if got := f.targets(t)[victim]; got != "draining/Target.DeregistrationInProgress" {
		t.Errorf("victim target = %q, want draining", got)
	}
	f.clk.Set(t0.Add(30 * time.Second)) // deregistered at +1 s, 30 s delay
	if got := f.targets(t)[victim]; !strings.HasPrefix(got, "draining") {
		t.Errorf("at +30s victim = %q, still draining", got)
	}
	f.clk.Set(t0.Add(31 * time.Second))
	if got, ok := f.targets(t)[victim]; ok {
		t.Errorf("at +31s victim still in target group: %q", got)
	}
	f.clk.Set(t0.Add(34 * time.Second))
	g := f.group(t, "app")
	if len(g.Instances) != 2 {
		t.Errorf("after termination: %d instances, want 2", len(g.Instances))
	}
	acts, err := f.c.Clients().AutoScaling.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	if a := acts.Activities[0]; *a.Description != "Terminating EC2 instance: "+victim || a.StatusCode != astypes.ScalingActivityStatusCodeSuccessful {
		t.Errorf("newest activity = %s %s", *a.Description, a.StatusCode)
	}
}

func TestClassicELBDrainingAndHealth(t *testing.T) {
	clk := NewManualClock(t0)
	c := New(clk, Options{})
	img := c.AddImage("legacy-1", t0.Add(-time.Hour), nil)
	c.AddLaunchConfig("legacy-lc", img)
	c.AddClassicELB("legacy-elb", 60)
	ids, err := c.AddGroup(GroupSpec{Name: "legacy", Service: "reports", Env: "production", Min: 0, Desired: 2, Max: 2, LaunchConfig: "legacy-lc", ClassicELBs: []string{"legacy-elb"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl := c.Clients()
	states := func() map[string]string {
		out, err := cl.ELB.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String("legacy-elb")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range out.InstanceStates {
			m[*s.InstanceId] = *s.State + ": " + *s.Description
		}
		return m
	}
	if s := states(); s[ids[0]] != "InService: N/A" || len(s) != 2 {
		t.Errorf("initial states %v", s)
	}
	attrs, err := cl.ELB.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String("legacy-elb")})
	if err != nil || !attrs.LoadBalancerAttributes.ConnectionDraining.Enabled || *attrs.LoadBalancerAttributes.ConnectionDraining.Timeout != 60 {
		t.Errorf("connection draining: %+v, %v", attrs, err)
	}
	lbs, err := cl.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{"legacy-elb"}})
	if err != nil || len(lbs.LoadBalancerDescriptions) != 1 || len(lbs.LoadBalancerDescriptions[0].Instances) != 2 {
		t.Fatalf("describe load balancers: %+v, %v", lbs, err)
	}
	if hc := lbs.LoadBalancerDescriptions[0].HealthCheck; *hc.Interval != 5 || *hc.HealthyThreshold != 2 {
		t.Errorf("health check = interval %d, healthy threshold %d; want 5 and 2", *hc.Interval, *hc.HealthyThreshold)
	}
	if _, err := cl.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("legacy"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	draining := 0
	for _, s := range states() {
		if s == "OutOfService: Instance deregistration currently in progress." {
			draining++
		}
	}
	if draining != 1 {
		t.Errorf("draining = %d, want 1: %v", draining, states())
	}
	clk.Advance(65 * time.Second)
	if s := states(); len(s) != 1 {
		t.Errorf("after draining: %v", s)
	}
	if _, err := cl.ELB.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String("nope")}); errCode(err) != "LoadBalancerNotFound" {
		t.Errorf("missing ELB: %v", err)
	}
}

// TestRefreshReplacesBatchByBatch follows a launch-before-terminate refresh second by second:
// healthy capacity never drops below desired, instances are replaced two at a time, and the
// group ends on the new version.
func TestRefreshReplacesBatchByBatch(t *testing.T) {
	f := newFixture(t, 4, 10)
	f.startRefresh(t, "2", 100, 150, true) // batch = 4 * 50% = 2
	if _, err := f.c.Clients().AutoScaling.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); errCode(err) != "InstanceRefreshInProgress" {
		t.Errorf("second StartInstanceRefresh: %v, want InstanceRefreshInProgress", err)
	}
	maxLive, lastPct := 0, int32(-1)
	percents := map[int32]bool{}
	for i := 0; i < 600; i++ {
		f.clk.Advance(time.Second)
		h := f.healthyByImage(t)
		if h[f.old]+h[f.new] < 4 {
			t.Fatalf("at +%ds healthy capacity %v below desired 4", i+1, h)
		}
		g := f.group(t, "app")
		live := 0
		for _, in := range g.Instances {
			if in.LifecycleState != astypes.LifecycleStateTerminating {
				live++
			}
		}
		maxLive = max(maxLive, live)
		r := f.refresh(t, "app")
		if *r.PercentageComplete < lastPct {
			t.Errorf("percentage went back from %d to %d", lastPct, *r.PercentageComplete)
		}
		lastPct = *r.PercentageComplete
		percents[lastPct] = true
		if r.Status == astypes.InstanceRefreshStatusSuccessful {
			break
		}
	}
	r := f.refresh(t, "app")
	if r.Status != astypes.InstanceRefreshStatusSuccessful || r.EndTime == nil || *r.InstancesToUpdate != 0 {
		t.Fatalf("refresh %s, to update %d", r.Status, *r.InstancesToUpdate)
	}
	if !percents[50] {
		t.Errorf("percentages seen %v, want a 50%% step (two batches of two)", percents)
	}
	if maxLive != 6 {
		t.Errorf("at most %d live instances, want 6 (desired 4 + batch 2)", maxLive)
	}
	g := f.group(t, "app")
	if *g.LaunchTemplate.Version != "2" || len(g.Instances) != 4 {
		t.Errorf("group on version %s with %d instances", *g.LaunchTemplate.Version, len(g.Instances))
	}
	if h := f.healthyByImage(t); h[f.new] != 4 {
		t.Errorf("healthy by image %v, want 4 on the new AMI", h)
	}
	acts, err := f.c.Clients().AutoScaling.DescribeScalingActivities(context.Background(), &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	refreshLaunches, refreshTerms := 0, 0
	for _, a := range acts.Activities {
		if strings.Contains(*a.Cause, "instance refresh") {
			if strings.HasPrefix(*a.Description, "Launching") {
				refreshLaunches++
			} else {
				refreshTerms++
			}
		}
	}
	if refreshLaunches != 4 || refreshTerms != 4 {
		t.Errorf("refresh activities: %d launches, %d terminations, want 4 and 4", refreshLaunches, refreshTerms)
	}
}

func TestTerminateFirstRefresh(t *testing.T) {
	f := newFixture(t, 4, 5)
	f.startRefresh(t, "$Latest", 50, 100, false) // batch = 2, terminated before replacements launch
	maxLive := 0
	for i := 0; i < 600 && f.refresh(t, "app").Status != astypes.InstanceRefreshStatusSuccessful; i++ {
		f.clk.Advance(time.Second)
		h := f.healthyByImage(t)
		if h[f.old]+h[f.new] < 2 {
			t.Fatalf("healthy capacity %v below 50%% of 4", h)
		}
		live := 0
		for _, in := range f.group(t, "app").Instances {
			if in.LifecycleState != astypes.LifecycleStateTerminating {
				live++
			}
		}
		maxLive = max(maxLive, live)
	}
	if f.refresh(t, "app").Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatal("refresh did not finish")
	}
	if maxLive > 4 {
		t.Errorf("max live %d above desired with MaxHealthyPercentage 100", maxLive)
	}
	if g := f.group(t, "app"); *g.LaunchTemplate.Version != "$Latest" {
		t.Errorf("group version %s, want $Latest as requested", *g.LaunchTemplate.Version)
	}
}

func TestRollbackMidRefresh(t *testing.T) {
	t.Run("launch first", func(t *testing.T) { testRollbackMidRefresh(t, 100, 150, 4) })
	t.Run("terminate first", func(t *testing.T) { testRollbackMidRefresh(t, 50, 100, 2) })
}

func testRollbackMidRefresh(t *testing.T, minH, maxH int32, minHealthy int) {
	f := newFixture(t, 4, 10)
	ctx := context.Background()
	as := f.c.Clients().AutoScaling
	if _, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("rollback without refresh: %v", err)
	}
	id := f.startRefresh(t, "2", minH, maxH, false)
	for i := 0; i < 300 && *f.refresh(t, "app").PercentageComplete == 0; i++ {
		f.clk.Advance(time.Second)
	}
	if h := f.healthyByImage(t); h[f.new] != 2 {
		t.Fatalf("before rollback: %v, want two new instances serving", h)
	}
	out, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("app")})
	if err != nil || *out.InstanceRefreshId != id {
		t.Fatalf("rollback: %v, %v", out, err)
	}
	r := f.refresh(t, "app")
	if r.Status != astypes.InstanceRefreshStatusRollbackInProgress || r.RollbackDetails == nil || *r.RollbackDetails.PercentageCompleteOnRollback != 50 {
		t.Errorf("after rollback call: %s %+v", r.Status, r.RollbackDetails)
	}
	if _, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("second rollback: %v", err)
	}
	for i := 0; i < 600 && f.refresh(t, "app").Status == astypes.InstanceRefreshStatusRollbackInProgress; i++ {
		f.clk.Advance(time.Second)
		if h := f.healthyByImage(t); h[f.old]+h[f.new] < minHealthy {
			t.Fatalf("healthy capacity %v below %d during rollback", h, minHealthy)
		}
	}
	r = f.refresh(t, "app")
	if r.Status != astypes.InstanceRefreshStatusRollbackSuccessful {
		t.Fatalf("status %s", r.Status)
	}
	g := f.group(t, "app")
	if *g.LaunchTemplate.Version != "1" {
		t.Errorf("group version %s after rollback, want 1", *g.LaunchTemplate.Version)
	}
	if h := f.healthyByImage(t); h[f.old] != 4 || h[f.new] != 0 || len(g.Instances) != 4 {
		t.Errorf("after rollback: %v with %d instances", h, len(g.Instances))
	}
}

func TestAutoRollbackOnBadImage(t *testing.T) {
	for _, auto := range []bool{true, false} {
		f := newFixture(t, 3, 10)
		f.c.MarkImageBad(f.new)
		f.startRefresh(t, "2", 100, 200, auto)
		sawRollback := false
		for i := 0; i < 900; i++ {
			f.clk.Advance(time.Second)
			if h := f.healthyByImage(t); h[f.old] < 3 {
				t.Fatalf("auto=%v: healthy old capacity %v dropped while the new image fails", auto, h)
			}
			r := f.refresh(t, "app")
			sawRollback = sawRollback || r.Status == astypes.InstanceRefreshStatusRollbackInProgress
			if r.EndTime != nil {
				break
			}
		}
		r := f.refresh(t, "app")
		if auto && (!sawRollback || r.Status != astypes.InstanceRefreshStatusRollbackSuccessful || !strings.Contains(*r.RollbackDetails.RollbackReason, "failed to become healthy")) {
			t.Errorf("auto rollback: saw rollback %v, status %s", sawRollback, r.Status)
		}
		if !auto && r.Status != astypes.InstanceRefreshStatusFailed {
			t.Errorf("without auto rollback: status %s, want Failed", r.Status)
		}
		// Either way the group ends on its old configuration with only old instances.
		f.clk.Advance(2 * time.Minute)
		g := f.group(t, "app")
		if *g.LaunchTemplate.Version != "1" {
			t.Errorf("auto=%v: group version %s", auto, *g.LaunchTemplate.Version)
		}
		for _, in := range g.Instances {
			if *in.ImageId != f.old {
				t.Errorf("auto=%v: instance %s on %s left in the group", auto, *in.InstanceId, *in.ImageId)
			}
		}
	}
}

func TestStartRefreshValidation(t *testing.T) {
	f := newFixture(t, 2, 10)
	as := f.c.Clients().AutoScaling
	ctx := context.Background()
	for _, tc := range []struct {
		in   *autoscaling.StartInstanceRefreshInput
		code string
	}{
		{&autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("nope")}, "ValidationError"},
		{&autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app"), Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(100)}}, "ValidationError"},
		{&autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app"), DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("9")}}}, "ValidationError"},
		{&autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app"), DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-0x"), LaunchTemplateName: aws.String("app"), Version: aws.String("2")}}}, "ValidationError"},
		{&autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app"), Preferences: &astypes.RefreshPreferences{MaxHealthyPercentage: aws.Int32(150)}}, "ValidationError"},
	} {
		if _, err := as.StartInstanceRefresh(ctx, tc.in); errCode(err) != tc.code {
			t.Errorf("%+v: %v, want %s", tc.in, err, tc.code)
		}
	}
	// Without a desired configuration the refresh cannot be rolled back.
	if _, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); errCode(err) != "IrreversibleInstanceRefresh" {
		t.Errorf("rollback of a refresh without desired configuration: %v", err)
	}
}

func TestRefreshWaitsWhileLaunchSuspended(t *testing.T) {
	clk := NewManualClock(t0)
	c := New(clk, Options{})
	a := c.AddImage("s-1", t0.Add(-time.Hour), nil)
	b := c.AddImage("s-2", t0.Add(-time.Hour), nil)
	c.AddTemplate("s", []string{a, b}, nil, 1)
	if _, err := c.AddGroup(GroupSpec{Name: "s", Min: 1, Desired: 2, Max: 4, Template: "s", Version: "1", Suspended: []string{"Launch"}}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{clk: clk, c: c}
	if _, err := c.Clients().AutoScaling.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("s"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("s"), Version: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	r := f.refresh(t, "s")
	if r.Status != astypes.InstanceRefreshStatusInProgress || !strings.Contains(aws.ToString(r.StatusReason), "Launch process") || *r.PercentageComplete != 0 {
		t.Errorf("refresh with Launch suspended: %s %q %d%%", r.Status, aws.ToString(r.StatusReason), *r.PercentageComplete)
	}
	if n := len(f.group(t, "s").Instances); n != 2 {
		t.Errorf("%d instances, want the original 2", n)
	}
}

func TestManualClockAfterFiresOnlyWhenAdvanced(t *testing.T) {
	clk := NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	select {
	case <-clk.Sleeping():
		t.Fatal("Sleeping before anyone waits")
	default:
	}
	sleeping := clk.Sleeping()
	ch := clk.After(2 * time.Second)
	select {
	case <-sleeping:
	default:
		t.Fatal("Sleeping not closed once a goroutine waits in After")
	}
	clk.Advance(time.Second)
	select {
	case <-ch:
		t.Fatal("After fired 1 s into a 2 s wait")
	default:
	}
	clk.Advance(time.Second)
	select {
	case at := <-ch:
		if want := time.Date(2026, 11, 28, 9, 0, 2, 0, time.UTC); !at.Equal(want) {
			t.Errorf("After delivered %v, want %v", at, want)
		}
	default:
		t.Fatal("After did not fire once the clock reached its deadline")
	}
	if got := clk.After(0); len(got) != 1 {
		t.Error("After(0) is not due at once")
	}
}

// A hand-edited state asking for a group the simulator cannot run is refused on load, with
// the numbers, instead of hanging.
func TestLoadRefusesAGroupTooLargeToSimulate(t *testing.T) {
	c := NewDemo(NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)))
	c.mu.Lock()
	c.st.Groups[0].Desired, c.st.Groups[0].Max = 2000000, 2000000
	c.mu.Unlock()
	var b bytes.Buffer
	if err := c.Save(&b); err != nil {
		t.Fatal(err)
	}
	_, err := Load(&b, nil)
	if err == nil || !strings.Contains(err.Error(), "desired 2000000") || !strings.Contains(err.Error(), "<= 10000") {
		t.Errorf("load: %v", err)
	}
}
