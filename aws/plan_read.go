package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/model"
)

// groupFacts is what planning and executing read about one group of a service: the group as
// AWS describes it (Execute needs its exact launch template specification), the model's view
// of it, the release it runs now and its newest instance refresh.
type groupFacts struct {
	raw      astypes.AutoScalingGroup
	g        model.Group
	template string // template key; "" for launch configuration groups
	// version is the numeric launch template version the group launches now ("$Latest" and
	// "$Default" resolved), 0 when unknown.
	version int64
	image   string // the AMI of that version
	release model.Release
	refresh *model.Refresh
}

// readService reads a service's groups in one environment with the release each runs and
// its newest instance refresh.
func (o *OperatorConsole) readService(ctx context.Context, service, env string) ([]*groupFacts, error) {
	raw, err := describeGroups(ctx, o.c.AutoScaling, serviceFilters(o.opts.Tags, service, env), nil)
	if err != nil {
		return nil, err
	}
	var in interner
	var out []*groupFacts
	for i := range raw {
		r := mapGroup(&raw[i], o.opts.Tags, &in)
		if r.g.Service != service || r.g.Env != env {
			continue
		}
		out = append(out, &groupFacts{raw: raw[i], g: r.g, template: r.template})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].g.Name < out[j].g.Name })
	versions := map[string]*ec2types.LaunchTemplateVersion{}
	for _, f := range out {
		r, err := readRefresh(ctx, o.c.AutoScaling, f.g.Name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			f.refresh, _ = mapRefresh(r, f.template, &in)
		}
		if f.template == "" {
			continue
		}
		key := f.template + "@" + f.g.LaunchTemplate.Version
		v, ok := versions[key]
		if !ok {
			v, err = describeVersion(ctx, o.c.EC2, f.template, f.g.LaunchTemplate.Version)
			if err != nil {
				return nil, err
			}
			versions[key] = v
		}
		f.version = aws.ToInt64(v.VersionNumber)
		f.release = mapRelease(v)
		f.image = f.release.ImageID
		f.g.ImageID = f.image
	}
	return out, nil
}

// noGroups is the error for a service that has no group in the environment.
func (o *OperatorConsole) noGroups(service, env string) error {
	return fmt.Errorf("no autoscaling group carries tags %s=%s and %s=%s", o.opts.Tags.Service, service, o.opts.Tags.Environment, env)
}

// describeVersion reads one launch template version ("$Latest" and "$Default" allowed).
func describeVersion(ctx context.Context, api EC2Reader, template, version string) (*ec2types.LaunchTemplateVersion, error) {
	if version == "" {
		version = "$Default"
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{version}}
	setTemplate(in, template)
	out, err := api.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("read launch template %s version %s: %w", templateLabel(template), version, err)
	}
	if len(out.LaunchTemplateVersions) == 0 {
		return nil, fmt.Errorf("read launch template %s version %s: no such version", templateLabel(template), version)
	}
	return &out.LaunchTemplateVersions[0], nil
}

// setTemplate names the template of a DescribeLaunchTemplateVersions request by its key.
func setTemplate(in *ec2.DescribeLaunchTemplateVersionsInput, key string) {
	if name, ok := strings.CutPrefix(key, "name:"); ok {
		in.LaunchTemplateName = aws.String(name)
	} else {
		in.LaunchTemplateId = aws.String(key)
	}
}

// templateLabel is a template key as people read it.
func templateLabel(key string) string {
	if name, ok := strings.CutPrefix(key, "name:"); ok {
		return name
	}
	return key
}

// releasedBy is who released a launch template version and when: the release note promote
// wrote, else what AWS recorded.
func releasedBy(r model.Release) (string, time.Time) {
	if n, ok := model.ParseReleaseNote(r.Description); ok {
		return n.Who, n.When
	}
	return r.CreatedBy, r.CreatedAt
}

// imageLookup is what DescribeImages said about a set of AMIs: found ones by ID.
type imageLookup map[string]ec2types.Image

// lookupImages reads the AMIs. An AMI EC2 does not know (never existed, or deregistered long
// enough ago) is simply absent from the result: the by-ID form fails as a whole on one
// unknown ID, so then it asks again with an image-id filter, which does not.
func lookupImages(ctx context.Context, api EC2Reader, ids []string) (imageLookup, error) {
	var want []string
	for _, id := range ids {
		if id != "" && !contains(want, id) {
			want = append(want, id)
		}
	}
	out := imageLookup{}
	if len(want) == 0 {
		return out, nil
	}
	read := func(in *ec2.DescribeImagesInput) error {
		p := ec2.NewDescribeImagesPaginator(api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, img := range page.Images {
				out[aws.ToString(img.ImageId)] = img
			}
		}
		return nil
	}
	err := read(&ec2.DescribeImagesInput{ImageIds: want})
	if err != nil && isCode(err, "InvalidAMIID.") {
		err = read(&ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("image-id"), Values: want}}})
	}
	if err != nil {
		return nil, fmt.Errorf("read images %s: %w", strings.Join(want, ", "), err)
	}
	return out, nil
}

// ref describes an AMI for a plan from what bake tagged it with.
func (l imageLookup) ref(id, serviceKey string) model.ImageRef {
	r := model.ImageRef{ImageID: id}
	img, ok := l[id]
	if !ok {
		return r
	}
	m := mapImage(&img, serviceKey)
	r.Label, r.ReleasedBy, r.ReleasedAt = m.Label, m.BakedBy, m.CreatedAt
	for _, t := range img.Tags {
		if aws.ToString(t.Key) == model.TagBakedAt {
			if ts, err := time.Parse(time.RFC3339, aws.ToString(t.Value)); err == nil {
				r.ReleasedAt = ts
			}
		}
	}
	return r
}

// state is the AMI's state, "missing" when EC2 does not know it.
func (l imageLookup) state(id string) string {
	img, ok := l[id]
	if !ok {
		return "missing"
	}
	return string(img.State)
}

// service is the service tag of the AMI ("" when untagged or unknown).
func (l imageLookup) service(id, serviceKey string) string {
	img, ok := l[id]
	if !ok {
		return ""
	}
	return tagOf(img.Tags, serviceKey)
}

func tagOf(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// isCode reports whether err is an AWS API error whose code starts with prefix.
func isCode(err error, prefix string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.HasPrefix(ae.ErrorCode(), prefix)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
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

// cli builds a plan's CLI twin.
func cli(args ...string) string {
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
