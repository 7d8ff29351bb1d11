package awsapi_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

type policyStatement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  any
	Condition map[string]map[string]any
}

func readPolicy(t *testing.T, o awsapi.PolicyOptions) ([]byte, []policyStatement) {
	t.Helper()
	b, err := awsapi.IAMPolicy(o)
	if err != nil {
		t.Fatalf("IAMPolicy(%+v): %v", o, err)
	}
	var doc struct {
		Version   string
		Statement []policyStatement
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("IAMPolicy(%+v) is not JSON: %v\n%s", o, err, b)
	}
	if doc.Version != "2012-10-17" {
		t.Fatalf("IAMPolicy(%+v): version %q", o, doc.Version)
	}
	return b, doc.Statement
}

// The operation names of every method of the client interfaces the action layer holds, by
// IAM prefix: whatever the action layer can call.
func clientOperations(t *testing.T) (reads, all []awsapi.Operation) {
	t.Helper()
	for _, iface := range []struct {
		prefix string
		typ    reflect.Type
		read   bool
	}{
		{"autoscaling", reflect.TypeFor[awsapi.AutoScalingReader](), true},
		{"autoscaling", reflect.TypeFor[awsapi.AutoScalingAPI](), false},
		{"ec2", reflect.TypeFor[awsapi.EC2Reader](), true},
		{"ec2", reflect.TypeFor[awsapi.EC2API](), false},
		{"elasticloadbalancing", reflect.TypeFor[awsapi.ELBv2Reader](), true},
		{"elasticloadbalancing", reflect.TypeFor[awsapi.ELBReader](), true},
		{"sts", reflect.TypeFor[awsapi.STSReader](), true},
		{"cloudwatch", reflect.TypeFor[awsapi.CloudWatchReader](), true},
		{"ec2", reflect.TypeFor[awsapi.ImageAccessReader](), true},
		{"ec2", reflect.TypeFor[awsapi.ImageSharingAPI](), false},
		{"kms", reflect.TypeFor[awsapi.KMSReader](), true},
	} {
		for i := range iface.typ.NumMethod() {
			op := awsapi.Operation{Service: iface.prefix, Name: iface.typ.Method(i).Name}
			if iface.read {
				reads = append(reads, op)
			}
			all = append(all, op)
		}
	}
	return reads, all
}

func TestIAMPolicy_GrantsEveryOperationTheActionLayerCalls(t *testing.T) {
	reads, all := clientOperations(t)
	write, _ := readPolicy(t, awsapi.PolicyOptions{})
	ro, roStatements := readPolicy(t, awsapi.PolicyOptions{ReadOnly: true})
	for _, op := range reads {
		if !slices.Contains(awsapi.ReadOperations, op) {
			t.Errorf("%s is on a read interface but not in ReadOperations (read-only mode would refuse it)", op)
		}
		if ok, _ := awsapi.PolicyGrants(ro, op.Action()); !ok {
			t.Errorf("the read-only policy does not grant %s", op)
		}
	}
	for _, op := range all {
		if !slices.Contains(awsapi.ReadOperations, op) && !slices.Contains(awsapi.WriteOperations, op) {
			t.Errorf("%s is on a client interface but in neither operation list", op)
		}
		if ok, _ := awsapi.PolicyGrants(write, op.Action()); !ok {
			t.Errorf("the write policy does not grant %s", op)
		}
	}
	// AWS checks these on the caller while carrying out the writes.
	for _, op := range awsapi.ImpliedOperations {
		if ok, _ := awsapi.PolicyGrants(write, op.Action()); !ok {
			t.Errorf("the write policy does not grant %s, which AWS requires to launch from a launch template", op)
		}
	}
	for _, want := range []string{"ec2:RunInstances", "iam:PassRole"} {
		if !slices.ContainsFunc(awsapi.ImpliedOperations, func(o awsapi.Operation) bool { return o.Action() == want }) {
			t.Errorf("ImpliedOperations lacks %s", want)
		}
	}
	if len(roStatements) != 1 {
		t.Errorf("read-only policy has %d statements, want 1", len(roStatements))
	}
	for _, op := range append(append([]awsapi.Operation(nil), awsapi.WriteOperations...), awsapi.ImpliedOperations...) {
		if ok, _ := awsapi.PolicyGrants(ro, op.Action()); ok {
			t.Errorf("the read-only policy grants %s", op)
		}
	}
}

func TestIAMPolicy_ScopesTheWrites(t *testing.T) {
	_, statements := readPolicy(t, awsapi.PolicyOptions{ServiceTag: "App"})
	by := map[string]policyStatement{}
	for _, s := range statements {
		if s.Effect != "Allow" || s.Sid == "" {
			t.Errorf("statement %+v", s)
		}
		by[s.Sid] = s
	}
	groups := by[awsapi.SidGroups]
	if groups.Resource == "*" || groups.Condition["Null"]["autoscaling:ResourceTag/App"] != "false" {
		t.Errorf("group writes are not scoped to groups tagged App: %+v", groups)
	}
	for _, a := range groups.Action {
		if !strings.HasPrefix(a, "autoscaling:") {
			t.Errorf("group statement grants %s", a)
		}
	}
	if !slices.Contains(groups.Action, "autoscaling:StartInstanceRefresh") {
		t.Errorf("group statement lacks StartInstanceRefresh: %v", groups.Action)
	}
	pass := by[awsapi.SidPassRole]
	if !slices.Equal(pass.Action, []string{"iam:PassRole"}) || pass.Condition["StringEquals"]["iam:PassedToService"] != "ec2.amazonaws.com" {
		t.Errorf("iam:PassRole is not limited to EC2: %+v", pass)
	}
	tagCreate := by[awsapi.SidTagOnCreate]
	if tagCreate.Condition["StringEquals"]["ec2:CreateAction"] == nil {
		t.Errorf("tagging on create is not limited by ec2:CreateAction: %+v", tagCreate)
	}
	marks := by[awsapi.SidMarkImages]
	if marks.Resource == "*" || marks.Condition["ForAllValues:StringLike"]["aws:TagKeys"] != "adstage:*" {
		t.Errorf("image marks are not limited to adstage: keys on images: %+v", marks)
	}
	for _, s := range statements {
		if s.Sid != awsapi.SidTagOnCreate && s.Sid != awsapi.SidMarkImages && slices.Contains(s.Action, "ec2:CreateTags") {
			t.Errorf("statement %s grants ec2:CreateTags unscoped", s.Sid)
		}
	}
}
