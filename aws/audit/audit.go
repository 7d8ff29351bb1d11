// Package audit is the local audit log of mutating actions: JSON lines, one event a line,
// appended by the action layer and read by the console and the CLI.
package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/adstage/adstage-ops/model"
)

// The audit log is the local record of every mutating action taken with adstage-ops, including
// the cancelled and failed ones: one JSON object per line (model.AuditEvent), appended with
// O_APPEND so that two consoles writing at once interleave whole lines, never parts of them,
// and created 0600 because it names who did what in which account.

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
// when they do not exist yet.
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
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	// One write call per line: with O_APPEND the kernel places it at the end as a whole.
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write audit event to %s: %w", l.path, err)
	}
	return nil
}

// Read returns every event in the log, oldest first. A log that does not exist yet is empty.
// A line that is not an event (a torn write after a crash) is an error naming its line number.
func (l *Log) Read() ([]model.AuditEvent, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	var out []model.AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e model.AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("read audit log %s line %d: %w", l.path, n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read audit log %s: %w", l.path, err)
	}
	return out, nil
}

// Sink receives audit events.
type Sink interface {
	Append(model.AuditEvent) error
}
