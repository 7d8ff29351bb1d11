package sim

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// autoScalingClient is the simulated Auto Scaling API.
type autoScalingClient struct{ c *Cloud }

// paginate cuts one page out of items. Tokens are opaque to callers, as AWS's are.
func paginate[T any](items []T, token *string, limit int) ([]T, *string, bool) {
	start := 0
	if t := aws.ToString(token); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "sim-next-"))
		if err != nil || !strings.HasPrefix(t, "sim-next-") || n < 0 || n > len(items) {
			return nil, nil, false
		}
		start = n
	}
	end := min(start+limit, len(items))
	var next *string
	if end < len(items) {
		next = aws.String("sim-next-" + strconv.Itoa(end))
	}
	return items[start:end], next, true
}

// pageSize applies an API's default and maximum page size.
func pageSize(v *int32, def, most int32) (int, bool) {
	if v == nil {
		return int(def), true
	}
	if *v < 1 || *v > most {
		return 0, false
	}
	return int(*v), true
}

func (a *autoScalingClient) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	const op = "DescribeAutoScalingGroups"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &autoscaling.DescribeAutoScalingGroupsInput{}
	}
	limit, ok := pageSize(in.MaxRecords, 50, 100)
	if !ok {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100", aws.ToInt32(in.MaxRecords))
	}
	var match []*Group
	filters := newGroupFilters(in.Filters)
	for _, g := range c.st.Groups {
		if len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, g.Name) {
			continue
		}
		if !groupMatches(g, filters) {
			continue
		}
		match = append(match, g)
	}
	pg, next, ok := paginate(match, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcAutoScaling, op, "InvalidNextToken", "The token '%s' is invalid.", aws.ToString(in.NextToken))
	}
	out := &autoscaling.DescribeAutoScalingGroupsOutput{NextToken: next, AutoScalingGroups: make([]astypes.AutoScalingGroup, 0, len(pg))}
	for _, g := range pg {
		out.AutoScalingGroups = append(out.AutoScalingGroups, c.groupOut(g))
	}
	return out, nil
}

// groupFilter is one DescribeAutoScalingGroups filter with its values as a set, built once
// per call (a page of a 2,000-group account is matched against every group).
type groupFilter struct {
	name   string
	values map[string]bool
}

func newGroupFilters(filters []astypes.Filter) []groupFilter {
	out := make([]groupFilter, len(filters))
	for i, f := range filters {
		out[i] = groupFilter{name: aws.ToString(f.Name), values: make(map[string]bool, len(f.Values))}
		for _, v := range f.Values {
			out[i].values[v] = true
		}
	}
	return out
}

// groupMatches applies DescribeAutoScalingGroups filters: values of one filter are ORed,
// filters are ANDed.
func groupMatches(g *Group, filters []groupFilter) bool {
	for _, f := range filters {
		name := f.name
		ok := false
		for _, t := range g.Tags {
			switch {
			case name == "tag-key":
				ok = f.values[t.Key]
			case name == "tag-value":
				ok = f.values[t.Value]
			case strings.HasPrefix(name, "tag:"):
				ok = t.Key == name[len("tag:"):] && f.values[t.Value]
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c *Cloud) groupOut(g *Group) astypes.AutoScalingGroup {
	o := astypes.AutoScalingGroup{
		AutoScalingGroupName:   aws.String(g.Name),
		AutoScalingGroupARN:    aws.String(g.ARN),
		AvailabilityZones:      slices.Clone(g.AZs),
		CreatedTime:            aws.Time(g.CreatedAt),
		DefaultCooldown:        aws.Int32(300),
		DesiredCapacity:        aws.Int32(g.Desired),
		MinSize:                aws.Int32(g.Min),
		MaxSize:                aws.Int32(g.Max),
		HealthCheckType:        aws.String(g.HealthCheckType),
		HealthCheckGracePeriod: aws.Int32(g.GracePeriod),
		LoadBalancerNames:      slices.Clone(g.ClassicELBs),
		TargetGroupARNs:        slices.Clone(g.TargetGroupARNs),
		TerminationPolicies:    []string{"Default"},
		VPCZoneIdentifier:      aws.String("subnet-0sima,subnet-0simb,subnet-0simc"),
		ServiceLinkedRoleARN:   aws.String("arn:aws:iam::" + c.st.Account + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"),
	}
	if o.LoadBalancerNames == nil {
		o.LoadBalancerNames = []string{}
	}
	if o.TargetGroupARNs == nil {
		o.TargetGroupARNs = []string{}
	}
	if g.DefaultWarmup > 0 {
		o.DefaultInstanceWarmup = aws.Int32(g.DefaultWarmup)
	}
	if g.LaunchTemplate != nil {
		o.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(g.LaunchTemplate.ID), LaunchTemplateName: aws.String(g.LaunchTemplate.Name), Version: aws.String(g.LaunchTemplate.Version)}
	}
	if g.LaunchConfig != "" {
		o.LaunchConfigurationName = aws.String(g.LaunchConfig)
	}
	for _, p := range g.Suspended {
		o.SuspendedProcesses = append(o.SuspendedProcesses, astypes.SuspendedProcess{ProcessName: aws.String(p), SuspensionReason: aws.String("User suspended at " + stamp(g.CreatedAt))})
	}
	for _, t := range g.Tags {
		o.Tags = append(o.Tags, astypes.TagDescription{Key: aws.String(t.Key), Value: aws.String(t.Value), PropagateAtLaunch: aws.Bool(t.Propagate), ResourceId: aws.String(g.Name), ResourceType: aws.String("auto-scaling-group")})
	}
	o.Instances = make([]astypes.Instance, 0, len(g.Instances))
	for _, id := range g.Instances {
		in := c.st.Instances[id]
		if in == nil || in.Lifecycle == lcTerminated {
			continue
		}
		oi := astypes.Instance{
			InstanceId:           aws.String(in.ID),
			AvailabilityZone:     aws.String(in.AZ),
			HealthStatus:         aws.String("Healthy"),
			LifecycleState:       astypes.LifecycleState(in.Lifecycle),
			ProtectedFromScaleIn: aws.Bool(in.ProtectedScaleIn),
			InstanceType:         aws.String(in.InstanceType),
			ImageId:              aws.String(in.ImageID),
		}
		if in.Config.LaunchConfig != "" {
			oi.LaunchConfigurationName = aws.String(in.Config.LaunchConfig)
		} else {
			oi.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(in.Config.TemplateID), LaunchTemplateName: aws.String(in.Config.TemplateName), Version: aws.String(strconv.Itoa(in.Config.Version))}
		}
		o.Instances = append(o.Instances, oi)
	}
	return o
}

func (a *autoScalingClient) DescribeInstanceRefreshes(_ context.Context, in *autoscaling.DescribeInstanceRefreshesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	const op = "DescribeInstanceRefreshes"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.AutoScalingGroupName) == "" {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	}
	limit, ok := pageSize(in.MaxRecords, 50, 100)
	if !ok {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "MaxRecords must be between 1 and 100")
	}
	var list []*Refresh
	if g := c.groups[aws.ToString(in.AutoScalingGroupName)]; g != nil {
		for i := len(g.Refreshes) - 1; i >= 0; i-- {
			r := g.Refreshes[i]
			if len(in.InstanceRefreshIds) > 0 && !slices.Contains(in.InstanceRefreshIds, r.ID) {
				continue
			}
			list = append(list, r)
		}
	}
	pg, next, ok := paginate(list, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcAutoScaling, op, "InvalidNextToken", "The token '%s' is invalid.", aws.ToString(in.NextToken))
	}
	out := &autoscaling.DescribeInstanceRefreshesOutput{NextToken: next, InstanceRefreshes: []astypes.InstanceRefresh{}}
	for _, r := range pg {
		out.InstanceRefreshes = append(out.InstanceRefreshes, refreshOut(r))
	}
	return out, nil
}

func refreshOut(r *Refresh) astypes.InstanceRefresh {
	o := astypes.InstanceRefresh{
		AutoScalingGroupName: aws.String(r.Group),
		InstanceRefreshId:    aws.String(r.ID),
		Status:               astypes.InstanceRefreshStatus(r.Status),
		StartTime:            aws.Time(r.StartTime),
		PercentageComplete:   aws.Int32(r.percent()),
		InstancesToUpdate:    aws.Int32(r.toUpdate()),
		Strategy:             astypes.RefreshStrategyRolling,
		Preferences: &astypes.RefreshPreferences{
			MinHealthyPercentage:      aws.Int32(r.MinHealthy),
			MaxHealthyPercentage:      aws.Int32(r.MaxHealthy),
			SkipMatching:              aws.Bool(r.SkipMatching),
			AutoRollback:              aws.Bool(r.AutoRollback),
			InstanceWarmup:            aws.Int32(r.Warmup),
			ScaleInProtectedInstances: astypes.ScaleInProtectedInstancesIgnore,
			StandbyInstances:          astypes.StandbyInstancesIgnore,
		},
		ProgressDetails: &astypes.InstanceRefreshProgressDetails{LivePoolProgress: &astypes.InstanceRefreshLivePoolProgress{
			PercentageComplete: aws.Int32(r.percent()), InstancesToUpdate: aws.Int32(r.toUpdate())}},
	}
	if r.StatusReason != "" {
		o.StatusReason = aws.String(r.StatusReason)
	}
	if !r.EndTime.IsZero() {
		o.EndTime = aws.Time(r.EndTime)
	}
	if r.Desired != nil {
		// The desired configuration stays the one requested, also while rolling back.
		o.DesiredConfiguration = &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(r.Desired.ID), LaunchTemplateName: aws.String(r.Desired.Name), Version: aws.String(r.Desired.Version)}}
	}
	if r.Rolling {
		o.RollbackDetails = &astypes.RollbackDetails{
			RollbackReason:               aws.String(r.RollbackReason),
			RollbackStartTime:            aws.Time(r.RollbackStart),
			PercentageCompleteOnRollback: aws.Int32(r.PctOnRollback),
			InstancesToUpdateOnRollback:  aws.Int32(r.ToUpdateOnRollback),
		}
	}
	return o
}

func (a *autoScalingClient) DescribeScalingActivities(_ context.Context, in *autoscaling.DescribeScalingActivitiesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeScalingActivitiesOutput, error) {
	const op = "DescribeScalingActivities"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &autoscaling.DescribeScalingActivitiesInput{}
	}
	limit, ok := pageSize(in.MaxRecords, 100, 100)
	if !ok {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "MaxRecords must be between 1 and 100")
	}
	var list []*Activity
	for _, g := range c.st.Groups {
		if n := aws.ToString(in.AutoScalingGroupName); n != "" && n != g.Name {
			continue
		}
		for _, act := range g.Activities {
			if len(in.ActivityIds) > 0 && !slices.Contains(in.ActivityIds, act.ID) {
				continue
			}
			list = append(list, act)
		}
	}
	slices.SortStableFunc(list, func(x, y *Activity) int { return y.Start.Compare(x.Start) })
	pg, next, ok := paginate(list, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcAutoScaling, op, "InvalidNextToken", "The token '%s' is invalid.", aws.ToString(in.NextToken))
	}
	out := &autoscaling.DescribeScalingActivitiesOutput{NextToken: next, Activities: []astypes.Activity{}}
	for _, act := range pg {
		o := astypes.Activity{
			ActivityId: aws.String(act.ID), AutoScalingGroupName: aws.String(act.Group), Description: aws.String(act.Description),
			Cause: aws.String(act.Cause), Details: aws.String(act.Details), StartTime: aws.Time(act.Start),
			StatusCode: astypes.ScalingActivityStatusCode(act.StatusCode), Progress: aws.Int32(act.Progress),
		}
		if g := c.groups[act.Group]; g != nil {
			o.AutoScalingGroupARN = aws.String(g.ARN)
		}
		if !act.End.IsZero() {
			o.EndTime = aws.Time(act.End)
		}
		if act.StatusMessage != "" {
			o.StatusMessage = aws.String(act.StatusMessage)
		}
		out.Activities = append(out.Activities, o)
	}
	return out, nil
}

func (a *autoScalingClient) StartInstanceRefresh(_ context.Context, in *autoscaling.StartInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	const op = "StartInstanceRefresh"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &autoscaling.StartInstanceRefreshInput{}
	}
	g := c.groups[aws.ToString(in.AutoScalingGroupName)]
	if g == nil {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup name not found - %s", aws.ToString(in.AutoScalingGroupName))
	}
	if activeRefresh(g) != nil {
		return nil, apiError(svcAutoScaling, op, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	if in.Strategy != "" && in.Strategy != astypes.RefreshStrategyRolling {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "Strategy %s is not supported", in.Strategy)
	}
	p := in.Preferences
	if p == nil {
		p = &astypes.RefreshPreferences{}
	}
	// AWS's defaults: MinHealthyPercentage 90, MaxHealthyPercentage 100, SkipMatching false.
	minH, maxH := int32(90), int32(100)
	if p.MinHealthyPercentage != nil {
		minH = *p.MinHealthyPercentage
	}
	if p.MaxHealthyPercentage != nil {
		maxH = *p.MaxHealthyPercentage
	}
	switch {
	case p.MaxHealthyPercentage != nil && p.MinHealthyPercentage == nil:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "Both MinHealthyPercentage and MaxHealthyPercentage must be specified.")
	case minH < 0 || minH > 100:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "MinHealthyPercentage must be between 0 and 100")
	case maxH < 100 || maxH > 200:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "MaxHealthyPercentage must be between 100 and 200")
	case maxH-minH > 100:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "The difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100")
	case minH == 100 && maxH == 100:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "MinHealthyPercentage and MaxHealthyPercentage cannot both be 100")
	}
	warmup := g.DefaultWarmup
	if warmup == 0 {
		warmup = g.GracePeriod
	}
	if p.InstanceWarmup != nil {
		warmup = *p.InstanceWarmup
	}
	autoRollback := aws.ToBool(p.AutoRollback)
	target := c.groupConfig(g)
	var desired *TemplateSpec
	if dc := in.DesiredConfiguration; dc != nil && dc.LaunchTemplate != nil {
		lt := dc.LaunchTemplate
		if (lt.LaunchTemplateId == nil) == (lt.LaunchTemplateName == nil) {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "Valid requests must contain either launchTemplateId or LaunchTemplateName")
		}
		spec := TemplateSpec{ID: aws.ToString(lt.LaunchTemplateId), Name: aws.ToString(lt.LaunchTemplateName), Version: aws.ToString(lt.Version)}
		if spec.Version == "" {
			spec.Version = "$Default"
		}
		cfg, ok := c.resolve(spec)
		if !ok {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "The specified launch template %s%s version %s does not exist.", spec.ID, spec.Name, spec.Version)
		}
		if err := c.mayUseTemplate(svcAutoScaling, op, cfg.TemplateID); err != nil {
			return nil, err
		}
		target = cfg
		spec.ID, spec.Name = cfg.TemplateID, cfg.TemplateName
		desired = &spec
	} else if autoRollback {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoRollback requires a DesiredConfiguration.")
	}
	// RefreshPreferences.AutoRollback: "A rollback is not supported ... [when] the Auto Scaling
	// group has a launch template that uses an Amazon Web Services Systems Manager parameter
	// instead of an AMI ID for the ImageId property" (API reference).
	if autoRollback && c.usesSSM(c.groupConfig(g)) {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "Rollback is not supported for an Auto Scaling group whose launch template uses a Systems Manager parameter for the AMI ID.")
	}
	if target.LaunchConfig == "" && target.TemplateID == "" {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "The group has no launch template or launch configuration to refresh to.")
	}
	switch p.StandbyInstances {
	case "", astypes.StandbyInstancesTerminate, astypes.StandbyInstancesIgnore, astypes.StandbyInstancesWait:
	default:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value '%s' at 'preferences.standbyInstances' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Ignore, Wait]", p.StandbyInstances)
	}
	switch p.ScaleInProtectedInstances {
	case "", astypes.ScaleInProtectedInstancesRefresh, astypes.ScaleInProtectedInstancesIgnore, astypes.ScaleInProtectedInstancesWait:
	default:
		return nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value '%s' at 'preferences.scaleInProtectedInstances' failed to satisfy constraint: Member must satisfy enum value set: [Refresh, Ignore, Wait]", p.ScaleInProtectedInstances)
	}
	r := c.startRefresh(g, desired, target, minH, maxH, aws.ToBool(p.SkipMatching), autoRollback, warmup, string(p.StandbyInstances), string(p.ScaleInProtectedInstances))
	return &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String(r.ID)}, nil
}

func (a *autoScalingClient) RollbackInstanceRefresh(_ context.Context, in *autoscaling.RollbackInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.RollbackInstanceRefreshOutput, error) {
	const op = "RollbackInstanceRefresh"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	name := ""
	if in != nil {
		name = aws.ToString(in.AutoScalingGroupName)
	}
	g := c.groups[name]
	if g == nil {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup name not found - %s", name)
	}
	r := activeRefresh(g)
	if r == nil || r.Rolling || r.Status == rsCancelling {
		return nil, apiError(svcAutoScaling, op, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", name)
	}
	// RollbackInstanceRefresh is not supported when "the Auto Scaling group has a launch
	// template that uses an Amazon Web Services Systems Manager parameter instead of an AMI ID
	// for the ImageId property" (API reference).
	if r.PreviousSpec != nil && c.usesSSM(r.Previous) {
		return nil, apiError(svcAutoScaling, op, "IrreversibleInstanceRefresh", "The instance refresh for Auto Scaling group %s cannot be rolled back: its launch template uses a Systems Manager parameter for the AMI ID.", name)
	}
	if r.Desired == nil {
		return nil, apiError(svcAutoScaling, op, "IrreversibleInstanceRefresh", "The instance refresh for Auto Scaling group %s has no desired configuration and cannot be rolled back.", name)
	}
	c.rollback(g, r, "Rollback requested by the user.")
	return &autoscaling.RollbackInstanceRefreshOutput{InstanceRefreshId: aws.String(r.ID)}, nil
}

// CancelInstanceRefresh follows AWS's documented behaviour (see Cloud.cancel): it cancels a
// refresh or a rollback in progress, without rolling anything back.
func (a *autoScalingClient) CancelInstanceRefresh(_ context.Context, in *autoscaling.CancelInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error) {
	const op = "CancelInstanceRefresh"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	name := ""
	wait := true // AWS's default
	if in != nil {
		name = aws.ToString(in.AutoScalingGroupName)
		if in.WaitForTransitioningInstances != nil {
			wait = *in.WaitForTransitioningInstances
		}
	}
	if name == "" {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null")
	}
	g := c.groups[name]
	if g == nil {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup name not found - %s", name)
	}
	r := activeRefresh(g)
	if r == nil || !r.cancellable() {
		return nil, apiError(svcAutoScaling, op, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group %s", name)
	}
	c.cancel(g, r, wait)
	return &autoscaling.CancelInstanceRefreshOutput{InstanceRefreshId: aws.String(r.ID)}, nil
}

func (a *autoScalingClient) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	const op = "UpdateAutoScalingGroup"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &autoscaling.UpdateAutoScalingGroupInput{}
	}
	g := c.groups[aws.ToString(in.AutoScalingGroupName)]
	if g == nil {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup name not found - %s", aws.ToString(in.AutoScalingGroupName))
	}
	minS, maxS, des := g.Min, g.Max, g.Desired
	if in.MinSize != nil {
		minS = *in.MinSize
	}
	if in.MaxSize != nil {
		maxS = *in.MaxSize
	}
	if in.DesiredCapacity != nil {
		des = *in.DesiredCapacity
	} else {
		des = min(max(des, minS), maxS)
	}
	if minS > maxS || des < minS || des > maxS || minS < 0 {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "Desired capacity:%d must be between the specified min size:%d and max size:%d", des, minS, maxS)
	}
	var spec *TemplateSpec
	if lt := in.LaunchTemplate; lt != nil {
		if (lt.LaunchTemplateId == nil) == (lt.LaunchTemplateName == nil) {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "Valid requests must contain either launchTemplateId or LaunchTemplateName")
		}
		s := TemplateSpec{ID: aws.ToString(lt.LaunchTemplateId), Name: aws.ToString(lt.LaunchTemplateName), Version: aws.ToString(lt.Version)}
		if s.Version == "" {
			s.Version = "$Default"
		}
		cfg, ok := c.resolve(s)
		if !ok {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "You must use a valid fully-formed launch template. The specified launch template %s%s version %s does not exist.", s.ID, s.Name, s.Version)
		}
		if err := c.mayUseTemplate(svcAutoScaling, op, cfg.TemplateID); err != nil {
			return nil, err
		}
		s.ID, s.Name = cfg.TemplateID, cfg.TemplateName
		spec = &s
	}
	if n := aws.ToString(in.LaunchConfigurationName); n != "" && c.lcs[n] == nil {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "Launch configuration name not found - %s", n)
	}
	if t := aws.ToString(in.HealthCheckType); t != "" {
		if t != "EC2" && t != "ELB" && t != "VPC_LATTICE" && t != "EBS" {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "Health check type %s is not supported", t)
		}
		g.HealthCheckType = t
	}
	if in.HealthCheckGracePeriod != nil {
		g.GracePeriod = *in.HealthCheckGracePeriod
	}
	if in.DefaultInstanceWarmup != nil {
		g.DefaultWarmup = *in.DefaultInstanceWarmup
	}
	if spec != nil {
		g.LaunchTemplate = spec
		g.LaunchConfig = ""
	} else if n := aws.ToString(in.LaunchConfigurationName); n != "" {
		g.LaunchConfig = n
		g.LaunchTemplate = nil
	}
	g.Min, g.Max, g.Desired = minS, maxS, des
	g.Busy = true
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

// standbyInstances finds the named instances of a group for EnterStandby and ExitStandby:
// at most 20 ("You can specify up to 20 instances"), each a member of the group.
func (c *Cloud) standbyInstances(op, group string, ids []string) (*Group, []*Instance, error) {
	g := c.groups[group]
	if g == nil {
		return nil, nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup name not found - %s", group)
	}
	if len(ids) > 20 {
		return nil, nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 20")
	}
	var out []*Instance
	for _, id := range ids {
		in := c.st.Instances[id]
		if in == nil || in.Group != g.Name || in.Lifecycle == lcTerminated {
			return nil, nil, apiError(svcAutoScaling, op, "ValidationError", "The instance %s is not part of Auto Scaling group %s.", id, g.Name)
		}
		out = append(out, in)
	}
	return g, out, nil
}

// EnterStandby follows the API reference: only InService instances enter standby; with
// ShouldDecrementDesiredCapacity (required) the desired capacity drops by their number, which
// may not take it below the minimum, else the group launches replacements. The instances are
// deregistered from the group's balancers and are in Standby once draining ends
// ("Temporarily remove instances from your Auto Scaling group", User Guide).
func (a *autoScalingClient) EnterStandby(_ context.Context, in *autoscaling.EnterStandbyInput, _ ...func(*autoscaling.Options)) (*autoscaling.EnterStandbyOutput, error) {
	const op = "EnterStandby"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || in.ShouldDecrementDesiredCapacity == nil {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null")
	}
	g, insts, err := c.standbyInstances(op, aws.ToString(in.AutoScalingGroupName), in.InstanceIds)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if inst.Lifecycle != lcInService {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "The instance %s is not in InService.", inst.ID)
		}
	}
	if *in.ShouldDecrementDesiredCapacity {
		if g.Desired-int32(len(insts)) < g.Min {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To place into standby %d instances, please update the AutoScalingGroup sizes appropriately.", g.Name, g.Min, g.Max, g.Desired, len(insts))
		}
		g.Desired -= int32(len(insts))
	}
	out := &autoscaling.EnterStandbyOutput{}
	for _, inst := range insts {
		inst.StandbyAt = c.deregister(g, inst)
		inst.Lifecycle = lcEnteringStandby
		a := c.activity(g, "Moving EC2 instance to Standby: "+inst.ID, fmt.Sprintf("At %s instance %s was moved to standby in response to a user request.", stamp(c.st.Now), inst.ID), "InProgress", false)
		c.finishActivity(g, a.ID)
		out.Activities = append(out.Activities, astypes.Activity{ActivityId: aws.String(a.ID), AutoScalingGroupName: aws.String(g.Name), StatusCode: astypes.ScalingActivityStatusCodeInProgress})
	}
	g.Busy = true
	return out, nil
}

// ExitStandby returns Standby instances to service: the desired capacity grows by their
// number (API reference), and they register with the balancers again.
func (a *autoScalingClient) ExitStandby(_ context.Context, in *autoscaling.ExitStandbyInput, _ ...func(*autoscaling.Options)) (*autoscaling.ExitStandbyOutput, error) {
	const op = "ExitStandby"
	c := a.c
	if err := c.begin(svcAutoScaling, op, "autoscaling"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &autoscaling.ExitStandbyInput{}
	}
	g, insts, err := c.standbyInstances(op, aws.ToString(in.AutoScalingGroupName), in.InstanceIds)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if inst.Lifecycle != lcStandby {
			return nil, apiError(svcAutoScaling, op, "ValidationError", "The instance %s is not in Standby.", inst.ID)
		}
	}
	if g.Desired+int32(len(insts)) > g.Max {
		return nil, apiError(svcAutoScaling, op, "ValidationError", "AutoScalingGroup %s has min-size=%d, max-size=%d, and desired-size=%d. To exit standby %d instances, please update the AutoScalingGroup sizes appropriately.", g.Name, g.Min, g.Max, g.Desired, len(insts))
	}
	g.Desired += int32(len(insts))
	out := &autoscaling.ExitStandbyOutput{}
	for _, inst := range insts {
		drop := func(rs []*Registration) []*Registration {
			return slices.DeleteFunc(rs, func(r *Registration) bool { return r.InstanceID == inst.ID })
		}
		for _, arn := range g.TargetGroupARNs {
			if tg := c.tgs[arn]; tg != nil {
				tg.Targets = drop(tg.Targets)
			}
		}
		for _, name := range g.ClassicELBs {
			if lb := c.elbs[name]; lb != nil {
				lb.Instances = drop(lb.Instances)
			}
		}
		c.enterService(g, inst)
		a := c.activity(g, "Moving EC2 instance out of Standby: "+inst.ID, fmt.Sprintf("At %s instance %s was moved out of standby in response to a user request.", stamp(c.st.Now), inst.ID), "InProgress", false)
		c.finishActivity(g, a.ID)
		out.Activities = append(out.Activities, astypes.Activity{ActivityId: aws.String(a.ID), AutoScalingGroupName: aws.String(g.Name), StatusCode: astypes.ScalingActivityStatusCodeInProgress})
	}
	g.Busy = true
	return out, nil
}
