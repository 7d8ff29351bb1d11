package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

var t0 = time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)

// demo is the console's data source in tests: the simulated demo fleet behind the real
// inventory, at a fixed clock.
func demo(t testing.TB) (*sim.ManualClock, *inventory.Inventory) {
	t.Helper()
	clock := sim.NewManualClock(t0)
	cloud := sim.NewDemo(clock)
	return clock, inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clock.Now})
}

// recordingOperator answers plans from a canned plan and records what it was asked to do.
type recordingOperator struct {
	ops.Reader
	mu        sync.Mutex
	planned   []string
	executed  []model.Plan
	cancelled []model.Plan
	plan      model.Plan
	// The requests as the console sent them.
	promotes  []ops.PromoteRequest
	rollbacks []ops.RollbackRequest
	marks     []ops.MarkRequest
	// plans answers the requests in turn before plan does (the override re-plans).
	plans []model.Plan
}

func (o *recordingOperator) record(what string) (model.Plan, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.planned = append(o.planned, what)
	if len(o.plans) > 0 {
		p := o.plans[0]
		o.plans = o.plans[1:]
		return p, nil
	}
	return o.plan, nil
}

func (o *recordingOperator) PlanBake(_ context.Context, r ops.BakeRequest) (model.Plan, error) {
	return o.record("bake " + r.InstanceID + " " + r.Label + fmt.Sprint(" noreboot=", r.NoReboot))
}
func (o *recordingOperator) PlanPromote(_ context.Context, r ops.PromoteRequest) (model.Plan, error) {
	o.mu.Lock()
	o.promotes = append(o.promotes, r)
	o.mu.Unlock()
	return o.record("promote " + r.Service + "/" + r.Env + " image=" + r.ImageID + " from=" + r.FromEnv)
}
func (o *recordingOperator) PlanRollback(_ context.Context, r ops.RollbackRequest) (model.Plan, error) {
	o.mu.Lock()
	o.rollbacks = append(o.rollbacks, r)
	o.mu.Unlock()
	return o.record("rollback " + r.Service + "/" + r.Env)
}
func (o *recordingOperator) PlanMark(_ context.Context, r ops.MarkRequest) (model.Plan, error) {
	o.mu.Lock()
	o.marks = append(o.marks, r)
	o.mu.Unlock()
	return o.record(fmt.Sprintf("mark %s/%s v%d %s", r.Service, r.Env, r.Version, r.Kind))
}
func (o *recordingOperator) PlanCancel(_ context.Context, r ops.CancelRequest) (model.Plan, error) {
	return o.record("cancel " + r.Service + "/" + r.Env)
}
func (o *recordingOperator) Execute(_ context.Context, p model.Plan) (<-chan model.Progress, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.executed = append(o.executed, p)
	ch := make(chan model.Progress, 1)
	ch <- model.Progress{Stage: "refresh", Message: "started", Percent: 0}
	close(ch)
	return ch, nil
}
func (o *recordingOperator) Cancelled(p model.Plan) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cancelled = append(o.cancelled, p)
}

// press turns a binding into the key message its first key sends.
func press(b Binding) tea.KeyMsg { return KeyMsg(b.Keys()[0]) }

func typeText(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// quiet drops the commands that only wait for wall-clock time (clock, spinner, cursor
// blink), so that run can execute every other command to its end.
func quiet(m *Model) *Model {
	m.c.timer = func(tea.Cmd) tea.Cmd { return nil }
	return m
}

// run feeds a message to the model and runs the commands it returns, and theirs, until
// none is left. Each command runs to its answer: a test waits for messages, never for a
// wall-clock timeout (timers are dropped by quiet).
func run(m *Model, msg tea.Msg) {
	queue := []tea.Msg{msg}
	for len(queue) > 0 {
		msg, queue = queue[0], queue[1:]
		_, cmd := m.Update(msg)
		queue = append(queue, resolve(cmd)...)
	}
}

// resolve runs a command and the batches it answers with, and returns their messages.
func resolve(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, resolve(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

func newConsole(t testing.TB, op ops.Operator) (*Model, *sim.ManualClock) {
	clock, inv := demo(t)
	cfg := Config{Reader: inv, Now: clock.Now, Clipboard: func(string) {}}
	if op != nil {
		if ro, ok := op.(*recordingOperator); ok {
			ro.Reader = inv
		}
		cfg.Operator = op
	}
	m := New(cfg)
	startConsole(t, m)
	return m, clock
}

func selectService(t *testing.T, m *Model, name, env string) {
	t.Helper()
	for i, k := range m.list.rows {
		if k.Name == name && k.Env == env {
			m.list.cursor = i
			m.syncKeys() // as a cursor move does (focusMsg)
			return
		}
	}
	t.Fatalf("service %s/%s not listed", name, env)
}

func TestServicesScreenListsTheDemoFleet(t *testing.T) {
	m, _ := newConsole(t, nil)
	if len(m.list.rows) < 12 {
		t.Fatalf("%d services listed, want at least 12", len(m.list.rows))
	}
	view := m.View()
	for _, want := range []string{"web", "production", "rollout", "mixed", "degraded", "read-only", "acct 123456789012"} {
		if !strings.Contains(view, want) {
			t.Errorf("services screen lacks %q:\n%s", want, view)
		}
	}
}

func TestRollbackKeyOpensPlanEscSendsNothingEnterExecutes(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionRollback, Service: "web", Env: "staging", CLI: "adstage-ops rollback --service web --env staging --yes",
		Checks: []model.Check{{Name: "previous release exists", OK: true}}}}
	m, _ := newConsole(t, op)
	selectService(t, m, "web", "staging")

	run(m, press(m.keys.Services.Rollback))
	if len(m.dialogs) != 1 || len(op.planned) != 1 || op.planned[0] != "rollback web/staging" {
		t.Fatalf("r: dialogs=%d planned=%v", len(m.dialogs), op.planned)
	}
	if !strings.Contains(m.View(), "ROLLBACK web/staging") {
		t.Errorf("plan dialog not shown:\n%s", m.View())
	}
	run(m, press(m.keys.Dialog.Cancel))
	if len(m.dialogs) != 0 || len(op.executed) != 0 || len(op.cancelled) != 1 {
		t.Fatalf("esc: dialogs=%d executed=%d cancelled=%d", len(m.dialogs), len(op.executed), len(op.cancelled))
	}

	run(m, press(m.keys.Services.Rollback))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 1 || op.executed[0].Action != model.ActionRollback {
		t.Fatalf("enter: executed %v", op.executed)
	}
}

func TestProductionPlanNeedsTheServiceName(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionRollback, Service: "web", Env: "production", Production: true}}
	m, _ := newConsole(t, op)
	selectService(t, m, "web", "production")
	run(m, press(m.keys.Services.Rollback))
	run(m, typeText("5xx spike"))
	run(m, press(m.keys.Dialog.Confirm)) // the reason: then the plan
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 0 {
		t.Fatal("production plan ran without the service name typed")
	}
	run(m, typeText("web"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 1 {
		t.Fatalf("typed the name and confirmed: executed %d", len(op.executed))
	}
}

func TestBlockedPlanCannotBeConfirmed(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionPromote, Service: "api", Env: "staging",
		Checks: []model.Check{{Name: "no rollout running", OK: false, Detail: "a refresh is running: roll it back or wait"}}}}
	m, _ := newConsole(t, op)
	selectService(t, m, "api", "staging")
	run(m, press(m.keys.Services.Open))
	run(m, press(m.keys.Service.Rollback))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 0 {
		t.Fatal("a blocked plan was executed")
	}
	if !strings.Contains(m.status, "cannot run") {
		t.Errorf("status %q does not say why", m.status)
	}
}

func TestBakeAndPromoteFlows(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionBake, Service: "api", Env: "staging", Bake: &model.BakeSpec{InstanceID: "i-1", Label: "abc123"}}}
	m, _ := newConsole(t, op)
	selectService(t, m, "api", "staging")
	run(m, press(m.keys.Services.Open))
	if m.screen != screenService {
		t.Fatal("enter did not open the service")
	}
	run(m, press(m.keys.Service.Bake))
	run(m, typeText("abc123"))
	run(m, press(m.keys.Dialog.Toggle))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.planned) != 1 || !strings.HasPrefix(op.planned[0], "bake i-") || !strings.HasSuffix(op.planned[0], "abc123 noreboot=true") {
		t.Fatalf("bake planned %v", op.planned)
	}
	run(m, press(m.keys.Dialog.Cancel))
	if len(op.executed) != 0 || len(op.cancelled) != 1 {
		t.Fatalf("bake esc: executed %d cancelled %d", len(op.executed), len(op.cancelled))
	}

	// promote: the picker lists baked images; s promotes what staging runs to production.
	op.plan = model.Plan{Action: model.ActionPromote, Service: "api", Env: "production", Production: true}
	m.screen = screenServices
	selectService(t, m, "api", "production")
	run(m, press(m.keys.Services.Promote))
	if len(m.dialogs) != 1 {
		t.Fatal("p did not open the image picker")
	}
	run(m, press(m.keys.Dialog.FromEnv))
	run(m, typeText("release 1234"))
	run(m, press(m.keys.Dialog.Confirm)) // production: the reason first
	if got := op.planned[len(op.planned)-1]; got != "promote api/production image= from=staging" {
		t.Fatalf("promote planned %q", got)
	}
	run(m, press(m.keys.Dialog.Confirm)) // production plan: needs the name
	if len(op.executed) != 0 {
		t.Fatal("promote ran without confirmation")
	}
}

func TestReadOnlyRefusesMutatingKeysAndHidesThem(t *testing.T) {
	m, _ := newConsole(t, nil)
	for _, b := range dangerousBindings(&m.keys) {
		if b.Enabled() {
			t.Errorf("%s enabled in read-only mode", b.Help().Desc)
		}
	}
	selectService(t, m, "web", "production")
	run(m, press(m.keys.Services.Rollback))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "read-only mode") {
		t.Fatalf("r in read-only: dialogs=%d status=%q", len(m.dialogs), m.status)
	}
	run(m, press(m.keys.Services.Open))
	run(m, press(m.keys.Service.Bake))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "read-only mode") {
		t.Fatalf("b in read-only: dialogs=%d status=%q", len(m.dialogs), m.status)
	}
	if strings.Contains(m.shortHelp(), "rollback") || strings.Contains(m.shortHelp(), "bake") {
		t.Errorf("help shows mutating keys in read-only mode: %s", m.shortHelp())
	}
}

func TestFilterNarrowsAndEscClears(t *testing.T) {
	m, _ := newConsole(t, nil)
	all := len(m.list.rows)
	run(m, press(m.keys.Services.Filter))
	for _, r := range "wrkb" {
		run(m, typeText(string(r)))
	}
	if len(m.list.rows) == 0 || len(m.list.rows) >= all {
		t.Fatalf("filter wrkb kept %d of %d rows", len(m.list.rows), all)
	}
	for _, k := range m.list.rows {
		if k.Name != "worker-bids" {
			t.Errorf("filter wrkb kept %s", k)
		}
	}
	run(m, press(m.keys.Filter.Clear))
	if len(m.list.rows) != all || m.list.query != "" {
		t.Fatalf("esc left %d rows, query %q", len(m.list.rows), m.list.query)
	}
}

func TestStaleFilterResultsAreDropped(t *testing.T) {
	m, _ := newConsole(t, nil)
	old := m.list.setQuery("api")
	newer := m.list.setQuery("web")
	run(m, newer())
	run(m, old())
	if m.list.query != "web" {
		t.Fatalf("query %q, want the newest (web)", m.list.query)
	}
	for _, k := range m.list.rows {
		if k.Name == "api" {
			t.Fatalf("an older filter result replaced a newer one: %v", m.list.rows)
		}
	}
}

func TestRefreshesNeverOverlapAndStaleAnswersAreDropped(t *testing.T) {
	m, _ := newConsole(t, nil)
	first := m.startRefresh()
	if first == nil {
		t.Fatal("no refresh started")
	}
	if m.startRefresh() != nil {
		t.Fatal("a second refresh started while one was running")
	}
	stale := taskDoneMsg{id: m.tasks.next - 1, msg: fleetMsg{err: fmt.Errorf("old")}}
	run(m, stale)
	if m.lastErr != "" || !m.refreshing() {
		t.Fatal("an answer to an older request was applied")
	}
	run(m, first())
	if m.refreshing() {
		t.Fatal("refresh did not finish")
	}
}

func TestRefreshErrorKeepsLastGoodData(t *testing.T) {
	m, _ := newConsole(t, nil)
	before := len(m.c.fleet.Services)
	m.startRefresh()
	run(m, taskDoneMsg{id: m.tasks.next, msg: fleetMsg{err: fmt.Errorf("operation error Auto Scaling: DescribeAutoScalingGroups, api error Throttling: Rate exceeded")}})
	if len(m.c.fleet.Services) != before || m.lastErr == "" {
		t.Fatalf("services %d -> %d, lastErr %q", before, len(m.c.fleet.Services), m.lastErr)
	}
	if !strings.Contains(m.View(), "refresh failed") {
		t.Error("header shows no error marker")
	}
}

func TestTooSmallTerminalSaysTheMinimum(t *testing.T) {
	m, _ := newConsole(t, nil)
	run(m, tea.WindowSizeMsg{Width: 60, Height: 15})
	if v := m.View(); !strings.Contains(v, "at least 80x20") {
		t.Fatalf("small terminal view: %q", v)
	}
}

func TestServiceScreenShowsDrainCountdown(t *testing.T) {
	m, clock := newConsole(t, nil)
	selectService(t, m, "web", "production")
	run(m, press(m.keys.Services.Open))
	v := m.View()
	if !strings.Contains(v, "draining") || !strings.Contains(v, "left") {
		t.Fatalf("no draining countdown on web/production:\n%s", v)
	}
	clock.Advance(time.Second)
	_ = m.View()
}

// TestOnlyVisibleRowsAreFormatted counts rows formatted per frame on a large fleet.
func TestOnlyVisibleRowsAreFormatted(t *testing.T) {
	m := quiet(New(Config{Reader: staticReader{fleet: bigFleet(2000, 10)}, Now: func() time.Time { return t0 }}))
	run(m, tea.WindowSizeMsg{Width: 200, Height: 60})
	for _, msg := range resolve(m.startRefresh()) {
		run(m, msg)
	}
	m.View()
	if n := m.list.rendered; n == 0 || n > 60 {
		t.Fatalf("formatted %d rows for a 60-line screen of 2000 services", n)
	}
	run(m, press(m.keys.Nav.Down))
	m.View()
	if n := m.list.rendered; n > 2 {
		t.Fatalf("a cursor move re-formatted %d rows; want only the two that changed", n)
	}
}

// startConsole sizes a console and applies its first refresh.
func startConsole(t testing.TB, m *Model) {
	t.Helper()
	quiet(m)
	run(m, tea.WindowSizeMsg{Width: 120, Height: 36})
	for _, msg := range resolve(m.startRefresh()) {
		run(m, msg)
	}
	if !m.c.haveFleet {
		t.Fatalf("no fleet after the first refresh: %s", m.lastErr)
	}
}

// dangerousBindings are the bindings the keymap marks as changing AWS.
func dangerousBindings(k *Keys) []Binding {
	var out []Binding
	for _, b := range k.AllBindings() {
		if b.Dangerous {
			out = append(out, b)
		}
	}
	return out
}
