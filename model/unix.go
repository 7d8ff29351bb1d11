package model

import (
	"math"
	"time"
)

// Unix is a moment as a unix second in 4 bytes, 0 when unknown: what an instance and its
// target rows keep (launch time, when its health was read), 20,000 times a fleet. It holds
// moments from 1970 to 2106; a later one is kept as the last second it can hold.
type Unix uint32

// UnixSec is the Unix of a unix second (0 or less: unknown).
func UnixSec(s int64) Unix {
	switch {
	case s <= 0:
		return 0
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return Unix(s)
}

// UnixOf is the Unix of t, to the second (0 for the zero time).
func UnixOf(t time.Time) Unix {
	if t.IsZero() {
		return 0
	}
	return UnixSec(t.Unix())
}

// Sec is the unix second.
func (u Unix) Sec() int64 { return int64(u) }

// Time is the moment, the zero time when unknown.
func (u Unix) Time() time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(int64(u), 0)
}
