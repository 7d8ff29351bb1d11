package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// app is one invocation: flags, config, and the action layer built from them.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	flags          struct {
		demo, readOnly, demoReset bool
		profile, region, env      string
		config, demoState         string
		refresh                   time.Duration
		// minHealthy and maxHealthy override the config's rollout percentages (promote and
		// rollback); -1 when not given.
		minHealthy, maxHealthy int32
	}
	exit int

	cfg      Config
	readOnly bool
	now      func() time.Time
	reader   ops.Reader
	op       ops.Operator // nil in read-only mode: there is nothing that could change AWS
	audit    *audit.Log
	cloud    *sim.Cloud // the demo fleet, saved on close
	tick     time.Duration
	console  bool // the live console, not a subcommand (named in audit events)
}

// refresh is the live view's tick.
func (a *app) refresh() time.Duration { return a.tick }

// open loads the config and builds the action layer. write says whether the command mutates:
// in read-only mode it is refused before any client exists.
func (a *app) open(ctx context.Context, write bool, what string) error {
	path, explicit := a.flags.config, a.flags.config != ""
	if !explicit {
		path = defaultConfigPath()
	}
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return fail(exitError, "%v", err)
	}
	a.cfg = cfg
	a.readOnly = a.flags.readOnly
	envCfg, hasEnv := cfg.Environments[a.flags.env]
	if hasEnv && envCfg.ReadOnly {
		a.readOnly = true
	}
	if a.readOnly && write {
		why := "--read-only is set"
		if !a.flags.readOnly {
			why = fmt.Sprintf("the config makes %s read-only", a.flags.env)
		}
		return fail(exitReadOnly, "read-only mode: %s changes nothing because %s; run without it to %s", what, why, what)
	}
	refresh := cfg.Refresh
	if a.flags.refresh > 0 {
		refresh = a.flags.refresh
	}
	if refresh <= 0 {
		refresh = 5 * time.Second
	}
	a.tick = refresh
	rollout := cfg.rollout()
	if a.flags.minHealthy >= 0 || a.flags.maxHealthy >= 0 {
		if a.flags.minHealthy >= 0 {
			rollout.MinHealthyPercentage = a.flags.minHealthy
		}
		if a.flags.maxHealthy >= 0 {
			rollout.MaxHealthyPercentage = a.flags.maxHealthy
		}
		if err := rollout.Validate(); err != nil {
			return fail(exitError, "--min-healthy-percentage/--max-healthy-percentage: %v", err)
		}
	}
	opts := ops.Options{
		Options: inventory.Options{
			Tags:         cfg.tags(),
			SkipUntagged: cfg.SkipUntagged,
			Refresh:      refresh,
			Rollout:      rollout,
		},
		Production: cfg.production,
		Via:        "cli",
	}
	if a.console {
		opts.Via = "tui"
	}
	auditPath, err := audit.DefaultPath()
	if err != nil {
		return fail(exitError, "find the audit log directory: %v", err)
	}
	if a.flags.demo {
		auditPath = demoAuditPath(auditPath)
	}
	a.audit = audit.New(auditPath)
	opts.Audit = a.audit

	if a.flags.demo {
		if err := a.openDemo(); err != nil {
			return err
		}
		opts.Now = a.now
		opts.BootTime = a.cloud.BootTime() // the demo's instances boot faster than EC2's
		clients := a.cloud.Clients()
		a.build(clients, clients.Read(), opts)
		return nil
	}
	a.now = time.Now
	opts.Now = a.now
	lo := awsapi.LoadOptions{Profile: a.flags.profile, Region: a.flags.region, ReadOnly: a.readOnly}
	if hasEnv {
		if lo.Profile == "" {
			lo.Profile = envCfg.Profile
		}
		if lo.Region == "" {
			lo.Region = envCfg.Region
		}
	}
	clients, read, err := awsapi.LoadClients(ctx, lo)
	if err != nil {
		return err
	}
	a.build(clients, read, opts)
	return nil
}

// build makes the reader, and the operator unless read-only. A read-only app never holds
// the mutating clients at all.
func (a *app) build(clients awsapi.Clients, read awsapi.ReadClients, opts ops.Options) {
	if a.readOnly {
		a.reader = inventory.NewInventory(read, opts.Options)
		return
	}
	var op ops.Operator = ops.NewOperator(clients, opts)
	ro := map[string]bool{}
	for name, e := range a.cfg.Environments {
		if e.ReadOnly {
			ro[name] = true
		}
	}
	if len(ro) > 0 {
		op = envGuard{Operator: op, readOnly: ro}
	}
	a.op, a.reader = op, op
}

// demoStatePath is where the demo fleet is kept between runs.
func (a *app) demoStatePath() (string, error) {
	if a.flags.demoState != "" {
		return a.flags.demoState, nil
	}
	p, err := audit.DefaultPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), "demo-state.json"), nil
}

// openDemo loads the demo fleet from its state file, or seeds a new one. ADSTAGE_DEMO_SPEED
// makes simulated time run faster than the wall clock (tests use it to finish rollouts fast).
func (a *app) openDemo() error {
	speed := 1.0
	if s := os.Getenv("ADSTAGE_DEMO_SPEED"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			return fail(exitError, "ADSTAGE_DEMO_SPEED must be a positive number, not %q", s)
		}
		speed = v
	}
	path, err := a.demoStatePath()
	if err != nil {
		return fail(exitError, "find the demo state directory: %v", err)
	}
	// clockFrom continues simulated time from where the saved fleet left it: at wall-clock
	// speed the demo simply follows real time; faster, it runs on from the saved instant.
	clockFrom := func(start time.Time) sim.Clock {
		if speed == 1 {
			return sim.RealClock{}
		}
		return sim.NewScaledClock(start, speed)
	}
	if !a.flags.demoReset {
		f, err := os.Open(path)
		switch {
		case err == nil:
			cloud, lerr := sim.Load(f, nil)
			f.Close()
			if lerr == nil {
				start := time.Now()
				if cloud.Now().After(start) {
					start = cloud.Now()
				}
				clock := clockFrom(start)
				cloud.SetClock(clock)
				a.cloud, a.now = cloud, clock.Now
				return nil
			}
			fmt.Fprintf(a.stderr, "adstage-ops: the demo state in %s is unreadable (%v); starting a fresh demo fleet\n", path, lerr)
		case !errors.Is(err, os.ErrNotExist):
			return fail(exitError, "open the demo state: %v", err)
		}
	}
	clock := clockFrom(time.Now())
	a.cloud, a.now = sim.NewDemo(clock), clock.Now
	return nil
}

// close saves the demo fleet so that the next command continues from it.
func (a *app) close() {
	if a.cloud == nil {
		return
	}
	path, err := a.demoStatePath()
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fmt.Fprintf(a.stderr, "adstage-ops: could not save the demo fleet: %v\n", err)
		return
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		fmt.Fprintf(a.stderr, "adstage-ops: could not save the demo fleet: %v\n", err)
		return
	}
	if err := a.cloud.Save(f); err != nil {
		f.Close()
		fmt.Fprintf(a.stderr, "adstage-ops: could not save the demo fleet: %v\n", err)
		return
	}
	f.Close()
	os.Rename(tmp, path)
}

// findService resolves --service/--env against the fleet with a message that helps.
func findService(f *model.Fleet, name, env string) (*model.Service, error) {
	if s, ok := f.Service(name, env); ok {
		return s, nil
	}
	var envs, names []string
	seen := map[string]bool{}
	for _, s := range f.Services {
		if s.Name == name {
			envs = append(envs, s.Env)
		}
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	if len(envs) > 0 {
		return nil, fail(exitRefused, "service %s has no environment %q; it runs in %v", name, env, envs)
	}
	return nil, fail(exitRefused, "unknown service %q; known services: %v (adstage-ops status lists them)", name, names)
}

// demoAuditPath keeps the demo's audit log apart from the real one.
func demoAuditPath(real string) string {
	return filepath.Join(filepath.Dir(real), "audit-demo.jsonl")
}
