package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/adstage/adstage-ops/aws/awsapi"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/adstage/adstage-ops/model"
)

// serviceView is the service screen: its groups, every instance with its load-balancer
// health and drain countdown, its baked images and whether it can be rolled back.
type serviceView struct {
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

	imagesLoading, readyLoading bool

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
)

type detailLine struct {
	kind lineKind
	g    *model.Group
	in   *model.Instance
	img  int
	text string
}

func (v *serviceView) open(k model.ServiceKey, f *model.Fleet) {
	if v.key != k {
		*v = serviceView{key: k}
	}
	v.fleetChanged(f)
}

// fleetChanged points the screen at the new snapshot of its service and rebuilds the line
// list (structure only: lines are formatted when they are on screen).
func (v *serviceView) fleetChanged(f *model.Fleet) {
	if v.key.Name == "" {
		return
	}
	s, ok := f.Service(v.key.Name, v.key.Env)
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
	v.lines = append(v.lines, detailLine{kind: lineImagesHeader})
	for i := range v.images {
		v.lines = append(v.lines, detailLine{kind: lineImage, img: i})
	}
	if v.cursor >= len(v.lines) {
		v.cursor = len(v.lines) - 1
	}
	if v.cursor < 0 {
		v.cursor = 0
	}
}

func (v *serviceView) apply(msg tea.Msg) {
	switch msg := msg.(type) {
	case imagesMsg:
		if msg.service != v.key.Name {
			return
		}
		v.imagesLoading = false
		v.images, v.imagesErr = msg.images, ""
		if msg.err != nil {
			v.imagesErr = awsapi.Explain(msg.err)
		}
		v.rebuild()
	case readinessMsg:
		if msg.key != v.key {
			return
		}
		v.readyLoading = false
		v.ready, v.readyErr = &msg.r, ""
		if msg.err != nil {
			v.ready, v.readyErr = nil, awsapi.Explain(msg.err)
		}
	}
}

// selectedInstance is the instance under the cursor, or the service's first in-service one.
func (v *serviceView) selectedInstance() *model.Instance {
	if v.cursor < len(v.lines) && v.lines[v.cursor].in != nil {
		return v.lines[v.cursor].in
	}
	if v.svc == nil {
		return nil
	}
	for _, g := range v.svc.Groups {
		for i := range g.Instances {
			if g.Instances[i].Lifecycle == model.InService {
				return &g.Instances[i]
			}
		}
	}
	return nil
}

func (v *serviceView) handleKey(msg tea.KeyMsg, m *Model) tea.Cmd {
	k := m.keys.Service
	switch {
	case key.Matches(msg, m.keys.Global.Back):
		m.screen = screenServices
		m.focus()
		return nil
	case key.Matches(msg, k.Audit):
		return m.openAudit(v.key)
	case pressed(msg, k.Rollback):
		if !k.Rollback.Enabled() {
			return m.unavailable(k.Rollback)
		}
		return m.rollbackCmd(v.key)
	case pressed(msg, k.Promote):
		if !k.Promote.Enabled() {
			return m.unavailable(k.Promote)
		}
		return m.promoteDialog(v.key)
	case pressed(msg, k.Bake):
		if !k.Bake.Enabled() {
			return m.unavailable(k.Bake)
		}
		in := v.selectedInstance()
		if in == nil {
			m.setStatus("nothing to bake: the service has no running instance", true)
			return nil
		}
		m.push(newBakeDialog(v.key, in.ID))
		return nil
	}
	moveCursor(msg, m.keys.Nav, &v.cursor, len(v.lines), m.bodyHeight()-3)
	return nil
}

func (v *serviceView) view(m *Model, h int) string {
	st := m.st
	now := m.cfg.Now()
	var b strings.Builder
	b.WriteString(st.Title.Render(v.key.Name) + "  " + st.EnvBadge(v.key.Env, m.cfg.EnvColors[v.key.Env]))
	if v.svc != nil {
		c := v.counts
		b.WriteString(st.Muted.Render(fmt.Sprintf("  %d groups · %d/%d healthy · %d draining · release %s", c.Groups, c.Healthy, c.Desired, c.Draining, orDash(v.release))))
		if v.mixed {
			b.WriteString(st.Warning.Render(" · mixed fleet"))
		}
	}
	b.WriteByte('\n')
	b.WriteString(v.readinessLine(m))
	b.WriteByte('\n')
	if p, ok := m.actions[v.key]; ok {
		b.WriteString(st.Busy.Render(m.spin.View() + " " + progressText(p)))
	}
	if v.svc == nil {
		b.WriteString("\n" + st.Warning.Render("this service is not in the latest snapshot (its groups were deleted or lost their tags)"))
		return b.String()
	}
	rows := h - 3
	v.offset = scroll(v.cursor, v.offset, rows, len(v.lines))
	end := min(v.offset+rows, len(v.lines))
	v.rendered = 0
	for i := v.offset; i < end; i++ {
		v.rendered++
		line := v.line(m, &v.lines[i], now)
		if i == v.cursor {
			line = st.Selected.Render(pad("›"+string([]rune(ansiStrip(line))[1:]), m.w))
		}
		b.WriteByte('\n')
		b.WriteString(truncate(line, m.w))
	}
	return b.String()
}

func (v *serviceView) readinessLine(m *Model) string {
	st := m.st
	switch {
	case v.readyErr != "":
		return st.Warning.Render("rollback readiness unknown: " + v.readyErr)
	case v.ready == nil:
		return st.Muted.Render("checking rollback readiness…")
	case !v.ready.Possible:
		return st.Warning.Render("rollback not possible: " + v.ready.Why)
	case v.ready.Via == "rollback-refresh":
		return st.OK.Render("rollback ready: reverses the running rollout") + st.Muted.Render(fmt.Sprintf(" (about %s)", v.ready.Estimate.Round(time.Second)))
	}
	t := v.ready.Target
	return st.OK.Render(fmt.Sprintf("rollback ready: %s (launch template version %d)", t.ImageID, t.Version)) + st.Muted.Render(fmt.Sprintf(", restores in about %s", v.ready.Estimate.Round(time.Second)))
}

// Instance columns.
const (
	colID    = 20
	colAZ    = 11
	colLife  = 16
	colASG   = 10
	colAMI   = 22
	colAge   = 5
	minLBCol = 24
)

func (v *serviceView) line(m *Model, l *detailLine, now time.Time) string {
	st := m.st
	switch l.kind {
	case lineGroup:
		g := l.g
		s := st.Title.Render("▸ "+g.Name) + st.Muted.Render(fmt.Sprintf("  min %d · desired %d · max %d", g.Min, g.Desired, g.Max))
		if r := g.Refresh; r.Active() {
			s += st.Busy.Render(fmt.Sprintf("  ⟳ rollout %s %d%% (%d to update)", r.Status, r.Percent, r.InstancesToUpdate))
		} else if r != nil && r.Status != "" && now.Sub(r.EndedAt) < 10*time.Minute {
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
		lbW := max(m.w-colID-colAZ-colLife-colASG-colAMI-colAge-2, minLBCol)
		return "  " + st.ColumnHeader.Render(pad("INSTANCE", colID)+pad("AZ", colAZ)+pad("LIFECYCLE", colLife)+pad("ASG", colASG)+pad("LOAD BALANCER", lbW)+pad("AMI", colAMI)+pad("AGE", colAge))
	case lineInstance:
		return v.instanceLine(m, l, now)
	case lineImagesHeader:
		s := "\n" + st.Title.Render("Baked images") + st.Muted.Render(" (newest first; which environments run each)")
		if v.imagesErr != "" {
			s += "  " + st.Warning.Render(v.imagesErr)
		} else if len(v.images) == 0 && m.cfg.ReadOnly {
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
		runs := strings.Join(envsRunning(&m.fleet, v.key.Name, img.ID), ",")
		return fmt.Sprintf("  %s %s  %s  %s  %s  %s", pad(img.ID, colAMI), pad(orDash(img.Label), 14), pad(state, 14), img.CreatedAt.UTC().Format("2006-01-02 15:04"), pad(shortARN(img.BakedBy), 24), st.OK.Render(runs))
	}
	return l.text
}

func (v *serviceView) instanceLine(m *Model, l *detailLine, now time.Time) string {
	st := m.st
	in := l.in
	life := pad(in.Lifecycle.String(), colLife)
	switch {
	case in.Lifecycle == model.InService:
		life = st.OK.Render(life)
	case in.Lifecycle.Leaving():
		life = st.Muted.Render(life)
	default:
		life = st.Busy.Render(life)
	}
	asg := st.OK.Render(pad("Healthy", colASG))
	if !in.Healthy {
		asg = st.Error.Render(pad("Unhealthy", colASG))
	}
	lbW := max(m.w-colID-colAZ-colLife-colASG-colAMI-colAge-2, minLBCol)
	ami := pad(orDash(in.ImageID), colAMI)
	if l.g.ImageID != "" && in.ImageID != "" && in.ImageID != l.g.ImageID {
		ami = st.Warning.Render(ami)
	}
	return "  " + pad(in.ID, colID) + pad(in.AZ, colAZ) + life + asg + pad(targetsText(m, in, now), lbW) + ami + pad(age(in.Age(now)), colAge)
}

// targetsText is each balancer's view of the instance, with the drain countdown.
func targetsText(m *Model, in *model.Instance, now time.Time) string {
	st := m.st
	if len(in.Targets) == 0 {
		return st.Muted.Render("-")
	}
	parts := make([]string, 0, len(in.Targets))
	for _, t := range in.Targets {
		s := t.Balancer + " " + t.State.String()
		style := st.OK
		switch t.State {
		case model.TargetDraining:
			left, exact := t.DrainRemaining(now)
			about := ""
			if !exact {
				about = "~"
			}
			s += fmt.Sprintf(" %s%s left", about, left.Round(time.Second))
			style = st.Busy
		case model.TargetHealthy:
		case model.TargetInitial:
			style = st.Busy
		default:
			style = st.Warning
		}
		if t.Reason != "" && t.State != model.TargetHealthy && t.State != model.TargetDraining {
			s += " (" + t.Reason + ")"
		}
		if t.Stale && t.CheckedAt > 0 {
			s += fmt.Sprintf(" [%s old]", age(now.Sub(time.Unix(t.CheckedAt, 0))))
		}
		parts = append(parts, style.Render(s))
	}
	return strings.Join(parts, ", ")
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
