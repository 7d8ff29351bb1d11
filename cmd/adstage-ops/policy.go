package main

import (
	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

func (a *app) iamPolicyCommand() *cobra.Command {
	var ro bool
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the minimal IAM policy the console needs (generated from the same allow-list that enforces --read-only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := awsapi.IAMPolicy(ro || a.flags.readOnly)
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
