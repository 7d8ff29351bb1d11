package model

import "testing"

func TestServiceUndecided(t *testing.T) {
	inst := func(states ...TargetState) Instance {
		in := Instance{ID: "i", Lifecycle: InService, Healthy: true}
		for _, s := range states {
			in.Targets = append(in.Targets, TargetHealth{Balancer: Intern("tg"), State: s})
		}
		return in
	}
	for _, c := range []struct {
		name      string
		desired   int32
		instances []Instance
		undecided bool
		degraded  bool
	}{
		{"all read and healthy", 2, []Instance{inst(TargetHealthy), inst(TargetHealthy)}, false, false},
		{"one balancer unread", 2, []Instance{inst(TargetHealthy), inst(TargetUnknown)}, true, true},
		{"unread but another balancer says unhealthy", 2, []Instance{inst(TargetHealthy), inst(TargetUnknown, TargetUnhealthy)}, false, true},
		{"a failing instance elsewhere is a fact", 2, []Instance{inst(TargetUnhealthy), inst(TargetUnknown)}, false, true},
		{"too few even if the unread serve", 3, []Instance{inst(TargetHealthy), inst(TargetUnknown)}, false, true},
	} {
		s := Service{Groups: []*Group{{Desired: c.desired, Instances: c.instances}}}
		if got := s.Undecided(); got != c.undecided {
			t.Errorf("%s: Undecided = %v, want %v", c.name, got, c.undecided)
		}
		if got := s.Degraded(); got != c.degraded {
			t.Errorf("%s: Degraded = %v, want %v", c.name, got, c.degraded)
		}
	}
}
