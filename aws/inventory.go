package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/adstage/adstage-ops/model"
)

// Inventory reads the fleet from AWS with the fewest calls it can: it implements Reader.
// It is safe for concurrent use; Snapshot never runs twice at once.
type Inventory struct {
	c    ReadClients
	opts Options

	// running guards Snapshot: a second caller gets ErrRefreshRunning instead of waiting.
	running sync.Mutex

	mu       sync.Mutex // guards the fields below
	identity *Identity
	focus    map[model.ServiceKey]bool
	watched  map[string]bool
}

var _ Reader = (*Inventory)(nil)

// NewInventory builds an inventory over the read clients. Zero options take the defaults:
// model.DefaultTagKeys, time.Now, a 5 s tick, 5 ELB and 10 EC2 reads per second.
func NewInventory(c ReadClients, opts Options) *Inventory {
	if opts.Tags.Service == "" {
		opts.Tags.Service = model.DefaultTagKeys.Service
	}
	if opts.Tags.Environment == "" {
		opts.Tags.Environment = model.DefaultTagKeys.Environment
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Second
	}
	if opts.ELBReadsPerSecond <= 0 {
		opts.ELBReadsPerSecond = 5
	}
	if opts.EC2ReadsPerSecond <= 0 {
		opts.EC2ReadsPerSecond = 10
	}
	return &Inventory{
		c:       c,
		opts:    opts,
		focus:   map[model.ServiceKey]bool{},
		watched: map[string]bool{},
	}
}

// Focus tells the inventory which services are on screen.
func (inv *Inventory) Focus(services []model.ServiceKey) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.focus = make(map[model.ServiceKey]bool, len(services))
	for _, k := range services {
		inv.focus[k] = true
	}
}

// Watch asks the inventory to read the group's instance refreshes on the next snapshots, for
// example right after the operator started one.
func (inv *Inventory) Watch(group string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.watched[group] = true
}

// Identity is the caller ARN, account and region, looked up once and cached.
func (inv *Inventory) Identity(ctx context.Context) (Identity, error) {
	inv.mu.Lock()
	if inv.identity != nil {
		id := *inv.identity
		inv.mu.Unlock()
		return id, nil
	}
	inv.mu.Unlock()
	if inv.c.STS == nil {
		return Identity{}, errors.New("look up caller identity: no STS client")
	}
	out, err := inv.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("look up caller identity: %w", err)
	}
	id := Identity{Region: inv.c.Region}
	if out.Arn != nil {
		id.ARN = *out.Arn
	}
	if out.Account != nil {
		id.Account = *out.Account
	}
	inv.mu.Lock()
	inv.identity = &id
	inv.mu.Unlock()
	return id, nil
}

// Snapshot reads the whole fleet.
func (inv *Inventory) Snapshot(ctx context.Context) (model.Fleet, error) {
	return model.Fleet{}, errors.New("snapshot: not built yet")
}

// History lists a service's releases, refreshes and scaling activities.
func (inv *Inventory) History(ctx context.Context, service, env string) (model.History, error) {
	return model.History{}, errors.New("history: not built yet")
}

// Images lists the images baked for a service.
func (inv *Inventory) Images(ctx context.Context, service string) ([]model.Image, error) {
	return nil, errors.New("images: not built yet")
}

// Readiness says whether the service can be rolled back now.
func (inv *Inventory) Readiness(ctx context.Context, service, env string) (model.Readiness, error) {
	return model.Readiness{}, errors.New("readiness: not built yet")
}
