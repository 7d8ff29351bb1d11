package integration_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/model"
)

// TestMoto_SharedAuditLog: two operators' machines send their events to one CloudWatch Logs
// group and each reads both; a machine that cannot reach the group keeps its event locally and
// sends it later; read-only clients read the group and cannot write to it.
func TestMoto_SharedAuditLog(t *testing.T) {
	ctx := context.Background()
	_, rw := awstest.MotoClients(t, false)
	group := fmt.Sprintf("adstage-audit-%d", time.Now().UnixNano())
	if _, err := cwl.NewFromConfig(*rw.Config).CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatalf("create log group: %v", err)
	}
	machine := func(stream string, cfg aws.Config, readOnly bool) *audit.Shared {
		r, w := awsapi.AuditLogClients(cfg, readOnly)
		return &audit.Shared{Local: audit.New(filepath.Join(t.TempDir(), "audit.jsonl")), Group: group, Stream: stream, Reader: r, Writer: w, Timeout: 5 * time.Second}
	}
	now := time.Now().UTC().Truncate(time.Second)
	event := func(who string, at time.Time) model.AuditEvent {
		return model.AuditEvent{Time: at, Who: who, Action: model.ActionRollback, Service: "web", Env: "production", Reason: "5xx after deploy", Result: "started", Via: "tui"}
	}
	alice := machine("adstage-ops/laptop-a/alice", *rw.Config, false)
	bob := machine("adstage-ops/laptop-b/bob", *rw.Config, false)
	mustOK(t, "alice appends", alice.Append(event("alice", now.Add(-2*time.Minute))))
	mustOK(t, "alice sends", alice.Close(ctx))
	mustOK(t, "bob appends", bob.Append(event("bob", now.Add(-time.Minute))))
	mustOK(t, "bob sends", bob.Close(ctx))

	// A third machine cannot reach CloudWatch Logs: its action is not held up, and the event
	// is sent by its next run.
	down := rw.Config.Copy()
	down.BaseEndpoint = aws.String("http://127.0.0.1:1")
	carol := machine("adstage-ops/laptop-c/carol", down, false)
	if err := carol.Append(event("carol", now)); err != nil {
		t.Fatalf("an unreachable group held up the action: %v", err)
	}
	if err := carol.Close(ctx); err == nil {
		t.Fatal("sending to an unreachable endpoint reported success")
	}
	later := &audit.Shared{Local: carol.Local, Group: group, Stream: carol.Stream, Timeout: 5 * time.Second}
	later.Reader, later.Writer = awsapi.AuditLogClients(*rw.Config, false)
	mustOK(t, "carol's next run sends", later.Flush(ctx))

	for _, s := range []*audit.Shared{alice, bob, later} {
		got, err := s.Read()
		if err != nil {
			t.Fatalf("%s reads: %v", s.Stream, err)
		}
		var who []string
		for _, e := range got {
			who = append(who, e.Who)
		}
		if fmt.Sprint(who) != "[alice bob carol]" {
			t.Errorf("%s reads %v, want [alice bob carol]", s.Stream, who)
		}
	}

	// Read-only: the reader reads the group; there is no writer, and a write through the
	// read-only configuration is refused before it is sent.
	_, ro := awstest.MotoClients(t, true)
	auditor := machine("adstage-ops/laptop-d/dave", *ro.Config, true)
	if auditor.Writer != nil {
		t.Fatal("read-only mode holds a CloudWatch Logs writer")
	}
	got, err := auditor.Read()
	if err != nil || len(got) != 3 {
		t.Errorf("read-only reads %d events (%v), want 3", len(got), err)
	}
	_, err = cwl.NewFromConfig(*ro.Config).PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("x"), LogEvents: nil})
	if !errors.Is(err, awsapi.ErrReadOnly) {
		t.Errorf("PutLogEvents through read-only clients: %v, want ErrReadOnly", err)
	}
}
