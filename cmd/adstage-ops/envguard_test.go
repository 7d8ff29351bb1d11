package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/adstage/adstage-ops/aws"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

func TestEnvGuardRefusesReadOnlyEnvironments(t *testing.T) {
	cloud := sim.NewDemo(sim.NewManualClock(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)))
	op := aws.NewOperator(cloud.Clients(), aws.Options{Now: cloud.Now})
	g := envGuard{Operator: op, readOnly: map[string]bool{"production": true}}
	ctx := context.Background()
	if _, err := g.PlanRollback(ctx, aws.RollbackRequest{Service: "api", Env: "production"}); !errors.Is(err, aws.ErrReadOnly) {
		t.Fatalf("rollback of a read-only environment: %v", err)
	}
	if _, err := g.Execute(ctx, model.Plan{Action: model.ActionBake, Service: "api", Env: "production"}); !errors.Is(err, aws.ErrReadOnly) {
		t.Fatalf("execute on a read-only environment: %v", err)
	}
	if _, err := g.PlanRollback(ctx, aws.RollbackRequest{Service: "api", Env: "staging"}); errors.Is(err, aws.ErrReadOnly) {
		t.Fatalf("staging refused: %v", err)
	}
}
