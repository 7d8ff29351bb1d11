package tui

import (
	"strings"

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
	h.vp.SetContent(st.Title.Render("Keys") + "\n\n" + h.c.help.FullHelpView(groups) + "\n\n" + h.legend() + "\n\n" + st.Muted.Render("press any key to close"))
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

// legend explains every state, marker and colour the screens use, each in its own colour.
func (h *helpOverlay) legend() string {
	st := h.c.st
	type entry struct {
		text string
		what string
	}
	section := func(title string, es ...entry) string {
		var b strings.Builder
		b.WriteString(st.Title.Render(title))
		descW := max(h.vp.Width-2-16, 20)
		for _, e := range es {
			what := strings.ReplaceAll(st.Text.Width(descW).Render(st.Muted.Render(e.what)), "\n", "\n"+strings.Repeat(" ", 18))
			b.WriteString("\n  " + pad(e.text, 16) + what)
		}
		return b.String()
	}
	return strings.Join([]string{
		section("States (STATE)",
			entry{st.OK.Render("ok"), "nothing to report"},
			entry{st.Busy.Render("rollout 40%"), "a rollout is replacing instances with a new release"},
			entry{st.Warning.Render("rolling back 40%"), "AWS is reversing a rollout; the share already undone"},
			entry{st.Busy.Render("mixed"), "instances run more than one AMI: normal in a rollout, orange without one"},
			entry{st.Warning.Render("degraded"), "fewer healthy instances than desired, or an unhealthy one"},
			entry{st.Warning.Render("legacy LC"), "a group uses a launch configuration: promote and rollback wait until it moves to a launch template"},
		),
		section("Rollback (ROLLBACK)",
			entry{st.OK.Render("ready ~45s"), "r returns to the previous good release in about that long"},
			entry{st.Warning.Render("unverified"), "no release is known to have run well: the target was chosen by version number"},
			entry{st.Busy.Render("undo rollout"), "a rollout is running: r reverses it (the service screen names the AMI it returns to)"},
			entry{st.Busy.Render("rolling back"), "AWS is already rolling back"},
			entry{st.Warning.Render("none"), "no rollback possible: the service screen says why"},
			entry{st.Muted.Render("… / ?"), "not read yet / could not be read"},
		),
		section("Markers",
			entry{"6/6+3", "healthy of desired, and the extra instances a rollout launched before it terminates"},
			entry{st.Busy.Render("~45s left"), "drain countdown; ~ when the drain began before the console saw it"},
			entry{"⟳ / ⟲", "a rollout / a rollback running on a group"},
			entry{"ami-0e225…", "cut to the width (…); a wider terminal shows it whole"},
			entry{"›", "the cursor: it stops only on rows you can act on"},
		),
		section("Colours",
			entry{st.OK.Render("green"), "healthy, in service, all well"},
			entry{st.Warning.Render("orange") + "/" + st.Error.Render("red"), "a problem: degraded, unhealthy, failed, no rollback"},
			entry{st.Busy.Render("purple"), "something under way: rollout, pending, draining"},
			entry{st.Highlight.Render("blue"), "set apart, not wrong: the new release during a rollout, filter matches"},
			entry{"header", "the environment's colour (production red); write mode in production takes it too"},
		),
	}, "\n\n")
}
