package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// cursorLog records what the console told the inventory about the cursor, and which target
// groups the inventory then read.
type cursorLog struct {
	ops.Reader
	mu      sync.Mutex
	cursors []model.ServiceKey
	targets []string // target group names read since the last take
}

func (l *cursorLog) Cursor(k model.ServiceKey) {
	l.mu.Lock()
	l.cursors = append(l.cursors, k)
	l.mu.Unlock()
	l.Reader.Cursor(k)
}

func (l *cursorLog) lastCursor() model.ServiceKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cursors) == 0 {
		return model.ServiceKey{}
	}
	return l.cursors[len(l.cursors)-1]
}

func (l *cursorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.targets
	l.targets = nil
	return t
}

type cursorELBv2 struct {
	awsapi.ELBv2Reader
	log *cursorLog
}

func (e cursorELBv2) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	_, rest, _ := strings.Cut(arn, ":targetgroup/")
	name, _, _ := strings.Cut(rest, "/")
	e.log.mu.Lock()
	e.log.targets = append(e.log.targets, name)
	e.log.mu.Unlock()
	return e.ELBv2Reader.DescribeTargetHealth(ctx, in, opts...)
}

// TestCursorServiceReadEveryTick_Sim: on a services screen with more balancers on screen
// than a tick's budget reads (about 30 services, 60 target groups, 25 reads a tick), moving
// the cursor tells the inventory (Reader.Cursor), and from the next refresh on the service
// under the cursor has its target groups read on every tick, while the screen's others are
// read every few ticks. Opening the service keeps it under the cursor; going back hands the
// cursor to the list's selection.
func TestCursorServiceReadEveryTick_Sim(t *testing.T) {
	clock := sim.NewManualClock(t0)
	cloud := sim.NewScale(clock, sim.Options{}, sim.ScaleSpec{Groups: 400, InstancesPerGroup: 2, TargetGroups: 400})
	log := &cursorLog{}
	rc := cloud.Clients().Read()
	rc.ELBv2 = cursorELBv2{rc.ELBv2, log}
	log.Reader = inventory.NewInventory(rc, inventory.Options{Now: clock.Now, After: clock.After})
	m := New(Config{Reader: log, Now: clock.Now, Clipboard: func(string) {}})
	startConsole(t, m)
	tick := func() []string {
		t.Helper()
		clock.Advance(5 * time.Second)
		log.take()
		for _, msg := range resolve(m.startRefresh()) {
			run(m, msg)
		}
		return log.take()
	}
	// The first screen spends the load-balancer burst until every balancer on screen was
	// read (two ticks here); the steady budget is what the counts below hold to.
	tick()
	tick()
	onScreen := len(m.list.visible())
	if onScreen*2 <= 25 {
		t.Fatalf("%d services on screen: the test needs more balancers on screen than a tick reads", onScreen)
	}
	if got, want := log.lastCursor(), m.list.rows[0]; got != want {
		t.Fatalf("after the first fleet the inventory's cursor is %v, want the first row %v", got, want)
	}
	for range 11 {
		run(m, press(m.keys.Nav.Down))
	}
	sel, _ := m.list.selected()
	if got := log.lastCursor(); got != sel {
		t.Fatalf("cursor moved to %v, the inventory was told %v", sel, got)
	}
	tgs := targetGroupsOf(m.c.fleet, sel)
	if len(tgs) != 2 {
		t.Fatalf("%v has target groups %v, want 2", sel, tgs)
	}
	// Count reads of the cursor's target groups and of another on-screen service's.
	other := m.list.rows[m.list.offset+onScreen-1]
	otherTGs := targetGroupsOf(m.c.fleet, other)
	const ticks = 4
	cursorReads, otherReads, total := 0, 0, 0
	for range ticks {
		read := tick()
		total += len(read)
		for _, name := range read {
			if name == tgs[0] || name == tgs[1] {
				cursorReads++
			}
			if name == otherTGs[0] || name == otherTGs[1] {
				otherReads++
			}
		}
	}
	if cursorReads != 2*ticks {
		t.Errorf("the cursor's 2 target groups were read %d times in %d ticks, want %d (every tick)", cursorReads, ticks, 2*ticks)
	}
	if otherReads >= 2*ticks {
		t.Errorf("an on-screen service away from the cursor was read %d times in %d ticks: the test does not exercise the budget", otherReads, ticks)
	}
	if total > 25*ticks {
		t.Errorf("%d balancer reads in %d ticks, budget %d", total, ticks, 25*ticks)
	}

	run(m, press(m.keys.Services.Open))
	if got := log.lastCursor(); got != sel || m.screen != screenService {
		t.Fatalf("service screen of %v: inventory cursor %v", sel, got)
	}
	run(m, press(m.keys.Global.Back))
	run(m, press(m.keys.Nav.Down))
	next, _ := m.list.selected()
	if got := log.lastCursor(); got != next || next == sel {
		t.Fatalf("back on the list, cursor on %v: inventory cursor %v", next, got)
	}
}

// targetGroupsOf lists the target group names of a service's groups in the fleet.
func targetGroupsOf(f model.Fleet, k model.ServiceKey) []string {
	var out []string
	for _, g := range f.Groups {
		if g.Service == k.Name && g.Env == k.Env {
			out = append(out, g.TargetGroups...)
		}
	}
	return out
}
