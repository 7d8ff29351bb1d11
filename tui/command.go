package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// The command line (":" in the k9s manner): a service to jump to, an action on one, the
// environment to show, or quit. Names are matched as on the command line of the CLI (exact,
// any case, or an unambiguous beginning: "prod" is production), with "did you mean" when
// nothing matches.

const commandDialogID = "command"

// commandHelp is what the command line takes, shown under it.
const commandHelp = ":SERVICE [ENV]  :rollback|promote|cancel|audit SERVICE [ENV]  :env ENV|all  :problems  :q"

type commandDialog struct {
	c      *common
	input  textinput.Model
	width  int
	closed bool
}

func newCommandDialog(c *common) *commandDialog {
	in := textinput.New()
	in.Prompt = ":"
	in.Placeholder = "web prod"
	in.Focus()
	return &commandDialog{c: c, input: in}
}

func (d *commandDialog) ID() string                { return commandDialogID }
func (d *commandDialog) Capturing() bool           { return true }
func (d *commandDialog) Init() tea.Cmd             { return nil }
func (d *commandDialog) SetSize(w, _ int)          { d.width = dialogWidth(w, promptWidth) }
func (d *commandDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *commandDialog) ShortHelp() []key.Binding {
	k := d.c.keys.Dialog
	return helpBindings(k.Confirm, k.Cancel)
}

func (d *commandDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok || d.closed {
		return d, nil
	}
	k := d.c.keys.Dialog
	switch {
	case k.Cancel.Matches(km):
		d.closed = true
		return d, closeWith(commandDialogID)
	case k.Confirm.Matches(km):
		d.closed = true
		return d, closeWith(commandDialogID, emit(commandMsg{strings.TrimSpace(d.input.Value())}))
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(km)
	return d, d.c.timer(cmd)
}

func (d *commandDialog) View() string {
	st := d.c.st
	inner := max(d.width-st.Dialog.GetHorizontalPadding(), 1)
	body := d.input.View() + "\n" + st.Text.Width(inner).Render(st.Muted.Render(commandHelp)) + "\n" + d.c.hints(d.ShortHelp())
	return st.Dialog.Width(d.width).Render(body)
}

// commandMsg is a command line entered.
type commandMsg struct{ text string }

// runCommand carries out a command line.
func (m *Model) runCommand(text string) tea.Cmd {
	words := strings.Fields(text)
	if len(words) == 0 {
		return nil
	}
	verb := strings.ToLower(words[0])
	switch verb {
	case "q", "q!", "quit", "qa":
		m.tasks.stop()
		return tea.Quit
	case "env", "ctx":
		if len(words) != 2 {
			m.setStatus("say which environment: :env staging (or :env all)", true)
			return nil
		}
		return m.switchEnv(words[1])
	case "problems", "!":
		if m.screen != screenServices {
			m.back()
			m.screen = screenServices
		}
		m.list.toggleProblems()
		m.focus()
		m.syncKeys()
		return nil
	case "rollback", "promote", "cancel", "audit":
		k, err := m.commandService(words[1:])
		if err != "" {
			m.setStatus(err, true)
			return nil
		}
		return m.commandAction(verb, k)
	}
	k, err := m.commandService(words)
	if err != "" {
		m.setStatus(err, true)
		return nil
	}
	return m.jumpTo(k, func() tea.Cmd { return m.openService(k) })
}

// commandAction runs an action named on the command line as its key would on the services
// screen: disabled keys refuse with their reason, and every change goes through its plan.
func (m *Model) commandAction(verb string, k model.ServiceKey) tea.Cmd {
	sk := m.keys.Services
	switch verb {
	case "audit":
		return m.jumpTo(k, func() tea.Cmd { return m.openAudit(k) })
	case "rollback":
		if !sk.Rollback.Enabled() {
			return refuse(sk.Rollback)
		}
		return m.jumpTo(k, func() tea.Cmd { return emit(planRequestMsg{planRequest{action: model.ActionRollback, key: k}}) })
	case "promote":
		if !sk.Promote.Enabled() {
			return refuse(sk.Promote)
		}
		return m.jumpTo(k, func() tea.Cmd { return emit(openPromoteMsg{k}) })
	default: // cancel
		if sk.Cancel.locked {
			return refuse(sk.Cancel)
		}
		if why := m.cancelUnavailable(k); why != "" {
			m.setStatus(why, true)
			return nil
		}
		return m.jumpTo(k, func() tea.Cmd { return emit(planRequestMsg{planRequest{action: model.ActionCancel, key: k}}) })
	}
}

// jumpTo shows the environment of k (when the console shows one environment and k is in
// another) with the cursor on k, then does then.
func (m *Model) jumpTo(k model.ServiceKey, then func() tea.Cmd) tea.Cmd {
	var cmd tea.Cmd
	if m.cfg.Env != "" && m.cfg.Env != k.Env {
		cmd = m.switchEnv(k.Env)
	}
	m.list.cursorTo(k)
	m.list.clamp()
	return tea.Batch(cmd, then())
}

// commandService finds the service and environment named on the command line in everything
// the console has read (all environments), or says what exists.
func (m *Model) commandService(args []string) (model.ServiceKey, string) {
	if len(args) == 0 || len(args) > 2 {
		return model.ServiceKey{}, "say which service: :web, :web prod (" + commandHelp + ")"
	}
	f := m.allServices()
	var names []string
	envsOf := map[string][]string{}
	for _, s := range f {
		if _, ok := envsOf[s.Name]; !ok {
			names = append(names, s.Name)
		}
		if !slices.Contains(envsOf[s.Name], s.Env) { // an environment with a row per region
			envsOf[s.Name] = append(envsOf[s.Name], s.Env)
		}
	}
	name, ok := model.MatchName(args[0], names)
	if !ok {
		return model.ServiceKey{}, fmt.Sprintf("no service %q%s (: takes a service, or %s)", args[0], meant(args[0], names), commandHelp)
	}
	envs := envsOf[name]
	if len(args) == 1 {
		// The first in the list's order, as the list shows them (production first).
		return rowOf(f, name, envs[0]), ""
	}
	env, ok := model.MatchName(args[1], envs)
	if !ok {
		return model.ServiceKey{}, fmt.Sprintf("%s has no environment %q%s; it runs in %s", name, args[1], meant(args[1], envs), strings.Join(envs, ", "))
	}
	return rowOf(f, name, env), ""
}

// rowOf is the key of the service's first row in env: its first region's, when the
// environment has a row per region.
func rowOf(all []model.Service, name, env string) model.ServiceKey {
	for _, s := range all {
		if s.Name == name && s.Env == env {
			return s.ServiceKey
		}
	}
	return model.ServiceKey{Name: name, Env: env}
}

// meant is " (did you mean web?)" for the nearest names, or "".
func meant(s string, names []string) string {
	if n := model.Nearest(s, names); n != nil {
		return " (did you mean " + strings.Join(n, " or ") + "?)"
	}
	return ""
}

// allServices is every service the newest refresh read, in every environment.
func (m *Model) allServices() []model.Service {
	if m.allFleet != nil {
		return m.allFleet
	}
	return m.c.fleet.Services
}

// switchEnv shows another environment (or "all") in place: the list keeps its filter, and
// the service or audit screen moves to the same service there when it runs there.
func (m *Model) switchEnv(want string) tea.Cmd {
	all := m.allServices()
	seen := map[string]bool{}
	var envs []string
	for _, s := range all {
		if s.Env != "" && !seen[s.Env] {
			seen[s.Env] = true
			envs = append(envs, s.Env)
		}
	}
	env := ""
	if !strings.EqualFold(want, "all") && want != "*" {
		e, ok := model.MatchName(want, envs)
		if !ok {
			m.setStatus(fmt.Sprintf("no service runs in %q%s; environments: %s (or all)", want, meant(want, envs), strings.Join(envs, ", ")), true)
			return nil
		}
		env = e
	}
	m.cfg.Env, m.c.cfg.Env = env, env
	m.c.fleet.Services = all
	if env != "" {
		m.c.fleet.Services = filterEnv(all, env)
	}
	_, cmd := m.list.Update(fleetMsg{})
	m.detail.Update(fleetMsg{})
	shown := env
	if shown == "" {
		shown = "every environment"
	}
	m.setStatus("showing "+shown, false)
	var then tea.Cmd
	if env != "" && m.screen != screenServices && m.detail.key.Env != env {
		if s, ok := m.c.fleet.Service(m.detail.key.Name, env); ok {
			k := s.ServiceKey // its first region's row, when it has one per region
			if m.screen == screenAudit {
				then = m.openAudit(k)
			} else {
				then = m.openService(k)
			}
			m.setStatus("showing "+shown, false)
		} else {
			m.screen = screenServices
		}
	}
	m.focus()
	m.syncKeys()
	return tea.Batch(cmd, then, m.readyBatch())
}
