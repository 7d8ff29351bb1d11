package ops_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// TestCancelRunningRollout_Sim stops the demo's web/production rollout where it is: the plan
// names the refresh and how many instances are on each release, Execute sends one
// CancelInstanceRefresh and follows it to Cancelled, nothing is rolled back, and the audit log
// has the cancel started and succeeded.
func TestCancelRunningRollout_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanCancel(ctx, ops.CancelRequest{Service: "web", Env: "production", Reason: "bad metrics"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Action != model.ActionCancel || plan.Blocked() || len(plan.Steps) != 1 || !plan.Production {
		t.Fatalf("plan = %+v", plan)
	}
	st := plan.Steps[0]
	if st.RefreshID == "" || st.RefreshStatus != "InProgress" || st.FromImage.ImageID == "" || st.ToImage.ImageID == st.FromImage.ImageID {
		t.Fatalf("step = %+v", st)
	}
	if st.OnTo == 0 || st.OnFrom == 0 || st.OnTo+st.OnFrom > st.Instances {
		t.Errorf("instances in service on each release: %d new + %d old, %d live; want a mixed fleet", st.OnTo, st.OnFrom, st.Instances)
	}
	if plan.CLI != "adstage-ops cancel --service web --env production --reason 'bad metrics' --yes" {
		t.Errorf("CLI twin = %s", plan.CLI)
	}
	if !strings.Contains(plan.Checks[0].Detail, "stay on it") {
		t.Errorf("the running check does not say where instances stay: %+v", plan.Checks[0])
	}
	s.cloud.ResetCalls()
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := s.follow(t, ch)
	lastOK(t, evs)
	if last := evs[len(evs)-1]; !strings.Contains(last.Message, "Cancelled") {
		t.Errorf("last progress %q does not say Cancelled", last.Message)
	}
	calls := s.cloud.Calls()
	if calls["CancelInstanceRefresh"] != 1 || calls["RollbackInstanceRefresh"] != 0 || calls["StartInstanceRefresh"] != 0 {
		t.Errorf("calls = %v", calls)
	}
	// Nothing was rolled back: the group still launches the old release, and instances on
	// the new release are still there.
	rel, imgs := s.runs(t, "web", "production")
	if rel != st.FromImage.ImageID {
		t.Errorf("web launches %s after cancel, want the old release %s", rel, st.FromImage.ImageID)
	}
	onNew := 0
	for _, ic := range imgs {
		if ic.ImageID == st.ToImage.ImageID {
			onNew = ic.Instances
		}
	}
	if onNew != st.OnTo {
		t.Errorf("after cancel %d instances on the new release, want the %d already replaced (%+v)", onNew, st.OnTo, imgs)
	}
	if got := s.results(t); strings.Join(got, " ") != "cancel:started cancel:succeeded" {
		t.Errorf("audit = %v", got)
	}
	// Nothing to cancel any more: the plan says so, and Execute refuses it.
	again, err := s.op.PlanCancel(ctx, ops.CancelRequest{Service: "web", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Blocked() || !strings.Contains(again.FailureText(), "no rollout is running") {
		t.Errorf("second plan: %+v", again.Checks)
	}
	if _, err := s.op.Execute(ctx, plan); !ops.IsRefusal(err) {
		t.Errorf("executing the stale plan: %v, want a refusal", err)
	}
}

// TestCancelRollingBackRefused_Sim: a rollout AWS is rolling back is not cancelled; the plan
// says to let it finish.
func TestCancelRollingBackRefused_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	rb, err := s.op.PlanRollback(ctx, ops.RollbackRequest{Service: "web", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.op.Execute(ctx, rb); err != nil {
		t.Fatal(err)
	}
	plan, err := s.op.PlanCancel(ctx, ops.CancelRequest{Service: "web", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Blocked() || !strings.Contains(plan.FailureText(), "rolled back") || !strings.Contains(plan.FailureText(), "let it finish") {
		t.Errorf("cancel of a rollback: %+v", plan.Checks)
	}
}

// TestCancelReadOnly: the action layer built for read-only (a Reader over read-only clients)
// has no cancel at all, and the read-only guard on those clients refuses CancelInstanceRefresh
// before anything is sent.
func TestCancelReadOnly(t *testing.T) {
	rec := &awstest.WireRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	awstest.IsolateAWSEnv(t, srv.URL)
	_, read, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var r ops.Reader = inventory.NewInventory(read, inventory.Options{})
	if _, ok := r.(interface {
		PlanCancel(context.Context, ops.CancelRequest) (model.Plan, error)
	}); ok {
		t.Fatal("the read-only action layer can plan a cancel")
	}
	if _, ok := r.(ops.Operator); ok {
		t.Fatal("the read-only action layer is an Operator")
	}
	err = awstest.OperationCalls(awstest.RawClients(t, read))["autoscaling:CancelInstanceRefresh"](context.Background())
	var ro *awsapi.ReadOnlyError
	if !errors.As(err, &ro) || ro.Operation != "CancelInstanceRefresh" {
		t.Errorf("CancelInstanceRefresh through read-only clients: %v, want a ReadOnlyError naming it", err)
	}
	if got := rec.Seen(); len(got) != 0 {
		t.Errorf("the refused cancel reached the server: %v", got)
	}
	policy, err := awsapi.IAMPolicy(awsapi.PolicyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roPolicy, err := awsapi.IAMPolicy(awsapi.PolicyOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(policy), "autoscaling:CancelInstanceRefresh") || strings.Contains(string(roPolicy), "CancelInstanceRefresh") {
		t.Errorf("IAM policies: the write policy must grant CancelInstanceRefresh and the read-only one must not")
	}
}
