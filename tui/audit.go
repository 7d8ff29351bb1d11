package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/sahilm/fuzzy"

	"github.com/adstage/adstage-ops/model"
)

// auditView is what happened to a service: releases (launch template versions), rollouts,
// scaling activities and the actions taken with adstage-ops, newest first, filterable.
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
}

type auditLine struct {
	section string
	text    string
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
	return helpBindings(k.Services.Filter, k.Global.Back)
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

func (v *auditView) apply(msg historyMsg) {
	if msg.key != v.key {
		return
	}
	v.loaded = true
	if msg.err != nil {
		v.err = explain(msg.err)
	}
	v.all = v.all[:0]
	for _, e := range msg.events {
		if e.Service != "" && (e.Service != v.key.Name || (e.Env != "" && e.Env != v.key.Env)) {
			continue
		}
		text := fmt.Sprintf("%s  %-8s %-9s by %s", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Action, e.Result, shortARN(e.Who))
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
		v.all = append(v.all, auditLine{"adstage-ops actions (local audit log)", text})
	}
	// The audit log is oldest first; show newest first like the rest.
	slices.Reverse(v.all)
	h := msg.h
	states := ledgerStates(h.Ledgers)
	for _, r := range h.Releases {
		text := fmt.Sprintf("%s  %s v%d  %s", r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), r.TemplateName, r.Version, r.ImageID)
		if s := states[releaseKey{r.TemplateID, r.Version}]; s != "" {
			text += "  [" + s + "]"
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
		v.all = append(v.all, auditLine{"releases (launch template versions)", text})
	}
	for _, r := range h.Refreshes {
		text := fmt.Sprintf("%s  %s  %s %d%%", r.StartedAt.UTC().Format("2006-01-02 15:04:05"), r.Group, r.Status, r.Percent)
		if r.DesiredImage != "" {
			text += "  to " + r.DesiredImage
		} else if r.DesiredVersion != "" {
			text += "  to version " + r.DesiredVersion
		}
		if r.StatusReason != "" {
			text += "  " + r.StatusReason
		}
		v.all = append(v.all, auditLine{"rollouts (instance refreshes)", text})
	}
	for _, a := range h.Activities {
		text := fmt.Sprintf("%s  %s  %s  %s", a.StartedAt.UTC().Format("2006-01-02 15:04:05"), a.Group, a.Status, a.Description)
		v.all = append(v.all, auditLine{"scaling activities", text})
	}
	v.filter()
}

type auditSource []auditLine

func (s auditSource) String(i int) string { return s[i].text }
func (s auditSource) Len() int            { return len(s) }

func (v *auditView) filter() {
	v.shown = v.shown[:0]
	q := v.input.Value()
	if q == "" {
		for i := range v.all {
			v.shown = append(v.shown, i)
		}
	} else {
		for _, mt := range fuzzy.FindFrom(q, auditSource(v.all)) {
			v.shown = append(v.shown, mt.Index)
		}
		// keep the sections in order
		slices.Sort(v.shown)
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
	case k.Global.Back.Matches(msg):
		if v.input.Value() != "" {
			v.input.SetValue("")
			v.filter()
			return nil
		}
		return emit(backMsg{})
	}
	moveCursor(msg, k.Nav, &v.cursor, len(v.shown), v.height-auditChrome)
	return nil
}

// auditChrome are the lines above the history: title, filter line, a section header.
const auditChrome = 3

// View draws the history lines on screen.
func (v *auditView) View() string {
	c := v.c
	st := c.st
	var b strings.Builder
	b.WriteString(st.Title.Render("Audit · "+v.key.Name) + "  " + st.EnvBadge(v.key.Env, c.cfg.EnvColors[v.key.Env]) + "\n")
	switch {
	case v.filtering:
		b.WriteString(v.input.View())
	case v.input.Value() != "":
		b.WriteString(st.Muted.Render(fmt.Sprintf("filter: %s (%d of %d)", v.input.Value(), len(v.shown), len(v.all))))
	default:
		b.WriteString(st.Muted.Render("releases, rollouts, scaling activities and actions taken with adstage-ops; / filters"))
	}
	if !v.loaded {
		b.WriteString("\n" + st.Busy.Render(c.spinner()+" reading history…"))
		return b.String()
	}
	if v.err != "" {
		b.WriteString("\n" + st.Warning.Render(v.err))
	}
	rows := v.height - auditChrome
	v.offset = scroll(v.cursor, v.offset, rows, len(v.shown))
	end := min(v.offset+rows, len(v.shown))
	prev := ""
	if v.offset > 0 {
		prev = v.all[v.shown[v.offset-1]].section
	}
	for i := v.offset; i < end; i++ {
		l := v.all[v.shown[i]]
		if l.section != prev {
			b.WriteString("\n" + st.ColumnHeader.Render(l.section))
			prev = l.section
		}
		line := "  " + l.text
		if i == v.cursor {
			line = st.Selected.Render(line)
		}
		b.WriteString("\n" + truncate(line, v.width))
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
