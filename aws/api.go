package aws

import (
	"context"
	"time"

	"github.com/adstage/adstage-ops/model"
)

// Reader is everything the console and the CLI can see. A read-only console holds only a
// Reader: it has no method that can change AWS.
type Reader interface {
	// Snapshot reads the whole fleet: groups, instances, load-balancer health, refreshes.
	// It never runs twice at once: a call made while another runs returns ErrRefreshRunning.
	Snapshot(ctx context.Context) (model.Fleet, error)
	// History lists a service's releases (launch template versions), instance refreshes and
	// scaling activities in one environment, newest first. Called on demand, not every tick.
	History(ctx context.Context, service, env string) (model.History, error)
	// Images lists the images baked for a service (from their tags), newest first, with the
	// progress of pending ones.
	Images(ctx context.Context, service string) ([]model.Image, error)
	// Readiness says whether the service can be rolled back now, to what, and how long it takes.
	Readiness(ctx context.Context, service, env string) (model.Readiness, error)
	// Identity is the caller ARN, account and region the reader acts as.
	Identity(ctx context.Context) (Identity, error)
	// Focus tells the inventory which services are on screen, so that their target health is
	// read every tick and the rest round-robin within the call budget.
	Focus(services []model.ServiceKey)
}

// Operator plans and carries out mutating actions. Only a read-write console has one.
type Operator interface {
	Reader
	// Plan... only read; nothing changes before Execute.
	PlanBake(ctx context.Context, req BakeRequest) (model.Plan, error)
	PlanPromote(ctx context.Context, req PromoteRequest) (model.Plan, error)
	PlanRollback(ctx context.Context, req RollbackRequest) (model.Plan, error)
	// Execute carries out a confirmed plan and streams its progress; the channel closes when
	// the action has finished (or, for rollouts, when AWS has taken it over and ctx ends).
	// Every call is written to the audit log.
	Execute(ctx context.Context, plan model.Plan) (<-chan model.Progress, error)
	// Cancelled records in the audit log that the operator declined a plan.
	Cancelled(plan model.Plan)
}

// Identity is who the console acts as.
type Identity struct {
	ARN     string
	Account string
	Region  string
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
}

// RollbackRequest asks to return a service to its last known-good release. An empty
// ToVersion picks the newest earlier launch template version whose AMI differs and exists.
type RollbackRequest struct {
	Service   string
	Env       string
	ToVersion string
	Reason    string
}

// Options configure a console.
type Options struct {
	Tags         model.TagKeys
	SkipUntagged bool
	// Now is the clock; the simulator's clock in demo mode and tests.
	Now func() time.Time
	// Production reports whether an environment asks harder before mutating actions.
	Production func(env string) bool
	// Audit receives every mutating action; nil discards.
	Audit AuditSink
	// Refresh is the tick of the live view; the call budget is spread over it.
	Refresh time.Duration
	// ELBReadsPerSecond and EC2ReadsPerSecond cap the background polling rate (default half of
	// AWS's documented refill rates: 5 and 10).
	ELBReadsPerSecond float64
	EC2ReadsPerSecond float64
	// Rollout holds the instance refresh preferences promote uses.
	Rollout RolloutPrefs
	// Via names the front end in audit events: "tui" or "cli".
	Via string
}

// RolloutPrefs are the instance refresh preferences of a promote.
type RolloutPrefs struct {
	MinHealthyPercentage int32 // default 100
	MaxHealthyPercentage int32 // default 200: launch before terminate
	InstanceWarmup       int32 // seconds; 0 uses the group's grace period
	SkipMatching         bool  // default true
	AutoRollback         bool  // default true
}

// AuditSink receives audit events.
type AuditSink interface {
	Append(model.AuditEvent) error
}
