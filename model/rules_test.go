package model

import "testing"

func TestRolloutPrefsResolved(t *testing.T) {
	tests := []struct {
		name string
		in   RolloutPrefs
		want RolloutPrefs
	}{
		{"nothing set: launch before terminate, skip matching, auto-rollback", RolloutPrefs{}, RolloutPrefs{100, 200, 0, true, true}},
		{"percentages set, booleans kept as given", RolloutPrefs{MinHealthyPercentage: 90, MaxHealthyPercentage: 110}, RolloutPrefs{90, 110, 0, false, false}},
		{"only warmup set: percentages defaulted", RolloutPrefs{InstanceWarmup: 30, SkipMatching: true}, RolloutPrefs{100, 200, 30, true, false}},
	}
	for _, tt := range tests {
		if got := tt.in.Resolved(); got != tt.want {
			t.Errorf("%s: %+v.Resolved() = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestPlanTargetAndFailureText(t *testing.T) {
	bake := Plan{Action: ActionBake, Service: "web", Env: "staging", Bake: &BakeSpec{InstanceID: "i-1"}}
	if got := bake.Target(); got != "i-1" {
		t.Errorf("bake target = %q", got)
	}
	p := Plan{Action: ActionRollback, Service: "web", Env: "production", Checks: []Check{
		{Name: "a", OK: true}, {Name: "b", Detail: "no previous release"}, {Name: "c", Warn: true, Detail: "w"}, {Name: "d", Detail: "gone"},
	}}
	if got := p.Target(); got != "web/production" {
		t.Errorf("rollback target = %q", got)
	}
	if got, want := p.FailureText(), "b: no previous release; d: gone"; got != want {
		t.Errorf("FailureText = %q, want %q", got, want)
	}
}

func TestServiceState(t *testing.T) {
	inService := func(img string) Instance {
		return Instance{ID: "i-" + img, Lifecycle: InService, Healthy: true, ImageID: Intern(img)}
	}
	rolling := &Group{Desired: 2, ImageID: "ami-a", Instances: []Instance{inService("ami-a"), inService("ami-b")},
		Refresh: &Refresh{Status: "InProgress", Percent: 40}}
	legacy := &Group{Desired: 1, LaunchConfig: "lc", Instances: []Instance{inService("ami-a")}}
	s := Service{Groups: []*Group{rolling, legacy}}
	st := s.State()
	if !st.RollingOut || st.RolloutPercent != 40 || !st.Mixed || !st.Legacy {
		t.Errorf("state = %+v, want rolling out 40%%, mixed, legacy", st)
	}
	quiet := Service{Groups: []*Group{{Desired: 1, ImageID: "ami-a", Instances: []Instance{inService("ami-a")}}}}
	if st := quiet.State(); st.RollingOut || st.RolloutPercent != -1 || st.Mixed || st.Legacy {
		t.Errorf("quiet state = %+v", st)
	}
}

func TestRefreshProgressRollingBack(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *Refresh
		want int32
		back bool
	}{
		{"rolling out", &Refresh{Status: "InProgress", Percent: 40}, 40, false},
		{"rollback begins", &Refresh{Status: "RollbackInProgress", Percent: 60, PercentOnRollback: 60}, 0, true},
		{"rollback half way", &Refresh{Status: "RollbackInProgress", Percent: 30, PercentOnRollback: 60}, 50, true},
		{"rollback nearly done", &Refresh{Status: "RollbackInProgress", Percent: 0, PercentOnRollback: 60}, 100, true},
		{"rolled back before anything was updated", &Refresh{Status: "RollbackInProgress", Percent: 0}, 0, true},
		{"none", nil, 0, false},
	} {
		if got := c.r.Progress(); got != c.want || c.r.RollingBack() != c.back {
			t.Errorf("%s: progress %d rolling back %v, want %d %v", c.name, got, c.r.RollingBack(), c.want, c.back)
		}
	}
	out := &Group{Refresh: &Refresh{Status: "InProgress", Percent: 10}}
	back := &Group{Refresh: &Refresh{Status: "RollbackInProgress", Percent: 20, PercentOnRollback: 80}}
	s := Service{Groups: []*Group{out, back}}
	if st := s.State(); !st.RollingOut || !st.RollingBack || st.RolloutPercent != 75 {
		t.Errorf("state = %+v, want rolling back 75%%", st)
	}
}
