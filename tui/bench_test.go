package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// staticReader serves one fleet.
type staticReader struct{ fleet model.Fleet }

func (r staticReader) Snapshot(context.Context) (model.Fleet, error) { return r.fleet, nil }
func (r staticReader) History(context.Context, string, string) (model.History, error) {
	return model.History{}, nil
}
func (r staticReader) Images(context.Context, string) ([]model.Image, error) { return nil, nil }
func (r staticReader) Readiness(context.Context, string, string) (model.Readiness, error) {
	return model.Readiness{}, nil
}
func (r staticReader) Identity(context.Context) (awsapi.Identity, error) {
	return awsapi.Identity{}, nil
}
func (r staticReader) Focus([]model.ServiceKey) {}
func (r staticReader) Cursor(model.ServiceKey)  {}
func (r staticReader) Signals(context.Context, []model.Service) (map[model.ServiceKey]model.Signals, error) {
	return nil, nil
}
func (r staticReader) ConsoleOutput(context.Context, string) (model.ConsoleOutput, error) {
	return model.ConsoleOutput{}, nil
}

// bigFleet builds services x perService instances, each behind one target group.
func bigFleet(services, perService int) model.Fleet {
	f := model.Fleet{Account: "123456789012", Region: "us-east-1", FetchedAt: t0}
	f.Groups = make([]model.Group, services)
	for s := range services {
		env := "staging"
		if s%2 == 1 {
			env = "production"
		}
		g := &f.Groups[s]
		*g = model.Group{Name: fmt.Sprintf("svc-%05d-%s-asg", s/2, env), Service: fmt.Sprintf("svc-%05d", s/2), Env: env,
			Min: int32(perService), Desired: int32(perService), Max: int32(2 * perService), ImageID: "ami-0123456789abcdef0",
			LaunchTemplate: &model.LaunchTemplateRef{Name: "lt", Version: "3"}, TargetGroups: []string{"tg"}}
		g.Instances = make([]model.Instance, perService)
		for i := range g.Instances {
			g.Instances[i] = model.Instance{ID: fmt.Sprintf("i-%017x", s*perService+i), AZ: model.Intern("us-east-1a"), ImageID: model.Intern("ami-0123456789abcdef0"),
				LaunchedAt: model.UnixOf(t0.Add(-time.Hour)), Lifecycle: model.InService, Healthy: true,
				Targets: []model.TargetHealth{{Balancer: model.Intern("tg"), State: model.TargetHealthy}}}
		}
	}
	f.BuildServices(false)
	return f
}

func loaded(b *testing.B, f model.Fleet, w, h int) *Model {
	m := New(Config{Reader: staticReader{fleet: f}, Now: func() time.Time { return t0 }})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(fleetMsg{fleet: f})
	m.View()
	return m
}

// renderFrame measures View after a cursor move on the service screen of a service with
// `instances` instances (the largest screen the console draws).
func renderFrame(b *testing.B, instances int) float64 {
	f := bigFleet(2, instances/2)
	m := loaded(b, f, 200, 60)
	m.openService(m.list.rows[0])
	m.View()
	down, up := press(m.keys.Nav.Down), press(m.keys.Nav.Up)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			m.Update(down)
		} else {
			m.Update(up)
		}
		m.View()
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(b.N)
}

// BenchmarkRender: a frame after a cursor move at 20,000 and at 1,000 instances, 200x60.
func BenchmarkRender(b *testing.B) {
	var small float64
	b.Run("1k", func(b *testing.B) { small = renderFrame(b, 1000); b.ReportMetric(small, "ms/frame") })
	b.Run("20k", func(b *testing.B) {
		large := renderFrame(b, 20000)
		b.ReportMetric(large, "ms/frame")
		// Reported here, not on the parent: Go prints no line for a benchmark with sub-benchmarks.
		if small > 0 {
			b.ReportMetric(large/small, "ratio-20k-1k")
		}
	})
}

// BenchmarkRenderServices: the services screen after a cursor move with 10,000 services.
func BenchmarkRenderServices(b *testing.B) {
	m := loaded(b, bigFleet(10000, 2), 200, 60)
	down, up := press(m.keys.Nav.Down), press(m.keys.Nav.Up)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			m.Update(down)
		} else {
			m.Update(up)
		}
		m.View()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/frame")
}

// BenchmarkFilter: one keystroke of the filter over 10,000 service names, from a fresh query
// (the worst case: every name is searched).
func BenchmarkFilter(b *testing.B) {
	f := bigFleet(10000, 1)
	keys := allCandidates(&f)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		runFilter(i, "s0042", keys)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/key")
}

// BenchmarkApplyFleet: the console's side of a refresh in which 1% of instances changed, on
// the services screen (10,000 services, 20,000 instances): Update with the new fleet, then
// the frame. The inventory's side is aws' BenchmarkApplyRefresh.
func BenchmarkApplyFleet(b *testing.B) {
	f := bigFleet(10000, 2)
	changed := bigFleet(10000, 2)
	for g := 0; g < len(changed.Groups); g += 50 { // 200 of 20,000 instances
		changed.Groups[g].Instances[0].Targets[0].State = model.TargetUnhealthy
	}
	m := loaded(b, f, 200, 60)
	fleets := [2]model.Fleet{changed, f}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		m.Update(fleetMsg{fleet: fleets[i%2]})
		m.View()
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}
