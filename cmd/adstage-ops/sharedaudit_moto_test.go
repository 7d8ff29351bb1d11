package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestMoto_AuditCommandSharesTheLog: with audit.log_group in the config, `audit` shows another
// operator's action from the group next to this machine's, `audit --send` sends this machine's
// event once, and read-only `audit` sends nothing.
func TestMoto_AuditCommandSharesTheLog(t *testing.T) {
	motoEnv(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := cwl.NewFromConfig(cfg)
	group := fmt.Sprintf("team/adstage-audit-%d", time.Now().UnixNano())
	if _, err := logs.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	other := fmt.Sprintf(`{"time":%q,"who":"arn:aws:iam::123456789012:user/bob","action":"rollback","service":"web","env":"production","reason":"bob rolled back","result":"started","via":"tui"}`, now.Add(-time.Minute).Format(time.RFC3339))
	if _, err := logs.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("adstage-ops/laptop-b/bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("adstage-ops/laptop-b/bob"),
		LogEvents: []cwltypes.InputLogEvent{{Message: aws.String(other), Timestamp: aws.Int64(now.Add(-time.Minute).UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf(`{"time":%q,"who":"arn:aws:iam::123456789012:user/alice","action":"promote","service":"web","env":"production","reason":"alice promoted","result":"started","via":"cli"}`, now.Add(-2*time.Minute).Format(time.RFC3339))
	if err := os.MkdirAll(filepath.Join(state, "adstage-ops"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "adstage-ops", "audit.jsonl"), []byte(local+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(conf, []byte("audit:\n  log_group: "+group+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	groupEvents := func() []string {
		out, err := logs.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
		return msgs
	}
	audit := func(args ...string) (string, string) {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"--config", conf}, args...), strings.NewReader(""), &stdout, &stderr); code != 0 {
			t.Fatalf("audit %v: exit %d: %s", args, code, stderr.String())
		}
		return stdout.String(), stderr.String()
	}

	out, errOut := audit("--read-only", "audit")
	if !strings.Contains(out, "bob rolled back") || !strings.Contains(out, "alice promoted") || !strings.Contains(out, "shared audit log") {
		t.Errorf("read-only audit:\n%s\nwant bob's action from the group and alice's local one", out)
	}
	if !strings.Contains(errOut, "1 event of this machine is not in CloudWatch Logs group") {
		t.Errorf("read-only audit stderr %q: want the unsent event named", errOut)
	}
	if n := len(groupEvents()); n != 1 {
		t.Errorf("read-only audit left %d events in the group, want 1 (it sends nothing)", n)
	}
	audit("audit", "--send")
	audit("audit", "--send")
	if got := groupEvents(); len(got) != 2 || !strings.Contains(strings.Join(got, "\n"), "alice promoted") {
		t.Errorf("after audit --send twice the group holds %q, want bob's and alice's once each", got)
	}
	out, errOut = audit("audit")
	if strings.Count(out, "alice promoted") != 1 || errOut != "" {
		t.Errorf("audit after sending:\n%s\nstderr %q: want alice's action once and no warning", out, errOut)
	}
}
