package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// The transfer step of a promote across accounts or regions (model.ImageTransfer): the
// source environment's operator shares the image and its snapshots with the target account
// (ShareImage), and the target environment's copies it into its own account and region
// (CopyImage). Each writes its own audit lines, as its own identity.

// StageTransfer is the progress stage of sharing or copying a promote's image.
const StageTransfer = "transfer"

// ShareImage grants the plan's target account create-volume permission on the image's
// snapshots, then launch permission on the image (in that order, so that the image is never
// launchable without its volumes). Sharing is idempotent: a failure says what was shared,
// and running it again finishes it.
func (o *OperatorConsole) ShareImage(ctx context.Context, plan model.Plan) error {
	t := plan.Transfer
	if t == nil || !t.Share {
		return nil
	}
	what := fmt.Sprintf("share %s with account %s", t.ImageID, t.TargetAccount)
	if o.c.Images == nil {
		return fmt.Errorf("%s: this fleet cannot share images (no image sharing API): share it in the AWS console, or promote with --image", what)
	}
	ev := o.transferEvent(ctx, plan, model.ActionShareImage, t.ImageID, "account "+t.TargetAccount)
	if err := o.start(ev, what); err != nil {
		return err
	}
	var done []string
	for _, snap := range t.Snapshots {
		_, err := o.c.Images.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{
			SnapshotId: aws.String(snap), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission,
			OperationType: ec2types.OperationTypeAdd, UserIds: []string{t.TargetAccount},
		})
		if err != nil {
			err = fmt.Errorf("%s: create-volume permission on %s: %w (%s; the image itself is not shared: run the promote again to finish)", what, snap, err, sharedSoFar(done))
			o.finish(ev, resultOf(err), err)
			return err
		}
		done = append(done, snap)
	}
	_, err := o.c.Images.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(t.ImageID),
		LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String(t.TargetAccount)}}},
	})
	if err != nil {
		err = fmt.Errorf("%s: launch permission: %w (%s; run the promote again to finish)", what, err, sharedSoFar(done))
		o.finish(ev, resultOf(err), err)
		return err
	}
	return o.finish(ev, "succeeded", nil)
}

func sharedSoFar(snaps []string) string {
	if len(snaps) == 0 {
		return "nothing was shared"
	}
	return "snapshots " + strings.Join(snaps, ", ") + " are shared with it"
}

// transferEvent is the audit event of a transfer step, as this operator's identity.
func (o *OperatorConsole) transferEvent(ctx context.Context, plan model.Plan, action model.ActionKind, from, to string) model.AuditEvent {
	return model.AuditEvent{
		Time: o.opts.Now().UTC(), Who: o.who(ctx), Action: action, Service: plan.Service, Env: plan.Env,
		From: from, To: to, Reason: plan.Reason, Result: "started", Via: o.opts.Via,
	}
}

// CopyImage copies the plan's image (shared with this account first when it is another's)
// into this operator's account and region, tagged like a bake (service, who, when, label)
// and with the image it was copied from, and follows it until it is available. It returns
// the copy's ID at once; the progress ends Done, with Err when the copy failed.
func (o *OperatorConsole) CopyImage(ctx context.Context, plan model.Plan) (string, <-chan model.Progress, error) {
	t := plan.Transfer
	if t == nil || !t.Copy {
		return "", nil, fmt.Errorf("copy image: the plan has no copy step")
	}
	what := fmt.Sprintf("copy %s from %s into %s", t.ImageID, t.SourceRegion, o.c.Region)
	if o.c.Images == nil {
		return "", nil, fmt.Errorf("%s: this fleet cannot copy images (no image copy API)", what)
	}
	ev := o.transferEvent(ctx, plan, model.ActionCopyImage, t.ImageID, "")
	if err := o.start(ev, what); err != nil {
		return "", nil, err
	}
	var tags []ec2types.Tag
	add := func(k, v string) {
		if v != "" {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	add(o.opts.Tags.Service, plan.Service)
	add(model.TagCopiedFrom, t.ImageID)
	add(model.TagBakedBy, ev.Who)
	add(model.TagBakedAt, ev.Time.Format(time.RFC3339))
	add(model.TagLabel, model.CutBytes("copy of "+t.ImageID+" "+t.ImageName, 256))
	name := t.ImageName
	if name == "" {
		name = t.ImageID
	}
	// The client token makes an SDK retry of a request whose answer was lost return the same
	// copy instead of making a second one.
	sum := sha256.Sum256([]byte(t.ImageID + "|" + t.TargetAccount + "|" + o.c.Region + "|" + plan.CreatedAt.UTC().Format(time.RFC3339Nano)))
	in := &ec2.CopyImageInput{
		Name:          aws.String(model.CutBytes(name, 128)),
		SourceImageId: aws.String(t.ImageID),
		SourceRegion:  aws.String(t.SourceRegion),
		Description:   aws.String(model.CutBytes(fmt.Sprintf("copied by adstage-ops from %s (account %s, %s) to promote %s to %s", t.ImageID, t.SourceAccount, t.SourceRegion, plan.Service, plan.Env), 255)),
		ClientToken:   aws.String(hex.EncodeToString(sum[:16])),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeImage, Tags: tags},
			{ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags},
		},
	}
	out, err := o.c.Images.CopyImage(ctx, in)
	if err != nil {
		err = unknownIf(fmt.Errorf("%s: %w", what, err), what, fmt.Sprintf("`aws ec2 describe-images --owners self --filters Name=tag:%s,Values=%s` in %s", model.TagCopiedFrom, t.ImageID, o.c.Region))
		o.finish(ev, resultOf(err), err)
		return "", nil, err
	}
	id := aws.ToString(out.ImageId)
	ev.To = id
	ch := make(chan model.Progress, 16)
	e := emitter{ctx: ctx, ch: ch, now: o.opts.Now}
	go func() {
		defer close(ch)
		if !e.send(model.Progress{Stage: StageTransfer, Message: fmt.Sprintf("copying %s into %s as %s", t.ImageID, o.c.Region, id)}) {
			return
		}
		o.followImage(ctx, e, ev, id, what, nil)
	}()
	return id, ch, nil
}

// FindCopy looks in this operator's account and region for an available copy of image made
// by an earlier promote (tagged with TagCopiedFrom): a promote then rolls it out without
// copying again. "" when there is none.
func (o *OperatorConsole) FindCopy(ctx context.Context, image string) (string, error) {
	return FindCopy(ctx, o.c.EC2, image)
}

// FindCopy is FindCopy with any EC2 reader.
func FindCopy(ctx context.Context, api awsapi.EC2Reader, image string) (string, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners:  []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + model.TagCopiedFrom), Values: []string{image}}},
	})
	if err != nil {
		return "", fmt.Errorf("look for a copy of %s: %w", image, err)
	}
	best := ""
	newest := ""
	for _, img := range out.Images {
		if img.State == ec2types.ImageStateAvailable && aws.ToString(img.CreationDate) >= newest {
			best, newest = aws.ToString(img.ImageId), aws.ToString(img.CreationDate)
		}
	}
	return best, nil
}
