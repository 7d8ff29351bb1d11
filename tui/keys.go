package tui

import (
	"reflect"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Binding is a key binding that knows whether it changes AWS and, when it is unavailable,
// why (lazygit's GetDisabledReason). Help, dialog hints, read-only mode and the read-only key
// sweep are all derived from these fields: there is no second list of mutating keys.
type Binding struct {
	key.Binding
	// Dangerous bindings change AWS. Read-only mode disables them, and they always go
	// through a confirmation dialog that shows the plan.
	Dangerous bool
	disabled  string
	// locked marks a binding read-only mode disabled: nothing turns it back on.
	locked bool
}

func bind(keys []string, helpKey, desc string) Binding {
	return Binding{Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, desc))}
}

func dangerous(keys []string, helpKey, desc string) Binding {
	b := bind(keys, helpKey, desc)
	b.Dangerous = true
	return b
}

// Disable turns the binding off and records why; help no longer shows it, and pressing it
// says the reason.
func (b *Binding) Disable(reason string) {
	b.disabled = reason
	b.SetEnabled(false)
}

// availableIf enables the binding when reason is "" and otherwise disables it with that
// reason, for bindings that depend on the thing in hand (cancel needs a running rollout). A
// binding read-only mode disabled keeps its read-only reason.
func (b *Binding) availableIf(reason string) {
	switch {
	case b.locked:
	case reason == "":
		b.disabled = ""
		b.SetEnabled(true)
	default:
		b.Disable(reason)
	}
}

// DisabledReason says why the binding does nothing now ("" when it works).
func (b Binding) DisabledReason() string { return b.disabled }

// Pressed reports whether msg is one of b's keys, even when b is disabled, so that the
// console can say why a disabled action is unavailable.
func (b Binding) Pressed(msg tea.KeyMsg) bool {
	s := msg.String()
	for _, k := range b.Keys() {
		if k == s {
			return true
		}
	}
	return false
}

// Matches reports whether msg is one of b's keys and b is enabled.
func (b Binding) Matches(msg tea.KeyMsg) bool { return key.Matches(msg, b.Binding) }

// GlobalKeys work on every screen.
type GlobalKeys struct {
	Quit, Help, Back Binding
	// Command opens the command line (":web prod", ":rollback web prod", ":env staging", ":q").
	Command Binding
}

// NavKeys move a cursor.
type NavKeys struct {
	Up, Down, Top, Bottom, PageUp, PageDown Binding
}

// ServicesKeys are the services screen's.
type ServicesKeys struct {
	Open, Filter, Audit       Binding
	Promote, Rollback, Cancel Binding
	// Problems lists only the services with a problem, worst first.
	Problems Binding
}

// ServiceKeys are the service screen's.
type ServiceKeys struct {
	Bake, Promote, Rollback, Cancel, Audit Binding
	// Mark marks the release under the cursor bad or good.
	Mark Binding
	// Shell opens a shell on the instance under the cursor (SSM Session Manager); Console
	// shows its console output.
	Shell, Console Binding
}

// AuditKeys are the audit view's.
type AuditKeys struct {
	// Kind shows one kind of record at a time (actions, releases, rollouts, scaling), then
	// all again; Scaling unfolds or folds the scaling activities.
	Kind, Scaling Binding
}

// DialogKeys answer a plan or a form.
type DialogKeys struct {
	Confirm, Cancel, Copy, Toggle, FromEnv Binding
	// MarkBad and MarkGood answer the mark prompt only ("b" is bake on the service screen).
	MarkBad, MarkGood Binding
	// Override asks to promote an image that was rolled back or marked bad anyway.
	Override Binding
	// ScrollUp and ScrollDown move a dialog body that is taller than the screen; they leave
	// letters alone, since a production plan takes the typed service name.
	ScrollUp, ScrollDown Binding
}

// FilterKeys edit the filter.
type FilterKeys struct {
	Apply, Clear Binding
}

// Keys is the whole keymap, one group per scope.
type Keys struct {
	Global   GlobalKeys
	Nav      NavKeys
	Services ServicesKeys
	Service  ServiceKeys
	Audit    AuditKeys
	Dialog   DialogKeys
	Filter   FilterKeys
}

// DefaultKeys is the keymap.
func DefaultKeys() Keys {
	return Keys{
		Global: GlobalKeys{
			Quit:    bind([]string{"q", "ctrl+c"}, "q", "quit"),
			Help:    bind([]string{"?"}, "?", "help"),
			Back:    bind([]string{"esc", "backspace", "h", "left"}, "esc", "back"),
			Command: bind([]string{":"}, ":", "command"),
		},
		Nav: NavKeys{
			Up:       bind([]string{"k", "up"}, "↑/k", "up"),
			Down:     bind([]string{"j", "down"}, "↓/j", "down"),
			Top:      bind([]string{"g", "home"}, "g", "top"),
			Bottom:   bind([]string{"G", "end"}, "G", "bottom"),
			PageUp:   bind([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
			PageDown: bind([]string{"pgdown", "ctrl+d", " "}, "pgdn", "page down"),
		},
		Services: ServicesKeys{
			Open:     bind([]string{"enter", "l", "right"}, "enter", "open service"),
			Filter:   bind([]string{"/"}, "/", "filter"),
			Audit:    bind([]string{"a"}, "a", "audit"),
			Promote:  dangerous([]string{"p"}, "p", "promote"),
			Rollback: dangerous([]string{"r"}, "r", "rollback"),
			Cancel:   dangerous([]string{"c"}, "c", "cancel rollout"),
			Problems: bind([]string{"!"}, "!", "problems only"),
		},
		Service: ServiceKeys{
			Bake:     dangerous([]string{"b"}, "b", "bake image"),
			Promote:  dangerous([]string{"p"}, "p", "promote"),
			Rollback: dangerous([]string{"r"}, "r", "rollback"),
			Cancel:   dangerous([]string{"c"}, "c", "cancel rollout"),
			Audit:    bind([]string{"a"}, "a", "audit"),
			Mark:     dangerous([]string{"m"}, "m", "mark release"),
			Shell:    dangerous([]string{"s"}, "s", "shell on instance"),
			Console:  bind([]string{"l"}, "l", "console output"),
		},
		Audit: AuditKeys{
			Kind:    bind([]string{"f"}, "f", "kind"),
			Scaling: bind([]string{"s"}, "s", "fold/unfold scaling"),
		},
		Dialog: DialogKeys{
			Confirm:    bind([]string{"enter"}, "enter", "confirm"),
			Cancel:     bind([]string{"esc"}, "esc", "cancel"),
			Copy:       bind([]string{"ctrl+y"}, "ctrl+y", "copy CLI command"),
			Toggle:     bind([]string{"tab"}, "tab", "toggle reboot"),
			FromEnv:    bind([]string{"s"}, "s", "promote what the other env runs"),
			MarkBad:    bind([]string{"b"}, "b", "bad"),
			MarkGood:   bind([]string{"g"}, "g", "good"),
			Override:   bind([]string{"o"}, "o", "override the mark"),
			ScrollUp:   bind([]string{"up", "pgup"}, "↑/pgup", "scroll"),
			ScrollDown: bind([]string{"down", "pgdown"}, "↓/pgdn", "scroll"),
		},
		Filter: FilterKeys{
			Apply: bind([]string{"enter", "down", "up"}, "enter", "keep filter"),
			Clear: bind([]string{"esc"}, "esc", "clear filter"),
		},
	}
}

// readOnly disables every dangerous binding, with the reason the console gives when one is
// pressed.
func (k *Keys) readOnly() {
	k.each(func(b *Binding) {
		if b.Dangerous {
			b.Disable("read-only mode: " + b.Help().Desc + " is not available (restart without --read-only to change anything)")
			b.locked = true
		}
	})
}

// each calls fn with every binding of every scope. It walks the keymap's fields, so that a
// binding added to a scope is in help, read-only mode and the key sweep without another list.
func (k *Keys) each(fn func(*Binding)) {
	scopes := reflect.ValueOf(k).Elem()
	for i := range scopes.NumField() {
		scope := scopes.Field(i)
		for j := range scope.NumField() {
			if b, ok := scope.Field(j).Addr().Interface().(*Binding); ok {
				fn(b)
			}
		}
	}
}

// AllBindings lists every binding of every scope, dangerous ones included, for tests and
// scripted sessions that sweep all keys.
func (k Keys) AllBindings() []Binding {
	var out []Binding
	k.each(func(b *Binding) { out = append(out, *b) })
	return out
}

// helpBindings turns bindings into what bubbles' help renders (it skips disabled ones).
func helpBindings(bs ...Binding) []key.Binding {
	out := make([]key.Binding, len(bs))
	for i, b := range bs {
		out[i] = b.Binding
	}
	return out
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
