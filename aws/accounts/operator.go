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

// operator is the operator of a service's environment (in region, when set).
func (o *Operators) operator(env, service, region string) (*member, error) {
	m, err := o.route(env, service, region)
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
	return o.planRollback(ctx, req, "")
}

func (o *Operators) planRollback(ctx context.Context, req ops.RollbackRequest, region string) (model.Plan, error) {
	m, err := o.operator(req.Env, req.Service, region)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan rollback of %s: %w", model.ServiceKey{Name: req.Service, Env: req.Env, Region: region}, err)
	}
	p, err := m.Operator.PlanRollback(ctx, req)
	return inRegion(p, region), err
}

// PlanMark goes to the member of the environment.
func (o *Operators) PlanMark(ctx context.Context, req ops.MarkRequest) (model.Plan, error) {
	return o.planMark(ctx, req, "")
}

func (o *Operators) planMark(ctx context.Context, req ops.MarkRequest, region string) (model.Plan, error) {
	m, err := o.operator(req.Env, req.Service, region)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan mark of %s: %w", model.ServiceKey{Name: req.Service, Env: req.Env, Region: region}, err)
	}
	p, err := m.Operator.PlanMark(ctx, req)
	return inRegion(p, region), err
}

// PlanCancel goes to the member of the environment.
func (o *Operators) PlanCancel(ctx context.Context, req ops.CancelRequest) (model.Plan, error) {
	return o.planCancel(ctx, req, "")
}

func (o *Operators) planCancel(ctx context.Context, req ops.CancelRequest, region string) (model.Plan, error) {
	m, err := o.operator(req.Env, req.Service, region)
	if err != nil {
		return model.Plan{}, fmt.Errorf("plan cancel of %s: %w", model.ServiceKey{Name: req.Service, Env: req.Env, Region: region}, err)
	}
	p, err := m.Operator.PlanCancel(ctx, req)
	return inRegion(p, region), err
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
	return o.operator(plan.Env, plan.Service, plan.Region)
}

// inRegion names the region a plan acts in, when the console row named one; its CLI twin
// then runs in that region too.
func inRegion(p model.Plan, region string) model.Plan {
	if region != "" {
		p.Region = region
		if p.CLI != "" && !strings.Contains(p.CLI, " --region ") {
			p.CLI += " --region " + region
		}
	}
	return p
}

// Execute carries out the plan with its environment's member; a promote with a transfer
// step first shares the image with the source environment's identity and copies it with the
// target's (see transfer.go).
func (o *Operators) Execute(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	m, err := o.planOperator(ctx, plan)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", plan.Action, plan.Target(), err)
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

// InRegion is the console acting in one region only: the reads, plans and actions of a
// service row of that region (model.ServiceKey.Region) go to the identity that reads it.
// The plans it makes name the region, so that Execute goes there too.
func (c *Console) InRegion(region string) ops.Reader { return &regionReader{c, region} }

// InRegion is the read-write console acting in one region only; see Console.InRegion.
func (o *Operators) InRegion(region string) ops.Reader {
	return &regionOperator{regionReader{o.Console, region}, o}
}

// regionReader is the console's reads of one region's service rows.
type regionReader struct {
	*Console
	region string
}

func (r *regionReader) History(ctx context.Context, service, env string) (model.History, error) {
	return r.history(ctx, service, env, r.region)
}

func (r *regionReader) Readiness(ctx context.Context, service, env string) (model.Readiness, error) {
	return r.readiness(ctx, service, env, r.region)
}

// regionOperator is the console's plans in one region; Execute and Cancelled follow the
// plan's own region.
type regionOperator struct {
	regionReader
	o *Operators
}

var _ ops.Operator = (*regionOperator)(nil)

func (r *regionOperator) PlanBake(ctx context.Context, req ops.BakeRequest) (model.Plan, error) {
	return r.o.PlanBake(ctx, req)
}

func (r *regionOperator) PlanPromote(ctx context.Context, req ops.PromoteRequest) (model.Plan, error) {
	return r.o.planPromote(ctx, req, r.region)
}

func (r *regionOperator) PlanRollback(ctx context.Context, req ops.RollbackRequest) (model.Plan, error) {
	return r.o.planRollback(ctx, req, r.region)
}

func (r *regionOperator) PlanMark(ctx context.Context, req ops.MarkRequest) (model.Plan, error) {
	return r.o.planMark(ctx, req, r.region)
}

func (r *regionOperator) PlanCancel(ctx context.Context, req ops.CancelRequest) (model.Plan, error) {
	return r.o.planCancel(ctx, req, r.region)
}

func (r *regionOperator) Execute(ctx context.Context, plan model.Plan) (<-chan model.Progress, error) {
	return r.o.Execute(ctx, plan)
}

func (r *regionOperator) Cancelled(plan model.Plan) { r.o.Cancelled(plan) }
