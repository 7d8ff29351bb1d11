package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

var invStart = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// invSmallFleet is a quiet fleet: 5 groups of 2 instances, 4 target groups (one shared by two
// groups), one classic ELB. Cmin = 1 + 4 + 1 = 6.
func invSmallFleet(t *testing.T, clk sim.Clock, opts sim.Options) *sim.Cloud {
	t.Helper()
	c := sim.New(clk, opts)
	old := c.AddImage("api-old", invStart.Add(-48*time.Hour), []sim.Tag{{Key: "Service", Value: "api"}})
	cur := c.AddImage("api-cur", invStart.Add(-24*time.Hour), []sim.Tag{{Key: "Service", Value: "api"}})
	c.AddTemplate("api", []string{old, cur}, nil, 2)
	c.AddLaunchConfig("reports-lc", old)
	for _, tg := range []string{"api-staging", "api-production", "web-production", "web-staging"} {
		c.AddTargetGroup(tg, 30)
	}
	c.AddClassicELB("reports", 20)
	specs := []sim.GroupSpec{
		{Name: "api-staging", Service: "api", Env: "staging", Min: 1, Desired: 2, Max: 4, Template: "api", Version: "2", TargetGroups: []string{"api-staging"}},
		{Name: "api-production", Service: "api", Env: "production", Min: 1, Desired: 2, Max: 4, Template: "api", Version: "2", TargetGroups: []string{"api-production"}},
		{Name: "web-production", Service: "web", Env: "production", Min: 1, Desired: 2, Max: 4, Template: "api", Version: "2", TargetGroups: []string{"web-production"}},
		{Name: "web-production-b", Service: "web", Env: "production", Min: 1, Desired: 2, Max: 4, Template: "api", Version: "2", TargetGroups: []string{"web-production", "web-staging"}},
		{Name: "reports", Service: "reports", Env: "production", Min: 1, Desired: 2, Max: 4, LaunchConfig: "reports-lc", ClassicELBs: []string{"reports"}},
	}
	for _, s := range specs {
		if _, err := c.AddGroup(s); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

const invSmallCmin = 1 + 4 + 1

func invSnapshot(t *testing.T, inv *inventory.Inventory) model.Fleet {
	t.Helper()
	fl, err := inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

func TestSimSteadyStateCallsPerRefreshEqualCmin(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{Throttle: true})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	for range 3 { // warm caches
		invSnapshot(t, inv)
		clk.Advance(5 * time.Second)
	}
	cloud.ResetCalls()
	const ticks = 20
	for range ticks {
		fl := invSnapshot(t, inv)
		if len(fl.Problems) > 0 {
			t.Fatalf("problems: %v", fl.Problems)
		}
		clk.Advance(5 * time.Second)
	}
	calls := cloud.Calls()
	total := 0
	for _, n := range calls {
		total += n
	}
	if total != ticks*invSmallCmin {
		t.Errorf("%d calls in %d refreshes (%v): %.2f per refresh, want Cmin = %d exactly", total, ticks, calls, float64(total)/ticks, invSmallCmin)
	}
	for _, op := range []string{"DescribeInstances", "DescribeLaunchTemplateVersions", "DescribeImages"} {
		if calls[op] != 0 {
			t.Errorf("warm caches made %d %s calls", calls[op], op)
		}
	}
	if th := cloud.Throttled(); len(th) != 0 {
		t.Errorf("throttled: %v", th)
	}
}

func TestSimAliasVersionCostsOneCallPerTemplatePerTTL(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{})
	if _, err := cloud.AddGroup(sim.GroupSpec{Name: "api-canary", Service: "api", Env: "canary", Min: 1, Desired: 1, Max: 2, Template: "api", Version: "$Latest", TargetGroups: []string{"api-production"}}); err != nil {
		t.Fatal(err)
	}
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	for range 3 {
		invSnapshot(t, inv)
		clk.Advance(5 * time.Second)
	}
	cloud.ResetCalls()
	// Ten minutes: "$Latest" is re-read once a minute; numeric versions never.
	for range 120 {
		invSnapshot(t, inv)
		clk.Advance(5 * time.Second)
	}
	calls := cloud.Calls()
	if calls["DescribeLaunchTemplateVersions"] != 10 {
		t.Errorf("DescribeLaunchTemplateVersions calls in 10 min = %d, want 10 (one per minute for the one alias template): %v", calls["DescribeLaunchTemplateVersions"], calls)
	}
	if calls["DescribeInstances"] != 0 {
		t.Errorf("DescribeInstances calls = %d", calls["DescribeInstances"])
	}
}

func TestSimSnapshotContents(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	fl := invSnapshot(t, inv)
	if len(fl.Groups) != 5 || len(fl.Services) != 4 {
		t.Fatalf("groups %d services %d", len(fl.Groups), len(fl.Services))
	}
	for _, g := range fl.Groups {
		if len(g.Instances) != 2 {
			t.Errorf("%s has %d instances", g.Name, len(g.Instances))
		}
		for _, in := range g.Instances {
			if in.ImageID.String() == "" || in.LaunchedAt == 0 || !in.Serving() {
				t.Errorf("%s/%s = %+v", g.Name, in.ID, in)
			}
			if len(in.Targets) != len(g.TargetGroups)+len(g.ClassicELBs) {
				t.Errorf("%s/%s targets %+v", g.Name, in.ID, in.Targets)
			}
		}
		if g.Legacy() != (g.Name == "reports") {
			t.Errorf("%s legacy = %v", g.Name, g.Legacy())
		}
		if !g.Legacy() && g.ImageID == "" {
			t.Errorf("%s has no AMI", g.Name)
		}
	}
	web, _ := fl.Service("web", "production")
	if web == nil || web.Mixed() || web.Counts().Healthy != 4 {
		t.Errorf("web/production = %+v", web)
	}
}

func TestSimDrainCountdownObservedAndAbout(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	invSnapshot(t, inv)
	clk.Advance(5 * time.Second)
	invSnapshot(t, inv)
	// Scale api-production in: one instance leaves and drains for its target group's 30 s.
	if _, err := cloud.Clients().AutoScaling.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("api-production"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	var drain model.TargetHealth
	var seenAt time.Time
	for range 4 {
		clk.Advance(5 * time.Second)
		fl := invSnapshot(t, inv)
		if th, ok := invDrainingTarget(fl, "api-production"); ok {
			drain, seenAt = th, clk.Now()
			break
		}
	}
	if seenAt.IsZero() {
		t.Fatal("no draining target within 20 s of the scale-in")
	}
	if !drain.DrainObserved() || drain.DrainDelay() != 30 || drain.DrainSince() != seenAt.Unix() {
		t.Errorf("draining target = %+v, want observed, delay 30, since %d", drain, seenAt.Unix())
	}
	if left, exact := drain.DrainRemaining(seenAt.Add(10 * time.Second)); left != 20*time.Second || !exact {
		t.Errorf("countdown 10 s later = %v exact=%v, want 20s", left, exact)
	}

	// A console opened while it drains cannot know when it started: "about".
	clk.Advance(5 * time.Second)
	late := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	th, ok := invDrainingTarget(invSnapshot(t, late), "api-production")
	if !ok || th.DrainObserved() || th.DrainSince() != clk.Now().Unix() {
		t.Errorf("late console sees %+v, want draining, not observed", th)
	}
	// The first console's countdown keeps its start.
	th, ok = invDrainingTarget(invSnapshot(t, inv), "api-production")
	if !ok || th.DrainSince() != seenAt.Unix() || !th.DrainObserved() {
		t.Errorf("first console now sees %+v", th)
	}
	// ... and its countdown moves with the clock: 5 s after it was first seen, 25 s are left.
	if left, exact := th.DrainRemaining(clk.Now()); left != 30*time.Second-clk.Now().Sub(seenAt) || left >= 30*time.Second || !exact {
		t.Errorf("countdown %v after it was seen = %v exact=%v, want %v", clk.Now().Sub(seenAt), left, exact, 30*time.Second-clk.Now().Sub(seenAt))
	}
	// After the delay the instance is gone.
	clk.Advance(40 * time.Second)
	fl := invSnapshot(t, inv)
	if _, ok := invDrainingTarget(fl, "api-production"); ok {
		t.Error("still draining after the deregistration delay")
	}
}

func invDrainingTarget(fl model.Fleet, group string) (model.TargetHealth, bool) {
	for _, g := range fl.Groups {
		if g.Name != group {
			continue
		}
		for _, in := range g.Instances {
			for _, th := range in.Targets {
				if th.State == model.TargetDraining {
					return th, true
				}
			}
		}
	}
	return model.TargetHealth{}, false
}

func TestSimTieredPollingFocusedEveryTickRestWithinBudget(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := sim.New(clk, sim.Options{})
	img := cloud.AddImage("svc", invStart.Add(-time.Hour), nil)
	cloud.AddTemplate("svc", []string{img}, nil, 1)
	const services = 15
	for i := range services {
		name := fmt.Sprintf("svc%02d", i)
		cloud.AddTargetGroup(name, 30)
		if _, err := cloud.AddGroup(sim.GroupSpec{Name: name, Service: name, Env: "production", Min: 1, Desired: 1, Max: 2, Template: "svc", TargetGroups: []string{name}}); err != nil {
			t.Fatal(err)
		}
	}
	// 0.6 reads/s x 5 s: 3 target groups per tick.
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now, ELBReadsPerSecond: 0.6})
	focused := map[string]bool{"svc04": true}
	inv.Focus([]model.ServiceKey{{Name: "svc04", Env: "production"}})
	lastRead := map[string]int64{}
	const ticks = 21
	for tick := range ticks {
		cloud.ResetCalls()
		fl := invSnapshot(t, inv)
		if n := cloud.Calls()["DescribeTargetHealth"]; n > 3 {
			t.Errorf("tick %d: %d target health reads, budget 3", tick, n)
		}
		for _, g := range fl.Groups {
			th := g.Instances[0].Targets[0]
			if focused[g.Name] && th.Stale {
				t.Errorf("tick %d: focused %s is stale", tick, g.Name)
			}
			if !th.Stale {
				lastRead[g.Name] = th.CheckedAt.Sec()
			}
			// 2 reads per tick for 14 others: every group is read at least every 7 ticks.
			if tick >= 7 && clk.Now().Unix()-th.CheckedAt.Sec() > 7*5 {
				t.Errorf("tick %d: %s last read %d s ago", tick, g.Name, clk.Now().Unix()-th.CheckedAt.Sec())
			}
			if th.Stale && th.CheckedAt.Sec() >= clk.Now().Unix() {
				t.Errorf("tick %d: %s stale but checked now", tick, g.Name)
			}
		}
		clk.Advance(5 * time.Second)
	}
	if len(lastRead) != services {
		t.Errorf("read %d of %d target groups", len(lastRead), services)
	}
	if st := inv.LastPoll(); st.Balancers != services || st.BalancersRead != 3 || st.BalancersPriority != 1 || st.BalancersStale != services-3 {
		t.Errorf("poll stats = %+v", st)
	}
}

func TestSimThrottledMinuteRecoversWithinTwoTicks(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{Throttle: true})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	good := invSnapshot(t, inv)
	cloud.ThrottleUntil(clk.Now().Add(60 * time.Second))
	failed := 0
	for range 12 {
		clk.Advance(5 * time.Second)
		if _, err := inv.Snapshot(context.Background()); err != nil {
			failed++
			if strings.Contains(err.Error(), "retry quota exceeded") {
				t.Fatalf("throttling surfaced as %v", err)
			}
			if errors.Is(err, awsapi.ErrRefreshRunning) {
				t.Fatalf("refresh overlapped: %v", err)
			}
		}
	}
	if failed == 0 {
		t.Fatal("no snapshot saw the throttling")
	}
	// Throttling ends at the 12th tick; fresh data within two ticks.
	var recovered bool
	for range 2 {
		clk.Advance(5 * time.Second)
		fl, err := inv.Snapshot(context.Background())
		if err != nil || len(fl.Problems) > 0 {
			continue
		}
		fresh := true
		for _, g := range fl.Groups {
			for _, in := range g.Instances {
				for _, th := range in.Targets {
					fresh = fresh && !th.Stale && th.CheckedAt.Sec() == clk.Now().Unix()
				}
			}
		}
		if fresh && len(fl.Groups) == len(good.Groups) {
			recovered = true
			break
		}
	}
	if !recovered {
		t.Error("not fully fresh within two ticks after a minute of throttling")
	}
}

func TestSimBalancerThrottledKeepsLastHealth(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	first := invSnapshot(t, inv).FetchedAt.Unix()
	clk.Advance(5 * time.Second)
	cloud.FailNext("DescribeInstanceHealth", errors.New("AccessDenied: not authorized"), 1)
	fl := invSnapshot(t, inv)
	if len(fl.Problems) != 1 || !strings.Contains(fl.Problems[0], "reports") {
		t.Errorf("problems = %v, want one naming the classic ELB", fl.Problems)
	}
	for _, g := range fl.Groups {
		for _, in := range g.Instances {
			for _, th := range in.Targets {
				wantStale := th.Kind == model.ClassicELB
				if th.Stale != wantStale || (wantStale && (th.CheckedAt.Sec() != first || th.State != model.TargetHealthy)) {
					t.Errorf("%s/%s %s = %+v", g.Name, in.ID, th.Balancer, th)
				}
			}
		}
	}
}

func TestSimSnapshotsNeverOverlapUnderLatency(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{Latency: 20 * time.Millisecond})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	const callers = 6
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = inv.Snapshot(context.Background())
		}()
	}
	wg.Wait()
	ok, busy := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, awsapi.ErrRefreshRunning):
			busy++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok < 1 || ok+busy != callers {
		t.Errorf("%d succeeded, %d refused", ok, busy)
	}
	if n := cloud.Calls()["DescribeAutoScalingGroups"]; n != ok {
		t.Errorf("%d group listings for %d snapshots: refreshes overlapped", n, ok)
	}
	// Once it is done, the next one runs.
	invSnapshot(t, inv)
}

func TestSimWatchShowsRefreshOnNextSnapshot(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := invSmallFleet(t, clk, sim.Options{})
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	for range 2 {
		invSnapshot(t, inv)
		clk.Advance(5 * time.Second)
	}
	out, err := cloud.Clients().AutoScaling.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("api-production"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("api"), Version: aws.String("1")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(200), SkipMatching: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	inv.Watch("api-production")
	fl := invSnapshot(t, inv)
	var g *model.Group
	for i := range fl.Groups {
		if fl.Groups[i].Name == "api-production" {
			g = &fl.Groups[i]
		}
	}
	if g.Refresh == nil || g.Refresh.ID != aws.ToString(out.InstanceRefreshId) || !g.Refresh.Active() || g.Refresh.DesiredVersion != "1" {
		t.Fatalf("refresh = %+v", g.Refresh)
	}
	// Follow it to the end: the desired AMI gets known, then the refresh finishes.
	var done *model.Refresh
	for range 60 {
		clk.Advance(5 * time.Second)
		fl = invSnapshot(t, inv)
		for i := range fl.Groups {
			if r := fl.Groups[i].Refresh; fl.Groups[i].Name == "api-production" && r != nil && !r.Active() {
				done = r
			}
		}
		if done != nil {
			break
		}
	}
	if done == nil || done.Status != "Successful" || done.DesiredImage == "" {
		t.Fatalf("refresh at the end = %+v", done)
	}
	api, _ := fl.Service("api", "production")
	if imgs := api.Images(); len(imgs) != 1 || imgs[0].ImageID != done.DesiredImage {
		t.Errorf("api/production runs %+v after the refresh to %s", imgs, done.DesiredImage)
	}
}

func TestSimReadinessFollowsDeregisteredImages(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := sim.New(clk, sim.Options{})
	a := cloud.AddImage("a", invStart.Add(-72*time.Hour), []sim.Tag{{Key: "Service", Value: "api"}})
	b := cloud.AddImage("b", invStart.Add(-48*time.Hour), []sim.Tag{{Key: "Service", Value: "api"}})
	c := cloud.AddImage("c", invStart.Add(-24*time.Hour), []sim.Tag{{Key: "Service", Value: "api"}})
	cloud.AddTemplate("api", []string{a, b, b, c}, nil, 4)
	cloud.AddTargetGroup("api", 30)
	if _, err := cloud.AddGroup(sim.GroupSpec{Name: "api-production", Service: "api", Env: "production", Min: 1, Desired: 4, Max: 8, Template: "api", Version: "4", GracePeriod: 45, TargetGroups: []string{"api"}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(wantVersion int64, wantWhy string) {
		t.Helper()
		inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
		inv.Focus([]model.ServiceKey{{Name: "api", Env: "production"}}) // so the snapshot reads its balancer's settings
		invSnapshot(t, inv)
		r, err := inv.Readiness(ctx, "api", "production")
		if err != nil {
			t.Fatal(err)
		}
		if wantWhy != "" {
			if r.Possible || !strings.Contains(r.Why, wantWhy) {
				t.Errorf("readiness = %+v, want why containing %q", r, wantWhy)
			}
			return
		}
		// Defaults (100/200 %): one batch: a 30 s boot, the 45 s warmup (longer than the
		// health checks, 2 x 5 s), then the 30 s deregistration delay and 2 s to terminate.
		if want := (30 + 45 + 30 + 2) * time.Second; !r.Possible || r.Via != "previous-release" || r.Target.Version != wantVersion || r.Estimate != want {
			t.Errorf("readiness = %+v, want version %d", r, wantVersion)
		}
	}
	check(3, "")
	if err := cloud.DeregisterImage(b); err != nil {
		t.Fatal(err)
	}
	// Like PlanRollback, readiness does not skip a deregistered previous release silently: it
	// names it and the older release to choose.
	check(0, "--to-version 1")
	if err := cloud.DeregisterImage(a); err != nil {
		t.Fatal(err)
	}
	check(0, b)
}

// TestSimReadersRunAlongsideSnapshots exercises every Reader method at once on the demo fleet
// (run with -race): the console asks for history, images and readiness while ticks refresh.
func TestSimReadersRunAlongsideSnapshots(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	cloud := sim.NewDemo(clk)
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	ctx := context.Background()
	invSnapshot(t, inv)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				var err error
				switch i {
				case 0:
					_, err = inv.Snapshot(ctx)
					if errors.Is(err, awsapi.ErrRefreshRunning) {
						err = nil
					}
				case 1:
					_, err = inv.History(ctx, "web", "production")
				case 2:
					_, err = inv.Readiness(ctx, "api", "production")
					inv.Focus([]model.ServiceKey{{Name: "api", Env: "production"}})
				case 3:
					_, err = inv.Images(ctx, "worker-bids")
					inv.Watch("web-production")
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
