package inventory

import (
	"math"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// defaultWarmup is the restore estimate's per-batch time when a group sets no grace period
// or warmup (AWS's default health check grace period).
const defaultWarmup = 300

// Estimate is how long rolling the group back takes: instances replaced in batches of what
// the rollout preferences allow above the healthy minimum, each batch one warmup.
func (inv *Inventory) Estimate(g *model.Group) time.Duration {
	n := int(g.Desired)
	live := 0
	for i := range g.Instances {
		if !g.Instances[i].Lifecycle.Leaving() {
			live++
		}
	}
	n = max(n, live, 1)
	minH, maxH := inv.opts.Rollout.MinHealthyPercentage, inv.opts.Rollout.MaxHealthyPercentage
	batch := int(math.Floor(float64(n) * float64(maxH-minH) / 100))
	batch = max(1, min(batch, n))
	warmup := inv.opts.Rollout.InstanceWarmup
	if warmup <= 0 {
		warmup = g.Warmup
	}
	if warmup <= 0 {
		warmup = defaultWarmup
	}
	batches := (n + batch - 1) / batch
	return time.Duration(batches) * time.Duration(warmup) * time.Second
}
