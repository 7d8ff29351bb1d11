package model

import "testing"

func TestParseLifecycleAndTargetState_NewerAWSStates(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    Lifecycle
		leaving bool
	}{
		{"Terminating:Retained", TerminatingRetained, true},
		{"ReplacingRootVolume", ReplacingRootVolume, false},
		{"ReplacingRootVolume:Wait", ReplacingRootVolumeWait, false},
		{"ReplacingRootVolume:Proceed", ReplacingRootVolumeProceed, false},
		{"Terminating:Wait", TerminatingWait, true},
		{"InService", InService, false},
	} {
		got := ParseLifecycle(c.in)
		if got != c.want || got.String() != c.in || got.Leaving() != c.leaving || got.Arriving() {
			t.Errorf("ParseLifecycle(%q) = %v (%s), leaving %v; want %v leaving %v", c.in, got, got, got.Leaving(), c.want, c.leaving)
		}
	}
	if got := ParseTargetState("unhealthy.draining"); got != TargetUnhealthy {
		t.Errorf("unhealthy.draining = %v, want unhealthy", got)
	}
}
