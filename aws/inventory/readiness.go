package inventory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/release"
	"github.com/adstage/adstage-ops/model"
)

// readinessTTL is how long a rollback-readiness answer is reused while the service's groups
// keep the same configuration. A change of template version, AMI or refresh status recomputes
// it at once; the TTL only bounds how late an AMI deregistered behind our back is noticed,
// and keeps the always-visible readiness of many services from costing EC2 reads every tick.
const readinessTTL = 5 * time.Minute

// serviceGroups lists a service's groups in one environment ("" matches any environment).
// Untagged groups cannot be filtered server-side, so that case lists every group.
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

// LastGroups copies the last snapshot's groups of one service.
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
