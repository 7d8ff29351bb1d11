// Package fake is a recorded fake of every AWS operation adstage-ops calls: inputs are
// recorded, and outputs, errors or pages are queued per operation so that the SDK's real
// paginators run against it. Tests of every package use it.
package fake

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

// Op is a recorded fake of one AWS operation: it records every input and answers from a
// queue of outputs and errors (one per call, so that queued pages drive the SDK's real
// paginators), then from Respond when the queue is empty, else with an empty output.
type Op[I, O any] struct {
	mu      sync.Mutex
	inputs  []*I
	queue   []fakeAnswer[O]
	Respond func(*I) (*O, error)
}

type fakeAnswer[O any] struct {
	out *O
	err error
}

// Queue appends outputs (pages) to answer the next calls with.
func (f *Op[I, O]) Queue(outs ...*O) *Op[I, O] {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range outs {
		f.queue = append(f.queue, fakeAnswer[O]{out: o})
	}
	return f
}

// QueueErr appends an error to answer the next call with.
func (f *Op[I, O]) QueueErr(err error) *Op[I, O] {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fakeAnswer[O]{err: err})
	return f
}

// Inputs are the recorded inputs, in call order.
func (f *Op[I, O]) Inputs() []*I {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*I(nil), f.inputs...)
}

// Calls counts the calls made.
func (f *Op[I, O]) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inputs)
}

// Reset forgets the recorded inputs (the queue and Respond stay).
func (f *Op[I, O]) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = nil
}

func (f *Op[I, O]) call(in *I) (*O, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	if len(f.queue) > 0 {
		a := f.queue[0]
		f.queue = f.queue[1:]
		f.mu.Unlock()
		return a.out, a.err
	}
	respond := f.Respond
	f.mu.Unlock()
	if respond != nil {
		return respond(in)
	}
	return new(O), nil
}

// AWS implements every client interface with one Op per operation.
type AWS struct {
	DescribeAutoScalingGroupsOp      Op[autoscaling.DescribeAutoScalingGroupsInput, autoscaling.DescribeAutoScalingGroupsOutput]
	DescribeInstanceRefreshesOp      Op[autoscaling.DescribeInstanceRefreshesInput, autoscaling.DescribeInstanceRefreshesOutput]
	DescribeScalingActivitiesOp      Op[autoscaling.DescribeScalingActivitiesInput, autoscaling.DescribeScalingActivitiesOutput]
	StartInstanceRefreshOp           Op[autoscaling.StartInstanceRefreshInput, autoscaling.StartInstanceRefreshOutput]
	RollbackInstanceRefreshOp        Op[autoscaling.RollbackInstanceRefreshInput, autoscaling.RollbackInstanceRefreshOutput]
	CancelInstanceRefreshOp          Op[autoscaling.CancelInstanceRefreshInput, autoscaling.CancelInstanceRefreshOutput]
	UpdateAutoScalingGroupOp         Op[autoscaling.UpdateAutoScalingGroupInput, autoscaling.UpdateAutoScalingGroupOutput]
	EnterStandbyOp                   Op[autoscaling.EnterStandbyInput, autoscaling.EnterStandbyOutput]
	ExitStandbyOp                    Op[autoscaling.ExitStandbyInput, autoscaling.ExitStandbyOutput]
	DescribeLaunchTemplateVersionsOp Op[ec2.DescribeLaunchTemplateVersionsInput, ec2.DescribeLaunchTemplateVersionsOutput]
	DescribeInstancesOp              Op[ec2.DescribeInstancesInput, ec2.DescribeInstancesOutput]
	DescribeImagesOp                 Op[ec2.DescribeImagesInput, ec2.DescribeImagesOutput]
	DescribeSnapshotsOp              Op[ec2.DescribeSnapshotsInput, ec2.DescribeSnapshotsOutput]
	CreateImageOp                    Op[ec2.CreateImageInput, ec2.CreateImageOutput]
	CreateLaunchTemplateVersionOp    Op[ec2.CreateLaunchTemplateVersionInput, ec2.CreateLaunchTemplateVersionOutput]
	CreateTagsOp                     Op[ec2.CreateTagsInput, ec2.CreateTagsOutput]
	DescribeTargetHealthOp           Op[elbv2.DescribeTargetHealthInput, elbv2.DescribeTargetHealthOutput]
	DescribeTargetGroupAttributesOp  Op[elbv2.DescribeTargetGroupAttributesInput, elbv2.DescribeTargetGroupAttributesOutput]
	DescribeTargetGroupsOp           Op[elbv2.DescribeTargetGroupsInput, elbv2.DescribeTargetGroupsOutput]
	DescribeInstanceHealthOp         Op[elb.DescribeInstanceHealthInput, elb.DescribeInstanceHealthOutput]
	DescribeLoadBalancerAttributesOp Op[elb.DescribeLoadBalancerAttributesInput, elb.DescribeLoadBalancerAttributesOutput]
	DescribeLoadBalancersOp          Op[elb.DescribeLoadBalancersInput, elb.DescribeLoadBalancersOutput]
	GetCallerIdentityOp              Op[sts.GetCallerIdentityInput, sts.GetCallerIdentityOutput]
	GetConsoleOutputOp               Op[ec2.GetConsoleOutputInput, ec2.GetConsoleOutputOutput]
	GetMetricDataOp                  Op[cloudwatch.GetMetricDataInput, cloudwatch.GetMetricDataOutput]
	DescribeAlarmsOp                 Op[cloudwatch.DescribeAlarmsInput, cloudwatch.DescribeAlarmsOutput]
	DescribeImageAttributeOp         Op[ec2.DescribeImageAttributeInput, ec2.DescribeImageAttributeOutput]
	DescribeSnapshotAttributeOp      Op[ec2.DescribeSnapshotAttributeInput, ec2.DescribeSnapshotAttributeOutput]
	ModifyImageAttributeOp           Op[ec2.ModifyImageAttributeInput, ec2.ModifyImageAttributeOutput]
	ModifySnapshotAttributeOp        Op[ec2.ModifySnapshotAttributeInput, ec2.ModifySnapshotAttributeOutput]
	CopyImageOp                      Op[ec2.CopyImageInput, ec2.CopyImageOutput]
	DescribeKeyOp                    Op[kms.DescribeKeyInput, kms.DescribeKeyOutput]
}

// Clients are the fake behind every client interface.
func (f *AWS) Clients() awsapi.Clients {
	return awsapi.Clients{AutoScaling: fakeAS{f}, EC2: fakeEC2{f}, ELBv2: fakeELBv2{f}, ELB: fakeELB{f}, STS: fakeSTS{f}, CloudWatch: fakeCW{f}, Images: fakeEC2{f}, KMS: fakeKMS{f}, Region: "eu-west-1"}
}

// Calls counts calls per operation name (only operations that were called).
func (f *AWS) Calls() map[string]int {
	out := map[string]int{}
	add := func(name string, n int) {
		if n > 0 {
			out[name] = n
		}
	}
	add("DescribeAutoScalingGroups", f.DescribeAutoScalingGroupsOp.Calls())
	add("DescribeInstanceRefreshes", f.DescribeInstanceRefreshesOp.Calls())
	add("DescribeScalingActivities", f.DescribeScalingActivitiesOp.Calls())
	add("StartInstanceRefresh", f.StartInstanceRefreshOp.Calls())
	add("RollbackInstanceRefresh", f.RollbackInstanceRefreshOp.Calls())
	add("CancelInstanceRefresh", f.CancelInstanceRefreshOp.Calls())
	add("UpdateAutoScalingGroup", f.UpdateAutoScalingGroupOp.Calls())
	add("EnterStandby", f.EnterStandbyOp.Calls())
	add("ExitStandby", f.ExitStandbyOp.Calls())
	add("DescribeLaunchTemplateVersions", f.DescribeLaunchTemplateVersionsOp.Calls())
	add("DescribeInstances", f.DescribeInstancesOp.Calls())
	add("DescribeImages", f.DescribeImagesOp.Calls())
	add("DescribeSnapshots", f.DescribeSnapshotsOp.Calls())
	add("CreateImage", f.CreateImageOp.Calls())
	add("CreateLaunchTemplateVersion", f.CreateLaunchTemplateVersionOp.Calls())
	add("CreateTags", f.CreateTagsOp.Calls())
	add("DescribeTargetHealth", f.DescribeTargetHealthOp.Calls())
	add("DescribeTargetGroupAttributes", f.DescribeTargetGroupAttributesOp.Calls())
	add("DescribeTargetGroups", f.DescribeTargetGroupsOp.Calls())
	add("DescribeInstanceHealth", f.DescribeInstanceHealthOp.Calls())
	add("DescribeLoadBalancerAttributes", f.DescribeLoadBalancerAttributesOp.Calls())
	add("DescribeLoadBalancers", f.DescribeLoadBalancersOp.Calls())
	add("GetCallerIdentity", f.GetCallerIdentityOp.Calls())
	add("GetConsoleOutput", f.GetConsoleOutputOp.Calls())
	add("GetMetricData", f.GetMetricDataOp.Calls())
	add("DescribeAlarms", f.DescribeAlarmsOp.Calls())
	add("DescribeImageAttribute", f.DescribeImageAttributeOp.Calls())
	add("DescribeSnapshotAttribute", f.DescribeSnapshotAttributeOp.Calls())
	add("ModifyImageAttribute", f.ModifyImageAttributeOp.Calls())
	add("ModifySnapshotAttribute", f.ModifySnapshotAttributeOp.Calls())
	add("CopyImage", f.CopyImageOp.Calls())
	add("DescribeKey", f.DescribeKeyOp.Calls())

	return out
}

// ResetCalls forgets every recorded input.
func (f *AWS) ResetCalls() {
	f.DescribeAutoScalingGroupsOp.Reset()
	f.DescribeInstanceRefreshesOp.Reset()
	f.DescribeScalingActivitiesOp.Reset()
	f.StartInstanceRefreshOp.Reset()
	f.RollbackInstanceRefreshOp.Reset()
	f.CancelInstanceRefreshOp.Reset()
	f.UpdateAutoScalingGroupOp.Reset()
	f.EnterStandbyOp.Reset()
	f.ExitStandbyOp.Reset()
	f.DescribeLaunchTemplateVersionsOp.Reset()
	f.DescribeInstancesOp.Reset()
	f.DescribeImagesOp.Reset()
	f.DescribeSnapshotsOp.Reset()
	f.CreateImageOp.Reset()
	f.CreateLaunchTemplateVersionOp.Reset()
	f.CreateTagsOp.Reset()
	f.DescribeTargetHealthOp.Reset()
	f.DescribeTargetGroupAttributesOp.Reset()
	f.DescribeTargetGroupsOp.Reset()
	f.DescribeInstanceHealthOp.Reset()
	f.DescribeLoadBalancerAttributesOp.Reset()
	f.DescribeLoadBalancersOp.Reset()
	f.GetCallerIdentityOp.Reset()
	f.GetConsoleOutputOp.Reset()
	f.GetMetricDataOp.Reset()
	f.DescribeAlarmsOp.Reset()
	f.DescribeImageAttributeOp.Reset()
	f.DescribeSnapshotAttributeOp.Reset()
	f.ModifyImageAttributeOp.Reset()
	f.ModifySnapshotAttributeOp.Reset()
	f.CopyImageOp.Reset()
	f.DescribeKeyOp.Reset()
}

type fakeAS struct{ f *AWS }

func (c fakeAS) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return c.f.DescribeAutoScalingGroupsOp.call(in)
}
func (c fakeAS) DescribeInstanceRefreshes(_ context.Context, in *autoscaling.DescribeInstanceRefreshesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	return c.f.DescribeInstanceRefreshesOp.call(in)
}
func (c fakeAS) DescribeScalingActivities(_ context.Context, in *autoscaling.DescribeScalingActivitiesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error) {
	return c.f.DescribeScalingActivitiesOp.call(in)
}
func (c fakeAS) StartInstanceRefresh(_ context.Context, in *autoscaling.StartInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	return c.f.StartInstanceRefreshOp.call(in)
}
func (c fakeAS) RollbackInstanceRefresh(_ context.Context, in *autoscaling.RollbackInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.RollbackInstanceRefreshOutput, error) {
	return c.f.RollbackInstanceRefreshOp.call(in)
}
func (c fakeAS) CancelInstanceRefresh(_ context.Context, in *autoscaling.CancelInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error) {
	return c.f.CancelInstanceRefreshOp.call(in)
}
func (c fakeAS) EnterStandby(_ context.Context, in *autoscaling.EnterStandbyInput, _ ...func(*autoscaling.Options)) (*autoscaling.EnterStandbyOutput, error) {
	return c.f.EnterStandbyOp.call(in)
}
func (c fakeAS) ExitStandby(_ context.Context, in *autoscaling.ExitStandbyInput, _ ...func(*autoscaling.Options)) (*autoscaling.ExitStandbyOutput, error) {
	return c.f.ExitStandbyOp.call(in)
}
func (c fakeAS) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	return c.f.UpdateAutoScalingGroupOp.call(in)
}

type fakeEC2 struct{ f *AWS }

func (c fakeEC2) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	return c.f.DescribeLaunchTemplateVersionsOp.call(in)
}
func (c fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return c.f.DescribeInstancesOp.call(in)
}
func (c fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return c.f.DescribeImagesOp.call(in)
}
func (c fakeEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	return c.f.DescribeSnapshotsOp.call(in)
}
func (c fakeEC2) GetConsoleOutput(_ context.Context, in *ec2.GetConsoleOutputInput, _ ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error) {
	return c.f.GetConsoleOutputOp.call(in)
}
func (c fakeEC2) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return c.f.CreateTagsOp.call(in)
}

func (c fakeEC2) CreateImage(_ context.Context, in *ec2.CreateImageInput, _ ...func(*ec2.Options)) (*ec2.CreateImageOutput, error) {
	return c.f.CreateImageOp.call(in)
}
func (c fakeEC2) CreateLaunchTemplateVersion(_ context.Context, in *ec2.CreateLaunchTemplateVersionInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	return c.f.CreateLaunchTemplateVersionOp.call(in)
}

type fakeELBv2 struct{ f *AWS }

func (c fakeELBv2) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return c.f.DescribeTargetHealthOp.call(in)
}
func (c fakeELBv2) DescribeTargetGroupAttributes(_ context.Context, in *elbv2.DescribeTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	return c.f.DescribeTargetGroupAttributesOp.call(in)
}
func (c fakeELBv2) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return c.f.DescribeTargetGroupsOp.call(in)
}

type fakeELB struct{ f *AWS }

func (c fakeELB) DescribeInstanceHealth(_ context.Context, in *elb.DescribeInstanceHealthInput, _ ...func(*elb.Options)) (*elb.DescribeInstanceHealthOutput, error) {
	return c.f.DescribeInstanceHealthOp.call(in)
}
func (c fakeELB) DescribeLoadBalancerAttributes(_ context.Context, in *elb.DescribeLoadBalancerAttributesInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancerAttributesOutput, error) {
	return c.f.DescribeLoadBalancerAttributesOp.call(in)
}
func (c fakeELB) DescribeLoadBalancers(_ context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	return c.f.DescribeLoadBalancersOp.call(in)
}

type fakeSTS struct{ f *AWS }

func (c fakeSTS) GetCallerIdentity(_ context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return c.f.GetCallerIdentityOp.call(in)
}

type fakeCW struct{ f *AWS }

func (c fakeCW) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return c.f.GetMetricDataOp.call(in)
}
func (c fakeCW) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return c.f.DescribeAlarmsOp.call(in)
}

type fakeKMS struct{ f *AWS }

func (c fakeEC2) DescribeImageAttribute(_ context.Context, in *ec2.DescribeImageAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error) {
	return c.f.DescribeImageAttributeOp.call(in)
}

func (c fakeEC2) DescribeSnapshotAttribute(_ context.Context, in *ec2.DescribeSnapshotAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error) {
	return c.f.DescribeSnapshotAttributeOp.call(in)
}

func (c fakeEC2) ModifyImageAttribute(_ context.Context, in *ec2.ModifyImageAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	return c.f.ModifyImageAttributeOp.call(in)
}

func (c fakeEC2) ModifySnapshotAttribute(_ context.Context, in *ec2.ModifySnapshotAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error) {
	return c.f.ModifySnapshotAttributeOp.call(in)
}

func (c fakeEC2) CopyImage(_ context.Context, in *ec2.CopyImageInput, _ ...func(*ec2.Options)) (*ec2.CopyImageOutput, error) {
	return c.f.CopyImageOp.call(in)
}

func (c fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	return c.f.DescribeKeyOp.call(in)
}
