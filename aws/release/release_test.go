package release

import (
	"testing"

	"github.com/adstage/adstage-ops/model"
)

func TestPrevious(t *testing.T) {
	v := func(n int64, img string) model.Release { return model.Release{Version: n, ImageID: img} }
	tests := []struct {
		name      string
		versions  []model.Release
		current   int64
		image     string
		want      int64
		wantOlder []int64
		ok        bool
	}{
		{"newest earlier version with another AMI", []model.Release{v(1, "a"), v(2, "b"), v(3, "c")}, 3, "c", 2, []int64{1}, true},
		{"order of the input does not matter", []model.Release{v(3, "c"), v(1, "a"), v(2, "b")}, 3, "c", 2, []int64{1}, true},
		{"versions with the current AMI are skipped", []model.Release{v(1, "a"), v(2, "c"), v(3, "c")}, 3, "c", 1, nil, true},
		{"one candidate per AMI", []model.Release{v(1, "a"), v(2, "a"), v(3, "c")}, 3, "c", 2, nil, true},
		{"versions after the current one are not releases to return to", []model.Release{v(1, "a"), v(2, "b"), v(3, "c")}, 2, "b", 1, nil, true},
		{"no earlier AMI", []model.Release{v(1, "c"), v(2, "c")}, 2, "c", 0, nil, false},
	}
	for _, tt := range tests {
		got, older, ok := Previous(tt.versions, tt.current, tt.image)
		if ok != tt.ok || got.Version != tt.want {
			t.Errorf("%s: Previous = v%d ok=%v, want v%d ok=%v", tt.name, got.Version, ok, tt.want, tt.ok)
		}
		var olderV []int64
		for _, r := range older {
			olderV = append(olderV, r.Version)
		}
		if len(olderV) != len(tt.wantOlder) || (len(olderV) > 0 && olderV[0] != tt.wantOlder[0]) {
			t.Errorf("%s: older = %v, want %v", tt.name, olderV, tt.wantOlder)
		}
	}
}

func TestCurrentResolvesAliases(t *testing.T) {
	rels := []model.Release{{Version: 1}, {Version: 2, Default: true}, {Version: 3}}
	if got := Current(rels, 0, "$Latest"); got != 3 {
		t.Errorf("$Latest = %d, want 3", got)
	}
	if got := Current(rels, 0, "$Default"); got != 2 {
		t.Errorf("$Default = %d, want 2", got)
	}
	if got := Current(rels, 1, "1"); got != 1 {
		t.Errorf("numeric = %d, want 1", got)
	}
}

func TestFirstAvailable(t *testing.T) {
	rels := []model.Release{{Version: 3, ImageID: "gone"}, {Version: 2, ImageID: "ok"}}
	state := map[string]string{"ok": "available"}
	got, ok := FirstAvailable(rels, func(id string) string { return state[id] })
	if !ok || got.Version != 2 {
		t.Errorf("FirstAvailable = v%d %v, want v2", got.Version, ok)
	}
}
