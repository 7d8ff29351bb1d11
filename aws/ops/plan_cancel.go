package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// Checks a cancel plan makes.
const (
	CheckCancelRunning     = "rollout running"
	CheckCancelCancellable = "rollout can be cancelled"
)

// Statuses of an instance refresh that a cancel plan tells apart.
const (
	statusCancelling         = "Cancelling"
	statusRollbackInProgress = "RollbackInProgress"
)

// PlanCancel plans CancelInstanceRefresh on every group of the service with a running
// refresh. AWS cancels without rolling back (api_op_CancelInstanceRefresh.go: "When you cancel
// an instance refresh, this does not roll back any changes that it made"), so the plan says,
// per group, how many instances run the new release and how many the old one: that is where
// they stay. A refresh already cancelling, or one AWS is rolling back, is not cancelled:
// AWS would cancel a rollback too, but that leaves a mixed fleet half-way back, which is
// never what an operator pressing "stop" means; the check says what to do instead.
func (o *OperatorConsole) PlanCancel(ctx context.Context, req CancelRequest) (model.Plan, error) {
	// An operator's reason (and label) is written where every operator reads it: data, never
	// terminal control.
	req.Reason = model.SafeText(req.Reason)
	now := o.opts.Now().UTC()
	if req.Service == "" || req.Env == "" {
		return model.Plan{}, fmt.Errorf("plan cancel: name the service and the environment")
	}
	what := fmt.Sprintf("plan cancel of %s/%s", req.Service, req.Env)
	groups, err := o.readService(ctx, req.Service, req.Env)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(groups) == 0 {
		return model.Plan{}, fmt.Errorf("%s: %w", what, o.noGroups(req.Service, req.Env))
	}
	var active []*groupFacts
	for _, f := range groups {
		if f.refresh.Active() {
			active = append(active, f)
		}
	}
	p := model.Plan{
		Action:     model.ActionCancel,
		Service:    req.Service,
		Env:        req.Env,
		Production: o.opts.Production(req.Env),
		Reason:     req.Reason,
		CreatedAt:  now,
		Strategy:   "cancel the running instance refresh (CancelInstanceRefresh): AWS finishes the launches and terminations in flight and replaces nothing more; nothing is rolled back",
	}
	args := []string{"cancel", "--service", req.Service, "--env", req.Env}
	if req.Reason != "" {
		args = append(args, "--reason", req.Reason)
	}
	p.CLI = cli(args...)
	if len(active) == 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckCancelRunning, Detail: fmt.Sprintf("no rollout is running on %s/%s: nothing to cancel", req.Service, req.Env)})
		return p, nil
	}
	// What each refresh rolls out: its desired configuration's version, or without one the
	// group's own version.
	targets := make([]string, len(active))
	versions := make([]int64, len(active))
	for i, f := range active {
		targets[i], versions[i] = f.image, f.version
		if f.refresh.DesiredVersion != "" && f.template != "" {
			v, err := describeVersion(ctx, o.c.EC2, f.template, f.refresh.DesiredVersion)
			if err != nil {
				return model.Plan{}, fmt.Errorf("%s: %w", what, err)
			}
			versions[i] = aws.ToInt64(v.VersionNumber)
			if v.LaunchTemplateData != nil {
				targets[i] = aws.ToString(v.LaunchTemplateData.ImageId)
			}
		}
	}
	var ids []string
	for i, f := range active {
		ids = append(ids, f.image, targets[i])
	}
	images, err := inventory.LookupImages(ctx, o.c.EC2, ids)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	var running, bad []string
	var desired, live int32
	for i, f := range active {
		r := f.refresh
		n, _ := liveCounts(&f.g)
		step := model.GroupStep{
			Group:          f.g.Name,
			RefreshID:      r.ID,
			RefreshStatus:  r.Status,
			RefreshPercent: r.Percent,
			Instances:      n,
			Desired:        f.g.Desired,
			MaxCapacity:    f.g.Max,
			FromImage:      o.fromRef(f, images),
			ToImage:        images.Ref(targets[i], o.opts.Tags.Service),
		}
		if lt := f.g.LaunchTemplate; lt != nil {
			step.Template = *lt
			if f.version > 0 {
				step.Template.Version = itoa(f.version)
			}
		}
		var launching int
		step.OnTo, step.OnFrom, launching = onReleases(f, versions[i])
		p.Steps = append(p.Steps, step)
		desired += f.g.Desired
		live += int32(n)
		line := fmt.Sprintf("group %s: refresh %s %s, %d%% done; %d instances in service on the new release %s stay on it, %d on the old release %s stay on it", f.g.Name, r.ID, r.Status, r.Percent, step.OnTo, orUnknown(step.ToImage.ImageID), step.OnFrom, orUnknown(step.FromImage.ImageID))
		if launching > 0 {
			line += fmt.Sprintf("; %d launching finish, then the group returns to its desired %d (its termination policy picks which instances go)", launching, f.g.Desired)
		}
		running = append(running, line)
		switch r.Status {
		case statusCancelling:
			bad = append(bad, fmt.Sprintf("group %s: refresh %s is already being cancelled: wait for it to end (`adstage-ops status --service %s --env %s`)", f.g.Name, r.ID, req.Service, req.Env))
		case statusRollbackInProgress:
			bad = append(bad, fmt.Sprintf("group %s: refresh %s is being rolled back to %s; cancelling would stop it half-way: let it finish (`adstage-ops status --service %s --env %s`)", f.g.Name, r.ID, orUnknown(step.FromImage.ImageID), req.Service, req.Env))
		}
	}
	p.Checks = append(p.Checks, model.Check{Name: CheckCancelRunning, OK: true, Detail: strings.Join(running, "; ")})
	if len(bad) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckCancelCancellable, Detail: strings.Join(bad, "; ")})
	} else {
		p.Checks = append(p.Checks, model.Check{Name: CheckCancelCancellable, OK: true, Detail: "every running rollout is in progress: AWS cancels it where it is; promote again or roll back later to make the fleet one release"})
	}
	p.Capacity = fmt.Sprintf("stays as it is: %d instances now, desired %d; the groups return to their desired capacity on the release each instance runs", live, desired)
	return p, nil
}

// onReleases counts a group's instances in service on the launch template version a refresh
// rolls out (replaced: they keep it), in service on any other (the release the group had: they
// keep it too), and launching (they finish launching; the group then scales back to its desired
// capacity, its termination policy choosing which instances go). Instances report the numeric
// version they were launched from.
func onReleases(f *groupFacts, version int64) (onTo, onFrom, launching int) {
	for i := range f.g.Instances {
		in := &f.g.Instances[i]
		switch {
		case in.Lifecycle.Leaving():
		case in.Lifecycle != model.InService:
			launching++
		case version > 0 && in.LTVersion.String() == itoa(version):
			onTo++
		default:
			onFrom++
		}
	}
	return onTo, onFrom, launching
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown AMI"
	}
	return s
}
