package ops

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// groupFacts is what planning and executing read about one group of a service: the group as
// AWS describes it (Execute needs its exact launch template specification), the model's view
// of it, the release it runs now and its newest instance refresh.
type groupFacts struct {
	raw      astypes.AutoScalingGroup
	g        model.Group
	template awsapi.TemplateKey // "" for launch configuration groups
	// version is the numeric launch template version the group launches now ("$Latest" and
	// "$Default" resolved), 0 when unknown.
	version int64
	image   string // the AMI of that version
	release model.Release
	refresh *model.Refresh
	// ssm is the Systems Manager parameter the version takes its AMI from ("" for an AMI ID).
	ssm string
	// refreshProblem says why the group's refreshes could not be read ("" when they were).
	refreshProblem string
}

// readService reads a service's groups in one environment with the release each runs and
// its newest instance refresh.
func (o *OperatorConsole) readService(ctx context.Context, service, env string) ([]*groupFacts, error) {
	return readService(ctx, o.c.Read(), o.opts.Tags, service, env)
}

// readService reads with any read clients (those of another environment too).
func readService(ctx context.Context, c awsapi.ReadClients, tags model.TagKeys, service, env string) ([]*groupFacts, error) {
	raw, err := inventory.DescribeGroups(ctx, c.AutoScaling, inventory.ServiceFilters(tags, service, env), nil)
	if err != nil {
		return nil, err
	}
	var out []*groupFacts
	for i := range raw {
		g, template := inventory.GroupOf(&raw[i], tags)
		if g.Service != service || g.Env != env {
			continue
		}
		out = append(out, &groupFacts{raw: raw[i], g: g, template: template})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].g.Name < out[j].g.Name })
	versions := map[string]*ec2types.LaunchTemplateVersion{}
	for _, f := range out {
		r, err := inventory.ReadRefresh(ctx, c.AutoScaling, f.g.Name)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if err != nil {
			// IAM may deny the refresh history: plans go on, and say what they could not see.
			f.refreshProblem = awsapi.Explain(err)
		} else if r != nil {
			f.refresh = inventory.RefreshOf(r, f.template)
			f.g.Refresh = f.refresh // the restore estimate of a running rollout reads it
		}
		if f.template == "" {
			continue
		}
		key := string(f.template) + "@" + f.g.LaunchTemplate.Version
		v, ok := versions[key]
		if !ok {
			v, err = describeVersionAlias(ctx, c.EC2, f.template, f.g.LaunchTemplate.Version, false)
			if err != nil {
				return nil, err
			}
			versions[key] = v
		}
		if d := v.LaunchTemplateData; d != nil && strings.HasPrefix(aws.ToString(d.ImageId), ssmPrefix) {
			f.ssm = strings.TrimPrefix(aws.ToString(d.ImageId), ssmPrefix)
			if v, err = describeVersion(ctx, c.EC2, f.template, f.g.LaunchTemplate.Version); err != nil {
				return nil, err
			}
		}
		f.version = aws.ToInt64(v.VersionNumber)
		f.release = inventory.MapRelease(v)
		f.image = f.release.ImageID
		f.g.ImageID = f.image
	}
	return out, nil
}

// loadTimings gives the groups their balancers' health check and draining settings for the
// plan's restore estimate (cached by the inventory; see inventory.LoadTimings). A failed read
// only makes the estimate fall back to AWS's defaults, so it does not fail the plan.
func (o *OperatorConsole) loadTimings(ctx context.Context, groups []*groupFacts) {
	gs := make([]*model.Group, len(groups))
	for i, f := range groups {
		gs[i] = &f.g
	}
	_ = o.LoadTimings(ctx, gs)
}

// noGroups is the error for a service that has no group in the environment.
func (o *OperatorConsole) noGroups(service, env string) error {
	return noGroups(o.opts.Tags, service, env)
}

func noGroups(tags model.TagKeys, service, env string) error {
	return fmt.Errorf("no autoscaling group carries tags %s=%s and %s=%s", tags.Service, service, tags.Environment, env)
}

// ssmPrefix starts a launch template ImageId that names a Systems Manager parameter.
const ssmPrefix = "resolve:ssm:"

// describeVersion reads one launch template version ("$Latest" and "$Default" allowed), an
// SSM parameter in its ImageId resolved to the AMI (ResolveAlias).
func describeVersion(ctx context.Context, api awsapi.EC2Reader, template awsapi.TemplateKey, version string) (*ec2types.LaunchTemplateVersion, error) {
	return describeVersionAlias(ctx, api, template, version, true)
}

// describeVersionAlias reads one launch template version; without resolve, an ImageId that
// names an SSM parameter comes back as "resolve:ssm:NAME".
func describeVersionAlias(ctx context.Context, api awsapi.EC2Reader, template awsapi.TemplateKey, version string, resolve bool) (*ec2types.LaunchTemplateVersion, error) {
	if version == "" {
		version = "$Default"
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{version}, ResolveAlias: aws.Bool(resolve)}
	in.LaunchTemplateId, in.LaunchTemplateName = template.Ref()
	out, err := api.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("read launch template %s version %s: %w", template, version, err)
	}
	if len(out.LaunchTemplateVersions) == 0 {
		return nil, fmt.Errorf("read launch template %s version %s: no such version", template, version)
	}
	return &out.LaunchTemplateVersions[0], nil
}

// releasedBy is who released a launch template version and when: the release note promote
// wrote, else what AWS recorded.
func releasedBy(r model.Release) (string, time.Time) {
	if n, ok := model.ParseReleaseNote(r.Description); ok {
		return n.Who, n.When
	}
	return r.CreatedBy, r.CreatedAt
}

// liveCounts are a group's instances that are not leaving, and those in service and healthy
// by the group's health check.
func liveCounts(g *model.Group) (live, healthy int) {
	for i := range g.Instances {
		in := &g.Instances[i]
		if in.Lifecycle.Leaving() {
			continue
		}
		live++
		if in.Lifecycle == model.InService && in.Healthy {
			healthy++
		}
	}
	return live, healthy
}

// shellQuote quotes a CLI argument for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@=,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cli builds a plan's CLI twin: the command that does what the plan does unattended, so it
// carries --yes (without it a script stops at the confirmation and exits 4). The console adds
// --demo when it runs on the demo fleet; nothing else adds to it.
func cli(args ...string) string {
	args = append(args, "--yes")
	q := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "--") {
			q[i] = a
		} else {
			q[i] = shellQuote(a)
		}
	}
	return "adstage-ops " + strings.Join(q, " ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
