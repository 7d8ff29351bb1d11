// Command adstage-ops is a terminal operations console for services that run as one AMI per
// release in autoscaling groups behind load balancers. Without a subcommand it opens the live
// console; the subcommands run the same actions for scripts and CI jobs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// version is stamped by the release build (-X main.version=...).
var version = "dev"

// Exit codes, documented in the README.
const (
	exitOK       = 0
	exitDegraded = 1 // status: some service is degraded
	exitError    = 2 // usage or any other error
	exitReadOnly = 3 // a mutating command in read-only mode
	exitRefused  = 4 // a precondition failed, or the operator declined
	exitFailed   = 5 // the action started and failed
	// exitUnknown: the action's outcome is unknown (an answer from AWS was lost, or following
	// it failed): AWS may have carried it out; the message says what to check.
	exitUnknown = 7
	// exitNoServices: status found no tagged service at all (wrong region, account or tag
	// keys, most likely): no evidence of health.
	exitNoServices = 6
	// exitInterrupted: interrupted while following an action with --wait; the action goes on
	// in AWS.
	exitInterrupted = 130
)

// signalCause is why the command's context ended: a signal. SIGTERM (a CI runner cancelling
// the job) and SIGHUP (the terminal closed) stop following like SIGINT does; the exit code is
// 128 + the signal's number (130, 143, 129), as shells report it.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "interrupted by " + s.sig.String() }

// signalContext ends on SIGINT, SIGTERM or SIGHUP, with the signal as its cause.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case sig := <-ch:
			cancel(signalCause{sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
	}
}

// interruptedCode is the exit code of a command whose following a signal stopped.
func interruptedCode(ctx context.Context) int {
	var sc signalCause
	if errors.As(context.Cause(ctx), &sc) {
		if n, ok := sc.sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
	}
	return exitInterrupted
}

// codeError carries an exit code and the one sentence printed for it.
type codeError struct {
	code int
	msg  string
}

func (e *codeError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &codeError{code: code, msg: safeLines(fmt.Sprintf(format, args...))}
}

// safeLines makes each line of a message terminal-safe (model.SafeText), keeping its line
// breaks: messages quote config files and AWS answers, which are data.
func safeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = model.SafeText(l)
	}
	return strings.Join(lines, "\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signalContext()
	defer stop()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.close()
	if err == nil {
		return a.exit
	}
	var ce *codeError
	if errors.As(err, &ce) {
		fmt.Fprintln(stderr, "adstage-ops:", ce.msg)
		return ce.code
	}
	if errors.Is(err, awsapi.ErrReadOnly) {
		fmt.Fprintln(stderr, "adstage-ops:", awsapi.Explain(err))
		return exitReadOnly
	}
	msg := awsapi.Explain(err)
	// The root takes no arguments, so cobra does not suggest for a misspelt command itself.
	var cmdName string
	if _, serr := fmt.Sscanf(err.Error(), "unknown command %q", &cmdName); serr == nil {
		root.SuggestionsMinimumDistance = 2
		if s := root.SuggestionsFor(cmdName); len(s) > 0 {
			msg = strings.TrimSuffix(msg, ".") + " (did you mean " + strings.Join(s, " or ") + "?)"
		}
	}
	fmt.Fprintln(stderr, "adstage-ops:", msg)
	return exitError
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "adstage-ops",
		Short: "Operations console for AMI-per-release services on AWS autoscaling groups",
		Long: `adstage-ops shows every service, its autoscaling groups, every instance's lifecycle and
load-balancer health and draining targets, live; and bakes, promotes and rolls back releases.

Run it without a subcommand for the console; --demo runs it on a built-in simulated fleet.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          a.runConsole,
	}
	f := root.PersistentFlags()
	f.BoolVar(&a.flags.demo, "demo", false, "use the built-in simulated fleet instead of AWS")
	ro := (*stickyTrue)(&a.flags.readOnly)
	f.Var(ro, "read-only", "audit mode: nothing can be changed (nothing later on the command line lifts it)")
	f.Lookup("read-only").NoOptDefVal = "true"
	f.Var(ro, "audit", "alias of --read-only")
	f.Lookup("audit").NoOptDefVal = "true"
	f.StringVar(&a.flags.profile, "profile", "", "AWS profile (default: the standard chain, AWS_PROFILE)")
	f.StringVar(&a.flags.region, "region", "", "AWS region (default: the profile's or AWS_REGION)")
	f.StringVar(&a.flags.env, "env", "", "environment to show and act on (picks its profile and region from the config)")
	f.DurationVar(&a.flags.refresh, "refresh", 0, "live refresh interval (default 5s, or the config's)")
	f.StringVar(&a.flags.config, "config", "", "config file (default "+defaultConfigPath()+")")
	f.StringVar(&a.flags.demoState, "demo-state", "", "file that keeps the demo fleet between runs (default in the state directory)")
	f.BoolVar(&a.flags.demoReset, "demo-reset", false, "start the demo fleet afresh")
	root.AddCommand(
		a.statusCommand(),
		a.bakeCommand(),
		a.promoteCommand(),
		a.rollbackCommand(),
		a.cancelCommand(),
		a.markCommand(),
		a.historyCommand(),
		a.signalsCommand(),
		a.auditCommand(),
		a.iamPolicyCommand(),
	)
	return root
}

// stickyTrue is a boolean flag that, once true, stays true: `--read-only --audit=false` (or
// `--read-only=false` after `--read-only`) is still read-only. Nothing later on the command
// line may lift read-only mode.
type stickyTrue bool

func (b *stickyTrue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *stickyTrue) Type() string     { return "bool" }
func (b *stickyTrue) IsBoolFlag() bool { return true }

func (b *stickyTrue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*b = *b || stickyTrue(v)
	return nil
}
