package model

import (
	"math"
	"testing"
	"time"
)

func TestUnix(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 4, 5, 600, time.UTC)
	u := UnixOf(at)
	if u.Sec() != at.Unix() || !u.Time().Equal(at.Truncate(time.Second)) {
		t.Errorf("UnixOf(%v) = %d (%v)", at, u, u.Time())
	}
	if UnixOf(time.Time{}) != 0 || !Unix(0).Time().IsZero() || UnixSec(-5) != 0 {
		t.Error("the zero time is not 0, or 0 is not the zero time")
	}
	if got := UnixSec(math.MaxUint32 + 10); got != math.MaxUint32 {
		t.Errorf("a moment after 2106 = %d, want the last one Unix holds", got)
	}
}
