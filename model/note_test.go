package model

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

func TestCutBytes_OnACharacterBoundary(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ab€", 3, "ab"}, // € is 3 bytes: never half of it
		{"ab€", 4, "ab"},
		{"ab€", 5, "ab€"},
		{"日本語", 7, "日本"},
	} {
		got := CutBytes(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("CutBytes(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	// A release note whose reason crosses the limit in a multi-byte character stays valid.
	n := ReleaseNote{Who: "arn:aws:iam::1:user/a", When: time.Unix(0, 0), From: "ami-1", To: "ami-2", Why: strings.Repeat("é", 200)}
	if s := n.String(); len(s) > 255 || !utf8.ValidString(s) {
		t.Errorf("note is %d bytes, valid UTF-8 %v", len(s), utf8.ValidString(s))
	}
}
