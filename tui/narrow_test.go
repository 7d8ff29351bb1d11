package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/adstage/adstage-ops/model"
)

// shownColumns names the columns a layout keeps.
func shownColumns(cols []column, widths []int) []string {
	var out []string
	for i, w := range widths {
		if w > 0 {
			out = append(out, cols[i].title)
		}
	}
	return out
}

// The column rule of both tables at 80, 100, 120 and 160 columns: what is kept, what goes
// first, and that the columns never take more than the screen.
func TestColumnRuleAtEveryWidth(t *testing.T) {
	services := map[int][]string{
		80:  {"SERVICE", "ENV", "HEALTH", "RELEASE", "STATE", "ROLLBACK"},
		100: {"SERVICE", "ENV", "WANT", "IN SVC", "HEALTH", "DRAIN", "RELEASE", "STATE", "ROLLBACK"},
		120: {"SERVICE", "ENV", "GROUPS", "WANT", "IN SVC", "HEALTH", "DRAIN", "RELEASE", "STATE", "ROLLBACK"},
		160: {"SERVICE", "ENV", "GROUPS", "WANT", "IN SVC", "HEALTH", "DRAIN", "5XX/M", "RELEASE", "STATE", "ROLLBACK"},
	}
	instances := map[int][]string{
		80:  {"INSTANCE", "LIFECYCLE", "ASG", "LOAD BALANCER", "AMI"},
		100: {"INSTANCE", "AZ", "LIFECYCLE", "ASG", "LOAD BALANCER", "AMI", "AGE"},
		120: {"INSTANCE", "AZ", "LIFECYCLE", "ASG", "LOAD BALANCER", "AMI", "AGE"},
		160: {"INSTANCE", "AZ", "LIFECYCLE", "ASG", "LOAD BALANCER", "AMI", "AGE"},
	}
	for _, w := range []int{80, 100, 120, 160} {
		sw := servicesLayout(w, len("worker-reports"), colBack, 0)
		if got := shownColumns(servicesColumns, sw); !slices.Equal(got, services[w]) {
			t.Errorf("services at %d: %v, want %v", w, got, services[w])
		}
		iw := instanceLayout(w)
		if got := shownColumns(instanceColumns, iw); !slices.Equal(got, instances[w]) {
			t.Errorf("instances at %d: %v, want %v", w, got, instances[w])
		}
		for name, ws := range map[string][]int{"services": sw, "instances": iw} {
			sum := 0
			for _, x := range ws {
				sum += x
			}
			// Never more than the screen; on a wide one the spare room stays at the end of
			// the row instead of stretching a name column across it.
			if sum+gutter > w || w <= 100 && sum+gutter != w {
				t.Errorf("%s at %d: columns take %d of %d", name, w, sum+gutter, w)
			}
		}
		// A whole AMI id from 120 columns; a short one, cut with …, below.
		if whole := sw[svcRelease] >= colReleaseWide; whole != (w >= 120) {
			t.Errorf("services at %d: RELEASE %d wide", w, sw[svcRelease])
		}
	}
	// A service with a row per region: REGION is always shown beside ENV, and at 80 columns
	// the cut RELEASE makes room for it.
	regional := map[int][]string{
		80:  {"SERVICE", "ENV", "REGION", "HEALTH", "STATE", "ROLLBACK"},
		100: {"SERVICE", "ENV", "REGION", "HEALTH", "DRAIN", "RELEASE", "STATE", "ROLLBACK"},
	}
	for w, want := range regional {
		ws := servicesLayout(w, len("worker-reports"), colBack, len("eu-west-1")+2)
		if got := shownColumns(servicesColumns, ws); !slices.Equal(got, want) {
			t.Errorf("services with regions at %d: %v, want %v", w, got, want)
		}
	}
	// Dropping goes by priority: a column is shown only when every one before it is.
	for w := 60; w <= 200; w++ {
		ws := servicesLayout(w, 12, colBack, 0)
		for i, c := range servicesColumns {
			for j, d := range servicesColumns {
				if ws[i] > 0 && ws[j] == 0 && d.prio >= 0 && d.prio < c.prio {
					t.Fatalf("at %d %s is shown but %s (higher priority) is not", w, c.title, d.title)
				}
			}
		}
	}
}

// The console at each width: nothing wider than the screen, the columns that matter and the
// drain countdown on screen, AMI ids cut with …, and the header and footer keep who you are,
// ? and q.
func TestConsoleKeepsWhatMattersAtEveryWidth(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 36}, {160, 45}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			m, _ := newConsole(t, &recordingOperator{})
			run(m, tea.WindowSizeMsg{Width: w, Height: h})
			checkLines(t, m.View(), w, h)
			v := m.View()
			for _, want := range []string{"STATE", "ROLLBACK", "HEALTH", "undo rollout", "rollout 50%", "legacy LC", "demo-operator", "? help", "q quit", "production"} {
				if !strings.Contains(v, want) {
					t.Errorf("services at %dx%d lack %q:\n%s", w, h, want, v)
				}
			}
			if w < 120 && !strings.Contains(v, "ami-0e225…") {
				t.Errorf("services at %d: AMI not cut with …:\n%s", w, v)
			}
			openService(t, m, "web", "production", w, h)
			v = m.View()
			checkLines(t, v, w, h)
			for _, want := range []string{"draining ~45s left", "LIFECYCLE", "Terminating", "ami-0c238", "demo-operator", "? help", "q quit", "esc back"} {
				if !strings.Contains(v, want) {
					t.Errorf("service at %dx%d lacks %q:\n%s", w, h, want, v)
				}
			}
		})
	}
}

func checkLines(t *testing.T, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) != h {
		t.Errorf("view is %d lines, want %d", len(lines), h)
	}
	for _, l := range lines {
		if n := ansiWidth(l); n > w {
			t.Errorf("line wider than %d (%d): %q", w, n, l)
		}
	}
}

// Keys of one terminal read arrive as one message: each acts as if typed alone, outside text
// fields; inside one, they are text.
func TestKeyBurstActsKeyByKey(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	down := m.keys.Nav.Down.Keys()[0]
	run(m, typeText(strings.Repeat(down, 4)))
	if m.list.cursor != 4 {
		t.Fatalf("a burst of four %q moved the cursor to row %d, want 4", down, m.list.cursor)
	}
	up := m.keys.Nav.Up.Keys()[0]
	run(m, typeText(up+up))
	if m.list.cursor != 2 {
		t.Fatalf("a burst of two %q left the cursor on row %d, want 2", up, m.list.cursor)
	}
	// "/web" in one read opens the filter and types web into it.
	run(m, typeText(m.keys.Services.Filter.Keys()[0]+"web"))
	if !m.list.filtering || m.list.input.Value() != "web" || m.list.query != "web" {
		t.Fatalf("burst /web: filtering %v, input %q, query %q", m.list.filtering, m.list.input.Value(), m.list.query)
	}
	// In the filter a burst is text: "jj" filters, it does not move.
	run(m, typeText(down+down))
	if m.list.input.Value() != "web"+down+down {
		t.Fatalf("a burst in the filter was not typed: %q", m.list.input.Value())
	}
}

// A burst never reaches past a text field: "/web" then enter, enter opens web/production,
// which the unfiltered list puts before web/staging.
func TestFilterEnterEnterOpensTheFirstOfTheList(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, typeText(m.keys.Services.Filter.Keys()[0]+"web"))
	run(m, press(m.keys.Filter.Apply))
	run(m, press(m.keys.Services.Open))
	if m.screen != screenService || m.detail.key != (model.ServiceKey{Name: "web", Env: "production"}) {
		t.Fatalf("/web enter enter opened %v (screen %v), want web/production", m.detail.key, m.screen)
	}
}

// Fuzzy ranking: a whole word beats a prefix beats a subsequence, and ties keep the list's
// order.
func TestFilterRankingTiesKeepListOrder(t *testing.T) {
	cands := func(texts ...string) []candidate {
		out := make([]candidate, len(texts))
		for i, s := range texts {
			name, env, _ := strings.Cut(s, " ")
			out[i] = candidate{key: model.ServiceKey{Name: name, Env: env}, text: s, pos: i}
		}
		return out
	}
	names := func(rows []model.ServiceKey) []string {
		var out []string
		for _, k := range rows {
			out = append(out, k.String())
		}
		return out
	}
	for _, tc := range []struct {
		query string
		cands []candidate
		want  []string
	}{
		{"web", cands("web production", "web staging", "webhooks production"), []string{"web/production", "web/staging", "webhooks/production"}},
		{"api", cands("rapid-ingest production", "api production", "api staging"), []string{"api/production", "api/staging", "rapid-ingest/production"}},
		{"web prod", cands("worker-bids production", "web staging", "web production"), []string{"web/production", "worker-bids/production"}},
		{"bids", cands("api production", "worker-bids production", "worker-bids staging"), []string{"worker-bids/production", "worker-bids/staging"}},
	} {
		got := names(runFilter(1, tc.query, tc.cands).rows)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.query, got, tc.want)
		}
	}
	// The same ties, given in the other order (the search of a grown query reads the last
	// result), still come out in the list's order.
	c := cands("web production", "web staging")
	slices.Reverse(c)
	if got := names(runFilter(1, "web", c).rows); !slices.Equal(got, []string{"web/production", "web/staging"}) {
		t.Errorf("reversed candidates: %v", got)
	}
}

// With a filter applied, refreshes change neither the order nor the row under the cursor.
func TestFilteredRowsStayPutAcrossRefreshes(t *testing.T) {
	m, clock := newConsole(t, &recordingOperator{})
	run(m, press(m.keys.Services.Filter))
	run(m, typeText("r"))
	run(m, press(m.keys.Filter.Apply))
	if len(m.list.rows) < 5 {
		t.Fatalf("filter r kept %d rows", len(m.list.rows))
	}
	run(m, press(m.keys.Nav.Down))
	run(m, press(m.keys.Nav.Down))
	run(m, press(m.keys.Nav.Down))
	order := slices.Clone(m.list.rows)
	at, _ := m.list.selected()
	for range 5 {
		clock.Advance(7 * time.Second)
		for _, msg := range resolve(m.startRefresh()) {
			run(m, msg)
		}
		if !slices.Equal(m.list.rows, order) {
			t.Fatalf("a refresh reordered the filtered rows:\n%v\n%v", order, m.list.rows)
		}
		if k, _ := m.list.selected(); k != at {
			t.Fatalf("the cursor moved from %v to %v without a key", at, k)
		}
	}
}

// b bakes the instance under the cursor, or nothing: on a release row it says why.
func TestBakeOnlyFromTheInstanceUnderTheCursor(t *testing.T) {
	op := &recordingOperator{}
	m, _ := newConsole(t, op)
	openService(t, m, "auth", "production", 120, 36)
	cursorToRelease(t, m, 2)
	run(m, press(m.keys.Service.Bake))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "onto an instance") {
		t.Fatalf("b on a release row: dialogs %d, status %q", len(m.dialogs), m.status)
	}
	if strings.Contains(m.shortHelp(), m.keys.Service.Bake.Help().Desc) {
		t.Errorf("the footer offers b on a release row: %s", m.shortHelp())
	}
	run(m, press(m.keys.Nav.Top))
	run(m, press(m.keys.Service.Bake))
	if len(m.dialogs) != 1 {
		t.Fatalf("b on an instance opened %d dialogs", len(m.dialogs))
	}
}

// tallProductionPlan is a rollback of web/production with more lines than 80x24 shows.
func tallProductionPlan() model.Plan {
	p := model.Plan{Action: model.ActionRollback, Service: "web", Env: "production", Production: true,
		CLI: "adstage-ops rollback --service web --env production --reason '5xx spike' --yes", Strategy: "roll out the previous release", Capacity: "never below 6 healthy", RestoreEstimate: 92 * time.Second}
	for i := range 3 {
		p.Steps = append(p.Steps, model.GroupStep{Group: fmt.Sprintf("web-production-%d", i), Instances: 6, Desired: 6,
			FromImage: model.ImageRef{ImageID: "ami-0c2387f361afac894"}, ToImage: model.ImageRef{ImageID: "ami-0e225359ba1c07a32"}, ToVersion: "3"})
	}
	for i := range 6 {
		p.Checks = append(p.Checks, model.Check{Name: fmt.Sprintf("check %d", i), OK: true})
	}
	return p
}

// At 80x24 a production plan taller than the screen keeps its confirm field and border on
// screen, and enter confirms nothing before the whole plan has been shown.
func TestGoldenProductionPlan80x24(t *testing.T) {
	op := &recordingOperator{plan: tallProductionPlan()}
	m, _ := newConsole(t, op)
	run(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	selectService(t, m, "web", "production")
	run(m, press(m.keys.Services.Rollback))
	run(m, typeText("5xx spike"))
	run(m, press(m.keys.Dialog.Confirm)) // the reason; then the plan
	v := m.View()
	checkLines(t, v, 80, 24)
	for _, want := range []string{"type web to confirm", "╰", "more below", " production "} {
		if !strings.Contains(v, want) {
			t.Fatalf("80x24 plan lacks %q:\n%s", want, v)
		}
	}
	golden.RequireEqual(t, []byte(v))
	run(m, typeText("web"))
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 0 || !strings.Contains(m.status, "read the whole plan") {
		t.Fatalf("enter before the end of the plan was seen: executed %d, status %q", len(op.executed), m.status)
	}
	for range 30 {
		run(m, press(m.keys.Dialog.ScrollDown))
	}
	v = m.View()
	if !strings.Contains(v, "same from a script") || !strings.Contains(v, "--yes") || !strings.Contains(v, "type web to confirm: web") {
		t.Fatalf("scrolled to the end:\n%s", v)
	}
	run(m, press(m.keys.Dialog.Confirm))
	if len(op.executed) != 1 {
		t.Fatalf("enter after reading the whole plan: executed %d (status %q)", len(op.executed), m.status)
	}
}

// A plan that fits confirms at once; a blocked one says nothing of ends it does not know.
func TestBlockedPlanShowsNoUnknownEnds(t *testing.T) {
	p := model.Plan{Action: model.ActionPromote, Service: "api", Env: "staging", RestoreEstimate: 30 * time.Second,
		Steps:  []model.GroupStep{{Group: "api-staging", Instances: 3, Desired: 3}},
		Checks: []model.Check{{Name: "image available", OK: false, Detail: "no such image"}}}
	m, _ := newConsole(t, &recordingOperator{plan: p})
	selectService(t, m, "api", "staging")
	run(m, press(m.keys.Services.Rollback))
	v := m.View()
	for _, bad := range []string{"template - v", "from -", "to   -", "takes"} {
		if strings.Contains(v, bad) {
			t.Errorf("blocked plan shows %q:\n%s", bad, v)
		}
	}
}

// States and write mode take the colour of what they mean.
func TestColoursMeanOneThing(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	st := m.c.st
	fg := func(s string, k model.ServiceKey) string {
		svc, _ := m.c.fleet.Service(k.Name, k.Env)
		_, style := serviceState(m.c, k, summarize(svc))
		return fmt.Sprint(style.GetForeground())
	}
	if got := fg("legacy", model.ServiceKey{Name: "scheduler", Env: "production"}); got != fmt.Sprint(st.Warning.GetForeground()) {
		t.Errorf("legacy LC in %s, want the warning colour", got)
	}
	if got := fg("rollout", model.ServiceKey{Name: "web", Env: "production"}); got != fmt.Sprint(st.Busy.GetForeground()) {
		t.Errorf("a healthy rollout in %s, want the busy colour", got)
	}
	svc, _ := m.c.fleet.Service("web", "production")
	g := svc.Groups[0]
	for i := range g.Instances {
		in := &g.Instances[i]
		if in.ImageID.String() != g.ImageID && fmt.Sprint(amiStyle(st, g, in).GetForeground()) == fmt.Sprint(st.Warning.GetForeground()) {
			t.Errorf("new-release instance %s in the warning colour during a healthy rollout", in.ID)
		}
	}
	if healthText(model.Counts{Desired: 6, Healthy: 12}) != "6/6+6" || plural(1, "group") != "1 group" {
		t.Errorf("health %q, %q", healthText(model.Counts{Desired: 6, Healthy: 12}), plural(1, "group"))
	}
}

// The services screen and the service screen at the smallest and a large size.
func TestGoldenServicesScreen80x24(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	golden.RequireEqual(t, []byte(m.View()))
}

func TestGoldenServicesScreen160x45(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, tea.WindowSizeMsg{Width: 160, Height: 45})
	golden.RequireEqual(t, []byte(m.View()))
}

func TestGoldenServiceDraining80x24(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	openService(t, m, "web", "production", 80, 24)
	golden.RequireEqual(t, []byte(m.View()))
}

// ? explains the states, markers and colours, not only the keys; r on the untagged groups
// answers in the console's words.
func TestHelpLegendAndUntagged(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, press(m.keys.Global.Help))
	run(m, tea.WindowSizeMsg{Width: 160, Height: 80})
	m.help.show(m.activeBindings())
	v := m.View()
	for _, want := range []string{"legacy LC", "undo rollout", "~45s left", "6/6+3", "Colours", "unverified"} {
		if !strings.Contains(v, want) {
			t.Errorf("help lacks %q:\n%s", want, v)
		}
	}
	run(m, press(m.keys.Global.Back))
	selectService(t, m, model.Untagged, "")
	run(m, press(m.keys.Services.Rollback))
	if len(m.dialogs) != 0 || !strings.Contains(m.status, "no service or environment tag") || strings.Contains(m.status, "name the service") {
		t.Fatalf("r on (untagged): dialogs %d, status %q", len(m.dialogs), m.status)
	}
	run(m, press(m.keys.Services.Open))
	if m.status != "" {
		t.Errorf("the status line kept %q on another screen", m.status)
	}
}

// At 80 columns a running action's progress gives way to the service's state in STATE.
func TestNarrowStateKeepsTheState(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	run(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	k := model.ServiceKey{Name: "web", Env: "production"}
	m.c.actions[k] = model.Progress{Stage: "refresh", Percent: 50}
	if v := m.View(); !strings.Contains(v, "rollout 50% mixed") {
		t.Fatalf("STATE at 80 lost the state to the action's progress:\n%s", v)
	}
	run(m, tea.WindowSizeMsg{Width: 200, Height: 40})
	if v := m.View(); !strings.Contains(v, "⟳ refresh 50% rollout 50% mixed") {
		t.Fatalf("STATE at 200 lacks the action's progress:\n%s", v)
	}
}

// TestFilterBurstActsOnTheFilteredList: "/web pro", enter, enter arriving in one burst, before
// the filter's result (computed off the update loop) is back, opens web/production, not the
// row that was first before the filter; r in such a burst plans for web/production too.
func TestFilterBurstActsOnTheFilteredList(t *testing.T) {
	for _, last := range []string{"open", "rollback"} {
		t.Run(last, func(t *testing.T) {
			op := &recordingOperator{}
			m, _ := newConsole(t, op)
			run(m, tea.WindowSizeMsg{Width: 120, Height: 40})
			if k, _ := m.list.selected(); k.Name == "web" {
				t.Fatal("the cursor starts on web: the test would prove nothing")
			}
			// Each key is handled and its commands (the filter run among them) dropped, as if
			// the next key arrived before any of them answered.
			m.Update(typeText("/web"))
			m.Update(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			m.Update(typeText("pro"))
			m.Update(press(m.keys.Filter.Apply))
			switch last {
			case "open":
				run(m, press(m.keys.Services.Open))
				if m.screen != screenService || m.detail.key.Name != "web" || m.detail.key.Env != "production" {
					t.Fatalf("opened %v (screen %v), want web/production", m.detail.key, m.screen)
				}
			case "rollback":
				_, cmd := m.Update(press(m.keys.Services.Rollback))
				var got []tea.Msg
				got = append(got, resolve(cmd)...)
				found := false
				for _, msg := range got {
					if pr, ok := msg.(planRequestMsg); ok {
						found = true
						if pr.req.key.Name != "web" || pr.req.key.Env != "production" {
							t.Fatalf("rollback asked for %v, want web/production", pr.req.key)
						}
					}
				}
				if !found {
					t.Fatalf("no rollback request from the burst: %v", got)
				}
			}
		})
	}
}
