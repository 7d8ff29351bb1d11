package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/adstage/adstage-ops/aws/accounts"
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
	// fromEnv is the environment a promote takes its image from: read with its own identity.
	fromEnv string
	exit    int

	cfg      Config
	readOnly bool
	now      func() time.Time
	reader   ops.Reader
	op       ops.Operator // nil in read-only mode: there is nothing that could change AWS
	audit    *audit.Log
	shared   *audit.Shared // the shared audit log, when the config names one
	demo     *demoStore
	// awsProfile is the profile the clients were loaded with ("" for the standard chain,
	// which AWS_PROFILE steers for child processes too).
	awsProfile string
	// members is the console over several identities, when the config names them (nil:
	// one set of clients), and memberIDs each member's identity by its name.
	members   *accounts.Console
	memberIDs map[string]Identity
	tick      time.Duration
	console   bool // the live console, not a subcommand (named in audit events)
	// oneShot makes the inventory read everything once (status), instead of the console's
	// tiered polling.
	oneShot *inventory.OneShot
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
		if a.flags.readOnly {
			return fail(exitReadOnly, "read-only mode: %s changes nothing because --read-only (or --audit) is set; run without it to %s", what, what)
		}
		return fail(exitReadOnly, "read-only mode: %s changes nothing because the config %s makes %s read-only (environments.%s.read_only: true); an operator allowed to change %s can set it to false there", what, path, a.flags.env, a.flags.env, a.flags.env)
	}
	if a.flags.refresh < 0 {
		return fail(exitError, "--refresh must be a positive duration such as 5s or 500ms, not %s", a.flags.refresh)
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
			AlarmPattern: cfg.Signals.AlarmPattern,
			Refresh:      refresh,
			Rollout:      rollout,
			OneShot:      a.oneShot,
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
		if auditPath, err = a.demoAuditPath(); err != nil {
			return fail(exitError, "find the demo audit log: %v", err)
		}
	}
	a.audit = audit.New(auditPath)
	opts.Audit = a.audit

	if a.flags.demo {
		if err := a.openDemo(); err != nil {
			return err
		}
		opts.Now = a.now
		opts.BootTime = a.demo.world.BootTime() // the demo's instances boot faster than EC2's
		a.buildDemo(opts)
		return nil
	}
	a.now = time.Now
	opts.Now = a.now
	// Several identities: without --env (and without --profile/--region, which ask for one
	// identity), every environment is read with its own; a promote from an environment
	// read with another identity or region reads both.
	switch {
	case a.flags.env == "" && a.flags.profile == "" && a.flags.region == "":
		if specs := cfg.memberSpecs(); specs != nil {
			if opts.Audit, err = a.shareAudit(ctx, a.audit, nil); err != nil {
				return err
			}
			a.buildMembers(ctx, specs, opts)
			return nil
		}
	case a.fromEnv != "" && a.fromEnv != a.flags.env && a.flags.profile == "" && a.flags.region == "":
		if specs := cfg.memberSpecs(a.flags.env, a.fromEnv); len(specs) > 1 {
			if opts.Audit, err = a.shareAudit(ctx, a.audit, nil); err != nil {
				return err
			}
			a.buildMembers(ctx, specs, opts)
			return nil
		}
	}
	lo := awsapi.LoadOptions{Profile: a.flags.profile, Region: a.flags.region, ReadOnly: a.readOnly, MFA: a.askMFA}
	if hasEnv {
		opts.Tags = cfg.envTags(a.flags.env)
		if lo.Profile == "" {
			lo.Profile, lo.RoleARN, lo.ExternalID, lo.SessionName = envCfg.Profile, envCfg.RoleARN, envCfg.ExternalID, envCfg.SessionName
		}
		if lo.Region == "" {
			switch rs := envCfg.regions(); {
			case len(rs) > 1:
				return fail(exitError, "%s is read in %d regions (%s): pass --region to act on one", a.flags.env, len(rs), strings.Join(rs, ", "))
			default:
				lo.Region = rs[0]
			}
		}
	}
	a.awsProfile = lo.Profile
	clients, read, err := awsapi.LoadClients(ctx, lo)
	if err != nil {
		return err
	}
	// The shared audit log is written with the identity of --profile/--region (or the audit
	// section's): the clients' own when no environment's identity replaced it.
	base := read.Config
	if lo.Profile != a.flags.profile || lo.RoleARN != "" || lo.Region != a.flags.region {
		base = nil
	}
	if opts.Audit, err = a.shareAudit(ctx, a.audit, base); err != nil {
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
	if ro := a.readOnlyEnvs(); len(ro) > 0 {
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

// openDemo loads the demo fleet from its state file (see demoStore), or seeds a new one.
// ADSTAGE_DEMO_SPEED makes simulated time run faster than the wall clock (tests use it to
// finish rollouts fast). --demo-reset starts afresh and clears the demo's audit log.
func (a *app) openDemo() error {
	speed := 1.0
	if s := os.Getenv("ADSTAGE_DEMO_SPEED"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 1e6 {
			return fail(exitError, "ADSTAGE_DEMO_SPEED must be a number above 0 and at most 1000000 (how many times faster than real time the demo runs), not %q", s)
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
	store, err := openDemoStore(path, a.flags.demoState != "", a.flags.demoReset, a.readOnly, clockFrom, a.stderr)
	if err != nil {
		return err
	}
	if a.flags.demoReset && !a.readOnly {
		if err := os.Remove(a.audit.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(exitError, "clear the demo audit log %s: %v", a.audit.Path(), err)
		}
	}
	a.demo, a.now = store, store.now
	return nil
}

// close saves the demo fleet (time has moved on) so that the next command continues from it.
func (a *app) close() {
	a.closeAudit()
	if a.demo == nil || a.readOnly {
		return
	}
	if err := a.demo.close(); err != nil {
		fmt.Fprintf(a.stderr, "adstage-ops: could not save the demo fleet: %v\n", err)
	}
}

// findService finds --service in --env in the fleet, or says what exists: an unknown service
// or environment is a usage error (exit 2) with the nearest names. A name that differs from
// one service's only in case is that service.
func findService(f *model.Fleet, name, env string) (*model.Service, error) {
	if s, ok := f.Service(name, env); ok {
		return s, nil
	}
	resolved, err := resolveService(f, name, env)
	if err != nil {
		return nil, err
	}
	if s, ok := f.Service(resolved, env); ok {
		return s, nil
	}
	return nil, fail(exitError, "service %s has no groups in %s", resolved, env)
}

// resolveService is the one rule for naming a service on the command line: the exact name,
// else the one service whose name matches ignoring case; otherwise a usage error naming the
// nearest names and every known one. env, when given, must be one the service runs in.
func resolveService(f *model.Fleet, name, env string) (string, error) {
	var names, folded []string
	envsOf := map[string][]string{}
	for _, s := range f.Services {
		if _, ok := envsOf[s.Name]; !ok && s.Name != model.Untagged {
			names = append(names, s.Name)
			if strings.EqualFold(s.Name, name) {
				folded = append(folded, s.Name)
			}
		}
		envsOf[s.Name] = append(envsOf[s.Name], s.Env)
	}
	resolved := ""
	switch {
	case slices.Contains(names, name) || name == model.Untagged && len(envsOf[name]) > 0:
		resolved = name
	case len(folded) == 1:
		resolved = folded[0]
	case len(folded) > 1:
		return "", fail(exitError, "service %q could be any of %s (names differ in case); give the exact name", name, wordList(folded))
	default:
		return "", fail(exitError, "unknown service %q%s; known services: %s (adstage-ops status lists them)", name, didYouMean(name, names), wordList(names))
	}
	if env == "" || slices.Contains(envsOf[resolved], env) {
		return resolved, nil
	}
	return "", fail(exitError, "service %s has no environment %q%s; it runs in %s", resolved, env, didYouMean(env, envsOf[resolved]), wordList(envsOf[resolved]))
}

// unknownEnv is the usage error for an environment no service runs in.
func unknownEnv(f *model.Fleet, env string) error {
	seen := map[string]bool{}
	var envs []string
	for _, s := range f.Services {
		if s.Env != "" && !seen[s.Env] {
			seen[s.Env] = true
			envs = append(envs, s.Env)
		}
	}
	return fail(exitError, "no service runs in environment %q%s; environments found: %s", env, didYouMean(env, envs), wordList(envs))
}

// wordList prints names for people: "api, auth and web", or "none".
func wordList(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// didYouMean is " (did you mean web?)" for the names nearest to a misspelt one
// (model.Nearest), or "".
func didYouMean(name string, names []string) string {
	best := model.Nearest(name, names)
	if best == nil {
		return ""
	}
	return " (did you mean " + strings.Join(best, " or ") + "?)"
}

// serviceName resolves a --service name against the whole fleet's listing (resolveService):
// the name to use, or the usage error. The listing is one call per page of groups, made only
// when the name as given found nothing.
func (a *app) serviceName(ctx context.Context, name, env string) (string, error) {
	if a.oneShot != nil {
		saved := *a.oneShot
		a.oneShot.Service, a.oneShot.Env, a.oneShot.ListOnly = "", "", true
		defer func() { *a.oneShot = saved }()
	}
	fleet, err := a.reader.Snapshot(ctx)
	if err != nil {
		return "", fmt.Errorf("list the groups: %w", err)
	}
	if name == "" {
		if env != "" {
			for _, s := range fleet.Services {
				if s.Env == env {
					return "", nil
				}
			}
			return "", unknownEnv(&fleet, env)
		}
		return "", nil
	}
	return resolveService(&fleet, name, env)
}

// demoAuditPath keeps the demo's audit log apart from the real one, beside the demo state
// (so --demo-state keeps its own log too).
func (a *app) demoAuditPath() (string, error) {
	state, err := a.demoStatePath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(state), "audit-demo.jsonl"), nil
}

// askMFA asks for an MFA device's code on the terminal, before the console takes it over.
func (a *app) askMFA(serial string) (string, error) {
	fmt.Fprintf(a.stderr, "MFA code for %s: ", model.SafeText(serial))
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	code := strings.TrimSpace(line)
	if code == "" {
		if err != nil {
			return "", fmt.Errorf("no MFA code given (%v)", err)
		}
		return "", fmt.Errorf("no MFA code given")
	}
	return code, nil
}
