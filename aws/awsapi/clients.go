// Package awsapi is the action layer's edge to the SDK: the narrow per-service client
// interfaces (only the operations adstage-ops calls, so real clients, the simulator and fakes
// are interchangeable), SDK loading with its retryer, the read-only guard and the operation
// lists it enforces, the IAM policy built from them, and the sentence (with a next step) for
// every AWS error.
package awsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AutoScalingReader lists only the Auto Scaling read operations adstage-ops calls.
type AutoScalingReader interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeInstanceRefreshes(context.Context, *autoscaling.DescribeInstanceRefreshesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error)
	DescribeScalingActivities(context.Context, *autoscaling.DescribeScalingActivitiesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error)
}

// AutoScalingAPI adds the mutating Auto Scaling operations promote, rollback and cancel call.
type AutoScalingAPI interface {
	AutoScalingReader
	StartInstanceRefresh(context.Context, *autoscaling.StartInstanceRefreshInput, ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error)
	RollbackInstanceRefresh(context.Context, *autoscaling.RollbackInstanceRefreshInput, ...func(*autoscaling.Options)) (*autoscaling.RollbackInstanceRefreshOutput, error)
	// CancelInstanceRefresh stops a running rollout where it is, without rolling it back.
	CancelInstanceRefresh(context.Context, *autoscaling.CancelInstanceRefreshInput, ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error)
	// UpdateAutoScalingGroup pins a group on "$Latest"/"$Default" to its numeric known-good
	// version before a promote, so that AWS's auto-rollback returns to the right release.
	UpdateAutoScalingGroup(context.Context, *autoscaling.UpdateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	// EnterStandby and ExitStandby take an in-service instance out of its balancers around
	// the reboot of a bake, so that no health check replaces it.
	EnterStandby(context.Context, *autoscaling.EnterStandbyInput, ...func(*autoscaling.Options)) (*autoscaling.EnterStandbyOutput, error)
	ExitStandby(context.Context, *autoscaling.ExitStandbyInput, ...func(*autoscaling.Options)) (*autoscaling.ExitStandbyOutput, error)
}

// EC2Reader lists only the EC2 read operations adstage-ops calls.
type EC2Reader interface {
	DescribeLaunchTemplateVersions(context.Context, *ec2.DescribeLaunchTemplateVersionsInput, ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeImages(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DescribeSnapshots(context.Context, *ec2.DescribeSnapshotsInput, ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	// GetConsoleOutput reads an instance's serial console output (the `l` key).
	GetConsoleOutput(context.Context, *ec2.GetConsoleOutputInput, ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error)
}

// EC2API adds the mutating EC2 operations bake and promote call.
type EC2API interface {
	EC2Reader
	CreateImage(context.Context, *ec2.CreateImageInput, ...func(*ec2.Options)) (*ec2.CreateImageOutput, error)
	CreateLaunchTemplateVersion(context.Context, *ec2.CreateLaunchTemplateVersionInput, ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
}

// ELBv2Reader lists the target group reads.
type ELBv2Reader interface {
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DescribeTargetGroupAttributes(context.Context, *elbv2.DescribeTargetGroupAttributesInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	DescribeTargetGroups(context.Context, *elbv2.DescribeTargetGroupsInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
}

// ELBReader lists the classic load balancer reads.
type ELBReader interface {
	DescribeInstanceHealth(context.Context, *elb.DescribeInstanceHealthInput, ...func(*elb.Options)) (*elb.DescribeInstanceHealthOutput, error)
	DescribeLoadBalancerAttributes(context.Context, *elb.DescribeLoadBalancerAttributesInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancerAttributesOutput, error)
	// DescribeLoadBalancers reads a classic ELB's health check (interval, healthy threshold)
	// for the restore estimate.
	DescribeLoadBalancers(context.Context, *elb.DescribeLoadBalancersInput, ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
}

// CloudWatchReader lists the CloudWatch reads behind a service's signals: one GetMetricData
// carries every metric of the services on screen, DescribeAlarms lists the alarms firing.
type CloudWatchReader interface {
	GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// LogsReader reads the shared audit log (a CloudWatch Logs group named in the config).
type LogsReader interface {
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// LogsWriter sends audit events to the shared audit log: one stream per machine and user.
type LogsWriter interface {
	CreateLogStream(context.Context, *cloudwatchlogs.CreateLogStreamInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(context.Context, *cloudwatchlogs.PutLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// STSReader is the identity lookup.
type STSReader interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// ImageAccessReader reads who may launch an image and create volumes from its snapshots
// (only the owning account can): the cross-account promote checks.
type ImageAccessReader interface {
	DescribeImageAttribute(context.Context, *ec2.DescribeImageAttributeInput, ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
	DescribeSnapshotAttribute(context.Context, *ec2.DescribeSnapshotAttributeInput, ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error)
}

// ImageSharingAPI adds what a cross-account or cross-region promote changes: sharing an image
// and its snapshots with the target account (with the source's identity), and copying it
// into the target account and region (with the target's).
type ImageSharingAPI interface {
	ImageAccessReader
	ModifyImageAttribute(context.Context, *ec2.ModifyImageAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
	ModifySnapshotAttribute(context.Context, *ec2.ModifySnapshotAttributeInput, ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error)
	CopyImage(context.Context, *ec2.CopyImageInput, ...func(*ec2.Options)) (*ec2.CopyImageOutput, error)
}

// KMSReader tells an AWS managed key (aws/ebs, which cannot be shared) from a customer
// managed one, for an encrypted image's snapshots.
type KMSReader interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// ReadClients are the clients a read-only console holds: nothing in them can change AWS.
type ReadClients struct {
	AutoScaling AutoScalingReader
	EC2         EC2Reader
	ELBv2       ELBv2Reader
	ELB         ELBReader
	STS         STSReader
	CloudWatch  CloudWatchReader
	// Images and KMS back the cross-account promote checks; nil where the backend has none
	// (a test fake without them): the checks then say they could not be made.
	Images ImageAccessReader
	KMS    KMSReader
	Region string
	// Config is the SDK configuration the clients were made from (nil for the simulator and
	// fakes): the shared audit log's client is made from it, with the same identity.
	Config *aws.Config
}

// Clients are the clients a read-write console holds.
type Clients struct {
	AutoScaling AutoScalingAPI
	EC2         EC2API
	ELBv2       ELBv2Reader
	ELB         ELBReader
	STS         STSReader
	CloudWatch  CloudWatchReader
	// Images shares and copies images across accounts and regions (the simulator's across
	// the accounts of its partition); KMS is nil where the backend has none (a test fake).
	Images ImageSharingAPI
	KMS    KMSReader
	Region string
	Config *aws.Config
}

// Read narrows the clients to their read half.
func (c Clients) Read() ReadClients {
	r := ReadClients{AutoScaling: c.AutoScaling, EC2: c.EC2, ELBv2: c.ELBv2, ELB: c.ELB, STS: c.STS, CloudWatch: c.CloudWatch, KMS: c.KMS, Region: c.Region, Config: c.Config}
	if c.Images != nil {
		r.Images = c.Images
	}
	return r
}

// Compile-time proof that the real SDK clients satisfy the interfaces.
var (
	_ AutoScalingAPI   = (*autoscaling.Client)(nil)
	_ EC2API           = (*ec2.Client)(nil)
	_ ELBv2Reader      = (*elbv2.Client)(nil)
	_ ELBReader        = (*elb.Client)(nil)
	_ STSReader        = (*sts.Client)(nil)
	_ CloudWatchReader = (*cloudwatch.Client)(nil)
	_ ImageSharingAPI  = (*ec2.Client)(nil)
	_ KMSReader        = (*kms.Client)(nil)
	_ LogsReader       = (*cloudwatchlogs.Client)(nil)
	_ LogsWriter       = (*cloudwatchlogs.Client)(nil)
)

// Identity is who the clients act as.
type Identity struct {
	ARN     string
	Account string
	Region  string
}
