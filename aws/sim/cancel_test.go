package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// TestCancelMidRefresh cancels a launch-before-terminate refresh after its first batch: the
// refresh goes Cancelling then Cancelled, keeps its start, end, percentage and reason, the
// instances it replaced stay on the new AMI, the rest stay on the old, and the group keeps
// its launch template version.
func TestCancelMidRefresh(t *testing.T) {
	f := newFixture(t, 4, 10)
	ctx := context.Background()
	as := f.c.Clients().AutoScaling
	cancel := func() (*autoscaling.CancelInstanceRefreshOutput, error) {
		return as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("app")})
	}
	if _, err := cancel(); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("cancel without refresh: %v, want ActiveInstanceRefreshNotFound", err)
	}
	id := f.startRefresh(t, "2", 100, 150, false) // batch = 2, launched before terminating
	for i := 0; i < 300 && *f.refresh(t, "app").PercentageComplete == 0; i++ {
		f.clk.Advance(time.Second)
	}
	if h := f.healthyByImage(t); h[f.new] != 2 {
		t.Fatalf("before cancel: %v, want two new instances serving", h)
	}
	out, err := cancel()
	if err != nil || aws.ToString(out.InstanceRefreshId) != id {
		t.Fatalf("cancel: %v, %v", out, err)
	}
	r := f.refresh(t, "app")
	if r.Status != astypes.InstanceRefreshStatusCancelling || r.EndTime != nil {
		t.Errorf("after the cancel call: %s (end %v), want Cancelling without an end", r.Status, r.EndTime)
	}
	if _, err := cancel(); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("second cancel while cancelling: %v, want ActiveInstanceRefreshNotFound", err)
	}
	if _, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("rollback while cancelling: %v, want ActiveInstanceRefreshNotFound", err)
	}
	for i := 0; i < 300 && f.refresh(t, "app").Status == astypes.InstanceRefreshStatusCancelling; i++ {
		f.clk.Advance(time.Second)
	}
	r = f.refresh(t, "app")
	if r.Status != astypes.InstanceRefreshStatusCancelled || r.EndTime == nil || r.StartTime == nil || aws.ToString(r.StatusReason) == "" {
		t.Fatalf("after cancelling: %s end %v reason %q, want Cancelled with an end time and a reason", r.Status, r.EndTime, aws.ToString(r.StatusReason))
	}
	if got := aws.ToInt32(r.PercentageComplete); got != 50 {
		t.Errorf("percentage after cancel %d, want the 50 it had reached", got)
	}
	// Nothing is rolled back, and nothing more is replaced.
	f.clk.Advance(3 * time.Minute)
	h := f.healthyByImage(t)
	if h[f.new] != 2 || h[f.old] != 2 {
		t.Errorf("after cancel: %v, want 2 on the new AMI and 2 on the old", h)
	}
	g := f.group(t, "app")
	if v := aws.ToString(g.LaunchTemplate.Version); v != "1" {
		t.Errorf("group version %s after cancel, want 1 (a cancelled refresh does not update the group)", v)
	}
	if len(g.Instances) != 4 {
		t.Errorf("%d instances after cancel, want the desired 4", len(g.Instances))
	}
	if _, err := cancel(); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("cancel after cancelled: %v, want ActiveInstanceRefreshNotFound", err)
	}
	// A new refresh may start again.
	if _, err := as.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); err != nil {
		t.Errorf("start after cancel: %v", err)
	}
}

// TestCancelWithoutWaiting ends the refresh at the next step, leaving in-flight launches to
// finish on their own.
func TestCancelWithoutWaiting(t *testing.T) {
	f := newFixture(t, 4, 10)
	f.startRefresh(t, "2", 100, 150, false)
	f.clk.Advance(time.Second) // the first batch is launching
	_, err := f.c.Clients().AutoScaling.CancelInstanceRefresh(context.Background(), &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("app"), WaitForTransitioningInstances: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	if r := f.refresh(t, "app"); r.Status != astypes.InstanceRefreshStatusCancelled {
		t.Errorf("status %s one step after cancel without waiting, want Cancelled", r.Status)
	}
}

// TestCancelRollback: AWS cancels a rollback in progress too, and leaves the instances as they are.
func TestCancelRollback(t *testing.T) {
	f := newFixture(t, 4, 10)
	ctx := context.Background()
	as := f.c.Clients().AutoScaling
	f.startRefresh(t, "2", 100, 150, false)
	for i := 0; i < 300 && *f.refresh(t, "app").PercentageComplete == 0; i++ {
		f.clk.Advance(time.Second)
	}
	if _, err := as.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := as.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("app")}); err != nil {
		t.Fatalf("cancel a rollback in progress: %v", err)
	}
	for i := 0; i < 300 && f.refresh(t, "app").Status == astypes.InstanceRefreshStatusCancelling; i++ {
		f.clk.Advance(time.Second)
	}
	if r := f.refresh(t, "app"); r.Status != astypes.InstanceRefreshStatusCancelled {
		t.Errorf("status %s, want Cancelled", r.Status)
	}
}
