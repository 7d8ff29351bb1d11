package main

import (
	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

func (a *app) iamPolicyCommand() *cobra.Command {
	var ro bool
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the minimal IAM policy the console needs (generated from the same allow-list that enforces --read-only; group writes scoped to the config's service tag)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, explicit := a.flags.config, a.flags.config != ""
			if !explicit {
				path = defaultConfigPath()
			}
			cfg, err := loadConfig(path, explicit)
			if err != nil {
				return fail(exitError, "%v", err)
			}
			doc, err := awsapi.IAMPolicy(awsapi.PolicyOptions{ReadOnly: ro || a.flags.readOnly, ServiceTag: cfg.tags().Service})
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(append(doc, '\n'))
			return err
		},
	}
	cmd.Flags().BoolVar(&ro, "read-only", false, "the policy for read-only mode")
	return cmd
}
