// Package audit is the local audit log of mutating actions: JSON lines, one event a line,
// appended by the action layer and read by the console and the CLI.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gofrs/flock"

	"github.com/adstage/adstage-ops/model"
)

// The audit log is the local record of every mutating action taken with adstage-ops, including
// the cancelled and failed ones: one JSON object per line (model.AuditEvent), appended under a
// file lock with O_APPEND and synced, so that consoles and CLIs writing at once interleave
// whole lines, never parts of them; created 0600 because it names who did what in which
// account. A damaged line never hides the rest of the log.

// Log is a JSON lines audit log file. It implements Sink.
type Log struct {
	path string
	mu   sync.Mutex // serialises this process's appends
}

var _ Sink = (*Log)(nil)

// New is the audit log at path. Nothing is created before the first Append.
func New(path string) *Log { return &Log{path: path} }

// Path is the log's file name.
func (l *Log) Path() string { return l.path }

// DefaultPath is the audit log under the user's state directory:
// $XDG_STATE_HOME/adstage-ops/audit.jsonl, else ~/.local/state/adstage-ops/audit.jsonl.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the audit log's directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "adstage-ops", "audit.jsonl"), nil
}

// Append writes one event as one line, creating the file (0600) and its directories (0700)
// when they do not exist yet. Appends from several processes stay whole lines: each takes
// an exclusive lock on PATH.lock, writes the line with one write call on an O_APPEND file,
// and syncs it to disk before the lock is released, so an event reported written survives a
// crash.
func (l *Log) Append(e model.AuditEvent) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("write audit event: %w", err)
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	lock := flock.New(l.path+".lock", flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("write audit event to %s: lock it: %w", l.path, err)
	}
	defer lock.Unlock()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	// One write call per line: with O_APPEND the kernel places it at the end as a whole.
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write audit event to %s: sync: %w", l.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	return nil
}

// Damaged reports lines of the log that are not events (a torn write after a crash, a line
// edited by hand): they are skipped, and every readable event is still returned.
type Damaged struct {
	Path  string
	Lines []int // 1-based line numbers
}

func (d *Damaged) Error() string {
	nums := make([]string, 0, min(len(d.Lines), 20))
	for i, n := range d.Lines {
		if i == 20 {
			nums = append(nums, "...")
			break
		}
		nums = append(nums, strconv.Itoa(n))
	}
	what := "unreadable lines"
	if len(d.Lines) == 1 {
		what = "unreadable line"
	}
	return fmt.Sprintf("%d %s skipped in %s: %s", len(d.Lines), what, d.Path, strings.Join(nums, ", "))
}

// Read returns every event in the log, oldest first. A log that does not exist yet is empty.
// Lines that are not events are skipped and reported as a *Damaged error alongside the
// events that could be read; lines of any length are read.
func (l *Log) Read() ([]model.AuditEvent, error) {
	raw, err := l.readRaw()
	out := make([]model.AuditEvent, len(raw))
	for i, r := range raw {
		out[i] = r.event
	}
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// rawEvent is an event with its line as written (the shared log de-duplicates by it).
type rawEvent struct {
	line  string
	event model.AuditEvent
}

func (l *Log) readRaw() ([]rawEvent, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	var out []rawEvent
	var bad []int
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if t := bytes.TrimSpace(line); len(t) > 0 {
			var e model.AuditEvent
			if json.Unmarshal(t, &e) == nil && e.Action != "" {
				out = append(out, rawEvent{line: string(t), event: safeEvent(e)})
			} else {
				bad = append(bad, n)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("read audit log %s: %w", l.path, err)
		}
	}
	if len(bad) > 0 {
		return out, &Damaged{Path: l.path, Lines: bad}
	}
	return out, nil
}

// safeEvent makes the text of an event read back terminal-safe: the log is shared, and other
// operators' reasons (or a hand-edited line) are data, never terminal control.
func safeEvent(e model.AuditEvent) model.AuditEvent {
	for _, p := range []*string{&e.Who, &e.Service, &e.Env, &e.Region, &e.From, &e.To, &e.Reason, &e.Result, &e.Error, &e.Via} {
		*p = model.SafeText(*p)
	}
	e.Action = model.ActionKind(model.SafeText(string(e.Action)))
	for i := range e.Groups {
		e.Groups[i] = model.SafeText(e.Groups[i])
	}
	return e
}

// Sink receives audit events.
type Sink interface {
	Append(model.AuditEvent) error
}
