package inventory

import (
	"testing"
	"time"
)

// TestFullListInterval: a full listing every minute unless the focused pages would take the
// listing past 40 pages a minute; then the fewest whole ticks that stay within it, up to two
// minutes.
func TestFullListInterval(t *testing.T) {
	for _, tc := range []struct {
		full, focused int
		tick          time.Duration
		want          time.Duration
	}{
		{20, 1, 5 * time.Second, time.Minute},      // 20 + 11 = 31 a minute
		{4, 1, 5 * time.Second, time.Minute},       // 400 groups, 15 services on screen
		{20, 2, 5 * time.Second, 70 * time.Second}, // 20 + 11 x 2 = 42 a minute; 46 in 70 s = 39.4
		{12, 2, 5 * time.Second, time.Minute},      // 12 + 22 = 34
		{20, 3, 5 * time.Second, 2 * time.Minute},  // 20 + 23 x 3 = 89 in 2 minutes: past the goal, capped
		{20, 2, 7 * time.Second, 63 * time.Second}, // 9 ticks of 7 s: (20 + 16) / 63 s = 34.3 a minute
		{20, 0, 0, time.Minute},
	} {
		if got := fullListInterval(tc.full, tc.focused, tc.tick); got != tc.want {
			t.Errorf("fullListInterval(%d, %d, %s) = %s, want %s", tc.full, tc.focused, tc.tick, got, tc.want)
		}
	}
}
