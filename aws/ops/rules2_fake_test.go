package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/model"
)

// mixedGroup turns the standard world's group into one with a mixed instances policy that
// has distribution segments and instance type overrides.
func mixedGroup(w *actWorld, overrides ...astypes.LaunchTemplateOverrides) {
	g := &w.groups[0]
	g.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{
		InstancesDistribution: &astypes.InstancesDistribution{
			OnDemandBaseCapacity:                aws.Int32(1),
			OnDemandPercentageAboveBaseCapacity: aws.Int32(50),
			SpotAllocationStrategy:              aws.String("price-capacity-optimized"),
			DistributionSegments:                []astypes.DistributionSegment{{TargetCapacityTypes: []astypes.TargetCapacityType{"on-demand"}}},
		},
		LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: g.LaunchTemplate,
			Overrides:                   overrides,
		},
	}
	g.LaunchTemplate = nil
}

func checkNamed(p model.Plan, name string) *model.Check {
	for i := range p.Checks {
		if p.Checks[i].Name == name {
			return &p.Checks[i]
		}
	}
	return nil
}

// A mixed instances policy is changed by naming only the new launch template version: the
// described InstancesDistribution (OnDemandBaseCapacity and friends) sent back would remove
// the group's DistributionSegments, and the overrides would be rewritten.
func TestPromote_MixedInstancesPolicySendsOnlyTheVersion_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	mixedGroup(w, astypes.LaunchTemplateOverrides{InstanceType: aws.String("m7g.large")}, astypes.LaunchTemplateOverrides{InstanceType: aws.String("m6g.large")})
	op, _ := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() {
		t.Fatalf("plan refused: %+v", plan.Checks)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	awstest.Progress(t, ch)
	want := func(what string, mp *astypes.MixedInstancesPolicy, version string) {
		t.Helper()
		if mp == nil || mp.LaunchTemplate == nil || mp.LaunchTemplate.LaunchTemplateSpecification == nil {
			t.Fatalf("%s: no mixed instances policy launch template: %+v", what, mp)
		}
		if mp.InstancesDistribution != nil {
			t.Errorf("%s sends InstancesDistribution %+v: AWS would drop the group's distribution segments", what, *mp.InstancesDistribution)
		}
		if mp.LaunchTemplate.Overrides != nil {
			t.Errorf("%s rewrites the overrides: %+v", what, mp.LaunchTemplate.Overrides)
		}
		spec := mp.LaunchTemplate.LaunchTemplateSpecification
		if aws.ToString(spec.LaunchTemplateId) != "lt-a" || aws.ToString(spec.Version) != version || spec.LaunchTemplateName != nil {
			t.Errorf("%s names %+v, want lt-a version %s", what, spec, version)
		}
	}
	pins := w.f.UpdateAutoScalingGroupOp.Inputs()
	if len(pins) != 1 || pins[0].LaunchTemplate != nil {
		t.Fatalf("UpdateAutoScalingGroup = %+v, want one pin through the mixed instances policy", pins)
	}
	want("the pin", pins[0].MixedInstancesPolicy, "3")
	sr := w.f.StartInstanceRefreshOp.Inputs()
	if len(sr) != 1 || sr[0].DesiredConfiguration.LaunchTemplate != nil {
		t.Fatalf("StartInstanceRefresh = %+v", sr)
	}
	want("the refresh", sr[0].DesiredConfiguration.MixedInstancesPolicy, "4")
}

// An override with its own AMI or launch template keeps launching the old release while the
// refresh reports success: the plan refuses it and nothing is sent.
func TestPlanPromote_MixedOverrideWithItsOwnImageRefused_RecordedFake(t *testing.T) {
	cases := map[string]astypes.LaunchTemplateOverrides{
		"ImageId":         {InstanceType: aws.String("m7g.large"), ImageId: aws.String("ami-arm64")},
		"launch template": {InstanceType: aws.String("m7g.large"), LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-arm"), Version: aws.String("2")}},
	}
	for name, ov := range cases {
		t.Run(name, func(t *testing.T) {
			w := standardWorld(t)
			mixedGroup(w, astypes.LaunchTemplateOverrides{InstanceType: aws.String("m6i.large")}, ov)
			op, log := w.operator(t)
			plan, err := op.PlanPromote(context.Background(), PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
			if err != nil {
				t.Fatal(err)
			}
			c := checkNamed(plan, CheckOverrides)
			if c == nil || c.OK || c.Warn || !strings.Contains(c.Detail, "m7g.large launches") || strings.Contains(c.Detail, "m6i.large") {
				t.Fatalf("check = %+v; all %+v", c, plan.Checks)
			}
			if _, err := op.Execute(context.Background(), plan); !IsRefusal(err) {
				t.Fatalf("Execute: %v, want a refusal", err)
			}
			if len(w.order) != 0 {
				t.Errorf("sent %v", w.order)
			}
			if got := strings.Join(results(t, log), ","); got != "promote:refused" {
				t.Errorf("audit = %s", got)
			}
		})
	}
}

// Groups outside the plan that launch the same template at $Latest would start launching the
// new AMI at their next scale-out: the plan names them (a warning to confirm). Groups on a
// numeric version or another template are not named.
func TestPlanPromote_WarnsOfOtherGroupsFollowingLatest_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	batch := actGroup("api-batch", "production", "lt-a", "$Latest", 1)
	batch.Tags = []astypes.TagDescription{actTag("Service", "api-batch"), actTag("Environment", "production")}
	pinned := actGroup("api-replay", "production", "lt-a", "2", 1)
	pinned.Tags = batch.Tags
	other := actGroup("web-prod", "production", "lt-web", "$Latest", 1)
	other.Tags = []astypes.TagDescription{actTag("Service", "web"), actTag("Environment", "production")}
	byName := actGroup("api-reports", "staging", "", "$Latest", 1)
	byName.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("lt-a-name"), Version: aws.String("$Latest")}
	w.groups = append(w.groups, batch, pinned, other, byName)
	w.addVersion("lt-web", 1, "ami-web", "")
	op, _ := w.operator(t)
	plan, err := op.PlanPromote(context.Background(), PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	c := checkNamed(plan, CheckLatestSharers)
	if c == nil || !c.Warn || !strings.Contains(c.Detail, "2 other group(s)") || !strings.Contains(c.Detail, "api-batch (launch template lt-a)") ||
		!strings.Contains(c.Detail, "api-reports") || !strings.Contains(c.Detail, "will launch ami-new") {
		t.Fatalf("check = %+v; all %+v", c, plan.Checks)
	}
	for _, not := range []string{"api-replay", "web-prod", "api-prod-a"} {
		if strings.Contains(c.Detail, not) {
			t.Errorf("the warning names %s: %s", not, c.Detail)
		}
	}
	if plan.Blocked() {
		t.Errorf("a warning blocks the plan: %+v", plan.Checks)
	}
}
