package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Palette names the colour roles the console uses; every style is built from these.
type Palette struct {
	Primary, Muted, OK, Warning, Error, Busy, Destructive, Text, Subtle lipgloss.TerminalColor
}

// DefaultPalette works on dark and light terminals.
var DefaultPalette = Palette{
	Primary:     lipgloss.AdaptiveColor{Light: "25", Dark: "39"},
	Muted:       lipgloss.AdaptiveColor{Light: "244", Dark: "245"},
	OK:          lipgloss.AdaptiveColor{Light: "28", Dark: "42"},
	Warning:     lipgloss.AdaptiveColor{Light: "130", Dark: "214"},
	Error:       lipgloss.AdaptiveColor{Light: "160", Dark: "203"},
	Busy:        lipgloss.AdaptiveColor{Light: "91", Dark: "177"},
	Destructive: lipgloss.AdaptiveColor{Light: "160", Dark: "196"},
	Text:        lipgloss.AdaptiveColor{Light: "235", Dark: "252"},
	Subtle:      lipgloss.AdaptiveColor{Light: "254", Dark: "236"},
}

// Styles is every style the console renders with. Components take it from the shared
// context; none calls lipgloss.NewStyle itself.
type Styles struct {
	Header, HeaderKey, HeaderEnv, HeaderLock, HeaderWrite lipgloss.Style
	Title, Muted, OK, Warning, Error, Busy, Destructive   lipgloss.Style
	ColumnHeader, Row, Selected, Match                    lipgloss.Style
	// Highlight sets something apart without saying it is wrong: the new release's
	// instances during a rollout.
	Highlight                        lipgloss.Style
	Dialog, DialogTitle, DangerTitle lipgloss.Style
	Status, StatusError              lipgloss.Style
	Frame                            lipgloss.Style
	// Text is plain text; components set its width to wrap a body before it scrolls.
	Text    lipgloss.Style
	palette Palette
}

// NewStyles builds the styles from a palette.
func NewStyles(p Palette) Styles {
	base := lipgloss.NewStyle()
	return Styles{
		palette:      p,
		Header:       base.Foreground(p.Text).Bold(true),
		HeaderKey:    base.Foreground(p.Muted),
		HeaderEnv:    base.Bold(true).Padding(0, 1),
		HeaderLock:   base.Foreground(p.Warning).Bold(true),
		HeaderWrite:  base.Foreground(p.OK).Bold(true),
		Title:        base.Foreground(p.Primary).Bold(true),
		Muted:        base.Foreground(p.Muted),
		OK:           base.Foreground(p.OK),
		Warning:      base.Foreground(p.Warning),
		Error:        base.Foreground(p.Error).Bold(true),
		Busy:         base.Foreground(p.Busy),
		Destructive:  base.Foreground(p.Destructive).Bold(true),
		ColumnHeader: base.Foreground(p.Muted).Bold(true),
		Row:          base,
		Selected:     base.Reverse(true),
		Match:        base.Foreground(p.Primary).Underline(true).Bold(true),
		Highlight:    base.Foreground(p.Primary),
		Dialog:       base.Border(lipgloss.RoundedBorder()).BorderForeground(p.Primary).Padding(0, 1),
		DialogTitle:  base.Foreground(p.Primary).Bold(true),
		DangerTitle:  base.Foreground(p.Destructive).Bold(true),
		Status:       base.Foreground(p.Muted),
		StatusError:  base.Foreground(p.Error),
		Frame:        base,
		Text:         base,
	}
}

// EnvBadge renders an environment's name on its colour.
func (s Styles) EnvBadge(env, color string) string {
	st := s.HeaderEnv
	if color != "" {
		st = st.Background(lipgloss.Color(color)).Foreground(lipgloss.Color("15"))
	} else {
		st = st.Reverse(true)
	}
	return st.Render(env)
}

// WriteBadge is the header's write-mode mark, in the environment's colour when it is given
// (production), else in the OK colour.
func (s Styles) WriteBadge(color string) string {
	st := s.HeaderWrite
	if color != "" {
		st = st.Foreground(lipgloss.Color(color))
	}
	return st.Render("✎ write")
}

// FrameLine is the rule under the header, in the colour of the environment in view.
func (s Styles) FrameLine(color string, width int) string {
	st := s.Frame.Foreground(s.palette.Muted)
	if color != "" {
		st = s.Frame.Foreground(lipgloss.Color(color))
	}
	return st.Render(strings.Repeat("━", width))
}
