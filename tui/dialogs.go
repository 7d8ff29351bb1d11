package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// Dialog widths: each is at most its width and leaves dialogMargin columns of the screen.
const (
	dialogMargin       = 4
	planDialogWidth    = 110
	bakeDialogWidth    = 80
	promoteDialogWidth = 100
	// The image picker shows promoteRows images, the cursor promoteAbove rows from the top.
	promoteRows  = 15
	promoteAbove = 7
	promotePage  = 5
	colLabel     = 14
)

// dialogWidth is a dialog's width (border excluded) on a body of w columns.
func dialogWidth(w, most int) int { return max(min(w-dialogMargin, most), 1) }

// Dialog ids: the root closes a dialog by its id.
const (
	planDialogID    = "plan"
	bakeDialogID    = "bake"
	promoteDialogID = "promote"
)

// close answers the root that the dialog with id is done, with what to do next.
func closeWith(id string, then ...tea.Cmd) tea.Cmd {
	return tea.Batch(append([]tea.Cmd{emit(closeDialogMsg{id})}, then...)...)
}

// planDialog shows a plan and asks for confirmation. Nothing is sent before enter;
// production makes the operator type the service name. A body taller than the screen
// scrolls in a viewport.
type planDialog struct {
	c       *common
	plan    model.Plan
	req     planRequest // what was asked, for the override of a marked image
	confirm textinput.Model
	body    viewport.Model
	width   int
	closed  bool
	// seen is set once the whole plan has been on screen (it fits, or the operator scrolled
	// to its end): enter confirms nothing before.
	seen bool
}

func newPlanDialog(c *common, p model.Plan, req planRequest) *planDialog {
	d := &planDialog{c: c, plan: p, req: req, body: viewport.New(0, 0)}
	d.body.KeyMap = viewport.KeyMap{} // scrolling goes through the dialog's keymap
	if d.needsName() {
		d.confirm = textinput.New()
		d.confirm.Prompt = "type " + p.Service + " to confirm: "
		d.confirm.Focus()
	}
	return d
}

func (d *planDialog) ID() string { return planDialogID }

// targetEnv is the environment the plan acts on, for the header.
func (d *planDialog) targetEnv() string { return d.plan.Env }

// Capturing reports whether the dialog takes text (the service name of a production plan).
func (d *planDialog) Capturing() bool { return d.needsName() }
func (d *planDialog) Init() tea.Cmd   { return nil }
func (d *planDialog) needsName() bool { return d.plan.Production && !d.plan.Blocked() }

// overridable reports whether the plan is a promote refused only because its image was
// rolled back or marked bad: the operator may then override, with a reason.
func (d *planDialog) overridable() bool {
	if d.plan.Action != model.ActionPromote || d.req.allowBad || len(d.plan.Steps) == 0 {
		return false
	}
	fs := d.plan.Failures()
	for _, c := range fs {
		if c.Name != imageMarksCheck {
			return false
		}
	}
	return len(fs) > 0
}

// SetSize lays the body out in what the screen leaves beside the title and the footer, which
// are always on screen: a body taller than that scrolls.
func (d *planDialog) SetSize(w, h int) {
	st := d.c.st
	d.width = dialogWidth(w, planDialogWidth)
	inner := d.inner()
	content := st.Text.Width(inner).Render(d.bodyText())
	lines := lineCount(content)
	// Around the body: the border, the title, the blank line and the footer (wrapped at the
	// dialog's width; it has the same number of lines whatever the scroll position).
	d.body.Width = inner
	d.body.SetContent(content)
	chrome := func() int {
		return st.Dialog.GetVerticalFrameSize() + lineCount(d.title()) + 1 + lineCount(d.footer())
	}
	d.body.Height = lines
	if c := chrome(); lines > h-c {
		d.body.Height = 1 // it scrolls: the footer says where it is, one line more
	}
	d.body.Height = max(min(lines, h-chrome()), 1)
	d.body.SetYOffset(d.body.YOffset) // clamp to the new height
	d.sawAll()
}

// inner is the dialog's width inside its border and padding.
func (d *planDialog) inner() int {
	return max(d.width-d.c.st.Dialog.GetHorizontalPadding(), 1)
}

// sawAll records that the end of the plan is on screen.
func (d *planDialog) sawAll() {
	if d.body.AtBottom() {
		d.seen = true
	}
}

func lineCount(s string) int { return strings.Count(s, "\n") + 1 }

// scrolls reports whether the body is taller than the room it has.
func (d *planDialog) scrolls() bool { return d.body.TotalLineCount() > d.body.Height }

func (d *planDialog) ShortHelp() []key.Binding {
	k := d.c.keys.Dialog
	b := []Binding{k.Confirm, k.Cancel, k.Copy}
	if d.plan.Blocked() {
		b = []Binding{k.Cancel, k.Copy}
		if d.overridable() {
			b = append(b, k.Override)
		}
	}
	if d.scrolls() {
		sc := k.ScrollDown // one hint for both directions
		sc.SetHelp("↑↓ pgup/pgdn", "scroll")
		b = append(b, sc)
	}
	return helpBindings(b...)
}

func (d *planDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *planDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || d.closed {
		return d, nil
	}
	k := d.c.keys.Dialog
	switch {
	case k.Cancel.Matches(km):
		d.closed = true
		return d, closeWith(planDialogID, emit(cancelPlanMsg{d.plan}))
	case k.Copy.Matches(km):
		return d, emit(copyMsg{d.script()})
	case k.Override.Matches(km) && d.overridable():
		d.closed = true
		return d, closeWith(planDialogID, emit(overrideRequestMsg{req: d.req, plan: d.plan}))
	case k.Confirm.Matches(km):
		if d.plan.Blocked() {
			return d, notice(fmt.Sprintf("%s cannot run: %s", d.plan.Action, d.plan.FailureText()), true)
		}
		if !d.seen {
			return d, notice("read the whole plan first: ↓/pgdn scrolls to its end (checks and the CLI command are below)", true)
		}
		if d.needsName() && strings.TrimSpace(d.confirm.Value()) != d.plan.Service {
			return d, notice(fmt.Sprintf("production: type %q exactly to confirm, or esc to cancel", d.plan.Service), true)
		}
		d.closed = true
		return d, closeWith(planDialogID, emit(executeMsg{d.plan}))
	case d.scrolls() && k.ScrollUp.Matches(km):
		if km.Type == tea.KeyPgUp {
			d.body.PageUp()
		} else {
			d.body.ScrollUp(1)
		}
		return d, nil
	case d.scrolls() && k.ScrollDown.Matches(km):
		if km.Type == tea.KeyPgDown {
			d.body.PageDown()
		} else {
			d.body.ScrollDown(1)
		}
		d.sawAll()
		return d, nil
	}
	if d.needsName() {
		var cmd tea.Cmd
		d.confirm, cmd = d.confirm.Update(km)
		return d, d.c.timer(cmd)
	}
	return d, nil
}

func (d *planDialog) title() string {
	st := d.c.st
	p := d.plan
	title := fmt.Sprintf("%s %s", strings.ToUpper(string(p.Action)), p.Target())
	if p.Production {
		return st.DangerTitle.Render(title + "  — PRODUCTION")
	}
	return st.DialogTitle.Render(title)
}

// bodyText is the whole plan: every group, the checks and the CLI command.
func (d *planDialog) bodyText() string {
	st := d.c.st
	p := d.plan
	var b strings.Builder
	if p.Bake != nil {
		reboot := "reboots the instance for a consistent disk"
		if p.Bake.NoReboot {
			reboot = st.Warning.Render("no reboot: the disk may be inconsistent")
		}
		fmt.Fprintf(&b, "image %s, label %s; %s\n", p.Bake.Name, p.Bake.Label, reboot)
	}
	if mk := p.Mark; mk != nil {
		images := "its image"
		if len(mk.Images) > 0 {
			images = strings.Join(mk.Images, ", ")
		}
		fmt.Fprintf(&b, "mark release v%d (%s) %s", mk.Version, images, markKindStyle(st, mk.Mark.Kind).Render(string(mk.Mark.Kind)))
		if mk.Mark.Reason != "" {
			b.WriteString(": " + mk.Mark.Reason)
		}
		b.WriteString("\n")
	}
	for _, s := range p.Steps {
		about := fmt.Sprintf("%d instances, desired %d", s.Instances, s.Desired)
		if s.Template.Name != "" || s.Template.Version != "" {
			about += fmt.Sprintf(", template %s v%s", orDash(s.Template.Name), orDash(s.Template.Version))
		}
		fmt.Fprintf(&b, "\n%s  %s\n", st.Title.Render(s.Group), st.Muted.Render(about))
		if p.Action == model.ActionCancel {
			fmt.Fprintf(&b, "  %s\n", st.Warning.Render(fmt.Sprintf("stop the running rollout %s (%s, %d%% done) where it is; nothing is rolled back", s.RefreshID, s.RefreshStatus, s.RefreshPercent)))
			fmt.Fprintf(&b, "  %d stay on the new release %s\n", s.OnTo, imageRef(s.ToImage))
			fmt.Fprintf(&b, "  %d stay on the old release %s\n", s.OnFrom, imageRef(s.FromImage))
			continue
		}
		// A blocked plan may know neither end: it says nothing rather than "from -".
		if s.FromImage.ImageID != "" {
			fmt.Fprintf(&b, "  from %s\n", imageRef(s.FromImage))
		}
		to := ""
		if s.ToImage.ImageID != "" {
			to = imageRef(s.ToImage)
		}
		if s.ToVersion != "" {
			to += st.Muted.Render(" (launch template version " + s.ToVersion + ")")
		}
		if s.RefreshID != "" {
			fmt.Fprintf(&b, "  %s\n", st.Warning.Render("roll back the running rollout "+s.RefreshID))
			if to != "" {
				fmt.Fprintf(&b, "  back to %s%s\n", strings.TrimSpace(to), st.Muted.Render(", the release the group was on"))
			}
		} else if to != "" {
			fmt.Fprintf(&b, "  to   %s\n", strings.TrimSpace(to))
		}
	}
	if p.Strategy != "" {
		fmt.Fprintf(&b, "\nstrategy  %s\n", p.Strategy)
	}
	if p.Capacity != "" {
		fmt.Fprintf(&b, "capacity  %s\n", p.Capacity)
	}
	if p.RestoreEstimate > 0 && !p.Blocked() {
		fmt.Fprintf(&b, "takes     about %s\n", p.RestoreEstimate.Round(time.Second))
	}
	switch p.Action {
	case model.ActionPromote, model.ActionRollback, model.ActionCancel:
		// The signals the console last read for the service (CloudWatch, once a minute).
		if sig, ok := d.c.signals[p.Key()]; ok {
			line := "signals   " + sig.Summary()
			if sig.InAlarm() {
				line = st.Error.Render(line)
			}
			b.WriteString(line + "\n")
		}
	}
	if len(p.Checks) > 0 {
		b.WriteString("\nchecks\n")
		for _, c := range p.Checks {
			mark := st.OK.Render("✓")
			switch {
			case !c.OK && c.Warn:
				mark = st.Warning.Render("!")
			case !c.OK:
				mark = st.Error.Render("✗")
			}
			line := " " + mark + " " + c.Name
			if c.Detail != "" {
				line += st.Muted.Render(": " + c.Detail)
			}
			b.WriteString(line + "\n")
		}
	}
	if p.CLI != "" {
		b.WriteString("\n" + st.Muted.Render("same from a script: ") + d.script() + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// script is the command that does what the plan does unattended: the plan's CLI twin (which
// carries --yes already, from the action layer) and --demo when the console runs on the demo
// fleet.
func (d *planDialog) script() string {
	s := d.plan.CLI
	if s == "" {
		return ""
	}
	words := strings.Fields(s)
	if d.c.cfg.Demo && !slices.Contains(words, "--demo") {
		s += " --demo"
	}
	return s
}

// footer is the confirmation: where the plan is scrolled to, why it cannot run, or the name
// to type, and the keys; wrapped at the dialog's width. Its line count does not depend on the
// scroll position, so that SetSize can lay the body out around it.
func (d *planDialog) footer() string {
	st := d.c.st
	var lines []string
	if d.scrolls() {
		more := fmt.Sprintf("lines %d-%d of %d", d.body.YOffset+1, min(d.body.YOffset+d.body.Height, d.body.TotalLineCount()), d.body.TotalLineCount())
		if !d.seen {
			lines = append(lines, st.Warning.Render("↓ more below ("+more+"): read to the end to confirm"))
		} else {
			lines = append(lines, st.Muted.Render(more))
		}
	}
	switch {
	case d.overridable():
		lines = append(lines, st.Error.Render("cannot run: the image was rolled back or marked bad; o overrides (asks again, with a reason)"))
	case d.plan.Blocked():
		lines = append(lines, st.Error.Render("cannot run: fix the failed checks above"))
	case d.needsName():
		lines = append(lines, d.confirm.View())
	}
	lines = append(lines, d.c.hints(d.ShortHelp()))
	return st.Text.Width(d.inner()).Render(strings.Join(lines, "\n"))
}

func (d *planDialog) View() string {
	return d.c.st.Dialog.Width(d.width).Render(d.title() + "\n" + d.body.View() + "\n\n" + d.footer())
}

func imageRef(r model.ImageRef) string {
	s := orDash(r.ImageID)
	if r.Label != "" {
		s += " (" + r.Label + ")"
	}
	if !r.ReleasedAt.IsZero() {
		s += " released " + r.ReleasedAt.UTC().Format("2006-01-02 15:04")
	}
	if r.ReleasedBy != "" {
		s += " by " + shortARN(r.ReleasedBy)
	}
	return s
}

// bakeDialog asks for the image label and whether to reboot (default: reboot).
type bakeDialog struct {
	c        *common
	key      model.ServiceKey
	instance string
	label    textinput.Model
	noReboot bool
	width    int
	closed   bool
}

func newBakeDialog(c *common, k model.ServiceKey, instance string) *bakeDialog {
	in := textinput.New()
	in.Prompt = "label: "
	in.Placeholder = "e.g. a git SHA"
	in.CharLimit = 64
	in.Focus()
	return &bakeDialog{c: c, key: k, instance: instance, label: in}
}

func (d *bakeDialog) ID() string                { return bakeDialogID }
func (d *bakeDialog) targetEnv() string         { return d.key.Env }
func (d *bakeDialog) Capturing() bool           { return true }
func (d *bakeDialog) Init() tea.Cmd             { return nil }
func (d *bakeDialog) SetSize(w, _ int)          { d.width = dialogWidth(w, bakeDialogWidth) }
func (d *bakeDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *bakeDialog) ShortHelp() []key.Binding {
	k := d.c.keys.Dialog
	plan := k.Confirm
	plan.SetHelp(plan.Help().Key, "plan")
	return helpBindings(plan, k.Toggle, k.Cancel)
}

func (d *bakeDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || d.closed {
		return d, nil
	}
	k := d.c.keys.Dialog
	switch {
	case k.Cancel.Matches(km):
		d.closed = true
		return d, closeWith(bakeDialogID, notice("bake cancelled; nothing was sent", false))
	case k.Toggle.Matches(km):
		d.noReboot = !d.noReboot
		return d, nil
	case k.Confirm.Matches(km):
		label := strings.TrimSpace(d.label.Value())
		if label == "" {
			return d, notice("bake needs a label (for example the git SHA of the release)", true)
		}
		d.closed = true
		req := planRequest{action: model.ActionBake, key: d.key, instance: d.instance, label: label, noReboot: d.noReboot}
		return d, closeWith(bakeDialogID, emit(planRequestMsg{req}))
	}
	var cmd tea.Cmd
	d.label, cmd = d.label.Update(km)
	return d, d.c.timer(cmd)
}

func (d *bakeDialog) View() string {
	st := d.c.st
	reboot := "[x] reboot the instance first (consistent disk)"
	if d.noReboot {
		reboot = st.Warning.Render("[ ] reboot: no — the image may catch a half-written disk")
	}
	body := st.DialogTitle.Render("BAKE an image from "+d.instance) + "\n" +
		st.Muted.Render(d.key.String()) + "\n\n" + d.label.View() + "\n" + reboot + "\n\n" +
		d.c.hints(d.ShortHelp())
	return st.Dialog.Width(d.width).Render(body)
}

// promoteDialog picks the image to roll out: by default the newest available baked image
// the environment does not run yet; one key promotes what another environment runs.
type promoteDialog struct {
	c       *common
	key     model.ServiceKey
	images  []model.Image
	loaded  bool
	err     string
	cursor  int // -1: nothing picked (every image carries a mark against it)
	fromEnv string
	// warned is set once s said that the image fromEnv runs carries a mark; s again goes on.
	warned bool
	width  int
	closed bool
}

func newPromoteDialog(c *common, k model.ServiceKey) *promoteDialog {
	d := &promoteDialog{c: c, key: k}
	for i := range c.fleet.Services {
		s := &c.fleet.Services[i]
		if s.Name == k.Name && s.Env != k.Env && s.Release() != "" {
			if d.fromEnv == "" || s.Env == "staging" {
				d.fromEnv = s.Env
			}
		}
	}
	return d
}

func (d *promoteDialog) ID() string                { return promoteDialogID }
func (d *promoteDialog) targetEnv() string         { return d.key.Env }
func (d *promoteDialog) Init() tea.Cmd             { return nil }
func (d *promoteDialog) SetSize(w, _ int)          { d.width = dialogWidth(w, promoteDialogWidth) }
func (d *promoteDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *promoteDialog) ShortHelp() []key.Binding {
	k := d.c.keys
	plan := k.Dialog.Confirm
	plan.SetHelp(plan.Help().Key, "plan")
	b := []Binding{plan, k.Nav.Up, k.Nav.Down}
	if d.fromEnv != "" {
		fe := k.Dialog.FromEnv
		fe.SetHelp(fe.Help().Key, "promote what "+d.fromEnv+" runs")
		b = append(b, fe)
	}
	return helpBindings(append(b, k.Dialog.Cancel)...)
}

func (d *promoteDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if d.closed {
		return d, nil
	}
	switch msg := msg.(type) {
	case imagesMsg:
		if msg.service != d.key.Name {
			return d, nil
		}
		d.loaded = true
		if msg.err != nil {
			d.err = explain(msg.err)
			return d, nil
		}
		d.images = nil
		for _, img := range msg.images {
			if img.Available() {
				d.images = append(d.images, img)
			}
		}
		d.cursor = d.defaultImage()
	case tea.KeyMsg:
		k := d.c.keys.Dialog
		switch {
		case k.Cancel.Matches(msg):
			d.closed = true
			return d, closeWith(promoteDialogID, notice("promote cancelled; nothing was sent", false))
		case k.FromEnv.Matches(msg) && d.fromEnv != "":
			if _, marked := d.fromEnvMark(); marked && !d.warned {
				d.warned = true
				return d, nil
			}
			d.closed = true
			req := planRequest{action: model.ActionPromote, key: d.key, fromEnv: d.fromEnv}
			return d, closeWith(promoteDialogID, emit(planRequestMsg{req}))
		case k.Confirm.Matches(msg) && d.loaded && d.cursor < 0 && len(d.images) > 0:
			return d, notice("every image carries a mark against it: pick one with ↑/↓ if you mean it (the plan asks to override)", true)
		case k.Confirm.Matches(msg) && d.cursor >= 0 && d.cursor < len(d.images):
			d.closed = true
			req := planRequest{action: model.ActionPromote, key: d.key, imageID: d.images[d.cursor].ID}
			return d, closeWith(promoteDialogID, emit(planRequestMsg{req}))
		}
		moveCursor(msg, d.c.keys.Nav, &d.cursor, len(d.images), promotePage)
	}
	return d, nil
}

// fromEnvMark is the mark against the image the other environment runs, if it has one.
func (d *promoteDialog) fromEnvMark() (model.Mark, bool) {
	// The source environment's row in the same region when it has one there (what the
	// plan promotes), else its first.
	s, ok := d.c.fleet.ServiceAt(model.ServiceKey{Name: d.key.Name, Env: d.fromEnv, Region: d.key.Region})
	if !ok {
		s, ok = d.c.fleet.Service(d.key.Name, d.fromEnv)
	}
	if !ok {
		return model.Mark{}, false
	}
	for _, img := range d.images {
		if img.ID == s.Release() {
			return model.Verdict(img.Marks)
		}
	}
	return model.Mark{}, false
}

// defaultImage is the newest image the environment does not run yet and that carries no
// mark against it (rolled back, bad); else the newest unmarked one; else none (-1): an
// image with a mark is never picked for the operator.
func (d *promoteDialog) defaultImage() int {
	running := map[string]bool{}
	if s, ok := d.c.fleet.ServiceAt(d.key); ok {
		for _, ic := range s.Images() {
			running[ic.ImageID] = true
		}
		running[s.Release()] = true
	}
	first := -1
	for i, img := range d.images {
		if _, marked := model.Verdict(img.Marks); marked {
			continue
		}
		if !running[img.ID] {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

func (d *promoteDialog) View() string {
	c := d.c
	st := c.st
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render("PROMOTE "+d.key.String()) + "\n" + st.Muted.Render("pick the image to roll out") + "\n\n")
	switch {
	case !d.loaded:
		b.WriteString(st.Busy.Render(c.spinner() + " reading baked images…"))
	case d.err != "":
		b.WriteString(st.Error.Render(d.err))
	case len(d.images) == 0:
		b.WriteString(st.Warning.Render("no available baked image for " + d.key.Name + ": bake one first (b on an instance)"))
	default:
		inner := max(d.width-st.Dialog.GetHorizontalPadding(), 1)
		start := max(0, d.cursor-promoteAbove)
		for i := start; i < len(d.images) && i < start+promoteRows; i++ {
			img := d.images[i]
			runs := strings.Join(envsRunning(&c.fleet, d.key.Name, img.ID), ",")
			line := fmt.Sprintf("%s %s %s %s", pad(img.ID, colAMI), pad(orDash(img.Label), colLabel), img.CreatedAt.UTC().Format("2006-01-02 15:04"), pad(runs, 22))
			if v, ok := model.Verdict(img.Marks); ok {
				line += st.Warning.Render("⚠ " + v.String())
			}
			if i == d.cursor {
				line = st.Selected.Render("› " + ansiStrip(line))
			} else {
				line = "  " + line
			}
			b.WriteString(truncate(line, inner) + "\n")
		}
		if d.cursor < 0 {
			b.WriteString(st.Warning.Render("every image carries a mark against it: none is picked for you") + "\n")
		}
		if v, ok := d.fromEnvMark(); ok && d.warned {
			b.WriteString("\n" + st.Text.Width(inner).Render(st.Warning.Render(fmt.Sprintf("%s runs an image that was %s: press s again to plan it anyway (the plan asks to override)", d.fromEnv, v))) + "\n")
		}
	}
	b.WriteString("\n" + c.hints(d.ShortHelp()))
	return st.Dialog.Width(d.width).Render(b.String())
}
