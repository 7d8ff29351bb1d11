package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/adstage/adstage-ops/model"
)

// auditFixture is an audit view of web/production with records of every kind, in an order
// that is not time order, so that the view's own ordering is what a test sees.
func auditFixture(m *Model) historyMsg {
	k := model.ServiceKey{Name: "web", Env: "production"}
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	h := model.History{ServiceKey: k,
		Releases: []model.Release{
			{TemplateID: "lt-1", TemplateName: "web-production", Version: 4, ImageID: "ami-0c2387f361afac894", CreatedAt: at(50), CreatedBy: "arn:aws:iam::1:user/alice"},
			{TemplateID: "lt-1", TemplateName: "web-production", Version: 3, ImageID: "ami-0e225359ba1c07a32", CreatedAt: at(5), CreatedBy: "arn:aws:iam::1:user/alice"},
		},
		Refreshes: []model.RefreshRecord{
			{Group: "web-production", Refresh: model.Refresh{ID: "r-2", Status: "Failed", StatusReason: "instances failed health checks", Percent: 40, StartedAt: at(51)}},
			{Group: "web-production", Refresh: model.Refresh{ID: "r-1", Status: "Successful", Percent: 100, StartedAt: at(6)}},
		},
	}
	for i := range 12 {
		h.Activities = append(h.Activities, model.Activity{Group: "web-production", Status: "Successful", StartedAt: at(60 - i*5),
			Description: fmt.Sprintf("Launching a new EC2 instance: i-%04d", i)})
	}
	events := []model.AuditEvent{
		{Time: at(50), Who: "arn:aws:iam::1:user/alice", Action: model.ActionPromote, Service: "web", Env: "production", From: "ami-0e225359ba1c07a32", To: "ami-0c2387f361afac894", Result: "failed", Error: "rollout failed"},
		{Time: at(70), Who: "arn:aws:iam::1:user/bob", Action: model.ActionRollback, Service: "web", Env: "production", Result: "cancelled"},
		{Time: at(4), Who: "arn:aws:iam::1:user/alice", Action: model.ActionPromote, Service: "web", Env: "production", Result: "succeeded", Reason: "release 96a1c11"},
	}
	return historyMsg{key: k, h: h, events: events}
}

func openAudit(t *testing.T, m *Model, w, h int) {
	t.Helper()
	run(m, tea.WindowSizeMsg{Width: w, Height: h})
	selectService(t, m, "web", "production")
	run(m, press(m.keys.Services.Audit))
	if m.screen != screenAudit {
		t.Fatalf("a opened screen %v", m.screen)
	}
	run(m, auditFixture(m))
}

// Newest first by time across kinds; scaling folded until s; f shows one kind at a time.
func TestAuditNewestFirstFoldAndKind(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	openAudit(t, m, 160, 45)
	v := m.audit
	var prev time.Time
	for i, idx := range v.shown {
		l := v.all[idx]
		if i > 0 && l.at.After(prev) {
			t.Fatalf("line %d (%s) is newer than the one above it", i, l.text)
		}
		prev = l.at
		if l.kind == kindScaling {
			t.Fatalf("scaling shown while folded: %s", l.text)
		}
	}
	if first := v.all[v.shown[0]]; first.kind != kindAction || !strings.Contains(first.text, "rollback") {
		t.Fatalf("first line %q, want the newest (the cancelled rollback)", first.text)
	}
	if view := m.View(); !strings.Contains(view, "12 scaling activities folded (s shows them)") {
		t.Fatalf("fold not said:\n%s", view)
	}
	run(m, press(m.keys.Audit.Scaling))
	if n := len(v.shown); n != 3+2+2+12 {
		t.Fatalf("unfolded: %d lines", n)
	}
	run(m, press(m.keys.Audit.Scaling))
	run(m, press(m.keys.Audit.Kind)) // actions
	for _, idx := range v.shown {
		if v.all[idx].kind != kindAction {
			t.Fatalf("kind filter actions shows %s", v.all[idx].text)
		}
	}
	if len(v.shown) != 3 {
		t.Fatalf("actions: %d lines", len(v.shown))
	}
	for range 3 { // releases, rollouts, scaling: scaling shows even though folded
		run(m, press(m.keys.Audit.Kind))
	}
	if v.kind != kindScaling || len(v.shown) != 12 {
		t.Fatalf("kind %v: %d lines", v.kind, len(v.shown))
	}
	run(m, press(m.keys.Audit.Kind))
	if v.kind != kindAll {
		t.Fatalf("kind after a full cycle: %v", v.kind)
	}
}

// Failed, cancelled and unknown records take the problem colours.
func TestAuditProblemsInColour(t *testing.T) {
	if actionTone("failed") != toneError || actionTone("cancelled") != toneWarning || actionTone("unknown") != toneWarning || actionTone("succeeded") != toneNormal {
		t.Fatal("action tones")
	}
	if awsTone("Failed") != toneError || awsTone("Cancelled") != toneWarning || awsTone("RollbackSuccessful") != toneWarning || awsTone("Successful") != toneNormal {
		t.Fatal("AWS status tones")
	}
	if releaseTone(string(model.ReleaseRolledBack)) != toneWarning || releaseTone(string(model.ReleaseLive)) != toneNormal {
		t.Fatal("release tones")
	}
}

func TestGoldenAudit120x40(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	openAudit(t, m, 120, 40)
	v := m.View()
	checkLines(t, v, 120, 40)
	golden.RequireEqual(t, []byte(v))
}

func TestGoldenAudit200x60(t *testing.T) {
	m, _ := newConsole(t, &recordingOperator{})
	openAudit(t, m, 200, 60)
	run(m, press(m.keys.Audit.Scaling))
	v := m.View()
	checkLines(t, v, 200, 60)
	golden.RequireEqual(t, []byte(v))
}
