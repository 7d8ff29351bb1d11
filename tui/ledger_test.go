package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// openService opens a service's screen at a terminal size, with its release list read.
func openService(t *testing.T, m *Model, name, env string, w, h int) {
	t.Helper()
	run(m, tea.WindowSizeMsg{Width: w, Height: h})
	m.screen = screenServices
	selectService(t, m, name, env)
	run(m, press(m.keys.Services.Open))
	if m.screen != screenService || !m.detail.releases.loaded {
		t.Fatalf("%s/%s: screen %v, releases loaded %v", name, env, m.screen, m.detail.releases.loaded)
	}
}

// cursorToRelease moves the cursor down, with the keymap, onto a release's row.
func cursorToRelease(t *testing.T, m *Model, version int64) {
	t.Helper()
	run(m, press(m.keys.Nav.Top))
	for range 100 {
		if e, ok := m.detail.selectedRelease(); ok && e.Version == version {
			return
		}
		run(m, press(m.keys.Nav.Down))
	}
	t.Fatalf("no release v%d row reached; lines %d", version, len(m.detail.lines))
}

// TestGoldenServiceReleases80x24: auth/production at the smallest size, the cursor on v3,
// which AWS rolled back: the release list (state, when, who, why, cut to the width), the
// readiness line with what the rollback skips, and m offered on the release row.
func TestGoldenServiceReleases80x24(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	openService(t, m, "auth", "production", 80, 24)
	cursorToRelease(t, m, 3)
	view := m.View()
	if n := strings.Count(view, "\n") + 1; n != 24 {
		t.Fatalf("view is %d lines, want 24", n)
	}
	for _, want := range []string{"Releases", "› v3   ami-0a403a49a729a398f rolled back", "v2   ami-0c761c8de6e8f0043 live", "v1   ami-0e0a118eb5d0385de was live", "skips v3 rolled back", "m mark release"} {
		if !strings.Contains(view, want) {
			t.Errorf("80x24 auth/production lacks %q:\n%s", want, view)
		}
	}
	for _, l := range strings.Split(view, "\n") {
		if w := ansiWidth(l); w > 80 {
			t.Errorf("line wider than 80 (%d): %q", w, l)
		}
	}
	golden.RequireEqual(t, []byte(view))
}

// TestGoldenServiceReleases160x45: web/production (mid-rollout) at a large size: v4 rolling
// out, v3 live, v2 and v1 were live, with full live periods and the release notes' reasons.
func TestGoldenServiceReleases160x45(t *testing.T) {
	m, _ := newConsole(t, nil)
	openService(t, m, "web", "production", 160, 45)
	cursorToRelease(t, m, 4)
	view := m.View()
	for _, want := range []string{"v4   ami-0c2387f361afac894 rolling out", "v3   ami-0e225359ba1c07a32 live", "11-20 23:11 – 11-24 00:11", "why: release 96a1c11"} {
		if !strings.Contains(view, want) {
			t.Errorf("160x45 web/production lacks %q:\n%s", want, view)
		}
	}
	golden.RequireEqual(t, []byte(view))
}

// The cursor never stops on a header or an info line.
func TestServiceCursorSkipsHeaders(t *testing.T) {
	m, _ := newConsole(t, nil)
	openService(t, m, "auth", "production", 120, 36)
	seen := map[lineKind]bool{}
	run(m, press(m.keys.Nav.Top))
	for range len(m.detail.lines) + 2 {
		seen[m.detail.lines[m.detail.cursor].kind] = true
		run(m, press(m.keys.Nav.Down))
	}
	run(m, press(m.keys.Nav.Bottom))
	seen[m.detail.lines[m.detail.cursor].kind] = true
	for k := range seen {
		if k != lineInstance && k != lineRelease && k != lineImage {
			t.Errorf("the cursor stopped on a line of kind %d", k)
		}
	}
	if !seen[lineRelease] {
		t.Error("the cursor never reached a release row")
	}
}

// TestMarkFlow: m on a release row asks bad or good (b here answers the prompt, not bake),
// then a reason, plans the mark of that version and executes it once the production
// confirmation is typed; the release list is read again afterwards.
func TestMarkFlow(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionMark, Service: "auth", Env: "production", Production: true,
		Mark:   &model.MarkSpec{Version: 3, Images: []string{"ami-0a403a49a729a398f"}, Mark: model.Mark{Kind: model.MarkBad, Reason: "5xx spike"}},
		Checks: []model.Check{{Name: ops.CheckMarkVersion, OK: true}}}}
	m, _ := newConsole(t, op)
	openService(t, m, "auth", "production", 120, 36)

	// On an instance row, m says where to go.
	run(m, press(m.keys.Service.Mark))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "move the cursor onto a release") {
		t.Fatalf("m on an instance: dialogs=%d status=%q", len(m.dialogs), m.status)
	}
	cursorToRelease(t, m, 3)
	run(m, press(m.keys.Service.Mark))
	if len(m.dialogs) != 1 || m.top().ID() != markDialogID {
		t.Fatalf("m on v3: dialogs=%d", len(m.dialogs))
	}
	run(m, press(m.keys.Dialog.MarkBad))
	if len(m.dialogs) != 1 || len(op.planned) != 0 {
		t.Fatalf("b in the mark prompt: dialogs=%d planned=%v (b must not bake)", len(m.dialogs), op.planned)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.marks) != 0 || !strings.Contains(m.status, "needs a reason") {
		t.Fatalf("empty reason: marks=%v status=%q", op.marks, m.status)
	}
	run(m, typeText("5xx spike"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.marks) != 1 {
		t.Fatalf("PlanMark called %d times", len(op.marks))
	}
	want := ops.MarkRequest{Service: "auth", Env: "production", Version: 3, Kind: model.MarkBad, Reason: "5xx spike"}
	if op.marks[0] != want {
		t.Fatalf("PlanMark got %+v, want %+v", op.marks[0], want)
	}
	if len(m.dialogs) != 1 || m.top().ID() != planDialogID || !strings.Contains(m.View(), "MARK auth/production") {
		t.Fatalf("no mark plan dialog:\n%s", m.View())
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 0 {
		t.Fatal("a production mark ran without the service name")
	}
	reads := m.tasks.next
	run(m, typeText("auth"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 1 || op.executed[0].Action != model.ActionMark || op.executed[0].Mark.Version != 3 {
		t.Fatalf("executed %+v", op.executed)
	}
	if m.tasks.next <= reads || !m.detail.releases.loaded {
		t.Error("the release list was not read again after the mark")
	}

	// g answers good.
	run(m, press(m.keys.Service.Mark))
	run(m, press(m.keys.Dialog.MarkGood))
	run(m, typeText("fixed upstream"))
	run(m, press(m.keys.Dialog.Confirm))
	if got := op.marks[len(op.marks)-1]; got.Kind != model.MarkGood || got.Reason != "fixed upstream" {
		t.Fatalf("g: PlanMark got %+v", got)
	}
}

// TestMarkReadOnly: read-only mode disables m with its reason, even on a release row, and
// help does not offer it.
func TestMarkReadOnly(t *testing.T) {
	m, _ := newConsole(t, nil)
	openService(t, m, "auth", "production", 120, 36)
	cursorToRelease(t, m, 3)
	if m.keys.Service.Mark.Enabled() {
		t.Fatal("m enabled in read-only mode")
	}
	run(m, press(m.keys.Service.Mark))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "read-only mode: mark release is not available") {
		t.Fatalf("m in read-only: dialogs=%d status=%q", len(m.dialogs), m.status)
	}
	if strings.Contains(m.shortHelp(), "mark release") {
		t.Errorf("help offers m in read-only mode: %s", m.shortHelp())
	}
}

// TestProductionRollbackAsksForAReason: r on a production service asks why before anything
// is planned; an empty reason is refused, esc plans nothing, and the reason reaches
// RollbackRequest.Reason. Staging plans at once.
func TestProductionRollbackAsksForAReason(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionRollback, Service: "auth", Env: "production", Production: true}}
	m, _ := newConsole(t, op)
	selectService(t, m, "auth", "production")

	run(m, press(m.keys.Services.Rollback))
	if len(m.dialogs) != 1 || m.top().ID() != reasonDialogID || len(op.planned) != 0 {
		t.Fatalf("r on production: dialogs=%d planned=%v", len(m.dialogs), op.planned)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.planned) != 0 || !strings.Contains(m.status, "needs a reason") {
		t.Fatalf("empty reason: planned=%v status=%q", op.planned, m.status)
	}
	run(m, press(m.keys.Dialog.Cancel))
	if len(m.dialogs) != 0 || len(op.planned) != 0 {
		t.Fatalf("esc: dialogs=%d planned=%v", len(m.dialogs), op.planned)
	}

	run(m, press(m.keys.Services.Rollback))
	run(m, typeText("5xx spike after 844271a"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.rollbacks) != 1 || op.rollbacks[0].Reason != "5xx spike after 844271a" || op.rollbacks[0].Service != "auth" {
		t.Fatalf("RollbackRequest %+v", op.rollbacks)
	}
	if len(m.dialogs) != 1 || m.top().ID() != planDialogID {
		t.Fatalf("after the reason, no plan dialog (%d dialogs)", len(m.dialogs))
	}
	run(m, press(m.keys.Dialog.Cancel))

	selectService(t, m, "auth", "staging")
	run(m, press(m.keys.Services.Rollback))
	if len(op.rollbacks) != 2 || op.rollbacks[1].Reason != "" || m.top().ID() != planDialogID {
		t.Fatalf("staging r asked for a reason, or planned nothing: %+v", op.rollbacks)
	}
}

// TestOverrideMarkedImage: a promote refused only because its image was rolled back offers
// o; o names the mark and asks for a reason; then the promote of that image is planned again
// with AllowBadImage, and that plan needs the normal confirmation.
func TestOverrideMarkedImage(t *testing.T) {
	const image = "ami-0a403a49a729a398f"
	mark := "rolled back 2026-11-30 23:14 UTC in production by alice: 5xx spike"
	refused := model.Plan{Action: model.ActionPromote, Service: "auth", Env: "staging",
		Steps:  []model.GroupStep{{Group: "auth-staging", ToImage: model.ImageRef{ImageID: image}}},
		Checks: []model.Check{{Name: ops.CheckImageMarks, Detail: image + " was " + mark + ": promote another image, or override with --allow-bad-image and a --reason (in the console: confirm the override)"}, {Name: ops.CheckImageReady, OK: true}}}
	allowed := refused
	allowed.Checks = []model.Check{{Name: ops.CheckImageMarks, Warn: true, Detail: image + " was " + mark + "; promoting it anyway"}}
	op := &recordingOperator{plans: []model.Plan{refused, allowed}}
	m, _ := newConsole(t, op)
	selectService(t, m, "auth", "staging")
	run(m, press(m.keys.Services.Promote))
	run(m, press(m.keys.Dialog.FromEnv))
	if len(op.promotes) != 1 || op.promotes[0].AllowBadImage {
		t.Fatalf("first plan: %+v", op.promotes)
	}
	if v := m.View(); !strings.Contains(v, "o override the mark") {
		t.Fatalf("the refused plan does not offer the override:\n%s", v)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 0 {
		t.Fatal("a refused plan ran")
	}
	run(m, press(m.keys.Dialog.Override))
	if len(m.dialogs) != 1 || m.top().ID() != overrideDialogID {
		t.Fatalf("o: dialogs %d", len(m.dialogs))
	}
	if d := m.top().(*overrideDialog); d.mark != mark || d.image != image {
		t.Fatalf("override names %q on %q, want %q on %q", d.mark, d.image, mark, image)
	}
	if v := m.View(); !strings.Contains(v, "promote it anyway?") || !strings.Contains(v, "5xx spike") {
		t.Errorf("the override does not ask about the mark:\n%s", v)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.promotes) != 1 || !strings.Contains(m.status, "needs a reason") {
		t.Fatalf("override without a reason: promotes=%d status=%q", len(op.promotes), m.status)
	}
	run(m, typeText("hotfix needs it; 5xx was upstream"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.promotes) != 2 {
		t.Fatalf("override did not re-plan: %+v", op.promotes)
	}
	got := op.promotes[1]
	if !got.AllowBadImage || got.Reason != "hotfix needs it; 5xx was upstream" || got.ImageID != image || got.FromEnv != "" {
		t.Fatalf("override request %+v", got)
	}
	if len(m.dialogs) != 1 || m.top().ID() != planDialogID || strings.Contains(m.View(), "o override") {
		t.Fatalf("the overridden plan is not shown for confirmation:\n%s", m.View())
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 1 || len(op.executed[0].Warnings()) != 1 {
		t.Fatalf("executed %+v", op.executed)
	}
}

// TestPickerSkipsMarkedImages: the image picker never pre-selects an image with a mark
// against it and shows the mark; with every image marked it picks none; s warns when what
// staging runs is marked, and a second s goes on.
func TestPickerSkipsMarkedImages(t *testing.T) {
	op := &recordingOperator{plan: model.Plan{Action: model.ActionPromote, Service: "api", Env: "production"}}
	m, _ := newConsole(t, op)
	selectService(t, m, "api", "production")
	run(m, press(m.keys.Services.Promote))
	d, ok := m.top().(*promoteDialog)
	if !ok {
		t.Fatal("p did not open the picker")
	}
	staging, _ := m.c.fleet.Service("api", "staging")
	bad := model.Mark{Kind: model.MarkRolledBack, When: t0, Env: "production", Who: "arn:aws:iam::1:user/alice", Reason: "5xx spike"}
	imgs := []model.Image{
		{ID: "ami-00000000000000new", State: "available", CreatedAt: t0, Marks: []model.Mark{bad}},
		{ID: staging.Release(), State: "available", CreatedAt: t0.Add(-time.Hour), Marks: []model.Mark{bad}},
		{ID: "ami-000000000000000ok", State: "available", CreatedAt: t0.Add(-2 * time.Hour)},
	}
	run(m, imagesMsg{service: "api", images: imgs})
	if d.cursor != 2 {
		t.Fatalf("picker pre-selected image %d, want 2 (the only one without a mark)", d.cursor)
	}
	if v := m.View(); !strings.Contains(v, "⚠ rolled back") {
		t.Errorf("the picker does not show the mark:\n%s", v)
	}
	run(m, press(m.keys.Dialog.FromEnv))
	if len(op.planned) != 0 || !strings.Contains(m.View(), "press s again") {
		t.Fatalf("s on a marked staging image: planned=%v\n%s", op.planned, m.View())
	}
	run(m, press(m.keys.Dialog.FromEnv))
	// production: the reason prompt comes first
	if len(m.dialogs) != 1 || m.top().ID() != reasonDialogID {
		t.Fatalf("second s did not go on (%d dialogs)", len(m.dialogs))
	}
	run(m, press(m.keys.Dialog.Cancel))

	run(m, press(m.keys.Services.Promote))
	d = m.top().(*promoteDialog)
	imgs[2].Marks = []model.Mark{bad}
	run(m, imagesMsg{service: "api", images: imgs})
	if d.cursor != -1 {
		t.Fatalf("every image marked: cursor %d, want none (-1)", d.cursor)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(m.dialogs) != 1 || len(op.planned) != 0 {
		t.Fatalf("enter with nothing picked planned %v", op.planned)
	}
}
