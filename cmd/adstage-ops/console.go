package main

import (
	"github.com/spf13/cobra"

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
		AuditLog:   a.audit.Read,
		Version:    version,
		Demo:       a.flags.demo,
	}
	if a.op != nil {
		cfg.Operator = a.op
	}
	return tui.Run(cfg)
}
