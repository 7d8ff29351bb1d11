package main

import (
	"testing"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// rolloutService is a service mid-way through a launch-before-terminate rollout: its desired
// capacity is healthy on the old release while one new instance registers with the balancer.
func rolloutService(newTarget model.TargetState) model.Service {
	old := func(id string) model.Instance {
		return model.Instance{ID: id, ImageID: model.Intern("ami-old"), Lifecycle: model.InService, Healthy: true,
			Targets: []model.TargetHealth{{Balancer: "tg", State: model.TargetHealthy}}}
	}
	g := &model.Group{Name: "svc-production", Service: "svc", Env: "production", Min: 2, Desired: 2, Max: 4,
		Refresh: &model.Refresh{ID: "r-1", Status: "InProgress"},
		Instances: []model.Instance{old("i-1"), old("i-2"), {ID: "i-3", ImageID: model.Intern("ami-new"), Lifecycle: model.InService, Healthy: true,
			Targets: []model.TargetHealth{{Balancer: "tg", State: newTarget}}}}}
	return model.Service{ServiceKey: model.ServiceKey{Name: "svc", Env: "production"}, Groups: []*model.Group{g}}
}

// TestStatusDegradedDuringRollout: status exits 1 for a degraded service, so a healthy rollout
// must not read as degraded while its new instances pass the balancer's initial health checks
// (every promote would fail a CI job's status check); a new instance that fails them does.
func TestStatusDegradedDuringRollout(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		state model.TargetState
		want  bool
	}{
		{model.TargetHealthy, false},
		{model.TargetInitial, false},
		{model.TargetUnhealthy, true},
	} {
		s := rolloutService(c.state)
		f := model.Fleet{Services: []model.Service{s}}
		out := statusJSON(&f, f.Services, now)
		if out.Degraded != c.want || out.Services[0].Degraded != c.want {
			t.Errorf("new instance %s on the balancer, desired capacity healthy: degraded = %v, want %v (counts %+v)",
				c.state, out.Degraded, c.want, out.Services[0].Counts)
		}
		if !out.Services[0].RollingOut {
			t.Errorf("new instance %s: the rollout is not shown", c.state)
		}
	}
}
