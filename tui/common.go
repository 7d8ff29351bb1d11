package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// Component is the contract of every screen and dialog (soft-serve's common.Component):
// a tea.Model that lays itself out in the size it is given and lists its own key bindings,
// from which the short help, the full help and the dialog hints are built. A component never
// changes the root: it answers with messages (open this, close me, plan that, say this).
type Component interface {
	tea.Model
	help.KeyMap
	SetSize(width, height int)
}

// Dialog is a modal on the root's stack. It sees messages before the screens, and closes
// itself by answering closeDialogMsg with its id.
type Dialog interface {
	Component
	ID() string
}

// common is the small context every component shares: styles, keys, size, the console's
// configuration and what the root has read (the fleet, running actions, rollback readiness).
// Components read it; only the root writes it.
type common struct {
	cfg    Config
	st     Styles
	keys   *Keys
	help   help.Model
	width  int
	height int // of the body: the screen minus header, frame, status and help lines

	fleet     model.Fleet
	haveFleet bool
	// actions holds the latest progress of each running action, by service.
	actions map[model.ServiceKey]model.Progress
	// ready is each service's rollback readiness, read for the rows on screen.
	ready map[model.ServiceKey]readyEntry
	// signals are the CloudWatch signals of the services read so far (signals.go).
	signals map[model.ServiceKey]model.Signals
	// signalsBefore are a service's signals when a promote or rollback of it started, for the
	// before/after line when it ends.
	signalsBefore map[model.ServiceKey]signalsAt
	spin          spinner.Model

	// timer wraps every command that only waits for wall-clock time (the clock, the spinner,
	// the text cursor's blink). Tests that run commands synchronously replace it with one that
	// drops them.
	timer func(tea.Cmd) tea.Cmd
}

type readyEntry struct {
	r   model.Readiness
	err bool
	at  time.Time
}

func (c *common) now() time.Time { return c.cfg.Now() }

// spinner is the busy mark of the running tasks.
func (c *common) spinner() string { return c.spin.View() }

// hints renders a component's bindings as the one-line hint under a dialog, from the keymap
// (so it cannot drift from what the keys do).
func (c *common) hints(bs []key.Binding) string {
	var parts []string
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		parts = append(parts, b.Help().Key+" "+b.Help().Desc)
	}
	return c.st.Muted.Render(strings.Join(parts, " · "))
}

// Messages a component answers with, for the root to act on.
type (
	// noticeMsg puts a sentence on the status line.
	noticeMsg struct {
		text string
		err  bool
	}
	// closeDialogMsg closes the dialog with that id.
	closeDialogMsg struct{ id string }
	// openDialogMsg pushes a dialog.
	openDialogMsg struct{ d Dialog }
	// openServiceMsg shows a service's screen; openAuditMsg its history.
	openServiceMsg struct{ key model.ServiceKey }
	openAuditMsg   struct{ key model.ServiceKey }
	// backMsg leaves the screen in view.
	backMsg struct{}
	// focusMsg says which rows are on screen changed.
	focusMsg struct{}
	// openPromoteMsg opens the image picker of a service.
	openPromoteMsg struct{ key model.ServiceKey }
	// planRequestMsg asks the operator for a plan; nothing changes until it is confirmed.
	planRequestMsg struct{ req planRequest }
	// executeMsg carries out a confirmed plan; cancelPlanMsg records a declined one.
	executeMsg    struct{ plan model.Plan }
	cancelPlanMsg struct{ plan model.Plan }
	// overrideRequestMsg asks to override the refusal of a promote whose image was rolled
	// back or marked bad.
	overrideRequestMsg struct {
		req  planRequest
		plan model.Plan
	}
	// copyMsg copies text to the clipboard.
	copyMsg struct{ text string }
)

// planRequest is what a key or a dialog asks to plan, in the console's terms; actions.go
// turns it into the action layer's request.
type planRequest struct {
	action   model.ActionKind
	key      model.ServiceKey
	instance string // bake
	label    string // bake
	noReboot bool   // bake
	imageID  string // promote
	fromEnv  string // promote
	// allowBad promotes an image that was rolled back or marked bad (the override); it needs
	// a reason.
	allowBad bool
	version  int64          // mark
	markKind model.MarkKind // mark
	// reason goes into the request (the release note, the rolled-back mark, the audit log).
	reason string
	// reasoned is set once the operator was asked for the reason (production promote and
	// rollback ask before planning).
	reasoned bool
}

// needsReason reports whether the console asks for a reason before planning: production
// promote and rollback, where the reason reaches the release note and the rolled-back mark.
func (r planRequest) needsReason(production func(string) bool) bool {
	return !r.reasoned && (r.action == model.ActionPromote || r.action == model.ActionRollback) && production(r.key.Env)
}

// text names the plan for the status line: "rollback plan for web/production".
func (r planRequest) text() string {
	if r.action == model.ActionBake {
		return "bake plan for " + r.instance
	}
	return string(r.action) + " plan for " + r.key.String()
}

// emit is a command answering msg.
func emit(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

func notice(text string, bad bool) tea.Cmd { return emit(noticeMsg{text: text, err: bad}) }

// refuse answers a pressed binding that is disabled with the reason it is.
func refuse(b Binding) tea.Cmd {
	if r := b.DisabledReason(); r != "" {
		return notice(r, true)
	}
	return nil
}
