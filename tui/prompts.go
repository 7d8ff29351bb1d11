package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/adstage/adstage-ops/model"
)

// The prompts before a plan: the reason for a production promote or rollback, the verdict
// and reason of a mark, and the override of a promote refused for a marked image. Each ends
// in a planRequestMsg; esc sends nothing.

const (
	reasonDialogID   = "reason"
	markDialogID     = "mark"
	overrideDialogID = "override"
	promptWidth      = 90
	// reasonLimit keeps a reason to one line that fits in an image tag with who and when.
	reasonLimit = 160
)

func reasonInput(value string) textinput.Model {
	in := textinput.New()
	in.Prompt = "reason: "
	in.Placeholder = "one line, e.g. 5xx spike after release 844271a"
	in.CharLimit = reasonLimit
	in.SetValue(value)
	in.CursorEnd()
	in.Focus()
	return in
}

// planHints are the keys of a prompt that ends in a plan.
func planHints(c *common) []key.Binding {
	k := c.keys.Dialog
	plan := k.Confirm
	plan.SetHelp(plan.Help().Key, "plan")
	return helpBindings(plan, k.Cancel)
}

// reasonDialog asks why, before a production promote or rollback is planned. The reason
// reaches the release note, the rolled-back mark and the audit log.
type reasonDialog struct {
	c      *common
	req    planRequest
	reason textinput.Model
	width  int
	closed bool
}

func newReasonDialog(c *common, req planRequest) *reasonDialog {
	return &reasonDialog{c: c, req: req, reason: reasonInput(req.reason)}
}

func (d *reasonDialog) ID() string                { return reasonDialogID }
func (d *reasonDialog) targetEnv() string         { return d.req.key.Env }
func (d *reasonDialog) Capturing() bool           { return true }
func (d *reasonDialog) Init() tea.Cmd             { return nil }
func (d *reasonDialog) SetSize(w, _ int)          { d.width = dialogWidth(w, promptWidth) }
func (d *reasonDialog) ShortHelp() []key.Binding  { return planHints(d.c) }
func (d *reasonDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *reasonDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || d.closed {
		return d, nil
	}
	k := d.c.keys.Dialog
	switch {
	case k.Cancel.Matches(km):
		d.closed = true
		return d, closeWith(reasonDialogID, notice(fmt.Sprintf("%s %s cancelled; nothing was sent", d.req.action, d.req.key), false))
	case k.Confirm.Matches(km):
		reason := strings.TrimSpace(d.reason.Value())
		if reason == "" {
			return d, notice(fmt.Sprintf("production %s needs a reason: one line for the release note and the audit log (esc cancels)", d.req.action), true)
		}
		d.closed = true
		req := d.req
		req.reason, req.reasoned = reason, true
		return d, closeWith(reasonDialogID, emit(planRequestMsg{req}))
	}
	var cmd tea.Cmd
	d.reason, cmd = d.reason.Update(km)
	return d, d.c.timer(cmd)
}

func (d *reasonDialog) View() string {
	st := d.c.st
	title := st.DangerTitle.Render(fmt.Sprintf("%s %s  — PRODUCTION", strings.ToUpper(string(d.req.action)), d.req.key))
	what := "why? it goes into the release note and the audit log"
	if d.req.action == model.ActionRollback {
		what = "why? it goes into the release note, the rolled-back mark on the image left and the audit log"
	}
	inner := max(d.width-st.Dialog.GetHorizontalPadding(), 1)
	body := title + "\n" + st.Text.Width(inner).Render(st.Muted.Render(what)) + "\n\n" + d.reason.View() + "\n\n" + d.c.hints(d.ShortHelp())
	return st.Dialog.Width(d.width).Render(body)
}

// markDialog asks whether a release is bad or good (b/g, keys of this prompt only), then a
// one-line reason, and plans the mark.
type markDialog struct {
	c      *common
	key    model.ServiceKey
	entry  model.LedgerEntry
	kind   model.MarkKind // "" until chosen
	reason textinput.Model
	width  int
	closed bool
}

func newMarkDialog(c *common, k model.ServiceKey, e model.LedgerEntry) *markDialog {
	return &markDialog{c: c, key: k, entry: e}
}

func (d *markDialog) ID() string                { return markDialogID }
func (d *markDialog) targetEnv() string         { return d.key.Env }
func (d *markDialog) Capturing() bool           { return d.kind != "" }
func (d *markDialog) Init() tea.Cmd             { return nil }
func (d *markDialog) SetSize(w, _ int)          { d.width = dialogWidth(w, promptWidth) }
func (d *markDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *markDialog) ShortHelp() []key.Binding {
	k := d.c.keys.Dialog
	if d.kind == "" {
		return helpBindings(k.MarkBad, k.MarkGood, k.Cancel)
	}
	return planHints(d.c)
}

func (d *markDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || d.closed {
		return d, nil
	}
	k := d.c.keys.Dialog
	if k.Cancel.Matches(km) {
		d.closed = true
		return d, closeWith(markDialogID, notice("mark cancelled; nothing was sent", false))
	}
	if d.kind == "" {
		switch {
		case k.MarkBad.Matches(km):
			d.kind = model.MarkBad
		case k.MarkGood.Matches(km):
			d.kind = model.MarkGood
		default:
			return d, nil
		}
		d.reason = reasonInput("")
		return d, nil
	}
	if k.Confirm.Matches(km) {
		reason := strings.TrimSpace(d.reason.Value())
		if reason == "" {
			return d, notice("a mark needs a reason: every operator reads it beside the release (esc cancels)", true)
		}
		d.closed = true
		req := planRequest{action: model.ActionMark, key: d.key, version: d.entry.Version, markKind: d.kind, reason: reason, reasoned: true}
		return d, closeWith(markDialogID, emit(planRequestMsg{req}))
	}
	var cmd tea.Cmd
	d.reason, cmd = d.reason.Update(km)
	return d, d.c.timer(cmd)
}

func (d *markDialog) View() string {
	st := d.c.st
	e := d.entry
	inner := max(d.width-st.Dialog.GetHorizontalPadding(), 1)
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(fmt.Sprintf("MARK %s v%d (%s)", d.key, e.Version, orDash(e.ImageID))) + "\n")
	b.WriteString(st.Text.Width(inner).Render(releaseStateStyle(st, e.State).Render(string(e.State))+st.Muted.Render(": "+e.Detail)) + "\n\n")
	if d.kind == "" {
		b.WriteString(st.Text.Width(inner).Render("is this release bad or good? a bad mark keeps every rollback away from its image; a good mark clears a rolled-back or bad record") + "\n")
	} else {
		b.WriteString("mark it " + markKindStyle(st, d.kind).Render(string(d.kind)) + "\n" + d.reason.View() + "\n")
	}
	b.WriteString("\n" + d.c.hints(d.ShortHelp()))
	return st.Dialog.Width(d.width).Render(b.String())
}

func markKindStyle(st Styles, k model.MarkKind) lipgloss.Style {
	if k == model.MarkGood {
		return st.OK
	}
	return st.Warning
}

// overrideDialog is the second confirmation of a promote refused because its image was
// rolled back or marked bad: it names the mark, takes a reason, and re-plans the promote of
// that image with the override, whose plan then needs the usual confirmation.
type overrideDialog struct {
	c      *common
	req    planRequest
	image  string
	mark   string
	reason textinput.Model
	width  int
	closed bool
}

func newOverrideDialog(c *common, req planRequest, image, mark string) *overrideDialog {
	return &overrideDialog{c: c, req: req, image: image, mark: mark, reason: reasonInput(req.reason)}
}

func (d *overrideDialog) ID() string                { return overrideDialogID }
func (d *overrideDialog) targetEnv() string         { return d.req.key.Env }
func (d *overrideDialog) Capturing() bool           { return true }
func (d *overrideDialog) Init() tea.Cmd             { return nil }
func (d *overrideDialog) SetSize(w, _ int)          { d.width = dialogWidth(w, promptWidth) }
func (d *overrideDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *overrideDialog) ShortHelp() []key.Binding {
	k := d.c.keys.Dialog
	plan := k.Confirm
	plan.SetHelp(plan.Help().Key, "plan the override")
	return helpBindings(plan, k.Cancel)
}

func (d *overrideDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || d.closed {
		return d, nil
	}
	k := d.c.keys.Dialog
	switch {
	case k.Cancel.Matches(km):
		d.closed = true
		return d, closeWith(overrideDialogID, notice(fmt.Sprintf("promote %s cancelled; nothing was sent", d.req.key), false))
	case k.Confirm.Matches(km):
		reason := strings.TrimSpace(d.reason.Value())
		if reason == "" {
			return d, notice("promoting a marked image needs a reason: it is written where every operator sees it (esc cancels)", true)
		}
		d.closed = true
		req := d.req
		req.imageID, req.fromEnv = d.image, ""
		req.allowBad, req.reason, req.reasoned = true, reason, true
		return d, closeWith(overrideDialogID, emit(planRequestMsg{req}))
	}
	var cmd tea.Cmd
	d.reason, cmd = d.reason.Update(km)
	return d, d.c.timer(cmd)
}

func (d *overrideDialog) View() string {
	st := d.c.st
	inner := max(d.width-st.Dialog.GetHorizontalPadding(), 1)
	q := fmt.Sprintf("%s was %s — promote it anyway?", d.image, d.mark)
	body := st.DangerTitle.Render("OVERRIDE: PROMOTE A MARKED IMAGE to "+d.req.key.String()) + "\n" +
		st.Text.Width(inner).Render(st.Warning.Render(q)) + "\n" +
		st.Text.Width(inner).Render(st.Muted.Render("the reason is written into the release note and the audit log; the plan that follows still needs your confirmation")) + "\n\n" +
		d.reason.View() + "\n\n" + d.c.hints(d.ShortHelp())
	return st.Dialog.Width(d.width).Render(body)
}
