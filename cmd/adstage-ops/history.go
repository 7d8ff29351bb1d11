package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/model"
)

func (a *app) historyCommand() *cobra.Command {
	var service string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history --service S --env E",
		Short: "Print a service's releases (launch template versions), rollouts and scaling activities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.flags.env == "" {
				return fail(exitError, "history needs --env (the environment of the service)")
			}
			h, err := a.history(cmd.Context(), service, "history")
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, h)
			}
			printHistory(a.stdout, h)
			return nil
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "service name")
	_ = cmd.MarkFlagRequired("service")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// history opens the reader and reads a service's history in --env. An unknown service or
// environment is a refusal that names what exists, not an error.
func (a *app) history(ctx context.Context, service, what string) (model.History, error) {
	if err := a.open(ctx, false, what); err != nil {
		return model.History{}, err
	}
	h, err := a.reader.History(ctx, service, a.flags.env)
	if err != nil {
		if fleet, ferr := a.reader.Snapshot(ctx); ferr == nil {
			if _, nerr := findService(&fleet, service, a.flags.env); nerr != nil {
				return h, nerr
			}
		}
		return h, fmt.Errorf("read the history of %s/%s: %w", service, a.flags.env, err)
	}
	return h, nil
}

func printHistory(w io.Writer, h model.History) {
	fmt.Fprintf(w, "Releases of %s/%s (launch template versions, newest first)\n", h.Name, h.Env)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEMPLATE\tVERSION\tIMAGE\tWHEN\tWHO\tWHY")
	for _, r := range h.Releases {
		who, why := r.CreatedBy, r.Description
		if n, ok := model.ParseReleaseNote(r.Description); ok {
			who, why = n.Who, fmt.Sprintf("%s -> %s", n.From, n.To)
			if n.Why != "" {
				why += ": " + n.Why
			}
		}
		def := ""
		if r.Default {
			def = " (default)"
		}
		fmt.Fprintf(tw, "%s\t%d%s\t%s\t%s\t%s\t%s\n", r.TemplateName, r.Version, def, r.ImageID, fmtTime(r.CreatedAt), orDash(who), orDash(why))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRollouts (instance refreshes)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tID\tSTATUS\tDONE\tSTARTED\tENDED\tTO\tREASON")
	for _, r := range h.Refreshes {
		to := r.DesiredImage
		if to == "" && r.DesiredVersion != "" {
			to = "version " + r.DesiredVersion
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d%%\t%s\t%s\t%s\t%s\n", r.Group, r.ID, r.Status, r.Percent, fmtTime(r.StartedAt), fmtTime(r.EndedAt), orDash(to), orDash(r.StatusReason))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nScaling activities")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTARTED\tSTATUS\tDESCRIPTION")
	for _, ac := range h.Activities {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ac.Group, fmtTime(ac.StartedAt), ac.Status, ac.Description)
	}
	tw.Flush()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
