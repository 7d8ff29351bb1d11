//go:build unix

package inventory_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// Issue 12's console figures, on the simulated clock: the first complete screen, the time
// from a change in AWS to the screen, and the group listing's pages a minute, at 2,000
// groups with AWS's buckets modelled (Throttle: true).

// firstScreen plays the console's start: a snapshot that knows nothing of the screen, the
// services on screen focused (the first n rows, the cursor on the first), a second snapshot
// at once, then one a tick. It returns the simulated seconds from the start to the snapshot
// in which every balancer of every service on screen has been read, and the calls made.
func firstScreen(tb testing.TB, spec sim.ScaleSpec, n int) (float64, map[string]int, map[string]int) {
	f := newScaleFleet(tb, spec, 0)
	start := f.clk.Now()
	fl, _ := f.snapshot(tb)
	keys := scaleFocus(f.inv, &fl, n)
	f.inv.Cursor(keys[0])
	on := map[model.ServiceKey]bool{}
	for _, k := range keys {
		on[k] = true
	}
	for tick := 0; tick < 40; tick++ {
		fl, _ = f.snapshot(tb)
		if screenComplete(&fl, on) {
			return f.clk.Now().Sub(start).Seconds(), f.cloud.Calls(), f.cloud.Throttled()
		}
		f.clk.Advance(scaleTick)
	}
	tb.Fatalf("screen of %d services not complete after 40 ticks", n)
	return 0, nil, nil
}

func screenComplete(fl *model.Fleet, on map[model.ServiceKey]bool) bool {
	for gi := range fl.Groups {
		g := &fl.Groups[gi]
		if !on[model.ServiceKey{Name: g.Service, Env: g.Env}] {
			continue
		}
		for ii := range g.Instances {
			for _, th := range g.Instances[ii].Targets {
				if th.CheckedAt == 0 {
					return false
				}
			}
		}
	}
	return true
}

// BenchmarkFirstScreen: first-screen-s is the simulated time from the console's start to the
// first snapshot whose screen has every balancer read (goal ≤ 5 s), for 18, 30 and 54
// services on screen (80x24, 120x36 and 200x60 terminals: 36, 60 and 110 balancers), and
// 37 and 38 (74 and 76 target groups): the largest screen complete within 5 s and the next.
// Each service on screen has 2 groups, each behind its own target group; the target group
// reads come out of the ELB API version 2 bucket alone (40, then 10/s at AWS; the console's
// budget 40 at once, then 5/s), the few classic ELBs out of version 1's. throttled is the
// calls the modelled AWS refused.
func BenchmarkFirstScreen(b *testing.B) {
	for _, n := range []int{18, 30, 37, 38, scaleOnScreen} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			var secs float64
			var throttled map[string]int
			for b.Loop() {
				secs, _, throttled = firstScreen(b, scaleSpec(), n)
			}
			b.ReportMetric(secs, "first-screen-s")
			b.ReportMetric(float64(scaleTotalCalls(throttled)), "throttled")
		})
	}
}

// BenchmarkChangeToScreen measures, after a warm-up pass, with 54 services on screen (the
// cursor on the first) and ticks of 5 s, how long a change in AWS to a service on screen
// takes to show in a snapshot, in simulated seconds, as p50, p95 and max over 48 changes made
// at 1 to 4 s into a tick:
//
//   - kind=lifecycle: a group on screen scales out by one (an instance launches); shown when
//     the snapshot lists the new instance. Goal: p95 ≤ one tick (5 s).
//   - kind=health: an instance on screen starts failing its load balancer's health checks
//     without any lifecycle change (sim FailHealth); shown when a snapshot has it unhealthy.
//     Goal: report it (≤ one on-screen pass).
//
// asg-pages/min is DescribeAutoScalingGroups pages per simulated minute over the
// measurement (goal ≤ 40), elbv2-reads/s and clb-reads/s the sustained target group and
// classic ELB read rates (goal ≤ 5 each: each ELB API version has its own bucket at AWS).
func BenchmarkChangeToScreen(b *testing.B) {
	for _, kind := range []string{"lifecycle", "health"} {
		b.Run("kind="+kind, func(b *testing.B) {
			var lat []float64
			var pages, elbv2, clb, throttled float64
			for b.Loop() {
				lat, pages, elbv2, clb, throttled = changeToScreen(b, kind, 48)
			}
			slices.Sort(lat)
			b.ReportMetric(percentile(lat, 0.50), "p50-s")
			b.ReportMetric(percentile(lat, 0.95), "p95-s")
			b.ReportMetric(lat[len(lat)-1], "max-s")
			b.ReportMetric(pages, "asg-pages/min")
			b.ReportMetric(elbv2, "elbv2-reads/s")
			b.ReportMetric(clb, "clb-reads/s")
			b.ReportMetric(throttled, "throttled")
		})
	}
}

func percentile(sorted []float64, p float64) float64 {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func changeToScreen(b *testing.B, kind string, samples int) (lat []float64, pagesPerMin, elbv2PerSec, clbPerSec, throttled float64) {
	f := newScaleFleet(b, scaleSpec(), 0)
	fl, full := f.warmUp(b, 0, scaleWarmUpTicks)
	if !full {
		b.Fatalf("no full refresh within %d warm-up ticks", scaleWarmUpTicks)
	}
	keys := scaleFocus(f.inv, &fl, scaleOnScreen)
	f.inv.Cursor(keys[0])
	// Two ticks to settle the focus, then measure from a snapshot just taken.
	for range 2 {
		f.clk.Advance(scaleTick)
		fl, _ = f.snapshot(b)
	}
	var groups []*model.Group
	on := map[model.ServiceKey]bool{}
	for _, k := range keys {
		on[k] = true
	}
	for gi := range fl.Groups {
		if g := &fl.Groups[gi]; on[model.ServiceKey{Name: g.Service, Env: g.Env}] {
			groups = append(groups, g)
		}
	}
	f.cloud.ResetCalls()
	began := f.clk.Now()
	asw := f.cloud.Clients().AutoScaling
	for i := range samples {
		g := groups[(i*7)%len(groups)]
		offset := time.Duration(1+i%4) * time.Second
		// The change happens offset into the tick after the last snapshot.
		f.clk.Advance(offset)
		at := f.clk.Now()
		var seen func(fl *model.Fleet) bool
		switch kind {
		case "lifecycle":
			desired := g.Desired + 1
			if _, err := asw.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String(g.Name), MaxSize: aws.Int32(max(g.Max, desired)), DesiredCapacity: aws.Int32(desired)}); err != nil {
				b.Fatal(err)
			}
			before := len(g.Instances)
			seen = func(fl *model.Fleet) bool {
				for gi := range fl.Groups {
					if fl.Groups[gi].Name == g.Name {
						return len(fl.Groups[gi].Instances) > before
					}
				}
				return false
			}
		case "health":
			id := g.Instances[0].ID
			if err := f.cloud.FailHealth(id); err != nil {
				b.Fatal(err)
			}
			seen = func(fl *model.Fleet) bool {
				for gi := range fl.Groups {
					for _, in := range fl.Groups[gi].Instances {
						if in.ID == id {
							return len(in.Targets) > 0 && in.Targets[0].State == model.TargetUnhealthy
						}
					}
				}
				return false
			}
		}
		f.clk.Advance(scaleTick - offset)
		for tick := 0; ; tick++ {
			fl, _ = f.snapshot(b)
			if seen(&fl) {
				lat = append(lat, f.clk.Now().Sub(at).Seconds())
				break
			}
			if tick > 600 {
				b.Fatalf("%s change to %s not shown after %d ticks", kind, g.Name, tick)
			}
			f.clk.Advance(scaleTick)
		}
		// The undo below lands in the next tick; that snapshot is not measured.
		f.clk.Advance(scaleTick)
		fl, _ = f.snapshot(b)
		// Undo the change (unmeasured), so that the fleet stays the same size and health.
		if kind == "health" {
			_ = f.cloud.FailHealth(g.Instances[0].ID)
		}
		for gi := range fl.Groups {
			if fl.Groups[gi].Name == g.Name {
				*g = fl.Groups[gi]
			}
		}
	}
	secs := f.clk.Now().Sub(began).Seconds()
	calls := f.cloud.Calls()
	return lat, float64(calls["DescribeAutoScalingGroups"]) / secs * 60, float64(scaleSumCalls(calls, scaleELBv2Ops)) / secs,
		float64(scaleSumCalls(calls, scaleELBv1Ops)) / secs, float64(scaleTotalCalls(f.cloud.Throttled()))
}
