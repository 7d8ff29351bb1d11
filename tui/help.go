package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// helpOverlay is the full help of what has focus, built from its key bindings. It scrolls
// when it is taller than the body; any other key closes it.
type helpOverlay struct {
	c  *common
	vp viewport.Model
}

func newHelpOverlay(c *common) *helpOverlay {
	h := &helpOverlay{c: c, vp: viewport.New(0, 0)}
	h.vp.KeyMap = viewport.KeyMap{}
	return h
}

func (h *helpOverlay) Init() tea.Cmd { return nil }

func (h *helpOverlay) SetSize(w, ht int) { h.vp.Width, h.vp.Height = w, ht }

// show fills the overlay with the help of the given bindings.
func (h *helpOverlay) show(groups [][]key.Binding) {
	st := h.c.st
	h.vp.SetContent(st.Title.Render("Keys") + "\n\n" + h.c.help.FullHelpView(groups) + "\n\n" + st.Muted.Render("press any key to close"))
	h.vp.GotoTop()
}

func (h *helpOverlay) ShortHelp() []key.Binding {
	if !h.tall() {
		return nil
	}
	k := h.c.keys.Nav
	return helpBindings(k.Up, k.Down, k.PageUp, k.PageDown)
}

func (h *helpOverlay) FullHelp() [][]key.Binding { return [][]key.Binding{h.ShortHelp()} }

func (h *helpOverlay) tall() bool { return h.vp.TotalLineCount() > h.vp.Height }

// scrolls reports whether msg scrolls the overlay rather than closing it.
func (h *helpOverlay) scrolls(msg tea.KeyMsg) bool {
	k := h.c.keys.Nav
	return h.tall() && (k.Up.Matches(msg) || k.Down.Matches(msg) || k.PageUp.Matches(msg) || k.PageDown.Matches(msg))
}

// Update scrolls on the cursor keys when the help is taller than the body.
func (h *helpOverlay) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || !h.scrolls(km) {
		return h, nil
	}
	k := h.c.keys.Nav
	switch {
	case k.Up.Matches(km):
		h.vp.ScrollUp(1)
	case k.Down.Matches(km):
		h.vp.ScrollDown(1)
	case k.PageUp.Matches(km):
		h.vp.PageUp()
	case k.PageDown.Matches(km):
		h.vp.PageDown()
	}
	return h, nil
}

func (h *helpOverlay) View() string { return h.vp.View() }
