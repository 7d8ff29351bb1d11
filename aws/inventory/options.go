package inventory

import (
	"time"

	"github.com/adstage/adstage-ops/model"
)

// Options configure the inventory (and, embedded in ops.Options, the operator built on it).
type Options struct {
	Tags         model.TagKeys
	SkipUntagged bool
	// Now and After are the clock (time.Now and time.After by default); the simulator's clock
	// in demo mode and tests, so that a running action's polling waits on simulated time.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Refresh is the tick of the live view; the call budget is spread over it.
	Refresh time.Duration
	// ELBReadsPerSecond and EC2ReadsPerSecond cap the background polling rate (default half of
	// AWS's documented refill rates: 5 and 10). ELBReadsPerSecond applies to each ELB API
	// version apart (target groups, classic ELBs), as AWS gives each its own bucket.
	ELBReadsPerSecond float64
	EC2ReadsPerSecond float64
	// Rollout holds the instance refresh preferences promote uses; readiness estimates the
	// restore time from them.
	Rollout model.RolloutPrefs
	// AlarmPattern also counts CloudWatch alarms whose name matches it as a service's
	// (path.Match syntax, {service} and {env} replaced), besides those whose dimensions name
	// its balancers or groups.
	AlarmPattern string
	// BootTime is how long a new instance takes from launch to InService, for the restore
	// estimate (default 30 s, a typical Linux AMI without lifecycle hooks; the demo sets the
	// simulator's).
	BootTime time.Duration
	// OneShot makes every Snapshot a complete read for a one-shot command (status): every
	// group page, every balancer, every instance and template read once, paced by AWS's own
	// throttles instead of the console's per-tick budget (see oneshot.go).
	OneShot *OneShot
}

// OneShot configures the one-shot read.
type OneShot struct {
	// Service and Env narrow the listing to one service and/or environment (tag filters),
	// so that a status of one service reads only its groups and balancers.
	Service, Env string
	// ListOnly stops after the group listing: services and groups, no instance, balancer or
	// template facts (status uses it to name the services that exist).
	ListOnly bool
	// Attempts bounds how often a throttled call is made in all (default 3; status passes
	// AWS_MAX_ATTEMPTS when it is set). The SDK's own retryer retries within each attempt.
	Attempts int
	// Progress, when set, is told after every call how many of the calls known so far are
	// done, and whether the read is waiting for AWS's rate limits.
	Progress func(Progress)
}

// Progress is how far a one-shot read is.
type Progress struct {
	Done, Total int
	Waiting     bool // the last call waited for an API's rate limit
}

// defaultBootTime is Options.BootTime's default.
const defaultBootTime = 30 * time.Second

// WithDefaults fills every zero option with its default: model.DefaultTagKeys, time.Now, a
// 5 s tick, 5 ELB and 10 EC2 reads per second, and the rollout preferences' own defaults.
// It is the only place the action layer's defaults live.
func (o Options) WithDefaults() Options {
	if o.Tags.Service == "" {
		o.Tags.Service = model.DefaultTagKeys.Service
	}
	if o.Tags.Environment == "" {
		o.Tags.Environment = model.DefaultTagKeys.Environment
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.ELBReadsPerSecond <= 0 {
		o.ELBReadsPerSecond = 5
	}
	if o.EC2ReadsPerSecond <= 0 {
		o.EC2ReadsPerSecond = 10
	}
	if o.BootTime <= 0 {
		o.BootTime = defaultBootTime
	}
	o.Rollout = o.Rollout.Resolved()
	return o
}
