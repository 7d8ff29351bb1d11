package tui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// operatorConsole is a read-write console over the demo fleet with the real action layer.
func operatorConsole(t *testing.T) (*Model, *sim.ManualClock, *ops.OperatorConsole) {
	t.Helper()
	clock := sim.NewManualClock(t0)
	cloud := sim.NewDemo(clock)
	op := ops.NewOperator(cloud.Clients(), ops.Options{
		Options:    inventory.Options{Now: clock.Now, After: clock.After},
		Production: func(env string) bool { return env == "production" },
	})
	m := New(Config{Reader: op, Operator: op, Now: clock.Now, Clipboard: func(string) {}})
	startConsole(t, m)
	return m, clock, op
}

// TestGoldenCancelPlan: c on web/production (mid-rollout in the demo) reads the cancel plan
// and shows it: the refresh, where each instance stays, the checks, the CLI twin, and the
// production confirmation.
func TestGoldenCancelPlan(t *testing.T) {
	m, _, _ := operatorConsole(t)
	selectService(t, m, "web", "production")
	if !m.keys.Services.Cancel.Enabled() {
		t.Fatalf("c disabled on a service that is rolling out: %s", m.keys.Services.Cancel.DisabledReason())
	}
	run(m, press(m.keys.Services.Cancel))
	if len(m.dialogs) != 1 {
		t.Fatalf("c opened %d dialogs; status %q", len(m.dialogs), m.status)
	}
	view := m.View()
	for _, want := range []string{"CANCEL web/production", "PRODUCTION", "stay on the new release", "stay on the old release", "nothing is rolled back", "adstage-ops cancel --service web --env production", "type web to confirm"} {
		if !strings.Contains(view, want) {
			t.Errorf("cancel plan lacks %q:\n%s", want, view)
		}
	}
	golden.RequireEqual(t, []byte(view))
}

// TestCancelKeyFlow: c plans a cancel of the service under the cursor, production needs the
// name, enter executes it; on a service with no rollout c says why and plans nothing.
func TestCancelKeyFlow(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionCancel, Service: "web", Env: "production", Production: true,
		Steps: []model.GroupStep{{Group: "web-production", RefreshID: "r-1", RefreshStatus: "InProgress", RefreshPercent: 50, OnTo: 3, OnFrom: 3}}}}
	m, _ := newConsole(t, op)

	selectService(t, m, "web", "staging")
	run(m, press(m.keys.Services.Cancel))
	if len(m.dialogs) != 0 || len(op.planned) != 0 || !strings.Contains(m.status, "no rollout is running on web/staging") {
		t.Fatalf("c without a rollout: dialogs=%d planned=%v status=%q", len(m.dialogs), op.planned, m.status)
	}
	if strings.Contains(m.View(), "cancel rollout") {
		t.Error("the footer offers cancel on a service with no rollout")
	}

	selectService(t, m, "web", "production")
	if !strings.Contains(m.View(), "cancel rollout") {
		t.Errorf("the footer does not offer cancel on a rolling-out service:\n%s", m.View())
	}
	run(m, press(m.keys.Services.Cancel))
	if len(m.dialogs) != 1 || len(op.planned) != 1 || op.planned[0] != "cancel web/production" {
		t.Fatalf("c: dialogs=%d planned=%v", len(m.dialogs), op.planned)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 0 {
		t.Fatal("a production cancel ran without the service name")
	}
	run(m, typeText("web"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 1 || op.executed[0].Action != model.ActionCancel {
		t.Fatalf("executed %+v", op.executed)
	}

	// The service screen has the key too.
	run(m, press(m.keys.Services.Open))
	if !m.keys.Service.Cancel.Enabled() {
		t.Fatalf("c disabled on the service screen: %s", m.keys.Service.Cancel.DisabledReason())
	}
	run(m, press(m.keys.Service.Cancel))
	if got := op.planned[len(op.planned)-1]; got != "cancel web/production" {
		t.Errorf("service screen c planned %q", got)
	}
}

// TestCancelKeyReadOnly: in read-only mode c is disabled with the read-only reason, even on a
// service that is rolling out, and help does not list it.
func TestCancelKeyReadOnly(t *testing.T) {
	m, _ := newConsole(t, nil)
	selectService(t, m, "web", "production")
	run(m, press(m.keys.Services.Cancel))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "read-only mode: cancel rollout is not available") {
		t.Fatalf("c in read-only: dialogs=%d status=%q", len(m.dialogs), m.status)
	}
	for _, group := range m.list.FullHelp() {
		for _, b := range group {
			if b.Enabled() && b.Help().Desc == m.keys.Services.Cancel.Help().Desc {
				t.Error("help lists cancel in read-only mode")
			}
		}
	}
}

// TestRollingBackReadsAsRollingBack: once the demo's web/production rollout is being rolled
// back, the services screen says "rolling back N%" (not "rollout") and the service screen's
// group line says it is rolling back and to which version.
func TestRollingBackReadsAsRollingBack(t *testing.T) {
	m, clock, op := operatorConsole(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	p, err := op.PlanRollback(ctx, ops.RollbackRequest{Service: "web", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Execute(ctx, p); err != nil {
		t.Fatal(err)
	}
	stop() // AWS has the rollback; the console reads it like any other
	clock.Advance(30 * time.Second)
	refresh := func() {
		clock.Advance(m.cfg.Refresh)
		for _, msg := range resolve(m.startRefresh()) {
			run(m, msg)
		}
	}
	refresh()
	selectService(t, m, "web", "production")
	row := regexp.MustCompile(`web +production.*`).FindString(m.View())
	if !regexp.MustCompile(`rolling back \d+%`).MatchString(row) || regexp.MustCompile(`rollout \d+%`).MatchString(row) {
		t.Fatalf("services row while rolling back: %q", row)
	}
	run(m, press(m.keys.Services.Open))
	want := "rolling back to v" + p.Steps[0].Template.Version + " (" + p.Steps[0].ToImage.ImageID + ")"
	if view := m.View(); !strings.Contains(view, want) || strings.Contains(view, "⟳ rollout") {
		t.Errorf("service screen lacks %q:\n%s", want, view)
	}
}
