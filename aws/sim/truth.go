package sim

import (
	"fmt"
	"slices"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// GroupTruth is what the simulated account holds for one group, computed from its state (not
// through the API), so that tests can hold the inventory's answer to it fact by fact.
type GroupTruth struct {
	Name, Service, Env string
	ImageID            string // the AMI of the launch template version the group names
	Instances          []InstanceTruth
}

// InstanceTruth is one instance as the account holds it.
type InstanceTruth struct {
	ID, Lifecycle, ImageID string
	Healthy                bool
	LaunchedAt             time.Time
	// Targets is the instance's state at each balancer (target group or classic ELB name) as
	// AWS would report it: a classic ELB reports an instance in its first health checks as
	// OutOfService (unhealthy); an in-service instance no balancer lists is unused there.
	Targets map[string]model.TargetState
}

// Truth lists every group with its instances, in the account's order.
func (c *Cloud) Truth() []GroupTruth {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	var out []GroupTruth
	for _, g := range c.st.Groups {
		gt := GroupTruth{Name: g.Name}
		gt.Service, _ = tagValue(g.Tags, "Service")
		gt.Env, _ = tagValue(g.Tags, "Environment")
		gt.ImageID, _ = c.imageOf(c.groupConfig(g))
		for _, id := range g.Instances {
			in := c.st.Instances[id]
			if in == nil || in.Lifecycle == lcTerminated {
				continue
			}
			it := InstanceTruth{ID: in.ID, Lifecycle: in.Lifecycle, ImageID: in.ImageID, Healthy: true, LaunchedAt: in.LaunchedAt, Targets: map[string]model.TargetState{}}
			for _, arn := range g.TargetGroupARNs {
				tg := c.tgs[arn]
				if tg == nil {
					continue
				}
				c.truthAt(&it, tg.Name, findReg(tg.Targets, in.ID), func(r *Registration) health {
					return c.targetHealth(r, tg.Interval, tg.HealthyThreshold, tg.UnhealthyThreshold, time.Duration(tg.DeregistrationDelay)*time.Second)
				}, false)
			}
			for _, name := range g.ClassicELBs {
				lb := c.elbs[name]
				if lb == nil {
					continue
				}
				c.truthAt(&it, lb.Name, findReg(lb.Instances, in.ID), func(r *Registration) health {
					return c.targetHealth(r, lb.Interval, lb.HealthyThreshold, lb.UnhealthyThreshold, lb.drainDelay())
				}, true)
			}
			gt.Instances = append(gt.Instances, it)
		}
		out = append(out, gt)
	}
	return out
}

func (c *Cloud) truthAt(it *InstanceTruth, balancer string, r *Registration, health func(*Registration) health, classic bool) {
	state := "gone"
	if r != nil {
		state = health(r).state
	}
	switch state {
	case "gone":
		if it.Lifecycle == lcInService {
			it.Targets[balancer] = model.TargetUnused
		}
	case "healthy":
		it.Targets[balancer] = model.TargetHealthy
	case "draining":
		it.Targets[balancer] = model.TargetDraining
	case "unhealthy":
		it.Targets[balancer] = model.TargetUnhealthy
	case "initial":
		it.Targets[balancer] = model.TargetInitial
		if classic {
			it.Targets[balancer] = model.TargetUnhealthy
		}
	}
}

// FailHealth makes an instance fail (or, called again, pass) its load balancers' health
// checks from now on: a fault for tests.
func (c *Cloud) FailHealth(instanceID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	in := c.st.Instances[instanceID]
	if in == nil {
		return fmt.Errorf("fail health of %s: no such instance", instanceID)
	}
	in.Flipped = !in.Flipped
	return nil
}

// DeregisterTarget takes an instance out of one balancer (a target group or classic ELB, by
// name) behind the group's back, as an operator in the console would: it drains for the
// balancer's delay and is then gone, while the group keeps it in service.
func (c *Cloud) DeregisterTarget(balancer, instanceID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	var regs []*Registration
	if tg := c.tgNames[balancer]; tg != nil {
		regs = tg.Targets
	} else if lb := c.elbs[balancer]; lb != nil {
		regs = lb.Instances
	}
	r := findReg(regs, instanceID)
	if r == nil || !r.DeregisteredAt.IsZero() {
		return fmt.Errorf("deregister %s from %s: not registered", instanceID, balancer)
	}
	r.DeregisteredAt = c.st.Now
	return nil
}

// DeleteTargetGroup deletes a target group while groups still name it, as someone might in
// the console: DescribeTargetHealth then answers TargetGroupNotFound (a fault for tests).
func (c *Cloud) DeleteTargetGroup(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tg := c.tgNames[name]
	if tg == nil {
		return fmt.Errorf("delete target group %s: not found", name)
	}
	c.st.TargetGroups = slices.DeleteFunc(c.st.TargetGroups, func(t *TargetGroup) bool { return t == tg })
	delete(c.tgs, tg.ARN)
	delete(c.tgNames, name)
	return nil
}
