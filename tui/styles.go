package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
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

// HighContrastPalette is the config's `theme: high-contrast`: full-strength colours, plain
// text at the terminal's extreme, and muted text that is still easy to read.
var HighContrastPalette = Palette{
	Primary:     lipgloss.AdaptiveColor{Light: "18", Dark: "14"},
	Muted:       lipgloss.AdaptiveColor{Light: "236", Dark: "252"},
	OK:          lipgloss.AdaptiveColor{Light: "22", Dark: "10"},
	Warning:     lipgloss.AdaptiveColor{Light: "94", Dark: "11"},
	Error:       lipgloss.AdaptiveColor{Light: "124", Dark: "9"},
	Busy:        lipgloss.AdaptiveColor{Light: "54", Dark: "13"},
	Destructive: lipgloss.AdaptiveColor{Light: "124", Dark: "9"},
	Text:        lipgloss.AdaptiveColor{Light: "16", Dark: "231"},
	Subtle:      lipgloss.AdaptiveColor{Light: "252", Dark: "238"},
}

// NoColorPalette has no colour at all (NO_COLOR, https://no-color.org): what colour says,
// the words and markers say too, and bold and reverse video still set things apart.
var NoColorPalette = Palette{
	Primary: lipgloss.NoColor{}, Muted: lipgloss.NoColor{}, OK: lipgloss.NoColor{}, Warning: lipgloss.NoColor{},
	Error: lipgloss.NoColor{}, Busy: lipgloss.NoColor{}, Destructive: lipgloss.NoColor{}, Text: lipgloss.NoColor{},
	Subtle: lipgloss.NoColor{},
}

// Theme names accepted by the config's `theme`.
const (
	ThemeDefault      = "default"
	ThemeHighContrast = "high-contrast"
)

// paletteFor is the palette of a theme; noColor (NO_COLOR) outranks any theme.
func paletteFor(theme string, noColor bool) Palette {
	switch {
	case noColor:
		return NoColorPalette
	case theme == ThemeHighContrast:
		return HighContrastPalette
	}
	return DefaultPalette
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
	// noColor drops the environments' own colours too (NO_COLOR).
	noColor bool
}

// NewStyles builds the styles from a palette.
func NewStyles(p Palette) Styles {
	base := lipgloss.NewStyle()
	_, noColor := p.Text.(lipgloss.NoColor)
	return Styles{
		palette:      p,
		noColor:      noColor,
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
	if color != "" && !s.noColor {
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
	if color != "" && !s.noColor {
		st = st.Foreground(lipgloss.Color(color))
	}
	return st.Render("✎ write")
}

// FrameLine is the rule under the header, in the colour of the environment in view.
func (s Styles) FrameLine(color string, width int) string {
	st := s.Frame.Foreground(s.palette.Muted)
	if color != "" && !s.noColor {
		st = s.Frame.Foreground(lipgloss.Color(color))
	}
	return st.Render(strings.Repeat("━", width))
}

// HelpStyles are the key hints' styles: bubbles' own greys, or none with NO_COLOR.
func (s Styles) HelpStyles(h help.Styles) help.Styles {
	if !s.noColor {
		return h
	}
	plain := s.Row
	return help.Styles{Ellipsis: plain, ShortKey: plain.Bold(true), ShortDesc: plain, ShortSeparator: plain,
		FullKey: plain.Bold(true), FullDesc: plain, FullSeparator: plain}
}
