package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/adstage/adstage-ops/aws"
	"github.com/adstage/adstage-ops/model"
)

// Config is what the console is opened with.
type Config struct {
	Reader   aws.Reader
	Operator aws.Operator // nil in read-only mode
	Now      func() time.Time
	Refresh  time.Duration
	ReadOnly bool
	// Env limits the console to one environment ("" shows all).
	Env string
	// EnvColors maps an environment to its colour (production red by default).
	EnvColors  map[string]string
	Production func(env string) bool
	AuditLog   func() ([]model.AuditEvent, error)
	Version    string
	// Clipboard copies text (OSC 52 by default); tests replace it.
	Clipboard func(string)
	// Timeout bounds each AWS call the console makes (default 30s).
	Timeout time.Duration
}

// Minimum terminal size the console lays out in.
const (
	minWidth  = 80
	minHeight = 20
)

type screen int

const (
	screenServices screen = iota
	screenService
	screenAudit
)

// Messages. Every AWS call is a tea.Cmd answering with one of these.
type (
	clockMsg time.Time
	fleetMsg struct {
		id    int
		fleet model.Fleet
		err   error
	}
	planMsg struct {
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
	historyMsg struct {
		key    model.ServiceKey
		h      model.History
		events []model.AuditEvent
		err    error
	}
	noticeMsg struct {
		text string
		err  bool
	}
)

// Model is the root of the console: it owns the screens, the dialog stack, the live refresh
// and the status line.
type Model struct {
	cfg  Config
	st   Styles
	keys Keys
	help help.Model
	spin spinner.Model
	w, h int

	fleet      model.Fleet
	haveFleet  bool
	refreshing bool
	lastStart  time.Time
	reqID      int // id of the newest refresh request
	lastErr    string
	lastErrAt  time.Time

	screen    screen
	list      servicesView
	detail    serviceView
	audit     auditView
	dialogs   []dialog
	showHelp  bool
	status    string
	statusBad bool
	busy      string // what the console is waiting for besides the refresh

	// actions holds the latest progress of each running action, by service.
	actions map[model.ServiceKey]model.Progress

	// ready is each service's rollback readiness, read for the rows on screen (one batch at a
	// time, each answer kept for readyTTL) so that the services screen always shows it.
	ready        map[model.ServiceKey]readyEntry
	readyLoading bool
}

type readyEntry struct {
	r   model.Readiness
	err bool
	at  time.Time
}

// readyTTL is how long a readiness answer is shown before it is read again. The inventory
// caches it per group configuration, so a re-read costs no AWS call unless something changed.
const readyTTL = 30 * time.Second

// readyBatchMsg answers a readiness batch.
type readyBatchMsg map[model.ServiceKey]readyEntry

// New builds the console.
func New(cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Second
	}
	if cfg.Production == nil {
		cfg.Production = func(env string) bool { return env == "production" || env == "prod" }
	}
	if cfg.EnvColors == nil {
		cfg.EnvColors = map[string]string{"production": "1", "staging": "3"}
	}
	if cfg.Clipboard == nil {
		cfg.Clipboard = termenv.Copy
	}
	if cfg.Operator == nil {
		cfg.ReadOnly = true
	}
	m := &Model{
		cfg:     cfg,
		st:      NewStyles(DefaultPalette),
		keys:    DefaultKeys(),
		help:    help.New(),
		spin:    spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		w:       120,
		h:       36,
		actions: map[model.ServiceKey]model.Progress{},
		ready:   map[model.ServiceKey]readyEntry{},
	}
	if cfg.ReadOnly {
		for _, b := range m.keys.mutating() {
			b.SetEnabled(false)
		}
	}
	m.list = newServicesView()
	return m
}

// Run opens the console in the terminal's alternate screen.
func Run(cfg Config) error {
	_, err := tea.NewProgram(New(cfg), tea.WithAltScreen()).Run()
	return err
}

// Init starts the first refresh and the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.startRefresh(), m.clockCmd(), m.spin.Tick)
}

func (m *Model) clockCmd() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return clockMsg(t) })
}

// startRefresh is the task envelope of the live view: one request at a time, each with an id,
// and answers older than the newest request are dropped.
func (m *Model) startRefresh() tea.Cmd {
	if m.refreshing {
		return nil
	}
	m.refreshing = true
	m.reqID++
	m.lastStart = m.cfg.Now()
	return m.refreshCmd(m.reqID)
}

func (m *Model) refreshCmd(id int) tea.Cmd {
	r := m.cfg.Reader
	return func() tea.Msg {
		f, err := r.Snapshot(context.Background())
		return fleetMsg{id: id, fleet: f, err: err}
	}
}

// Update routes messages: dialogs first, then the help overlay, then the screen.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, nil
	case clockMsg:
		var cmd tea.Cmd
		if m.cfg.Now().Sub(m.lastStart) >= m.cfg.Refresh {
			cmd = m.startRefresh()
		}
		return m, tea.Batch(cmd, m.clockCmd())
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case fleetMsg:
		return m, m.applyFleet(msg)
	case filterMsg:
		m.list.applyFilter(msg, &m.fleet)
		m.focus()
		return m, nil
	case imagesMsg, readinessMsg:
		m.detail.apply(msg)
		if len(m.dialogs) > 0 {
			return m, m.top().Update(msg, m)
		}
		return m, nil
	case readyBatchMsg:
		m.readyLoading = false
		for k, e := range msg {
			m.ready[k] = e
		}
		return m, nil
	case historyMsg:
		m.audit.apply(msg, m)
		return m, nil
	case planMsg:
		m.busy = ""
		if msg.err != nil {
			m.setStatus(aws.Explain(msg.err), true)
			return m, nil
		}
		m.push(newPlanDialog(msg.plan, m))
		return m, nil
	case startedMsg:
		if msg.err != nil {
			m.setStatus(fmt.Sprintf("%s %s: %s", msg.plan.Action, msg.plan.Target(), aws.Explain(msg.err)), true)
			return m, nil
		}
		m.setStatus(fmt.Sprintf("%s %s started", msg.plan.Action, msg.plan.Target()), false)
		return m, tea.Batch(waitProgress(msg.plan, msg.ch), m.startRefresh())
	case progressMsg:
		return m, m.applyProgress(msg)
	case noticeMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) applyFleet(msg fleetMsg) tea.Cmd {
	if msg.id != m.reqID {
		return nil // an answer to an older request
	}
	m.refreshing = false
	if msg.err != nil {
		if errors.Is(msg.err, aws.ErrRefreshRunning) {
			return nil
		}
		m.lastErr, m.lastErrAt = aws.Explain(msg.err), m.cfg.Now()
		return nil
	}
	m.lastErr = ""
	m.fleet, m.haveFleet = msg.fleet, true
	if m.cfg.Env != "" {
		m.fleet.Services = filterEnv(m.fleet.Services, m.cfg.Env)
	}
	cmd := m.list.fleetChanged(&m.fleet)
	m.detail.fleetChanged(&m.fleet)
	m.focus()
	return tea.Batch(cmd, m.detailRefresh(), m.readyBatch())
}

// readyBatch reads the rollback readiness of the services on screen that have none or an old
// one, one batch at a time.
func (m *Model) readyBatch() tea.Cmd {
	if m.readyLoading || m.screen != screenServices {
		return nil
	}
	now := m.cfg.Now()
	var keys []model.ServiceKey
	for _, k := range m.list.visible(m.bodyHeight()) {
		if e, ok := m.ready[k]; !ok || now.Sub(e.at) >= readyTTL {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	m.readyLoading = true
	r := m.cfg.Reader
	return func() tea.Msg {
		out := readyBatchMsg{}
		for _, k := range keys {
			rd, err := r.Readiness(context.Background(), k.Name, k.Env)
			out[k] = readyEntry{r: rd, err: err != nil, at: now}
		}
		return out
	}
}

// detailRefresh re-reads what the service screen shows beside the fleet: rollback readiness
// every tick (the inventory caches it until the groups change) and the baked images while one
// is still pending. Never two of the same at once.
func (m *Model) detailRefresh() tea.Cmd {
	if m.screen != screenService || m.detail.svc == nil {
		return nil
	}
	var cmds []tea.Cmd
	if !m.detail.readyLoading {
		m.detail.readyLoading = true
		cmds = append(cmds, m.readinessCmd(m.detail.key))
	}
	if !m.detail.imagesLoading && m.detail.pendingImage() {
		m.detail.imagesLoading = true
		cmds = append(cmds, m.imagesCmd(m.detail.key.Name))
	}
	return tea.Batch(cmds...)
}

func filterEnv(all []model.Service, env string) []model.Service {
	out := all[:0:0]
	for _, s := range all {
		if s.Env == env {
			out = append(out, s)
		}
	}
	return out
}

// focus tells the inventory which services are on screen.
func (m *Model) focus() {
	var keys []model.ServiceKey
	switch m.screen {
	case screenService, screenAudit:
		keys = []model.ServiceKey{m.detail.key}
	default:
		keys = m.list.visible(m.bodyHeight())
	}
	m.cfg.Reader.Focus(keys)
}

func (m *Model) applyProgress(msg progressMsg) tea.Cmd {
	k := model.ServiceKey{Name: msg.plan.Service, Env: msg.plan.Env}
	if msg.done {
		delete(m.actions, k)
		return m.startRefresh()
	}
	m.actions[k] = msg.ev
	text := fmt.Sprintf("%s %s: %s", msg.plan.Action, msg.plan.Target(), progressText(msg.ev))
	m.setStatus(text, msg.ev.Err != nil)
	return waitProgress(msg.plan, msg.ch)
}

func progressText(ev model.Progress) string {
	s := ev.Message
	if ev.Group != "" {
		s = ev.Group + ": " + s
	}
	if ev.Percent > 0 {
		s += fmt.Sprintf(" (%d%%)", ev.Percent)
	}
	if ev.Err != nil {
		s += " — " + aws.Explain(ev.Err)
	}
	return s
}

// waitProgress reads the next event of a running action.
func waitProgress(p model.Plan, ch <-chan model.Progress) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		return progressMsg{plan: p, ev: ev, ch: ch, done: !ok}
	}
}

func (m *Model) setStatus(s string, bad bool) { m.status, m.statusBad = s, bad }

func (m *Model) push(d dialog) { m.dialogs = append(m.dialogs, d) }
func (m *Model) pop()          { m.dialogs = m.dialogs[:len(m.dialogs)-1] }
func (m *Model) top() dialog   { return m.dialogs[len(m.dialogs)-1] }

// key handles a key press.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if len(m.dialogs) > 0 {
		return m.top().Update(msg, m)
	}
	if m.showHelp {
		m.showHelp = false
		return nil
	}
	// A screen that is taking text gets every key.
	if m.screen == screenServices && m.list.filtering {
		return m.list.filterKey(msg, m)
	}
	if m.screen == screenAudit && m.audit.filtering {
		return m.audit.filterKey(msg, m)
	}
	switch {
	case key.Matches(msg, m.keys.Global.Quit):
		return tea.Quit
	case key.Matches(msg, m.keys.Global.Help):
		m.showHelp = true
		return nil
	}
	switch m.screen {
	case screenService:
		return m.detail.handleKey(msg, m)
	case screenAudit:
		return m.audit.handleKey(msg, m)
	default:
		return m.list.handleKey(msg, m)
	}
}

// unavailable says why an action key does nothing, instead of ignoring it.
func (m *Model) unavailable(b key.Binding) tea.Cmd {
	if m.cfg.ReadOnly {
		m.setStatus(fmt.Sprintf("read-only mode: %s is not available (restart without --read-only to change anything)", b.Help().Desc), true)
	}
	return nil
}

// openService shows one service.
func (m *Model) openService(k model.ServiceKey) tea.Cmd {
	m.screen = screenService
	m.detail.open(k, &m.fleet)
	m.focus()
	m.detail.imagesLoading, m.detail.readyLoading = true, true
	return tea.Batch(m.imagesCmd(k.Name), m.readinessCmd(k))
}

func (m *Model) imagesCmd(service string) tea.Cmd {
	r := m.cfg.Reader
	return func() tea.Msg {
		imgs, err := r.Images(context.Background(), service)
		return imagesMsg{service: service, images: imgs, err: err}
	}
}

func (m *Model) readinessCmd(k model.ServiceKey) tea.Cmd {
	r := m.cfg.Reader
	return func() tea.Msg {
		rd, err := r.Readiness(context.Background(), k.Name, k.Env)
		return readinessMsg{key: k, r: rd, err: err}
	}
}

func (m *Model) openAudit(k model.ServiceKey) tea.Cmd {
	m.screen = screenAudit
	m.audit.open(k)
	r, logf := m.cfg.Reader, m.cfg.AuditLog
	return func() tea.Msg {
		h, err := r.History(context.Background(), k.Name, k.Env)
		var events []model.AuditEvent
		if logf != nil {
			ev, lerr := logf()
			if err == nil {
				err = lerr
			}
			events = ev
		}
		return historyMsg{key: k, h: h, events: events, err: err}
	}
}

// planCmd asks the operator for a plan; nothing changes until it is confirmed.
func (m *Model) planCmd(what string, f func(context.Context, aws.Operator) (model.Plan, error)) tea.Cmd {
	op := m.cfg.Operator
	m.busy = "planning " + what
	return func() tea.Msg {
		p, err := f(context.Background(), op)
		return planMsg{plan: p, err: err}
	}
}

func (m *Model) rollbackCmd(k model.ServiceKey) tea.Cmd {
	return m.planCmd("rollback of "+k.String(), func(ctx context.Context, op aws.Operator) (model.Plan, error) {
		return op.PlanRollback(ctx, aws.RollbackRequest{Service: k.Name, Env: k.Env})
	})
}

func (m *Model) promoteDialog(k model.ServiceKey) tea.Cmd {
	m.push(newPromoteDialog(k, m))
	return m.imagesCmd(k.Name)
}

func (m *Model) executeCmd(p model.Plan) tea.Cmd {
	op := m.cfg.Operator
	return func() tea.Msg {
		// The action outlives this command: it follows the rollout until it ends.
		ch, err := op.Execute(context.Background(), p)
		return startedMsg{plan: p, ch: ch, err: err}
	}
}

func (m *Model) cancelCmd(p model.Plan) tea.Cmd {
	op := m.cfg.Operator
	return func() tea.Msg {
		op.Cancelled(p)
		return noticeMsg{text: fmt.Sprintf("%s %s cancelled; nothing was sent", p.Action, p.Target())}
	}
}

func (m *Model) copyCmd(s string) tea.Cmd {
	clip := m.cfg.Clipboard
	return func() tea.Msg {
		clip(s)
		return noticeMsg{text: "copied: " + s}
	}
}

func (m *Model) bodyHeight() int {
	h := m.h - 4 // header, frame, status, help line
	if h < 1 {
		h = 1
	}
	return h
}

// envColor is the colour of the environment in view.
func (m *Model) envColor() (string, string) {
	env := m.cfg.Env
	if m.screen != screenServices && m.detail.key.Env != "" {
		env = m.detail.key.Env
	}
	return env, m.cfg.EnvColors[env]
}

// View draws the header, the screen, the status line and the short help.
func (m *Model) View() string {
	if m.w < minWidth || m.h < minHeight {
		return fmt.Sprintf("Terminal too small (%dx%d):\nadstage-ops needs at least %dx%d.\nEnlarge the window,\nor press q to quit.", m.w, m.h, minWidth, minHeight)
	}
	var body string
	switch {
	case m.showHelp:
		body = m.helpView()
	case m.screen == screenService:
		body = m.detail.view(m, m.bodyHeight())
	case m.screen == screenAudit:
		body = m.audit.view(m, m.bodyHeight())
	default:
		body = m.list.view(m, m.bodyHeight())
	}
	if len(m.dialogs) > 0 {
		body = lipgloss.Place(m.w, m.bodyHeight(), lipgloss.Center, lipgloss.Center, m.top().View(m))
	}
	body = fitHeight(body, m.bodyHeight())
	_, color := m.envColor()
	frame := m.st.FrameLine(color, m.w)
	return strings.Join([]string{m.header(), frame, body, m.statusLine(), m.shortHelp()}, "\n")
}

// fitHeight pads or cuts s to exactly h lines.
func fitHeight(s string, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func (m *Model) header() string {
	st := m.st
	env, color := m.envColor()
	if env == "" {
		env = "all envs"
	}
	parts := []string{st.Title.Render("adstage-ops"), st.EnvBadge(env, color)}
	if m.cfg.ReadOnly {
		parts = append(parts, st.HeaderLock.Render("🔒 read-only"))
	} else {
		parts = append(parts, st.HeaderWrite.Render("✎ write"))
	}
	switch {
	case m.refreshing && !m.haveFleet:
		parts = append(parts, st.Busy.Render(m.spin.View()+" loading"))
	case m.haveFleet:
		a := st.Muted.Render("data " + age(m.cfg.Now().Sub(m.fleet.FetchedAt)) + " old")
		if m.cfg.Now().Sub(m.fleet.FetchedAt) < time.Second {
			a = st.Muted.Render("data fresh")
		}
		if m.refreshing {
			a = st.Busy.Render(m.spin.View()) + " " + a
		}
		parts = append(parts, a)
	}
	if m.lastErr != "" {
		parts = append(parts, st.Error.Render("✗ refresh failed"))
	} else if len(m.fleet.Problems) > 0 {
		parts = append(parts, st.Warning.Render(fmt.Sprintf("⚠ %d partial", len(m.fleet.Problems))))
	}
	if m.haveFleet {
		parts = append(parts, st.HeaderKey.Render("acct ")+m.fleet.Account, m.fleet.Region)
		if id := shortARN(m.fleet.Identity); id != "" {
			parts = append(parts, id)
		}
	}
	return truncate(strings.Join(parts, st.Muted.Render(" │ ")), m.w)
}

// shortARN keeps the useful end of a caller ARN.
func shortARN(arn string) string {
	if i := strings.Index(arn, ":"); i >= 0 {
		parts := strings.SplitN(arn, ":", 6)
		if len(parts) == 6 {
			return parts[5]
		}
	}
	return arn
}

func (m *Model) statusLine() string {
	switch {
	case m.lastErr != "":
		return truncate(m.st.StatusError.Render("✗ "+m.lastErr+" (showing the last good data)"), m.w)
	case m.busy != "":
		return truncate(m.st.Busy.Render(m.spin.View()+" "+m.busy+"…"), m.w)
	case m.status != "":
		if m.statusBad {
			return truncate(m.st.StatusError.Render(m.status), m.w)
		}
		return truncate(m.st.Status.Render(m.status), m.w)
	case len(m.fleet.Problems) > 0:
		return truncate(m.st.Warning.Render("⚠ "+m.fleet.Problems[0]), m.w)
	}
	return ""
}

// activeBindings are the bindings of what has focus, for the help views.
func (m *Model) activeBindings() [][]key.Binding {
	if len(m.dialogs) > 0 {
		return [][]key.Binding{m.top().Bindings(m)}
	}
	nav := []key.Binding{m.keys.Nav.Up, m.keys.Nav.Down, m.keys.Nav.Top, m.keys.Nav.Bottom, m.keys.Nav.PageUp, m.keys.Nav.PageDown}
	global := []key.Binding{m.keys.Global.Help, m.keys.Global.Quit}
	var screen []key.Binding
	switch m.screen {
	case screenService:
		k := m.keys.Service
		screen = []key.Binding{k.Bake, k.Promote, k.Rollback, k.Audit, m.keys.Global.Back}
	case screenAudit:
		screen = []key.Binding{m.keys.Services.Filter, m.keys.Global.Back}
	default:
		k := m.keys.Services
		if m.list.filtering {
			return [][]key.Binding{{m.keys.Filter.Apply, m.keys.Filter.Clear}}
		}
		screen = []key.Binding{k.Open, k.Filter, k.Promote, k.Rollback, k.Audit}
		if m.list.query != "" {
			screen = append(screen, m.keys.Filter.Clear)
		}
	}
	return [][]key.Binding{screen, nav, global}
}

func (m *Model) shortHelp() string {
	groups := m.activeBindings()
	var flat []key.Binding
	for _, g := range groups {
		flat = append(flat, g...)
	}
	return truncate(m.help.ShortHelpView(flat), m.w)
}

func (m *Model) helpView() string {
	return m.st.Title.Render("Keys") + "\n\n" + m.help.FullHelpView(m.activeBindings()) + "\n\n" + m.st.Muted.Render("press any key to close")
}

// truncate cuts a styled line to w cells.
func truncate(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}
