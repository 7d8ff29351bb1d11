package inventory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// askLog records which groups' refreshes and which target groups a snapshot asked about.
type askLog struct {
	mu        sync.Mutex
	refreshes []string
	targets   []string
}

func (l *askLog) take() (refreshes, targets []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	refreshes, targets = l.refreshes, l.targets
	l.refreshes, l.targets = nil, nil
	return refreshes, targets
}

type loggedAS struct {
	awsapi.AutoScalingReader
	log *askLog
}

func (a loggedAS) DescribeInstanceRefreshes(ctx context.Context, in *autoscaling.DescribeInstanceRefreshesInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	a.log.mu.Lock()
	a.log.refreshes = append(a.log.refreshes, aws.ToString(in.AutoScalingGroupName))
	a.log.mu.Unlock()
	return a.AutoScalingReader.DescribeInstanceRefreshes(ctx, in, opts...)
}

type loggedELBv2 struct {
	awsapi.ELBv2Reader
	log *askLog
}

func (e loggedELBv2) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	e.log.mu.Lock()
	e.log.targets = append(e.log.targets, aws.ToString(in.TargetGroupArn))
	e.log.mu.Unlock()
	return e.ELBv2Reader.DescribeTargetHealth(ctx, in, opts...)
}

func loggedInventory(c *sim.Cloud, clk *sim.ManualClock) (*inventory.Inventory, *askLog) {
	log := &askLog{}
	rc := c.Clients().Read()
	rc.AutoScaling = loggedAS{rc.AutoScaling, log}
	rc.ELBv2 = loggedELBv2{rc.ELBv2, log}
	return inventory.NewInventory(rc, inventory.Options{Now: clk.Now, After: clk.After}), log
}

// TestFailingRefreshReadBacksOffAndDoesNotStarve_Sim: when DescribeInstanceRefreshes keeps
// failing (a policy without the permission), the sweep does not ask the same two groups
// again every tick: a failed group goes to the back and waits out a back-off, so every
// group is asked within the sweep's ten ticks and none more than twice.
func TestFailingRefreshReadBacksOffAndDoesNotStarve_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{}, sim.ScaleSpec{Groups: 20, InstancesPerGroup: 2})
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: autoscaling:DescribeInstanceRefreshes"}
	c.FailNext("DescribeInstanceRefreshes", denied, 1_000_000)
	inv, log := loggedInventory(c, clk)
	asked := map[string]int{}
	for range 10 {
		invSnapshot(t, inv)
		refreshes, _ := log.take()
		for _, g := range refreshes {
			asked[g]++
		}
		clk.Advance(5 * time.Second)
	}
	if len(asked) != 20 {
		t.Errorf("%d of 20 groups asked in 10 ticks: %v", len(asked), asked)
	}
	for g, n := range asked {
		if n > 2 {
			t.Errorf("group %s asked %d times while its read kept failing", g, n)
		}
	}
}

// TestChangedGroupBalancersReadNextTick_Sim: with more services on screen than the budget
// reads in a tick (30 services, 60 balancers, 25 reads), a group whose listing changes (its
// desired capacity raised: an instance launching) has its balancer read on the very next
// tick, ahead of the round robin (on screen: the next tick; off screen: the tick of the next
// full listing); and the service under the cursor is read every tick.
func TestChangedGroupBalancersReadNextTick_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{}, sim.ScaleSpec{Groups: 400, InstancesPerGroup: 2, TargetGroups: 400})
	inv, log := loggedInventory(c, clk)
	var focus []model.ServiceKey
	for i := range 15 {
		svc := fmt.Sprintf("svc-%04d", i)
		focus = append(focus, model.ServiceKey{Name: svc, Env: "production"}, model.ServiceKey{Name: svc, Env: "staging"})
	}
	inv.Focus(focus)
	cursor := model.ServiceKey{Name: "svc-0050", Env: "staging"} // groups 202, 203
	inv.Cursor(cursor)
	arn := func(i int) string {
		return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/tg-%05d/", sim.DefaultRegion, sim.DefaultAccount, i)
	}
	readTG := func(targets []string, i int) bool {
		for _, a := range targets {
			if len(a) > len(arn(i)) && a[:len(arn(i))] == arn(i) {
				return true
			}
		}
		return false
	}
	for range 3 {
		invSnapshot(t, inv)
		_, targets := log.take()
		if !readTG(targets, 202) || !readTG(targets, 203) {
			t.Fatalf("the service under the cursor was not read this tick (%d balancers read)", len(targets))
		}
		clk.Advance(5 * time.Second)
	}
	asw := c.Clients().AutoScaling
	// Group 10 is on screen (svc-0002/production); 301-303 are not, so their change shows at
	// the next full listing (within a minute: between, ticks list only the services on screen).
	for _, i := range []int{10, 301, 302, 303} {
		g := fmt.Sprintf("svc-%04d-%s-%d", i/4, map[bool]string{true: "staging", false: "production"}[i%4 >= 2], i%2)
		if _, err := asw.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(g), DesiredCapacity: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
	}
	invSnapshot(t, inv)
	_, targets := log.take()
	for _, i := range []int{10, 202, 203} {
		if !readTG(targets, i) {
			t.Errorf("tg-%05d not read on the tick after its group changed (or under the cursor)", i)
		}
	}
	if got := inv.LastPoll().GroupsChanged; got < 1 {
		t.Errorf("GroupsChanged %d, want at least the on-screen group", got)
	}
	if len(targets) > 25 {
		t.Errorf("%d balancer reads in a tick, budget 25", len(targets))
	}
	for tick := 1; ; tick++ {
		clk.Advance(5 * time.Second)
		invSnapshot(t, inv)
		_, targets = log.take()
		if inv.LastPoll().FullListing {
			break
		}
		if tick > 12 {
			t.Fatalf("no full listing within a minute")
		}
	}
	for _, i := range []int{301, 302, 303} {
		if !readTG(targets, i) {
			t.Errorf("tg-%05d not read on the tick of the full listing that showed its group's change", i)
		}
	}
	if got := inv.LastPoll().GroupsChanged; got < 3 {
		t.Errorf("GroupsChanged %d on the full listing, want at least 3", got)
	}
}

// TestListingPagesFocusedEachTickFullEveryMinute_Sim: at 400 groups (4 pages) with 15
// services (60 groups) on screen, a tick lists only the services on screen (one
// tag-filtered page) and the whole account once a minute: 4 + 11 x 1 = 15 pages a minute
// instead of 48. A lifecycle change in an on-screen group still shows on the next tick.
func TestListingPagesFocusedEachTickFullEveryMinute_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{}, sim.ScaleSpec{Groups: 400, InstancesPerGroup: 2, TargetGroups: 400})
	inv := inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After})
	var focus []model.ServiceKey
	for i := range 15 {
		svc := fmt.Sprintf("svc-%04d", i)
		focus = append(focus, model.ServiceKey{Name: svc, Env: "production"}, model.ServiceKey{Name: svc, Env: "staging"})
	}
	invSnapshot(t, inv) // the first full listing
	inv.Focus(focus)
	clk.Advance(5 * time.Second)
	c.ResetCalls()
	full := 0
	for range 12 {
		invSnapshot(t, inv)
		if inv.LastPoll().FullListing {
			full++
		}
		clk.Advance(5 * time.Second)
	}
	if got := c.Calls()["DescribeAutoScalingGroups"]; got != 4+11 || full != 1 {
		t.Errorf("%d DescribeAutoScalingGroups pages and %d full listings in a minute, want 15 and 1", got, full)
	}
	// An on-screen group scales in: the next tick shows an instance leaving.
	const g = "svc-0003-staging-0"
	if _, err := c.Clients().AutoScaling.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(g), MinSize: aws.Int32(1), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	fl := invSnapshot(t, inv)
	if inv.LastPoll().FullListing {
		t.Fatal("the test wants a tick that lists only the services on screen")
	}
	for _, gr := range fl.Groups {
		if gr.Name != g {
			continue
		}
		inService := 0
		for _, in := range gr.Instances {
			if in.Lifecycle == model.InService {
				inService++
			}
		}
		if inService != 1 {
			t.Errorf("%s has %d instances in service one tick after it scaled in to 1", g, inService)
		}
	}
}

// TestClassicAndV2BalancersHaveTheirOwnBudget_Sim: AWS gives ELB API version 1 (classic ELBs)
// and version 2 (target groups) a bucket each, so the console gives each its own budget of
// 25 reads a tick: with 300 target groups and 30 classic ELBs, every steady tick reads 25 of
// each, and the classic reads take nothing from the target groups' share. With Throttle on,
// nothing is throttled: each budget stays within its own AWS bucket.
func TestClassicAndV2BalancersHaveTheirOwnBudget_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: 300, InstancesPerGroup: 1, TargetGroups: 300, ClassicELBs: 30})
	inv := inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After})
	invSnapshot(t, inv)
	for tick := range 12 {
		clk.Advance(5 * time.Second)
		invSnapshot(t, inv)
		calls := inv.LastPoll().Calls
		if tick < 2 {
			continue // the first ticks spend the budgets' slack
		}
		if calls["DescribeTargetHealth"] != 25 || calls["DescribeInstanceHealth"] != 25 {
			t.Errorf("tick %d: %d target group and %d classic ELB reads, want 25 and 25", tick, calls["DescribeTargetHealth"], calls["DescribeInstanceHealth"])
		}
	}
	if thr := c.Throttled(); len(thr) != 0 {
		t.Errorf("throttled: %v", thr)
	}
}

// TestListingAt2000GroupsWithinFortyPagesAMinute_Sim: 2,000 groups (20 pages) with 54
// services on screen (108 groups: 2 tag-filtered pages a tick). A full listing every minute
// would be 20 + 11 x 2 = 42 pages a minute, so the console lists in full every 14 ticks
// (70 s) instead: 46 pages in 70 s. Every tick in between lists the services on screen, so
// a scale-out of one of them shows on the very next tick.
func TestListingAt2000GroupsWithinFortyPagesAMinute_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: 2000, InstancesPerGroup: 1, TargetGroups: 2000})
	inv := inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After})
	var focus []model.ServiceKey
	for i := range 27 {
		svc := fmt.Sprintf("svc-%04d", i)
		focus = append(focus, model.ServiceKey{Name: svc, Env: "production"}, model.ServiceKey{Name: svc, Env: "staging"})
	}
	invSnapshot(t, inv) // the first full listing
	inv.Focus(focus)
	c.ResetCalls()
	var fullAt []int
	const ticks = 3 * 14
	asw := c.Clients().AutoScaling
	for tick := 1; tick <= ticks; tick++ {
		// Two ticks before each full listing is due, an on-screen group scales out by one.
		g := fmt.Sprintf("svc-%04d-staging-1", tick%27)
		before := 0
		if tick%14 == 12 {
			if _, err := asw.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(g), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2)}); err != nil {
				t.Fatal(err)
			}
			before = 1
		}
		clk.Advance(5 * time.Second)
		pages := c.Calls()["DescribeAutoScalingGroups"]
		fl := invSnapshot(t, inv)
		pages = c.Calls()["DescribeAutoScalingGroups"] - pages
		if inv.LastPoll().FullListing {
			fullAt = append(fullAt, tick)
			if pages != 20 {
				t.Errorf("tick %d: a full listing of %d pages, want 20", tick, pages)
			}
		} else if pages != 2 {
			t.Errorf("tick %d: %d pages, want the 2 of the services on screen", tick, pages)
		}
		if before > 0 {
			for _, gr := range fl.Groups {
				if gr.Name == g && len(gr.Instances) <= before {
					t.Errorf("tick %d: %s scaled out to 2 in this tick, the snapshot shows %d instances", tick, g, len(gr.Instances))
				}
			}
		}
	}
	if fmt.Sprint(fullAt) != "[14 28 42]" {
		t.Errorf("full listings at ticks %v, want [14 28 42]", fullAt)
	}
	perMinute := float64(c.Calls()["DescribeAutoScalingGroups"]) / (ticks * 5) * 60
	if perMinute > 40 {
		t.Errorf("%.1f DescribeAutoScalingGroups pages a minute, want at most 40", perMinute)
	}
}

// TestFirstScreenReadsUnreadBalancersBeforeTheCursorsAgain_Sim: 37 services on screen (74
// target groups, the cursor on the first) over a fleet of 400: the first screen spends the
// burst (40 reads) at once and the budget (35) a tick later, 75 reads, and the balancers
// never read come before a second read of the cursor's, so the whole screen is read 5 s
// after the start (with the cursor's read again first, 76 reads would be needed).
func TestFirstScreenReadsUnreadBalancersBeforeTheCursorsAgain_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: 400, InstancesPerGroup: 1, TargetGroups: 400})
	inv := inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After})
	fl := invSnapshot(t, inv)
	var keys []model.ServiceKey
	for i := 0; i < 37; i++ {
		keys = append(keys, fl.Services[i].ServiceKey)
	}
	inv.Focus(keys)
	inv.Cursor(keys[0])
	on := map[model.ServiceKey]bool{}
	for _, k := range keys {
		on[k] = true
	}
	unread := func(fl *model.Fleet) (n int) {
		for _, g := range fl.Groups {
			if !on[model.ServiceKey{Name: g.Service, Env: g.Env}] {
				continue
			}
			for _, in := range g.Instances {
				for _, th := range in.Targets {
					if th.CheckedAt == 0 {
						n++
					}
				}
			}
		}
		return n
	}
	fl = invSnapshot(t, inv) // at once, as the console does
	if n := unread(&fl); n != 74-40 {
		t.Errorf("%d balancers on screen unread after the burst, want 34", n)
	}
	clk.Advance(5 * time.Second)
	fl = invSnapshot(t, inv)
	if n := unread(&fl); n != 0 {
		t.Errorf("%d balancers on screen unread 5 s after the start, want 0", n)
	}
	if thr := c.Throttled(); len(thr) != 0 {
		t.Errorf("throttled: %v", thr)
	}
}

// TestOffScreenBalancersReadOncePerFullListing_Sim: 400 groups (4 pages), 400 target groups
// and 40 classic ELBs, one service (no classic ELB) on screen. The classic ELBs are all off
// screen and their budget (25 a tick) exceeds them, yet each is read once between two full
// listings (every minute), not every tick: its group's instances are no fresher than that.
// The target groups' round robin keeps its 25 reads a tick.
func TestOffScreenBalancersReadOncePerFullListing_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: 400, InstancesPerGroup: 1, TargetGroups: 400, ClassicELBs: 40})
	inv := inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After})
	inv.Focus([]model.ServiceKey{{Name: "svc-0001", Env: "production"}}) // groups 4 and 5
	invSnapshot(t, inv)                                                  // a full listing: 25 classic ELBs read
	classic, full := 0, 0
	for tick := 1; tick <= 23; tick++ {
		clk.Advance(5 * time.Second)
		invSnapshot(t, inv)
		st := inv.LastPoll()
		if st.FullListing {
			full++
		}
		classic += st.Calls["DescribeInstanceHealth"]
		if tick >= 2 && st.Calls["DescribeTargetHealth"] != 25 {
			t.Errorf("tick %d: %d target group reads, want 25", tick, st.Calls["DescribeTargetHealth"])
		}
	}
	// The other 15 after the first listing, then all 40 after the one at 60 s.
	if full != 1 || classic != 15+40 {
		t.Errorf("%d full listings and %d classic ELB reads in 23 ticks, want 1 and 55", full, classic)
	}
	if thr := c.Throttled(); len(thr) != 0 {
		t.Errorf("throttled: %v", thr)
	}
}

// TestFleetListedEveryTickReadsEveryBalancerEveryTime_Sim: a fleet listed in full by every
// snapshot (up to 100 groups) has every balancer read by every snapshot, even two in the same
// second: "read since the last full listing" is by snapshot, not by the second.
func TestFleetListedEveryTickReadsEveryBalancerEveryTime_Sim(t *testing.T) {
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{}, sim.ScaleSpec{Groups: 8, InstancesPerGroup: 1, TargetGroups: 4, ClassicELBs: 2})
	inv := inventory.NewInventory(c.Clients().Read(), inventory.Options{Now: clk.Now, After: clk.After})
	for i := range 3 {
		invSnapshot(t, inv)
		calls := inv.LastPoll().Calls
		if calls["DescribeTargetHealth"] != 4 || calls["DescribeInstanceHealth"] != 2 {
			t.Errorf("snapshot %d: %d target group and %d classic ELB reads, want 4 and 2", i, calls["DescribeTargetHealth"], calls["DescribeInstanceHealth"])
		}
	}
}
