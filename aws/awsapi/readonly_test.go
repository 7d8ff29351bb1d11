package awsapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
)

func TestOperationLists_SortedDisjointAndCoveredByCalls(t *testing.T) {
	calls := awstest.OperationCalls(awstest.SDKClients{})
	seen := map[string]string{}
	for name, list := range map[string][]awsapi.Operation{"ReadOperations": awsapi.ReadOperations, "WriteOperations": awsapi.WriteOperations} {
		if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].Action() < list[j].Action() }) {
			t.Errorf("%s is not sorted by action: %v", name, list)
		}
		for _, op := range list {
			if prev, dup := seen[op.Action()]; dup {
				t.Errorf("%s is in both %s and %s", op.Action(), prev, name)
			}
			seen[op.Action()] = name
			if _, ok := calls[op.Action()]; !ok {
				t.Errorf("%s (%s) has no call in operationCalls", op.Action(), name)
			}
		}
	}
	for action := range calls {
		if _, ok := seen[action]; !ok {
			t.Errorf("operationCalls has %s, which neither list has", action)
		}
	}
	if len(awsapi.ReadOperations) != 20 || len(awsapi.WriteOperations) != 12 {
		t.Errorf("got %d reads and %d writes, want 20 and 12", len(awsapi.ReadOperations), len(awsapi.WriteOperations))
	}
	for _, op := range awsapi.ReadOperations {
		if !strings.HasPrefix(op.Name, "Describe") && !strings.HasPrefix(op.Name, "Get") {
			t.Errorf("read operation %s is not a Describe or Get", op)
		}
	}
}

// TestReadOnlyMiddleware_RefusesWritesBeforeTheWire loads read-only clients with LoadClients
// pointed (AWS_ENDPOINT_URL) at a recording server: every write must be refused with a
// ReadOnlyError naming it and no request may arrive; every read must arrive, exactly once.
func TestReadOnlyMiddleware_RefusesWritesBeforeTheWire(t *testing.T) {
	rec := &awstest.WireRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	awstest.IsolateAWSEnv(t, srv.URL)

	clients, read, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("LoadClients: %v", err)
	}
	if clients.AutoScaling != nil || clients.EC2 != nil || clients.STS != nil {
		t.Fatalf("read-only LoadClients returned mutating clients: %+v", clients)
	}
	if read.Region != "us-east-1" {
		t.Errorf("region = %q, want us-east-1", read.Region)
	}
	calls := awstest.OperationCalls(awstest.RawClients(t, read))
	ctx := context.Background()

	for _, op := range awsapi.WriteOperations {
		err := calls[op.Action()](ctx)
		var ro *awsapi.ReadOnlyError
		if !errors.Is(err, awsapi.ErrReadOnly) || !errors.As(err, &ro) {
			t.Errorf("%s: err = %v, want a ReadOnlyError", op, err)
			continue
		}
		if ro.Service != op.Service || ro.Operation != op.Name {
			t.Errorf("%s: refused as %s:%s", op, ro.Service, ro.Operation)
		}
		if got := awsapi.Explain(err); !strings.Contains(got, op.Action()) || !strings.Contains(got, "read-only") {
			t.Errorf("%s: Explain = %q, want the action and read-only", op, got)
		}
	}
	if got := rec.Seen(); len(got) != 0 {
		t.Fatalf("refused writes reached the server: %v", got)
	}

	for _, op := range awsapi.ReadOperations {
		rec.Reset()
		err := calls[op.Action()](ctx)
		if errors.Is(err, awsapi.ErrReadOnly) {
			t.Errorf("%s: refused in read-only mode: %v", op, err)
		}
		if got := rec.Seen(); !slices.Equal(got, []string{op.Name}) {
			t.Errorf("%s: server saw %v, want exactly [%s]", op, got, op.Name)
		}
	}
}

// TestReadWriteClients_SendWrites proves the refusal above is the middleware's doing: without
// ReadOnly the same writes reach the same server.
func TestReadWriteClients_SendWrites(t *testing.T) {
	rec := &awstest.WireRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	awstest.IsolateAWSEnv(t, srv.URL)

	clients, read, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{})
	if err != nil {
		t.Fatalf("LoadClients: %v", err)
	}
	if clients.AutoScaling == nil || clients.EC2 == nil || clients.ELBv2 == nil || clients.ELB == nil || clients.STS == nil {
		t.Fatalf("read-write LoadClients left a client nil: %+v", clients)
	}
	calls := awstest.OperationCalls(awstest.RawClients(t, read))
	for _, op := range awsapi.WriteOperations {
		rec.Reset()
		if err := calls[op.Action()](context.Background()); errors.Is(err, awsapi.ErrReadOnly) {
			t.Errorf("%s refused without read-only: %v", op, err)
		}
		if got := rec.Seen(); !slices.Equal(got, []string{op.Name}) {
			t.Errorf("%s: server saw %v, want exactly [%s]", op, got, op.Name)
		}
	}
}

func TestIsReadOperation_UsesSDKServiceIDs(t *testing.T) {
	for _, tc := range []struct {
		service, op string
		want        bool
	}{
		{"Auto Scaling", "DescribeAutoScalingGroups", true},
		{"Auto Scaling", "StartInstanceRefresh", false},
		{"EC2", "DescribeImages", true},
		{"EC2", "CreateImage", false},
		{"EC2", "DescribeAutoScalingGroups", false}, // right name, wrong service
		{"Elastic Load Balancing v2", "DescribeTargetHealth", true},
		{"Elastic Load Balancing", "DescribeInstanceHealth", true},
		{"Elastic Load Balancing", "RegisterInstancesWithLoadBalancer", false},
		{"STS", "GetCallerIdentity", true},
		{"STS", "AssumeRole", false},
		{"", "DescribeImages", false},
	} {
		if got := awsapi.IsReadOperation(tc.service, tc.op); got != tc.want {
			t.Errorf("IsReadOperation(%q, %q) = %v, want %v", tc.service, tc.op, got, tc.want)
		}
	}
}

// TestReadOnlyMiddleware_RunsFirst: the guard runs before the SDK's own input validation, so
// even an invalid write is refused as a write (nothing else of the stack ran).
func TestReadOnlyMiddleware_RunsFirst(t *testing.T) {
	rec := &awstest.WireRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	awstest.IsolateAWSEnv(t, srv.URL)
	_, read, err := awsapi.LoadClients(context.Background(), awsapi.LoadOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("LoadClients: %v", err)
	}
	c := awstest.RawClients(t, read)
	_, err = c.EC2.CreateImage(context.Background(), &ec2.CreateImageInput{}) // InstanceId and Name missing
	var ro *awsapi.ReadOnlyError
	if !errors.As(err, &ro) || ro.Operation != "CreateImage" {
		t.Errorf("invalid CreateImage in read-only mode: err = %v, want a ReadOnlyError", err)
	}
	_, err = c.AutoScaling.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{})
	if !errors.As(err, &ro) || ro.Operation != "StartInstanceRefresh" || ro.Service != "autoscaling" {
		t.Errorf("invalid StartInstanceRefresh in read-only mode: err = %v, want a ReadOnlyError", err)
	}
	if got := rec.Seen(); len(got) != 0 {
		t.Errorf("server saw %v", got)
	}
}
