package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/adstage/adstage-ops/model"
)

// Minimum terminal size the console lays out in.
const (
	minWidth  = 80
	minHeight = 20
	// The size laid out before the terminal reports its own.
	defaultWidth  = 120
	defaultHeight = 36
	// chromeLines are the lines around the body: header, frame, status and short help.
	chromeLines = 4
)

// defaultTimeout bounds each AWS call unless Config.Timeout says otherwise.
const defaultTimeout = 30 * time.Second

type screen int

const (
	screenServices screen = iota
	screenService
	screenAudit
)

type clockMsg time.Time

// Model is the root of the console: it owns the screens, focus and routing, the dialog stack,
// the task envelope and the status line. Screens and dialogs are components (common.go).
type Model struct {
	cfg   Config
	c     *common
	keys  Keys
	tasks *tasks

	lastStart time.Time // of the newest refresh
	lastErr   string    // why the newest refresh failed, as the status line says it

	screen   screen
	list     *servicesView
	detail   *serviceView
	audit    *auditView
	dialogs  []Dialog
	helpOpen bool
	help     *helpOverlay

	status    string
	statusBad bool
	statusAt  int // the newest task id when the status was set: newer than a busy task, it shows
	w, h      int

	// following counts the action followers waiting for their next progress event.
	following int
	// allFleet is every service of the newest refresh, before the environment shown is
	// applied: ":env" switches in place from it.
	allFleet []model.Service
}

// readyTTL is how long a readiness answer is shown before it is read again. The inventory
// caches it per group configuration, so a re-read costs no AWS call unless something changed.
const readyTTL = 30 * time.Second

// New builds the console.
func New(cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
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
	m := &Model{cfg: cfg, keys: DefaultKeys(), tasks: newTasks(cfg.Timeout)}
	if cfg.ReadOnly {
		m.keys.readOnly()
	}
	m.c = &common{
		cfg:     cfg,
		st:      NewStyles(paletteFor(cfg.Theme, cfg.NoColor)),
		keys:    &m.keys,
		help:    help.New(),
		spin:    spinner.New(spinner.WithSpinner(spinner.MiniDot)),
		actions: map[model.ServiceKey]model.Progress{},
		ready:   map[model.ServiceKey]readyEntry{},
		timer:   func(c tea.Cmd) tea.Cmd { return c },
	}
	m.c.help.Styles = m.c.st.HelpStyles(m.c.help.Styles)
	m.list = newServicesView(m.c)
	m.detail = newServiceView(m.c)
	m.audit = newAuditView(m.c)
	m.help = newHelpOverlay(m.c)
	m.setSize(defaultWidth, defaultHeight)
	m.syncKeys()
	return m
}

// syncKeys turns the keys that depend on the service in hand on or off, with the reason
// pressing one then gives: cancel needs a running rollout. It runs wherever the service in
// hand or the fleet changes (beside focus).
func (m *Model) syncKeys() {
	sel, ok := m.list.selected()
	if !ok {
		m.keys.Services.Cancel.availableIf("no service selected: nothing to cancel")
	} else {
		m.keys.Services.Cancel.availableIf(m.cancelUnavailable(sel))
	}
	m.keys.Service.Cancel.availableIf(m.cancelUnavailable(m.detail.key))
	m.keys.Service.Mark.availableIf(m.detail.markUnavailable())
	m.keys.Service.Bake.availableIf(m.detail.bakeUnavailable())
}

// cancelUnavailable says why the service's rollout cannot be cancelled ("" when it can be
// planned; the plan itself refuses a rollout already cancelling or rolling back, saying why).
func (m *Model) cancelUnavailable(k model.ServiceKey) string {
	if s, ok := m.c.fleet.ServiceAt(k); ok && s.RollingOut() {
		return ""
	}
	return fmt.Sprintf("no rollout is running on %s: nothing to cancel", k)
}

// Run opens the console in the terminal's alternate screen. Whatever ends it, the running
// calls and action followers stop with it.
func Run(cfg Config) error {
	if cfg.NoColor {
		// Beside the colourless palette: the bubbles' own styles (help, placeholders) drop
		// their colours too.
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	m := New(cfg)
	defer m.tasks.stop()
	_, err := tea.NewProgram(m, tea.WithAltScreen()).Run()
	return err
}

// Init starts the first refresh and the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.startRefresh(), m.clockCmd(), m.c.timer(m.c.spin.Tick))
}

func (m *Model) clockCmd() tea.Cmd {
	return m.c.timer(tea.Tick(time.Second, func(t time.Time) tea.Msg { return clockMsg(t) }))
}

func (m *Model) setSize(w, h int) {
	m.w, m.h = w, h
	m.c.width, m.c.height = w, max(h-chromeLines, 1)
	m.c.help.Width = w
	for _, c := range m.components() {
		c.SetSize(m.c.width, m.c.height)
	}
}

// components are the root's children, for SetSize.
func (m *Model) components() []Component {
	out := []Component{m.list, m.detail, m.audit, m.help}
	for _, d := range m.dialogs {
		out = append(out, d)
	}
	return out
}

// Update routes messages: task answers through the envelope, dialogs first, then the help
// overlay, then the screen in view; components' answers to the root.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return m, nil
	case clockMsg:
		var cmd tea.Cmd
		if m.c.now().Sub(m.lastStart) >= m.cfg.Refresh {
			cmd = m.startRefresh()
		}
		return m, tea.Batch(cmd, m.clockCmd())
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.c.spin, cmd = m.c.spin.Update(msg)
		return m, m.c.timer(cmd)
	case taskDoneMsg:
		if _, ok := m.tasks.done(msg.id); !ok || msg.msg == nil {
			return m, nil // stale: the task timed out, or the console is quitting
		}
		return m.Update(msg.msg)
	case fleetMsg:
		return m, m.applyFleet(msg)
	case filterMsg:
		_, cmd := m.list.Update(msg)
		m.focus()
		m.syncKeys()
		return m, cmd
	case imagesMsg, readinessMsg:
		m.detail.Update(msg)
		return m, m.toDialog(msg)
	case signalsMsg:
		m.applySignals(msg)
		return m, nil
	case readyBatchMsg:
		for k, e := range msg {
			m.c.ready[k] = e
		}
		return m, nil
	case historyMsg:
		_, cmd := m.audit.Update(msg)
		return m, cmd
	case ledgerMsg:
		m.detail.Update(msg)
		m.syncKeys()
		return m, nil
	case planMsg:
		if msg.err != nil {
			m.setStatus(explain(msg.err), true)
			return m, nil
		}
		m.push(newPlanDialog(m.c, msg.plan, msg.req))
		return m, nil
	case startedMsg:
		if msg.err != nil {
			m.setStatus(fmt.Sprintf("%s %s: %s", msg.plan.Action, msg.plan.Target(), explain(msg.err)), true)
			return m, nil
		}
		m.setStatus(fmt.Sprintf("%s %s started", msg.plan.Action, msg.plan.Target()), false)
		m.noteSignalsBefore(msg.plan)
		return m, tea.Batch(m.follow(msg.plan, msg.ch), m.startRefresh(), m.releasesChanged(msg.plan))
	case progressMsg:
		m.following--
		return m, m.applyProgress(msg)
	case noticeMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil

	// Components' answers.
	case closeDialogMsg:
		m.dialogs = slices.DeleteFunc(m.dialogs, func(d Dialog) bool { return d.ID() == msg.id })
		return m, nil
	case openDialogMsg:
		m.push(msg.d)
		return m, nil
	case openServiceMsg:
		return m, m.openService(msg.key)
	case openAuditMsg:
		return m, m.openAudit(msg.key)
	case shellRequestMsg:
		return m, m.shellCmd(msg)
	case shellDoneMsg:
		if msg.err != nil {
			m.setStatus(fmt.Sprintf("shell on %s ended: %s", msg.instance, model.SafeText(msg.err.Error())), true)
		} else {
			m.setStatus("shell on "+msg.instance+" ended", false)
		}
		return m, nil
	case openConsoleMsg:
		m.push(newConsoleDialog(m.c, msg.instance))
		return m, m.consoleCmd(msg.instance)
	case consoleMsg:
		return m, m.toDialog(msg)
	case openPromoteMsg:
		if why := untaggedReason(msg.key, model.ActionPromote); why != "" {
			m.setStatus(why, true)
			return m, nil
		}
		m.detail.open(msg.key)
		m.push(newPromoteDialog(m.c, msg.key))
		return m, m.imagesCmd(msg.key.Name)
	case backMsg:
		m.back()
		return m, nil
	case focusMsg:
		m.focus()
		m.syncKeys()
		return m, nil
	case planRequestMsg:
		if why := untaggedReason(msg.req.key, msg.req.action); why != "" && msg.req.action != model.ActionBake {
			m.setStatus(why, true)
			return m, nil
		}
		if msg.req.needsReason(m.cfg.Production) {
			m.push(newReasonDialog(m.c, msg.req))
			return m, nil
		}
		return m, m.planCmd(msg.req)
	case overrideRequestMsg:
		m.push(m.overrideDialog(msg))
		return m, nil
	case executeMsg:
		m.setStatus(fmt.Sprintf("%s %s: sending…", msg.plan.Action, msg.plan.Target()), false)
		return m, m.executeCmd(msg.plan)
	case cancelPlanMsg:
		return m, m.cancelCmd(msg.plan)
	case copyMsg:
		return m, m.copyCmd(msg.text)
	case commandMsg:
		return m, m.runCommand(msg.text)
	case tea.KeyMsg:
		return m, m.keyBurst(msg)
	}
	return m, nil
}

// keyBurst handles a key message. Bubble Tea v1 delivers the keys of one terminal read (fast
// typing, a held key, a slow SSH link) as one message with several runes; outside a text
// field each of them acts as if typed alone ("jjjj" moves four rows; "/web" opens the filter
// and types "web" into it). A paste outside a text field is dropped: its text is not keys.
func (m *Model) keyBurst(msg tea.KeyMsg) tea.Cmd {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || m.takingText() {
		if msg.Paste && !m.takingText() {
			return nil
		}
		return m.key(msg)
	}
	if msg.Paste {
		return nil
	}
	var cmds []tea.Cmd
	for i, r := range msg.Runes {
		if m.takingText() {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: msg.Runes[i:], Alt: msg.Alt}))
			break
		}
		cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
	}
	return tea.Batch(cmds...)
}

// takingText reports whether keys go to a text field now: the filter, a reason, a label,
// the service name a production plan asks for.
func (m *Model) takingText() bool {
	if len(m.dialogs) > 0 {
		c, ok := m.top().(capturing)
		return ok && c.Capturing()
	}
	if m.helpOpen {
		return false
	}
	c, ok := m.screenInView().(capturing)
	return ok && c.Capturing()
}

// untaggedReason says, in the console's words, why an action cannot run on the groups that
// carry no service or environment tag ("" for a tagged service).
func untaggedReason(k model.ServiceKey, a model.ActionKind) string {
	if k.Name != model.Untagged && k.Env != "" {
		return ""
	}
	return fmt.Sprintf("no %s here: these groups carry no service or environment tag; tag them (Service, Environment) to manage them as a service", a)
}

// toDialog gives a message to the dialog on top, if any.
func (m *Model) toDialog(msg tea.Msg) tea.Cmd {
	if len(m.dialogs) == 0 {
		return nil
	}
	_, cmd := m.top().Update(msg)
	return cmd
}

func (m *Model) applyFleet(msg fleetMsg) tea.Cmd {
	if msg.err != nil {
		var te timeoutError
		switch {
		case refreshRunning(msg.err):
		case errors.As(msg.err, &te):
			m.lastErr = te.Error() + "; " + m.dataShown()
		default:
			m.lastErr = explain(msg.err) + " (showing the last good data)"
		}
		return nil
	}
	m.lastErr = ""
	first := !m.c.haveFleet
	m.c.fleet, m.c.haveFleet = msg.fleet, true
	m.allFleet = msg.fleet.Services
	if m.cfg.Env != "" {
		m.c.fleet.Services = filterEnv(m.c.fleet.Services, m.cfg.Env)
	}
	_, cmd := m.list.Update(msg)
	m.detail.Update(msg)
	m.focus()
	m.syncKeys()
	return tea.Batch(cmd, m.detailRefresh(), m.readyBatch(), m.firstScreen(first), m.signalsCmd())
}

// dataShown says which data the screen shows after a failed refresh.
func (m *Model) dataShown() string {
	if !m.c.haveFleet {
		return "no data yet"
	}
	return "showing data from " + m.c.fleet.FetchedAt.Format("15:04:05")
}

// detailRefresh re-reads what the service screen shows beside the fleet: rollback readiness
// every tick (the inventory caches it until the groups change) and the baked images while one
// is still pending. The envelope never runs two of the same at once.
func (m *Model) detailRefresh() tea.Cmd {
	if m.screen != screenService || m.detail.svc == nil {
		return nil
	}
	cmds := []tea.Cmd{m.readinessCmd(m.detail.key)}
	if m.detail.pendingImage() {
		cmds = append(cmds, m.imagesCmd(m.detail.key.Name))
	}
	return tea.Batch(cmds...)
}

func filterEnv(all []model.Service, env string) []model.Service {
	return slices.DeleteFunc(slices.Clone(all), func(s model.Service) bool { return s.Env != env })
}

func (m *Model) applyProgress(msg progressMsg) tea.Cmd {
	k := msg.plan.Key()
	if msg.done {
		delete(m.c.actions, k)
		return tea.Batch(m.startRefresh(), m.releasesChanged(msg.plan))
	}
	m.c.actions[k] = msg.ev
	text := fmt.Sprintf("%s %s: %s", msg.plan.Action, msg.plan.Target(), progressText(msg.ev))
	text += m.signalsProgress(k, msg.ev.Done)
	m.setStatus(text, msg.ev.Err != nil)
	return m.follow(msg.plan, msg.ch)
}

// follow waits for a running action's next progress event.
func (m *Model) follow(p model.Plan, ch <-chan model.Progress) tea.Cmd {
	m.following++
	return waitProgress(p, ch)
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
		s += " — " + explain(ev.Err)
	}
	return s
}

func (m *Model) setStatus(s string, bad bool) {
	m.status, m.statusBad, m.statusAt = s, bad, m.tasks.next
}

func (m *Model) push(d Dialog) {
	d.SetSize(m.c.width, m.c.height)
	m.dialogs = append(m.dialogs, d)
}

func (m *Model) top() Dialog { return m.dialogs[len(m.dialogs)-1] }

// screenInView is the component the body shows.
func (m *Model) screenInView() Component {
	switch m.screen {
	case screenService:
		return m.detail
	case screenAudit:
		return m.audit
	}
	return m.list
}

// capturing is a component that is taking text: it gets every key.
type capturing interface{ Capturing() bool }

// key handles a key press: the dialog on top, the help overlay, a screen taking text, the
// global keys, then the screen in view.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if len(m.dialogs) > 0 {
		_, cmd := m.top().Update(msg)
		return cmd
	}
	if m.helpOpen {
		if _, cmd := m.help.Update(msg); cmd != nil || m.help.scrolls(msg) {
			return cmd
		}
		m.helpOpen = false
		return nil
	}
	scr := m.screenInView()
	if c, ok := scr.(capturing); !ok || !c.Capturing() {
		switch {
		case m.keys.Global.Quit.Matches(msg):
			m.tasks.stop()
			return tea.Quit
		case m.keys.Global.Help.Matches(msg):
			m.helpOpen = true
			m.help.show(m.activeBindings())
			return nil
		case m.keys.Global.Command.Matches(msg):
			m.push(newCommandDialog(m.c))
			return nil
		}
	}
	_, cmd := scr.Update(msg)
	return cmd
}

// openService shows one service.
func (m *Model) openService(k model.ServiceKey) tea.Cmd {
	m.screen = screenService
	m.setStatus("", false) // a sentence about another screen would mislead here
	m.detail.open(k)
	m.focus()
	m.syncKeys()
	return tea.Batch(m.imagesCmd(k.Name), m.readinessCmd(k), m.ledgerCmd(k))
}

// releasesChanged re-reads the release list after an action on the service it shows
// started or ended (a mark, a rollout, a rollback), and its images after a mark.
func (m *Model) releasesChanged(p model.Plan) tea.Cmd {
	k := p.Key()
	if m.detail.key != k || p.Action == model.ActionBake {
		return nil
	}
	cmds := []tea.Cmd{m.ledgerCmd(k)}
	if p.Action == model.ActionMark {
		cmds = append(cmds, m.imagesCmd(k.Name))
	}
	return tea.Batch(cmds...)
}

// overrideDialog builds the second confirmation of a promote refused for its image's mark,
// naming the mark from the images the console has read (else from the refusal itself).
func (m *Model) overrideDialog(msg overrideRequestMsg) Dialog {
	image := msg.plan.Steps[0].ToImage.ImageID
	mark := ""
	for _, img := range m.detail.images {
		if v, ok := model.Verdict(img.Marks); ok && img.ID == image {
			mark = v.String()
		}
	}
	if mark == "" {
		for _, c := range msg.plan.Failures() {
			if c.Name == imageMarksCheck {
				mark = strings.TrimPrefix(c.Detail, image+" was ")
				if i := strings.Index(mark, ": promote another image"); i >= 0 {
					mark = mark[:i]
				}
			}
		}
	}
	return newOverrideDialog(m.c, msg.req, image, mark)
}

func (m *Model) openAudit(k model.ServiceKey) tea.Cmd {
	m.screen = screenAudit
	m.setStatus("", false)
	m.detail.open(k)
	m.audit.open(k)
	return m.historyCmd(k)
}

// back leaves the screen in view: the audit view returns to its service when that is still
// in the fleet, the service screen to the list.
func (m *Model) back() {
	m.setStatus("", false)
	if m.screen == screenAudit && m.detail.key == m.audit.key && m.detail.svc != nil {
		m.screen = screenService
	} else {
		m.screen = screenServices
	}
	m.focus()
	m.syncKeys()
}

func (m *Model) copyCmd(s string) tea.Cmd {
	clip := m.cfg.Clipboard
	return func() tea.Msg {
		clip(s)
		return noticeMsg{text: "copied: " + s}
	}
}

// envColor is the environment in view and its colour: the one a dialog acts on, else the
// service's on its screens, else the console's.
func (m *Model) envColor() (string, string) {
	env := m.cfg.Env
	if m.screen != screenServices && m.detail.key.Env != "" {
		env = m.detail.key.Env
	}
	if len(m.dialogs) > 0 {
		if t, ok := m.top().(interface{ targetEnv() string }); ok && t.targetEnv() != "" {
			env = t.targetEnv()
		}
	}
	return env, m.cfg.EnvColors[env]
}

// refreshing reports whether a snapshot is being read.
func (m *Model) refreshing() bool { return m.tasks.runs(taskRefresh, "") }

// View draws the header, the screen, the status line and the short help.
func (m *Model) View() string {
	if m.w < minWidth || m.h < minHeight {
		return fmt.Sprintf("Terminal too small (%dx%d):\nadstage-ops needs at least %dx%d.\nEnlarge the window,\nor press q to quit.", m.w, m.h, minWidth, minHeight)
	}
	var body string
	switch {
	case len(m.dialogs) > 0:
		body = lipgloss.Place(m.c.width, m.c.height, lipgloss.Center, lipgloss.Center, m.top().View())
	case m.helpOpen:
		body = m.help.View()
	default:
		body = m.screenInView().View()
	}
	body = fitHeight(body, m.c.height)
	_, color := m.envColor()
	frame := m.c.st.FrameLine(color, m.w)
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

// headerPart is one part of the header and its priority: when the header is wider than the
// screen, the parts with the highest priority number go first, so that at 80 columns it
// still says where you are, whether you can change anything, whether the data is good, and
// who you are.
type headerPart struct {
	text string
	prio int
}

func (m *Model) header() string {
	st := m.c.st
	env, color := m.envColor()
	if env == "" {
		env = "all envs"
	}
	parts := []headerPart{{st.Title.Render("adstage-ops"), 5}, {st.EnvBadge(env, color), 0}}
	if m.cfg.ReadOnly {
		parts = append(parts, headerPart{st.HeaderLock.Render("🔒 read-only"), 0})
	} else {
		// Write mode in production takes the production colour, never the OK colour.
		prodColor := ""
		if m.cfg.Production(env) {
			prodColor = color
		}
		parts = append(parts, headerPart{st.WriteBadge(prodColor), 0})
	}
	f := &m.c.fleet
	switch {
	case m.refreshing() && !m.c.haveFleet:
		parts = append(parts, headerPart{st.Busy.Render(m.c.spinner() + " loading"), 1})
	case m.c.haveFleet:
		a := st.Muted.Render("data " + age(m.c.now().Sub(f.FetchedAt)) + " old")
		if m.c.now().Sub(f.FetchedAt) < time.Second {
			a = st.Muted.Render("data fresh")
		}
		if m.refreshing() {
			a = st.Busy.Render(m.c.spinner()) + " " + a
		}
		parts = append(parts, headerPart{a, 2})
	}
	if m.lastErr != "" {
		parts = append(parts, headerPart{st.Error.Render("✗ refresh failed"), 0})
	} else if len(f.Problems) > 0 {
		parts = append(parts, headerPart{st.Warning.Render(fmt.Sprintf("⚠ %d partial", len(f.Problems))), 1})
	}
	if m.c.haveFleet {
		// With several accounts, the row under the cursor says whose it is.
		o := model.Origin{Account: f.Account, Region: f.Region, Identity: f.Identity}
		r, unread := m.rowOrigin()
		switch {
		case r.Account != "" || r.Identity != "":
			o = r
		case unread:
			// A row whose identity never answered: whose it is, the status line says.
			o = model.Origin{Account: "?", Region: "?", Identity: "not read"}
		}
		parts = append(parts, headerPart{st.HeaderKey.Render("acct ") + several(o.Account, "accounts"), 4}, headerPart{several(o.Region, "regions"), 3})
		if id := several(o.Identity, "identities"); id != "" {
			parts = append(parts, headerPart{shortARN(id), 1})
		}
	}
	return fitParts(parts, st.Muted.Render(" │ "), m.w)
}

// rowOrigin is where the service in view (under the cursor, or on its screen) was read; zero
// when the fleet has one origin. unread says the row's environment could not be read.
func (m *Model) rowOrigin() (o model.Origin, unread bool) {
	k, ok := m.detail.key, m.screen != screenServices
	if !ok {
		k, ok = m.list.selected()
	}
	if !ok {
		return model.Origin{}, false
	}
	if s, found := m.c.fleet.ServiceAt(k); found {
		return s.From(), s.Unread != ""
	}
	return model.Origin{}, false
}

// several shortens a merged origin part ("111111111111+123456789012") to how many there are
// ("2 accounts"): the row under the cursor names its own.
func several(v, what string) string {
	if n := len(model.Merged(v)); n > 1 {
		return fmt.Sprintf("%d %s", n, what)
	}
	return v
}

// fitParts joins the parts that fit in w columns, dropping the highest priority numbers
// first, and cuts what is still too wide (with …).
func fitParts(parts []headerPart, sep string, w int) string {
	join := func(ps []headerPart) string {
		texts := make([]string, len(ps))
		for i, p := range ps {
			texts[i] = p.text
		}
		return strings.Join(texts, sep)
	}
	for {
		s := join(parts)
		if lipgloss.Width(s) <= w {
			return s
		}
		worst := -1
		for i, p := range parts {
			if p.prio > 0 && (worst < 0 || p.prio >= parts[worst].prio) {
				worst = i
			}
		}
		if worst < 0 {
			return truncate(s, w)
		}
		parts = slices.Delete(slices.Clone(parts), worst, worst+1)
	}
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

// statusLine is the newest refresh error, else what the running tasks are doing (unless a
// notice came after the task started: "... is already being read"), else the last notice,
// else the snapshot's first problem.
func (m *Model) statusLine() string {
	st := m.c.st
	switch t := m.tasks.busy(); {
	case m.lastErr != "":
		return truncate(st.StatusError.Render("✗ "+m.lastErr), m.w)
	case t != nil && (m.status == "" || m.statusAt < t.id):
		return truncate(st.Busy.Render(m.c.spinner()+" "+t.busy+"…"), m.w)
	case m.status != "":
		if m.statusBad {
			return truncate(st.StatusError.Render(m.status), m.w)
		}
		return truncate(st.Status.Render(m.status), m.w)
	case len(m.c.fleet.Problems) > 0:
		return truncate(st.Warning.Render("⚠ "+m.c.fleet.Problems[0]), m.w)
	}
	return ""
}

// activeBindings are the bindings of what has focus, for the help views: the dialog on top,
// or the screen in view and the global keys (a screen taking text has only its own).
func (m *Model) activeBindings() [][]key.Binding {
	if len(m.dialogs) > 0 {
		return [][]key.Binding{m.top().ShortHelp()}
	}
	scr := m.screenInView()
	groups := scr.FullHelp()
	if c, ok := scr.(capturing); ok && c.Capturing() {
		return groups
	}
	global := []Binding{m.keys.Global.Help, m.keys.Global.Quit}
	if m.screen != screenServices { // the services screen lists it among its own
		global = append([]Binding{m.keys.Global.Command}, global...)
	}
	return append(groups, helpBindings(global...))
}

// footerBindings are the short help of what has focus (the cursor keys are in ? help).
func (m *Model) footerBindings() [][]key.Binding {
	if len(m.dialogs) > 0 {
		return [][]key.Binding{m.top().ShortHelp()}
	}
	if m.helpOpen {
		return [][]key.Binding{m.help.ShortHelp()}
	}
	scr := m.screenInView()
	groups := [][]key.Binding{scr.ShortHelp()}
	if c, ok := scr.(capturing); ok && c.Capturing() {
		return groups
	}
	return append(groups, helpBindings(m.keys.Global.Help, m.keys.Global.Quit))
}

// shortHelp is the footer: the keys of what has focus, as many whole ones as fit (then …),
// before back, help and quit, which stay at its end at every width so that esc, ? and q are
// always on screen.
func (m *Model) shortHelp() string {
	kept := map[key.Help]bool{m.keys.Global.Help.Help(): true, m.keys.Global.Quit.Help(): true, m.keys.Global.Back.Help(): true}
	var flat, tail []key.Binding
	for _, g := range m.footerBindings() {
		for _, b := range g {
			if kept[b.Help()] && b.Enabled() {
				tail = append(tail, b)
			} else {
				flat = append(flat, b)
			}
		}
	}
	h := m.c.help
	h.Width = 0
	end := h.ShortHelpView(tail)
	sep := h.Styles.ShortSeparator.Render(h.ShortSeparator)
	ellipsis := h.Styles.Ellipsis.Render(h.Ellipsis)
	room := m.w - lipgloss.Width(end)
	if end != "" {
		room -= lipgloss.Width(sep)
	}
	head := ""
	for i := range flat {
		s := h.ShortHelpView(flat[:i+1])
		more := 0
		if i+1 < len(flat) {
			more = lipgloss.Width(sep + ellipsis)
		}
		if lipgloss.Width(s)+more > room {
			if head != "" {
				head += sep + ellipsis
			} else {
				head = ellipsis
			}
			break
		}
		head = s
	}
	switch {
	case head == "":
		return truncate(end, m.w)
	case end == "":
		return truncate(head, m.w)
	}
	return truncate(head+sep+end, m.w)
}

// truncate cuts a styled line to w cells.
func truncate(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}
