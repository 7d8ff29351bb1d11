package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// This file is the console's one door to the action layer: every ops.Reader and ops.Operator
// call runs here, inside the task envelope (tasks.go), and answers with a typed message.
// Components never see the action layer's packages.

// Config is what the console is opened with.
type Config struct {
	Reader   ops.Reader
	Operator ops.Operator // nil in read-only mode
	Now      func() time.Time
	Refresh  time.Duration
	ReadOnly bool
	// Env limits the console to one environment ("" shows all).
	Env string
	// EnvColors maps an environment to its colour (production red by default).
	EnvColors  map[string]string
	Production func(env string) bool
	AuditLog   func() ([]model.AuditEvent, error)
	// Shell prepares a shell on an instance (`s`); nil: no shell (read-only, or no AWS CLI).
	Shell   ShellFunc
	Version string
	// Clipboard copies text (OSC 52 by default); tests replace it.
	Clipboard func(string)
	// Timeout bounds each AWS call the console makes (default 30s).
	Timeout time.Duration
	// Demo is set when the console runs on the demo fleet: the plan's CLI twin says --demo.
	Demo bool
	// Theme is the config's theme: "" or ThemeDefault, or ThemeHighContrast.
	Theme string
	// NoColor drops every colour (the NO_COLOR environment variable is set).
	NoColor bool
}

// Messages answering the action layer's calls.
type (
	fleetMsg struct {
		fleet model.Fleet
		err   error
	}
	planMsg struct {
		req  planRequest
		plan model.Plan
		err  error
	}
	startedMsg struct {
		plan model.Plan
		ch   <-chan model.Progress
		err  error
	}
	progressMsg struct {
		plan model.Plan
		ev   model.Progress
		ch   <-chan model.Progress
		done bool
	}
	imagesMsg struct {
		service string
		images  []model.Image
		err     error
	}
	readinessMsg struct {
		key model.ServiceKey
		r   model.Readiness
		err error
	}
	// ledgerMsg answers the service screen's read of the release ledgers.
	ledgerMsg struct {
		key model.ServiceKey
		h   model.History
		err error
	}
	historyMsg struct {
		key    model.ServiceKey
		h      model.History
		events []model.AuditEvent
		err    error
	}
	// readyBatchMsg answers a readiness batch.
	readyBatchMsg map[model.ServiceKey]readyEntry
)

// explain turns an error from the action layer into a sentence with a next step.
func explain(err error) string {
	var te timeoutError
	if errors.As(err, &te) {
		return te.Error()
	}
	return awsapi.Explain(err)
}

// refreshRunning reports whether a snapshot was refused because another one runs.
func refreshRunning(err error) bool { return errors.Is(err, awsapi.ErrRefreshRunning) }

func (m *Model) task(s taskSpec) tea.Cmd {
	cmd, refused := m.tasks.start(m.c.now(), s)
	if refused != "" {
		return notice(refused, true)
	}
	return cmd
}

// startRefresh reads the fleet, one snapshot at a time.
func (m *Model) startRefresh() tea.Cmd {
	if m.tasks.runs(taskRefresh, "") {
		return nil
	}
	m.lastStart = m.c.now()
	r := m.cfg.Reader
	cmd, _ := m.tasks.start(m.lastStart, taskSpec{kind: taskRefresh, text: "refresh",
		run: func(ctx context.Context) tea.Msg {
			f, err := r.Snapshot(ctx)
			return fleetMsg{fleet: f, err: err}
		},
		fail: func(err error) tea.Msg { return fleetMsg{err: err} },
	})
	return cmd
}

// readyBatch reads the rollback readiness of the services on screen that have none or an old
// one, one batch at a time.
func (m *Model) readyBatch() tea.Cmd {
	if m.tasks.runs(taskReadyBatch, "") || m.screen != screenServices {
		return nil
	}
	now := m.c.now()
	var keys []model.ServiceKey
	for _, k := range m.list.visible() {
		if e, ok := m.c.ready[k]; !ok || now.Sub(e.at) >= readyTTL {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	r := m.cfg.Reader
	fail := func(error) tea.Msg {
		out := readyBatchMsg{}
		for _, k := range keys {
			out[k] = readyEntry{err: true, at: now}
		}
		return out
	}
	return m.task(taskSpec{kind: taskReadyBatch, text: "rollback readiness",
		run: func(ctx context.Context) tea.Msg {
			out := readyBatchMsg{}
			for _, k := range keys {
				rd, err := ops.ReaderFor(r, k).Readiness(ctx, k.Name, k.Env)
				out[k] = readyEntry{r: rd, err: err != nil, at: now}
			}
			return out
		},
		fail: fail,
	})
}

// readinessCmd reads whether the service in view can be rolled back.
func (m *Model) readinessCmd(k model.ServiceKey) tea.Cmd {
	if m.tasks.runs(taskReadiness, k.String()) {
		return nil
	}
	r := m.cfg.Reader
	return m.task(taskSpec{kind: taskReadiness, key: k.String(), text: "rollback readiness of " + k.String(),
		run: func(ctx context.Context) tea.Msg {
			rd, err := ops.ReaderFor(r, k).Readiness(ctx, k.Name, k.Env)
			return readinessMsg{key: k, r: rd, err: err}
		},
		fail: func(err error) tea.Msg { return readinessMsg{key: k, err: err} },
	})
}

// imagesCmd lists a service's baked images.
func (m *Model) imagesCmd(service string) tea.Cmd {
	if m.tasks.runs(taskImages, service) {
		return nil // its answer goes to whoever asks now too
	}
	r := m.cfg.Reader
	return m.task(taskSpec{kind: taskImages, key: service, text: "baked images of " + service,
		run: func(ctx context.Context) tea.Msg {
			imgs, err := r.Images(ctx, service)
			return imagesMsg{service: service, images: imgs, err: err}
		},
		fail: func(err error) tea.Msg { return imagesMsg{service: service, err: err} },
	})
}

// historyCmd reads a service's history and the local audit log.
func (m *Model) historyCmd(k model.ServiceKey) tea.Cmd {
	r, logf := m.cfg.Reader, m.cfg.AuditLog
	return m.task(taskSpec{kind: taskHistory, key: k.String(), text: "history of " + k.String(),
		run: func(ctx context.Context) tea.Msg {
			h, err := ops.ReaderFor(r, k).History(ctx, k.Name, k.Env)
			var events []model.AuditEvent
			if logf != nil {
				ev, lerr := logf()
				if err == nil {
					err = lerr
				}
				events = ev
			}
			return historyMsg{key: k, h: h, events: events, err: err}
		},
		fail: func(err error) tea.Msg { return historyMsg{key: k, err: err} },
	})
}

// ledgerCmd reads the release ledgers of the service screen's service: when the screen opens
// and after an action on the service, never every tick.
func (m *Model) ledgerCmd(k model.ServiceKey) tea.Cmd {
	if m.tasks.runs(taskLedger, k.String()) {
		return nil
	}
	r := m.cfg.Reader
	return m.task(taskSpec{kind: taskLedger, key: k.String(), text: "releases of " + k.String(),
		run: func(ctx context.Context) tea.Msg {
			h, err := ops.ReaderFor(r, k).History(ctx, k.Name, k.Env)
			return ledgerMsg{key: k, h: h, err: err}
		},
		fail: func(err error) tea.Msg { return ledgerMsg{key: k, err: err} },
	})
}

// imageMarksCheck is the name of the promote check an override turns into a warning.
const imageMarksCheck = ops.CheckImageMarks

// planCmd asks the operator for a plan; nothing changes until it is confirmed. One plan is
// read at a time: a second request says which one is being read.
func (m *Model) planCmd(req planRequest) tea.Cmd {
	op := m.cfg.Operator
	if op == nil {
		return nil
	}
	return m.task(taskSpec{kind: taskPlan, text: req.text(), busy: "reading " + req.text(),
		run: func(ctx context.Context) tea.Msg {
			p, err := plan(ctx, op, req)
			return planMsg{req: req, plan: p, err: err}
		},
		fail: func(err error) tea.Msg { return planMsg{req: req, err: err} },
	})
}

// plan asks the operator of the request's row: the row's region's, when its key names one.
func plan(ctx context.Context, op ops.Operator, r planRequest) (model.Plan, error) {
	op = ops.OperatorFor(op, r.key)
	switch r.action {
	case model.ActionBake:
		return op.PlanBake(ctx, ops.BakeRequest{InstanceID: r.instance, Label: r.label, NoReboot: r.noReboot})
	case model.ActionPromote:
		return op.PlanPromote(ctx, ops.PromoteRequest{Service: r.key.Name, Env: r.key.Env, ImageID: r.imageID, FromEnv: r.fromEnv, Reason: r.reason, AllowBadImage: r.allowBad})
	case model.ActionRollback:
		return op.PlanRollback(ctx, ops.RollbackRequest{Service: r.key.Name, Env: r.key.Env, Reason: r.reason})
	case model.ActionMark:
		return op.PlanMark(ctx, ops.MarkRequest{Service: r.key.Name, Env: r.key.Env, Version: r.version, Kind: r.markKind, Reason: r.reason})
	case model.ActionCancel:
		return op.PlanCancel(ctx, ops.CancelRequest{Service: r.key.Name, Env: r.key.Env})
	}
	return model.Plan{}, fmt.Errorf("plan %q: not an action adstage-ops knows", r.action)
}

// executeCmd carries out a confirmed plan. The action outlives the call (it follows the
// rollout until it ends), so it runs under the root context: quitting stops the follower.
func (m *Model) executeCmd(p model.Plan) tea.Cmd {
	op := m.cfg.Operator
	if op == nil {
		return nil
	}
	return m.task(taskSpec{kind: taskExecute, key: p.Target(), text: fmt.Sprintf("%s %s", p.Action, p.Target()), busy: fmt.Sprintf("%s %s: sending", p.Action, p.Target()),
		already: "is already being sent", timeout: -1, detached: true,
		run: func(ctx context.Context) tea.Msg {
			ch, err := op.Execute(ctx, p)
			return startedMsg{plan: p, ch: ch, err: err}
		},
		fail: func(err error) tea.Msg { return startedMsg{plan: p, err: err} },
	})
}

// cancelCmd records in the audit log that the operator declined a plan.
func (m *Model) cancelCmd(p model.Plan) tea.Cmd {
	op := m.cfg.Operator
	if op == nil {
		return nil
	}
	return func() tea.Msg {
		op.Cancelled(p)
		return noticeMsg{text: fmt.Sprintf("%s %s cancelled; nothing was sent", p.Action, p.Target())}
	}
}

// waitProgress reads the next event of a running action. The operator closes the channel
// when the action ends or the root context does.
func waitProgress(p model.Plan, ch <-chan model.Progress) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		return progressMsg{plan: p, ev: ev, ch: ch, done: !ok}
	}
}

// focus tells the inventory which services are on screen, and which one is under the
// cursor (read first, every tick). It runs after every cursor move, screen change and fleet.
func (m *Model) focus() {
	var keys []model.ServiceKey
	var cursor model.ServiceKey
	switch m.screen {
	case screenService, screenAudit:
		keys = []model.ServiceKey{m.detail.key}
		cursor = m.detail.key
	default:
		keys = m.list.visible()
		cursor, _ = m.list.selected()
	}
	m.cfg.Reader.Focus(keys)
	m.cfg.Reader.Cursor(cursor)
}

// firstScreen reads the fleet again right after the first one when a balancer of a service
// on screen was not read yet: on a large fleet the first snapshot cannot know what is on
// screen, and the inventory spends its burst on the screen once it is told (focus).
func (m *Model) firstScreen(first bool) tea.Cmd {
	if !first {
		return nil
	}
	on := map[model.ServiceKey]bool{}
	for _, k := range m.list.visible() {
		on[k] = true
	}
	for gi := range m.c.fleet.Groups {
		g := &m.c.fleet.Groups[gi]
		if !on[model.ServiceKey{Name: g.Service, Env: g.Env}] && !on[model.ServiceKey{Name: g.Service, Env: g.Env, Region: g.From().Region}] {
			continue
		}
		for ii := range g.Instances {
			for _, th := range g.Instances[ii].Targets {
				if th.CheckedAt == 0 {
					return m.startRefresh()
				}
			}
		}
	}
	return nil
}
