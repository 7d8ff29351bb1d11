package integration_test

// Integration tests of the action layer against a real moto server, for what moto implements:
// CreateImage with tags, DescribeImages, DescribeInstances, CreateLaunchTemplateVersion,
// DescribeLaunchTemplateVersions, DescribeAutoScalingGroups, UpdateAutoScalingGroup and
// GetCallerIdentity. moto has no instance refreshes (DescribeInstanceRefreshes,
// StartInstanceRefresh and RollbackInstanceRefresh are NotImplemented there), so those three
// go to refreshStandIn, which records them and reports each refresh Successful; the exact
// StartInstanceRefresh request is checked here and on the recording fake, and real refresh
// behaviour on the simulator (actions_sim_test.go).

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// refreshStandIn answers the instance refresh operations moto lacks and sends every other
// Auto Scaling call to moto.
type refreshStandIn struct {
	awsapi.AutoScalingAPI
	mu      sync.Mutex
	started []*autoscaling.StartInstanceRefreshInput
}

func (r *refreshStandIn) DescribeInstanceRefreshes(_ context.Context, in *autoscaling.DescribeInstanceRefreshesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := &autoscaling.DescribeInstanceRefreshesOutput{}
	for i, s := range r.started {
		if aws.ToString(s.AutoScalingGroupName) != aws.ToString(in.AutoScalingGroupName) {
			continue
		}
		out.InstanceRefreshes = append(out.InstanceRefreshes, astypes.InstanceRefresh{
			InstanceRefreshId: aws.String(fmt.Sprintf("standin-%d", i)), AutoScalingGroupName: s.AutoScalingGroupName,
			Status: astypes.InstanceRefreshStatusSuccessful, PercentageComplete: aws.Int32(100), InstancesToUpdate: aws.Int32(0),
			StartTime: aws.Time(time.Now()), DesiredConfiguration: s.DesiredConfiguration,
		})
	}
	return out, nil
}

func (r *refreshStandIn) StartInstanceRefresh(_ context.Context, in *autoscaling.StartInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, in)
	return &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String(fmt.Sprintf("standin-%d", len(r.started)-1))}, nil
}

func (r *refreshStandIn) RollbackInstanceRefresh(context.Context, *autoscaling.RollbackInstanceRefreshInput, ...func(*autoscaling.Options)) (*autoscaling.RollbackInstanceRefreshOutput, error) {
	return nil, fmt.Errorf("the moto tests never roll back a running refresh")
}

// snapshotTagsStandIn passes EC2 calls to moto, except that it records CreateImage requests
// and takes the snapshot tag specification out before moto sees it: moto 5 tags images on
// CreateImage but answers NotImplemented for snapshot tags, which AWS supports.
type snapshotTagsStandIn struct {
	awsapi.EC2API
	mu       sync.Mutex
	requests []ec2.CreateImageInput
}

func (s *snapshotTagsStandIn) CreateImage(ctx context.Context, in *ec2.CreateImageInput, opts ...func(*ec2.Options)) (*ec2.CreateImageOutput, error) {
	s.mu.Lock()
	s.requests = append(s.requests, *in)
	s.mu.Unlock()
	forward := *in
	forward.TagSpecifications = nil
	for _, ts := range in.TagSpecifications {
		if ts.ResourceType != ec2types.ResourceTypeSnapshot {
			forward.TagSpecifications = append(forward.TagSpecifications, ts)
		}
	}
	return s.EC2API.CreateImage(ctx, &forward, opts...)
}

// motoFleet is one service's setup in the test's moto account, made with the raw SDK clients
// (RunInstances, CreateLaunchTemplate and CreateAutoScalingGroup are not in the action
// layer's interfaces).
type motoFleet struct {
	c        awsapi.Clients
	ec2      *ec2.Client
	as       *autoscaling.Client
	standIn  *refreshStandIn
	snapTags *snapshotTagsStandIn
	op       *ops.OperatorConsole
	log      *audit.Log
}

func newMotoFleet(t *testing.T) *motoFleet {
	t.Helper()
	c, _ := awstest.MotoClients(t, false)
	m := &motoFleet{c: c}
	var ok bool
	if m.ec2, ok = c.EC2.(*ec2.Client); !ok {
		t.Fatalf("LoadClients returned %T for EC2", c.EC2)
	}
	if m.as, ok = c.AutoScaling.(*autoscaling.Client); !ok {
		t.Fatalf("LoadClients returned %T for Auto Scaling", c.AutoScaling)
	}
	m.standIn = &refreshStandIn{AutoScalingAPI: c.AutoScaling}
	m.snapTags = &snapshotTagsStandIn{EC2API: c.EC2}
	wrapped := c
	wrapped.AutoScaling, wrapped.EC2 = m.standIn, m.snapTags
	m.log = audit.New(filepath.Join(t.TempDir(), "audit.jsonl"))
	m.op = ops.NewOperator(wrapped, ops.Options{Options: inventory.Options{Refresh: 10 * time.Millisecond}, Audit: m.log})
	return m
}

// instance runs one instance of service api from one of moto's stock AMIs.
func (m *motoFleet) instance(t *testing.T, ctx context.Context) string {
	t.Helper()
	imgs, err := m.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("moto stock images: %v (%d)", err, len(imgs.Images))
	}
	out, err := m.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Micro,
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{
			{Key: aws.String("Service"), Value: aws.String("api")}, {Key: aws.String("Environment"), Value: aws.String("review")}}}},
	})
	if err != nil {
		t.Fatalf("run instance: %v", err)
	}
	return aws.ToString(out.Instances[0].InstanceId)
}

// image bakes an AMI of service api from the instance, directly with the SDK.
func (m *motoFleet) image(t *testing.T, ctx context.Context, instance, name string) string {
	t.Helper()
	out, err := m.ec2.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(instance), Name: aws.String(name),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: []ec2types.Tag{{Key: aws.String("Service"), Value: aws.String("api")}}}}})
	if err != nil {
		t.Fatalf("create image %s: %v", name, err)
	}
	return aws.ToString(out.ImageId)
}

// group creates launch template tpl with one version per AMI and group api-production on it
// at version.
func (m *motoFleet) group(t *testing.T, ctx context.Context, tpl, version string, amis ...string) string {
	t.Helper()
	lt, err := m.ec2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(tpl),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(amis[0]), InstanceType: ec2types.InstanceTypeT3Micro, KeyName: aws.String("ops-key")}})
	if err != nil {
		t.Fatalf("create launch template: %v", err)
	}
	id := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	for _, ami := range amis[1:] {
		if _, err := m.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), SourceVersion: aws.String("$Latest"),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(ami)}}); err != nil {
			t.Fatalf("create launch template version: %v", err)
		}
	}
	_, err = m.as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("api-production"), MinSize: aws.Int32(1), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1),
		AvailabilityZones: []string{"us-east-1a"}, HealthCheckGracePeriod: aws.Int32(45),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String(version)},
		Tags: []astypes.Tag{
			{Key: aws.String("Service"), Value: aws.String("api"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("Environment"), Value: aws.String("production"), PropagateAtLaunch: aws.Bool(true)},
		},
	})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return id
}

// recordedSince lists the requests moto records for this test's account from now on.
func recordedSince(t *testing.T) func() []string {
	t.Helper()
	all := awstest.MotoRecording(t)
	base := len(all())
	return func() []string { return all()[base:] }
}

// mutations are the recorded actions that are not reads.
func mutations(actions []string) []string {
	var out []string
	for _, a := range actions {
		if !slices.ContainsFunc(awsapi.ReadOperations, func(o awsapi.Operation) bool { return o.Name == a }) {
			out = append(out, a)
		}
	}
	return out
}

func TestMoto_BakeCreatesTaggedImage_SnapshotTagsNotInMoto(t *testing.T) {
	m := newMotoFleet(t)
	ctx := context.Background()
	inst := m.instance(t, ctx)
	plan, err := m.op.PlanBake(ctx, ops.BakeRequest{InstanceID: inst, Label: "c0ffee1", NoReboot: true, Reason: "qa passed"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || plan.Service != "api" || plan.Env != "review" || !strings.HasPrefix(plan.Bake.Name, "api-c0ffee1-") {
		t.Fatalf("plan = %+v %+v", plan, plan.Checks)
	}
	ch, err := m.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil {
		t.Fatalf("last = %+v", last)
	}
	logEv, err := m.log.Read()
	if err != nil || len(logEv) != 2 || logEv[1].Result != "succeeded" || !strings.HasPrefix(logEv[1].To, "ami-") {
		t.Fatalf("audit = %+v %v", logEv, err)
	}
	who := logEv[0].Who
	if !strings.HasPrefix(who, "arn:aws:") {
		t.Errorf("who = %q, want moto's caller ARN", who)
	}
	out, err := m.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{logEv[1].To}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("describe baked image: %v", err)
	}
	img := out.Images[0]
	tags := map[string]string{}
	for _, tg := range img.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	want := map[string]string{"Service": "api", model.TagSourceInstance: inst, model.TagBakedBy: who, model.TagLabel: "c0ffee1"}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("image tag %s = %q, want %q (all: %v)", k, tags[k], v, tags)
		}
	}
	if _, err := time.Parse(time.RFC3339, tags[model.TagBakedAt]); err != nil {
		t.Errorf("baked-at tag %q: %v", tags[model.TagBakedAt], err)
	}
	if aws.ToString(img.Name) != plan.Bake.Name {
		t.Errorf("name = %q, want %q", aws.ToString(img.Name), plan.Bake.Name)
	}
	// The snapshots get the same tags (checked on the request: moto cannot store them).
	if reqs := m.snapTags.requests; len(reqs) != 1 || len(reqs[0].TagSpecifications) != 2 ||
		reqs[0].TagSpecifications[1].ResourceType != ec2types.ResourceTypeSnapshot || len(reqs[0].TagSpecifications[1].Tags) != len(img.Tags) {
		t.Errorf("CreateImage tag specifications = %+v", reqs)
	}
	// The console lists it among the service's images.
	imgs, err := m.op.Images(ctx, "api")
	if err != nil || len(imgs) != 1 || imgs[0].ID != logEv[1].To || imgs[0].Label != "c0ffee1" || imgs[0].BakedBy != who {
		t.Errorf("Images(api) = %+v, %v", imgs, err)
	}
}

func TestMoto_PromotePinsAndCreatesVersion_InstanceRefreshOnStandIn(t *testing.T) {
	m := newMotoFleet(t)
	ctx := context.Background()
	inst := m.instance(t, ctx)
	oldAMI := m.image(t, ctx, inst, "api-old")
	newAMI := m.image(t, ctx, inst, "api-new")
	tpl := m.group(t, ctx, "api-lt", "$Latest", oldAMI)
	recorded := recordedSince(t)

	plan, err := m.op.PlanPromote(ctx, ops.PromoteRequest{Service: "api", Env: "production", ImageID: newAMI, Reason: "moto check"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || len(plan.Steps) != 1 {
		t.Fatalf("plan = %+v", plan.Checks)
	}
	if s := plan.Steps[0]; s.FromImage.ImageID != oldAMI || s.ToImage.ImageID != newAMI || s.Template.Version != "1" {
		t.Errorf("step = %+v", s)
	}
	if got := mutations(recorded()); len(got) != 0 {
		t.Fatalf("planning sent %v", got)
	}
	ch, err := m.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil {
		t.Fatalf("last = %+v", last)
	}
	// On the wire: the pin, then the version; nothing points the group at the new version.
	if got := strings.Join(mutations(recorded()), ","); got != "UpdateAutoScalingGroup,CreateLaunchTemplateVersion" {
		t.Errorf("mutating requests at moto: %s", got)
	}
	g, err := m.as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"api-production"}})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("describe group: %v", err)
	}
	if v := aws.ToString(g.AutoScalingGroups[0].LaunchTemplate.Version); v != "1" {
		t.Errorf("group names version %q, want the known-good 1 pinned", v)
	}
	vs, err := m.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(tpl), Versions: []string{"2"}})
	if err != nil || len(vs.LaunchTemplateVersions) != 1 {
		t.Fatalf("version 2: %v", err)
	}
	v := vs.LaunchTemplateVersions[0]
	// moto stores the request's data but ignores SourceVersion (AWS copies the rest of the
	// source version); the request's SourceVersion and data are checked on the recording fake.
	if d := v.LaunchTemplateData; d == nil || aws.ToString(d.ImageId) != newAMI {
		t.Errorf("version 2 data = %+v, want AMI %s", d, newAMI)
	}
	note, ok := model.ParseReleaseNote(aws.ToString(v.VersionDescription))
	if !ok || note.From != oldAMI || note.To != newAMI || note.Why != "moto check" || !strings.HasPrefix(note.Who, "arn:aws:") {
		t.Errorf("description %q -> %+v", aws.ToString(v.VersionDescription), note)
	}
	if len(m.standIn.started) != 1 {
		t.Fatalf("refreshes started: %d", len(m.standIn.started))
	}
	dc := m.standIn.started[0].DesiredConfiguration
	if dc == nil || dc.LaunchTemplate == nil || aws.ToString(dc.LaunchTemplate.Version) != "2" || aws.ToString(dc.LaunchTemplate.LaunchTemplateId) != tpl {
		t.Errorf("desired configuration = %+v", dc)
	}
	if w := aws.ToInt32(m.standIn.started[0].Preferences.InstanceWarmup); w != 45 {
		t.Errorf("warmup = %d, want the group's 45 s grace period", w)
	}
	// History reads the release back from moto.
	h, err := m.op.History(ctx, "api", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Releases) != 2 || h.Releases[0].Version != 2 || h.Releases[0].ImageID != newAMI {
		t.Errorf("releases = %+v", h.Releases)
	}
}

func TestMoto_RollbackDeregisteredPrevious_ThenOlderVersion(t *testing.T) {
	m := newMotoFleet(t)
	ctx := context.Background()
	inst := m.instance(t, ctx)
	oldest := m.image(t, ctx, inst, "api-1")
	prev := m.image(t, ctx, inst, "api-2")
	cur := m.image(t, ctx, inst, "api-3")
	tpl := m.group(t, ctx, "api-lt", "3", oldest, prev, cur)
	if _, err := m.ec2.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(prev)}); err != nil {
		t.Fatal(err)
	}
	p, err := m.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() {
		t.Fatalf("rollback to deregistered %s not refused: %+v", prev, p.Checks)
	}
	d := p.Failures()[0].Detail
	for _, want := range []string{prev, "deregistered", "version 1 (" + oldest, "--to-version 1"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	recorded := recordedSince(t)
	p, err = m.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "production", ToVersion: "1"})
	if err != nil || p.Blocked() {
		t.Fatalf("to version 1: %v %+v", err, p.Checks)
	}
	ch, err := m.op.Execute(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	awstest.Progress(t, ch)
	// No new version, no group update: only the rolled-back mark on the image it leaves.
	if got := mutations(recorded()); !slices.Equal(got, []string{"CreateTags"}) {
		t.Errorf("a rollback to an existing version sent %v to moto, want only CreateTags", got)
	}
	imgs, err := inventory.LookupImages(ctx, m.ec2, []string{cur})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := model.Verdict(imgs.Marks(cur)); !ok || v.Kind != model.MarkRolledBack || v.Env != "production" {
		t.Errorf("image %s left by the rollback: marks %+v, want rolled back in production", cur, imgs.Marks(cur))
	}
	if len(m.standIn.started) != 1 || aws.ToString(m.standIn.started[0].DesiredConfiguration.LaunchTemplate.Version) != "1" ||
		aws.ToString(m.standIn.started[0].DesiredConfiguration.LaunchTemplate.LaunchTemplateId) != tpl {
		t.Errorf("refresh = %+v", m.standIn.started)
	}
	if got, _ := m.log.Read(); len(got) != 2 || got[1].Result != "succeeded" || got[1].To != oldest || got[1].From != cur {
		t.Errorf("audit = %+v", got)
	}
}

// Marks are image tags: moto stores them, every reader sees them, and the rollback that
// follows skips the marked release.
func TestMoto_MarkBadIsAnImageTagTheRollbackHonours(t *testing.T) {
	m := newMotoFleet(t)
	ctx := context.Background()
	inst := m.instance(t, ctx)
	oldest := m.image(t, ctx, inst, "api-m1")
	prev := m.image(t, ctx, inst, "api-m2")
	cur := m.image(t, ctx, inst, "api-m3")
	m.group(t, ctx, "api-mark-lt", "3", oldest, prev, cur)
	p, err := m.op.PlanMark(ctx, ops.MarkRequest{Service: "api", Env: "production", Version: 2, Kind: model.MarkBad, Reason: "leaks memory"})
	if err != nil || p.Blocked() {
		t.Fatalf("plan mark: %v %s", err, p.FailureText())
	}
	recorded := recordedSince(t)
	ch, err := m.op.Execute(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	awstest.Progress(t, ch)
	if got := mutations(recorded()); !slices.Equal(got, []string{"CreateTags"}) {
		t.Errorf("mark sent %v, want one CreateTags", got)
	}
	out, err := m.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{prev}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("describe %s: %v", prev, err)
	}
	v, ok := model.Verdict(inventory.MarksOf(out.Images[0].Tags))
	if !ok || v.Kind != model.MarkBad || v.Reason != "leaks memory" || v.Env != "production" || v.Who == "" {
		t.Fatalf("tags of %s = %+v", prev, out.Images[0].Tags)
	}
	rb, err := m.op.PlanRollback(ctx, ops.RollbackRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Steps[0].ToVersion != "1" || rb.Steps[0].ToImage.ImageID != oldest {
		t.Errorf("rollback after marking version 2 bad targets version %s (%s), want 1 (%s)", rb.Steps[0].ToVersion, rb.Steps[0].ToImage.ImageID, oldest)
	}
}
