package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// crossAccount is production (222) running app on its own image, with launch template
// version 2 naming staging's (111) image, which nobody shared yet.
type crossAccount struct {
	fixture
	staging *Cloud
	theirs  string // staging's image
}

func newCrossAccount(t *testing.T) *crossAccount {
	t.Helper()
	clk := NewManualClock(t0)
	p := NewPartition(clk, Options{Account: "111111111111"}, Options{Account: "222222222222"})
	x := &crossAccount{staging: p.Clouds()[0]}
	x.clk, x.c = clk, p.Clouds()[1]
	x.theirs = x.staging.AddImage("app-staging", t0.Add(-time.Hour), []Tag{{Key: "Service", Value: "app"}})
	x.old = x.c.AddImage("app-1", t0.Add(-48*time.Hour), []Tag{{Key: "Service", Value: "app"}})
	x.new = x.theirs
	x.c.AddTemplate("app", []string{x.old, x.theirs}, nil, 1)
	x.tgARN = x.c.AddTargetGroup("app-tg", 5)
	if _, err := x.c.AddGroup(GroupSpec{Name: "app", Service: "app", Env: "production", Min: 1, Desired: 2, Max: 4,
		Template: "app", Version: "1", TargetGroups: []string{"app-tg"}, Age: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return x
}

// run advances the world until the refresh ends (or ten simulated minutes pass).
func (x *crossAccount) run(t *testing.T) astypes.InstanceRefresh {
	t.Helper()
	for range 120 {
		x.clk.Advance(5 * time.Second)
		r := x.refresh(t, "app")
		switch r.Status {
		case astypes.InstanceRefreshStatusSuccessful, astypes.InstanceRefreshStatusFailed, astypes.InstanceRefreshStatusRollbackSuccessful, astypes.InstanceRefreshStatusRollbackFailed:
			return r
		}
	}
	t.Fatalf("refresh still running: %+v", x.refresh(t, "app"))
	return astypes.InstanceRefresh{}
}

// failedLaunches are the group's Failed scaling activities' status messages.
func (x *crossAccount) failedLaunches(t *testing.T) []string {
	t.Helper()
	out, err := x.c.Clients().AutoScaling.DescribeScalingActivities(context.Background(), &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, a := range out.Activities {
		if a.StatusCode == astypes.ScalingActivityStatusCodeFailed {
			msgs = append(msgs, aws.ToString(a.StatusMessage))
		}
	}
	return msgs
}

func (x *crossAccount) share(t *testing.T) {
	t.Helper()
	if _, err := x.staging.Clients().Images.ModifyImageAttribute(context.Background(), &ec2.ModifyImageAttributeInput{ImageId: aws.String(x.theirs),
		LaunchPermission: &ec2types.LaunchPermissionModifications{Add: []ec2types.LaunchPermission{{UserId: aws.String("222222222222")}}}}); err != nil {
		t.Fatal(err)
	}
}

// A refresh to another account's image that was not shared fails as on AWS: the launch is a
// Failed scaling activity ("The image id '[ami-…]' does not exist. Launching EC2 instance
// failed."), no instance runs it, and the refresh rolls back to the group's own image; once
// staging shares it, the same refresh succeeds.
func TestLaunch_AnotherAccountsUnsharedImageFails(t *testing.T) {
	x := newCrossAccount(t)
	x.startRefresh(t, "2", 100, 200, true)
	r := x.run(t)
	want := "The image id '[" + x.theirs + "]' does not exist. Launching EC2 instance failed."
	if r.Status != astypes.InstanceRefreshStatusRollbackSuccessful {
		t.Fatalf("refresh %s: %q, want it rolled back", r.Status, aws.ToString(r.StatusReason))
	}
	if msgs := x.failedLaunches(t); len(msgs) == 0 || msgs[0] != want {
		t.Errorf("failed launches %q, want %q", msgs, want)
	}
	for img, n := range x.healthyByImage(t) {
		if img != x.old || n != 2 {
			t.Errorf("%d healthy instances on %s, want 2 on %s only", n, img, x.old)
		}
	}

	x.share(t)
	x.startRefresh(t, "2", 100, 200, true)
	if r := x.run(t); r.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("after the share: refresh %s %q", r.Status, aws.ToString(r.StatusReason))
	}
	if n := x.healthyByImage(t)[x.theirs]; n != 2 {
		t.Errorf("%d instances on the shared image, want 2", n)
	}
}

// Scaling out onto an image the account cannot launch fails each attempt (one Failed
// activity per attempt, retried after launchRetry), and launches nothing.
func TestLaunch_ScaleOutOntoAnUnsharedImageRetriesAndLaunchesNothing(t *testing.T) {
	x := newCrossAccount(t)
	ctx := context.Background()
	as := x.c.Clients().AutoScaling
	if _, err := as.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("app"), DesiredCapacity: aws.Int32(3),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("2")}}); err != nil {
		t.Fatal(err)
	}
	x.clk.Advance(launchRetry + time.Second)
	g := x.group(t, "app")
	if len(g.Instances) != 2 {
		t.Errorf("%d instances, want the 2 that ran before", len(g.Instances))
	}
	if n := len(x.failedLaunches(t)); n != 2 {
		t.Errorf("%d failed launches in %s, want 2 (one, then one retry)", n, launchRetry+time.Second)
	}
}

// KMS: staging's image encrypted with its aws/ebs key can never be shared or launched by
// production; with a customer managed key, production launches and copies it only once the
// key allows account 222222222222; DescribeKey tells the two kinds apart.
func TestKMS_EncryptedImagesAcrossAccounts(t *testing.T) {
	ctx := context.Background()
	t.Run("aws managed key", func(t *testing.T) {
		x := newCrossAccount(t)
		if err := x.staging.EncryptImage(x.theirs, "arn:aws:kms:us-east-1:111111111111:alias/aws/ebs"); err != nil {
			t.Fatal(err)
		}
		snap := x.staging.images[x.theirs].Snapshots[0]
		_, err := x.staging.Clients().Images.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(snap),
			Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: ec2types.OperationTypeAdd, UserIds: []string{"222222222222"}})
		if apiCode(err) != "InvalidParameter" {
			t.Errorf("sharing an aws/ebs snapshot: %v, want InvalidParameter", err)
		}
		out, err := x.staging.Clients().KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ebs")})
		if err != nil || out.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeAws {
			t.Errorf("DescribeKey aws/ebs: %+v, %v", out, err)
		}
		x.share(t) // the image itself may be shared; its volumes cannot be read
		x.startRefresh(t, "2", 100, 200, true)
		r := x.run(t)
		if r.Status != astypes.InstanceRefreshStatusRollbackSuccessful {
			t.Fatalf("refresh %s %q, want it rolled back", r.Status, aws.ToString(r.StatusReason))
		}
		if msgs := x.failedLaunches(t); len(msgs) == 0 || !strings.HasPrefix(msgs[0], "Client.InternalError: Client error on launch") {
			t.Errorf("failed launches %q, want Client.InternalError", msgs)
		}
	})
	t.Run("customer managed key", func(t *testing.T) {
		x := newCrossAccount(t)
		key := x.staging.AddKey()
		if err := x.staging.EncryptImage(x.theirs, key); err != nil {
			t.Fatal(err)
		}
		out, err := x.staging.Clients().KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
		if err != nil || out.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeCustomer || aws.ToString(out.KeyMetadata.Arn) != key {
			t.Errorf("DescribeKey %s: %+v, %v", key, out, err)
		}
		if _, err := x.c.Clients().KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); apiCode(err) != "AccessDeniedException" {
			t.Errorf("production describes staging's key before it is allowed: %v", err)
		}
		x.share(t)
		snap := x.staging.images[x.theirs].Snapshots[0]
		if _, err := x.staging.Clients().Images.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(snap),
			Attribute: ec2types.SnapshotAttributeNameCreateVolumePermission, OperationType: ec2types.OperationTypeAdd, UserIds: []string{"222222222222"}}); err != nil {
			t.Fatal(err)
		}
		copyIn := &ec2.CopyImageInput{Name: aws.String("app-copy"), SourceImageId: aws.String(x.theirs), SourceRegion: aws.String(DefaultRegion)}
		if _, err := x.c.Clients().Images.CopyImage(ctx, copyIn); apiCode(err) != "AuthFailure" {
			t.Errorf("copy before the key allows production: %v, want AuthFailure", err)
		}
		x.startRefresh(t, "2", 100, 200, true)
		if r := x.run(t); r.Status != astypes.InstanceRefreshStatusRollbackSuccessful {
			t.Fatalf("refresh before the key allows production: %s %q", r.Status, aws.ToString(r.StatusReason))
		}

		if err := x.staging.AllowKey(key, "222222222222"); err != nil {
			t.Fatal(err)
		}
		if _, err := x.c.Clients().Images.CopyImage(ctx, copyIn); err != nil {
			t.Errorf("copy once the key allows production: %v", err)
		}
		x.startRefresh(t, "2", 100, 200, true)
		if r := x.run(t); r.Status != astypes.InstanceRefreshStatusSuccessful {
			t.Fatalf("refresh once the key allows production: %s %q", r.Status, aws.ToString(r.StatusReason))
		}
	})
}
