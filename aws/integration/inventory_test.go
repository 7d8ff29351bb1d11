package integration_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// noInstanceRefreshes stands in for the one Auto Scaling read moto does not implement
// (DescribeInstanceRefreshes answers NotImplemented there): it reports no refresh and counts
// the calls. Every other read goes to moto. Instance refreshes are tested on the simulator and
// on the recording fake.
type noInstanceRefreshes struct {
	awsapi.AutoScalingReader
	mu    sync.Mutex
	calls int
}

func (n *noInstanceRefreshes) DescribeInstanceRefreshes(context.Context, *autoscaling.DescribeInstanceRefreshesInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	n.mu.Lock()
	n.calls++
	n.mu.Unlock()
	return &autoscaling.DescribeInstanceRefreshesOutput{}, nil
}

// motoInventory is a read-only inventory over moto in the test's account, on a fixed clock.
func motoInventory(t *testing.T, now time.Time) (*inventory.Inventory, awsapi.ReadClients) {
	t.Helper()
	_, ro := awstest.MotoClients(t, true)
	ro.AutoScaling = &noInstanceRefreshes{AutoScalingReader: ro.AutoScaling}
	return inventory.NewInventory(ro, inventory.Options{Now: func() time.Time { return now }}), ro
}

// wantInstance is what the inventory must report for one instance, read independently from
// moto with the raw SDK.
type wantInstance struct {
	az       string
	launched int64
}

func motoInstances(t *testing.T, c awstest.SDKClients, group string) map[string]wantInstance {
	t.Helper()
	ctx := context.Background()
	g, err := c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	mustOK(t, "DescribeAutoScalingGroups "+group, err)
	if len(g.AutoScalingGroups) != 1 {
		t.Fatalf("moto has %d groups named %s", len(g.AutoScalingGroups), group)
	}
	out := map[string]wantInstance{}
	var ids []string
	for _, in := range g.AutoScalingGroups[0].Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
		out[aws.ToString(in.InstanceId)] = wantInstance{az: aws.ToString(in.AvailabilityZone)}
	}
	if len(ids) == 0 {
		return out
	}
	d, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	mustOK(t, "DescribeInstances", err)
	for _, r := range d.Reservations {
		for _, in := range r.Instances {
			w := out[aws.ToString(in.InstanceId)]
			w.launched = aws.ToTime(in.LaunchTime).Unix()
			out[aws.ToString(in.InstanceId)] = w
		}
	}
	return out
}

// TestMoto_Inventory_NoInstanceRefresh creates groups, launch templates, target groups and a
// classic ELB in moto through the SDK and checks that the inventory, over read-only clients
// built by LoadClients, reports exactly them: groups, services (with the untagged group),
// instances, AMIs, target health; then that a steady-state refresh costs exactly Cmin calls on
// the wire. moto has no instance refresh, so DescribeInstanceRefreshes is answered by a
// stand-in that reports none.
func TestMoto_Inventory_NoInstanceRefresh(t *testing.T) {
	ctx := context.Background()
	_, rw := awstest.MotoClients(t, false)
	raw := awstest.RawClients(t, rw)
	f := createMotoInvFleet(t, raw)
	recorded := awstest.MotoRecording(t)
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	inv, _ := motoInventory(t, now)

	fleet, err := inv.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(fleet.Problems) != 0 {
		t.Errorf("Problems: %q", fleet.Problems)
	}
	account := awstest.MotoAccount(t)
	if fleet.Account != account || !strings.Contains(fleet.Identity, account) || fleet.Region != "us-east-1" {
		t.Errorf("identity: account %q identity %q region %q, want account %s in us-east-1", fleet.Account, fleet.Identity, fleet.Region, account)
	}

	type wantGroup struct {
		service, env     string
		min, desired     int32
		lt               model.LaunchTemplateRef
		image, ltVersion string
		targetGroups     []string
		classic          []string
	}
	want := map[string]wantGroup{
		"api-production": {"api", "production", 1, 1, model.LaunchTemplateRef{ID: f.apiLT, Name: "api-lt", Version: "$Latest"}, f.amiV1, "1", nil, []string{f.classic}},
		"batch-untagged": {"", "", 1, 1, model.LaunchTemplateRef{ID: f.apiLT, Name: "api-lt", Version: "1"}, f.amiV1, "1", nil, nil},
		"web-production": {"web", "production", 2, 2, model.LaunchTemplateRef{ID: f.webLT, Name: "web-lt", Version: "$Default"}, f.amiV2, "2", []string{"web-prod-tg"}, nil},
		"web-staging":    {"web", "staging", 1, 1, model.LaunchTemplateRef{ID: f.webLT, Name: "web-lt", Version: "2"}, f.amiV2, "2", []string{"web-stg-tg"}, nil},
	}
	var names []string
	for _, g := range fleet.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, []string{"api-production", "batch-untagged", "web-production", "web-staging"}) {
		t.Fatalf("groups %v", names)
	}
	for _, g := range fleet.Groups {
		w := want[g.Name]
		if g.Service != w.service || g.Env != w.env || g.Min != w.min || g.Desired != w.desired || g.Max != w.min+2 {
			t.Errorf("%s: service %q env %q min/desired/max %d/%d/%d, want %q %q %d/%d/%d", g.Name, g.Service, g.Env, g.Min, g.Desired, g.Max, w.service, w.env, w.min, w.desired, w.min+2)
		}
		if g.LaunchTemplate == nil || *g.LaunchTemplate != w.lt || g.LaunchConfig != "" || g.Legacy() {
			t.Errorf("%s: launch template %+v (config %q), want %+v", g.Name, g.LaunchTemplate, g.LaunchConfig, w.lt)
		}
		if g.ImageID != w.image {
			t.Errorf("%s: AMI %s, want %s", g.Name, g.ImageID, w.image)
		}
		if g.HealthCheckType != "ELB" || g.GracePeriod != 90 || g.Warmup != 90 || len(g.Suspended) != 0 || g.Refresh != nil {
			t.Errorf("%s: health check %s grace %d warmup %d suspended %v refresh %+v", g.Name, g.HealthCheckType, g.GracePeriod, g.Warmup, g.Suspended, g.Refresh)
		}
		if !slices.Equal(g.TargetGroups, w.targetGroups) || !slices.Equal(g.ClassicELBs, w.classic) {
			t.Errorf("%s: target groups %v classic %v, want %v %v", g.Name, g.TargetGroups, g.ClassicELBs, w.targetGroups, w.classic)
		}
		instances := motoInstances(t, raw, g.Name)
		if len(g.Instances) != int(w.desired) || len(instances) != int(w.desired) {
			t.Errorf("%s: %d instances reported, moto has %d, want %d", g.Name, len(g.Instances), len(instances), w.desired)
		}
		for _, in := range g.Instances {
			wi, ok := instances[in.ID]
			if !ok {
				t.Errorf("%s: instance %s is not in the group", g.Name, in.ID)
				continue
			}
			if in.AZ.String() != wi.az || in.LaunchedAt.Sec() != wi.launched || in.LaunchedAt == 0 {
				t.Errorf("%s/%s: AZ %s launched %d, want %s %d", g.Name, in.ID, in.AZ, in.LaunchedAt, wi.az, wi.launched)
			}
			if in.ImageID.String() != w.image || in.LTVersion.String() != w.ltVersion {
				t.Errorf("%s/%s: AMI %s version %s, want %s %s", g.Name, in.ID, in.ImageID, in.LTVersion, w.image, w.ltVersion)
			}
			if in.Lifecycle != model.InService || !in.Healthy || in.Protected {
				t.Errorf("%s/%s: lifecycle %s healthy %v protected %v", g.Name, in.ID, in.Lifecycle, in.Healthy, in.Protected)
			}
			var balancers []string
			for _, th := range in.Targets {
				balancers = append(balancers, th.Balancer.String())
				wantKind := model.TargetGroup
				if slices.Contains(w.classic, th.Balancer.String()) {
					wantKind = model.ClassicELB
				}
				if th.Kind != wantKind || th.State != model.TargetHealthy || th.Reason() != "" || th.Stale || th.CheckedAt.Sec() != now.Unix() || th.DrainSince() != 0 {
					t.Errorf("%s/%s: target health %+v, want healthy %v read now", g.Name, in.ID, th, wantKind)
				}
			}
			if wantBalancers := append(slices.Clone(w.targetGroups), w.classic...); !slices.Equal(balancers, wantBalancers) {
				t.Errorf("%s/%s: health from %v, want %v", g.Name, in.ID, balancers, wantBalancers)
			}
			if !in.Serving() {
				t.Errorf("%s/%s: not serving", g.Name, in.ID)
			}
		}
	}

	var services []string
	for _, s := range fleet.Services {
		var groups []string
		for _, g := range s.Groups {
			groups = append(groups, g.Name)
		}
		services = append(services, fmt.Sprintf("%s:%s", s.ServiceKey, strings.Join(groups, ",")))
		if s.Degraded() || s.Mixed() || s.RollingOut() {
			t.Errorf("%s: degraded %v mixed %v rolling out %v", s.ServiceKey, s.Degraded(), s.Mixed(), s.RollingOut())
		}
	}
	wantServices := []string{model.Untagged + "/:batch-untagged", "api/production:api-production", "web/production:web-production", "web/staging:web-staging"}
	if !slices.Equal(services, wantServices) {
		t.Errorf("services %v, want %v", services, wantServices)
	}
	if web, ok := fleet.Service("web", "production"); !ok || web.Release() != f.amiV2 {
		t.Errorf("web/production release: %v", web)
	}

	// Steady state: launch template versions and launch times are cached, so a second refresh
	// makes exactly Cmin = ceil(4/100) + 2 target groups + 1 classic ELB calls on the wire.
	before := len(recorded())
	if _, err := inv.Snapshot(ctx); err != nil {
		t.Fatalf("second Snapshot: %v", err)
	}
	wire := recorded()[before:]
	sort.Strings(wire)
	wantWire := []string{"DescribeAutoScalingGroups", "DescribeInstanceHealth", "DescribeTargetHealth", "DescribeTargetHealth"}
	if !slices.Equal(wire, wantWire) {
		t.Errorf("steady-state refresh sent %v to moto, want exactly %v (Cmin = 4)", wire, wantWire)
	}
}

// TestMoto_History_NoInstanceRefresh: History reads the releases of a service from its launch
// template versions in moto (refreshes come from the stand-in: moto has none).
func TestMoto_History_NoInstanceRefresh(t *testing.T) {
	ctx := context.Background()
	_, rw := awstest.MotoClients(t, false)
	f := createMotoInvFleet(t, awstest.RawClients(t, rw))
	inv, _ := motoInventory(t, time.Now())

	h, err := inv.History(ctx, "web", "production")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	type rel struct {
		version int64
		image   string
		desc    string
		def     bool
	}
	var got []rel
	for _, r := range h.Releases {
		if r.TemplateID != f.webLT || r.TemplateName != "web-lt" || r.CreatedAt.IsZero() {
			t.Errorf("release %+v: template or time missing", r)
		}
		got = append(got, rel{r.Version, r.ImageID, r.Description, r.Default})
	}
	want := []rel{{2, f.amiV2, "release 2", true}, {1, f.amiV1, "", false}}
	if !slices.Equal(got, want) {
		t.Errorf("releases %+v, want %+v (newest first)", got, want)
	}
	if len(h.Refreshes) != 0 {
		t.Errorf("refreshes %+v from a stand-in that has none", h.Refreshes)
	}
	if _, err := inv.History(ctx, "nosuch", "production"); err == nil {
		t.Errorf("History of a service no group carries: no error")
	}
}

// TestMoto_Images: Images lists the AMIs baked from a service's instance and tagged with it,
// read from moto (CreateImage with tags on the image, as bake does).
func TestMoto_Images(t *testing.T) {
	ctx := context.Background()
	_, rw := awstest.MotoClients(t, false)
	raw := awstest.RawClients(t, rw)
	createMotoInvFleet(t, raw)
	var source string
	for id := range motoInstances(t, raw, "web-staging") {
		source = id
	}
	s := aws.String
	img, err := raw.EC2.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: s(source), Name: s("web-release-3"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: []ec2types.Tag{
			{Key: s("Service"), Value: s("web")},
			{Key: s(model.TagSourceInstance), Value: s(source)},
			{Key: s(model.TagBakedBy), Value: s("arn:aws:sts::123456789012:assumed-role/ops/alice")},
			{Key: s(model.TagLabel), Value: s("git-3f2a9c1")},
		}}},
	})
	mustOK(t, "CreateImage", err)
	_, err = raw.EC2.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: s(source), Name: s("other-service"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: []ec2types.Tag{{Key: s("Service"), Value: s("api")}}}},
	})
	mustOK(t, "CreateImage (api)", err)

	inv, _ := motoInventory(t, time.Now())
	images, err := inv.Images(ctx, "web")
	if err != nil {
		t.Fatalf("Images: %v", err)
	}
	if len(images) != 1 {
		t.Fatalf("Images(web) = %+v, want exactly the one baked image", images)
	}
	got := images[0]
	if got.ID != aws.ToString(img.ImageId) || got.Name != "web-release-3" || got.Service != "web" || got.Label != "git-3f2a9c1" ||
		got.SourceInstance != source || got.BakedBy != "arn:aws:sts::123456789012:assumed-role/ops/alice" || got.State != "available" || got.CreatedAt.IsZero() {
		t.Errorf("image %+v", got)
	}
}
