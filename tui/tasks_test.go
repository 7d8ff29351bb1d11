package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// hangingReader serves the demo fleet until hang is set; then Snapshot blocks until its
// context ends, like a DescribeAutoScalingGroups that never answers.
type hangingReader struct {
	ops.Reader
	hang atomic.Bool
	mu   sync.Mutex
	ctxs []context.Context
}

func (r *hangingReader) Snapshot(ctx context.Context) (model.Fleet, error) {
	r.mu.Lock()
	r.ctxs = append(r.ctxs, ctx)
	r.mu.Unlock()
	if r.hang.Load() {
		<-ctx.Done()
		return model.Fleet{}, ctx.Err()
	}
	return r.Reader.Snapshot(ctx)
}

func (r *hangingReader) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ctxs)
}

func (r *hangingReader) lastCtx() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctxs[len(r.ctxs)-1]
}

// gatedOperator holds every plan until release is closed, and records the contexts it was
// given.
type gatedOperator struct {
	recordingOperator
	release  chan struct{}
	execCtxs []context.Context
}

func (o *gatedOperator) PlanRollback(ctx context.Context, r ops.RollbackRequest) (model.Plan, error) {
	<-o.release
	return o.recordingOperator.PlanRollback(ctx, r)
}

func (o *gatedOperator) Execute(ctx context.Context, p model.Plan) (<-chan model.Progress, error) {
	o.mu.Lock()
	o.execCtxs = append(o.execCtxs, ctx)
	o.mu.Unlock()
	return o.recordingOperator.Execute(ctx, p)
}

// (a) A Snapshot that never returns ends after the task timeout with an error on the status
// line, and a later tick refreshes again.
func TestHungSnapshotTimesOutAndTheNextTickRefreshesAgain(t *testing.T) {
	clock, inv := demo(t)
	r := &hangingReader{Reader: inv}
	m := New(Config{Reader: r, Now: clock.Now, Clipboard: func(string) {}, Timeout: 20 * time.Millisecond})
	startConsole(t, m)

	r.hang.Store(true)
	clock.Advance(m.cfg.Refresh)
	run(m, clockMsg(clock.Now()))
	if m.refreshing() {
		t.Fatal("the console still says refreshing after the task timeout")
	}
	if s := ansiStrip(m.View()); !strings.Contains(s, "refresh timed out after 20ms; showing data from") {
		t.Fatalf("no timeout on the status line:\n%s", s)
	}

	r.hang.Store(false)
	calls := r.calls()
	clock.Advance(m.cfg.Refresh)
	run(m, clockMsg(clock.Now()))
	if r.calls() != calls+1 || m.refreshing() || m.lastErr != "" {
		t.Fatalf("the next tick did not refresh: snapshots %d -> %d, refreshing %v, error %q", calls, r.calls(), m.refreshing(), m.lastErr)
	}
}

// (b) r twice before the first plan returns opens one plan dialog and asks for one plan; the
// second press says why it does nothing.
func TestRollbackTwiceBeforeThePlanReturnsOpensOnePlan(t *testing.T) {
	op := &gatedOperator{release: make(chan struct{}),
		recordingOperator: recordingOperator{plan: model.Plan{Action: model.ActionRollback, Service: "web", Env: "staging"}}}
	m, _ := newConsole(t, op)
	selectService(t, m, "web", "staging")

	d := newDriver(m)
	d.send(press(m.keys.Services.Rollback))
	waitFor[planRequestMsg](t, d)
	if v := m.View(); !strings.Contains(v, "reading rollback plan for web/staging…") {
		t.Errorf("while the plan is read, the status line does not say so:\n%s", v)
	}
	d.send(press(m.keys.Services.Rollback))
	waitFor[planRequestMsg](t, d)
	waitFor[noticeMsg](t, d)
	if !strings.Contains(m.status, "rollback plan for web/staging is already being read") {
		t.Errorf("second r: status %q does not say a plan is already being read", m.status)
	}
	if v := m.View(); !strings.Contains(v, "already being read") {
		t.Errorf("second r: the status line does not show the refusal:\n%s", v)
	}
	close(op.release)
	waitFor[taskDoneMsg](t, d)
	if len(m.dialogs) != 1 || len(op.planned) != 1 {
		t.Fatalf("r twice: %d plan dialogs, %d PlanRollback calls; want 1 and 1", len(m.dialogs), len(op.planned))
	}
	if d.pending != 0 {
		t.Fatalf("%d commands still running", d.pending)
	}
}

// (c) Quitting cancels the contexts the console gave to Snapshot and to Execute, so that a
// running action's follower stops with the console.
func TestQuitCancelsTheContextsOfSnapshotAndExecute(t *testing.T) {
	clock, inv := demo(t)
	r := &hangingReader{Reader: inv}
	op := &gatedOperator{release: make(chan struct{}),
		recordingOperator: recordingOperator{Reader: r, plan: model.Plan{Action: model.ActionRollback, Service: "web", Env: "staging"}}}
	close(op.release)
	m := New(Config{Reader: r, Operator: op, Now: clock.Now, Clipboard: func(string) {}})
	startConsole(t, m)
	selectService(t, m, "web", "staging")
	run(m, press(m.keys.Services.Rollback))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.execCtxs) != 1 {
		t.Fatalf("Execute called %d times", len(op.execCtxs))
	}
	snap, exec := r.lastCtx(), op.execCtxs[0]
	if snap.Err() != nil && exec.Err() != nil {
		t.Fatal("contexts ended before quit")
	}
	run(m, press(m.keys.Global.Quit))
	if exec.Err() == nil {
		t.Error("quit did not cancel the context given to Execute")
	}
	if snap.Err() == nil {
		t.Error("quit did not cancel the context given to Snapshot")
	}
}

// driver runs a console the way Bubble Tea does: each command in its own goroutine, the
// messages applied one at a time in the order they arrive. Tests wait for a message by type.
type driver struct {
	m       *Model
	msgs    chan tea.Msg
	pending int
}

func newDriver(m *Model) *driver { return &driver{m: m, msgs: make(chan tea.Msg, 64)} }

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.spawn(cmd)
}

func (d *driver) spawn(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	d.pending++
	go func() { d.msgs <- cmd() }()
}

// waitFor applies the messages that arrive until one of type T has been applied.
func waitFor[T any](t *testing.T, d *driver) T {
	t.Helper()
	for {
		msg := <-d.msgs
		d.pending--
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				d.spawn(c)
			}
		default:
			d.send(msg)
			if v, ok := msg.(T); ok {
				return v
			}
		}
	}
}

// A plan taller than the screen scrolls in the dialog; its confirmation stays on screen.
func TestTallPlanScrollsInTheDialog(t *testing.T) {
	p := model.Plan{Action: model.ActionPromote, Service: "api", Env: "staging", CLI: "adstage-ops promote --service api --env staging --yes"}
	for i := range 30 {
		p.Steps = append(p.Steps, model.GroupStep{Group: fmt.Sprintf("api-staging-%02d", i), Instances: 2, Desired: 2})
	}
	op := &recordingOperator{plan: p}
	m, _ := newConsole(t, op)
	selectService(t, m, "api", "staging")
	run(m, press(m.keys.Services.Rollback))
	v := m.View()
	if len(m.dialogs) != 1 || !strings.Contains(v, "api-staging-00") || strings.Contains(v, "api-staging-29") || !strings.Contains(v, "enter confirm") || !strings.Contains(v, "╰") {
		t.Fatalf("tall plan: want the first group and the confirmation on screen, the last group below:\n%s", v)
	}
	for range 200 {
		run(m, press(m.keys.Dialog.ScrollDown))
	}
	if v := m.View(); !strings.Contains(v, "api-staging-29") || !strings.Contains(v, "same from a script") {
		t.Fatalf("scrolled to the end, the last group is not shown:\n%s", v)
	}
	if n := strings.Count(m.View(), "\n") + 1; n != 36 {
		t.Fatalf("view is %d lines, want 36", n)
	}
}

// The help overlay is built from the bindings of what has focus, and read-only mode leaves
// the dangerous ones out.
func TestHelpComesFromTheKeymap(t *testing.T) {
	m, _ := newConsole(t, nil)
	run(m, press(m.keys.Global.Help))
	v := m.View()
	for _, b := range []Binding{m.keys.Services.Open, m.keys.Services.Filter, m.keys.Nav.Down, m.keys.Global.Quit} {
		if !strings.Contains(v, b.Help().Desc) {
			t.Errorf("help lacks %q:\n%s", b.Help().Desc, v)
		}
	}
	for _, b := range dangerousBindings(&m.keys) {
		if strings.Contains(v, b.Help().Key+" "+b.Help().Desc) {
			t.Errorf("read-only help shows %q", b.Help().Desc)
		}
	}
	run(m, press(m.keys.Services.Open))
	if m.helpOpen || m.screen != screenServices {
		t.Fatal("a key did not close the help, or went on to the screen")
	}
}

// A Session settles after each key: every binding of the keymap, pressed on the services
// screen of the demo fleet, leaves no command running, and the plan keys reach the operator.
func TestSessionSettlesEveryBinding(t *testing.T) {
	clock, inv := demo(t)
	op := &recordingOperator{Reader: inv, plan: model.Plan{Action: model.ActionRollback, Service: "api", Env: "staging"}}
	s := NewSession(Config{Reader: inv, Operator: op, Now: clock.Now, Clipboard: func(string) {}}, 120, 36)
	keys := s.Keys()
	for _, b := range keys.AllBindings() {
		if b.Keys()[0] == keys.Global.Quit.Keys()[0] {
			continue
		}
		s.Press(keys.Dialog.Cancel)
		s.Press(keys.Global.Back)
		s.Press(b)
		if s.pending != s.m.following {
			t.Fatalf("after %s: %d commands outstanding, %d of them followers", b.Help().Desc, s.pending, s.m.following)
		}
	}
	if len(op.planned) == 0 {
		t.Fatal("no binding reached the operator")
	}
	s.Press(keys.Global.Quit)
	s.Close()
	if s.pending != 0 {
		t.Fatalf("%d commands outstanding after Close", s.pending)
	}
}
