package ops

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// Names of the checks plans make (the TUI and the CLI show them as they are).
const (
	CheckInstance       = "instance running"
	CheckService        = "service known"
	CheckImageExists    = "image exists"
	CheckImageReady     = "image available"
	CheckImageService   = "image of this service"
	CheckTemplate       = "launch template"
	CheckNoRefresh      = "no rollout running"
	CheckProcesses      = "launch and terminate active"
	CheckCapacity       = "healthy capacity"
	CheckChange         = "something to change"
	CheckPrevious       = "previous release"
	CheckRollbackable   = "rollout can roll back"
	CheckRollbackImage  = "previous release's image"
	CheckSkipped        = "releases skipped"
	CheckVerified       = "release known good"
	CheckTargetState    = "release state"
	CheckImageMarks     = "image not rolled back or marked bad"
	CheckRefreshHistory = "refresh history readable"
	CheckTagsAgree      = "instance tags agree with its group"
	CheckSetAside       = "standby and protected instances"
	CheckBakeStandby    = "out of service for the reboot"
	CheckAMIByID        = "launch template names its AMI"
	CheckOverrides      = "mixed instances overrides take the new AMI"
	CheckLatestSharers  = "other groups on the launch template"
)

// PlanBake reads the instance, its service and the caller, and plans an AMI from it. The image
// is named SERVICE-LABEL-YYYYMMDDhhmmss.
func (o *OperatorConsole) PlanBake(ctx context.Context, req BakeRequest) (model.Plan, error) {
	// An operator's reason (and label) is written where every operator reads it: data, never
	// terminal control.
	req.Reason = model.SafeText(req.Reason)
	req.Label = model.SafeText(req.Label)
	now := o.opts.Now().UTC()
	if req.InstanceID == "" {
		return model.Plan{}, fmt.Errorf("plan bake: name the instance to bake from")
	}
	if strings.TrimSpace(req.Label) == "" {
		return model.Plan{}, fmt.Errorf("plan bake of %s: give a label (e.g. the git SHA it runs)", req.InstanceID)
	}
	if n := utf8.RuneCountInString(req.Label); n > model.MaxTagValue {
		return model.Plan{}, fmt.Errorf("plan bake of %s: the label is %d characters; it is an image tag, whose value AWS limits to %d characters: shorten it", req.InstanceID, n, model.MaxTagValue)
	}
	p := model.Plan{
		Action:    model.ActionBake,
		Bake:      &model.BakeSpec{InstanceID: req.InstanceID, Label: req.Label, NoReboot: req.NoReboot},
		Reason:    req.Reason,
		CreatedAt: now,
	}
	args := []string{"bake", "--instance", req.InstanceID, "--label", req.Label}
	if req.NoReboot {
		args = append(args, "--no-reboot")
	}
	if req.Reason != "" {
		args = append(args, "--reason", req.Reason)
	}
	p.CLI = cli(args...)
	if req.NoReboot {
		p.Strategy = "CreateImage without reboot: the instance keeps serving, but the disk is copied while it runs and may be inconsistent"
	} else {
		p.Strategy = "CreateImage with reboot: the instance restarts once for a consistent disk"
	}

	out, err := o.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{req.InstanceID}})
	if err != nil && !awsapi.IsCode(err, "InvalidInstanceID.") {
		return model.Plan{}, fmt.Errorf("plan bake of %s: read the instance: %w", req.InstanceID, err)
	}
	var inst *ec2types.Instance
	if err == nil {
		for i := range out.Reservations {
			for j := range out.Reservations[i].Instances {
				if aws.ToString(out.Reservations[i].Instances[j].InstanceId) == req.InstanceID {
					inst = &out.Reservations[i].Instances[j]
				}
			}
		}
	}
	if inst == nil {
		p.Checks = append(p.Checks, model.Check{Name: CheckInstance, Detail: fmt.Sprintf("instance %s does not exist in %s: check the ID and the region", req.InstanceID, o.c.Region)})
		p.Bake.Name = bakeName("", req.Label, now)
		return p, nil
	}
	state := ""
	if inst.State != nil {
		state = string(inst.State.Name)
	}
	if state == string(ec2types.InstanceStateNameRunning) {
		p.Checks = append(p.Checks, model.Check{Name: CheckInstance, OK: true, Detail: fmt.Sprintf("%s is running %s", req.InstanceID, aws.ToString(inst.ImageId))})
	} else {
		p.Checks = append(p.Checks, model.Check{Name: CheckInstance, Detail: fmt.Sprintf("%s is %s: bake from a running instance", req.InstanceID, state)})
	}

	// The service and environment of an instance are its group's: the instance's own tags
	// (copied at launch, and editable by anyone with ec2:CreateTags) only stand in for an
	// instance outside any group, and one that disagrees with its group is refused, so that
	// a production instance tagged "staging" cannot slip past production's read-only rule.
	instService, instEnv := inventory.TagOf(inst.Tags, o.opts.Tags.Service), inventory.TagOf(inst.Tags, o.opts.Tags.Environment)
	group := inventory.TagOf(inst.Tags, "aws:autoscaling:groupName")
	p.Service, p.Env = instService, instEnv
	if group != "" {
		gout, err := o.c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			return model.Plan{}, fmt.Errorf("plan bake of %s: read its group %s: %w", req.InstanceID, group, err)
		}
		if !req.NoReboot {
			p.Checks = append(p.Checks, bakeStandbyCheck(p.Bake, req.InstanceID, group, gout.AutoScalingGroups))
			if p.Bake.StandbyGroup != "" {
				p.Strategy = "EnterStandby, then CreateImage with reboot, then ExitStandby: the instance leaves its load balancers (drained) and restarts once for a consistent disk"
			}
		}
		for _, g := range gout.AutoScalingGroups {
			gs, ge := "", ""
			for _, t := range g.Tags {
				switch aws.ToString(t.Key) {
				case o.opts.Tags.Service:
					gs = model.SafeText(aws.ToString(t.Value))
				case o.opts.Tags.Environment:
					ge = model.SafeText(aws.ToString(t.Value))
				}
			}
			var clash []string
			if instService != "" && gs != "" && instService != gs {
				clash = append(clash, fmt.Sprintf("%s=%s on the instance, %s on its group", o.opts.Tags.Service, instService, gs))
			}
			if instEnv != "" && ge != "" && instEnv != ge {
				clash = append(clash, fmt.Sprintf("%s=%s on the instance, %s on its group", o.opts.Tags.Environment, instEnv, ge))
			}
			if len(clash) > 0 {
				p.Checks = append(p.Checks, model.Check{Name: CheckTagsAgree, Detail: fmt.Sprintf("%s belongs to group %s, but its tags disagree with the group's (%s): an instance's environment is its group's; fix the instance's tags (or bake from another instance)", req.InstanceID, group, strings.Join(clash, "; "))})
			}
			if gs != "" {
				p.Service = gs
			}
			if ge != "" {
				p.Env = ge
			}
		}
	}
	if p.Service == "" {
		p.Checks = append(p.Checks, model.Check{Name: CheckService, Detail: fmt.Sprintf("%s carries no %s tag and belongs to no group that does: bake from an instance of a service's group, or tag it %s=<service>", req.InstanceID, o.opts.Tags.Service, o.opts.Tags.Service)})
	} else {
		where := p.Service
		if p.Env != "" {
			where += " in " + p.Env
		}
		if group != "" {
			where += " (group " + group + ")"
		}
		p.Checks = append(p.Checks, model.Check{Name: CheckService, OK: true, Detail: where})
	}
	if p.Env != "" {
		p.Production = o.opts.Production(p.Env)
	}
	p.Bake.Name = bakeName(p.Service, req.Label, now)
	if _, err := o.Identity(ctx); err != nil {
		return model.Plan{}, fmt.Errorf("plan bake of %s: %w", req.InstanceID, err)
	}
	return p, nil
}

// bakeStandbyCheck plans the Standby around a bake's reboot of an instance serving in a group:
// rebooting a registered target drops its connections, and a failed load-balancer health
// check may make the group replace the instance mid-bake. EnterStandby deregisters it (its
// balancers drain it) and lowers the desired capacity by one so that nothing is launched in
// its place, which AWS allows only above the group's minimum (EnterStandby, API reference).
func bakeStandbyCheck(b *model.BakeSpec, id, group string, groups []astypes.AutoScalingGroup) model.Check {
	for _, g := range groups {
		for _, in := range g.Instances {
			if aws.ToString(in.InstanceId) != id {
				continue
			}
			if in.LifecycleState != astypes.LifecycleStateInService {
				return model.Check{Name: CheckBakeStandby, OK: true, Detail: fmt.Sprintf("%s is %s in group %s, not serving: it reboots where it is", id, in.LifecycleState, group)}
			}
			if aws.ToInt32(g.DesiredCapacity)-1 < aws.ToInt32(g.MinSize) {
				return model.Check{Name: CheckBakeStandby, Detail: fmt.Sprintf("%s serves in group %s, which is at its minimum size (%d): it cannot leave service for the reboot without a replacement; bake from an instance of a group above its minimum, or with --no-reboot", id, group, aws.ToInt32(g.MinSize))}
			}
			b.StandbyGroup = group
			return model.Check{Name: CheckBakeStandby, OK: true, Detail: fmt.Sprintf("%s enters Standby in group %s before the reboot (its load balancers drain it; desired capacity %d -> %d, nothing replaces it) and returns to service when the image is made", id, group, aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.DesiredCapacity)-1)}
		}
	}
	return model.Check{Name: CheckBakeStandby, OK: true, Detail: fmt.Sprintf("%s is not an instance of group %s any more: it reboots where it is", id, group)}
}

// bakeName is SERVICE-LABEL-YYYYMMDDhhmmss, with characters AMI names do not allow replaced
// and cut to AMI names' 128 characters.
func bakeName(service, label string, at time.Time) string {
	if service == "" {
		service = "image"
	}
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("()[]./-'@_", r) {
				return r
			}
			return '-'
		}, s)
	}
	stamp := at.Format("20060102150405")
	head := clean(service) + "-" + clean(label)
	if len(head) > 128-len(stamp)-1 {
		head = head[:128-len(stamp)-1]
	}
	return head + "-" + stamp
}

// PlanPromote resolves the image, reads every group of the service in the environment, checks
// the preconditions and plans a rollout to each group.
func (o *OperatorConsole) PlanPromote(ctx context.Context, req PromoteRequest) (model.Plan, error) {
	// An operator's reason (and label) is written where every operator reads it: data, never
	// terminal control.
	req.Reason = model.SafeText(req.Reason)
	now := o.opts.Now().UTC()
	if req.Service == "" || req.Env == "" {
		return model.Plan{}, fmt.Errorf("plan promote: name the service and the environment")
	}
	what := fmt.Sprintf("plan promote of %s/%s", req.Service, req.Env)
	if req.AllowBadImage && strings.TrimSpace(req.Reason) == "" {
		return model.Plan{}, fmt.Errorf("%s: promoting an image that was rolled back or marked bad needs a reason (--reason): it is written where every operator sees it", what)
	}
	groups, err := o.readService(ctx, req.Service, req.Env)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(groups) == 0 {
		return model.Plan{}, fmt.Errorf("%s: %w", what, o.noGroups(req.Service, req.Env))
	}
	image, err := o.chooseImage(ctx, req, groups)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	var ids []string
	for _, f := range groups {
		ids = append(ids, f.image)
	}
	images, err := inventory.LookupImages(ctx, o.c.EC2, append(ids, image))
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	where := o.c.Region
	if src := req.Source; src != nil && src.Image.ImageId != nil && *src.Image.ImageId == image {
		// An image of another account or region: its own account's description stands until
		// the transfer step makes it launchable here. Once shared, this account sees it
		// without the owner's tags (its own tags, such as marks, only): the owner's tags
		// (service, label, who baked it) complete them.
		if here, seen := images[image]; !seen {
			images[image] = src.Image
		} else {
			here.Tags = mergeTags(here.Tags, src.Image.Tags)
			images[image] = here
		}
		where = fmt.Sprintf("%s (account %s, the account of %s)", src.Region, src.Account, src.Env)
	}
	o.loadTimings(ctx, groups)
	p := o.rolloutPlan(model.ActionPromote, req.Service, req.Env, req.Reason, groups, now)
	args := []string{"promote", "--service", req.Service, "--env", req.Env, "--image", image}
	if req.AllowBadImage {
		args = append(args, "--allow-bad-image")
	}
	if req.Reason != "" {
		args = append(args, "--reason", req.Reason)
	}
	p.CLI = cli(args...)
	if images.State(image) != "missing" {
		history, err := o.rolledBackHere(ctx, groups, image)
		if err != nil {
			return model.Plan{}, fmt.Errorf("%s: %w", what, err)
		}
		p.Checks = append(p.Checks, imageMarkCheck(image, images.Marks(image), history, req))
	}

	switch state := images.State(image); state {
	case "missing":
		p.Checks = append(p.Checks, model.Check{Name: CheckImageExists, Detail: fmt.Sprintf("image %s does not exist in %s (or was deregistered): check the ID and the region, or bake one", image, where)})
	default:
		p.Checks = append(p.Checks, model.Check{Name: CheckImageExists, OK: true, Detail: image + " " + model.SafeText(aws.ToString(images[image].Name))})
		if state == string(ec2types.ImageStateAvailable) {
			p.Checks = append(p.Checks, model.Check{Name: CheckImageReady, OK: true, Detail: image + " is available"})
		} else {
			detail := fmt.Sprintf("image %s is %s", image, state)
			if state == string(ec2types.ImageStatePending) {
				detail += ": wait until it is available, then promote"
			} else if r := images[image].StateReason; r != nil && r.Message != nil {
				detail += ": " + model.SafeText(aws.ToString(r.Message))
			}
			p.Checks = append(p.Checks, model.Check{Name: CheckImageReady, Detail: detail})
		}
		switch svc := images.Service(image, o.opts.Tags.Service); {
		case svc == req.Service:
			p.Checks = append(p.Checks, model.Check{Name: CheckImageService, OK: true, Detail: fmt.Sprintf("%s is tagged %s=%s", image, o.opts.Tags.Service, svc)})
		case svc == "":
			p.Checks = append(p.Checks, model.Check{Name: CheckImageService, OK: true, Detail: fmt.Sprintf("%s carries no %s tag (not baked by adstage-ops)", image, o.opts.Tags.Service)})
		default:
			p.Checks = append(p.Checks, model.Check{Name: CheckImageService, Warn: true, Detail: fmt.Sprintf("%s was baked for %s, not %s: confirm only if %s really runs this image", image, svc, req.Service, req.Service)})
		}
	}
	to := images.Ref(image, o.opts.Tags.Service)
	changes := 0
	for i, f := range groups {
		s := &p.Steps[i]
		s.FromImage = o.fromRef(f, images)
		s.ToImage = to
		if f.image != image {
			changes++
		}
	}
	if changes == 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckChange, Detail: fmt.Sprintf("every group of %s/%s already launches %s: nothing to promote", req.Service, req.Env, image)})
	}
	o.groupChecks(ctx, &p, groups, false)
	if c, ok := o.latestFollowers(ctx, groups, image); ok {
		p.Checks = append(p.Checks, c)
	}
	return p, nil
}

// latestFollowers warns about the groups outside the plan that launch one of its launch
// templates at "$Latest": the version promote creates becomes the template's latest, so they
// launch the new AMI at their next scale-out or replacement, without a rollout or a release
// note. (The plan's own groups are pinned to their numeric version first.) Every group of the
// account is read (DescribeAutoScalingGroups has no launch template filter); when that
// fails, the warning says the other groups could not be checked. ok is false when there is
// nothing to say.
func (o *OperatorConsole) latestFollowers(ctx context.Context, groups []*groupFacts, image string) (model.Check, bool) {
	mine := map[string]bool{}
	templates := map[awsapi.TemplateKey]string{} // template -> its name, for matching by name
	for _, f := range groups {
		mine[f.g.Name] = true
		if f.template != "" && f.image != image {
			name := ""
			if spec := inventory.LaunchTemplateOf(&f.raw); spec != nil {
				name = aws.ToString(spec.LaunchTemplateName)
			}
			templates[f.template] = name
		}
	}
	if len(templates) == 0 {
		return model.Check{}, false
	}
	all, err := inventory.DescribeGroups(ctx, o.c.AutoScaling, nil, nil)
	if err != nil {
		if ctx.Err() != nil {
			return model.Check{}, false
		}
		return model.Check{Name: CheckLatestSharers, Warn: true, Detail: "the other groups of the account could not be read, so a group that launches the same launch template at $Latest (and would start launching the new AMI at its next scale-out) would not be seen: " + awsapi.Explain(err)}, true
	}
	var followers []string
	for i := range all {
		a := &all[i]
		name := model.SafeText(aws.ToString(a.AutoScalingGroupName))
		spec := inventory.LaunchTemplateOf(a)
		if mine[name] || spec == nil || aws.ToString(spec.Version) != "$Latest" {
			continue
		}
		for key, tname := range templates {
			if key == awsapi.KeyOf(aws.ToString(spec.LaunchTemplateId), "") || (tname != "" && tname == aws.ToString(spec.LaunchTemplateName)) {
				followers = append(followers, fmt.Sprintf("%s (launch template %s)", name, key))
				break
			}
		}
	}
	if len(followers) == 0 {
		return model.Check{}, false
	}
	sort.Strings(followers)
	return model.Check{Name: CheckLatestSharers, Warn: true, Detail: fmt.Sprintf("%d other group(s) launch the same launch template at $Latest and will launch %s at their next scale-out, without a rollout: %s; pin them to a numeric version first (`aws autoscaling update-auto-scaling-group --auto-scaling-group-name NAME --launch-template LaunchTemplateId=ID,Version=N`) or confirm that they should", len(followers), image, strings.Join(followers, ", "))}, true
}

// imageMarkCheck refuses an image that was rolled back or marked bad (newest mark first),
// unless the request overrides it, which turns the failure into a warning to confirm.
func imageMarkCheck(image string, marks []model.Mark, rolledBack []string, req PromoteRequest) model.Check {
	var against []string
	if v, ok := model.Verdict(marks); ok {
		against = append(against, "was "+v.String())
	}
	against = append(against, rolledBack...)
	if len(against) == 0 {
		return model.Check{Name: CheckImageMarks, OK: true, Detail: image + " carries no rolled-back or bad mark, and no rollout of it here was rolled back"}
	}
	what := image + " " + strings.Join(against, "; ")
	if req.AllowBadImage {
		return model.Check{Name: CheckImageMarks, Warn: true, Detail: fmt.Sprintf("%s; promoting it anyway (overridden: %s)", what, req.Reason)}
	}
	return model.Check{Name: CheckImageMarks, Detail: what + ": promote another image, or override with --allow-bad-image and a --reason (in the console: confirm the override)"}
}

// rolledBackHere lists the releases of image that the groups' ledgers record as rolled back
// (AWS rolled their rollout back, or an operator did): the image already failed here.
func (o *OperatorConsole) rolledBackHere(ctx context.Context, groups []*groupFacts, image string) ([]string, error) {
	var asked []inventory.LedgerGroup
	for _, f := range groups {
		if f.template != "" {
			asked = append(asked, inventory.LedgerGroup{Name: f.g.Name, Template: f.template, Version: itoa(f.version), Image: f.image})
		}
	}
	if len(asked) == 0 {
		return nil, nil
	}
	ledgers, err := inventory.ReadLedgers(ctx, o.c.EC2, o.c.AutoScaling, asked, o.opts.Now())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ledgers.Groups {
		for _, e := range l.Entries {
			// A rolled-back mark is reported once, from the image's own marks.
			if e.ImageID == image && e.State == model.ReleaseRolledBack && !(e.HasVerdict && e.Verdict.Kind == model.MarkRolledBack) {
				out = append(out, fmt.Sprintf("was rolled back in %s (version %d): %s", l.Group, e.Version, e.Detail))
			}
		}
	}
	return out, nil
}

// chooseImage resolves what the request promotes: the explicit AMI; the AMI FromEnv runs;
// or the newest available image baked for the service that the environment does not run yet.
func (o *OperatorConsole) chooseImage(ctx context.Context, req PromoteRequest, groups []*groupFacts) (string, error) {
	if req.ImageID != "" {
		return req.ImageID, nil
	}
	if req.FromEnv != "" {
		return ReleaseOf(ctx, o.c.Read(), o.opts.Tags, req.Service, req.FromEnv)
	}
	imgs, err := o.Images(ctx, req.Service)
	if err != nil {
		return "", err
	}
	running := map[string]bool{}
	for _, f := range groups {
		running[f.image] = true
	}
	for _, img := range imgs {
		if running[img.ID] {
			return "", fmt.Errorf("%s/%s already runs the newest image baked for %s (%s): bake a new one or name an image", req.Service, req.Env, req.Service, img.ID)
		}
		// Never pick an image an operator flagged: name it with --image to promote it anyway.
		if _, flagged := model.Verdict(img.Marks); flagged {
			continue
		}
		if img.Available() {
			return img.ID, nil
		}
	}
	return "", fmt.Errorf("no available image is baked for %s (images carry the tag %s=%s): bake one first", req.Service, o.opts.Tags.Service, req.Service)
}

// fromRef describes the release a group runs now: the AMI, its label, and who released it
// when (from the launch template version's release note, else what AWS recorded).
func (o *OperatorConsole) fromRef(f *groupFacts, images inventory.ImageLookup) model.ImageRef {
	r := images.Ref(f.image, o.opts.Tags.Service)
	r.ReleasedBy, r.ReleasedAt = releasedBy(f.release)
	return r
}

// rolloutPlan is the part of promote and rollback plans that does not depend on the target:
// one step per group, the strategy, the capacity and the restore estimate.
func (o *OperatorConsole) rolloutPlan(action model.ActionKind, service, env, reason string, groups []*groupFacts, now time.Time) model.Plan {
	p := model.Plan{
		Action:     action,
		Service:    service,
		Env:        env,
		Production: o.opts.Production(env),
		Reason:     reason,
		CreatedAt:  now,
	}
	var desired int32
	for _, f := range groups {
		live, _ := liveCounts(&f.g)
		step := model.GroupStep{
			Group:       f.g.Name,
			Instances:   live,
			Desired:     f.g.Desired,
			MaxCapacity: f.g.Max,
		}
		if lt := f.g.LaunchTemplate; lt != nil {
			step.Template = *lt
			if f.version > 0 {
				step.Template.Version = itoa(f.version)
			}
		}
		p.Steps = append(p.Steps, step)
		desired += f.g.Desired
		p.RestoreEstimate = max(p.RestoreEstimate, o.Estimate(&f.g))
	}
	prefs := o.rollout()
	p.Strategy = strategy(prefs)
	low := (int64(desired)*int64(prefs.MinHealthyPercentage) + 99) / 100
	high := int64(desired) * int64(prefs.MaxHealthyPercentage) / 100
	p.Capacity = fmt.Sprintf("never below %d healthy; up to %d instances during rollout", low, max(high, int64(desired)))
	return p
}

// strategy describes the instance refresh preferences.
func strategy(p model.RolloutPrefs) string {
	s := "instance refresh: "
	if p.MaxHealthyPercentage > 100 && p.MinHealthyPercentage >= 100 {
		s += "launch before terminate"
	} else {
		s += "terminate and launch in batches"
	}
	s += fmt.Sprintf(" (min healthy %d%%, max %d%%)", p.MinHealthyPercentage, p.MaxHealthyPercentage)
	if p.SkipMatching {
		s += ", skip matching"
	}
	if p.AutoRollback {
		s += ", auto-rollback"
	}
	if p.InstanceWarmup > 0 {
		s += fmt.Sprintf(", warmup %ds", p.InstanceWarmup)
	}
	return s
}

// groupChecks adds the checks every rollout makes on the groups: a launch template, no
// rollout running (unless skipRefresh), Launch and Terminate not suspended, healthy capacity.
func (o *OperatorConsole) groupChecks(ctx context.Context, p *model.Plan, groups []*groupFacts, skipRefresh bool) {
	var legacy, running, suspended, short, unread, aside, ssm, overrides []string
	serving := o.servingCounts(ctx, model.ServiceKey{Name: p.Service, Env: p.Env})
	for _, f := range groups {
		g := &f.g
		if g.LaunchTemplate == nil {
			legacy = append(legacy, fmt.Sprintf("group %s uses launch configuration %s; adstage-ops rolls out launch template versions only. Create a launch template from the configuration (EC2 console: Launch configurations, \"Copy to launch template\", or `aws ec2 create-launch-template` with its settings), then point the group at it (`aws autoscaling update-auto-scaling-group --auto-scaling-group-name %s --launch-template LaunchTemplateName=<name>,Version=1`)", g.Name, g.LaunchConfig, g.Name))
		}
		if bad := ownImageOverrides(&f.raw); len(bad) > 0 {
			overrides = append(overrides, fmt.Sprintf("group %s: %s", g.Name, strings.Join(bad, ", ")))
		}
		if f.ssm != "" {
			ssm = append(ssm, fmt.Sprintf("group %s launches launch template %s version %d, whose AMI is the Systems Manager parameter %s (now %s)", g.Name, f.template, f.version, f.ssm, orUnknown(f.image)))
		}
		if !skipRefresh && f.refresh.Active() {
			running = append(running, fmt.Sprintf("group %s has instance refresh %s %s (%d%%)%s", g.Name, f.refresh.ID, f.refresh.Status, f.refresh.Percent, o.startedBy(ctx, f)))
		}
		if f.refreshProblem != "" {
			unread = append(unread, fmt.Sprintf("group %s: %s", g.Name, f.refreshProblem))
		}
		var procs []string
		for _, proc := range []string{"Launch", "Terminate"} {
			if g.Suspends(proc) {
				procs = append(procs, proc)
			}
		}
		if len(procs) > 0 {
			suspended = append(suspended, fmt.Sprintf("group %s suspends %s: resume with `aws autoscaling resume-processes --auto-scaling-group-name %s --scaling-processes %s`", g.Name, strings.Join(procs, " and "), g.Name, strings.Join(procs, " ")))
		}
		var held []string
		for _, in := range g.Instances {
			switch {
			case in.Lifecycle == model.Standby || in.Lifecycle == model.EnteringStandby:
				held = append(held, in.ID+" in "+in.Lifecycle.String())
			case in.Protected && !in.Lifecycle.Leaving():
				held = append(held, in.ID+" protected from scale in")
			}
		}
		if len(held) > 0 {
			aside = append(aside, fmt.Sprintf("group %s: %s", g.Name, strings.Join(held, ", ")))
		}
		_, healthy := liveCounts(g)
		if n, ok := serving[g.Name]; ok {
			healthy = n
		}
		if int32(healthy) < g.Desired {
			short = append(short, fmt.Sprintf("group %s has %d healthy of %d desired", g.Name, healthy, g.Desired))
		}
	}
	add := func(name string, bad []string, warn bool, ok, next string) {
		if len(bad) == 0 {
			p.Checks = append(p.Checks, model.Check{Name: name, OK: true, Detail: ok})
			return
		}
		d := strings.Join(bad, "; ")
		if next != "" {
			d += ": " + next
		}
		p.Checks = append(p.Checks, model.Check{Name: name, Warn: warn, Detail: d})
	}
	add(CheckTemplate, legacy, false, "every group launches from a launch template", "")
	if len(ssm) > 0 {
		// RefreshPreferences.AutoRollback and RollbackInstanceRefresh (API reference): no
		// rollback for a group whose launch template takes its AMI from an SSM parameter.
		add(CheckAMIByID, ssm, false, "", "AWS cannot roll back an instance refresh of such a group (neither auto-rollback nor RollbackInstanceRefresh); create a template version with the AMI ID itself and point the group at it (`aws autoscaling update-auto-scaling-group --launch-template ...`), then plan again")
	}
	if len(overrides) > 0 {
		// LaunchTemplateOverrides (API reference): an override's own ImageId or launch
		// template is what instances of that type launch, whatever the group's template
		// says; the refresh would replace them with the old AMI and report success.
		add(CheckOverrides, overrides, false, "", "instances of those types keep launching their own AMI, so a rollout would leave them on the old release and still report success; remove the override's ImageId or launch template (`aws autoscaling update-auto-scaling-group --mixed-instances-policy ...`), then plan again")
	}
	if !skipRefresh {
		add(CheckNoRefresh, running, false, "no instance refresh is running", fmt.Sprintf("wait for it to finish, or roll it back with `adstage-ops rollback --service %s --env %s`", p.Service, p.Env))
	}
	if len(unread) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckRefreshHistory, Warn: true, Detail: "the instance refreshes could not be read, so a running rollout would not be seen (AWS refuses a second one): " + strings.Join(unread, "; ")})
	}
	add(CheckProcesses, suspended, false, "Launch and Terminate are not suspended", "")
	if !skipRefresh {
		add(CheckSetAside, aside, true, "no instance is in Standby or protected from scale in (the refresh is told to leave such instances as they are: StandbyInstances and ScaleInProtectedInstances Ignore)",
			"the refresh leaves them on the release they run (StandbyInstances and ScaleInProtectedInstances Ignore; AWS's default would hold the rollout an hour and fail it); return them to service or remove their protection to have them replaced")
	}
	add(CheckCapacity, short, true, "every group has its desired capacity healthy", "the rollout keeps the healthy capacity the group has now, not what it should have")
}

// ownImageOverrides lists the overrides of a group's mixed instances policy that launch from
// their own AMI or launch template rather than the group's template.
func ownImageOverrides(a *astypes.AutoScalingGroup) []string {
	m := a.MixedInstancesPolicy
	if m == nil || m.LaunchTemplate == nil {
		return nil
	}
	var out []string
	for _, ov := range m.LaunchTemplate.Overrides {
		what := aws.ToString(ov.InstanceType)
		if what == "" {
			what = "an instance requirements override"
		}
		switch {
		case ov.ImageId != nil && *ov.ImageId != "":
			out = append(out, fmt.Sprintf("%s launches AMI %s of its own", model.SafeText(what), model.SafeText(*ov.ImageId)))
		case ov.LaunchTemplateSpecification != nil:
			lt := ov.LaunchTemplateSpecification
			name := aws.ToString(lt.LaunchTemplateId)
			if name == "" {
				name = aws.ToString(lt.LaunchTemplateName)
			}
			out = append(out, fmt.Sprintf("%s launches from launch template %s version %s", model.SafeText(what), model.SafeText(name), model.SafeText(orDefault(aws.ToString(lt.Version)))))
		}
	}
	return out
}

// startedBy says who is changing the group, from the release note of the version its running
// refresh rolls out (AWS's refresh record does not name its caller): ", started 09:14 UTC by
// alice: ship 1a2b" or "" when no note says.
func (o *OperatorConsole) startedBy(ctx context.Context, f *groupFacts) string {
	if f.template == "" || f.refresh == nil || f.refresh.DesiredVersion == "" {
		return ""
	}
	v, err := describeVersion(ctx, o.c.EC2, f.template, f.refresh.DesiredVersion)
	if err != nil {
		return ""
	}
	n, ok := model.ParseReleaseNote(model.SafeText(aws.ToString(v.VersionDescription)))
	if !ok {
		return fmt.Sprintf(", started %s", f.refresh.StartedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	s := fmt.Sprintf(", started %s by %s (%s -> %s)", f.refresh.StartedAt.UTC().Format("2006-01-02 15:04 UTC"), model.ShortWho(n.Who), n.From, n.To)
	if n.Why != "" {
		s += ": " + n.Why
	}
	return s
}

// servingCounts counts, per group of the service, the instances in service that neither the
// group nor any load balancer reports unhealthy, from the inventory's snapshot (the plan's
// own reads see only the group's health check). With no snapshot yet, as in a one-shot CLI
// command, it takes one; if that fails, the check falls back to the group's health.
func (o *OperatorConsole) servingCounts(ctx context.Context, key model.ServiceKey) map[string]int {
	groups, ok := o.LastGroups(key)
	if !ok {
		if _, err := o.Snapshot(ctx); err != nil {
			return nil
		}
		groups, _ = o.LastGroups(key)
	}
	out := make(map[string]int, len(groups))
	for i := range groups {
		n := 0
		for j := range groups[i].Instances {
			// Not failing, rather than Serving: a balancer not read yet (state unknown) is no
			// evidence against the instance; the group's own health still counts.
			if in := &groups[i].Instances[j]; in.Lifecycle == model.InService && !in.Failing() {
				n++
			}
		}
		out[groups[i].Name] = n
	}
	return out
}

// PlanRollback plans the return of a service to its last known-good release: rolling back
// the running instance refreshes if there are any, else rolling out the newest earlier launch
// template version whose AMI differs from the current one (or the version asked for).
func (o *OperatorConsole) PlanRollback(ctx context.Context, req RollbackRequest) (model.Plan, error) {
	// An operator's reason (and label) is written where every operator reads it: data, never
	// terminal control.
	req.Reason = model.SafeText(req.Reason)
	now := o.opts.Now().UTC()
	if req.Service == "" || req.Env == "" {
		return model.Plan{}, fmt.Errorf("plan rollback: name the service and the environment")
	}
	what := fmt.Sprintf("plan rollback of %s/%s", req.Service, req.Env)
	// The reason goes into the rolled-back mark, an image tag: refused now rather than lost.
	m := model.Mark{Kind: model.MarkRolledBack, When: now, Env: req.Env, Who: o.who(ctx), Reason: req.Reason}
	if _, err := m.TagValue(); err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	groups, err := o.readService(ctx, req.Service, req.Env)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(groups) == 0 {
		return model.Plan{}, fmt.Errorf("%s: %w", what, o.noGroups(req.Service, req.Env))
	}
	args := []string{"rollback", "--service", req.Service, "--env", req.Env}
	if req.ToVersion != "" {
		args = append(args, "--to-version", req.ToVersion)
	}
	if req.Reason != "" {
		args = append(args, "--reason", req.Reason)
	}
	o.loadTimings(ctx, groups)
	var active []*groupFacts
	for _, f := range groups {
		if f.refresh.Active() {
			active = append(active, f)
		}
	}
	if len(active) > 0 && req.ToVersion == "" {
		p, err := o.planRefreshRollback(ctx, req, active, now)
		if err != nil {
			return model.Plan{}, fmt.Errorf("%s: %w", what, err)
		}
		p.CLI = cli(args...)
		return p, nil
	}
	p := o.rolloutPlan(model.ActionRollback, req.Service, req.Env, req.Reason, groups, now)
	p.CLI = cli(args...)
	p.Strategy = "roll out the previous release's launch template version; " + p.Strategy
	if err := o.previousReleases(ctx, &p, req, groups); err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	o.groupChecks(ctx, &p, groups, false)
	return p, nil
}

// planRefreshRollback plans RollbackInstanceRefresh on every group with an active refresh.
func (o *OperatorConsole) planRefreshRollback(ctx context.Context, req RollbackRequest, active []*groupFacts, now time.Time) (model.Plan, error) {
	p := o.rolloutPlan(model.ActionRollback, req.Service, req.Env, req.Reason, active, now)
	p.Strategy = "roll back the running instance refresh: AWS replaces the instances it already updated with the release the group was on; " + strategy(o.rollout())
	var targets []string
	var bad []string
	for i, f := range active {
		s := &p.Steps[i]
		s.RefreshID = f.refresh.ID
		s.ToVersion = s.Template.Version
		switch {
		case f.refresh.Status == "Cancelling" || f.refresh.Status == "RollbackInProgress":
			bad = append(bad, fmt.Sprintf("group %s: refresh %s is already %s: wait for it to end", f.g.Name, f.refresh.ID, f.refresh.Status))
		case f.refresh.DesiredVersion == "":
			bad = append(bad, fmt.Sprintf("group %s: refresh %s was started without a desired configuration, which AWS cannot roll back: cancel it (`aws autoscaling cancel-instance-refresh --auto-scaling-group-name %s`), then roll back to the previous release", f.g.Name, f.refresh.ID, f.g.Name))
		case f.g.LaunchTemplate != nil && !isNumeric(f.g.LaunchTemplate.Version):
			bad = append(bad, fmt.Sprintf("group %s follows launch template version %s, so AWS cannot roll its refresh back: cancel it (`aws autoscaling cancel-instance-refresh --auto-scaling-group-name %s`), then roll back to the previous release", f.g.Name, f.g.LaunchTemplate.Version, f.g.Name))
		}
		if f.refresh.DesiredVersion != "" && f.template != "" {
			v, err := describeVersion(ctx, o.c.EC2, f.template, f.refresh.DesiredVersion)
			if err != nil {
				return model.Plan{}, err
			}
			if v.LaunchTemplateData != nil {
				targets = append(targets, aws.ToString(v.LaunchTemplateData.ImageId))
				s.FromImage.ImageID = targets[len(targets)-1]
			}
		}
	}
	var ids []string
	for _, f := range active {
		ids = append(ids, f.image)
	}
	images, err := inventory.LookupImages(ctx, o.c.EC2, append(ids, targets...))
	if err != nil {
		return model.Plan{}, err
	}
	for i, f := range active {
		s := &p.Steps[i]
		if s.FromImage.ImageID != "" {
			s.FromImage = images.Ref(s.FromImage.ImageID, o.opts.Tags.Service)
		}
		s.ToImage = o.fromRef(f, images)
	}
	if len(bad) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckRollbackable, Detail: strings.Join(bad, "; ")})
	} else {
		var names []string
		for _, f := range active {
			names = append(names, f.g.Name+" ("+f.refresh.ID+" "+f.refresh.Status+")")
		}
		p.Checks = append(p.Checks, model.Check{Name: CheckRollbackable, OK: true, Detail: "rolling back the rollout of " + strings.Join(names, ", ")})
	}
	o.groupChecks(ctx, &p, active, true)
	return p, nil
}

func isNumeric(v string) bool {
	_, ok := awsapi.NumericVersion(v)
	return ok
}

// previousReleases fills each step's target from the group's release ledger: the version
// asked for, else the ledger's previous release (model.Ledger.Previous, the rule readiness
// uses too). It lists what it skipped and why; a target chosen without knowing that it was
// live must be confirmed; a target whose AMI is gone is refused with the releases that exist.
func (o *OperatorConsole) previousReleases(ctx context.Context, p *model.Plan, req RollbackRequest, groups []*groupFacts) error {
	var asked []inventory.LedgerGroup
	for _, f := range groups {
		lg := inventory.LedgerGroup{Name: f.g.Name, Image: f.image}
		if f.template != "" && f.version != 0 {
			lg.Template, lg.Version = f.template, itoa(f.version)
		}
		asked = append(asked, lg)
	}
	ledgers, err := inventory.ReadLedgers(ctx, o.c.EC2, o.c.AutoScaling, asked, o.opts.Now())
	if err != nil {
		return err
	}
	images := ledgers.Images
	var missing, gone, found, skipped, unverified, flagged []string
	for i, f := range groups {
		s := &p.Steps[i]
		s.FromImage = o.fromRef(f, images)
		if f.template == "" || f.version == 0 {
			continue // the launch template check refuses it
		}
		l := ledgers.Groups[i]
		var target model.LedgerEntry
		if req.ToVersion != "" {
			want, ok := awsapi.NumericVersion(req.ToVersion)
			e, found := l.Entry(want)
			switch {
			case !ok || !found:
				missing = append(missing, fmt.Sprintf("launch template %s of group %s has no version %s%s", f.template, f.g.Name, req.ToVersion, versionsHint(l)))
				continue
			case e.ImageID == f.image:
				missing = append(missing, fmt.Sprintf("group %s already launches %s (version %d runs the same AMI)%s", f.g.Name, f.image, e.Version, versionsHint(l)))
				continue
			}
			target = e
			switch e.State {
			case model.ReleaseWasLive:
			default:
				flagged = append(flagged, fmt.Sprintf("group %s: version %d is %s (%s)", f.g.Name, e.Version, e.State, e.Detail))
			}
			if images.State(e.ImageID) != string(ec2types.ImageStateAvailable) {
				state := images.State(e.ImageID)
				if state == "missing" {
					state = "deregistered"
				}
				gone = append(gone, fmt.Sprintf("version %d's AMI %s of group %s is %s%s", e.Version, e.ImageID, f.g.Name, state, versionsHint(l)))
			}
		} else {
			c := l.Previous()
			if !c.OK {
				missing = append(missing, inventory.TargetProblem(l, c, images))
				continue
			}
			target = c.Target
			for _, sk := range c.Skipped {
				skipped = append(skipped, fmt.Sprintf("group %s: v%d skipped: %s", f.g.Name, sk.Entry.Version, sk.Why))
			}
			if c.Unverified {
				why := "no instance refresh on record shows any earlier release live"
				if l.HistoryProblem != "" {
					why = l.HistoryProblem
				}
				unverified = append(unverified, fmt.Sprintf("group %s: version %d was chosen by version order, not because it is known to have run well (%s)", f.g.Name, c.Target.Version, why))
			}
			if why := inventory.TargetProblem(l, c, images); why != "" {
				gone = append(gone, why)
			}
		}
		s.ToVersion = itoa(target.Version)
		s.ToImage = images.Ref(target.ImageID, o.opts.Tags.Service)
		s.ToImage.ReleasedBy, s.ToImage.ReleasedAt = releasedBy(target.Release)
		found = append(found, fmt.Sprintf("group %s: version %d (%s), %s", f.g.Name, target.Version, target.ImageID, target.Detail))
	}
	switch {
	case len(missing) > 0:
		p.Checks = append(p.Checks, model.Check{Name: CheckPrevious, Detail: strings.Join(missing, "; ")})
	case len(found) > 0:
		p.Checks = append(p.Checks, model.Check{Name: CheckPrevious, OK: true, Detail: strings.Join(found, "; ")})
	}
	if len(skipped) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckSkipped, OK: true, Detail: strings.Join(skipped, "; ")})
	}
	if len(unverified) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckVerified, Warn: true, Detail: strings.Join(unverified, "; ") + ": confirm only if you know it ran well, or name a version with --to-version"})
	}
	if len(flagged) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckTargetState, Warn: true, Detail: strings.Join(flagged, "; ") + ": confirm only if you mean to return to it"})
	}
	if len(gone) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckRollbackImage, Detail: strings.Join(gone, "; ")})
	} else if len(missing) == 0 && len(found) > 0 {
		p.Checks = append(p.Checks, model.Check{Name: CheckRollbackImage, OK: true, Detail: "every target AMI is available"})
	}
	return nil
}

// versionsHint lists, for an error, the versions a rollback can name, with their state.
func versionsHint(l model.Ledger) string {
	if list := inventory.CandidateList(l, nil); list != "" {
		return "; versions you can name: " + list
	}
	return ""
}

// ReleaseOf is the image a service runs in an environment, read with that environment's
// clients and tag keys: what `promote --from-env` rolls out. A service whose groups launch
// different images has no one release to promote.
func ReleaseOf(ctx context.Context, c awsapi.ReadClients, tags model.TagKeys, service, env string) (string, error) {
	src, err := readService(ctx, c, tags, service, env)
	if err != nil {
		return "", fmt.Errorf("read the release of %s/%s: %w", service, env, err)
	}
	if len(src) == 0 {
		return "", fmt.Errorf("read the release of %s/%s: %w", service, env, noGroups(tags, service, env))
	}
	var found []string
	for _, f := range src {
		if f.image != "" && !slices.Contains(found, f.image) {
			found = append(found, f.image)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s/%s runs no launch template release to promote", service, env)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("%s/%s runs more than one release (%s): name the image with --image", service, env, strings.Join(found, ", "))
	}
}

// mergeTags adds to tags the ones of more whose keys it lacks.
func mergeTags(tags, more []ec2types.Tag) []ec2types.Tag {
	out := slices.Clone(tags)
	for _, t := range more {
		if !slices.ContainsFunc(out, func(x ec2types.Tag) bool { return aws.ToString(x.Key) == aws.ToString(t.Key) }) {
			out = append(out, t)
		}
	}
	return out
}
