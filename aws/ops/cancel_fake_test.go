package ops

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/model"
)

// cancelWorld: api/production on two groups, each mid-rollout from version 3 (ami-old) to
// version 4 (ami-new), with one of its two instances already replaced.
func cancelWorld(t *testing.T) *actWorld {
	w := standardWorld(t)
	w.groups = append(w.groups, actGroup("api-prod-b", "production", "lt-a", "3", 2))
	w.groups[0].LaunchTemplate.Version = aws.String("3")
	w.addVersion("lt-a", 4, "ami-new", "")
	for i := range w.groups {
		g := &w.groups[i]
		name := aws.ToString(g.AutoScalingGroupName)
		for j := range g.Instances {
			v := "3"
			if j == 0 {
				v = "4"
			}
			g.Instances[j].LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String(v)}
		}
		w.refreshes[name] = []astypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-" + name), AutoScalingGroupName: aws.String(name), Status: astypes.InstanceRefreshStatusInProgress,
			PercentageComplete: aws.Int32(50), StartTime: aws.Time(actNow),
			DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String("4")}}}}
	}
	w.refreshSteps = []astypes.InstanceRefreshStatus{astypes.InstanceRefreshStatusCancelling, astypes.InstanceRefreshStatusCancelled}
	w.f.CancelInstanceRefreshOp.Respond = func(in *autoscaling.CancelInstanceRefreshInput) (*autoscaling.CancelInstanceRefreshOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.order = append(w.order, "CancelInstanceRefresh")
		g := aws.ToString(in.AutoScalingGroupName)
		rs := w.refreshes[g]
		if len(rs) == 0 {
			return nil, &smithy.GenericAPIError{Code: "ActiveInstanceRefreshNotFound", Message: "No in progress or pending Instance Refresh found for Auto Scaling group " + g}
		}
		return &autoscaling.CancelInstanceRefreshOutput{InstanceRefreshId: rs[len(rs)-1].InstanceRefreshId}, nil
	}
	return w
}

// TestCancel_CancelInstanceRefreshRequest_RecordedFake pins what a cancel sends: one
// CancelInstanceRefresh per group with a running refresh, naming the group and waiting for
// instances in flight, and nothing else that changes AWS; then DescribeInstanceRefreshes by
// group and refresh ID until each is Cancelled.
func TestCancel_CancelInstanceRefreshRequest_RecordedFake(t *testing.T) {
	w := cancelWorld(t)
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanCancel(ctx, CancelRequest{Service: "api", Env: "production", Reason: "latency"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || len(plan.Steps) != 2 || plan.Action != model.ActionCancel || !plan.Production {
		t.Fatalf("plan = %+v", plan)
	}
	for _, s := range plan.Steps {
		if s.RefreshID != "r-"+s.Group || s.RefreshStatus != "InProgress" || s.RefreshPercent != 50 || s.FromImage.ImageID != "ami-old" || s.ToImage.ImageID != "ami-new" || s.OnTo != 1 || s.OnFrom != 1 {
			t.Errorf("step = %+v", s)
		}
	}
	if plan.CLI != "adstage-ops cancel --service api --env production --reason latency --yes" {
		t.Errorf("CLI = %q", plan.CLI)
	}
	w.f.DescribeInstanceRefreshesOp.Reset()
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	last := evs[len(evs)-1]
	if !last.Done || last.Err != nil || !strings.Contains(last.Message, "api-prod-a: refresh r-api-prod-a Cancelled") || !strings.Contains(last.Message, "api-prod-b: refresh r-api-prod-b Cancelled") {
		t.Fatalf("last = %+v", last)
	}
	got := w.f.CancelInstanceRefreshOp.Inputs()
	want := []*autoscaling.CancelInstanceRefreshInput{
		{AutoScalingGroupName: aws.String("api-prod-a"), WaitForTransitioningInstances: aws.Bool(true)},
		{AutoScalingGroupName: aws.String("api-prod-b"), WaitForTransitioningInstances: aws.Bool(true)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CancelInstanceRefresh = %+v", got)
	}
	if strings.Join(w.order, ",") != "CancelInstanceRefresh,CancelInstanceRefresh" {
		t.Errorf("mutating calls = %v", w.order)
	}
	// Polling: the execute re-check reads each group's refreshes, then the follower reads each
	// refresh by ID until it has ended (Cancelling, then Cancelled).
	var polls []string
	for _, in := range w.f.DescribeInstanceRefreshesOp.Inputs() {
		if len(in.InstanceRefreshIds) > 0 {
			polls = append(polls, aws.ToString(in.AutoScalingGroupName)+"/"+strings.Join(in.InstanceRefreshIds, ","))
		}
	}
	wantPolls := []string{"api-prod-a/r-api-prod-a", "api-prod-b/r-api-prod-b", "api-prod-a/r-api-prod-a", "api-prod-b/r-api-prod-b"}
	if !reflect.DeepEqual(polls, wantPolls) {
		t.Errorf("polls by ID = %v, want %v", polls, wantPolls)
	}
	evsLog, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(evsLog) != 2 || evsLog[0].Result != "started" || evsLog[1].Result != "succeeded" {
		t.Fatalf("audit = %+v", evsLog)
	}
	e := evsLog[1]
	if e.Action != model.ActionCancel || e.Who != actCaller || e.Reason != "latency" || e.From != "ami-old" || e.To != "ami-new" || !reflect.DeepEqual(e.Groups, []string{"api-prod-a", "api-prod-b"}) || e.Finished == nil {
		t.Errorf("audit event = %+v", e)
	}
}

// TestCancel_HalfwayFailureNamesGroups_RecordedFake: when AWS refuses the second group's
// cancel, the error and the audit log say the first group's refresh is being cancelled and
// the second's is not.
func TestCancel_HalfwayFailureNamesGroups_RecordedFake(t *testing.T) {
	w := cancelWorld(t)
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanCancel(ctx, CancelRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	orig := w.f.CancelInstanceRefreshOp.Respond
	w.f.CancelInstanceRefreshOp.Respond = func(in *autoscaling.CancelInstanceRefreshInput) (*autoscaling.CancelInstanceRefreshOutput, error) {
		if aws.ToString(in.AutoScalingGroupName) == "api-prod-b" {
			return nil, &smithy.GenericAPIError{Code: "ActiveInstanceRefreshNotFound", Message: "No in progress or pending Instance Refresh found for Auto Scaling group api-prod-b"}
		}
		return orig(in)
	}
	_, err = op.Execute(ctx, plan)
	if err == nil || IsRefusal(err) {
		t.Fatalf("err = %v, want a failure", err)
	}
	msg := err.Error()
	for _, want := range []string{"group api-prod-b", "ActiveInstanceRefreshNotFound", "changed: api-prod-a (refresh r-api-prod-a cancelling)", "not changed: api-prod-b"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	evs, _ := log.Read()
	if len(evs) != 2 || evs[1].Result != "failed" || evs[1].Error != msg {
		t.Errorf("audit = %+v", evs)
	}
}

// TestPlanCancel_Refusals: no rollout running, a refresh already cancelling or being rolled
// back; each check says what to do.
func TestPlanCancel_Refusals(t *testing.T) {
	for _, c := range []struct {
		name   string
		status astypes.InstanceRefreshStatus
		want   string
	}{
		{"none running", "", "no rollout is running on api/production: nothing to cancel"},
		{"finished", astypes.InstanceRefreshStatusSuccessful, "no rollout is running"},
		{"cancelling", astypes.InstanceRefreshStatusCancelling, "already being cancelled: wait for it to end"},
		{"rolling back", astypes.InstanceRefreshStatusRollbackInProgress, "being rolled back to ami-old; cancelling would stop it half-way: let it finish"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := cancelWorld(t)
			w.groups = w.groups[:1]
			if c.status == "" {
				delete(w.refreshes, "api-prod-a")
			} else {
				w.refreshes["api-prod-a"][0].Status = c.status
			}
			op, _ := w.operator(t)
			p, err := op.PlanCancel(context.Background(), CancelRequest{Service: "api", Env: "production"})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Blocked() || !strings.Contains(p.FailureText(), c.want) {
				t.Errorf("checks = %+v, want a failure saying %q", p.Checks, c.want)
			}
			if _, err := op.Execute(context.Background(), p); !IsRefusal(err) || w.f.CancelInstanceRefreshOp.Calls() != 0 {
				t.Errorf("execute: %v after %d cancels, want a refusal with nothing sent", err, w.f.CancelInstanceRefreshOp.Calls())
			}
		})
	}
}
