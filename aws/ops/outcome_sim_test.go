package ops_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/audit"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

// How a wrapped mutating call loses its answer.
type loss int

const (
	// retried: the call reaches AWS, its answer is lost, and the SDK's retryer sends it again;
	// the caller gets the answer to the second request.
	retried loss = iota + 1
	// timedOut: the call reaches AWS and is carried out, but no answer comes back in time.
	timedOut
	// neverSent: no answer, and AWS never saw the request.
	neverSent
	// othersFirst: another operator's refresh starts just before ours reaches AWS.
	othersFirst
)

// deadline is what the SDK returns when no answer came back in time.
func deadline(svc, op string) error {
	return &smithy.OperationError{ServiceID: svc, OperationName: op, Err: context.DeadlineExceeded}
}

// lossyEC2 loses the answer to CreateImage once, as mode says.
type lossyEC2 struct {
	awsapi.EC2API
	mu    sync.Mutex
	mode  loss
	calls int
}

func (l *lossyEC2) CreateImage(ctx context.Context, in *ec2.CreateImageInput, o ...func(*ec2.Options)) (*ec2.CreateImageOutput, error) {
	l.mu.Lock()
	l.calls++
	mode := l.mode
	l.mode = 0
	l.mu.Unlock()
	switch mode {
	case retried:
		if _, err := l.EC2API.CreateImage(ctx, in, o...); err != nil {
			return nil, err
		}
	case timedOut:
		if _, err := l.EC2API.CreateImage(ctx, in, o...); err != nil {
			return nil, err
		}
		return nil, deadline("EC2", "CreateImage")
	case neverSent:
		return nil, deadline("EC2", "CreateImage")
	}
	return l.EC2API.CreateImage(ctx, in, o...)
}

// lossyAS loses the answer to StartInstanceRefresh once, as mode says.
type lossyAS struct {
	awsapi.AutoScalingAPI
	mu   sync.Mutex
	mode loss
}

func (l *lossyAS) StartInstanceRefresh(ctx context.Context, in *autoscaling.StartInstanceRefreshInput, o ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	l.mu.Lock()
	mode := l.mode
	l.mode = 0
	l.mu.Unlock()
	switch mode {
	case retried:
		if _, err := l.AutoScalingAPI.StartInstanceRefresh(ctx, in, o...); err != nil {
			return nil, err
		}
	case timedOut:
		if _, err := l.AutoScalingAPI.StartInstanceRefresh(ctx, in, o...); err != nil {
			return nil, err
		}
		return nil, deadline("Auto Scaling", "StartInstanceRefresh")
	case neverSent:
		return nil, deadline("Auto Scaling", "StartInstanceRefresh")
	case othersFirst:
		other := &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: in.AutoScalingGroupName, Preferences: &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(90)}}
		if _, err := l.AutoScalingAPI.StartInstanceRefresh(ctx, other, o...); err != nil {
			return nil, err
		}
	}
	return l.AutoScalingAPI.StartInstanceRefresh(ctx, in, o...)
}

// newLossySimConsole is newSimConsole with the mutating calls behind lossyEC2 and lossyAS.
func newLossySimConsole(t *testing.T) (*simConsole, *lossyEC2, *lossyAS) {
	t.Helper()
	clock := sim.NewManualClock(actSimStart)
	cloud := sim.NewDemo(clock)
	log := audit.New(filepath.Join(t.TempDir(), "audit.jsonl"))
	c := cloud.Clients()
	e := &lossyEC2{EC2API: c.EC2}
	a := &lossyAS{AutoScalingAPI: c.AutoScaling}
	c.EC2, c.AutoScaling = e, a
	op := ops.NewOperator(c, ops.Options{
		Options:    inventory.Options{Now: clock.Now, After: clock.After, Refresh: time.Millisecond, BootTime: cloud.BootTime()},
		Audit:      log,
		Production: func(env string) bool { return env == "production" },
	})
	return &simConsole{clock: clock, cloud: cloud, op: op, log: log}, e, a
}

func (s *simConsole) lastEvent(t *testing.T) model.AuditEvent {
	t.Helper()
	evs, err := s.log.Read()
	if err != nil || len(evs) == 0 {
		t.Fatalf("audit: %v %v", evs, err)
	}
	return evs[len(evs)-1]
}

// CreateImage has no client token: a retry after a lost answer gets InvalidAMIName.Duplicate
// from the simulator (as from AWS) while the first request's image is being made, and an
// answer lost to a timeout says nothing. Either way the bake looks the image up by its name
// and follows it; when no such image exists the outcome is unknown, never failed.
func TestBake_LostCreateImageAnswerFindsTheImageByName_Sim(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   loss
		result string
	}{
		{"retry gets InvalidAMIName.Duplicate", retried, "succeeded"},
		{"timed out after AWS made it", timedOut, "succeeded"},
		{"timed out before AWS saw it", neverSent, "unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, e, _ := newLossySimConsole(t)
			ctx := context.Background()
			fleet, err := s.op.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			svc, _ := fleet.Service("api", "staging")
			src := svc.Groups[0].Instances[0].ID
			plan, err := s.op.PlanBake(ctx, ops.BakeRequest{InstanceID: src, Label: "9f8e7d6", NoReboot: true})
			if err != nil || plan.Blocked() {
				t.Fatalf("plan: %v %+v", err, plan.Checks)
			}
			e.mode = c.mode
			ch, err := s.op.Execute(ctx, plan)
			if c.result == "unknown" {
				last := s.lastEvent(t)
				if last.Result != "unknown" {
					t.Fatalf("audit result %q (%s), want unknown; Execute: %v", last.Result, last.Error, err)
				}
				if !awsapi.IsOutcomeUnknown(err) || !strings.Contains(last.Error, "describe-images --owners self --filters Name=name,Values="+plan.Bake.Name) {
					t.Fatalf("err = %v; audit error %q should say what to check", err, last.Error)
				}
				if msg := awsapi.Explain(err); !strings.HasPrefix(msg, "The outcome of create image "+plan.Bake.Name+" is unknown") {
					t.Errorf("Explain = %q", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v; audit %+v", err, s.lastEvent(t))
			}
			if err != nil {
				t.Fatal(err)
			}
			lastOK(t, s.follow(t, ch))
			out, err := s.cloud.Clients().EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{plan.Bake.Name}}}})
			if err != nil || len(out.Images) != 1 {
				t.Fatalf("images named %s: %+v %v", plan.Bake.Name, out, err)
			}
			if got := s.lastEvent(t); got.To != aws.ToString(out.Images[0].ImageId) || got.Result != "succeeded" {
				t.Errorf("audit = %+v, want the image %s", got, aws.ToString(out.Images[0].ImageId))
			}
			if want := map[loss]int{retried: 1, timedOut: 1}[c.mode]; e.calls != want {
				t.Errorf("CreateImage sent %d times by the bake, want %d (no blind retry)", e.calls, want)
			}
		})
	}
}

// StartInstanceRefresh sent again after a lost answer gets InstanceRefreshInProgress for our
// own refresh: the promote recognises it (its desired configuration names our new version)
// and follows it. Another operator's refresh in the same place is still refused, and an
// answer lost before AWS saw it leaves the outcome unknown.
func TestPromote_LostStartInstanceRefreshAnswerFollowsOurRefresh_Sim(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   loss
		result string
	}{
		{"retry gets InstanceRefreshInProgress", retried, "succeeded"},
		{"timed out after AWS started it", timedOut, "succeeded"},
		{"another operator's refresh", othersFirst, "failed"},
		{"timed out before AWS saw it", neverSent, "unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _, a := newLossySimConsole(t)
			ctx := context.Background()
			plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "worker-bids", Env: "production", FromEnv: "staging"})
			if err != nil || plan.Blocked() {
				t.Fatalf("plan: %v %+v", err, plan.Checks)
			}
			a.mode = c.mode
			ch, err := s.op.Execute(ctx, plan)
			switch c.result {
			case "failed":
				if !errors.Is(err, awsapi.ErrRefreshRunning) || awsapi.IsOutcomeUnknown(err) {
					t.Fatalf("err = %v, want the running refresh named", err)
				}
			case "unknown":
				if !awsapi.IsOutcomeUnknown(err) || !strings.Contains(err.Error(), "describe-instance-refreshes --auto-scaling-group-name "+plan.Steps[0].Group) {
					t.Fatalf("err = %v, want an unknown outcome saying what to check", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				lastOK(t, s.follow(t, ch))
				if rel, _ := s.runs(t, "worker-bids", "production"); rel != plan.Steps[0].ToImage.ImageID {
					t.Errorf("after the rollout the service launches %s, want %s", rel, plan.Steps[0].ToImage.ImageID)
				}
			}
			if got := strings.Join(s.results(t), ","); got != "promote:started,promote:"+c.result {
				t.Errorf("audit = %s", got)
			}
		})
	}
}

// Following a rollout that AWS goes on with, when every read of it fails (a 5xx, the
// connection lost), ends in an unknown outcome, never a failure.
func TestPromote_LostSightOfTheRolloutIsUnknown_Sim(t *testing.T) {
	s := newSimConsole(t)
	ctx := context.Background()
	plan, err := s.op.PlanPromote(ctx, ops.PromoteRequest{Service: "worker-bids", Env: "production", FromEnv: "staging"})
	if err != nil || plan.Blocked() {
		t.Fatalf("plan: %v %+v", err, plan.Checks)
	}
	ch, err := s.op.Execute(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	s.cloud.FailNext("DescribeInstanceRefreshes", &smithy.GenericAPIError{Code: "InternalFailure", Message: "internal error"}, 1000)
	evs := s.follow(t, ch)
	last := evs[len(evs)-1]
	if !last.Done || !awsapi.IsOutcomeUnknown(last.Err) {
		t.Fatalf("last progress = %+v, want an unknown outcome", last)
	}
	ev := s.lastEvent(t)
	if ev.Result != "unknown" || !strings.Contains(ev.Error, "adstage-ops status --service worker-bids --env production") {
		t.Errorf("audit = %s: %s", ev.Result, ev.Error)
	}
}
