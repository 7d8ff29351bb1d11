package inventory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// maxActivitiesPerGroup bounds the scaling activities History reads per group (AWS keeps six
// weeks of them; the history pane shows the recent ones).
const maxActivitiesPerGroup = 200

func (inv *Inventory) serviceGroups(ctx context.Context, service, env string) ([]model.Group, error) {
	var filters []astypes.Filter
	if service != model.Untagged {
		filters = ServiceFilters(inv.opts.Tags, service, env)
	}
	raw, err := DescribeGroups(ctx, inv.c.AutoScaling, filters, nil)
	if err != nil {
		return nil, err
	}
	var in interner
	var out []model.Group
	for i := range raw {
		r := mapGroup(&raw[i], inv.opts.Tags, &in)
		if serviceKey(r.g) != (model.ServiceKey{Name: service, Env: env}) && (env != "" || serviceKey(r.g).Name != service) {
			continue
		}
		out = append(out, *r.g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// History lists a service's releases (every launch template version of its groups'
// templates), instance refreshes and scaling activities in one environment, newest first.
func (inv *Inventory) History(ctx context.Context, service, env string) (model.History, error) {
	h := model.History{ServiceKey: model.ServiceKey{Name: service, Env: env}}
	groups, err := inv.serviceGroups(ctx, service, env)
	if err != nil {
		return h, fmt.Errorf("history of %s/%s: %w", service, env, err)
	}
	if len(groups) == 0 {
		return h, fmt.Errorf("history of %s/%s: no autoscaling group carries tags %s=%s, %s=%s", service, env, inv.opts.Tags.Service, service, inv.opts.Tags.Environment, env)
	}
	var asked []LedgerGroup
	for i := range groups {
		g := &groups[i]
		lg := LedgerGroup{Name: g.Name, Image: g.ImageID}
		if g.LaunchTemplate != nil {
			lg.Template, lg.Version = awsapi.TemplateKey(templateOf(g)), g.LaunchTemplate.Version
		}
		asked = append(asked, lg)
	}
	var errs []error
	var ledgers Ledgers
	acts := make([][]model.Activity, len(groups))
	tasks := []task{func(ctx context.Context) func() {
		l, err := ReadLedgers(ctx, inv.c.EC2, inv.c.AutoScaling, asked, inv.opts.Now())
		return func() {
			if err != nil {
				errs = append(errs, err)
			}
			ledgers = l
		}
	}}
	for i, g := range groups {
		tasks = append(tasks, func(ctx context.Context) func() {
			a, err := listActivities(ctx, inv.c.AutoScaling, g.Name)
			return func() {
				if err != nil {
					errs = append(errs, err)
				}
				acts[i] = a
			}
		})
	}
	runTasks(ctx, tasks)
	h.Releases, h.Refreshes, h.Ledgers = ledgers.Releases, ledgers.Refreshes, ledgers.Groups
	for _, a := range acts {
		h.Activities = append(h.Activities, a...)
	}
	for _, l := range h.Ledgers {
		if l.HistoryProblem != "" {
			h.Problems = append(h.Problems, l.HistoryProblem)
		}
	}
	sortReleases(h.Releases)
	sort.SliceStable(h.Refreshes, func(i, j int) bool { return h.Refreshes[i].StartedAt.After(h.Refreshes[j].StartedAt) })
	sort.SliceStable(h.Activities, func(i, j int) bool { return h.Activities[i].StartedAt.After(h.Activities[j].StartedAt) })
	// One source that cannot be read (the template versions, the images, a group's scaling
	// activities: denied, a 5xx, missing on an emulator) is named in Problems; the rest of
	// the history is shown. Only an ended context fails it.
	if err := ctx.Err(); err != nil {
		return h, fmt.Errorf("history of %s/%s: %w", service, env, err)
	}
	h.Problems = append(h.Problems, ledgers.Problems...)
	for _, err := range errs {
		h.Problems = append(h.Problems, awsapi.Explain(err))
	}
	return h, nil
}

// templateOf is the group's template key, "" for launch configuration groups.
func templateOf(g *model.Group) string {
	if g.LaunchTemplate == nil {
		return ""
	}
	return string(awsapi.KeyOf(g.LaunchTemplate.ID, g.LaunchTemplate.Name))
}

// sortReleases orders releases newest first: by creation time, then version.
func sortReleases(rels []model.Release) {
	sort.SliceStable(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		if a.TemplateID != b.TemplateID {
			return a.TemplateID < b.TemplateID
		}
		return a.Version > b.Version
	})
}

// ListReleases reads every version of one launch template.
func ListReleases(ctx context.Context, api awsapi.EC2Reader, key string) ([]model.Release, error) {
	in := &ec2.DescribeLaunchTemplateVersionsInput{ResolveAlias: aws.Bool(true)} // SSM parameters as their AMI
	in.LaunchTemplateId, in.LaunchTemplateName = awsapi.TemplateKey(key).Ref()
	var out []model.Release
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("read versions of launch template %s: %w", key, err)
		}
		for _, v := range page.LaunchTemplateVersions {
			out = append(out, MapRelease(&v))
		}
	}
	return out, nil
}

// MapRelease turns a launch template version into a release; a description written by
// promote (model.ReleaseNote) fills who and when if AWS did not say.
func MapRelease(v *ec2types.LaunchTemplateVersion) model.Release {
	r := model.Release{
		TemplateID:   aws.ToString(v.LaunchTemplateId),
		TemplateName: model.SafeText(aws.ToString(v.LaunchTemplateName)),
		Version:      aws.ToInt64(v.VersionNumber),
		Description:  model.SafeText(aws.ToString(v.VersionDescription)),
		CreatedBy:    model.SafeText(aws.ToString(v.CreatedBy)),
		CreatedAt:    aws.ToTime(v.CreateTime),
		Default:      aws.ToBool(v.DefaultVersion),
	}
	if v.LaunchTemplateData != nil {
		r.ImageID = aws.ToString(v.LaunchTemplateData.ImageId)
	}
	if n, ok := model.ParseReleaseNote(r.Description); ok {
		if r.CreatedBy == "" {
			r.CreatedBy = n.Who
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = n.When
		}
	}
	return r
}

// listActivities reads a group's most recent scaling activities.
func listActivities(ctx context.Context, api awsapi.AutoScalingReader, group string) ([]model.Activity, error) {
	var out []model.Activity
	p := autoscaling.NewDescribeScalingActivitiesPaginator(api, &autoscaling.DescribeScalingActivitiesInput{AutoScalingGroupName: aws.String(group), MaxRecords: aws.Int32(100)})
	for p.HasMorePages() && len(out) < maxActivitiesPerGroup {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("read scaling activities of %s: %w", group, err)
		}
		for _, a := range page.Activities {
			out = append(out, model.Activity{
				Group:       group,
				Description: model.SafeText(aws.ToString(a.Description)),
				Cause:       model.SafeText(aws.ToString(a.Cause)),
				Status:      string(a.StatusCode),
				StartedAt:   aws.ToTime(a.StartTime),
				EndedAt:     aws.ToTime(a.EndTime),
			})
		}
	}
	return out, nil
}

// Images lists the images baked for a service (owned by this account and tagged with the
// service), newest first, with the lowest snapshot progress of each pending one.
func (inv *Inventory) Images(ctx context.Context, service string) ([]model.Image, error) {
	in := &ec2.DescribeImagesInput{
		Owners:  []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + inv.opts.Tags.Service), Values: []string{service}}},
	}
	var out []model.Image
	snaps := map[string][]int{} // snapshot id -> indexes in out of pending images using it
	p := ec2.NewDescribeImagesPaginator(inv.c.EC2, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list images of %s: %w", service, err)
		}
		for i := range page.Images {
			img := MapImage(&page.Images[i], inv.opts.Tags.Service)
			if img.State == string(ec2types.ImageStatePending) {
				for _, bd := range page.Images[i].BlockDeviceMappings {
					if bd.Ebs != nil && bd.Ebs.SnapshotId != nil {
						snaps[*bd.Ebs.SnapshotId] = append(snaps[*bd.Ebs.SnapshotId], len(out))
					}
				}
			}
			out = append(out, img)
		}
	}
	if len(snaps) > 0 {
		if err := inv.snapshotProgress(ctx, out, snaps); err != nil {
			return out, fmt.Errorf("list images of %s: %w", service, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// MapImage reads an AMI and the tags bake wrote on it.
func MapImage(i *ec2types.Image, serviceKey string) model.Image {
	img := model.Image{ID: aws.ToString(i.ImageId), Name: model.SafeText(aws.ToString(i.Name)), State: string(i.State)}
	if t, err := time.Parse(time.RFC3339, aws.ToString(i.CreationDate)); err == nil {
		img.CreatedAt = t
	}
	for _, t := range i.Tags {
		v := model.SafeText(aws.ToString(t.Value))
		switch aws.ToString(t.Key) {
		case serviceKey:
			img.Service = v
		case model.TagSourceInstance:
			img.SourceInstance = v
		case model.TagBakedBy:
			img.BakedBy = v
		case model.TagLabel:
			img.Label = v
		case model.TagBakedAt:
			if ts, err := time.Parse(time.RFC3339, v); err == nil && img.CreatedAt.IsZero() {
				img.CreatedAt = ts
			}
		}
	}
	if img.SourceInstance == "" {
		img.SourceInstance = aws.ToString(i.SourceInstanceId)
	}
	img.Marks = MarksOf(i.Tags)
	return img
}

// snapshotProgress sets each pending image's SnapshotProgress to its slowest snapshot's.
func (inv *Inventory) snapshotProgress(ctx context.Context, images []model.Image, snaps map[string][]int) error {
	ids := make([]string, 0, len(snaps))
	for id := range snaps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	lowest := map[int]int{}
	p := ec2.NewDescribeSnapshotsPaginator(inv.c.EC2, &ec2.DescribeSnapshotsInput{SnapshotIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("read progress of snapshots %v: %w", ids, err)
		}
		for _, s := range page.Snapshots {
			pct, _ := strconv.Atoi(strings.TrimSuffix(aws.ToString(s.Progress), "%"))
			for _, idx := range snaps[aws.ToString(s.SnapshotId)] {
				if cur, ok := lowest[idx]; !ok || pct < cur {
					lowest[idx] = pct
				}
			}
		}
	}
	for idx, pct := range lowest {
		images[idx].SnapshotProgress = pct
	}
	return nil
}
