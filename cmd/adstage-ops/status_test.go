package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// rolloutService is a service mid-way through a launch-before-terminate rollout: its desired
// capacity is healthy on the old release while one new instance registers with the balancer.
func rolloutService(newTarget model.TargetState) model.Service {
	old := func(id string) model.Instance {
		return model.Instance{ID: id, ImageID: model.Intern("ami-old"), Lifecycle: model.InService, Healthy: true,
			Targets: []model.TargetHealth{{Balancer: model.Intern("tg"), State: model.TargetHealthy}}}
	}
	g := &model.Group{Name: "svc-production", Service: "svc", Env: "production", Min: 2, Desired: 2, Max: 4,
		Refresh: &model.Refresh{ID: "r-1", Status: "InProgress"},
		Instances: []model.Instance{old("i-1"), old("i-2"), {ID: "i-3", ImageID: model.Intern("ami-new"), Lifecycle: model.InService, Healthy: true,
			Targets: []model.TargetHealth{{Balancer: model.Intern("tg"), State: newTarget}}}}}
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

// account, region and identity are the one value read, or left out when there are several
// (never a joined value a script would take for one account); the lists always hold them.
func TestStatusJSONOriginFields(t *testing.T) {
	one := model.Origin{Account: "111111111111", Region: "eu-west-1", Identity: "arn:aws:iam::111111111111:user/a"}
	two := one.Merge(model.Origin{Account: "222222222222", Region: "eu-west-1", Identity: "arn:aws:iam::222222222222:user/b"})
	for _, tc := range []struct {
		name                      string
		o                         model.Origin
		account, region, identity string
		accounts, regions, ids    int
	}{
		{"one identity", one, "111111111111", "eu-west-1", "arn:aws:iam::111111111111:user/a", 1, 1, 1},
		{"two accounts, one region", two, "", "eu-west-1", "", 2, 1, 2},
	} {
		f := model.Fleet{Account: tc.o.Account, Region: tc.o.Region, Identity: tc.o.Identity}
		out := statusJSON(&f, nil, time.Now())
		if out.Account != tc.account || out.Region != tc.region || out.Identity != tc.identity {
			t.Errorf("%s: account %q region %q identity %q", tc.name, out.Account, out.Region, out.Identity)
		}
		if len(out.Accounts) != tc.accounts || len(out.Regions) != tc.regions || len(out.Identities) != tc.ids {
			t.Errorf("%s: accounts %q regions %q identities %q", tc.name, out.Accounts, out.Regions, out.Identities)
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "+") {
			t.Errorf("%s: a joined value in %s", tc.name, b)
		}
		if tc.account == "" && strings.Contains(string(b), `"account":`) {
			t.Errorf("%s: account is not left out: %s", tc.name, b)
		}
	}
}
