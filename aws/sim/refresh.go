package sim

import (
	"fmt"
	"slices"
	"time"
)

// Instance refresh statuses (Auto Scaling's names).
const (
	rsPending            = "Pending"
	rsInProgress         = "InProgress"
	rsSuccessful         = "Successful"
	rsFailed             = "Failed"
	rsCancelling         = "Cancelling"
	rsCancelled          = "Cancelled"
	rsRollbackInProgress = "RollbackInProgress"
	rsRollbackFailed     = "RollbackFailed"
	rsRollbackSuccessful = "RollbackSuccessful"
)

func (r *Refresh) active() bool {
	switch r.Status {
	case rsPending, rsInProgress, rsRollbackInProgress, rsCancelling:
		return true
	}
	return false
}

// cancellable reports whether CancelInstanceRefresh accepts the refresh: AWS cancels "an
// instance refresh or rollback that is in progress". A refresh already cancelling is no longer
// in progress; AWS does not document that case, so the sim answers ActiveInstanceRefreshNotFound.
func (r *Refresh) cancellable() bool {
	switch r.Status {
	case rsPending, rsInProgress, rsRollbackInProgress:
		return true
	}
	return false
}

func activeRefresh(g *Group) *Refresh {
	if n := len(g.Refreshes); n > 0 && g.Refreshes[n-1].active() {
		return g.Refreshes[n-1]
	}
	return nil
}

// batchSize is how many instances one step of the refresh replaces. With MaxHealthyPercentage
// above 100 it launches that much extra capacity first (launch before terminate); otherwise it
// terminates down to MinHealthyPercentage first.
func (r *Refresh) batchSize(desired int32) int {
	var n int32
	if r.MaxHealthy > 100 {
		n = desired * (r.MaxHealthy - 100) / 100
	} else {
		n = desired * (100 - r.MinHealthy) / 100
	}
	return int(max(n, 1))
}

// batchTimeout is how long a batch may take to become healthy before the refresh fails. AWS
// does not document a fixed figure (it gives up after repeated failed replacements); the sim
// allows three warmups, at least 90 s.
func (r *Refresh) batchTimeout() time.Duration {
	return max(3*time.Duration(r.Warmup)*time.Second, 90*time.Second)
}

// startRefresh begins an instance refresh on g.
//
// Instances in Standby and instances protected from scale in follow the StandbyInstances and
// ScaleInProtectedInstances preferences (RefreshPreferences, Auto Scaling API reference):
// Ignore leaves them as they are; Terminate (standby) terminates them, Refresh (protected)
// replaces them like the others; Wait, the default, waits one hour for them to return to
// service or lose their protection, "otherwise, the instance refresh will fail".
func (c *Cloud) startRefresh(g *Group, desired *TemplateSpec, target Config, minH, maxH int32, skip, autoRollback bool, warmup int32, standby, protected string) *Refresh {
	r := &Refresh{
		ID: c.uuid(), Group: g.Name, Status: rsPending, StartTime: c.st.Now, Desired: desired,
		Target: target, Previous: c.groupConfig(g), MinHealthy: minH, MaxHealthy: maxH,
		SkipMatching: skip, AutoRollback: autoRollback, Warmup: warmup,
		StandbyPref: standby, ProtectedPref: protected,
	}
	if g.LaunchTemplate != nil {
		spec := *g.LaunchTemplate
		r.PreviousSpec = &spec
	}
	for _, in := range c.live(g) {
		if skip && in.Config == target || in.ProtectedScaleIn && protected == "Ignore" {
			continue
		}
		r.ToReplace = append(r.ToReplace, in.ID)
	}
	if standby == "Terminate" {
		for _, id := range g.Instances {
			if in := c.st.Instances[id]; in != nil && (in.Lifecycle == lcStandby || in.Lifecycle == lcEnteringStandby) && !(skip && in.Config == target) {
				c.terminate(g, in, fmt.Sprintf("At %s an instance in Standby was terminated in response to an instance refresh.", stamp(c.st.Now)))
			}
		}
	}
	r.Total = int32(len(r.ToReplace))
	g.Refreshes = append(g.Refreshes, r)
	g.Busy = true
	return r
}

// outdated are the instances still to replace, oldest first, the ones that are not serving
// before the others.
func (c *Cloud) outdated(g *Group, r *Refresh) []*Instance {
	var out []*Instance
	for _, id := range r.ToReplace {
		in := c.st.Instances[id]
		if in == nil || in.Group != g.Name || (in.Lifecycle != lcPending && in.Lifecycle != lcInService) {
			continue
		}
		if slices.Contains(r.Victims, id) {
			continue
		}
		out = append(out, in)
	}
	slices.SortStableFunc(out, func(a, b *Instance) int {
		as, bs := c.serving(g, a), c.serving(g, b)
		if as != bs {
			if !as {
				return -1
			}
			return 1
		}
		return a.LaunchedAt.Compare(b.LaunchedAt)
	})
	return out
}

func (c *Cloud) serving(g *Group, in *Instance) bool {
	return in.Lifecycle == lcInService && c.lbHealthy(g, in)
}

// ready reports whether a new instance counts as replaced: in service, healthy on every
// balancer and past its warmup.
func (c *Cloud) ready(g *Group, in *Instance, warmup int32) bool {
	return c.serving(g, in) && !c.st.Now.Before(in.InServiceAt.Add(time.Duration(warmup)*time.Second))
}

// stepRefresh advances an active refresh by one step.
func (c *Cloud) stepRefresh(g *Group, r *Refresh) {
	now := c.st.Now
	if r.Status == rsCancelling {
		c.stepCancel(g, r)
		return
	}
	if r.Status == rsPending {
		r.Status = rsInProgress
	}
	for _, p := range []string{"Launch", "Terminate"} {
		if slices.Contains(g.Suspended, p) {
			r.wait(fmt.Sprintf("Waiting for the %s process to be resumed.", p))
			return
		}
	}
	if why := c.refreshBlocked(g, r); why != "" && !r.Rolling {
		r.wait(why)
		if now.Sub(r.StartTime) >= time.Hour {
			c.failRefresh(g, r, why+" The instances did not return within one hour.")
		}
		return
	}
	// Instances terminated behind the refresh's back leave its batch.
	r.Batch = slices.DeleteFunc(r.Batch, func(id string) bool {
		in := c.st.Instances[id]
		return in == nil || in.Lifecycle == lcTerminating || in.Lifecycle == lcTerminated
	})
	cause := fmt.Sprintf("At %s an instance was launched in response to an instance refresh.", stamp(now))
	termCause := fmt.Sprintf("At %s an instance was taken out of service in response to an instance refresh.", stamp(now))
	if r.Rolling {
		cause = fmt.Sprintf("At %s an instance was launched in response to an instance refresh rollback.", stamp(now))
		termCause = fmt.Sprintf("At %s an instance was taken out of service in response to an instance refresh rollback.", stamp(now))
	}

	// Terminate-first: wait for the victims to go, then launch their replacements.
	if len(r.Victims) > 0 {
		left := r.Victims[:0]
		for _, id := range r.Victims {
			if in := c.st.Instances[id]; in != nil && in.Lifecycle == lcTerminating {
				left = append(left, id)
			}
		}
		n := len(r.Victims) - len(left)
		r.Victims = left
		for range n {
			in := c.launch(g, r.Target, r.ID, cause)
			if in == nil {
				c.launchFailed(g, r)
				return
			}
			r.Batch = append(r.Batch, in.ID)
			r.BatchStart = now
		}
		if len(r.Victims) > 0 {
			r.wait(fmt.Sprintf("Waiting for instances to terminate before continuing. For example: %s is terminating.", r.Victims[0]))
			return
		}
	}

	if len(r.Batch) > 0 {
		all := true
		for _, id := range r.Batch {
			if !c.ready(g, c.st.Instances[id], r.Warmup) {
				all = false
				break
			}
		}
		if !all {
			r.wait(fmt.Sprintf("Waiting for instances to warm up before continuing. For example: %s is warming up.", r.Batch[0]))
			if now.Sub(r.BatchStart) > r.batchTimeout() {
				c.refreshFailed(g, r)
			}
			return
		}
		n := len(r.Batch)
		r.Batch = nil
		if r.MaxHealthy > 100 {
			// Launch before terminate: the new batch is serving, retire as many old instances.
			old := c.outdated(g, r)
			for _, in := range old[:min(n, len(old))] {
				c.terminate(g, in, termCause)
			}
		}
		r.Replaced = min(r.Replaced+int32(n), r.Total)
		r.wait("")
	}

	old := c.outdated(g, r)
	if len(old) == 0 {
		for _, id := range g.Instances {
			if in := c.st.Instances[id]; in != nil && in.Lifecycle == lcTerminating {
				// The last old instances are still draining.
				r.wait(fmt.Sprintf("Waiting for instances to terminate before continuing. For example: %s is terminating.", id))
				return
			}
		}
		c.refreshDone(g, r)
		return
	}
	n := min(r.batchSize(g.Desired), len(old))
	if r.MaxHealthy > 100 {
		for range n {
			in := c.launch(g, r.Target, r.ID, cause)
			if in == nil {
				c.launchFailed(g, r)
				return
			}
			r.Batch = append(r.Batch, in.ID)
		}
		r.BatchStart = now
		return
	}
	for _, in := range old[:n] {
		c.terminate(g, in, termCause)
		r.Victims = append(r.Victims, in.ID)
	}
}

// wait sets the status reason to what the refresh waits for; a rollback keeps its reason.
func (r *Refresh) wait(reason string) {
	if r.Rolling {
		r.StatusReason = r.RollbackReason
		return
	}
	r.StatusReason = reason
}

// Percent and InstancesToUpdate as DescribeInstanceRefreshes reports them. A rollback is
// not counted: "PercentageComplete does not include instances that are replaced during a
// rollback. This value gradually goes back down to zero during a rollback." (the SDK's
// InstanceRefresh type).
func (r *Refresh) percent() int32 {
	switch {
	case r.Status == rsSuccessful:
		return 100
	case r.Rolling:
		if r.Total == 0 || r.Status == rsRollbackSuccessful {
			return 0
		}
		return r.PctOnRollback * (r.Total - r.Replaced) / r.Total
	case r.Total == 0:
		return 0
	}
	return r.Replaced * 100 / r.Total
}

func (r *Refresh) toUpdate() int32 {
	if r.Status == rsSuccessful || r.Status == rsRollbackSuccessful {
		return 0
	}
	return r.Total - r.Replaced
}

func (c *Cloud) refreshDone(g *Group, r *Refresh) {
	r.EndTime = c.st.Now
	r.Replaced = r.Total
	if r.Rolling {
		r.Status = rsRollbackSuccessful
		r.StatusReason = "Instance refresh rollback completed successfully."
		return
	}
	r.Status = rsSuccessful
	r.StatusReason = ""
	// With a DesiredConfiguration, Auto Scaling updates the group's launch template when the
	// refresh succeeds.
	if r.Desired != nil {
		spec := *r.Desired
		g.LaunchTemplate = &spec
		g.LaunchConfig = ""
	}
}

// refreshFailed handles a batch that did not become healthy: auto rollback when asked for,
// otherwise the refresh fails and leaves the instances as they are.
// launchFailed fails a refresh whose new instance EC2 refused to launch, with the failed
// activity's reason (rolled back when it may; a rollback that cannot launch the previous
// configuration fails). AWS retries such launches for a while before the refresh fails; the
// simulator fails it at the first refusal (the cause cannot go away by itself).
func (c *Cloud) launchFailed(g *Group, r *Refresh) {
	reason := "An instance could not be launched."
	if n := len(g.Activities); n > 0 && g.Activities[n-1].StatusCode == "Failed" {
		reason = g.Activities[n-1].StatusMessage
	}
	c.failRefresh(g, r, reason)
}

func (c *Cloud) refreshFailed(g *Group, r *Refresh) {
	c.failRefresh(g, r, fmt.Sprintf("%d new instances failed to become healthy within %s.", len(r.Batch), r.batchTimeout()))
}

// refreshBlocked says what a refresh with the Wait preference waits for: instances in
// Standby, or instances to replace that are protected from scale in ("" when nothing).
func (c *Cloud) refreshBlocked(g *Group, r *Refresh) string {
	for _, id := range g.Instances {
		in := c.st.Instances[id]
		if in == nil || r.SkipMatching && in.Config == r.Target {
			continue
		}
		if (in.Lifecycle == lcStandby || in.Lifecycle == lcEnteringStandby) && (r.StandbyPref == "" || r.StandbyPref == "Wait") {
			return fmt.Sprintf("Waiting for instances in Standby to return to service. For example: %s is in Standby.", id)
		}
		if in.ProtectedScaleIn && slices.Contains(r.ToReplace, id) && (in.Lifecycle == lcInService || in.Lifecycle == lcPending) && (r.ProtectedPref == "" || r.ProtectedPref == "Wait") {
			return fmt.Sprintf("Waiting for scale-in protection to be removed. For example: %s is protected from scale in.", id)
		}
	}
	return ""
}

// failRefresh ends a refresh that failed for reason, rolling it back when it may.
func (c *Cloud) failRefresh(g *Group, r *Refresh, reason string) {
	switch {
	case r.Rolling:
		r.Status = rsRollbackFailed
		r.StatusReason = "Instance refresh rollback failed: " + reason
		r.EndTime = c.st.Now
	case r.AutoRollback && r.Desired != nil:
		c.rollback(g, r, "Instance refresh failed: "+reason+" Rolling back to the previous configuration.")
	default:
		r.Status = rsFailed
		r.StatusReason = "Instance refresh failed: " + reason
		r.EndTime = c.st.Now
		r.Batch = nil
	}
}

// rollback turns an active refresh around: instances not on the previous configuration are
// replaced by ones that are, launch before terminate as the preferences say. New instances
// that never entered service are terminated at once: they carry no traffic.
func (c *Cloud) rollback(g *Group, r *Refresh, reason string) {
	now := c.st.Now
	r.PctOnRollback = r.percent()
	r.ToUpdateOnRollback = r.toUpdate()
	r.Status = rsRollbackInProgress
	r.StatusReason = reason
	r.RollbackReason = reason
	r.RollbackStart = now
	r.Rolling = true
	r.Target = r.Previous
	cause := fmt.Sprintf("At %s an instance was taken out of service in response to an instance refresh rollback.", stamp(now))
	for _, id := range r.Batch {
		if in := c.st.Instances[id]; in != nil && (in.Lifecycle == lcPending || in.Lifecycle == lcInService) {
			c.terminate(g, in, cause)
		}
	}
	r.Batch = nil
	// Victims of a terminate-first step keep draining; their replacements launch with the
	// previous configuration.
	r.ToReplace = nil
	for _, in := range c.live(g) {
		if in.Config != r.Previous {
			r.ToReplace = append(r.ToReplace, in.ID)
		}
	}
	r.Total = int32(len(r.ToReplace))
	r.Replaced = 0
	g.Busy = true
}

// cancel stops an active refresh (or its rollback) as CancelInstanceRefresh does. The SDK's
// documentation of the operation (service/autoscaling, api_op_CancelInstanceRefresh.go):
// "Cancels an instance refresh or rollback that is in progress. If an instance refresh or
// rollback is not in progress, an ActiveInstanceRefreshNotFound error occurs. [...] When you
// cancel an instance refresh, this does not roll back any changes that it made." and of
// WaitForTransitioningInstances: "whether to wait for in-flight launches and terminations to
// complete. The default is true."
//
// So: the refresh goes Cancelling, launches and terminates nothing more, and becomes Cancelled
// once the group's instances that are launching or terminating have finished (at once when wait
// is false). Instances it already replaced keep the new configuration and the rest keep the
// old one; the group's launch template is not changed (only a successful refresh changes it).
// The group's own capacity management takes over again after that.
func (c *Cloud) cancel(g *Group, r *Refresh, wait bool) {
	r.Status = rsCancelling
	r.StatusReason = "Cancelling the instance refresh: waiting for in-flight launches and terminations to complete."
	r.CancelWait = wait
	if !wait {
		r.StatusReason = "Cancelling the instance refresh."
	}
	// The refresh no longer waits on its batch or victims: what is launching or terminating
	// finishes on its own.
	r.Batch, r.Victims = nil, nil
	g.Busy = true
}

// stepCancel ends a cancelling refresh once nothing it started is still in flight. AWS does
// not document the status reason of a cancelled refresh; the sim's wording is its own.
func (c *Cloud) stepCancel(g *Group, r *Refresh) {
	if r.CancelWait {
		for _, id := range g.Instances {
			if in := c.st.Instances[id]; in != nil && (in.Lifecycle == lcPending || in.Lifecycle == lcTerminating) {
				return
			}
		}
	}
	r.Status = rsCancelled
	r.StatusReason = "The instance refresh was cancelled by the user."
	if r.Rolling {
		r.StatusReason = "The instance refresh rollback was cancelled by the user."
	}
	r.EndTime = c.st.Now
}
