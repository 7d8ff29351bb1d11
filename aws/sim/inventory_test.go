package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// TestInventorySnapshotOnDemo runs the real inventory (inventory.NewInventory) over the demo fleet.
func TestInventorySnapshotOnDemo(t *testing.T) {
	clk := sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	cloud := sim.NewDemo(clk)
	inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clk.Now})
	ctx := context.Background()
	fleet, err := inv.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fleet.Account != sim.DefaultAccount || fleet.Region != sim.DefaultRegion {
		t.Errorf("account/region = %s/%s", fleet.Account, fleet.Region)
	}
	names := map[string]bool{}
	envs := map[string]bool{}
	for _, s := range fleet.Services {
		names[s.Name] = true
		envs[s.Env] = true
	}
	for _, want := range []string{"api", "web", "worker-bids", "worker-reports", "scheduler", "auth", model.Untagged} {
		if !names[want] {
			t.Errorf("service %s missing from %v", want, names)
		}
	}
	if !envs["staging"] || !envs["production"] {
		t.Errorf("environments %v", envs)
	}
	web, ok := fleet.Service("web", "production")
	if !ok {
		t.Fatal("no web/production")
	}
	if !web.RollingOut() || !web.Mixed() || web.Counts().Draining == 0 {
		t.Errorf("web/production: rolling out %v, mixed %v, draining %d; want a rollout with a mixed fleet and draining targets", web.RollingOut(), web.Mixed(), web.Counts().Draining)
	}
	api, _ := fleet.Service("api", "staging")
	if api == nil || api.Counts().Unhealthy != 1 {
		t.Errorf("api/staging should have one unhealthy instance: %+v", api)
	}
	legacy, classic := false, false
	for _, g := range fleet.Groups {
		legacy = legacy || g.Legacy()
		classic = classic || len(g.ClassicELBs) > 0
	}
	if !legacy || !classic {
		t.Errorf("legacy launch configuration group %v, classic ELB group %v", legacy, classic)
	}

	// Two minutes on, the rollout has finished and web/production runs one AMI.
	clk.Advance(2 * time.Minute)
	fleet, err = inv.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	web, _ = fleet.Service("web", "production")
	if web.RollingOut() || web.Mixed() || web.Counts().Draining != 0 || web.Counts().Healthy != 6 {
		t.Errorf("web/production after 2 min: rolling out %v, mixed %v, counts %+v", web.RollingOut(), web.Mixed(), web.Counts())
	}
	if imgs, err := inv.Images(ctx, "web"); err != nil || len(imgs) < 3 {
		t.Errorf("web images: %v, %v", len(imgs), err)
	}
	if h, err := inv.History(ctx, "web", "production"); err != nil || len(h.Releases) < 3 || len(h.Refreshes) == 0 {
		t.Errorf("web history: %+v, %v", h, err)
	}
}
