package inventory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// maxGroupsPerPage is DescribeAutoScalingGroups' largest page.
const maxGroupsPerPage = 100

// DescribeGroups lists every group (only those carrying the service tag key when untagged
// groups are skipped), 100 per page through the SDK paginator. filters narrow it further
// (History and Readiness ask for one service).
func DescribeGroups(ctx context.Context, api awsapi.AutoScalingReader, filters []astypes.Filter, count func(string)) ([]astypes.AutoScalingGroup, error) {
	var out []astypes.AutoScalingGroup
	err := describeGroupsEach(ctx, api, filters, func(context.Context) error {
		if count != nil {
			count("DescribeAutoScalingGroups")
		}
		return nil
	}, nil, func(page []astypes.AutoScalingGroup) { out = append(out, page...) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// describeGroupsEach lists the groups page by page: before runs ahead of every request (the
// one-shot read waits there for AWS's rate), retry says whether a failed request is asked
// again (nil: never), and each receives every page as it arrives.
func describeGroupsEach(ctx context.Context, api awsapi.AutoScalingReader, filters []astypes.Filter, before func(context.Context) error, retry func(error, int) bool, each func([]astypes.AutoScalingGroup)) error {
	in := &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(maxGroupsPerPage), Filters: filters}
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(api, in)
	for p.HasMorePages() {
		for attempt := 1; ; attempt++ {
			if err := before(ctx); err != nil {
				return fmt.Errorf("list autoscaling groups: %w", err)
			}
			page, err := p.NextPage(ctx)
			if err != nil {
				if retry != nil && retry(err, attempt) {
					continue
				}
				return fmt.Errorf("list autoscaling groups: %w", err)
			}
			each(page.AutoScalingGroups)
			break
		}
	}
	return nil
}

// ServiceFilters narrows DescribeAutoScalingGroups to one service (and environment).
func ServiceFilters(tags model.TagKeys, service, env string) []astypes.Filter {
	f := []astypes.Filter{{Name: aws.String("tag:" + tags.Service), Values: []string{service}}}
	if env != "" {
		f = append(f, astypes.Filter{Name: aws.String("tag:" + tags.Environment), Values: []string{env}})
	}
	return f
}

// groupRead is one group as mapped from DescribeAutoScalingGroups, with what the rest of the
// snapshot needs to finish it.
type groupRead struct {
	// g is the group as listed. A group kept from the last listing is the last fleet's
	// (kept): never written, assemble copies it first.
	g *model.Group
	listing
	// instImage is the AMI DescribeAutoScalingGroups reported per instance, when it did; nil
	// when it reported none. Not kept between snapshots: a group kept from the last listing
	// takes its instances' AMIs from the fleet that assembled them (kept).
	instImage []model.Sym
	// kept says this snapshot did not list the group again: g is the group as the last
	// snapshot assembled it (see listGroups).
	kept bool
}

// listing is what the inventory keeps of a group's listing between snapshots besides the
// model.Group the last fleet holds: only what the next merge and assembly need.
type listing struct {
	template string   // template key; "" for launch configuration groups
	tgARNs   []string // target group ARNs, in the order of g.TargetGroups
	// changing is what only a group in the middle of a change has; nil for the others.
	changing *changing
	// state is the group's instance refresh bookkeeping, carried from listing to listing
	// by name (see carryLaunchFacts); nil until a snapshot first needs it (stateOf).
	state    *refreshState
	moving   bool // instances arriving or leaving
	draining bool // the last balancer reads had one of its instances draining
}

// stateOf is the group's refresh state, made when it has none yet.
func stateOf(r *groupRead) *refreshState {
	if r.state == nil {
		r.state = &refreshState{}
	}
	return r.state
}

// changing is the listing of a group whose instances launched from more than one template
// or version.
type changing struct {
	// instTpl is each instance's template key (differs from template during a change); nil
	// when every instance launched from template.
	instTpl []string
	mix     string // instance launch template versions when more than one, else ""
}

// mix is the group's instance launch template versions when more than one, else "".
func (l *listing) mix() string {
	if l.changing == nil {
		return ""
	}
	return l.changing.mix
}

// LaunchTemplateOf is the group's launch template, directly or inside a mixed instances policy.
func LaunchTemplateOf(a *astypes.AutoScalingGroup) *astypes.LaunchTemplateSpecification {
	if a.LaunchTemplate != nil {
		return a.LaunchTemplate
	}
	if m := a.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil {
		return m.LaunchTemplate.LaunchTemplateSpecification
	}
	return nil
}

// mapGroup turns an SDK group into the model's (instances without AMI, age and targets yet).
func mapGroup(a *astypes.AutoScalingGroup, tags model.TagKeys, in *interner) groupRead {
	return mapGroupInto(a, tags, in, nil)
}

// mapGroupInto is mapGroup with the group's instances placed in room, when room has exactly
// one slot per instance: a snapshot carves every group's instances out of one array, so that
// 20,000 instances cost one allocation and no size-class slack.
func mapGroupInto(a *astypes.AutoScalingGroup, tags model.TagKeys, in *interner, room []model.Instance) groupRead {
	r := groupRead{g: &model.Group{
		Name:            model.SafeText(aws.ToString(a.AutoScalingGroupName)),
		Min:             aws.ToInt32(a.MinSize),
		Desired:         aws.ToInt32(a.DesiredCapacity),
		Max:             aws.ToInt32(a.MaxSize),
		HealthCheckType: in.s(a.HealthCheckType),
		GracePeriod:     aws.ToInt32(a.HealthCheckGracePeriod),
		LaunchConfig:    model.SafeText(aws.ToString(a.LaunchConfigurationName)),
	}}
	g := r.g
	for _, t := range a.Tags {
		switch aws.ToString(t.Key) {
		case tags.Service:
			g.Service = in.s(t.Value)
		case tags.Environment:
			g.Env = in.s(t.Value)
		}
	}
	if lt := LaunchTemplateOf(a); lt != nil {
		g.LaunchTemplate = &model.LaunchTemplateRef{
			ID:      in.s(lt.LaunchTemplateId),
			Name:    in.s(lt.LaunchTemplateName),
			Version: in.s(lt.Version),
		}
		if g.LaunchTemplate.Version == "" {
			g.LaunchTemplate.Version = "$Default" // what AWS uses when a group names no version
		}
		r.template = string(awsapi.KeyOf(g.LaunchTemplate.ID, g.LaunchTemplate.Name))
	}
	g.Warmup = g.GracePeriod
	if w := aws.ToInt32(a.DefaultInstanceWarmup); w > 0 {
		g.Warmup = w
	}
	for _, p := range a.SuspendedProcesses {
		g.Suspended = append(g.Suspended, in.s(p.ProcessName))
	}
	for _, arn := range a.TargetGroupARNs {
		r.tgARNs = append(r.tgARNs, arn)
		// Balancer names are Syms: the fleet's target rows name them in 8 bytes.
		g.TargetGroups = append(g.TargetGroups, in.sym(targetGroupName(arn)).String())
	}
	for _, n := range a.LoadBalancerNames {
		g.ClassicELBs = append(g.ClassicELBs, in.sym(n).String())
	}
	if len(room) == len(a.Instances) {
		g.Instances = room
	} else {
		g.Instances = make([]model.Instance, len(a.Instances))
	}
	r.instImage = make([]model.Sym, len(a.Instances))
	instTpl := make([]string, len(a.Instances))
	var versions []string
	for i := range a.Instances {
		src := &a.Instances[i]
		inst := &g.Instances[i]
		inst.ID = aws.ToString(src.InstanceId)
		inst.AZ = in.sp(src.AvailabilityZone)
		inst.Lifecycle = model.ParseLifecycle(string(src.LifecycleState))
		inst.Healthy = strings.EqualFold(aws.ToString(src.HealthStatus), "Healthy")
		inst.Protected = aws.ToBool(src.ProtectedFromScaleIn)
		r.instImage[i] = in.sp(src.ImageId)
		instTpl[i] = r.template
		if lt := src.LaunchTemplate; lt != nil {
			inst.LTVersion = in.sp(lt.Version)
			if k := string(awsapi.KeyOf(aws.ToString(lt.LaunchTemplateId), aws.ToString(lt.LaunchTemplateName))); k != "" {
				instTpl[i] = in.str(k)
			}
			// Most groups run one version: only a second one builds the signature.
			if len(versions) == 0 || instTpl[i] != instTpl[0] || inst.LTVersion != g.Instances[0].LTVersion {
				if v := instTpl[i] + "@" + inst.LTVersion.String(); !slices.Contains(versions, v) {
					versions = append(versions, v)
				}
			}
		}
		if inst.Lifecycle.Arriving() || inst.Lifecycle.Leaving() {
			r.moving = true
		}
	}
	var ch changing
	if len(versions) > 1 {
		slices.Sort(versions)
		ch.mix = strings.Join(versions, ",")
	}
	// Drop the per-instance slices that say nothing (instTpl is kept between snapshots).
	if !slices.ContainsFunc(r.instImage, func(s model.Sym) bool { return s != model.Sym{} }) {
		r.instImage = nil
	}
	if slices.ContainsFunc(instTpl, func(s string) bool { return s != r.template }) {
		ch.instTpl = instTpl
	}
	if ch.mix != "" || ch.instTpl != nil {
		r.changing = &ch
	}
	return r
}

// image is the AMI known for instance j before this snapshot's reads: the one the listing
// reported, or for a group kept from the last listing the one the last fleet showed (an
// instance's AMI never changes). "" when none.
func (r *groupRead) image(j int) model.Sym {
	if r.kept {
		return r.g.Instances[j].ImageID
	}
	if r.instImage == nil {
		return model.Sym{}
	}
	return r.instImage[j]
}

// tpl is the template key instance j launched from.
func (r *groupRead) tpl(j int) string {
	if r.changing == nil || r.changing.instTpl == nil {
		return r.template
	}
	return r.changing.instTpl[j]
}

// GroupOf maps one described group for the action layer: the model's view of it and the key of
// the launch template it launches ("" for a launch configuration).
func GroupOf(a *astypes.AutoScalingGroup, tags model.TagKeys) (model.Group, awsapi.TemplateKey) {
	var in interner
	r := mapGroup(a, tags, &in)
	return *r.g, awsapi.TemplateKey(r.template)
}
