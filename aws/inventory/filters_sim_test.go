package inventory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/adstage/adstage-ops/aws/sim"
)

// EC2 takes at most 200 values in one filter (the simulator refuses more with
// FilterLimitExceeded, as EC2 does). The by-ID reads fall back to a filter when one ID is
// unknown; that filter is cut into lists of 200.
func TestReads_FilterFallbackChunkedTo200Values_Sim(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	cloud := sim.NewScale(sim.NewManualClock(start), sim.Options{}, sim.ScaleSpec{Groups: 4, InstancesPerGroup: 110, TargetGroups: 1})
	api := cloud.Clients().EC2

	var ids []string
	for i := range 450 {
		ids = append(ids, cloud.AddImage(fmt.Sprintf("img-%03d", i), start, nil))
	}
	images, err := LookupImages(ctx, api, append(ids, "ami-0000000000000dead"))
	if err != nil {
		t.Fatalf("LookupImages of 451 AMIs, one unknown: %v", err)
	}
	if len(images) != 450 || images.State("ami-0000000000000dead") != "missing" {
		t.Errorf("found %d images, want 450 and the unknown one missing", len(images))
	}

	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var inst []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			inst = append(inst, *in.InstanceId)
		}
	}
	if len(inst) != 440 {
		t.Fatalf("the fleet has %d instances, want 440", len(inst))
	}
	got, err := instanceCall{ids: append(inst, "i-00000000000000dead")}.do(ctx, api)
	if err != nil {
		t.Fatalf("read 441 instances, one unknown: %v", err)
	}
	if len(got) != 440 {
		t.Errorf("read %d instances, want 440", len(got))
	}
}
