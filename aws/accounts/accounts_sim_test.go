package accounts_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/awsapi/fake"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// account is one simulated account with web running in env, launching a fresh image.
func account(t *testing.T, clock sim.Clock, id, region, env string) (*sim.Cloud, string) {
	t.Helper()
	c := sim.New(clock, sim.Options{Account: id, Region: region})
	if env == "production" {
		// Another AMI ID than staging's (each simulated account numbers its images alike).
		c.AddImage("web-old", t0.Add(-48*time.Hour), []sim.Tag{{Key: "Service", Value: "web"}})
	}
	img := c.AddImage("web-"+env, t0.Add(-time.Hour), []sim.Tag{{Key: "Service", Value: "web"}})
	c.AddTemplate("web-"+env, []string{img}, nil, 1)
	if _, err := c.AddGroup(sim.GroupSpec{Name: "web-" + env, Service: "web", Env: env, Min: 1, Desired: 2, Max: 4, Template: "web-" + env, Version: "1", Age: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return c, img
}

func opsOptions(clock sim.Clock) ops.Options {
	return ops.Options{Options: inventory.Options{Now: clock.Now}, Via: "cli"}
}

// TestConsole_MergesAccountsAndNamesTheOneThatCannotBeRead_Sim: staging and production in
// two accounts are read with their own clients and shown together, each row with the account
// it came from; review's SSO session was never started, so its row says which command to run
// and the others keep working.
func TestConsole_MergesAccountsAndNamesTheOneThatCannotBeRead_Sim(t *testing.T) {
	awstest.IsolateAWSEnv(t, "http://127.0.0.1:1")
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("[profile review-sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 333333333333\nsso_role_name = ops\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	_, review, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{Profile: "review-sso", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}

	clock := sim.NewManualClock(t0)
	staging, _ := account(t, clock, "111111111111", "us-east-1", "staging")
	production, _ := account(t, clock, "222222222222", "eu-west-1", "production")
	stagingOp := ops.NewOperator(staging.Clients(), opsOptions(clock))
	productionOp := ops.NewOperator(production.Clients(), opsOptions(clock))
	c := accounts.NewOperators([]accounts.Member{
		{Name: "staging (profile staging)", Envs: []string{"staging"}, Reader: stagingOp, Operator: stagingOp, Read: staging.Clients().Read(), Tags: model.DefaultTagKeys},
		{Name: "production (profile prod)", Envs: []string{"production"}, Reader: productionOp, Operator: productionOp, Read: production.Clients().Read(), Tags: model.DefaultTagKeys},
		{Name: "review (profile review-sso)", Envs: []string{"review"}, Reader: inventory.NewInventory(review, inventory.Options{Now: clock.Now}), Read: review, Tags: model.DefaultTagKeys},
	}, accounts.Options{Now: clock.Now})

	f, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	want := map[model.ServiceKey]string{
		{Name: "web", Env: "staging"}:        "111111111111 us-east-1",
		{Name: "web", Env: "production"}:     "222222222222 eu-west-1",
		{Name: model.NotRead, Env: "review"}: "",
	}
	if len(f.Services) != len(want) {
		t.Fatalf("services %+v, want %v", f.Services, want)
	}
	for _, s := range f.Services {
		w, ok := want[s.ServiceKey]
		if !ok {
			t.Errorf("unexpected service %s", s.ServiceKey)
			continue
		}
		if got := strings.TrimSpace(s.From().Account + " " + s.From().Region); got != w {
			t.Errorf("%s read in %q, want %q", s.ServiceKey, got, w)
		}
		if s.Env == "review" {
			if !s.State().Unread || !strings.Contains(s.Unread, "aws sso login --profile review-sso") {
				t.Errorf("review's row says %q, want the sso login command", s.Unread)
			}
		} else if s.Unread != "" || len(s.Groups) != 1 {
			t.Errorf("%s: unread %q, %d groups", s.ServiceKey, s.Unread, len(s.Groups))
		}
	}
	if len(f.Problems) != 1 || !strings.Contains(f.Problems[0], "review (profile review-sso) could not be read") {
		t.Errorf("problems %q", f.Problems)
	}
	// Actions go to their environment's identity; review's say why they cannot.
	if _, err := c.Readiness(context.Background(), "web", "production"); err != nil {
		t.Errorf("production readiness: %v", err)
	}
	if _, err := c.PlanRollback(context.Background(), ops.RollbackRequest{Service: "web", Env: "review"}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("rollback in review: %v, want read-only (review has no operator)", err)
	}
}

// TestPromote_SharesTheImageWithTheTargetAccount_Sim: staging (account 111) runs an image
// production (account 222, same region) cannot launch: the plan reads the image and its
// permissions with staging's identity, offers the share as a step to confirm, and Execute
// shares it with staging's clients before production's rollout.
func TestPromote_SharesTheImageWithTheTargetAccount_Sim(t *testing.T) {
	clock := sim.NewManualClock(t0)
	staging, image := account(t, clock, "111111111111", "us-east-1", "staging")
	production, _ := account(t, clock, "222222222222", "us-east-1", "production")
	var sharing fake.AWS // staging's image permissions: none granted yet
	sc := staging.Clients()
	sc.Images = sharing.Clients().Images
	stagingOp := ops.NewOperator(sc, opsOptions(clock))
	productionOp := ops.NewOperator(production.Clients(), opsOptions(clock))
	c := accounts.NewOperators([]accounts.Member{
		{Name: "staging (profile staging)", Envs: []string{"staging"}, Reader: stagingOp, Operator: stagingOp, Read: sc.Read(), Write: sc, Tags: model.DefaultTagKeys},
		{Name: "production (profile prod)", Envs: []string{"production"}, Reader: productionOp, Operator: productionOp, Read: production.Clients().Read(), Tags: model.DefaultTagKeys},
	}, accounts.Options{Now: clock.Now})
	if _, err := c.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, err := c.PlanPromote(context.Background(), ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging"})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if p.Transfer == nil || !p.Transfer.Share || p.Transfer.Copy || p.Transfer.ImageID != image || p.Transfer.TargetAccount != "222222222222" {
		t.Fatalf("transfer %+v, want a share of %s with 222222222222", p.Transfer, image)
	}
	if p.Blocked() || !strings.Contains(p.CLI, "--from-env staging") {
		t.Fatalf("plan blocked or CLI %q: %s", p.CLI, p.FailureText())
	}
	found := false
	for _, w := range p.Warnings() {
		found = found || w.Name == accounts.CheckTargetCanLaunch && strings.Contains(w.Detail, "confirming shares them")
	}
	if !found {
		t.Errorf("no share warning to confirm: %+v", p.Checks)
	}
	if got := sharing.DescribeImageAttributeOp.Calls(); got != 1 {
		t.Errorf("DescribeImageAttribute calls with staging's identity = %d, want 1", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Execute(ctx, p); err != nil {
		t.Fatalf("execute: %v", err)
	}
	in := sharing.ModifyImageAttributeOp.Inputs()
	if len(in) != 1 || *in[0].ImageId != image || *in[0].LaunchPermission.Add[0].UserId != "222222222222" {
		t.Errorf("ModifyImageAttribute %+v, want launch permission for 222222222222 on %s", in, image)
	}
	snaps := sharing.ModifySnapshotAttributeOp.Inputs()
	if len(snaps) == 0 || snaps[0].OperationType != ec2types.OperationTypeAdd || snaps[0].UserIds[0] != "222222222222" {
		t.Errorf("ModifySnapshotAttribute %+v, want create-volume permission for 222222222222", snaps)
	}
	if production.Calls()["CreateLaunchTemplateVersion"] != 1 || staging.Calls()["CreateLaunchTemplateVersion"] != 0 {
		t.Errorf("launch template versions: production %d, staging %d; want the rollout in production only", production.Calls()["CreateLaunchTemplateVersion"], staging.Calls()["CreateLaunchTemplateVersion"])
	}
}
