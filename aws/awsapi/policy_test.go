package awsapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

func TestIAMPolicy_GeneratedFromTheOperationLists(t *testing.T) {
	type statement struct {
		Sid      string
		Effect   string
		Action   []string
		Resource string
	}
	type document struct {
		Version   string
		Statement []statement
	}
	actions := func(ops []awsapi.Operation) []string {
		var out []string
		for _, op := range ops {
			out = append(out, op.Action())
		}
		return out
	}
	for _, tc := range []struct {
		readOnly bool
		want     [][]string
	}{
		{true, [][]string{actions(awsapi.ReadOperations)}},
		{false, [][]string{actions(awsapi.ReadOperations), actions(awsapi.WriteOperations)}},
	} {
		b, err := awsapi.IAMPolicy(tc.readOnly)
		if err != nil {
			t.Fatalf("IAMPolicy(%v): %v", tc.readOnly, err)
		}
		var doc document
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("IAMPolicy(%v) is not JSON: %v\n%s", tc.readOnly, err, b)
		}
		if doc.Version != "2012-10-17" || len(doc.Statement) != len(tc.want) {
			t.Fatalf("IAMPolicy(%v): version %q, %d statements, want 2012-10-17 and %d", tc.readOnly, doc.Version, len(doc.Statement), len(tc.want))
		}
		for i, st := range doc.Statement {
			if st.Effect != "Allow" || st.Resource != "*" || st.Sid == "" {
				t.Errorf("IAMPolicy(%v) statement %d: %+v", tc.readOnly, i, st)
			}
			if !slices.Equal(st.Action, tc.want[i]) {
				t.Errorf("IAMPolicy(%v) statement %d actions %v, want %v", tc.readOnly, i, st.Action, tc.want[i])
			}
		}
	}
	ro, _ := awsapi.IAMPolicy(true)
	for _, w := range []string{"ec2:CreateImage", "ec2:CreateTags", "autoscaling:StartInstanceRefresh"} {
		if strings.Contains(string(ro), w) {
			t.Errorf("read-only policy grants %s", w)
		}
	}
}
