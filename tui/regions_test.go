package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// twoRegions is a console over production read in two regions of account 222222222222 (web
// runs in both, on its second release) and staging in account 111111111111, us-east-1,
// each with its own operator; prod are production's clouds by region.
func twoRegions(t testing.TB) (*accounts.Operators, map[string]*sim.Cloud, *sim.ManualClock) {
	t.Helper()
	clock := sim.NewManualClock(t0)
	p := sim.NewPartition(clock,
		sim.Options{Account: "111111111111", Region: "us-east-1"},
		sim.Options{Account: "222222222222", Region: "us-east-1"},
		sim.Options{Account: "222222222222", Region: "eu-west-1"})
	staging := p.Clouds()[0]
	prod := map[string]*sim.Cloud{"us-east-1": p.Clouds()[1], "eu-west-1": p.Clouds()[2]}
	tags := []sim.Tag{{Key: "Service", Value: "web"}}
	img := staging.AddImage("web-staging", t0.Add(-time.Hour), tags)
	staging.AddTemplate("web-staging", []string{img}, nil, 1)
	if _, err := staging.AddGroup(sim.GroupSpec{Name: "web-staging", Service: "web", Env: "staging", Min: 1, Desired: 2, Max: 4, Template: "web-staging", Version: "1", Age: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		c := prod[region]
		old := c.AddImage("web-old", t0.Add(-48*time.Hour), tags)
		cur := c.AddImage("web-cur", t0.Add(-2*time.Hour), tags)
		c.AddTemplate("web-production", []string{old, cur}, nil, 2)
		if _, err := c.AddGroup(sim.GroupSpec{Name: "web-production", Service: "web", Env: "production", Min: 1, Desired: 3, Max: 6, Template: "web-production", Version: "2", Age: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	opts := ops.Options{Options: inventory.Options{Now: clock.Now}, Via: "tui"}
	member := func(name string, c *sim.Cloud, env string) accounts.Member {
		cl := c.Clients()
		op := ops.NewOperator(cl, opts)
		return accounts.Member{Name: name, Envs: []string{env}, Reader: op, Operator: op, Read: cl.Read(), Write: cl, Tags: model.DefaultTagKeys}
	}
	return accounts.NewOperators([]accounts.Member{
		member("staging (profile staging, us-east-1)", staging, "staging"),
		member("production (profile prod, us-east-1)", prod["us-east-1"], "production"),
		member("production (profile prod, eu-west-1)", prod["eu-west-1"], "production"),
	}, accounts.Options{Now: clock.Now}), prod, clock
}

// Production runs web in two regions: two rows, each naming its region in the REGION
// column (staging's one row names its own), at 80x24 where the cut RELEASE makes room.
func TestGoldenTwoRegions80x24(t *testing.T) {
	op, _, clock := twoRegions(t)
	m := New(Config{Reader: op, Operator: op, Now: clock.Now, Refresh: time.Hour})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("eu-west-1")) && bytes.Contains(b, []byte("unverified"))
	}, teatest.WithDuration(5*time.Second))
	fm := finish(t, tm)
	var rows []string
	for _, k := range fm.list.rows {
		rows = append(rows, k.String())
	}
	if got := strings.Join(rows, "|"); got != "web/production in eu-west-1|web/production in us-east-1|web/staging" {
		t.Fatalf("rows %q", got)
	}
	golden.RequireEqual(t, []byte(fm.View()))
}

// r on each production row plans with that row's region: the plan the dialog shows names
// it, and its CLI twin passes --region; the plan's region is what Execute routes by
// (aws/accounts' sim tests roll back from each row and count the calls per region).
func TestRollbackFromARegionRowPlansInThatRegion(t *testing.T) {
	op, _, _ := twoRegions(t)
	m := New(Config{Reader: op, Operator: op, Now: time.Now, Clipboard: func(string) {}})
	startConsole(t, m)
	for i, region := range []string{"eu-west-1", "us-east-1"} {
		m.list.cursor = i
		m.syncKeys()
		if k, _ := m.list.selected(); k.Region != region {
			t.Fatalf("row %d is %s, want %s", i, k, region)
		}
		run(m, press(m.keys.Services.Rollback))
		run(m, typeText("5xx spike"))
		run(m, press(m.keys.Dialog.Confirm)) // production: the reason, then the plan
		d, ok := m.top().(*planDialog)
		if !ok {
			t.Fatalf("%s: no plan dialog (status %q)", region, m.status)
		}
		if d.plan.Region != region || !strings.HasSuffix(d.plan.CLI, "--region "+region) {
			t.Errorf("plan from the %s row: region %q, CLI %q", region, d.plan.Region, d.plan.CLI)
		}
		if view := m.View(); !strings.Contains(view, "web/production in "+region) {
			t.Errorf("the plan does not name %s:\n%s", region, view)
		}
		run(m, press(m.keys.Dialog.Cancel))
	}
}
