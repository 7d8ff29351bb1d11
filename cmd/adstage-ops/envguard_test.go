package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

func TestEnvGuardRefusesReadOnlyEnvironments(t *testing.T) {
	cloud := sim.NewDemo(sim.NewManualClock(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)))
	op := ops.NewOperator(cloud.Clients(), ops.Options{Options: inventory.Options{Now: cloud.Now}})
	g := envGuard{Operator: op, readOnly: map[string]bool{"production": true}}
	ctx := context.Background()
	if _, err := g.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "production"}); !errors.Is(err, awsapi.ErrReadOnly) {
		t.Fatalf("rollback of a read-only environment: %v", err)
	}
	if _, err := g.Execute(ctx, model.Plan{Action: model.ActionBake, Service: "api", Env: "production"}); !errors.Is(err, awsapi.ErrReadOnly) {
		t.Fatalf("execute on a read-only environment: %v", err)
	}
	if _, err := g.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "staging"}); errors.Is(err, awsapi.ErrReadOnly) {
		t.Fatalf("staging refused: %v", err)
	}
}
