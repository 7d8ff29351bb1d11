package model

import "testing"

// A service read in two regions gets a row per region, with its groups and origin; one
// read in one region keeps its one row without a region.
func TestSplitRegions(t *testing.T) {
	f := Fleet{Groups: []Group{
		{Name: "web-a", Service: "web", Env: "production", Origin: &Origin{Account: "2", Region: "us-east-1"}},
		{Name: "web-b", Service: "web", Env: "production", Origin: &Origin{Account: "2", Region: "eu-west-1"}},
		{Name: "web-c", Service: "web", Env: "production", Origin: &Origin{Account: "2", Region: "eu-west-1"}},
		{Name: "api", Service: "api", Env: "production", Origin: &Origin{Account: "2", Region: "us-east-1"}},
	}}
	f.BuildServices(false)
	f.SplitRegions()
	want := []struct {
		key    ServiceKey
		groups int
	}{
		{ServiceKey{Name: "api", Env: "production"}, 1},
		{ServiceKey{Name: "web", Env: "production", Region: "eu-west-1"}, 2},
		{ServiceKey{Name: "web", Env: "production", Region: "us-east-1"}, 1},
	}
	if len(f.Services) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(f.Services), len(want), f.Services)
	}
	for i, w := range want {
		s := f.Services[i]
		if s.ServiceKey != w.key || len(s.Groups) != w.groups {
			t.Errorf("row %d: %s with %d groups, want %s with %d", i, s.ServiceKey, len(s.Groups), w.key, w.groups)
		}
		for _, g := range s.Groups {
			if w.key.Region != "" && g.From().Region != w.key.Region {
				t.Errorf("%s holds %s of %s", s.ServiceKey, g.Name, g.From().Region)
			}
		}
	}
	if s, ok := f.ServiceAt(want[1].key); !ok || s.From().Region != "eu-west-1" || s.String() != "web/production in eu-west-1" {
		t.Errorf("ServiceAt(%s) = %+v, %v", want[1].key, s, ok)
	}
}
