package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// planRollback plans a rollback and fails the test if it is refused.
func (s *simConsole) planRollback(t *testing.T, service, env string) model.Plan {
	t.Helper()
	p, err := s.op.PlanRollback(context.Background(), ops.RollbackRequest{Service: service, Env: env, Reason: "5xx spike"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked() {
		t.Fatalf("rollback of %s/%s refused: %s", service, env, p.FailureText())
	}
	return p
}

func (s *simConsole) run(t *testing.T, p model.Plan) []model.Progress {
	t.Helper()
	ch, err := s.op.Execute(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	evs := s.follow(t, ch)
	lastOK(t, evs)
	return evs
}

func checkDetail(p model.Plan, name string) (model.Check, bool) {
	for _, c := range p.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return model.Check{}, false
}

// The story issue 9 was found with, on the demo: web/production mid-rollout, roll it back,
// bake a hotfix, promote it, roll back again. The second rollback must return to the release
// that was live before the first (version 3), not to the one just rolled back (version 4);
// readiness must say the same; and promoting the rolled-back image is refused.
func TestRollbackNeverReturnsToARolledBackRelease_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()

	first := s.planRollback(t, "web", "production")
	if first.Steps[0].RefreshID == "" {
		t.Fatalf("web/production is mid-rollout, the rollback should reverse it: %+v", first.Steps[0])
	}
	fled := first.Steps[0].FromImage.ImageID // the release being rolled out (version 4)
	s.run(t, first)

	// The image left carries the rolled-back mark, with who and why.
	imgs, err := s.op.Images(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var marked bool
	for _, img := range imgs {
		if img.ID == fled {
			v, ok := model.Verdict(img.Marks)
			marked = ok && v.Kind == model.MarkRolledBack && v.Reason == "5xx spike" && v.Env == "production" && v.Who != ""
		}
	}
	if !marked {
		t.Fatalf("image %s left by the rollback carries no rolled-back mark: %+v", fled, imgs)
	}

	// Bake a hotfix from a production instance and promote it (version 5).
	fleet, err := s.op.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := fleet.Service("web", "production")
	bake, err := s.op.PlanBake(ctx, ops.BakeRequest{InstanceID: svc.Groups[0].Instances[0].ID, Label: "hotfix1"})
	if err != nil {
		t.Fatal(err)
	}
	s.run(t, bake)
	imgs, _ = s.op.Images(ctx, "web")
	hotfix := imgs[0].ID
	promote, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "production", ImageID: hotfix, Reason: "hotfix"})
	if err != nil || promote.Blocked() {
		t.Fatalf("promote hotfix: %v %s", err, promote.FailureText())
	}
	s.run(t, promote)

	second := s.planRollback(t, "web", "production")
	st := second.Steps[0]
	if st.ToVersion != "3" || st.ToImage.ImageID == fled {
		t.Fatalf("second rollback targets version %s (%s), want version 3; checks: %+v", st.ToVersion, st.ToImage.ImageID, second.Checks)
	}
	skip, ok := checkDetail(second, ops.CheckSkipped)
	if !ok || !strings.Contains(skip.Detail, "v4 skipped: rolled back") || !strings.Contains(skip.Detail, "5xx spike") {
		t.Errorf("the plan does not say why version 4 was skipped: %+v", second.Checks)
	}
	// Readiness works from the console's last snapshot, taken every tick.
	if _, err := s.op.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.op.Readiness(ctx, "web", "production")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Possible || r.Target.Version != 3 {
		t.Errorf("readiness = %+v, want version 3 like the plan", r)
	}

	// Promoting the rolled-back image again is refused unless overridden with a reason.
	again, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "staging", ImageID: fled})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := checkDetail(again, ops.CheckImageMarks); c.OK || c.Warn || !strings.Contains(c.Detail, "rolled back") {
		t.Errorf("promote of a rolled-back image: check %+v", c)
	}
	if _, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "staging", ImageID: fled, AllowBadImage: true}); err == nil {
		t.Error("an override without a reason was accepted")
	}
	over, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "web", Env: "staging", ImageID: fled, AllowBadImage: true, Reason: "fixed by config"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := checkDetail(over, ops.CheckImageMarks); c.OK || !c.Warn {
		t.Errorf("overridden promote: check %+v, want a warning to confirm", c)
	}
}

// auth/production's third release failed and AWS rolled it back (RollbackSuccessful); the
// group runs version 2. A rollback returns to version 1, and says why version 3 was skipped.
func TestRollbackSkipsARefreshThatRolledItselfBack_Sim(t *testing.T) {
	s := newSimConsole(t)
	p := s.planRollback(t, "auth", "production")
	if p.Steps[0].ToVersion != "1" {
		t.Fatalf("rollback of auth/production targets version %s, want 1: %+v", p.Steps[0].ToVersion, p.Checks)
	}
	if c, _ := checkDetail(p, ops.CheckSkipped); !strings.Contains(c.Detail, "v3 skipped: rolled back") || !strings.Contains(c.Detail, "RollbackSuccessful") {
		t.Errorf("skipped check %+v", c)
	}
	r, err := s.op.Readiness(context.Background(), "auth", "production")
	if err != nil || r.Target.Version != 1 {
		t.Errorf("readiness = %+v %v, want version 1", r, err)
	}
}

// Marking the previous release bad moves the rollback to the one before it, for everyone
// (the mark is a tag on the image), and marking it good again restores it.
func TestMarkBadMovesTheRollbackTarget_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	before := s.planRollback(t, "api", "staging")
	if before.Steps[0].ToVersion != "2" {
		t.Fatalf("api/staging rolls back to version %s, want 2", before.Steps[0].ToVersion)
	}
	mark, err := s.op.PlanMark(ctx, ops.MarkRequest{Service: "api", Env: "staging", Version: 2, Kind: model.MarkBad, Reason: "leaks memory"})
	if err != nil || mark.Blocked() {
		t.Fatalf("mark: %v %s", err, mark.FailureText())
	}
	s.run(t, mark)
	after := s.planRollback(t, "api", "staging")
	if after.Steps[0].ToVersion != "1" {
		t.Fatalf("after marking version 2 bad the rollback targets version %s, want 1", after.Steps[0].ToVersion)
	}
	if c, _ := checkDetail(after, ops.CheckSkipped); !strings.Contains(c.Detail, "v2 skipped: marked bad") || !strings.Contains(c.Detail, "leaks memory") {
		t.Errorf("skipped check %+v", c)
	}
	good, err := s.op.PlanMark(ctx, ops.MarkRequest{Service: "api", Env: "staging", Version: 2, Kind: model.MarkGood, Reason: "false alarm"})
	if err != nil {
		t.Fatal(err)
	}
	s.run(t, good)
	if p := s.planRollback(t, "api", "staging"); p.Steps[0].ToVersion != "2" {
		t.Errorf("after marking version 2 good again the rollback targets version %s", p.Steps[0].ToVersion)
	}
	if got := strings.Join(s.results(t), ","); got != "mark:started,mark:succeeded,mark:started,mark:succeeded" {
		t.Errorf("audit = %s", got)
	}
}

// Bad input to mark: an unknown version, a reason longer than a tag value allows.
func TestMarkBadInput_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	p, err := s.op.PlanMark(ctx, ops.MarkRequest{Service: "api", Env: "staging", Version: 42, Kind: model.MarkBad})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !strings.Contains(p.FailureText(), "has a version 42") || !strings.Contains(p.FailureText(), "versions you can name") {
		t.Errorf("unknown version: %s", p.FailureText())
	}
	p, err = s.op.PlanMark(ctx, ops.MarkRequest{Service: "api", Env: "staging", Version: 2, Kind: model.MarkBad, Reason: strings.Repeat("r", 300)})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !strings.Contains(p.FailureText(), "shorten the reason to") {
		t.Errorf("long reason: %s", p.FailureText())
	}
}

// When IAM denies DescribeInstanceRefreshes the ledger cannot tell outcomes: the rollback
// falls back to version order with a warning the operator must confirm, and says why.
func TestRollbackWithoutRefreshHistoryWarns_Sim(t *testing.T) {
	s := newSimConsole(t)
	s.cloud.FailNext("DescribeInstanceRefreshes", &smithy.GenericAPIError{Code: "AccessDenied", Message: "User is not authorized to perform: autoscaling:DescribeInstanceRefreshes"}, 100)
	p, err := s.op.PlanRollback(context.Background(), ops.RollbackRequest{Service: "auth", Env: "production"})
	if err != nil {
		t.Fatalf("a denied refresh history failed the plan: %v", err)
	}
	if p.Blocked() {
		t.Fatalf("refused: %s", p.FailureText())
	}
	c, ok := checkDetail(p, ops.CheckVerified)
	if !ok || c.OK || !c.Warn || !strings.Contains(c.Detail, "could not be read") || !strings.Contains(c.Detail, "autoscaling:DescribeInstanceRefreshes") {
		t.Errorf("checks %+v, want a warning that outcomes are unknown", p.Checks)
	}
	// Version order among the versions before the current one: version 1, to be confirmed.
	if p.Steps[0].ToVersion != "1" {
		t.Errorf("target %s", p.Steps[0].ToVersion)
	}
}

// Another operator's rollout is the lock: a promote planned while web/production rolls out
// is refused, naming who started it, when, from and to what, and why (from the release note
// of the version it rolls out).
func TestPromoteDuringAnotherRolloutNamesWhoStartedIt_Sim(t *testing.T) {
	s := newSimConsole(t)
	p, err := s.op.PlanPromote(context.Background(), ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging", AllowBadImage: true, Reason: "x"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := checkDetail(p, ops.CheckNoRefresh)
	for _, want := range []string{"InProgress", "started 2026-11-28", "by demo-operator", "promote staging's release to production"} {
		if c.OK || !strings.Contains(c.Detail, want) {
			t.Errorf("check %+v lacks %q", c, want)
		}
	}
}

// A disabled AMI is disabled, not deregistered: the rollback plan and readiness say so and
// name the older release still available (DescribeImages is asked with IncludeDisabled).
func TestRollbackToADisabledImageSaysDisabled_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	p := s.planRollback(t, "api", "staging")
	prev := p.Steps[0].ToImage.ImageID
	if err := s.cloud.DisableImage(prev); err != nil {
		t.Fatal(err)
	}
	p, err := s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !strings.Contains(p.FailureText(), prev+" (launch template") || !strings.Contains(p.FailureText(), "is disabled") || strings.Contains(p.FailureText(), "deregistered") {
		t.Errorf("plan: %s", p.FailureText())
	}
	if !strings.Contains(p.FailureText(), "--to-version 1") {
		t.Errorf("plan does not name the older release: %s", p.FailureText())
	}
	if _, err := s.op.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.op.Readiness(ctx, "api", "staging")
	if err != nil || r.Possible || !strings.Contains(r.Why, "is disabled") {
		t.Errorf("readiness %+v %v", r, err)
	}
}

// A reason holding terminal control (pasted from a ticket, say) is stored and shown as data:
// the mark's tag, the plan and the progress carry it escaped.
func TestReasonIsDataInTheMarkAndThePlan_Sim(t *testing.T) {
	s := newSimConsole(t)
	reason := "leak \x1b]0;pwned\x07\nfake row"
	p, err := s.op.PlanMark(context.Background(), ops.MarkRequest{Service: "api", Env: "staging", Version: 2, Kind: model.MarkBad, Reason: reason})
	if err != nil || p.Blocked() {
		t.Fatalf("plan: %v %s", err, p.FailureText())
	}
	if p.Reason != model.SafeText(reason) || strings.ContainsAny(p.CLI+p.Mark.Mark.Reason, "\x1b\x07\n") {
		t.Errorf("plan carries the raw reason: %q / %q", p.Reason, p.CLI)
	}
	for _, ev := range s.run(t, p) {
		if strings.ContainsAny(ev.Message, "\x1b\x07\n") {
			t.Errorf("progress carries terminal control: %q", ev.Message)
		}
	}
	imgs, _ := s.op.Images(context.Background(), "api")
	for _, img := range imgs {
		for _, m := range img.Marks {
			if strings.ContainsAny(m.Reason, "\x1b\x07\n") {
				t.Errorf("stored mark %q", m.Reason)
			}
		}
	}
}
