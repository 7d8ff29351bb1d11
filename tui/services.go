package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/sahilm/fuzzy"

	"github.com/adstage/adstage-ops/model"
)

// servicesView is the services screen: one row per service and environment, fuzzy-filtered.
type servicesView struct {
	c             *common
	width, height int

	rows []model.ServiceKey // what is listed, in order
	base []model.ServiceKey // what the filter (or the fleet) lists, before problems only
	// problems lists only the services with a problem, the worst first.
	problems bool
	matches  map[model.ServiceKey][]int // matched character positions in the row's name
	all      []candidate                // every service with its search text, built once per fleet
	matched  []candidate                // the candidates the current query matched
	index    map[model.ServiceKey]int   // position of each service in the fleet
	cursor   int
	offset   int

	input     textinput.Model
	filtering bool
	query     string // the query the rows answer
	gen       int    // newest filter request
	applied   int    // the request whose result the list shows
	// pending is the newest filter request while its result has not arrived (filterCmd runs
	// it off the update loop): a key that acts on a row settles it first.
	pending *filterRequest

	// regionW is the REGION column's width: 0 (no column) unless the fleet has a service
	// with a row per region (model.Fleet.SplitRegions).
	regionW int

	summary  map[model.ServiceKey]rowSummary // per snapshot, for rows shown: frames do not rescan instances
	cache    map[model.ServiceKey]rowCache
	rendered int // rows formatted by the last view (tests count it)
}

// rowSummary is what a service's row shows of the fleet, computed once per snapshot.
type rowSummary struct {
	counts  model.Counts
	release string
	state   model.State
}

func summarize(s *model.Service) rowSummary {
	return rowSummary{counts: s.Counts(), release: s.Release(), state: s.State()}
}

type rowCache struct {
	sig  string
	line string
}

func newServicesView(c *common) *servicesView {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "filter services"
	return &servicesView{c: c, input: in, cache: map[model.ServiceKey]rowCache{}, index: map[model.ServiceKey]int{}, summary: map[model.ServiceKey]rowSummary{}}
}

// Init does nothing: the root reads the fleet.
func (v *servicesView) Init() tea.Cmd { return nil }

// SetSize gives the screen its body.
func (v *servicesView) SetSize(w, h int) { v.width, v.height = w, h }

// Capturing reports whether the filter is taking text.
func (v *servicesView) Capturing() bool { return v.filtering }

// ShortHelp is the screen's own bindings.
func (v *servicesView) ShortHelp() []key.Binding {
	k := v.c.keys
	if v.filtering {
		return helpBindings(k.Filter.Apply, k.Filter.Clear)
	}
	b := []Binding{k.Services.Open, k.Services.Filter, k.Services.Promote, k.Services.Rollback, k.Services.Cancel, k.Services.Audit, k.Services.Problems, k.Global.Command}
	if v.query != "" {
		b = append(b, k.Filter.Clear)
	}
	return helpBindings(b...)
}

// FullHelp is the screen's bindings and the cursor's.
func (v *servicesView) FullHelp() [][]key.Binding {
	if v.filtering {
		return [][]key.Binding{v.ShortHelp()}
	}
	return [][]key.Binding{v.ShortHelp(), navBindings(v.c.keys.Nav)}
}

func navBindings(k NavKeys) []key.Binding {
	return helpBindings(k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown)
}

// Update takes a new fleet, a filter result or a key.
func (v *servicesView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case fleetMsg:
		return v, v.fleetChanged(&v.c.fleet)
	case filterMsg:
		v.applyFilter(msg)
	case tea.KeyMsg:
		if v.filtering {
			return v, v.filterKey(msg)
		}
		v.settle()
		return v, v.handleKey(msg)
	}
	return v, nil
}

// fleetChanged re-indexes the services and re-runs the filter over the new fleet.
func (v *servicesView) fleetChanged(f *model.Fleet) tea.Cmd {
	clear(v.index)
	clear(v.summary)
	split := false
	longest := 0
	for i := range f.Services {
		s := &f.Services[i]
		v.index[s.ServiceKey] = i
		split = split || s.Region != ""
		longest = max(longest, len(rowRegion(s)))
	}
	v.regionW = 0
	if split {
		v.regionW = max(longest, len("REGION")) + 2
	}
	v.all = allCandidates(f)
	if v.query == "" {
		at, ok := v.selected()
		v.base = make([]model.ServiceKey, 0, len(f.Services))
		for i := range f.Services {
			v.base = append(v.base, f.Services[i].ServiceKey)
		}
		v.rows = v.arrange(v.base)
		v.matches = nil
		if ok {
			v.cursorTo(at)
		}
		v.clamp()
		return nil
	}
	return v.request(v.query, v.all)
}

// candidate is a service and the text the filter searches: "name env", built once per fleet
// so that a keystroke allocates no strings.
type candidate struct {
	key  model.ServiceKey
	text string
	pos  int // in the list: ties in the ranking keep the list's order
}

func allCandidates(f *model.Fleet) []candidate {
	out := make([]candidate, len(f.Services))
	for i := range f.Services {
		k := f.Services[i].ServiceKey
		text := k.Name + " " + k.Env
		if k.Region != "" {
			text += " " + k.Region
		}
		out[i] = candidate{key: k, text: text, pos: i}
	}
	return out
}

// filterMsg carries the result of one filter request.
type filterMsg struct {
	gen     int
	query   string
	rows    []model.ServiceKey
	matched []candidate
	matches map[model.ServiceKey][]int
}

// candidateSource lets sahilm/fuzzy search the prepared texts.
type candidateSource []candidate

func (s candidateSource) String(i int) string { return s[i].text }
func (s candidateSource) Len() int            { return len(s) }

// filterCmd matches the query against the candidates off the key path. The candidates slice
// is never written after it is built, so the command may read it while Update goes on.
func filterCmd(gen int, query string, cands []candidate) tea.Cmd {
	return func() tea.Msg { return runFilter(gen, query, cands) }
}

// runFilter ranks the candidates that match the query. Every query word that is a whole
// word of the row ("web", "api production") ranks it first, a word's prefix ("prod") next,
// any other subsequence last, by sahilm/fuzzy's score; every tie keeps the list's order, so
// that "web" lists web/production before web/staging as the unfiltered list does, and the
// same query gives the same order on every refresh.
func runFilter(gen int, query string, cands []candidate) filterMsg {
	out := filterMsg{gen: gen, query: query, matches: map[model.ServiceKey][]int{}}
	if query == "" {
		out.matched = cands
		for _, c := range cands {
			out.rows = append(out.rows, c.key)
		}
		return out
	}
	type ranked struct {
		fuzzy.Match
		tier int
	}
	words := strings.Fields(strings.ToLower(query))
	var found []ranked
	for _, mt := range fuzzy.FindFromNoSort(query, candidateSource(cands)) {
		found = append(found, ranked{mt, matchTier(words, cands[mt.Index].text)})
	}
	slices.SortStableFunc(found, func(a, b ranked) int {
		if a.tier != b.tier {
			return a.tier - b.tier
		}
		if a.tier == tierSubsequence && a.Score != b.Score {
			return b.Score - a.Score
		}
		return cands[a.Index].pos - cands[b.Index].pos
	})
	for _, mt := range found {
		k := cands[mt.Index].key
		out.matched = append(out.matched, cands[mt.Index])
		out.rows = append(out.rows, k)
		var inName []int
		for _, p := range mt.MatchedIndexes {
			if p < len(k.Name) {
				inName = append(inName, p)
			}
		}
		out.matches[k] = inName
	}
	return out
}

// Match tiers, best first.
const (
	tierWord = iota
	tierPrefix
	tierSubsequence
)

// matchTier says how well the query words match a row's text ("web production"): each a
// whole word (of the name, its dash-separated parts or the environment), each at least a
// word's prefix, or only a subsequence.
func matchTier(words []string, text string) int {
	fields := strings.Fields(strings.ToLower(text))
	var parts []string
	for _, f := range fields {
		parts = append(parts, f)
		if strings.Contains(f, "-") {
			parts = append(parts, strings.Split(f, "-")...)
		}
	}
	tier := tierWord
	for _, w := range words {
		switch {
		case slices.Contains(parts, w):
		case slices.ContainsFunc(parts, func(p string) bool { return strings.HasPrefix(p, w) }):
			tier = max(tier, tierPrefix)
		default:
			return tierSubsequence
		}
	}
	return tier
}

// applyFilter takes a filter result unless a newer request was made since.
func (v *servicesView) applyFilter(msg filterMsg) {
	if msg.gen != v.gen || msg.gen == v.applied {
		return // a newer request was made, or this one was settled already
	}
	v.applied, v.pending = msg.gen, nil
	// The same query again is a refresh: the cursor stays on its service. A new query starts
	// at the best match.
	at, keep := v.selected()
	keep = keep && msg.query == v.query
	v.query = msg.query
	v.base, v.matches, v.matched = msg.rows, msg.matches, msg.matched
	v.rows = v.arrange(v.base)
	if msg.query == "" {
		v.matches = nil
	}
	clear(v.cache) // highlighting changed
	v.cursor, v.offset = 0, 0
	if keep {
		v.cursorTo(at)
	}
	v.clamp()
}

// cursorTo puts the cursor on a service's row, if it is listed.
func (v *servicesView) cursorTo(k model.ServiceKey) {
	if i := slices.Index(v.rows, k); i >= 0 {
		v.cursor = i
	}
}

// setQuery starts a filter request. When the query only grew, only the rows that matched the
// previous query can match, so only they are searched.
func (v *servicesView) setQuery(q string) tea.Cmd {
	cands := v.all
	if v.query != "" && strings.HasPrefix(q, v.query) {
		cands = v.matched
	}
	return v.request(q, cands)
}

// filterRequest is a filter run asked for and not yet applied.
type filterRequest struct {
	gen   int
	query string
	cands []candidate
}

// request asks for a filter run off the update loop.
func (v *servicesView) request(q string, cands []candidate) tea.Cmd {
	v.gen++
	v.pending = &filterRequest{gen: v.gen, query: q, cands: cands}
	return filterCmd(v.gen, q, cands)
}

// settle applies the newest filter request now if its result has not arrived: keys typed in
// one burst ("/web pro", enter, enter) act on the list the query selects, never on the list
// before it.
func (v *servicesView) settle() {
	if p := v.pending; p != nil && p.gen == v.gen {
		v.applyFilter(runFilter(p.gen, p.query, p.cands))
	}
}

func (v *servicesView) filterKey(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys.Filter
	switch {
	case k.Clear.Matches(msg):
		v.filtering = false
		v.input.Blur()
		v.input.SetValue("")
		return v.setQuery("")
	case k.Apply.Matches(msg):
		v.filtering = false
		v.input.Blur()
		v.settle()
		return nil
	}
	before := v.input.Value()
	var cmd tea.Cmd
	v.input, cmd = v.input.Update(msg)
	cmd = v.c.timer(cmd)
	if v.input.Value() != before {
		return tea.Batch(cmd, v.setQuery(v.input.Value()))
	}
	return cmd
}

func (v *servicesView) selected() (model.ServiceKey, bool) {
	if v.cursor < 0 || v.cursor >= len(v.rows) {
		return model.ServiceKey{}, false
	}
	return v.rows[v.cursor], true
}

func (v *servicesView) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys.Services
	sel, ok := v.selected()
	switch {
	case k.Filter.Matches(msg):
		v.filtering = true
		v.input.SetValue(v.query)
		v.input.CursorEnd()
		return v.c.timer(v.input.Focus())
	case v.c.keys.Filter.Clear.Matches(msg) && v.query != "":
		v.input.SetValue("")
		return v.setQuery("")
	case k.Problems.Matches(msg):
		v.toggleProblems()
		return emit(focusMsg{})
	case k.Open.Matches(msg) && ok:
		return emit(openServiceMsg{sel})
	case k.Audit.Matches(msg) && ok:
		return emit(openAuditMsg{sel})
	case k.Rollback.Pressed(msg):
		if !k.Rollback.Enabled() {
			return refuse(k.Rollback)
		}
		if ok {
			return emit(planRequestMsg{planRequest{action: model.ActionRollback, key: sel}})
		}
	case k.Promote.Pressed(msg):
		if !k.Promote.Enabled() {
			return refuse(k.Promote)
		}
		if ok {
			return emit(openPromoteMsg{sel})
		}
	case k.Cancel.Pressed(msg):
		if !k.Cancel.Enabled() {
			return refuse(k.Cancel)
		}
		if ok {
			return emit(planRequestMsg{planRequest{action: model.ActionCancel, key: sel}})
		}
	default:
		if moveCursor(msg, v.c.keys.Nav, &v.cursor, len(v.rows), v.height-listChrome) {
			v.clamp()
			return emit(focusMsg{})
		}
	}
	return nil
}

// toggleProblems lists only the services with a problem, worst first, or every service
// again; the cursor stays on its service when that is still listed.
func (v *servicesView) toggleProblems() {
	at, ok := v.selected()
	v.problems = !v.problems
	v.rows = v.arrange(v.base)
	v.cursor, v.offset = 0, 0
	if ok {
		v.cursorTo(at)
	}
	v.clamp()
}

// arrange is the rows listed for the filter's (or the fleet's) order: all of them, or with
// problems only, the services with a problem, the worst first (ties keep the order given).
func (v *servicesView) arrange(base []model.ServiceKey) []model.ServiceKey {
	if !v.problems {
		return base
	}
	type ranked struct {
		k    model.ServiceKey
		rank int
	}
	var rs []ranked
	for _, k := range base {
		idx, ok := v.index[k]
		if !ok {
			continue
		}
		if r := problemRank(&v.c.fleet.Services[idx]); r > 0 {
			rs = append(rs, ranked{k, r})
		}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int { return b.rank - a.rank })
	out := make([]model.ServiceKey, len(rs))
	for i, r := range rs {
		out[i] = r.k
	}
	return out
}

// problemRank is how much a service needs looking at, 0 for nothing: degraded first, then a
// failed or reversed rollout, what could not be read, draining targets, a rollout running,
// and instances on mixed AMIs. It comes from what AWS reports (model.State, the groups'
// newest refresh, the balancers' target states).
func problemRank(s *model.Service) int {
	st := s.State()
	failed := false
	for _, g := range s.Groups {
		if r := g.Refresh; r != nil && !r.Active() {
			switch r.Status {
			case "Failed", "RollbackFailed", "RollbackSuccessful":
				failed = true
			}
		}
	}
	switch {
	case st.Degraded:
		return 6
	case failed || st.RollingBack:
		return 5
	case st.Unread:
		return 4
	case s.Counts().Draining > 0:
		return 3
	case st.RollingOut:
		return 2
	case st.Mixed:
		return 1
	}
	return 0
}

// moveCursor applies a navigation key; it reports whether the key was one.
func moveCursor(msg tea.KeyMsg, k NavKeys, cursor *int, n, page int) bool {
	if page < 1 {
		page = 1
	}
	switch {
	case k.Up.Matches(msg):
		*cursor--
	case k.Down.Matches(msg):
		*cursor++
	case k.Top.Matches(msg):
		*cursor = 0
	case k.Bottom.Matches(msg):
		*cursor = n - 1
	case k.PageUp.Matches(msg):
		*cursor -= page
	case k.PageDown.Matches(msg):
		*cursor += page
	default:
		return false
	}
	if *cursor >= n {
		*cursor = n - 1
	}
	if *cursor < 0 {
		*cursor = 0
	}
	return true
}

func (v *servicesView) clamp() {
	if v.cursor >= len(v.rows) {
		v.cursor = len(v.rows) - 1
	}
	if v.cursor < 0 {
		v.cursor = 0
	}
}

// scroll keeps the cursor inside a window of h rows.
func scroll(cursor, offset, h, n int) int {
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+h {
		offset = cursor - h + 1
	}
	if offset > n-h {
		offset = n - h
	}
	if offset < 0 {
		offset = 0
	}
	return offset
}

// visible lists the services whose rows are on screen.
func (v *servicesView) visible() []model.ServiceKey {
	h := v.height - listChrome
	end := v.offset + h
	if end > len(v.rows) {
		end = len(v.rows)
	}
	if v.offset >= end {
		return nil
	}
	return append([]model.ServiceKey(nil), v.rows[v.offset:end]...)
}

// The services screen's columns, in display order. The rule (layoutColumns): SERVICE, ENV,
// HEALTH, STATE and ROLLBACK are always shown, and REGION too when a service has a row per
// region (else never: one region looks as it always did); then, as the width allows, a short RELEASE
// (AMI cut with …), DRAIN, IN SVC, WANT and GROUPS, in that order. Spare room widens SERVICE
// to its longest name on screen, RELEASE to a whole AMI id, ROLLBACK to its long unverified
// form when a row on screen needs it, STATE to fit an action's progress, then SERVICE again.
const (
	svcName = iota
	svcEnv
	svcRegion
	svcGroups
	svcWant
	svcInSvc
	svcHealth
	svcDrain
	svcSignals
	svcRelease
	svcState
	svcBack
)

var servicesColumns = []column{
	svcName:    {title: "SERVICE", min: minNameW},
	svcEnv:     {title: "ENV", min: 11},
	svcRegion:  {title: "REGION", prio: -1}, // shown with its width when needed (servicesLayout)
	svcGroups:  {title: "GROUPS", min: colNum, prio: 5, right: true},
	svcWant:    {title: "WANT", min: colNum, prio: 4, right: true},
	svcInSvc:   {title: "IN SVC", min: colNum, prio: 3, right: true},
	svcHealth:  {title: "HEALTH", min: 8, right: true},
	svcDrain:   {title: "DRAIN", min: colNum, prio: 2, right: true},
	svcSignals: {title: "5XX/M", min: colSignals, prio: 6, right: true},
	svcRelease: {title: "RELEASE", min: 13, prio: 1},
	svcState:   {title: "STATE", min: 18},
	svcBack:    {title: "ROLLBACK", min: colBack},
}

const (
	colNum = 7
	// colReleaseWide fits a whole AMI id after the two-column gap before RELEASE.
	colReleaseWide = 24
	colBack        = 13
	// colStateWide fits an action's progress beside the state ("⟳ refresh 50% rollout 50% mixed").
	colStateWide = 34
	// gutter is the cursor's column left of every row ("› ").
	gutter = 2
	// listChrome are the lines above the rows: the count or filter, the column headers.
	listChrome = 2
	// minNameW is the narrowest the name column gets.
	minNameW = 12
)

// columnWidths lays the services screen out at its width for the rows on screen.
func (v *servicesView) columnWidths() []int {
	h := v.height - listChrome
	longest, unverified := 0, false
	for i := v.offset; i < len(v.rows) && i < v.offset+h; i++ {
		k := v.rows[i]
		longest = max(longest, ansiWidth(k.Name))
		if e, ok := v.c.ready[k]; ok && !e.err && e.r.Possible && e.r.Unverified {
			unverified = true
		}
	}
	backMax := colBack
	if unverified {
		backMax = len(unverifiedLong) + 1
	}
	return servicesLayout(v.width, longest, backMax, v.regionW)
}

// servicesLayout is the column rule of the services screen at a width, for names up to
// longest, a ROLLBACK cell up to backMax and a REGION column regionW wide (0: none).
func servicesLayout(width, longest, backMax, regionW int) []int {
	grow := []growStep{{svcName, longest + 1}, {svcRelease, colReleaseWide}, {svcBack, backMax}, {svcState, colStateWide}}
	cols := servicesColumns
	if regionW > 0 {
		cols = slices.Clone(servicesColumns)
		cols[svcRegion].min, cols[svcRegion].prio = regionW, 0
	}
	ws := layoutColumns(cols, width-gutter, grow)
	// 5XX/M comes last: only when RELEASE still shows whole AMI ids beside it.
	if ws[svcSignals] > 0 && ws[svcRelease] < colReleaseWide {
		cols = slices.Clone(cols)
		cols[svcSignals].prio = -1 // never shown
		ws = layoutColumns(cols, width-gutter, grow)
	}
	return ws
}

// stateGap is the room STATE keeps before it when RELEASE, whose cells keep the gap after
// the numbers, is not shown (a REGION column took its place): 2, else 0.
func stateGap(widths []int) int {
	if widths[svcRelease] == 0 {
		return 2
	}
	return 0
}

// rowRegion is the REGION cell of a row: the region of its key, else the one region its
// groups were read in ("" when the console reads one, or the row was not read).
func rowRegion(s *model.Service) string {
	if s.Region != "" {
		return s.Region
	}
	if rs := model.Merged(s.From().Region); len(rs) == 1 {
		return rs[0]
	}
	return ""
}

// cellText aligns a cell's text in its column; the RELEASE column keeps two columns free
// before it, after the numbers.
func cellText(c column, s string, w int) string {
	switch {
	case c.right:
		return padL(s, w)
	case c.title == "RELEASE":
		return "  " + pad(s, w-2)
	}
	return pad(s, w)
}

// View draws the list: the rows on screen only.
func (v *servicesView) View() string {
	c := v.c
	st := c.st
	var b strings.Builder
	var top string
	switch {
	case v.filtering:
		top = v.input.View()
	case v.query != "":
		top = st.Muted.Render(fmt.Sprintf("filter: %s  (%d of %d services; esc clears)", v.query, len(v.base), len(c.fleet.Services)))
	case !v.problems:
		top = st.Muted.Render(fmt.Sprintf("%d services", len(v.rows)))
	}
	if v.problems && !v.filtering {
		if top != "" {
			top += st.Muted.Render(" · ")
		}
		top += st.Warning.Render(fmt.Sprintf("problems only: %d of %d, worst first (%s shows all)", len(v.rows), len(v.base), c.keys.Services.Problems.Help().Key))
	}
	b.WriteString(truncate(top, v.width))
	b.WriteByte('\n')
	rowsH := v.height - listChrome
	v.offset = scroll(v.cursor, v.offset, rowsH, len(v.rows))
	widths := v.columnWidths()
	var head strings.Builder
	head.WriteString("  ")
	for i, col := range servicesColumns {
		switch {
		case i == svcState && stateGap(widths) > 0:
			head.WriteString("  " + pad(col.title, widths[i]-2))
		case widths[i] > 0:
			head.WriteString(cellText(col, col.title, widths[i]))
		}
	}
	b.WriteString(st.ColumnHeader.Render(strings.TrimRight(head.String(), " ")))
	if !c.haveFleet {
		b.WriteString("\n" + st.Muted.Render("reading the fleet…"))
		return b.String()
	}
	if len(v.rows) == 0 {
		msg := "no services found: no autoscaling group carries the service tag"
		switch {
		case v.problems && len(v.base) > 0:
			msg = "no problems: every service listed is healthy, settled and on one release"
		case v.query != "":
			msg = "no service matches " + v.query
		}
		b.WriteString("\n" + st.Muted.Render(msg))
		return b.String()
	}
	end := min(v.offset+rowsH, len(v.rows))
	v.rendered = 0
	for i := v.offset; i < end; i++ {
		k := v.rows[i]
		idx, ok := v.index[k]
		if !ok {
			continue
		}
		b.WriteByte('\n')
		b.WriteString(v.row(&c.fleet.Services[idx], i == v.cursor, widths))
	}
	return b.String()
}

// healthText is healthy instances out of the desired capacity. A rollout that launches
// before it terminates has more healthy instances than desired for a while: the extra ones
// are shown as "+N" ("6/6+6"), never as "12/6".
func healthText(c model.Counts) string {
	if c.Healthy > c.Desired {
		return fmt.Sprintf("%d/%d+%d", c.Desired, c.Desired, c.Healthy-c.Desired)
	}
	return fmt.Sprintf("%d/%d", c.Healthy, c.Desired)
}

// row formats one service, from the cache when nothing it shows has changed.
func (v *servicesView) row(s *model.Service, selected bool, widths []int) string {
	sum, ok := v.summary[s.ServiceKey]
	if !ok { // once per snapshot, for the rows that are shown
		sum = summarize(s)
		v.summary[s.ServiceKey] = sum
	}
	c, release := sum.counts, sum.release
	state, stateStyle := serviceState(v.c, s.ServiceKey, sum)
	if ansiWidth(state) >= widths[svcState]-stateGap(widths) {
		// Too narrow for the action's progress and the state: the state says more (the
		// status line and the service screen follow the action).
		if _, ok := v.c.actions[s.ServiceKey]; ok {
			if i := strings.Index(state, "% "); i >= 0 && strings.HasPrefix(state, "⟳") {
				state = state[i+2:]
			}
		}
	}
	back, backStyle := rollbackCell(v.c, s.ServiceKey, widths[svcBack])
	sigCell := ""
	if widths[svcSignals] > 0 {
		sigCell = signalsCell(v.c, s.ServiceKey, widths[svcSignals])
	}
	sig := fmt.Sprintf("%v|%v|%s|%s|%s|%v|%s", c, selected, release, state, back, widths, sigCell)
	if rc, ok := v.cache[s.ServiceKey]; ok && rc.sig == sig {
		return rc.line
	}
	v.rendered++
	st := v.c.st
	var line strings.Builder
	for i, col := range servicesColumns {
		w := widths[i]
		if w == 0 {
			continue
		}
		switch i {
		case svcName:
			line.WriteString(pad(highlight(s.Name, v.matches[s.ServiceKey], st), w))
		case svcEnv:
			line.WriteString(pad(s.Env, w))
		case svcRegion:
			line.WriteString(pad(rowRegion(s), w))
		case svcGroups:
			line.WriteString(padL(fmt.Sprint(c.Groups), w))
		case svcWant:
			line.WriteString(padL(fmt.Sprint(c.Desired), w))
		case svcInSvc:
			line.WriteString(padL(fmt.Sprint(c.InService), w))
		case svcHealth:
			style := st.OK
			if c.Healthy < c.Desired || c.Unhealthy > 0 {
				style = st.Warning
			}
			line.WriteString(style.Render(padL(healthText(c), w)))
		case svcDrain:
			drain := padL(fmt.Sprint(c.Draining), w)
			if c.Draining > 0 {
				drain = st.Busy.Render(drain)
			}
			line.WriteString(drain)
		case svcSignals:
			line.WriteString(sigCell)
		case svcRelease:
			line.WriteString(cellText(col, orDash(release), w))
		case svcState:
			gap := stateGap(widths)
			line.WriteString(strings.Repeat(" ", gap) + stateStyle.Render(pad(state, w-gap)))
		case svcBack:
			line.WriteString(backStyle.Render(pad(back, w)))
		}
	}
	out := line.String()
	if selected {
		out = st.Selected.Render("› " + ansiStrip(out))
	} else {
		out = "  " + out
	}
	v.cache[s.ServiceKey] = rowCache{sig: sig, line: out}
	return out
}

// serviceState is the short state column: action in progress, rollout, mixed, degraded,
// legacy. Its colour says whether it is a problem: orange for degraded, rolling back, a mixed
// fleet with no rollout to explain it, and a launch configuration (no rollback possible);
// the busy colour for a rollout or an action; green only when all is well.
func serviceState(c *common, k model.ServiceKey, sum rowSummary) (string, lipgloss.Style) {
	st := c.st
	var parts []string
	style := st.OK
	if p, ok := c.actions[k]; ok {
		parts = append(parts, fmt.Sprintf("⟳ %s %d%%", p.Stage, p.Percent))
		style = st.Busy
	}
	problem := false
	switch {
	case sum.state.RollingBack:
		parts = append(parts, fmt.Sprintf("rolling back %d%%", sum.state.RolloutPercent))
		problem = true
	case sum.state.RollingOut:
		parts = append(parts, fmt.Sprintf("rollout %d%%", sum.state.RolloutPercent))
		style = st.Busy
	}
	if sum.state.Mixed {
		parts = append(parts, "mixed")
		problem = problem || !sum.state.RollingOut
	}
	if sum.state.Degraded {
		parts = append(parts, "degraded")
		problem = true
	}
	if sum.state.Legacy {
		parts = append(parts, "legacy LC")
		problem = true
	}
	if sum.state.Unread {
		parts = append(parts, "unread")
		problem = true
	}
	if problem {
		style = st.Warning
	}
	if len(parts) == 0 {
		return "ok", style
	}
	return strings.Join(parts, " "), style
}

// unverifiedLong is the longest form of an unverified rollback cell.
const unverifiedLong = "ready ~10m (unverified)"

// rollbackCell says, for the services screen, whether r would work now and how long the
// restore takes: "ready ~45s", "ready ~45s (unverified)" (the target was chosen without a
// release known to have run well), "undo rollout", "rolling back" (already happening),
// "none" (the service screen says why). Unverified takes the longest form that fits w.
func rollbackCell(c *common, k model.ServiceKey, w int) (string, lipgloss.Style) {
	e, ok := c.ready[k]
	st := c.st
	switch {
	case !ok:
		return "…", st.Muted
	case e.err:
		return "?", st.Muted
	case e.r.Via == "rolling-back":
		return "rolling back", st.Busy
	case !e.r.Possible:
		return "none", st.Warning
	case e.r.Via == "rollback-refresh":
		return "undo rollout", st.Busy
	case e.r.Unverified:
		est := "~" + age(e.r.Estimate)
		for _, s := range []string{"ready " + est + " (unverified)", est + " unverified"} {
			if ansiWidth(s) < w {
				return s, st.Warning
			}
		}
		return "unverified", st.Warning
	}
	return "ready ~" + age(e.r.Estimate), st.OK
}

// highlight marks the matched characters of a name.
func highlight(name string, pos []int, st Styles) string {
	if len(pos) == 0 {
		return name
	}
	hit := make(map[int]bool, len(pos))
	for _, p := range pos {
		hit[p] = true
	}
	var b strings.Builder
	for i, r := range name {
		if hit[i] {
			b.WriteString(st.Match.Render(string(r)))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
