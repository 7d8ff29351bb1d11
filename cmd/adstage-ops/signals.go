package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

func (a *app) signalsCommand() *cobra.Command {
	var service string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "signals --service S --env E",
		Short: "Print a service's CloudWatch signals (5xx, p99, hosts, alarms); exit 1 when it is in alarm",
		Long: `Print what CloudWatch says about a service in one environment: the target 5xx rate and count
per minute over the last five minutes, the p99 response time, healthy and unhealthy hosts, the
alarms in ALARM that name its target groups, load balancers or groups, and an hour of sparklines.

Exit codes: 0 no alarm fires; 1 the service is in alarm (for CI gates after a deploy); 2 the
alarms could not be read, an unknown service or environment (with the nearest names), or
another error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.flags.env == "" {
				return fail(exitError, "signals needs --env (the environment of the service)")
			}
			ctx := cmd.Context()
			a.oneShot = &inventory.OneShot{Service: service, Env: a.flags.env, ListOnly: true, Attempts: maxAttempts()}
			if err := a.open(ctx, false, "signals"); err != nil {
				return err
			}
			fleet, err := a.reader.Snapshot(ctx)
			if err != nil {
				return fmt.Errorf("list the groups of %s/%s: %w", service, a.flags.env, err)
			}
			svc, err := findService(&fleet, service, a.flags.env)
			if err != nil {
				// Listed narrowed to the name as given: look at the whole fleet.
				if service, err = a.serviceName(ctx, service, a.flags.env); err != nil {
					return err
				}
				a.oneShot.Service = service
				if fleet, err = a.reader.Snapshot(ctx); err != nil {
					return fmt.Errorf("list the groups of %s/%s: %w", service, a.flags.env, err)
				}
				if svc, err = findService(&fleet, service, a.flags.env); err != nil {
					return err
				}
			}
			all, err := a.reader.Signals(ctx, []model.Service{*svc})
			if err != nil {
				return fmt.Errorf("read the signals of %s/%s: %w", service, a.flags.env, err)
			}
			sig := all[svc.ServiceKey]
			for _, w := range sig.Warnings {
				fmt.Fprintf(a.stderr, "warning: %s\n", w)
			}
			if asJSON {
				if err := writeJSON(a.stdout, signalsJSON(sig)); err != nil {
					return err
				}
			} else {
				printSignals(a.stdout, sig)
			}
			switch {
			case sig.InAlarm():
				a.exit = exitDegraded
			case alarmsUnread(sig):
				a.exit = exitError
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "service name")
	_ = cmd.MarkFlagRequired("service")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// alarmsUnread reports whether the alarms could not be read: then "no alarm" is not known.
func alarmsUnread(s model.Signals) bool {
	for _, w := range s.Warnings {
		if strings.HasPrefix(w, "CloudWatch alarms not read") {
			return true
		}
	}
	return false
}

// sparkWidth is the minutes a CLI sparkline shows: the hour the reader reads.
const sparkWidth = 60

func printSignals(w io.Writer, s model.Signals) {
	fmt.Fprintf(w, "Signals of %s/%s from CloudWatch, read %s\n", s.Key.Name, s.Key.Env, fmtTime(s.ReadAt))
	if len(s.Balancers) == 0 {
		fmt.Fprintln(w, "  no load balancer: no traffic metrics")
	} else {
		fmt.Fprintf(w, "  balancers: %s\n", strings.Join(s.Balancers, ", "))
	}
	fmt.Fprintf(w, "  %s\n", s.Summary())
	if s.HasData() {
		end := s.ReadAt.UTC().Truncate(time.Minute).Add(-time.Minute)
		fmt.Fprintf(w, "  last hour, one character a minute (· no data):\n")
		for _, row := range []struct {
			name string
			s    model.Series
		}{{"requests ", s.Requests}, {"5xx      ", s.Errors}, {"p99      ", s.P99}, {"healthy  ", s.Healthy}} {
			fmt.Fprintf(w, "    %s %s\n", row.name, model.Sparkline(row.s, end, sparkWidth, nil))
		}
	}
	if len(s.Alarms) == 0 {
		fmt.Fprintln(w, "  alarms: none in ALARM")
		return
	}
	fmt.Fprintln(w, "  alarms in ALARM:")
	for _, a := range s.Alarms {
		fmt.Fprintf(w, "    %s (%s) since %s: %s\n", a.Name, a.Metric, fmtTime(a.Since), a.Reason)
	}
}

type signalsOut struct {
	SchemaVersion int        `json:"schema_version,omitempty"`
	Service       string     `json:"service"`
	Env           string     `json:"env"`
	ReadAt        time.Time  `json:"read_at"`
	InAlarm       bool       `json:"in_alarm"`
	ErrorRate     *float64   `json:"error_rate"`      // fraction of requests, last 5 min; null: no data
	ErrorsPerMin  *float64   `json:"errors_per_min"`  // null: no data
	Trend         string     `json:"trend,omitempty"` // up, down, flat
	P99Seconds    *float64   `json:"p99_seconds"`
	Healthy       *float64   `json:"healthy"`
	Unhealthy     *float64   `json:"unhealthy"`
	Alarms        []alarmOut `json:"alarms"`
	Balancers     []string   `json:"balancers"`
	Warnings      []string   `json:"warnings"`
	Requests      []pointOut `json:"requests"`
	Errors        []pointOut `json:"errors"`
	P99           []pointOut `json:"p99"`
	HealthySeries []pointOut `json:"healthy_series"`
}

func signalsJSON(s model.Signals) signalsOut {
	ptr := func(v float64, ok bool) *float64 {
		if !ok {
			return nil
		}
		return &v
	}
	last := func(se model.Series) *float64 {
		p, ok := se.Last()
		return ptr(p.Value, ok)
	}
	out := signalsOut{Service: s.Key.Name, Env: s.Key.Env, ReadAt: s.ReadAt, InAlarm: s.InAlarm(),
		ErrorRate: ptr(s.CurrentErrorRate()), ErrorsPerMin: ptr(s.ErrorsPerMinute()),
		P99Seconds: last(s.P99), Healthy: last(s.Healthy), Unhealthy: last(s.Unhealthy),
		Alarms: []alarmOut{}, Balancers: s.Balancers, Warnings: s.Warnings, SchemaVersion: schemaVersion,
		Requests: seriesJSON(s.Requests), Errors: seriesJSON(s.Errors), P99: seriesJSON(s.P99), HealthySeries: seriesJSON(s.Healthy)}
	for _, a := range s.Alarms {
		out.Alarms = append(out.Alarms, alarmOut{Name: a.Name, Reason: a.Reason, Since: optTime(a.Since), Metric: a.Metric})
	}
	switch s.ErrorTrend() {
	case model.TrendUp:
		out.Trend = "up"
	case model.TrendDown:
		out.Trend = "down"
	case model.TrendFlat:
		out.Trend = "flat"
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	return out
}
