package ops

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/model"
)

// The rollback plan reads the group's whole refresh history (no refresh IDs, every page), and
// a refresh that AWS rolled back keeps the plan away from its version. Executing the rollback
// marks the image it leaves with exactly one CreateTags request.
func TestRollback_LedgerReadsAndMarkRequest_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	// Version 2's rollout was rolled back by AWS: the rollback must skip it for version 1.
	w.refreshes["api-prod-a"] = []astypes.InstanceRefresh{{
		InstanceRefreshId: aws.String("r-2"), AutoScalingGroupName: aws.String("api-prod-a"),
		Status: astypes.InstanceRefreshStatusRollbackSuccessful, StatusReason: aws.String("Instance refresh rollback completed successfully."),
		StartTime: aws.Time(actNow.Add(-47 * time.Hour)), EndTime: aws.Time(actNow.Add(-46 * time.Hour)),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String("2")}},
	}}
	// So version 3 was promoted over version 1, as its release note says.
	w.addVersion("lt-a", 3, "ami-old", model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/cy", When: actNow.Add(-24 * time.Hour), From: "ami-older", To: "ami-old", Why: "fix bids"}.String())
	op, _ := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanRollback(ctx, RollbackRequest{Service: "api", Env: "production", Reason: "5xx"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || plan.Steps[0].ToVersion != "1" {
		t.Fatalf("plan targets version %s (blocked %v: %s), want 1", plan.Steps[0].ToVersion, plan.Blocked(), plan.FailureText())
	}
	var history int
	for _, in := range w.f.DescribeInstanceRefreshesOp.Inputs() {
		if len(in.InstanceRefreshIds) == 0 && in.NextToken == nil {
			if !reflect.DeepEqual(in, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("api-prod-a")}) {
				t.Errorf("history read %+v", in)
			}
			history++
		}
	}
	if history == 0 {
		t.Error("the plan never read the group's refresh history")
	}
	if n := w.f.CreateTagsOp.Calls(); n != 0 {
		t.Fatalf("planning sent %d CreateTags", n)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	awstest.Progress(t, ch)
	tags := w.f.CreateTagsOp.Inputs()
	want := &ec2.CreateTagsInput{
		Resources: []string{"ami-old"},
		Tags: []ec2types.Tag{{Key: aws.String(model.TagRolledBack),
			Value: aws.String("rolled-back;" + actNow.Format(time.RFC3339) + ";production;" + actCaller + ";5xx")}},
	}
	if len(tags) != 1 || !reflect.DeepEqual(tags[0], want) {
		t.Errorf("CreateTags = %+v, want exactly %+v", tags, want)
	}
}

// A rollback whose mark cannot be written (an image shared from another account, a policy
// without ec2:CreateTags on images) still rolls back, and its progress says how to mark the
// image by hand; the audit log records the rollback as started and succeeded.
func TestRollback_MarkFailureIsReportedNotFatal_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	w.f.CreateTagsOp.QueueErr(&smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."})
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanRollback(ctx, RollbackRequest{Service: "api", Env: "production", Reason: "5xx"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %s", err, plan.FailureText())
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, p := range awstest.Progress(t, ch) {
		if p.Stage == StageMark && strings.Contains(p.Message, "could not be marked") && strings.Contains(p.Message, "adstage-ops mark --service api --env production") && strings.Contains(p.Message, "ec2:CreateTags") {
			warned = true
		}
	}
	if !warned {
		t.Error("no progress says the image could not be marked, with the command to do it")
	}
	if w.f.StartInstanceRefreshOp.Calls() != 1 {
		t.Errorf("StartInstanceRefresh calls = %d, want the rollback to go on", w.f.StartInstanceRefreshOp.Calls())
	}
	if got := strings.Join(results(t, log), ","); got != "rollback:started,rollback:succeeded" {
		t.Errorf("audit = %s", got)
	}
}

// Marking an image owned by another account warns before anything is sent.
func TestPlanMark_SharedImageWarns_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	img := w.images["ami-prev"]
	img.OwnerId = aws.String("999999999999")
	w.images["ami-prev"] = img
	op, _ := w.operator(t)
	p, err := op.PlanMark(context.Background(), MarkRequest{Service: "api", Env: "production", Version: 2, Kind: model.MarkBad, Reason: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var c model.Check
	for _, ch := range p.Checks {
		if ch.Name == CheckMarkImage {
			c = ch
		}
	}
	if c.OK || !c.Warn || !strings.Contains(c.Detail, "belongs to account 999999999999") {
		t.Errorf("check %+v, want a warning naming the owner", c)
	}
	if w.f.CreateTagsOp.Calls() != 0 {
		t.Error("planning sent CreateTags")
	}
}

// An instance's environment is its group's: a production-group instance whose own tag says
// staging bakes as production (so production's read-only rule applies to it), and the plan
// refuses it for the disagreement; nothing is sent.
func TestPlanBake_EnvironmentComesFromTheGroup_RecordedFake(t *testing.T) {
	w := newActWorld(t)
	w.groups = []astypes.AutoScalingGroup{actGroup("api-prod-a", "production", "lt-a", "1", 1)}
	op, _ := w.operator(t)
	w.f.DescribeInstancesOp.Respond = func(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
		return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
			InstanceId: aws.String("i-1"), ImageId: aws.String("ami-base"), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
			Tags: ec2Tags("Service", "api", "Environment", "staging", "aws:autoscaling:groupName", "api-prod-a"),
		}}}}}, nil
	}
	p, err := op.PlanBake(context.Background(), BakeRequest{InstanceID: "i-1", Label: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Env != "production" || !p.Production {
		t.Errorf("bake plan env %q production=%v, want the group's production", p.Env, p.Production)
	}
	if !p.Blocked() || !strings.Contains(p.FailureText(), "Environment=staging on the instance, production on its group") {
		t.Errorf("plan not refused for the disagreeing tags: %s", p.FailureText())
	}
	if _, err := op.Execute(context.Background(), p); err == nil || w.f.CreateImageOp.Calls() != 0 {
		t.Errorf("execute: %v, CreateImage calls %d", err, w.f.CreateImageOp.Calls())
	}
}

// Two groups of one service whose ledgers disagree: each returns to its own previous
// release, and the plan says so per group.
func TestRollback_GroupsThatDisagreeEachReturnToTheirOwn_RecordedFake(t *testing.T) {
	w := newActWorld(t)
	w.groups = []astypes.AutoScalingGroup{actGroup("api-prod-a", "production", "lt-a", "3", 1), actGroup("api-prod-b", "production", "lt-b", "3", 1)}
	for _, tpl := range []string{"lt-a", "lt-b"} {
		w.addVersion(tpl, 1, "ami-1", "")
		w.addVersion(tpl, 2, "ami-2", model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/bob", When: actNow.Add(-48 * time.Hour), From: "ami-1", To: "ami-2"}.String())
		w.addVersion(tpl, 3, "ami-3", model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/cy", When: actNow.Add(-24 * time.Hour), From: "ami-2", To: "ami-3"}.String())
	}
	// Group b's rollout of version 2 was rolled back by AWS (it ran version 1 until version 3
	// went out over it): b returns to version 1, a to version 2.
	w.addVersion("lt-b", 3, "ami-3", model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/cy", When: actNow.Add(-24 * time.Hour), From: "ami-1", To: "ami-3"}.String())
	w.refreshes["api-prod-b"] = []astypes.InstanceRefresh{{
		InstanceRefreshId: aws.String("r-b2"), AutoScalingGroupName: aws.String("api-prod-b"), Status: astypes.InstanceRefreshStatusRollbackSuccessful,
		StartTime: aws.Time(actNow.Add(-47 * time.Hour)), EndTime: aws.Time(actNow.Add(-46 * time.Hour)),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-b"), Version: aws.String("2")}},
	}}
	for _, id := range []string{"ami-1", "ami-2", "ami-3"} {
		w.images[id] = actImage(id, "available", "api")
	}
	op, _ := w.operator(t)
	p, err := op.PlanRollback(context.Background(), RollbackRequest{Service: "api", Env: "production"})
	if err != nil || p.Blocked() {
		t.Fatalf("plan: %v %s", err, p.FailureText())
	}
	got := map[string]string{}
	for _, s := range p.Steps {
		got[s.Group] = s.ToVersion
	}
	if got["api-prod-a"] != "2" || got["api-prod-b"] != "1" {
		t.Errorf("targets %v, want a to 2 and b to 1", got)
	}
	r, err := op.Readiness(context.Background(), "api", "production")
	if err != nil || !strings.Contains(r.Note, "the groups return to different releases") {
		t.Errorf("readiness %+v %v", r, err)
	}
}
