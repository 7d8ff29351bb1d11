package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

// Compile-time proof that the simulated clients satisfy the action layer's interfaces.
var (
	_ awsapi.AutoScalingAPI   = (*autoScalingClient)(nil)
	_ awsapi.EC2API           = (*ec2Client)(nil)
	_ awsapi.ELBv2Reader      = (*elbv2Client)(nil)
	_ awsapi.ELBReader        = (*elbClient)(nil)
	_ awsapi.STSReader        = (*stsClient)(nil)
	_ awsapi.CloudWatchReader = (*cloudWatchClient)(nil)
)

// ChurnInstances flips the load balancer health of that fraction of the in-service
// instances (healthy ones start failing checks, failing ones recover), picked
// deterministically, for the apply-refresh benchmark. It returns how many were flipped.
func (c *Cloud) ChurnInstances(fraction float64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	var ids []string
	for _, g := range c.st.Groups {
		for _, id := range g.Instances {
			if in := c.st.Instances[id]; in != nil && in.Lifecycle == lcInService {
				ids = append(ids, id)
			}
		}
	}
	n := int(float64(len(ids))*fraction + 0.5)
	if n <= 0 || len(ids) == 0 {
		return 0
	}
	// Evenly spaced over the fleet, offset by the ID sequence so successive churns differ.
	c.st.Seq++
	start := int(c.st.Seq % uint64(len(ids)))
	for i := range n {
		in := c.st.Instances[ids[(start+i*len(ids)/n)%len(ids)]]
		in.Flipped = !in.Flipped
	}
	return n
}

// DeregisterImage removes an image (DescribeImages no longer returns it; launch template
// versions that name it keep it, as on AWS).
func (c *Cloud) DeregisterImage(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.images[id]
	if img == nil || img.Deregistered {
		return fmt.Errorf("deregister image %s: not found", id)
	}
	img.Deregistered = true
	return nil
}

// DisableImage disables an AMI (ec2:DisableImage): it stays in the account, in state
// "disabled", and DescribeImages lists it only with IncludeDisabled.
func (c *Cloud) DisableImage(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.images[id]
	if img == nil || img.Deregistered {
		return fmt.Errorf("disable image %s: not found", id)
	}
	img.Disabled = true
	return nil
}

// MarkImageBad makes instances launched from the AMI fail every load balancer health check,
// to exercise a refresh's AutoRollback.
func (c *Cloud) MarkImageBad(amiID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.BadImages[amiID] = true
}

// SetSSMParameter sets a Systems Manager parameter that launch template versions can name
// as their ImageId ("resolve:ssm:NAME", see AddTemplate).
func (c *Cloud) SetSSMParameter(name, ami string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.SSMParameters == nil {
		c.st.SSMParameters = map[string]string{}
	}
	c.st.SSMParameters[name] = ami
}

// SetCaller changes the identity GetCallerIdentity returns (and that launch template
// versions record as CreatedBy).
func (c *Cloud) SetCaller(arn string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.Caller = arn
}

// Save writes the whole simulated world as JSON, for a later Load (the CLI keeps its demo
// fleet between invocations this way). Call counters, throttle buckets and injected failures
// are not saved.
func (c *Cloud) Save(w io.Writer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	enc := json.NewEncoder(w)
	if err := enc.Encode(c.st); err != nil {
		return fmt.Errorf("save simulated cloud: %w", err)
	}
	return nil
}

// Load reads a world written by Save and advances it to clock.Now() (or, with a nil clock,
// keeps the saved time until SetClock). Time never runs backwards: a clock behind the saved
// time leaves the world as saved until the clock catches up.
func Load(r io.Reader, clock Clock) (*Cloud, error) {
	var st State
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return nil, fmt.Errorf("load simulated cloud: %w", err)
	}
	if err := st.validate(); err != nil {
		return nil, fmt.Errorf("load simulated cloud: %w", err)
	}
	if st.BootTime <= 0 {
		st.BootTime = 15 * time.Second
	}
	c := newCloud(clock, Options{Account: st.Account, Region: st.Region, BootTime: st.BootTime}, &st)
	for _, g := range st.Groups {
		g.Busy = true // recomputed on the next step
	}
	c.mu.Lock()
	c.advance()
	c.mu.Unlock()
	return c, nil
}

// maxGroupSize bounds a saved group: the simulator keeps every instance in memory and steps
// it, so a hand-edited state asking for millions would hang the demo.
const maxGroupSize = 10000

// validate refuses a saved world the simulator cannot run.
func (st *State) validate() error {
	if st.Account == "" || st.Region == "" {
		return fmt.Errorf("no account or region in the saved state")
	}
	for _, g := range st.Groups {
		if g == nil {
			return fmt.Errorf("an empty group in the saved state")
		}
		if g.Min < 0 || g.Min > g.Desired || g.Desired > g.Max || g.Max > maxGroupSize {
			return fmt.Errorf("group %s has min %d, desired %d, max %d: the simulator needs 0 <= min <= desired <= max <= %d", g.Name, g.Min, g.Desired, g.Max, maxGroupSize)
		}
	}
	return nil
}

// Restore replaces the world by one written by Save (by this process or another sharing the
// state file), keeping this Cloud's clock, injected failures and counters, and advances it to
// the clock's time. Time never runs backwards: a saved world ahead of the clock keeps its own
// time. The account and region must be the same.
func (c *Cloud) Restore(r io.Reader) error {
	var st State
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("restore simulated cloud: %w", err)
	}
	if err := st.validate(); err != nil {
		return fmt.Errorf("restore simulated cloud: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.Account != c.st.Account || st.Region != c.st.Region {
		return fmt.Errorf("restore simulated cloud: the saved world is account %s in %s, not %s in %s", st.Account, st.Region, c.st.Account, c.st.Region)
	}
	c.replace(&st)
	return nil
}

// GroupSpec describes a group for AddGroup.
type GroupSpec struct {
	Name    string
	Service string // Service tag (omitted when empty)
	Env     string // Environment tag (omitted when empty)
	Tags    []Tag  // more tags
	Min     int32
	Desired int32
	Max     int32
	// Template (with Version, default "$Default") or LaunchConfig names what it launches.
	Template        string
	Version         string
	LaunchConfig    string
	HealthCheckType string   // default ELB when balanced, else EC2
	GracePeriod     int32    // default 30
	TargetGroups    []string // target group names
	ClassicELBs     []string
	AZs             []string
	Suspended       []string
	// Running instances are created in service, healthy, launched Age ago.
	Age time.Duration
}

// AddTemplate creates a launch template whose versions launch the given AMIs, in order (the
// last is $Latest; $Default is version 1 unless defaultVersion > 0). Descriptions, when
// given, go with the versions of the same index.
func (c *Cloud) AddTemplate(name string, images []string, descriptions []string, defaultVersion int) *Template {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addTemplate(name, images, descriptions, defaultVersion, c.st.Now)
}

func (c *Cloud) addTemplate(name string, images, descriptions []string, defaultVersion int, at time.Time) *Template {
	t := &Template{ID: c.newID("lt-0", 16), Name: name, CreatedAt: at, CreatedBy: c.st.Caller, DefaultVersion: 1}
	for i, img := range images {
		v := &TemplateVersion{Number: i + 1, ImageID: img, InstanceType: "t3.medium", CreatedBy: c.st.Caller, CreatedAt: at}
		if i < len(descriptions) {
			v.Description = descriptions[i]
		}
		t.Versions = append(t.Versions, v)
	}
	if defaultVersion > 0 {
		t.DefaultVersion = defaultVersion
	}
	c.st.Templates = append(c.st.Templates, t)
	c.templates[t.ID] = t
	c.templates["name:"+t.Name] = t
	return t
}

// AddLaunchConfig creates a legacy launch configuration.
func (c *Cloud) AddLaunchConfig(name, image string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lc := &LaunchConfig{Name: name, ImageID: image, InstanceType: "t3.medium", CreatedAt: c.st.Now}
	c.st.LaunchConfigs = append(c.st.LaunchConfigs, lc)
	c.lcs[name] = lc
}

// AddImage registers an available image (baked at the given time) with tags.
func (c *Cloud) AddImage(name string, bakedAt time.Time, tags []Tag) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.createImage("", name, "", tags, tags, bakedAt.Add(-snapshotTime-registerTime))
	return img.ID
}

// AddTargetGroup creates a target group with the given deregistration delay (seconds) and
// AWS's shortest health checks (interval 5 s, thresholds 2).
func (c *Cloud) AddTargetGroup(name string, delay int32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addTargetGroup(name, delay).ARN
}

func (c *Cloud) addTargetGroup(name string, delay int32) *TargetGroup {
	tg := &TargetGroup{
		ARN:  fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", c.st.Region, c.st.Account, name, c.newID("", 16)),
		Name: name, Port: 80, Interval: 5, HealthyThreshold: 2, UnhealthyThreshold: 2, DeregistrationDelay: delay,
	}
	tg.LoadBalancerARN = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/app/%s/%s", c.st.Region, c.st.Account, strings.TrimSuffix(name, "-tg"), c.newID("", 16))
	c.st.TargetGroups = append(c.st.TargetGroups, tg)
	c.tgs[tg.ARN] = tg
	c.tgNames[tg.Name] = tg
	return tg
}

// AddClassicELB creates a classic load balancer with connection draining (timeout seconds;
// 0 disables draining).
func (c *Cloud) AddClassicELB(name string, drainTimeout int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addClassicELB(name, drainTimeout)
}

func (c *Cloud) addClassicELB(name string, drainTimeout int32) *ClassicELB {
	lb := &ClassicELB{Name: name, Interval: 5, HealthyThreshold: 2, UnhealthyThreshold: 2, DrainingEnabled: drainTimeout > 0, DrainingTimeout: drainTimeout}
	if !lb.DrainingEnabled {
		lb.DrainingTimeout = 300
	}
	c.st.ClassicELBs = append(c.st.ClassicELBs, lb)
	c.elbs[name] = lb
	return lb
}

// AddGroup creates an autoscaling group with Desired instances already running, in service
// and healthy on its balancers. It returns the instance IDs.
func (c *Cloud) AddGroup(spec GroupSpec) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, err := c.addGroup(spec)
	if err != nil {
		return nil, err
	}
	return slices.Clone(g.Instances), nil
}

func (c *Cloud) addGroup(spec GroupSpec) (*Group, error) {
	now := c.st.Now
	if c.groups[spec.Name] != nil {
		return nil, fmt.Errorf("add group %s: already exists", spec.Name)
	}
	g := &Group{
		Name: spec.Name, Min: spec.Min, Desired: spec.Desired, Max: spec.Max,
		ARN:             fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", c.st.Region, c.st.Account, c.uuid(), spec.Name),
		HealthCheckType: spec.HealthCheckType, GracePeriod: spec.GracePeriod, AZs: spec.AZs,
		Suspended: spec.Suspended, ClassicELBs: spec.ClassicELBs, CreatedAt: now.Add(-spec.Age - time.Hour),
	}
	if g.Max < g.Desired {
		g.Max = g.Desired
	}
	if len(g.AZs) == 0 {
		g.AZs = []string{c.st.Region + "a", c.st.Region + "b", c.st.Region + "c"}
	}
	if g.GracePeriod == 0 {
		g.GracePeriod = 30
	}
	if spec.Service != "" {
		g.Tags = append(g.Tags, Tag{Key: "Service", Value: spec.Service, Propagate: true})
	}
	if spec.Env != "" {
		g.Tags = append(g.Tags, Tag{Key: "Environment", Value: spec.Env, Propagate: true})
	}
	g.Tags = append(g.Tags, spec.Tags...)
	g.Tags = append(g.Tags, Tag{Key: "Name", Value: spec.Name, Propagate: true})
	slices.SortFunc(g.Tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	for _, n := range spec.TargetGroups {
		tg := c.tgNames[n]
		if tg == nil {
			return nil, fmt.Errorf("add group %s: no target group %s", spec.Name, n)
		}
		g.TargetGroupARNs = append(g.TargetGroupARNs, tg.ARN)
	}
	for _, n := range spec.ClassicELBs {
		if c.elbs[n] == nil {
			return nil, fmt.Errorf("add group %s: no classic ELB %s", spec.Name, n)
		}
	}
	if g.HealthCheckType == "" {
		g.HealthCheckType = "EC2"
		if len(g.TargetGroupARNs)+len(g.ClassicELBs) > 0 {
			g.HealthCheckType = "ELB"
		}
	}
	switch {
	case spec.Template != "":
		t := c.templates["name:"+spec.Template]
		if t == nil {
			return nil, fmt.Errorf("add group %s: no launch template %s", spec.Name, spec.Template)
		}
		v := spec.Version
		if v == "" {
			v = "$Default"
		}
		g.LaunchTemplate = &TemplateSpec{ID: t.ID, Name: t.Name, Version: v}
		if _, ok := c.resolve(*g.LaunchTemplate); !ok {
			return nil, fmt.Errorf("add group %s: launch template %s has no version %s", spec.Name, spec.Template, v)
		}
	case spec.LaunchConfig != "":
		if c.lcs[spec.LaunchConfig] == nil {
			return nil, fmt.Errorf("add group %s: no launch configuration %s", spec.Name, spec.LaunchConfig)
		}
		g.LaunchConfig = spec.LaunchConfig
	default:
		return nil, fmt.Errorf("add group %s: needs a launch template or a launch configuration", spec.Name)
	}
	i, _ := slices.BinarySearchFunc(c.st.Groups, g.Name, func(a *Group, n string) int { return strings.Compare(a.Name, n) })
	c.st.Groups = slices.Insert(c.st.Groups, i, g)
	c.groups[g.Name] = g
	cfg := c.groupConfig(g)
	for i := range int(spec.Desired) {
		c.running(g, cfg, now.Add(-spec.Age-time.Duration(i+1)*time.Minute))
	}
	return g, nil
}

// running adds an instance that launched at the given time and has long been in service and
// healthy, with its launch activity.
func (c *Cloud) running(g *Group, cfg Config, launched time.Time) *Instance {
	saved := c.st.Now
	c.st.Now = launched
	in := c.place(g, cfg, "", fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", stamp(launched), len(g.Instances), len(g.Instances)+1))
	c.st.Now = launched.Add(c.st.BootTime)
	c.enterService(g, in)
	// Registered long enough ago to have passed its health checks.
	c.st.Now = saved
	g.Busy = false
	return in
}

// EncryptImage makes an image's snapshots encrypted with the KMS key (an ARN; one ending in
// alias/aws/ebs is the AWS managed key, which cannot be shared).
func (c *Cloud) EncryptImage(id, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	img := c.images[id]
	if img == nil {
		return fmt.Errorf("encrypt image: no image %s", id)
	}
	for _, sid := range img.Snapshots {
		if s := c.snapshots[sid]; s != nil {
			s.KMSKey = key
		}
	}
	return nil
}
