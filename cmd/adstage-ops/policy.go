package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

func (a *app) iamPolicyCommand() *cobra.Command {
	var ro bool
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the minimal IAM policy the console needs (generated from the same allow-list that enforces --read-only; group writes scoped to the config's service tag; --env: that environment's identity)",
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
			po := awsapi.PolicyOptions{ReadOnly: ro || a.flags.readOnly, ServiceTag: cfg.tags().Service, AuditLogGroup: cfg.Audit.LogGroup}
			if env := a.flags.env; env != "" {
				e, ok := cfg.Environments[env]
				if !ok {
					return fail(exitError, "the config %s names no environment %s: the policy is the same for every environment it does not name (adstage-ops iam-policy)", path, env)
				}
				po.ReadOnly = po.ReadOnly || e.ReadOnly
				po.ServiceTag = cfg.envTags(env).Service
				// Said on stderr so that stdout stays one policy document.
				fmt.Fprintf(a.stderr, "# the policy of %s's identity (%s); the sharing statement (%s) is what the environments promoted from need in their own accounts\n", env, e.identity(), awsapi.SidShareImages)
			}
			doc, err := awsapi.IAMPolicy(po)
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
