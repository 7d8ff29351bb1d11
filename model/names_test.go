package model

import (
	"slices"
	"testing"
)

func TestNearestAndMatchName(t *testing.T) {
	names := []string{"api", "auth", "web", "worker-bids"}
	if got := Nearest("webb", names); !slices.Equal(got, []string{"web"}) {
		t.Errorf("Nearest(webb) = %v", got)
	}
	if got := Nearest("Web", names); !slices.Equal(got, []string{"web"}) {
		t.Errorf("Nearest(Web) = %v", got)
	}
	if got := Nearest("zzzzzz", names); got != nil {
		t.Errorf("Nearest(zzzzzz) = %v", got)
	}
	if EditDistance("rollbak", "rollback") != 1 {
		t.Error("EditDistance")
	}
	for in, want := range map[string]string{"web": "web", "WEB": "web", "work": "worker-bids", "prod": ""} {
		got, ok := MatchName(in, names)
		if got != want || ok != (want != "") {
			t.Errorf("MatchName(%q) = %q, %v", in, got, ok)
		}
	}
	if _, ok := MatchName("a", names); ok {
		t.Error("MatchName(a) is ambiguous")
	}
}
