package ops_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
)

// AWS checks ec2:RunInstances on whoever starts a refresh to a launch template; without it
// the operator gets a sentence that names RunInstances, not the refresh call they have.
func TestPromote_WithoutRunInstances_NamesTheLaunchTemplatePermission_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	s.cloud.Deny("ec2:RunInstances")
	_, err = s.op.Execute(ctx, plan)
	if err == nil {
		t.Fatal("promote without ec2:RunInstances succeeded; AWS refuses it")
	}
	msg := awsapi.Explain(err)
	if !strings.Contains(msg, "ec2:RunInstances") || strings.Contains(msg, "grant that IAM action") {
		t.Errorf("Explain = %q, want the launch template permission (ec2:RunInstances)", msg)
	}
	if got := strings.Join(s.results(t), ","); got != "promote:started,promote:failed" {
		t.Errorf("audit = %s", got)
	}
}

// inServiceInstance is an InService instance of the group, from the simulator.
func (s *simConsole) inServiceInstance(t *testing.T, group string) string {
	t.Helper()
	out, err := s.cloud.Clients().AutoScaling.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("read group %s: %v", group, err)
	}
	for _, in := range out.AutoScalingGroups[0].Instances {
		if in.LifecycleState == astypes.LifecycleStateInService {
			return aws.ToString(in.InstanceId)
		}
	}
	t.Fatalf("group %s has no instance in service", group)
	return ""
}

// An instance in Standby holds a refresh with AWS's default preference for an hour and then
// fails it; promote says the refresh leaves it, warns in the plan, and the rollout succeeds.
func TestPromote_StandbyInstanceWarnedAndLeftAlone_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	if c, ok := checkDetail(plan, ops.CheckSetAside); !ok || !c.OK {
		t.Errorf("no standby instance yet: %+v", c)
	}
	group := plan.Steps[0].Group
	id := s.inServiceInstance(t, group)
	if _, err := s.cloud.Clients().AutoScaling.EnterStandby(ctx, &autoscaling.EnterStandbyInput{
		AutoScalingGroupName: aws.String(group), InstanceIds: []string{id}, ShouldDecrementDesiredCapacity: aws.Bool(false),
	}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(10 * time.Minute) // drained, in Standby, and its replacement in service
	plan, err = s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	c, ok := checkDetail(plan, ops.CheckSetAside)
	if !ok || !c.Warn || !strings.Contains(c.Detail, id+" in Standby") || !strings.Contains(c.Detail, "Ignore") {
		t.Fatalf("plan does not warn about %s in Standby: %+v", id, c)
	}
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	lastOK(t, s.follow(t, ch))
}

// A bake with reboot of an instance serving in a group takes it out of its balancers first
// (EnterStandby, desired capacity one lower so nothing replaces it) and returns it after.
func TestBake_InServiceGroupInstanceGoesThroughStandby_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	group := plan.Steps[0].Group
	id := s.inServiceInstance(t, group)
	desired := func() int32 {
		out, err := s.cloud.Clients().AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity)
	}
	before := desired()
	bake, err := s.op.PlanBake(ctx, ops.BakeRequest{InstanceID: id, Label: "abc123"})
	if err != nil || bake.Blocked() {
		t.Fatalf("plan: %v %+v", err, bake.Checks)
	}
	if c, ok := checkDetail(bake, ops.CheckBakeStandby); !ok || !strings.Contains(c.Detail, "enters Standby in group "+group) || !strings.Contains(bake.Strategy, "EnterStandby") {
		t.Fatalf("plan does not say the instance goes to Standby: %+v, %s", c, bake.Strategy)
	}
	s.cloud.ResetCalls()
	ch, err := s.op.Execute(ctx, bake)
	if err != nil {
		t.Fatal(err)
	}
	progress := s.follow(t, ch)
	lastOK(t, progress)
	calls := s.cloud.Calls()
	if calls["EnterStandby"] != 1 || calls["ExitStandby"] != 1 || calls["CreateImage"] != 1 {
		t.Errorf("calls = %v, want one EnterStandby, CreateImage and ExitStandby", calls)
	}
	if got := s.inServiceInstance(t, group); got == "" || desired() != before {
		t.Errorf("desired capacity %d after the bake, want %d back", desired(), before)
	}
	out, _ := s.cloud.Clients().AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	for _, in := range out.AutoScalingGroups[0].Instances {
		if aws.ToString(in.InstanceId) == id && in.LifecycleState != astypes.LifecycleStateInService {
			t.Errorf("%s is %s after the bake, want InService", id, in.LifecycleState)
		}
	}
	// --no-reboot leaves it serving; a label too long for a tag is refused with the limit.
	nr, err := s.op.PlanBake(ctx, ops.BakeRequest{InstanceID: id, Label: "abc", NoReboot: true})
	if err != nil || nr.Bake.StandbyGroup != "" {
		t.Errorf("--no-reboot plan: %v, standby %q", err, nr.Bake.StandbyGroup)
	}
	if _, err := s.op.PlanBake(ctx, ops.BakeRequest{InstanceID: id, Label: strings.Repeat("x", 257)}); err == nil || !strings.Contains(err.Error(), "256 characters") {
		t.Errorf("a 257-character label: %v, want refused naming 256", err)
	}
}

// A rollback reason that cannot fit the rolled-back mark's tag is refused with the limit.
func TestPlanRollback_ReasonTooLongForTheMark_Sim(t *testing.T) {
	s := newSimConsole(t)
	_, err := s.op.PlanRollback(context.Background(), ops.RollbackRequest{Service: "auth", Env: "staging", Reason: strings.Repeat("é", 250)})
	if err == nil || !strings.Contains(err.Error(), "256 characters") || !strings.Contains(err.Error(), "shorten the reason") {
		t.Errorf("err = %v, want refused naming AWS's 256 characters", err)
	}
}

// A group whose launch template takes its AMI from an SSM parameter cannot be rolled back by
// AWS: the plan shows the real AMI and refuses before anything is sent, and the simulator
// refuses AutoRollback for it as AWS does.
func TestPromote_SSMParameterTemplateRefused_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	base := s.cloud.AddImage("svc-ssm-base", actSimStart.Add(-48*time.Hour), []sim.Tag{{Key: "Service", Value: "ssmsvc"}})
	next := s.cloud.AddImage("svc-ssm-next", actSimStart.Add(-time.Hour), []sim.Tag{{Key: "Service", Value: "ssmsvc"}})
	s.cloud.SetSSMParameter("/adstage/ssmsvc/ami", base)
	s.cloud.AddTemplate("ssmsvc-production", []string{"resolve:ssm:/adstage/ssmsvc/ami"}, nil, 1)
	if _, err := s.cloud.AddGroup(sim.GroupSpec{Name: "ssmsvc-production", Service: "ssmsvc", Env: "production", Min: 1, Desired: 2, Max: 4, Template: "ssmsvc-production", Version: "1", Age: time.Hour}); err != nil {
		t.Fatal(err)
	}
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "ssmsvc", Env: "production", ImageID: next})
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Steps[0].FromImage.ImageID; got != base {
		t.Errorf("from-AMI %q, want the parameter's AMI %s", got, base)
	}
	c, ok := checkDetail(plan, ops.CheckAMIByID)
	if !ok || c.OK || c.Warn || !strings.Contains(c.Detail, "/adstage/ssmsvc/ami") || !plan.Blocked() {
		t.Fatalf("plan not refused for the SSM parameter: %+v", c)
	}
	s.cloud.ResetCalls()
	if _, err := s.op.Execute(ctx, plan); err == nil {
		t.Fatal("a blocked plan executed")
	}
	if n := s.cloud.Calls()["CreateLaunchTemplateVersion"] + s.cloud.Calls()["StartInstanceRefresh"]; n != 0 {
		t.Errorf("%d changes sent", n)
	}
	// What AWS answers when asked anyway.
	_, err = s.cloud.Clients().AutoScaling.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("ssmsvc-production"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("ssmsvc-production"), Version: aws.String("1")}},
		Preferences:          &astypes.RefreshPreferences{AutoRollback: aws.Bool(true)},
	})
	if !awsapi.IsCode(err, "ValidationError") || !strings.Contains(err.Error(), "Systems Manager parameter") {
		t.Errorf("sim StartInstanceRefresh with AutoRollback on an SSM template: %v", err)
	}
}
