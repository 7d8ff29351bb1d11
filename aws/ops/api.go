// Package ops plans and carries out the mutating actions (bake, promote, rollback, cancel) on top of
// the inventory's reads, writes each to the audit log, and declares the Reader and Operator
// interfaces that the console and the CLI share.
package ops

import (
	"context"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// Reader is everything the console and the CLI can see. A read-only console holds only a
// Reader: it has no method that can change AWS.
type Reader interface {
	// Snapshot reads the whole fleet: groups, instances, load-balancer health, refreshes.
	// It never runs twice at once: a call made while another runs returns ErrRefreshRunning.
	Snapshot(ctx context.Context) (model.Fleet, error)
	// History lists a service's releases (launch template versions), instance refreshes and
	// scaling activities in one environment, newest first, and each group's release ledger
	// (what happened to every release). Called on demand, not every tick.
	History(ctx context.Context, service, env string) (model.History, error)
	// Images lists the images baked for a service (from their tags), newest first, with the
	// progress of pending ones.
	Images(ctx context.Context, service string) ([]model.Image, error)
	// Readiness says whether the service can be rolled back now, to what, and how long it takes.
	Readiness(ctx context.Context, service, env string) (model.Readiness, error)
	// Identity is the caller ARN, account and region the reader acts as.
	Identity(ctx context.Context) (awsapi.Identity, error)
	// Focus tells the inventory which services are on screen, so that their target health is
	// read every tick and the rest round-robin within the call budget.
	Focus(services []model.ServiceKey)
	// Cursor tells the inventory which service is under the cursor (the zero key: none), so
	// that its balancers are read every tick ahead of the other services on screen.
	Cursor(service model.ServiceKey)
	// Signals reads CloudWatch for the services: the last hour of requests, 5xx, p99 and
	// hosts per minute, and the alarms firing on them; at most one GetMetricData a minute.
	Signals(ctx context.Context, services []model.Service) (map[model.ServiceKey]model.Signals, error)
	// ConsoleOutput reads an instance's latest console output.
	ConsoleOutput(ctx context.Context, instanceID string) (model.ConsoleOutput, error)
}

// Operator plans and carries out mutating actions. Only a read-write console has one.
type Operator interface {
	Reader
	// Plan... only read; nothing changes before Execute.
	PlanBake(ctx context.Context, req BakeRequest) (model.Plan, error)
	PlanPromote(ctx context.Context, req PromoteRequest) (model.Plan, error)
	PlanRollback(ctx context.Context, req RollbackRequest) (model.Plan, error)
	// PlanMark plans marking a release's image bad or good (a tag every operator sees).
	PlanMark(ctx context.Context, req MarkRequest) (model.Plan, error)
	// PlanCancel plans stopping the service's running rollouts where they are.
	PlanCancel(ctx context.Context, req CancelRequest) (model.Plan, error)
	// Execute carries out a confirmed plan and streams its progress; the channel closes when
	// the action has finished (or, for rollouts, when AWS has taken it over and ctx ends).
	// Every call is written to the audit log.
	Execute(ctx context.Context, plan model.Plan) (<-chan model.Progress, error)
	// Cancelled records in the audit log that the operator declined a plan.
	Cancelled(plan model.Plan)
}

// BakeRequest asks for an AMI from an instance.
type BakeRequest struct {
	InstanceID string
	Label      string
	NoReboot   bool
	Reason     string
}

// PromoteRequest asks to roll an AMI out to a service in one environment. An empty ImageID
// picks the newest available baked image the environment does not run yet; FromEnv picks the
// image that environment runs (promote staging's release to production).
type PromoteRequest struct {
	Service string
	Env     string
	ImageID string
	FromEnv string
	Reason  string
	// AllowBadImage promotes an image that was rolled back or marked bad; it needs a Reason.
	AllowBadImage bool
	// CopyImage copies an image from another account into the target's instead of sharing
	// it (a promote across regions always copies).
	CopyImage bool
	// Source is what the account an image comes from says about it, for an image of another
	// account or region that the target's clients cannot see yet (aws/accounts fills it).
	Source *ImageSource
}

// ImageSource is an image as its own account describes it.
type ImageSource struct {
	Image   ec2types.Image
	Env     string
	Account string
	Region  string
}

// MarkRequest asks to mark the image of one release of a service bad or good.
type MarkRequest struct {
	Service string
	Env     string
	Version int64
	Kind    model.MarkKind // MarkBad or MarkGood
	Reason  string
}

// RollbackRequest asks to return a service to its last known-good release. An empty
// ToVersion picks the newest earlier launch template version whose AMI differs and exists.
type RollbackRequest struct {
	Service   string
	Env       string
	ToVersion string
	Reason    string
}

// CancelRequest asks to stop the running rollouts of a service in one environment where they
// are: instances already replaced keep the new release, the others keep the old one.
type CancelRequest struct {
	Service string
	Env     string
	Reason  string
}

// Options configure the operator: the inventory's options plus what only mutating actions need.
type Options struct {
	inventory.Options
	// Production reports whether an environment asks harder before mutating actions.
	Production func(env string) bool
	// Audit receives every mutating action; nil discards.
	Audit audit.Sink
	// Via names the front end in audit events: "tui" or "cli".
	Via string
}

// Regional is a Reader over environments read in several regions (aws/accounts). InRegion
// is the same reader acting only with the identities that read region: what a service row
// whose key names a region (model.ServiceKey.Region) reads and plans with. The reader it
// returns is an Operator when this one is.
type Regional interface {
	InRegion(region string) Reader
}

// ReaderFor is the reader of a service row: r itself, or r in the row's region when the key
// names one and r reads several.
func ReaderFor(r Reader, k model.ServiceKey) Reader {
	if rr, ok := r.(Regional); ok && k.Region != "" {
		return rr.InRegion(k.Region)
	}
	return r
}

// OperatorFor is the operator of a service row: op itself, or op in the row's region when
// the key names one and op acts in several.
func OperatorFor(op Operator, k model.ServiceKey) Operator {
	if o, ok := ReaderFor(op, k).(Operator); ok {
		return o
	}
	return op
}
