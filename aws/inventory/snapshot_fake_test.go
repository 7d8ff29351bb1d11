package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/awsapi/fake"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// fakeFleet is a small declarative fleet that answers the fake's read operations, paging
// DescribeAutoScalingGroups the way AWS does so that the SDK paginator runs for real.
type fakeFleet struct {
	mu       sync.Mutex
	groups   []astypes.AutoScalingGroup
	health   map[string][]elbv2types.TargetHealthDescription // by target group ARN
	classic  map[string][]elbtypes.InstanceState             // by ELB name
	versions map[string]map[int64]string                     // template id -> version -> AMI
	launched map[string]time.Time
	refresh  map[string][]astypes.InstanceRefresh
	delay    string
}

func tgARN(name string) string {
	return "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/" + name + "/0123456789abcdef"
}

func tag(k, v string) astypes.TagDescription {
	return astypes.TagDescription{Key: aws.String(k), Value: aws.String(v)}
}

func asgInstance(id, version string, lc astypes.LifecycleState) astypes.Instance {
	return astypes.Instance{
		InstanceId: aws.String(id), AvailabilityZone: aws.String("eu-west-1a"), LifecycleState: lc,
		HealthStatus: aws.String("Healthy"), ProtectedFromScaleIn: aws.Bool(false),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-api"), LaunchTemplateName: aws.String("api"), Version: aws.String(version)},
	}
}

func healthy(id string) elbv2types.TargetHealthDescription {
	return elbv2types.TargetHealthDescription{Target: &elbv2types.TargetDescription{Id: aws.String(id)}, TargetHealth: &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumHealthy}}
}

func draining(id string) elbv2types.TargetHealthDescription {
	return elbv2types.TargetHealthDescription{Target: &elbv2types.TargetDescription{Id: aws.String(id)}, TargetHealth: &elbv2types.TargetHealth{
		State: elbv2types.TargetHealthStateEnumDraining, Reason: elbv2types.TargetHealthReasonEnumDeregistrationInProgress, Description: aws.String("Target deregistration is in progress")}}
}

// apiGroup is a launch template group of service api with one target group.
func apiGroup(name, env, version string, instances ...astypes.Instance) astypes.AutoScalingGroup {
	return astypes.AutoScalingGroup{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(int32(len(instances))),
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(60),
		LaunchTemplate:  &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-api"), LaunchTemplateName: aws.String("api"), Version: aws.String(version)},
		TargetGroupARNs: []string{tgARN(name)},
		Instances:       instances,
		Tags:            []astypes.TagDescription{tag("Service", "api"), tag("Environment", env)},
	}
}

func newFakeFleet() *fakeFleet {
	return &fakeFleet{
		health:   map[string][]elbv2types.TargetHealthDescription{},
		classic:  map[string][]elbtypes.InstanceState{},
		versions: map[string]map[int64]string{"lt-api": {1: "ami-1", 2: "ami-2"}},
		launched: map[string]time.Time{},
		refresh:  map[string][]astypes.InstanceRefresh{},
		delay:    "30",
	}
}

func (ff *fakeFleet) install(f *fake.AWS) {
	f.GetCallerIdentityOp.Respond = func(*sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
		return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:iam::123456789012:user/ops"), Account: aws.String("123456789012")}, nil
	}
	f.DescribeAutoScalingGroupsOp.Respond = func(in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		size := int(aws.ToInt32(in.MaxRecords))
		if size == 0 {
			size = 50
		}
		start, _ := strconv.Atoi(aws.ToString(in.NextToken))
		end := min(start+size, len(ff.groups))
		out := &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: slices.Clone(ff.groups[start:end])}
		if end < len(ff.groups) {
			out.NextToken = aws.String(strconv.Itoa(end))
		}
		return out, nil
	}
	f.DescribeLaunchTemplateVersionsOp.Respond = func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		vs := ff.versions[aws.ToString(in.LaunchTemplateId)]
		var latest int64
		for n := range vs {
			latest = max(latest, n)
		}
		out := &ec2.DescribeLaunchTemplateVersionsOutput{}
		add := func(n int64) {
			out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, ec2types.LaunchTemplateVersion{
				LaunchTemplateId: in.LaunchTemplateId, VersionNumber: aws.Int64(n), DefaultVersion: aws.Bool(n == 1),
				LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String(vs[n])},
				CreateTime:         aws.Time(time.Unix(1700000000+n*3600, 0)),
			})
		}
		if len(in.Versions) == 0 {
			for n := latest; n >= 1; n-- {
				add(n)
			}
		}
		for _, v := range in.Versions {
			switch v {
			case "$Latest":
				add(latest)
			case "$Default":
				add(1)
			default:
				n, _ := strconv.ParseInt(v, 10, 64)
				add(n)
			}
		}
		return out, nil
	}
	f.DescribeInstancesOp.Respond = func(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		var r ec2types.Reservation
		for _, id := range in.InstanceIds {
			if t, ok := ff.launched[id]; ok {
				r.Instances = append(r.Instances, ec2types.Instance{InstanceId: aws.String(id), LaunchTime: aws.Time(t), ImageId: aws.String("ami-lc")})
			}
		}
		return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{r}}, nil
	}
	f.DescribeTargetHealthOp.Respond = func(in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		return &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: slices.Clone(ff.health[aws.ToString(in.TargetGroupArn)])}, nil
	}
	f.DescribeTargetGroupAttributesOp.Respond = func(in *elbv2.DescribeTargetGroupAttributesInput) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: []elbv2types.TargetGroupAttribute{
			{Key: aws.String("stickiness.enabled"), Value: aws.String("false")},
			{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(ff.delay)},
		}}, nil
	}
	f.DescribeInstanceHealthOp.Respond = func(in *elb.DescribeInstanceHealthInput) (*elb.DescribeInstanceHealthOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		return &elb.DescribeInstanceHealthOutput{InstanceStates: slices.Clone(ff.classic[aws.ToString(in.LoadBalancerName)])}, nil
	}
	f.DescribeLoadBalancerAttributesOp.Respond = func(in *elb.DescribeLoadBalancerAttributesInput) (*elb.DescribeLoadBalancerAttributesOutput, error) {
		return &elb.DescribeLoadBalancerAttributesOutput{LoadBalancerAttributes: &elbtypes.LoadBalancerAttributes{
			ConnectionDraining: &elbtypes.ConnectionDraining{Enabled: true, Timeout: aws.Int32(20)}}}, nil
	}
	f.DescribeInstanceRefreshesOp.Respond = func(in *autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
		ff.mu.Lock()
		defer ff.mu.Unlock()
		return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: slices.Clone(ff.refresh[aws.ToString(in.AutoScalingGroupName)])}, nil
	}
}

// newTestClock is the simulator's manual clock, for the fakes.
func newTestClock() *sim.ManualClock {
	return sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
}

// twoServiceFleet is api/staging and api/production on launch template versions, plus a
// legacy launch configuration group behind a classic ELB without a service tag.
func twoServiceFleet(clock *sim.ManualClock) *fakeFleet {
	ff := newFakeFleet()
	ff.groups = []astypes.AutoScalingGroup{
		apiGroup("api-staging", "staging", "2", asgInstance("i-s1", "2", astypes.LifecycleStateInService)),
		apiGroup("api-production", "production", "1",
			asgInstance("i-p1", "1", astypes.LifecycleStateInService),
			asgInstance("i-p2", "1", astypes.LifecycleStateInService)),
		{
			AutoScalingGroupName: aws.String("legacy"), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
			LaunchConfigurationName: aws.String("legacy-lc"), LoadBalancerNames: []string{"legacy-elb"},
			Instances: []astypes.Instance{{InstanceId: aws.String("i-l1"), AvailabilityZone: aws.String("eu-west-1b"),
				LifecycleState: astypes.LifecycleStateInService, HealthStatus: aws.String("Healthy"), LaunchConfigurationName: aws.String("legacy-lc")}},
		},
	}
	for _, id := range []string{"i-s1", "i-p1", "i-p2", "i-l1"} {
		ff.launched[id] = clock.Now().Add(-time.Hour)
	}
	ff.health[tgARN("api-staging")] = []elbv2types.TargetHealthDescription{healthy("i-s1")}
	ff.health[tgARN("api-production")] = []elbv2types.TargetHealthDescription{healthy("i-p1"), healthy("i-p2")}
	ff.classic["legacy-elb"] = []elbtypes.InstanceState{{InstanceId: aws.String("i-l1"), State: aws.String("InService"), ReasonCode: aws.String("N/A"), Description: aws.String("N/A")}}
	return ff
}

func newFakeInventory(t *testing.T, ff *fakeFleet, clock *sim.ManualClock, opts Options) (*Inventory, *fake.AWS) {
	t.Helper()
	f := &fake.AWS{}
	ff.install(f)
	opts.Now = clock.Now
	return NewInventory(f.Clients().Read(), opts), f
}

func findGroup(t *testing.T, fl model.Fleet, name string) *model.Group {
	t.Helper()
	for i := range fl.Groups {
		if fl.Groups[i].Name == name {
			return &fl.Groups[i]
		}
	}
	t.Fatalf("group %s not in fleet", name)
	return nil
}

func TestSnapshotMapsGroupsInstancesAndHealth(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fl.Account != "123456789012" || fl.Identity != "arn:aws:iam::123456789012:user/ops" || fl.Region != "eu-west-1" || !fl.FetchedAt.Equal(clock.Now()) {
		t.Errorf("header = %q %q %q %v", fl.Account, fl.Identity, fl.Region, fl.FetchedAt)
	}
	if len(fl.Problems) != 0 {
		t.Errorf("problems: %v", fl.Problems)
	}
	prod := findGroup(t, fl, "api-production")
	if prod.Service != "api" || prod.Env != "production" || prod.ImageID != "ami-1" || prod.Legacy() {
		t.Errorf("production group = %+v", prod)
	}
	if !slices.Equal(prod.TargetGroups, []string{"api-production"}) {
		t.Errorf("target group names = %v, want the name from the ARN", prod.TargetGroups)
	}
	in := prod.Instances[0]
	if in.ImageID.String() != "ami-1" || in.LTVersion.String() != "1" || in.LaunchedAt.Sec() != clock.Now().Add(-time.Hour).Unix() || in.AZ.String() != "eu-west-1a" || in.Lifecycle != model.InService || !in.Healthy {
		t.Errorf("instance = %+v", in)
	}
	if len(in.Targets) != 1 || in.Targets[0].State != model.TargetHealthy || in.Targets[0].Stale || in.Targets[0].Balancer.String() != "api-production" || in.Targets[0].CheckedAt.Sec() != clock.Now().Unix() {
		t.Errorf("targets = %+v", in.Targets)
	}
	if st := findGroup(t, fl, "api-staging"); st.ImageID != "ami-2" || st.Instances[0].ImageID.String() != "ami-2" {
		t.Errorf("staging AMI = %s / %s, want ami-2", st.ImageID, st.Instances[0].ImageID)
	}
	legacy := findGroup(t, fl, "legacy")
	if !legacy.Legacy() || legacy.Service != "" || legacy.Instances[0].ImageID.String() != "ami-lc" {
		t.Errorf("legacy group = %+v", legacy)
	}
	if th := legacy.Instances[0].Targets; len(th) != 1 || th[0].Kind != model.ClassicELB || th[0].State != model.TargetHealthy {
		t.Errorf("classic targets = %+v", th)
	}
	if _, ok := fl.Service(model.Untagged, ""); !ok {
		t.Errorf("legacy group not listed under %s: %+v", model.Untagged, fl.Services)
	}
	if in := f.DescribeAutoScalingGroupsOp.Inputs()[0]; aws.ToInt32(in.MaxRecords) != 100 || len(in.Filters) != 0 {
		t.Errorf("DescribeAutoScalingGroups input = %+v", in)
	}
	if n := f.DescribeInstancesOp.Calls(); n != 1 {
		t.Errorf("DescribeInstances calls = %d, want 1 batch for 4 new instances", n)
	} else if ids := f.DescribeInstancesOp.Inputs()[0].InstanceIds; len(ids) != 4 {
		t.Errorf("DescribeInstances ids = %v", ids)
	}
}

func TestSnapshotPaginatesGroupsAndSkipsUntagged(t *testing.T) {
	clock := newTestClock()
	ff := newFakeFleet()
	for i := range 250 {
		ff.groups = append(ff.groups, astypes.AutoScalingGroup{AutoScalingGroupName: aws.String(fmt.Sprintf("g%03d", i)), Tags: []astypes.TagDescription{tag("Team", "x"), tag("Svc", fmt.Sprint("s", i%7)), tag("Stage", "prod")}})
	}
	inv, f := newFakeInventory(t, ff, clock, Options{SkipUntagged: true, Tags: model.TagKeys{Service: "Svc", Environment: "Stage"}})
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fl.Groups) != 250 || len(fl.Services) != 7 || fl.Services[0].Env != "prod" {
		t.Errorf("groups %d services %d", len(fl.Groups), len(fl.Services))
	}
	ins := f.DescribeAutoScalingGroupsOp.Inputs()
	if len(ins) != 3 {
		t.Fatalf("pages = %d, want 3", len(ins))
	}
	for _, in := range ins {
		if len(in.Filters) != 1 || aws.ToString(in.Filters[0].Name) != "tag-key" || !slices.Equal(in.Filters[0].Values, []string{"Svc"}) {
			t.Errorf("filter = %+v, want tag-key=Svc", in.Filters)
		}
	}
}

// cmin is the fewest calls one full refresh can make.
func cmin(groups, targetGroups, classic int) int {
	return (groups+99)/100 + targetGroups + classic
}

func TestSteadyStateCallsEqualCminWithFakes(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	for range 3 { // warm the caches and the refresh sweep
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	f.ResetCalls()
	const ticks = 10
	for range ticks {
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	calls := f.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	if want := ticks * cmin(3, 2, 1); total != want {
		t.Errorf("calls over %d ticks = %d (%v), want %d", ticks, total, calls, want)
	}
	for _, op := range []string{"DescribeInstances", "DescribeLaunchTemplateVersions", "GetCallerIdentity", "DescribeInstanceRefreshes"} {
		if calls[op] != 0 {
			t.Errorf("%s called %d times with warm caches", op, calls[op])
		}
	}
}

func TestNewInstanceCostsOneDescribeInstancesAndLeavingIsPruned(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.ResetCalls()
	ff.mu.Lock()
	ff.groups[0].Instances = append(ff.groups[0].Instances, asgInstance("i-s2", "2", astypes.LifecycleStatePending))
	ff.launched["i-s2"] = clock.Now()
	ff.mu.Unlock()
	clock.Advance(5 * time.Second)
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ins := f.DescribeInstancesOp.Inputs(); len(ins) != 1 || !slices.Equal(ins[0].InstanceIds, []string{"i-s2"}) {
		t.Errorf("DescribeInstances inputs = %v, want just the new instance", ins)
	}
	if f.DescribeLaunchTemplateVersionsOp.Calls() != 0 {
		t.Errorf("DescribeLaunchTemplateVersions called for a cached version")
	}
	st := findGroup(t, fl, "api-staging")
	if st.Instances[1].ImageID.String() != "ami-2" || st.Instances[1].LaunchedAt.Sec() != clock.Now().Add(-5*time.Second).Unix() || len(st.Instances[1].Targets) != 0 {
		t.Errorf("new instance = %+v", st.Instances[1])
	}
	// Once shown, the launch time is kept in the fleet alone: the fact table is empty, and
	// the next snapshots carry it over, also when an instance before it leaves and it moves
	// up in its group's list.
	if n := inv.instances.len(); n != 0 {
		t.Errorf("fact table holds %d instances after they were shown, want 0", n)
	}
	launched := st.Instances[1].LaunchedAt
	ff.mu.Lock()
	ff.groups[0].Instances = ff.groups[0].Instances[1:]
	ff.mu.Unlock()
	f.ResetCalls()
	clock.Advance(5 * time.Second)
	fl, err = inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := f.DescribeInstancesOp.Calls(); n != 0 {
		t.Errorf("DescribeInstances called %d times for instances already shown", n)
	}
	st = findGroup(t, fl, "api-staging")
	if len(st.Instances) != 1 || st.Instances[0].ID != "i-s2" || st.Instances[0].LaunchedAt != launched || st.Instances[0].ImageID.String() != "ami-2" {
		t.Errorf("instances after the first left = %+v, want i-s2 launched at %d", st.Instances, launched)
	}
	ff.mu.Lock()
	ff.groups[0].Instances = nil
	ff.mu.Unlock()
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if inv.instances.has("i-s2") || inv.instances.has("i-s1") {
		t.Error("instance that left the fleet still cached")
	}
}

func TestDrainCountdownObservedAndAbout(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	// i-p2 is already draining the first time we look: its start was not observed.
	ff.health[tgARN("api-production")] = []elbv2types.TargetHealthDescription{healthy("i-p1"), draining("i-p2")}
	ff.groups[1].Instances[1].LifecycleState = astypes.LifecycleStateTerminatingWait
	inv, f := newFakeInventory(t, ff, clock, Options{})
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	th := findGroup(t, fl, "api-production").Instances[1].Targets
	if len(th) != 1 || th[0].State != model.TargetDraining || th[0].DrainDelay() != 30 || th[0].DrainObserved() {
		t.Fatalf("first look at a draining target = %+v, want draining, delay 30, not observed", th)
	}
	if left, exact := th[0].DrainRemaining(start.Add(10 * time.Second)); left != 20*time.Second || exact {
		t.Errorf("countdown = %v exact=%v, want about 20s", left, exact)
	}

	// i-p1 starts draining between two ticks: observed.
	clock.Advance(5 * time.Second)
	ff.mu.Lock()
	ff.health[tgARN("api-production")] = []elbv2types.TargetHealthDescription{draining("i-p1"), draining("i-p2")}
	ff.mu.Unlock()
	fl, err = inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	prod := findGroup(t, fl, "api-production")
	p1, p2 := prod.Instances[0].Targets[0], prod.Instances[1].Targets[0]
	if !p1.DrainObserved() || p1.DrainSince() != clock.Now().Unix() {
		t.Errorf("i-p1 = %+v, want observed since now", p1)
	}
	if p2.DrainObserved() || p2.DrainSince() != start.Unix() {
		t.Errorf("i-p2 = %+v, want the first-seen time kept and still about", p2)
	}
	if left, exact := p1.DrainRemaining(clock.Now().Add(12 * time.Second)); left != 18*time.Second || !exact {
		t.Errorf("i-p1 countdown = %v exact=%v, want 18s exact", left, exact)
	}
	if n := f.DescribeTargetGroupAttributesOp.Calls(); n != 1 {
		t.Errorf("DescribeTargetGroupAttributes calls = %d, want 1 (cached)", n)
	}
	if n := f.DescribeLoadBalancerAttributesOp.Calls(); n != 0 {
		t.Errorf("DescribeLoadBalancerAttributes calls = %d for an ELB with nothing draining", n)
	}
	if got := findGroup(t, fl, "api-production"); got.Refresh != nil {
		t.Errorf("refresh = %+v", got.Refresh)
	}
	if n := f.DescribeInstanceRefreshesOp.Calls(); n < 2 {
		t.Errorf("DescribeInstanceRefreshes calls = %d: a draining group must be asked every tick", n)
	}
}

func TestClassicDrainingFromDescription(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	ff.classic["legacy-elb"] = []elbtypes.InstanceState{{InstanceId: aws.String("i-l1"), State: aws.String("InService"), ReasonCode: aws.String("N/A"), Description: aws.String("Instance deregistration currently in progress.")}}
	inv, f := newFakeInventory(t, ff, clock, Options{})
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	th := findGroup(t, fl, "legacy").Instances[0].Targets
	if len(th) != 1 || th[0].State != model.TargetDraining || th[0].DrainDelay() != 20 || th[0].Kind != model.ClassicELB {
		t.Errorf("classic draining = %+v", th)
	}
	if f.DescribeLoadBalancerAttributesOp.Calls() != 1 {
		t.Errorf("DescribeLoadBalancerAttributes calls = %d", f.DescribeLoadBalancerAttributesOp.Calls())
	}
}

func throttleErr() error {
	return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
}

func TestBalancerFailureKeepsStaleHealthAndReports(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := clock.Now().Unix()
	clock.Advance(5 * time.Second)
	f.DescribeInstanceHealthOp.QueueErr(&smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform elasticloadbalancing:DescribeInstanceHealth"})
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("a failed per-balancer call failed the snapshot: %v", err)
	}
	th := findGroup(t, fl, "legacy").Instances[0].Targets
	if len(th) != 1 || th[0].State != model.TargetHealthy || !th[0].Stale || th[0].CheckedAt.Sec() != first {
		t.Errorf("targets after a failed read = %+v, want last health, stale, checked at %d", th, first)
	}
	if len(fl.Problems) != 1 {
		t.Errorf("problems = %v", fl.Problems)
	}
	if th := findGroup(t, fl, "api-production").Instances[0].Targets; th[0].Stale {
		t.Errorf("other balancers went stale: %+v", th)
	}
}

func TestThrottledBalancerStopsFurtherBalancerCalls(t *testing.T) {
	clock := newTestClock()
	ff := newFakeFleet()
	for i := range 20 {
		name := fmt.Sprintf("svc%02d", i)
		g := apiGroup(name, "prod", "1", asgInstance("i-"+name, "1", astypes.LifecycleStateInService))
		g.Tags = []astypes.TagDescription{tag("Service", name), tag("Environment", "prod")}
		ff.groups = append(ff.groups, g)
		ff.health[tgARN(name)] = []elbv2types.TargetHealthDescription{healthy("i-" + name)}
	}
	inv, f := newFakeInventory(t, ff, clock, Options{})
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	f.ResetCalls()
	f.DescribeTargetHealthOp.Respond = func(*elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
		return nil, throttleErr()
	}
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := f.DescribeTargetHealthOp.Calls(); n > workers {
		t.Errorf("%d DescribeTargetHealth calls after throttling, want at most the %d in flight", n, workers)
	}
	stale := 0
	for _, g := range fl.Groups {
		if th := g.Instances[0].Targets; len(th) == 1 && th[0].Stale && th[0].State == model.TargetHealthy {
			stale++
		}
	}
	if stale != 20 || len(fl.Problems) == 0 {
		t.Errorf("stale %d of 20, problems %v", stale, fl.Problems)
	}
}

func TestGroupListingFailureFailsSnapshot(t *testing.T) {
	clock := newTestClock()
	inv, f := newFakeInventory(t, twoServiceFleet(clock), clock, Options{})
	f.DescribeAutoScalingGroupsOp.QueueErr(throttleErr())
	if _, err := inv.Snapshot(context.Background()); err == nil || !awsapi.Throttled(err) {
		t.Errorf("err = %v, want the throttling error", err)
	}
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Errorf("next snapshot: %v", err)
	}
}

func TestSnapshotsNeverOverlap(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	respond := f.DescribeAutoScalingGroupsOp.Respond
	f.DescribeAutoScalingGroupsOp.Respond = func(in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
		close(entered)
		<-release
		return respond(in)
	}
	done := make(chan error)
	go func() {
		_, err := inv.Snapshot(context.Background())
		done <- err
	}()
	<-entered
	if _, err := inv.Snapshot(context.Background()); !errors.Is(err, awsapi.ErrRefreshRunning) {
		t.Errorf("second snapshot err = %v, want the refresh-running error", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := f.DescribeAutoScalingGroupsOp.Calls(); n != 1 {
		t.Errorf("DescribeAutoScalingGroups calls = %d, want 1", n)
	}
}

// manyServices is n services with one group, one instance and one target group each.
func manyServices(n int) *fakeFleet {
	ff := newFakeFleet()
	for i := range n {
		name := fmt.Sprintf("svc%02d", i)
		g := apiGroup(name, "prod", "1", asgInstance("i-"+name, "1", astypes.LifecycleStateInService))
		g.Tags = []astypes.TagDescription{tag("Service", name), tag("Environment", "prod")}
		ff.groups = append(ff.groups, g)
		ff.health[tgARN(name)] = []elbv2types.TargetHealthDescription{healthy("i-" + name)}
	}
	return ff
}

func TestTieredPollingFocusEveryTickRestRoundRobin(t *testing.T) {
	clock := newTestClock()
	ff := manyServices(12)
	// Budget: 0.8 reads/s x 5 s = 4 target groups per tick.
	inv, f := newFakeInventory(t, ff, clock, Options{ELBReadsPerSecond: 0.8, Refresh: 5 * time.Second})
	inv.Focus([]model.ServiceKey{{Name: "svc03", Env: "prod"}, {Name: "svc07", Env: "prod"}})
	readAt := map[string][]int{}
	const ticks = 12
	for tick := range ticks {
		f.ResetCalls()
		fl, err := inv.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ins := f.DescribeTargetHealthOp.Inputs()
		if len(ins) > 4 {
			t.Errorf("tick %d: %d target health reads, budget 4", tick, len(ins))
		}
		for _, in := range ins {
			name := targetGroupName(aws.ToString(in.TargetGroupArn))
			readAt[name] = append(readAt[name], tick)
		}
		for _, g := range fl.Groups {
			th := g.Instances[0].Targets[0]
			fresh := slices.Contains(readAt[g.Name], tick)
			if th.Stale == fresh {
				t.Errorf("tick %d %s: stale=%v but read this tick=%v", tick, g.Name, th.Stale, fresh)
			}
		}
		clock.Advance(5 * time.Second)
	}
	for _, name := range []string{"svc03", "svc07"} {
		if len(readAt[name]) != ticks {
			t.Errorf("focused %s read at ticks %v, want every tick", name, readAt[name])
		}
	}
	// 2 reads per tick are left for the other 10: each is read every 5 ticks.
	for i := range 12 {
		name := fmt.Sprintf("svc%02d", i)
		if name == "svc03" || name == "svc07" {
			continue
		}
		got := readAt[name]
		if len(got) < 2 {
			t.Errorf("%s read at %v, want round-robin at least twice in %d ticks", name, got, ticks)
			continue
		}
		for j := 1; j < len(got); j++ {
			if got[j]-got[j-1] != 5 {
				t.Errorf("%s read at %v, want every 5 ticks", name, got)
				break
			}
		}
	}
}

func TestWholeFleetWithinBudgetReadEveryTick(t *testing.T) {
	clock := newTestClock()
	ff := manyServices(25) // 25 target groups = 5/s x 5 s
	inv, f := newFakeInventory(t, ff, clock, Options{})
	for tick := range 6 {
		f.ResetCalls()
		// A tick that comes 100 ms early must not skip a read.
		clock.Advance(4900 * time.Millisecond)
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := f.DescribeTargetHealthOp.Calls(); n != 25 {
			t.Errorf("tick %d: %d target health reads, want all 25", tick, n)
		}
	}
}

func TestRefreshPollingFollowsMovementAndWatch(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	for range 2 {
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	asked := func() []string {
		var out []string
		for _, in := range f.DescribeInstanceRefreshesOp.Inputs() {
			out = append(out, aws.ToString(in.AutoScalingGroupName))
		}
		slices.Sort(out)
		f.ResetCalls()
		return out
	}
	asked()
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := asked(); len(got) != 0 {
		t.Errorf("quiet fleet asked about refreshes of %v", got)
	}

	// The operator starts a refresh on api-staging and says so.
	inv.Watch("api-staging")
	ff.mu.Lock()
	ff.refresh["api-staging"] = []astypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-1"), Status: astypes.InstanceRefreshStatusInProgress,
		PercentageComplete: aws.Int32(0), InstancesToUpdate: aws.Int32(1), StartTime: aws.Time(clock.Now()),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-api"), Version: aws.String("3")}}}}
	ff.versions["lt-api"][3] = "ami-3"
	ff.mu.Unlock()
	clock.Advance(5 * time.Second)
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := asked(); !slices.Equal(got, []string{"api-staging"}) {
		t.Errorf("asked %v, want the watched group", got)
	}
	r := findGroup(t, fl, "api-staging").Refresh
	if r == nil || r.ID != "r-1" || !r.Active() || r.DesiredVersion != "3" {
		t.Fatalf("refresh = %+v", r)
	}
	// The desired version's AMI is looked up (once) and shown from the next tick on.
	clock.Advance(5 * time.Second)
	fl, err = inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := asked(); !slices.Equal(got, []string{"api-staging"}) {
		t.Errorf("asked %v, want the group with an active refresh", got)
	}
	if r := findGroup(t, fl, "api-staging").Refresh; r.DesiredImage != "ami-3" {
		t.Errorf("desired image = %q", r.DesiredImage)
	}

	// It finishes: one more look sees it done, then the group is quiet again.
	ff.mu.Lock()
	ff.refresh["api-staging"][0].Status = astypes.InstanceRefreshStatusSuccessful
	ff.mu.Unlock()
	for range 2 {
		clock.Advance(5 * time.Second)
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := asked(); !slices.Equal(got, []string{"api-staging"}) {
		t.Errorf("asked %v over two ticks, want api-staging once", got)
	}

	// Movement (a pending instance) makes a group worth asking about.
	ff.mu.Lock()
	ff.groups[1].Instances = append(ff.groups[1].Instances, asgInstance("i-p3", "1", astypes.LifecycleStatePending))
	ff.mu.Unlock()
	clock.Advance(5 * time.Second)
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := asked(); !slices.Equal(got, []string{"api-production"}) {
		t.Errorf("asked %v, want the moving group", got)
	}

	// After refreshSweepEvery every quiet group is looked at again.
	ff.mu.Lock()
	ff.groups[1].Instances = ff.groups[1].Instances[:2]
	ff.mu.Unlock()
	clock.Advance(refreshSweepEvery)
	for range 2 { // the sweep reads 2 groups a tick
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
	}
	if got := asked(); !slices.Equal(got, []string{"api-production", "api-staging", "legacy"}) {
		t.Errorf("sweep asked %v over two ticks, want every group once", got)
	}
}

func TestAliasVersionsResolvedWithTTL(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	ff.groups[0].LaunchTemplate.Version = aws.String("$Latest")
	ff.groups[1].LaunchTemplate.Version = aws.String("$Default")
	inv, f := newFakeInventory(t, ff, clock, Options{})
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := findGroup(t, fl, "api-staging"); g.ImageID != "ami-2" {
		t.Errorf("$Latest AMI = %q", g.ImageID)
	}
	if g := findGroup(t, fl, "api-production"); g.ImageID != "ami-1" {
		t.Errorf("$Default AMI = %q", g.ImageID)
	}
	if n := f.DescribeLaunchTemplateVersionsOp.Calls(); n != 1 {
		t.Errorf("DescribeLaunchTemplateVersions calls = %d, want one per template", n)
	}
	f.ResetCalls()
	clock.Advance(5 * time.Second)
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.DescribeLaunchTemplateVersionsOp.Calls(); n != 0 {
		t.Errorf("alias re-read within its TTL: %d calls", n)
	}
	ff.mu.Lock()
	ff.versions["lt-api"][3] = "ami-3"
	ff.mu.Unlock()
	clock.Advance(aliasTTL)
	fl, err = inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := findGroup(t, fl, "api-staging"); g.ImageID != "ami-3" {
		t.Errorf("$Latest AMI after TTL = %q, want ami-3", g.ImageID)
	}
}

func TestThrottlingForAMinuteRecoversWithinTwoTicks(t *testing.T) {
	clock := newTestClock()
	ff := manyServices(10)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	throttleUntil := clock.Now().Add(time.Minute)
	throttling := func() bool { return clock.Now().Before(throttleUntil) }
	// Load balancer reads are throttled for the whole minute; group listing for its second half.
	health := f.DescribeTargetHealthOp.Respond
	f.DescribeTargetHealthOp.Respond = func(in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
		if throttling() {
			return nil, throttleErr()
		}
		return health(in)
	}
	groups := f.DescribeAutoScalingGroupsOp.Respond
	f.DescribeAutoScalingGroupsOp.Respond = func(in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
		if throttling() && clock.Now().After(throttleUntil.Add(-30*time.Second)) {
			return nil, throttleErr()
		}
		return groups(in)
	}
	var lastGood model.Fleet
	for clock.Advance(5 * time.Second); throttling(); clock.Advance(5 * time.Second) {
		f.ResetCalls()
		fl, err := inv.Snapshot(context.Background())
		if err != nil {
			if strings.Contains(err.Error(), "quota") {
				t.Fatalf("error mentions the retry quota: %v", err)
			}
			continue
		}
		lastGood = fl
		if n := f.DescribeTargetHealthOp.Calls(); n > workers {
			t.Errorf("%d target health calls in one throttled tick", n)
		}
		for _, g := range fl.Groups {
			if th := g.Instances[0].Targets; len(th) != 1 || !th[0].Stale || th[0].State != model.TargetHealthy {
				t.Errorf("during throttling %s = %+v, want the last health, stale", g.Name, th)
			}
		}
	}
	if lastGood.Groups == nil {
		t.Fatal("no snapshot succeeded during the first half")
	}
	recovered := -1
	for tick := range 2 {
		fl, err := inv.Snapshot(context.Background())
		clock.Advance(5 * time.Second)
		if err != nil {
			continue
		}
		fresh := 0
		for _, g := range fl.Groups {
			if th := g.Instances[0].Targets; len(th) == 1 && !th[0].Stale {
				fresh++
			}
		}
		if fresh == len(fl.Groups) && len(fl.Problems) == 0 {
			recovered = tick
			break
		}
	}
	if recovered < 0 {
		t.Error("not fully fresh within two ticks after throttling stopped")
	}
}

func TestPriorityBeyondBudgetDoesNotStarveTheRest(t *testing.T) {
	clock := newTestClock()
	ff := manyServices(20)
	// 5 reads a tick; 10 services on screen.
	inv, f := newFakeInventory(t, ff, clock, Options{ELBReadsPerSecond: 1})
	var keys []model.ServiceKey
	for i := range 10 {
		keys = append(keys, model.ServiceKey{Name: fmt.Sprintf("svc%02d", i), Env: "prod"})
	}
	inv.Focus(keys)
	reads := map[string]int{}
	for range 20 {
		f.ResetCalls()
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		ins := f.DescribeTargetHealthOp.Inputs()
		if len(ins) != 5 {
			t.Errorf("%d reads in a tick, want the budget of 5", len(ins))
		}
		for _, in := range ins {
			reads[targetGroupName(aws.ToString(in.TargetGroupArn))]++
		}
		clock.Advance(5 * time.Second)
	}
	// 4 reads a tick for the 10 focused (each every 2.5 ticks), 1 for the 10 others.
	for i := range 20 {
		name := fmt.Sprintf("svc%02d", i)
		want := 2
		if i < 10 {
			want = 8
		}
		if reads[name] != want {
			t.Errorf("%s read %d times in 20 ticks, want %d", name, reads[name], want)
		}
	}
}
