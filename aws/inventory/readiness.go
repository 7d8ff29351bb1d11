package inventory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
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

// readiness computes the answer for one service's groups from their release ledgers.
func (inv *Inventory) readiness(ctx context.Context, groups []model.Group) (model.Readiness, error) {
	for i := range groups {
		g := &groups[i]
		if !g.Refresh.Active() {
			continue
		}
		if g.Refresh.Status == "RollbackInProgress" || g.Refresh.Status == "Cancelling" {
			what := "already rolling back"
			if g.Refresh.Status == "Cancelling" {
				what = "its rollout is being cancelled"
			}
			return model.Readiness{Via: "rolling-back", Why: fmt.Sprintf("%s: group %s, refresh %s, %d%%; wait for it to end", what, g.Name, g.Refresh.ID, g.Refresh.Percent)}, nil
		}
		r := model.Readiness{Possible: true, Via: "rollback-refresh", Estimate: inv.Estimate(g)}
		if lt := g.LaunchTemplate; lt != nil {
			r.Target = model.Release{TemplateID: lt.ID, TemplateName: lt.Name, ImageID: g.ImageID}
			r.Target.Version, _ = awsapi.NumericVersion(lt.Version)
		}
		return r, nil
	}
	var asked []LedgerGroup
	for i := range groups {
		g := &groups[i]
		if g.LaunchTemplate == nil {
			return model.Readiness{Why: fmt.Sprintf("group %s uses launch configuration %s: move it to a launch template to roll back", g.Name, g.LaunchConfig)}, nil
		}
		asked = append(asked, LedgerGroup{Name: g.Name, Template: awsapi.TemplateKey(templateOf(g)), Version: g.LaunchTemplate.Version, Image: g.ImageID})
	}
	ledgers, err := ReadLedgers(ctx, inv.c.EC2, inv.c.AutoScaling, asked, inv.opts.Now())
	if err != nil {
		return model.Readiness{}, err
	}
	var out model.Readiness
	var targets []string
	differ := false
	for i := range groups {
		g := &groups[i]
		l := ledgers.Groups[i]
		c := l.Previous()
		if why := TargetProblem(l, c, ledgers.Images); why != "" {
			return model.Readiness{Why: why}, nil
		}
		if !out.Possible {
			out = model.Readiness{Possible: true, Via: "previous-release", Target: c.Target.Release}
			for _, sk := range c.Skipped {
				out.Skipped = append(out.Skipped, fmt.Sprintf("v%d %s", sk.Entry.Version, sk.Why))
			}
		}
		out.Unverified = out.Unverified || c.Unverified
		targets = append(targets, fmt.Sprintf("%s v%d (%s)", g.Name, c.Target.Version, c.Target.ImageID))
		differ = differ || c.Target.ImageID != out.Target.ImageID
		out.Estimate = max(out.Estimate, inv.Estimate(g))
	}
	if differ {
		out.Note = "the groups return to different releases: " + strings.Join(targets, ", ")
	}
	return out, nil
}

// TargetProblem says why a group's rollback choice cannot be rolled out ("" when it can): no
// release qualifies, or the chosen release's AMI is gone. Either way it names what the
// operator can do next (the releases to name with --to-version). The rollback plan and
// readiness both use it, so they say the same.
func TargetProblem(l model.Ledger, c model.RollbackChoice, images ImageLookup) string {
	if !c.OK {
		why := fmt.Sprintf("group %s: %s", l.Group, c.Why)
		if l.HistoryProblem != "" && !strings.Contains(c.Why, l.HistoryProblem) {
			why += "; " + l.HistoryProblem
		}
		return why + candidatesHint(l, images)
	}
	state := images.State(c.Target.ImageID)
	if state == string(ec2types.ImageStateAvailable) {
		return ""
	}
	if state == "missing" {
		state = "deregistered"
	}
	msg := fmt.Sprintf("previous release %s (launch template %s version %d) is %s", c.Target.ImageID, l.Template, c.Target.Version, state)
	for _, r := range c.Older {
		if images.State(r.ImageID) == string(ec2types.ImageStateAvailable) {
			return msg + fmt.Sprintf("; the newest older release still available is version %d (%s, %s): roll back with --to-version %d", r.Version, r.ImageID, r.State, r.Version)
		}
	}
	return msg + ", and no older release that was live is available" + candidatesHint(l, images)
}

// candidatesHint lists the versions an operator may name with --to-version, with their
// state, whose AMI is available.
func candidatesHint(l model.Ledger, images ImageLookup) string {
	if list := CandidateList(l, images); list != "" {
		return "; to roll back anyway, name a version with --to-version: " + list
	}
	return ""
}

// CandidateList is "3 (ami-x, was live), 1 (ami-y, unknown outcome)": the versions a
// rollback can name (model.Ledger.Candidates), at most five, only those whose AMI is
// available unless images is nil.
func CandidateList(l model.Ledger, images ImageLookup) string {
	var parts []string
	for _, e := range l.Candidates() {
		if images != nil && images.State(e.ImageID) != string(ec2types.ImageStateAvailable) {
			continue
		}
		if len(parts) == 5 {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%d (%s, %s)", e.Version, e.ImageID, e.State))
	}
	return strings.Join(parts, ", ")
}

// Forget drops the cached readiness of a service, so that the next answer reads AWS again:
// the action layer calls it after changing the service or marking one of its images.
func (inv *Inventory) Forget(key model.ServiceKey) {
	inv.ready.mu.Lock()
	delete(inv.ready.m, key)
	inv.ready.mu.Unlock()
}
