package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/adstage/adstage-ops/model"
)

// command types a command line as a burst after the command key, as a fast typist or a
// paste-less SSH link delivers it, and enters it.
func command(m *Model, text string) {
	run(m, press(m.keys.Global.Command))
	run(m, typeText(text))
	run(m, press(m.keys.Dialog.Confirm))
}

// :web prod jumps to the service; :rollback web prod opens its rollback plan (via the reason
// a production rollback asks for); names are matched in any case and by their beginning.
func TestCommandLineJumpsAndActs(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionRollback, Service: "web", Env: "production", Production: true, CLI: "adstage-ops rollback --service web --env production --yes"}}
	m, _ := newConsole(t, op)
	command(m, "web prod")
	if m.screen != screenService || m.detail.key != (model.ServiceKey{Name: "web", Env: "production"}) {
		t.Fatalf(":web prod: screen %v key %v", m.screen, m.detail.key)
	}
	run(m, press(m.keys.Global.Back))
	command(m, "Web STAG")
	if m.detail.key != (model.ServiceKey{Name: "web", Env: "staging"}) {
		t.Fatalf(":Web STAG opened %v", m.detail.key)
	}
	run(m, press(m.keys.Global.Back))
	command(m, "rollback web prod")
	if len(m.dialogs) != 1 || m.dialogs[0].ID() != reasonDialogID {
		t.Fatalf(":rollback web prod: dialogs %d (status %q)", len(m.dialogs), m.status)
	}
	run(m, typeText("5xx"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(m.dialogs) != 1 || !strings.Contains(m.View(), "ROLLBACK") {
		t.Fatalf("no rollback plan:\n%s", m.View())
	}
	if len(op.executed) != 0 {
		t.Fatal("a command line executed without confirmation")
	}
}

func TestCommandLineSaysWhatItDidNotFind(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	command(m, "webb")
	if m.screen != screenServices || !strings.Contains(m.status, `no service "webb" (did you mean web?)`) {
		t.Fatalf("status %q", m.status)
	}
	command(m, "web review")
	if !strings.Contains(m.status, `web has no environment "review"`) {
		t.Fatalf("status %q", m.status)
	}
}

// :env staging shows staging in place, on the list and on a service's screen; :env all
// shows every environment again.
func TestCommandLineSwitchesEnvironmentInPlace(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	total := len(m.list.rows)
	command(m, "env staging")
	for _, k := range m.list.rows {
		if k.Env != "staging" {
			t.Fatalf(":env staging lists %v", k)
		}
	}
	if len(m.list.rows) == 0 || len(m.list.rows) >= total {
		t.Fatalf(":env staging lists %d of %d", len(m.list.rows), total)
	}
	if env, _ := m.envColor(); env != "staging" {
		t.Fatalf("header env %q", env)
	}
	selectService(t, m, "web", "staging")
	run(m, press(m.keys.Services.Open))
	command(m, "env prod")
	if m.screen != screenService || m.detail.key != (model.ServiceKey{Name: "web", Env: "production"}) {
		t.Fatalf(":env prod on web/staging's screen: screen %v key %v", m.screen, m.detail.key)
	}
	command(m, "env all")
	if len(m.list.rows) != total {
		t.Fatalf(":env all lists %d of %d", len(m.list.rows), total)
	}
}

func TestCommandLineQuits(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, press(m.keys.Global.Command))
	run(m, typeText("q"))
	_, cmd := m.Update(press(m.keys.Dialog.Confirm))
	var quit bool
	for _, msg := range resolve(cmd) {
		if c, ok := msg.(commandMsg); ok {
			_, qc := m.Update(c)
			_, quit = qc().(tea.QuitMsg)
		}
	}
	if !quit {
		t.Fatal(":q did not quit")
	}
}

// ! lists only the services with a problem, the worst first, and again every service.
func TestProblemsOnlyWorstFirst(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	total := len(m.list.rows)
	run(m, press(m.keys.Services.Problems))
	rows := m.list.rows
	if len(rows) == 0 || len(rows) >= total {
		t.Fatalf("problems only: %d of %d", len(rows), total)
	}
	prev := 1 << 30
	for _, k := range rows {
		s, _ := m.c.fleet.Service(k.Name, k.Env)
		r := problemRank(s)
		if r == 0 || r > prev {
			t.Fatalf("%v ranks %d after %d", k, r, prev)
		}
		prev = r
	}
	if !strings.Contains(m.View(), "problems only") {
		t.Fatalf("not said:\n%s", m.View())
	}
	run(m, press(m.keys.Services.Problems))
	if len(m.list.rows) != total {
		t.Fatalf("! again lists %d of %d", len(m.list.rows), total)
	}
}

func TestGoldenProblemsOnly120x40(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	run(m, press(m.keys.Services.Problems))
	v := m.View()
	checkLines(t, v, 120, 40)
	golden.RequireEqual(t, []byte(v))
}
