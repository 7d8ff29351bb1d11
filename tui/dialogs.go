package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// dialog is a modal on the root's stack; it sees messages before the screens.
type dialog interface {
	Update(msg tea.Msg, m *Model) tea.Cmd
	View(m *Model) string
	Bindings(m *Model) []key.Binding
}

// planDialog shows a plan and asks for confirmation. Nothing is sent before enter;
// production makes the operator type the service name.
type planDialog struct {
	plan    model.Plan
	confirm textinput.Model
}

func newPlanDialog(p model.Plan, m *Model) *planDialog {
	d := &planDialog{plan: p}
	if p.Production && !p.Blocked() {
		d.confirm = textinput.New()
		d.confirm.Prompt = "type " + p.Service + " to confirm: "
		d.confirm.Focus()
	}
	return d
}

func (d *planDialog) needsName() bool { return d.plan.Production && !d.plan.Blocked() }

func (d *planDialog) Update(msg tea.Msg, m *Model) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := m.keys.Dialog
	switch {
	case key.Matches(km, k.Cancel):
		m.pop()
		return m.cancelCmd(d.plan)
	case key.Matches(km, k.Copy):
		return m.copyCmd(d.plan.CLI)
	case key.Matches(km, k.Confirm):
		if d.plan.Blocked() {
			m.setStatus(fmt.Sprintf("%s cannot run: %s", d.plan.Action, d.plan.FailureText()), true)
			return nil
		}
		if d.needsName() && strings.TrimSpace(d.confirm.Value()) != d.plan.Service {
			m.setStatus(fmt.Sprintf("production: type %q exactly to confirm, or esc to cancel", d.plan.Service), true)
			return nil
		}
		m.pop()
		m.setStatus(fmt.Sprintf("%s %s: sending…", d.plan.Action, d.plan.Target()), false)
		return m.executeCmd(d.plan)
	}
	if d.needsName() {
		var cmd tea.Cmd
		d.confirm, cmd = d.confirm.Update(km)
		return cmd
	}
	return nil
}

func (d *planDialog) Bindings(m *Model) []key.Binding {
	k := m.keys.Dialog
	if d.plan.Blocked() {
		return []key.Binding{k.Cancel, k.Copy}
	}
	return []key.Binding{k.Confirm, k.Cancel, k.Copy}
}

func (d *planDialog) View(m *Model) string {
	st := m.st
	p := d.plan
	var b strings.Builder
	title := fmt.Sprintf("%s %s", strings.ToUpper(string(p.Action)), p.Target())
	if p.Production {
		b.WriteString(st.DangerTitle.Render(title+"  — PRODUCTION") + "\n")
	} else {
		b.WriteString(st.DialogTitle.Render(title) + "\n")
	}
	if p.Bake != nil {
		reboot := "reboots the instance for a consistent disk"
		if p.Bake.NoReboot {
			reboot = st.Warning.Render("no reboot: the disk may be inconsistent")
		}
		fmt.Fprintf(&b, "image %s, label %s; %s\n", p.Bake.Name, p.Bake.Label, reboot)
	}
	// Keep the dialog on screen: with many groups, show as many as fit and count the rest.
	steps := p.Steps
	if fit := max(1, (m.bodyHeight()-18-len(p.Checks))/4); len(steps) > fit {
		steps = steps[:fit]
	}
	for _, s := range steps {
		fmt.Fprintf(&b, "\n%s  %s\n", st.Title.Render(s.Group), st.Muted.Render(fmt.Sprintf("%d instances, desired %d, template %s v%s", s.Instances, s.Desired, orDash(s.Template.Name), s.Template.Version)))
		fmt.Fprintf(&b, "  from %s\n", imageRef(s.FromImage))
		if s.RefreshID != "" {
			fmt.Fprintf(&b, "  %s\n", st.Warning.Render("roll back the running rollout "+s.RefreshID))
		} else {
			to := imageRef(s.ToImage)
			if s.ToVersion != "" {
				to += st.Muted.Render(" (launch template version " + s.ToVersion + ")")
			}
			fmt.Fprintf(&b, "  to   %s\n", to)
		}
	}
	if more := len(p.Steps) - len(steps); more > 0 {
		fmt.Fprintf(&b, "\n%s\n", st.Warning.Render(fmt.Sprintf("… and %d more groups (the CLI command, ctrl+y, prints the whole plan)", more)))
	}
	if p.Strategy != "" {
		fmt.Fprintf(&b, "\nstrategy  %s\n", p.Strategy)
	}
	if p.Capacity != "" {
		fmt.Fprintf(&b, "capacity  %s\n", p.Capacity)
	}
	if p.RestoreEstimate > 0 {
		fmt.Fprintf(&b, "takes     about %s\n", p.RestoreEstimate.Round(time.Second))
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
		b.WriteString("\n" + st.Muted.Render("same from a script: ") + p.CLI + "\n")
	}
	b.WriteString("\n")
	switch {
	case p.Blocked():
		b.WriteString(st.Error.Render("cannot run: fix the failed checks above") + "   esc close · ctrl+y copy CLI")
	case d.needsName():
		b.WriteString(d.confirm.View() + "\n" + st.Muted.Render("enter confirm · esc cancel · ctrl+y copy CLI"))
	default:
		b.WriteString(st.Muted.Render("enter confirm · esc cancel · ctrl+y copy CLI"))
	}
	width := min(m.w-4, 110)
	return st.Dialog.Width(width).Render(b.String())
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
	key      model.ServiceKey
	instance string
	label    textinput.Model
	noReboot bool
}

func newBakeDialog(k model.ServiceKey, instance string) *bakeDialog {
	in := textinput.New()
	in.Prompt = "label: "
	in.Placeholder = "e.g. a git SHA"
	in.CharLimit = 64
	in.Focus()
	return &bakeDialog{key: k, instance: instance, label: in}
}

func (d *bakeDialog) Update(msg tea.Msg, m *Model) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := m.keys.Dialog
	switch {
	case key.Matches(km, k.Cancel):
		m.pop()
		m.setStatus("bake cancelled; nothing was sent", false)
		return nil
	case key.Matches(km, k.Toggle):
		d.noReboot = !d.noReboot
		return nil
	case key.Matches(km, k.Confirm):
		label := strings.TrimSpace(d.label.Value())
		if label == "" {
			m.setStatus("bake needs a label (for example the git SHA of the release)", true)
			return nil
		}
		m.pop()
		req := ops.BakeRequest{InstanceID: d.instance, Label: label, NoReboot: d.noReboot}
		return m.planCmd("bake of "+d.instance, func(ctx context.Context, op ops.Operator) (model.Plan, error) {
			return op.PlanBake(ctx, req)
		})
	}
	var cmd tea.Cmd
	d.label, cmd = d.label.Update(km)
	return cmd
}

func (d *bakeDialog) Bindings(m *Model) []key.Binding {
	k := m.keys.Dialog
	return []key.Binding{k.Confirm, k.Toggle, k.Cancel}
}

func (d *bakeDialog) View(m *Model) string {
	st := m.st
	reboot := "[x] reboot the instance first (consistent disk)"
	if d.noReboot {
		reboot = st.Warning.Render("[ ] reboot: no — the image may catch a half-written disk")
	}
	body := st.DialogTitle.Render("BAKE an image from "+d.instance) + "\n" +
		st.Muted.Render(d.key.String()) + "\n\n" + d.label.View() + "\n" + reboot + "\n\n" +
		st.Muted.Render("enter plan · tab toggle reboot · esc cancel")
	return st.Dialog.Width(min(m.w-4, 80)).Render(body)
}

// promoteDialog picks the image to roll out: by default the newest available baked image
// the environment does not run yet; one key promotes what another environment runs.
type promoteDialog struct {
	key     model.ServiceKey
	images  []model.Image
	loaded  bool
	err     string
	cursor  int
	fromEnv string
}

func newPromoteDialog(k model.ServiceKey, m *Model) *promoteDialog {
	d := &promoteDialog{key: k}
	for i := range m.fleet.Services {
		s := &m.fleet.Services[i]
		if s.Name == k.Name && s.Env != k.Env && s.Release() != "" {
			if d.fromEnv == "" || s.Env == "staging" {
				d.fromEnv = s.Env
			}
		}
	}
	return d
}

func (d *promoteDialog) Update(msg tea.Msg, m *Model) tea.Cmd {
	switch msg := msg.(type) {
	case imagesMsg:
		if msg.service != d.key.Name {
			return nil
		}
		d.loaded = true
		if msg.err != nil {
			d.err = awsapi.Explain(msg.err)
			return nil
		}
		d.images = nil
		for _, img := range msg.images {
			if img.Available() {
				d.images = append(d.images, img)
			}
		}
		d.cursor = d.defaultImage(m)
		return nil
	case tea.KeyMsg:
		k := m.keys.Dialog
		switch {
		case key.Matches(msg, k.Cancel):
			m.pop()
			m.setStatus("promote cancelled; nothing was sent", false)
			return nil
		case key.Matches(msg, k.FromEnv) && d.fromEnv != "":
			m.pop()
			req := ops.PromoteRequest{Service: d.key.Name, Env: d.key.Env, FromEnv: d.fromEnv}
			return m.planCmd("promote of "+d.key.String(), func(ctx context.Context, op ops.Operator) (model.Plan, error) {
				return op.PlanPromote(ctx, req)
			})
		case key.Matches(msg, k.Confirm) && d.cursor < len(d.images):
			m.pop()
			req := ops.PromoteRequest{Service: d.key.Name, Env: d.key.Env, ImageID: d.images[d.cursor].ID}
			return m.planCmd("promote of "+d.key.String(), func(ctx context.Context, op ops.Operator) (model.Plan, error) {
				return op.PlanPromote(ctx, req)
			})
		}
		moveCursor(msg, m.keys.Nav, &d.cursor, len(d.images), 5)
	}
	return nil
}

// defaultImage is the newest image the environment does not run yet.
func (d *promoteDialog) defaultImage(m *Model) int {
	running := map[string]bool{}
	if s, ok := m.fleet.Service(d.key.Name, d.key.Env); ok {
		for _, ic := range s.Images() {
			running[ic.ImageID] = true
		}
		running[s.Release()] = true
	}
	for i, img := range d.images {
		if !running[img.ID] {
			return i
		}
	}
	return 0
}

func (d *promoteDialog) Bindings(m *Model) []key.Binding {
	k := m.keys.Dialog
	b := []key.Binding{k.Confirm, m.keys.Nav.Up, m.keys.Nav.Down}
	if d.fromEnv != "" {
		fe := k.FromEnv
		fe.SetHelp("s", "promote what "+d.fromEnv+" runs")
		b = append(b, fe)
	}
	return append(b, k.Cancel)
}

func (d *promoteDialog) View(m *Model) string {
	st := m.st
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render("PROMOTE "+d.key.String()) + "\n" + st.Muted.Render("pick the image to roll out") + "\n\n")
	switch {
	case !d.loaded:
		b.WriteString(st.Busy.Render(m.spin.View() + " reading baked images…"))
	case d.err != "":
		b.WriteString(st.Error.Render(d.err))
	case len(d.images) == 0:
		b.WriteString(st.Warning.Render("no available baked image for " + d.key.Name + ": bake one first (b on an instance)"))
	default:
		start := max(0, d.cursor-7)
		for i := start; i < len(d.images) && i < start+15; i++ {
			img := d.images[i]
			runs := strings.Join(envsRunning(&m.fleet, d.key.Name, img.ID), ",")
			line := fmt.Sprintf("%s %s %s %s", pad(img.ID, colAMI), pad(orDash(img.Label), 14), img.CreatedAt.UTC().Format("2006-01-02 15:04"), runs)
			if i == d.cursor {
				line = st.Selected.Render("› " + line)
			} else {
				line = "  " + line
			}
			b.WriteString(line + "\n")
		}
	}
	help := "enter plan · ↑/↓ pick · esc cancel"
	if d.fromEnv != "" {
		help = fmt.Sprintf("enter plan · s promote what %s runs · ↑/↓ pick · esc cancel", d.fromEnv)
	}
	b.WriteString("\n" + st.Muted.Render(help))
	return st.Dialog.Width(min(m.w-4, 100)).Render(b.String())
}
