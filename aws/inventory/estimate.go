package inventory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/adstage/adstage-ops/model"
)

// How the restore estimate is made (the plan's "takes about", the services column's "ready
// ~"): model.RolloutTiming from the group's real settings. Batches follow from the desired
// capacity and the refresh's minimum and maximum healthy percentages; each batch waits for its
// instances to launch, enter service and then both pass the slowest balancer's health checks
// (interval x healthy threshold) and the instance warmup; the replaced instances drain for
// the longest deregistration delay or connection-draining timeout. Rolling back a running
// refresh replaces only the instances it already replaced, with that refresh's preferences.
//
// The balancer settings change rarely, so each balancer's are read once and then kept for
// timingTTL: by a snapshot, from the ELB budget's spare burst (timingTask), and by the plans
// for the service planned when not cached yet (LoadTimings). One read is DescribeTargetGroups
// or DescribeLoadBalancers (classic) for up to 20 names, plus DescribeTargetGroupAttributes or
// DescribeLoadBalancerAttributes per balancer whose drain delay a snapshot has not read
// already (it reads it for the drain countdown). A fleet whose settings are cached costs no
// call for them; every snapshot copies what is known into model.Group.Balancers.
const (
	timingTTL = 30 * time.Minute
	// timingRetry is how soon a balancer whose settings could not be read is tried again.
	timingRetry = time.Minute
	// timingNamesPerCall is how many balancers one DescribeTargetGroups or
	// DescribeLoadBalancers call names.
	timingNamesPerCall = 20
	// shutdownTime is how long EC2 takes to terminate an instance once it has drained.
	shutdownTime = 2 * time.Second
)

// AWS's defaults, for a balancer whose settings could not be read: a target group checks
// every 30 s and needs 5 passes, a classic ELB every 30 s and 10 passes; both drain for 300 s.
var (
	defaultTargetGroupTiming = model.BalancerTiming{Kind: model.TargetGroup, Interval: 30, HealthyThreshold: 5, DrainDelay: 300}
	defaultClassicTiming     = model.BalancerTiming{Kind: model.ClassicELB, Interval: 30, HealthyThreshold: 10, DrainDelay: 300}
)

// balancerRef names a balancer across snapshots and plans: target group names are unique in a
// region, like classic ELB names.
type balancerRef struct {
	kind model.BalancerKind
	name string
}

// timingEntry is what the inventory knows of one balancer's settings (its name and kind are
// the map's key): 48 bytes a balancer.
type timingEntry struct {
	interval, threshold, drainDelay int32 // as in model.BalancerTiming
	hasChecks                       bool
	hasDelay                        bool
	checkAt                         stamp // when interval and threshold were read; zero when never
	delayAt                         stamp // when the drain delay was read (here or by a snapshot)
	// notBefore is when it may be asked again: timingRetry after the last failed attempt,
	// timingTTL after AWS last did not list it (deleted since the group was read), whichever
	// is later; zero when neither.
	notBefore stamp
}

// retryAfter makes the entry wait until at least d after now.
func (e *timingEntry) retryAfter(now time.Time, d time.Duration) {
	e.notBefore = max(e.notBefore, stampOf(now.Add(d)))
}

// timingCache holds the settings; Readiness, plans and snapshots use it concurrently.
type timingCache struct {
	mu sync.Mutex
	// m holds the entries by name, one map per kind (model.TargetGroup, model.ClassicELB):
	// a string key is 16 bytes where a balancerRef is 24.
	m [2]map[string]*timingEntry
	// changes counts the writes to what known returns: a snapshot keeps a group's settings
	// from its last assembly while it has not moved.
	changes uint64
}

// version is the count of writes so far.
func (c *timingCache) version() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changes
}

func (c *timingCache) entry(ref balancerRef) *timingEntry {
	m := c.m[ref.kind]
	if m == nil {
		m = map[string]*timingEntry{}
		c.m[ref.kind] = m
	}
	e := m[ref.name]
	if e == nil {
		e = &timingEntry{}
		m[ref.name] = e
	}
	return e
}

// due reports whether the balancer's settings should be read: never read, older than
// timingTTL, and not failed within timingRetry. c.mu is held.
func (c *timingCache) due(ref balancerRef, now time.Time) bool {
	e := c.entry(ref)
	if !e.notBefore.isZero() && e.notBefore.since(now) < 0 {
		return false
	}
	return !e.hasChecks || e.checkAt.since(now) >= timingTTL || !e.hasDelay || e.delayAt.since(now) >= timingTTL
}

// storeDelay records a drain delay a snapshot read for its countdown.
func (c *timingCache) storeDelay(ref balancerRef, delay int32, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(ref)
	e.drainDelay, e.hasDelay, e.delayAt = delay, true, stampOf(at)
	c.changes++
}

// known are the settings of the group's balancers that have been read, in the group's order.
func (c *timingCache) known(g *model.Group) []model.BalancerTiming {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []model.BalancerTiming
	add := func(ref balancerRef) {
		if e := c.m[ref.kind][ref.name]; e != nil && e.hasChecks && e.hasDelay {
			out = append(out, model.BalancerTiming{Name: ref.name, Kind: ref.kind, Interval: e.interval, HealthyThreshold: e.threshold, DrainDelay: e.drainDelay})
		}
	}
	for _, n := range g.TargetGroups {
		add(balancerRef{model.TargetGroup, n})
	}
	for _, n := range g.ClassicELBs {
		add(balancerRef{model.ClassicELB, n})
	}
	return out
}

// LoadTimings reads the health check and draining settings of the groups' balancers that are
// not cached or older than timingTTL, and sets each group's Balancers. A read that fails
// leaves those balancers out (the estimate takes AWS's defaults for them) and is retried after
// timingRetry; the error is returned for the caller to mention, never to fail on.
func (inv *Inventory) LoadTimings(ctx context.Context, groups []*model.Group) error {
	_, err := inv.loadTimings(ctx, groups, func(string) {})
	return err
}

// loadTimings is LoadTimings counting its calls; read reports whether it read anything.
func (inv *Inventory) loadTimings(ctx context.Context, groups []*model.Group, count func(op string)) (read bool, err error) {
	now := inv.opts.Now()
	var tgNames, elbNames []string
	seen := map[balancerRef]bool{}
	inv.timings.mu.Lock()
	for _, g := range groups {
		for _, n := range g.TargetGroups {
			ref := balancerRef{model.TargetGroup, n}
			if inv.timings.due(ref, now) && !seen[ref] {
				seen[ref] = true
				tgNames = append(tgNames, n)
			}
		}
		for _, n := range g.ClassicELBs {
			ref := balancerRef{model.ClassicELB, n}
			if inv.timings.due(ref, now) && !seen[ref] {
				seen[ref] = true
				elbNames = append(elbNames, n)
			}
		}
	}
	inv.timings.mu.Unlock()

	var errs []error
	for len(tgNames) > 0 {
		n := min(len(tgNames), timingNamesPerCall)
		errs = append(errs, inv.readTargetGroupTimings(ctx, tgNames[:n], now, count)...)
		tgNames = tgNames[n:]
		read = true
	}
	for len(elbNames) > 0 {
		n := min(len(elbNames), timingNamesPerCall)
		errs = append(errs, inv.readClassicTimings(ctx, elbNames[:n], now, count)...)
		elbNames = elbNames[n:]
		read = true
	}
	for _, g := range groups {
		g.Balancers = inv.timings.known(g)
	}
	return read, errors.Join(errs...)
}

// failed marks balancers whose settings could not be read.
func (inv *Inventory) failed(kind model.BalancerKind, names []string, now time.Time) {
	inv.timings.mu.Lock()
	defer inv.timings.mu.Unlock()
	for _, n := range names {
		inv.timings.entry(balancerRef{kind, n}).retryAfter(now, timingRetry)
	}
}

// missing marks the asked balancers an answer did not list; c.mu is held. They are asked
// again after timingTTL, not every timingRetry: AWS answered, they are gone.
func (c *timingCache) missing(kind model.BalancerKind, asked []string, listed map[string]bool, now time.Time) {
	for _, n := range asked {
		if !listed[n] {
			// The attempt's own retry (failed) ends sooner; an older one ended by now.
			e := c.entry(balancerRef{kind, n})
			e.notBefore = stampOf(now.Add(timingTTL))
		}
	}
}

// readTargetGroupTimings reads up to timingNamesPerCall target groups' health checks, then
// each one's deregistration delay when it is due.
func (inv *Inventory) readTargetGroupTimings(ctx context.Context, names []string, now time.Time, count func(string)) []error {
	// Names the answer leaves out are not asked again before timingRetry.
	inv.failed(model.TargetGroup, names, now)
	count("DescribeTargetGroups")
	out, err := inv.c.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: names})
	if err != nil {
		return []error{fmt.Errorf("read health checks of target groups %v: %w", names, err)}
	}
	type attrRead struct{ name, arn string }
	var attrs []attrRead
	listed := map[string]bool{}
	inv.timings.mu.Lock()
	for _, tg := range out.TargetGroups {
		name := aws.ToString(tg.TargetGroupName)
		listed[name] = true
		e := inv.timings.entry(balancerRef{model.TargetGroup, name})
		e.interval = aws.ToInt32(tg.HealthCheckIntervalSeconds)
		e.threshold = aws.ToInt32(tg.HealthyThresholdCount)
		e.hasChecks, e.checkAt, e.notBefore = true, stampOf(now), 0
		inv.timings.changes++
		if !e.hasDelay || e.delayAt.since(now) >= timingTTL {
			attrs = append(attrs, attrRead{name, aws.ToString(tg.TargetGroupArn)})
		}
	}
	inv.timings.missing(model.TargetGroup, names, listed, now)
	inv.timings.mu.Unlock()
	var errs []error
	for _, a := range attrs {
		count("DescribeTargetGroupAttributes")
		out, err := inv.c.ELBv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(a.arn)})
		if err != nil {
			inv.failed(model.TargetGroup, []string{a.name}, now)
			errs = append(errs, fmt.Errorf("read deregistration delay of %s: %w", a.name, err))
			continue
		}
		inv.timings.storeDelay(balancerRef{model.TargetGroup, a.name}, deregistrationDelay(out.Attributes), now)
	}
	return errs
}

// readClassicTimings reads up to timingNamesPerCall classic ELBs' health checks, then each
// one's connection-draining timeout when it is due.
func (inv *Inventory) readClassicTimings(ctx context.Context, names []string, now time.Time, count func(string)) []error {
	inv.failed(model.ClassicELB, names, now)
	count("DescribeLoadBalancers")
	out, err := inv.c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: names})
	if err != nil {
		return []error{fmt.Errorf("read health checks of classic ELBs %v: %w", names, err)}
	}
	var attrs []string
	listed := map[string]bool{}
	inv.timings.mu.Lock()
	for _, lb := range out.LoadBalancerDescriptions {
		name := aws.ToString(lb.LoadBalancerName)
		listed[name] = true
		e := inv.timings.entry(balancerRef{model.ClassicELB, name})
		if hc := lb.HealthCheck; hc != nil {
			e.interval, e.threshold = aws.ToInt32(hc.Interval), aws.ToInt32(hc.HealthyThreshold)
		}
		e.hasChecks, e.checkAt, e.notBefore = true, stampOf(now), 0
		inv.timings.changes++
		if !e.hasDelay || e.delayAt.since(now) >= timingTTL {
			attrs = append(attrs, name)
		}
	}
	inv.timings.missing(model.ClassicELB, names, listed, now)
	inv.timings.mu.Unlock()
	var errs []error
	for _, name := range attrs {
		count("DescribeLoadBalancerAttributes")
		b := &balancer{kind: model.ClassicELB, key: name, name: model.Intern(name)}
		delay, err := readDrainDelay(ctx, inv.c, b)
		if err != nil {
			inv.failed(model.ClassicELB, []string{name}, now)
			errs = append(errs, err)
			continue
		}
		inv.timings.storeDelay(balancerRef{model.ClassicELB, name}, delay, now)
	}
	return errs
}

// Estimate is how long rolling the group back takes: rolling back its running instance
// refresh, or else rolling out another release to every instance with the configured
// preferences (which is also how long a promote takes). See model.RolloutTiming.
func (inv *Inventory) Estimate(g *model.Group) time.Duration {
	t, settle := inv.rolloutTiming(g)
	if settle {
		// Rolling back a refresh that replaced nothing yet only takes its new batch down.
		return t.Leave()
	}
	return t.Duration()
}

// rolloutTiming gathers the group's settings. settle is true for a running refresh that has
// replaced nothing yet.
func (inv *Inventory) rolloutTiming(g *model.Group) (t model.RolloutTiming, settle bool) {
	prefs := inv.opts.Rollout
	warmup := prefs.InstanceWarmup
	if warmup <= 0 {
		warmup = g.Warmup
	}
	t = model.RolloutTiming{
		Replace:    max(int(g.Desired), liveInstances(g)),
		Desired:    g.Desired,
		MinHealthy: prefs.MinHealthyPercentage,
		MaxHealthy: prefs.MaxHealthyPercentage,
		Launch:     inv.opts.BootTime,
		Shutdown:   shutdownTime,
	}
	if r := g.Refresh; r.Active() {
		// AWS rolls a refresh back with its own preferences.
		if r.MaxHealthy > 0 {
			t.MinHealthy, t.MaxHealthy = r.MinHealthy, r.MaxHealthy
		}
		if r.Warmup > 0 {
			warmup = r.Warmup
		}
		if r.Status == "RollbackInProgress" {
			t.Replace = int(r.InstancesToUpdate)
		} else if n, ok := model.RefreshReplaced(r.Percent, r.InstancesToUpdate); ok {
			t.Replace = n
		}
		settle = t.Replace == 0
	}
	t.Warmup = time.Duration(warmup) * time.Second
	for _, b := range inv.balancerTimings(g) {
		t.Healthy = max(t.Healthy, b.Healthy())
		t.Drain = max(t.Drain, time.Duration(b.DrainDelay)*time.Second)
	}
	return t, settle
}

// balancerTimings are the group's balancers' settings: what the group carries or the cache
// has, AWS's defaults for the others.
func (inv *Inventory) balancerTimings(g *model.Group) []model.BalancerTiming {
	known := map[balancerRef]model.BalancerTiming{}
	for _, b := range append(inv.timings.known(g), g.Balancers...) {
		known[balancerRef{b.Kind, b.Name}] = b
	}
	var out []model.BalancerTiming
	for _, n := range g.TargetGroups {
		b, ok := known[balancerRef{model.TargetGroup, n}]
		if !ok {
			b = defaultTargetGroupTiming
		}
		out = append(out, b)
	}
	for _, n := range g.ClassicELBs {
		b, ok := known[balancerRef{model.ClassicELB, n}]
		if !ok {
			b = defaultClassicTiming
		}
		out = append(out, b)
	}
	return out
}

// liveInstances counts the group's instances that are not leaving.
func liveInstances(g *model.Group) int {
	n := 0
	for i := range g.Instances {
		if !g.Instances[i].Lifecycle.Leaving() {
			n++
		}
	}
	return n
}

// timingTask reads the settings of the fleet's balancers that are not cached (see
// LoadTimings), or returns nil when there is nothing to read. The reads come out of the ELB
// budget's spare tokens, the burst the target health reads leave unused (at most half a
// read per balancer, so about n/2 balancers a snapshot): on a fleet whose health reads fill
// the budget every tick they are spread over the following ticks. A service whose settings
// arrive gets its readiness answer recomputed, so that its "ready ~" estimate uses them.
func (inv *Inventory) timingTask(reads []groupRead, s *snapshotRun) task {
	// Target group settings come out of the ELB API version 2 budget, classic ELBs' out of
	// version 1's.
	var n [elbAPIs]int
	for api := range elbAPIs {
		n[api] = inv.elbBudget[api].spare() / 2
	}
	if n[elbV2] <= 0 && n[elbV1] <= 0 || inv.firstScreen {
		return nil // the first screen's health comes first
	}
	now := s.now
	var groups []*model.Group
	keys := map[model.ServiceKey]bool{}
	var picked [elbAPIs]int
	inv.timings.mu.Lock()
	for i := range reads {
		g := reads[i].g
		var due [elbAPIs]int
		for _, name := range g.TargetGroups {
			if inv.timings.due(balancerRef{model.TargetGroup, name}, now) {
				due[elbV2]++
			}
		}
		for _, name := range g.ClassicELBs {
			if inv.timings.due(balancerRef{model.ClassicELB, name}, now) {
				due[elbV1]++
			}
		}
		if due[elbV2]+due[elbV1] == 0 || picked[elbV2]+due[elbV2] > n[elbV2] || picked[elbV1]+due[elbV1] > n[elbV1] {
			continue
		}
		picked[elbV2] += due[elbV2]
		picked[elbV1] += due[elbV1]
		// A copy: the task runs beside the others, which do not touch the group itself.
		groups = append(groups, &model.Group{Name: g.Name, TargetGroups: g.TargetGroups, ClassicELBs: g.ClassicELBs})
		keys[serviceKey(g)] = true
	}
	inv.timings.mu.Unlock()
	if len(groups) == 0 {
		return nil
	}
	return func(ctx context.Context) func() {
		var calls [elbAPIs]int
		read, err := inv.loadTimings(ctx, groups, func(op string) {
			calls[timingAPI(op)]++
			s.count(op)
		})
		return func() {
			for api := range elbAPIs {
				inv.elbBudget[api].spend(calls[api])
			}
			if err != nil {
				s.problem(err)
			}
			if !read {
				return
			}
			inv.ready.mu.Lock()
			for k := range keys {
				delete(inv.ready.m, k)
			}
			inv.ready.mu.Unlock()
		}
	}
}

// timingAPI is the ELB API version of one of loadTimings' reads: the classic ELB's
// DescribeLoadBalancers and DescribeLoadBalancerAttributes are version 1, the target group
// reads version 2.
func timingAPI(op string) elbAPI {
	switch op {
	case "DescribeLoadBalancers", "DescribeLoadBalancerAttributes":
		return elbV1
	}
	return elbV2
}
