package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// Operators is the read-write console over several identities: every plan and action goes
// to the member of its environment, with that member's identity, read-only guard and audit
// identity. It implements ops.Operator.
type Operators struct {
	*Console
}

var _ ops.Operator = (*Operators)(nil)

// NewOperators builds the read-write console. Members without an Operator are read-only:
// actions on their environments are refused.
func NewOperators(members []Member, opts Options) *Operators {
	return &Operators{Console: New(members, opts)}
}

// operator is the operator of a service's environment.
func (o *Operators) operator(env, service string) (*member, error) {
	m, err := o.route(env, service)
	if err != nil {
		return nil, err
	}
	if m.Operator == nil {
		return nil, fmt.Errorf("%s is read-only (%s reads it with the read-only guard): %w", env, m.Name, awsapi.ErrReadOnly)
	}
	return m, nil
}

// PlanBake goes to the member whose account holds the instance (see bakeOperator).
func (o *Operators) PlanBake(ctx context.Context, req ops.BakeRequest) (model.Plan, error) {
	m, err := o.bakeOperator(ctx, req.InstanceID)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan bake of %s: %w", req.InstanceID, err)
	}
	return m.Operator.PlanBake(ctx, req)
}

// bakeOperator is the read-write member whose groups held the instance at its last read;
// without one (a command that has read nothing yet), the one whose account describes it
// (instance IDs are unique across accounts), else the only read-write member.
func (o *Operators) bakeOperator(ctx context.Context, instanceID string) (*member, error) {
	var writable []*member
	for _, m := range o.members {
		if m.Operator == nil || m.Err != nil {
			continue
		}
		writable = append(writable, m)
		m.mu.Lock()
		found := false
		for _, g := range m.last {
			for _, in := range g.Instances {
				found = found || in.ID == instanceID
			}
		}
		m.mu.Unlock()
		if found {
			return m, nil
		}
	}
	if len(writable) == 1 {
		return writable[0], nil
	}
	for _, m := range writable {
		out, err := m.Read.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
		if err == nil && len(out.Reservations) > 0 {
			return m, nil
		}
	}
	return nil, fmt.Errorf("the instance is in none of the accounts the console reads (%s): check the ID, or bake it from the command line with the --env of its account", o.names(writable))
}

// names lists members' names.
func (o *Operators) names(ms []*member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, "; ")
}

// PlanRollback goes to the member of the environment.
func (o *Operators) PlanRollback(ctx context.Context, req ops.RollbackRequest) (model.Plan, error) {
	m, err := o.operator(req.Env, req.Service)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan rollback of %s/%s: %w", req.Service, req.Env, err)
	}
	return m.Operator.PlanRollback(ctx, req)
}

// PlanMark goes to the member of the environment.
func (o *Operators) PlanMark(ctx context.Context, req ops.MarkRequest) (model.Plan, error) {
	m, err := o.operator(req.Env, req.Service)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan mark of %s/%s: %w", req.Service, req.Env, err)
	}
	return m.Operator.PlanMark(ctx, req)
}

// PlanCancel goes to the member of the environment.
func (o *Operators) PlanCancel(ctx context.Context, req ops.CancelRequest) (model.Plan, error) {
	m, err := o.operator(req.Env, req.Service)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan cancel of %s/%s: %w", req.Service, req.Env, err)
	}
	return m.Operator.PlanCancel(ctx, req)
}

// Cancelled records the declined plan with the identity of its environment.
func (o *Operators) Cancelled(plan model.Plan) {
	if m, err := o.planOperator(context.Background(), plan); err == nil {
		m.Operator.Cancelled(plan)
	}
}

// planOperator is the member that carries out a plan: the bake's instance's, else the
// environment's.
func (o *Operators) planOperator(ctx context.Context, plan model.Plan) (*member, error) {
	if plan.Action == model.ActionBake && plan.Bake != nil {
		return o.bakeOperator(ctx, plan.Bake.InstanceID)
	}
	return o.operator(plan.Env, plan.Service)
}

// Execute carries out the plan with its environment's member; a promote with a transfer
// step first shares the image with the source environment's identity and copies it with the
// target's (see transfer.go).
func (o *Operators) Execute(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	m, err := o.planOperator(ctx, plan)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", plan.Action, plan.Service, plan.Env, err)
	}
	if plan.Transfer != nil && !plan.Blocked() {
		return o.executeTransfer(ctx, m, plan)
	}
	return m.Operator.Execute(ctx, plan)
}

// Watch asks every member to follow the group's refreshes (group names are per account;
// a member without the group reads nothing more for it).
func (o *Operators) Watch(group string) {
	for _, m := range o.members {
		if w, ok := m.Operator.(interface{ Watch(string) }); ok {
			w.Watch(group)
		}
	}
}
