package model

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// story builds a group's AWS record step by step, the way promote, rollback and AWS write it.
type story struct {
	t0        time.Time
	now       time.Time
	versions  []Release
	refreshes []Refresh
	marks     map[string][]Mark
	current   int64
	known     bool
}

func newStory(image string) *story {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	s := &story{t0: t0, now: t0, marks: map[string][]Mark{}, known: true}
	s.versions = append(s.versions, Release{Version: 1, ImageID: image, CreatedAt: t0, Description: "initial launch template"})
	s.current = 1
	return s
}

func (s *story) tick() time.Time { s.now = s.now.Add(time.Hour); return s.now }

func (s *story) imageOf(v int64) string {
	for _, r := range s.versions {
		if r.Version == v {
			return r.ImageID
		}
	}
	return ""
}

// create writes a version as promote does (with a release note) and returns its number.
func (s *story) create(image string) int64 {
	n := int64(len(s.versions) + 1)
	at := s.tick()
	note := ReleaseNote{Who: "arn:aws:iam::1:user/ci", When: at, From: s.imageOf(s.current), To: image, Why: "release " + image}
	s.versions = append(s.versions, Release{Version: n, ImageID: image, CreatedAt: at, Description: note.String()})
	return n
}

// refresh records an instance refresh of version v that ended with status; a Successful one
// makes v the group's version, as AWS does with a desired configuration.
func (s *story) refresh(v int64, status string) {
	start := s.tick()
	end := start.Add(10 * time.Minute)
	s.refreshes = append(s.refreshes, Refresh{ID: fmt.Sprintf("r%d", len(s.refreshes)+1), Status: status, StartedAt: start, EndedAt: end, DesiredVersion: fmt.Sprint(v)})
	if status == "Successful" {
		s.current = v
	}
}

func (s *story) promote(image string) int64 {
	v := s.create(image)
	s.refresh(v, "Successful")
	return v
}

// rollbackTo rolls out an earlier version and marks the image left.
func (s *story) rollbackTo(v int64, who, why string) {
	left := s.imageOf(s.current)
	s.refresh(v, "Successful")
	s.mark(left, Mark{Kind: MarkRolledBack, Who: who, Reason: why, Env: "production"})
}

func (s *story) mark(image string, m Mark) {
	m.When = s.tick()
	s.marks[image] = append(s.marks[image], m)
}

func (s *story) ledger() Ledger {
	return DeriveLedger(LedgerInput{Group: "g", Template: "t", Versions: s.versions, Refreshes: s.refreshes,
		HistoryKnown: s.known, Marks: s.marks, Current: s.current, Now: s.now.Add(time.Hour)})
}

func TestLedgerPreviousRelease(t *testing.T) {
	tests := []struct {
		name       string
		build      func(s *story)
		want       int64 // 0: no target
		unverified bool
		skipped    []int64
		states     map[int64]ReleaseState
	}{
		{"promote A, promote B, roll back, promote C: back to A", func(s *story) {
			s.promote("ami-b")
			s.rollbackTo(1, "arn:aws:iam::1:user/alice", "5xx spike")
			s.promote("ami-c")
		}, 1, false, []int64{2}, map[int64]ReleaseState{1: ReleaseWasLive, 2: ReleaseRolledBack, 3: ReleaseLive}},
		{"a refresh that failed and rolled itself back", func(s *story) {
			s.promote("ami-b")
			v := s.create("ami-c")
			s.refresh(v, "RollbackSuccessful")
		}, 1, false, []int64{3}, map[int64]ReleaseState{1: ReleaseWasLive, 2: ReleaseLive, 3: ReleaseRolledBack}},
		{"a version whose refresh never started", func(s *story) {
			s.promote("ami-b")
			s.create("ami-c") // promote failed before its refresh
		}, 1, false, []int64{3}, map[int64]ReleaseState{1: ReleaseWasLive, 2: ReleaseLive, 3: ReleaseNeverRolledOut}},
		{"a cancelled refresh", func(s *story) {
			s.promote("ami-b")
			v := s.create("ami-c")
			s.refresh(v, "Cancelled")
		}, 1, false, []int64{3}, map[int64]ReleaseState{3: ReleaseFailed}},
		{"a failed refresh", func(s *story) {
			s.promote("ami-b")
			v := s.create("ami-c")
			s.refresh(v, "Failed")
		}, 1, false, []int64{3}, map[int64]ReleaseState{3: ReleaseFailed}},
		{"the live release's predecessor marked bad", func(s *story) {
			s.promote("ami-b")
			s.promote("ami-c")
			s.mark("ami-b", Mark{Kind: MarkBad, Who: "bob", Reason: "leaks memory"})
		}, 1, false, []int64{2}, map[int64]ReleaseState{2: ReleaseMarkedBad}},
		{"a bad mark overridden by a newer good one", func(s *story) {
			s.promote("ami-b")
			s.promote("ami-c")
			s.mark("ami-b", Mark{Kind: MarkBad, Who: "bob"})
			s.mark("ami-b", Mark{Kind: MarkGood, Who: "carol"})
		}, 2, false, nil, map[int64]ReleaseState{2: ReleaseWasLive}},
		{"a release rolled back once and promoted again is live again, and its mark is history", func(s *story) {
			s.promote("ami-b")
			s.rollbackTo(1, "alice", "5xx")
			v := s.create("ami-b")
			s.refresh(v, "Successful")
			s.promote("ami-c")
		}, 3, false, nil, map[int64]ReleaseState{2: ReleaseRolledBack, 3: ReleaseWasLive}},
		{"order of being live, not of version numbers", func(s *story) {
			s.promote("ami-b")                   // v2
			s.promote("ami-c")                   // v3
			s.rollbackTo(1, "alice", "bad data") // v1 live again, ami-c rolled back
			s.promote("ami-d")                   // v4
			s.rollbackTo(1, "alice", "again")    // ami-d rolled back
		}, 2, false, []int64{4, 3}, map[int64]ReleaseState{1: ReleaseLive, 2: ReleaseWasLive, 3: ReleaseRolledBack, 4: ReleaseRolledBack}},
		{"versions with the current AMI are no release to return to", func(s *story) {
			s.promote("ami-b")
			s.promote("ami-a")
		}, 2, false, nil, nil},
		{"nothing ran before", func(s *story) {}, 0, false, nil, map[int64]ReleaseState{1: ReleaseLive}},
		{"refresh history unreadable: version order, unverified", func(s *story) {
			s.promote("ami-b")
			v := s.create("ami-c")
			s.refresh(v, "RollbackSuccessful")
			s.promote("ami-d")
			s.known = false
		}, 3, true, nil, map[int64]ReleaseState{3: ReleaseUnknown, 4: ReleaseLive}},
		{"refresh history unreadable, but a mark still counts", func(s *story) {
			s.promote("ami-b")
			s.promote("ami-c")
			s.mark("ami-b", Mark{Kind: MarkBad, Who: "bob"})
			s.known = false
		}, 1, true, []int64{2}, map[int64]ReleaseState{2: ReleaseMarkedBad}},
		{"a rollout in progress is no release to return to", func(s *story) {
			s.promote("ami-b")
			v := s.create("ami-c")
			s.refreshes = append(s.refreshes, Refresh{ID: "live", Status: "InProgress", StartedAt: s.tick(), DesiredVersion: fmt.Sprint(v), Percent: 40})
		}, 1, false, nil, map[int64]ReleaseState{2: ReleaseLive, 3: ReleaseRollingOut}},
		{"$Latest in a refresh is the newest version when it started", func(s *story) {
			v := s.create("ami-b")
			s.refreshes = append(s.refreshes, Refresh{ID: "x", Status: "Successful", StartedAt: s.tick(), EndedAt: s.now.Add(time.Minute), DesiredVersion: "$Latest"})
			s.current = v
			s.create("ami-c")
			s.refresh(3, "RollbackSuccessful")
		}, 1, false, []int64{3}, map[int64]ReleaseState{2: ReleaseLive, 3: ReleaseRolledBack}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStory("ami-a")
			tt.build(s)
			l := s.ledger()
			c := l.Previous()
			if got := c.Target.Version; c.OK != (tt.want != 0) || (c.OK && got != tt.want) {
				t.Fatalf("Previous = v%d ok=%v (%s), want v%d\n%s", got, c.OK, c.Why, tt.want, dump(l))
			}
			if c.Unverified != tt.unverified {
				t.Errorf("Unverified = %v, want %v", c.Unverified, tt.unverified)
			}
			var skipped []int64
			for _, sk := range c.Skipped {
				skipped = append(skipped, sk.Entry.Version)
			}
			if fmt.Sprint(skipped) != fmt.Sprint(tt.skipped) && !(len(skipped) == 0 && len(tt.skipped) == 0) {
				t.Errorf("skipped %v, want %v\n%s", skipped, tt.skipped, dump(l))
			}
			for v, want := range tt.states {
				e, ok := l.Entry(v)
				if !ok || e.State != want {
					t.Errorf("v%d state %q (%s), want %q\n%s", v, e.State, e.Detail, want, dump(l))
				}
			}
		})
	}
}

func dump(l Ledger) string {
	var b strings.Builder
	for _, e := range l.Entries {
		fmt.Fprintf(&b, "  v%d %s %s: %s [%s..%s]\n", e.Version, e.ImageID, e.State, e.Detail, e.LiveFrom.Format("15:04"), e.LiveUntil.Format("15:04"))
	}
	return b.String()
}

func TestLedgerSkippedNamesWhoAndWhy(t *testing.T) {
	s := newStory("ami-a")
	s.promote("ami-b")
	s.rollbackTo(1, "arn:aws:iam::1:user/alice", "5xx spike")
	s.promote("ami-c")
	c := s.ledger().Previous()
	if len(c.Skipped) != 1 {
		t.Fatalf("skipped %v", c.Skipped)
	}
	why := c.Skipped[0].Why
	for _, want := range []string{"rolled back", "by alice", "5xx spike", "in production"} {
		if !strings.Contains(why, want) {
			t.Errorf("skip reason %q lacks %q", why, want)
		}
	}
}

func TestLedgerNeverRolledOutNeedsHistoryThatCoversIt(t *testing.T) {
	s := newStory("ami-a")
	s.promote("ami-b")
	s.create("ami-c")
	l := DeriveLedger(LedgerInput{Versions: s.versions, Refreshes: s.refreshes, HistoryKnown: true, Current: s.current,
		Now: s.now.Add(RefreshHistoryRetention + time.Hour)})
	if e, _ := l.Entry(3); e.State != ReleaseUnknown {
		t.Errorf("a version older than the refresh history is %q, want unknown", e.State)
	}
}

func TestMarkTagRoundTripAndLimit(t *testing.T) {
	m := Mark{Kind: MarkRolledBack, When: time.Date(2026, 11, 30, 23, 14, 0, 0, time.UTC), Env: "production", Who: "arn:aws:iam::1:user/alice", Reason: "5xx; spike"}
	v, err := m.TagValue()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ParseMark(m.TagKey(), v)
	if !ok || got != m {
		t.Errorf("round trip: %+v %v, want %+v", got, ok, m)
	}
	if _, ok := ParseMark(TagMark, v); ok {
		t.Error("a rolled-back value parsed under the mark key")
	}
	m.Reason = strings.Repeat("x", 300)
	if _, err := m.TagValue(); err == nil || !strings.Contains(err.Error(), "shorten the reason to") {
		t.Errorf("long reason: %v", err)
	}
}

// BenchmarkDeriveLedger derives a long-lived group's ledger: 500 versions, each promoted with
// a release note and rolled out by a refresh (every tenth rolled back, every twentieth never
// rolled out), then picks the previous release.
func BenchmarkDeriveLedger(b *testing.B) {
	s := newStory("ami-0")
	for i := 1; i < 500; i++ {
		img := fmt.Sprintf("ami-%d", i)
		switch {
		case i%20 == 0:
			s.create(img)
		case i%10 == 0:
			v := s.create(img)
			s.refresh(v, "RollbackSuccessful")
		default:
			s.promote(img)
		}
	}
	in := LedgerInput{Group: "g", Template: "t", Versions: s.versions, Refreshes: s.refreshes, HistoryKnown: true, Marks: s.marks, Current: s.current, Now: s.now}
	b.ReportAllocs()
	for b.Loop() {
		l := DeriveLedger(in)
		if c := l.Previous(); !c.OK {
			b.Fatal(c.Why)
		}
	}
}

// A ledger whose versions could not be read says so instead of "no previous release".
func TestLedgerUnreadSaysWhy(t *testing.T) {
	l := Ledger{Group: "g", Template: "t", HistoryProblem: "the versions of launch template t could not be read: AWS denied ec2:DescribeLaunchTemplateVersions"}
	c := l.Previous()
	if c.OK || !strings.Contains(c.Why, "cannot tell the previous release") || !strings.Contains(c.Why, "AWS denied") || strings.Contains(c.Why, "no previous release") {
		t.Errorf("Why = %q", c.Why)
	}
}
