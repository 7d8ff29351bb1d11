package model

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ReleaseState is what happened to a release, as AWS recorded it (instance refreshes and
// their outcomes) and as operators marked it. It is never taken from version numbers.
type ReleaseState string

const (
	ReleaseLive           ReleaseState = "live"             // the group launches it now
	ReleaseRollingOut     ReleaseState = "rolling out"      // a refresh is rolling it out
	ReleaseRollingBack    ReleaseState = "rolling back"     // its refresh is being rolled back
	ReleaseWasLive        ReleaseState = "was live"         // it ran, and was replaced normally
	ReleaseRolledBack     ReleaseState = "rolled back"      // its rollout, or the release, was rolled back
	ReleaseFailed         ReleaseState = "failed"           // its rollout failed or was cancelled
	ReleaseNeverRolledOut ReleaseState = "never rolled out" // created, but no rollout ever started
	ReleaseMarkedBad      ReleaseState = "marked bad"       // an operator marked its image bad
	ReleaseUnknown        ReleaseState = "unknown outcome"  // no record says whether it ran
)

// RefreshHistoryRetention is how far back DescribeInstanceRefreshes answers: "information
// about the instance refreshes for the specified Auto Scaling group from the previous six
// weeks" (Amazon EC2 Auto Scaling API Reference, DescribeInstanceRefreshes).
const RefreshHistoryRetention = 6 * 7 * 24 * time.Hour

// LedgerEntry is one release (launch template version) of a group with what happened to it.
type LedgerEntry struct {
	Release
	// Note is the release note promote wrote (who, when, from, to, why), when there is one.
	Note    ReleaseNote
	HasNote bool
	State   ReleaseState
	// Detail says why the release is in its state, in one line, e.g. "rolled back
	// 2026-11-30 23:14 UTC in production by alice: 5xx spike".
	Detail string
	// LiveFrom and LiveUntil bound the last period the group ran it; LiveUntil is zero while
	// it is live, both are zero when it never was (or nothing says when). LiveInferred is set
	// when the period's start comes from a later release note rather than a refresh.
	LiveFrom, LiveUntil time.Time
	LiveInferred        bool
	// Outcome is the status of the newest instance refresh that rolled it out ("" when none
	// is on record); Refreshes are all of them, newest first.
	Outcome   string
	Refreshes []Refresh
	// Verdict is the operators' mark against its image, if any (see Verdict).
	Verdict    Mark
	HasVerdict bool
	// Marks are every mark on its image.
	Marks []Mark
}

// Who is who released it: the release note's author, else the version's creator.
func (e LedgerEntry) Who() string {
	if e.HasNote && e.Note.Who != "" {
		return e.Note.Who
	}
	return e.CreatedBy
}

// Why is the release note's reason.
func (e LedgerEntry) Why() string { return e.Note.Why }

// Ledger is the release history of one group: every version of its launch template with
// its state, newest version first.
type Ledger struct {
	Group        string
	Template     string
	Current      int64 // the version the group launches now, 0 when unknown
	CurrentImage string
	Entries      []LedgerEntry
	// HistoryKnown is false when the group's instance refreshes could not be read; then
	// every outcome is unknown, and HistoryProblem says why.
	HistoryKnown   bool
	HistoryProblem string
}

// Entry finds a version.
func (l Ledger) Entry(version int64) (LedgerEntry, bool) {
	for _, e := range l.Entries {
		if e.Version == version {
			return e, true
		}
	}
	return LedgerEntry{}, false
}

// LedgerInput is what a ledger is derived from, all of it read from AWS.
type LedgerInput struct {
	Group    string
	Template string
	Versions []Release
	// Refreshes are the group's instance refreshes that name this template or no template
	// (any order); DesiredVersion is the version as AWS returned it.
	Refreshes []Refresh
	// HistoryKnown is false when the refreshes could not be read.
	HistoryKnown   bool
	HistoryProblem string
	// Marks are the marks on each image, by image ID.
	Marks        map[string][]Mark
	Current      int64
	CurrentImage string
	Now          time.Time
}

// liveEvent is the moment a version became what the group runs.
type liveEvent struct {
	at       time.Time
	version  int64
	inferred bool
}

// DeriveLedger works out what happened to every release of a group from what AWS recorded:
//   - an instance refresh that ended Successful made its version live at its end;
//   - a release note ("from AMI X", written when the next version was promoted) says the
//     group ran X at that moment: the version with X that it ran then was live;
//   - the version the group launches now is live;
//   - a refresh that ended RollbackSuccessful or RollbackFailed rolled its version back; one
//     that ended Failed or Cancelled failed it, unless a later refresh made it live;
//   - a rolled-back mark newer than a release's last live start rolled it back; a bad mark
//     (not overridden by a newer good one) marks it bad;
//   - a version that no refresh ever rolled out and that was never live is "never rolled
//     out" when the refresh history covers its creation and promote wrote it (promote always
//     starts a refresh), else its outcome is unknown.
func DeriveLedger(in LedgerInput) Ledger {
	l := Ledger{Group: in.Group, Template: in.Template, Current: in.Current, CurrentImage: in.CurrentImage,
		HistoryKnown: in.HistoryKnown, HistoryProblem: in.HistoryProblem}
	byVersion := map[int64]int{}
	for _, r := range in.Versions {
		e := LedgerEntry{Release: r}
		e.Note, e.HasNote = ParseReleaseNote(r.Description)
		e.Marks = in.Marks[r.ImageID]
		e.Verdict, e.HasVerdict = Verdict(e.Marks)
		l.Entries = append(l.Entries, e)
	}
	slices.SortFunc(l.Entries, func(a, b LedgerEntry) int { return cmp.Compare(b.Version, a.Version) })
	for i, e := range l.Entries {
		byVersion[e.Version] = i
	}
	if l.CurrentImage == "" {
		if i, ok := byVersion[l.Current]; ok {
			l.CurrentImage = l.Entries[i].ImageID
		}
	}

	// Refreshes, attributed to the version they rolled out, oldest first.
	refreshes := slices.Clone(in.Refreshes)
	slices.SortFunc(refreshes, func(a, b Refresh) int { return a.StartedAt.Compare(b.StartedAt) })
	var events []liveEvent
	var active *Refresh
	for i := range refreshes {
		r := &refreshes[i]
		v, ok := attribute(r, l.Entries, byVersion)
		if !ok {
			continue
		}
		e := &l.Entries[byVersion[v]]
		e.Refreshes = append([]Refresh{*r}, e.Refreshes...)
		e.Outcome = r.Status
		if r.Status == "Successful" {
			events = append(events, liveEvent{at: endOf(r), version: v})
		}
		if r.Active() {
			active = r
		}
	}
	slices.SortStableFunc(events, func(a, b liveEvent) int { return a.at.Compare(b.at) })

	// Release notes: the AMI a promote replaced was live when it wrote the note.
	notes := slices.Clone(l.Entries)
	slices.SortFunc(notes, func(a, b LedgerEntry) int { return a.Note.When.Compare(b.Note.When) })
	for _, n := range notes {
		if !n.HasNote || n.Note.From == "" {
			continue
		}
		if v, ok := liveAt(events, n.Note.When); ok && l.Entries[byVersion[v]].ImageID == n.Note.From {
			continue
		}
		u, ok := ranBefore(l.Entries, n.Note.From, n.Note.When, n.Version)
		if !ok {
			continue
		}
		ev := liveEvent{at: n.Note.When.Add(-time.Nanosecond), version: u, inferred: true}
		i, _ := slices.BinarySearchFunc(events, ev.at, func(e liveEvent, t time.Time) int { return e.at.Compare(t) })
		events = slices.Insert(events, i, ev)
	}

	// The version the group launches now is live, after everything else.
	if _, ok := byVersion[l.Current]; ok {
		if len(events) == 0 || events[len(events)-1].version != l.Current {
			at := l.Entries[byVersion[l.Current]].CreatedAt
			if len(events) > 0 && !events[len(events)-1].at.Before(at) {
				at = events[len(events)-1].at.Add(time.Nanosecond)
			}
			events = append(events, liveEvent{at: at, version: l.Current, inferred: true})
		}
	}

	// Live periods: each event lasts until the next one.
	for i, ev := range events {
		e := &l.Entries[byVersion[ev.version]]
		e.LiveFrom, e.LiveInferred = ev.at, ev.inferred
		e.LiveUntil = time.Time{}
		if i+1 < len(events) {
			e.LiveUntil = events[i+1].at
		}
	}

	oldest := in.Now.Add(-RefreshHistoryRetention)
	for i := range l.Entries {
		e := &l.Entries[i]
		e.State, e.Detail = state(e, l.Current, active, in.HistoryKnown, oldest)
	}
	return l
}

// attribute names the version a refresh rolled out: its desired configuration's version,
// "$Latest" being the newest version created before it started. A refresh without a desired
// configuration (or naming "$Default") cannot be attributed.
func attribute(r *Refresh, entries []LedgerEntry, byVersion map[int64]int) (int64, bool) {
	if n, err := strconv.ParseInt(r.DesiredVersion, 10, 64); err == nil && n > 0 {
		_, ok := byVersion[n]
		return n, ok
	}
	if r.DesiredVersion == "$Latest" {
		for i := range entries { // newest version first
			if !entries[i].CreatedAt.After(r.StartedAt) {
				return entries[i].Version, true
			}
		}
	}
	return 0, false
}

func endOf(r *Refresh) time.Time {
	if !r.EndedAt.IsZero() {
		return r.EndedAt
	}
	return r.StartedAt
}

// liveAt is the version the events say was live at t.
func liveAt(events []liveEvent, t time.Time) (int64, bool) {
	// The first event after t; the one before it was live at t.
	i := sort.Search(len(events), func(i int) bool { return events[i].at.After(t) })
	if i == 0 {
		return 0, false
	}
	return events[i-1].version, true
}

// ranBefore is the version with image that the group most likely ran at t: the newest
// version with that image created before t and before the version whose note names it.
func ranBefore(entries []LedgerEntry, image string, t time.Time, noteVersion int64) (int64, bool) {
	for i := range entries { // newest version first
		if e := &entries[i]; e.ImageID == image && e.Version != noteVersion && !e.CreatedAt.After(t) {
			return e.Version, true
		}
	}
	return 0, false
}

// state decides one release's state and its one-line detail.
func state(e *LedgerEntry, current int64, active *Refresh, historyKnown bool, oldest time.Time) (ReleaseState, string) {
	if active != nil && len(e.Refreshes) > 0 && e.Refreshes[0].ID == active.ID {
		if active.Status == "RollbackInProgress" {
			return ReleaseRollingBack, fmt.Sprintf("its rollout (refresh %s) is being rolled back, %d%% of it undone", active.ID, active.Progress())
		}
		return ReleaseRollingOut, fmt.Sprintf("refresh %s %s, %d%%", active.ID, active.Status, active.Percent)
	}
	wasLive := !e.LiveFrom.IsZero()
	if e.Version == current {
		d := "the group launches it"
		if !e.LiveInferred {
			d = "live since " + stampOf(e.LiveFrom)
		}
		if e.HasVerdict {
			d += "; " + e.Verdict.String()
		}
		return ReleaseLive, d
	}
	if e.HasVerdict {
		switch e.Verdict.Kind {
		case MarkBad:
			return ReleaseMarkedBad, e.Verdict.String()
		case MarkRolledBack:
			// A rolled-back mark counts against the release it was written for: one that was
			// live before the mark, or whose rollout was under way.
			if !wasLive || !e.Verdict.When.Before(e.LiveFrom) {
				return ReleaseRolledBack, e.Verdict.String()
			}
		}
	}
	if !historyKnown {
		if wasLive {
			return ReleaseUnknown, "ran until " + stampOf(e.LiveUntil) + ", but the instance refresh history could not be read"
		}
		return ReleaseUnknown, "the instance refresh history could not be read"
	}
	if len(e.Refreshes) > 0 {
		r := e.Refreshes[0]
		// A failed rollout counts unless a later refresh made the release live after it.
		if !wasLive || e.LiveFrom.Before(r.StartedAt) {
			switch r.Status {
			case "RollbackSuccessful", "RollbackFailed":
				why := r.RollbackReason
				if why == "" {
					why = r.StatusReason
				}
				return ReleaseRolledBack, fmt.Sprintf("its rollout was rolled back %s (refresh %s %s): %s", stampOf(endOf(&r)), r.ID, r.Status, why)
			case "Failed":
				return ReleaseFailed, fmt.Sprintf("its rollout failed %s (refresh %s): %s", stampOf(endOf(&r)), r.ID, r.StatusReason)
			case "Cancelled":
				return ReleaseFailed, fmt.Sprintf("its rollout was cancelled %s (refresh %s), part-way", stampOf(endOf(&r)), r.ID)
			}
		}
	}
	if wasLive {
		how := "live"
		if e.LiveInferred {
			how = "ran"
		}
		if e.LiveInferred && e.Outcome == "" {
			return ReleaseWasLive, fmt.Sprintf("%s until %s (a later release note says so)", how, stampOf(e.LiveUntil))
		}
		return ReleaseWasLive, fmt.Sprintf("%s %s to %s", how, stampOf(e.LiveFrom), stampOf(e.LiveUntil))
	}
	if e.HasNote && e.CreatedAt.After(oldest) {
		return ReleaseNeverRolledOut, "created " + stampOf(e.CreatedAt) + " by a promote, but no instance refresh ever rolled it out"
	}
	return ReleaseUnknown, "no instance refresh on record rolled it out, and no release note says it ran"
}

func stampOf(t time.Time) string {
	if t.IsZero() {
		return "(unknown time)"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Skip is a release a rollback passed over, and why.
type Skip struct {
	Entry LedgerEntry
	Why   string
}

// RollbackChoice is what a rollback of one group returns to.
type RollbackChoice struct {
	Target LedgerEntry
	OK     bool
	// Older are the other releases that qualify, in the order they were live, newest first.
	Older []LedgerEntry
	// Skipped are the releases passed over on the way, newest first, with why.
	Skipped []Skip
	// Unverified is set when no release is known to have been live and healthy, so the
	// target was chosen by version order among releases whose outcome is unknown: the
	// operator must confirm it.
	Unverified bool
	// Why says why there is no target, when OK is false.
	Why string
}

// Previous is the one previous-release rule, used by readiness (the services column, the
// service screen, status) and by the rollback plan alike: the newest release that was live
// and not rolled back, failed or marked bad, in the order releases were live, whose AMI is
// not the one the group runs now. Releases with an unknown outcome are skipped while a known
// good one exists; when none does, the newest of them by version is offered as unverified.
func (l Ledger) Previous() RollbackChoice {
	var c RollbackChoice
	if len(l.Entries) == 0 && l.HistoryProblem != "" {
		// Nothing could be read: say why, never "no previous release".
		c.Why = "cannot tell the previous release: " + l.HistoryProblem
		return c
	}
	var good, unknown []LedgerEntry
	for _, e := range l.Entries {
		if e.Version == l.Current || e.ImageID == "" {
			continue
		}
		if e.ImageID == l.CurrentImage {
			continue
		}
		switch e.State {
		case ReleaseWasLive:
			good = append(good, e)
		case ReleaseUnknown:
			if e.Version < l.Current || l.Current == 0 {
				unknown = append(unknown, e)
			}
			c.Skipped = append(c.Skipped, Skip{e, "outcome unknown: " + e.Detail})
		case ReleaseRollingOut, ReleaseRollingBack:
			// The rollout under way is what a rollback reverses; it is no release to return to.
		default:
			why := e.Detail
			if !strings.HasPrefix(why, string(e.State)) {
				why = string(e.State) + ": " + why
			}
			c.Skipped = append(c.Skipped, Skip{e, why})
		}
	}
	slices.SortStableFunc(good, func(a, b LedgerEntry) int {
		if d := b.LiveUntil.Compare(a.LiveUntil); d != 0 {
			return d
		}
		return cmp.Compare(b.Version, a.Version)
	})
	good = uniqueImages(good)
	if len(good) > 0 {
		c.Target, c.Older, c.OK = good[0], good[1:], true
		c.Skipped = skippedBefore(c.Skipped, c.Target)
		return c
	}
	unknown = uniqueImages(unknown) // already newest version first
	if len(unknown) > 0 {
		c.Target, c.Older, c.OK, c.Unverified = unknown[0], unknown[1:], true, true
		c.Skipped = skippedBefore(c.Skipped, c.Target)
		var kept []Skip
		for _, s := range c.Skipped {
			if s.Entry.State != ReleaseUnknown {
				kept = append(kept, s)
			}
		}
		c.Skipped = kept
		return c
	}
	c.Why = fmt.Sprintf("no previous release: no release of launch template %s was live and healthy before version %d", l.Template, l.Current)
	return c
}

// uniqueImages keeps the first release of each AMI.
func uniqueImages(rels []LedgerEntry) []LedgerEntry {
	seen := map[string]bool{}
	var out []LedgerEntry
	for _, e := range rels {
		if !seen[e.ImageID] {
			seen[e.ImageID] = true
			out = append(out, e)
		}
	}
	return out
}

// skippedBefore keeps the skipped releases that an operator would have expected instead of
// the target: those newer than it (by version, or live after it).
func skippedBefore(skipped []Skip, target LedgerEntry) []Skip {
	var out []Skip
	for _, s := range skipped {
		if s.Entry.Version > target.Version || s.Entry.LiveUntil.After(target.LiveUntil) {
			out = append(out, s)
		}
	}
	return out
}

// Candidates are the releases an operator may name with --to-version: every version with
// an AMI other than the current one, newest first, with its state.
func (l Ledger) Candidates() []LedgerEntry {
	var out []LedgerEntry
	for _, e := range l.Entries {
		if e.Version != l.Current && e.ImageID != "" && e.ImageID != l.CurrentImage {
			out = append(out, e)
		}
	}
	return out
}

// ResolveVersion is the version a group launches when it names "$Latest" or "$Default": the
// newest version, or the one marked default. A numeric version is returned as it is.
func ResolveVersion(versions []Release, numeric int64, alias string) int64 {
	if numeric > 0 {
		return numeric
	}
	var cur int64
	for _, r := range versions {
		if alias == "$Default" && r.Default {
			return r.Version
		}
		cur = max(cur, r.Version)
	}
	return cur
}

// LiveAt is the release the group ran at t, as far as the ledger knows (the last period each
// release was live).
func (l Ledger) LiveAt(t time.Time) (LedgerEntry, bool) {
	for _, e := range l.Entries {
		if !e.LiveFrom.IsZero() && !e.LiveFrom.After(t) && (e.LiveUntil.IsZero() || t.Before(e.LiveUntil)) {
			return e, true
		}
	}
	return LedgerEntry{}, false
}
