package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/awsapi/fake"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// world is staging and production in two accounts of one simulated partition, each with web
// running; production's operators read and act with production's clients only.
type world struct {
	clock               *sim.ManualClock
	staging, production *sim.Cloud
	image               string // what web/staging runs
	console             *accounts.Operators
}

func newWorld(t *testing.T, productionRegion string, stagingKMS *fake.AWS) *world {
	t.Helper()
	clock := sim.NewManualClock(t0)
	p := sim.NewPartition(clock, sim.Options{Account: "111111111111", Region: "us-east-1"}, sim.Options{Account: "222222222222", Region: productionRegion})
	w := &world{clock: clock, staging: p.Clouds()[0], production: p.Clouds()[1]}
	seed := func(c *sim.Cloud, env string) string {
		img := c.AddImage("web-"+env, t0.Add(-time.Hour), []sim.Tag{{Key: "Service", Value: "web"}})
		c.AddTemplate("web-"+env, []string{img}, nil, 1)
		if _, err := c.AddGroup(sim.GroupSpec{Name: "web-" + env, Service: "web", Env: env, Min: 1, Desired: 2, Max: 4, Template: "web-" + env, Version: "1", Age: time.Hour}); err != nil {
			t.Fatal(err)
		}
		return img
	}
	w.image = seed(w.staging, "staging")
	seed(w.production, "production")
	opts := ops.Options{Options: inventory.Options{Now: clock.Now, After: clock.After, Refresh: time.Millisecond, BootTime: w.production.BootTime()}, Via: "cli"}
	sc, pc := w.staging.Clients(), w.production.Clients()
	if stagingKMS != nil {
		sc.KMS = stagingKMS.Clients().KMS
	}
	stagingOp, productionOp := ops.NewOperator(sc, opts), ops.NewOperator(pc, opts)
	w.console = accounts.NewOperators([]accounts.Member{
		{Name: "staging (profile staging)", Envs: []string{"staging"}, Reader: stagingOp, Operator: stagingOp, Read: sc.Read(), Write: sc, Tags: model.DefaultTagKeys},
		{Name: "production (profile prod)", Envs: []string{"production"}, Reader: productionOp, Operator: productionOp, Read: pc.Read(), Write: pc, Tags: model.DefaultTagKeys},
	}, accounts.Options{Now: clock.Now})
	if _, err := w.console.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) plan(t *testing.T, copyImage bool) model.Plan {
	t.Helper()
	p, err := w.console.PlanPromote(context.Background(), ops.PromoteRequest{Service: "web", Env: "production", FromEnv: "staging", CopyImage: copyImage})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// follow reads progress to its end, moving the simulated clock whenever the action waits.
func (w *world) follow(t *testing.T, ch <-chan model.Progress) []model.Progress {
	t.Helper()
	var out []model.Progress
	deadline := w.clock.Now().Add(2 * time.Hour)
	for {
		select {
		case p, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, p)
		case <-w.clock.Sleeping():
			if w.clock.Now().After(deadline) {
				t.Fatalf("still running after two simulated hours: %+v", out)
			}
			w.clock.Advance(5 * time.Second)
		}
	}
}

// release is the AMI web/production's group launches now, read with production's clients.
func (w *world) release(t *testing.T) string {
	t.Helper()
	f, err := inventory.NewInventory(w.production.Clients().Read(), inventory.Options{Now: w.clock.Now}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Service("web", "production")
	if !ok || len(s.Groups) != 1 {
		t.Fatalf("web/production: %+v", s)
	}
	return s.Groups[0].ImageID
}

func check(p model.Plan, name string) (model.Check, bool) {
	for _, c := range p.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return model.Check{}, false
}

// Production is another account in another region: the plan shares staging's image with it
// (as staging) and copies it into production's region (as production); Execute waits until
// the copy is available and rolls the copy out, tagged with the image it came from. A second
// promote finds the copy and rolls it out without copying again.
func TestPromote_CopiesIntoTheTargetRegionAndRollsOutTheCopy_Sim(t *testing.T) {
	w := newWorld(t, "eu-west-1", nil)
	p := w.plan(t, false)
	if p.Transfer == nil || !p.Transfer.Share || !p.Transfer.Copy || p.Transfer.TargetRegion != "eu-west-1" {
		t.Fatalf("transfer %+v, want a share then a copy into eu-west-1", p.Transfer)
	}
	if p.Blocked() {
		t.Fatalf("plan blocked: %s", p.FailureText())
	}
	if !strings.HasPrefix(p.Strategy, "share "+w.image+" with account 222222222222, then copy it into eu-west-1, then ") {
		t.Errorf("strategy %q", p.Strategy)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := w.console.Execute(ctx, p)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	evs := w.follow(t, ch)
	last := evs[len(evs)-1]
	if !last.Done || last.Err != nil {
		t.Fatalf("promote ended %+v", last)
	}
	sawCopy := false
	for _, e := range evs[:len(evs)-1] {
		if e.Done {
			t.Errorf("progress said done before the end: %+v", e)
		}
		sawCopy = sawCopy || e.Stage == ops.StageTransfer && strings.Contains(e.Message, "copying "+w.image)
	}
	if !sawCopy {
		t.Errorf("no copying progress: %+v", evs)
	}
	if got := w.production.Calls()["CopyImage"]; got != 1 {
		t.Errorf("CopyImage calls in production = %d, want 1", got)
	}
	if got := w.staging.Calls()["ModifyImageAttribute"]; got != 1 {
		t.Errorf("ModifyImageAttribute calls in staging = %d, want 1", got)
	}
	copyID := w.release(t)
	if copyID == w.image || !strings.HasPrefix(copyID, "ami-") {
		t.Fatalf("web/production launches %s, want the copy of %s", copyID, w.image)
	}
	out, err := w.production.Clients().EC2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{copyID}})
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].OwnerId) != "222222222222" || out.Images[0].State != "available" {
		t.Fatalf("the copy %s as production sees it: %+v, %v", copyID, out, err)
	}
	if got := inventory.TagOf(out.Images[0].Tags, model.TagCopiedFrom); got != w.image {
		t.Errorf("the copy's %s tag is %q, want %s", model.TagCopiedFrom, got, w.image)
	}

	// Once more (as after a rollback): the copy is found and rolled out as it is.
	if _, err := w.console.Snapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := w.plan(t, false)
	c, ok := check(again, accounts.CheckTransfer)
	if again.Transfer != nil || !ok || !c.OK || !strings.Contains(c.Detail, copyID+" is the copy of "+w.image) {
		t.Errorf("second plan: transfer %+v, check %+v; want the earlier copy reused", again.Transfer, c)
	}
	for _, s := range again.Steps {
		if s.ToImage.ImageID != copyID {
			t.Errorf("second plan rolls out %s, want the copy %s", s.ToImage.ImageID, copyID)
		}
	}
}

// Staging's image is encrypted with the AWS managed key aws/ebs: it cannot be shared, so the
// plan is blocked and names the copy command with a customer managed key; with a customer
// managed key, the plan warns that its key policy must let production use it.
func TestPromote_KeyChecks_Sim(t *testing.T) {
	for _, tc := range []struct {
		name    string
		key     string
		manager kmstypes.KeyManagerType
		blocked bool
		detail  string
	}{
		{"aws managed key", "arn:aws:kms:us-east-1:111111111111:alias/aws/ebs", kmstypes.KeyManagerTypeAws, true, "aws ec2 copy-image --source-image-id "},
		{"customer managed key", "arn:aws:kms:us-east-1:111111111111:key/0f3c", kmstypes.KeyManagerTypeCustomer, false, "its key policy must let account 222222222222 use it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys fake.AWS
			keys.DescribeKeyOp.Queue(&kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyId: aws.String(tc.key), KeyManager: tc.manager}})
			w := newWorld(t, "us-east-1", &keys)
			if err := w.staging.EncryptImage(w.image, tc.key); err != nil {
				t.Fatal(err)
			}
			p := w.plan(t, false)
			c, ok := check(p, accounts.CheckImageKey)
			if !ok || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("key check %+v, want %q", c, tc.detail)
			}
			if p.Blocked() != tc.blocked || c.Warn == tc.blocked {
				t.Errorf("blocked %v, check %+v; want blocked %v", p.Blocked(), c, tc.blocked)
			}
			if in := keys.DescribeKeyOp.Inputs(); len(in) != 1 || aws.ToString(in[0].KeyId) != tc.key {
				t.Errorf("DescribeKey inputs %+v, want the snapshot's key read with staging's identity", in)
			}
		})
	}
}

// Same region, another account: production cannot see staging's image until it is shared
// (the simulator would refuse to launch it: aws/sim's launch tests), so the plan without its
// share step is refused before anything changes; the product's plan shares it first (with
// staging's identity) and its rollout ends with production on staging's image.
func TestPromote_SharesBeforeTheRolloutAndTheSharedImageRuns_Sim(t *testing.T) {
	w := newWorld(t, "us-east-1", nil)
	p := w.plan(t, false)
	if p.Transfer == nil || !p.Transfer.Share || p.Transfer.Copy {
		t.Fatalf("transfer %+v, want a share", p.Transfer)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	skipped := p
	skipped.Transfer = nil
	if _, err := w.console.Execute(ctx, skipped); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("execute without the share: %v, want the image missing for production", err)
	}
	if got := w.production.Calls()["CreateLaunchTemplateVersion"]; got != 0 {
		t.Fatalf("the refused plan created %d launch template versions", got)
	}

	ch, err := w.console.Execute(ctx, p)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	evs := w.follow(t, ch)
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil {
		t.Fatalf("promote with the share ended %+v", last)
	}
	if got := w.release(t); got != w.image {
		t.Errorf("production launches %s, want staging's %s", got, w.image)
	}
}
