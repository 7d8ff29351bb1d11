package awsapi

import (
	"context"
	"slices"
	"sort"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Operation is one AWS API operation as IAM names it: the service prefix ("ec2",
// "autoscaling", "elasticloadbalancing", "sts", "cloudwatch") and the operation ("DescribeImages").
type Operation struct {
	Service string
	Name    string
}

// Action is the IAM action string, e.g. "ec2:DescribeImages".
func (o Operation) Action() string { return o.Service + ":" + o.Name }

func (o Operation) String() string { return o.Action() }

// ReadOperations is the allow-list of read-only mode and the read half of the IAM policy: every
// operation the console reads with, and nothing else. It is the single source of truth: the
// read-only middleware, IAMPolicy and the tests all use it. Sorted by action.
var ReadOperations = sortedOperations([]Operation{
	{"autoscaling", "DescribeAutoScalingGroups"},
	{"autoscaling", "DescribeInstanceRefreshes"},
	{"autoscaling", "DescribeScalingActivities"},
	{"cloudwatch", "DescribeAlarms"},
	{"cloudwatch", "GetMetricData"},
	{"ec2", "DescribeImageAttribute"},
	{"ec2", "DescribeImages"},
	{"ec2", "DescribeInstances"},
	{"ec2", "DescribeLaunchTemplateVersions"},
	{"ec2", "DescribeSnapshotAttribute"},
	{"ec2", "DescribeSnapshots"},
	{"ec2", "GetConsoleOutput"},
	{"elasticloadbalancing", "DescribeInstanceHealth"},
	{"elasticloadbalancing", "DescribeLoadBalancerAttributes"},
	{"elasticloadbalancing", "DescribeLoadBalancers"},
	{"elasticloadbalancing", "DescribeTargetGroupAttributes"},
	{"elasticloadbalancing", "DescribeTargetGroups"},
	{"elasticloadbalancing", "DescribeTargetHealth"},
	{"kms", "DescribeKey"},
	{"sts", "GetCallerIdentity"},
})

// WriteOperations are the mutating operations bake, promote, rollback, cancel and mark use
// (EnterStandby/ExitStandby: a bake with reboot of an in-service group instance).
// ec2:CreateTags marks images (rolled back, bad, good), and IAM also requires it to tag an
// image and its snapshots on creation (CreateImage with TagSpecifications). ModifyImageAttribute
// and ModifySnapshotAttribute share an image with another account, CopyImage copies one into
// an account and region (promote across accounts and regions). Sorted by action.
var WriteOperations = sortedOperations([]Operation{
	{"autoscaling", "CancelInstanceRefresh"},
	{"autoscaling", "EnterStandby"},
	{"autoscaling", "ExitStandby"},
	{"autoscaling", "RollbackInstanceRefresh"},
	{"autoscaling", "StartInstanceRefresh"},
	{"autoscaling", "UpdateAutoScalingGroup"},
	{"ec2", "CopyImage"},
	{"ec2", "CreateImage"},
	{"ec2", "CreateLaunchTemplateVersion"},
	{"ec2", "CreateTags"},
	{"ec2", "ModifyImageAttribute"},
	{"ec2", "ModifySnapshotAttribute"},
})

// ImpliedOperations are IAM actions adstage-ops never calls itself but AWS checks on the
// caller while carrying out WriteOperations: updating a group or starting an instance refresh
// with a launch template needs ec2:RunInstances on it ("You are not authorized to use launch
// template" otherwise), and iam:PassRole when the template names an instance profile (see
// "Launch template permissions" in the Amazon EC2 Auto Scaling User Guide). Sorted by action.
var ImpliedOperations = sortedOperations([]Operation{
	{"ec2", "RunInstances"},
	{"iam", "PassRole"},
})

// ShellOperations are IAM actions the AWS CLI needs when the console opens a shell on an
// instance (`s`: aws ssm start-session): starting the session on the instance, and ending
// it. adstage-ops does not call them itself; the write policy grants them on instances that
// carry the service tag.
var ShellOperations = sortedOperations([]Operation{
	{"ssm", "StartSession"},
	{"ssm", "TerminateSession"},
})

// AuditLogReadOperations and AuditLogWriteOperations are what the shared audit log (a
// CloudWatch Logs group, audit.log_group in the config) reads and sends with. They are in the
// IAM policy only when the config names a group, scoped to it; read-only mode allows the read.
var (
	AuditLogReadOperations  = []Operation{{"logs", "FilterLogEvents"}}
	AuditLogWriteOperations = sortedOperations([]Operation{{"logs", "CreateLogStream"}, {"logs", "PutLogEvents"}})
)

func sortedOperations(ops []Operation) []Operation {
	sort.Slice(ops, func(i, j int) bool { return ops[i].Action() < ops[j].Action() })
	return ops
}

// IsReadOperation says whether the operation of an SDK service id ("EC2", "Elastic Load
// Balancing v2") is on the read allow-list.
func IsReadOperation(serviceID, operation string) bool {
	op := Operation{Service: iamPrefix(serviceID), Name: operation}
	return slices.Contains(ReadOperations, op) || slices.Contains(AuditLogReadOperations, op)
}

// readOnlyID names the middleware in the stack.
const readOnlyID = "adstage-ops/ReadOnly"

// ReadOnlyAPIOption is a function for aws.Config.APIOptions (or a client's Options.APIOptions)
// that installs the read-only guard: first in the Initialize step (before input validation,
// serialization, signing or sending), it refuses every operation that is not in
// ReadOperations with a *ReadOnlyError (which wraps ErrReadOnly and names the operation). An
// operation whose service cannot be told is refused too: the guard fails closed.
func ReadOnlyAPIOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(readOnlyGuard{operation: stack.ID()}, middleware.Before)
}

type readOnlyGuard struct {
	operation string // the stack's ID is the operation name
}

func (readOnlyGuard) ID() string { return readOnlyID }

func (g readOnlyGuard) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	service := awsmiddleware.GetServiceID(ctx)
	operation := awsmiddleware.GetOperationName(ctx)
	if operation == "" {
		operation = g.operation
	}
	if service == "" || !IsReadOperation(service, operation) {
		return middleware.InitializeOutput{}, middleware.Metadata{}, &ReadOnlyError{Service: iamPrefix(service), Operation: operation}
	}
	return next.HandleInitialize(ctx, in)
}
