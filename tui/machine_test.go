package tui

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// `l` on an instance row shows its console output in a scrolling view; `s` asks the front end
// for a shell on that instance (and on nothing else), and read-only mode refuses it.
func TestInstanceConsoleOutputAndShell(t *testing.T) {
	clock, inv := demo(t)
	var asked []string
	shell := func(id string, k model.ServiceKey) (*exec.Cmd, func(error), error) {
		asked = append(asked, id+" "+k.String())
		return exec.Command("true"), nil, nil
	}
	op := &recordingOperator{Reader: inv}
	s := NewSession(Config{Reader: inv, Operator: op, Now: clock.Now, Shell: shell, Clipboard: func(string) {}}, 120, 40)
	keys := s.Keys()
	s.Type("enter") // Press would send all of Open's keys, "l" among them
	s.Press(keys.Nav.Top)
	v := ansiStrip(s.View())
	line := ""
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "› i-") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("the cursor is not on an instance:\n%s", v)
	}
	instance := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "›"))[0]

	s.Press(keys.Service.Console)
	if v := s.View(); !strings.Contains(v, "console output of "+instance) || strings.Contains(v, "reading the console output") {
		t.Fatalf("l did not show the console output of %s:\n%s", instance, v)
	}
	s.Press(keys.Dialog.Cancel)
	if strings.Contains(s.View(), "console output of") {
		t.Fatal("esc did not close the console output")
	}

	s.Press(keys.Service.Shell)
	if len(asked) != 1 || !strings.HasPrefix(asked[0], instance+" ") {
		t.Fatalf("s asked for shells %v, want one on %s", asked, instance)
	}
	s.Press(keys.Nav.Bottom) // a baked image row: no instance under the cursor
	s.Press(keys.Service.Shell)
	if len(asked) != 1 || !strings.Contains(s.View(), "move the cursor onto an instance") {
		t.Errorf("s off an instance row: asked %v\n%s", asked, s.View())
	}
	s.Close()

	ro := NewSession(Config{Reader: inv, Now: clock.Now, ReadOnly: true, Shell: shell, Clipboard: func(string) {}}, 120, 40)
	k := ro.Keys()
	ro.Type("enter")
	ro.Press(k.Nav.Top)
	ro.Press(k.Service.Shell)
	if len(asked) != 1 || !strings.Contains(ro.View(), "read-only mode") {
		t.Errorf("read-only s: asked %v\n%s", asked, ro.View())
	}
	ro.Press(k.Service.Console)
	if !strings.Contains(ro.View(), "console output of") {
		t.Error("read-only mode refused l, which only reads")
	}
	ro.Close()
}

// The plan dialog shows the service's signals as the console last read them.
func TestPlanDialogShowsTheSignals(t *testing.T) {
	clock, inv := demo(t)
	op := &recordingOperator{Reader: inv, plan: model.Plan{Action: model.ActionRollback, Service: "web", Env: "staging", Steps: []model.GroupStep{{Group: "web-staging"}}}}
	s := NewSession(Config{Reader: inv, Operator: op, Now: clock.Now, Clipboard: func(string) {}}, 160, 45)
	keys := s.Keys()
	s.Press(keys.Services.Filter)
	s.Type("web staging")
	s.Press(keys.Filter.Apply)
	s.Press(keys.Services.Rollback)
	if v := ansiStrip(s.View()); !strings.Contains(v, "signals   5xx ") {
		t.Errorf("the rollback plan shows no signals line:\n%s", v)
	}
	s.Close()
}

// A running promote or rollback shows the service's 5xx rate on the status line, and its end
// the before/after line.
func TestActionProgressShowsSignalsAndBeforeAfter(t *testing.T) {
	clock, inv := demo(t)
	m := New(Config{Reader: inv, Now: clock.Now, Clipboard: func(string) {}})
	k := model.ServiceKey{Name: "web", Env: "production"}
	series := func(at time.Time, req, errs float64) model.Signals {
		var s model.Signals
		for i := 0; i < 5; i++ {
			t := at.Add(time.Duration(i-5) * time.Minute)
			s.Requests = append(s.Requests, model.Point{At: t, Value: req})
			s.Errors = append(s.Errors, model.Point{At: t, Value: errs})
		}
		return s
	}
	start := clock.Now().Truncate(time.Minute)
	m.c.signals = map[model.ServiceKey]model.Signals{k: series(start, 1000, 41)}
	m.noteSignalsBefore(model.Plan{Action: model.ActionRollback, Service: "web", Env: "production"})
	if got := m.signalsProgress(k, false); !strings.Contains(got, "5xx 4.1%") {
		t.Errorf("while running: %q", got)
	}
	clock.Advance(6 * time.Minute)
	m.c.signals[k] = series(start.Add(6*time.Minute), 1000, 2)
	if got := m.signalsProgress(k, true); !strings.Contains(got, "4.1% → 0.2%") || !strings.Contains(got, "6 min") {
		t.Errorf("at the end: %q", got)
	}
}
