package sim

import (
	"fmt"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// The demo's accounts: NewDemoAccounts keeps staging and production apart, as well-run
// organisations do.
const (
	DemoStagingAccount    = "111111111111"
	DemoProductionAccount = DefaultAccount
)

// Demo identities of an account: who baked and released what.
func demoOperator(account string) string { return "arn:aws:iam::" + account + ":user/demo-operator" }
func demoCI(account string) string {
	return "arn:aws:sts::" + account + ":assumed-role/ci-deploy/github-actions"
}
func demoAlice(account string) string { return "arn:aws:iam::" + account + ":user/alice" }

// demoGroup is one group of the demo fleet.
type demoGroup struct {
	name      string
	env       string
	desired   int32
	lb        string // "alb", "classic" or "" (no balancer)
	delay     int32  // deregistration delay / connection-draining timeout, seconds
	version   string // launch template version the group names; "" = its newest release
	release   int    // how many of the service's images this group's template has released
	legacy    bool   // on a launch configuration
	unhealthy bool   // one instance persistently fails its load balancer health checks
}

type demoService struct {
	name   string
	images int
	groups []demoGroup
}

// demoFleet is the seeded fleet: six services over staging and production, ALB target groups
// with short deregistration delays, a classic ELB, a launch configuration, a service rolling
// out (web/production), a persistently unhealthy instance (api/staging).
var demoFleet = []demoService{
	{"api", 3, []demoGroup{
		{name: "api-staging", env: "staging", desired: 3, lb: "alb", delay: 30, release: 3, unhealthy: true},
		{name: "api-production-public", env: "production", desired: 4, lb: "alb", delay: 30, release: 2},
		{name: "api-production-internal", env: "production", desired: 2, lb: "alb", delay: 30, release: 2},
	}},
	{"auth", 3, []demoGroup{
		{name: "auth-staging", env: "staging", desired: 2, lb: "alb", delay: 20, release: 3, version: "$Latest"},
		// Its third release was rolled back two days ago; the group still names version 2.
		{name: "auth-production", env: "production", desired: 3, lb: "alb", delay: 20, release: 3, version: "2"},
	}},
	{"scheduler", 3, []demoGroup{
		{name: "scheduler-staging", env: "staging", desired: 1, release: 3},
		{name: "scheduler-production", env: "production", desired: 1, legacy: true},
	}},
	{"web", 4, []demoGroup{
		{name: "web-staging", env: "staging", desired: 2, lb: "alb", delay: 20, release: 4},
		// Rolling out its fourth release when the demo starts.
		{name: "web-production", env: "production", desired: 6, lb: "alb", delay: 45, release: 3},
	}},
	{"worker-bids", 3, []demoGroup{
		{name: "worker-bids-staging", env: "staging", desired: 2, lb: "alb", delay: 20, release: 3},
		{name: "worker-bids-production", env: "production", desired: 4, lb: "alb", delay: 20, release: 2},
	}},
	{"worker-reports", 3, []demoGroup{
		{name: "worker-reports-staging", env: "staging", desired: 1, lb: "alb", delay: 60, release: 3},
		// The legacy reports fleet sits behind a classic ELB.
		{name: "worker-reports-production", env: "production", desired: 2, lb: "classic", delay: 60, release: 2},
	}},
}

// demoLead is how long before the clock's time the web rollout started.
const demoLead = 60 * time.Second

// NewDemo is the seeded demo fleet in us-east-1, account 123456789012, at clock.Now(). It is
// alive from the first look: web/production is mid-rollout (a mixed fleet, targets draining)
// and finishes within about a minute and a half; api/staging has an instance its target group
// keeps failing; web's new release answers 8 % of requests with a 5xx (its alarm fires once
// the rollout serves it); an image of worker-bids is being baked; worker-bids/production,
// api/production's internal group and worker-reports/staging scale out and back in on
// schedules of three to five minutes. The same clock time always gives the same fleet.
func NewDemo(clock Clock) *Cloud {
	c := New(clock, Options{Account: DefaultAccount, Region: DefaultRegion})
	c.mu.Lock()
	defer c.mu.Unlock()
	seedDemo(c, c, clock.Now())
	return c
}

// NewDemoAccounts is the demo fleet of NewDemo with staging and production in two accounts
// of one region (DemoStagingAccount, DemoProductionAccount), as a config with a profile per
// environment reads them: the images are baked in staging's account, and production's
// releases are shared with production's (launch and create-volume permission). The images
// staging runs and production has not released (the newest of api, scheduler, worker-bids
// and worker-reports) are not shared yet: a cross-account promote shares them first.
func NewDemoAccounts(clock Clock) *Partition {
	p := NewPartition(clock, Options{Account: DemoStagingAccount, Region: DefaultRegion}, Options{Account: DemoProductionAccount, Region: DefaultRegion})
	p.envs[DemoStagingAccount] = []string{"staging"}
	p.envs[DemoProductionAccount] = []string{"production"}
	p.mu.Lock()
	defer p.mu.Unlock()
	seedDemo(p.clouds[0], p.clouds[1], clock.Now())
	return p
}

// seedDemo seeds the demo fleet at t0: its staging groups and every image in staging, its
// production groups in production (the same cloud for NewDemo); c.mu is held.
func seedDemo(staging, production *Cloud, t0 time.Time) {
	start := t0.Add(-demoLead)
	clouds := []*Cloud{staging}
	if production != staging {
		clouds = append(clouds, production)
	}
	for _, c := range clouds {
		c.st.Now = start
		c.st.Caller = demoOperator(c.st.Account)
	}
	in := func(env string) *Cloud {
		if env == "production" {
			return production
		}
		return staging
	}

	for si, svc := range demoFleet {
		imgs := staging.demoImages(svc.name, svc.images, start, si)
		for _, dg := range svc.groups {
			c := in(dg.env)
			c.demoGroup(svc, dg, imgs, start)
			if c != staging {
				for i := range max(dg.release, 1) {
					staging.shareImage(imgs[i], c.st.Account)
				}
			}
		}
	}
	production.demoBastion(start)
	// An hour of metrics before the demo starts, every balancer as seeded.
	for _, c := range clouds {
		for m := start.Truncate(time.Minute).Add(-time.Hour); m.Before(start.Truncate(time.Minute)); m = m.Add(time.Minute) {
			c.sampleMinute(m)
		}
	}

	// web/production: promote its fourth image as adstage-ops would (a new launch template
	// version from the current one, then a refresh that keeps full capacity), a minute ago.
	c := production
	web := c.groups["web-production"]
	t := c.templates[web.LaunchTemplate.ID]
	from := t.Versions[len(t.Versions)-1]
	stagingTpl := staging.templates["name:web-staging"]
	to := stagingTpl.Versions[len(stagingTpl.Versions)-1].ImageID
	if c != staging {
		staging.shareImage(staging.images[to], c.st.Account)
	}
	op := demoOperator(c.st.Account)
	note := model.ReleaseNote{Who: op, When: start, From: from.ImageID, To: to, Why: "promote staging's release to production"}
	t.Versions = append(t.Versions, &TemplateVersion{Number: from.Number + 1, ImageID: to, InstanceType: from.InstanceType, Description: note.String(), CreatedBy: op, CreatedAt: start})
	spec := &TemplateSpec{ID: t.ID, Name: t.Name, Version: fmt.Sprint(from.Number + 1)}
	cfg, _ := c.resolve(*spec)
	c.startRefresh(web, spec, cfg, 100, 150, true, true, 30, "Ignore", "Ignore")
	// The fourth web release passes its health checks but fails 8 % of real requests: its
	// 5xx rise as the rollout serves it, the alarm fires, and a rollback brings them down.
	// The image errors wherever it runs: in staging's account too.
	for _, cl := range []*Cloud{c, staging} {
		if cl.st.ErrorImages == nil {
			cl.st.ErrorImages = map[string]float64{}
		}
		cl.st.ErrorImages[to] = 0.08
	}
	if tg := c.tgNames[web.Name]; tg != nil {
		c.st.Alarms = append(c.st.Alarms, &Alarm{Name: "web-production-5xx", Namespace: "AWS/ApplicationELB", Metric: "HTTPCode_Target_5XX_Count",
			Dimensions: []Tag{{Key: "TargetGroup", Value: arnSuffix(tg.ARN, "targetgroup/")}, {Key: "LoadBalancer", Value: arnSuffix(tg.LoadBalancerARN, "app/")}},
			Statistic:  "Sum", Threshold: 10, EvaluationPeriods: 2, Comparison: "GreaterThanThreshold"})
	}

	// worker-bids: an image being baked from a staging instance, 12 s ago.
	c = staging
	bids := c.groups["worker-bids-staging"]
	src := bids.Instances[0]
	bakedAt := t0.Add(-12 * time.Second)
	tags := []Tag{
		{Key: "Service", Value: "worker-bids"}, {Key: "Name", Value: "worker-bids-" + c.label()},
		{Key: model.TagBakedBy, Value: demoOperator(c.st.Account)}, {Key: model.TagBakedAt, Value: bakedAt.UTC().Format(time.RFC3339)},
		{Key: model.TagSourceInstance, Value: src},
	}
	tags = append(tags, Tag{Key: model.TagLabel, Value: tags[1].Value[len("worker-bids-"):]})
	c.createImage(src, tags[1].Value, "baked by adstage-ops", tags, tags, bakedAt)

	schedules := []*ScheduledAction{
		// worker-bids/production scales out for the evening bid peak and back, every 4
		// minutes.
		{Name: "bids-peak-out", Group: "worker-bids-production", Desired: 6, Next: t0.Add(45 * time.Second), Period: 4 * time.Minute},
		{Name: "bids-peak-in", Group: "worker-bids-production", Desired: 4, Next: t0.Add(165 * time.Second), Period: 4 * time.Minute},
		// api's internal fleet and the reports staging box follow their own traffic.
		{Name: "internal-burst-out", Group: "api-production-internal", Desired: 3, Next: t0.Add(100 * time.Second), Period: 3 * time.Minute},
		{Name: "internal-burst-in", Group: "api-production-internal", Desired: 2, Next: t0.Add(190 * time.Second), Period: 3 * time.Minute},
		{Name: "reports-batch-out", Group: "worker-reports-staging", Desired: 2, Next: t0.Add(150 * time.Second), Period: 5 * time.Minute},
		{Name: "reports-batch-in", Group: "worker-reports-staging", Desired: 1, Next: t0.Add(230 * time.Second), Period: 5 * time.Minute},
	}
	for _, sa := range schedules {
		for _, c := range clouds {
			if c.groups[sa.Group] != nil {
				c.st.Schedules = append(c.st.Schedules, sa)
			}
		}
	}
	for _, c := range clouds {
		c.advanceTo(t0)
	}
}

// shareImage grants the account launch permission on the image and create-volume
// permission on its snapshots, as ModifyImageAttribute and ModifySnapshotAttribute do.
func (c *Cloud) shareImage(img *Image, account string) {
	img.LaunchPermissions = modifyPermissions(img.LaunchPermissions, true, []string{account})
	for _, sid := range img.Snapshots {
		if s := c.snapshots[sid]; s != nil {
			s.CreateVolumePermissions = modifyPermissions(s.CreateVolumePermissions, true, []string{account})
		}
	}
}

// label is a short git-SHA-like label.
func (c *Cloud) label() string { return c.newID("", 7) }

// demoImages bakes n images of a service, the newest two days ago, a few days apart.
func (c *Cloud) demoImages(svc string, n int, now time.Time, salt int) []*Image {
	var out []*Image
	for i := range n {
		age := time.Duration(n-i)*72*time.Hour - 24*time.Hour + time.Duration(salt)*37*time.Minute
		bakedAt := now.Add(-age)
		who := demoCI(c.st.Account)
		if i%2 == 1 {
			who = demoAlice(c.st.Account)
		}
		lbl := c.label()
		name := fmt.Sprintf("%s-%s-%s", svc, bakedAt.UTC().Format("20060102"), lbl)
		tags := []Tag{
			{Key: "Name", Value: name}, {Key: "Service", Value: svc},
			{Key: model.TagBakedBy, Value: who}, {Key: model.TagBakedAt, Value: bakedAt.UTC().Format(time.RFC3339)},
			{Key: model.TagLabel, Value: lbl}, {Key: model.TagSourceInstance, Value: c.newID("i-0", 16)},
		}
		out = append(out, c.createImage("", name, "baked by adstage-ops", tags, tags, bakedAt))
	}
	return out
}

// demoGroup creates a group with its launch template (one version per release, each with a
// release note) or launch configuration, its balancer and its running instances.
func (c *Cloud) demoGroup(svc demoService, dg demoGroup, imgs []*Image, now time.Time) {
	spec := GroupSpec{Name: dg.name, Service: svc.name, Env: dg.env, Min: 1, Desired: dg.desired, Max: dg.desired * 2,
		GracePeriod: 30, Tags: []Tag{{Key: "Team", Value: "adstage", Propagate: true}}}
	if spec.Min > spec.Desired {
		spec.Min = spec.Desired
	}
	switch dg.lb {
	case "alb":
		c.addTargetGroup(dg.name, dg.delay)
		spec.TargetGroups = []string{dg.name}
	case "classic":
		c.addClassicELB("reports-legacy", dg.delay)
		spec.ClassicELBs = []string{"reports-legacy"}
	}
	if dg.unhealthy {
		spec.HealthCheckType = "EC2" // so the group keeps the instance its target group fails
	}
	var released time.Time
	if dg.legacy {
		lc := fmt.Sprintf("%s-lc-%s", dg.name, imgs[0].CreatedAt.UTC().Format("2006-01"))
		c.st.LaunchConfigs = append(c.st.LaunchConfigs, &LaunchConfig{Name: lc, ImageID: imgs[0].ID, InstanceType: "t3.small", CreatedAt: imgs[0].ReadyAt})
		c.lcs[lc] = c.st.LaunchConfigs[len(c.st.LaunchConfigs)-1]
		spec.LaunchConfig = lc
		released = imgs[0].ReadyAt.Add(time.Hour)
	} else {
		t := &Template{ID: c.newID("lt-0", 16), Name: dg.name, DefaultVersion: 1, CreatedBy: demoCI(c.st.Account), CreatedAt: imgs[0].ReadyAt.Add(time.Hour)}
		for i := range dg.release {
			at := imgs[i].ReadyAt.Add(time.Duration(i+1) * time.Hour)
			if dg.env == "production" {
				at = at.Add(20 * time.Hour)
			}
			who := demoOperator(c.st.Account)
			if i%2 == 0 {
				who = demoCI(c.st.Account)
			}
			v := &TemplateVersion{Number: i + 1, ImageID: imgs[i].ID, InstanceType: "t3.medium", CreatedBy: who, CreatedAt: at,
				Description: "initial launch template"}
			if i > 0 {
				v.Description = model.ReleaseNote{Who: who, When: at, From: imgs[i-1].ID, To: imgs[i].ID, Why: "release " + imgs[i].name()}.String()
			}
			t.Versions = append(t.Versions, v)
		}
		c.st.Templates = append(c.st.Templates, t)
		c.templates[t.ID] = t
		c.templates["name:"+t.Name] = t
		spec.Template = dg.name
		spec.Version = dg.version
		if spec.Version == "" {
			spec.Version = fmt.Sprint(dg.release)
		}
		cfg, _ := c.resolve(TemplateSpec{ID: t.ID, Version: spec.Version})
		released = t.version(cfg.Version).CreatedAt
	}
	spec.Age = max(now.Sub(released)-5*time.Minute, time.Hour)
	g, err := c.addGroup(spec)
	if err != nil {
		panic(fmt.Sprintf("demo fleet: %v", err)) // the seed is static: an error is a bug here
	}
	if dg.unhealthy {
		c.st.Instances[g.Instances[len(g.Instances)-1]].FailsHealth = true
	}
	c.demoHistory(g, dg)
}

// demoHistory records the refreshes that released the group's template versions.
func (c *Cloud) demoHistory(g *Group, dg demoGroup) {
	if g.LaunchTemplate == nil {
		return
	}
	t := c.templates[g.LaunchTemplate.ID]
	for _, v := range t.Versions[1:] {
		r := &Refresh{
			ID: c.uuid(), Group: g.Name, Status: rsSuccessful, StartTime: v.CreatedAt.Add(20 * time.Second),
			EndTime: v.CreatedAt.Add(20*time.Second + 3*time.Minute), Desired: &TemplateSpec{ID: t.ID, Name: t.Name, Version: fmt.Sprint(v.Number)},
			Target: Config{TemplateID: t.ID, TemplateName: t.Name, Version: v.Number}, MinHealthy: 100, MaxHealthy: 200,
			SkipMatching: true, AutoRollback: true, Warmup: 30, Total: g.Desired, Replaced: g.Desired,
		}
		if dg.name == "auth-production" && v.Number == 3 {
			r.Status = rsRollbackSuccessful
			r.Rolling = true
			r.RollbackReason = "Instance refresh failed: 1 new instances failed to become healthy within 1m30s. Rolling back to the previous configuration."
			r.StatusReason = "Instance refresh rollback completed successfully."
			r.RollbackStart = r.StartTime.Add(2 * time.Minute)
			r.PctOnRollback, r.ToUpdateOnRollback = 0, g.Desired
			r.EndTime = r.RollbackStart.Add(2 * time.Minute)
		}
		g.Refreshes = append(g.Refreshes, r)
	}
}

func (img *Image) name() string {
	if v, ok := tagValue(img.Tags, model.TagLabel); ok {
		return v
	}
	return img.Name
}

// demoBastion is a group without service tags.
func (c *Cloud) demoBastion(now time.Time) {
	img := c.createImage("", "bastion-al2023-base", "Amazon Linux 2023 bastion", []Tag{{Key: "Name", Value: "bastion-al2023-base"}}, nil, now.Add(-40*24*time.Hour))
	c.addTemplate("bastion", []string{img.ID}, []string{"bastion host"}, 1, now.Add(-40*24*time.Hour))
	if _, err := c.addGroup(GroupSpec{Name: "bastion", Min: 1, Desired: 1, Max: 1, Template: "bastion", Age: 30 * 24 * time.Hour}); err != nil {
		panic(fmt.Sprintf("demo fleet: %v", err))
	}
}

// ScaleSpec sizes a fleet for benchmarks.
type ScaleSpec struct {
	Groups            int
	InstancesPerGroup int
	TargetGroups      int
	ClassicELBs       int
}

// NewScale is a large fleet for benchmarks: every group attached to one target group (groups
// share them round-robin when there are fewer target groups than groups), every
// Groups/ClassicELBs-th group also behind a classic ELB, four groups per service (two in
// production, two in staging), all instances in service and healthy.
func NewScale(clock Clock, opts Options, spec ScaleSpec) *Cloud {
	c := New(clock, opts)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.st.Now
	for i := range spec.TargetGroups {
		c.addTargetGroup(fmt.Sprintf("tg-%05d", i), 30)
	}
	for i := range spec.ClassicELBs {
		c.addClassicELB(fmt.Sprintf("clb-%03d", i), 60)
	}
	every := 0
	if spec.ClassicELBs > 0 {
		every = max(spec.Groups/spec.ClassicELBs, 1)
	}
	for i := range spec.Groups {
		svc := fmt.Sprintf("svc-%04d", i/4)
		env := "production"
		if i%4 >= 2 {
			env = "staging"
		}
		tpl := svc
		if c.templates["name:"+tpl] == nil {
			a := c.createImage("", svc+"-a", "", []Tag{{Key: "Service", Value: svc}}, nil, now.Add(-72*time.Hour))
			b := c.createImage("", svc+"-b", "", []Tag{{Key: "Service", Value: svc}}, nil, now.Add(-24*time.Hour))
			c.addTemplate(tpl, []string{a.ID, b.ID}, nil, 1, now.Add(-20*time.Hour))
		}
		gs := GroupSpec{Name: fmt.Sprintf("%s-%s-%d", svc, env, i%2), Service: svc, Env: env, Min: 1,
			Desired: int32(spec.InstancesPerGroup), Max: int32(spec.InstancesPerGroup) * 2, Template: tpl, Version: "2",
			HealthCheckType: "EC2", Age: 6 * time.Hour}
		if spec.TargetGroups > 0 {
			gs.TargetGroups = []string{fmt.Sprintf("tg-%05d", i%spec.TargetGroups)}
		}
		if every > 0 && i%every == 0 && i/every < spec.ClassicELBs {
			gs.ClassicELBs = []string{fmt.Sprintf("clb-%03d", i/every)}
		}
		if _, err := c.addGroup(gs); err != nil {
			panic(fmt.Sprintf("scale fleet: %v", err)) // names are generated unique: a bug
		}
	}
	return c
}
