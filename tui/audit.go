package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/adstage/adstage-ops/aws/awsapi"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/sahilm/fuzzy"

	"github.com/adstage/adstage-ops/model"
)

// auditView is what happened to a service: releases (launch template versions), rollouts,
// scaling activities and the actions taken with adstage-ops, newest first, filterable.
type auditView struct {
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

func (v *auditView) open(k model.ServiceKey) {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "filter history"
	*v = auditView{key: k, input: in}
}

func (v *auditView) apply(msg historyMsg, m *Model) {
	if msg.key != v.key {
		return
	}
	v.loaded = true
	if msg.err != nil {
		v.err = awsapi.Explain(msg.err)
	}
	v.all = v.all[:0]
	for _, e := range msg.events {
		if e.Service != "" && (e.Service != v.key.Name || (e.Env != "" && e.Env != v.key.Env)) {
			continue
		}
		text := fmt.Sprintf("%s  %-8s %-9s by %s", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Action, e.Result, shortARN(e.Who))
		if e.From != "" || e.To != "" {
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
	for i, j := 0, len(v.all)-1; i < j; i, j = i+1, j-1 {
		v.all[i], v.all[j] = v.all[j], v.all[i]
	}
	h := msg.h
	for _, r := range h.Releases {
		text := fmt.Sprintf("%s  %s v%d  %s", r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), r.TemplateName, r.Version, r.ImageID)
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

func (v *auditView) filterKey(msg tea.KeyMsg, m *Model) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Filter.Clear):
		v.filtering = false
		v.input.Blur()
		v.input.SetValue("")
		v.filter()
		return nil
	case key.Matches(msg, m.keys.Filter.Apply):
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
	return cmd
}

func (v *auditView) handleKey(msg tea.KeyMsg, m *Model) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Services.Filter):
		v.filtering = true
		return v.input.Focus()
	case key.Matches(msg, m.keys.Global.Back):
		if v.input.Value() != "" {
			v.input.SetValue("")
			v.filter()
			return nil
		}
		if m.detail.key == v.key && m.detail.svc != nil {
			m.screen = screenService
		} else {
			m.screen = screenServices
		}
		m.focus()
		return nil
	}
	moveCursor(msg, m.keys.Nav, &v.cursor, len(v.shown), m.bodyHeight()-3)
	return nil
}

func (v *auditView) view(m *Model, h int) string {
	st := m.st
	var b strings.Builder
	b.WriteString(st.Title.Render("Audit · "+v.key.Name) + "  " + st.EnvBadge(v.key.Env, m.cfg.EnvColors[v.key.Env]) + "\n")
	switch {
	case v.filtering:
		b.WriteString(v.input.View())
	case v.input.Value() != "":
		b.WriteString(st.Muted.Render(fmt.Sprintf("filter: %s (%d of %d)", v.input.Value(), len(v.shown), len(v.all))))
	default:
		b.WriteString(st.Muted.Render("releases, rollouts, scaling activities and actions taken with adstage-ops; / filters"))
	}
	if !v.loaded {
		b.WriteString("\n" + st.Busy.Render(m.spin.View()+" reading history…"))
		return b.String()
	}
	if v.err != "" {
		b.WriteString("\n" + st.Warning.Render(v.err))
	}
	rows := h - 3
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
		b.WriteString("\n" + truncate(line, m.w))
	}
	if len(v.shown) == 0 {
		b.WriteString("\n" + st.Muted.Render("nothing recorded"))
	}
	return b.String()
}
