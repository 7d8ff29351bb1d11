package inventory

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi/fake"
)

// A deleted launch template version that instances still reference fails the whole
// DescribeLaunchTemplateVersions call in EC2: the call is made again without it, the other
// versions are read, and the deleted one is remembered as gone (not asked for again). When
// EC2's message names no version, each is asked for alone.
func TestTemplateCallLeavesOutADeletedVersion(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, named := range []bool{true, false} {
		f := &fake.AWS{}
		f.DescribeLaunchTemplateVersionsOp.Respond = func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			if slices.Contains(in.Versions, "3") {
				msg := "Could not find launch template version 3 for launch template lt-1."
				if !named {
					msg = "The specified launch template version does not exist."
				}
				return nil, &smithy.GenericAPIError{Code: "InvalidLaunchTemplateId.VersionNotFound", Message: msg}
			}
			var out ec2.DescribeLaunchTemplateVersionsOutput
			for _, v := range in.Versions {
				n := map[string]int64{"2": 2, "5": 5}[v]
				out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, ec2types.LaunchTemplateVersion{VersionNumber: aws.Int64(n),
					LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String("ami-" + v)}})
			}
			return &out, nil
		}
		call := templateCall{key: "lt-1", versions: []string{"2", "3", "5"}}
		got, gone, err := call.do(context.Background(), f.Clients().EC2)
		if err != nil || !slices.Equal(gone, []int64{3}) || len(got) != 2 {
			t.Fatalf("named=%v: got %v gone %v err %v", named, got, gone, err)
		}
		c := newTemplateCache()
		var in interner
		c.store(call, got, gone, now, &in)
		var w templateWants
		for _, v := range []string{"2", "3", "5"} {
			w.want(&c, now, "lt-1", v)
		}
		if calls := w.calls(); len(calls) != 0 {
			t.Errorf("named=%v: after the read, %d more calls are wanted (%v): the deleted version is asked again", named, len(calls), calls)
		}
	}
}
