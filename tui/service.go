package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/adstage/adstage-ops/model"
)

// serviceView is the service screen: its groups, every instance with its load-balancer
// health and drain countdown, its baked images and whether it can be rolled back.
type serviceView struct {
	c             *common
	width, height int

	key    model.ServiceKey
	svc    *model.Service
	lines  []detailLine
	cursor int
	offset int

	images    []model.Image
	imagesErr string
	ready     *model.Readiness
	readyErr  string
	rendered  int

	// The release ledgers, read on opening and after an action on the service.
	releases releaseList

	// The headline, computed once per snapshot: a frame costs the rows on screen, not the fleet.
	counts  model.Counts
	release string
	mixed   bool
}

// pendingImage reports whether a baked image is still being made.
func (v *serviceView) pendingImage() bool {
	for _, img := range v.images {
		if img.State == "pending" {
			return true
		}
	}
	return false
}

type lineKind uint8

const (
	lineInfo lineKind = iota
	lineGroup
	lineColumns
	lineInstance
	lineImagesHeader
	lineImage
	lineBlank
	lineReleasesHeader
	lineReleaseGroup
	lineRelease
)

type detailLine struct {
	kind lineKind
	g    *model.Group
	in   *model.Instance
	img  int
	text string
	// block and entry index the release list (lineReleaseGroup, lineRelease).
	block, entry int
}

// selectable reports whether the cursor stops on a line: instances, releases and images are
// things in hand; headers and info lines are not.
func (l *detailLine) selectable() bool {
	switch l.kind {
	case lineInstance, lineRelease, lineImage:
		return true
	}
	return false
}

// id names what a line shows, so that the cursor stays on it when lines come and go.
func (l *detailLine) id() string {
	switch l.kind {
	case lineInstance:
		return "i:" + l.in.ID
	case lineRelease:
		return fmt.Sprintf("r:%d:%d", l.block, l.entry)
	case lineImage:
		return fmt.Sprintf("m:%d", l.img)
	}
	return ""
}

func newServiceView(c *common) *serviceView { return &serviceView{c: c} }

// Init does nothing: the root reads what the screen shows.
func (v *serviceView) Init() tea.Cmd { return nil }

// SetSize gives the screen its body.
func (v *serviceView) SetSize(w, h int) { v.width, v.height = w, h }

// ShortHelp is the screen's own bindings.
func (v *serviceView) ShortHelp() []key.Binding {
	k := v.c.keys
	return helpBindings(k.Service.Bake, k.Service.Promote, k.Service.Rollback, k.Service.Cancel, k.Service.Mark, k.Service.Audit, k.Global.Back)
}

// FullHelp is the screen's bindings and the cursor's.
func (v *serviceView) FullHelp() [][]key.Binding {
	k := v.c.keys.Service
	return [][]key.Binding{v.ShortHelp(), helpBindings(k.Shell, k.Console), navBindings(v.c.keys.Nav)}
}

func (v *serviceView) open(k model.ServiceKey) {
	if v.key != k {
		*v = serviceView{c: v.c, width: v.width, height: v.height, key: k}
	}
	v.fleetChanged(&v.c.fleet)
}

// fleetChanged points the screen at the new snapshot of its service and rebuilds the line
// list (structure only: lines are formatted when they are on screen).
func (v *serviceView) fleetChanged(f *model.Fleet) {
	if v.key.Name == "" {
		return
	}
	s, ok := f.ServiceAt(v.key)
	if !ok {
		v.svc = nil
		v.lines = nil
		return
	}
	v.svc = s
	v.counts, v.release, v.mixed = s.Counts(), s.Release(), s.Mixed()
	v.rebuild()
}

func (v *serviceView) rebuild() {
	at := ""
	if v.cursor < len(v.lines) {
		at = v.lines[v.cursor].id()
	}
	v.lines = v.lines[:0]
	if v.svc == nil {
		return
	}
	for _, g := range v.svc.Groups {
		v.lines = append(v.lines, detailLine{kind: lineGroup, g: g}, detailLine{kind: lineInfo, g: g})
		if len(g.Instances) > 0 {
			v.lines = append(v.lines, detailLine{kind: lineColumns, g: g})
		}
		for i := range g.Instances {
			v.lines = append(v.lines, detailLine{kind: lineInstance, g: g, in: &g.Instances[i]})
		}
	}
	v.lines = append(v.lines, detailLine{kind: lineBlank}, detailLine{kind: lineReleasesHeader})
	for bi, b := range v.releases.blocks {
		if len(v.releases.blocks) > 1 {
			v.lines = append(v.lines, detailLine{kind: lineReleaseGroup, block: bi})
		}
		for ei := range b.Entries {
			v.lines = append(v.lines, detailLine{kind: lineRelease, block: bi, entry: ei})
		}
	}
	v.lines = append(v.lines, detailLine{kind: lineBlank}, detailLine{kind: lineImagesHeader})
	for i := range v.images {
		v.lines = append(v.lines, detailLine{kind: lineImage, img: i})
	}
	found := false
	if at != "" {
		for i := range v.lines {
			if v.lines[i].id() == at {
				v.cursor, found = i, true
				break
			}
		}
	}
	if !found {
		v.cursor = min(max(v.cursor, 0), len(v.lines)-1)
	}
	v.cursor = v.snap(v.cursor, 1)
}

// snap moves i to the nearest selectable line in direction dir, else the other way; it
// stays put when no line is selectable.
func (v *serviceView) snap(i, dir int) int {
	for _, d := range []int{dir, -dir} {
		for j := i; j >= 0 && j < len(v.lines); j += d {
			if v.lines[j].selectable() {
				return j
			}
		}
	}
	return i
}

// move applies a navigation key, skipping lines the cursor does not stop on; it reports
// whether the key was one.
func (v *serviceView) move(msg tea.KeyMsg) bool {
	before := v.cursor
	if !moveCursor(msg, v.c.keys.Nav, &v.cursor, len(v.lines), v.rows()) {
		return false
	}
	dir := 1
	if v.cursor < before || (v.cursor == before && v.c.keys.Nav.Up.Matches(msg)) {
		dir = -1
	}
	v.cursor = v.snap(v.cursor, dir)
	return true
}

// selectedRelease is the release under the cursor.
func (v *serviceView) selectedRelease() (model.LedgerEntry, bool) {
	if v.cursor >= len(v.lines) || v.lines[v.cursor].kind != lineRelease {
		return model.LedgerEntry{}, false
	}
	l := v.lines[v.cursor]
	return v.releases.blocks[l.block].Entries[l.entry], true
}

// markUnavailable says why m does nothing now ("" when the cursor is on a release).
func (v *serviceView) markUnavailable() string {
	if _, ok := v.selectedRelease(); ok {
		return ""
	}
	return "move the cursor onto a release (the Releases list) to mark it bad or good"
}

// Update takes a new fleet, the service's images and readiness, or a key.
func (v *serviceView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case fleetMsg:
		v.fleetChanged(&v.c.fleet)
	case imagesMsg:
		if msg.service != v.key.Name {
			break
		}
		v.images, v.imagesErr = msg.images, ""
		if msg.err != nil {
			v.imagesErr = explain(msg.err)
		}
		v.rebuild()
	case ledgerMsg:
		if msg.key != v.key {
			break
		}
		v.releases.apply(msg)
		v.rebuild()
	case readinessMsg:
		if msg.key != v.key {
			break
		}
		v.ready, v.readyErr = &msg.r, ""
		if msg.err != nil {
			v.ready, v.readyErr = nil, explain(msg.err)
		}
	case tea.KeyMsg:
		return v, v.handleKey(msg)
	}
	return v, nil
}

// selectedInstance is the instance under the cursor, if the cursor is on one. b bakes only
// the instance the operator points at, never one chosen for them.
func (v *serviceView) selectedInstance() *model.Instance {
	if v.cursor < len(v.lines) && v.lines[v.cursor].kind == lineInstance {
		return v.lines[v.cursor].in
	}
	return nil
}

// bakeUnavailable says why b does nothing now ("" when the cursor is on an instance).
func (v *serviceView) bakeUnavailable() string {
	if v.selectedInstance() != nil {
		return ""
	}
	if v.svc != nil {
		for _, g := range v.svc.Groups {
			if len(g.Instances) > 0 {
				return "move the cursor onto an instance to bake an image from it"
			}
		}
	}
	return "nothing to bake: the service has no running instance"
}

func (v *serviceView) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := v.c.keys.Service
	switch {
	case v.c.keys.Global.Back.Matches(msg):
		return emit(backMsg{})
	case k.Audit.Matches(msg):
		return emit(openAuditMsg{v.key})
	case k.Rollback.Pressed(msg):
		if !k.Rollback.Enabled() {
			return refuse(k.Rollback)
		}
		return emit(planRequestMsg{planRequest{action: model.ActionRollback, key: v.key}})
	case k.Promote.Pressed(msg):
		if !k.Promote.Enabled() {
			return refuse(k.Promote)
		}
		return emit(openPromoteMsg{v.key})
	case k.Cancel.Pressed(msg):
		if !k.Cancel.Enabled() {
			return refuse(k.Cancel)
		}
		return emit(planRequestMsg{planRequest{action: model.ActionCancel, key: v.key}})
	case k.Bake.Pressed(msg):
		if !k.Bake.Enabled() {
			return refuse(k.Bake)
		}
		in := v.selectedInstance()
		if in == nil {
			return notice(v.bakeUnavailable(), true)
		}
		return emit(openDialogMsg{newBakeDialog(v.c, v.key, in.ID)})
	case k.Shell.Pressed(msg):
		if !k.Shell.Enabled() {
			return refuse(k.Shell)
		}
		in := v.selectedInstance()
		if in == nil {
			return notice("move the cursor onto an instance to open a shell on it", true)
		}
		return emit(shellRequestMsg{instance: in.ID, key: v.key})
	case k.Console.Matches(msg):
		in := v.selectedInstance()
		if in == nil {
			return notice("move the cursor onto an instance to read its console output", true)
		}
		return emit(openConsoleMsg{instance: in.ID})
	case k.Mark.Pressed(msg):
		if !k.Mark.Enabled() {
			return refuse(k.Mark)
		}
		e, ok := v.selectedRelease()
		if !ok {
			return notice(v.markUnavailable(), true)
		}
		return emit(openDialogMsg{newMarkDialog(v.c, v.key, e)})
	}
	if v.move(msg) {
		return emit(focusMsg{})
	}
	return nil
}

// rows is how many lines the screen has below its headline, readiness and progress.
func (v *serviceView) rows() int {
	return max(v.height-1-len(v.readinessLines())-len(v.signalLines())-1, 1)
}

// View draws the headline and the lines on screen.
func (v *serviceView) View() string {
	c := v.c
	st := c.st
	now := c.now()
	var b strings.Builder
	head := st.Title.Render(v.key.Name) + "  " + st.EnvBadge(v.key.Env, c.cfg.EnvColors[v.key.Env])
	if v.key.Region != "" {
		head += " " + st.Muted.Render(v.key.Region)
	}
	if v.svc != nil {
		n := v.counts
		head += st.Muted.Render(fmt.Sprintf("  %s · %s · %d draining · release %s", plural(n.Groups, "group"), healthyText(n), n.Draining, orDash(v.release)))
		if v.mixed {
			head += st.Warning.Render(" · mixed fleet")
		}
	}
	b.WriteString(truncate(head, v.width))
	for _, l := range append(v.readinessLines(), v.signalLines()...) {
		b.WriteByte('\n')
		b.WriteString(truncate(l, v.width))
	}
	b.WriteByte('\n')
	if p, ok := c.actions[v.key]; ok {
		b.WriteString(st.Busy.Render(c.spinner() + " " + progressText(p)))
	}
	if v.svc == nil {
		b.WriteString("\n" + st.Warning.Render("this service is not in the latest snapshot (its groups were deleted or lost their tags)"))
		return b.String()
	}
	rows := v.rows()
	v.offset = v.scroll(rows)
	end := min(v.offset+rows, len(v.lines))
	v.rendered = 0
	for i := v.offset; i < end; i++ {
		v.rendered++
		line := v.line(&v.lines[i], now)
		if i == v.cursor {
			line = st.Selected.Render(pad("›"+string([]rune(ansiStrip(line))[1:]), v.width))
		}
		b.WriteByte('\n')
		b.WriteString(truncate(line, v.width))
	}
	return b.String()
}

// readinessLines say what r would do: the target and how long it takes, or why it cannot,
// or what is already happening; when the target was chosen without a release known to have
// run well, why; the newer releases it skips; and anything else to know.
func (v *serviceView) readinessLines() []string {
	st := v.c.st
	r := v.ready
	switch {
	case v.readyErr != "":
		return []string{st.Warning.Render("rollback readiness unknown: " + v.readyErr)}
	case r == nil:
		return []string{st.Muted.Render("checking rollback readiness…")}
	case r.Via == "rolling-back":
		return []string{st.Busy.Render("rollback under way: " + r.Why)}
	case !r.Possible:
		return []string{st.Warning.Render("rollback not possible: " + r.Why)}
	case r.Via == "rollback-refresh":
		back := ""
		if r.Target.ImageID != "" {
			back = ", back to " + r.Target.ImageID
			if r.Target.Version > 0 {
				back += fmt.Sprintf(" (v%d)", r.Target.Version)
			}
		}
		return []string{st.OK.Render("rollback ready: reverses the running rollout"+back) + st.Muted.Render(fmt.Sprintf(" (about %s)", r.Estimate.Round(time.Second)))}
	}
	t := r.Target
	target := fmt.Sprintf("%s (launch template version %d)", t.ImageID, t.Version)
	restores := st.Muted.Render(fmt.Sprintf(", restores in about %s", r.Estimate.Round(time.Second)))
	var out []string
	if r.Unverified {
		why := "unverified: no release is known to have run well (the refresh history is unreadable or says nothing), so the target is the newest earlier version by number; check it before confirming"
		if p := v.releases.historyProblem(); p != "" {
			why += " (" + p + ")"
		}
		out = append(out, st.Warning.Render("rollback ready (unverified): "+target)+restores, "  "+st.Warning.Render(why))
	} else {
		out = append(out, st.OK.Render("rollback ready: "+target)+restores)
	}
	if len(r.Skipped) > 0 {
		out = append(out, "  "+st.Warning.Render("skips "+strings.Join(r.Skipped, "; ")))
	}
	if r.Note != "" {
		out = append(out, "  "+st.Muted.Render(r.Note))
	}
	return out
}

// scroll keeps the cursor on screen, and with it the headers above it up to the previous
// line the cursor stops on; at the last such line it shows the end.
func (v *serviceView) scroll(rows int) int {
	n := len(v.lines)
	off := scroll(v.cursor, v.offset, rows, n)
	top := v.cursor
	for top > 0 && !v.lines[top-1].selectable() {
		top--
	}
	if top < off && v.cursor-top < rows {
		off = top
	}
	last := v.cursor
	for last+1 < n && !v.lines[last+1].selectable() {
		last++
	}
	if last == n-1 && n-rows > off && n-rows <= v.cursor {
		off = n - rows
	}
	return off
}

// The instance table's columns, in display order. The rule (layoutColumns): INSTANCE,
// LIFECYCLE, LOAD BALANCER (state and drain countdown, shortened before it is cut) and a
// short AMI (cut with …) are always shown; then ASG health, AGE and AZ as the width allows.
// Spare room widens the balancer column to a whole "name draining ~45s left", then the AMI
// to a whole id, then the balancer column again.
const (
	instID = iota
	instAZ
	instLife
	instASG
	instLB
	instAMI
	instAge
)

var instanceColumns = []column{
	instID:   {title: "INSTANCE", min: colID},
	instAZ:   {title: "AZ", min: colAZ, prio: 3},
	instLife: {title: "LIFECYCLE", min: colLife},
	instASG:  {title: "ASG", min: colASG, prio: 1},
	instLB:   {title: "LOAD BALANCER", min: minLBCol},
	instAMI:  {title: "AMI", min: colShortAMI},
	instAge:  {title: "AGE", min: colAge, prio: 2},
}

// Instance and image columns.
const (
	colID       = 20
	colAZ       = 11
	colLife     = 16
	colASG      = 10
	colAMI      = 22
	colShortAMI = 12
	colAge      = 5
	minLBCol    = 20
	wantLBCol   = 34
	maxLBCol    = 2 * wantLBCol // two balancers side by side; wider screens leave the rest empty
	// Baked image columns (the AMI column is colAMI, the label colLabel).
	colImageState = 14
	colBakedBy    = 24
	// recentRollout is how long a group line still names its last rollout's outcome.
	recentRollout = 10 * time.Minute
)

// instanceLayout is the instance table's column rule at a screen width.
func instanceLayout(width int) []int {
	return layoutColumns(instanceColumns, width-gutter, []growStep{{instLB, wantLBCol}, {instAMI, colAMI}, {instLB, maxLBCol}})
}

func (v *serviceView) line(l *detailLine, now time.Time) string {
	c := v.c
	st := c.st
	switch l.kind {
	case lineGroup:
		g := l.g
		s := st.Title.Render("▸ "+g.Name) + st.Muted.Render(fmt.Sprintf("  min %d · desired %d · max %d", g.Min, g.Desired, g.Max))
		if r := g.Refresh; r.RollingBack() {
			// AWS returns the group to the configuration it had before the refresh: the
			// launch template version the group itself still names.
			to := "the previous release"
			if g.LaunchTemplate != nil {
				to = "v" + g.LaunchTemplate.Version
				if g.ImageID != "" {
					to += " (" + g.ImageID + ")"
				}
			}
			s += st.Warning.Render(fmt.Sprintf("  ⟲ rolling back to %s %d%%", to, r.Progress()))
		} else if r.Active() {
			s += st.Busy.Render(fmt.Sprintf("  ⟳ rollout to %s %s %d%% (%d to update)", v.rolloutTarget(r), r.Status, r.Percent, r.InstancesToUpdate))
		} else if r != nil && r.Status != "" && now.Sub(r.EndedAt) < recentRollout {
			s += st.Muted.Render(fmt.Sprintf("  last rollout %s", r.Status))
		}
		return s
	case lineInfo:
		g := l.g
		var parts []string
		if g.LaunchTemplate != nil {
			parts = append(parts, fmt.Sprintf("template %s v%s", orDash(g.LaunchTemplate.Name), g.LaunchTemplate.Version))
		} else if g.LaunchConfig != "" {
			parts = append(parts, st.Warning.Render("legacy launch configuration "+g.LaunchConfig))
		}
		parts = append(parts, "AMI "+orDash(g.ImageID), fmt.Sprintf("health %s grace %ds", orDash(g.HealthCheckType), g.GracePeriod))
		if len(g.Suspended) > 0 {
			parts = append(parts, st.Warning.Render("suspended "+strings.Join(g.Suspended, ",")))
		}
		if lbs := append(append([]string(nil), g.TargetGroups...), g.ClassicELBs...); len(lbs) > 0 {
			parts = append(parts, "balancers "+strings.Join(lbs, ","))
		}
		return "  " + st.Muted.Render(strings.Join(parts, " · "))
	case lineColumns:
		var b strings.Builder
		for i, w := range instanceLayout(v.width) {
			if w > 0 {
				b.WriteString(pad(instanceColumns[i].title, w))
			}
		}
		return "  " + st.ColumnHeader.Render(strings.TrimRight(b.String(), " "))
	case lineInstance:
		return v.instanceLine(l, now)
	case lineBlank:
		return ""
	case lineReleasesHeader:
		return v.releasesHeader()
	case lineReleaseGroup:
		return v.releaseGroupLine(l.block)
	case lineRelease:
		return v.releaseLine(l.block, l.entry)
	case lineImagesHeader:
		s := st.Title.Render("Baked images") + st.Muted.Render(" (newest first; which environments run each)")
		if v.imagesErr != "" {
			s += "  " + st.Warning.Render(v.imagesErr)
		} else if len(v.images) == 0 && c.cfg.ReadOnly {
			s += "  " + st.Muted.Render("none")
		} else if len(v.images) == 0 {
			s += "  " + st.Muted.Render("none yet: press b on an instance to bake one")
		}
		return s
	case lineImage:
		if l.img >= len(v.images) {
			return ""
		}
		img := v.images[l.img]
		state := st.OK.Render(img.State)
		if img.State == "pending" {
			state = st.Busy.Render(fmt.Sprintf("pending %d%%", img.SnapshotProgress))
		} else if img.State != "available" {
			state = st.Warning.Render(img.State)
		}
		runs := strings.Join(envsRunning(&c.fleet, v.key.Name, img.ID), ",")
		return fmt.Sprintf("  %s %s  %s  %s  %s  %s", pad(img.ID, colAMI), pad(orDash(img.Label), colLabel), pad(state, colImageState), img.CreatedAt.UTC().Format("2006-01-02 15:04"), pad(shortARN(img.BakedBy), colBakedBy), st.OK.Render(runs))
	}
	return l.text
}

func (v *serviceView) instanceLine(l *detailLine, now time.Time) string {
	st := v.c.st
	in := l.in
	var b strings.Builder
	b.WriteString("  ")
	for i, w := range instanceLayout(v.width) {
		if w == 0 {
			continue
		}
		switch i {
		case instID:
			b.WriteString(pad(in.ID, w))
		case instAZ:
			b.WriteString(pad(in.AZ.String(), w))
		case instLife:
			life := pad(in.Lifecycle.String(), w)
			switch {
			case in.Lifecycle == model.InService:
				life = st.OK.Render(life)
			case in.Lifecycle.Leaving():
				life = st.Muted.Render(life)
			default:
				life = st.Busy.Render(life)
			}
			b.WriteString(life)
		case instASG:
			if in.Healthy {
				b.WriteString(st.OK.Render(pad("Healthy", w)))
			} else {
				b.WriteString(st.Error.Render(pad("Unhealthy", w)))
			}
		case instLB:
			b.WriteString(pad(targetsText(st, in, now, w-1), w))
		case instAMI:
			b.WriteString(amiStyle(st, l.g, in).Render(pad(orDash(in.ImageID.String()), w)))
		case instAge:
			b.WriteString(pad(age(in.Age(now)), w))
		}
	}
	return b.String()
}

// amiStyle colours an instance's AMI. One that differs from its group's is a problem
// (warning) unless a rollout is bringing it in or taking it out: then it is the new release,
// in a neutral highlight.
func amiStyle(st Styles, g *model.Group, in *model.Instance) lipgloss.Style {
	img := in.ImageID.String()
	if g.ImageID == "" || img == "" || img == g.ImageID {
		return st.Row
	}
	if r := g.Refresh; r.Active() && (r.DesiredImage == "" || r.DesiredImage == img) {
		return st.Highlight
	}
	return st.Warning
}

// targetsText is each balancer's view of the instance, with the drain countdown, in the
// longest form that fits w columns: with the balancer's name and the reason, without the
// reason, without the name, then the shortest ("drain ~45s").
func targetsText(st Styles, in *model.Instance, now time.Time, w int) string {
	if len(in.Targets) == 0 {
		return st.Muted.Render("-")
	}
	var s string
	for form := range 4 {
		parts := make([]string, 0, len(in.Targets))
		for _, t := range in.Targets {
			parts = append(parts, targetText(st, t, now, form))
		}
		s = strings.Join(parts, ", ")
		if ansiWidth(s) <= w {
			break
		}
	}
	return s
}

// targetText is one balancer's view of an instance in one of targetsText's forms (0 the
// longest).
func targetText(st Styles, t model.TargetHealth, now time.Time, form int) string {
	s := t.State.String()
	if form < 2 {
		s = t.Balancer.String() + " " + s
	}
	style := st.OK
	switch t.State {
	case model.TargetDraining:
		left, exact := t.DrainRemaining(now)
		about := ""
		if !exact {
			about = "~"
		}
		switch form {
		case 3:
			s = fmt.Sprintf("drain %s%s", about, left.Round(time.Second))
		default:
			s += fmt.Sprintf(" %s%s left", about, left.Round(time.Second))
		}
		style = st.Busy
	case model.TargetHealthy:
	case model.TargetInitial:
		style = st.Busy
	default:
		style = st.Warning
	}
	if form == 0 && t.Reason() != "" && t.State != model.TargetHealthy && t.State != model.TargetDraining {
		s += " (" + t.Reason() + ")"
	}
	if form == 0 && t.Stale && t.CheckedAt > 0 {
		s += fmt.Sprintf(" [%s old]", age(now.Sub(t.CheckedAt.Time())))
	}
	return style.Render(s)
}

// rolloutTarget names what a rollout brings in: "v4 (ami-…)", or what is known of it (the
// release list knows the AMI of a version the refresh does not name one for).
func (v *serviceView) rolloutTarget(r *model.Refresh) string {
	image := r.DesiredImage
	if image == "" && r.DesiredVersion != "" {
		for _, b := range v.releases.blocks {
			for _, e := range b.Entries {
				if fmt.Sprint(e.Version) == r.DesiredVersion && e.ImageID != "" {
					image = e.ImageID
				}
			}
		}
	}
	switch {
	case r.DesiredVersion != "" && image != "":
		return "v" + r.DesiredVersion + " (" + image + ")"
	case r.DesiredVersion != "":
		return "v" + r.DesiredVersion
	case image != "":
		return image
	}
	return "an unnamed configuration"
}

// healthyText is the headline's health: healthy out of desired, and the extra instances a
// rollout launches before it terminates ("6/6 healthy (+6 above desired)"), never "12/6".
func healthyText(c model.Counts) string {
	if c.Healthy > c.Desired {
		return fmt.Sprintf("%d/%d healthy (+%d above desired)", c.Desired, c.Desired, c.Healthy-c.Desired)
	}
	return fmt.Sprintf("%d/%d healthy", c.Healthy, c.Desired)
}

// plural is "1 group", "2 groups".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// envsRunning lists the environments of a service whose live instances run an image.
func envsRunning(f *model.Fleet, service, image string) []string {
	var envs []string
	for i := range f.Services {
		s := &f.Services[i]
		if s.Name != service {
			continue
		}
		for _, ic := range s.Images() {
			if ic.ImageID == image {
				envs = append(envs, s.Env)
				break
			}
		}
	}
	sort.Strings(envs)
	return envs
}
