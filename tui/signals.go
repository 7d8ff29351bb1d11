package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// Service signals on the console (issue 14): the services screen's 5XX/M column and the
// service screen's signal lines read the signals the root keeps in common.signals. They are
// read after every snapshot for the services on screen; the action layer reads CloudWatch at
// most once a minute, so a tick costs no call while nothing is due.

// signalsMsg answers a read of the signals of the services on screen.
type signalsMsg struct {
	sigs map[model.ServiceKey]model.Signals
	err  error
}

// signalsCmd reads the signals of the services on screen (the service in view on its screen).
func (m *Model) signalsCmd() tea.Cmd {
	if m.tasks.runs(taskSignals, "") || !m.c.haveFleet {
		return nil
	}
	var keys []model.ServiceKey
	switch m.screen {
	case screenService:
		keys = []model.ServiceKey{m.detail.key}
	case screenServices:
		keys = m.list.visible()
	default:
		return nil
	}
	var svcs []model.Service
	for _, k := range keys {
		if s, ok := m.c.fleet.ServiceAt(k); ok {
			svcs = append(svcs, *s)
		}
	}
	if len(svcs) == 0 {
		return nil
	}
	r := m.cfg.Reader
	return m.task(taskSpec{kind: taskSignals, text: "CloudWatch signals",
		run: func(ctx context.Context) tea.Msg {
			sigs, err := r.Signals(ctx, svcs)
			return signalsMsg{sigs: sigs, err: err}
		},
		fail: func(err error) tea.Msg { return signalsMsg{err: err} },
	})
}

// applySignals keeps the signals read; a failed read keeps the last ones.
func (m *Model) applySignals(msg signalsMsg) {
	if msg.err != nil {
		return
	}
	if m.c.signals == nil {
		m.c.signals = map[model.ServiceKey]model.Signals{}
	}
	for k, s := range msg.sigs {
		m.c.signals[k] = s
	}
	m.list.alarmsFirst()
}

// alarmsFirst moves the services in alarm to the top of the list, keeping the cursor on its
// service: a service in alarm sorts with the problems.
func (v *servicesView) alarmsFirst() {
	if len(v.rows) == 0 {
		return
	}
	var cur model.ServiceKey
	if v.cursor < len(v.rows) {
		cur = v.rows[v.cursor]
	}
	sort.SliceStable(v.rows, func(i, j int) bool {
		return v.inAlarm(v.rows[i]) && !v.inAlarm(v.rows[j])
	})
	for i, k := range v.rows {
		if k == cur {
			v.cursor = i
		}
	}
}

func (v *servicesView) inAlarm(k model.ServiceKey) bool {
	s, ok := v.c.signals[k]
	return ok && s.InAlarm()
}

// colSignals is the width of the 5XX/M column: "⚠ 1.2k/m↑".
const colSignals = 10

// signalsCell is a service's 5XX/M cell: errors a minute with the trend, "⚠" in alarm, "–"
// while not read, "no data" without request datapoints.
func signalsCell(c *common, k model.ServiceKey, w int) string {
	s, ok := c.signals[k]
	if !ok {
		return padL("–", w)
	}
	text := s.ErrorsCell()
	if s.InAlarm() {
		return c.st.Error.Render(padL("⚠ "+text, w))
	}
	if t := s.ErrorTrend(); t == model.TrendUp {
		return c.st.Warning.Render(padL(text, w))
	}
	return c.st.Muted.Render(padL(text, w))
}

// signalLines are the service screen's signals: the alarms, the numbers now, and the last
// hour as sparklines with the rollouts marked (▲ a rollout, ▼ a rollback) from the ledger.
// A short screen gets the 5xx sparkline only.
func (v *serviceView) signalLines() []string {
	st := v.c.st
	s, ok := v.c.signals[v.key]
	if !ok {
		return []string{st.Muted.Render("signals: reading CloudWatch…")}
	}
	var out []string
	if s.InAlarm() {
		var parts []string
		for _, a := range s.Alarms {
			parts = append(parts, fmt.Sprintf("%s since %s", a.Name, a.Since.UTC().Format("15:04")))
		}
		out = append(out, st.Error.Render("⚠ in alarm: "+strings.Join(parts, "; ")))
	}
	line := "signals: " + s.Summary()
	if len(s.Warnings) > 0 {
		line += st.Warning.Render("  (" + strings.Join(s.Warnings, "; ") + ")")
	}
	out = append(out, line)
	if !s.HasData() {
		return out
	}
	const label = 9
	w := min(60, v.width-label-2)
	if w < 10 {
		return out
	}
	end := s.ReadAt.UTC().Truncate(time.Minute).Add(-time.Minute)
	marks := model.ReleaseMarks(v.releases.blocks, end.Add(-time.Duration(w-1)*time.Minute), end)
	rows := []struct {
		name string
		s    model.Series
	}{{"5xx/min", s.Errors}}
	if v.height >= 30 {
		rows = append(rows, struct {
			name string
			s    model.Series
		}{"requests", s.Requests}, struct {
			name string
			s    model.Series
		}{"p99", s.P99})
	}
	for _, r := range rows {
		out = append(out, st.Muted.Render(pad(r.name, label))+model.Sparkline(r.s, end, w, marks))
	}
	return out
}

// signalsAt is a service's signals at a moment.
type signalsAt struct {
	sig model.Signals
	at  time.Time
}

// noteSignalsBefore keeps the service's signals when a promote or rollback of it starts.
func (m *Model) noteSignalsBefore(p model.Plan) {
	if p.Action != model.ActionPromote && p.Action != model.ActionRollback {
		return
	}
	k := p.Key()
	sig, ok := m.c.signals[k]
	if !ok {
		return
	}
	if m.c.signalsBefore == nil {
		m.c.signalsBefore = map[model.ServiceKey]signalsAt{}
	}
	m.c.signalsBefore[k] = signalsAt{sig: sig, at: m.c.cfg.Now()}
}

// signalsProgress is what a running action's status line adds about the service's signals:
// the 5xx rate now, and when the action ends, the before/after line ("5xx 4.1% → 0.2% in 6
// min"). "" when the signals are not read.
func (m *Model) signalsProgress(k model.ServiceKey, done bool) string {
	now, ok := m.c.signals[k]
	if !ok {
		return ""
	}
	before, had := m.c.signalsBefore[k]
	if done && had {
		delete(m.c.signalsBefore, k)
		b, bok := before.sig.CurrentErrorRate()
		a, aok := now.LatestErrorRate()
		return " · " + model.BeforeAfter(b, a, bok, aok, m.c.cfg.Now().Sub(before.at))
	}
	rate, rok := now.CurrentErrorRate()
	s := " · 5xx " + model.FormatRate(rate, rok)
	if now.InAlarm() {
		s += " (in alarm)"
	}
	return s
}
