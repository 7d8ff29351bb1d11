package audit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/model"
)

// fakeGroup is a CloudWatch Logs group with AWS's PutLogEvents rules: the stream must exist,
// a batch is chronological, at most 10,000 events and 1,048,576 bytes, and spans under 24 h.
type fakeGroup struct {
	mu       sync.Mutex
	streams  map[string][]cwltypes.InputLogEvent
	down     error // every call fails with it
	puts     int
	creates  int
	maxBatch int
}

func newFakeGroup() *fakeGroup { return &fakeGroup{streams: map[string][]cwltypes.InputLogEvent{}} }

func (g *fakeGroup) CreateLogStream(_ context.Context, in *cwl.CreateLogStreamInput, _ ...func(*cwl.Options)) (*cwl.CreateLogStreamOutput, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down != nil {
		return nil, g.down
	}
	g.creates++
	name := aws.ToString(in.LogStreamName)
	if _, ok := g.streams[name]; ok {
		return nil, &cwltypes.ResourceAlreadyExistsException{Message: aws.String("exists")}
	}
	g.streams[name] = nil
	return &cwl.CreateLogStreamOutput{}, nil
}

func (g *fakeGroup) PutLogEvents(_ context.Context, in *cwl.PutLogEventsInput, _ ...func(*cwl.Options)) (*cwl.PutLogEventsOutput, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down != nil {
		return nil, g.down
	}
	name := aws.ToString(in.LogStreamName)
	if _, ok := g.streams[name]; !ok {
		return nil, &cwltypes.ResourceNotFoundException{Message: aws.String("The specified log stream does not exist.")}
	}
	size := 0
	for i, e := range in.LogEvents {
		size += len(aws.ToString(e.Message)) + 26
		if i > 0 && aws.ToInt64(e.Timestamp) < aws.ToInt64(in.LogEvents[i-1].Timestamp) {
			return nil, &cwltypes.InvalidParameterException{Message: aws.String("Log events in a single PutLogEvents request must be in chronological order.")}
		}
	}
	if n := len(in.LogEvents); n == 0 || n > 10000 || size > 1048576 ||
		aws.ToInt64(in.LogEvents[n-1].Timestamp)-aws.ToInt64(in.LogEvents[0].Timestamp) >= (24*time.Hour).Milliseconds() {
		return nil, &cwltypes.InvalidParameterException{Message: aws.String(fmt.Sprintf("bad batch: %d events, %d bytes", n, size))}
	}
	g.puts++
	g.maxBatch = max(g.maxBatch, len(in.LogEvents))
	g.streams[name] = append(g.streams[name], in.LogEvents...)
	return &cwl.PutLogEventsOutput{}, nil
}

func (g *fakeGroup) FilterLogEvents(_ context.Context, in *cwl.FilterLogEventsInput, _ ...func(*cwl.Options)) (*cwl.FilterLogEventsOutput, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down != nil {
		return nil, g.down
	}
	out := &cwl.FilterLogEventsOutput{}
	for name, evs := range g.streams {
		for _, e := range evs {
			out.Events = append(out.Events, cwltypes.FilteredLogEvent{LogStreamName: aws.String(name), Message: e.Message, Timestamp: e.Timestamp})
		}
	}
	return out, nil
}

func (g *fakeGroup) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, evs := range g.streams {
		n += len(evs)
	}
	return n
}

var sharedNow = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

func newShared(t *testing.T, g *fakeGroup, dir, stream string) *audit.Shared {
	t.Helper()
	return &audit.Shared{Local: audit.New(filepath.Join(dir, "audit.jsonl")), Group: "team-audit", Stream: stream,
		Reader: g, Writer: g, Now: func() time.Time { return sharedNow }}
}

func ev(who, reason string, at time.Time) model.AuditEvent {
	return model.AuditEvent{Time: at, Who: who, Action: model.ActionPromote, Service: "web", Env: "production", Reason: reason, Result: "started", Via: "cli"}
}

// TestShared_EveryOperatorSeesEveryAction: two machines append; each reads both actions, once.
func TestShared_EveryOperatorSeesEveryAction(t *testing.T) {
	g := newFakeGroup()
	a := newShared(t, g, t.TempDir(), "adstage-ops/a/alice")
	b := newShared(t, g, t.TempDir(), "adstage-ops/b/bob")
	ctx := context.Background()
	for _, x := range []struct {
		s *audit.Shared
		e model.AuditEvent
	}{{a, ev("alice", "first", sharedNow.Add(-time.Minute))}, {b, ev("bob", "second", sharedNow)}} {
		if err := x.s.Append(x.e); err != nil {
			t.Fatal(err)
		}
		if err := x.s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*audit.Shared{a, b} {
		got, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Who != "alice" || got[1].Who != "bob" {
			t.Errorf("%s reads %+v, want alice's then bob's, once each", s.Stream, got)
		}
		if st := s.SendState(); st != "" {
			t.Errorf("%s: send state %q after everything was sent", s.Stream, st)
		}
	}
}

// TestShared_UnreachableGroupNeverStopsAnActionAndIsSentLater: the group is down; Append still
// succeeds (the local log has the event), the state names what waits, and the next send, in
// another process (a new Shared on the same log), sends it exactly once.
func TestShared_UnreachableGroupNeverStopsAnActionAndIsSentLater(t *testing.T) {
	g := newFakeGroup()
	g.down = errors.New("dial tcp: connection refused")
	dir := t.TempDir()
	s := newShared(t, g, dir, "adstage-ops/a/alice")
	if err := s.Append(ev("alice", "during the outage", sharedNow)); err != nil {
		t.Fatalf("an action was held up by the group: %v", err)
	}
	if err := s.Close(context.Background()); err == nil {
		t.Fatal("Close reported success with the group down")
	}
	st := s.SendState()
	if !strings.Contains(st, "1 event of this machine is not in CloudWatch Logs group team-audit yet") || !strings.Contains(st, "audit --send") {
		t.Errorf("send state %q: want the waiting event named with the next step", st)
	}
	evs, err := s.Read()
	var remote *audit.RemoteError
	if !errors.As(err, &remote) || len(evs) != 1 {
		t.Errorf("read with the group down: %d events, err %v; want the local event and a RemoteError", len(evs), err)
	}
	g.down = nil
	later := newShared(t, g, dir, "adstage-ops/a/alice")
	for range 2 {
		if err := later.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.count(); n != 1 {
		t.Errorf("the group holds %d events, want the one that waited, once", n)
	}
	if st := later.SendState(); st != "" {
		t.Errorf("send state %q after the send", st)
	}
}

// TestShared_SentTwiceIsShownOnce: an event in the group twice (a send cut short and redone)
// and in the local log is one line in the audit view.
func TestShared_SentTwiceIsShownOnce(t *testing.T) {
	g := newFakeGroup()
	dir := t.TempDir()
	s := newShared(t, g, dir, "adstage-ops/a/alice")
	if err := s.Append(ev("alice", "once", sharedNow)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The offset file is lost (a crash before it was written): the event is sent again.
	other := newShared(t, g, dir, "adstage-ops/a/alice")
	other.Group = "team-audit"
	if err := audit.ForgetSent(other); err != nil {
		t.Fatal(err)
	}
	if err := other.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := g.count(); n != 2 {
		t.Fatalf("group holds %d events, want the duplicate (2) for this test", n)
	}
	got, err := other.Read()
	if err != nil || len(got) != 1 {
		t.Errorf("read %d events (%v), want 1", len(got), err)
	}
}

// TestShared_BatchesFollowPutLogEventsRules: 12,500 events over two days, appended out of
// order, go in chronological batches of at most 10,000 events spanning under 24 hours; events
// older than 14 days are not sent and are counted.
func TestShared_BatchesFollowPutLogEventsRules(t *testing.T) {
	g := newFakeGroup()
	s := newShared(t, g, t.TempDir(), "adstage-ops/a/alice")
	local := s.Local
	for i := range 12500 {
		at := sharedNow.Add(-time.Duration(i%2) * 30 * time.Hour).Add(-time.Duration(i) * time.Second)
		if err := local.Append(ev("alice", fmt.Sprint(i), at)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := local.Append(ev("alice", fmt.Sprint("old", i), sharedNow.Add(-15*24*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := g.count(); n != 12500 {
		t.Errorf("sent %d events, want 12500", n)
	}
	if g.maxBatch > 10000 || g.puts < 3 {
		t.Errorf("%d batches, the largest %d events", g.puts, g.maxBatch)
	}
	if st := s.SendState(); !strings.Contains(st, "3 events were not sent") {
		t.Errorf("send state %q: want the 3 events too old for CloudWatch Logs counted", st)
	}
}

// TestShared_ReadOnlySendsNothing: without a writer (read-only mode) the group is only read.
func TestShared_ReadOnlySendsNothing(t *testing.T) {
	g := newFakeGroup()
	s := newShared(t, g, t.TempDir(), "adstage-ops/a/alice")
	s.Writer = nil
	if err := s.Append(ev("alice", "local only", sharedNow)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g.puts != 0 || g.creates != 0 {
		t.Errorf("read-only shared log made %d PutLogEvents and %d CreateLogStream calls", g.puts, g.creates)
	}
}

// TestShared_HostileRemoteEventsAreData: another writer's event with terminal control in it is
// made safe; lines in the group that are not events are skipped.
func TestShared_HostileRemoteEventsAreData(t *testing.T) {
	g := newFakeGroup()
	g.streams["other"] = []cwltypes.InputLogEvent{
		{Message: aws.String(`{"time":"2026-11-30T02:00:00Z","who":"mallory\u001b]0;pwned\u0007","action":"promote","reason":"\u001b[2J","result":"started"}`), Timestamp: aws.Int64(1)},
		{Message: aws.String("not json"), Timestamp: aws.Int64(2)},
	}
	s := newShared(t, g, t.TempDir(), "adstage-ops/a/alice")
	got, err := s.Read()
	if err != nil || len(got) != 1 {
		t.Fatalf("read %d events (%v), want the one event", len(got), err)
	}
	if strings.ContainsRune(got[0].Who+got[0].Reason, 0x1b) || strings.ContainsRune(got[0].Who, 0x07) {
		t.Errorf("terminal control reached the event: %q %q", got[0].Who, got[0].Reason)
	}
}

// TestShared_CloseWithoutAnEventSendsNothing: a run that appended nothing (a status) does not
// wait on the group at exit, even with events of earlier runs unsent; the next action sends them.
func TestShared_CloseWithoutAnEventSendsNothing(t *testing.T) {
	g := newFakeGroup()
	dir := t.TempDir()
	if err := audit.New(filepath.Join(dir, "audit.jsonl")).Append(ev("alice", "earlier run", sharedNow)); err != nil {
		t.Fatal(err)
	}
	status := newShared(t, g, dir, "adstage-ops/a/alice")
	if err := status.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g.puts != 0 || g.creates != 0 {
		t.Errorf("a run that appended nothing made %d PutLogEvents and %d CreateLogStream calls", g.puts, g.creates)
	}
	action := newShared(t, g, dir, "adstage-ops/a/alice")
	if err := action.Append(ev("alice", "this run", sharedNow.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := action.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := g.count(); n != 2 {
		t.Errorf("the next action sent %d events, want the earlier one and its own", n)
	}
}
