package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
)

// The services screen, the service screen and the plan dialog at 120x40 and 200x60 (the
// audit view's are in audit_test.go; 80x24 and 160x45 in narrow_test.go and ledger_test.go).
var goldenSizes = []struct{ w, h int }{{120, 40}, {200, 60}}

func TestGoldenScreensAtSizes(t *testing.T) {
	for _, sz := range goldenSizes {
		name := fmt.Sprintf("%dx%d", sz.w, sz.h)
		t.Run("services"+name, func(t *testing.T) {
			m, _ := newConsole(t, &recordingOperator{})
			run(m, tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
			v := m.View()
			checkLines(t, v, sz.w, sz.h)
			for _, want := range []string{"SERVICE", "ENV", "HEALTH", "STATE", "ROLLBACK", "? help", "q quit"} {
				if !strings.Contains(v, want) {
					t.Errorf("services %s lacks %q", name, want)
				}
			}
			golden.RequireEqual(t, []byte(v))
		})
		t.Run("service"+name, func(t *testing.T) {
			m, _ := newConsole(t, &recordingOperator{})
			openService(t, m, "web", "production", sz.w, sz.h)
			v := m.View()
			checkLines(t, v, sz.w, sz.h)
			golden.RequireEqual(t, []byte(v))
		})
		t.Run("plan"+name, func(t *testing.T) {
			op := &recordingOperator{plan: tallProductionPlan()}
			m, _ := newConsole(t, op)
			run(m, tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
			selectService(t, m, "web", "production")
			run(m, press(m.keys.Services.Rollback))
			run(m, typeText("5xx spike"))
			run(m, press(m.keys.Dialog.Confirm))
			v := m.View()
			checkLines(t, v, sz.w, sz.h)
			for _, want := range []string{"type web to confirm", "same from a script: adstage-ops rollback --service web --env production --reason '5xx spike' --yes"} {
				if !strings.Contains(v, want) {
					t.Errorf("plan %s lacks %q:\n%s", name, want, v)
				}
			}
			golden.RequireEqual(t, []byte(v))
		})
	}
}
