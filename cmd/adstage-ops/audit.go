package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/model"
)

func (a *app) auditCommand() *cobra.Command {
	var service string
	var asJSON, send bool
	cmd := &cobra.Command{
		Use:   "audit [--service S --env E]",
		Short: "Print the local audit log; with --service and --env also the service's release history, rollouts and scaling activities (the console's audit view)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := audit.DefaultPath()
			if a.flags.demo {
				path, err = a.demoAuditPath()
			}
			if err != nil {
				return fail(exitError, "find the audit log: %v", err)
			}
			a.audit = audit.New(path)
			title := "Actions taken with adstage-ops (local audit log)"
			if !a.flags.demo {
				cpath, explicit := a.flags.config, a.flags.config != ""
				if !explicit {
					cpath = defaultConfigPath()
				}
				if a.cfg, err = loadConfig(cpath, explicit); err != nil {
					return fail(exitError, "%v", err)
				}
				a.readOnly = a.flags.readOnly || !send // reading the log changes nothing
				if _, err := a.shareAudit(cmd.Context(), a.audit, nil); err != nil {
					if send {
						return err
					}
					// The local log can still be read: the shared one's trouble is named.
					fmt.Fprintf(a.stderr, "adstage-ops: warning: %v; showing this machine's actions only\n", err)
				}
			}
			if send && a.shared == nil {
				return fail(exitError, "audit --send: the config names no shared audit log (audit.log_group)")
			}
			if a.shared != nil {
				title = fmt.Sprintf("Actions taken with adstage-ops (shared audit log: CloudWatch Logs group %s, and this machine's)", a.cfg.Audit.LogGroup)
				if send {
					if err := a.shared.Flush(cmd.Context()); err != nil {
						return fail(exitError, "%v; the events stay in the local log %s", err, path)
					}
				}
			}
			events, err := a.readAudit()
			var damaged *audit.Damaged
			var remote *audit.RemoteError
			if errors.As(err, &damaged) || errors.As(err, &remote) {
				// The readable events are listed; the damage, or the group that could not be
				// read, is named, not hidden.
				if damaged != nil {
					fmt.Fprintf(a.stderr, "adstage-ops: warning: %v\n", model.SafeText(damaged.Error()))
				}
				if remote != nil {
					fmt.Fprintf(a.stderr, "adstage-ops: warning: %v\n", model.SafeText(remote.Error()))
				}
			} else if err != nil {
				return fail(exitError, "read the audit log %s: %v", path, err)
			}
			var history *model.History
			if service != "" {
				if a.flags.env == "" {
					return fail(exitError, "audit --service needs --env too")
				}
				h, err := a.history(cmd.Context(), service, "audit")
				if err != nil {
					return err
				}
				history, service = &h, h.Name // the name as AWS has it (resolved)
			}
			events = filterAudit(events, service, a.flags.env)
			if events == nil {
				events = []model.AuditEvent{}
			}
			if asJSON {
				out := auditOut{SchemaVersion: schemaVersion, Actions: events}
				if history != nil {
					h := historyJSON(*history)
					h.SchemaVersion = 0 // nested: the audit output carries the version
					out.History = &h
				}
				return writeJSON(a.stdout, out)
			}
			fmt.Fprintln(a.stdout, title)
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tSERVICE\tENV\tFROM\tTO\tRESULT\tWHY")
			for _, e := range events {
				result := e.Result
				if e.Error != "" {
					result += ": " + e.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", fmtTime(e.Time), e.Who, e.Action, orDash(e.Service), orDash(e.Env), orDash(e.From), orDash(e.To), result, orDash(e.Reason))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if history != nil {
				fmt.Fprintln(a.stdout)
				printHistory(a.stdout, *history)
			}
			if a.shared != nil && a.shared.Writer == nil {
				if st := a.shared.SendState(); st != "" {
					fmt.Fprintf(a.stderr, "adstage-ops: warning: %s\n", model.SafeText(st))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "also print this service's history (needs --env)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&send, "send", false, "first send this machine's events the shared audit log (audit.log_group) does not have yet")
	return cmd
}

func filterAudit(events []model.AuditEvent, service, env string) []model.AuditEvent {
	var out []model.AuditEvent
	for _, e := range events {
		if (env == "" || e.Env == env || e.Env == "") && (service == "" || e.Service == service) {
			out = append(out, e)
		}
	}
	return out
}
