package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// The task envelope (gh-dash's StartTask): every AWS call the console makes runs as a task
// with an id, a kind and a key. A task of the same kind and key as a running one is refused
// with a reason; each call has a timeout under a root context that quitting cancels; an
// answer whose task is no longer running (it timed out, or the console moved on) is dropped;
// the header's spinner and the status line's busy text come from the running tasks.

type taskKind uint8

const (
	taskRefresh    taskKind = iota // Snapshot
	taskReadyBatch                 // Readiness of the rows on screen
	taskReadiness                  // Readiness of the service in view
	taskImages                     // Images of a service
	taskHistory                    // History and the audit log
	taskLedger                     // History of the service screen (the release ledgers)
	taskPlan                       // PlanBake, PlanPromote, PlanRollback, PlanMark, PlanCancel
	taskExecute                    // Execute
	taskSignals                    // Signals of the services on screen
	taskConsole                    // ConsoleOutput of an instance
)

// task is one running call.
type task struct {
	id      int
	kind    taskKind
	key     string
	text    string // what it does, for the status line: "rollback plan for web/production"
	busy    string // shown on the status line while it runs ("" for background reads)
	already string // why a second one is refused: "is already being read"
	started time.Time
}

// tasks holds the running tasks and the root context they run under.
type tasks struct {
	root    context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	next    int
	running []*task
}

func newTasks(timeout time.Duration) *tasks {
	ctx, cancel := context.WithCancel(context.Background())
	return &tasks{root: ctx, cancel: cancel, timeout: timeout}
}

// taskDoneMsg is a task's answer: msg is the typed message of its kind (fleetMsg, planMsg, ...).
type taskDoneMsg struct {
	id  int
	msg tea.Msg
}

// timeoutError is a call that did not answer within its task's timeout.
type timeoutError struct {
	what  string
	after time.Duration
}

func (e timeoutError) Error() string { return fmt.Sprintf("%s timed out after %s", e.what, e.after) }
func (e timeoutError) Is(target error) bool {
	return target == context.DeadlineExceeded
}

// taskSpec describes a task to start.
type taskSpec struct {
	kind taskKind
	key  string
	text string
	busy string
	// already says why a second one is refused ("is already being read" by default).
	already string
	// timeout bounds the wait for the answer (0: the envelope's default; <0: none).
	timeout time.Duration
	// detached calls run under the root context only, not under the timeout: Execute's
	// follower outlives the call and must stop only when the console quits.
	detached bool
	// run makes the call; fail builds the kind's message for a call that timed out.
	run  func(ctx context.Context) tea.Msg
	fail func(err error) tea.Msg
}

// find returns the running task of that kind and key.
func (ts *tasks) find(kind taskKind, key string) *task {
	for _, t := range ts.running {
		if t.kind == kind && t.key == key {
			return t
		}
	}
	return nil
}

// runs reports whether a task of that kind and key is running.
func (ts *tasks) runs(kind taskKind, key string) bool { return ts.find(kind, key) != nil }

// start registers a task and returns the command that runs it, or the reason it was
// refused: a task of the same kind and key is still running.
func (ts *tasks) start(now time.Time, s taskSpec) (tea.Cmd, string) {
	if ts.root.Err() != nil {
		return nil, "" // the console is quitting: nothing new starts
	}
	if t := ts.find(s.kind, s.key); t != nil {
		return nil, t.text + " " + t.already
	}
	if s.already == "" {
		s.already = "is already being read"
	}
	ts.next++
	t := &task{id: ts.next, kind: s.kind, key: s.key, text: s.text, busy: s.busy, already: s.already, started: now}
	ts.running = append(ts.running, t)
	timeout := s.timeout
	if timeout == 0 {
		timeout = ts.timeout
	}
	root, id := ts.root, t.id
	return func() tea.Msg { return taskDoneMsg{id: id, msg: call(root, timeout, s)} }, ""
}

// call runs one task's call and waits for its answer, its timeout or the console's end,
// whichever comes first. A call that ignores its context is abandoned; its late answer goes
// nowhere.
func call(root context.Context, timeout time.Duration, s taskSpec) tea.Msg {
	wait, cancel := root, context.CancelFunc(func() {})
	if timeout > 0 {
		wait, cancel = context.WithTimeout(root, timeout)
	}
	defer cancel()
	ctx := wait
	if s.detached {
		ctx = root
	}
	answer := make(chan tea.Msg, 1)
	go func() { answer <- s.run(ctx) }()
	select {
	case msg := <-answer:
		if !errors.Is(wait.Err(), context.DeadlineExceeded) {
			return msg
		}
	case <-wait.Done():
	}
	if root.Err() != nil {
		return nil // the console is quitting
	}
	return s.fail(timeoutError{what: s.text, after: timeout})
}

// done ends a task and reports whether its answer is still wanted.
func (ts *tasks) done(id int) (*task, bool) {
	for i, t := range ts.running {
		if t.id == id {
			ts.running = append(ts.running[:i], ts.running[i+1:]...)
			return t, true
		}
	}
	return nil, false
}

// busy is the newest task shown on the status line, if any.
func (ts *tasks) busy() *task {
	for i := len(ts.running) - 1; i >= 0; i-- {
		if ts.running[i].busy != "" {
			return ts.running[i]
		}
	}
	return nil
}

// stop cancels every running call; the console is quitting.
func (ts *tasks) stop() {
	ts.cancel()
	ts.running = nil
}
