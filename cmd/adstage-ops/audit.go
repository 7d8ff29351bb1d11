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
	var asJSON bool
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
			events, err := audit.New(path).Read()
			var damaged *audit.Damaged
			switch {
			case errors.As(err, &damaged):
				// The readable events are listed; the damage is named, not hidden.
				fmt.Fprintf(a.stderr, "adstage-ops: warning: %v\n", err)
			case err != nil:
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
			fmt.Fprintln(a.stdout, "Actions taken with adstage-ops (local audit log)")
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
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "also print this service's history (needs --env)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
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
