package inventory

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// drainAttrEvery is how often a draining balancer's deregistration delay (target group) or
// connection-draining timeout (classic ELB) is read again. The delay is only needed for the
// countdown, so it is read when a balancer first shows a draining target and then at most this
// often: a fleet at rest costs no attribute calls at all.
const drainAttrEvery = 10 * time.Minute

// restShare reserves 1/restShare of a tick's balancer reads (at least one) for the balancers
// that are not on screen, rolling out or draining, when those priority ones alone exceed the
// budget: no balancer is starved. With the default 25 reads a tick that is 5.
const restShare = 5

// elbBurst is the most reads of one ELB API one snapshot makes when it spends the budget's
// burst on balancers on screen that were never read (the first screen): AWS's own bucket
// for these reads holds 40 (the simulator models the same), so the burst never throttles.
const elbBurst = 40

// elbAPI is the Elastic Load Balancing API that reads a balancer: version 2 for target
// groups, version 1 for classic ELBs. "Each ELB API version has its own buckets and tokens"
// ("Request throttling for the Elastic Load Balancing API",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html),
// so each has its own budget, breaker and one-shot pacer: classic ELB reads do not take
// target group reads' share.
type elbAPI int

const (
	elbV2 elbAPI = iota
	elbV1
	elbAPIs // how many
)

func apiOf(kind model.BalancerKind) elbAPI {
	if kind == model.ClassicELB {
		return elbV1
	}
	return elbV2
}

// classicDraining is how a classic ELB describes an instance in connection draining: it stays
// "InService" with this description until the timeout.
const classicDraining = "Instance deregistration currently in progress"

// balancer is what the inventory remembers of one target group or classic ELB between
// snapshots: the last health it read, when, and the drain delay.
type balancer struct {
	key  string    // target group ARN or classic ELB name
	name model.Sym // what the console shows: the target group or ELB name
	// healthy are the instance IDs of the targets the last read found healthy with nothing
	// more to say, sorted and packed (see packedIDs): 9 bytes each, most of 20,000 targets.
	// odd has the others as rows (also sorted by instance ID, 24 bytes a row), and any
	// healthy target whose ID does not pack; the few with a reason or draining keep those in
	// notes, which the fleet's rows share (a read makes new ones, never writes them).
	healthy packedIDs
	odd     *oddTargets // nil when every target is plainly healthy (most balancers)
	// errNote says why the last attempt failed ("not read: " and the reason; nil when it
	// succeeded): the note of its targets while it was never read.
	errNote *model.TargetNote
	delayAt stamp
	// checkedAt is the last successful read (a unix second); 0 means never read.
	checkedAt model.Unix
	turn      uint32 // when it was last picked, in picks: the round-robin order
	gen       uint32 // the last snapshot whose groups referenced it (Inventory.gen, as uint32)
	// attempted is the last snapshot that chose it for a read (or created it): a group's
	// rows can change only in that snapshot and the next (when they turn Stale).
	attempted uint32
	retryAt   uint32 // unix second
	delay     int32
	// failures counts consecutive failed reads (not throttling: the breaker handles that);
	// until retryAt the balancer is not picked again (see backoff).
	failures int32
	kind     model.BalancerKind
	readNow  bool // read successfully by the current snapshot
	// anyDraining is set when a target was draining at the last read: most balancers have
	// none, and asking them about each instance every tick would cost a search per instance.
	anyDraining bool
	prio        int8 // its tier in the current snapshot (balancerTasks)
}

// notReadPrefix begins the note of a balancer's targets when its last read failed.
const notReadPrefix = "not read: "

// setErr records why the last attempt failed ("" when it succeeded); the note is made again
// only when the reason changed.
func (b *balancer) setErr(why string) {
	if why == "" {
		b.errNote = nil
		return
	}
	if n := b.errNote; n != nil && len(n.Reason) == len(notReadPrefix)+len(why) && n.Reason[len(notReadPrefix):] == why {
		return
	}
	b.errNote = &model.TargetNote{Reason: notReadPrefix + why}
}

// oddTargets are a balancer's targets that are not plainly healthy: rows, sorted by
// instance ID, and their notes.
type oddTargets struct {
	rows  []targetRow
	notes []model.TargetNote
}

// target is one instance's health at one balancer, with the drain bookkeeping.
type target struct {
	id         string
	reason     string
	drainSince int64
	state      model.TargetState
	observed   bool
}

// packedIDs are instance IDs of the form "i-" and 17 lowercase hex digits (EC2's current
// IDs), packedIDLen bytes each (the first digit, then the other 16 as a big-endian
// uint64), sorted. It is only a way of storing an ID AWS returned, read back exactly; an ID of
// any other form is kept as a string instead (a targetRow). 9 bytes where a string is 16.
type packedIDs []byte

const packedIDLen = 9

// packID packs id, if it has the form packedIDs stores.
func packID(id string) (p [packedIDLen]byte, ok bool) {
	if len(id) != 2+17 || id[:2] != "i-" {
		return p, false
	}
	var lo uint64
	for i := 2; i < len(id); i++ {
		c := id[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		default:
			return p, false
		}
		if i == 2 {
			p[0] = d
			continue
		}
		lo = lo<<4 | uint64(d)
	}
	binary.BigEndian.PutUint64(p[1:], lo)
	return p, true
}

// has reports whether id is among the packed IDs.
func (ps packedIDs) has(id string) bool {
	if len(ps) == 0 {
		return false
	}
	p, ok := packID(id)
	if !ok {
		return false
	}
	n := len(ps) / packedIDLen
	_, found := sort.Find(n, func(i int) int { return bytes.Compare(p[:], ps[i*packedIDLen:(i+1)*packedIDLen]) })
	return found
}

// targetRow is a target as the balancer keeps it; note indexes notes, -1 for none.
type targetRow struct {
	id    string
	note  int32
	state model.TargetState
}

// Notes of targets whose health the inventory does not know from a read: shared, never written.
var (
	noteNotRead       = &model.TargetNote{Reason: "not read yet"}
	noteNotRegistered = &model.TargetNote{Reason: "not registered"}
)

// target finds the instance's last health at the balancer.
func (b *balancer) target(id string) (target, bool) {
	if i, ok := b.find(id); ok {
		return b.at(i), true
	}
	if b.healthy.has(id) {
		return target{id: id, state: model.TargetHealthy}, true
	}
	return target{}, false
}

// find is the index of the instance's row, among the targets not plainly healthy.
func (b *balancer) find(id string) (int, bool) {
	if b.odd == nil {
		return 0, false
	}
	return slices.BinarySearchFunc(b.odd.rows, id, func(t targetRow, id string) int { return strings.Compare(t.id, id) })
}

// at is row i as a target.
func (b *balancer) at(i int) target {
	r := &b.odd.rows[i]
	t := target{id: r.id, state: r.state}
	if r.note >= 0 {
		n := &b.odd.notes[r.note]
		t.reason, t.drainSince, t.observed = n.Reason, n.DrainSince, n.DrainObserved
	}
	return t
}

// keep stores a read's targets, sorted by instance ID, as healthy IDs, rows and notes.
func (b *balancer) keep(ts []target) {
	plain := func(t target) bool {
		_, packs := packID(t.id)
		return packs && t.state == model.TargetHealthy && t.reason == "" && t.drainSince == 0
	}
	n := 0
	for _, t := range ts {
		if plain(t) {
			n++
		}
	}
	b.healthy, b.odd, b.anyDraining = nil, nil, false
	if n > 0 {
		b.healthy = make(packedIDs, 0, n*packedIDLen)
	}
	var rows []targetRow
	var notes []model.TargetNote
	if len(ts) > n {
		rows = make([]targetRow, 0, len(ts)-n)
	}
	for _, t := range ts {
		if plain(t) {
			p, _ := packID(t.id)
			b.healthy = append(b.healthy, p[:]...)
			continue
		}
		r := targetRow{id: t.id, note: -1, state: t.state}
		if t.reason != "" || t.drainSince != 0 {
			r.note = int32(len(notes))
			n := model.TargetNote{Reason: t.reason, DrainSince: t.drainSince, DrainObserved: t.observed}
			if t.state == model.TargetDraining {
				n.DrainDelay = b.delay
			}
			notes = append(notes, n)
		}
		rows = append(rows, r)
		if t.state == model.TargetDraining {
			b.anyDraining = true
		}
	}
	if len(rows) > 0 {
		b.odd = &oddTargets{rows: rows, notes: slices.Clip(notes)}
	}
}

// targetRead is one target as AWS reported it.
type targetRead struct {
	id     string
	reason string
	state  model.TargetState
}

// targetGroupName is the name inside a target group ARN
// (arn:aws:elasticloadbalancing:region:account:targetgroup/NAME/hash), so that the console
// can show it without a DescribeTargetGroups call.
func targetGroupName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":targetgroup/")
	if !ok {
		return arn
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// readTargetHealth is one DescribeTargetHealth call.
func readTargetHealth(ctx context.Context, api awsapi.ELBv2Reader, arn string) ([]targetRead, error) {
	out, err := api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read target health of %s: %w", targetGroupName(arn), err)
	}
	reads := make([]targetRead, 0, len(out.TargetHealthDescriptions))
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || d.TargetHealth == nil {
			continue
		}
		r := targetRead{id: aws.ToString(d.Target.Id), state: model.ParseTargetState(string(d.TargetHealth.State))}
		if r.state != model.TargetHealthy {
			r.reason = model.SafeText(aws.ToString(d.TargetHealth.Description))
			if r.reason == "" {
				r.reason = model.SafeText(string(d.TargetHealth.Reason))
			}
		}
		reads = append(reads, r)
	}
	return reads, nil
}

// readInstanceHealth is one classic DescribeInstanceHealth call.
func readInstanceHealth(ctx context.Context, api awsapi.ELBReader, name string) ([]targetRead, error) {
	out, err := api.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("read instance health of classic ELB %s: %w", name, err)
	}
	reads := make([]targetRead, 0, len(out.InstanceStates))
	for _, s := range out.InstanceStates {
		r := targetRead{id: aws.ToString(s.InstanceId), state: model.ParseTargetState(aws.ToString(s.State))}
		desc := model.SafeText(strings.TrimSuffix(aws.ToString(s.Description), "."))
		switch {
		case strings.HasPrefix(desc, classicDraining):
			r.state = model.TargetDraining
			r.reason = desc
		case r.state != model.TargetHealthy:
			r.reason = desc
			if r.reason == "" || r.reason == "N/A" {
				r.reason = model.SafeText(aws.ToString(s.ReasonCode))
			}
		}
		reads = append(reads, r)
	}
	return reads, nil
}

// readDrainDelay reads a balancer's deregistration delay or connection-draining timeout.
func readDrainDelay(ctx context.Context, c awsapi.ReadClients, b *balancer) (int32, error) {
	if b.kind == model.ClassicELB {
		out, err := c.ELB.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerName: aws.String(b.key)})
		if err != nil {
			return 0, fmt.Errorf("read connection draining of classic ELB %s: %w", b.name.String(), err)
		}
		if a := out.LoadBalancerAttributes; a != nil && a.ConnectionDraining != nil && a.ConnectionDraining.Enabled {
			return aws.ToInt32(a.ConnectionDraining.Timeout), nil
		}
		return 0, nil
	}
	out, err := c.ELBv2.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(b.key)})
	if err != nil {
		return 0, fmt.Errorf("read deregistration delay of %s: %w", b.name.String(), err)
	}
	return deregistrationDelay(out.Attributes), nil
}

func deregistrationDelay(attrs []elbv2types.TargetGroupAttribute) int32 {
	for _, a := range attrs {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			n, err := strconv.ParseInt(aws.ToString(a.Value), 10, 32)
			if err == nil {
				return int32(n)
			}
		}
	}
	return 300 // AWS's default when the attribute is absent
}

// Balancer tiers, highest first: the service under the cursor and groups whose listing just
// changed (tierNow), services on screen, rolling out, draining or scaling (tierHot), the rest.
const (
	tierRest int8 = iota
	tierHot
	tierNow
)

// selectBalancers picks the balancers one snapshot reads, at most n: priority ones (tierNow,
// then tierHot) first, then the rest, each tier oldest attempt first, so that each goes
// round-robin. When the priority tier alone exceeds the budget, a fifth
// of it (at least one read) stays reserved for the rest, so that no balancer is starved: the
// priority ones are then read every few ticks instead of every tick.
//
// Without reserve (the first screen) the priority tier takes the whole budget, and its
// balancers never read come before those read already (even the cursor's, read a tick ago):
// the screen is complete as soon as the budget allows.
func selectBalancers(all []*balancer, n int, reserve bool, turns *uint32) []*balancer {
	var hot, rest []*balancer
	for _, b := range all {
		if b.prio > tierRest {
			hot = append(hot, b)
		} else {
			rest = append(rest, b)
		}
	}
	oldestFirst := func(bs []*balancer) {
		sort.SliceStable(bs, func(i, j int) bool {
			a, b := bs[i], bs[j]
			if !reserve && (a.checkedAt == 0) != (b.checkedAt == 0) {
				return a.checkedAt == 0
			}
			if a.prio != b.prio {
				return a.prio > b.prio
			}
			if a.turn != b.turn {
				return a.turn < b.turn
			}
			return a.key < b.key
		})
	}
	oldestFirst(hot)
	oldestFirst(rest)
	hotN := min(len(hot), n)
	if reserve && len(rest) > 0 && n > 0 {
		hotN = min(hotN, n-max(1, n/restShare))
	}
	restN := min(len(rest), n-hotN)
	hotN = min(len(hot), n-restN) // what the rest does not need goes back to the priority tier
	chosen := append(hot[:hotN:hotN], rest[:restN]...)
	for _, b := range chosen {
		*turns++
		b.turn = *turns
	}
	return chosen
}

// balancerTask reads one balancer's health (and, when it starts draining or the delay is old,
// its drain delay) and returns the merge that applies it.
func (inv *Inventory) balancerTask(b *balancer, s *snapshotRun) task {
	return func(ctx context.Context) func() {
		api := apiOf(b.kind)
		if s.elbBreaker[api].tripped() {
			// Not attempted: it comes first next tick.
			return func() { b.setErr(errSkipped.Error()); b.turn = 0 }
		}
		var reads []targetRead
		var err error
		if b.kind == model.ClassicELB {
			s.count("DescribeInstanceHealth")
			reads, err = readInstanceHealth(ctx, inv.c.ELB, b.key)
		} else {
			s.count("DescribeTargetHealth")
			reads, err = readTargetHealth(ctx, inv.c.ELBv2, b.key)
		}
		s.elbBreaker[api].observe(err)
		var delay int32
		var delayErr error
		needDelay := false
		if err == nil && (b.delayAt.isZero() || b.delayAt.since(s.now) >= drainAttrEvery) {
			for _, r := range reads {
				if r.state == model.TargetDraining {
					needDelay = true
					break
				}
			}
		}
		if needDelay {
			if b.kind == model.ClassicELB {
				s.count("DescribeLoadBalancerAttributes")
			} else {
				s.count("DescribeTargetGroupAttributes")
			}
			delay, delayErr = readDrainDelay(ctx, inv.c, b)
			s.elbBreaker[api].observe(delayErr)
		}
		return func() {
			if err != nil {
				b.setErr(err.Error())
				if !awsapi.Throttled(err) {
					b.failures++
					b.retryAt = uint32(s.now.Add(backoff(int(b.failures))).Unix())
				}
				s.problem(err)
				return
			}
			b.setErr("")
			b.failures, b.retryAt = 0, 0
			// The delay first: the draining targets' notes carry it.
			if needDelay {
				inv.elbBudget[api].spend(1)
				if delayErr != nil {
					s.problem(delayErr)
				} else {
					b.delay, b.delayAt = delay, stampOf(s.now)
					inv.timings.storeDelay(balancerRef{b.kind, b.name.String()}, delay, s.now)
				}
			}
			inv.applyHealth(b, reads, s)
		}
	}
}

// applyHealth replaces a balancer's targets with a fresh read, carrying each draining
// target's first-seen time over. A target already draining the first time its balancer is
// read, or after a gap of more than two ticks, gets DrainObserved=false: its countdown is an
// upper bound ("about").
func (inv *Inventory) applyHealth(b *balancer, reads []targetRead, s *snapshotRun) {
	now := s.now.Unix()
	gap := int64(2*inv.opts.Refresh/time.Second) + 1
	recent := b.checkedAt != 0 && now-b.checkedAt.Sec() <= gap
	fresh := make([]target, 0, len(reads))
	for _, r := range reads {
		old, known := b.target(r.id)
		if known {
			r.id = old.id // the shared copy of the ID (the fleet's: see health)
		}
		t := target{id: r.id, state: r.state, reason: inv.in.str(r.reason)}
		if r.state == model.TargetDraining {
			if known && old.state == model.TargetDraining {
				t.drainSince, t.observed = old.drainSince, old.observed
			} else {
				t.drainSince, t.observed = now, recent
			}
		}
		fresh = append(fresh, t)
	}
	slices.SortFunc(fresh, func(a, b target) int { return strings.Compare(a.id, b.id) })
	// A target listed twice (two ports) keeps one row: the first after sorting.
	fresh = slices.CompactFunc(fresh, func(a, b target) bool { return a.id == b.id })
	b.keep(fresh)
	b.checkedAt = model.UnixSec(now)
	b.readNow = true
}

// health is the instance's TargetHealth at this balancer, and whether it has one: an instance
// that is not in service is not expected to be registered, so it gets no row until it is.
func (b *balancer) health(id string, lc model.Lifecycle) (model.TargetHealth, bool) {
	th := model.TargetHealth{
		Balancer:  b.name,
		Kind:      b.kind,
		Stale:     !b.readNow,
		CheckedAt: b.checkedAt,
	}
	if b.checkedAt == 0 {
		if lc != model.InService {
			return th, false
		}
		th.State, th.Note = model.TargetUnknown, noteNotRead
		if b.errNote != nil {
			th.Note = b.errNote
		}
		return th, true
	}
	// The balancer takes the fleet's copy of the ID, so that the balancer and the fleet hold
	// one string per instance whatever response each came in.
	if i, ok := b.find(id); ok {
		r := &b.odd.rows[i]
		r.id = id
		th.State = r.state
		if r.note >= 0 {
			th.Note = &b.odd.notes[r.note]
		}
		return th, true
	}
	if b.healthy.has(id) {
		th.State = model.TargetHealthy
		return th, true
	}
	if lc != model.InService {
		return th, false
	}
	th.State, th.Note = model.TargetUnused, noteNotRegistered
	return th, true
}

// draining reports whether the balancer's last read had the instance draining.
func (b *balancer) draining(id string) bool {
	if !b.anyDraining {
		return false
	}
	i, ok := b.find(id)
	return ok && b.odd.rows[i].state == model.TargetDraining
}
