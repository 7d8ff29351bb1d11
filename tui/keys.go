package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// GlobalKeys work on every screen.
type GlobalKeys struct {
	Quit, Help, Back key.Binding
}

// NavKeys move a cursor.
type NavKeys struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
}

// ServicesKeys are the services screen's.
type ServicesKeys struct {
	Open, Filter, Audit key.Binding
	Promote, Rollback   key.Binding
}

// ServiceKeys are the service screen's.
type ServiceKeys struct {
	Bake, Promote, Rollback, Audit key.Binding
}

// DialogKeys answer a plan or a form.
type DialogKeys struct {
	Confirm, Cancel, Copy, Toggle, FromEnv key.Binding
}

// FilterKeys edit the filter.
type FilterKeys struct {
	Apply, Clear key.Binding
}

// Keys is the whole keymap, one group per scope.
type Keys struct {
	Global   GlobalKeys
	Nav      NavKeys
	Services ServicesKeys
	Service  ServiceKeys
	Dialog   DialogKeys
	Filter   FilterKeys
}

// DefaultKeys is the keymap.
func DefaultKeys() Keys {
	return Keys{
		Global: GlobalKeys{
			Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
			Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
			Back: key.NewBinding(key.WithKeys("esc", "backspace", "h", "left"), key.WithHelp("esc", "back")),
		},
		Nav: NavKeys{
			Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
			Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
			Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
			Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
			PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
			PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d", " "), key.WithHelp("pgdn", "page down")),
		},
		Services: ServicesKeys{
			Open:     key.NewBinding(key.WithKeys("enter", "l", "right"), key.WithHelp("enter", "open service")),
			Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
			Audit:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "audit")),
			Promote:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "promote")),
			Rollback: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rollback")),
		},
		Service: ServiceKeys{
			Bake:     key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "bake image")),
			Promote:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "promote")),
			Rollback: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rollback")),
			Audit:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "audit")),
		},
		Dialog: DialogKeys{
			Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
			Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
			Copy:    key.NewBinding(key.WithKeys("ctrl+y"), key.WithHelp("ctrl+y", "copy CLI command")),
			Toggle:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "toggle reboot")),
			FromEnv: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "promote what the other env runs")),
		},
		Filter: FilterKeys{
			Apply: key.NewBinding(key.WithKeys("enter", "down", "up"), key.WithHelp("enter", "keep filter")),
			Clear: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		},
	}
}

// mutating lists the bindings that change AWS; read-only mode disables them.
func (k *Keys) mutating() []*key.Binding {
	return []*key.Binding{&k.Services.Promote, &k.Services.Rollback, &k.Service.Bake, &k.Service.Promote, &k.Service.Rollback}
}

// AllBindings lists every binding of every scope, for tests that sweep all keys.
func (k Keys) AllBindings() []key.Binding {
	return []key.Binding{
		k.Global.Quit, k.Global.Help, k.Global.Back,
		k.Nav.Up, k.Nav.Down, k.Nav.Top, k.Nav.Bottom, k.Nav.PageUp, k.Nav.PageDown,
		k.Services.Open, k.Services.Filter, k.Services.Audit, k.Services.Promote, k.Services.Rollback,
		k.Service.Bake, k.Service.Promote, k.Service.Rollback, k.Service.Audit,
		k.Dialog.Confirm, k.Dialog.Cancel, k.Dialog.Copy, k.Dialog.Toggle, k.Dialog.FromEnv,
		k.Filter.Apply, k.Filter.Clear,
	}
}

// pressed reports whether msg is one of b's keys even when b is disabled, so the console
// can say why a disabled action is unavailable.
func pressed(msg interface{ String() string }, b key.Binding) bool {
	s := msg.String()
	for _, k := range b.Keys() {
		if k == s {
			return true
		}
	}
	return false
}

// namedKeys maps the key names the keymap uses to Bubble Tea's key types.
var namedKeys = map[string]tea.KeyType{
	"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "backspace": tea.KeyBackspace,
	"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
	"home": tea.KeyHome, "end": tea.KeyEnd, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"ctrl+c": tea.KeyCtrlC, "ctrl+u": tea.KeyCtrlU, "ctrl+d": tea.KeyCtrlD, "ctrl+y": tea.KeyCtrlY,
}

// KeyMsg is the message a terminal sends for a key named as in the keymap ("enter", "ctrl+y",
// "r"), or for typed text. Tests and scripted sessions drive the console with it.
func KeyMsg(k string) tea.KeyMsg {
	if t, ok := namedKeys[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	if k == " " {
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}
