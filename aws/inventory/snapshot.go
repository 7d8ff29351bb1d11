// Package inventory reads the fleet from AWS with the fewest calls it can: the snapshot of
// groups, instances, templates, balancers and refreshes with its tiered polling, caches and
// call budget; a service's history, images and rollback readiness; and the small reads the
// action layer (aws/ops) plans with.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/signals"
	"github.com/adstage/adstage-ops/model"
)

// Inventory reads the fleet from AWS with the fewest calls it can: it implements Reader.
// It is safe for concurrent use; Snapshot never runs twice at once.
//
// How it keeps AWS calls down (DESIGN.md section 3, issue 5):
//
//   - One DescribeAutoScalingGroups page per 100 groups lists every group with its instances'
//     lifecycle, health and launch template version.
//   - Launch template versions map to AMIs through a cache: numeric versions forever (they are
//     immutable), "$Latest"/"$Default" for aliasTTL. Launch times (and the AMI of launch
//     configuration instances) come from DescribeInstances, asked only for instance IDs never
//     seen before, up to 1000 per call, and kept until the instance leaves. A fleet at rest makes
//     no EC2 call at all.
//   - Target health is one DescribeTargetHealth per target group and one DescribeInstanceHealth
//     per classic ELB, tiered: the balancers of services on screen (Focus), rolling out,
//     draining or scaling are read every tick; the others round-robin, oldest first, within
//     ELBReadsPerSecond x Refresh reads per tick (default 5/s: half of AWS's refill rate) for
//     target groups and as many for classic ELBs (each ELB API version has its own bucket at
//     AWS, see elbAPI). When
//     the fleet fits in that budget every balancer is read every tick, and a refresh then costs
//     exactly Cmin = ceil(groups/100) + target groups + classic ELBs calls. Health carried over
//     from an earlier read is marked Stale with its CheckedAt.
//   - Drain delays (DescribeTargetGroupAttributes, DescribeLoadBalancerAttributes) are read
//     only for balancers with draining targets, then cached for drainAttrEvery.
//   - The health check and draining settings the restore estimate needs are read once per
//     balancer and cached for timingTTL, from the ELB budget's spare burst (estimate.go).
//   - Instance refreshes (DescribeInstanceRefreshes, one group per call) are read only for
//     groups that move (instances arriving or leaving, mixed versions, draining targets), had
//     an active refresh at the last look, or were marked with Watch, plus a slow sweep of the
//     quiet groups (see poll_refresh.go).
//   - So a quiet fleet on numeric template versions costs exactly Cmin per tick; each group
//     on "$Latest"/"$Default" adds one DescribeLaunchTemplateVersions per template per
//     aliasTTL, and the sweep adds at most sweepRate calls per second.
//   - EC2 reads share a budget of EC2ReadsPerSecond (default 10/s). Once AWS throttles a call,
//     the snapshot makes no more calls of that class; what it could not read keeps its last
//     value, marked Stale, and the problem is listed in Fleet.Problems.
type Inventory struct {
	c    awsapi.ReadClients
	opts Options

	// running guards Snapshot and the state below it: a second caller gets ErrRefreshRunning
	// instead of waiting.
	running     sync.Mutex
	in          interner
	templates   templateCache
	instances   factTable
	images      map[string]model.Sym // instance ID -> AMI, for instances the group listing gives none
	balancers   map[string]*balancer // by target group ARN or classic ELB name
	elbBudget   [elbAPIs]*budget     // per ELB API version, as AWS's buckets
	ec2Budget   *budget
	sweep       *budget
	mustRefresh *budget
	gen         uint64
	fullGen     uint64 // the last snapshot that listed every group
	turns       uint32 // balancer picks so far: the round-robin clock
	// firstScreen is set while the console's first screen is being read: from a first
	// snapshot that held its balancer budget until every balancer on screen was read.
	firstScreen bool
	// listed is the group listing the next snapshot starts from (see listGroups), read in
	// full at listedAt: listedGroups are the groups the last snapshot assembled from it (its
	// fleet's, shared), listed what else it needs of each, in the same order.
	listed       []listing
	listedGroups []model.Group
	listedGen    uint64 // the snapshot that assembled listedGroups
	// listedTimings is the timings' version when listedGroups were assembled.
	listedTimings uint64
	listedAt      time.Time
	// listedN is how many instances the last fleet listed; assembledN how many the one
	// being assembled lists, unknown those of its instances whose launch time is unknown.
	listedN, assembledN int
	unknown             map[string]bool
	// assembled, when set (by tests), sees every snapshot's reads and groups: it checks
	// that the groups taken from the last assembly equal a fresh one (see reuseOff).
	assembled func(reads []groupRead, groups []model.Group, s *snapshotRun)
	reuseOff  bool

	mu       sync.Mutex // guards the fields below
	identity *awsapi.Identity
	focus    map[model.ServiceKey]bool
	focusSet bool // Focus was called: a console shows the fleet
	cursor   model.ServiceKey
	watched  map[string]time.Time
	last     []model.Group // the groups of the last good snapshot
	stats    PollStats

	ready   readinessCache
	timings timingCache // balancer settings for the restore estimate (estimate.go)

	signals *signals.Reader // CloudWatch metrics and alarms (signals.go)
}

// NewInventory builds an inventory over the read clients. Zero options take the defaults:
// model.DefaultTagKeys, time.Now, a 5 s tick, 5 ELB and 10 EC2 reads per second.
func NewInventory(c awsapi.ReadClients, opts Options) *Inventory {
	opts = opts.WithDefaults()
	return &Inventory{
		c:           c,
		opts:        opts,
		in:          newInterner(),
		templates:   newTemplateCache(),
		images:      map[string]model.Sym{},
		balancers:   map[string]*balancer{},
		elbBudget:   [elbAPIs]*budget{newBudget(opts.ELBReadsPerSecond, opts.Refresh), newBudget(opts.ELBReadsPerSecond, opts.Refresh)},
		ec2Budget:   newBudget(opts.EC2ReadsPerSecond, opts.Refresh),
		sweep:       newBudget(sweepRate, opts.Refresh),
		mustRefresh: newBudget(mustRate, opts.Refresh),
		focus:       map[model.ServiceKey]bool{},
		watched:     map[string]time.Time{},
		signals:     signals.New(c.CloudWatch, c.ELBv2, signals.Options{Now: opts.Now, AlarmPattern: opts.AlarmPattern}),
	}
}

// Focus tells the inventory which services are on screen: their balancers are read every tick.
func (inv *Inventory) Focus(services []model.ServiceKey) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.focusSet = true
	inv.focus = make(map[model.ServiceKey]bool, len(services))
	for _, k := range services {
		inv.focus[k] = true
	}
}

// Cursor tells the inventory which service is under the cursor: its balancers are read every
// tick, ahead of the other services on screen (which share the budget).
func (inv *Inventory) Cursor(k model.ServiceKey) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.cursor = k
}

func (inv *Inventory) focusedOnce() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.focusSet
}

func (inv *Inventory) cursorKey() model.ServiceKey {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.cursor
}

// listingSignature hashes what the group listing says about a group's instances: IDs,
// lifecycle, group health and launch template version, and the desired capacity.
func listingSignature(g *model.Group) uint64 {
	// FNV-1a, inline: no allocation per instance on a 20,000-instance tick.
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b byte) { h = (h ^ uint64(b)) * prime }
	str := func(s string) {
		for i := 0; i < len(s); i++ {
			mix(s[i])
		}
		mix(0)
	}
	for i := 0; i < 4; i++ {
		mix(byte(uint32(g.Desired) >> (8 * i)))
	}
	for i := range g.Instances {
		in := &g.Instances[i]
		str(in.ID)
		mix(byte(in.Lifecycle))
		if in.Healthy {
			mix(1)
		} else {
			mix(0)
		}
		str(in.LTVersion.String())
	}
	return h
}

// Watch asks the inventory to read the group's instance refreshes every snapshot, for example
// right after the operator started one there: until the refresh shows up as active (from then
// on it is followed until it ends) or for two minutes.
func (inv *Inventory) Watch(group string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.watched[group] = inv.opts.Now()
}

func (inv *Inventory) unwatch(group string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	delete(inv.watched, group)
}

// attention copies what the callers asked for: focused services and watched groups.
func (inv *Inventory) attention(now time.Time) (map[model.ServiceKey]bool, map[string]bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	watched := map[string]bool{}
	for g, at := range inv.watched {
		if now.Sub(at) > watchFor {
			delete(inv.watched, g)
			continue
		}
		watched[g] = true
	}
	return maps.Clone(inv.focus), watched
}

// Identity is the caller ARN, account and region, looked up once and cached.
func (inv *Inventory) Identity(ctx context.Context) (awsapi.Identity, error) {
	id, _, err := inv.identityOnce(ctx)
	return id, err
}

// identityOnce returns the identity and whether it made the call to find it.
func (inv *Inventory) identityOnce(ctx context.Context) (awsapi.Identity, bool, error) {
	inv.mu.Lock()
	if inv.identity != nil {
		id := *inv.identity
		inv.mu.Unlock()
		return id, false, nil
	}
	inv.mu.Unlock()
	if inv.c.STS == nil {
		return awsapi.Identity{}, false, errors.New("look up caller identity: no STS client")
	}
	out, err := inv.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return awsapi.Identity{}, true, fmt.Errorf("look up caller identity: %w", err)
	}
	id := awsapi.Identity{ARN: aws.ToString(out.Arn), Account: aws.ToString(out.Account), Region: inv.c.Region}
	inv.mu.Lock()
	inv.identity = &id
	inv.mu.Unlock()
	return id, true, nil
}

// PollStats says what one snapshot read: the calls it made by operation, and how much of the
// load-balancer health it refreshed.
type PollStats struct {
	At    time.Time
	Calls map[string]int
	// Balancers counts target groups and classic ELBs in the fleet; Read those read by this
	// snapshot; Priority those read every tick; Stale those whose health is from before.
	Balancers, BalancersRead, BalancersPriority, BalancersStale int
	// RefreshesRead counts groups whose instance refreshes were read.
	RefreshesRead int
	// NewInstances counts instances seen for the first time; DeferredInstances those whose
	// launch time waits for EC2 budget.
	NewInstances, DeferredInstances int
	// GroupsChanged counts groups whose listing changed since the last snapshot: their
	// balancers were read ahead of the round robin.
	GroupsChanged int
	// GroupsReused counts groups the snapshot took as the last one assembled them: kept
	// from the last listing, with no balancer of theirs read since.
	GroupsReused int
	// FullListing says the snapshot listed every group; otherwise it listed only the
	// services it must see every tick and kept the rest from the last full listing.
	FullListing bool
	// Unread counts what a one-shot read (Options.OneShot) could not read: balancers,
	// instance batches, template versions, rollouts. Each is named in Fleet.Problems.
	Unread int
}

// LastPoll is what the last snapshot read.
func (inv *Inventory) LastPoll() PollStats {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	st := inv.stats
	st.Calls = maps.Clone(st.Calls)
	return st
}

// maxProblems bounds Fleet.Problems; past it one line says how many more there were.
const maxProblems = 20

// snapshotRun is the bookkeeping of one Snapshot call.
type snapshotRun struct {
	now        time.Time
	elbBreaker [elbAPIs]breaker // per ELB API version: each has its own bucket
	ec2Breaker breaker

	// holdBalancers keeps the first snapshot's balancer budget for the screen (Snapshot).
	holdBalancers bool

	mu          sync.Mutex
	calls       map[string]int
	problems    []string
	maxProblems int // 0: maxProblems
	dropped     int
	stats       PollStats
}

func (s *snapshotRun) count(op string) {
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
}

func (s *snapshotRun) problem(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) >= max(s.maxProblems, maxProblems) {
		s.dropped++
		return
	}
	s.problems = append(s.problems, err.Error())
}

func (s *snapshotRun) problemList() []string {
	out := s.problems
	if s.dropped > 0 {
		out = append(out, fmt.Sprintf("and %d more problems", s.dropped))
	}
	return out
}

// Snapshot reads the whole fleet. If listing the groups fails it returns the error (the caller
// keeps its last good fleet); any other call that fails leaves that part's previous data in
// place, marked Stale, and is listed in Fleet.Problems.
func (inv *Inventory) Snapshot(ctx context.Context) (model.Fleet, error) {
	if !inv.running.TryLock() {
		return model.Fleet{}, awsapi.ErrRefreshRunning
	}
	defer inv.running.Unlock()
	if inv.opts.OneShot != nil {
		return inv.readAll(ctx)
	}
	s := &snapshotRun{now: inv.opts.Now(), calls: map[string]int{}}
	defer inv.keepStats(s)

	fleet := inv.newFleet(ctx, s)

	focus, watched := inv.attention(s.now)
	cursor := inv.cursorKey()
	first := inv.listedAt.IsZero()
	reads, full, err := inv.listGroups(ctx, s, focus, cursor, watched)
	if err != nil {
		return model.Fleet{}, fmt.Errorf("refresh fleet: %w", err)
	}
	inv.gen++
	// The first snapshot of a fleet bigger than a tick's balancer budget does not know what
	// is on screen yet: it keeps the load-balancer burst for the console's next snapshot,
	// which spends it on the balancers on screen (see balancerTasks).
	s.holdBalancers = first && !inv.focusedOnce()
	if full {
		inv.fullGen = inv.gen
	}

	for i := range reads {
		reads[i].draining = inv.groupDraining(&reads[i])
	}
	var tasks []task
	tasks = append(tasks, inv.ec2Tasks(reads, s)...)
	tasks = append(tasks, inv.balancerTasks(reads, focus, cursor, s)...)
	tasks = append(tasks, inv.refreshTasks(reads, watched, s)...)
	if t := inv.timingTask(reads, s); t != nil {
		tasks = append(tasks, t)
	}
	runTasks(ctx, tasks)
	if err := ctx.Err(); err != nil {
		return model.Fleet{}, fmt.Errorf("refresh fleet: %w", err)
	}

	fleet.Groups = inv.assemble(reads, s)
	if inv.assembled != nil {
		inv.assembled(reads, fleet.Groups, s)
	}
	inv.keepFacts(fleet.Groups, s)
	// The listing kept for the next snapshot is this fleet's groups (nothing writes to them
	// any more: assemble copies a group before it changes it) and, beside them, what the
	// merge needs that the fleet does not show.
	// The merge copied what it needed of the last listing: its array is reused.
	inv.listed = slices.Grow(inv.listed[:0], len(reads))[:len(reads)]
	for i := range reads {
		inv.listed[i] = reads[i].listing
	}
	inv.listedGroups, inv.listedGen, inv.listedTimings = fleet.Groups, inv.gen, inv.timings.version()
	if full {
		inv.listedAt = s.now
	}
	inv.prune()
	fleet.BuildServices(inv.opts.SkipUntagged)
	fleet.Problems = s.problemList()

	inv.mu.Lock()
	inv.last = fleet.Groups
	inv.mu.Unlock()
	return fleet, nil
}

// fullListEvery is how often the console's snapshots list every group of the account, at
// least (see fullListInterval). In between, a snapshot lists only the services it must see
// every tick (on screen, under the cursor, rolling out, moving or draining) with a tag
// filter, and keeps the other groups from the last full listing: at 2,000 groups that is 2
// pages a tick instead of 20.
const fullListEvery = time.Minute

// listPagesPerMinute is what the console's group listing may cost: DescribeAutoScalingGroups
// pages a minute, full and tag-filtered listings together (issue 12's goal at 2,000 groups).
const listPagesPerMinute = 40

// fullListMax is the longest the console goes without a full listing, whatever it costs.
const fullListMax = 2 * time.Minute

// fullListInterval is the time between two full listings of fullPages pages when every other
// tick lists focusedPages: fullListEvery, or the shortest whole number of ticks past it that
// keeps the listing within listPagesPerMinute, up to fullListMax. Every tick still lists the
// services it must see, so a change to one of them shows on the next tick; only the groups
// no tick asks for wait longer. At 2,000 groups (20 pages) with 54 services on screen (108
// groups, 2 pages a tick) a minute would cost 20 + 11 x 2 = 42 pages; 14 ticks (70 s) cost
// 20 + 13 x 2 = 46 pages, 39.4 a minute. Up to 100 focused groups (1 page a tick) it stays
// a minute: 20 + 11 = 31.
func fullListInterval(fullPages, focusedPages int, tick time.Duration) time.Duration {
	if tick <= 0 {
		return fullListEvery
	}
	k := int((fullListEvery + tick - 1) / tick)
	for ; time.Duration(k)*tick < fullListMax; k++ {
		pages := float64(fullPages + (k-1)*focusedPages)
		if pages*float64(time.Minute) <= listPagesPerMinute*float64(time.Duration(k)*tick) {
			break
		}
	}
	return min(time.Duration(k)*tick, fullListMax)
}

// listGroups lists the groups this snapshot works on, sorted by name: every group (a full
// listing, full is true) when one is due, else the wanted services' groups, tag-filtered,
// merged into the last listing. A fleet whose wanted groups take as many pages as all of them
// (any fleet of up to 100 groups) is listed in full every tick. The snapshot keeps the
// listing for the next one once it has assembled its fleet.
func (inv *Inventory) listGroups(ctx context.Context, s *snapshotRun, focus map[model.ServiceKey]bool, cursor model.ServiceKey, watched map[string]bool) (reads []groupRead, full bool, err error) {
	names := map[string]bool{}
	for k := range focus {
		names[k.Name] = true
	}
	names[cursor.Name] = true
	for i := range inv.listed {
		r, g := &inv.listed[i], &inv.listedGroups[i]
		st := r.state
		if r.moving || r.draining || watched[g.Name] || st != nil && st.last.Active() {
			names[g.Service] = true
		}
	}
	delete(names, "")
	delete(names, model.Untagged)
	wanted := 0
	for i := range inv.listed {
		if names[inv.listedGroups[i].Service] {
			wanted++
		}
	}
	pages := func(n int) int { return (n + maxGroupsPerPage - 1) / maxGroupsPerPage }
	every := fullListInterval(pages(len(inv.listed)), pages(wanted), inv.opts.Refresh)
	full = inv.listedAt.IsZero() || s.now.Sub(inv.listedAt) >= every || len(names) == 0 ||
		pages(wanted) >= pages(len(inv.listed))
	var filters []astypes.Filter
	switch {
	case !full:
		values := slices.Sorted(maps.Keys(names))
		filters = []astypes.Filter{{Name: aws.String("tag:" + inv.opts.Tags.Service), Values: values}}
	case inv.opts.SkipUntagged:
		filters = []astypes.Filter{{Name: aws.String("tag-key"), Values: []string{inv.opts.Tags.Service}}}
	}
	var got []groupRead
	err = describeGroupsEach(ctx, inv.c.AutoScaling, filters, func(context.Context) error {
		s.count("DescribeAutoScalingGroups")
		return nil
	}, nil, func(page []astypes.AutoScalingGroup) { got = append(got, inv.mapListing(page)...) })
	if err != nil {
		return nil, false, err
	}
	byName := func(a, b groupRead) int { return strings.Compare(a.g.Name, b.g.Name) }
	slices.SortFunc(got, byName)
	inv.carryLaunchFacts(got)
	shareTemplateRefs(got)
	if full {
		s.stats.FullListing = true
		return got, true, nil
	}
	// Merge by group name. A group of a wanted service that the filter no longer returns
	// (deleted, or its service tag changed) stays until the next full listing. A kept group
	// is the last fleet's (shared, never written), which assemble may take as it is.
	merged := make([]groupRead, len(inv.listed), len(inv.listed)+len(got))
	for i := range inv.listed {
		merged[i] = groupRead{g: &inv.listedGroups[i], listing: inv.listed[i], kept: true}
	}
	for _, r := range got {
		if i, ok := slices.BinarySearchFunc(merged, r, byName); ok {
			merged[i] = r
		} else {
			merged = slices.Insert(merged, i, r)
		}
	}
	return merged, false, nil
}

// carryLaunchFacts gives the instances a group lists again the launch time (and the shared ID
// string) the last fleet showed for them: the last fleet is where the inventory keeps an
// instance's launch time once it has shown it (the fact table holds only facts not shown
// yet), so the snapshot looks up and reads only instances it has not shown before. An
// instance is looked for at the same place in the group first, then anywhere in it (an
// instance that left shifts the ones after it).
func (inv *Inventory) carryLaunchFacts(reads []groupRead) {
	var at map[string]int // the last fleet's group's instances by ID, built on a first miss
	for i := range reads {
		r := &reads[i]
		k, ok := slices.BinarySearchFunc(inv.listedGroups, r.g.Name, func(g model.Group, name string) int { return strings.Compare(g.Name, name) })
		if !ok {
			continue
		}
		if r.state == nil {
			r.state = inv.listed[k].state
		}
		prev := inv.listedGroups[k].Instances
		clear(at)
		for j := range r.g.Instances {
			inst := &r.g.Instances[j]
			p := j
			if p >= len(prev) || prev[p].ID != inst.ID {
				if len(at) == 0 {
					if at == nil {
						at = map[string]int{}
					}
					for q := range prev {
						at[prev[q].ID] = q
					}
				}
				if p, ok = at[inst.ID]; !ok {
					continue
				}
			}
			if prev[p].LaunchedAt != 0 {
				inst.ID, inst.LaunchedAt = prev[p].ID, prev[p].LaunchedAt
			}
		}
	}
}

// shareTemplateRefs gives groups that name the same launch template and version one
// LaunchTemplateRef (never written once made): often a service's groups in each environment.
func shareTemplateRefs(reads []groupRead) {
	refs := map[model.LaunchTemplateRef]*model.LaunchTemplateRef{}
	for i := range reads {
		g := reads[i].g
		if g.LaunchTemplate == nil {
			continue
		}
		if p, ok := refs[*g.LaunchTemplate]; ok {
			g.LaunchTemplate = p
		} else {
			refs[*g.LaunchTemplate] = g.LaunchTemplate
		}
	}
}

// mapListing maps the listed groups, sorted by name, with every instance carved out of one
// array.
func (inv *Inventory) mapListing(raw []astypes.AutoScalingGroup) []groupRead {
	total := 0
	for i := range raw {
		total += len(raw[i].Instances)
	}
	all := make([]model.Instance, total)
	reads := make([]groupRead, len(raw))
	for i := range raw {
		n := len(raw[i].Instances)
		reads[i] = mapGroupInto(&raw[i], inv.opts.Tags, &inv.in, all[:n:n])
		all = all[n:]
	}
	sort.Slice(reads, func(i, j int) bool { return reads[i].g.Name < reads[j].g.Name })
	return reads
}

func (inv *Inventory) keepStats(s *snapshotRun) {
	s.mu.Lock()
	st := s.stats
	st.At = s.now
	st.Calls = maps.Clone(s.calls)
	s.mu.Unlock()
	inv.mu.Lock()
	inv.stats = st
	inv.mu.Unlock()
}

// ec2Tasks are the launch template and DescribeInstances calls this snapshot needs, within
// the EC2 budget: group AMIs first, then launch times of new instances.
func (inv *Inventory) ec2Tasks(reads []groupRead, s *snapshotRun) []task {
	var wants templateWants
	var fresh []string
	needImage := map[string]bool{}
	for i := range reads {
		r := &reads[i]
		if lt := r.g.LaunchTemplate; lt != nil {
			wants.want(&inv.templates, s.now, r.template, lt.Version)
		}
		if st := r.state; st != nil && st.last.Active() && st.last.DesiredVersion != "" {
			wants.want(&inv.templates, s.now, st.last.template, st.last.DesiredVersion)
		}
		for j := range r.g.Instances {
			inst := &r.g.Instances[j]
			if r.image(j) == (model.Sym{}) && r.tpl(j) != "" {
				if v := inst.LTVersion.String(); isNumeric(v) {
					wants.want(&inv.templates, s.now, r.tpl(j), v)
				}
			}
			if inst.LaunchedAt != 0 {
				continue // shown before, with its launch time read (see carryLaunchFacts)
			}
			if !inv.instances.has(inst.ID) {
				fresh = append(fresh, inst.ID)
				if r.image(j) == (model.Sym{}) {
					needImage[inst.ID] = true
				}
			}
		}
	}
	n := inv.ec2Budget.available(s.now)
	var tasks []task
	for _, call := range wants.calls() {
		if len(tasks) == n {
			break
		}
		tasks = append(tasks, inv.templateTask(call, s))
	}
	icalls := instanceCalls(fresh)
	s.stats.NewInstances = len(fresh)
	for _, call := range icalls {
		if len(tasks) == n {
			s.stats.DeferredInstances += len(call.ids)
			continue
		}
		tasks = append(tasks, inv.instanceTask(call, needImage, s))
	}
	inv.ec2Budget.spend(len(tasks))
	return tasks
}

func (inv *Inventory) templateTask(call templateCall, s *snapshotRun) task {
	return func(ctx context.Context) func() {
		if s.ec2Breaker.tripped() {
			return nil
		}
		s.count("DescribeLaunchTemplateVersions")
		got, gone, err := call.do(ctx, inv.c.EC2)
		s.ec2Breaker.observe(err)
		return func() {
			if err != nil {
				s.problem(err)
				return
			}
			inv.templates.store(call, got, gone, s.now, &inv.in)
		}
	}
}

func (inv *Inventory) instanceTask(call instanceCall, needImage map[string]bool, s *snapshotRun) task {
	return func(ctx context.Context) func() {
		if s.ec2Breaker.tripped() {
			return nil
		}
		s.count("DescribeInstances")
		got, err := call.do(ctx, inv.c.EC2)
		s.ec2Breaker.observe(err)
		return func() {
			if err != nil {
				s.problem(err)
			}
			facts := make([]instanceFacts, len(got))
			for i, info := range got {
				facts[i] = instanceFacts{id: info.id, launched: info.launched}
				if needImage[info.id] {
					inv.images[info.id] = inv.in.sym(info.image)
				}
			}
			inv.instances.add(facts)
		}
	}
}

// balancerTasks chooses the balancers this snapshot reads (see selectBalancers) within the
// ELB budget.
func (inv *Inventory) balancerTasks(reads []groupRead, focus map[model.ServiceKey]bool, cursor model.ServiceKey, s *snapshotRun) []task {
	var all []*balancer
	use := func(key, name string, kind model.BalancerKind) *balancer {
		b, ok := inv.balancers[key]
		if !ok {
			b = &balancer{kind: kind, key: key, name: model.Intern(name), attempted: uint32(inv.gen)}
			inv.balancers[key] = b
		}
		if b.gen != uint32(inv.gen) {
			b.gen = uint32(inv.gen)
			b.readNow = false
			b.prio = tierRest
			all = append(all, b)
		}
		return b
	}
	// A service is hot when it is on screen, rolling out, draining or scaling: every balancer
	// of every group of a hot service is read every tick (within the budget). The service
	// under the cursor, and a group whose listing changed since the last tick (instances
	// launched or leaving, lifecycle, health or version changed), go first.
	tier := map[model.ServiceKey]int8{}
	changed := map[string]bool{}
	// Groups come sorted by name, so a service's groups are mostly next to each other: its
	// focus is looked up once for the run.
	var lastKey model.ServiceKey
	lastFocused, haveLast := false, false
	for i := range reads {
		r := &reads[i]
		k := serviceKey(r.g)
		if !haveLast || k != lastKey {
			lastKey, lastFocused, haveLast = k, focus[k], true
		}
		st := stateOf(r)
		if lastFocused || r.moving || st.last.Active() || r.draining {
			tier[k] = max(tier[k], tierHot)
		}
		if k == cursor {
			tier[k] = tierNow
		}
		if r.kept && st.sigSet {
			continue // kept from the last listing: nothing new to compare
		}
		sig := listingSignature(r.g)
		if st.sigSet && st.sig != sig {
			changed[r.g.Name] = true
		}
		st.sig, st.sigSet = sig, true
	}
	for i := range reads {
		r := &reads[i]
		t := tier[serviceKey(r.g)]
		if changed[r.g.Name] {
			t = tierNow
		}
		for j, arn := range r.tgARNs {
			b := use(arn, r.g.TargetGroups[j], model.TargetGroup)
			b.prio = max(b.prio, t)
		}
		for _, name := range r.g.ClassicELBs {
			b := use(name, name, model.ClassicELB)
			b.prio = max(b.prio, t)
		}
	}
	s.stats.GroupsChanged = len(changed)
	// A balancer whose last read failed waits out its back-off. One of the rest (off screen,
	// at rest) read since the last full listing waits for the next: its group's instances are
	// no fresher than that listing, and a budget bigger than its API's balancers (a few
	// classic ELBs beside 2,000 target groups) would otherwise read the same ones every tick.
	// A fleet listed in full every tick (up to 100 groups) is read every tick as before.
	ready := all[:0:0]
	for _, b := range all {
		if s.now.Unix() < int64(b.retryAt) || b.prio == tierRest && b.checkedAt != 0 && b.attempted >= uint32(inv.fullGen) {
			continue
		}
		ready = append(ready, b)
	}
	// Each ELB API version has its own bucket at AWS, so each has its own budget: target
	// groups and classic ELBs are chosen apart, each within its own.
	var byAPI [elbAPIs][]*balancer
	for _, b := range ready {
		byAPI[apiOf(b.kind)] = append(byAPI[apiOf(b.kind)], b)
	}
	first := inv.firstScreen
	inv.firstScreen = false
	var chosen []*balancer
	for api := range elbAPIs {
		bud, ready := inv.elbBudget[api], byAPI[api]
		n := bud.available(s.now)
		// First screen: while a balancer on screen (or under the cursor, or of a changed
		// group) has never been read, the snapshot spends the bucket's burst, up to AWS's
		// own burst, on them before anything else: the screen is complete in a tick or two,
		// and the sustained rate stays the budget's.
		reserve := true
		if first {
			for _, b := range ready {
				if b.prio > tierRest && b.checkedAt == 0 {
					n = max(n, min(bud.spare(), elbBurst))
					reserve, inv.firstScreen = false, true
					break
				}
			}
		}
		if s.holdBalancers && len(ready) > n {
			n, inv.firstScreen = 0, true
		}
		picked := selectBalancers(ready, n, reserve, &inv.turns)
		bud.spend(len(picked))
		chosen = append(chosen, picked...)
	}
	for _, b := range chosen {
		b.attempted = uint32(inv.gen)
	}
	s.stats.Balancers, s.stats.BalancersRead = len(all), len(chosen)
	for _, b := range all {
		if b.prio > tierRest {
			s.stats.BalancersPriority++
		}
	}
	tasks := make([]task, len(chosen))
	for i, b := range chosen {
		tasks[i] = inv.balancerTask(b, s)
	}
	return tasks
}

// isNumeric reports whether a launch template version is a number (not an alias).
func isNumeric(v string) bool {
	_, ok := awsapi.NumericVersion(v)
	return ok
}

// serviceKey is the service a group is listed under.
func serviceKey(g *model.Group) model.ServiceKey {
	if g.Service == "" {
		return model.ServiceKey{Name: model.Untagged, Env: g.Env}
	}
	return model.ServiceKey{Name: g.Service, Env: g.Env}
}

// groupDraining reports whether the last reads had any of the group's instances draining.
func (inv *Inventory) groupDraining(r *groupRead) bool {
	some := false
	for _, arn := range r.tgARNs {
		if b := inv.balancers[arn]; b != nil && b.anyDraining {
			some = true
		}
	}
	for _, name := range r.g.ClassicELBs {
		if b := inv.balancers[name]; b != nil && b.anyDraining {
			some = true
		}
	}
	if !some {
		return false
	}
	for j := range r.g.Instances {
		id := r.g.Instances[j].ID
		for _, arn := range r.tgARNs {
			if b := inv.balancers[arn]; b != nil && b.draining(id) {
				return true
			}
		}
		for _, name := range r.g.ClassicELBs {
			if b := inv.balancers[name]; b != nil && b.draining(id) {
				return true
			}
		}
	}
	return false
}

// refreshTasks chooses the groups whose instance refreshes this snapshot reads.
func (inv *Inventory) refreshTasks(reads []groupRead, watched map[string]bool, s *snapshotRun) []task {
	cands := make([]refreshCandidate, 0, len(reads))
	for i := range reads {
		r := &reads[i]
		st := stateOf(r)
		urgent := st.last.Active() || watched[r.g.Name]
		must := r.moving || (r.mix() != "" && r.mix() != st.quietMix) || r.draining
		cands = append(cands, refreshCandidate{name: r.g.Name, template: r.template, mix: r.mix(), must: must, urgent: urgent, state: st})
	}
	musts, swept := selectRefreshes(cands, s.now, inv.mustRefresh.available(s.now), inv.sweep.available(s.now))
	inv.mustRefresh.spend(len(musts))
	inv.sweep.spend(len(swept))
	var tasks []task
	for _, c := range append(musts, swept...) {
		tasks = append(tasks, inv.refreshTask(c, s))
	}
	s.stats.RefreshesRead = len(tasks)
	return tasks
}

// assemble finishes the groups: AMIs, launch times, load-balancer health and refreshes.
func (inv *Inventory) assemble(reads []groupRead, s *snapshotRun) []model.Group {
	groups := make([]model.Group, len(reads))
	listed := 0 // instances the fleet lists
	// unknown are the listed instances whose launch time is still unknown after the
	// assembly: the fact table keeps only their facts (the fleet keeps the others).
	var unknown map[string]bool
	// A group kept from the last listing whose balancers were not read since the last
	// snapshot's assembly takes that assembly's instances and target rows as they are.
	reuse := make([]bool, len(reads))
	// One backing array for every target row of the fleet: no per-instance or per-group
	// allocation. Rows are at most one per instance and balancer.
	rows, total := 0, 0
	for i := range reads {
		r := &reads[i]
		if reuse[i] = inv.unchanged(r); reuse[i] {
			s.stats.GroupsReused++
			continue
		}
		rows += len(r.g.Instances) * (len(r.tgARNs) + len(r.g.ClassicELBs))
		total += len(r.g.Instances)
	}
	room := make([]model.TargetHealth, 0, rows)
	// Every other instance is copied into a fresh array: the listing's arrays may be an
	// earlier fleet's, which the console still holds.
	insts := make([]model.Instance, total)
	timingsMoved := inv.timings.version() != inv.listedTimings
	for i := range reads {
		r := &reads[i]
		if reuse[i] {
			g := *r.g
			listed += len(g.Instances)
			if lt := g.LaunchTemplate; lt != nil {
				g.ImageID = inv.templates.image(r.template, lt.Version)
			}
			if timingsMoved {
				g.Balancers = inv.timings.known(&g)
			}
			g.Refresh = inv.refreshOf(r.state)
			groups[i] = g
			continue
		}
		g := *r.g
		g.ImageID = ""
		n := copy(insts, g.Instances)
		g.Instances, insts = insts[:n:n], insts[n:]
		if lt := g.LaunchTemplate; lt != nil {
			g.ImageID = inv.templates.image(r.template, lt.Version)
		}
		var bals []*balancer
		for _, arn := range r.tgARNs {
			bals = append(bals, inv.balancers[arn])
		}
		for _, name := range g.ClassicELBs {
			bals = append(bals, inv.balancers[name])
		}
		targets := room
		for j := range g.Instances {
			inst := &g.Instances[j]
			inst.Targets = nil
			inst.ImageID = r.image(j)
			if inst.ImageID == (model.Sym{}) && r.tpl(j) != "" {
				if v := inst.LTVersion.String(); isNumeric(v) {
					inst.ImageID = inv.templates.imageSym(r.tpl(j), v)
				}
			}
			listed++
			if inst.LaunchedAt != 0 {
				// Shown before with its launch time: its facts are known (carryLaunchFacts).
				if inst.ImageID == (model.Sym{}) {
					inst.ImageID = inv.images[inst.ID]
				}
			} else if f, ok := inv.instances.get(inst.ID); ok {
				inst.ID = f.id // the shared copy
				inst.LaunchedAt = model.UnixSec(f.launched)
				if inst.ImageID == (model.Sym{}) {
					inst.ImageID = inv.images[f.id]
				}
			}
			if inst.LaunchedAt == 0 {
				if unknown == nil {
					unknown = map[string]bool{}
				}
				unknown[inst.ID] = true
			}
			start := len(targets)
			for _, b := range bals {
				if th, ok := b.health(inst.ID, inst.Lifecycle); ok {
					targets = append(targets, th)
				}
			}
			if len(targets) > start {
				inst.Targets = targets[start:len(targets):len(targets)]
			}
		}
		room = targets[len(targets):]
		g.Balancers = inv.timings.known(&g)
		g.Refresh = inv.refreshOf(r.state)
		groups[i] = g
	}
	for _, b := range inv.balancers {
		if b.gen == uint32(inv.gen) && !b.readNow {
			s.stats.BalancersStale++
		}
	}
	inv.unknown, inv.assembledN = unknown, listed
	return groups
}

// keepFacts trims the instance caches once a fleet is assembled. The facts the fleet shows
// are kept in it (the next snapshot carries them over, see carryLaunchFacts): the table keeps
// only those of listed instances it could not give a launch time (EC2 reported none). An AMI
// kept for an instance the listing gives none goes when the instance leaves: one may have
// left when the fleet lists another number of instances, or new ones.
func (inv *Inventory) keepFacts(groups []model.Group, s *snapshotRun) {
	if inv.instances.len() > 0 {
		inv.instances.keep(func(id string) bool { return inv.unknown[id] })
	}
	if len(inv.images) > 0 && (inv.assembledN != inv.listedN || s.stats.NewInstances > 0) {
		inv.pruneImages(groups)
	}
	inv.unknown, inv.listedN = nil, inv.assembledN
}

// unchanged reports whether a group's last assembly still holds: it was kept from the last
// listing (so its instances, lifecycle and health are the same), every instance's launch
// time and AMI were known, and none of its balancers was read (or attempted) by this
// snapshot or the one that assembled it (a read that one made turns Stale now).
func (inv *Inventory) unchanged(r *groupRead) bool {
	if !r.kept || inv.reuseOff {
		return false
	}
	for j := range r.g.Instances {
		if inst := &r.g.Instances[j]; inst.LaunchedAt == 0 || inst.ImageID == (model.Sym{}) {
			return false
		}
	}
	quiet := func(key string) bool {
		b := inv.balancers[key]
		return b != nil && b.attempted < uint32(inv.listedGen)
	}
	for _, arn := range r.tgARNs {
		if !quiet(arn) {
			return false
		}
	}
	for _, name := range r.g.ClassicELBs {
		if !quiet(name) {
			return false
		}
	}
	return true
}

// refreshOf is the group's last instance refresh as the fleet shows it.
func (inv *Inventory) refreshOf(st *refreshState) *model.Refresh {
	if st == nil || st.last == nil {
		return nil
	}
	ref := st.last.Refresh
	if ref.DesiredVersion != "" {
		ref.DesiredImage = inv.templates.image(st.last.template, ref.DesiredVersion)
	}
	return &ref
}

// pruneImages forgets the AMIs of instances the fleet no longer lists. It runs only when some
// left, so a steady fleet pays no per-instance bookkeeping for it.
func (inv *Inventory) pruneImages(groups []model.Group) {
	listed := make(map[string]struct{}, len(inv.images))
	for i := range groups {
		for j := range groups[i].Instances {
			if id := groups[i].Instances[j].ID; inv.images[id] != (model.Sym{}) {
				listed[id] = struct{}{}
			}
		}
	}
	for id := range inv.images {
		if _, ok := listed[id]; !ok {
			delete(inv.images, id)
		}
	}
}

// prune forgets balancers, groups and instances the fleet no longer has.
func (inv *Inventory) prune() {
	for k, b := range inv.balancers {
		if b.gen != uint32(inv.gen) {
			delete(inv.balancers, k)
		}
	}

}

// newFleet starts a snapshot's fleet: the region, the time, and who the clients act as (read
// once per process; a failure is a problem of the snapshot, not its end).
func (inv *Inventory) newFleet(ctx context.Context, s *snapshotRun) model.Fleet {
	fleet := model.Fleet{Region: inv.c.Region, FetchedAt: s.now}
	id, called, err := inv.identityOnce(ctx)
	if called {
		s.count("GetCallerIdentity")
	}
	if err != nil {
		s.problem(err)
	} else {
		fleet.Account, fleet.Identity = id.Account, id.ARN
	}
	return fleet
}
