// Package model holds adstage-ops' domain: services, their autoscaling groups, instances,
// load-balancer health, images, releases and action plans, with the pure logic over them
// (grouping by tags, which AMI each instance runs, drain countdowns, plan checks).
// It does no I/O and knows nothing of the AWS SDK.
package model

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Lifecycle is an instance's autoscaling lifecycle state, kept as a small integer so that a
// 20,000-instance fleet stays compact.
type Lifecycle uint8

const (
	LifecycleUnknown Lifecycle = iota
	Pending
	PendingWait
	PendingProceed
	InService
	EnteringStandby
	Standby
	Terminating
	TerminatingWait
	TerminatingProceed
	Terminated
	Detaching
	Detached
	Quarantined
	// TerminatingRetained is an instance a retention policy keeps after its termination
	// began (autoscaling LifecycleState "Terminating:Retained"): leaving, not serving.
	TerminatingRetained
	// ReplacingRootVolume* is an instance whose root volume an instance refresh with the
	// ReplaceRootVolume strategy is replacing in place: not serving, not leaving.
	ReplacingRootVolume
	ReplacingRootVolumeWait
	ReplacingRootVolumeProceed
)

var lifecycleNames = [...]string{
	LifecycleUnknown:   "Unknown",
	Pending:            "Pending",
	PendingWait:        "Pending:Wait",
	PendingProceed:     "Pending:Proceed",
	InService:          "InService",
	EnteringStandby:    "EnteringStandby",
	Standby:            "Standby",
	Terminating:        "Terminating",
	TerminatingWait:    "Terminating:Wait",
	TerminatingProceed: "Terminating:Proceed",
	Terminated:         "Terminated",
	Detaching:          "Detaching",
	Detached:           "Detached",
	Quarantined:        "Quarantined",
	// Added after the others so that the values above keep their numbers.
	TerminatingRetained:        "Terminating:Retained",
	ReplacingRootVolume:        "ReplacingRootVolume",
	ReplacingRootVolumeWait:    "ReplacingRootVolume:Wait",
	ReplacingRootVolumeProceed: "ReplacingRootVolume:Proceed",
}

func (l Lifecycle) String() string {
	if int(l) < len(lifecycleNames) {
		return lifecycleNames[l]
	}
	return "Unknown"
}

// ParseLifecycle maps an AWS lifecycle state name ("InService", "Pending:Wait") to a Lifecycle.
func ParseLifecycle(s string) Lifecycle {
	for i, n := range lifecycleNames {
		if n == s {
			return Lifecycle(i)
		}
	}
	return LifecycleUnknown
}

// Leaving reports whether the instance is on its way out of the group.
func (l Lifecycle) Leaving() bool {
	return l >= Terminating && l <= Detached || l == TerminatingRetained
}

// Arriving reports whether the instance is still launching.
func (l Lifecycle) Arriving() bool { return l >= Pending && l <= PendingProceed }

// TargetState is a load balancer's view of one instance.
type TargetState uint8

const (
	TargetUnknown TargetState = iota
	TargetInitial
	TargetHealthy
	TargetUnhealthy
	TargetDraining
	TargetUnused
	TargetUnavailable
)

var targetStateNames = [...]string{"unknown", "initial", "healthy", "unhealthy", "draining", "unused", "unavailable"}

func (s TargetState) String() string {
	if int(s) < len(targetStateNames) {
		return targetStateNames[s]
	}
	return "unknown"
}

// ParseTargetState maps an ELBv2 target state ("healthy", "draining") or a classic ELB
// instance state ("InService", "OutOfService") to a TargetState.
func ParseTargetState(s string) TargetState {
	switch s {
	case "InService":
		return TargetHealthy
	case "OutOfService":
		return TargetUnhealthy
	case "unhealthy.draining":
		// A target that failed its health checks and whose connections drain while it stays
		// registered (target group attribute target_health_state.unhealthy.connection_termination.enabled
		// false): it fails, it is not leaving.
		return TargetUnhealthy
	}
	for i, n := range targetStateNames {
		if n == s {
			return TargetState(i)
		}
	}
	return TargetUnknown
}

// BalancerKind tells a target group from a classic ELB.
type BalancerKind uint8

const (
	TargetGroup BalancerKind = iota
	ClassicELB
)

// TargetHealth is one balancer's health for one instance. What only some targets have (a
// reason, a drain countdown) is in Note, so that the row of a healthy target, most of a
// fleet's 20,000, is 32 bytes.
type TargetHealth struct {
	Balancer Sym // target group name or classic ELB name (interned: 8 bytes a row)
	// Note is the reason and the drain countdown, nil when there is neither. Notes are
	// shared (between the rows of a balancer, and between snapshots): never written once made.
	Note *TargetNote
	// CheckedAt is when this health was read from AWS.
	CheckedAt Unix
	Kind      BalancerKind
	State     TargetState
	// Stale is set when this row's health comes from an earlier poll than the current snapshot.
	Stale bool
}

// TargetNote is what only unhealthy, draining or unread targets have.
type TargetNote struct {
	Reason string // AWS reason code or description, or why the health is unknown
	// DrainSince is the unix second at which the target was first seen draining (0 if not draining).
	DrainSince int64
	// DrainDelay is the balancer's deregistration delay / connection-draining timeout in
	// seconds, for a draining target.
	DrainDelay int32
	// DrainObserved is false when the target was already draining the first time we looked,
	// so the countdown is an upper bound ("about").
	DrainObserved bool
}

// Reason is the AWS reason code or description, empty when healthy.
func (t TargetHealth) Reason() string {
	if t.Note == nil {
		return ""
	}
	return t.Note.Reason
}

// DrainSince is the unix second at which the target was first seen draining (0 if not draining).
func (t TargetHealth) DrainSince() int64 {
	if t.Note == nil {
		return 0
	}
	return t.Note.DrainSince
}

// DrainDelay is the balancer's deregistration delay / connection-draining timeout in seconds
// (0 when not draining).
func (t TargetHealth) DrainDelay() int32 {
	if t.Note == nil {
		return 0
	}
	return t.Note.DrainDelay
}

// DrainObserved is false when the target was already draining the first time we looked.
func (t TargetHealth) DrainObserved() bool { return t.Note != nil && t.Note.DrainObserved }

// DrainRemaining is the countdown for a draining target: delay - (now - first seen draining).
// The second result is false when the start was not observed and the figure is only "about".
func (t TargetHealth) DrainRemaining(now time.Time) (time.Duration, bool) {
	if t.State != TargetDraining || t.DrainSince() == 0 {
		return 0, false
	}
	left := time.Duration(t.DrainDelay())*time.Second - now.Sub(time.Unix(t.DrainSince(), 0))
	if left < 0 {
		left = 0
	}
	return left, t.DrainObserved()
}

// Instance is one EC2 instance as its autoscaling group and load balancers see it.
// Its zone, AMI and launch template version are interned (Sym): a fleet has few of each, and
// the instance is 72 bytes.
type Instance struct {
	ID        string
	AZ        Sym
	ImageID   Sym // the AMI it was launched from
	LTVersion Sym // launch template version it was launched from ("" for launch configurations)
	Targets   []TargetHealth
	// LaunchedAt is when it launched (0 when unknown).
	LaunchedAt Unix
	Lifecycle  Lifecycle
	Healthy    bool // the group's health status
	Protected  bool // scale-in protection
}

// Age is how long the instance has run, or 0 when its launch time is unknown.
func (i *Instance) Age(now time.Time) time.Duration {
	if i.LaunchedAt == 0 {
		return 0
	}
	return now.Sub(i.LaunchedAt.Time())
}

// Draining reports whether any balancer is draining this instance.
func (i *Instance) Draining() bool {
	for _, t := range i.Targets {
		if t.State == TargetDraining {
			return true
		}
	}
	return false
}

// LBHealthy reports whether every balancer that knows the instance says healthy.
func (i *Instance) LBHealthy() bool {
	for _, t := range i.Targets {
		if t.State != TargetHealthy {
			return false
		}
	}
	return true
}

// Failing reports whether the group or any balancer says the instance is unhealthy.
func (i *Instance) Failing() bool {
	if !i.Healthy {
		return true
	}
	for _, t := range i.Targets {
		if t.State == TargetUnhealthy || t.State == TargetUnavailable {
			return true
		}
	}
	return false
}

// Serving reports whether the instance is in service, healthy for its group and for every balancer.
func (i *Instance) Serving() bool {
	return i.Lifecycle == InService && i.Healthy && i.LBHealthy()
}

// LaunchTemplateRef names a launch template and the version a group or refresh uses.
type LaunchTemplateRef struct {
	ID      string
	Name    string
	Version string // a number, "$Latest" or "$Default"
}

// Refresh is an instance refresh (a rollout) on one group.
type Refresh struct {
	ID                string
	Status            string // Pending, InProgress, Successful, Failed, Cancelling, Cancelled, RollbackInProgress, RollbackFailed, RollbackSuccessful, Baking
	StatusReason      string
	Percent           int32
	InstancesToUpdate int32
	StartedAt         time.Time
	EndedAt           time.Time
	// DesiredVersion and DesiredImage are what the refresh rolls out, when known.
	DesiredVersion string
	DesiredImage   string
	// MinHealthy, MaxHealthy (percentages) and Warmup (seconds) are the refresh's preferences,
	// 0 when not reported; a rollback of the refresh keeps them.
	MinHealthy, MaxHealthy, Warmup int32
	// PercentOnRollback is the refresh's Percent when its rollback began (AWS's
	// RollbackDetails.PercentageCompleteOnRollback); during a rollback Percent goes back down
	// from it to zero.
	PercentOnRollback int32
	// RollbackReason is why the refresh was rolled back (AWS's RollbackDetails.RollbackReason).
	RollbackReason string
}

// RollingBack reports whether AWS is rolling the refresh back right now.
func (r *Refresh) RollingBack() bool { return r != nil && r.Status == "RollbackInProgress" }

// Progress is how far the refresh has got with what it is doing now: rolling out, the share
// of instances updated (Percent); rolling back, the share of that undone. AWS counts only the
// rollout: "PercentageComplete does not include instances that are replaced during a
// rollback. This value gradually goes back down to zero during a rollback."
func (r *Refresh) Progress() int32 {
	if r == nil {
		return 0
	}
	if !r.RollingBack() {
		return r.Percent
	}
	if r.PercentOnRollback <= 0 {
		return 0 // nothing had been updated, nothing is left to undo once it ends
	}
	done := (r.PercentOnRollback - r.Percent) * 100 / r.PercentOnRollback
	return min(max(done, 0), 100)
}

// Active reports whether the refresh is still changing the group.
func (r *Refresh) Active() bool {
	if r == nil {
		return false
	}
	switch r.Status {
	case "Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking":
		return true
	}
	return false
}

// Group is one autoscaling group.
type Group struct {
	Name    string
	Service string
	Env     string
	Min     int32
	Desired int32
	Max     int32
	// GracePeriod is the health check grace period, seconds.
	GracePeriod int32
	// Warmup is the expected seconds for a new instance to become healthy (health check grace
	// or the refresh preference); used for restore-time estimates.
	Warmup int32
	// LaunchTemplate is set for groups on a launch template; LaunchConfig for legacy groups.
	LaunchTemplate  *LaunchTemplateRef
	LaunchConfig    string
	ImageID         string // the AMI new instances get (from the launch template version)
	HealthCheckType string // EC2 or ELB
	Suspended       []string
	TargetGroups    []string // target group names
	ClassicELBs     []string
	Instances       []Instance
	Refresh         *Refresh // the newest refresh, nil when none is known
	// Balancers are the health check and draining settings of the group's target groups and
	// classic ELBs, those the inventory has read (they change rarely and are cached); the
	// restore estimate takes AWS's defaults for the others.
	Balancers []BalancerTiming
	// Origin is the account, region and identity the group was read with, when the console
	// reads several (nil: the fleet's own); From gives it as a value. Behind a pointer: the
	// groups of one read share one (a group array of 2,000 is 80 KB smaller).
	Origin *Origin
}

// From is where the group was read (Origin; the zero Origin when it is the fleet's own).
func (g *Group) From() Origin {
	if g.Origin == nil {
		return Origin{}
	}
	return *g.Origin
}

// Origin is where something was read: the AWS account, the region and the caller identity
// (an ARN) of the clients that read it.
type Origin struct {
	Account, Region, Identity string
}

// mergedSep joins the values of a merged Origin field.
const mergedSep = "+"

// Merged splits a field of a merged Origin (or of a Fleet read over several identities)
// into its values: "111111111111+123456789012" is two accounts.
func Merged(field string) []string {
	if field == "" {
		return nil
	}
	return strings.Split(field, mergedSep)
}

// Merge adds another origin: a field that differs becomes both values joined by "+".
func (o Origin) Merge(p Origin) Origin {
	join := func(a, b string) string {
		switch {
		case a == "":
			return b
		case b == "" || a == b:
			return a
		}
		for _, part := range Merged(a) {
			if part == b {
				return a
			}
		}
		return a + mergedSep + b
	}
	return Origin{Account: join(o.Account, p.Account), Region: join(o.Region, p.Region), Identity: join(o.Identity, p.Identity)}
}

// Legacy reports whether the group still uses a launch configuration.
func (g *Group) Legacy() bool { return g.LaunchTemplate == nil && g.LaunchConfig != "" }

// Suspends reports whether the named scaling process is suspended.
func (g *Group) Suspends(process string) bool {
	for _, p := range g.Suspended {
		if p == process {
			return true
		}
	}
	return false
}

// Counts are the headline numbers of a group or service.
type Counts struct {
	Groups    int
	Desired   int
	InService int
	Healthy   int // in service, group-healthy and healthy on every balancer
	Draining  int
	Unhealthy int
	Instances int
}

func (c *Counts) add(g *Group) {
	c.Groups++
	c.Desired += int(g.Desired)
	for i := range g.Instances {
		in := &g.Instances[i]
		c.Instances++
		if in.Lifecycle == InService {
			c.InService++
			switch {
			case in.Serving():
				c.Healthy++
			case in.Failing():
				// Only failing instances count as unhealthy: a new instance still in its first
				// health checks ("initial") or one draining out is part of a normal rollout.
				c.Unhealthy++
			}
		}
		if in.Draining() {
			c.Draining++
		}
	}
}

// Counts totals the group.
func (g *Group) Counts() Counts {
	var c Counts
	c.add(g)
	return c
}

// ServiceKey identifies a service in one environment. Region is set only when the console
// reads the environment in several regions and the service runs in more than one of them:
// each region is then a row of its own, acted on with that region's identity
// (Fleet.SplitRegions). Everywhere else it is empty.
type ServiceKey struct {
	Name   string
	Env    string
	Region string
}

func (k ServiceKey) String() string {
	if k.Region != "" {
		return k.Name + "/" + k.Env + " in " + k.Region
	}
	return k.Name + "/" + k.Env
}

// Untagged is the service name under which groups without a service tag are listed.
const Untagged = "(untagged)"

// Service is a service in one environment: every group that carries its tags.
type Service struct {
	ServiceKey
	Groups []*Group
	// Origin is where its groups were read (the groups' origins merged), when the console
	// reads several accounts or regions; nil otherwise. From gives it as a value.
	Origin *Origin
	// Unread says why the service's environment could not be read on the last refresh (its
	// groups, if any, are from an earlier one); "" when it was.
	Unread string
}

// From is where the service's groups were read (Origin; the zero Origin when not set).
func (s *Service) From() Origin {
	if s.Origin == nil {
		return Origin{}
	}
	return *s.Origin
}

// NotRead is the service name of the row that stands for an environment the console could
// not read at all: which services it has is unknown.
const NotRead = "(not read)"

// Counts totals every group of the service.
func (s *Service) Counts() Counts {
	var c Counts
	for _, g := range s.Groups {
		c.add(g)
	}
	return c
}

// ImageCount is how many live instances run one AMI.
type ImageCount struct {
	ImageID   string
	Instances int
}

// Images lists the AMIs the service's live instances run, most common first (ties by ID).
func (s *Service) Images() []ImageCount {
	counts := map[Sym]int{}
	for _, g := range s.Groups {
		for i := range g.Instances {
			in := &g.Instances[i]
			if in.Lifecycle.Leaving() || in.ImageID == (Sym{}) {
				continue
			}
			counts[in.ImageID]++
		}
	}
	out := make([]ImageCount, 0, len(counts))
	for id, n := range counts {
		out = append(out, ImageCount{id.String(), n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Instances != out[j].Instances {
			return out[i].Instances > out[j].Instances
		}
		return out[i].ImageID < out[j].ImageID
	})
	return out
}

// Release is the AMI the service's groups are configured to launch: the release it runs.
// When groups disagree it is the first group's, and Mixed reports it.
func (s *Service) Release() string {
	for _, g := range s.Groups {
		if g.ImageID != "" {
			return g.ImageID
		}
	}
	if imgs := s.Images(); len(imgs) > 0 {
		return imgs[0].ImageID
	}
	return ""
}

// Mixed reports whether the service's live instances or groups run more than one AMI.
func (s *Service) Mixed() bool {
	if len(s.Images()) > 1 {
		return true
	}
	var first string
	for _, g := range s.Groups {
		if g.ImageID == "" {
			continue
		}
		if first == "" {
			first = g.ImageID
		} else if g.ImageID != first {
			return true
		}
	}
	return false
}

// RollingOut reports whether any group has an active instance refresh.
func (s *Service) RollingOut() bool {
	for _, g := range s.Groups {
		if g.Refresh.Active() {
			return true
		}
	}
	return false
}

// Degraded reports whether the service has fewer healthy instances than desired.
func (s *Service) Degraded() bool {
	c := s.Counts()
	return c.Healthy < c.Desired || c.Unhealthy > 0
}

// Fleet is one snapshot of everything the console shows.
type Fleet struct {
	Account   string
	Region    string
	Identity  string // caller ARN
	FetchedAt time.Time
	Groups    []Group
	Services  []Service
	// Problems lists what the snapshot could not read (a throttled or denied call on one
	// balancer, a failed EC2 lookup): the affected data is the previous snapshot's, marked
	// Stale. Empty when everything was read.
	Problems []string
}

// TagKeys names the ASG tags that identify services and environments.
type TagKeys struct {
	Service     string
	Environment string
}

// DefaultTagKeys are the keys the seed's deployment uses.
var DefaultTagKeys = TagKeys{Service: "Service", Environment: "Environment"}

// BuildServices groups the fleet's groups into services by their Service and Env fields,
// sorted by name then environment. Groups without a service are listed under Untagged unless
// skipUntagged is set.
func (f *Fleet) BuildServices(skipUntagged bool) {
	// Two passes: count each service's groups, then carve every service's Groups out of one
	// array. A fleet of thousands of groups is rebuilt every refresh.
	idx := map[ServiceKey]int{}
	var svcs []ServiceKey
	keys := make([]int, len(f.Groups)) // the group's service, -1 when skipped
	var counts []int
	for i := range f.Groups {
		g := &f.Groups[i]
		name := g.Service
		if name == "" {
			if skipUntagged {
				keys[i] = -1
				continue
			}
			name = Untagged
		}
		k := ServiceKey{Name: name, Env: g.Env}
		j, ok := idx[k]
		if !ok {
			j = len(svcs)
			idx[k] = j
			svcs = append(svcs, k)
			counts = append(counts, 0)
		}
		keys[i] = j
		counts[j]++
	}
	// Services sized exactly: a fleet is kept while the next one is read.
	if cap(f.Services) >= len(svcs) {
		f.Services = f.Services[:len(svcs)]
	} else {
		f.Services = make([]Service, len(svcs))
	}
	for j, k := range svcs {
		f.Services[j] = Service{ServiceKey: k}
	}
	ptrs := make([]*Group, 0, len(f.Groups))
	for j := range f.Services {
		f.Services[j].Groups = ptrs[len(ptrs) : len(ptrs) : len(ptrs)+counts[j]]
		ptrs = ptrs[:len(ptrs)+counts[j]]
	}
	for i := range f.Groups {
		if j := keys[i]; j >= 0 {
			f.Services[j].Groups = append(f.Services[j].Groups, &f.Groups[i])
		}
	}
	sort.Slice(f.Services, func(i, j int) bool {
		a, b := f.Services[i], f.Services[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Env < b.Env
	})
}

// Service finds a service by name and environment: its first region's row when it has one
// per region (ServiceAt finds one row).
func (f *Fleet) Service(name, env string) (*Service, bool) {
	for i := range f.Services {
		if f.Services[i].Name == name && f.Services[i].Env == env {
			return &f.Services[i], true
		}
	}
	return nil, false
}

// ServiceAt finds the row of a key, region included.
func (f *Fleet) ServiceAt(k ServiceKey) (*Service, bool) {
	for i := range f.Services {
		if f.Services[i].ServiceKey == k {
			return &f.Services[i], true
		}
	}
	return nil, false
}

// SplitRegions gives a service whose groups were read in several regions (Group.Origin)
// one row per region, each with its region in its key, its groups and its origin: an
// environment read in several regions is acted on one region at a time, from the row of
// that region. A service read in one region keeps its one row and a key without region.
// Rows stay sorted by name, environment, then region.
func (f *Fleet) SplitRegions() {
	split := false
	for i := range f.Services {
		if len(f.Services[i].regions()) > 1 {
			split = true
			break
		}
	}
	if !split {
		return
	}
	out := make([]Service, 0, len(f.Services)+1)
	for _, s := range f.Services {
		regions := s.regions()
		if len(regions) < 2 {
			out = append(out, s)
			continue
		}
		for _, r := range regions {
			row := Service{ServiceKey: s.ServiceKey, Unread: s.Unread}
			row.Region = r
			var o Origin
			for _, g := range s.Groups {
				if g.From().Region == r {
					row.Groups = append(row.Groups, g)
					o = o.Merge(g.From())
				}
			}
			if o != (Origin{}) {
				row.Origin = &o
			}
			out = append(out, row)
		}
	}
	f.Services = out
}

// regions lists the regions the service's groups were read in, sorted.
func (s *Service) regions() []string {
	var out []string
	for _, g := range s.Groups {
		if r := g.From().Region; r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// State is what a service is doing, derived once from its groups: the one rule behind the
// console's STATE column and `status`. RolloutPercent is -1 when no rollout runs; while
// RollingBack (a rollout that AWS is reversing, which is also RollingOut) it is how much of
// the rollback is done (Refresh.Progress).
type State struct {
	Degraded       bool
	RollingOut     bool
	RollingBack    bool
	RolloutPercent int32
	Mixed          bool
	Legacy         bool // some group still uses a launch configuration
	// Unread: the last refresh could not read the service's environment (Service.Unread).
	Unread bool
}

// State derives the service's state from its groups and instances.
func (s *Service) State() State {
	st := State{Degraded: s.Degraded(), Mixed: s.Mixed(), RolloutPercent: -1, Unread: s.Unread != ""}
	for _, g := range s.Groups {
		if g.Refresh.Active() && !st.RollingOut {
			st.RollingOut, st.RolloutPercent = true, g.Refresh.Progress()
		}
		if g.Refresh.RollingBack() && !st.RollingBack {
			// A rollback outranks another group's rollout: the service is going back.
			st.RollingBack, st.RolloutPercent = true, g.Refresh.Progress()
		}
		st.Legacy = st.Legacy || g.Legacy()
	}
	return st
}
