package inventory_test

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// autoAdvance moves the manual clock whenever the code under test waits on it (the one-shot
// read waiting for AWS's rate), a step at a time, until stop is called.
func autoAdvance(clk *sim.ManualClock, step time.Duration) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-clk.Sleeping():
				clk.Advance(step)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// oneShotScale is NewScale at n groups of 6 instances, a target group per group and a classic
// ELB per 100 groups, with AWS's throttles modelled, and three faults injected: an instance
// failing its health checks, a target deregistered behind its group's back (drained, so
// "not registered"), and an instance behind a classic ELB out of service there.
func oneShotScale(t *testing.T, n int) (*sim.Cloud, *sim.ManualClock) {
	t.Helper()
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: n, InstancesPerGroup: 6, TargetGroups: n, ClassicELBs: n / 100})
	truth := c.Truth()
	byName := map[string]sim.GroupTruth{}
	for _, g := range truth {
		byName[g.Name] = g
	}
	g0 := byName["svc-0000-production-0"] // behind tg-00000 and clb-000
	g1 := byName["svc-0000-production-1"] // behind tg-00001
	g2 := byName["svc-0000-staging-0"]    // behind tg-00002
	for _, err := range []error{
		c.FailHealth(g0.Instances[0].ID),
		c.FailHealth(g1.Instances[1].ID),
		c.DeregisterTarget("tg-00002", g2.Instances[2].ID),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute) // past the unhealthy threshold and the 30 s drain
	c.ResetCalls()
	return c, clk
}

// oneShotInventory is an inventory in one-shot mode on the simulated clock.
func oneShotInventory(c *sim.Cloud, clk *sim.ManualClock) *inventory.Inventory {
	return inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After, OneShot: &inventory.OneShot{}})
}

// TestOneShotMatchesTheSimulatorAtScale_Sim holds a one-shot read (what status prints) to
// the simulated account's truth fact by fact, at 300 and 2,000 groups with faults injected,
// and its calls to the minimum: one page per 100 groups, one read per balancer, one
// DescribeInstances per 1,000 instances, plus the identity and the account-wide template
// aliases (200 versions a page). Nothing is throttled: the read paces itself to AWS's buckets.
func TestOneShotMatchesTheSimulatorAtScale_Sim(t *testing.T) {
	for _, n := range []int{300, 2000} {
		t.Run(fmt.Sprintf("groups=%d", n), func(t *testing.T) {
			if n > 300 && testing.Short() {
				t.Skip("2,000 groups: not in -short")
			}
			c, clk := oneShotScale(t, n)
			before := c.Truth()
			inv := oneShotInventory(c, clk)
			stop := autoAdvance(clk, 100*time.Millisecond)
			fleet, err := inv.Snapshot(context.Background())
			stop()
			if err != nil {
				t.Fatal(err)
			}
			after := c.Truth()
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatal("the simulated account changed during the read: the test's truth is ambiguous")
			}
			if len(fleet.Problems) > 0 || inv.LastPoll().Unread != 0 {
				t.Fatalf("problems %v, unread %d", fleet.Problems, inv.LastPoll().Unread)
			}
			compareWithTruth(t, fleet, after)
			t.Logf("simulated time of the read: %s", clk.Now().Sub(invStart.Add(2*time.Minute)))

			instances := n * 6
			templates := n / 4
			want := map[string]int{
				"GetCallerIdentity":              1,
				"DescribeAutoScalingGroups":      (n + 99) / 100,
				"DescribeTargetHealth":           n,
				"DescribeInstanceHealth":         n / 100,
				"DescribeInstances":              (instances + 999) / 1000,
				"DescribeLaunchTemplateVersions": (2*templates + 199) / 200, // $Latest and $Default of each
			}
			if got := c.Calls(); !maps.Equal(got, want) {
				t.Errorf("calls %v, want %v", got, want)
			}
			cmin := (n+99)/100 + n + n/100 + (instances+999)/1000
			got := 0
			for op, k := range c.Calls() {
				if op != "GetCallerIdentity" && op != "DescribeLaunchTemplateVersions" {
					got += k
				}
			}
			if got != cmin {
				t.Errorf("calls-vs-min %d/%d", got, cmin)
			}
			if th := c.Throttled(); len(th) > 0 {
				t.Errorf("throttled by the simulated AWS: %v", th)
			}
		})
	}
}

// compareWithTruth checks every group's release, and every instance's lifecycle, group
// health, AMI, launch time and state at each balancer.
func compareWithTruth(t *testing.T, fleet model.Fleet, truth []sim.GroupTruth) {
	t.Helper()
	groups := map[string]*model.Group{}
	for i := range fleet.Groups {
		groups[fleet.Groups[i].Name] = &fleet.Groups[i]
	}
	if len(groups) != len(truth) {
		t.Errorf("%d groups, the account has %d", len(groups), len(truth))
	}
	facts, wrong := 0, 0
	check := func(ok bool, format string, args ...any) {
		facts++
		if !ok {
			wrong++
			if wrong <= 20 {
				t.Errorf(format, args...)
			}
		}
	}
	faults := 0
	for _, gt := range truth {
		g := groups[gt.Name]
		if g == nil {
			t.Errorf("group %s missing", gt.Name)
			continue
		}
		check(g.Service == gt.Service && g.Env == gt.Env, "%s: service %s/%s, want %s/%s", gt.Name, g.Service, g.Env, gt.Service, gt.Env)
		check(g.ImageID == gt.ImageID, "%s: release %q, want %q", gt.Name, g.ImageID, gt.ImageID)
		check(len(g.Instances) == len(gt.Instances), "%s: %d instances, want %d", gt.Name, len(g.Instances), len(gt.Instances))
		insts := map[string]*model.Instance{}
		for i := range g.Instances {
			insts[g.Instances[i].ID] = &g.Instances[i]
		}
		for _, it := range gt.Instances {
			in := insts[it.ID]
			if in == nil {
				check(false, "%s: instance %s missing", gt.Name, it.ID)
				continue
			}
			check(in.Lifecycle.String() == it.Lifecycle, "%s: lifecycle %s, want %s", it.ID, in.Lifecycle, it.Lifecycle)
			check(in.Healthy == it.Healthy, "%s: healthy %v, want %v", it.ID, in.Healthy, it.Healthy)
			check(in.ImageID.String() == it.ImageID, "%s: AMI %q, want %q", it.ID, in.ImageID.String(), it.ImageID)
			check(in.LaunchedAt.Sec() == it.LaunchedAt.Unix(), "%s: launched %d, want %d", it.ID, in.LaunchedAt, it.LaunchedAt.Unix())
			got := map[string]model.TargetState{}
			for _, th := range in.Targets {
				got[th.Balancer.String()] = th.State
			}
			check(maps.Equal(got, it.Targets), "%s: targets %v, want %v", it.ID, got, it.Targets)
			for _, s := range it.Targets {
				if s != model.TargetHealthy {
					faults++
				}
			}
		}
	}
	if faults != 4 { // unhealthy at tg-00000 and clb-000, unhealthy at tg-00001, unused at tg-00002
		t.Errorf("%d injected faults in the truth, want 4", faults)
	}
	if wrong > 0 {
		t.Errorf("%d of %d facts differ from the simulator", wrong, facts)
	}
	t.Logf("%d facts checked", facts)
}

// TestOneShotUnreadBalancerIsNamedAndUnknown_Sim: a balancer AWS refuses to describe is named
// in Problems with the next step and counted unread; its targets are unknown, not unhealthy,
// so the service is undecided, not degraded.
func TestOneShotUnreadBalancerIsNamedAndUnknown_Sim(t *testing.T) {
	c, clk := oneShotScale(t, 300)
	c.FailNext("DescribeTargetHealth", &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: elasticloadbalancing:DescribeTargetHealth"}, 1)
	inv := oneShotInventory(c, clk)
	stop := autoAdvance(clk, 100*time.Millisecond)
	fleet, err := inv.Snapshot(context.Background())
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.LastPoll().Unread; got != 1 {
		t.Fatalf("unread %d, want 1 (problems %v)", got, fleet.Problems)
	}
	// Which target group's read fails depends on the order the parallel reads reach the
	// simulator: any one, named.
	if len(fleet.Problems) != 1 || !regexp.MustCompile(`target group tg-\d+`).MatchString(fleet.Problems[0]) || !strings.Contains(fleet.Problems[0], "iam-policy") {
		t.Fatalf("problems %q: want the target group named with the next step", fleet.Problems)
	}
	// A service whose only doubt is the unread balancer is undecided. One that also has a
	// known fault (svc-0000's injected ones, when the failing read is one of its target
	// groups) is judged on what was read: the unread targets still count as unknown.
	unknown := 0
	for i := range fleet.Services {
		s := &fleet.Services[i]
		unread, knownFault := 0, false
		for _, g := range s.Groups {
			for _, in := range g.Instances {
				if !in.Healthy {
					knownFault = true
				}
				for _, th := range in.Targets {
					switch th.State {
					case model.TargetUnknown:
						unread++
					case model.TargetHealthy:
					default:
						knownFault = true
					}
				}
			}
		}
		unknown += unread
		if unread > 0 && !knownFault && !s.Undecided() {
			t.Errorf("%s has unread targets and no known fault but is not undecided", s.ServiceKey)
		}
		if unread > 0 && s.Counts().Unhealthy > 0 && !knownFault {
			t.Errorf("%s: unread targets counted unhealthy", s.ServiceKey)
		}
	}
	if unknown != 6 {
		t.Errorf("%d unknown targets, want the 6 instances of the unread target group", unknown)
	}
	if th := c.Throttled(); len(th) > 0 {
		t.Errorf("throttled: %v", th)
	}
}

// TestOneShotCutShortNamesWhatIsUnread_Sim: a read cut short (an interrupt, or --max-wait) still answers,
// with every balancer it did not reach named and counted unread.
func TestOneShotCutShortNamesWhatIsUnread_Sim(t *testing.T) {
	c, clk := oneShotScale(t, 300)
	inv := oneShotInventory(c, clk)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the simulated read has spent 10 s: the burst (40 balancers) and 10 s of
	// refill (about 100) are read, the other ~160 balancers are not.
	go func() {
		for clk.Now().Before(invStart.Add(2*time.Minute + 10*time.Second)) {
			<-clk.Sleeping()
			clk.Advance(100 * time.Millisecond)
		}
		cancel() // a waiting read returns at once: no more time needs to pass
	}()
	fleet, err := inv.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unread := inv.LastPoll().Unread
	calls := c.Calls()
	read := calls["DescribeTargetHealth"] + calls["DescribeInstanceHealth"]
	named := 0
	for _, p := range fleet.Problems {
		if strings.HasPrefix(p, "target group ") || strings.HasPrefix(p, "classic ELB ") {
			named++
		}
	}
	if unread == 0 || read+named != 303 {
		t.Fatalf("read %d balancers and named %d unread (%d unread in all); want them to add up to 303", read, named, unread)
	}
	if !strings.Contains(strings.Join(fleet.Problems, "\n"), "interrupted before it was read") {
		t.Errorf("problems do not say why: %q", fleet.Problems[:min(3, len(fleet.Problems))])
	}
}

// TestOneShotPacesEachELBAPIToItsOwnBucket_Sim: a one-shot read of 120 groups behind 80
// target groups and 40 classic ELBs (more than 100 groups: no refresh reads of groups at
// rest) paces each ELB API version to its own bucket, as AWS throttles them: the 40
// classic reads fit their own burst, and the target groups take their burst (40) and 4 s of
// refill (10/s) for the other 40, so the read ends about 4 s (simulated) after it starts;
// one shared bucket would need (120 - 40) / 10 = 8 s. Nothing is throttled.
func TestOneShotPacesEachELBAPIToItsOwnBucket_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: 120, InstancesPerGroup: 1, TargetGroups: 80, ClassicELBs: 40})
	inv := oneShotInventory(c, clk)
	stop := autoAdvance(clk, 100*time.Millisecond)
	fleet, err := inv.Snapshot(context.Background())
	stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet.Problems) > 0 || inv.LastPoll().Unread != 0 {
		t.Fatalf("problems %v, unread %d", fleet.Problems, inv.LastPoll().Unread)
	}
	calls := c.Calls()
	if calls["DescribeTargetHealth"] != 80 || calls["DescribeInstanceHealth"] != 40 {
		t.Errorf("calls %v, want 80 target group and 40 classic ELB reads", calls)
	}
	if took := clk.Now().Sub(invStart); took < 4*time.Second || took >= 5*time.Second {
		t.Errorf("the read took %s of simulated time, want 4 s to 5 s (the target groups' refill); calls %v", took, calls)
	}
	if thr := c.Throttled(); len(thr) != 0 {
		t.Errorf("throttled: %v", thr)
	}
}
