package main

import (
	"context"
	"fmt"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// envGuard refuses actions on environments the config makes read-only (read_only: true),
// when the console itself is read-write because it shows other environments too. A console
// opened on such an environment (--env) never has an operator at all.
type envGuard struct {
	ops.Operator
	readOnly map[string]bool
}

func (g envGuard) refuse(env string) error {
	if g.readOnly[env] {
		return fmt.Errorf("%s is read-only in the config (environments.%s.read_only): %w", env, env, awsapi.ErrReadOnly)
	}
	return nil
}

func (g envGuard) PlanPromote(ctx context.Context, r ops.PromoteRequest) (model.Plan, error) {
	if err := g.refuse(r.Env); err != nil {
		return model.Plan{}, err
	}
	return g.Operator.PlanPromote(ctx, r)
}

func (g envGuard) PlanRollback(ctx context.Context, r ops.RollbackRequest) (model.Plan, error) {
	if err := g.refuse(r.Env); err != nil {
		return model.Plan{}, err
	}
	return g.Operator.PlanRollback(ctx, r)
}

func (g envGuard) PlanCancel(ctx context.Context, r ops.CancelRequest) (model.Plan, error) {
	if err := g.refuse(r.Env); err != nil {
		return model.Plan{}, err
	}
	return g.Operator.PlanCancel(ctx, r)
}

func (g envGuard) PlanMark(ctx context.Context, r ops.MarkRequest) (model.Plan, error) {
	if err := g.refuse(r.Env); err != nil {
		return model.Plan{}, err
	}
	return g.Operator.PlanMark(ctx, r)
}

// Execute is where the guard holds: a bake plan carries the environment of the instance's
// service, so a read-only environment's instances are not baked from either.
func (g envGuard) Execute(ctx context.Context, p model.Plan) (<-chan model.Progress, error) {
	if err := g.refuse(p.Env); err != nil {
		return nil, err
	}
	return g.Operator.Execute(ctx, p)
}

// Watch passes the inventory's refresh watch through the guard.
func (g envGuard) Watch(group string) {
	if w, ok := g.Operator.(interface{ Watch(string) }); ok {
		w.Watch(group)
	}
}

// InRegion guards the operator of one region's rows (ops.Regional) alike.
func (g envGuard) InRegion(region string) ops.Reader {
	if o, ok := ops.ReaderFor(g.Operator, model.ServiceKey{Region: region}).(ops.Operator); ok {
		return envGuard{Operator: o, readOnly: g.readOnly}
	}
	return g
}
