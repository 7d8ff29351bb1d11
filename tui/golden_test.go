package tui

import (
	"bytes"
	"io"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
)

func init() { lipgloss.SetColorProfile(termenv.Ascii) }

// console starts the console on the demo fleet in a teatest program at 120x36 and a fixed
// clock, and waits for the first snapshot to be on screen.
func console(t *testing.T) (*teatest.TestModel, *Model) {
	t.Helper()
	clock, inv := demo(t)
	m := New(Config{Reader: inv, Now: clock.Now, Refresh: time.Hour})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 36))
	// The first snapshot, then the rollback readiness of the rows on screen.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("worker-reports")) && bytes.Contains(b, []byte("ready ~"))
	}, teatest.WithDuration(5*time.Second))
	return tm, m
}

func finish(t *testing.T, tm *teatest.TestModel) *Model {
	t.Helper()
	tm.Send(press(DefaultKeys().Global.Quit))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	return fm
}

func TestGoldenServicesScreen(t *testing.T) {
	tm, _ := console(t)
	fm := finish(t, tm)
	golden.RequireEqual(t, []byte(fm.View()))
}

func TestGoldenFilter(t *testing.T) {
	tm, _ := console(t)
	keys := DefaultKeys()
	tm.Send(press(keys.Services.Filter))
	tm.Type("wrk")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("of 13 services")) || bytes.Contains(b, []byte("/wrk"))
	},
		teatest.WithDuration(5*time.Second))
	tm.Send(press(keys.Filter.Apply))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("filter: wrk")) }, teatest.WithDuration(5*time.Second))
	fm := finish(t, tm)
	golden.RequireEqual(t, []byte(fm.View()))
}

func TestGoldenServiceScreenWithDrainingTargets(t *testing.T) {
	tm, _ := console(t)
	keys := DefaultKeys()
	tm.Send(press(keys.Services.Filter))
	tm.Type("web pro")
	tm.Send(press(keys.Filter.Apply))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("filter: web pro")) }, teatest.WithDuration(5*time.Second))
	tm.Send(press(keys.Services.Open))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Baked images")) }, teatest.WithDuration(5*time.Second))
	fm := finish(t, tm)
	if fm.detail.key.Name != "web" || fm.detail.key.Env != "production" {
		t.Fatalf("opened %v", fm.detail.key)
	}
	golden.RequireEqual(t, []byte(fm.View()))
}

var _ = io.Discard
var _ tea.Model = (*Model)(nil)
