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
	mu sync.Mutex
	t  time.Time
}

// NewManualClock starts a manual clock at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now is the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
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
