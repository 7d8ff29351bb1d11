package model

import "time"

// BalancerTiming is what one load balancer's settings make a rollout wait for: a new target
// turns healthy after HealthyThreshold passed checks at Interval, and a leaving one drains for
// DrainDelay before it is terminated.
type BalancerTiming struct {
	Name             string
	Kind             BalancerKind
	Interval         int32 // health check interval, seconds
	HealthyThreshold int32 // consecutive passed checks before a new target is healthy
	// DrainDelay is the target group's deregistration delay or the classic ELB's
	// connection-draining timeout (0 when draining is off), seconds.
	DrainDelay int32
}

// Healthy is how long a target registered now takes to turn healthy.
func (b BalancerTiming) Healthy() time.Duration {
	return time.Duration(b.Interval) * time.Duration(b.HealthyThreshold) * time.Second
}

// RolloutTiming is everything that decides how long an instance refresh of one group takes.
type RolloutTiming struct {
	Replace    int   // instances to replace
	Desired    int32 // the group's desired capacity: a batch is a percentage of it
	MinHealthy int32 // the refresh's MinHealthyPercentage
	MaxHealthy int32 // the refresh's MaxHealthyPercentage
	// Launch is how long a new instance takes from launch to InService (when it is registered
	// with its load balancers).
	Launch time.Duration
	// Warmup is the instance warmup after InService (the refresh preference, else the group's
	// default instance warmup or health check grace period).
	Warmup time.Duration
	// Healthy is the slowest balancer's time to call a registered target healthy (interval x
	// healthy threshold); Drain the longest deregistration delay or draining timeout.
	Healthy time.Duration
	Drain   time.Duration
	// Shutdown is how long EC2 takes to terminate an instance once it has drained.
	Shutdown time.Duration
}

// LaunchesFirst reports whether the refresh launches a batch before it terminates the
// instances the batch replaces (MaxHealthyPercentage above 100), rather than terminating down
// to MinHealthyPercentage first.
func (t RolloutTiming) LaunchesFirst() bool { return t.MaxHealthy > 100 }

// BatchSize is how many instances one step of the refresh replaces: the capacity above 100%
// that MaxHealthyPercentage allows when it launches first, else the capacity above
// MinHealthyPercentage; rounded down, at least one (AWS then replaces one at a time, launching
// first when MaxHealthyPercentage is set). The simulator follows the same rule.
func (t RolloutTiming) BatchSize() int {
	var pct int32
	if t.LaunchesFirst() {
		pct = t.MaxHealthy - 100
	} else {
		pct = 100 - t.MinHealthy
	}
	return max(int(int64(t.Desired)*int64(pct)/100), 1)
}

// Batches is how many steps replacing every instance takes.
func (t RolloutTiming) Batches() int {
	if t.Replace <= 0 {
		return 0
	}
	b := t.BatchSize()
	return (t.Replace + b - 1) / b
}

// Ready is how long one new instance takes from launch until the refresh counts it as
// replaced: launched, in service, healthy on every balancer and warmed up. Warmup and the
// health checks both start when the instance enters service, so the longer one counts.
func (t RolloutTiming) Ready() time.Duration { return t.Launch + max(t.Warmup, t.Healthy) }

// Leave is how long an instance takes from deregistration until it is terminated.
func (t RolloutTiming) Leave() time.Duration { return t.Drain + t.Shutdown }

// Duration is how long the refresh takes. Launching first, each batch is one Ready, and the
// instances it replaces then drain while the next batch launches, so only the last batch's
// drain adds to the total. Terminating first, each batch drains and terminates its victims
// before their replacements launch.
func (t RolloutTiming) Duration() time.Duration {
	n := t.Batches()
	if n == 0 {
		return 0
	}
	if t.LaunchesFirst() {
		return time.Duration(n)*t.Ready() + t.Leave()
	}
	return time.Duration(n) * (t.Leave() + t.Ready())
}

// RefreshReplaced is how many instances a running refresh has already replaced, from what
// DescribeInstanceRefreshes reports: InstancesToUpdate left and PercentageComplete done.
// Rolling it back replaces exactly these again. ok is false when the figures do not tell
// (nothing reported yet, or 100% with nothing left).
func RefreshReplaced(percent, toUpdate int32) (n int, ok bool) {
	switch {
	case percent <= 0:
		return 0, toUpdate > 0
	case percent >= 100 || toUpdate <= 0:
		return 0, false
	}
	// percent = replaced / (replaced + toUpdate), rounded down by AWS: take the nearest count.
	return int((int64(toUpdate)*int64(percent) + int64(100-percent)/2) / int64(100-percent)), true
}
