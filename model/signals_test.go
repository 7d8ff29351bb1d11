package model

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func minute(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

func series(vals ...float64) Series {
	var s Series
	for i, v := range vals {
		if v >= 0 { // -1 is a minute without a datapoint
			s = append(s, Point{minute(i), v})
		}
	}
	return s
}

func TestSignals_NoDataIsNeverZero(t *testing.T) {
	var s Signals
	if _, ok := s.CurrentErrorRate(); ok {
		t.Error("a service without request data has an error rate")
	}
	if got := s.ErrorsCell(); got != "no data" {
		t.Errorf("ErrorsCell = %q, want no data", got)
	}
	if got := s.Summary(); !strings.HasPrefix(got, "5xx no data") {
		t.Errorf("Summary = %q", got)
	}
	var nilSig *Signals
	if nilSig.InAlarm() || nilSig.HasData() || nilSig.Summary() != "signals not read" {
		t.Error("nil signals")
	}
}

func TestSignals_MissingErrorDatapointsCountAsZeroWhenRequestsWereCounted(t *testing.T) {
	s := Signals{Requests: series(100, 100, 100, 100, 100), Errors: series(-1, -1, 6, -1, -1)}
	r, ok := s.CurrentErrorRate()
	if !ok || r != 6.0/300 {
		t.Errorf("rate = %v %v, want 0.02", r, ok)
	}
	if got := FormatRate(r, ok); got != "2.0%" {
		t.Errorf("FormatRate = %q", got)
	}
	if r, ok := s.LatestErrorRate(); !ok || r != 0 {
		t.Errorf("latest = %v %v, want 0 (requests and no 5xx datapoint)", r, ok)
	}
	if v, ok := s.ErrorsPerMinute(); !ok || v != 2 {
		t.Errorf("per minute = %v %v", v, ok)
	}
}

func TestSignals_Trend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		errors Series
		want   Trend
	}{
		{"rising", series(0, 0, 0, 0, 0, 10, 20, 30, 40, 50), TrendUp},
		{"falling", series(50, 50, 50, 50, 50, 1, 1, 1, 1, 1), TrendDown},
		{"flat", series(5, 5, 5, 5, 5, 5, 5, 6, 5, 5), TrendFlat},
	} {
		s := Signals{Requests: series(100, 100, 100, 100, 100, 100, 100, 100, 100, 100), Errors: tc.errors}
		if got := s.ErrorTrend(); got != tc.want {
			t.Errorf("%s: trend %v, want %v", tc.name, got, tc.want)
		}
	}
	short := Signals{Requests: series(100, 100), Errors: series(1, 1)}
	if short.ErrorTrend() != TrendUnknown {
		t.Error("two minutes give a trend")
	}
	up := Signals{Requests: series(100, 100, 100, 100, 100, 100, 100, 100, 100, 100), Errors: series(0, 0, 0, 0, 0, 10, 20, 30, 40, 50)}
	if got := up.ErrorsCell(); got != "40/m↑" {
		t.Errorf("ErrorsCell = %q", got)
	}
}

func TestSeries_MergeSumsOrTakesTheLarger(t *testing.T) {
	a := series(1, 2, -1)
	b := []Point{{minute(1), 5}, {minute(2), 7}}
	if got := a.Merge(b, false); len(got) != 3 || got[1].Value != 7 || got[2].Value != 7 {
		t.Errorf("sum merge = %v", got)
	}
	if got := a.Merge(b, true); got[1].Value != 5 {
		t.Errorf("max merge = %v", got)
	}
}

func TestSparkline_GapsAndMarks(t *testing.T) {
	s := series(0, 4, -1, 8)
	got := Sparkline(s, minute(3), 4, nil)
	if got != "▁▅·█" {
		t.Errorf("sparkline = %q", got)
	}
	got = Sparkline(s, minute(3), 4, map[time.Time]rune{minute(1): '▲'})
	if got != "▁▲·█" {
		t.Errorf("marked sparkline = %q", got)
	}
	if Sparkline(s, minute(3), 0, nil) != "" {
		t.Error("zero width")
	}
}

func TestReleaseMarks_RolloutAndRollback(t *testing.T) {
	l := Ledger{Entries: []LedgerEntry{
		{Release: Release{Version: 4}, Refreshes: []Refresh{{StartedAt: minute(10).Add(20 * time.Second), Status: "Successful"}}},
		{Release: Release{Version: 3}, Refreshes: []Refresh{{StartedAt: minute(30), Status: "Successful"}, {StartedAt: minute(-200)}}},
	}}
	m := ReleaseMarks([]Ledger{l}, minute(0), minute(59))
	if m[minute(10)] != '▲' || m[minute(30)] != '▼' || len(m) != 2 {
		t.Errorf("marks = %v", m)
	}
}

func TestBeforeAfter(t *testing.T) {
	if got := BeforeAfter(0.041, 0.002, true, true, 6*time.Minute); got != "5xx 4.1% → 0.2% in 6 min" {
		t.Errorf("got %q", got)
	}
	if got := BeforeAfter(0, 0.002, false, true, 20*time.Second); got != "5xx no data → 0.2% in under a minute" {
		t.Errorf("got %q", got)
	}
}

func TestSignals_SummaryNamesAlarms(t *testing.T) {
	s := Signals{Requests: series(100), Errors: series(4), P99: series(1.456), Healthy: series(6), Unhealthy: series(1),
		Alarms: []Alarm{{Name: "web-5xx"}}}
	want := "5xx 4.0% (4.0/min), p99 1.46s, 6 healthy, 1 unhealthy; in alarm: web-5xx"
	if got := s.Summary(); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}
