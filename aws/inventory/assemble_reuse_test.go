package inventory

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// A group kept from the last listing whose balancers were not read since is taken from the
// last fleet as it was assembled: every tick, those groups must equal a fresh assembly of the
// same reads, while health churns, an on-screen group scales in and listings alternate
// between tag-filtered and full.
func TestReusedGroupsEqualAFreshAssembly_Sim(t *testing.T) {
	clk := sim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := sim.NewScale(clk, sim.Options{}, sim.ScaleSpec{Groups: 400, InstancesPerGroup: 2, TargetGroups: 400})
	c.Advance()
	inv := NewInventory(c.Clients().Read(), Options{Now: clk.Now, After: clk.After})
	reused, checked := 0, 0
	inv.assembled = func(reads []groupRead, groups []model.Group, s *snapshotRun) {
		inv.reuseOff = true
		fresh := inv.assemble(reads, &snapshotRun{now: s.now, calls: map[string]int{}})
		inv.reuseOff = false
		for i := range groups {
			checked++
			if !reflect.DeepEqual(groups[i], fresh[i]) {
				t.Fatalf("tick at %s: group %s taken from the last assembly differs from a fresh one:\n got %+v\nwant %+v",
					s.now.Format(time.TimeOnly), groups[i].Name, groups[i], fresh[i])
			}
		}
	}
	var focus []model.ServiceKey
	for i := range 15 {
		svc := fmt.Sprintf("svc-%04d", i)
		focus = append(focus, model.ServiceKey{Name: svc, Env: "production"}, model.ServiceKey{Name: svc, Env: "staging"})
	}
	snap := func() {
		t.Helper()
		if _, err := inv.Snapshot(context.Background()); err != nil {
			t.Fatal(err)
		}
		reused += inv.LastPoll().GroupsReused
	}
	snap()
	inv.Focus(focus)
	for tick := range 40 {
		clk.Advance(5 * time.Second)
		c.ChurnInstances(0.05)
		switch tick {
		case 10: // an on-screen and an off-screen group scale in
			for _, g := range []string{"svc-0003-staging-0", inv.last[len(inv.last)-2].Name} {
				if _, err := c.Clients().AutoScaling.UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{
					AutoScalingGroupName: aws.String(g), MinSize: aws.Int32(1), DesiredCapacity: aws.Int32(1)}); err != nil {
					t.Fatal(err)
				}
			}
		case 20: // an off-screen instance is deregistered (drains) and another fails its checks
			g := inv.last[len(inv.last)-1]
			if err := c.DeregisterTarget(g.TargetGroups[0], g.Instances[0].ID); err != nil {
				t.Fatal(err)
			}
			if err := c.FailHealth(g.Instances[1].ID); err != nil {
				t.Fatal(err)
			}
		}
		snap()
	}
	if reused == 0 {
		t.Fatal("no group was taken from the last assembly: the test checks nothing")
	}
	t.Logf("%d of %d groups taken from the last assembly", reused, checked)
}
