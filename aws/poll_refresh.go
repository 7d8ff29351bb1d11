package aws

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

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
const (
	refreshSweepEvery = 5 * time.Minute
	sweepRate         = 2.0 // DescribeInstanceRefreshes per second for the sweep
	watchFor          = 2 * time.Minute
)

// refreshState is what the inventory remembers of one group's instance refreshes.
type refreshState struct {
	last      *model.Refresh
	template  string // the template key of last's desired configuration
	checkedAt time.Time
	quietMix  string // instance versions when a look last found no active refresh
	gen       uint64
}

// refreshCandidate is a group the snapshot may ask about.
type refreshCandidate struct {
	name     string
	template string // the group's template key
	mix      string // the group's instance launch template versions, when more than one
	must     bool
	state    *refreshState
}

// selectRefreshes picks the groups to ask about this snapshot: every must, then sweep
// candidates oldest first up to sweep.
func selectRefreshes(cands []refreshCandidate, now time.Time, sweep int) []refreshCandidate {
	var out, rest []refreshCandidate
	for _, c := range cands {
		switch {
		case c.must:
			out = append(out, c)
		case c.state.checkedAt.IsZero() || now.Sub(c.state.checkedAt) >= refreshSweepEvery:
			rest = append(rest, c)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool {
		a, b := rest[i].state.checkedAt, rest[j].state.checkedAt
		if !a.Equal(b) {
			return a.Before(b)
		}
		return rest[i].name < rest[j].name
	})
	if len(rest) > sweep {
		rest = rest[:sweep]
	}
	return append(out, rest...)
}

// readRefresh reads the group's newest instance refresh (nil when it never had one).
func readRefresh(ctx context.Context, api AutoScalingReader, group string) (*astypes.InstanceRefresh, error) {
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
		StatusReason:      aws.ToString(r.StatusReason),
		Percent:           aws.ToInt32(r.PercentageComplete),
		InstancesToUpdate: aws.ToInt32(r.InstancesToUpdate),
		StartedAt:         aws.ToTime(r.StartTime),
		EndedAt:           aws.ToTime(r.EndTime),
	}
	tpl := groupTemplate
	if d := r.DesiredConfiguration; d != nil {
		spec := d.LaunchTemplate
		if spec == nil && d.MixedInstancesPolicy != nil && d.MixedInstancesPolicy.LaunchTemplate != nil {
			spec = d.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
		}
		if spec != nil {
			if k := templateKey(aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.LaunchTemplateName)); k != "" {
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
		r, err := readRefresh(ctx, inv.c.AutoScaling, c.name)
		return func() {
			if err != nil {
				s.problem(err)
				return
			}
			st := c.state
			st.checkedAt = s.now
			if r == nil {
				st.last, st.template, st.quietMix = nil, "", c.mix
				return
			}
			st.last, st.template = mapRefresh(r, c.template, &inv.in)
			if st.last.Active() {
				inv.unwatch(c.name)
			} else {
				st.quietMix = c.mix
			}
		}
	}
}
