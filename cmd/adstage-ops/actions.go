package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// actionFlags are shared by bake, promote, rollback and cancel.
type actionFlags struct {
	yes, wait, asJSON bool
	reason            string
}

func (f *actionFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.yes, "yes", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "follow progress until the action has finished")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the plan and progress as JSON lines")
	cmd.Flags().StringVar(&f.reason, "reason", "", "why: written to the audit log and the release note")
}

func (a *app) bakeCommand() *cobra.Command {
	var af actionFlags
	var req ops.BakeRequest
	cmd := &cobra.Command{
		Use:   "bake --instance ID --label L",
		Short: "Make an AMI from an instance (reboots it for a consistent disk unless --no-reboot)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Reason = af.reason
			return a.act(cmd.Context(), "bake", model.ServiceKey{}, af, func(ctx context.Context, _ string) (model.Plan, error) {
				return a.op.PlanBake(ctx, req)
			})
		},
	}
	cmd.Flags().StringVar(&req.InstanceID, "instance", "", "instance to bake from")
	cmd.Flags().StringVar(&req.Label, "label", "", "label for the image, e.g. a git SHA")
	cmd.Flags().BoolVar(&req.NoReboot, "no-reboot", false, "do not reboot the instance (the disk may be inconsistent)")
	cmd.MarkFlagsRequiredTogether("instance", "label")
	_ = cmd.MarkFlagRequired("instance")
	af.add(cmd)
	return cmd
}

func (a *app) promoteCommand() *cobra.Command {
	var af actionFlags
	var req ops.PromoteRequest
	cmd := &cobra.Command{
		Use:   "promote --service S --env E [--image AMI | --from-env ENV]",
		Short: "Roll an AMI out to a service's groups in one environment with zero downtime",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.flags.env == "" {
				return fail(exitError, "promote needs --env (the environment to roll out to)")
			}
			req.Env, req.Reason = a.flags.env, af.reason
			a.fromEnv = req.FromEnv
			if req.AllowBadImage && strings.TrimSpace(req.Reason) == "" {
				return fail(exitError, "--allow-bad-image needs --reason: say why an image that was rolled back or marked bad may go out (every operator sees it)")
			}
			return a.act(cmd.Context(), "promote", model.ServiceKey{Name: req.Service, Env: req.Env}, af, func(ctx context.Context, service string) (model.Plan, error) {
				req.Service = service
				return a.op.PlanPromote(ctx, req)
			})
		},
	}
	cmd.Flags().StringVar(&req.Service, "service", "", "service name")
	a.healthyFlags(cmd)
	cmd.Flags().StringVar(&req.ImageID, "image", "", "AMI to roll out (default: the newest baked image the environment does not run)")
	cmd.Flags().StringVar(&req.FromEnv, "from-env", "", "roll out the image this environment runs (e.g. staging)")
	_ = cmd.MarkFlagRequired("service")
	cmd.Flags().BoolVar(&req.AllowBadImage, "allow-bad-image", false, "promote an image that was rolled back or marked bad (needs --reason)")
	cmd.MarkFlagsMutuallyExclusive("image", "from-env")
	cmd.Flags().BoolVar(&req.CopyImage, "copy-image", false, "with --from-env in another account: copy the image into this account instead of sharing it (another region always copies)")
	af.add(cmd)
	return cmd
}

func (a *app) markCommand() *cobra.Command {
	var af actionFlags
	var req ops.MarkRequest
	cmd := &cobra.Command{
		Use:   "mark --service S --env E --version N bad|good --reason R",
		Short: "Mark a release's image bad (no rollback returns to it, promote refuses it) or good again",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != string(model.MarkBad) && args[0] != string(model.MarkGood)) {
				return fmt.Errorf("say whether the release is bad or good: adstage-ops mark --service S --env E --version N bad --reason \"why\"")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.flags.env == "" {
				return fail(exitError, "mark needs --env (the environment whose release you mark)")
			}
			req.Env, req.Reason, req.Kind = a.flags.env, af.reason, model.MarkKind(args[0])
			if req.Version <= 0 {
				return fail(exitError, "--version must be a launch template version number (see `adstage-ops history --service %s --env %s`)", req.Service, req.Env)
			}
			if req.Kind == model.MarkBad && strings.TrimSpace(req.Reason) == "" {
				return fail(exitError, "marking a release bad needs --reason: every operator sees it")
			}
			return a.act(cmd.Context(), "mark", model.ServiceKey{Name: req.Service, Env: req.Env}, af, func(ctx context.Context, service string) (model.Plan, error) {
				req.Service = service
				return a.op.PlanMark(ctx, req)
			})
		},
	}
	cmd.Flags().StringVar(&req.Service, "service", "", "service name")
	cmd.Flags().Int64Var(&req.Version, "version", 0, "launch template version whose image to mark")
	_ = cmd.MarkFlagRequired("service")
	_ = cmd.MarkFlagRequired("version")
	af.add(cmd)
	return cmd
}

func (a *app) rollbackCommand() *cobra.Command {
	var af actionFlags
	var req ops.RollbackRequest
	cmd := &cobra.Command{
		Use:   "rollback --service S --env E",
		Short: "Return a service to its last known-good release (or roll back the running rollout)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.flags.env == "" {
				return fail(exitError, "rollback needs --env (the environment to roll back)")
			}
			req.Env, req.Reason = a.flags.env, af.reason
			return a.act(cmd.Context(), "rollback", model.ServiceKey{Name: req.Service, Env: req.Env}, af, func(ctx context.Context, service string) (model.Plan, error) {
				req.Service = service
				return a.op.PlanRollback(ctx, req)
			})
		},
	}
	cmd.Flags().StringVar(&req.Service, "service", "", "service name")
	a.healthyFlags(cmd)
	cmd.Flags().StringVar(&req.ToVersion, "to-version", "", "launch template version to return to (default: the previous release)")
	_ = cmd.MarkFlagRequired("service")
	af.add(cmd)
	return cmd
}

func (a *app) cancelCommand() *cobra.Command {
	var af actionFlags
	var req ops.CancelRequest
	cmd := &cobra.Command{
		Use:   "cancel --service S --env E",
		Short: "Stop a service's running rollout where it is (replaced instances keep the new release, the rest the old; nothing is rolled back)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.flags.env == "" {
				return fail(exitError, "cancel needs --env (the environment whose rollout to stop)")
			}
			req.Env, req.Reason = a.flags.env, af.reason
			return a.act(cmd.Context(), "cancel", model.ServiceKey{Name: req.Service, Env: req.Env}, af, func(ctx context.Context, service string) (model.Plan, error) {
				req.Service = service
				return a.op.PlanCancel(ctx, req)
			})
		},
	}
	cmd.Flags().StringVar(&req.Service, "service", "", "service name")
	_ = cmd.MarkFlagRequired("service")
	af.add(cmd)
	return cmd
}

// healthyFlags override the config's rollout percentages for one promote or rollback; open
// checks them against AWS's rules before anything is read.
func (a *app) healthyFlags(cmd *cobra.Command) {
	a.flags.minHealthy, a.flags.maxHealthy = -1, -1
	cmd.Flags().Int32Var(&a.flags.minHealthy, "min-healthy-percentage", -1, "instances kept healthy during the rollout, % of desired (0-100; default from the config, else 100)")
	cmd.Flags().Int32Var(&a.flags.maxHealthy, "max-healthy-percentage", -1, "instances allowed during the rollout, % of desired (100-200, at most min+100; default from the config, else 200)")
}

// act plans, shows the plan, asks, executes and follows: the same steps as the console. key is
// the service and environment acted on (empty for bake).
func (a *app) act(ctx context.Context, what string, key model.ServiceKey, af actionFlags, plan func(ctx context.Context, service string) (model.Plan, error)) error {
	if err := a.open(ctx, true, what); err != nil {
		return err
	}
	p, err := plan(ctx, key.Name)
	if err != nil && key.Name != "" && !errors.Is(err, awsapi.ErrReadOnly) && !errors.As(err, new(*smithy.OperationError)) {
		// An unknown service or environment: name what exists; a name in another case is
		// that service.
		name, nerr := a.serviceName(ctx, key.Name, key.Env)
		if nerr != nil {
			return nerr
		}
		if name != key.Name {
			p, err = plan(ctx, name)
		}
	}
	if err != nil {
		var opErr *smithy.OperationError
		switch {
		case errors.Is(err, awsapi.ErrReadOnly):
			return fail(exitReadOnly, "%s", awsapi.Explain(err))
		case errors.As(err, &opErr):
			// AWS could not be read (credentials, access, throttling, network): an error, not
			// a refused precondition.
			return fail(exitError, "%s", awsapi.Explain(err))
		}
		return fail(exitRefused, "%s", awsapi.Explain(err))
	}
	p.Signals = a.planSignals(ctx, p)
	if a.flags.demo && p.CLI != "" {
		// The twin does the same unattended: on the demo fleet too (the console does likewise).
		p.CLI += " --demo"
	}
	if af.asJSON {
		if err := writeJSON(a.stdout, planJSON(p)); err != nil {
			return err
		}
	} else {
		printPlan(a.stdout, p)
	}
	if p.Blocked() {
		return fail(exitRefused, "%s refused: %s", what, p.FailureText())
	}
	if !af.yes {
		if err := a.confirm(p); err != nil {
			a.op.Cancelled(p)
			return err
		}
	}
	runCtx, cancelCause := context.WithCancelCause(ctx)
	cancel := func() { cancelCause(errStartedNoWait) }
	defer cancel()
	events, err := a.op.Execute(runCtx, p)
	switch {
	case err == nil:
	case errors.Is(err, awsapi.ErrReadOnly):
		return fail(exitReadOnly, "%s", awsapi.Explain(err))
	case ops.IsRefusal(err):
		return fail(exitRefused, "%s refused, nothing was changed: %s", what, awsapi.Explain(err))
	case awsapi.IsOutcomeUnknown(err):
		return fail(exitUnknown, "%s: %s", what, awsapi.Explain(err))
	default:
		return fail(exitFailed, "%s failed: %s", what, awsapi.Explain(err))
	}
	return a.follow(runCtx, cancel, what, p, events, af)
}

// follow prints progress. Without --wait it stops once AWS has the action (the rollout goes
// on server-side); with --wait it follows to the end.
func (a *app) follow(ctx context.Context, cancel context.CancelFunc, what string, p model.Plan, events <-chan model.Progress, af actionFlags) error {
	var last model.Progress
	var failed error
	started := a.now()
	shown := started
	for ev := range events {
		last = ev
		if af.asJSON {
			writeJSON(a.stdout, progressJSON(ev))
		} else {
			printProgress(a.stdout, ev)
			// While following a rollout, the service's signals once a minute.
			if af.wait && p.Signals != nil && a.now().Sub(shown) >= time.Minute && !ev.Done {
				shown = a.now()
				if sig := a.planSignals(ctx, p); sig != nil {
					fmt.Fprintf(a.stdout, "%s  %-24s       %s\n", shown.UTC().Format("15:04:05"), "signals", sig.Summary())
				}
			}
		}
		if ev.Err != nil {
			failed = ev.Err
		}
		if !af.wait && ev.Stage == "started" {
			cancel()
		}
	}
	if failed != nil && awsapi.IsOutcomeUnknown(failed) {
		return fail(exitUnknown, "%s of %s: %s", what, p.Target(), awsapi.Explain(failed))
	}
	if failed != nil {
		return fail(exitFailed, "%s of %s failed: %s", what, p.Target(), awsapi.Explain(failed))
	}
	running := fmt.Sprintf("%s of %s is running in AWS; follow it with: adstage-ops status --service %s --env %s", what, p.Target(), p.Service, p.Env)
	switch {
	case last.Done:
		if !af.asJSON {
			fmt.Fprintf(a.stdout, "%s of %s finished\n", what, p.Target())
			if line := a.beforeAfter(ctx, p, started); line != "" {
				fmt.Fprintln(a.stdout, line)
			}
		}
		return nil
	case af.wait && ctx.Err() != nil && !stoppedByUs(ctx):
		// Interrupted while following: the action goes on, and a cancelled CI job must not pass.
		if !af.asJSON {
			fmt.Fprintln(a.stdout, running)
		}
		return fail(interruptedCode(ctx), "stopped following %s of %s (%v); it goes on in AWS", what, p.Target(), context.Cause(ctx))
	}
	if !af.asJSON {
		fmt.Fprintln(a.stdout, running)
	}
	return nil
}

// stoppedByUs tells our own cancel (after "started", without --wait) from an interrupt.
func stoppedByUs(ctx context.Context) bool {
	return context.Cause(ctx) == errStartedNoWait
}

var errStartedNoWait = errors.New("started; not waiting")

// progressOut is each JSON line after the plan: one event of the action's progress.
type progressOut struct {
	SchemaVersion int       `json:"schema_version"`
	Type          string    `json:"type"` // "progress"
	Time          time.Time `json:"time"`
	Group         string    `json:"group,omitempty"`
	Stage         string    `json:"stage"`
	Percent       int       `json:"percent"`
	Message       string    `json:"message,omitempty"`
	Done          bool      `json:"done,omitempty"`
	Error         string    `json:"error,omitempty"`
}

func progressJSON(ev model.Progress) progressOut {
	out := progressOut{SchemaVersion: schemaVersion, Type: "progress", Time: ev.Time, Group: ev.Group, Stage: ev.Stage, Percent: ev.Percent, Message: ev.Message, Done: ev.Done}
	if ev.Err != nil {
		out.Error = awsapi.Explain(ev.Err)
	}
	return out
}

func printProgress(w io.Writer, ev model.Progress) {
	where := ev.Group
	if where == "" {
		where = ev.Stage
	}
	line := fmt.Sprintf("%s  %-24s %3d%%  %s", ev.Time.UTC().Format("15:04:05"), where, ev.Percent, ev.Message)
	if ev.Err != nil {
		line += "  error: " + awsapi.Explain(ev.Err)
	}
	fmt.Fprintln(w, strings.TrimRight(line, " "))
}

// planSignals reads the service's CloudWatch signals for a promote, rollback or cancel plan;
// nil for other plans or when the service cannot be listed (the plan goes on without them).
func (a *app) planSignals(ctx context.Context, p model.Plan) *model.Signals {
	switch p.Action {
	case model.ActionPromote, model.ActionRollback, model.ActionCancel:
	default:
		return nil
	}
	fleet, err := a.reader.Snapshot(ctx)
	if err != nil {
		return nil
	}
	svc, ok := fleet.Service(p.Service, p.Env)
	if !ok {
		return nil
	}
	all, err := a.reader.Signals(ctx, []model.Service{*svc})
	if err != nil {
		return nil
	}
	sig := all[svc.ServiceKey]
	return &sig
}

// beforeAfter is the line a followed promote or rollback ends with: "5xx 4.1% → 0.2% in 6
// min": the rate of the last three minutes when planned against the newest minute's now.
func (a *app) beforeAfter(ctx context.Context, p model.Plan, started time.Time) string {
	if p.Signals == nil || (p.Action != model.ActionPromote && p.Action != model.ActionRollback) {
		return ""
	}
	now := a.planSignals(ctx, p)
	if now == nil {
		return ""
	}
	before, bok := p.Signals.CurrentErrorRate()
	after, aok := now.LatestErrorRate()
	line := model.BeforeAfter(before, after, bok, aok, a.now().Sub(started))
	if names := now.AlarmNames(); len(names) > 0 {
		line += "; still in alarm: " + strings.Join(names, ", ")
	}
	return line
}

// printPlan shows what the action will do: the same plan the console's dialog shows.
func printPlan(w io.Writer, p model.Plan) {
	title := strings.ToUpper(string(p.Action))
	if p.Action == model.ActionBake && p.Bake != nil {
		fmt.Fprintf(w, "%s instance %s -> image %s\n", title, p.Bake.InstanceID, p.Bake.Name)
		reboot := "reboot the instance for a consistent disk"
		if p.Bake.NoReboot {
			reboot = "no reboot (the disk may be inconsistent)"
		}
		fmt.Fprintf(w, "  label %s; %s\n", p.Bake.Label, reboot)
	} else {
		prod := ""
		if p.Production {
			prod = "  [PRODUCTION]"
		}
		fmt.Fprintf(w, "%s %s in %s%s\n", title, p.Service, p.Env, prod)
	}
	if m := p.Mark; m != nil {
		fmt.Fprintf(w, "  version %d: %s\n", m.Version, strings.Join(m.Images, ", "))
		fmt.Fprintf(w, "  mark: %s\n", m.Mark)
	}
	for _, s := range p.Steps {
		fmt.Fprintf(w, "  group %s (%d instances, desired %d)\n", s.Group, s.Instances, s.Desired)
		if p.Action == model.ActionCancel {
			fmt.Fprintf(w, "    stop the running rollout %s (%s, %d%% done) where it is\n", s.RefreshID, s.RefreshStatus, s.RefreshPercent)
			fmt.Fprintf(w, "    %d instances stay on the new release %s\n", s.OnTo, imageLine(s.ToImage))
			fmt.Fprintf(w, "    %d instances stay on the old release %s\n", s.OnFrom, imageLine(s.FromImage))
			continue
		}
		fmt.Fprintf(w, "    from %s\n", imageLine(s.FromImage))
		if s.RefreshID != "" {
			fmt.Fprintf(w, "    roll back the running rollout %s\n", s.RefreshID)
		} else {
			fmt.Fprintf(w, "    to   %s\n", imageLine(s.ToImage))
		}
	}
	if p.Strategy != "" {
		fmt.Fprintf(w, "  strategy: %s\n", p.Strategy)
	}
	if p.Capacity != "" {
		fmt.Fprintf(w, "  capacity: %s\n", p.Capacity)
	}
	if p.RestoreEstimate > 0 {
		fmt.Fprintf(w, "  expected duration: about %s\n", p.RestoreEstimate.Round(time.Second))
	}
	for _, c := range p.Checks {
		mark := "ok  "
		switch {
		case !c.OK && c.Warn:
			mark = "WARN"
		case !c.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  [%s] %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(w, ": %s", c.Detail)
		}
		fmt.Fprintln(w)
	}
	if sig := p.Signals; sig != nil {
		fmt.Fprintf(w, "  signals now: %s\n", sig.Summary())
		for _, warn := range sig.Warnings {
			fmt.Fprintf(w, "  signals warning: %s\n", warn)
		}
	}
	if p.CLI != "" {
		fmt.Fprintf(w, "  same from a script: %s\n", p.CLI)
	}
}

func imageLine(r model.ImageRef) string {
	s := orDash(r.ImageID)
	if r.Label != "" {
		s += " (" + r.Label + ")"
	}
	if !r.ReleasedAt.IsZero() {
		s += " released " + fmtTime(r.ReleasedAt)
	}
	if r.ReleasedBy != "" {
		s += " by " + r.ReleasedBy
	}
	return s
}

// confirm asks on a terminal; production makes the operator type the service name.
func (a *app) confirm(p model.Plan) error {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return fail(exitRefused, "not confirmed: stdin is not a terminal; pass --yes to run %s without asking", p.Action)
	}
	in := bufio.NewReader(a.stdin)
	if p.Production {
		fmt.Fprintf(a.stdout, "This is production. Type the service name (%s) to confirm: ", p.Service)
		line, _ := in.ReadString('\n')
		if strings.TrimSpace(line) != p.Service {
			return fail(exitRefused, "not confirmed: the name did not match; nothing was changed")
		}
		return nil
	}
	fmt.Fprint(a.stdout, "Proceed? [y/N] ")
	line, _ := in.ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fail(exitRefused, "not confirmed; nothing was changed")
}
