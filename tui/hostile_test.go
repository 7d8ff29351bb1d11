package tui

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// The console prints AWS text as data: with a hostile service (tag values, image name and
// label, launch template descriptions) and hostile audit reasons, no frame of the services
// screen, any service screen or the audit view carries a control sequence other than the
// console's own colours. A fixed seed; several fleets while the time budget lasts; at 80x24
// and 160x45.
func TestHostileTextNeverReachesTheTerminal_Console(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 12))
	budget := time.Now().Add(4 * time.Second) // how long to keep fuzzing, not an assertion
	for i := 0; i < 12 && (i < 2 || time.Now().Before(budget)); i++ {
		clock := sim.NewManualClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
		cloud := sim.NewDemo(clock)
		if _, err := cloud.AddHostileService(r, clock.Now()); err != nil {
			t.Fatal(err)
		}
		events := []model.AuditEvent{{Time: clock.Now(), Who: sim.HostileText(r, 4), Action: model.ActionRollback, Service: "web", Env: "production",
			Reason: sim.HostileText(r, 8), Result: "failed", Error: sim.HostileText(r, 6), From: sim.HostileText(r, 2)}}
		auditLog := func() ([]model.AuditEvent, error) {
			// As the audit package reads them back: made safe on the way in.
			out := make([]model.AuditEvent, len(events))
			for j, e := range events {
				e.Who, e.Reason, e.Error, e.From = model.SafeText(e.Who), model.SafeText(e.Reason), model.SafeText(e.Error), model.SafeText(e.From)
				out[j] = e
			}
			return out, nil
		}
		size := [][2]int{{80, 24}, {160, 45}}[i%2]
		inv := inventory.NewInventory(cloud.Clients().Read(), inventory.Options{Now: clock.Now})
		s := NewSession(Config{Reader: inv, Now: clock.Now, ReadOnly: true, AuditLog: auditLog, Clipboard: func(string) {}}, size[0], size[1])
		check := func(where string) {
			t.Helper()
			if bad := sim.UnsafeOutput(s.View()); bad != "" {
				t.Fatalf("fleet %d at %dx%d, %s: %s", i, size[0], size[1], where, bad)
			}
		}
		check("services")
		for row := 0; row < 16; row++ {
			s.Type("enter")
			check("service screen")
			s.Type("a")
			check("audit view")
			s.Type("esc")
			s.Type("esc")
			s.Type("j")
		}
		s.Close()
	}
}
