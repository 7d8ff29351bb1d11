package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/accounts"
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

// Over several identities the shell goes to the member whose last read holds the instance:
// its region and profile, never the first member's; a member that assumes a role says what
// the AWS CLI needs instead of opening a shell in the wrong account.
func TestShell_UsesTheProfileAndRegionOfTheInstancesMember(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls.log")
	t.Setenv("PATH", bin)
	t.Setenv("AWS_PROFILE", "")
	fakeTool(t, bin, "aws", log)
	fakeTool(t, bin, "session-manager-plugin", log)
	clock := sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	p := sim.NewPartition(clock, sim.Options{Account: "111111111111", Region: "us-east-1"}, sim.Options{Account: "222222222222", Region: "eu-west-1"})
	var members []accounts.Member
	var euInstance string
	for i, c := range p.Clouds() {
		img := c.AddImage("web", time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC), []sim.Tag{{Key: "Service", Value: "web"}})
		c.AddTemplate("web", []string{img}, nil, 1)
		ids, err := c.AddGroup(sim.GroupSpec{Name: "web", Service: "web", Env: "production", Min: 1, Desired: 1, Max: 2, Template: "web", Version: "1", Age: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		name := []string{"production (profile prod-us, us-east-1)", "production (role arn:aws:iam::222222222222:role/ops from profile org, eu-west-1)"}[i]
		if i == 1 {
			euInstance = ids[0]
		}
		read := c.Clients().Read()
		members = append(members, accounts.Member{Name: name, Envs: []string{"production"}, Reader: inventory.NewInventory(read, inventory.Options{Now: clock.Now}), Read: read, Tags: model.DefaultTagKeys})
	}
	c := accounts.New(members, accounts.Options{Now: clock.Now})
	if _, err := c.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, now: time.Now, reader: c, members: c,
		memberIDs: map[string]Identity{members[0].Name: {Profile: "prod-us"}, members[1].Name: {Profile: "prod-eu"}},
		audit:     audit.New(filepath.Join(t.TempDir(), "audit.jsonl"))}
	key := model.ServiceKey{Name: "web", Env: "production", Region: "eu-west-1"}
	cmd, done, err := a.shell(euInstance, key)
	if err != nil {
		t.Fatal(err)
	}
	done(cmd.Run())
	got, _ := os.ReadFile(log)
	if !strings.Contains(string(got), "start-session --target "+euInstance+" --region eu-west-1 --profile prod-eu") {
		t.Errorf("ran %q, want eu-west-1 with profile prod-eu", got)
	}
	evs, _ := a.audit.Read()
	if len(evs) == 0 || evs[0].Region != "eu-west-1" || !strings.Contains(evs[0].Who, "222222222222") {
		t.Errorf("audit %+v, want the eu-west-1 member's identity and region", evs)
	}

	a.memberIDs[members[1].Name] = Identity{Profile: "org", RoleARN: "arn:aws:iam::222222222222:role/ops"}
	if _, _, err := a.shell(euInstance, key); err == nil || !strings.Contains(err.Error(), "role_arn and source_profile") {
		t.Errorf("a role member: %v, want what the AWS CLI needs", err)
	}
	if _, _, err := a.shell("i-0nowhere", key); err == nil || !strings.Contains(err.Error(), "none of the environments") {
		t.Errorf("an unknown instance: %v", err)
	}
}
