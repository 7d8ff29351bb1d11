package inventory

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/model"
)

func TestHistoryListsReleasesRefreshesActivitiesNewestFirst(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	note := model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/ops", When: time.Unix(1700007200, 0).UTC(), From: "ami-1", To: "ami-2", Why: "fix"}
	inv, f := newFakeInventory(t, ff, clock, Options{})
	respond := f.DescribeLaunchTemplateVersionsOp.Respond
	f.DescribeLaunchTemplateVersionsOp.Respond = func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		out, err := respond(in)
		for i := range out.LaunchTemplateVersions {
			if aws.ToInt64(out.LaunchTemplateVersions[i].VersionNumber) == 2 {
				out.LaunchTemplateVersions[i].VersionDescription = aws.String(note.String())
			}
		}
		return out, err
	}
	ff.refresh["api-production"] = []astypes.InstanceRefresh{
		{InstanceRefreshId: aws.String("r-old"), Status: astypes.InstanceRefreshStatusSuccessful, StartTime: aws.Time(clock.Now().Add(-2 * time.Hour))},
		{InstanceRefreshId: aws.String("r-new"), Status: astypes.InstanceRefreshStatusRollbackSuccessful, StatusReason: aws.String("alarm"), StartTime: aws.Time(clock.Now().Add(-time.Hour))},
	}
	f.DescribeScalingActivitiesOp.Queue(
		&autoscaling.DescribeScalingActivitiesOutput{Activities: []astypes.Activity{{Description: aws.String("Launching i-p2"), StatusCode: astypes.ScalingActivityStatusCodeSuccessful, StartTime: aws.Time(clock.Now().Add(-3 * time.Hour))}}, NextToken: aws.String("p2")},
		&autoscaling.DescribeScalingActivitiesOutput{Activities: []astypes.Activity{{Description: aws.String("Launching i-p1"), Cause: aws.String("scale out"), StatusCode: astypes.ScalingActivityStatusCodeSuccessful, StartTime: aws.Time(clock.Now().Add(-30 * time.Minute))}}},
	)
	h, err := inv.History(context.Background(), "api", "production")
	if err != nil {
		t.Fatal(err)
	}
	if in := f.DescribeAutoScalingGroupsOp.Inputs()[0]; len(in.Filters) != 2 || aws.ToString(in.Filters[0].Name) != "tag:Service" || in.Filters[1].Values[0] != "production" {
		t.Errorf("groups filter = %+v", in.Filters)
	}
	if len(h.Releases) != 2 || h.Releases[0].Version != 2 || h.Releases[0].ImageID != "ami-2" || h.Releases[0].CreatedBy != note.Who || h.Releases[1].Version != 1 || !h.Releases[1].Default {
		t.Errorf("releases = %+v", h.Releases)
	}
	if in := f.DescribeLaunchTemplateVersionsOp.Inputs()[0]; aws.ToString(in.LaunchTemplateId) != "lt-api" || len(in.Versions) != 0 {
		t.Errorf("versions input = %+v, want every version of lt-api", in)
	}
	if len(h.Refreshes) != 2 || h.Refreshes[0].ID != "r-new" || h.Refreshes[0].Group != "api-production" || h.Refreshes[0].StatusReason != "alarm" {
		t.Errorf("refreshes = %+v", h.Refreshes)
	}
	if len(h.Activities) != 2 || h.Activities[0].Description != "Launching i-p1" || h.Activities[0].Cause != "scale out" {
		t.Errorf("activities = %+v (pages must be followed)", h.Activities)
	}
}

func TestImagesFromTagsWithSnapshotProgress(t *testing.T) {
	clock := newTestClock()
	inv, f := newFakeInventory(t, newFakeFleet(), clock, Options{})
	img := func(id, state, created, label string, snaps ...string) ec2types.Image {
		i := ec2types.Image{ImageId: aws.String(id), Name: aws.String("api-" + label), State: ec2types.ImageState(state), CreationDate: aws.String(created),
			Tags: []ec2types.Tag{{Key: aws.String("Service"), Value: aws.String("api")}, {Key: aws.String(model.TagLabel), Value: aws.String(label)},
				{Key: aws.String(model.TagBakedBy), Value: aws.String("arn:me")}, {Key: aws.String(model.TagSourceInstance), Value: aws.String("i-s1")}}}
		for _, s := range snaps {
			i.BlockDeviceMappings = append(i.BlockDeviceMappings, ec2types.BlockDeviceMapping{Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String(s)}})
		}
		return i
	}
	f.DescribeImagesOp.Queue(
		&ec2.DescribeImagesOutput{Images: []ec2types.Image{img("ami-old", "available", "2026-11-01T10:00:00.000Z", "abc")}, NextToken: aws.String("2")},
		&ec2.DescribeImagesOutput{Images: []ec2types.Image{img("ami-new", "pending", "2026-11-28T08:00:00.000Z", "def", "snap-1", "snap-2")}},
	)
	f.DescribeSnapshotsOp.Queue(&ec2.DescribeSnapshotsOutput{Snapshots: []ec2types.Snapshot{
		{SnapshotId: aws.String("snap-1"), Progress: aws.String("80%")}, {SnapshotId: aws.String("snap-2"), Progress: aws.String("35%")}}})
	imgs, err := inv.Images(context.Background(), "api")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].ID != "ami-new" || imgs[0].SnapshotProgress != 35 || imgs[0].Label != "def" || imgs[0].Service != "api" || imgs[1].ID != "ami-old" || !imgs[1].Available() || imgs[1].BakedBy != "arn:me" || imgs[1].SourceInstance != "i-s1" {
		t.Errorf("images = %+v", imgs)
	}
	in := f.DescribeImagesOp.Inputs()[0]
	if !slices.Equal(in.Owners, []string{"self"}) || aws.ToString(in.Filters[0].Name) != "tag:Service" || in.Filters[0].Values[0] != "api" {
		t.Errorf("images input = %+v", in)
	}
	if ids := f.DescribeSnapshotsOp.Inputs()[0].SnapshotIds; !slices.Equal(ids, []string{"snap-1", "snap-2"}) {
		t.Errorf("snapshot ids = %v", ids)
	}
}

func TestReadinessPreviousRelease(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	// api-staging runs version 3 (ami-3); version 2 is ami-3 too, version 1 is ami-1.
	ff.versions["lt-api"][2] = "ami-3"
	ff.versions["lt-api"][3] = "ami-3"
	ff.groups[0].LaunchTemplate.Version = aws.String("3")
	ff.groups[0].DesiredCapacity = aws.Int32(4)
	inv, f := newFakeInventory(t, ff, clock, Options{Rollout: model.RolloutPrefs{MinHealthyPercentage: 100, MaxHealthyPercentage: 150}})
	if _, err := inv.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.DescribeImagesOp.Respond = func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		var out ec2.DescribeImagesOutput
		for _, id := range in.ImageIds {
			out.Images = append(out.Images, ec2types.Image{ImageId: aws.String(id), State: ec2types.ImageStateAvailable})
		}
		return &out, nil
	}
	r, err := inv.Readiness(context.Background(), "api", "staging")
	if err != nil {
		t.Fatal(err)
	}
	// 4 instances, batches of 2 (150-100 = 50%): 2 batches, each a 30 s boot and then the
	// slower of the 60 s warmup and the target group's health checks, which were not read
	// (the service is not on screen): AWS's defaults, 5 x 30 s; then a 300 s drain and 2 s.
	// No refresh or release note says any version ran: version order, flagged unverified.
	want := 2*(30+150)*time.Second + 302*time.Second
	if !r.Possible || r.Via != "previous-release" || r.Target.Version != 1 || r.Target.ImageID != "ami-1" || r.Estimate != want || !r.Unverified {
		t.Errorf("readiness = %+v", r)
	}
	if ids := f.DescribeImagesOp.Inputs()[0].ImageIds; !slices.Contains(ids, "ami-1") {
		t.Errorf("checked images %v, want the target's AMI among them", ids)
	}
	// Same configuration: answered from the cache.
	f.ResetCalls()
	if _, err := inv.Readiness(context.Background(), "api", "staging"); err != nil {
		t.Fatal(err)
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("cached readiness made calls %v", calls)
	}
}

func TestReadinessNamesDeregisteredAMI(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	f.DescribeImagesOp.QueueErr(&smithy.GenericAPIError{Code: "InvalidAMIID.NotFound", Message: "The image id '[ami-1]' does not exist"})
	r, err := inv.Readiness(context.Background(), "api", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if r.Possible || !strings.Contains(r.Why, "ami-1") || !strings.Contains(r.Why, "deregistered") {
		t.Errorf("readiness = %+v, want a why naming ami-1 as deregistered", r)
	}
	if ins := f.DescribeImagesOp.Inputs(); len(ins) != 2 || len(ins[1].Filters) != 1 {
		t.Errorf("DescribeImages inputs = %+v, want the by-id call then the filter fallback", ins)
	}

	r, err = inv.Readiness(context.Background(), "api", "production")
	if err != nil {
		t.Fatal(err)
	}
	if r.Possible || !strings.Contains(r.Why, "no release of launch template lt-api was live and healthy before version 1") {
		t.Errorf("production on version 1: %+v, want no previous release", r)
	}
}

func TestReadinessDuringRefreshIsRollback(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	ff.refresh["api-staging"] = []astypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-1"), Status: astypes.InstanceRefreshStatusInProgress, StartTime: aws.Time(clock.Now())}}
	inv, _ := newFakeInventory(t, ff, clock, Options{})
	r, err := inv.Readiness(context.Background(), "api", "staging")
	if err != nil {
		t.Fatal(err)
	}
	// No progress reported: every instance, one batch (100/200 %) with AWS's default health
	// checks (5 x 30 s) and drain (300 s) for the target group not read.
	if want := (30 + 150 + 300 + 2) * time.Second; !r.Possible || r.Via != "rollback-refresh" || r.Target.Version != 2 || r.Estimate != want {
		t.Errorf("readiness = %+v", r)
	}
}

// One source failing degrades the history with a named problem; it never fails it: the
// template versions denied by IAM and the scaling activities answering a 5xx leave the
// refreshes, and the group's ledger says why it is empty.
func TestHistory_OneSourceFailingDegradesIt(t *testing.T) {
	clock := newTestClock()
	ff := twoServiceFleet(clock)
	inv, f := newFakeInventory(t, ff, clock, Options{})
	f.DescribeLaunchTemplateVersionsOp.Respond = func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
		return nil, &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeLaunchTemplateVersions", Err: &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}}
	}
	f.DescribeScalingActivitiesOp.Respond = func(in *autoscaling.DescribeScalingActivitiesInput) (*autoscaling.DescribeScalingActivitiesOutput, error) {
		return nil, &smithy.GenericAPIError{Code: "InternalFailure", Message: "We encountered an internal error."}
	}
	ff.refresh["api-production"] = []astypes.InstanceRefresh{
		{InstanceRefreshId: aws.String("r-old"), Status: astypes.InstanceRefreshStatusSuccessful, StartTime: aws.Time(clock.Now().Add(-2 * time.Hour))},
	}
	h, err := inv.History(context.Background(), "api", "production")
	if err != nil {
		t.Fatalf("History failed as a whole: %v", err)
	}
	if len(h.Refreshes) != 1 || h.Refreshes[0].ID != "r-old" {
		t.Errorf("refreshes = %+v, want the one that could be read", h.Refreshes)
	}
	joined := strings.Join(h.Problems, " | ")
	if !strings.Contains(joined, "the versions of launch template lt-api could not be read") || !strings.Contains(joined, "ec2:DescribeLaunchTemplateVersions") || !strings.Contains(joined, "InternalFailure") {
		t.Errorf("problems = %q, want both sources named", h.Problems)
	}
	if len(h.Ledgers) != 1 || !strings.Contains(h.Ledgers[0].HistoryProblem, "lt-api") {
		t.Errorf("ledgers = %+v, want the group's ledger to say why it is empty", h.Ledgers)
	}
}
