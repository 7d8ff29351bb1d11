package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// Progress stages Execute reports.
const (
	StagePin      = "pin"              // a group on "$Latest"/"$Default" pinned to its version
	StageVersion  = "template-version" // a launch template version created
	StageRefresh  = "refresh"          // an instance refresh started, or its progress
	StageRollback = "rollback"         // a running refresh asked to roll back
	StageCancel   = "cancel"           // a running refresh asked to stop where it is
	StageImage    = "image"            // a baking image's progress
	StageMark     = "mark"             // an image marked (rolled back, bad, good)
	// StageStarted is sent once AWS has the whole action: from then on it goes on without us.
	StageStarted = "started"
	StageDone    = "done"
)

// maxPollFailures is how many reads of a running action in a row may fail (for another
// reason than throttling, which never stops the following) before Execute gives up following.
const maxPollFailures = 5

// describe names what a plan does, for errors and messages.
func describe(p model.Plan) string {
	switch p.Action {
	case model.ActionBake:
		if p.Bake != nil {
			return fmt.Sprintf("bake %s", p.Bake.InstanceID)
		}
	case model.ActionPromote:
		to := ""
		if len(p.Steps) > 0 {
			to = p.Steps[0].ToImage.ImageID
		}
		return fmt.Sprintf("promote %s/%s to %s", p.Service, p.Env, to)
	case model.ActionMark:
		if p.Mark != nil {
			return fmt.Sprintf("mark %s/%s version %d %s", p.Service, p.Env, p.Mark.Version, p.Mark.Mark.Kind)
		}
	}
	return fmt.Sprintf("%s %s/%s", p.Action, p.Service, p.Env)
}

// Execute carries out a confirmed plan. It refuses a blocked plan, and a rollout plan whose
// groups changed since it was made (a refresh started meanwhile). The AWS changes are made
// before it returns; the channel then streams their progress until they end or ctx ends.
func (o *OperatorConsole) Execute(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	if plan.Blocked() {
		err := refuse("%s: refused: %s", describe(plan), plan.FailureText())
		o.finish(o.event(ctx, plan, "refused"), "refused", err)
		return nil, err
	}
	switch plan.Action {
	case model.ActionBake:
		return o.executeBake(ctx, plan)
	case model.ActionPromote, model.ActionRollback, model.ActionCancel:
		return o.executeRollout(ctx, plan)
	case model.ActionMark:
		return o.executeMark(ctx, plan)
	}
	return nil, fmt.Errorf("execute %q: not an action adstage-ops knows", plan.Action)
}

// resultOf is the audit result of an action that ended with err: "unknown" when AWS may
// have carried it out (its answer was lost, or following it failed), else "failed".
func resultOf(err error) string {
	if awsapi.IsOutcomeUnknown(err) {
		return "unknown"
	}
	return "failed"
}

// unknownIf turns the error of a mutating call whose answer was lost (AWS may have carried
// it out) into an OutcomeUnknownError that says how to find out; other errors are returned
// as they are.
func unknownIf(err error, what, check string) error {
	if err == nil || !awsapi.MayHaveBeenCarriedOut(err) {
		return err
	}
	return &awsapi.OutcomeUnknownError{What: what, Check: check, Err: err}
}

// lookupContext is the context for finding out what a call whose answer was lost did: ctx,
// or, when ctx has ended (the operator interrupted it), a short one of its own.
func lookupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// finish writes an action's final audit line.
func (o *OperatorConsole) finish(e model.AuditEvent, result string, err error) error {
	t := o.opts.Now().UTC()
	e.Finished, e.Result = &t, result
	if err != nil {
		e.Error = err.Error()
	}
	return o.audit(e)
}

// start writes the "started" audit line. An action whose start cannot be recorded is not
// taken: the audit log promises every mutating action is in it.
func (o *OperatorConsole) start(e model.AuditEvent, what string) error {
	if err := o.audit(e); err != nil {
		return fmt.Errorf("%s: not started, the audit log cannot be written: %w", what, err)
	}
	return nil
}

// emitter sends progress without blocking past ctx.
type emitter struct {
	ctx context.Context
	ch  chan model.Progress
	now func() time.Time
}

func (e emitter) send(p model.Progress) bool {
	if p.Time.IsZero() {
		p.Time = e.now().UTC()
	}
	select {
	case e.ch <- p:
		return true
	case <-e.ctx.Done():
		return false
	}
}

// wait sleeps one poll interval; false when ctx ended.
func (o *OperatorConsole) wait(ctx context.Context) bool {
	select {
	case <-o.opts.After(o.pollEvery):
		return true
	case <-ctx.Done():
		return false
	}
}

// executeBake creates the image with its tags on the image and its snapshots, then follows
// it until it is available or failed.
func (o *OperatorConsole) executeBake(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	b := plan.Bake
	if b == nil || b.InstanceID == "" {
		return nil, fmt.Errorf("bake: the plan names no instance")
	}
	what := fmt.Sprintf("bake %s as %s", b.InstanceID, b.Name)
	ev := o.event(ctx, plan, "started")
	if err := o.start(ev, what); err != nil {
		return nil, err
	}
	var tags []ec2types.Tag
	add := func(k, v string) {
		if v != "" {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	add(o.opts.Tags.Service, plan.Service)
	add(model.TagSourceInstance, b.InstanceID)
	add(model.TagBakedBy, ev.Who)
	add(model.TagBakedAt, ev.Time.Format(time.RFC3339))
	add(model.TagLabel, b.Label)
	desc := fmt.Sprintf("baked by adstage-ops from %s", b.InstanceID)
	if plan.Reason != "" {
		desc += ": " + plan.Reason
	}
	in := &ec2.CreateImageInput{
		InstanceId:  aws.String(b.InstanceID),
		Name:        aws.String(b.Name),
		Description: aws.String(model.CutBytes(desc, 255)),
		NoReboot:    aws.Bool(b.NoReboot),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeImage, Tags: tags},
			{ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags},
		},
	}
	if b.StandbyGroup != "" {
		return o.bakeInStandby(ctx, plan, ev, in, what)
	}
	id, err := o.createImage(ctx, in)
	if err != nil {
		err = fmt.Errorf("%s: %w", what, err)
		o.finish(ev, resultOf(err), err)
		return nil, err
	}
	ev.To = id
	ch := make(chan model.Progress, 16)
	e := emitter{ctx: ctx, ch: ch, now: o.opts.Now}
	go func() {
		defer close(ch)
		if !e.send(model.Progress{Stage: StageStarted, Message: fmt.Sprintf("creating image %s (%s) from %s", id, b.Name, b.InstanceID)}) {
			return
		}
		o.followImage(ctx, e, ev, id, what, nil)
	}()
	return ch, nil
}

// createImage sends CreateImage and returns the new image's ID. CreateImage takes no client
// token, so a request whose answer was lost is not sent again: an SDK retry of it gets
// InvalidAMIName.Duplicate while the first one's image is being made. On that error, or
// when no answer came back, the image is looked up by its name (unique per account and
// region) and taken when it is this bake's (its source-instance tag, set at creation, names
// the instance). An image by that name from another instance is a real clash; no image
// after a lost answer leaves the outcome unknown.
func (o *OperatorConsole) createImage(ctx context.Context, in *ec2.CreateImageInput) (string, error) {
	out, err := o.c.EC2.CreateImage(ctx, in)
	if err == nil {
		return aws.ToString(out.ImageId), nil
	}
	dup := awsapi.IsCode(err, "InvalidAMIName.Duplicate")
	if !dup && !awsapi.MayHaveBeenCarriedOut(err) {
		return "", err
	}
	name, source := aws.ToString(in.Name), aws.ToString(in.InstanceId)
	check := fmt.Sprintf("`aws ec2 describe-images --owners self --filters Name=name,Values=%s`", shellQuote(name))
	lctx, cancel := lookupContext(ctx)
	defer cancel()
	id, other, lerr := o.imageByName(lctx, name, source)
	switch {
	case id != "":
		return id, nil
	case lerr != nil:
		return "", &awsapi.OutcomeUnknownError{What: "create image " + name, Check: check, Err: fmt.Errorf("%w; looking the image up by name failed too: %w", err, lerr)}
	case dup && other != "":
		return "", fmt.Errorf("the image name %s is taken by %s, which was not baked from %s: %w", name, other, source, err)
	case dup:
		// The name is taken but the image cannot be seen (yet): it may be this bake's.
		return "", &awsapi.OutcomeUnknownError{What: "create image " + name, Check: check, Err: err}
	}
	return "", &awsapi.OutcomeUnknownError{What: "create image " + name, Check: check, Err: err}
}

// imageByName finds the account's image by its name: its ID when its source-instance tag
// names source, else other is the ID of the image by that name made from something else.
func (o *OperatorConsole) imageByName(ctx context.Context, name, source string) (id, other string, err error) {
	out, err := o.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners:  []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{name}}},
	})
	if err != nil {
		return "", "", fmt.Errorf("look up image %s: %w", name, err)
	}
	for _, img := range out.Images {
		if aws.ToString(img.Name) != name {
			continue
		}
		if inventory.TagOf(img.Tags, model.TagSourceInstance) == source {
			return aws.ToString(img.ImageId), "", nil
		}
		other = aws.ToString(img.ImageId)
	}
	return "", other, nil
}

// bakeInStandby bakes an instance that serves in a group with a reboot: EnterStandby (the
// balancers drain it, the desired capacity drops by one so that nothing replaces it), wait
// until it is in Standby, CreateImage, follow the image, then ExitStandby. The instance
// returns to service whatever happens after it entered Standby, even when the caller stops
// following (then with a context of its own).
func (o *OperatorConsole) bakeInStandby(ctx context.Context, plan model.Plan, ev model.AuditEvent, in *ec2.CreateImageInput, what string) (<-chan model.Progress, error) {
	b := plan.Bake
	group := b.StandbyGroup
	_, err := o.c.AutoScaling.EnterStandby(ctx, &autoscaling.EnterStandbyInput{
		AutoScalingGroupName:           aws.String(group),
		InstanceIds:                    []string{b.InstanceID},
		ShouldDecrementDesiredCapacity: aws.Bool(true),
	})
	if err != nil {
		err = unknownIf(err, fmt.Sprintf("put %s in Standby in group %s", b.InstanceID, group),
			fmt.Sprintf("`aws autoscaling describe-auto-scaling-instances --instance-ids %s` (return it with `aws autoscaling exit-standby --auto-scaling-group-name %s --instance-ids %s`)", b.InstanceID, group, b.InstanceID))
		err = fmt.Errorf("%s: put %s in Standby in group %s before the reboot: %w", what, b.InstanceID, group, err)
		o.finish(ev, resultOf(err), err)
		return nil, err
	}
	ch := make(chan model.Progress, 16)
	e := emitter{ctx: ctx, ch: ch, now: o.opts.Now}
	exited := false
	exit := func() error {
		if exited {
			return nil
		}
		exited = true
		_, err := o.c.AutoScaling.ExitStandby(context.WithoutCancel(ctx), &autoscaling.ExitStandbyInput{AutoScalingGroupName: aws.String(group), InstanceIds: []string{b.InstanceID}})
		if err != nil {
			return fmt.Errorf("return %s to service in group %s: %w; run `aws autoscaling exit-standby --auto-scaling-group-name %s --instance-ids %s`", b.InstanceID, group, err, group, b.InstanceID)
		}
		return nil
	}
	go func() {
		defer close(ch)
		defer func() {
			if err := exit(); err != nil {
				e.send(model.Progress{Stage: StageImage, Message: err.Error(), Err: err})
			}
		}()
		if !e.send(model.Progress{Stage: StageStarted, Message: fmt.Sprintf("%s entering Standby in group %s (its load balancers drain it) before the reboot", b.InstanceID, group)}) {
			return
		}
		if err := o.waitStandby(ctx, group, b.InstanceID); err != nil {
			if ctx.Err() != nil {
				return
			}
			err = fmt.Errorf("%s: %w", what, err)
			o.finish(ev, "failed", err)
			e.send(model.Progress{Stage: StageImage, Message: err.Error(), Done: true, Err: err})
			return
		}
		id, err := o.createImage(ctx, in)
		if err != nil {
			err = fmt.Errorf("%s: %w", what, err)
			if xerr := exit(); xerr != nil {
				err = fmt.Errorf("%w; %w", err, xerr)
			}
			o.finish(ev, resultOf(err), err)
			e.send(model.Progress{Stage: StageImage, Message: err.Error(), Done: true, Err: err})
			return
		}
		ev.To = id
		if !e.send(model.Progress{Stage: StageImage, Message: fmt.Sprintf("creating image %s (%s) from %s", id, b.Name, b.InstanceID)}) {
			return
		}
		o.followImage(ctx, e, ev, id, what, exit)
	}()
	return ch, nil
}

// waitStandby waits until the instance is in Standby (its balancers have drained it).
func (o *OperatorConsole) waitStandby(ctx context.Context, group, id string) error {
	failures := 0
	for o.wait(ctx) {
		out, err := o.c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			if ctx.Err() != nil || awsapi.Throttled(err) {
				continue
			}
			if failures++; failures >= maxPollFailures {
				return fmt.Errorf("follow %s into Standby: %w", id, err)
			}
			continue
		}
		failures = 0
		for _, g := range out.AutoScalingGroups {
			for _, in := range g.Instances {
				if aws.ToString(in.InstanceId) != id {
					continue
				}
				switch in.LifecycleState {
				case astypes.LifecycleStateStandby:
					return nil
				case astypes.LifecycleStateEnteringStandby, astypes.LifecycleStateInService:
				default:
					return fmt.Errorf("%s is %s, not entering Standby: not baked", id, in.LifecycleState)
				}
			}
		}
	}
	return ctx.Err()
}

// followImage streams an image's state and snapshot progress until it is available or failed.
// atEnd, when not nil, runs once the image is available or failed, before the last audit line
// (a bake in Standby returns the instance to service there).
func (o *OperatorConsole) followImage(ctx context.Context, e emitter, ev model.AuditEvent, id, what string, atEnd func() error) {
	end := func(err error) error {
		if atEnd == nil {
			return err
		}
		if xerr := atEnd(); xerr != nil {
			if err == nil {
				return xerr
			}
			return fmt.Errorf("%w; %w", err, xerr)
		}
		return err
	}
	failures := 0
	last := model.Progress{Percent: -1}
	for o.wait(ctx) {
		img, pct, err := o.readImage(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if awsapi.Throttled(err) || awsapi.IsCode(err, "InvalidAMIID.NotFound") {
				// Throttled reads are retried; a just-created AMI may not be visible yet.
				continue
			}
			if failures++; failures >= maxPollFailures {
				err = fmt.Errorf("%s: stopped following: %w", what, &awsapi.OutcomeUnknownError{
					What: "image " + id, Check: fmt.Sprintf("`aws ec2 describe-images --image-ids %s` (it may still become available)", id), Err: err})
				o.finish(ev, resultOf(err), err)
				e.send(model.Progress{Stage: StageImage, Message: "stopped following", Done: true, Err: err})
				return
			}
			continue
		}
		failures = 0
		state := string(img.State)
		switch img.State {
		case ec2types.ImageStateAvailable:
			msg := fmt.Sprintf("image %s is available", id)
			if xerr := end(nil); xerr != nil {
				msg += " (" + xerr.Error() + ")"
			}
			err := o.finish(ev, "succeeded", nil)
			if err != nil {
				msg += " (audit log: " + err.Error() + ")"
			}
			e.send(model.Progress{Stage: StageImage, Percent: 100, Message: msg, Done: true})
			return
		case ec2types.ImageStatePending:
			p := model.Progress{Stage: StageImage, Percent: pct, Message: fmt.Sprintf("image %s pending, snapshots %d%%", id, pct)}
			if p.Percent != last.Percent || p.Message != last.Message {
				last = p
				if !e.send(p) {
					return
				}
			}
		default:
			reason := state
			if img.StateReason != nil && img.StateReason.Message != nil {
				reason += ": " + model.SafeText(aws.ToString(img.StateReason.Message))
			}
			err := end(fmt.Errorf("%s: image %s is %s", what, id, reason))
			o.finish(ev, "failed", err)
			e.send(model.Progress{Stage: StageImage, Message: "image " + reason, Done: true, Err: err})
			return
		}
	}
}

// readImage reads an image and the lowest progress of its snapshots.
func (o *OperatorConsole) readImage(ctx context.Context, id string) (ec2types.Image, int, error) {
	out, err := o.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		return ec2types.Image{}, 0, err
	}
	if len(out.Images) == 0 {
		return ec2types.Image{}, 0, fmt.Errorf("image %s not found yet", id)
	}
	img := out.Images[0]
	if img.State != ec2types.ImageStatePending {
		return img, 100, nil
	}
	var snaps []string
	for _, bd := range img.BlockDeviceMappings {
		if bd.Ebs != nil && bd.Ebs.SnapshotId != nil {
			snaps = append(snaps, *bd.Ebs.SnapshotId)
		}
	}
	if len(snaps) == 0 {
		return img, 0, nil
	}
	sout, err := o.c.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
	if err != nil {
		return img, 0, err
	}
	low := 100
	for _, s := range sout.Snapshots {
		var pct int
		fmt.Sscanf(strings.TrimSuffix(aws.ToString(s.Progress), "%"), "%d", &pct)
		low = min(low, pct)
	}
	if len(sout.Snapshots) == 0 {
		low = 0
	}
	return img, low, nil
}

// groupChange records what Execute changed on one group, for a precise report when a rollout
// fails half-way.
type groupChange struct {
	group   string
	done    []string
	refresh string // the refresh to follow
	// want is the status that ends the refresh well: Successful ("" too), RollbackSuccessful
	// after RollbackInstanceRefresh, Cancelled after CancelInstanceRefresh.
	want string
}

func (c *groupChange) String() string {
	return c.group + " (" + strings.Join(c.done, ", ") + ")"
}

// partial describes which groups changed and which did not when a rollout fails half-way.
func partial(changes []*groupChange, plan model.Plan) string {
	var changed, untouched []string
	seen := map[string]bool{}
	for _, c := range changes {
		if len(c.done) > 0 {
			changed = append(changed, c.String())
			seen[c.group] = true
		}
	}
	for _, s := range plan.Steps {
		if !seen[s.Group] {
			untouched = append(untouched, s.Group)
		}
	}
	out := "changed: none"
	if len(changed) > 0 {
		out = "changed: " + strings.Join(changed, "; ")
	}
	if len(untouched) > 0 {
		out += "; not changed: " + strings.Join(untouched, ", ")
	} else {
		out += "; not changed: none"
	}
	return out
}

// executeRollout checks that nothing moved since the plan, then per group pins the known-good
// version, creates the new version (promote) and starts the refresh (or rolls back or cancels
// the running one), and follows the refreshes. It stops at the first group that fails, and
// the error names the groups already changed and those not.
func (o *OperatorConsole) executeRollout(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	what := describe(plan)
	if len(plan.Steps) == 0 {
		return nil, fmt.Errorf("%s: the plan has no group to change", what)
	}
	facts, err := o.recheck(ctx, plan)
	if err != nil {
		err = fmt.Errorf("%s: %w", what, err)
		result := "refused"
		if !IsRefusal(err) {
			result = "failed" // the re-check could not read AWS
		}
		o.finish(o.event(ctx, plan, result), result, err)
		return nil, err
	}
	ev := o.event(ctx, plan, "started")
	if err := o.start(ev, what); err != nil {
		return nil, err
	}
	var pre []model.Progress
	var changes []*groupChange
	created := map[string]int64{} // template@source -> new version, shared by groups on one template
	for i := range plan.Steps {
		s := &plan.Steps[i]
		c := &groupChange{group: s.Group}
		changes = append(changes, c)
		if err := o.changeGroup(ctx, plan, s, facts[s.Group], c, created, &pre); err != nil {
			err = fmt.Errorf("%s: group %s: %w (%s)", what, s.Group, err, partial(changes, plan))
			o.finish(ev, resultOf(err), err)
			return nil, err
		}
		o.Watch(s.Group)
	}
	o.Forget(model.ServiceKey{Name: plan.Service, Env: plan.Env})
	if plan.Action == model.ActionRollback {
		pre = append(pre, o.markLeft(ctx, plan)...)
	}
	ch := make(chan model.Progress, 16+len(pre))
	e := emitter{ctx: ctx, ch: ch, now: o.opts.Now}
	for _, p := range pre {
		p.Time = o.opts.Now().UTC()
		ch <- p
	}
	go func() {
		defer close(ch)
		msg := fmt.Sprintf("AWS is rolling out %d group(s); the rollout goes on if the console closes", len(changes))
		if plan.Action == model.ActionCancel {
			msg = fmt.Sprintf("AWS is cancelling the rollout of %d group(s); the cancel goes on if the console closes", len(changes))
		}
		if !e.send(model.Progress{Stage: StageStarted, Message: msg}) {
			return
		}
		o.followRefreshes(ctx, e, ev, changes, what)
	}()
	return ch, nil
}

// refusal is a precondition that does not hold at Execute time (as opposed to a read or a
// change that failed): nothing was sent.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(format string, args ...any) error { return &refusal{fmt.Errorf(format, args...)} }

// IsRefusal reports whether Execute refused the plan before sending anything (a failed
// precondition, or something that changed since the plan), as opposed to failing half-way.
// The CLI exits with its "refused" code for these.
func IsRefusal(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

// recheck reads the service again and refuses when a step's group is gone, a refresh started
// since the plan, the refresh a rollback reverses has ended, the group's launch template
// version moved, or a promote's image is no longer available.
func (o *OperatorConsole) recheck(ctx context.Context, plan model.Plan) (map[string]*groupFacts, error) {
	groups, err := o.readService(ctx, plan.Service, plan.Env)
	if err != nil {
		return nil, err
	}
	by := map[string]*groupFacts{}
	for _, f := range groups {
		by[f.g.Name] = f
	}
	for _, s := range plan.Steps {
		f, ok := by[s.Group]
		switch {
		case !ok:
			return nil, refuse("group %s is no longer part of %s/%s: plan again", s.Group, plan.Service, plan.Env)
		case f.template == "" && plan.Action != model.ActionCancel:
			return nil, refuse("group %s uses launch configuration %s: move it to a launch template first", s.Group, f.g.LaunchConfig)
		case s.RefreshID != "":
			if f.refresh == nil || f.refresh.ID != s.RefreshID || !f.refresh.Active() {
				status := "gone"
				if f.refresh != nil && f.refresh.ID == s.RefreshID {
					status = f.refresh.Status
				}
				return nil, refuse("the rollout of group %s (refresh %s) is no longer running (%s): plan the %s again", s.Group, s.RefreshID, status, plan.Action)
			}
			if plan.Action == model.ActionCancel && (f.refresh.Status == statusCancelling || f.refresh.Status == statusRollbackInProgress) {
				return nil, refuse("the rollout of group %s (refresh %s) is %s since the plan was made: plan the cancel again", s.Group, s.RefreshID, f.refresh.Status)
			}
		case f.refresh.Active():
			return nil, refuse("group %s: instance refresh %s (%s, %d%%) started after the plan was made; wait for it or roll it back: %w", s.Group, f.refresh.ID, f.refresh.Status, f.refresh.Percent, awsapi.ErrRefreshRunning)
		case s.Template.Version != "" && itoa(f.version) != s.Template.Version:
			return nil, refuse("group %s now launches launch template %s version %d, not version %s as planned: plan again", s.Group, f.template, f.version, s.Template.Version)
		}
	}
	if plan.Action == model.ActionPromote {
		to := plan.Steps[0].ToImage.ImageID
		images, err := inventory.LookupImages(ctx, o.c.EC2, []string{to})
		if err != nil {
			return nil, err
		}
		if st := images.State(to); st != string(ec2types.ImageStateAvailable) {
			return nil, refuse("image %s is %s since the plan was made", to, st)
		}
	}
	return by, nil
}

// changeGroup makes one step's AWS changes, recording each in c.
func (o *OperatorConsole) changeGroup(ctx context.Context, plan model.Plan, s *model.GroupStep, f *groupFacts, c *groupChange, created map[string]int64, pre *[]model.Progress) error {
	if plan.Action == model.ActionCancel {
		return o.cancelRefresh(ctx, s, c, pre)
	}
	if s.RefreshID != "" {
		out, err := o.c.AutoScaling.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String(s.Group)})
		if err != nil {
			return fmt.Errorf("roll back instance refresh %s: %w", s.RefreshID, unknownIf(err, "roll back instance refresh "+s.RefreshID, refreshCheck(s.Group)))
		}
		c.refresh, c.want = s.RefreshID, "RollbackSuccessful"
		if id := aws.ToString(out.InstanceRefreshId); id != "" {
			c.refresh = id
		}
		c.done = append(c.done, "refresh "+c.refresh+" rolling back")
		*pre = append(*pre, model.Progress{Group: s.Group, Stage: StageRollback, Message: fmt.Sprintf("rolling back refresh %s to %s", c.refresh, s.ToImage.ImageID)})
		return nil
	}
	// 1. Record and pin the known-good version, so that the refresh's auto-rollback (and any
	// later rollback) returns to it.
	spec := inventory.LaunchTemplateOf(&f.raw)
	if spec == nil {
		return fmt.Errorf("the group has no launch template")
	}
	current, was := itoa(f.version), orDefault(aws.ToString(spec.Version))
	if !isNumeric(was) {
		if err := o.pin(ctx, f, current); err != nil {
			return fmt.Errorf("pin launch template %s to version %s: %w", f.template, current, unknownIf(err, "pin group "+s.Group+" to version "+current,
				fmt.Sprintf("`aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names %s`", s.Group)))
		}
		c.done = append(c.done, fmt.Sprintf("pinned from %s to version %s", was, current))
		*pre = append(*pre, model.Progress{Group: s.Group, Stage: StagePin, Message: fmt.Sprintf("pinned to launch template version %s (was %s)", current, was)})
	}
	// 2. The version to roll out: a new one from the current (promote), or the earlier one.
	version := s.ToVersion
	if plan.Action == model.ActionPromote {
		key := string(f.template) + "@" + current
		n, ok := created[key]
		if !ok {
			note := model.ReleaseNote{Who: o.who(ctx), When: o.opts.Now().UTC(), From: f.image, To: s.ToImage.ImageID, Why: plan.Reason}
			in := &ec2.CreateLaunchTemplateVersionInput{
				SourceVersion:      aws.String(current),
				VersionDescription: aws.String(note.String()),
				LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(s.ToImage.ImageID)},
			}
			in.LaunchTemplateId, in.LaunchTemplateName = f.template.Ref()
			out, err := o.c.EC2.CreateLaunchTemplateVersion(ctx, in)
			if err != nil {
				return fmt.Errorf("create launch template %s version from %s with %s: %w", f.template, current, s.ToImage.ImageID, unknownIf(err, "create a version of launch template "+f.template.String(),
					fmt.Sprintf("`aws ec2 describe-launch-template-versions --launch-template-id %s --versions '$Latest'` (a version made then was never rolled out)", f.template)))
			}
			if out.LaunchTemplateVersion == nil || aws.ToInt64(out.LaunchTemplateVersion.VersionNumber) == 0 {
				return fmt.Errorf("create launch template %s version: AWS returned no version number", f.template)
			}
			n = aws.ToInt64(out.LaunchTemplateVersion.VersionNumber)
			created[key] = n
			c.done = append(c.done, "launch template version "+itoa(n)+" created")
			*pre = append(*pre, model.Progress{Group: s.Group, Stage: StageVersion, Message: fmt.Sprintf("created launch template %s version %d (%s -> %s)", f.template, n, f.image, s.ToImage.ImageID)})
		}
		version = itoa(n)
	}
	if version == "" {
		return fmt.Errorf("the plan names no launch template version to roll out")
	}
	// 3. The refresh names the version; the group itself keeps the known-good one until the
	// refresh succeeds.
	id, err := o.startRefresh(ctx, f, version)
	if err != nil {
		return err
	}
	c.refresh = id
	c.done = append(c.done, "refresh "+id+" started")
	*pre = append(*pre, model.Progress{Group: s.Group, Stage: StageRefresh, Message: fmt.Sprintf("instance refresh %s started: version %s (%s)", id, version, s.ToImage.ImageID)})
	return nil
}

func orDefault(v string) string {
	if v == "" {
		return "$Default"
	}
	return v
}

// templateSpec names a template by ID when known (AWS refuses both ID and name).
func templateSpec(f *groupFacts, version string) *astypes.LaunchTemplateSpecification {
	spec := &astypes.LaunchTemplateSpecification{Version: aws.String(version)}
	spec.LaunchTemplateId, spec.LaunchTemplateName = f.template.Ref()
	return spec
}

// mixedPolicy is a mixed instances policy that changes only the launch template version.
// Everything a request leaves out of the policy AWS keeps as it is, whereas sending back what
// DescribeAutoScalingGroups returned would set it: an InstancesDistribution carrying
// OnDemandBaseCapacity or OnDemandPercentageAboveBaseCapacity removes the group's
// DistributionSegments (UpdateAutoScalingGroupInput.MixedInstancesPolicy, API reference),
// and a refresh applies its desired configuration to the group when it succeeds.
func mixedPolicy(f *groupFacts, version string) *astypes.MixedInstancesPolicy {
	return &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{LaunchTemplateSpecification: templateSpec(f, version)}}
}

// pin points the group at a numeric launch template version.
func (o *OperatorConsole) pin(ctx context.Context, f *groupFacts, version string) error {
	in := &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(f.g.Name)}
	if f.raw.LaunchTemplate == nil && f.raw.MixedInstancesPolicy != nil {
		in.MixedInstancesPolicy = mixedPolicy(f, version)
	} else {
		in.LaunchTemplate = templateSpec(f, version)
	}
	_, err := o.c.AutoScaling.UpdateAutoScalingGroup(ctx, in)
	return err
}

// cancelRefresh asks AWS to stop a group's running refresh where it is. It waits for the
// launches and terminations in flight (AWS's default, said explicitly), so that no instance is
// left half-launched or half-drained.
func (o *OperatorConsole) cancelRefresh(ctx context.Context, s *model.GroupStep, c *groupChange, pre *[]model.Progress) error {
	out, err := o.c.AutoScaling.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{
		AutoScalingGroupName:          aws.String(s.Group),
		WaitForTransitioningInstances: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("cancel instance refresh %s: %w", s.RefreshID, unknownIf(err, "cancel instance refresh "+s.RefreshID, refreshCheck(s.Group)))
	}
	c.refresh, c.want = s.RefreshID, "Cancelled"
	if id := aws.ToString(out.InstanceRefreshId); id != "" {
		c.refresh = id
	}
	c.done = append(c.done, "refresh "+c.refresh+" cancelling")
	*pre = append(*pre, model.Progress{Group: s.Group, Stage: StageCancel, Percent: int(s.RefreshPercent),
		Message: fmt.Sprintf("cancelling refresh %s at %d%%: %d instances stay on %s, %d on %s", c.refresh, s.RefreshPercent, s.OnTo, orUnknown(s.ToImage.ImageID), s.OnFrom, orUnknown(s.FromImage.ImageID))})
	return nil
}

// startRefresh starts an instance refresh whose desired configuration names the version.
func (o *OperatorConsole) startRefresh(ctx context.Context, f *groupFacts, version string) (string, error) {
	prefs := o.rollout()
	warmup := prefs.InstanceWarmup
	if warmup <= 0 {
		warmup = f.g.Warmup
	}
	in := &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(f.g.Name),
		Strategy:             astypes.RefreshStrategyRolling,
		DesiredConfiguration: &astypes.DesiredConfiguration{},
		Preferences: &astypes.RefreshPreferences{
			MinHealthyPercentage: aws.Int32(prefs.MinHealthyPercentage),
			MaxHealthyPercentage: aws.Int32(prefs.MaxHealthyPercentage),
			SkipMatching:         aws.Bool(prefs.SkipMatching),
			AutoRollback:         aws.Bool(prefs.AutoRollback),
			// AWS's default (Wait) holds the refresh an hour on such instances and then fails
			// it; the plan lists them (CheckSetAside).
			StandbyInstances:          astypes.StandbyInstancesIgnore,
			ScaleInProtectedInstances: astypes.ScaleInProtectedInstancesIgnore,
		},
	}
	if warmup > 0 {
		in.Preferences.InstanceWarmup = aws.Int32(warmup)
	}
	if f.raw.LaunchTemplate == nil && f.raw.MixedInstancesPolicy != nil {
		in.DesiredConfiguration.MixedInstancesPolicy = mixedPolicy(f, version)
	} else {
		in.DesiredConfiguration.LaunchTemplate = templateSpec(f, version)
	}
	out, err := o.c.AutoScaling.StartInstanceRefresh(ctx, in)
	if err == nil {
		return aws.ToString(out.InstanceRefreshId), nil
	}
	// StartInstanceRefresh takes no client token either: a retry after a lost answer gets
	// InstanceRefreshInProgress for the refresh the first request started. Ours is the running
	// refresh whose desired configuration names the version we just made (or chose).
	running := awsapi.IsCode(err, "InstanceRefreshInProgress")
	if running || awsapi.MayHaveBeenCarriedOut(err) {
		lctx, cancel := lookupContext(ctx)
		id, lerr := o.ourRefresh(lctx, f, version)
		cancel()
		switch {
		case id != "":
			return id, nil
		case lerr != nil && !running:
			err = fmt.Errorf("%w; reading the group's refreshes failed too: %w", err, lerr)
		}
	}
	if running {
		return "", fmt.Errorf("start instance refresh to version %s: %w: %w", version, awsapi.ErrRefreshRunning, err)
	}
	return "", fmt.Errorf("start instance refresh to version %s: %w", version, unknownIf(err, fmt.Sprintf("start an instance refresh of group %s to version %s", f.g.Name, version), refreshCheck(f.g.Name)))
}

// ourRefresh is the ID of the group's running instance refresh when its desired
// configuration names the template's version, "" when none does.
func (o *OperatorConsole) ourRefresh(ctx context.Context, f *groupFacts, version string) (string, error) {
	r, err := inventory.ReadRefresh(ctx, o.c.AutoScaling, f.g.Name)
	if err != nil || r == nil {
		return "", err
	}
	if !inventory.RefreshOf(r, f.template).Active() || r.DesiredConfiguration == nil {
		return "", nil
	}
	spec := r.DesiredConfiguration.LaunchTemplate
	if mp := r.DesiredConfiguration.MixedInstancesPolicy; spec == nil && mp != nil && mp.LaunchTemplate != nil {
		spec = mp.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil || aws.ToString(spec.Version) != version {
		return "", nil
	}
	id, name := f.template.Ref()
	if (id != nil && aws.ToString(spec.LaunchTemplateId) == *id) || (name != nil && aws.ToString(spec.LaunchTemplateName) == *name) {
		return aws.ToString(r.InstanceRefreshId), nil
	}
	return "", nil
}

// refreshCheck is how to see a group's instance refreshes.
func refreshCheck(group string) string {
	return fmt.Sprintf("`aws autoscaling describe-instance-refreshes --auto-scaling-group-name %s`", group)
}

// followRefreshes streams every group's refresh until all have ended or ctx ends, then writes
// the final audit line. Throttled reads never stop it.
func (o *OperatorConsole) followRefreshes(ctx context.Context, e emitter, ev model.AuditEvent, changes []*groupChange, what string) {
	type state struct {
		c        *groupChange
		last     model.Progress
		failures int
		throttle bool
		ended    bool
		ok       bool
		lost     bool // stopped following: the outcome is unknown
		outcome  string
	}
	states := make([]*state, len(changes))
	for i, c := range changes {
		states[i] = &state{c: c, last: model.Progress{Percent: -1}}
	}
	for o.wait(ctx) {
		pending := 0
		for _, st := range states {
			if st.ended {
				continue
			}
			r, err := o.readRefreshByID(ctx, st.c.group, st.c.refresh)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if awsapi.Throttled(err) {
					if !st.throttle {
						st.throttle = true
						if !e.send(model.Progress{Group: st.c.group, Stage: StageRefresh, Percent: max(st.last.Percent, 0), Message: "AWS is throttling reads; still following the rollout"}) {
							return
						}
					}
					pending++
					continue
				}
				if st.failures++; st.failures >= maxPollFailures {
					st.ended, st.lost = true, true
					st.outcome = fmt.Sprintf("%s: stopped following refresh %s (it goes on in AWS; check %s): %v", st.c.group, st.c.refresh, refreshCheck(st.c.group), err)
					continue
				}
				pending++
				continue
			}
			st.failures, st.throttle = 0, false
			p := model.Progress{Group: st.c.group, Stage: StageRefresh, Percent: int(r.Percent), Message: refreshMessage(r)}
			if p.Percent != st.last.Percent || p.Message != st.last.Message {
				st.last = p
				if !e.send(p) {
					return
				}
			}
			if r.Active() {
				pending++
				continue
			}
			st.ended = true
			want := st.c.want
			if want == "" {
				want = "Successful"
			}
			st.ok = r.Status == want
			st.outcome = fmt.Sprintf("%s: refresh %s %s", st.c.group, r.ID, r.Status)
			if r.StatusReason != "" {
				st.outcome += " (" + r.StatusReason + ")"
			}
		}
		if pending > 0 {
			continue
		}
		var failed, all []string
		lost, reported := 0, 0
		for _, st := range states {
			all = append(all, st.outcome)
			if !st.ok {
				failed = append(failed, st.outcome)
				if st.lost {
					lost++
				} else {
					reported++
				}
			}
		}
		if len(failed) == 0 {
			aerr := o.finish(ev, "succeeded", nil)
			msg := "finished: " + strings.Join(all, "; ")
			if aerr != nil {
				msg += " (audit log: " + aerr.Error() + ")"
			}
			e.send(model.Progress{Stage: StageDone, Percent: 100, Message: msg, Done: true})
			return
		}
		err := fmt.Errorf("%s: %s", what, strings.Join(all, "; "))
		if reported == 0 && lost > 0 {
			// Every group that did not end well is one we lost sight of: AWS may finish it.
			err = &awsapi.OutcomeUnknownError{What: what, Check: fmt.Sprintf("`adstage-ops status --service %s --env %s`", ev.Service, ev.Env), Err: err}
		}
		o.finish(ev, resultOf(err), err)
		e.send(model.Progress{Stage: StageDone, Message: strings.Join(failed, "; "), Done: true, Err: err})
		return
	}
}

// readRefreshByID reads one instance refresh of a group.
func (o *OperatorConsole) readRefreshByID(ctx context.Context, group, id string) (*model.Refresh, error) {
	out, err := o.c.AutoScaling.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(group),
		InstanceRefreshIds:   []string{id},
	})
	if err != nil {
		return nil, fmt.Errorf("read instance refresh %s of %s: %w", id, group, err)
	}
	for i := range out.InstanceRefreshes {
		r := &out.InstanceRefreshes[i]
		if aws.ToString(r.InstanceRefreshId) == id {
			return inventory.RefreshOf(r, ""), nil
		}
	}
	return nil, fmt.Errorf("read instance refresh %s of %s: AWS does not list it", id, group)
}

// refreshMessage is one line about a refresh's progress.
func refreshMessage(r *model.Refresh) string {
	msg := fmt.Sprintf("%s %d%%", r.Status, r.Percent)
	if r.Active() {
		msg += fmt.Sprintf(", %d to update", r.InstancesToUpdate)
	}
	if r.StatusReason != "" {
		msg += ": " + r.StatusReason
	}
	return msg
}
