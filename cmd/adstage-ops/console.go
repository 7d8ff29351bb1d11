package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/model"
	"github.com/adstage/adstage-ops/tui"
)

// runConsole opens the live console.
func (a *app) runConsole(cmd *cobra.Command, _ []string) error {
	a.console = true
	if err := a.open(cmd.Context(), false, "open the console"); err != nil {
		return err
	}
	cfg := tui.Config{
		Reader:     a.reader,
		Now:        a.now,
		Refresh:    a.refresh(),
		ReadOnly:   a.readOnly,
		Env:        a.flags.env,
		EnvColors:  a.cfg.envColors(),
		Production: a.cfg.production,
		AuditLog:   a.consoleAudit,
		Version:    version,
		Demo:       a.flags.demo,
		Theme:      a.cfg.Theme,
		// NO_COLOR (https://no-color.org): set to anything but empty, no colour.
		NoColor: os.Getenv("NO_COLOR") != "",
	}
	if a.op != nil {
		cfg.Operator = a.op
		cfg.Shell = a.shell
	}
	return tui.Run(cfg)
}

// shell prepares `aws ssm start-session --target ID` with the console's profile and region
// (over several identities, those of the member whose last read holds the instance: the
// account and region of its row), for the console's `s` on an instance: the AWS CLI and its Session Manager plugin must be
// installed (their absence is named with what to install). Opening the shell is written to
// the audit log (started, then how it ended): a shell can change the machine.
func (a *app) shell(instanceID string, key model.ServiceKey) (*exec.Cmd, func(error), error) {
	if a.flags.demo {
		return nil, nil, fmt.Errorf("the demo's instances are simulated, so there is no machine to log into; against AWS, s runs aws ssm start-session --target %s", instanceID)
	}
	cli, err := exec.LookPath("aws")
	if err != nil {
		return nil, nil, fmt.Errorf("the AWS CLI is not installed (no aws on PATH): install it (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), then press s again")
	}
	if _, err := exec.LookPath("session-manager-plugin"); err != nil {
		return nil, nil, fmt.Errorf("the Session Manager plugin for the AWS CLI is not installed (no session-manager-plugin on PATH): install it (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html), then press s again")
	}
	args := []string{"ssm", "start-session", "--target", instanceID}
	id, err := a.reader.Identity(context.Background())
	region, profile := id.Region, a.awsProfile
	if err != nil || region == "" {
		region = a.flags.region
	}
	if a.members != nil {
		o, name, ok := a.members.Locate(instanceID)
		if !ok {
			return nil, nil, fmt.Errorf("%s is in none of the environments the console has read: wait for the next refresh, then press s again", instanceID)
		}
		mid := a.memberIDs[name]
		if mid.RoleARN != "" {
			return nil, nil, fmt.Errorf("%s reads %s's account with role %s, which the AWS CLI takes only from a profile: add a profile with role_arn and source_profile to ~/.aws/config, name it as the environment's profile, then press s again", name, instanceID, mid.RoleARN)
		}
		region, profile = o.Region, mid.Profile
		id.ARN = o.Identity
	}
	if region != "" {
		args = append(args, "--region", region)
	}
	if profile != "" {
		args = append(args, "--profile", profile)
	}
	cmd := exec.Command(cli, args...)
	ev := model.AuditEvent{Time: a.now().UTC(), Who: id.ARN, Action: model.ActionShell, Service: key.Name, Env: key.Env, Region: key.Region, To: instanceID, Result: "started", Via: "tui"}
	if err := a.auditSink().Append(ev); err != nil {
		return nil, nil, fmt.Errorf("the audit log cannot be written, so no shell is opened: %v", err)
	}
	done := func(err error) {
		end := ev
		t := a.now().UTC()
		end.Finished, end.Result = &t, "succeeded"
		if err != nil {
			end.Result, end.Error = "failed", err.Error()
		}
		_ = a.auditSink().Append(end)
	}
	return cmd, done, nil
}
