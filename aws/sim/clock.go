package sim

import (
	"sync"
	"time"
)

// Clock is the simulator's sense of time. Every API call first advances the simulated world
// to Clock.Now(), so a ManualClock drives it deterministically.
type Clock interface {
	Now() time.Time
}

// RealClock is wall-clock time.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// ManualClock only moves when told to; tests drive the simulator with it. It is safe for
// concurrent use.
type ManualClock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []clockWaiter
	notify  []chan struct{} // closed when the next waiter arrives (Sleeping)
}

// clockWaiter is one After call not yet due.
type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewManualClock starts a manual clock at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now is the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d, waking the After calls that fall due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.fire()
	c.mu.Unlock()
}

// Set moves the clock to t, waking the After calls that fall due.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.fire()
	c.mu.Unlock()
}

// After is time.After on the manual clock: the channel receives once Advance or Set has moved
// the clock d past now. The action layer waits with it, so tests decide when time passes.
func (c *ManualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, clockWaiter{at: c.t.Add(d), ch: ch})
	c.fire()
	for _, n := range c.notify {
		close(n)
	}
	c.notify = nil
	return ch
}

// Sleeping is closed as soon as some goroutine waits in After: a test advances the clock
// when, and only when, the code under test is waiting for time to pass.
func (c *ManualClock) Sleeping() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	if len(c.waiters) > 0 {
		close(ch)
	} else {
		c.notify = append(c.notify, ch)
	}
	return ch
}

// fire delivers the waiters that are due; c.mu is held.
func (c *ManualClock) fire() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.t
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// scaledClock runs speed times faster than wall time, from start.
type scaledClock struct {
	start time.Time
	wall  time.Time
	speed float64
}

// NewScaledClock is a clock that starts at start and runs speed times faster than wall time
// (speed 60 turns a two-minute rollout into two seconds), for CLI tests and a fast demo.
func NewScaledClock(start time.Time, speed float64) Clock {
	if speed <= 0 {
		speed = 1
	}
	return &scaledClock{start: start, wall: time.Now(), speed: speed}
}

func (c *scaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.wall)) * c.speed))
}
