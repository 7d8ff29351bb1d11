package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// Checks a mark plan makes.
const (
	CheckMarkVersion = "release exists"
	CheckMarkReason  = "reason fits"
	CheckMarkImage   = "image can be marked"
)

// PlanMark plans marking the image of one release bad or good. The mark is a tag on the
// image (model.TagMark): every operator's ledger reads it, and a rollback never returns to a
// release marked bad.
func (o *OperatorConsole) PlanMark(ctx context.Context, req MarkRequest) (model.Plan, error) {
	// An operator's reason (and label) is written where every operator reads it: data, never
	// terminal control.
	req.Reason = model.SafeText(req.Reason)
	now := o.opts.Now().UTC()
	if req.Service == "" || req.Env == "" {
		return model.Plan{}, fmt.Errorf("plan mark: name the service and the environment")
	}
	if req.Kind != model.MarkBad && req.Kind != model.MarkGood {
		return model.Plan{}, fmt.Errorf("plan mark: say whether the release is bad or good")
	}
	what := fmt.Sprintf("plan mark of %s/%s version %d", req.Service, req.Env, req.Version)
	groups, err := o.readService(ctx, req.Service, req.Env)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(groups) == 0 {
		return model.Plan{}, fmt.Errorf("%s: %w", what, o.noGroups(req.Service, req.Env))
	}
	id, err := o.Identity(ctx)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	mark := model.Mark{Kind: req.Kind, When: now, Env: req.Env, Who: id.ARN, Reason: req.Reason}
	p := model.Plan{
		Action: model.ActionMark, Service: req.Service, Env: req.Env, Production: o.opts.Production(req.Env),
		Reason: req.Reason, CreatedAt: now, Mark: &model.MarkSpec{Mark: mark, Version: req.Version},
		Strategy: fmt.Sprintf("tag the release's image %s=%s;...; every operator's ledger reads it", model.TagMark, req.Kind),
	}
	args := []string{"mark", "--service", req.Service, "--env", req.Env, "--version", itoa(req.Version), string(req.Kind)}
	if req.Reason != "" {
		args = append(args, "--reason", req.Reason)
	}
	p.CLI = cli(args...)

	var asked []inventory.LedgerGroup
	for _, f := range groups {
		lg := inventory.LedgerGroup{Name: f.g.Name, Image: f.image}
		if f.template != "" {
			lg.Template, lg.Version = f.template, itoa(f.version)
		}
		asked = append(asked, lg)
	}
	ledgers, err := inventory.ReadLedgers(ctx, o.c.EC2, o.c.AutoScaling, asked, now)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	var found []string
	for _, l := range ledgers.Groups {
		if e, ok := l.Entry(req.Version); ok && e.ImageID != "" {
			if !slices.Contains(p.Mark.Images, e.ImageID) {
				p.Mark.Images = append(p.Mark.Images, e.ImageID)
			}
			found = append(found, fmt.Sprintf("group %s: version %d is %s (%s), %s", l.Group, e.Version, e.ImageID, e.State, e.Detail))
		}
	}
	if len(found) == 0 {
		var hint string
		if len(ledgers.Groups) > 0 {
			hint = versionsHint(ledgers.Groups[0])
		}
		p.Checks = append(p.Checks, model.Check{Name: CheckMarkVersion, Detail: fmt.Sprintf("no launch template of %s/%s has a version %d%s", req.Service, req.Env, req.Version, hint)})
		return p, nil
	}
	p.Checks = append(p.Checks, model.Check{Name: CheckMarkVersion, OK: true, Detail: strings.Join(found, "; ")})
	if _, err := mark.TagValue(); err != nil {
		p.Checks = append(p.Checks, model.Check{Name: CheckMarkReason, Detail: err.Error()})
	}
	var bad []string
	var shared []string
	for _, img := range p.Mark.Images {
		switch raw, ok := ledgers.Images[img]; {
		case !ok:
			bad = append(bad, fmt.Sprintf("image %s no longer exists (deregistered): there is nothing to mark, and no rollback can return to it", img))
		case id.Account != "" && aws.ToString(raw.OwnerId) != "" && aws.ToString(raw.OwnerId) != id.Account:
			shared = append(shared, fmt.Sprintf("image %s belongs to account %s", img, aws.ToString(raw.OwnerId)))
		}
	}
	switch {
	case len(bad) > 0:
		p.Checks = append(p.Checks, model.Check{Name: CheckMarkImage, Detail: strings.Join(bad, "; ")})
	case len(shared) > 0:
		p.Checks = append(p.Checks, model.Check{Name: CheckMarkImage, Warn: true, Detail: strings.Join(shared, "; ") + ": a tag on an image shared with this account is seen only in this account, and AWS may refuse it; the owner can mark it in theirs"})
	default:
		p.Checks = append(p.Checks, model.Check{Name: CheckMarkImage, OK: true, Detail: strings.Join(p.Mark.Images, ", ") + " owned by this account"})
	}
	return p, nil
}

// executeMark writes the mark on the release's images.
func (o *OperatorConsole) executeMark(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	what := describe(plan)
	if plan.Mark == nil || len(plan.Mark.Images) == 0 {
		return nil, fmt.Errorf("%s: the plan names no image", what)
	}
	ev := o.event(ctx, plan, "started")
	ev.To = strings.Join(plan.Mark.Images, ",")
	if err := o.start(ev, what); err != nil {
		return nil, err
	}
	if err := o.writeMark(ctx, plan.Mark.Mark, plan.Mark.Images); err != nil {
		err = fmt.Errorf("%s: %w", what, err)
		o.finish(ev, resultOf(err), err)
		return nil, err
	}
	o.Forget(model.ServiceKey{Name: plan.Service, Env: plan.Env})
	ch := make(chan model.Progress, 1)
	msg := fmt.Sprintf("marked %s: %s", strings.Join(plan.Mark.Images, ", "), plan.Mark.Mark)
	if aerr := o.finish(ev, "succeeded", nil); aerr != nil {
		msg += " (audit log: " + aerr.Error() + ")"
	}
	ch <- model.Progress{Time: o.opts.Now().UTC(), Stage: StageDone, Percent: 100, Message: msg, Done: true}
	close(ch)
	return ch, nil
}

// writeMark tags the images with the mark, in one CreateTags call.
func (o *OperatorConsole) writeMark(ctx context.Context, m model.Mark, images []string) error {
	v, err := m.TagValue()
	if err != nil {
		return err
	}
	_, err = o.c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: images,
		Tags:      []ec2types.Tag{{Key: aws.String(m.TagKey()), Value: aws.String(v)}},
	})
	if err != nil {
		err = unknownIf(err, "tag "+strings.Join(images, ", ")+" "+m.TagKey(), fmt.Sprintf("`aws ec2 describe-tags --filters Name=resource-id,Values=%s`", strings.Join(images, ",")))
		return fmt.Errorf("tag %s %s: %w", strings.Join(images, ", "), m.TagKey(), markError(err))
	}
	return nil
}

// markError adds the next step to a CreateTags failure on an image.
func markError(err error) error {
	switch {
	case awsapi.IsCode(err, "InvalidAMIID."):
		return fmt.Errorf("%w (the image is gone or not visible to this account)", err)
	case awsapi.IsCode(err, "UnauthorizedOperation"), awsapi.IsCode(err, "AccessDenied"):
		return fmt.Errorf("%w (grant ec2:CreateTags on images, see `adstage-ops iam-policy`; an image shared from another account can be marked only by its owner)", err)
	}
	return err
}

// markLeft writes the rolled-back mark on the images a started rollback leaves. A failure is
// reported, never fatal: the rollback itself is under way.
func (o *OperatorConsole) markLeft(ctx context.Context, plan model.Plan) []model.Progress {
	var left []string
	for _, s := range plan.Steps {
		if id := s.FromImage.ImageID; id != "" && id != s.ToImage.ImageID && !slices.Contains(left, id) {
			left = append(left, id)
		}
	}
	if len(left) == 0 {
		return nil
	}
	m := model.Mark{Kind: model.MarkRolledBack, When: o.opts.Now().UTC(), Env: plan.Env, Who: o.who(ctx), Reason: plan.Reason}
	if err := o.writeMark(ctx, m, left); err != nil {
		return []model.Progress{{Stage: StageMark, Message: fmt.Sprintf("the rollback is under way, but %s could not be marked rolled back (%v): mark it with `adstage-ops mark --service %s --env %s --version N bad --reason ...`", strings.Join(left, ", "), err, plan.Service, plan.Env)}}
	}
	return []model.Progress{{Stage: StageMark, Message: fmt.Sprintf("marked %s rolled back, so no rollback returns to it", strings.Join(left, ", "))}}
}
