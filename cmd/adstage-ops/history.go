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
				return writeJSON(a.stdout, historyJSON(h))
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
// environment is a usage error that names what exists; a name in another case is resolved.
func (a *app) history(ctx context.Context, service, what string) (model.History, error) {
	if err := a.open(ctx, false, what); err != nil {
		return model.History{}, err
	}
	h, err := a.reader.History(ctx, service, a.flags.env)
	if err != nil {
		name, nerr := a.serviceName(ctx, service, a.flags.env)
		if nerr != nil {
			return h, nerr
		}
		if name != service {
			return a.reader.History(ctx, name, a.flags.env)
		}
		return h, fmt.Errorf("read the history of %s/%s: %w", service, a.flags.env, err)
	}
	return h, nil
}

func printHistory(w io.Writer, h model.History) {
	fmt.Fprintf(w, "Releases of %s/%s, newest version first; each state comes from what AWS did (rollouts and their outcomes) and from operators' marks\n", h.Name, h.Env)
	perGroup := map[string]bool{}
	for _, l := range h.Ledgers {
		perGroup[l.HistoryProblem] = true
	}
	for _, p := range h.Problems {
		if !perGroup[p] {
			fmt.Fprintf(w, "warning: not shown: %s\n", p)
		}
	}
	for _, l := range h.Ledgers {
		if l.Template == "" {
			fmt.Fprintf(w, "\ngroup %s: launch configuration, no releases to list\n", l.Group)
			continue
		}
		fmt.Fprintf(w, "\ngroup %s, launch template %s, runs version %d\n", l.Group, l.Template, l.Current)
		if l.HistoryProblem != "" {
			fmt.Fprintf(w, "  warning: %s\n", l.HistoryProblem)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  VERSION\tIMAGE\tSTATE\tCREATED\tWHO\tWHY\tDETAIL")
		for _, e := range l.Entries {
			why := e.Why()
			if !e.HasNote {
				why = e.Description
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Version, orDash(e.ImageID), e.State, fmtTime(e.CreatedAt), orDash(model.ShortWho(e.Who())), orDash(why), orDash(e.Detail))
		}
		tw.Flush()
		if running := runningRollout(l); running != "" {
			fmt.Fprintf(w, "  rollback %s\n", running)
		} else if c := l.Previous(); c.OK {
			how := ""
			if c.Unverified {
				how = " (unverified: chosen by version order)"
			}
			fmt.Fprintf(w, "  rollback returns to version %d (%s)%s\n", c.Target.Version, c.Target.ImageID, how)
		} else if l.Current != 0 {
			fmt.Fprintf(w, "  rollback: %s\n", c.Why)
		}
	}
	fmt.Fprintln(w, "\nRollouts (instance refreshes)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tID\tSTATUS\tDONE\tSTARTED\tENDED\tTO\tENDED ON\tREASON")
	for _, r := range h.Refreshes {
		to := r.DesiredImage
		if to == "" && r.DesiredVersion != "" {
			to = "version " + r.DesiredVersion
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d%%\t%s\t%s\t%s\t%s\t%s\n", r.Group, r.ID, r.Status, r.Percent, fmtTime(r.StartedAt), fmtTime(r.EndedAt), orDash(to), endedOn(h, r), orDash(r.StatusReason))
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

// runningRollout says what a rollback does while a rollout of the group runs: it reverses
// it (or, being rolled back already, there is nothing to do but wait). "" when none runs.
func runningRollout(l model.Ledger) string {
	for _, e := range l.Entries {
		switch e.State {
		case model.ReleaseRollingOut:
			return fmt.Sprintf("reverses the running rollout of version %d (AWS returns the group to version %d)", e.Version, l.Current)
		case model.ReleaseRollingBack:
			return fmt.Sprintf("is under way: AWS is returning the group from version %d to version %d", e.Version, l.Current)
		}
	}
	return ""
}

// endedOn is the version a finished refresh left its group on, from the group's ledger: for
// a rolled-back refresh, the release it returned to.
func endedOn(h model.History, r model.RefreshRecord) string {
	if r.Active() || r.EndedAt.IsZero() {
		return "-"
	}
	for _, l := range h.Ledgers {
		if l.Group != r.Group {
			continue
		}
		if e, ok := l.LiveAt(r.EndedAt.Add(time.Second)); ok {
			return fmt.Sprintf("version %d", e.Version)
		}
	}
	return "-"
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
