package model_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/adstage/adstage-ops/model"
)

// Model-only memory benchmark (issue 5: at most 200 bytes of model state per instance).
// aws/bench_test.go measures the same through the inventory on the simulator; this one
// builds the model.Fleet directly, the way the inventory lays it out, so that the figure is
// the model's alone and every instance ID is its own allocation, as it is when the SDK
// decodes a real response.

const (
	memGroups   = 2000
	memPerGroup = 10
)

// buildFleet lays out groups x perGroup instances as the inventory does: shared (interned)
// strings for AZs, AMIs, versions, balancer names and services; a fresh ID string per
// instance; one TargetHealth per instance (two in every hundredth group, which also sits
// behind a classic ELB). With oneArray the instances and the target rows of the whole fleet
// are carved out of one backing array each (the inventory's layout since 2dbc244); without,
// one pair of arrays per group (size-class rounding per group).
func buildFleet(groups, perGroup int, oneArray bool) model.Fleet {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	azs := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	const ami, version = "ami-0123456789abcdef0", "2"
	f := model.Fleet{Account: "123456789012", Region: "us-east-1", FetchedAt: at}
	f.Groups = make([]model.Group, groups)
	var allInstances []model.Instance
	var allTargets []model.TargetHealth
	if oneArray {
		allInstances = make([]model.Instance, groups*perGroup)
		allTargets = make([]model.TargetHealth, 0, groups*perGroup+(groups+99)/100*perGroup)
	}
	for gi := range f.Groups {
		svc := fmt.Sprintf("svc-%04d", gi/4)
		env := "production"
		if gi%4 >= 2 {
			env = "staging"
		}
		g := &f.Groups[gi]
		*g = model.Group{Name: fmt.Sprintf("%s-%s-%d", svc, env, gi%2), Service: svc, Env: env, Min: 1,
			Desired: int32(perGroup), Max: int32(2 * perGroup), ImageID: ami, HealthCheckType: "EC2",
			LaunchTemplate: &model.LaunchTemplateRef{ID: "lt-0123456789abcdef0", Name: svc, Version: version},
			TargetGroups:   []string{fmt.Sprintf("tg-%05d", gi)}}
		if gi%100 == 0 {
			g.ClassicELBs = []string{fmt.Sprintf("clb-%03d", gi/100)}
		}
		balancers := len(g.TargetGroups) + len(g.ClassicELBs)
		var targets []model.TargetHealth
		if oneArray {
			targets = allTargets
			g.Instances = allInstances[:perGroup:perGroup]
			allInstances = allInstances[perGroup:]
		} else {
			targets = make([]model.TargetHealth, 0, perGroup*balancers)
			g.Instances = make([]model.Instance, perGroup)
		}
		for ii := range g.Instances {
			start := len(targets)
			for _, tg := range g.TargetGroups {
				targets = append(targets, model.TargetHealth{Balancer: model.Intern(tg), Kind: model.TargetGroup, State: model.TargetHealthy, CheckedAt: model.UnixOf(at)})
			}
			for _, lb := range g.ClassicELBs {
				targets = append(targets, model.TargetHealth{Balancer: model.Intern(lb), Kind: model.ClassicELB, State: model.TargetHealthy, CheckedAt: model.UnixOf(at)})
			}
			g.Instances[ii] = model.Instance{ID: fmt.Sprintf("i-%017x", gi*perGroup+ii), AZ: model.Intern(azs[ii%len(azs)]),
				ImageID: model.Intern(ami), LTVersion: model.Intern(version), LaunchedAt: model.UnixOf(at.Add(-6 * time.Hour)),
				Targets: targets[start:len(targets):len(targets)], Lifecycle: model.InService, Healthy: true}
		}
		if oneArray {
			allTargets = targets[len(targets):]
		}
	}
	f.BuildServices(false)
	return f
}

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkModelMemory reports the heap one model.Fleet of 2,000 groups and 20,000 instances
// holds, per instance (B/instance, goal at most 200), with the sizes of the two per-instance
// structs (Instance-B, TargetHealth-B) that make up most of it; for both layouts of
// buildFleet.
func BenchmarkModelMemory(b *testing.B) {
	for _, layout := range []struct {
		name     string
		oneArray bool
	}{{"arrays=per-group", false}, {"arrays=fleet", true}} {
		b.Run(layout.name, func(b *testing.B) { modelMemory(b, layout.oneArray) })
	}
}

func modelMemory(b *testing.B, oneArray bool) {
	var perInstance float64
	for b.Loop() {
		before := heapAfterGC()
		f := buildFleet(memGroups, memPerGroup, oneArray)
		after := heapAfterGC()
		n := 0
		for i := range f.Groups {
			n += len(f.Groups[i].Instances)
		}
		runtime.KeepAlive(f)
		perInstance = float64(int64(after)-int64(before)) / float64(n)
	}
	b.ReportMetric(perInstance, "B/instance")
	b.ReportMetric(float64(unsafe.Sizeof(model.Instance{})), "Instance-B")
	b.ReportMetric(float64(unsafe.Sizeof(model.TargetHealth{})), "TargetHealth-B")
}

// TestBuildFleetShape checks the benchmark's fleet is the one it claims to measure.
func TestBuildFleetShape(t *testing.T) {
	for _, oneArray := range []bool{false, true} {
		checkFleetShape(t, buildFleet(8, 3, oneArray))
	}
}

func checkFleetShape(t *testing.T, f model.Fleet) {
	t.Helper()
	if len(f.Services) != 4 { // svc-0000 and svc-0001, each in production and staging
		t.Fatalf("%d services, want 4", len(f.Services))
	}
	n, targets := 0, 0
	seen := map[string]bool{}
	for i := range f.Groups {
		for _, in := range f.Groups[i].Instances {
			n++
			targets += len(in.Targets)
			if seen[in.ID] {
				t.Errorf("%s listed twice", in.ID)
			}
			seen[in.ID] = true
			if len(in.Targets) == 0 || in.Targets[0].Kind != model.TargetGroup {
				t.Errorf("%s targets %+v, want its target group first", in.ID, in.Targets)
			}
			if !in.Serving() {
				t.Errorf("%s not serving", in.ID)
			}
		}
	}
	// 24 instances; group 0 (3 instances) also sits behind a classic ELB.
	if n != 24 || targets != 27 {
		t.Errorf("%d instances with %d targets, want 24 with 27", n, targets)
	}
}
