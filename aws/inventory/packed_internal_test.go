package inventory

import (
	"slices"
	"testing"

	"github.com/adstage/adstage-ops/model"
)

// TestBalancerKeepsHealthyIDsPackedOrAsRows: healthy targets whose ID has EC2's 17-digit form
// are packed, any other ID is kept as a row, and every target is found again exactly, with
// its state, while IDs never read are not found.
func TestBalancerKeepsHealthyIDsPackedOrAsRows(t *testing.T) {
	ids := []string{
		"i-00000000000000000", "i-0123456789abcdef0", "i-0fffffffffffffffe", "i-10000000000000000",
		"i-1234abcd",          // the older 8-digit form
		"i-ABCDEF01234567890", // not lowercase hex
		"i-f0000000000000001", "i-ffffffffffffffffx", "i-fffffffffffffffff",
	}
	slices.Sort(ids)
	var ts []target
	for i, id := range ids {
		st := model.TargetHealthy
		if i == 3 {
			st = model.TargetUnhealthy
		}
		ts = append(ts, target{id: id, state: st})
	}
	var b balancer
	b.keep(ts)
	if got, want := len(b.healthy)/packedIDLen, 5; got != want {
		t.Errorf("%d IDs packed, want %d", got, want)
	}
	if got, want := len(b.odd.rows), 4; got != want {
		t.Errorf("%d rows, want %d", got, want)
	}
	for _, w := range ts {
		got, ok := b.target(w.id)
		if !ok || got.id != w.id || got.state != w.state {
			t.Errorf("target(%s) = %+v, %v; want state %v", w.id, got, ok, w.state)
		}
	}
	for _, id := range []string{"i-00000000000000001", "i-0123456789abcdef1", "i-1234abce", "i-fffffffffffffffff0", "", "i-"} {
		if got, ok := b.target(id); ok {
			t.Errorf("target(%q) = %+v, found; it was never read", id, got)
		}
	}
}
