package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// Text from AWS and from other operators is data: with hostile tag values, image labels,
// launch template descriptions and audit reasons (escape sequences that set the clipboard or
// the title, line breaks that fake a row, C1 controls, bidi overrides, invalid UTF-8), no
// text output of status, history or audit carries a control sequence, and status does not
// fail. A fixed seed; at least three fleets, more while the time budget lasts.
func TestHostileTextNeverReachesTheTerminal_CLI(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	budget := time.Now().Add(4 * time.Second) // how long to keep fuzzing, not an assertion
	for i := 0; i < 30 && (i < 3 || time.Now().Before(budget)); i++ {
		dir := t.TempDir()
		t.Setenv("XDG_STATE_HOME", dir)
		t.Setenv("HOME", dir)
		t.Setenv("ADSTAGE_DEMO_SPEED", "")
		state := filepath.Join(dir, "state.json")
		clock := sim.NewManualClock(time.Now().Add(-time.Minute))
		cloud := sim.NewDemo(clock)
		svc, err := cloud.AddHostileService(r, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := cloud.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(state, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		ev, _ := json.Marshal(model.AuditEvent{Time: clock.Now(), Who: sim.HostileText(r, 4), Action: model.ActionPromote, Service: "web", Env: "production",
			Reason: sim.HostileText(r, 8), Result: "started", Error: sim.HostileText(r, 4)})
		if err := os.WriteFile(filepath.Join(dir, "audit-demo.jsonl"), append(ev, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"status"},
			{"status", "--rollback"},
			{"status", "--service", svc, "--env", "production"},
			{"history", "--service", "web", "--env", "production"},
			{"audit"},
			{"audit", "--service", "web", "--env", "production"},
		} {
			var out, errOut bytes.Buffer
			code := run(append([]string{"--demo", "--demo-state", state}, args...), strings.NewReader(""), &out, &errOut)
			if args[0] == "status" && len(args) < 3 && code != exitOK && code != exitDegraded {
				t.Errorf("fleet %d: status %v exited %d: %s", i, args, code, errOut.String())
			}
			for name, text := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
				if bad := sim.UnsafeOutput(text); bad != "" {
					t.Fatalf("fleet %d: %v %s carries %s", i, args, name, bad)
				}
			}
		}
	}
}

// A config file holding terminal control (a binary file named by mistake, or a hostile one)
// is refused with a message that quotes it as data.
func TestHostileConfigIsQuotedAsData(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	t.Setenv("HOME", dir)
	conf := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(conf, []byte("refresh: \x1b]52;c;aGVsbG8=\x07\x1b[2J\nenv\x9b1m: \xff\xfe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"--demo", "--config", conf, "status"}, strings.NewReader(""), &out, &errOut)
	if code != exitError {
		t.Errorf("exit %d, want %d: %s", code, exitError, errOut.String())
	}
	if bad := sim.UnsafeOutput(errOut.String() + out.String()); bad != "" {
		t.Fatalf("the config error carries %s:\n%q", bad, errOut.String())
	}
}
