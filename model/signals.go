package model

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Signals are what CloudWatch says about one service in one environment: per-minute series of
// the last hour summed over its balancers (requests, target 5xx, healthy and unhealthy hosts;
// p99 response time is the slowest balancer's), and the alarms firing on its balancers or
// groups. A minute without a datapoint is absent from a series, never zero: "no data" is not
// "no errors".
type Signals struct {
	Key      ServiceKey
	ReadAt   time.Time
	Requests Series
	Errors   Series // target 5xx per minute (ALB HTTPCode_Target_5XX_Count, ELB HTTPCode_Backend_5XX)
	P99      Series // seconds
	Healthy  Series
	// Unhealthy counts the balancers' unhealthy hosts.
	Unhealthy Series
	Alarms    []Alarm
	// Balancers names the balancers the series cover ("target group web-production",
	// "classic ELB reports"); empty when the service has none, which is not the same as no
	// traffic.
	Balancers []string
	// Warnings say what could not be read, as a sentence each (a denied CloudWatch read, a
	// target group whose load balancer is unknown).
	Warnings []string
}

// Point is one minute of a series: the minute's start and its value.
type Point struct {
	At    time.Time
	Value float64
}

// Series is a per-minute metric, oldest first, with gaps where CloudWatch had no datapoint.
type Series []Point

// At is the value of the minute starting at t.
func (s Series) At(t time.Time) (float64, bool) {
	i := sort.Search(len(s), func(i int) bool { return !s[i].At.Before(t) })
	if i < len(s) && s[i].At.Equal(t) {
		return s[i].Value, true
	}
	return 0, false
}

// Last is the newest point.
func (s Series) Last() (Point, bool) {
	if len(s) == 0 {
		return Point{}, false
	}
	return s[len(s)-1], true
}

// Merge adds points into a series, summing (or, with maxOf, taking the larger of) the values
// of the same minute. The result is sorted by time.
func (s Series) Merge(points []Point, maxOf bool) Series {
	by := make(map[int64]float64, len(s)+len(points))
	for _, p := range s {
		by[p.At.Unix()] = p.Value
	}
	for _, p := range points {
		k := p.At.Unix()
		if v, ok := by[k]; ok {
			if maxOf {
				by[k] = math.Max(v, p.Value)
			} else {
				by[k] = v + p.Value
			}
			continue
		}
		by[k] = p.Value
	}
	out := make(Series, 0, len(by))
	for k, v := range by {
		out = append(out, Point{At: time.Unix(k, 0).UTC(), Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Alarm is a CloudWatch alarm in ALARM that names one of a service's balancers or groups.
type Alarm struct {
	Name   string
	Reason string
	Since  time.Time
	Metric string // namespace/metric, e.g. "AWS/ApplicationELB/HTTPCode_Target_5XX_Count"
}

// InAlarm reports whether any of the service's alarms fires.
func (s *Signals) InAlarm() bool { return s != nil && len(s.Alarms) > 0 }

// HasData reports whether CloudWatch returned any request datapoint for the service.
func (s *Signals) HasData() bool { return s != nil && len(s.Requests) > 0 }

// ErrorRate is the fraction of requests answered with a target 5xx over the minutes in
// [from, to): false when no request was counted there ("no data"). A minute with requests and
// no 5xx datapoint counts as zero errors: AWS publishes the 5xx count only when it is nonzero.
func (s *Signals) ErrorRate(from, to time.Time) (float64, bool) {
	if s == nil {
		return 0, false
	}
	var req, errs float64
	for _, p := range s.Requests {
		if p.At.Before(from) || !p.At.Before(to) {
			continue
		}
		req += p.Value
		if v, ok := s.Errors.At(p.At); ok {
			errs += v
		}
	}
	if req <= 0 {
		return 0, false
	}
	return errs / req, true
}

// signalWindow is the span the headline numbers average over: CloudWatch's newest minute is
// often incomplete, so one minute alone jumps about.
const signalWindow = 3 * time.Minute

// latestMinute is the start of the newest minute with a request datapoint.
func (s *Signals) latestMinute() (time.Time, bool) {
	p, ok := s.Requests.Last()
	return p.At, ok
}

// LatestErrorRate is the 5xx rate of the newest minute with request data: what a rollback
// that just ended has done.
func (s *Signals) LatestErrorRate() (float64, bool) {
	if s == nil {
		return 0, false
	}
	last, ok := s.latestMinute()
	if !ok {
		return 0, false
	}
	return s.ErrorRate(last, last.Add(time.Minute))
}

// CurrentErrorRate is the 5xx rate over the newest three minutes with data.
func (s *Signals) CurrentErrorRate() (float64, bool) {
	if s == nil {
		return 0, false
	}
	last, ok := s.latestMinute()
	if !ok {
		return 0, false
	}
	return s.ErrorRate(last.Add(-signalWindow+time.Minute), last.Add(time.Minute))
}

// ErrorsPerMinute is the mean 5xx count per minute over the newest three minutes with
// request data; false means no data.
func (s *Signals) ErrorsPerMinute() (float64, bool) {
	if s == nil {
		return 0, false
	}
	last, ok := s.latestMinute()
	if !ok {
		return 0, false
	}
	from := last.Add(-signalWindow + time.Minute)
	var sum float64
	n := 0
	for _, p := range s.Requests {
		if p.At.Before(from) {
			continue
		}
		n++
		if v, ok := s.Errors.At(p.At); ok {
			sum += v
		}
	}
	return sum / float64(n), n > 0
}

// Trend is the direction of a signal.
type Trend int8

// Trends.
const (
	TrendUnknown Trend = iota
	TrendFlat
	TrendUp
	TrendDown
)

// Arrow is the trend as one character.
func (t Trend) Arrow() string {
	switch t {
	case TrendUp:
		return "↑"
	case TrendDown:
		return "↓"
	case TrendFlat:
		return "→"
	}
	return ""
}

// ErrorTrend compares the 5xx per minute of the newest three minutes with the three before:
// up or down when it moved by more than a fifth and by more than one error a minute.
func (s *Signals) ErrorTrend() Trend {
	if s == nil {
		return TrendUnknown
	}
	last, ok := s.latestMinute()
	if !ok {
		return TrendUnknown
	}
	mean := func(from, to time.Time) (float64, bool) {
		var sum float64
		n := 0
		for _, p := range s.Requests {
			if p.At.Before(from) || !p.At.Before(to) {
				continue
			}
			n++
			if v, ok := s.Errors.At(p.At); ok {
				sum += v
			}
		}
		if n == 0 {
			return 0, false
		}
		return sum / float64(n), true
	}
	end := last.Add(time.Minute)
	now, ok1 := mean(end.Add(-signalWindow), end)
	before, ok2 := mean(end.Add(-2*signalWindow), end.Add(-signalWindow))
	if !ok1 || !ok2 {
		return TrendUnknown
	}
	d := now - before
	if math.Abs(d) <= 1 || math.Abs(d) <= 0.2*math.Max(now, before) {
		return TrendFlat
	}
	if d > 0 {
		return TrendUp
	}
	return TrendDown
}

// ErrorsCell is the services screen's 5xx column: "12/m↑", "0/m→", or "no data".
func (s *Signals) ErrorsCell() string {
	v, ok := s.ErrorsPerMinute()
	if !ok {
		return "no data"
	}
	return fmt.Sprintf("%s/m%s", compactCount(v), s.ErrorTrend().Arrow())
}

func compactCount(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 10 || v == 0:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// FormatRate is a 5xx rate as a percentage ("4.1%", "0.02%"), or "no data".
func FormatRate(r float64, ok bool) string {
	if !ok {
		return "no data"
	}
	p := r * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.1:
		return fmt.Sprintf("%.2f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

// Summary is one line of the service's signals for plans and the CLI: "5xx 4.1% (38/min),
// p99 1.45s, 6 healthy; in alarm: web-production-5xx", or "no data" parts.
func (s *Signals) Summary() string {
	if s == nil {
		return "signals not read"
	}
	var parts []string
	rate, ok := s.CurrentErrorRate()
	part := "5xx " + FormatRate(rate, ok)
	if perMin, ok := s.ErrorsPerMinute(); ok {
		part += fmt.Sprintf(" (%s/min)", compactCount(perMin))
	}
	parts = append(parts, part)
	if p, ok := s.P99.Last(); ok {
		parts = append(parts, fmt.Sprintf("p99 %s", formatSeconds(p.Value)))
	} else {
		parts = append(parts, "p99 no data")
	}
	if h, ok := s.Healthy.Last(); ok {
		part := fmt.Sprintf("%.0f healthy", h.Value)
		if u, ok := s.Unhealthy.Last(); ok && u.Value > 0 {
			part += fmt.Sprintf(", %.0f unhealthy", u.Value)
		}
		parts = append(parts, part)
	}
	line := strings.Join(parts, ", ")
	if names := s.AlarmNames(); len(names) > 0 {
		line += "; in alarm: " + strings.Join(names, ", ")
	}
	return line
}

// AlarmNames are the names of the firing alarms, sorted.
func (s *Signals) AlarmNames() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.Alarms))
	for _, a := range s.Alarms {
		out = append(out, a.Name)
	}
	sort.Strings(out)
	return out
}

func formatSeconds(v float64) string {
	if v < 1 {
		return fmt.Sprintf("%.0fms", v*1000)
	}
	return fmt.Sprintf("%.2fs", v)
}

// BeforeAfter is the one line a promote or rollback ends with: "5xx 4.1% → 0.2% in 6 min".
// before is the rate when the action started; after is read when it ended.
func BeforeAfter(before, after float64, beforeOK, afterOK bool, took time.Duration) string {
	mins := int(math.Round(took.Minutes()))
	span := fmt.Sprintf("%d min", mins)
	if mins < 1 {
		span = "under a minute"
	}
	return fmt.Sprintf("5xx %s → %s in %s", FormatRate(before, beforeOK), FormatRate(after, afterOK), span)
}

// sparkRunes are the eight bar heights of a sparkline.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws the series over the width minutes ending with the minute that starts at
// end (inclusive), one character a minute: a bar per datapoint scaled to the largest, "·" for
// a minute without data, and marks (minute start -> rune) drawn over it.
func Sparkline(s Series, end time.Time, width int, marks map[time.Time]rune) string {
	if width <= 0 {
		return ""
	}
	start := end.Add(-time.Duration(width-1) * time.Minute)
	var top float64
	for _, p := range s {
		if !p.At.Before(start) && !p.At.After(end) {
			top = math.Max(top, p.Value)
		}
	}
	out := make([]rune, width)
	for i := range width {
		t := start.Add(time.Duration(i) * time.Minute)
		if r, ok := marks[t]; ok {
			out[i] = r
			continue
		}
		v, ok := s.At(t)
		switch {
		case !ok:
			out[i] = '·'
		case top <= 0:
			out[i] = sparkRunes[0]
		default:
			out[i] = sparkRunes[int(math.Round(v/top*float64(len(sparkRunes)-1)))]
		}
	}
	return string(out)
}

// ReleaseMarks are the minutes of a service's rollouts inside [from, to], from its release
// ledgers, for sparklines: '▲' where a rollout of a newer release started, '▼' where a
// rollback started (AWS reversing a rollout, or a rollout back to an older release than one
// already rolled out).
func ReleaseMarks(ledgers []Ledger, from, to time.Time) map[time.Time]rune {
	marks := map[time.Time]rune{}
	put := func(t time.Time, r rune) {
		if t.IsZero() || t.Before(from) || t.After(to) {
			return
		}
		m := t.UTC().Truncate(time.Minute)
		if marks[m] == '▼' {
			return // a rollback wins over a rollout in the same minute
		}
		marks[m] = r
	}
	for _, l := range ledgers {
		type start struct {
			at      time.Time
			version int64
			r       Refresh
		}
		var starts []start
		for _, e := range l.Entries {
			for _, r := range e.Refreshes {
				starts = append(starts, start{r.StartedAt, e.Version, r})
			}
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i].at.Before(starts[j].at) })
		var newest int64
		for _, s := range starts {
			if s.version < newest {
				put(s.at, '▼')
			} else {
				put(s.at, '▲')
				newest = s.version
			}
			if strings.HasPrefix(s.r.Status, "Rollback") && !s.r.EndedAt.IsZero() {
				put(s.r.EndedAt, '▼')
			}
		}
	}
	return marks
}

// ConsoleOutput is an instance's serial console output, each line made safe for a terminal.
type ConsoleOutput struct {
	InstanceID string
	At         time.Time
	Lines      []string
}

// ConsoleLines splits raw console output into lines, dropping carriage returns and making
// each line safe (escape sequences from a boot log must not act on the operator's terminal).
func ConsoleLines(raw string) []string {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	raw = strings.TrimRight(raw, "\n")
	if raw == "" {
		return nil
	}
	parts := strings.Split(raw, "\n")
	for i, p := range parts {
		parts[i] = SafeText(strings.TrimRight(p, "\r"))
	}
	return parts
}
