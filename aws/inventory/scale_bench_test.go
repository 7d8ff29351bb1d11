package inventory_test

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// The issue-5 fleet: 2,000 groups of 10 instances, 2,000 target groups, 20 classic ELBs.
var benchScale = sim.ScaleSpec{Groups: 2000, InstancesPerGroup: 10, TargetGroups: 2000, ClassicELBs: 20}

// benchLatency is injected per call (real time) so that concurrency shows in the wall time.
const benchLatency = 2 * time.Millisecond

// BenchmarkRefresh measures steady-state refreshes of the issue-5 fleet on the simulator with
// AWS's token buckets modelled and per-call latency, at the default budget (5 ELB reads/s,
// 10 EC2 reads/s, 5 s tick). One op is one full refresh: the ticks it takes until every target
// group and classic ELB has been read once (with 2,020 balancers at 25 reads a tick, about 81
// ticks). Reported:
//   - calls/op: AWS calls in one full refresh; calls-vs-min: that over
//     Cmin = ceil(groups/100) + target groups + classic ELBs. The excess is the group listing
//     made every tick (the live view needs every instance's lifecycle each tick) and the slow
//     instance-refresh sweep; lb-reads-vs-min is balancer reads over balancers (1.00: no
//     balancer is read twice in a pass when nothing is focused).
//   - elbv2-reads/s, clb-reads/s and ec2-reads/s: sustained rates over the simulated time
//     (goals 5, 5 and 10; ELB API versions 2 and 1 have a bucket each).
//   - ticks/op and ms/tick: snapshots per full refresh and wall time per snapshot.
func BenchmarkRefresh(b *testing.B) {
	clk := sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	cloud := sim.NewScale(clk, sim.Options{Throttle: true, Latency: benchLatency}, benchScale)
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	const tick = 5 * time.Second
	ctx := context.Background()
	// pass runs ticks until every balancer has been read since the pass began.
	pass := func() (ticks int, wall time.Duration) {
		start := clk.Now().Unix()
		for {
			t0 := time.Now()
			fl, err := inv.Snapshot(ctx)
			wall += time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			if len(fl.Problems) > 0 {
				b.Fatalf("problems: %v", fl.Problems)
			}
			ticks++
			clk.Advance(tick)
			if allReadSince(fl, start) {
				return ticks, wall
			}
		}
	}
	pass() // warm the caches: AMIs, launch times, drain delays
	cloud.ResetCalls()
	b.ResetTimer()
	var ticks int
	var wall time.Duration
	for range b.N {
		n, w := pass()
		ticks += n
		wall += w
	}
	b.StopTimer()
	calls := cloud.Calls()
	if th := cloud.Throttled(); len(th) > 0 {
		b.Errorf("throttled by the simulated AWS buckets: %v", th)
	}
	total := 0
	for _, n := range calls {
		total += n
	}
	lbv2 := calls["DescribeTargetHealth"] + calls["DescribeTargetGroupAttributes"]
	lbv1 := calls["DescribeInstanceHealth"] + calls["DescribeLoadBalancerAttributes"]
	ec2 := calls["DescribeInstances"] + calls["DescribeLaunchTemplateVersions"] + calls["DescribeImages"] + calls["DescribeSnapshots"]
	cmin := (benchScale.Groups+99)/100 + benchScale.TargetGroups + benchScale.ClassicELBs
	seconds := float64(ticks) * tick.Seconds()
	b.ReportMetric(float64(total)/float64(b.N), "calls/op")
	b.ReportMetric(float64(total)/float64(b.N)/float64(cmin), "calls-vs-min")
	b.ReportMetric(float64(calls["DescribeTargetHealth"]+calls["DescribeInstanceHealth"])/float64(b.N)/float64(benchScale.TargetGroups+benchScale.ClassicELBs), "lb-reads-vs-min")
	b.ReportMetric(float64(lbv2)/seconds, "elbv2-reads/s")
	b.ReportMetric(float64(lbv1)/seconds, "clb-reads/s")
	b.ReportMetric(float64(ec2)/seconds, "ec2-reads/s")
	b.ReportMetric(float64(ticks)/float64(b.N), "ticks/op")
	b.ReportMetric(float64(wall.Milliseconds())/float64(ticks), "ms/tick")
}

// BenchmarkRefreshWithinBudget is a fleet that fits the budget (100 groups, 20 target groups,
// 5 classic ELBs): every balancer is read every tick, and one op is one snapshot, which must
// cost exactly Cmin (calls-vs-min 1.00) once the caches are warm.
func BenchmarkRefreshWithinBudget(b *testing.B) {
	spec := sim.ScaleSpec{Groups: 100, InstancesPerGroup: 4, TargetGroups: 20, ClassicELBs: 5}
	clk := sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	cloud := sim.NewScale(clk, sim.Options{Throttle: true, Latency: benchLatency}, spec)
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	ctx := context.Background()
	// Warm up past the first instance-refresh sweep of every group (2 a tick).
	for range spec.Groups/2 + 1 {
		if _, err := inv.Snapshot(ctx); err != nil {
			b.Fatal(err)
		}
		clk.Advance(5 * time.Second)
	}
	cloud.ResetCalls()
	b.ResetTimer()
	for range b.N {
		if _, err := inv.Snapshot(ctx); err != nil {
			b.Fatal(err)
		}
		clk.Advance(5 * time.Second)
	}
	b.StopTimer()
	total := 0
	for _, n := range cloud.Calls() {
		total += n
	}
	cmin := (spec.Groups+99)/100 + spec.TargetGroups + spec.ClassicELBs
	b.ReportMetric(float64(total)/float64(b.N), "calls/op")
	b.ReportMetric(float64(total)/float64(b.N)/float64(cmin), "calls-vs-min")
}

// allReadSince reports whether every target in the fleet was read at or after unix second t.
func allReadSince(fl model.Fleet, t int64) bool {
	for i := range fl.Groups {
		for j := range fl.Groups[i].Instances {
			for _, th := range fl.Groups[i].Instances[j].Targets {
				if th.CheckedAt.Sec() < t {
					return false
				}
			}
		}
	}
	return true
}

// BenchmarkMemory reports the model bytes per instance of a snapshot of the issue-5 fleet:
// the Group, Instance and TargetHealth structs plus the bytes of every distinct string they
// reference (interned strings such as AZs, AMIs and balancer names count once).
func BenchmarkMemory(b *testing.B) {
	clk := sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	cloud := sim.NewScale(clk, sim.Options{}, benchScale)
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now, ELBReadsPerSecond: 1000})
	var fl model.Fleet
	var err error
	for range b.N {
		if fl, err = inv.Snapshot(context.Background()); err != nil {
			b.Fatal(err)
		}
		clk.Advance(5 * time.Second)
	}
	bytes, instances := modelBytes(fl)
	if instances != benchScale.Groups*benchScale.InstancesPerGroup {
		b.Fatalf("%d instances", instances)
	}
	b.ReportMetric(float64(bytes)/float64(instances), "B/instance")
}

// modelBytes sums the struct and distinct string bytes a fleet's groups hold.
func modelBytes(fl model.Fleet) (bytes, instances int) {
	seen := map[*byte]bool{}
	notes := map[*model.TargetNote]bool{}
	str := func(s string) {
		if len(s) == 0 {
			return
		}
		if p := unsafe.StringData(s); !seen[p] {
			seen[p] = true
			bytes += len(s)
		}
	}
	for i := range fl.Groups {
		g := &fl.Groups[i]
		bytes += int(unsafe.Sizeof(*g))
		for _, s := range []string{g.Name, g.Service, g.Env, g.LaunchConfig, g.ImageID, g.HealthCheckType} {
			str(s)
		}
		if lt := g.LaunchTemplate; lt != nil {
			bytes += int(unsafe.Sizeof(*lt))
			str(lt.ID)
			str(lt.Name)
			str(lt.Version)
		}
		for _, ss := range [][]string{g.Suspended, g.TargetGroups, g.ClassicELBs} {
			bytes += cap(ss) * int(unsafe.Sizeof(""))
			for _, s := range ss {
				str(s)
			}
		}
		if g.Refresh != nil {
			bytes += int(unsafe.Sizeof(*g.Refresh))
		}
		bytes += cap(g.Instances) * int(unsafe.Sizeof(model.Instance{}))
		for j := range g.Instances {
			in := &g.Instances[j]
			instances++
			str(in.ID)
			str(in.AZ.String())
			str(in.ImageID.String())
			str(in.LTVersion.String())
			bytes += cap(in.Targets) * int(unsafe.Sizeof(model.TargetHealth{}))
			for _, th := range in.Targets {
				str(th.Balancer.String())
				if n := th.Note; n != nil && !notes[n] { // shared: counted once
					notes[n] = true
					bytes += int(unsafe.Sizeof(*n))
					str(n.Reason)
				}
			}
		}
	}
	return bytes, instances
}
