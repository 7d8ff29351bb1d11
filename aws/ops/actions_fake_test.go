package ops

import (
	"context"
	"errors"
	"reflect"
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
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/awsapi/fake"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/model"
)

// actWorld is a tiny account behind the recorded fake for the action tests: groups, launch
// template versions, images and refreshes, answered from maps so that a test states only
// what differs. Mutating calls are recorded by the fake and, where later reads depend on
// them, reflected here.
type actWorld struct {
	mu        sync.Mutex
	f         *fake.AWS
	groups    []astypes.AutoScalingGroup
	versions  map[string]map[int64]ec2types.LaunchTemplateVersion // template id -> number
	images    map[string]ec2types.Image
	refreshes map[string][]astypes.InstanceRefresh // by group
	order     []string                             // mutating operations in call order
	// refreshSteps are the statuses a started or rolled back refresh reports on successive
	// reads by ID (the last one repeats).
	refreshSteps []astypes.InstanceRefreshStatus
	reads        map[string]int // reads by ID per refresh
	nextVersion  map[string]int64
}

const actCaller = "arn:aws:iam::123456789012:user/ana"

var actNow = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func actTag(k, v string) astypes.TagDescription {
	return astypes.TagDescription{Key: aws.String(k), Value: aws.String(v)}
}

func ec2Tags(kv ...string) []ec2types.Tag {
	var out []ec2types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// actGroup is a group of service api on launch template tpl at version, with n healthy
// instances in service.
func actGroup(name, env, tpl, version string, n int) astypes.AutoScalingGroup {
	g := astypes.AutoScalingGroup{
		AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(int32(n)), MaxSize: aws.Int32(int32(2 * n)), DesiredCapacity: aws.Int32(int32(n)),
		HealthCheckType: aws.String("ELB"), HealthCheckGracePeriod: aws.Int32(60),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(tpl), LaunchTemplateName: aws.String(tpl + "-name"), Version: aws.String(version)},
		Tags:           []astypes.TagDescription{actTag("Service", "api"), actTag("Environment", env)},
	}
	for i := 0; i < n; i++ {
		g.Instances = append(g.Instances, astypes.Instance{
			InstanceId: aws.String(name + "-i" + string(rune('0'+i))), LifecycleState: astypes.LifecycleStateInService,
			HealthStatus: aws.String("Healthy"), AvailabilityZone: aws.String("eu-west-1a"),
		})
	}
	return g
}

func actImage(id, state, service string, tags ...string) ec2types.Image {
	img := ec2types.Image{ImageId: aws.String(id), Name: aws.String(id + "-name"), State: ec2types.ImageState(state), CreationDate: aws.String("2026-11-20T10:00:00.000Z")}
	if service != "" {
		img.Tags = ec2Tags(append([]string{"Service", service}, tags...)...)
	}
	return img
}

func created(img ec2types.Image, at string) ec2types.Image {
	img.CreationDate = aws.String(at)
	return img
}

func newActWorld(t *testing.T) *actWorld {
	w := &actWorld{
		f:            &fake.AWS{},
		versions:     map[string]map[int64]ec2types.LaunchTemplateVersion{},
		images:       map[string]ec2types.Image{},
		refreshes:    map[string][]astypes.InstanceRefresh{},
		reads:        map[string]int{},
		nextVersion:  map[string]int64{},
		refreshSteps: []astypes.InstanceRefreshStatus{astypes.InstanceRefreshStatusInProgress, astypes.InstanceRefreshStatusSuccessful},
	}
	f := w.f
	f.GetCallerIdentityOp.Respond = func(*sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
		return &sts.GetCallerIdentityOutput{Arn: aws.String(actCaller), Account: aws.String("123456789012")}, nil
	}
	f.DescribeAutoScalingGroupsOp.Respond = w.describeGroups
	f.DescribeInstanceRefreshesOp.Respond = w.describeRefreshes
	f.DescribeLaunchTemplateVersionsOp.Respond = w.describeVersions
	f.DescribeImagesOp.Respond = w.describeImages
	f.UpdateAutoScalingGroupOp.Respond = func(in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.order = append(w.order, "UpdateAutoScalingGroup")
		for i := range w.groups {
			if aws.ToString(w.groups[i].AutoScalingGroupName) == aws.ToString(in.AutoScalingGroupName) && in.LaunchTemplate != nil {
				lt := *w.groups[i].LaunchTemplate
				lt.Version = in.LaunchTemplate.Version
				w.groups[i].LaunchTemplate = &lt
			}
		}
		return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
	}
	f.CreateLaunchTemplateVersionOp.Respond = func(in *ec2.CreateLaunchTemplateVersionInput) (*ec2.CreateLaunchTemplateVersionOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.order = append(w.order, "CreateLaunchTemplateVersion")
		tpl := aws.ToString(in.LaunchTemplateId)
		n := int64(0)
		for v := range w.versions[tpl] {
			n = max(n, v)
		}
		n++
		w.versions[tpl][n] = ec2types.LaunchTemplateVersion{LaunchTemplateId: aws.String(tpl), VersionNumber: aws.Int64(n),
			VersionDescription: in.VersionDescription, LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: in.LaunchTemplateData.ImageId}}
		return &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: &ec2types.LaunchTemplateVersion{LaunchTemplateId: aws.String(tpl), VersionNumber: aws.Int64(n)}}, nil
	}
	f.StartInstanceRefreshOp.Respond = func(in *autoscaling.StartInstanceRefreshInput) (*autoscaling.StartInstanceRefreshOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.order = append(w.order, "StartInstanceRefresh")
		g := aws.ToString(in.AutoScalingGroupName)
		id := "r-" + g
		w.refreshes[g] = append(w.refreshes[g], astypes.InstanceRefresh{InstanceRefreshId: aws.String(id), AutoScalingGroupName: in.AutoScalingGroupName,
			Status: astypes.InstanceRefreshStatusPending, StartTime: aws.Time(actNow), DesiredConfiguration: in.DesiredConfiguration})
		return &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String(id)}, nil
	}
	f.RollbackInstanceRefreshOp.Respond = func(in *autoscaling.RollbackInstanceRefreshInput) (*autoscaling.RollbackInstanceRefreshOutput, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.order = append(w.order, "RollbackInstanceRefresh")
		g := aws.ToString(in.AutoScalingGroupName)
		rs := w.refreshes[g]
		if len(rs) == 0 {
			return nil, &smithy.GenericAPIError{Code: "ActiveInstanceRefreshNotFound", Message: "no active refresh"}
		}
		return &autoscaling.RollbackInstanceRefreshOutput{InstanceRefreshId: rs[len(rs)-1].InstanceRefreshId}, nil
	}
	return w
}

func (w *actWorld) addVersion(tpl string, n int64, image, desc string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.versions[tpl] == nil {
		w.versions[tpl] = map[int64]ec2types.LaunchTemplateVersion{}
	}
	// A version is created when its release note says; versions without one, 20 hours apart.
	created := actNow.Add(time.Duration(n*20-100) * time.Hour)
	if note, ok := model.ParseReleaseNote(desc); ok {
		created = note.When
	}
	w.versions[tpl][n] = ec2types.LaunchTemplateVersion{LaunchTemplateId: aws.String(tpl), LaunchTemplateName: aws.String(tpl + "-name"), VersionNumber: aws.Int64(n),
		VersionDescription: aws.String(desc), CreatedBy: aws.String("arn:aws:iam::123456789012:user/terraform"), CreateTime: aws.Time(created),
		LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String(image)}}
}

func (w *actWorld) describeGroups(in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []astypes.AutoScalingGroup
	for _, g := range w.groups {
		if len(in.AutoScalingGroupNames) > 0 && !slices.Contains(in.AutoScalingGroupNames, aws.ToString(g.AutoScalingGroupName)) {
			continue
		}
		out = append(out, g)
	}
	return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: out}, nil
}

func (w *actWorld) describeRefreshes(in *autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := aws.ToString(in.AutoScalingGroupName)
	rs := w.refreshes[g]
	if len(in.InstanceRefreshIds) == 0 {
		return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: rs}, nil
	}
	var out []astypes.InstanceRefresh
	for i := range rs {
		r := &rs[i]
		if aws.ToString(r.InstanceRefreshId) != in.InstanceRefreshIds[0] {
			continue
		}
		id := aws.ToString(r.InstanceRefreshId)
		n := w.reads[id]
		w.reads[id]++
		step := w.refreshSteps[min(n, len(w.refreshSteps)-1)]
		r.Status = step
		r.PercentageComplete = aws.Int32(int32(min(100, 50*(n+1))))
		r.InstancesToUpdate = aws.Int32(int32(max(0, 1-n)))
		out = append(out, *r)
	}
	return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: out}, nil
}

func (w *actWorld) describeVersions(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tpl := aws.ToString(in.LaunchTemplateId)
	vs := w.versions[tpl]
	if vs == nil {
		return nil, &smithy.GenericAPIError{Code: "InvalidLaunchTemplateId.NotFound", Message: "no template " + tpl}
	}
	var latest int64
	for n := range vs {
		latest = max(latest, n)
	}
	var out []ec2types.LaunchTemplateVersion
	if len(in.Versions) == 0 {
		for n := int64(1); n <= latest; n++ {
			if v, ok := vs[n]; ok {
				out = append(out, v)
			}
		}
	}
	for _, s := range in.Versions {
		n, ok := awsapi.NumericVersion(s)
		if s == "$Latest" || s == "$Default" {
			n, ok = latest, true
		}
		if v, found := vs[n]; ok && found {
			out = append(out, v)
		}
	}
	return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: out}, nil
}

func (w *actWorld) describeImages(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []ec2types.Image
	if len(in.ImageIds) > 0 {
		for _, id := range in.ImageIds {
			img, ok := w.images[id]
			if !ok {
				return nil, &smithy.GenericAPIError{Code: "InvalidAMIID.NotFound", Message: "The image id '[" + id + "]' does not exist"}
			}
			out = append(out, img)
		}
		return &ec2.DescribeImagesOutput{Images: out}, nil
	}
	for _, f := range in.Filters {
		for _, id := range f.Values {
			switch aws.ToString(f.Name) {
			case "image-id":
				if img, ok := w.images[id]; ok {
					out = append(out, img)
				}
			case "tag:Service":
				for _, img := range w.images {
					if inventory.TagOf(img.Tags, "Service") == id {
						out = append(out, img)
					}
				}
			}
		}
	}
	return &ec2.DescribeImagesOutput{Images: out}, nil
}

// operator builds the console over the fake, with a fixed clock, fast polling and an audit
// log in a temporary directory.
func (w *actWorld) operator(t *testing.T) (*OperatorConsole, *audit.Log) {
	t.Helper()
	log := audit.New(t.TempDir() + "/state/audit.jsonl")
	op := NewOperator(w.f.Clients(), Options{
		Options:    inventory.Options{Now: func() time.Time { return actNow }, Refresh: time.Millisecond},
		Audit:      log,
		Production: func(env string) bool { return env == "production" },
	})
	return op, log
}

// standardWorld: api/production on one group (lt-a at $Latest = version 3, ami-old); api has
// a newer baked image ami-new.
func standardWorld(t *testing.T) *actWorld {
	w := newActWorld(t)
	w.groups = []astypes.AutoScalingGroup{actGroup("api-prod-a", "production", "lt-a", "$Latest", 2)}
	w.addVersion("lt-a", 1, "ami-older", "")
	w.addVersion("lt-a", 2, "ami-prev", model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/bob", When: actNow.Add(-48 * time.Hour), From: "ami-older", To: "ami-prev"}.String())
	w.addVersion("lt-a", 3, "ami-old", model.ReleaseNote{Who: "arn:aws:iam::123456789012:user/cy", When: actNow.Add(-24 * time.Hour), From: "ami-prev", To: "ami-old", Why: "fix bids"}.String())
	w.images["ami-older"] = actImage("ami-older", "available", "api")
	w.images["ami-prev"] = actImage("ami-prev", "available", "api")
	w.images["ami-old"] = actImage("ami-old", "available", "api", model.TagLabel, "abc111")
	w.images["ami-new"] = actImage("ami-new", "available", "api", model.TagLabel, "def222", model.TagBakedBy, "arn:aws:iam::123456789012:user/dee", model.TagBakedAt, "2026-11-27T08:00:00Z")
	return w
}

func results(t *testing.T, log *audit.Log) []string {
	t.Helper()
	evs, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Action)+":"+e.Result)
	}
	return out
}

func TestPromote_StartInstanceRefreshRequest_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new", Reason: "ship bids v2"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || len(plan.Warnings()) > 0 {
		t.Fatalf("plan refused: %+v", plan.Checks)
	}
	if w.f.StartInstanceRefreshOp.Calls()+w.f.CreateLaunchTemplateVersionOp.Calls()+w.f.UpdateAutoScalingGroupOp.Calls() != 0 {
		t.Fatal("planning sent a mutating call")
	}
	if !plan.Production {
		t.Error("production environment not marked")
	}
	s := plan.Steps[0]
	if s.Group != "api-prod-a" || s.Template.Version != "3" || s.FromImage.ImageID != "ami-old" || s.ToImage.ImageID != "ami-new" {
		t.Errorf("step = %+v", s)
	}
	if s.FromImage.ReleasedBy != "arn:aws:iam::123456789012:user/cy" || !s.FromImage.ReleasedAt.Equal(actNow.Add(-24*time.Hour)) || s.FromImage.Label != "abc111" {
		t.Errorf("from release = %+v, want the release note's who/when", s.FromImage)
	}
	if s.ToImage.ReleasedBy != "arn:aws:iam::123456789012:user/dee" || s.ToImage.Label != "def222" || s.ToImage.ReleasedAt.Format(time.RFC3339) != "2026-11-27T08:00:00Z" {
		t.Errorf("to image = %+v, want baked by/at from its tags", s.ToImage)
	}
	if plan.Strategy != "instance refresh: launch before terminate (min healthy 100%, max 200%), skip matching, auto-rollback" {
		t.Errorf("strategy = %q", plan.Strategy)
	}
	if plan.Capacity != "never below 2 healthy; up to 4 instances during rollout" {
		t.Errorf("capacity = %q", plan.Capacity)
	}
	if plan.CLI != "adstage-ops promote --service api --env production --image ami-new --reason 'ship bids v2' --yes" {
		t.Errorf("CLI = %q", plan.CLI)
	}
	if want := (30 + 60 + 2) * time.Second; plan.RestoreEstimate != want {
		t.Errorf("estimate = %v, want one batch (no balancer): 30 s boot, 60 s warmup, 2 s to terminate", plan.RestoreEstimate)
	}

	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	last := evs[len(evs)-1]
	if !last.Done || last.Err != nil {
		t.Fatalf("last event = %+v", last)
	}

	// The known-good version is pinned first, then the version is created, then the refresh.
	if got := strings.Join(w.order, ","); got != "UpdateAutoScalingGroup,CreateLaunchTemplateVersion,StartInstanceRefresh" {
		t.Errorf("mutating calls in order: %s", got)
	}
	pin := w.f.UpdateAutoScalingGroupOp.Inputs()
	wantPin := &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("api-prod-a"),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String("3")}}
	if len(pin) != 1 || !reflect.DeepEqual(pin[0], wantPin) {
		t.Errorf("UpdateAutoScalingGroup = %+v, want only the pin to version 3", pin)
	}

	cv := w.f.CreateLaunchTemplateVersionOp.Inputs()
	if len(cv) != 1 {
		t.Fatalf("CreateLaunchTemplateVersion calls = %d", len(cv))
	}
	if aws.ToString(cv[0].LaunchTemplateId) != "lt-a" || aws.ToString(cv[0].SourceVersion) != "3" || cv[0].LaunchTemplateName != nil {
		t.Errorf("CreateLaunchTemplateVersion names %v / source %v", aws.ToString(cv[0].LaunchTemplateId), aws.ToString(cv[0].SourceVersion))
	}
	if !reflect.DeepEqual(cv[0].LaunchTemplateData, &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-new")}) {
		t.Errorf("launch template data changes more than the AMI: %+v", cv[0].LaunchTemplateData)
	}
	note, ok := model.ParseReleaseNote(aws.ToString(cv[0].VersionDescription))
	wantNote := model.ReleaseNote{Who: actCaller, When: actNow, From: "ami-old", To: "ami-new", Why: "ship bids v2"}
	if !ok || note != wantNote {
		t.Errorf("description %q: got %+v want %+v", aws.ToString(cv[0].VersionDescription), note, wantNote)
	}

	sr := w.f.StartInstanceRefreshOp.Inputs()
	want := &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("api-prod-a"),
		Strategy:             astypes.RefreshStrategyRolling,
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String("4")}},
		Preferences: &astypes.RefreshPreferences{
			MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(200),
			SkipMatching: aws.Bool(true), AutoRollback: aws.Bool(true), InstanceWarmup: aws.Int32(60),
			StandbyInstances: astypes.StandbyInstancesIgnore, ScaleInProtectedInstances: astypes.ScaleInProtectedInstancesIgnore,
		},
	}
	if len(sr) != 1 || !reflect.DeepEqual(sr[0], want) {
		t.Errorf("StartInstanceRefresh = %+v\nwant %+v", sr, want)
	}
	if got := strings.Join(results(t, log), ","); got != "promote:started,promote:succeeded" {
		t.Errorf("audit = %s", got)
	}
	evsLog, _ := log.Read()
	fin := evsLog[1]
	if fin.Who != actCaller || fin.From != "ami-old" || fin.To != "ami-new" || fin.Reason != "ship bids v2" || len(fin.Groups) != 1 || fin.Finished == nil || fin.Service != "api" || fin.Env != "production" {
		t.Errorf("audit event = %+v", fin)
	}
	var stages []string
	for _, e := range evs {
		stages = append(stages, e.Stage)
	}
	if got := strings.Join(stages, ","); !strings.HasPrefix(got, "pin,template-version,refresh,started,refresh") || !strings.HasSuffix(got, ",done") {
		t.Errorf("stages = %s", got)
	}
}

func TestPromote_PinnedGroupNotUpdated_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	w.groups[0].LaunchTemplate.Version = aws.String("3")
	op, _ := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	awstest.Progress(t, ch)
	if n := w.f.UpdateAutoScalingGroupOp.Calls(); n != 0 {
		t.Errorf("a group already on a numeric version was updated %d times", n)
	}
	if got := strings.Join(w.order, ","); got != "CreateLaunchTemplateVersion,StartInstanceRefresh" {
		t.Errorf("calls = %s", got)
	}
}

func TestBake_CreateImageTagSpecifications_RecordedFake(t *testing.T) {
	w := newActWorld(t)
	op, log := w.operator(t)
	w.f.DescribeInstancesOp.Respond = func(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
		return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
			InstanceId: aws.String("i-1"), ImageId: aws.String("ami-base"), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
			Tags: ec2Tags("Service", "api", "Environment", "review", "aws:autoscaling:groupName", "api-review"),
		}}}}}, nil
	}
	w.f.CreateImageOp.Respond = func(*ec2.CreateImageInput) (*ec2.CreateImageOutput, error) {
		return &ec2.CreateImageOutput{ImageId: aws.String("ami-9")}, nil
	}
	pending := ec2types.Image{ImageId: aws.String("ami-9"), State: ec2types.ImageStatePending,
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String("snap-1")}}}}
	avail := pending
	avail.State = ec2types.ImageStateAvailable
	w.f.DescribeImagesOp.Queue(&ec2.DescribeImagesOutput{Images: []ec2types.Image{pending}})
	w.f.DescribeImagesOp.QueueErr(&smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "slow down"})
	w.f.DescribeImagesOp.Queue(&ec2.DescribeImagesOutput{Images: []ec2types.Image{avail}})
	w.f.DescribeSnapshotsOp.Respond = func(*ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
		return &ec2.DescribeSnapshotsOutput{Snapshots: []ec2types.Snapshot{{SnapshotId: aws.String("snap-1"), Progress: aws.String("40%")}}}, nil
	}
	ctx := context.Background()
	plan, err := op.PlanBake(ctx, BakeRequest{InstanceID: "i-1", Label: "abc 123"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || plan.Service != "api" || plan.Env != "review" {
		t.Fatalf("plan = %+v", plan)
	}
	if plan.Bake.Name != "api-abc-123-20261128090000" {
		t.Errorf("name = %q", plan.Bake.Name)
	}
	if plan.CLI != "adstage-ops bake --instance i-1 --label 'abc 123' --yes" {
		t.Errorf("CLI = %q", plan.CLI)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil || last.Percent != 100 {
		t.Errorf("last = %+v", last)
	}
	sawProgress := false
	for _, e := range evs {
		if e.Stage == StageImage && e.Percent == 40 {
			sawProgress = true
		}
	}
	if !sawProgress {
		t.Errorf("no snapshot progress in %+v", evs)
	}
	in := w.f.CreateImageOp.Inputs()
	if len(in) != 1 {
		t.Fatalf("CreateImage calls = %d", len(in))
	}
	tags := ec2Tags("Service", "api", model.TagSourceInstance, "i-1", model.TagBakedBy, actCaller, model.TagBakedAt, "2026-11-28T09:00:00Z", model.TagLabel, "abc 123")
	want := []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags}, {ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags}}
	if !reflect.DeepEqual(in[0].TagSpecifications, want) {
		t.Errorf("tag specifications = %+v", in[0].TagSpecifications)
	}
	if aws.ToString(in[0].InstanceId) != "i-1" || aws.ToBool(in[0].NoReboot) || in[0].NoReboot == nil || aws.ToString(in[0].Name) != plan.Bake.Name {
		t.Errorf("CreateImage = %+v (NoReboot must be an explicit false)", in[0])
	}
	evLog, _ := log.Read()
	if got := strings.Join(results(t, log), ","); got != "bake:started,bake:succeeded" || evLog[1].To != "ami-9" || evLog[1].From != "i-1" {
		t.Errorf("audit = %s %+v", got, evLog)
	}
}

func TestPlanBake_RefusesStoppedOrMissingInstance(t *testing.T) {
	w := newActWorld(t)
	op, _ := w.operator(t)
	w.f.DescribeInstancesOp.QueueErr(&smithy.GenericAPIError{Code: "InvalidInstanceID.NotFound", Message: "nope"})
	p, err := op.PlanBake(context.Background(), BakeRequest{InstanceID: "i-gone", Label: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !strings.Contains(p.Failures()[0].Detail, "does not exist") {
		t.Errorf("checks = %+v", p.Checks)
	}
	w.f.DescribeInstancesOp.Queue(&ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{{
		InstanceId: aws.String("i-2"), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameStopped}, Tags: ec2Tags("Service", "api")}}}}})
	p, err = op.PlanBake(context.Background(), BakeRequest{InstanceID: "i-2", Label: "x", NoReboot: true})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !strings.Contains(p.Failures()[0].Detail, "is stopped") {
		t.Errorf("checks = %+v", p.Checks)
	}
	if p.CLI != "adstage-ops bake --instance i-2 --label x --no-reboot --yes" {
		t.Errorf("CLI = %q", p.CLI)
	}
	if _, err := op.Execute(context.Background(), p); err == nil || w.f.CreateImageOp.Calls() != 0 {
		t.Errorf("blocked bake executed: %v", err)
	}
}

func TestPlanPromote_Refusals_RecordedFake(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(w *actWorld)
		req    PromoteRequest
		check  string
		detail string
		warn   bool
	}{
		{"image not found", func(w *actWorld) {}, PromoteRequest{ImageID: "ami-nope"}, CheckImageExists, "does not exist", false},
		{"image pending", func(w *actWorld) { w.images["ami-new"] = actImage("ami-new", "pending", "api") }, PromoteRequest{ImageID: "ami-new"}, CheckImageReady, "is pending: wait", false},
		{"image of another service", func(w *actWorld) { w.images["ami-new"] = actImage("ami-new", "available", "web") }, PromoteRequest{ImageID: "ami-new"}, CheckImageService, "baked for web", true},
		{"launch configuration", func(w *actWorld) {
			g := actGroup("api-legacy", "production", "", "", 2)
			g.LaunchTemplate, g.LaunchConfigurationName = nil, aws.String("api-lc-7")
			w.groups = append(w.groups, g)
		}, PromoteRequest{ImageID: "ami-new"}, CheckTemplate, "Create a launch template from the configuration", false},
		{"refresh running", func(w *actWorld) {
			w.refreshes["api-prod-a"] = []astypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-9"), Status: astypes.InstanceRefreshStatusInProgress, PercentageComplete: aws.Int32(30), StartTime: aws.Time(actNow)}}
		}, PromoteRequest{ImageID: "ami-new"}, CheckNoRefresh, "roll it back with `adstage-ops rollback --service api --env production`", false},
		{"launch suspended", func(w *actWorld) {
			w.groups[0].SuspendedProcesses = []astypes.SuspendedProcess{{ProcessName: aws.String("Launch")}}
		}, PromoteRequest{ImageID: "ami-new"}, CheckProcesses, "resume-processes", false},
		{"short of healthy capacity", func(w *actWorld) {
			w.groups[0].Instances[1].HealthStatus = aws.String("Unhealthy")
		}, PromoteRequest{ImageID: "ami-new"}, CheckCapacity, "1 healthy of 2 desired", true},
		{"already running", func(w *actWorld) {}, PromoteRequest{ImageID: "ami-old"}, CheckChange, "nothing to promote", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := standardWorld(t)
			c.setup(w)
			op, log := w.operator(t)
			c.req.Service, c.req.Env = "api", "production"
			p, err := op.PlanPromote(context.Background(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			var got *model.Check
			for i := range p.Checks {
				if p.Checks[i].Name == c.check {
					got = &p.Checks[i]
				}
			}
			if got == nil || got.OK || got.Warn != c.warn || !strings.Contains(got.Detail, c.detail) {
				t.Fatalf("check %q = %+v; all: %+v", c.check, got, p.Checks)
			}
			if p.Blocked() == c.warn {
				t.Errorf("Blocked() = %v for a warn=%v check", p.Blocked(), c.warn)
			}
			if !c.warn {
				if _, err := op.Execute(context.Background(), p); !IsRefusal(err) {
					t.Fatalf("blocked plan: err = %v, want a refusal", err)
				}
				if n := len(w.order); n != 0 {
					t.Errorf("blocked plan sent %v", w.order)
				}
				if got := strings.Join(results(t, log), ","); got != "promote:refused" {
					t.Errorf("audit = %s", got)
				}
			}
		})
	}
}

func TestPlanPromote_ChoosesImage(t *testing.T) {
	w := standardWorld(t)
	w.groups = append(w.groups, actGroup("api-stg", "staging", "lt-s", "1", 1))
	w.addVersion("lt-s", 1, "ami-prev", "")
	op, _ := w.operator(t)
	w.images["ami-new"] = created(actImage("ami-new", "available", "api"), "2026-11-27T08:00:00.000Z")
	w.images["ami-newer"] = created(actImage("ami-newer", "pending", "api"), "2026-11-27T09:00:00.000Z")
	// Default: the newest available image not yet running (the pending one is skipped).
	p, err := op.PlanPromote(context.Background(), PromoteRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps[0].ToImage.ImageID != "ami-new" || !strings.Contains(p.CLI, "--image ami-new") {
		t.Errorf("default image = %s (%s)", p.Steps[0].ToImage.ImageID, p.CLI)
	}
	// FromEnv: what staging runs.
	p, err = op.PlanPromote(context.Background(), PromoteRequest{Service: "api", Env: "production", FromEnv: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Steps[0].ToImage.ImageID != "ami-prev" {
		t.Errorf("from staging = %s", p.Steps[0].ToImage.ImageID)
	}
	// Nothing newer than what runs: a refusal that says so.
	for id := range w.images {
		if id != "ami-old" {
			delete(w.images, id)
		}
	}
	w.images["ami-old"] = created(actImage("ami-old", "available", "api"), "2026-11-27T10:00:00.000Z")
	if _, err := op.PlanPromote(context.Background(), PromoteRequest{Service: "api", Env: "production"}); err == nil || !strings.Contains(err.Error(), "already runs the newest image") {
		t.Errorf("err = %v", err)
	}
	if _, err := op.PlanPromote(context.Background(), PromoteRequest{Service: "nope", Env: "production"}); err == nil || !strings.Contains(err.Error(), "no autoscaling group") {
		t.Errorf("unknown service err = %v", err)
	}
}

func TestExecute_RefreshStartedSincePlan_Refused(t *testing.T) {
	w := standardWorld(t)
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.refreshes["api-prod-a"] = []astypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-other"), Status: astypes.InstanceRefreshStatusInProgress, StartTime: aws.Time(actNow)}}
	w.mu.Unlock()
	_, err = op.Execute(ctx, plan)
	if !errors.Is(err, awsapi.ErrRefreshRunning) || !IsRefusal(err) || !strings.Contains(err.Error(), "r-other") {
		t.Fatalf("err = %v, want ErrRefreshRunning naming r-other", err)
	}
	if len(w.order) != 0 {
		t.Errorf("sent %v", w.order)
	}
	if got := strings.Join(results(t, log), ","); got != "promote:refused" {
		t.Errorf("audit = %s", got)
	}
}

func TestPromote_HalfwayFailureNamesGroups_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	w.groups = append(w.groups, actGroup("api-prod-b", "production", "lt-b", "2", 1), actGroup("api-prod-c", "production", "lt-c", "1", 1))
	w.addVersion("lt-b", 2, "ami-old", "")
	w.addVersion("lt-c", 1, "ami-old", "")
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	// The second group's refresh is refused by AWS.
	orig := w.f.StartInstanceRefreshOp.Respond
	w.f.StartInstanceRefreshOp.Respond = func(in *autoscaling.StartInstanceRefreshInput) (*autoscaling.StartInstanceRefreshOutput, error) {
		if aws.ToString(in.AutoScalingGroupName) == "api-prod-b" {
			return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "boom"}
		}
		return orig(in)
	}
	_, err = op.Execute(ctx, plan)
	if err == nil || IsRefusal(err) {
		t.Fatalf("err = %v, want a failure (not a refusal)", err)
	}
	msg := err.Error()
	for _, want := range []string{"group api-prod-b", "boom", "changed: api-prod-a (pinned from $Latest to version 3, launch template version 4 created, refresh r-api-prod-a started); api-prod-b (launch template version 3 created)", "not changed: api-prod-c"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	evs, _ := log.Read()
	if len(evs) != 2 || evs[1].Result != "failed" || evs[1].Error != msg {
		t.Errorf("audit = %+v", evs)
	}
}

func TestFollow_KeepsFollowingThroughThrottling_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	// Queued answers serve the next calls: first the re-check before anything is sent, then
	// more throttled reads in a row than any other error is allowed.
	w.f.DescribeInstanceRefreshesOp.Queue(&autoscaling.DescribeInstanceRefreshesOutput{})
	for i := 0; i < maxPollFailures+2; i++ {
		w.f.DescribeInstanceRefreshesOp.QueueErr(&smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"})
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	last := evs[len(evs)-1]
	if !last.Done || last.Err != nil {
		t.Fatalf("throttling failed the rollout: %+v", last)
	}
	saw := false
	for _, e := range evs {
		if strings.Contains(e.Message, "throttling") {
			saw = true
		}
	}
	if !saw {
		t.Error("throttling not reported")
	}
	if got := strings.Join(results(t, log), ","); got != "promote:started,promote:succeeded" {
		t.Errorf("audit = %s", got)
	}
}

func TestRollback_RunningRefresh_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	w.groups[0].LaunchTemplate.Version = aws.String("3")
	w.addVersion("lt-a", 4, "ami-new", "")
	w.refreshes["api-prod-a"] = []astypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-7"), Status: astypes.InstanceRefreshStatusInProgress, PercentageComplete: aws.Int32(40), StartTime: aws.Time(actNow),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String("4")}}}}
	w.refreshSteps = []astypes.InstanceRefreshStatus{astypes.InstanceRefreshStatusRollbackInProgress, astypes.InstanceRefreshStatusRollbackSuccessful}
	op, log := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanRollback(ctx, RollbackRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() || len(plan.Steps) != 1 {
		t.Fatalf("plan = %+v", plan)
	}
	s := plan.Steps[0]
	if s.RefreshID != "r-7" || s.FromImage.ImageID != "ami-new" || s.ToImage.ImageID != "ami-old" || plan.CLI != "adstage-ops rollback --service api --env production --yes" {
		t.Errorf("step = %+v cli %q", s, plan.CLI)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	evs := awstest.Progress(t, ch)
	if last := evs[len(evs)-1]; !last.Done || last.Err != nil {
		t.Fatalf("last = %+v", last)
	}
	in := w.f.RollbackInstanceRefreshOp.Inputs()
	if len(in) != 1 || !reflect.DeepEqual(in[0], &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("api-prod-a")}) {
		t.Errorf("RollbackInstanceRefresh = %+v", in)
	}
	if strings.Join(w.order, ",") != "RollbackInstanceRefresh" {
		t.Errorf("calls = %v", w.order)
	}
	if got := strings.Join(results(t, log), ","); got != "rollback:started,rollback:succeeded" {
		t.Errorf("audit = %s", got)
	}
}

func TestRollback_PreviousRelease_StartInstanceRefreshRequest_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	// Version 4 repeats the current AMI: the previous release is version 2, not 3 or 4.
	w.addVersion("lt-a", 4, "ami-old", "")
	w.groups[0].LaunchTemplate.Version = aws.String("4")
	op, _ := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanRollback(ctx, RollbackRequest{Service: "api", Env: "production", Reason: "5xx"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked() {
		t.Fatalf("refused: %+v", plan.Failures())
	}
	s := plan.Steps[0]
	if s.ToVersion != "2" || s.ToImage.ImageID != "ami-prev" || s.ToImage.ReleasedBy != "arn:aws:iam::123456789012:user/bob" || s.FromImage.ImageID != "ami-old" {
		t.Errorf("step = %+v", s)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	awstest.Progress(t, ch)
	if w.f.CreateLaunchTemplateVersionOp.Calls() != 0 || w.f.UpdateAutoScalingGroupOp.Calls() != 0 {
		t.Error("rollback created a version or updated the group")
	}
	sr := w.f.StartInstanceRefreshOp.Inputs()
	want := &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-a"), Version: aws.String("2")}}
	if len(sr) != 1 || !reflect.DeepEqual(sr[0].DesiredConfiguration, want) || !aws.ToBool(sr[0].Preferences.AutoRollback) || aws.ToInt32(sr[0].Preferences.MinHealthyPercentage) != 100 {
		t.Errorf("StartInstanceRefresh = %+v", sr)
	}
}

func TestPlanRollback_DeregisteredPrevious_ListsCandidates(t *testing.T) {
	w := standardWorld(t)
	delete(w.images, "ami-prev")
	op, log := w.operator(t)
	p, err := op.PlanRollback(context.Background(), RollbackRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() {
		t.Fatal("not refused")
	}
	d := p.Failures()[0].Detail
	for _, want := range []string{"previous release ami-prev", "version 2", "deregistered", "version 1 (ami-older", "--to-version 1"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	op.Cancelled(p)
	if got := strings.Join(results(t, log), ","); got != "rollback:cancelled" {
		t.Errorf("audit = %s", got)
	}
	// The operator takes the older candidate.
	p, err = op.PlanRollback(context.Background(), RollbackRequest{Service: "api", Env: "production", ToVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked() || p.Steps[0].ToImage.ImageID != "ami-older" || !strings.Contains(p.CLI, "--to-version 1") {
		t.Errorf("to version 1: %+v %+v", p.Steps, p.Failures())
	}
}

func TestPlanRollback_NoPreviousRelease(t *testing.T) {
	w := newActWorld(t)
	w.groups = []astypes.AutoScalingGroup{actGroup("api-prod-a", "production", "lt-a", "2", 1)}
	w.addVersion("lt-a", 1, "ami-old", "")
	w.addVersion("lt-a", 2, "ami-old", "")
	w.images["ami-old"] = actImage("ami-old", "available", "api")
	op, _ := w.operator(t)
	p, err := op.PlanRollback(context.Background(), RollbackRequest{Service: "api", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Blocked() || !strings.Contains(p.Failures()[0].Detail, "no previous release") {
		t.Errorf("checks = %+v", p.Checks)
	}
}

func TestExecute_AuditUnwritable_NothingSent(t *testing.T) {
	w := standardWorld(t)
	op, _ := w.operator(t)
	dir := t.TempDir()
	op.opts.Audit = audit.New(dir) // a directory: cannot be opened for appending
	plan, err := op.PlanPromote(context.Background(), PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Execute(context.Background(), plan); err == nil || !strings.Contains(err.Error(), "audit log") {
		t.Fatalf("err = %v", err)
	}
	if len(w.order) != 0 {
		t.Errorf("sent %v without an audit line", w.order)
	}
}

func TestPromote_GroupsSharingATemplateShareTheVersion_RecordedFake(t *testing.T) {
	w := standardWorld(t)
	w.groups = append(w.groups, actGroup("api-prod-b", "production", "lt-a", "$Latest", 1))
	op, _ := w.operator(t)
	ctx := context.Background()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	lastEv := awstest.Progress(t, ch)
	if l := lastEv[len(lastEv)-1]; !l.Done || l.Err != nil {
		t.Fatalf("last = %+v", l)
	}
	if n := w.f.CreateLaunchTemplateVersionOp.Calls(); n != 1 {
		t.Errorf("%d versions created for one template", n)
	}
	sr := w.f.StartInstanceRefreshOp.Inputs()
	if len(sr) != 2 {
		t.Fatalf("%d refreshes", len(sr))
	}
	for _, in := range sr {
		if v := aws.ToString(in.DesiredConfiguration.LaunchTemplate.Version); v != "4" {
			t.Errorf("%s rolls out version %s, want 4", aws.ToString(in.AutoScalingGroupName), v)
		}
	}
}

func TestExecute_ContextEndsAfterStart_RolloutLeftToAWS(t *testing.T) {
	w := standardWorld(t)
	w.refreshSteps = []astypes.InstanceRefreshStatus{astypes.InstanceRefreshStatusInProgress}
	op, log := w.operator(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan, err := op.PlanPromote(ctx, PromoteRequest{Service: "api", Env: "production", ImageID: "ami-new"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	for p := range ch {
		if p.Stage == StageStarted {
			cancel() // the CLI without --wait, or a closed terminal
		}
		if p.Done {
			t.Fatalf("rollout reported done: %+v", p)
		}
	}
	if got := strings.Join(results(t, log), ","); got != "promote:started" {
		t.Errorf("audit = %s, want only the start (the rollout goes on in AWS)", got)
	}
	if w.f.StartInstanceRefreshOp.Calls() != 1 {
		t.Error("refresh not started")
	}
}
