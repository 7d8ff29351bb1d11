package inventory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/release"
	"github.com/adstage/adstage-ops/model"
)

// maxActivitiesPerGroup bounds the scaling activities History reads per group (AWS keeps six
// weeks of them; the history pane shows the recent ones).
const maxActivitiesPerGroup = 200

// readinessTTL is how long a rollback-readiness answer is reused while the service's groups
// keep the same configuration. A change of template version, AMI or refresh status recomputes
// it at once; the TTL only bounds how late an AMI deregistered behind our back is noticed,
// and keeps the always-visible readiness of many services from costing EC2 reads every tick.
const readinessTTL = 5 * time.Minute

// defaultWarmup is the restore estimate's per-batch time when a group sets no grace period
// or warmup (AWS's default health check grace period).
const defaultWarmup = 300

// serviceGroups lists a service's groups in one environment ("" matches any environment).
// Untagged groups cannot be filtered server-side, so that case lists every group.
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
		if serviceKey(&r.g) != (model.ServiceKey{Name: service, Env: env}) && (env != "" || serviceKey(&r.g).Name != service) {
			continue
		}
		out = append(out, r.g)
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
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var tasks []task
	for _, key := range templatesOf(groups) {
		tasks = append(tasks, func(ctx context.Context) func() {
			rels, err := ListReleases(ctx, inv.c.EC2, key)
			return func() {
				if err != nil {
					fail(err)
				}
				h.Releases = append(h.Releases, rels...)
			}
		})
	}
	for _, g := range groups {
		tasks = append(tasks, func(ctx context.Context) func() {
			recs, err := listRefreshes(ctx, inv.c.AutoScaling, g.Name, templateOf(&g))
			return func() {
				if err != nil {
					fail(err)
				}
				h.Refreshes = append(h.Refreshes, recs...)
			}
		}, func(ctx context.Context) func() {
			acts, err := listActivities(ctx, inv.c.AutoScaling, g.Name)
			return func() {
				if err != nil {
					fail(err)
				}
				h.Activities = append(h.Activities, acts...)
			}
		})
	}
	runTasks(ctx, tasks)
	sortReleases(h.Releases)
	sort.SliceStable(h.Refreshes, func(i, j int) bool { return h.Refreshes[i].StartedAt.After(h.Refreshes[j].StartedAt) })
	sort.SliceStable(h.Activities, func(i, j int) bool { return h.Activities[i].StartedAt.After(h.Activities[j].StartedAt) })
	if len(errs) > 0 {
		return h, fmt.Errorf("history of %s/%s: %w", service, env, errors.Join(errs...))
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

// templatesOf lists the distinct templates of the groups, in order.
func templatesOf(groups []model.Group) []string {
	var out []string
	for i := range groups {
		if k := templateOf(&groups[i]); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
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

// listReleases reads every version of one launch template.
func ListReleases(ctx context.Context, api awsapi.EC2Reader, key string) ([]model.Release, error) {
	in := &ec2.DescribeLaunchTemplateVersionsInput{}
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

// mapRelease turns a launch template version into a release; a description written by
// promote (model.ReleaseNote) fills who and when if AWS did not say.
func MapRelease(v *ec2types.LaunchTemplateVersion) model.Release {
	r := model.Release{
		TemplateID:   aws.ToString(v.LaunchTemplateId),
		TemplateName: aws.ToString(v.LaunchTemplateName),
		Version:      aws.ToInt64(v.VersionNumber),
		Description:  aws.ToString(v.VersionDescription),
		CreatedBy:    aws.ToString(v.CreatedBy),
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

// listRefreshes reads every instance refresh AWS remembers for one group.
func listRefreshes(ctx context.Context, api awsapi.AutoScalingReader, group, template string) ([]model.RefreshRecord, error) {
	var out []model.RefreshRecord
	var in interner
	p := autoscaling.NewDescribeInstanceRefreshesPaginator(api, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("read instance refreshes of %s: %w", group, err)
		}
		for i := range page.InstanceRefreshes {
			r, _ := mapRefresh(&page.InstanceRefreshes[i], template, &in)
			out = append(out, model.RefreshRecord{Group: group, Refresh: *r})
		}
	}
	return out, nil
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
				Description: aws.ToString(a.Description),
				Cause:       aws.ToString(a.Cause),
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

// mapImage reads an AMI and the tags bake wrote on it.
func MapImage(i *ec2types.Image, serviceKey string) model.Image {
	img := model.Image{ID: aws.ToString(i.ImageId), Name: aws.ToString(i.Name), State: string(i.State)}
	if t, err := time.Parse(time.RFC3339, aws.ToString(i.CreationDate)); err == nil {
		img.CreatedAt = t
	}
	for _, t := range i.Tags {
		v := aws.ToString(t.Value)
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

// readinessEntry is a cached readiness answer and the group configuration it was computed for.
type readinessEntry struct {
	sig string
	at  time.Time
	r   model.Readiness
}

// readinessCache holds the answers per service and environment.
type readinessCache struct {
	mu sync.Mutex
	m  map[model.ServiceKey]readinessEntry
}

// Readiness says whether the service can be rolled back right now: by rolling back the
// running instance refresh, or by rolling out the newest earlier launch template version
// whose AMI differs from the current one and is still available; else why not. It works from
// the last snapshot's groups when there is one.
func (inv *Inventory) Readiness(ctx context.Context, service, env string) (model.Readiness, error) {
	key := model.ServiceKey{Name: service, Env: env}
	groups, fromSnapshot := inv.LastGroups(key)
	if !fromSnapshot {
		var err error
		groups, err = inv.serviceGroups(ctx, service, env)
		if err != nil {
			return model.Readiness{}, fmt.Errorf("rollback readiness of %s/%s: %w", service, env, err)
		}
		for i := range groups {
			r, err := ReadRefresh(ctx, inv.c.AutoScaling, groups[i].Name)
			if err != nil {
				return model.Readiness{}, fmt.Errorf("rollback readiness of %s/%s: %w", service, env, err)
			}
			if r != nil {
				var in interner
				groups[i].Refresh, _ = mapRefresh(r, templateOf(&groups[i]), &in)
			}
		}
	}
	if len(groups) == 0 {
		return model.Readiness{Why: fmt.Sprintf("no autoscaling group carries tags %s=%s, %s=%s", inv.opts.Tags.Service, service, inv.opts.Tags.Environment, env)}, nil
	}
	sig := readinessSig(groups)
	now := inv.opts.Now()
	inv.ready.mu.Lock()
	if e, ok := inv.ready.m[key]; ok && e.sig == sig && now.Sub(e.at) < readinessTTL {
		inv.ready.mu.Unlock()
		return e.r, nil
	}
	inv.ready.mu.Unlock()

	r, err := inv.readiness(ctx, groups)
	if err != nil {
		return model.Readiness{}, fmt.Errorf("rollback readiness of %s/%s: %w", service, env, err)
	}
	inv.ready.mu.Lock()
	if inv.ready.m == nil {
		inv.ready.m = map[model.ServiceKey]readinessEntry{}
	}
	inv.ready.m[key] = readinessEntry{sig: sig, at: now, r: r}
	inv.ready.mu.Unlock()
	return r, nil
}

// lastGroups copies the last snapshot's groups of one service.
func (inv *Inventory) LastGroups(key model.ServiceKey) ([]model.Group, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.last == nil {
		return nil, false
	}
	var out []model.Group
	for i := range inv.last {
		if serviceKey(&inv.last[i]) == key {
			out = append(out, inv.last[i])
		}
	}
	return out, true
}

// readinessSig names what a readiness answer depends on in the groups' configuration.
func readinessSig(groups []model.Group) string {
	var b strings.Builder
	for i := range groups {
		g := &groups[i]
		b.WriteString(g.Name)
		if lt := g.LaunchTemplate; lt != nil {
			b.WriteString("|" + lt.ID + "|" + lt.Name + "|" + lt.Version)
		}
		b.WriteString("|" + g.ImageID)
		if g.Refresh.Active() {
			b.WriteString("|refresh:" + g.Refresh.ID)
		}
		fmt.Fprintf(&b, "|%d;", len(g.Instances))
	}
	return b.String()
}

// readiness computes the answer for one service's groups.
func (inv *Inventory) readiness(ctx context.Context, groups []model.Group) (model.Readiness, error) {
	for i := range groups {
		g := &groups[i]
		if g.Refresh.Active() {
			r := model.Readiness{Possible: true, Via: "rollback-refresh", Estimate: inv.Estimate(g)}
			if lt := g.LaunchTemplate; lt != nil {
				r.Target = model.Release{TemplateID: lt.ID, TemplateName: lt.Name, ImageID: g.ImageID}
				r.Target.Version, _ = awsapi.NumericVersion(lt.Version)
			}
			return r, nil
		}
	}
	var out model.Readiness
	for i := range groups {
		g := &groups[i]
		if g.LaunchTemplate == nil {
			return model.Readiness{Why: fmt.Sprintf("group %s uses launch configuration %s: move it to a launch template to roll back", g.Name, g.LaunchConfig)}, nil
		}
		rel, why, err := inv.previousRelease(ctx, g)
		if err != nil {
			return model.Readiness{}, err
		}
		if why != "" {
			return model.Readiness{Why: why}, nil
		}
		if !out.Possible {
			out = model.Readiness{Possible: true, Via: "previous-release", Target: rel}
		}
		out.Estimate = max(out.Estimate, inv.Estimate(g))
	}
	return out, nil
}

// previousRelease applies the previous-release rule (release.Previous) to one group: the
// release rollback would roll out, or why there is none. The rollback plan applies the same
// rule, so the screens and the action never disagree.
func (inv *Inventory) previousRelease(ctx context.Context, g *model.Group) (model.Release, string, error) {
	rels, err := ListReleases(ctx, inv.c.EC2, templateOf(g))
	if err != nil {
		return model.Release{}, "", err
	}
	numeric, _ := awsapi.NumericVersion(g.LaunchTemplate.Version)
	current := release.Current(rels, numeric, g.LaunchTemplate.Version)
	currentImage := g.ImageID
	for _, r := range rels {
		if r.Version == current && currentImage == "" {
			currentImage = r.ImageID
		}
	}
	prev, older, ok := release.Previous(rels, current, currentImage)
	if !ok {
		return model.Release{}, fmt.Sprintf("no previous release: no version of launch template %s before %d runs another AMI than %s", templateName(g), current, currentImage), nil
	}
	ids := []string{prev.ImageID}
	for _, r := range older {
		ids = append(ids, r.ImageID)
	}
	images, err := LookupImages(ctx, inv.c.EC2, ids)
	if err != nil {
		return model.Release{}, "", err
	}
	state := images.State(prev.ImageID)
	if state == string(ec2types.ImageStateAvailable) {
		return prev, "", nil
	}
	// The previous release is gone. Rollback (PlanRollback) refuses to skip it silently, so
	// readiness says the same and names the older release an operator can choose.
	if state == "missing" {
		state = "deregistered"
	}
	if c, ok := release.FirstAvailable(older, images.State); ok {
		return model.Release{}, fmt.Sprintf("previous release %s (launch template %s version %d) is %s; the newest older release still available is %s (version %d): roll back with --to-version %d", prev.ImageID, templateName(g), prev.Version, state, c.ImageID, c.Version, c.Version), nil
	}
	return model.Release{}, fmt.Sprintf("previous release %s (launch template %s version %d) is %s, and no older release's AMI is available", prev.ImageID, templateName(g), prev.Version, state), nil
}

func templateName(g *model.Group) string {
	if g.LaunchTemplate.Name != "" {
		return g.LaunchTemplate.Name
	}
	return g.LaunchTemplate.ID
}

// estimate is how long rolling the group back takes: instances replaced in batches of what
// the rollout preferences allow above the healthy minimum, each batch one warmup.
func (inv *Inventory) Estimate(g *model.Group) time.Duration {
	n := int(g.Desired)
	live := 0
	for i := range g.Instances {
		if !g.Instances[i].Lifecycle.Leaving() {
			live++
		}
	}
	n = max(n, live, 1)
	minH, maxH := inv.opts.Rollout.MinHealthyPercentage, inv.opts.Rollout.MaxHealthyPercentage
	if minH == 0 {
		minH = 100
	}
	if maxH == 0 {
		maxH = 200
	}
	batch := int(math.Floor(float64(n) * float64(maxH-minH) / 100))
	batch = max(1, min(batch, n))
	warmup := inv.opts.Rollout.InstanceWarmup
	if warmup <= 0 {
		warmup = g.Warmup
	}
	if warmup <= 0 {
		warmup = defaultWarmup
	}
	batches := (n + batch - 1) / batch
	return time.Duration(batches) * time.Duration(warmup) * time.Second
}
