package model

import (
	"testing"
	"time"
)

func TestRolloutTiming(t *testing.T) {
	s := time.Second
	// The demo's settings: boot 15 s, warmup 30 s, health checks 5 s x 2, shutdown 2 s.
	demo := func(replace int, desired, minH, maxH int32, drain time.Duration) RolloutTiming {
		return RolloutTiming{Replace: replace, Desired: desired, MinHealthy: minH, MaxHealthy: maxH,
			Launch: 15 * s, Warmup: 30 * s, Healthy: 10 * s, Drain: drain, Shutdown: 2 * s}
	}
	tests := []struct {
		name           string
		in             RolloutTiming
		batch, batches int
		want           time.Duration
	}{
		{"launch before terminate, 100/200: one batch, then the old ones drain", demo(3, 3, 100, 200, 20*s), 3, 1, (15 + 30 + 20 + 2) * s},
		{"100/150 on six: two batches of three, only the last drain counts", demo(6, 6, 100, 150, 45*s), 3, 2, (2*45 + 45 + 2) * s},
		{"rollback of three already replaced, 100/150 on six: one batch", demo(3, 6, 100, 150, 45*s), 3, 1, (45 + 45 + 2) * s},
		{"110% of four rounds down to nothing: one at a time", demo(4, 4, 100, 110, 10*s), 1, 4, (4*45 + 12) * s},
		{"terminate first, 50/100 on four: drain, then launch, twice", demo(4, 4, 50, 100, 20*s), 2, 2, 2 * (22 + 45) * s},
		{"terminate first, 90/100 on three: one at a time", demo(3, 3, 90, 100, 0), 1, 3, 3 * (2 + 45) * s},
		{"health checks slower than the warmup decide", RolloutTiming{Replace: 2, Desired: 2, MinHealthy: 100, MaxHealthy: 200, Launch: 30 * s, Warmup: 10 * s, Healthy: 150 * s, Drain: 300 * s, Shutdown: 5 * s}, 2, 1, (30 + 150 + 300 + 5) * s},
		{"nothing to replace", demo(0, 3, 100, 200, 20*s), 3, 0, 0},
	}
	for _, tt := range tests {
		if got := tt.in.BatchSize(); got != tt.batch {
			t.Errorf("%s: BatchSize = %d, want %d", tt.name, got, tt.batch)
		}
		if got := tt.in.Batches(); got != tt.batches {
			t.Errorf("%s: Batches = %d, want %d", tt.name, got, tt.batches)
		}
		if got := tt.in.Duration(); got != tt.want {
			t.Errorf("%s: Duration = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestRefreshReplaced(t *testing.T) {
	tests := []struct {
		percent, toUpdate int32
		want              int
		ok                bool
	}{
		{50, 3, 3, true},   // 3 of 6
		{33, 2, 1, true},   // 1 of 3, 33.3% reported as 33
		{66, 1, 2, true},   // 2 of 3
		{16, 5, 1, true},   // 1 of 6
		{83, 1, 5, true},   // 5 of 6
		{0, 6, 0, true},    // started, nothing replaced yet
		{0, 0, 0, false},   // nothing reported
		{100, 0, 0, false}, // done: the figures no longer say how many
	}
	for _, tt := range tests {
		got, ok := RefreshReplaced(tt.percent, tt.toUpdate)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RefreshReplaced(%d%%, %d left) = %d, %v; want %d, %v", tt.percent, tt.toUpdate, got, ok, tt.want, tt.ok)
		}
	}
}
