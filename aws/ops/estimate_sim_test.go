package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// TestRestoreEstimateMatchesSimulatedRollouts_Sim: the plan's "takes about" is within 30% of
// what the rollout really takes on the demo fleet, measured on the simulator's clock from
// Execute to the end of the last instance refresh, for a promote, a rollback of the running
// rollout and a rollback to the previous release.
func TestRestoreEstimateMatchesSimulatedRollouts_Sim(t *testing.T) {
	cases := []struct {
		name string
		plan func(context.Context, *simConsole) (model.Plan, error)
	}{
		{"promote api/production (two groups) to staging's release", func(ctx context.Context, s *simConsole) (model.Plan, error) {
			return s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production", FromEnv: "staging"})
		}},
		{"rollback of the running web/production rollout", func(ctx context.Context, s *simConsole) (model.Plan, error) {
			return s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "web", Env: "production"})
		}},
		{"rollback of worker-reports/production (classic ELB) to its previous release", func(ctx context.Context, s *simConsole) (model.Plan, error) {
			return s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "worker-reports", Env: "production"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSimConsole(t)
			ctx := context.Background()
			plan, err := tc.plan(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Blocked() || len(plan.Warnings()) > 0 || plan.RestoreEstimate <= 0 {
				t.Fatalf("plan = %+v (checks %+v)", plan, plan.Checks)
			}
			start := s.clock.Now()
			ch, err := s.op.Execute(ctx, plan)
			if err != nil {
				t.Fatal(err)
			}
			lastOK(t, s.follow(t, ch))
			took := s.refreshesEnd(t, plan, start).Sub(start)
			ratio := float64(plan.RestoreEstimate) / float64(took)
			t.Logf("estimate %s, measured %s (%+.0f%%)", plan.RestoreEstimate, took, (ratio-1)*100)
			if ratio < 0.7 || ratio > 1.3 {
				t.Errorf("estimate %s is not within 30%% of the measured %s", plan.RestoreEstimate, took)
			}
		})
	}
}

// refreshesEnd is when the last instance refresh the plan's groups ran since start ended.
func (s *simConsole) refreshesEnd(t *testing.T, plan model.Plan, start time.Time) time.Time {
	t.Helper()
	var end time.Time
	for _, step := range plan.Steps {
		out, err := s.cloud.Clients().AutoScaling.DescribeInstanceRefreshes(context.Background(), &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(step.Group)})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range out.InstanceRefreshes {
			// The refresh the plan started, or the running one it rolled back.
			if r.EndTime == nil || r.EndTime.Before(start) {
				continue
			}
			found = true
			if r.EndTime.After(end) {
				end = *r.EndTime
			}
		}
		if !found {
			t.Fatalf("group %s: no instance refresh ended after %s", step.Group, start)
		}
	}
	return end
}
