package model

// Undecided reports whether the service's health cannot be told because some balancer's
// health was not read (TargetUnknown): it is degraded only if the instances whose health is
// unknown were all failing, and healthy if they were all serving. A service that is degraded
// on what was read (a failing instance, or too few even counting the unknown ones as
// serving) is not undecided: that is a fact. status reports an undecided service as
// "unknown", never as degraded.
func (s *Service) Undecided() bool {
	c := s.Counts()
	if c.Unhealthy > 0 {
		return false
	}
	maybe := 0
	for _, g := range s.Groups {
		for i := range g.Instances {
			if g.Instances[i].couldServe() {
				maybe++
			}
		}
	}
	return maybe > 0 && c.Healthy < c.Desired && c.Healthy+maybe >= c.Desired
}

// couldServe reports whether the instance is in service and healthy everywhere it was read,
// with at least one balancer unread.
func (i *Instance) couldServe() bool {
	if i.Lifecycle != InService || !i.Healthy {
		return false
	}
	unknown := false
	for _, t := range i.Targets {
		switch t.State {
		case TargetUnknown:
			unknown = true
		case TargetHealthy:
		default:
			return false
		}
	}
	return unknown
}
