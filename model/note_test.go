package model

import (
	"strings"
	"testing"
	"time"
)

func TestReleaseNoteRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 28, 3, 4, 5, 0, time.UTC)
	cases := []ReleaseNote{
		{Who: "arn:aws:iam::123456789012:user/ana", When: when, From: "ami-1", To: "ami-2", Why: "fix: bids: timeout"},
		{Who: "arn:aws:sts::1:assumed-role/ops/bob", When: when, From: "ami-1", To: "ami-2"},
	}
	for _, n := range cases {
		got, ok := ParseReleaseNote(n.String())
		if !ok || got != n {
			t.Errorf("round trip of %q: got %+v ok=%v", n.String(), got, ok)
		}
	}
	long := ReleaseNote{Who: "w", When: when, From: "a", To: "b", Why: strings.Repeat("x", 400)}
	if len(long.String()) != maxDescription {
		t.Errorf("long note is %d chars, want %d", len(long.String()), maxDescription)
	}
	if _, ok := ParseReleaseNote("created by terraform"); ok {
		t.Error("foreign description parsed as a release note")
	}
}
