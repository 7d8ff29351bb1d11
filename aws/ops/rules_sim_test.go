package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"
)

// AWS checks ec2:RunInstances on whoever starts a refresh to a launch template; without it
// the operator gets a sentence that names RunInstances, not the refresh call they have.
func TestPromote_WithoutRunInstances_NamesTheLaunchTemplatePermission_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	s.cloud.Deny("ec2:RunInstances")
	_, err = s.op.Execute(ctx, plan)
	if err == nil {
		t.Fatal("promote without ec2:RunInstances succeeded; AWS refuses it")
	}
	msg := awsapi.Explain(err)
	if !strings.Contains(msg, "ec2:RunInstances") || strings.Contains(msg, "grant that IAM action") {
		t.Errorf("Explain = %q, want the launch template permission (ec2:RunInstances)", msg)
	}
	if got := strings.Join(s.results(t), ","); got != "promote:started,promote:failed" {
		t.Errorf("audit = %s", got)
	}
}
