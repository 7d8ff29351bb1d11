package awsapi

import (
	"encoding/json"
	"fmt"
)

// policyDocument is an IAM identity policy, with its fields in IAM's order.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

// IAMPolicy returns the minimal IAM policy document (indented JSON) the console needs: the
// actions of ReadOperations, plus those of WriteOperations unless readOnly. It is generated
// from the same lists the read-only middleware enforces, so the two cannot drift. Resource is
// "*" because the Describe operations do not support resource-level permissions.
func IAMPolicy(readOnly bool) ([]byte, error) {
	doc := policyDocument{
		Version:   "2012-10-17",
		Statement: []policyStatement{{Sid: "AdstageOpsRead", Effect: "Allow", Action: actions(ReadOperations), Resource: "*"}},
	}
	if !readOnly {
		doc.Statement = append(doc.Statement, policyStatement{Sid: "AdstageOpsReleaseActions", Effect: "Allow", Action: actions(WriteOperations), Resource: "*"})
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
