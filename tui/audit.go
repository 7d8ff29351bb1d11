package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/sahilm/fuzzy"

	"github.com/adstage/adstage-ops/model"
)

// auditView is what happened to a service: actions taken with adstage-ops, releases (launch
// template versions), rollouts and scaling activities, in one list, newest first by time.
// What went wrong (failed, cancelled, refused, unknown outcome) is in the problem colours;
// scaling activities, which would crowd out the releases, are folded until asked for; a kind
// filter shows one kind, and / filters the text.
type auditView struct {
	c             *common
	width, height int

	key       model.ServiceKey
	loaded    bool
	err       string
	all       []auditLine
	shown     []int
	cursor    int
	offset    int
	input     textinput.Model
	filtering bool
	// kind is the kind shown (kindAll for every kind); scaling unfolds scaling activities.
	kind    auditKind
	scaling bool
	folded  int // scaling activities hidden by the fold, of those the other filters pass
}

// auditKind is what an audit line records.
type auditKind int

const (
	kindAll auditKind = iota
	kindAction
	kindRelease
	kindRollout
	kindScaling
	kindCount
)

func (k auditKind) String() string {
	return [...]string{"all kinds", "action", "release", "rollout", "scaling"}[k]
}

// auditTone is how an audit line reads: normal, under way, or a problem.
type auditTone int

const (
	toneNormal auditTone = iota
	toneBusy
	toneWarning
	toneError
)

type auditLine struct {
	kind auditKind
	at   time.Time
	text string
	tone auditTone
}

func newAuditView(c *common) *auditView { return &auditView{c: c} }

// Init does nothing: the root reads the history.
func (v *auditView) Init() tea.Cmd { return nil }

// SetSize gives the screen its body.
func (v *auditView) SetSize(w, h int) { v.width, v.height = w, h }

// Capturing reports whether the filter is taking text.
func (v *auditView) Capturing() bool { return v.filtering }

// ShortHelp is the screen's own bindings.
func (v *auditView) ShortHelp() []key.Binding {
	k := v.c.keys
	if v.filtering {
		return helpBindings(k.Filter.Apply, k.Filter.Clear)
	}
	return helpBindings(k.Services.Filter, k.Audit.Kind, k.Audit.Scaling, k.Global.Back)
}

// FullHelp is the screen's bindings and the cursor's.
func (v *auditView) FullHelp() [][]key.Binding {
	if v.filtering {
		return [][]key.Binding{v.ShortHelp()}
	}
	return [][]key.Binding{v.ShortHelp(), navBindings(v.c.keys.Nav)}
}

func (v *auditView) open(k model.ServiceKey) {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "filter history"
	*v = auditView{c: v.c, width: v.width, height: v.height, key: k, input: in}
}

// Update takes the history or a key.
func (v *auditView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case historyMsg:
		v.apply(msg)
	case tea.KeyMsg:
		if v.filtering {
			return v, v.filterKey(msg)
		}
		return v, v.handleKey(msg)
	}
	return v, nil
}

// actionTone: what went wrong is a problem; what is running is under way.
func actionTone(result string) auditTone {
	switch result {
	case "failed", "refused":
		return toneError
	case "cancelled", "unknown":
		return toneWarning
	case "started", "planned":
		return toneBusy
	}
	return toneNormal
}

// awsTone reads a rollout's or scaling activity's status as AWS reports it.
func awsTone(status string) auditTone {
	switch {
	case strings.Contains(status, "Failed"):
		return toneError
	case strings.Contains(status, "Cancel"), strings.HasPrefix(status, "Rollback"):
		return toneWarning
	case status == "InProgress" || status == "Pending" || status == "Baking" || strings.HasPrefix(status, "Waiting") || strings.HasPrefix(status, "PreInService") || strings.HasPrefix(status, "MidLifecycle"):
		return toneBusy
	}
	return toneNormal
}

func releaseTone(state string) auditTone {
	switch {
	case strings.Contains(state, string(model.ReleaseFailed)), strings.Contains(state, string(model.ReleaseMarkedBad)):
		return toneError
	case strings.Contains(state, string(model.ReleaseRolledBack)), strings.Contains(state, string(model.ReleaseUnknown)), strings.Contains(state, string(model.ReleaseRollingBack)):
		return toneWarning
	case strings.Contains(state, string(model.ReleaseRollingOut)):
		return toneBusy
	}
	return toneNormal
}

func (v *auditView) apply(msg historyMsg) {
	if msg.key != v.key {
		return
	}
	v.loaded = true
	v.err = ""
	if msg.err != nil {
		v.err = explain(msg.err)
	}
	v.all = v.all[:0]
	for _, e := range msg.events {
		if e.Service != "" && (e.Service != v.key.Name || (e.Env != "" && e.Env != v.key.Env) || (v.key.Region != "" && e.Region != "" && e.Region != v.key.Region)) {
			continue
		}
		text := fmt.Sprintf("%-8s %-9s by %s", e.Action, e.Result, shortARN(e.Who))
		switch {
		case e.Action == model.ActionMark && e.To != "":
			text += "  image " + e.To // a mark changes no release: it tags the image
		case e.From != "" || e.To != "":
			text += fmt.Sprintf("  %s -> %s", orDash(e.From), orDash(e.To))
		}
		if e.Reason != "" {
			text += "  why: " + e.Reason
		}
		if e.Error != "" {
			text += "  error: " + e.Error
		}
		v.all = append(v.all, auditLine{kindAction, e.Time, text, actionTone(e.Result)})
	}
	h := msg.h
	states := ledgerStates(h.Ledgers)
	for _, r := range h.Releases {
		text := fmt.Sprintf("%s v%d  %s", r.TemplateName, r.Version, r.ImageID)
		state := states[releaseKey{r.TemplateID, r.Version}]
		if state != "" {
			text += "  [" + state + "]"
		}
		if n, ok := model.ParseReleaseNote(r.Description); ok {
			text += fmt.Sprintf("  by %s  from %s", shortARN(n.Who), n.From)
			if n.Why != "" {
				text += "  why: " + n.Why
			}
		} else {
			if r.CreatedBy != "" {
				text += "  by " + shortARN(r.CreatedBy)
			}
			if r.Description != "" {
				text += "  " + r.Description
			}
		}
		if r.Default {
			text += "  (default)"
		}
		v.all = append(v.all, auditLine{kindRelease, r.CreatedAt, text, releaseTone(state)})
	}
	for _, r := range h.Refreshes {
		text := fmt.Sprintf("%s  %s %d%%", r.Group, r.Status, r.Percent)
		if r.DesiredImage != "" {
			text += "  to " + r.DesiredImage
		} else if r.DesiredVersion != "" {
			text += "  to version " + r.DesiredVersion
		}
		if r.StatusReason != "" {
			text += "  " + r.StatusReason
		}
		v.all = append(v.all, auditLine{kindRollout, r.StartedAt, text, awsTone(r.Status)})
	}
	for _, a := range h.Activities {
		text := fmt.Sprintf("%s  %s  %s", a.Group, a.Status, a.Description)
		v.all = append(v.all, auditLine{kindScaling, a.StartedAt, text, awsTone(a.Status)})
	}
	// Newest first by time, whatever the source; equal times keep the kinds in the order
	// above (an action before the release it made).
	slices.SortStableFunc(v.all, func(a, b auditLine) int { return b.at.Compare(a.at) })
	v.filter()
}

type auditSource []auditLine

func (s auditSource) String(i int) string { return s[i].text }
func (s auditSource) Len() int            { return len(s) }

// filter applies the kind filter, the scaling fold and the text filter, in time order.
func (v *auditView) filter() {
	v.shown = v.shown[:0]
	v.folded = 0
	pass := make([]bool, len(v.all))
	if q := v.input.Value(); q == "" {
		for i := range pass {
			pass[i] = true
		}
	} else {
		for _, mt := range fuzzy.FindFrom(q, auditSource(v.all)) {
			pass[mt.Index] = true
		}
	}
	for i, l := range v.all {
		switch {
		case !pass[i], v.kind != kindAll && l.kind != v.kind:
		case l.kind == kindScaling && v.kind != kindScaling && !v.scaling:
			v.folded++
		default:
			v.shown = append(v.shown, i)
		}
	}
	v.cursor, v.offset = 0, 0
}

func (v *auditView) filterKey(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys.Filter
	switch {
	case k.Clear.Matches(msg):
		v.filtering = false
		v.input.Blur()
		v.input.SetValue("")
		v.filter()
		return nil
	case k.Apply.Matches(msg):
		v.filtering = false
		v.input.Blur()
		return nil
	}
	var cmd tea.Cmd
	before := v.input.Value()
	v.input, cmd = v.input.Update(msg)
	if v.input.Value() != before {
		v.filter()
	}
	return v.c.timer(cmd)
}

func (v *auditView) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys
	switch {
	case k.Services.Filter.Matches(msg):
		v.filtering = true
		return v.c.timer(v.input.Focus())
	case k.Audit.Kind.Matches(msg):
		v.kind = (v.kind + 1) % kindCount
		v.filter()
		return nil
	case k.Audit.Scaling.Matches(msg):
		v.scaling = !v.scaling
		v.filter()
		return nil
	case k.Global.Back.Matches(msg):
		if v.input.Value() != "" {
			v.input.SetValue("")
			v.filter()
			return nil
		}
		return emit(backMsg{})
	}
	moveCursor(msg, k.Nav, &v.cursor, len(v.shown), v.rows())
	return nil
}

// auditChrome are the lines above the history: title, filter line, what is shown.
const auditChrome = 3

// rows is how many history lines fit under the chrome (and the error, when there is one).
func (v *auditView) rows() int {
	r := v.height - auditChrome
	if v.err != "" {
		r--
	}
	return max(r, 1)
}

func (v *auditView) toneStyle(t auditTone) lipgloss.Style {
	st := v.c.st
	switch t {
	case toneError:
		return st.Error
	case toneWarning:
		return st.Warning
	case toneBusy:
		return st.Busy
	}
	return st.Row
}

// View draws the history lines on screen.
func (v *auditView) View() string {
	c := v.c
	st := c.st
	var b strings.Builder
	b.WriteString(st.Title.Render("Audit · "+v.key.Name) + "  " + st.EnvBadge(v.key.Env, c.cfg.EnvColors[v.key.Env]))
	if v.key.Region != "" {
		b.WriteString(" " + st.Muted.Render(v.key.Region))
	}
	b.WriteString("\n")
	switch {
	case v.filtering:
		b.WriteString(v.input.View())
	case v.input.Value() != "":
		b.WriteString(st.Muted.Render(fmt.Sprintf("filter: %s (%d of %d)", v.input.Value(), len(v.shown), len(v.all))))
	default:
		b.WriteString(truncate(st.Muted.Render("actions taken with adstage-ops, releases, rollouts and scaling activities, newest first; / filters"), v.width))
	}
	if !v.loaded {
		b.WriteString("\n" + st.Busy.Render(c.spinner()+" reading history…"))
		return b.String()
	}
	k := c.keys.Audit
	shown := "showing " + v.kind.String() + " (" + k.Kind.Help().Key + " changes)"
	switch {
	case v.kind == kindScaling:
	case v.folded > 0:
		activities := "scaling activities"
		if v.folded == 1 {
			activities = "scaling activity"
		}
		shown += fmt.Sprintf(" · %d %s folded (%s shows them)", v.folded, activities, k.Scaling.Help().Key)
	case v.scaling && (v.kind == kindAll):
		shown += " · scaling activities shown (" + k.Scaling.Help().Key + " folds them)"
	}
	b.WriteString("\n" + truncate(st.ColumnHeader.Render(shown), v.width))
	if v.err != "" {
		b.WriteString("\n" + truncate(st.Warning.Render(v.err), v.width))
	}
	rows := v.rows()
	v.offset = scroll(v.cursor, v.offset, rows, len(v.shown))
	end := min(v.offset+rows, len(v.shown))
	for i := v.offset; i < end; i++ {
		l := v.all[v.shown[i]]
		when := "-"
		if !l.at.IsZero() {
			when = l.at.UTC().Format("2006-01-02 15:04:05")
		}
		mark := "  "
		if i == v.cursor {
			mark = "› "
		}
		line := truncate(fmt.Sprintf("%s%-19s  %-7s  %s", mark, when, l.kind, l.text), v.width)
		if i == v.cursor {
			line = st.Selected.Render(line)
		} else {
			line = v.toneStyle(l.tone).Render(line)
		}
		b.WriteString("\n" + line)
	}
	if len(v.shown) == 0 {
		b.WriteString("\n" + st.Muted.Render("nothing recorded"))
	}
	return b.String()
}

type releaseKey struct {
	template string
	version  int64
}

// ledgerStates is each release's ledger state, by template and version; groups sharing a
// template that disagree are listed ("rolled back in g1, live in g2").
func ledgerStates(ls []model.Ledger) map[releaseKey]string {
	type seen struct {
		states []string
		groups []string
	}
	by := map[releaseKey]*seen{}
	for _, l := range ls {
		for _, e := range l.Entries {
			k := releaseKey{e.TemplateID, e.Version}
			if by[k] == nil {
				by[k] = &seen{}
			}
			by[k].states = append(by[k].states, string(e.State))
			by[k].groups = append(by[k].groups, l.Group)
		}
	}
	out := map[releaseKey]string{}
	for k, s := range by {
		if len(slices.Compact(slices.Clone(s.states))) == 1 {
			out[k] = s.states[0]
			continue
		}
		parts := make([]string, len(s.states))
		for i := range s.states {
			parts[i] = s.states[i] + " in " + s.groups[i]
		}
		out[k] = strings.Join(parts, ", ")
	}
	return out
}
