package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

var t0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// fixture is a small account: one group of n instances behind a target group with the given
// deregistration delay, launch template "app" with two versions (ami-old, ami-new).
type fixture struct {
	clk   *ManualClock
	c     *Cloud
	tgARN string
	old   string // AMI of version 1
	new   string // AMI of version 2
}

func newFixture(t *testing.T, n int32, delay int32) *fixture {
	t.Helper()
	clk := NewManualClock(t0)
	c := New(clk, Options{})
	f := &fixture{clk: clk, c: c}
	f.old = c.AddImage("app-1", t0.Add(-48*time.Hour), []Tag{{Key: "Service", Value: "app"}})
	f.new = c.AddImage("app-2", t0.Add(-time.Hour), []Tag{{Key: "Service", Value: "app"}})
	c.AddTemplate("app", []string{f.old, f.new}, nil, 1)
	f.tgARN = c.AddTargetGroup("app-tg", delay)
	if _, err := c.AddGroup(GroupSpec{Name: "app", Service: "app", Env: "production", Min: 1, Desired: n, Max: 2 * n,
		Template: "app", Version: "1", TargetGroups: []string{"app-tg"}, Age: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) group(t *testing.T, name string) astypes.AutoScalingGroup {
	t.Helper()
	out, err := f.c.Clients().AutoScaling.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("group %s: got %d groups", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

// targets maps instance ID to target state (and reason) in the fixture's target group.
func (f *fixture) targets(t *testing.T) map[string]string {
	t.Helper()
	out, err := f.c.Clients().ELBv2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(f.tgARN)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, d := range out.TargetHealthDescriptions {
		s := string(d.TargetHealth.State)
		if d.TargetHealth.Reason != "" {
			s += "/" + string(d.TargetHealth.Reason)
		}
		m[*d.Target.Id] = s
	}
	return m
}

func (f *fixture) refresh(t *testing.T, name string) astypes.InstanceRefresh {
	t.Helper()
	out, err := f.c.Clients().AutoScaling.DescribeInstanceRefreshes(context.Background(), &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.InstanceRefreshes) == 0 {
		t.Fatalf("no refresh on %s", name)
	}
	return out.InstanceRefreshes[0]
}

func (f *fixture) startRefresh(t *testing.T, version string, minH, maxH int32, autoRollback bool) string {
	t.Helper()
	out, err := f.c.Clients().AutoScaling.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("app"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String(version)}},
		Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(minH), MaxHealthyPercentage: aws.Int32(maxH),
			SkipMatching: aws.Bool(true), AutoRollback: aws.Bool(autoRollback), InstanceWarmup: aws.Int32(20)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return *out.InstanceRefreshId
}

// healthyOld and healthyNew count in-service instances healthy on the target group, by AMI.
func (f *fixture) healthyByImage(t *testing.T) map[string]int {
	t.Helper()
	g := f.group(t, "app")
	th := f.targets(t)
	m := map[string]int{}
	for _, in := range g.Instances {
		if in.LifecycleState == astypes.LifecycleStateInService && th[*in.InstanceId] == "healthy" {
			m[*in.ImageId]++
		}
	}
	return m
}
