package tui

import (
	"fmt"
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

	rows    []model.ServiceKey         // what is listed, in order
	matches map[model.ServiceKey][]int // matched character positions in the row's name
	all     []candidate                // every service with its search text, built once per fleet
	matched []candidate                // the candidates the current query matched
	index   map[model.ServiceKey]int   // position of each service in the fleet
	cursor  int
	offset  int

	input     textinput.Model
	filtering bool
	query     string // the query the rows answer
	gen       int    // newest filter request

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
	b := []Binding{k.Services.Open, k.Services.Filter, k.Services.Promote, k.Services.Rollback, k.Services.Cancel, k.Services.Audit}
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
		return v, v.handleKey(msg)
	}
	return v, nil
}

// fleetChanged re-indexes the services and re-runs the filter over the new fleet.
func (v *servicesView) fleetChanged(f *model.Fleet) tea.Cmd {
	clear(v.index)
	clear(v.summary)
	for i := range f.Services {
		v.index[f.Services[i].ServiceKey] = i
	}
	v.all = allCandidates(f)
	if v.query == "" {
		v.rows = v.rows[:0]
		for i := range f.Services {
			v.rows = append(v.rows, f.Services[i].ServiceKey)
		}
		v.matches = nil
		v.clamp()
		return nil
	}
	v.gen++
	return filterCmd(v.gen, v.query, v.all)
}

// candidate is a service and the text the filter searches: "name env", built once per fleet
// so that a keystroke allocates no strings.
type candidate struct {
	key  model.ServiceKey
	text string
}

func allCandidates(f *model.Fleet) []candidate {
	out := make([]candidate, len(f.Services))
	for i := range f.Services {
		k := f.Services[i].ServiceKey
		out[i] = candidate{key: k, text: k.Name + " " + k.Env}
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

func runFilter(gen int, query string, cands []candidate) filterMsg {
	out := filterMsg{gen: gen, query: query, matches: map[model.ServiceKey][]int{}}
	if query == "" {
		out.matched = cands
		for _, c := range cands {
			out.rows = append(out.rows, c.key)
		}
		return out
	}
	for _, mt := range fuzzy.FindFrom(query, candidateSource(cands)) {
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

// applyFilter takes a filter result unless a newer request was made since.
func (v *servicesView) applyFilter(msg filterMsg) {
	if msg.gen != v.gen {
		return
	}
	v.query = msg.query
	v.rows, v.matches, v.matched = msg.rows, msg.matches, msg.matched
	if msg.query == "" {
		v.matches = nil
	}
	clear(v.cache) // highlighting changed
	v.cursor, v.offset = 0, 0
	v.clamp()
}

// setQuery starts a filter request. When the query only grew, only the rows that matched the
// previous query can match, so only they are searched.
func (v *servicesView) setQuery(q string) tea.Cmd {
	v.gen++
	cands := v.all
	if v.query != "" && strings.HasPrefix(q, v.query) {
		cands = v.matched
	}
	return filterCmd(v.gen, q, cands)
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

// Column widths of the services screen; the name takes what is left.
const (
	colEnv     = 11
	colNum     = 7
	colRelease = 24
	colState   = 18
	colBack    = 13
	// gutter is the cursor's column left of every row ("› "), and the gap before RELEASE.
	gutter = 2
	// listChrome are the lines above the rows: the count or filter, the column headers.
	listChrome = 2
	// minNameW is the narrowest the name column gets.
	minNameW = 12
)

// View draws the list: the rows on screen only.
func (v *servicesView) View() string {
	c := v.c
	st := c.st
	var b strings.Builder
	if v.filtering {
		b.WriteString(v.input.View())
	} else if v.query != "" {
		b.WriteString(st.Muted.Render(fmt.Sprintf("filter: %s  (%d of %d services; esc clears)", v.query, len(v.rows), len(c.fleet.Services))))
	} else {
		b.WriteString(st.Muted.Render(fmt.Sprintf("%d services", len(v.rows))))
	}
	b.WriteByte('\n')
	nameW := max(v.width-gutter-colEnv-5*colNum-colRelease-colState-colBack, minNameW)
	sigHead := ""
	if v.signalsColumn() {
		nameW -= colSignals
		sigHead = padL("5XX/M", colSignals)
	}
	nameW, backW := v.backWidth(nameW)
	b.WriteString(st.ColumnHeader.Render("  " + pad("SERVICE", nameW) + pad("ENV", colEnv) + padL("GROUPS", colNum) + padL("WANT", colNum) + padL("IN SVC", colNum) + padL("HEALTH", colNum) + padL("DRAIN", colNum) + sigHead + "  " + pad("RELEASE", colRelease-gutter) + pad("STATE", colState) + pad("ROLLBACK", backW)))
	rowsH := v.height - listChrome
	if !c.haveFleet {
		b.WriteString("\n" + st.Muted.Render("reading the fleet…"))
		return b.String()
	}
	if len(v.rows) == 0 {
		msg := "no services found: no autoscaling group carries the service tag"
		if v.query != "" {
			msg = "no service matches " + v.query
		}
		b.WriteString("\n" + st.Muted.Render(msg))
		return b.String()
	}
	v.offset = scroll(v.cursor, v.offset, rowsH, len(v.rows))
	end := min(v.offset+rowsH, len(v.rows))
	v.rendered = 0
	for i := v.offset; i < end; i++ {
		k := v.rows[i]
		idx, ok := v.index[k]
		if !ok {
			continue
		}
		b.WriteByte('\n')
		b.WriteString(v.row(&c.fleet.Services[idx], i == v.cursor, nameW, backW))
	}
	return b.String()
}

// backWidth widens the ROLLBACK column into the name column's spare room when a row on
// screen has an unverified rollback target, so that it can say so in full.
func (v *servicesView) backWidth(nameW int) (int, int) {
	h := v.height - listChrome
	longest, unverified := 0, false
	for i := v.offset; i < len(v.rows) && i < v.offset+h; i++ {
		k := v.rows[i]
		longest = max(longest, ansiWidth(k.Name))
		if e, ok := v.c.ready[k]; ok && !e.err && e.r.Possible && e.r.Unverified {
			unverified = true
		}
	}
	if !unverified {
		return nameW, colBack
	}
	spare := max(nameW-max(longest+1, minNameW), 0)
	spare = min(spare, len(unverifiedLong)+1-colBack)
	return nameW - spare, colBack + spare
}

// row formats one service, from the cache when nothing it shows has changed.
func (v *servicesView) row(s *model.Service, selected bool, nameW, backW int) string {
	sum, ok := v.summary[s.ServiceKey]
	if !ok { // once per snapshot, for the rows that are shown
		sum = summarize(s)
		v.summary[s.ServiceKey] = sum
	}
	c, release := sum.counts, sum.release
	state, stateStyle := serviceState(v.c, s.ServiceKey, sum)
	back, backStyle := rollbackCell(v.c, s.ServiceKey, backW)
	sigCell := ""
	if v.signalsColumn() {
		sigCell = signalsCell(v.c, s.ServiceKey)
	}
	sig := fmt.Sprintf("%v|%v|%s|%s|%s|%d|%d|%d|%s", c, selected, release, state, back, nameW, backW, v.width, sigCell)
	if rc, ok := v.cache[s.ServiceKey]; ok && rc.sig == sig {
		return rc.line
	}
	v.rendered++
	st := v.c.st
	name := highlight(s.Name, v.matches[s.ServiceKey], st)
	cells := pad(name, nameW) + pad(s.Env, colEnv) + padL(fmt.Sprint(c.Groups), colNum) + padL(fmt.Sprint(c.Desired), colNum) + padL(fmt.Sprint(c.InService), colNum)
	healthy := padL(fmt.Sprintf("%d/%d", c.Healthy, c.Desired), colNum)
	if c.Healthy < c.Desired || c.Unhealthy > 0 {
		healthy = st.Warning.Render(healthy)
	} else {
		healthy = st.OK.Render(healthy)
	}
	drain := padL(fmt.Sprint(c.Draining), colNum)
	if c.Draining > 0 {
		drain = st.Busy.Render(drain)
	}
	line := cells + healthy + drain + sigCell + "  " + pad(orDash(release), colRelease-gutter) + stateStyle.Render(pad(state, colState)) + backStyle.Render(pad(back, backW))
	if selected {
		line = st.Selected.Render("› " + ansiStrip(line))
	} else {
		line = "  " + line
	}
	v.cache[s.ServiceKey] = rowCache{sig: sig, line: line}
	return line
}

// serviceState is the short state column: action in progress, rollout, mixed, degraded, legacy.
func serviceState(c *common, k model.ServiceKey, sum rowSummary) (string, lipgloss.Style) {
	st := c.st
	var parts []string
	style := st.OK
	if p, ok := c.actions[k]; ok {
		parts = append(parts, fmt.Sprintf("⟳ %s %d%%", p.Stage, p.Percent))
		style = st.Busy
	}
	switch {
	case sum.state.RollingBack:
		parts = append(parts, fmt.Sprintf("rolling back %d%%", sum.state.RolloutPercent))
		style = st.Warning
	case sum.state.RollingOut:
		parts = append(parts, fmt.Sprintf("rollout %d%%", sum.state.RolloutPercent))
		style = st.Busy
	}
	if sum.state.Mixed {
		parts = append(parts, "mixed")
	}
	if sum.state.Degraded {
		parts = append(parts, "degraded")
		style = st.Warning
	}
	if sum.state.Legacy {
		parts = append(parts, "legacy LC")
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
