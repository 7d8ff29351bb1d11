package tui

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// Hands on the machine: on an instance row of the service screen, `s` opens a shell on it
// (the front end supplies the command: aws ssm start-session with the console's profile and
// region) and hands the terminal over until the session ends; `l` shows the instance's latest
// console output in a scrolling view.

// ShellFunc prepares a shell on an instance of a service: the command to hand the terminal
// to, and done, called with how it ended (the front end writes the audit log with it). An
// error says why no shell can be opened and what to install or do.
type ShellFunc func(instanceID string, service model.ServiceKey) (cmd *exec.Cmd, done func(error), err error)

type (
	shellRequestMsg struct {
		instance string
		key      model.ServiceKey
	}
	shellDoneMsg struct {
		instance string
		err      error
	}
	openConsoleMsg struct{ instance string }
	consoleMsg     struct {
		instance string
		out      model.ConsoleOutput
		err      error
	}
)

// shellCmd hands the terminal to the shell command (tea.ExecProcess) and takes it back when
// the session ends.
func (m *Model) shellCmd(msg shellRequestMsg) tea.Cmd {
	if m.cfg.Shell == nil {
		return notice("no shell in this console: it needs the AWS CLI's Session Manager (it is off in read-only mode)", true)
	}
	cmd, done, err := m.cfg.Shell(msg.instance, msg.key)
	if err != nil {
		return notice(fmt.Sprintf("no shell on %s: %s", msg.instance, model.SafeText(err.Error())), true)
	}
	return tea.ExecProcess(cmd, func(err error) tea.Msg {
		if done != nil {
			done(err)
		}
		return shellDoneMsg{instance: msg.instance, err: err}
	})
}

// consoleCmd reads an instance's console output.
func (m *Model) consoleCmd(instance string) tea.Cmd {
	r := m.cfg.Reader
	return m.task(taskSpec{kind: taskConsole, key: instance, text: "console output of " + instance, busy: "reading the console output of " + instance,
		run: func(ctx context.Context) tea.Msg {
			out, err := r.ConsoleOutput(ctx, instance)
			return consoleMsg{instance: instance, out: out, err: err}
		},
		fail: func(err error) tea.Msg { return consoleMsg{instance: instance, err: err} },
	})
}

const consoleDialogID = "console-output"

// consoleDialog shows an instance's console output, scrolled to its end (the newest lines).
type consoleDialog struct {
	c        *common
	instance string
	vp       viewport.Model
	loaded   bool
	text     string
	width    int
	height   int
}

func newConsoleDialog(c *common, instance string) *consoleDialog {
	d := &consoleDialog{c: c, instance: instance, text: "reading the console output…"}
	d.vp = viewport.New(0, 0)
	d.vp.SetContent(d.text)
	return d
}

func (d *consoleDialog) ID() string    { return consoleDialogID }
func (d *consoleDialog) Init() tea.Cmd { return nil }

func (d *consoleDialog) SetSize(w, h int) {
	d.width, d.height = dialogWidth(w, w), max(h-4, 3)
	d.vp.Width, d.vp.Height = max(d.width-4, 10), max(d.height-4, 1)
	d.vp.SetContent(d.text)
	if d.loaded {
		d.vp.GotoBottom()
	}
}

func (d *consoleDialog) ShortHelp() []key.Binding {
	k := d.c.keys.Dialog
	return helpBindings(k.ScrollUp, k.ScrollDown, k.Cancel)
}

func (d *consoleDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *consoleDialog) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case consoleMsg:
		if msg.instance != d.instance {
			return d, nil
		}
		d.loaded = true
		switch {
		case msg.err != nil:
			d.text = "the console output could not be read: " + explain(msg.err)
		case len(msg.out.Lines) == 0:
			d.text = "no console output yet (EC2 keeps the last 64 KB once the instance has written some)"
		default:
			d.text = strings.Join(msg.out.Lines, "\n")
		}
		d.vp.SetContent(d.text)
		d.vp.GotoBottom()
		return d, nil
	case tea.KeyMsg:
		k := d.c.keys.Dialog
		switch {
		case k.Cancel.Matches(msg), d.c.keys.Global.Back.Matches(msg):
			return d, closeWith(consoleDialogID, nil)
		case k.ScrollUp.Matches(msg), d.c.keys.Nav.Up.Matches(msg):
			d.vp.ScrollUp(1)
		case k.ScrollDown.Matches(msg), d.c.keys.Nav.Down.Matches(msg):
			d.vp.ScrollDown(1)
		case d.c.keys.Nav.PageUp.Matches(msg):
			d.vp.PageUp()
		case d.c.keys.Nav.PageDown.Matches(msg):
			d.vp.PageDown()
		case d.c.keys.Nav.Top.Matches(msg):
			d.vp.GotoTop()
		case d.c.keys.Nav.Bottom.Matches(msg):
			d.vp.GotoBottom()
		}
	}
	return d, nil
}

func (d *consoleDialog) View() string {
	st := d.c.st
	title := st.DialogTitle.Render("console output of "+d.instance) + st.Muted.Render(fmt.Sprintf("  (%d%%, newest at the bottom)", int(d.vp.ScrollPercent()*100)))
	return st.Dialog.Width(d.width).Render(title + "\n\n" + d.vp.View())
}
