package audit

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/model"
)

func TestAuditLog_AppendRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "audit.jsonl")
	log := New(path)
	if evs, err := log.Read(); err != nil || len(evs) != 0 {
		t.Fatalf("missing log: %v %v", evs, err)
	}
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	fin := at.Add(time.Minute)
	want := []model.AuditEvent{
		{Time: at, Who: "arn:x", Action: model.ActionPromote, Service: "api", Env: "production", Groups: []string{"g1", "g2"}, From: "ami-1", To: "ami-2", Reason: "why", Result: "started"},
		{Time: at, Finished: &fin, Who: "arn:x", Action: model.ActionPromote, Result: "failed", Error: "boom\nsecond line"},
	}
	for _, e := range want {
		if err := log.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	// Read back terminal-safe: the line break shows as \n.
	if len(got) != 2 || got[0].Groups[1] != "g2" || got[0].Reason != "why" || !got[1].Finished.Equal(fin) || got[1].Error != `boom\nsecond line` {
		t.Errorf("read back %+v", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if n := strings.Count(string(raw), "\n"); n != 2 {
		t.Errorf("%d lines, want one per event", n)
	}
}

func TestAuditLog_ConcurrentAppendsStayWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// Two logs on one file stand for two consoles: O_APPEND keeps their lines whole.
	a, b := New(path), New(path)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		for _, l := range []*Log{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := l.Append(model.AuditEvent{Who: strings.Repeat("w", 500), Action: model.ActionBake, Result: "started"}); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	evs, err := a.Read()
	if err != nil || len(evs) != 100 {
		t.Fatalf("read %d events: %v", len(evs), err)
	}
}

// Damage never hides the log: a garbage line, a truncated last line and a line that is not
// an event are skipped and named by number; the events around them, and a line over 1 MB,
// are read.
func TestAuditLog_DamagedLinesAreSkippedAndNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	long := `{"who":"` + strings.Repeat("w", 2<<20) + `","action":"promote","result":"started"}`
	content := strings.Join([]string{
		`{"who":"a","action":"bake","result":"started"}`,
		"\x00\x01 garbage",
		long,
		`{"unrelated":true}`,
		`{"who":"b","action":"bake","result":"succeeded"}`,
		`{"who":`,
	}, "\n")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	evs, err := New(path).Read()
	var d *Damaged
	if !errors.As(err, &d) || !slices.Equal(d.Lines, []int{2, 4, 6}) {
		t.Fatalf("err %v, want lines 2, 4 and 6 named", err)
	}
	if !strings.Contains(err.Error(), "3 unreadable lines skipped in "+path+": 2, 4, 6") {
		t.Errorf("message %q", err)
	}
	if len(evs) != 3 || evs[0].Who != "a" || len(evs[1].Who) != 2<<20 || evs[2].Who != "b" {
		t.Errorf("read %d events", len(evs))
	}
}

// Appends from separate processes (separate Log values, each with its own file lock) stay
// whole lines.
func TestAuditLog_AppendsFromSeveralWritersStayWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := New(path)
			for i := 0; i < 20; i++ {
				if err := l.Append(model.AuditEvent{Who: strings.Repeat("x", 70000), Action: model.ActionBake, Result: "started"}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	evs, err := New(path).Read()
	if err != nil || len(evs) != 160 {
		t.Fatalf("read %d events: %v", len(evs), err)
	}
}

func TestDefaultAuditPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/state")
	if p, err := DefaultPath(); err != nil || p != "/var/state/adstage-ops/audit.jsonl" {
		t.Errorf("with XDG_STATE_HOME: %q %v", p, err)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/ana")
	if p, err := DefaultPath(); err != nil || p != "/home/ana/.local/state/adstage-ops/audit.jsonl" {
		t.Errorf("without: %q %v", p, err)
	}
}
