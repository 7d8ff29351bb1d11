// Package sim is an in-memory AWS account, or several (Auto Scaling, EC2, ELBv2, classic
// ELB, STS, CloudWatch metrics and alarms of the balancers, KMS keys as EBS uses them) behind the same narrow client
// interfaces as the real SDK clients. It powers `adstage-ops --demo` and
// many tests. It follows AWS's documented behaviour (instance lifecycles, health checks with
// intervals and thresholds, deregistration delays, instance refreshes with rollback, images
// that go pending then available, token-bucket throttling); where it simplifies, the code says
// so.
//
// The simulation is lazy: every API call first advances the world to Clock.Now(), processing
// what happened in between in one-second steps, so a ManualClock drives it deterministically.
//
// Where it departs from AWS, on purpose:
//   - Instances boot in 15 s (Options.BootTime); health checks run every 5 s with thresholds
//     of 2, AWS's shortest settings, so a rollout takes a minute or two.
//   - The group health status is always Healthy: a group with HealthCheckType ELB does not
//     replace instances its balancers fail (AWS would, after the grace period).
//   - An instance refresh may take the group above MaxSize while it launches before
//     terminating; a batch that is not healthy within max(3 x warmup, 90 s) fails the refresh
//     (AWS does not document a figure). Checkpoints, bake time, alarms and mixed instances
//     policies are not modelled; the standby and scale-in-protected preferences are.
//   - IAM is modelled only as actions taken away with Deny (ec2:RunInstances also where Auto
//     Scaling checks it); templates name no instance profile, so iam:PassRole is not checked.
//   - CreateImage does not reboot the instance; every image has one 8 GiB root snapshot.
//   - Load balancer API writes are not throttled (the simulator's ELB APIs are reads only);
//     STS is not throttled.
//   - Several accounts and regions are a Partition (partition.go): images are shared and
//     copied across them (images.go). CreateLaunchTemplateVersion accepts an image the
//     account cannot launch and warns, as AWS does; launching from it fails as on AWS
//     (world.go, launchRefusal): the scaling activity fails ("The image id '[ami-…]' does not
//     exist. Launching EC2 instance failed." for an image of another account not shared with
//     this one), the group retries every 10 s (AWS's back-off is not documented), and an
//     instance refresh fails at the first refused launch and rolls back (AWS retries for a
//     while first). There is no RunInstances: groups launch every instance.
//   - KMS (kms.go): each account's aws/ebs key, which no other account may use (its
//     snapshots cannot be shared: ModifySnapshotAttribute refuses), and customer managed
//     keys with the set of other accounts their key policy allows (AddKey, AllowKey);
//     DescribeKey. Another account's image whose snapshots it may not decrypt is neither
//     launched (the launch fails with "Client.InternalError: Client error on launch") nor
//     copied (CopyImage refuses). Key policies as documents, grants, key states, other KMS
//     operations and the Auto Scaling service-linked role's own key access are not modelled.
//   - Another account's snapshots are not listed by DescribeSnapshots; DescribeImages's
//     ExecutableUsers and sharing with organizations are not modelled.
package sim

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

// Options configure a simulated cloud.
type Options struct {
	// Latency is slept (in real time) by every call, outside the lock, for concurrency
	// benchmarks.
	Latency time.Duration
	// Throttle models AWS's per-account token buckets on the simulated clock: EC2 reads
	// (bucket 100, refill 20/s), EC2 writes (200, 5/s), ELB API version 2 reads (target
	// groups: 40, 10/s), ELB API version 1 reads (classic ELBs: a bucket of their own, 40,
	// 10/s), Auto Scaling (40, 10/s).
	Throttle bool
	// Account and Region default to 123456789012 and us-east-1.
	Account string
	Region  string
	// BootTime is how long a new instance stays Pending (default 15 s).
	BootTime time.Duration
}

// DefaultAccount and DefaultRegion are the simulator's defaults.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
)

// Cloud is one simulated account and region. It is safe for concurrent use.
type Cloud struct {
	// mu guards the world; the clouds of a Partition share one, so that a call in one
	// account reads the images another shares with it consistently.
	mu    *sync.Mutex
	clock Clock
	// partition holds the other accounts and regions whose images this one may see (nil
	// for a cloud on its own).
	partition *Partition
	opts      Options
	st        *State

	// indexes over st, rebuilt by reindex
	groups    map[string]*Group
	templates map[string]*Template // by ID and by "name:"+Name
	lcs       map[string]*LaunchConfig
	images    map[string]*Image
	snapshots map[string]*Snapshot
	tgs       map[string]*TargetGroup // by ARN
	tgNames   map[string]*TargetGroup
	elbs      map[string]*ClassicELB

	calls         map[string]int
	throttled     map[string]int
	buckets       map[string]*bucket
	failures      map[string][]*injected
	throttleUntil time.Time
	denied        map[string]bool // IAM actions the caller lacks ("ec2:RunInstances")
}

type injected struct {
	err error
	n   int
}

// New is an empty simulated account.
func New(clock Clock, opts Options) *Cloud {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.BootTime <= 0 {
		opts.BootTime = 15 * time.Second
	}
	st := &State{
		Account:   opts.Account,
		Region:    opts.Region,
		Caller:    "arn:aws:iam::" + opts.Account + ":user/demo-operator",
		Now:       clock.Now(),
		BootTime:  opts.BootTime,
		Instances: map[string]*Instance{},
		BadImages: map[string]bool{},
	}
	return newCloud(clock, opts, st)
}

func newCloud(clock Clock, opts Options, st *State) *Cloud {
	c := &Cloud{mu: new(sync.Mutex), clock: clock, opts: opts, st: st}
	c.reindex()
	c.ResetCalls()
	c.failures = map[string][]*injected{}
	return c
}

func (c *Cloud) reindex() {
	st := c.st
	if st.Instances == nil {
		st.Instances = map[string]*Instance{}
	}
	if st.BadImages == nil {
		st.BadImages = map[string]bool{}
	}
	sort.Slice(st.Groups, func(i, j int) bool { return st.Groups[i].Name < st.Groups[j].Name })
	c.groups = make(map[string]*Group, len(st.Groups))
	for _, g := range st.Groups {
		c.groups[g.Name] = g
	}
	c.templates = make(map[string]*Template, 2*len(st.Templates))
	for _, t := range st.Templates {
		c.templates[t.ID] = t
		c.templates["name:"+t.Name] = t
	}
	c.lcs = make(map[string]*LaunchConfig, len(st.LaunchConfigs))
	for _, l := range st.LaunchConfigs {
		c.lcs[l.Name] = l
	}
	c.images = make(map[string]*Image, len(st.Images))
	for _, i := range st.Images {
		c.images[i.ID] = i
	}
	c.snapshots = make(map[string]*Snapshot, len(st.Snapshots))
	for _, s := range st.Snapshots {
		c.snapshots[s.ID] = s
	}
	c.tgs = make(map[string]*TargetGroup, len(st.TargetGroups))
	c.tgNames = make(map[string]*TargetGroup, len(st.TargetGroups))
	for _, t := range st.TargetGroups {
		c.tgs[t.ARN] = t
		c.tgNames[t.Name] = t
	}
	c.elbs = make(map[string]*ClassicELB, len(st.ClassicELBs))
	for _, e := range st.ClassicELBs {
		c.elbs[e.Name] = e
	}
}

// Clients are the five simulated clients.
func (c *Cloud) Clients() awsapi.Clients {
	return awsapi.Clients{
		AutoScaling: &autoScalingClient{c},
		EC2:         &ec2Client{c},
		ELBv2:       &elbv2Client{c},
		ELB:         &elbClient{c},
		STS:         &stsClient{c},
		CloudWatch:  &cloudWatchClient{c},
		Images:      &ec2Client{c},
		KMS:         &kmsClient{c},
		Region:      c.st.Region,
	}
}

// Calls counts the calls made per operation name (throttled and failed ones included) since
// the last ResetCalls.
func (c *Cloud) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

// Throttled counts the calls per operation name that were refused with a throttling error
// since the last ResetCalls.
func (c *Cloud) Throttled() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.throttled))
	for k, v := range c.throttled {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call and throttle counters.
func (c *Cloud) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = map[string]int{}
	c.throttled = map[string]int{}
}

// Now is the simulated time the world has been advanced to.
func (c *Cloud) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Now
}

// BootTime is how long a new instance stays Pending before it enters service: the restore
// estimate of the demo uses it (inventory.Options.BootTime).
func (c *Cloud) BootTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.BootTime
}

// SetClock replaces the clock (after Load with a nil clock, for instance); the world
// advances to the new clock's time on the next call.
func (c *Cloud) SetClock(clock Clock) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = clock
}

// Advance brings the world up to the clock's time now, without an API call.
func (c *Cloud) Advance() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
}

// ThrottleUntil makes every call fail with its service's throttling error until simulated
// time t.
func (c *Cloud) ThrottleUntil(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.throttleUntil = t
}

// FailNext makes the next n calls of the operation op (e.g. "DescribeTargetHealth") fail
// with err, e.g. &smithy.GenericAPIError{Code: "AccessDenied"}. The error is wrapped in a
// *smithy.OperationError as the SDK does.
func (c *Cloud) FailNext(op string, err error, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 0 {
		c.failures[op] = append(c.failures[op], &injected{err: err, n: n})
	}
}

// bucket is a token bucket on the simulated clock.
type bucket struct {
	size, rate, tokens float64
	last               time.Time
}

func (b *bucket) take(now time.Time) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.size, b.tokens+dt*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// Throttle bucket names and their AWS-documented sizes and refill rates.
//
// Elastic Load Balancing: "Request throttling for the Elastic Load Balancing API"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html):
// "ELB API version 2 supports ... Application Load Balancers, Network Load Balancers, and
// Gateway Load Balancers. ELB API version 1 supports Classic Load Balancers. Each ELB API
// version has its own buckets and tokens", and the non-mutating (Describe*) bucket holds 40
// tokens and refills 10 a second. So target group reads (elbv2-read) and classic ELB reads
// (elb-read) are two buckets of 40 + 10/s. The page's mutating buckets are not modelled: the
// simulator serves no load balancer writes.
var bucketSpecs = map[string][2]float64{
	"ec2-read":    {100, 20},
	"ec2-write":   {200, 5},
	"elbv2-read":  {40, 10},
	"elb-read":    {40, 10},
	"autoscaling": {40, 10},
}

// service describes which API an operation belongs to, for errors and buckets.
type service struct {
	id       string // smithy ServiceID
	throttle string // throttling error code
	iam      string // IAM action prefix
}

var (
	svcAutoScaling = service{"Auto Scaling", "Throttling", "autoscaling"}
	svcEC2         = service{"EC2", "RequestLimitExceeded", "ec2"}
	svcELBv2       = service{"Elastic Load Balancing v2", "Throttling", "elasticloadbalancing"}
	svcELB         = service{"Elastic Load Balancing", "Throttling", "elasticloadbalancing"}
	svcSTS         = service{"STS", "Throttling", "sts"}
	svcKMS         = service{"KMS", "ThrottlingException", "kms"}
)

// Deny takes IAM actions ("autoscaling:StartInstanceRefresh", "ec2:RunInstances") away from
// the caller. A denied operation fails as AWS fails it (AccessDenied; EC2: UnauthorizedOperation).
// ec2:RunInstances is checked where AWS checks it without it being called: updating a group
// with a launch template or starting an instance refresh to one fails with ValidationError
// "You are not authorized to use launch template" ("Launch template permissions", Amazon EC2
// Auto Scaling User Guide: the caller needs ec2:RunInstances, and iam:PassRole for a template
// with an instance profile; the simulator's templates name none).
func (c *Cloud) Deny(actions ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.denied == nil {
		c.denied = map[string]bool{}
	}
	for _, a := range actions {
		c.denied[a] = true
	}
}

// mayUseTemplate is AWS's launch template permission check on the caller; c.mu is held.
func (c *Cloud) mayUseTemplate(svc service, op, templateID string) error {
	if c.denied["ec2:RunInstances"] {
		return apiError(svc, op, "ValidationError", "You are not authorized to use launch template: %s", templateID)
	}
	return nil
}

// begin is the gate every API call passes: latency, lock, world advance, counting, injected
// failures, throttling. On success the caller holds c.mu and must call c.mu.Unlock.
func (c *Cloud) begin(svc service, op, bucketName string) error {
	if c.opts.Latency > 0 {
		time.Sleep(c.opts.Latency)
	}
	c.mu.Lock()
	c.advance()
	c.calls[op]++
	if fs := c.failures[op]; len(fs) > 0 {
		f := fs[0]
		f.n--
		if f.n <= 0 {
			c.failures[op] = fs[1:]
		}
		c.mu.Unlock()
		var oe *smithy.OperationError
		if errors.As(f.err, &oe) {
			return f.err
		}
		return &smithy.OperationError{ServiceID: svc.id, OperationName: op, Err: f.err}
	}
	if action := svc.iam + ":" + op; c.denied[action] {
		c.mu.Unlock()
		if svc.iam == "ec2" {
			return apiError(svc, op, "UnauthorizedOperation", "You are not authorized to perform this operation. User: %s is not authorized to perform: %s", c.st.Caller, action)
		}
		return apiError(svc, op, "AccessDenied", "User: %s is not authorized to perform: %s", c.st.Caller, action)
	}
	throttled := c.st.Now.Before(c.throttleUntil)
	if !throttled && c.opts.Throttle && bucketName != "" {
		if c.buckets == nil {
			c.buckets = map[string]*bucket{}
		}
		b := c.buckets[bucketName]
		if b == nil {
			spec := bucketSpecs[bucketName]
			b = &bucket{size: spec[0], rate: spec[1], tokens: spec[0], last: c.st.Now}
			c.buckets[bucketName] = b
		}
		throttled = !b.take(c.st.Now)
	}
	if throttled {
		c.throttled[op]++
		c.mu.Unlock()
		msg := "Rate exceeded"
		if svc.throttle == "RequestLimitExceeded" {
			msg = "Request limit exceeded."
		}
		return &smithy.OperationError{ServiceID: svc.id, OperationName: op, Err: &smithy.GenericAPIError{Code: svc.throttle, Message: msg, Fault: smithy.FaultClient}}
	}
	return nil
}

// apiError is an AWS error as the SDK returns it.
func apiError(svc service, op, code, format string, args ...any) error {
	return &smithy.OperationError{ServiceID: svc.id, OperationName: op, Err: &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}}
}

// newID is a deterministic pseudo-random hex ID ("i-0123456789abcdef0").
func (c *Cloud) newID(prefix string, digits int) string {
	c.st.Seq++
	x := c.st.Seq*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	s := fmt.Sprintf("%016x%016x", x, x*0x9E3779B97F4A7C15)
	return prefix + s[:digits]
}

// uuid is a deterministic UUID-shaped ID (refreshes, activities).
func (c *Cloud) uuid() string {
	h := strings.TrimPrefix(c.newID("", 32), "")
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func tagValue(tags []Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Account and Region say which account and region the cloud simulates.
func (c *Cloud) Account() string { return c.st.Account }

// Region is the cloud's region.
func (c *Cloud) Region() string { return c.st.Region }
