package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/sim"
)

// BenchmarkOneShotStatus is the read behind `status` at 2,000 groups, 20,000 instances,
// 2,000 target groups and 20 classic ELBs, with AWS's throttles modelled: one op is one
// complete read. calls-vs-min divides its calls, identity and template aliases left out, by
// Cmin = 20 pages + 2,020 balancers + 20 DescribeInstances; sim-s is the simulated time it
// took (paced by AWS's buckets), throttled the calls the simulated AWS refused.
func BenchmarkOneShotStatus(b *testing.B) {
	const groups, per = 2000, 10
	clk := sim.NewManualClock(invStart)
	c := sim.NewScale(clk, sim.Options{Throttle: true}, sim.ScaleSpec{Groups: groups, InstancesPerGroup: per, TargetGroups: groups, ClassicELBs: 20})
	cmin := groups/100 + groups + 20 + groups*per/1000
	var calls, extra, unread int
	var simTime time.Duration
	for b.Loop() {
		b.StopTimer()
		clk.Advance(10 * time.Minute) // AWS's buckets full again
		c.ResetCalls()
		inv := oneShotInventory(c, clk)
		start := clk.Now()
		b.StartTimer()
		stop := autoAdvance(clk, 100*time.Millisecond)
		if _, err := inv.Snapshot(context.Background()); err != nil {
			b.Fatal(err)
		}
		stop()
		b.StopTimer()
		simTime += clk.Now().Sub(start)
		unread += inv.LastPoll().Unread
		for op, n := range c.Calls() {
			switch op {
			case "GetCallerIdentity", "DescribeLaunchTemplateVersions":
				extra += n
			default:
				calls += n
			}
		}
		for _, n := range c.Throttled() {
			b.Errorf("throttled %d calls", n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N*cmin), "calls-vs-min")
	b.ReportMetric(float64(extra)/float64(b.N), "extra-calls/op")
	b.ReportMetric(simTime.Seconds()/float64(b.N), "sim-s/op")
	b.ReportMetric(float64(unread)/float64(b.N), "unread/op")
}
