package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// Checks of a promote across accounts or regions.
const (
	CheckTargetCanLaunch = "target account can launch the image"
	CheckImageKey        = "image encryption key"
	CheckTransfer        = "image transfer"
)

// PlanPromote plans with the target environment's member. With FromEnv served by another
// member (another account or region), the image is read with the source's identity, and
// the plan checks that the target account can launch it: launch permission on the image,
// create-volume permission on its snapshots, and a KMS key it may use for encrypted ones.
// What is missing becomes the plan's transfer step, confirmed with the rollout: share the
// image (same region), or copy it into the target account and region (another region, or
// CopyImage asked). An earlier copy in the target is reused.
func (o *Operators) PlanPromote(ctx context.Context, req ops.PromoteRequest) (model.Plan, error) {
	return o.planPromote(ctx, req, "")
}

// planPromote plans in region, when the console row names one (the plan then names it
// too); FromEnv is read in the target's region when it runs there, else wherever it runs.
func (o *Operators) planPromote(ctx context.Context, req ops.PromoteRequest, region string) (model.Plan, error) {
	p, err := o.planPromoteIn(ctx, req, region)
	return inRegion(p, region), err
}

func (o *Operators) planPromoteIn(ctx context.Context, req ops.PromoteRequest, region string) (model.Plan, error) {
	what := fmt.Sprintf("plan promote of %s", model.ServiceKey{Name: req.Service, Env: req.Env, Region: region})
	tgt, err := o.operator(req.Env, req.Service, region)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if req.FromEnv == "" {
		return tgt.Operator.PlanPromote(ctx, req)
	}
	src, err := o.route(req.FromEnv, req.Service, tgt.region())
	if err != nil {
		src, err = o.route(req.FromEnv, req.Service, "")
	}
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s from %s: %w", what, req.FromEnv, err)
	}
	if src == tgt {
		return tgt.Operator.PlanPromote(ctx, req)
	}
	srcID, err := src.Reader.Identity(ctx)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: identity of %s: %w", what, src.Name, err)
	}
	tgtID, err := tgt.Reader.Identity(ctx)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: identity of %s: %w", what, tgt.Name, err)
	}
	image, err := ops.ReleaseOf(ctx, src.Read, src.Tags, req.Service, req.FromEnv)
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s with %s: %w", what, src.Name, err)
	}
	r := req
	r.FromEnv, r.ImageID = "", image
	fromCLI := func(p model.Plan) model.Plan {
		p.CLI = strings.Replace(p.CLI, "--image "+r.ImageID, "--from-env "+req.FromEnv, 1)
		if req.CopyImage {
			p.CLI += " --copy-image"
		}
		return p
	}
	crossAccount, crossRegion := srcID.Account != tgtID.Account, srcID.Region != tgtID.Region
	if !crossAccount && !crossRegion {
		p, err := tgt.Operator.PlanPromote(ctx, r)
		return fromCLI(p), err
	}
	copyWanted := crossRegion || req.CopyImage
	if copyWanted {
		// A copy an earlier promote made (tagged with the image it came from) is rolled out
		// as it is.
		if id, err := ops.FindCopy(ctx, tgt.Read.EC2, image); err == nil && id != "" {
			r.ImageID = id
			p, err := tgt.Operator.PlanPromote(ctx, r)
			p.Checks = append(p.Checks, model.Check{Name: CheckTransfer, OK: true, Detail: fmt.Sprintf("%s is the copy of %s (what %s/%s runs) an earlier promote made in account %s, %s", id, image, req.Service, req.FromEnv, tgtID.Account, tgtID.Region)})
			return p, err
		}
	}
	found, err := inventory.LookupImages(ctx, src.Read.EC2, []string{image})
	if err != nil {
		return model.Plan{}, fmt.Errorf("%s: read %s with %s: %w", what, image, src.Name, err)
	}
	img, ok := found[image]
	if !ok {
		return model.Plan{}, fmt.Errorf("%s: %s/%s runs %s, which its account %s no longer has (deregistered?): bake a new image", what, req.Service, req.FromEnv, image, srcID.Account)
	}
	r.Source = &ops.ImageSource{Image: img, Env: req.FromEnv, Account: srcID.Account, Region: srcID.Region}
	p, err := tgt.Operator.PlanPromote(ctx, r)
	if err != nil {
		return p, err
	}
	p = fromCLI(p)
	t := &model.ImageTransfer{
		ImageID: image, ImageName: model.SafeText(aws.ToString(img.Name)), Snapshots: snapshotsOf(img),
		SourceEnv: req.FromEnv, SourceAccount: srcID.Account, SourceRegion: srcID.Region,
		TargetAccount: tgtID.Account, TargetRegion: tgtID.Region, Copy: copyWanted,
	}
	if crossAccount {
		p.Checks = append(p.Checks, o.accessChecks(ctx, src, img, t, req.Env)...)
	}
	if t.Copy {
		p.Checks = append(p.Checks, model.Check{Name: CheckTransfer, Warn: true, Detail: fmt.Sprintf("confirming copies %s into account %s, %s with %s (ec2:CopyImage), tagged like a bake, waits until the copy is available (the snapshots are copied: minutes), then rolls the copy out", image, tgtID.Account, tgtID.Region, tgt.Name)})
	}
	if t.Share || t.Copy {
		p.Transfer = t
		var steps []string
		if t.Share {
			steps = append(steps, "share "+image+" with account "+t.TargetAccount)
		}
		if t.Copy {
			steps = append(steps, "copy it into "+t.TargetRegion)
		}
		p.Strategy = strings.Join(steps, ", then ") + ", then " + p.Strategy
	}
	return p, nil
}

// snapshotsOf lists an image's EBS snapshots.
func snapshotsOf(img ec2types.Image) []string {
	var out []string
	for _, b := range img.BlockDeviceMappings {
		if b.Ebs != nil && b.Ebs.SnapshotId != nil && !slices.Contains(out, *b.Ebs.SnapshotId) {
			out = append(out, *b.Ebs.SnapshotId)
		}
	}
	return out
}

// accessChecks reads, with the source's identity (only the owner can), whether the target
// account may launch the image, and sets t.Share when something is not shared yet.
func (o *Operators) accessChecks(ctx context.Context, src *member, img ec2types.Image, t *model.ImageTransfer, env string) []model.Check {
	image, target := t.ImageID, t.TargetAccount
	cannotTell := func(err error) []model.Check {
		return []model.Check{{Name: CheckTargetCanLaunch, Detail: fmt.Sprintf("could not tell whether account %s (%s) can launch %s: %s", target, env, image, awsapi.Explain(err))}}
	}
	if src.Read.Images == nil {
		return []model.Check{{Name: CheckTargetCanLaunch, Detail: fmt.Sprintf("%s cannot read or share image permissions on this fleet: share %s with account %s by hand, then promote it with --image", src.Name, image, target)}}
	}
	allows := func(user *string, group ec2types.PermissionGroup) bool {
		return aws.ToString(user) == target || group == ec2types.PermissionGroupAll
	}
	attr, err := src.Read.Images.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(image), Attribute: ec2types.ImageAttributeNameLaunchPermission})
	if err != nil {
		return cannotTell(err)
	}
	launch := false
	for _, lp := range attr.LaunchPermissions {
		launch = launch || allows(lp.UserId, lp.Group)
	}
	var unshared []string
	for _, snap := range t.Snapshots {
		sa, err := src.Read.Images.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: aws.String(snap), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission})
		if err != nil {
			return cannotTell(err)
		}
		ok := false
		for _, cv := range sa.CreateVolumePermissions {
			ok = ok || allows(cv.UserId, cv.Group)
		}
		if !ok {
			unshared = append(unshared, snap)
		}
	}
	var checks []model.Check
	if len(t.Snapshots) > 0 {
		snaps, err := src.Read.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: t.Snapshots})
		if err != nil {
			return cannotTell(err)
		}
		keys := map[string]bool{}
		for _, s := range snaps.Snapshots {
			if aws.ToBool(s.Encrypted) && s.KmsKeyId != nil {
				keys[*s.KmsKeyId] = true
			}
		}
		for key := range keys {
			checks = append(checks, o.keyCheck(ctx, src, key, t, env))
		}
	}
	switch {
	case launch && len(unshared) == 0:
		checks = append(checks, model.Check{Name: CheckTargetCanLaunch, OK: true, Detail: fmt.Sprintf("%s and its snapshots are shared with account %s (%s)", image, target, env)})
	default:
		t.Share = true
		var missing []string
		if !launch {
			missing = append(missing, "launch permission on "+image)
		}
		if len(unshared) > 0 {
			missing = append(missing, "create-volume permission on "+strings.Join(unshared, ", "))
		}
		checks = append(checks, model.Check{Name: CheckTargetCanLaunch, Warn: true, Detail: fmt.Sprintf("account %s (%s) cannot launch %s yet (no %s): confirming shares them with it first, with %s (ec2:ModifySnapshotAttribute, ec2:ModifyImageAttribute)", target, env, image, strings.Join(missing, ", no "), src.Name)})
	}
	return checks
}

// keyCheck says whether the target can use the KMS key of an encrypted snapshot: never the
// AWS managed key (aws/ebs), which cannot be shared; a customer managed key only if its key
// policy lets the target account use it, which only the key's owner can tell.
func (o *Operators) keyCheck(ctx context.Context, src *member, key string, t *model.ImageTransfer, env string) model.Check {
	copyCmd := fmt.Sprintf("aws ec2 copy-image --source-image-id %s --source-region %s --name %s-cmk --encrypted --kms-key-id KEY", t.ImageID, t.SourceRegion, t.ImageID)
	if src.Read.KMS == nil {
		return model.Check{Name: CheckImageKey, Warn: true, Detail: fmt.Sprintf("%s is encrypted with KMS key %s, which could not be checked here: account %s must be allowed to use it", t.ImageID, key, t.TargetAccount)}
	}
	out, err := src.Read.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
	if err != nil {
		return model.Check{Name: CheckImageKey, Warn: true, Detail: fmt.Sprintf("%s is encrypted with KMS key %s, which %s could not read (%s): account %s must be allowed to use it, or its instances will not launch", t.ImageID, key, src.Name, awsapi.Explain(err), t.TargetAccount)}
	}
	if out.KeyMetadata != nil && out.KeyMetadata.KeyManager == kmstypes.KeyManagerTypeAws {
		return model.Check{Name: CheckImageKey, Detail: fmt.Sprintf("%s is encrypted with the AWS managed key aws/ebs, which cannot be shared with account %s (%s): copy it in %s's account with a customer managed key that account may use (`%s`), then promote the copy with --image", t.ImageID, t.TargetAccount, env, t.SourceEnv, copyCmd)}
	}
	return model.Check{Name: CheckImageKey, Warn: true, Detail: fmt.Sprintf("%s is encrypted with customer managed key %s: its key policy must let account %s use it (kms:Decrypt, kms:CreateGrant, kms:ReEncrypt*, kms:GenerateDataKey*, kms:DescribeKey), or %s's instances will not launch", t.ImageID, key, t.TargetAccount, env)}
}

// sharer and copier are the transfer steps of a member's operator (ops.OperatorConsole).
type sharer interface {
	ShareImage(ctx context.Context, plan model.Plan) error
}

type copier interface {
	CopyImage(ctx context.Context, plan model.Plan) (string, <-chan model.Progress, error)
}

// executeTransfer shares the image with the source environment's identity, copies it with
// the target's when the plan says so, then rolls it (or the copy) out with the target's.
func (o *Operators) executeTransfer(ctx context.Context, tgt *member, plan model.Plan) (<-chan model.Progress, error) {
	t := plan.Transfer
	what := "promote " + plan.Target()
	if t.Share {
		src, err := o.operator(t.SourceEnv, plan.Service, t.SourceRegion)
		if err != nil {
			return nil, fmt.Errorf("%s: share %s from %s: %w", what, t.ImageID, t.SourceEnv, err)
		}
		s, ok := src.Operator.(sharer)
		if !ok {
			return nil, fmt.Errorf("%s: %s cannot share images", what, src.Name)
		}
		if err := s.ShareImage(ctx, plan); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	rest := plan
	rest.Transfer = nil
	if !t.Copy {
		note := o.carryTags(ctx, t, plan.Service, tgt)
		ch, err := tgt.Operator.Execute(ctx, rest)
		if err != nil || note == nil {
			return ch, err
		}
		note.Time = o.opts.Now().UTC()
		return prepend(ctx, *note, ch), nil
	}
	c, ok := tgt.Operator.(copier)
	if !ok {
		return nil, fmt.Errorf("%s: %s cannot copy images", what, tgt.Name)
	}
	id, copying, err := c.CopyImage(ctx, plan)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	rest.Steps = slices.Clone(rest.Steps)
	for i := range rest.Steps {
		rest.Steps[i].ToImage.ImageID = id
	}
	out := make(chan model.Progress, 16)
	send := func(p model.Progress) bool {
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(out)
		var last model.Progress
		for p := range copying {
			last = p
			if p.Done && p.Err == nil {
				p.Done = false // the rollout follows
			}
			if !send(p) {
				return
			}
		}
		if !last.Done || last.Err != nil {
			return
		}
		next, err := tgt.Operator.Execute(ctx, rest)
		if err != nil {
			send(model.Progress{Stage: ops.StageTransfer, Message: "the copy " + id + " is available; the rollout did not start", Done: true, Err: err})
			return
		}
		for p := range next {
			if !send(p) {
				return
			}
		}
	}()
	return out, nil
}

// carryTags copies the shared image's adstage-ops tags (label, baked by and at, source
// instance, marks: the keys under "adstage:") from the source account into the target's:
// tags on a shared image are each account's own ("Tag your Amazon EC2 resources", EC2 User
// Guide), so without them the target's history and plans would show no label. A failure is
// reported, never fatal: the rollout does not need them.
func (o *Operators) carryTags(ctx context.Context, t *model.ImageTransfer, service string, tgt *member) *model.Progress {
	src, err := o.operator(t.SourceEnv, service, t.SourceRegion)
	if err != nil || src.Read.EC2 == nil || tgt.Write.EC2 == nil {
		return nil
	}
	imgs, err := inventory.LookupImages(ctx, src.Read.EC2, []string{t.ImageID})
	if err != nil {
		return &model.Progress{Stage: ops.StageTransfer, Message: fmt.Sprintf("%s is shared, but its tags could not be read in %s to carry over: %s", t.ImageID, t.SourceEnv, awsapi.Explain(err))}
	}
	var tags []ec2types.Tag
	for _, tag := range imgs[t.ImageID].Tags {
		if strings.HasPrefix(aws.ToString(tag.Key), "adstage:") {
			tags = append(tags, tag)
		}
	}
	if len(tags) == 0 {
		return nil
	}
	if _, err := tgt.Write.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{t.ImageID}, Tags: tags}); err != nil {
		return &model.Progress{Stage: ops.StageTransfer, Message: fmt.Sprintf("%s is shared, but its adstage-ops tags could not be written in %s's account (%s): its label will not show there", t.ImageID, tgt.Name, awsapi.Explain(err))}
	}
	return &model.Progress{Stage: ops.StageTransfer, Message: fmt.Sprintf("carried %d adstage-ops tags of %s into %s's account (label, who baked it, marks)", len(tags), t.ImageID, tgt.Name)}
}

// prepend sends first, then everything ch sends.
func prepend(ctx context.Context, first model.Progress, ch <-chan model.Progress) <-chan model.Progress {
	out := make(chan model.Progress, 16)
	go func() {
		defer close(out)
		select {
		case out <- first:
		case <-ctx.Done():
			return
		}
		for p := range ch {
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
