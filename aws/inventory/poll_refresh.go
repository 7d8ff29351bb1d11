package inventory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// Instance refreshes are one DescribeInstanceRefreshes call per group, so a snapshot does not
// ask every group every tick. It asks a group when:
//   - the group shows movement: instances Pending or Terminating, targets draining, or
//     instances on more than one launch template version that were not already explained by
//     the last look (a failed or cancelled rollout leaves a mixed fleet that stays quiet);
//   - the group had an active refresh at the last look (until AWS reports it finished);
//   - a caller marked it with Watch (the operator just started a refresh there), for
//     watchFor or until the refresh shows up;
//   - and, slowly, every other group: a sweep re-reads each quiet group every
//     refreshSweepEvery, at most sweepRate calls per second, so that a refresh started
//     elsewhere that has not moved an instance yet still shows up. The first sweep after start
//     reads every group once (spread over ticks at that rate).
//
// Between sweeps a quiet fleet therefore costs no DescribeInstanceRefreshes calls at all.
// The groups that must be asked are capped too (mustRate per second: a fleet-wide scale-out
// must not turn into hundreds of calls a tick): watched groups and those with an active
// refresh first, then the longest unasked.
const (
	refreshSweepEvery = 5 * time.Minute
	sweepRate         = 0.4 // DescribeInstanceRefreshes per second for the sweep: 2 a tick at 5 s
	mustRate          = 5.0 // DescribeInstanceRefreshes per second for groups that move
	watchFor          = 2 * time.Minute
)

// refreshState is what the inventory remembers of one group's instance refreshes.
type refreshState struct {
	last      *lastRefresh
	quietMix  string // instance versions when a look last found no active refresh
	checkedAt stamp
	// sig is the group's listing signature at the last snapshot (sigSet once there was one):
	// a change puts its balancers first (see balancerTasks).
	sig uint64
	// triedAt is the last attempt, failed or not: candidates go oldest attempt first, so a
	// group whose read keeps failing (a policy without the permission, say) goes to the back
	// instead of being asked again ahead of every other group each tick.
	triedAt uint32 // unix second
	// failures counts consecutive failed reads; until retryAt the group is not asked again
	// (back-off: retryBase doubling per failure, at most retryMax).
	failures int32
	retryAt  uint32 // unix second
	sigSet   bool
}

// lastRefresh is the newest refresh of a group and the template key of its desired
// configuration (kept together: most groups have no refresh to remember).
type lastRefresh struct {
	model.Refresh
	template string
}

// Active reports whether the refresh is still running; false for nil.
func (l *lastRefresh) Active() bool { return l != nil && l.Refresh.Active() }

// newLastRefresh keeps a mapped refresh (nil for none).
func newLastRefresh(r *model.Refresh, template string) *lastRefresh {
	if r == nil {
		return nil
	}
	return &lastRefresh{Refresh: *r, template: template}
}

// Back-off of a failing read (instance refreshes, balancer health).
const (
	retryBase = 5 * time.Second
	retryMax  = 5 * time.Minute
)

// backoff is how long to wait after the n-th consecutive failure.
func backoff(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// refreshCandidate is a group the snapshot may ask about.
type refreshCandidate struct {
	name     string
	template string // the group's template key
	mix      string // the group's instance launch template versions, when more than one
	must     bool
	urgent   bool // watched, or an active refresh at the last look
	state    *refreshState
}

// selectRefreshes picks the groups to ask about this snapshot: up to must groups that must be
// asked (urgent first, then the longest unasked), then up to sweep quiet groups due for the
// sweep, oldest first.
func selectRefreshes(cands []refreshCandidate, now time.Time, must, sweep int) (musts, swept []refreshCandidate) {
	// Each tier keeps only its first n in order as the candidates stream past: at 2,000
	// groups nearly every one is due for the sweep, which takes one or two a tick.
	for _, c := range cands {
		switch {
		case now.Unix() < int64(c.state.retryAt):
			// backing off after a failure
		case c.must || c.urgent:
			musts = keepFirst(musts, c, must)
		case c.state.checkedAt.isZero() || c.state.checkedAt.since(now) >= refreshSweepEvery:
			swept = keepFirst(swept, c, sweep)
		}
	}
	return musts, swept
}

// keepFirst inserts c into cs, kept sorted (urgent first, then the oldest attempt, then by
// name) and at most n long.
func keepFirst(cs []refreshCandidate, c refreshCandidate, n int) []refreshCandidate {
	before := func(a, b refreshCandidate) bool {
		if a.urgent != b.urgent {
			return a.urgent
		}
		if a.state.triedAt != b.state.triedAt {
			return a.state.triedAt < b.state.triedAt
		}
		return a.name < b.name
	}
	if n <= 0 || len(cs) == n && !before(c, cs[n-1]) {
		return cs
	}
	i := sort.Search(len(cs), func(i int) bool { return before(c, cs[i]) })
	if len(cs) == n {
		cs = cs[:n-1]
	}
	return slices.Insert(cs, i, c)
}

// ReadRefresh reads the group's newest instance refresh (nil when it never had one).
func ReadRefresh(ctx context.Context, api awsapi.AutoScalingReader, group string) (*astypes.InstanceRefresh, error) {
	out, err := api.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group)})
	if err != nil {
		return nil, fmt.Errorf("read instance refreshes of %s: %w", group, err)
	}
	var newest *astypes.InstanceRefresh
	for i := range out.InstanceRefreshes {
		r := &out.InstanceRefreshes[i]
		if newest == nil || aws.ToTime(r.StartTime).After(aws.ToTime(newest.StartTime)) {
			newest = r
		}
	}
	return newest, nil
}

// mapRefresh turns an SDK instance refresh into the model's, with the template key of its
// desired configuration (fallback: the group's template) so that its AMI can be looked up.
func mapRefresh(r *astypes.InstanceRefresh, groupTemplate string, in *interner) (*model.Refresh, string) {
	m := &model.Refresh{
		ID:                aws.ToString(r.InstanceRefreshId),
		Status:            string(r.Status),
		StatusReason:      model.SafeText(aws.ToString(r.StatusReason)),
		Percent:           aws.ToInt32(r.PercentageComplete),
		InstancesToUpdate: aws.ToInt32(r.InstancesToUpdate),
		StartedAt:         aws.ToTime(r.StartTime),
		EndedAt:           aws.ToTime(r.EndTime),
	}
	if d := r.RollbackDetails; d != nil {
		m.PercentOnRollback = aws.ToInt32(d.PercentageCompleteOnRollback)
		m.RollbackReason = model.SafeText(aws.ToString(d.RollbackReason))
	}
	if p := r.Preferences; p != nil {
		m.MinHealthy, m.MaxHealthy = aws.ToInt32(p.MinHealthyPercentage), aws.ToInt32(p.MaxHealthyPercentage)
		m.Warmup = aws.ToInt32(p.InstanceWarmup)
	}
	tpl := groupTemplate
	if d := r.DesiredConfiguration; d != nil {
		spec := d.LaunchTemplate
		if spec == nil && d.MixedInstancesPolicy != nil && d.MixedInstancesPolicy.LaunchTemplate != nil {
			spec = d.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
		}
		if spec != nil {
			if k := string(awsapi.KeyOf(aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.LaunchTemplateName))); k != "" {
				tpl = k
			}
			m.DesiredVersion = in.s(spec.Version)
		}
	}
	return m, tpl
}

// refreshTask asks AWS about one group's refreshes.
func (inv *Inventory) refreshTask(c refreshCandidate, s *snapshotRun) task {
	return func(ctx context.Context) func() {
		s.count("DescribeInstanceRefreshes")
		r, err := ReadRefresh(ctx, inv.c.AutoScaling, c.name)
		return func() {
			st := c.state
			st.triedAt = uint32(s.now.Unix())
			if err != nil {
				st.failures++
				st.retryAt = uint32(s.now.Add(backoff(int(st.failures))).Unix())
				s.problem(err)
				return
			}
			st.failures, st.retryAt = 0, 0
			st.checkedAt = stampOf(s.now)
			if r == nil {
				st.last, st.quietMix = nil, c.mix
				return
			}
			st.last = newLastRefresh(mapRefresh(r, c.template, &inv.in))
			if st.last.Active() {
				inv.unwatch(c.name)
			} else {
				st.quietMix = c.mix
			}
		}
	}
}

// RefreshOf maps a described instance refresh of a group launching template (a key).
func RefreshOf(r *astypes.InstanceRefresh, template awsapi.TemplateKey) *model.Refresh {
	var in interner
	m, _ := mapRefresh(r, string(template), &in)
	return m
}
