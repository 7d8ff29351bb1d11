package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

func (a *app) statusCommand() *cobra.Command {
	var service string
	var asJSON, withRollback bool
	var maxWait time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the inventory: exit 0 when every service is healthy, 1 when any is degraded, 2 when something could not be read",
		Long: `status reads the whole fleet once: every group, every balancer's health, every instance.
It is paced by AWS's own rate limits (2,000 groups take about three and a half minutes) and is
complete or says what it could not read: anything unread is named, per resource, with the next
step, and the exit code is then 2 (could not tell), never 1 (degraded). --max-wait bounds it;
interrupting it prints what was read so far and exits 130.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			prog := newProgressLine(a.stderr, a.now)
			a.oneShot = &inventory.OneShot{Service: service, Env: a.flags.env, Attempts: maxAttempts(), Progress: prog.update}
			if err := a.open(cmd.Context(), false, "status"); err != nil {
				return err
			}
			prog.start(a.now)
			ctx, cancel := context.WithTimeout(cmd.Context(), maxWait)
			fleet, err := a.reader.Snapshot(ctx)
			cancel()
			prog.clear()
			interrupted := cmd.Context().Err() != nil
			if err != nil {
				if interrupted {
					return fail(exitInterrupted, "interrupted before the groups were listed; nothing to show")
				}
				return fmt.Errorf("read the fleet: %w", err)
			}
			unread := 0
			if lp, ok := a.reader.(interface{ LastPoll() inventory.PollStats }); ok {
				unread = lp.LastPoll().Unread
			}
			services := filterServices(fleet.Services, service, a.flags.env)
			if len(services) == 0 && (service != "" || a.flags.env != "") && unread == 0 && !interrupted {
				// The listing was narrowed to what was asked for: list every group to say
				// what exists instead, or to find the service named in another case.
				name, err := a.serviceName(cmd.Context(), service, a.flags.env)
				if err != nil {
					return err
				}
				if name == "" || name == service {
					return fail(exitError, "no groups of %s in %s", orDash(service), orDash(a.flags.env))
				}
				service, a.oneShot.Service = name, name
				if fleet, err = a.reader.Snapshot(cmd.Context()); err != nil {
					return fmt.Errorf("read the fleet: %w", err)
				}
				services = filterServices(fleet.Services, service, a.flags.env)
			}
			degraded := false
			for i := range services {
				if services[i].Degraded() && !services[i].Undecided() {
					degraded = true
				}
			}
			var ready map[model.ServiceKey]model.Readiness
			if !interrupted && (withRollback || (service != "" && !cmd.Flags().Changed("rollback"))) {
				ready = a.readiness(cmd.Context(), services)
			}
			if asJSON {
				out := statusJSON(&fleet, services, a.now())
				out.Unread = unread
				for i := range out.Services {
					if r, ok := ready[services[i].ServiceKey]; ok {
						out.Services[i].Rollback = readinessJSON(r)
					}
				}
				err = writeJSON(a.stdout, out)
			} else {
				printStatus(a.stdout, &fleet, services, a.now())
				printReadiness(a.stdout, services, ready)
			}
			if err != nil {
				return err
			}
			for _, p := range fleet.Problems {
				fmt.Fprintln(a.stderr, "adstage-ops: warning:", p)
			}
			tagged := 0
			for i := range services {
				if services[i].Name != model.Untagged {
					tagged++
				}
			}
			switch {
			case interrupted:
				return fail(exitInterrupted, "interrupted: the status above is what was read so far (%d resources unread)", unread)
			case tagged == 0 && service == "" && unread == 0:
				// An empty fleet is no evidence of health: a typo in the region or the tag
				// keys must not pass a health gate.
				return fail(exitNoServices, "no service found: no autoscaling group in account %s, region %s carries the tag keys %s and %s; check --region/--profile (or the config's tag_keys)", orDash(fleet.Account), orDash(fleet.Region), a.cfg.tags().Service, a.cfg.tags().Environment)
			case unread > 0:
				return fail(exitError, "could not tell: %d resources were not read (named above); the status above is incomplete", unread)
			case degraded:
				a.exit = exitDegraded
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only this service")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&withRollback, "rollback", false, "also say what `rollback` would return each service to (on by default with --service)")
	cmd.Flags().DurationVar(&maxWait, "max-wait", 10*time.Minute, "give up reading after this long; what is unread is named and status exits 2")
	return cmd
}

// maxAttempts is AWS_MAX_ATTEMPTS when it is a positive number (the SDK honours it too), else 0
// (the inventory's default).
func maxAttempts() int {
	n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS"))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// progressLine shows how far a long status read is, on a terminal only, once it has taken
// more than a second: one line on stderr, redrawn in place and erased at the end.
type progressLine struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	now     func() time.Time
	since   time.Time
	started bool
	shown   bool
}

func newProgressLine(w io.Writer, now func() time.Time) *progressLine {
	f, ok := w.(*os.File)
	return &progressLine{w: w, tty: ok && term.IsTerminal(f.Fd()), now: now}
}

func (p *progressLine) start(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now, p.since, p.started = now, now(), true
}

func (p *progressLine) update(pr inventory.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty || !p.started || p.now().Sub(p.since) < time.Second {
		return
	}
	wait := ""
	if pr.Waiting {
		wait = ", pacing to AWS's rate limits"
	}
	fmt.Fprintf(p.w, "\r\x1b[Kreading AWS: %d of %d calls%s", pr.Done, pr.Total, wait)
	p.shown = true
}

func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// readiness reads what a rollback of each service would do: the same rule as the console's
// rollback column and the rollback plan (the release ledger's previous release).
func (a *app) readiness(ctx context.Context, services []model.Service) map[model.ServiceKey]model.Readiness {
	out := map[model.ServiceKey]model.Readiness{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(4)
	for i := range services {
		k := services[i].ServiceKey // with its region when the environment has a row per region
		if k.Name == model.Untagged {
			continue
		}
		g.Go(func() error {
			r, err := ops.ReaderFor(a.reader, k).Readiness(ctx, k.Name, k.Env)
			if err != nil {
				r = model.Readiness{Why: "could not be read: " + awsapi.Explain(err)}
			}
			mu.Lock()
			out[k] = r
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

type rollbackOut struct {
	Possible bool   `json:"possible"`
	Via      string `json:"via,omitempty"`
	Version  int64  `json:"version,omitempty"`
	Image    string `json:"image,omitempty"`
	// Unverified: no release is known to have run well, so the target is by version order.
	Unverified      bool     `json:"unverified,omitempty"`
	Skipped         []string `json:"skipped,omitempty"`
	Why             string   `json:"why,omitempty"`
	Note            string   `json:"note,omitempty"`
	EstimateSeconds int64    `json:"estimate_seconds,omitempty"`
}

func readinessJSON(r model.Readiness) *rollbackOut {
	return &rollbackOut{Possible: r.Possible, Via: r.Via, Version: r.Target.Version, Image: r.Target.ImageID, Unverified: r.Unverified,
		Skipped: r.Skipped, Why: r.Why, Note: r.Note, EstimateSeconds: int64(r.Estimate.Seconds())}
}

// printReadiness says, per service, what a rollback would return to.
func printReadiness(w io.Writer, services []model.Service, ready map[model.ServiceKey]model.Readiness) {
	if len(ready) == 0 {
		return
	}
	fmt.Fprintln(w)
	for i := range services {
		r, ok := ready[services[i].ServiceKey]
		if !ok {
			continue
		}
		where := services[i].ServiceKey.String()
		switch {
		case !r.Possible:
			fmt.Fprintf(w, "%s: rollback not possible: %s\n", where, r.Why)
		case r.Via == "rollback-refresh":
			fmt.Fprintf(w, "%s: rollback reverses the running rollout, about %s\n", where, r.Estimate.Round(time.Second))
		default:
			how := ""
			if r.Unverified {
				how = " (unverified: no record shows it ran well; chosen by version order)"
			}
			fmt.Fprintf(w, "%s: rollback returns to launch template version %d (%s), about %s%s\n", where, r.Target.Version, r.Target.ImageID, r.Estimate.Round(time.Second), how)
			for _, sk := range r.Skipped {
				fmt.Fprintf(w, "  skips %s\n", sk)
			}
		}
		if r.Note != "" {
			fmt.Fprintf(w, "  %s\n", r.Note)
		}
	}
}

// listOf is every value of a fleet's origin field (model.Merged), never nil.
func listOf(field string) []string {
	return append([]string{}, model.Merged(field)...)
}

// single is the one value of a list, "" when it holds none or several.
func single(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return ""
}

func filterServices(all []model.Service, name, env string) []model.Service {
	var out []model.Service
	for _, s := range all {
		if (name == "" || s.Name == name) && (env == "" || s.Env == env) {
			out = append(out, s)
		}
	}
	return out
}

func printStatus(w io.Writer, f *model.Fleet, services []model.Service, now time.Time) {
	if accts := model.Merged(f.Account); len(accts) > 1 {
		// A console over several identities: each row's account is in its own line below.
		fmt.Fprintf(w, "accounts %s  region %s  as %s\n\n", strings.Join(accts, ", "), f.Region, strings.Join(model.Merged(f.Identity), ", "))
	} else {
		fmt.Fprintf(w, "account %s  region %s  as %s\n\n", f.Account, f.Region, f.Identity)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// A REGION column only when a service has a row per region (model.Fleet.SplitRegions).
	regional := slices.ContainsFunc(services, func(s model.Service) bool { return s.Region != "" })
	env := func(s *model.Service) string {
		if !regional {
			return s.Env
		}
		r := s.Region
		if rs := model.Merged(s.From().Region); r == "" && len(rs) == 1 {
			r = rs[0]
		}
		return s.Env + "\t" + orDash(r)
	}
	if regional {
		fmt.Fprintln(tw, "SERVICE\tENV\tREGION\tGROUPS\tDESIRED\tIN SERVICE\tHEALTHY\tDRAINING\tRELEASE\tSTATE")
	} else {
		fmt.Fprintln(tw, "SERVICE\tENV\tGROUPS\tDESIRED\tIN SERVICE\tHEALTHY\tDRAINING\tRELEASE\tSTATE")
	}
	for i := range services {
		s := &services[i]
		c := s.Counts()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.Name, env(s), c.Groups, c.Desired, c.InService, c.Healthy, c.Draining, orDash(s.Release()), serviceState(s))
	}
	tw.Flush()
	for i := range services {
		s := &services[i]
		for _, g := range s.Groups {
			switch r := g.Refresh; {
			case r.RollingBack():
				fmt.Fprintf(w, "\n%s: rolling back %s to %s, %d%% done\n", s.ServiceKey, g.Name, rollbackTarget(g), r.Progress())
			case r.Active():
				fmt.Fprintf(w, "\n%s: rollout on %s %s, %d%% done, %d instances to update\n", s.ServiceKey, g.Name, r.Status, r.Percent, r.InstancesToUpdate)
			}
			for j := range g.Instances {
				in := &g.Instances[j]
				for _, t := range in.Targets {
					if t.State == model.TargetDraining {
						left, exact := t.DrainRemaining(now)
						about := ""
						if !exact {
							about = "about "
						}
						fmt.Fprintf(w, "%s: %s draining from %s, %s%s left\n", s.ServiceKey, in.ID, t.Balancer.String(), about, left.Round(time.Second))
					}
				}
			}
		}
	}
}

func serviceState(s *model.Service) string {
	st := s.State()
	parts := []string{"healthy"}
	switch {
	case s.Undecided():
		parts[0] = "unknown"
	case st.Degraded:
		parts[0] = "degraded"
	}
	switch {
	case st.RollingBack:
		parts = append(parts, "rolling-back")
	case st.RollingOut:
		parts = append(parts, "rolling-out")
	}
	if st.Mixed {
		parts = append(parts, "mixed")
	}
	if st.Legacy {
		parts = append(parts, "legacy-launch-configuration")
	}
	return strings.Join(parts, ",")
}

// rollbackTarget names the release a rollback returns a group to: the launch template
// version the group itself still names (a refresh changes it only when it succeeds).
func rollbackTarget(g *model.Group) string {
	if g.LaunchTemplate == nil {
		return "its previous configuration"
	}
	s := "launch template version " + g.LaunchTemplate.Version
	if g.ImageID != "" {
		s += " (" + g.ImageID + ")"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type statusOut struct {
	SchemaVersion int `json:"schema_version"`
	// Account, Region and Identity are the one account, region and caller the fleet was read
	// with; each is left out when there were several (since schema 2: before, they were
	// joined with "+"). Accounts, Regions and Identities always list every one.
	Account    string       `json:"account,omitempty"`
	Region     string       `json:"region,omitempty"`
	Identity   string       `json:"identity,omitempty"`
	Accounts   []string     `json:"accounts"`
	Regions    []string     `json:"regions"`
	Identities []string     `json:"identities"`
	FetchedAt  time.Time    `json:"fetched_at"`
	Services   []serviceOut `json:"services"`
	Problems   []string     `json:"problems,omitempty"`
	Degraded   bool         `json:"degraded"`
	// Unread counts the resources the read could not read (each named in problems); the
	// answer is then incomplete and status exits 2.
	Unread int `json:"unread"`
}

type serviceOut struct {
	Service string `json:"service"`
	Env     string `json:"env"`
	// Region is set when the environment has a row per region (model.ServiceKey.Region).
	Region     string   `json:"region,omitempty"`
	Release    string   `json:"release"`
	Images     []string `json:"images"`
	Mixed      bool     `json:"mixed"`
	RollingOut bool     `json:"rolling_out"`
	// RollingBack: AWS is rolling a rollout back (rolling_out is true too).
	RollingBack bool `json:"rolling_back"`
	Degraded    bool `json:"degraded"`
	// Unknown: the service would be degraded only because some balancer was not read.
	Unknown bool       `json:"unknown,omitempty"`
	Counts  countsOut  `json:"counts"`
	Groups  []groupOut `json:"groups"`
	// Rollback is what `rollback` would do (with --rollback, or --service).
	Rollback *rollbackOut `json:"rollback,omitempty"`
}

type countsOut struct {
	Groups    int `json:"groups"`
	Desired   int `json:"desired"`
	InService int `json:"in_service"`
	Healthy   int `json:"healthy"`
	Draining  int `json:"draining"`
}

type groupOut struct {
	Name           string        `json:"name"`
	Min            int32         `json:"min"`
	Desired        int32         `json:"desired"`
	Max            int32         `json:"max"`
	LaunchTemplate string        `json:"launch_template,omitempty"`
	Version        string        `json:"version,omitempty"`
	LaunchConfig   string        `json:"launch_configuration,omitempty"`
	Image          string        `json:"image"`
	Suspended      []string      `json:"suspended,omitempty"`
	Refresh        *refreshOut   `json:"refresh,omitempty"`
	Instances      []instanceOut `json:"instances"`
}

type refreshOut struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Percent int32  `json:"percent"`
	ToGo    int32  `json:"instances_to_update"`
	// RollbackPercent is how much of a rollback in progress is done (AWS's percent goes back
	// down to zero during one).
	RollbackPercent *int32 `json:"rollback_percent,omitempty"`
}

type instanceOut struct {
	ID        string      `json:"id"`
	AZ        string      `json:"az"`
	Lifecycle string      `json:"lifecycle"`
	Healthy   bool        `json:"healthy"`
	Image     string      `json:"image"`
	AgeSec    int64       `json:"age_seconds,omitempty"`
	Targets   []targetOut `json:"targets,omitempty"`
}

type targetOut struct {
	Balancer   string `json:"balancer"`
	State      string `json:"state"`
	Reason     string `json:"reason,omitempty"`
	DrainLeft  int64  `json:"drain_seconds_left,omitempty"`
	DrainAbout bool   `json:"drain_estimate,omitempty"`
}

func statusJSON(f *model.Fleet, services []model.Service, now time.Time) statusOut {
	out := statusOut{SchemaVersion: schemaVersion, FetchedAt: f.FetchedAt, Problems: f.Problems, Services: []serviceOut{},
		Accounts: listOf(f.Account), Regions: listOf(f.Region), Identities: listOf(f.Identity)}
	out.Account, out.Region, out.Identity = single(out.Accounts), single(out.Regions), single(out.Identities)
	for i := range services {
		s := &services[i]
		c := s.Counts()
		st := s.State()
		so := serviceOut{Service: s.Name, Env: s.Env, Region: s.Region, Release: s.Release(), Mixed: s.Mixed(), RollingOut: st.RollingOut, RollingBack: st.RollingBack, Degraded: s.Degraded() && !s.Undecided(), Unknown: s.Undecided(),
			Counts: countsOut{c.Groups, c.Desired, c.InService, c.Healthy, c.Draining}, Images: []string{}}
		for _, ic := range s.Images() {
			so.Images = append(so.Images, ic.ImageID)
		}
		out.Degraded = out.Degraded || so.Degraded
		for _, g := range s.Groups {
			gout := groupOut{Name: g.Name, Min: g.Min, Desired: g.Desired, Max: g.Max, LaunchConfig: g.LaunchConfig, Image: g.ImageID, Suspended: g.Suspended, Instances: []instanceOut{}}
			if g.LaunchTemplate != nil {
				gout.LaunchTemplate, gout.Version = g.LaunchTemplate.Name, g.LaunchTemplate.Version
			}
			if r := g.Refresh; r != nil {
				gout.Refresh = &refreshOut{ID: r.ID, Status: r.Status, Reason: r.StatusReason, Percent: r.Percent, ToGo: r.InstancesToUpdate}
				if r.RollingBack() {
					p := r.Progress()
					gout.Refresh.RollbackPercent = &p
				}
			}
			for j := range g.Instances {
				in := &g.Instances[j]
				io := instanceOut{ID: in.ID, AZ: in.AZ.String(), Lifecycle: in.Lifecycle.String(), Healthy: in.Healthy, Image: in.ImageID.String(), AgeSec: int64(in.Age(now).Seconds())}
				for _, t := range in.Targets {
					to := targetOut{Balancer: t.Balancer.String(), State: t.State.String(), Reason: t.Reason()}
					if left, exact := t.DrainRemaining(now); t.State == model.TargetDraining {
						to.DrainLeft, to.DrainAbout = int64(left.Seconds()), !exact
					}
					io.Targets = append(io.Targets, to)
				}
				gout.Instances = append(gout.Instances, io)
			}
			so.Groups = append(so.Groups, gout)
		}
		out.Services = append(out.Services, so)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
