package signals_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi/fake"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/signals"
	"github.com/adstage/adstage-ops/aws/sim"
	"github.com/adstage/adstage-ops/model"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)

// demo is the demo fleet on a manual clock, with its services as the inventory reads them.
type demo struct {
	clock *sim.ManualClock
	cloud *sim.Cloud
	inv   *inventory.Inventory
	sig   *signals.Reader
}

func newDemo(t *testing.T) *demo {
	t.Helper()
	clock := sim.NewManualClock(t0)
	cloud := sim.NewDemo(clock)
	c := cloud.Clients()
	return &demo{clock: clock, cloud: cloud, inv: inventory.NewInventory(c.Read(), inventory.Options{Now: clock.Now}),
		sig: signals.New(c.CloudWatch, c.ELBv2, signals.Options{Now: clock.Now})}
}

func (d *demo) read(t *testing.T, keys ...model.ServiceKey) map[model.ServiceKey]model.Signals {
	t.Helper()
	fleet, err := d.inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var svcs []model.Service
	for _, k := range keys {
		s, ok := fleet.Service(k.Name, k.Env)
		if !ok {
			t.Fatalf("no service %s", k)
		}
		svcs = append(svcs, *s)
	}
	out, err := d.sig.Read(context.Background(), svcs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// advance moves the simulated world in small steps (a refresh advances one second at a time).
func (d *demo) advance(dur time.Duration) {
	for end := d.clock.Now().Add(dur); d.clock.Now().Before(end); {
		d.clock.Advance(10 * time.Second)
		d.cloud.Advance()
	}
}

var (
	webProd  = model.ServiceKey{Name: "web", Env: "production"}
	reports  = model.ServiceKey{Name: "worker-reports", Env: "production"}
	apiProd  = model.ServiceKey{Name: "api", Env: "production"}
	schedPrd = model.ServiceKey{Name: "scheduler", Env: "production"}
)

func TestRead_DemoHasAnHourOfDataInOneCallPerMinute_Sim(t *testing.T) {
	d := newDemo(t)
	got := d.read(t, webProd, reports, apiProd, schedPrd)
	web := got[webProd]
	if n := len(web.Requests); n < 55 || n > 61 {
		t.Errorf("web/production has %d minutes of requests, want about an hour", n)
	}
	if len(web.Healthy) == 0 || len(web.P99) == 0 || !web.HasData() {
		t.Errorf("web/production signals = %+v", web)
	}
	if r, ok := web.CurrentErrorRate(); !ok || r > 0.02 {
		t.Errorf("web/production as its rollout begins to serve: rate %v %v, want under 2%%", r, ok)
	}
	if rep := got[reports]; !rep.HasData() || len(rep.Balancers) != 1 || !strings.HasPrefix(rep.Balancers[0], "classic ELB") {
		t.Errorf("the classic ELB service: %+v", rep)
	}
	if s := got[schedPrd]; s.HasData() || len(s.Balancers) != 0 || s.ErrorsCell() != "no data" {
		t.Errorf("a service without balancers: %+v", s)
	}
	calls := d.sig.Calls()
	if calls["GetMetricData"] != 1 || calls["DescribeAlarms"] != 1 || calls["DescribeTargetGroups"] != 1 {
		t.Errorf("calls = %v, want one GetMetricData, one DescribeAlarms, one DescribeTargetGroups", calls)
	}
	// Within the minute nothing is read again; a minute later one call reads them all.
	d.clock.Advance(30 * time.Second)
	d.read(t, webProd, reports, apiProd, schedPrd)
	if c := d.sig.Calls(); c["GetMetricData"] != 1 || c["DescribeAlarms"] != 1 {
		t.Errorf("calls within the minute = %v", c)
	}
	d.clock.Advance(31 * time.Second)
	d.read(t, webProd, reports, apiProd, schedPrd)
	if c := d.sig.Calls(); c["GetMetricData"] != 2 || c["DescribeAlarms"] != 2 || c["DescribeTargetGroups"] != 1 {
		t.Errorf("calls a minute later = %v", c)
	}
}

// The demo's story: web's fourth release fails 8 % of requests while it serves, the alarm
// fires; a rollout back to the third release brings the 5xx down and the alarm clears.
func TestRead_BadReleaseRaises5xxAndRollbackBringsItDown_Sim(t *testing.T) {
	d := newDemo(t)
	d.advance(6 * time.Minute)
	web := d.read(t, webProd)[webProd]
	rate, ok := web.CurrentErrorRate()
	if !ok || rate < 0.05 {
		t.Fatalf("after the rollout of the erroring release: rate %v %v, want above 5%%", rate, ok)
	}
	if !web.InAlarm() || web.Alarms[0].Name != "web-production-5xx" || web.Alarms[0].Since.IsZero() {
		t.Fatalf("alarms = %+v", web.Alarms)
	}
	if web.ErrorTrend() != model.TrendUp && web.ErrorTrend() != model.TrendFlat {
		t.Errorf("trend = %v", web.ErrorTrend())
	}
	// Roll back: an instance refresh to launch template version 3.
	as := d.cloud.Clients().AutoScaling
	g, err := as.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web-production"}})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatal(err)
	}
	lt := g.AutoScalingGroups[0].LaunchTemplate
	_, err = as.StartInstanceRefresh(context.Background(), &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String("web-production"),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplateId, Version: aws.String("3")}},
		Preferences:          &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(200), InstanceWarmup: aws.Int32(10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.advance(10 * time.Minute)
	web = d.read(t, webProd)[webProd]
	after, ok := web.CurrentErrorRate()
	if !ok || after > 0.01 {
		t.Errorf("after the rollback: rate %v %v, want under 1%%", after, ok)
	}
	if web.InAlarm() {
		t.Errorf("alarm still firing after the rollback: %+v", web.Alarms)
	}
	t.Logf("%s; now %s", model.BeforeAfter(rate, after, true, ok, 10*time.Minute), web.Summary())
	if line := model.BeforeAfter(rate, after, true, ok, 10*time.Minute); !strings.Contains(line, "→") {
		t.Errorf("before/after = %q", line)
	}
}

func TestRead_DeniedMetricsDegradeToANamedWarning_Sim(t *testing.T) {
	d := newDemo(t)
	d.cloud.Deny("cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms")
	web := d.read(t, webProd)[webProd]
	if web.HasData() {
		t.Errorf("denied metrics gave data")
	}
	joined := strings.Join(web.Warnings, "\n")
	if !strings.Contains(joined, "cloudwatch:GetMetricData") || !strings.Contains(joined, "cloudwatch:DescribeAlarms") {
		t.Errorf("warnings = %q", joined)
	}
	if _, ok := web.CurrentErrorRate(); ok {
		t.Error("a denied read has an error rate")
	}
}

func TestConsoleOutput_DecodedAndSafe_Sim(t *testing.T) {
	d := newDemo(t)
	fleet, err := d.inv.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := fleet.Service("web", "staging")
	id := s.Groups[0].Instances[0].ID
	co, err := signals.ConsoleOutput(context.Background(), d.cloud.Clients().EC2, id)
	if err != nil || len(co.Lines) < 3 || !strings.Contains(strings.Join(co.Lines, "\n"), "cloud-init") {
		t.Fatalf("console output = %+v, %v", co, err)
	}
	if _, err := signals.ConsoleOutput(context.Background(), d.cloud.Clients().EC2, "i-0000000000000dead"); err == nil || !strings.Contains(err.Error(), "InvalidInstanceID.NotFound") {
		t.Errorf("missing instance: %v", err)
	}
	f := &fake.AWS{}
	f.GetConsoleOutputOp.Queue(&ec2.GetConsoleOutputOutput{Output: aws.String("bGluZSAxDQobWzMxbXJlZBtbMG0K")}) // "line 1\r\n\x1b[31mred\x1b[0m\n"
	co, err = signals.ConsoleOutput(context.Background(), f.Clients().EC2, "i-1")
	if err != nil || len(co.Lines) != 2 || co.Lines[0] != "line 1" || strings.Contains(co.Lines[1], "\x1b") {
		t.Errorf("decoded = %q, %v", co.Lines, err)
	}
	if in := f.GetConsoleOutputOp.Inputs()[0]; !aws.ToBool(in.Latest) || aws.ToString(in.InstanceId) != "i-1" {
		t.Errorf("request = %+v", in)
	}
}

// fakeServices are n services with one target group each, and one with a classic ELB.
func fakeServices(n int) []model.Service {
	var out []model.Service
	for i := range n {
		out = append(out, model.Service{ServiceKey: model.ServiceKey{Name: fmt.Sprintf("s%03d", i), Env: "production"},
			Groups: []*model.Group{{Name: fmt.Sprintf("g%03d", i), TargetGroups: []string{fmt.Sprintf("tg%03d", i)}}}})
	}
	out = append(out, model.Service{ServiceKey: model.ServiceKey{Name: "legacy", Env: "production"},
		Groups: []*model.Group{{Name: "legacy-g", ClassicELBs: []string{"legacy-elb"}}}})
	return out
}

func answerTargetGroups(f *fake.AWS) {
	f.DescribeTargetGroupsOp.Respond = func(in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
		out := &elbv2.DescribeTargetGroupsOutput{}
		for _, n := range in.Names {
			out.TargetGroups = append(out.TargetGroups, elbv2types.TargetGroup{
				TargetGroupName:  aws.String(n),
				TargetGroupArn:   aws.String("arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/" + n + "/0123456789abcdef"),
				LoadBalancerArns: []string{"arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/front/fedcba9876543210"},
			})
		}
		return out, nil
	}
}

// TestRead_PinsTheGetMetricDataRequest_Fake pins the exact request: one call, five queries
// per balancer with the documented dimensions, a one-hour window ending at the last whole
// minute, ascending.
func TestRead_PinsTheGetMetricDataRequest_Fake(t *testing.T) {
	f := &fake.AWS{}
	answerTargetGroups(f)
	now := time.Date(2026, 12, 1, 10, 7, 42, 0, time.UTC)
	r := signals.New(f.Clients().CloudWatch, f.Clients().ELBv2, signals.Options{Now: func() time.Time { return now }})
	f.GetMetricDataOp.Queue(&cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{
		{Id: aws.String("m0_0"), Timestamps: []time.Time{now.Truncate(time.Minute).Add(-2 * time.Minute), now.Truncate(time.Minute).Add(-time.Minute)}, Values: []float64{100, 200}},
		{Id: aws.String("m0_1"), Timestamps: []time.Time{now.Truncate(time.Minute).Add(-time.Minute)}, Values: []float64{6}},
	}})
	f.DescribeAlarmsOp.Queue(&cloudwatch.DescribeAlarmsOutput{MetricAlarms: []cwtypes.MetricAlarm{
		{AlarmName: aws.String("tg000-5xx"), StateValue: cwtypes.StateValueAlarm, Dimensions: []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/tg000/0123456789abcdef")}}},
		{AlarmName: aws.String("legacy-asg-cpu"), StateValue: cwtypes.StateValueAlarm, Dimensions: []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("legacy-g")}}},
		{AlarmName: aws.String("other"), StateValue: cwtypes.StateValueAlarm, Dimensions: []cwtypes.Dimension{{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/nope/1")}}},
	}})
	svcs := fakeServices(2)
	got, err := r.Read(context.Background(), svcs)
	if err != nil {
		t.Fatal(err)
	}
	if f.GetMetricDataOp.Calls() != 1 {
		t.Fatalf("GetMetricData calls = %d", f.GetMetricDataOp.Calls())
	}
	in := f.GetMetricDataOp.Inputs()[0]
	if !in.StartTime.Equal(time.Date(2026, 12, 1, 9, 7, 0, 0, time.UTC)) || !in.EndTime.Equal(time.Date(2026, 12, 1, 10, 7, 0, 0, time.UTC)) || in.ScanBy != cwtypes.ScanByTimestampAscending {
		t.Errorf("window = %v..%v %s", in.StartTime, in.EndTime, in.ScanBy)
	}
	var lines []string
	for _, q := range in.MetricDataQueries {
		m := q.MetricStat.Metric
		var dims []string
		for _, d := range m.Dimensions {
			dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s %d %s", aws.ToString(q.Id), aws.ToString(m.Namespace), aws.ToString(m.MetricName), aws.ToString(q.MetricStat.Stat), aws.ToInt32(q.MetricStat.Period), strings.Join(dims, ",")))
	}
	tg := "TargetGroup=targetgroup/tg000/0123456789abcdef,LoadBalancer=app/front/fedcba9876543210"
	want := []string{
		"m0_0 AWS/ApplicationELB RequestCount Sum 60 " + tg,
		"m0_1 AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum 60 " + tg,
		"m0_2 AWS/ApplicationELB TargetResponseTime p99 60 " + tg,
		"m0_3 AWS/ApplicationELB HealthyHostCount Minimum 60 " + tg,
		"m0_4 AWS/ApplicationELB UnHealthyHostCount Maximum 60 " + tg,
	}
	if len(lines) != 15 || strings.Join(lines[:5], "\n") != strings.Join(want, "\n") {
		t.Errorf("queries =\n%s\nwant first\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if lines[10] != "m2_0 AWS/ELB RequestCount Sum 60 LoadBalancerName=legacy-elb" || !strings.Contains(lines[11], "HTTPCode_Backend_5XX Sum") || !strings.Contains(lines[12], "Latency p99") {
		t.Errorf("classic ELB queries = %v", lines[10:])
	}
	s0 := got[svcs[0].ServiceKey]
	if len(s0.Requests) != 2 || len(s0.Errors) != 1 {
		t.Errorf("series = %+v", s0)
	}
	if r, ok := s0.CurrentErrorRate(); !ok || r != 6.0/300 {
		t.Errorf("rate = %v %v", r, ok)
	}
	if names := s0.AlarmNames(); len(names) != 1 || names[0] != "tg000-5xx" {
		t.Errorf("alarms of s000 = %v", names)
	}
	legacy := got[svcs[2].ServiceKey]
	if names := legacy.AlarmNames(); len(names) != 1 || names[0] != "legacy-asg-cpu" {
		t.Errorf("alarms of legacy = %v", names)
	}
	if s1 := got[svcs[1].ServiceKey]; s1.HasData() || s1.ErrorsCell() != "no data" {
		t.Errorf("a balancer without datapoints shows %q", s1.ErrorsCell())
	}
	if ain := f.DescribeAlarmsOp.Inputs()[0]; ain.StateValue != cwtypes.StateValueAlarm || aws.ToInt32(ain.MaxRecords) != 100 {
		t.Errorf("DescribeAlarms input = %+v", ain)
	}
}

func TestRead_500QueriesACallAndOncePerMinute_Fake(t *testing.T) {
	f := &fake.AWS{}
	answerTargetGroups(f)
	now := time.Date(2026, 12, 1, 10, 7, 42, 0, time.UTC)
	r := signals.New(f.Clients().CloudWatch, f.Clients().ELBv2, signals.Options{Now: func() time.Time { return now }})
	svcs := fakeServices(120) // 121 balancers: 605 queries
	if _, err := r.Read(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	if f.GetMetricDataOp.Calls() != 1 || len(f.GetMetricDataOp.Inputs()[0].MetricDataQueries) != 500 {
		t.Fatalf("first read: %d calls", f.GetMetricDataOp.Calls())
	}
	if got := f.DescribeTargetGroupsOp.Calls(); got != 6 {
		t.Errorf("DescribeTargetGroups calls = %d, want 6 (20 names each)", got)
	}
	// The 21 balancers that did not fit were never read: the next read takes them at once.
	if _, err := r.Read(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	if f.GetMetricDataOp.Calls() != 2 || len(f.GetMetricDataOp.Inputs()[1].MetricDataQueries) != 105 {
		t.Fatalf("second read: %d calls", f.GetMetricDataOp.Calls())
	}
	// Everything read: nothing more within the minute.
	now = now.Add(50 * time.Second)
	if _, err := r.Read(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	if f.GetMetricDataOp.Calls() != 2 || f.DescribeAlarmsOp.Calls() != 1 {
		t.Errorf("within the minute: %d GetMetricData, %d DescribeAlarms", f.GetMetricDataOp.Calls(), f.DescribeAlarmsOp.Calls())
	}
}

func TestRead_DeniedGetMetricDataKeepsTheLastSeries_Fake(t *testing.T) {
	f := &fake.AWS{}
	answerTargetGroups(f)
	now := time.Date(2026, 12, 1, 10, 7, 42, 0, time.UTC)
	r := signals.New(f.Clients().CloudWatch, f.Clients().ELBv2, signals.Options{Now: func() time.Time { return now }})
	f.GetMetricDataOp.Queue(&cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{
		{Id: aws.String("m0_0"), Timestamps: []time.Time{now.Truncate(time.Minute).Add(-time.Minute)}, Values: []float64{100}},
	}})
	denied := &smithy.OperationError{ServiceID: "CloudWatch", OperationName: "GetMetricData", Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}}
	f.GetMetricDataOp.QueueErr(denied)
	svcs := fakeServices(1)[:1]
	if _, err := r.Read(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	got, _ := r.Read(context.Background(), svcs)
	s := got[svcs[0].ServiceKey]
	if !s.HasData() || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "AWS denied cloudwatch:GetMetricData") {
		t.Errorf("after a denied read: data %v, warnings %q", s.HasData(), s.Warnings)
	}
}
