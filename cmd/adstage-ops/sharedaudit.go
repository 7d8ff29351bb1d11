package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// AuditConfig names the shared audit log: a CloudWatch Logs group every operator's events go
// to (besides each machine's local log), read by the audit view and `audit`. Profile and
// region default to --profile/--region, else the standard chain.
type AuditConfig struct {
	LogGroup string `yaml:"log_group"`
	Profile  string `yaml:"profile"`
	Region   string `yaml:"region"`
}

// logGroupRE is what CreateLogGroup accepts as a name: 1-512 characters of a-z, A-Z, 0-9,
// '_', '-', '/', '.' and '#' (CloudWatch Logs API Reference).
var logGroupRE = regexp.MustCompile(`^[\w\-/.#]{1,512}$`)

// auditStream is this machine's and user's log stream in the shared group. Stream names may
// not contain ':' or '*' (CloudWatch Logs API Reference, CreateLogStream).
func auditStream() string {
	host, _ := os.Hostname()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	clean := strings.NewReplacer(":", "_", "*", "_", "\n", "_", " ", "_")
	return "adstage-ops/" + clean.Replace(host) + "/" + clean.Replace(who)
}

// shareAudit makes the audit sink the shared log when the config names a group: from the
// clients' configuration base when the audit section names no profile or region of its own
// (so an MFA profile is not asked twice), else from its own. Read-only mode only reads it.
func (a *app) shareAudit(ctx context.Context, local *audit.Log, base *aws.Config) (audit.Sink, error) {
	ac := a.cfg.Audit
	if ac.LogGroup == "" || a.flags.demo {
		return local, nil
	}
	sh := &audit.Shared{Local: local, Group: ac.LogGroup, Stream: auditStream()}
	cfg := base
	if cfg == nil || ac.Profile != "" || ac.Region != "" {
		lo := awsapi.LoadOptions{Profile: ac.Profile, Region: ac.Region, ReadOnly: a.readOnly, MFA: a.askMFA}
		if lo.Profile == "" {
			lo.Profile = a.flags.profile
		}
		if lo.Region == "" {
			lo.Region = a.flags.region
		}
		c, err := awsapi.LoadConfig(ctx, lo)
		if err != nil {
			return nil, fail(exitError, "the shared audit log (audit.log_group %s in the config): %v", ac.LogGroup, awsapi.Explain(err))
		}
		cfg = &c
	}
	sh.Reader, sh.Writer = awsapi.AuditLogClients(*cfg, a.readOnly)
	a.shared = sh
	return sh, nil
}

// auditSink is where this process's events go: the shared log when configured.
func (a *app) auditSink() audit.Sink {
	if a.shared != nil {
		return a.shared
	}
	return a.audit
}

// readAudit reads the audit log the console and `audit` show: the shared one when configured.
func (a *app) readAudit() ([]model.AuditEvent, error) {
	if a.shared != nil {
		return a.shared.Read()
	}
	return a.audit.Read()
}

// consoleAudit is readAudit for the audit view, which also says what is not sent yet.
func (a *app) consoleAudit() ([]model.AuditEvent, error) {
	events, err := a.readAudit()
	if a.shared != nil {
		if s := a.shared.SendState(); s != "" {
			err = errors.Join(err, errors.New(s))
		}
	}
	return events, err
}

// closeAudit sends, for a few seconds at most, what the shared log has not sent yet when this
// run appended an event; what is left is named and sent by the next action. A run that
// appended nothing neither waits on the group nor warns.
func (a *app) closeAudit() {
	if a.shared == nil || a.shared.Writer == nil || !a.shared.Appended() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.shared.Close(ctx)
	if s := a.shared.SendState(); s != "" {
		fmt.Fprintf(a.stderr, "adstage-ops: warning: %s\n", model.SafeText(s))
	}
}
