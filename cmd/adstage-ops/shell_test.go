package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// fakeTool writes an executable that records its arguments and environment in log.
func fakeTool(t *testing.T, dir, name, log string) {
	t.Helper()
	// Shell builtins only: PATH holds nothing else here.
	script := "#!/bin/sh\necho \"$0 $*\" >> " + log + "\necho \"AWS_REGION=$AWS_REGION\" >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// `s` on an instance runs `aws ssm start-session --target ID` with the console's region and
// profile, and writes the shell to the audit log (started, then how it ended); a missing AWS
// CLI or Session Manager plugin is named with what to install.
func TestShell_RunsSessionManagerWithTheConsolesProfileAndRegion(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls.log")
	t.Setenv("PATH", bin)
	t.Setenv("AWS_PROFILE", "")
	cloud := sim.NewDemo(sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)))
	a := &app{stdout: io.Discard, stderr: io.Discard, now: time.Now, awsProfile: "ops-prod",
		reader: inventory.NewInventory(cloud.Clients().Read(), inventory.Options{}),
		audit:  audit.New(filepath.Join(t.TempDir(), "audit.jsonl"))}
	key := model.ServiceKey{Name: "web", Env: "production"}

	if _, _, err := a.shell("i-0123", key); err == nil || !strings.Contains(err.Error(), "the AWS CLI is not installed") {
		t.Fatalf("without aws on PATH: %v", err)
	}
	fakeTool(t, bin, "aws", log)
	if _, _, err := a.shell("i-0123", key); err == nil || !strings.Contains(err.Error(), "Session Manager plugin") {
		t.Fatalf("without the plugin: %v", err)
	}
	fakeTool(t, bin, "session-manager-plugin", log)
	cmd, done, err := a.shell("i-0123", key)
	if err != nil {
		t.Fatal(err)
	}
	runErr := cmd.Run()
	done(runErr)
	got, _ := os.ReadFile(log)
	if !strings.Contains(string(got), "/aws ssm start-session --target i-0123 --region us-east-1 --profile ops-prod") {
		t.Errorf("ran %q", got)
	}
	evs, err := a.audit.Read()
	if err != nil || len(evs) != 2 || evs[0].Action != model.ActionShell || evs[0].Result != "started" || evs[1].Result != "succeeded" || evs[0].To != "i-0123" || evs[0].Env != "production" {
		t.Errorf("audit %+v %v", evs, err)
	}

	a.flags.demo = true
	if _, _, err := a.shell("i-0123", key); err == nil || !strings.Contains(err.Error(), "simulated") {
		t.Errorf("in the demo: %v", err)
	}
}
