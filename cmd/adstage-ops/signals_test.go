package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/sim"
)

// TestSignals_InAlarmExits1 saves a demo fleet whose web release has served its 5xx for
// minutes (the alarm fires), then runs `signals` on it: exit 1, naming the alarm.
func TestSignals_InAlarmExits1(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("ADSTAGE_DEMO_SPEED", "1")
	now := time.Now()
	clock := sim.NewManualClock(now.Add(-8 * time.Minute))
	cloud := sim.NewDemo(clock)
	for clock.Now().Before(now) {
		clock.Advance(10 * time.Second)
		cloud.Advance()
	}
	path := filepath.Join(t.TempDir(), "demo.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cloud.Save(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out, errOut bytes.Buffer
	code := run([]string{"--demo", "--demo-state", path, "signals", "--service", "web", "--env", "production"}, strings.NewReader(""), &out, &errOut)
	if code != exitDegraded || !strings.Contains(out.String(), "web-production-5xx") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	code = run([]string{"--demo", "--demo-state", path, "signals", "--service", "api", "--env", "production"}, strings.NewReader(""), &out, &errOut)
	if code != exitOK {
		t.Errorf("api/production: exit %d", code)
	}
}
