package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/adstage/adstage-ops/model"
)

// releaseList is the service screen's release list: each group's release ledger (what AWS
// did with every release), newest version first. Groups whose ledgers say the same thing
// (one launch template, the same states) are shown once.
type releaseList struct {
	loaded bool
	err    string
	// blocks are the ledgers shown: one when the groups share theirs, else one per group.
	blocks []model.Ledger
	// shared names the groups of a single block that stands for several.
	shared   []string
	problems []string
}

func (r *releaseList) apply(msg ledgerMsg) {
	r.loaded, r.err = true, ""
	if msg.err != nil {
		r.err = explain(msg.err)
		return // the last good list stays
	}
	r.blocks, r.shared, r.problems = releaseBlocks(msg.h.Ledgers), nil, msg.h.Problems
	if len(r.blocks) == 1 && len(msg.h.Ledgers) > 1 {
		for _, l := range msg.h.Ledgers {
			r.shared = append(r.shared, l.Group)
		}
	}
}

// releaseBlocks folds ledgers that say the same thing into one.
func releaseBlocks(ls []model.Ledger) []model.Ledger {
	if len(ls) < 2 {
		return ls
	}
	for _, l := range ls[1:] {
		if !sameLedger(ls[0], l) {
			return ls
		}
	}
	return ls[:1]
}

func sameLedger(a, b model.Ledger) bool {
	if a.Template != b.Template || a.Current != b.Current || a.HistoryKnown != b.HistoryKnown {
		return false
	}
	return slices.EqualFunc(a.Entries, b.Entries, func(x, y model.LedgerEntry) bool {
		return x.Version == y.Version && x.ImageID == y.ImageID && x.State == y.State && x.Detail == y.Detail
	})
}

// historyProblem is why a ledger's refresh history could not be read, if one could not.
func (r *releaseList) historyProblem() string {
	for _, l := range r.blocks {
		if l.HistoryProblem != "" {
			return l.HistoryProblem
		}
	}
	return ""
}

// Release row columns; the detail takes what is left.
const (
	colVersion     = 5
	colReleaseSt   = 17
	colWhenNarrow  = 13
	colWhenWide    = 26
	colWhoNarrow   = 15
	colWhoWide     = 16
	wideReleaseRow = 140
)

func (v *serviceView) releasesHeader() string {
	st := v.c.st
	r := &v.releases
	s := st.Title.Render("Releases") + st.Muted.Render(" (newest first; what AWS did with each)")
	switch {
	case !r.loaded:
		s += "  " + st.Busy.Render(v.c.spinner()+" reading the release ledger…")
	case r.err != "":
		s += "  " + st.Warning.Render("could not read: "+r.err)
	case len(r.blocks) == 0:
		s += "  " + st.Muted.Render("none: no group of this service has a launch template")
	case len(r.shared) > 0:
		s += "  " + st.Muted.Render("groups "+strings.Join(r.shared, ", ")+" share them")
	case len(r.blocks) == 1:
		s += "  " + st.Muted.Render("group "+r.blocks[0].Group)
	}
	if len(r.problems) > 0 {
		s += "  " + st.Warning.Render("⚠ "+strings.Join(r.problems, "; "))
	}
	return s
}

func (v *serviceView) releaseGroupLine(block int) string {
	st := v.c.st
	l := v.releases.blocks[block]
	s := "  " + st.Title.Render(l.Group) + st.Muted.Render(" launch template "+orDash(l.Template))
	if !l.HistoryKnown && l.HistoryProblem != "" {
		s += "  " + st.Warning.Render(l.HistoryProblem)
	}
	return s
}

// releaseLine is one release: version, AMI, state, when, who and why, cut to the width.
func (v *serviceView) releaseLine(block, entry int) string {
	st := v.c.st
	e := v.releases.blocks[block].Entries[entry]
	wide := v.width >= wideReleaseRow
	whenW, whoW := colWhenNarrow, colWhoNarrow
	if wide {
		whenW, whoW = colWhenWide, colWhoWide
	}
	state := releaseStateStyle(st, e.State).Render(pad(string(e.State), colReleaseSt))
	detail := e.Detail
	if why := e.Why(); why != "" {
		detail += " · why: " + why
	}
	head := "  " + pad(fmt.Sprintf("v%d", e.Version), colVersion) + pad(orDash(e.ImageID), colAMI) + state + cell(releaseWhen(e, wide), whenW) + cell(model.ShortWho(e.Who()), whoW)
	room := v.width - lipgloss.Width(head)
	if room < 2 {
		return head
	}
	return head + truncate(st.Muted.Render(detail), room)
}

// releaseStateStyle colours a state by what it means for the operator.
func releaseStateStyle(st Styles, s model.ReleaseState) lipgloss.Style {
	switch s {
	case model.ReleaseLive:
		return st.OK
	case model.ReleaseRollingOut, model.ReleaseRollingBack:
		return st.Busy
	case model.ReleaseWasLive:
		return st.Row
	case model.ReleaseRolledBack, model.ReleaseMarkedBad:
		return st.Warning
	case model.ReleaseFailed:
		return st.Error
	}
	return st.Muted // never rolled out, unknown outcome
}

// releaseWhen is when the release ran: "11-25 22:12 – now" (wide) or "11-25→now", "?" for
// a start that only a later release note implies; "made 11-28" when it never ran.
func releaseWhen(e model.LedgerEntry, wide bool) string {
	layout := "01-02"
	if wide {
		layout = "01-02 15:04"
	}
	stamp := func(t time.Time) string { return t.UTC().Format(layout) }
	if e.LiveFrom.IsZero() {
		if e.CreatedAt.IsZero() {
			return "-"
		}
		return "made " + stamp(e.CreatedAt)
	}
	from, until := stamp(e.LiveFrom), "now"
	if e.LiveInferred && !e.LiveUntil.IsZero() {
		from = "?"
	}
	if !e.LiveUntil.IsZero() {
		until = stamp(e.LiveUntil)
	}
	if wide {
		return from + " – " + until
	}
	return from + "→" + until
}

// cell pads s to w columns, keeping a space after it even when it is cut.
func cell(s string, w int) string { return pad(s, w-1) + " " }
