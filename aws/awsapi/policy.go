package awsapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// policyDocument is an IAM identity policy, with its fields in IAM's order.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Action    []string                  `json:"Action"`
	Resource  any                       `json:"Resource"` // "*" or a list of ARN patterns
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

// Statement ids of the policy, for tests and the README.
const (
	SidRead         = "AdstageOpsRead"
	SidGroups       = "AdstageOpsServiceGroups"
	SidRelease      = "AdstageOpsReleaseActions"
	SidTagOnCreate  = "AdstageOpsTagOnCreate"
	SidMarkImages   = "AdstageOpsMarkImages"
	SidPassRole     = "AdstageOpsPassInstanceRole"
	SidShell        = "AdstageOpsShellOnServiceInstances"
	SidShellEnd     = "AdstageOpsEndOwnShellSessions"
	SidShareImages  = "AdstageOpsShareImages"
	SidAuditRead    = "AdstageOpsReadSharedAuditLog"
	SidAuditWrite   = "AdstageOpsWriteSharedAuditLog"
	groupARNPattern = "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"
	imageARNPattern = "arn:aws:ec2:*::image/*"
)

// PolicyOptions say which policy IAMPolicy writes.
type PolicyOptions struct {
	ReadOnly bool
	// ServiceTag is the group tag that names a service (the config's tag_keys.service): the
	// Auto Scaling writes are allowed only on groups that carry it.
	ServiceTag string
	// AuditLogGroup is the config's audit.log_group: the shared audit log's reads (and, unless
	// read-only, its writes) are granted on that group only.
	AuditLogGroup string
}

// IAMPolicy returns the minimal IAM policy document (indented JSON) the console needs. It is
// generated from the same lists the read-only middleware enforces (ReadOperations,
// WriteOperations) plus ImpliedOperations, so the policy and the code cannot drift.
//
// The reads are on "*": the Describe operations support no resource-level permissions. The
// writes are scoped where AWS's service authorization reference allows it:
//   - the Auto Scaling writes only on groups that carry the service tag
//     (autoscaling:ResourceTag/KEY, a condition every one of them supports);
//   - ec2:CreateTags only while creating an image (CreateImage's tags on the image and its
//     snapshots) or launching an instance (ec2:CreateAction), or on images with keys under
//     "adstage:" (the marks);
//   - ec2:ModifyImageAttribute and ec2:ModifySnapshotAttribute (sharing an image with the
//     account of a promote's target) only on images and snapshots;
//   - iam:PassRole only to EC2 (iam:PassedToService), for templates with an instance profile.
//
// CreateImage, CreateLaunchTemplateVersion and RunInstances stay on "*": RunInstances is
// authorized on every resource it touches (subnet, security group, volume, network interface,
// key pair, image, launch template), which an operator's account names differently.
func IAMPolicy(o PolicyOptions) ([]byte, error) {
	doc := policyDocument{
		Version:   "2012-10-17",
		Statement: []policyStatement{{Sid: SidRead, Effect: "Allow", Action: actions(ReadOperations), Resource: "*"}},
	}
	if !o.ReadOnly {
		tag := o.ServiceTag
		if tag == "" {
			tag = "Service"
		}
		var groupOps, releaseOps []Operation
		for _, op := range append(append([]Operation(nil), WriteOperations...), ImpliedOperations...) {
			switch {
			case op.Service == "autoscaling":
				groupOps = append(groupOps, op)
			case op.Action() == "ec2:CreateTags", op.Action() == "iam:PassRole",
				op.Action() == "ec2:ModifyImageAttribute", op.Action() == "ec2:ModifySnapshotAttribute":
				// their own statements below
			default:
				releaseOps = append(releaseOps, op)
			}
		}
		doc.Statement = append(doc.Statement,
			policyStatement{Sid: SidGroups, Effect: "Allow", Action: actions(sortedOperations(groupOps)), Resource: groupARNPattern,
				Condition: map[string]map[string]any{"Null": {"autoscaling:ResourceTag/" + tag: "false"}}},
			policyStatement{Sid: SidRelease, Effect: "Allow", Action: actions(sortedOperations(releaseOps)), Resource: "*"},
			policyStatement{Sid: SidTagOnCreate, Effect: "Allow", Action: []string{"ec2:CreateTags"}, Resource: "*",
				Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": []string{"CopyImage", "CreateImage", "RunInstances"}}}},
			policyStatement{Sid: SidShareImages, Effect: "Allow", Action: []string{"ec2:ModifyImageAttribute", "ec2:ModifySnapshotAttribute"},
				Resource: []string{imageARNPattern, "arn:aws:ec2:*::snapshot/*"}},
			policyStatement{Sid: SidMarkImages, Effect: "Allow", Action: []string{"ec2:CreateTags"}, Resource: imageARNPattern,
				Condition: map[string]map[string]any{"ForAllValues:StringLike": {"aws:TagKeys": "adstage:*"}}},
			policyStatement{Sid: SidPassRole, Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: "*",
				Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
			// The console's shell (aws ssm start-session): on instances of a service, and the
			// caller's own sessions (ssm:resourceTag and the session ARN per the Systems
			// Manager service authorization reference).
			policyStatement{Sid: SidShell, Effect: "Allow", Action: []string{"ssm:StartSession"}, Resource: "arn:aws:ec2:*:*:instance/*",
				Condition: map[string]map[string]any{"Null": {"ssm:resourceTag/" + tag: "false"}}},
			policyStatement{Sid: SidShellEnd, Effect: "Allow", Action: []string{"ssm:TerminateSession"}, Resource: "arn:aws:ssm:*:*:session/${aws:userid}-*"},
		)
	}
	if g := o.AuditLogGroup; g != "" {
		// FilterLogEvents and CreateLogStream act on the log-group resource, PutLogEvents on
		// its log-stream ("Actions, resources, and condition keys for Amazon CloudWatch Logs",
		// Service Authorization Reference).
		group := "arn:aws:logs:*:*:log-group:" + g
		doc.Statement = append(doc.Statement, policyStatement{Sid: SidAuditRead, Effect: "Allow", Action: actions(AuditLogReadOperations), Resource: []string{group, group + ":*"}})
		if !o.ReadOnly {
			doc.Statement = append(doc.Statement, policyStatement{Sid: SidAuditWrite, Effect: "Allow", Action: actions(AuditLogWriteOperations), Resource: []string{group, group + ":log-stream:*"}})
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode IAM policy: %w", err)
	}
	return b, nil
}

func actions(ops []Operation) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.Action()
	}
	return out
}

// PolicyGrants says whether a policy document from IAMPolicy allows the action in some
// statement (conditions aside), for tests and for `iam-policy` checks.
func PolicyGrants(doc []byte, action string) (bool, error) {
	var d policyDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return false, fmt.Errorf("read IAM policy: %w", err)
	}
	for _, s := range d.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range s.Action {
			if a == action || strings.HasSuffix(a, "*") && strings.HasPrefix(action, strings.TrimSuffix(a, "*")) {
				return true, nil
			}
		}
	}
	return false, nil
}
