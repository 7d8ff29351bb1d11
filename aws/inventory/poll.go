package inventory

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

// workers bounds the calls one snapshot has in flight at once.
const workers = 8

// budget is a token bucket that keeps one class of background reads (load balancer, EC2) at or
// under a rate: it refills rate tokens per second up to two ticks' worth, and one snapshot may
// spend at most one tick's worth. The slack absorbs tick jitter (a tick 20 ms early must not
// skip a read) while the sustained rate stays at rate.
type budget struct {
	rate   float64
	tick   int // reads one snapshot may make
	tokens float64
	last   time.Time
}

func newBudget(rate float64, tick time.Duration) *budget {
	n := int(rate * tick.Seconds())
	if n < 1 {
		n = 1
	}
	return &budget{rate: rate, tick: n, tokens: 2 * float64(n)}
}

// available refills the bucket for the time since the last snapshot and says how many reads
// this snapshot may make.
func (b *budget) available(now time.Time) int {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens += b.rate * now.Sub(b.last).Seconds()
		if limit := 2 * float64(b.tick); b.tokens > limit {
			b.tokens = limit
		}
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	n := int(b.tokens + 1e-9)
	return max(0, min(n, b.tick))
}

// spare is how many reads the bucket holds beyond what this snapshot took: its burst, which
// rare reads (balancer settings) may use without slowing the per-tick ones.
func (b *budget) spare() int { return int(b.tokens + 1e-9) }

// spend takes n reads out of the bucket.
func (b *budget) spend(n int) {
	b.tokens -= float64(n)
	if b.tokens < 0 {
		b.tokens = 0
	}
}

// task is one AWS call of a snapshot. It runs on a worker and returns the function that folds
// its result into the inventory's state; those run one after another on the snapshot's own
// goroutine, so state needs no locks.
type task func(ctx context.Context) (merge func())

// runTasks runs the tasks on at most workers goroutines and then applies their merges in
// task order. A task reports its failure through its merge (the snapshot degrades per
// resource), so the group never stops early.
func runTasks(ctx context.Context, tasks []task) {
	merges := make([]func(), len(tasks))
	var g errgroup.Group
	g.SetLimit(workers)
	for i, t := range tasks {
		g.Go(func() error {
			merges[i] = t(ctx)
			return nil
		})
	}
	_ = g.Wait()
	for _, m := range merges {
		if m != nil {
			m()
		}
	}
}

// breaker stops a class of calls for the rest of a snapshot once AWS throttles one of them:
// the calls not made keep their previous data (marked stale) and the account's shared bucket
// gets room to refill, instead of being drained by calls that would be throttled too.
type breaker struct {
	mu   sync.Mutex
	open bool
}

func (b *breaker) tripped() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

func (b *breaker) observe(err error) {
	if err != nil && awsapi.Throttled(err) {
		b.mu.Lock()
		b.open = true
		b.mu.Unlock()
	}
}

// errSkipped marks a call the breaker held back.
var errSkipped = errors.New("skipped: AWS is throttling this account's reads")
