package sim

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// step is the resolution of the simulation: the world is advanced one simulated second at a
// time while anything is in motion, and jumps straight to the present when nothing is.
const step = time.Second

// Instance lifecycle states (Auto Scaling's names).
const (
	lcPending     = "Pending"
	lcInService   = "InService"
	lcTerminating = "Terminating"
	lcTerminated  = "Terminated"
	lcStandby     = "Standby"
	// lcEnteringStandby lasts while the balancers drain the instance (AWS deregisters an
	// instance entering standby and waits for connection draining before it is in Standby).
	lcEnteringStandby = "EnteringStandby"
)

// advance brings the world to the clock's time. c.mu is held.
func (c *Cloud) advance() {
	if c.clock == nil {
		return
	}
	c.advanceTo(c.clock.Now())
}

func (c *Cloud) advanceTo(now time.Time) {
	st := c.st
	for st.Now.Before(now) {
		if !c.anyBusy() {
			wake, ok := c.nextWake()
			if !ok || wake.After(now) {
				c.moveTo(now)
				return
			}
			if wake.After(st.Now) {
				c.moveTo(wake)
			}
			c.stepWorld()
			continue
		}
		next := st.Now.Add(step)
		if next.After(now) {
			return // the remainder is processed by a later call
		}
		c.moveTo(next)
		c.stepWorld()
	}
}

// moveTo sets the world's time, recording the balancers' metrics of every minute that ends
// on the way (from the fleet as it is: nothing moves in a jump).
func (c *Cloud) moveTo(t time.Time) {
	prev := c.st.Now
	c.st.Now = t
	c.recordMetrics(prev, t)
}

func (c *Cloud) anyBusy() bool {
	for _, g := range c.st.Groups {
		if g.Busy {
			return true
		}
	}
	return false
}

// nextWake is the earliest time something idle starts moving by itself (a scheduled action).
func (c *Cloud) nextWake() (time.Time, bool) {
	var t time.Time
	for _, s := range c.st.Schedules {
		if t.IsZero() || s.Next.Before(t) {
			t = s.Next
		}
	}
	return t, !t.IsZero()
}

// stepWorld processes everything due at st.Now.
func (c *Cloud) stepWorld() {
	now := c.st.Now
	for _, s := range c.st.Schedules {
		if s.Next.After(now) {
			continue
		}
		if g := c.groups[s.Group]; g != nil {
			c.scheduled(g, s)
		}
		for !s.Next.After(now) {
			if s.Period <= 0 {
				s.Next = now.Add(100 * 365 * 24 * time.Hour)
				break
			}
			s.Next = s.Next.Add(s.Period)
		}
	}
	for _, g := range c.st.Groups {
		if g.Busy {
			c.stepGroup(g)
		}
	}
	c.forget()
}

func (c *Cloud) scheduled(g *Group, s *ScheduledAction) {
	if g.Desired == s.Desired {
		return
	}
	now := c.st.Now
	d := min(max(s.Desired, g.Min), g.Max)
	c.activity(g, fmt.Sprintf("Executing scheduled action %s", s.Name),
		fmt.Sprintf("At %s a scheduled action update of AutoScalingGroup constraints to min: %d, max: %d, desired: %d changing the desired capacity from %d to %d.", stamp(now), g.Min, g.Max, d, g.Desired, d),
		"Successful", true)
	g.Desired = d
	g.Busy = true
}

// stepGroup moves one group: boots, terminations, its refresh, then its capacity.
func (c *Cloud) stepGroup(g *Group) {
	now := c.st.Now
	busy := false
	kept := g.Instances[:0]
	for _, id := range g.Instances {
		in := c.st.Instances[id]
		if in == nil {
			continue
		}
		switch in.Lifecycle {
		case lcPending:
			if !now.Before(in.LaunchedAt.Add(c.st.BootTime)) {
				c.enterService(g, in)
			} else {
				busy = true
			}
		case lcTerminating:
			if !now.Before(in.TerminateAt) {
				c.finishTerminate(g, in)
				continue
			}
			busy = true
		case lcEnteringStandby:
			if !now.Before(in.StandbyAt) {
				in.Lifecycle = lcStandby
			} else {
				busy = true
			}
		}
		kept = append(kept, id)
	}
	g.Instances = kept
	if r := activeRefresh(g); r != nil {
		c.stepRefresh(g, r)
		busy = busy || r.active()
	}
	if r := activeRefresh(g); r == nil {
		live := c.live(g)
		switch {
		case int32(len(live)) < g.Desired && !slices.Contains(g.Suspended, "Launch"):
			from := len(live)
			if now.Before(g.LaunchRetryAt) {
				busy = true // EC2 refused the last launch: wait before trying again
				break
			}
			for range int(g.Desired) - len(live) {
				if c.launch(g, c.groupConfig(g), "", fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", stamp(now), from, g.Desired)) == nil {
					break
				}
			}
			busy = true
		case int32(len(live)) > g.Desired && !slices.Contains(g.Suspended, "Terminate"):
			victims := c.scaleInVictims(g, live, len(live)-int(g.Desired))
			for _, in := range victims {
				c.terminate(g, in, fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.", stamp(now), len(live), g.Desired))
			}
			busy = true
		}
	}
	g.Busy = busy
}

// live are the group's instances that are not on their way out.
func (c *Cloud) live(g *Group) []*Instance {
	var out []*Instance
	for _, id := range g.Instances {
		if in := c.st.Instances[id]; in != nil && (in.Lifecycle == lcPending || in.Lifecycle == lcInService) {
			out = append(out, in)
		}
	}
	return out
}

// scaleInVictims follows the default termination policy: balance Availability Zones first,
// then instances not on the group's current launch template or configuration, then the
// oldest. (AWS then picks the one closest to the next billing hour; the sim takes the oldest.)
func (c *Cloud) scaleInVictims(g *Group, live []*Instance, n int) []*Instance {
	cur := c.groupConfig(g)
	pool := slices.Clone(live)
	var out []*Instance
	for range n {
		if len(pool) == 0 {
			break
		}
		perAZ := map[string]int{}
		for _, in := range pool {
			perAZ[in.AZ]++
		}
		sort.SliceStable(pool, func(i, j int) bool {
			a, b := pool[i], pool[j]
			if perAZ[a.AZ] != perAZ[b.AZ] {
				return perAZ[a.AZ] > perAZ[b.AZ]
			}
			am, bm := a.Config == cur, b.Config == cur
			if am != bm {
				return !am
			}
			if !a.LaunchedAt.Equal(b.LaunchedAt) {
				return a.LaunchedAt.Before(b.LaunchedAt)
			}
			return a.ID < b.ID
		})
		out = append(out, pool[0])
		pool = pool[1:]
	}
	return out
}

// groupConfig resolves the group's launch template version (or launch configuration).
func (c *Cloud) groupConfig(g *Group) Config {
	if g.LaunchTemplate == nil {
		return Config{LaunchConfig: g.LaunchConfig}
	}
	cfg, _ := c.resolve(*g.LaunchTemplate)
	return cfg
}

// resolve turns a template spec into a numeric version.
func (c *Cloud) resolve(spec TemplateSpec) (Config, bool) {
	t := c.templates[spec.ID]
	if t == nil && spec.Name != "" {
		t = c.templates["name:"+spec.Name]
	}
	if t == nil || len(t.Versions) == 0 {
		return Config{TemplateID: spec.ID, TemplateName: spec.Name}, false
	}
	cfg := Config{TemplateID: t.ID, TemplateName: t.Name}
	switch spec.Version {
	case "", "$Default":
		cfg.Version = t.DefaultVersion
	case "$Latest":
		cfg.Version = t.Versions[len(t.Versions)-1].Number
	default:
		var n int
		if _, err := fmt.Sscanf(spec.Version, "%d", &n); err != nil || t.version(n) == nil {
			return cfg, false
		}
		cfg.Version = n
	}
	return cfg, true
}

func (t *Template) version(n int) *TemplateVersion {
	for _, v := range t.Versions {
		if v.Number == n {
			return v
		}
	}
	return nil
}

// imageOf is the AMI and instance type a configuration launches.
// ssmPrefix marks a launch template ImageId that names a Systems Manager parameter.
const ssmPrefix = "resolve:ssm:"

// resolveAMI is the AMI an ImageId names: itself, or the value of the SSM parameter.
func (c *Cloud) resolveAMI(image string) string {
	if name, ok := strings.CutPrefix(image, ssmPrefix); ok {
		return c.st.SSMParameters[name]
	}
	return image
}

// usesSSM reports whether the configuration's launch template version takes its AMI from an
// SSM parameter.
func (c *Cloud) usesSSM(cfg Config) bool {
	if t := c.templates[cfg.TemplateID]; t != nil {
		if v := t.version(cfg.Version); v != nil {
			return strings.HasPrefix(v.ImageID, ssmPrefix)
		}
	}
	return false
}

func (c *Cloud) imageOf(cfg Config) (image, itype string) {
	if cfg.LaunchConfig != "" {
		if lc := c.lcs[cfg.LaunchConfig]; lc != nil {
			return lc.ImageID, lc.InstanceType
		}
		return "", ""
	}
	if t := c.templates[cfg.TemplateID]; t != nil {
		if v := t.version(cfg.Version); v != nil {
			return c.resolveAMI(v.ImageID), v.InstanceType
		}
	}
	return "", ""
}

// launchRetry is how long a group waits before it launches again after EC2 refused a
// launch. AWS retries with a growing back-off it does not document; the simulator waits a
// fixed ten seconds.
const launchRetry = 10 * time.Second

// launchRefusal is why EC2 refuses to launch an instance from image in this account and
// region, as RunInstances and Auto Scaling report it; "" when it launches. An image the
// account cannot see (another account's not shared with it, one in another region, a
// deregistered one) "does not exist" (InvalidAMIID.NotFound: "The specified AMI doesn't
// exist", EC2 API reference, "Error codes for the Amazon EC2 API"); a pending image "is
// pending, and cannot be run" and a disabled one "cannot be launched" (InvalidAMIID.Unavailable;
// "Troubleshoot Amazon EC2 Auto Scaling: AMI issues",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-ami.html; "Disable an AMI",
// Amazon EC2 User Guide). Another account's image needs only its launch permission: "You do
// not need to share the Amazon EBS snapshots that an AMI references in order to share the
// AMI" ("Share an AMI with specific AWS accounts", Amazon EC2 User Guide); its encrypted
// snapshots need a KMS key the account may use (kmsRefusal). c.mu is held.
func (c *Cloud) launchRefusal(image string) (code, msg string) {
	if !strings.HasPrefix(image, "ami-") {
		return "", "" // no image named (a template without one is refused where it is used)
	}
	img, owner := c.visibleImage(image)
	switch {
	case img == nil || img.Deregistered:
		return "InvalidAMIID.NotFound", fmt.Sprintf("The image id '[%s]' does not exist", image)
	case img.Disabled:
		return "InvalidAMIID.Unavailable", fmt.Sprintf("AMI %s is disabled and cannot be launched", image)
	case c.st.Now.Before(img.ReadyAt):
		return "InvalidAMIID.Unavailable", fmt.Sprintf("AMI %s is pending, and cannot be run", image)
	}
	if why := c.kmsRefusal(owner, img); why != "" {
		return "Client.InternalError", why
	}
	return "", ""
}

// launch starts one instance in the group's least populated Availability Zone, or, when
// EC2 refuses the configuration's image (launchRefusal), records the failed scaling
// activity as Auto Scaling does ("Launching a new EC2 instance. Status Reason: … Launching
// EC2 instance failed.", StatusCode Failed) and returns nil; the group tries again after
// launchRetry.
func (c *Cloud) launch(g *Group, cfg Config, refresh, cause string) *Instance {
	now := c.st.Now
	if image, _ := c.imageOf(cfg); image != "" {
		if code, msg := c.launchRefusal(image); code != "" {
			status := msg + ". Launching EC2 instance failed."
			a := c.activity(g, "Launching a new EC2 instance. Status Reason: "+status, cause, "Failed", true)
			a.StatusMessage = status
			g.LaunchRetryAt = now.Add(launchRetry)
			g.Busy = true
			return nil
		}
	}
	return c.place(g, cfg, refresh, cause)
}

// place starts one instance without asking EC2 (the seeding of a fleet that has long run).
func (c *Cloud) place(g *Group, cfg Config, refresh, cause string) *Instance {
	now := c.st.Now
	perAZ := map[string]int{}
	for _, in := range c.live(g) {
		perAZ[in.AZ]++
	}
	az := ""
	for _, z := range g.AZs {
		if az == "" || perAZ[z] < perAZ[az] {
			az = z
		}
	}
	image, itype := c.imageOf(cfg)
	if itype == "" {
		itype = "t3.medium"
	}
	in := &Instance{
		ID: c.newID("i-0", 16), Group: g.Name, AZ: az, ImageID: image, InstanceType: itype,
		Config: cfg, Lifecycle: lcPending, LaunchedAt: now, ByRefresh: refresh,
	}
	in.PrivateIP = c.privateIP()
	for _, t := range g.Tags {
		if t.Propagate {
			in.Tags = append(in.Tags, Tag{Key: t.Key, Value: t.Value})
		}
	}
	in.Tags = append(in.Tags, Tag{Key: "aws:autoscaling:groupName", Value: g.Name})
	c.st.Instances[in.ID] = in
	g.Instances = append(g.Instances, in.ID)
	a := c.activity(g, "Launching a new EC2 instance: "+in.ID, cause, "InProgress", false)
	in.LaunchActivity = a.ID
	g.Busy = true
	return in
}

func (c *Cloud) privateIP() string {
	c.st.Seq++
	n := c.st.Seq
	return fmt.Sprintf("10.0.%d.%d", (n/250)%250, n%250+2)
}

// enterService registers a booted instance with the group's balancers.
func (c *Cloud) enterService(g *Group, in *Instance) {
	now := c.st.Now
	in.Lifecycle = lcInService
	in.InServiceAt = now
	for _, arn := range g.TargetGroupARNs {
		if tg := c.tgs[arn]; tg != nil {
			tg.Targets = append(tg.Targets, &Registration{InstanceID: in.ID, RegisteredAt: now})
		}
	}
	for _, name := range g.ClassicELBs {
		if lb := c.elbs[name]; lb != nil {
			lb.Instances = append(lb.Instances, &Registration{InstanceID: in.ID, RegisteredAt: now})
		}
	}
	c.finishActivity(g, in.LaunchActivity)
}

// deregister takes an instance out of every balancer of the group and returns when its
// draining ends.
func (c *Cloud) deregister(g *Group, in *Instance) time.Time {
	now := c.st.Now
	end := now
	for _, arn := range g.TargetGroupARNs {
		if tg := c.tgs[arn]; tg != nil {
			for _, r := range tg.Targets {
				if r.InstanceID == in.ID && r.DeregisteredAt.IsZero() {
					r.DeregisteredAt = now
					if e := now.Add(time.Duration(tg.DeregistrationDelay) * time.Second); e.After(end) {
						end = e
					}
				}
			}
		}
	}
	for _, name := range g.ClassicELBs {
		if lb := c.elbs[name]; lb != nil {
			for _, r := range lb.Instances {
				if r.InstanceID == in.ID && r.DeregisteredAt.IsZero() {
					r.DeregisteredAt = now
					if lb.DrainingEnabled {
						if e := now.Add(time.Duration(lb.DrainingTimeout) * time.Second); e.After(end) {
							end = e
						}
					}
				}
			}
		}
	}
	return end
}

// terminate takes an instance out of service: it is deregistered from every balancer and
// terminated when the longest deregistration delay has passed (Auto Scaling waits for
// connection draining before it terminates).
func (c *Cloud) terminate(g *Group, in *Instance, cause string) {
	end := c.deregister(g, in)
	if in.Lifecycle == lcPending {
		c.finishActivity(g, in.LaunchActivity)
	}
	// EC2 takes a few seconds to shut an instance down after draining.
	in.Lifecycle = lcTerminating
	in.TerminateAt = end.Add(2 * time.Second)
	a := c.activity(g, "Terminating EC2 instance: "+in.ID, cause, "InProgress", false)
	in.TermActivity = a.ID
	g.Busy = true
}

func (c *Cloud) finishTerminate(g *Group, in *Instance) {
	in.Lifecycle = lcTerminated
	in.TerminatedAt = c.st.Now
	drop := func(rs []*Registration) []*Registration {
		return slices.DeleteFunc(rs, func(r *Registration) bool { return r.InstanceID == in.ID })
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
	c.finishActivity(g, in.TermActivity)
	c.st.Terminated = append(c.st.Terminated, in.ID)
}

// forget drops terminated instances once DescribeInstances would no longer show them, so
// that a long-running demo (and its saved state) does not grow without bound.
func (c *Cloud) forget() {
	n := 0
	for _, id := range c.st.Terminated {
		in := c.st.Instances[id]
		if in != nil && c.st.Now.Sub(in.TerminatedAt) < terminatedVisible {
			break
		}
		delete(c.st.Instances, id)
		n++
	}
	c.st.Terminated = c.st.Terminated[n:]
}

// activity records a scaling activity.
func (c *Cloud) activity(g *Group, desc, cause, status string, done bool) *Activity {
	a := &Activity{ID: c.uuid(), Group: g.Name, Description: desc, Cause: cause, StatusCode: status, Start: c.st.Now,
		Details: fmt.Sprintf(`{"Subnet ID":"subnet-0sim","Availability Zone":"%s"}`, firstOr(g.AZs, c.st.Region+"a"))}
	if done {
		a.End = c.st.Now
		a.Progress = 100
	}
	g.Activities = append(g.Activities, a)
	// AWS keeps six weeks of activities; the sim keeps the newest 500 per group.
	if len(g.Activities) > 500 {
		g.Activities = slices.Delete(g.Activities, 0, len(g.Activities)-500)
	}
	return a
}

func (c *Cloud) finishActivity(g *Group, id string) {
	if id == "" {
		return
	}
	for i := len(g.Activities) - 1; i >= 0; i-- {
		if a := g.Activities[i]; a.ID == id {
			if a.StatusCode == "InProgress" {
				a.StatusCode = "Successful"
				a.Progress = 100
				a.End = c.st.Now
			}
			return
		}
	}
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Target health as a load balancer reports it, derived from registration times: a target is
// "initial" until it has passed HealthyThreshold checks at Interval, then "healthy" (or
// "unhealthy" after UnhealthyThreshold failed checks when the instance fails them), and
// "draining" for the deregistration delay after it is deregistered.
type health struct {
	state  string // initial, healthy, unhealthy, draining, gone
	reason string
	desc   string
}

func (c *Cloud) targetHealth(r *Registration, interval, healthy, unhealthy int32, delay time.Duration) health {
	now := c.st.Now
	if !r.DeregisteredAt.IsZero() {
		if now.Before(r.DeregisteredAt.Add(delay)) {
			return health{"draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"}
		}
		return health{state: "gone"}
	}
	if interval <= 0 {
		interval = 5
	}
	checks := int32(now.Sub(r.RegisteredAt) / (time.Duration(interval) * time.Second))
	fails := c.failsHealth(r.InstanceID)
	if fails && checks >= unhealthy {
		return health{"unhealthy", "Target.FailedHealthChecks", "Health checks failed"}
	}
	if !fails && checks >= healthy {
		return health{state: "healthy"}
	}
	if checks == 0 {
		return health{"initial", "Elb.RegistrationInProgress", "Target registration is in progress"}
	}
	return health{"initial", "Elb.InitialHealthChecking", "Initial health checks in progress"}
}

func (c *Cloud) failsHealth(id string) bool {
	in := c.st.Instances[id]
	if in == nil {
		return true
	}
	fails := in.FailsHealth || c.st.BadImages[in.ImageID]
	return fails != in.Flipped
}

// lbHealthy reports whether every balancer of the group says the instance is healthy.
func (c *Cloud) lbHealthy(g *Group, in *Instance) bool {
	for _, arn := range g.TargetGroupARNs {
		tg := c.tgs[arn]
		if tg == nil {
			continue
		}
		r := findReg(tg.Targets, in.ID)
		if r == nil || c.targetHealth(r, tg.Interval, tg.HealthyThreshold, tg.UnhealthyThreshold, time.Duration(tg.DeregistrationDelay)*time.Second).state != "healthy" {
			return false
		}
	}
	for _, name := range g.ClassicELBs {
		lb := c.elbs[name]
		if lb == nil {
			continue
		}
		r := findReg(lb.Instances, in.ID)
		if r == nil || c.targetHealth(r, lb.Interval, lb.HealthyThreshold, lb.UnhealthyThreshold, lb.drainDelay()).state != "healthy" {
			return false
		}
	}
	return true
}

func (lb *ClassicELB) drainDelay() time.Duration {
	if !lb.DrainingEnabled {
		return 0
	}
	return time.Duration(lb.DrainingTimeout) * time.Second
}

func findReg(rs []*Registration, id string) *Registration {
	for _, r := range rs {
		if r.InstanceID == id {
			return r
		}
	}
	return nil
}
