package tui

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

func init() { lipgloss.SetColorProfile(termenv.Ascii) }

// console starts the console on the demo fleet in a teatest program at 120x36 and a fixed
// clock, and waits for the first snapshot to be on screen.
func console(t *testing.T) (*teatest.TestModel, *Model) {
	t.Helper()
	clock, inv := demo(t)
	m := New(Config{Reader: inv, Now: clock.Now, Refresh: time.Hour})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 36))
	// The first snapshot, then the rollback readiness of the rows on screen.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("worker-reports")) && bytes.Contains(b, []byte("ready ~"))
	}, teatest.WithDuration(5*time.Second))
	return tm, m
}

func finish(t *testing.T, tm *teatest.TestModel) *Model {
	t.Helper()
	tm.Send(press(DefaultKeys().Global.Quit))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	return fm
}

func TestGoldenServicesScreen(t *testing.T) {
	tm, _ := console(t)
	fm := finish(t, tm)
	golden.RequireEqual(t, []byte(fm.View()))
}

func TestGoldenFilter(t *testing.T) {
	tm, _ := console(t)
	keys := DefaultKeys()
	tm.Send(press(keys.Services.Filter))
	tm.Type("wrk")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("of 13 services")) || bytes.Contains(b, []byte("/wrk"))
	},
		teatest.WithDuration(5*time.Second))
	tm.Send(press(keys.Filter.Apply))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("filter: wrk")) }, teatest.WithDuration(5*time.Second))
	fm := finish(t, tm)
	golden.RequireEqual(t, []byte(fm.View()))
}

func TestGoldenServiceScreenWithDrainingTargets(t *testing.T) {
	tm, _ := console(t)
	keys := DefaultKeys()
	tm.Send(press(keys.Services.Filter))
	tm.Type("web pro")
	tm.Send(press(keys.Filter.Apply))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("filter: web pro")) }, teatest.WithDuration(5*time.Second))
	tm.Send(press(keys.Services.Open))
	// The images and the release ledger are read apart: wait for both (the ledger also puts
	// the release marks on the sparklines).
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("Baked images")) && bytes.Contains(b, []byte("was live"))
	}, teatest.WithDuration(5*time.Second))
	fm := finish(t, tm)
	if fm.detail.key.Name != "web" || fm.detail.key.Env != "production" {
		t.Fatalf("opened %v", fm.detail.key)
	}
	golden.RequireEqual(t, []byte(fm.View()))
}

var _ = io.Discard
var _ tea.Model = (*Model)(nil)

// accountsConsole starts the console over the demo's two accounts (staging 111111111111,
// production 123456789012) and a third environment whose identity cannot be read, and waits
// for the merged fleet with the unread row.
func accountsConsole(t *testing.T) *teatest.TestModel {
	t.Helper()
	clock := sim.NewManualClock(t0)
	world := sim.NewDemoAccounts(clock)
	var members []accounts.Member
	for _, c := range world.Clouds() {
		read := c.Clients().Read()
		envs := world.Envs(c.Account())
		members = append(members, accounts.Member{Name: envs[0] + " (profile " + envs[0] + ", us-east-1)", Envs: envs, Tags: model.DefaultTagKeys, Read: read,
			Reader: inventory.NewInventory(read, inventory.Options{Now: clock.Now})})
	}
	members = append(members, accounts.Member{Name: "review (profile review-sso, us-east-1)", Envs: []string{"review"}, Tags: model.DefaultTagKeys,
		Err: errors.New("the SSO session for profile review-sso has expired: run aws sso login --profile review-sso")})
	m := New(Config{Reader: accounts.New(members, accounts.Options{Now: clock.Now}), Now: clock.Now, Refresh: time.Hour})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 36))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("worker-reports")) && bytes.Contains(b, []byte("unread"))
	}, teatest.WithDuration(5*time.Second))
	return tm
}

// filterTo narrows the services list to what matches text.
func filterTo(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	keys := DefaultKeys()
	tm.Send(press(keys.Services.Filter))
	tm.Type(text)
	tm.Send(press(keys.Filter.Apply))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("filter: "+text)) }, teatest.WithDuration(5*time.Second))
}

// The header names the account and identity of the row under the cursor: staging's.
func TestGoldenAccountsStagingRow(t *testing.T) {
	tm := accountsConsole(t)
	filterTo(t, tm, "api sta")
	golden.RequireEqual(t, []byte(finish(t, tm).View()))
}

// The same console on a production row: production's account and identity.
func TestGoldenAccountsProductionRow(t *testing.T) {
	tm := accountsConsole(t)
	filterTo(t, tm, "web pro")
	golden.RequireEqual(t, []byte(finish(t, tm).View()))
}

// The environment whose identity cannot be read: its row is unread and says why.
func TestGoldenAccountsUnreadRow(t *testing.T) {
	tm := accountsConsole(t)
	filterTo(t, tm, "review")
	golden.RequireEqual(t, []byte(finish(t, tm).View()))
}
