package ops_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

var actSimStart = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// simConsole is the operator over the demo fleet, with a manual clock, fast progress polling
// and an audit log in a temporary directory.
type simConsole struct {
	clock *sim.ManualClock
	cloud *sim.Cloud
	op    *ops.OperatorConsole
	log   *audit.Log
}

func newSimConsole(t *testing.T) *simConsole {
	t.Helper()
	clock := sim.NewManualClock(actSimStart)
	cloud := sim.NewDemo(clock)
	log := audit.New(filepath.Join(t.TempDir(), "audit.jsonl"))
	op := ops.NewOperator(cloud.Clients(), ops.Options{
		// BootTime as the demo sets it (cmd/adstage-ops/app.go).
		Options:    inventory.Options{Now: clock.Now, After: clock.After, Refresh: time.Millisecond, BootTime: cloud.BootTime()},
		Audit:      log,
		Production: func(env string) bool { return env == "production" },
	})
	return &simConsole{clock: clock, cloud: cloud, op: op, log: log}
}

// follow reads progress until the channel closes, moving the simulated clock forward whenever
// the action waits for time to pass (at most four simulated hours).
func (s *simConsole) follow(t *testing.T, ch <-chan model.Progress) []model.Progress {
	t.Helper()
	var out []model.Progress
	deadline := s.clock.Now().Add(4 * time.Hour)
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, p)
		case <-s.clock.Sleeping():
			if s.clock.Now().After(deadline) {
				t.Fatalf("action still running after four simulated hours; progress so far: %+v", out)
			}
			s.clock.Advance(5 * time.Second)
		}
	}
}

func (s *simConsole) results(t *testing.T) []string {
	t.Helper()
	evs, err := s.log.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Action)+":"+e.Result)
	}
	return out
}

// runs reports the AMIs the service's groups launch and its live instances run.
func (s *simConsole) runs(t *testing.T, service, env string) (release string, images []model.ImageCount) {
	t.Helper()
	// A fresh inventory with the default tick, so that one snapshot reads every AMI.
	inv := inventory.NewInventory(s.cloud.Clients().Read(), inventory.Options{Now: s.clock.Now})
	fleet, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	svc, ok := fleet.Service(service, env)
	if !ok {
		t.Fatalf("no service %s/%s", service, env)
	}
	for _, g := range svc.Groups {
		if release == "" {
			release = g.ImageID
		} else if g.ImageID != release {
			t.Fatalf("groups of %s/%s launch different AMIs: %s and %s", service, env, release, g.ImageID)
		}
	}
	return release, svc.Images()
}

func lastOK(t *testing.T, evs []model.Progress) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no progress")
	}
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil {
		t.Fatalf("last progress = %+v", last)
	}
}

func TestPromoteThenRollback_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	before, _ := s.runs(t, "api", "production")

	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production", Reason: "ship it"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || len(plan.Warnings()) > 0 {
		t.Fatalf("promote refused: %+v", plan.Checks)
	}
	if len(plan.Steps) != 2 || !plan.Production {
		t.Fatalf("plan = %+v", plan)
	}
	target := plan.Steps[0].ToImage.ImageID
	if target == before || plan.Steps[0].FromImage.ImageID != before {
		t.Fatalf("promote %s -> %s, service runs %s", plan.Steps[0].FromImage.ImageID, target, before)
	}
	// Declining first writes a cancelled line and sends nothing.
	s.cloud.ResetCalls()
	s.op.Cancelled(plan)
	for op, n := range s.cloud.Calls() {
		if !strings.HasPrefix(op, "Describe") && op != "GetCallerIdentity" {
			t.Errorf("cancel sent %s x%d", op, n)
		}
	}

	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	lastOK(t, s.follow(t, ch))
	after, imgs := s.runs(t, "api", "production")
	if after != target || len(imgs) != 1 || imgs[0].ImageID != target {
		t.Fatalf("after promote the service launches %s and runs %+v, want %s", after, imgs, target)
	}

	rb, err := s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Blocked() {
		t.Fatalf("rollback refused: %+v", rb.Failures())
	}
	for _, st := range rb.Steps {
		if st.FromImage.ImageID != target || st.ToImage.ImageID != before || st.RefreshID != "" || st.ToVersion == "" {
			t.Errorf("rollback step = %+v", st)
		}
	}
	ch, err = s.op.Execute(ctx, rb)
	if err != nil {
		t.Fatal(err)
	}
	lastOK(t, s.follow(t, ch))
	back, imgs := s.runs(t, "api", "production")
	if back != before || len(imgs) != 1 || imgs[0].ImageID != before {
		t.Fatalf("after rollback the service launches %s and runs %+v, want %s", back, imgs, before)
	}
	if got := strings.Join(s.results(t), ","); got != "promote:cancelled,promote:started,promote:succeeded,rollback:started,rollback:succeeded" {
		t.Errorf("audit = %s", got)
	}
	// The release history in AWS records both, with who and why.
	h, err := s.op.History(ctx, "api", "production")
	if err != nil {
		t.Fatal(err)
	}
	var notes int
	for _, r := range h.Releases {
		if n, ok := model.ParseReleaseNote(r.Description); ok && n.To == target && n.Why == "ship it" && n.From == before {
			notes++
		}
	}
	if notes == 0 {
		t.Errorf("no release note for the promote in %+v", h.Releases)
	}
}

func TestRollbackRunningRefresh_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	// web/production is mid-rollout when the demo starts.
	plan, err := s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "web", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || len(plan.Steps) != 1 || plan.Steps[0].RefreshID == "" {
		t.Fatalf("plan = %+v", plan)
	}
	old := plan.Steps[0].ToImage.ImageID
	if old == "" || old == plan.Steps[0].FromImage.ImageID {
		t.Fatalf("step = %+v", plan.Steps[0])
	}
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	lastOK(t, s.follow(t, ch))
	rel, imgs := s.runs(t, "web", "production")
	if rel != old || len(imgs) != 1 || imgs[0].ImageID != old {
		t.Errorf("after rollback web launches %s and runs %+v, want %s", rel, imgs, old)
	}
	if s.cloud.Calls()["RollbackInstanceRefresh"] != 1 || s.cloud.Calls()["StartInstanceRefresh"] != 0 {
		t.Errorf("calls = %v", s.cloud.Calls())
	}
}

func TestPromote_RefreshAlreadyRunning_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	// Planned while web/production rolls out: refused, offering rollback or wait.
	p, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging"})
	if err == nil && !p.Blocked() {
		t.Fatalf("promote during a rollout not refused: %+v", p.Checks)
	}
	if err == nil {
		found := false
		for _, c := range p.Failures() {
			if c.Name == ops.CheckNoRefresh && strings.Contains(c.Detail, "adstage-ops rollback") {
				found = true
			}
		}
		if !found {
			t.Errorf("failures = %+v", p.Failures())
		}
	}
	// A refresh started by someone else between plan and confirmation.
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	_, err = s.cloud.Clients().AutoScaling.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(plan.Steps[1].Group),
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(90)},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.cloud.ResetCalls()
	_, err = s.op.Execute(ctx, plan)
	if !errors.Is(err, awsapi.ErrRefreshRunning) {
		t.Fatalf("err = %v, want ErrRefreshRunning", err)
	}
	calls := s.cloud.Calls()
	if calls["CreateLaunchTemplateVersion"]+calls["StartInstanceRefresh"]+calls["UpdateAutoScalingGroup"] != 0 {
		t.Errorf("refused execute changed something: %v", calls)
	}
	if got := strings.Join(s.results(t), ","); got != "promote:refused" {
		t.Errorf("audit = %s", got)
	}
}

func TestRollback_DeregisteredPreviousRefused_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	// api/staging runs its third release; the second's AMI is gone.
	hist, err := s.op.History(ctx, "api", "staging")
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[int64]string{}
	for _, r := range hist.Releases {
		byVersion[r.Version] = r.ImageID
	}
	if len(byVersion) != 3 {
		t.Fatalf("api/staging releases: %+v", hist.Releases)
	}
	if err := s.cloud.DeregisterImage(byVersion[2]); err != nil {
		t.Fatal(err)
	}
	p, err := s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() {
		t.Fatal("rollback to a deregistered AMI not refused")
	}
	d := p.Failures()[0].Detail
	for _, want := range []string{byVersion[2], "deregistered", "version 1 (" + byVersion[1], "--to-version 1"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	if _, err := s.op.Execute(ctx, p); err == nil {
		t.Error("refused plan executed")
	}
	p, err = s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "staging", ToVersion: "1"})
	if err != nil || p.Blocked() || p.Steps[0].ToImage.ImageID != byVersion[1] {
		t.Fatalf("to version 1: %v %+v", err, p.Checks)
	}
	ch, err := s.op.Execute(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	lastOK(t, s.follow(t, ch))
	if rel, _ := s.runs(t, "api", "staging"); rel != byVersion[1] {
		t.Errorf("api/staging launches %s, want %s", rel, byVersion[1])
	}
	if got := strings.Join(s.results(t), ","); got != "rollback:refused,rollback:started,rollback:succeeded" {
		t.Errorf("audit = %s", got)
	}
}

func TestPromote_LaunchConfigurationRefused_Sim(t *testing.T) {
	s := newSimConsole(t)
	p, err := s.op.PlanPromote(context.Background(), ops.PromoteRequest{Service: "scheduler", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	var check *model.Check
	for i := range p.Checks {
		if p.Checks[i].Name == ops.CheckTemplate {
			check = &p.Checks[i]
		}
	}
	if check == nil || check.OK || check.Warn || !strings.Contains(check.Detail, "launch configuration") || !strings.Contains(check.Detail, "update-auto-scaling-group") {
		t.Fatalf("check = %+v", check)
	}
	r, err := s.op.PlanRollback(context.Background(), ops.RollbackRequest{Service: "scheduler", Env: "production"})
	if err != nil || !r.Blocked() {
		t.Errorf("rollback of a launch configuration group: %v %+v", err, r.Checks)
	}
}

func TestPromote_BadImageAutoRollsBack_AuditFailed_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	before, _ := s.runs(t, "worker-bids", "production")
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "worker-bids", Env: "production", FromEnv: "staging"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	s.cloud.MarkImageBad(plan.Steps[0].ToImage.ImageID)
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := s.follow(t, ch)
	last := evs[len(evs)-1]
	if !last.Done || last.Err == nil || !strings.Contains(last.Err.Error(), "Rollback") {
		t.Fatalf("last = %+v", last)
	}
	if rel, imgs := s.runs(t, "worker-bids", "production"); rel != before || len(imgs) != 1 || imgs[0].ImageID != before {
		t.Errorf("after the auto-rollback the service launches %s and runs %+v, want %s", rel, imgs, before)
	}
	evsLog, err := s.log.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.results(t), ","); got != "promote:started,promote:failed" || evsLog[1].Error == "" || evsLog[1].Who == "" {
		t.Errorf("audit = %s %+v", got, evsLog)
	}
}

func TestBake_PendingToAvailable_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	fleet, err := s.op.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := fleet.Service("api", "staging")
	src := svc.Groups[0].Instances[0].ID
	plan, err := s.op.PlanBake(ctx, ops.BakeRequest{InstanceID: src, Label: "9f8e7d6"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || plan.Service != "api" || !strings.HasPrefix(plan.Bake.Name, "api-9f8e7d6-20261128") {
		t.Fatalf("plan = %+v %+v", plan, plan.Bake)
	}
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := s.follow(t, ch)
	lastOK(t, evs)
	pending := false
	for _, e := range evs {
		if e.Stage == ops.StageImage && !e.Done && strings.Contains(e.Message, "pending") {
			pending = true
		}
	}
	if !pending {
		t.Errorf("never saw the image pending: %+v", evs)
	}
	logEv, err := s.log.Read()
	if err != nil || len(logEv) != 2 || logEv[1].Result != "succeeded" {
		t.Fatalf("audit = %+v %v", logEv, err)
	}
	id := logEv[1].To
	out, err := s.cloud.Clients().EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("describe %s: %v", id, err)
	}
	img := out.Images[0]
	tags := map[string]string{}
	for _, tg := range img.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if img.State != ec2types.ImageStateAvailable || tags["Service"] != "api" || tags[model.TagSourceInstance] != src || tags[model.TagLabel] != "9f8e7d6" ||
		tags[model.TagBakedBy] != logEv[0].Who || tags[model.TagBakedAt] == "" {
		t.Errorf("image %s state %s tags %v", id, img.State, tags)
	}
	var snap string
	for _, bd := range img.BlockDeviceMappings {
		if bd.Ebs != nil {
			snap = aws.ToString(bd.Ebs.SnapshotId)
		}
	}
	sout, err := s.cloud.Clients().EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
	if err != nil || len(sout.Snapshots) != 1 {
		t.Fatalf("snapshot %q: %v", snap, err)
	}
	found := false
	for _, tg := range sout.Snapshots[0].Tags {
		if aws.ToString(tg.Key) == model.TagLabel && aws.ToString(tg.Value) == "9f8e7d6" {
			found = true
		}
	}
	if !found {
		t.Errorf("snapshot tags = %+v", sout.Snapshots[0].Tags)
	}
	imgs, err := s.op.Images(ctx, "api")
	if err != nil || len(imgs) == 0 || imgs[0].ID != id {
		t.Errorf("newest api image = %+v, %v", imgs, err)
	}
}

func TestPromote_ThrottledMidRolloutKeepsFollowing_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "worker-bids", Env: "production", FromEnv: "staging"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	var evs []model.Progress
	for p := range ch {
		evs = append(evs, p)
		if p.Stage == ops.StageStarted {
			break
		}
	}
	// The account is throttled for three simulated minutes in the middle of the rollout.
	s.cloud.ThrottleUntil(s.clock.Now().Add(3 * time.Minute))
	evs = append(evs, s.follow(t, ch)...)
	lastOK(t, evs)
	if n := s.cloud.Throttled()["DescribeInstanceRefreshes"]; n <= 5 {
		t.Errorf("only %d throttled reads: the test did not throttle the following", n)
	}
	saw := false
	for _, e := range evs {
		if strings.Contains(e.Message, "throttling") {
			saw = true
		}
	}
	if !saw {
		t.Error("throttling not reported in the progress")
	}
	if rel, _ := s.runs(t, "worker-bids", "production"); rel != plan.Steps[0].ToImage.ImageID {
		t.Errorf("after the rollout the service launches %s, want %s", rel, plan.Steps[0].ToImage.ImageID)
	}
	if got := strings.Join(s.results(t), ","); got != "promote:started,promote:succeeded" {
		t.Errorf("audit = %s", got)
	}
}

// TestSimReadinessAndRollbackPlanAgree: the services column (Readiness) and `r` (PlanRollback)
// apply one previous-release rule, so for every service of the demo fleet they name the same
// target, or both say there is none.
func TestSimReadinessAndRollbackPlanAgree(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	fleet, err := s.op.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, svc := range fleet.Services {
		if svc.Name == model.Untagged {
			continue
		}
		r, err := s.op.Readiness(ctx, svc.Name, svc.Env)
		if err != nil {
			t.Fatalf("readiness of %s: %v", svc.ServiceKey, err)
		}
		p, err := s.op.PlanRollback(ctx, ops.RollbackRequest{Service: svc.Name, Env: svc.Env})
		if err != nil {
			t.Fatalf("plan rollback of %s: %v", svc.ServiceKey, err)
		}
		checked++
		t.Logf("%s: possible=%v via=%s target=v%d why=%q", svc.ServiceKey, r.Possible, r.Via, r.Target.Version, r.Why)
		switch {
		case !r.Possible:
			if !p.Blocked() {
				t.Errorf("%s: readiness says %q, but the rollback plan is not blocked", svc.ServiceKey, r.Why)
			}
		case r.Via == "rollback-refresh":
			if len(p.Steps) == 0 || p.Steps[0].RefreshID == "" {
				t.Errorf("%s: readiness undoes the rollout, the plan does not: %+v", svc.ServiceKey, p.Steps)
			}
		default:
			if p.Blocked() || len(p.Steps) == 0 || p.Steps[0].ToVersion != strconv.FormatInt(r.Target.Version, 10) || p.Steps[0].ToImage.ImageID != r.Target.ImageID {
				t.Errorf("%s: readiness targets v%d %s, the plan %+v (blocked: %s)", svc.ServiceKey, r.Target.Version, r.Target.ImageID, p.Steps, p.FailureText())
			}
		}
	}
	if checked < 4 {
		t.Fatalf("only %d services checked", checked)
	}
}
