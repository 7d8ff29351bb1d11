package tui

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// colourSGR finds a foreground or background colour in an SGR sequence (16, 256 or true
// colour), beside bold, reverse and the rest, which NO_COLOR keeps.
var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m`)

func themedConsole(t *testing.T, cfg Config) string {
	t.Helper()
	clock, inv := demo(t)
	cfg.Reader, cfg.Now, cfg.Refresh, cfg.Clipboard = inv, clock.Now, time.Hour, func(string) {}
	m := New(cfg)
	startConsole(t, m)
	run(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	return m.View()
}

// With NO_COLOR the console renders no colour at all, on a terminal that has them, and the
// environments' own colours are dropped too; the default and high-contrast themes colour.
func TestNoColorAndHighContrast(t *testing.T) {
	lipgloss.SetColorProfile(termenv.ANSI256)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	plain := themedConsole(t, Config{NoColor: true, Env: "production"})
	if loc := colourSGR.FindStringIndex(plain); loc != nil {
		t.Fatalf("NO_COLOR view has a colour at %d: %q", loc[0], plain[max(loc[0]-20, 0):min(loc[1]+20, len(plain))])
	}
	def := themedConsole(t, Config{})
	hc := themedConsole(t, Config{Theme: ThemeHighContrast})
	if !colourSGR.MatchString(def) || !colourSGR.MatchString(hc) {
		t.Fatal("the themes render no colour")
	}
	if def == hc {
		t.Fatal("high-contrast renders as the default theme")
	}
	if fmt.Sprint(HighContrastPalette.Muted) == fmt.Sprint(DefaultPalette.Muted) {
		t.Fatal("high-contrast keeps the default's muted grey")
	}
}
