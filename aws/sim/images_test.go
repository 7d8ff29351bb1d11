package sim

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// Staging (111) shares an image with production (222): before, production cannot see it;
// after, production describes it (owned by 111, without 111's tags) and can copy it once its
// snapshot is shared too; only the owner reads the permissions.
func TestPartition_ShareAndCopyAnImage(t *testing.T) {
	ctx := context.Background()
	clk := NewManualClock(t0)
	p := NewPartition(clk, Options{Account: "111111111111"}, Options{Account: "222222222222"})
	staging, production := p.Clouds()[0], p.Clouds()[1]
	img := staging.AddImage("web-1", t0.Add(-time.Hour), []Tag{{Key: "Service", Value: "web"}})
	if other := production.AddImage("web-old", t0.Add(-time.Hour), nil); other == img {
		t.Fatalf("both accounts numbered an image %s", img)
	}
	se, pe := staging.Clients().Images, production.Clients().Images
	pec2 := production.Clients().EC2

	if _, err := pec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}}); apiCode(err) != "InvalidAMIID.NotFound" {
		t.Fatalf("production sees the unshared image: %v", err)
	}
	if _, err := pe.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: ec2types.ImageAttributeNameLaunchPermission}); apiCode(err) != "InvalidAMIID.NotFound" {
		t.Fatalf("production reads permissions of an image it cannot see: %v", err)
	}
	if _, err := se.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img),
		LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String("222")}}}}); apiCode(err) != "InvalidAMIAttributeItemValue" {
		t.Fatalf("a malformed account ID was accepted: %v", err)
	}
	if _, err := se.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(img),
		LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String("222222222222")}}}}); err != nil {
		t.Fatal(err)
	}
	attr, err := se.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: ec2types.ImageAttributeNameLaunchPermission})
	if err != nil || len(attr.LaunchPermissions) != 1 || aws.ToString(attr.LaunchPermissions[0].UserId) != "222222222222" {
		t.Fatalf("launch permissions %+v, %v", attr, err)
	}
	if _, err := pe.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(img), Attribute: ec2types.ImageAttributeNameLaunchPermission}); apiCode(err) != "AuthFailure" {
		t.Fatalf("production read the owner's permissions: %v", err)
	}
	out, err := pec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].OwnerId) != "111111111111" || len(out.Images[0].Tags) != 0 {
		t.Fatalf("shared image as production sees it: %+v, %v", out, err)
	}
	own, _ := pec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	all, _ := pec2.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if len(own.Images) != 1 || len(all.Images) != 2 {
		t.Errorf("production lists %d own and %d launchable images, want 1 and 2", len(own.Images), len(all.Images))
	}

	copyIn := &ec2.CopyImageInput{Name: aws.String("web-1-copy"), SourceImageId: aws.String(img), SourceRegion: aws.String(DefaultRegion), ClientToken: aws.String("tok-1"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: []ec2types.Tag{{Key: aws.String("Service"), Value: aws.String("web")}}}}}
	if _, err := pe.CopyImage(ctx, copyIn); apiCode(err) != "AuthFailure" {
		t.Fatalf("copy without create-volume permission on the snapshot: %v", err)
	}
	snap := staging.images[img].Snapshots[0]
	if _, err := se.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(snap), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission,
		OperationType: ec2types.OperationTypeAdd, UserIds: []string{"222222222222"}}); err != nil {
		t.Fatal(err)
	}
	sa, err := se.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: aws.String(snap), Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission})
	if err != nil || len(sa.CreateVolumePermissions) != 1 || aws.ToString(sa.CreateVolumePermissions[0].UserId) != "222222222222" {
		t.Fatalf("create-volume permissions %+v, %v", sa, err)
	}
	cp, err := pe.CopyImage(ctx, copyIn)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pe.CopyImage(ctx, copyIn)
	if err != nil || aws.ToString(again.ImageId) != aws.ToString(cp.ImageId) {
		t.Fatalf("the same client token made another copy: %v, %v", again, err)
	}
	state := func() string {
		out, err := pec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(cp.ImageId)}})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Images[0].OwnerId) != "222222222222" || len(out.Images[0].Tags) != 1 {
			t.Errorf("copy %+v: want production's own, with its tag", out.Images[0])
		}
		return string(out.Images[0].State)
	}
	if s := state(); s != "pending" {
		t.Errorf("new copy is %s, want pending", s)
	}
	clk.Advance(snapshotTime + registerTime)
	if s := state(); s != "available" {
		t.Errorf("copy is %s after its snapshot, want available", s)
	}

	// Save and load keep both accounts and the permissions.
	var buf bytes.Buffer
	if err := p.Save(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := LoadPartition(&buf, clk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Cloud("222222222222", DefaultRegion).Clients().EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}}); err != nil {
		t.Errorf("after a reload production cannot see the shared image: %v", err)
	}
}

// A snapshot encrypted with the AWS managed key cannot be shared.
func TestPartition_DefaultKeySnapshotIsNotShared(t *testing.T) {
	ctx := context.Background()
	p := NewPartition(NewManualClock(t0), Options{Account: "111111111111"}, Options{Account: "222222222222"})
	staging := p.Clouds()[0]
	img := staging.AddImage("web-1", t0.Add(-time.Hour), nil)
	if err := staging.EncryptImage(img, "arn:aws:kms:us-east-1:111111111111:alias/aws/ebs"); err != nil {
		t.Fatal(err)
	}
	_, err := staging.Clients().Images.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(staging.images[img].Snapshots[0]),
		Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: ec2types.OperationTypeAdd, UserIds: []string{"222222222222"}})
	if apiCode(err) != "InvalidParameter" {
		t.Errorf("sharing a default-key snapshot: %v, want InvalidParameter", err)
	}
}
