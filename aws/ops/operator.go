package ops

import (
	"context"
	"time"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// How the action layer carries out bake, promote and rollback (DESIGN.md section 3, issue 3):
//
//   - Plan... functions only read. They check every precondition and return a model.Plan with
//     each group's from and to release, the strategy, the capacity during the rollout and the
//     CLI twin. Nothing is sent to AWS before the operator confirms and calls Execute.
//   - Promote first records and pins the known-good release: a group that follows "$Latest" or
//     "$Default" is pinned to the numeric version it runs now, so that AWS's auto-rollback (and
//     our rollback) return to it. It then creates a launch template version from the current
//     one with only the AMI changed, and starts an instance refresh whose desired
//     configuration names that version. The group itself is never pointed at the new version:
//     the refresh does that when it succeeds, and leaves it untouched when it rolls back.
//   - The refresh keeps full capacity (minimum healthy 100%, maximum 200%: launch before
//     terminate), skips instances that already match and rolls back on its own when it fails.
//     AWS runs it server-side: it goes on if the console closes, and any console can follow it
//     or roll it back.
//   - Cancel (CancelInstanceRefresh on every group with a running refresh) stops a rollout
//     where it is: nothing is rolled back, replaced instances keep the new release and the
//     rest the old one; the plan counts both. A refresh already cancelling or being rolled
//     back is not cancelled (AWS would cancel a rollback, leaving the fleet half-way back).
//   - Every Execute writes "started" and then "succeeded" or "failed" to the audit log; a
//     declined plan writes "cancelled".

// OperatorConsole is the read-write console: the inventory's reads plus the mutating actions.
// It implements Operator.
type OperatorConsole struct {
	*inventory.Inventory
	c    awsapi.Clients
	opts Options
	// pollEvery is how often a running action asks AWS for its progress.
	pollEvery time.Duration
}

var _ Operator = (*OperatorConsole)(nil)

// defaultPoll is how often a running action polls AWS for progress when Options.Refresh does
// not ask for faster.
const defaultPoll = 2 * time.Second

// NewOperator builds the read-write console over the clients. Zero options take the same
// defaults as NewInventory. A running action polls AWS for its progress every
// Options.Refresh when that is shorter than 2 s, else every 2 s.
func NewOperator(c awsapi.Clients, opts Options) *OperatorConsole {
	opts = withDefaults(opts)
	poll := min(defaultPoll, opts.Refresh)
	return &OperatorConsole{Inventory: inventory.NewInventory(c.Read(), opts.Options), c: c, opts: opts, pollEvery: poll}
}

// withDefaults fills the options the action layer relies on: the inventory's defaults (the
// one place they live) and a Production that asks no harder.
func withDefaults(opts Options) Options {
	opts.Options = opts.Options.WithDefaults()
	if opts.Production == nil {
		opts.Production = func(string) bool { return false }
	}
	return opts
}

// rollout is the refresh preferences, defaults resolved (model.RolloutPrefs.Resolved).
func (o *OperatorConsole) rollout() model.RolloutPrefs { return o.opts.Rollout }

// Cancelled records that the operator declined a plan.
func (o *OperatorConsole) Cancelled(plan model.Plan) {
	e := o.event(context.Background(), plan, "cancelled")
	o.audit(e)
}

// event is the audit event of a plan, before its result is known.
func (o *OperatorConsole) event(ctx context.Context, plan model.Plan, result string) model.AuditEvent {
	e := model.AuditEvent{
		Time:    o.opts.Now().UTC(),
		Who:     o.who(ctx),
		Action:  plan.Action,
		Service: plan.Service,
		Env:     plan.Env,
		Region:  plan.Region,
		Reason:  plan.Reason,
		Result:  result,
		Via:     o.opts.Via,
	}
	for _, s := range plan.Steps {
		e.Groups = append(e.Groups, s.Group)
		if e.From == "" {
			e.From = s.FromImage.ImageID
		}
		if e.To == "" {
			e.To = s.ToImage.ImageID
		}
	}
	if plan.Bake != nil {
		e.From = plan.Bake.InstanceID
	}
	return e
}

// who is the caller ARN, or "unknown" when the identity cannot be read (the audit line is
// still written).
func (o *OperatorConsole) who(ctx context.Context) string {
	id, err := o.Identity(ctx)
	if err != nil || id.ARN == "" {
		return "unknown"
	}
	return id.ARN
}

// audit hands an event to the sink; an audit log that cannot be written must not stop an
// action half-way, so the error only travels with the action's own result (see Execute).
func (o *OperatorConsole) audit(e model.AuditEvent) error {
	if o.opts.Audit == nil {
		return nil
	}
	return o.opts.Audit.Append(e)
}
