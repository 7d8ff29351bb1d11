package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// regions is production read in two regions of account 222 (web runs in both, on its
// second release) and staging in account 111, us-east-1, each read with its own clients.
type regions struct {
	world
	prod    map[string]*sim.Cloud // by region
	console *accounts.Operators
}

func newRegions(t *testing.T) *regions {
	t.Helper()
	clock := sim.NewManualClock(t0)
	p := sim.NewPartition(clock,
		sim.Options{Account: "111111111111", Region: "us-east-1"},
		sim.Options{Account: "222222222222", Region: "us-east-1"},
		sim.Options{Account: "222222222222", Region: "eu-west-1"})
	r := &regions{world: world{clock: clock, staging: p.Clouds()[0]}, prod: map[string]*sim.Cloud{"us-east-1": p.Clouds()[1], "eu-west-1": p.Clouds()[2]}}
	tags := []sim.Tag{{Key: "Service", Value: "web"}}
	r.image = r.staging.AddImage("web-staging", t0.Add(-time.Hour), tags)
	r.staging.AddTemplate("web-staging", []string{r.image}, nil, 1)
	if _, err := r.staging.AddGroup(sim.GroupSpec{Name: "web-staging", Service: "web", Env: "staging", Min: 1, Desired: 2, Max: 4, Template: "web-staging", Version: "1", Age: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.prod {
		old := c.AddImage("web-old", t0.Add(-48*time.Hour), tags)
		cur := c.AddImage("web-cur", t0.Add(-2*time.Hour), tags)
		c.AddTemplate("web-production", []string{old, cur}, nil, 2)
		if _, err := c.AddGroup(sim.GroupSpec{Name: "web-production", Service: "web", Env: "production", Min: 1, Desired: 2, Max: 4, Template: "web-production", Version: "2", Age: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	opts := ops.Options{Options: inventory.Options{Now: clock.Now, After: clock.After, Refresh: time.Millisecond, BootTime: r.staging.BootTime()}, Via: "tui"}
	member := func(name string, c *sim.Cloud, env string) accounts.Member {
		cl := c.Clients()
		op := ops.NewOperator(cl, opts)
		return accounts.Member{Name: name, Envs: []string{env}, Reader: op, Operator: op, Read: cl.Read(), Write: cl, Tags: model.DefaultTagKeys}
	}
	r.console = accounts.NewOperators([]accounts.Member{
		member("staging (profile staging, us-east-1)", r.staging, "staging"),
		member("production (profile prod, us-east-1)", r.prod["us-east-1"], "production"),
		member("production (profile prod, eu-west-1)", r.prod["eu-west-1"], "production"),
	}, accounts.Options{Now: clock.Now})
	r.world.console = r.console
	if _, err := r.console.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// writes counts the mutating calls a cloud was sent.
func writes(c *sim.Cloud) int {
	n := 0
	for op, k := range c.Calls() {
		if !strings.HasPrefix(op, "Describe") && op != "GetCallerIdentity" {
			n += k
		}
	}
	return n
}

// An environment read in two regions where the service runs in both is two rows, each with
// its region in its key and its own groups; a rollback or promote from one row plans and
// acts with that region's identity only (counted per simulated cloud), and the plan and the
// audit event name the region. Without a region the console still refuses to guess.
func TestConsole_ActsOnTheRegionOfTheRow_Sim(t *testing.T) {
	r := newRegions(t)
	f, err := r.console.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range f.Services {
		keys = append(keys, s.ServiceKey.String()+" "+s.From().Region)
		if s.Env == "production" && (len(s.Groups) != 1 || s.Groups[0].From().Region != s.Region) {
			t.Errorf("%s: groups %+v", s.ServiceKey, s.Groups)
		}
	}
	want := "web/production in eu-west-1 eu-west-1|web/production in us-east-1 us-east-1|web/staging us-east-1"
	if got := strings.Join(keys, "|"); got != want {
		t.Fatalf("rows %q, want %q", got, want)
	}
	if _, err := r.console.PlanRollback(context.Background(), ops.RollbackRequest{Service: "web", Env: "production"}); err == nil || !strings.Contains(err.Error(), "runs in") {
		t.Errorf("rollback without a region: %v, want a refusal naming the regions", err)
	}

	for _, region := range []string{"eu-west-1", "us-east-1"} {
		other := "us-east-1"
		if region == other {
			other = "eu-west-1"
		}
		before := writes(r.prod[other])
		k := model.ServiceKey{Name: "web", Env: "production", Region: region}
		op := ops.OperatorFor(r.console, k)
		if _, err := ops.ReaderFor(r.console, k).Readiness(context.Background(), k.Name, k.Env); err != nil {
			t.Errorf("readiness of %s: %v", k, err)
		}
		if _, err := ops.ReaderFor(r.console, k).History(context.Background(), k.Name, k.Env); err != nil {
			t.Errorf("history of %s: %v", k, err)
		}
		p, err := op.PlanRollback(context.Background(), ops.RollbackRequest{Service: "web", Env: "production", Reason: "test"})
		if err != nil {
			t.Fatalf("plan rollback of %s: %v", k, err)
		}
		if p.Region != region || p.Key() != k || !strings.Contains(p.Target(), region) {
			t.Errorf("plan of %s names region %q, target %q", k, p.Region, p.Target())
		}
		ctx, cancel := context.WithCancel(context.Background())
		// The plain console (the TUI's Execute) follows the plan's region.
		ch, err := r.console.Execute(ctx, p)
		if err != nil {
			t.Fatalf("rollback %s: %v", k, err)
		}
		evs := r.follow(t, ch)
		cancel()
		if last := evs[len(evs)-1]; last.Err != nil {
			t.Fatalf("rollback %s ended %+v", k, last)
		}
		if got := r.prod[region].Calls()["StartInstanceRefresh"]; got != 1 {
			t.Errorf("rollback from the %s row: StartInstanceRefresh there = %d, want 1", region, got)
		}
		if got := writes(r.prod[other]); got != before {
			t.Errorf("rollback from the %s row sent %d writes to %s", region, got-before, other)
		}
		if _, err := r.console.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	// Promote staging's image (account 111, us-east-1) from the eu-west-1 row: shared, then
	// copied into eu-west-1, rolled out there only.
	usBefore, euBefore := writes(r.prod["us-east-1"]), r.prod["eu-west-1"].Calls()["StartInstanceRefresh"]
	k := model.ServiceKey{Name: "web", Env: "production", Region: "eu-west-1"}
	p, err := ops.OperatorFor(r.console, k).PlanPromote(context.Background(), ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging"})
	if err != nil {
		t.Fatalf("plan promote: %v", err)
	}
	if p.Region != "eu-west-1" || p.Transfer == nil || !p.Transfer.Copy || p.Transfer.TargetRegion != "eu-west-1" || p.Blocked() {
		t.Fatalf("promote from the eu-west-1 row: region %q, transfer %+v, %s", p.Region, p.Transfer, p.FailureText())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := r.console.Execute(ctx, p)
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	evs := r.follow(t, ch)
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil {
		t.Fatalf("promote ended %+v", last)
	}
	if got := r.prod["eu-west-1"].Calls(); got["CopyImage"] != 1 || got["StartInstanceRefresh"] != euBefore+1 {
		t.Errorf("eu-west-1: CopyImage %d, StartInstanceRefresh %d (was %d)", got["CopyImage"], got["StartInstanceRefresh"], euBefore)
	}
	if got := writes(r.prod["us-east-1"]); got != usBefore {
		t.Errorf("promote from the eu-west-1 row sent %d writes to us-east-1", got-usBefore)
	}
}

// TestUntaggedGroupsRouteToTheIdentityThatReadThem_Sim: groups without tags have no
// environment, so no environment's identity serves them; the console asks the member whose
// read found them, and names the identities when several did.
func TestUntaggedGroupsRouteToTheIdentityThatReadThem_Sim(t *testing.T) {
	r := newRegions(t)
	c := r.prod["eu-west-1"]
	img := c.AddImage("bastion", t0.Add(-72*time.Hour), nil)
	c.AddTemplate("bastion", []string{img}, nil, 1)
	if _, err := c.AddGroup(sim.GroupSpec{Name: "bastion", Min: 1, Desired: 1, Max: 1, Template: "bastion", Version: "1", Age: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.console.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.console.History(ctx, model.Untagged, ""); err != nil {
		t.Fatalf("history of the untagged groups: %v", err)
	}
	// The same untagged group name read by a second identity: which one is meant is not a guess.
	s := r.staging
	img2 := s.AddImage("bastion", t0.Add(-72*time.Hour), nil)
	s.AddTemplate("bastion", []string{img2}, nil, 1)
	if _, err := s.AddGroup(sim.GroupSpec{Name: "bastion", Min: 1, Desired: 1, Max: 1, Template: "bastion", Version: "1", Age: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.console.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := r.console.History(ctx, model.Untagged, "")
	if err == nil || !strings.Contains(err.Error(), "several identities") || !strings.Contains(err.Error(), "staging (profile staging") {
		t.Errorf("history of untagged groups in two accounts: %v, want the identities named", err)
	}
}
