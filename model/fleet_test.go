package model

import (
	"testing"
	"time"
)

func TestCountsDuringARollout(t *testing.T) {
	in := func(life Lifecycle, healthy bool, state TargetState) Instance {
		return Instance{ID: "i", Lifecycle: life, Healthy: healthy, Targets: []TargetHealth{{Balancer: Intern("tg"), State: state}}}
	}
	cases := []struct {
		name      string
		instances []Instance
		want      Counts
		degraded  bool
	}{
		{"steady", []Instance{in(InService, true, TargetHealthy), in(InService, true, TargetHealthy)},
			Counts{Groups: 1, Desired: 2, InService: 2, Healthy: 2, Instances: 2}, false},
		{"new instance in its first checks", []Instance{in(InService, true, TargetHealthy), in(InService, true, TargetHealthy), in(InService, true, TargetInitial)},
			Counts{Groups: 1, Desired: 2, InService: 3, Healthy: 2, Instances: 3}, false},
		{"old instance draining", []Instance{in(InService, true, TargetHealthy), in(InService, true, TargetHealthy), in(Terminating, true, TargetDraining)},
			Counts{Groups: 1, Desired: 2, InService: 2, Healthy: 2, Draining: 1, Instances: 3}, false},
		{"failing health checks", []Instance{in(InService, true, TargetHealthy), in(InService, true, TargetUnhealthy)},
			Counts{Groups: 1, Desired: 2, InService: 2, Healthy: 1, Unhealthy: 1, Instances: 2}, true},
		{"group says unhealthy", []Instance{in(InService, true, TargetHealthy), in(InService, false, TargetHealthy), in(InService, true, TargetHealthy)},
			Counts{Groups: 1, Desired: 2, InService: 3, Healthy: 2, Unhealthy: 1, Instances: 3}, true},
		{"short of desired", []Instance{in(InService, true, TargetHealthy), in(Pending, true, TargetUnknown)},
			Counts{Groups: 1, Desired: 2, InService: 1, Healthy: 1, Instances: 2}, true},
	}
	for _, c := range cases {
		g := &Group{Name: "g", Desired: 2, Instances: c.instances}
		s := Service{Groups: []*Group{g}}
		if got := s.Counts(); got != c.want {
			t.Errorf("%s: counts %+v, want %+v", c.name, got, c.want)
		}
		if s.Degraded() != c.degraded {
			t.Errorf("%s: degraded = %v, want %v", c.name, s.Degraded(), c.degraded)
		}
	}
}

func TestDrainRemaining(t *testing.T) {
	now := time.Unix(1_800_000_100, 0)
	th := TargetHealth{State: TargetDraining, Note: &TargetNote{DrainSince: 1_800_000_000, DrainDelay: 300, DrainObserved: true}}
	if left, exact := th.DrainRemaining(now); left != 200*time.Second || !exact {
		t.Errorf("observed drain: %v %v", left, exact)
	}
	th.Note = &TargetNote{DrainSince: 1_800_000_000, DrainDelay: 300}
	if _, exact := th.DrainRemaining(now); exact {
		t.Error("unobserved drain start reported as exact")
	}
	th.Note = &TargetNote{DrainSince: 1_800_000_000, DrainDelay: 60}
	if left, _ := th.DrainRemaining(now); left != 0 {
		t.Errorf("past the delay: %v left", left)
	}
	if left, _ := (TargetHealth{State: TargetHealthy}).DrainRemaining(now); left != 0 {
		t.Error("a healthy target has a drain countdown")
	}
}
