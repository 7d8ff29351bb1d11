package inventory

import "time"

// stamp is a moment kept in a cache entry, as unix nanoseconds (0: never): 8 bytes where a
// time.Time takes 24, for the few moments each of 2,000 balancers and groups remembers.
type stamp int64

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(t.UnixNano())
}

func (s stamp) isZero() bool { return s == 0 }

// since is how long before now the stamp was.
func (s stamp) since(now time.Time) time.Duration { return now.Sub(time.Unix(0, int64(s))) }
