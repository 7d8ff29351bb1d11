package tui

import (
	tea "github.com/charmbracelet/bubbletea"
)

// Session drives a console without a terminal, the way Bubble Tea would: a message goes to
// Update, every command runs in its own goroutine, and their messages are applied one at a
// time in the order they arrive. After each message it settles: it applies messages until
// every command has answered except the followers of running actions (which last as long as
// the action). Nothing waits on wall-clock time: the clock, spinner and cursor timers are
// dropped, and each AWS call ends within its task timeout. Scripted sessions and the
// read-only key sweep use it.
type Session struct {
	m       *Model
	msgs    chan tea.Msg
	pending int
}

// NewSession opens a console at width x height and settles its first refresh.
func NewSession(cfg Config, width, height int) *Session {
	m := New(cfg)
	m.c.timer = func(tea.Cmd) tea.Cmd { return nil }
	s := &Session{m: m, msgs: make(chan tea.Msg, 256)}
	s.Send(tea.WindowSizeMsg{Width: width, Height: height})
	s.spawn(m.Init())
	s.settle()
	return s
}

// Keys is the session's keymap, with read-only mode's disabled bindings.
func (s *Session) Keys() Keys { return s.m.keys }

// Send applies a message and settles.
func (s *Session) Send(msg tea.Msg) {
	s.apply(msg)
	s.settle()
}

// Press sends each key of a binding in turn, as named in the keymap.
func (s *Session) Press(b Binding) {
	for _, k := range b.Keys() {
		s.Send(KeyMsg(k))
	}
}

// Type sends text as typed.
func (s *Session) Type(text string) { s.Send(KeyMsg(text)) }

// View is the screen as the terminal would show it.
func (s *Session) View() string { return s.m.View() }

// Close quits the console: the running calls and followers are cancelled, and their answers
// drained.
func (s *Session) Close() {
	s.m.tasks.stop()
	for s.pending > 0 {
		s.receive()
	}
}

func (s *Session) apply(msg tea.Msg) {
	_, cmd := s.m.Update(msg)
	s.spawn(cmd)
}

func (s *Session) spawn(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	s.pending++
	go func() { s.msgs <- cmd() }()
}

// settle applies messages until only followers are outstanding.
func (s *Session) settle() {
	for s.pending > s.m.following {
		s.receive()
	}
}

func (s *Session) receive() {
	msg := <-s.msgs
	s.pending--
	switch msg := msg.(type) {
	case nil, tea.QuitMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			s.spawn(c)
		}
	default:
		s.apply(msg)
	}
}
