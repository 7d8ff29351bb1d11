package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/internal/awstest"
	"github.com/adstage/adstage-ops/aws/signals"
	"github.com/adstage/adstage-ops/model"
)

// The SDK's CloudWatch client speaks the Smithy RPC v2 CBOR protocol, which moto 5.2 does not
// (it answers 404: TestCloudWatch_DefaultProtocolIsNotMotos_Moto). CloudWatch also speaks the
// query protocol, which moto does, so these tests switch the client to it per call (the
// requests' content is the same; the wire format differs). The CBOR wire is pinned by the
// recorded-fake tests of package signals and the read-only wire test of awsapi.
var queryProtocol = awstest.QueryProtocol

// queryCloudWatch is the console's CloudWatch client on the query protocol.
type queryCloudWatch struct{ c awsapi.CloudWatchReader }

func (q queryCloudWatch) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, o ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return q.c.GetMetricData(ctx, in, append(o, queryProtocol)...)
}
func (q queryCloudWatch) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return q.c.DescribeAlarms(ctx, in, append(o, queryProtocol)...)
}

func TestCloudWatch_DefaultProtocolIsNotMotos_Moto(t *testing.T) {
	_, rc := awstest.MotoClients(t, true)
	_, err := rc.CloudWatch.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
	if err == nil {
		t.Skip("moto now answers CloudWatch's RPC v2 CBOR protocol: the query-protocol switch in these tests can go")
	}
}

func TestSignals_MetricsAndAlarmsOfAClassicELB_Moto(t *testing.T) {
	clients, _ := awstest.MotoClients(t, false)
	raw := awstest.RawClients(t, clients.Read()).CloudWatch
	ctx := context.Background()
	now := time.Now().UTC()
	end := now.Truncate(time.Minute)
	dims := []cwtypes.Dimension{{Name: aws.String("LoadBalancerName"), Value: aws.String("reports")}}
	var data []cwtypes.MetricDatum
	for i := 2; i <= 6; i++ {
		at := end.Add(-time.Duration(i) * time.Minute)
		data = append(data,
			cwtypes.MetricDatum{MetricName: aws.String("RequestCount"), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(100), Unit: cwtypes.StandardUnitCount},
			cwtypes.MetricDatum{MetricName: aws.String("HTTPCode_Backend_5XX"), Dimensions: dims, Timestamp: aws.Time(at), Value: aws.Float64(5), Unit: cwtypes.StandardUnitCount},
		)
	}
	if _, err := raw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/ELB"), MetricData: data}, queryProtocol); err != nil {
		t.Fatalf("seed metrics: %v", err)
	}
	if _, err := raw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{AlarmName: aws.String("reports-5xx"), Namespace: aws.String("AWS/ELB"),
		MetricName: aws.String("HTTPCode_Backend_5XX"), Dimensions: dims, Statistic: cwtypes.StatisticSum, Period: aws.Int32(60),
		EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold}, queryProtocol); err != nil {
		t.Fatalf("seed alarm: %v", err)
	}
	if _, err := raw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("reports-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("5xx above 1")}, queryProtocol); err != nil {
		t.Fatalf("set alarm state: %v", err)
	}

	seen := awstest.MotoRecording(t)
	_, read := awstest.MotoClients(t, true)
	r := signals.New(queryCloudWatch{read.CloudWatch}, read.ELBv2, signals.Options{})
	svc := model.Service{ServiceKey: model.ServiceKey{Name: "worker-reports", Env: "production"},
		Groups: []*model.Group{{Name: "reports-g", ClassicELBs: []string{"reports"}}}}
	got, err := r.Read(ctx, []model.Service{svc})
	if err != nil {
		t.Fatal(err)
	}
	sig := got[svc.ServiceKey]
	if len(sig.Warnings) != 0 {
		t.Fatalf("warnings: %v", sig.Warnings)
	}
	if len(sig.Requests) != 5 || len(sig.Errors) != 5 {
		t.Errorf("series from moto: %d requests, %d errors, want 5 each: %+v", len(sig.Requests), len(sig.Errors), sig)
	}
	if rate, ok := sig.ErrorRate(end.Add(-time.Hour), end); !ok || rate != 0.05 {
		t.Errorf("rate = %v %v, want 0.05", rate, ok)
	}
	if names := sig.AlarmNames(); !slices.Equal(names, []string{"reports-5xx"}) {
		t.Errorf("alarms = %v", names)
	}
	// One GetMetricData, one DescribeAlarms: the reads of a whole screen, once a minute.
	r.Read(ctx, []model.Service{svc})
	var cw []string
	for _, a := range seen() {
		if a == "GetMetricData" || a == "DescribeAlarms" || strings.Contains(a, "/operation/") {
			cw = append(cw, a)
		}
	}
	if !slices.Equal(cw, []string{"GetMetricData", "DescribeAlarms"}) {
		t.Errorf("CloudWatch requests moto recorded = %v, want one GetMetricData and one DescribeAlarms", cw)
	}
}
