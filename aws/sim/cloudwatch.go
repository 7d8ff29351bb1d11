package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// CloudWatch in the simulator: each balancer publishes one sample per simulated minute, taken
// from the fleet as it is when the minute ends (which targets are healthy, which AMI they run),
// so a release whose image errors (MarkImageErroring) raises the 5xx count while its instances
// serve, and a rollback that replaces them brings it down. Traffic per balancer is steady with
// a deterministic wobble; 0.2 % of requests fail on a good image.
//
// What it follows (the SDK's doc comments on GetMetricDataInput and the ALB/ELB metric
// reference): at most 500 queries per call; query ids start with a lowercase letter and are
// unique; StartTime is inclusive and rounded down to the minute, EndTime is exclusive; the
// default order is TimestampDescending; a metric nobody published returns an empty result with
// StatusCode Complete; HTTPCode_Target_5XX_Count (classic: HTTPCode_Backend_5XX) is published
// only for minutes with a nonzero count, RequestCount only for minutes with requests, and
// TargetResponseTime (classic: Latency) only when a target answered.
//
// Where it departs: metric math and Metrics Insights are refused; only the balancer metrics
// below exist (AWS/ApplicationELB with TargetGroup + LoadBalancer, AWS/ELB with
// LoadBalancerName); a period longer than a minute aggregates the minute samples, and p99
// over several minutes is their maximum; three hours of minutes are kept; MaxDatapoints and
// NextToken are not modelled (500 queries over an hour stay far below the 100,800 points of
// one page). Alarms are evaluated when described, over the samples they name.

// MetricSample is one balancer's minute.
type MetricSample struct {
	At        time.Time // the minute's start
	Requests  float64
	Errors5xx float64
	P99       float64 // seconds; 0 when no target answered
	Healthy   float64
	Unhealthy float64
}

// Alarm is a CloudWatch metric alarm on one of the simulated metrics.
type Alarm struct {
	Name              string
	Namespace         string
	Metric            string
	Dimensions        []Tag // Key = dimension name
	Statistic         string
	Threshold         float64
	EvaluationPeriods int
	// Comparison is GreaterThanThreshold (the default) or LessThanThreshold.
	Comparison string `json:",omitempty"`
}

// metricsKept is how many minutes of samples each balancer keeps.
const metricsKept = 180

// goodErrorRate is the fraction of requests a good image answers with a 5xx.
const goodErrorRate = 0.002

// MarkImageErroring makes instances launched from the AMI pass their health checks but answer
// that fraction of requests (0..1) with a 5xx: the release that breaks real traffic while its
// health endpoint still says OK.
func (c *Cloud) MarkImageErroring(amiID string, fraction float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	if c.st.ErrorImages == nil {
		c.st.ErrorImages = map[string]float64{}
	}
	c.st.ErrorImages[amiID] = min(max(fraction, 0), 1)
}

// AddAlarm defines a metric alarm (PutMetricAlarm's fields that matter here).
func (c *Cloud) AddAlarm(a Alarm) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.EvaluationPeriods <= 0 {
		a.EvaluationPeriods = 1
	}
	if a.Comparison == "" {
		a.Comparison = "GreaterThanThreshold"
	}
	c.st.Alarms = append(c.st.Alarms, &a)
}

// Samples are the recorded minutes of a target group (by ARN) or classic ELB (by name),
// oldest first.
func (c *Cloud) Samples(balancer string) []MetricSample {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance()
	return append([]MetricSample(nil), c.st.Metrics[metricKey(balancer)]...)
}

func metricKey(balancer string) string {
	if strings.HasPrefix(balancer, "arn:") {
		return balancer
	}
	return "elb/" + balancer
}

// recordMetrics samples every balancer for each minute that ended in (prev, now]. c.mu is held.
func (c *Cloud) recordMetrics(prev, now time.Time) {
	if !now.After(prev) {
		return
	}
	first := prev.Truncate(time.Minute).Add(time.Minute)
	if oldest := now.Truncate(time.Minute).Add(-metricsKept * time.Minute); first.Before(oldest) {
		first = oldest
	}
	for end := first; !end.After(now); end = end.Add(time.Minute) {
		c.sampleMinute(end.Add(-time.Minute))
	}
}

// sampleMinute records the minute starting at start for every balancer, from the fleet now.
func (c *Cloud) sampleMinute(start time.Time) {
	if c.st.Metrics == nil {
		c.st.Metrics = map[string][]MetricSample{}
	}
	add := func(key string, s MetricSample) {
		ss := c.st.Metrics[key]
		if n := len(ss); n > 0 && !ss[n-1].At.Before(start) {
			return
		}
		ss = append(ss, s)
		if len(ss) > metricsKept {
			ss = append(ss[:0], ss[len(ss)-metricsKept:]...)
		}
		c.st.Metrics[key] = ss
	}
	for _, tg := range c.st.TargetGroups {
		if tg.LoadBalancerARN == "" {
			continue // a target group without a load balancer gets no traffic and no metrics
		}
		add(tg.ARN, c.sample(tg.ARN, tg.Targets, tg.Interval, tg.HealthyThreshold, tg.UnhealthyThreshold, time.Duration(tg.DeregistrationDelay)*time.Second, start))
	}
	for _, lb := range c.st.ClassicELBs {
		add("elb/"+lb.Name, c.sample("elb/"+lb.Name, lb.Instances, lb.Interval, lb.HealthyThreshold, lb.UnhealthyThreshold, lb.drainDelay(), start))
	}
}

// noise is a deterministic number in [0, 1) for a balancer and a minute.
func noise(key string, at time.Time, salt string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	_, _ = h.Write([]byte(salt))
	_, _ = h.Write([]byte(strconv.FormatInt(at.Unix(), 10)))
	return float64(h.Sum64()%10000) / 10000
}

func (c *Cloud) sample(key string, regs []*Registration, interval, healthy, unhealthy int32, delay time.Duration, start time.Time) MetricSample {
	s := MetricSample{At: start}
	var serving []string
	for _, r := range regs {
		switch c.targetHealth(r, interval, healthy, unhealthy, delay).state {
		case "healthy":
			serving = append(serving, r.InstanceID)
		case "unhealthy":
			s.Unhealthy++
		}
	}
	s.Healthy = float64(len(serving))
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	base := 300 + float64(h.Sum64()%20)*60
	minute := float64(start.Unix() / 60)
	s.Requests = math.Round(base * (1 + 0.15*math.Sin(2*math.Pi*minute/47) + 0.1*(noise(key, start, "r")-0.5)))
	if len(serving) == 0 {
		// The balancer answers 503 itself (an ELB, not a target, 5xx): no target metric.
		return s
	}
	per := s.Requests / float64(len(serving))
	slow := false
	for _, id := range serving {
		rate := goodErrorRate * (0.5 + noise(key+id, start, "e"))
		if in := c.st.Instances[id]; in != nil {
			if f, ok := c.st.ErrorImages[in.ImageID]; ok {
				rate = f * (0.9 + 0.2*noise(key+id, start, "e"))
				slow = true
			}
		}
		s.Errors5xx += per * rate
	}
	s.Errors5xx = math.Round(s.Errors5xx)
	s.P99 = 0.08 + 0.04*noise(key, start, "p")
	if slow {
		s.P99 = 1.2 + 0.6*noise(key, start, "p")
	}
	return s
}

// cloudWatchClient is the simulated CloudWatch API.
type cloudWatchClient struct{ c *Cloud }

var svcCloudWatch = service{"CloudWatch", "Throttling", "cloudwatch"}

var queryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// GetMetricData answers metric queries from the recorded samples (see the rules above).
func (w *cloudWatchClient) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	const op = "GetMetricData"
	c := w.c
	if err := c.begin(svcCloudWatch, op, ""); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || in.StartTime == nil || in.EndTime == nil || len(in.MetricDataQueries) == 0 {
		return nil, apiError(svcCloudWatch, op, "ValidationError", "StartTime, EndTime and MetricDataQueries are required")
	}
	if n := len(in.MetricDataQueries); n > 500 {
		return nil, apiError(svcCloudWatch, op, "ValidationError", "The collection MetricDataQueries must not have a size greater than 500.")
	}
	start := in.StartTime.Truncate(time.Minute)
	end := *in.EndTime
	if !end.After(start) {
		return nil, apiError(svcCloudWatch, op, "ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
	}
	ids := map[string]bool{}
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		id := aws.ToString(q.Id)
		if !queryID.MatchString(id) {
			return nil, apiError(svcCloudWatch, op, "ValidationError", "Invalid metric data query id %q: it must start with a lowercase letter and contain only letters, numbers and underscores.", id)
		}
		if ids[id] {
			return nil, apiError(svcCloudWatch, op, "ValidationError", "The value %s for parameter MetricDataQueries is not unique.", id)
		}
		ids[id] = true
		if q.Expression != nil || q.MetricStat == nil || q.MetricStat.Metric == nil {
			return nil, apiError(svcCloudWatch, op, "ValidationError", "query %s: the simulator answers only MetricStat queries (no metric math or Metrics Insights)", id)
		}
		ms := q.MetricStat
		period := time.Duration(aws.ToInt32(ms.Period)) * time.Second
		if period <= 0 || period%time.Minute != 0 {
			return nil, apiError(svcCloudWatch, op, "ValidationError", "query %s: the period must be a multiple of 60 seconds for standard-resolution metrics", id)
		}
		label := aws.ToString(q.Label)
		if label == "" {
			label = aws.ToString(ms.Metric.MetricName)
		}
		res := cwtypes.MetricDataResult{Id: q.Id, Label: aws.String(label), StatusCode: cwtypes.StatusCodeComplete}
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		pick, ok := metricPicker(aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName))
		key := c.metricSource(ms.Metric)
		if ok && key != "" {
			ts, vs := aggregate(c.st.Metrics[key], start, end, period, ms.Stat, pick)
			if in.ScanBy != cwtypes.ScanByTimestampAscending {
				reverse(ts)
				reverse(vs)
			}
			res.Timestamps, res.Values = ts, vs
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// metricPicker reads one metric from a sample; false for a metric the simulator does not
// publish. The bool of the picker says whether the minute has a datapoint.
func metricPicker(namespace, name string) (func(MetricSample) (float64, bool), bool) {
	switch namespace + ":" + name {
	case "AWS/ApplicationELB:RequestCount", "AWS/ELB:RequestCount":
		return func(s MetricSample) (float64, bool) { return s.Requests, s.Requests > 0 }, true
	case "AWS/ApplicationELB:HTTPCode_Target_5XX_Count", "AWS/ELB:HTTPCode_Backend_5XX":
		return func(s MetricSample) (float64, bool) { return s.Errors5xx, s.Errors5xx > 0 }, true
	case "AWS/ApplicationELB:TargetResponseTime", "AWS/ELB:Latency":
		return func(s MetricSample) (float64, bool) { return s.P99, s.P99 > 0 }, true
	case "AWS/ApplicationELB:HealthyHostCount", "AWS/ELB:HealthyHostCount":
		return func(s MetricSample) (float64, bool) { return s.Healthy, true }, true
	case "AWS/ApplicationELB:UnHealthyHostCount", "AWS/ELB:UnHealthyHostCount":
		return func(s MetricSample) (float64, bool) { return s.Unhealthy, true }, true
	}
	return nil, false
}

// metricSource is the balancer key whose samples a metric's dimensions name, "" for none.
func (c *Cloud) metricSource(m *cwtypes.Metric) string {
	dims := map[string]string{}
	for _, d := range m.Dimensions {
		dims[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	switch aws.ToString(m.Namespace) {
	case "AWS/ApplicationELB":
		if len(dims) != 2 {
			return ""
		}
		for _, tg := range c.st.TargetGroups {
			if tg.LoadBalancerARN != "" && dims["TargetGroup"] == arnSuffix(tg.ARN, "targetgroup/") && dims["LoadBalancer"] == arnSuffix(tg.LoadBalancerARN, "app/") {
				return tg.ARN
			}
		}
	case "AWS/ELB":
		if len(dims) != 1 {
			return ""
		}
		if lb := c.elbs[dims["LoadBalancerName"]]; lb != nil {
			return "elb/" + lb.Name
		}
	}
	return ""
}

// arnSuffix is the part of an ELB ARN CloudWatch uses as a dimension value, from marker on
// ("targetgroup/name/id", "app/name/id").
func arnSuffix(arn, marker string) string {
	if i := strings.Index(arn, marker); i >= 0 {
		return arn[i:]
	}
	return ""
}

// aggregate computes one statistic per period over the samples in [start, end).
func aggregate(samples []MetricSample, start, end time.Time, period time.Duration, stat *string, pick func(MetricSample) (float64, bool)) ([]time.Time, []float64) {
	type bucket struct {
		vals []float64
	}
	buckets := map[int64]*bucket{}
	var order []int64
	for _, s := range samples {
		if s.At.Before(start) || !s.At.Before(end) {
			continue
		}
		v, ok := pick(s)
		if !ok {
			continue
		}
		k := start.Add(s.At.Sub(start) / period * period).Unix()
		b := buckets[k]
		if b == nil {
			b = &bucket{}
			buckets[k] = b
			order = append(order, k)
		}
		b.vals = append(b.vals, v)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	var ts []time.Time
	var vs []float64
	for _, k := range order {
		vals := buckets[k].vals
		var v float64
		switch aws.ToString(stat) {
		case "Sum":
			for _, x := range vals {
				v += x
			}
		case "Average":
			for _, x := range vals {
				v += x
			}
			v /= float64(len(vals))
		case "Minimum":
			v = vals[0]
			for _, x := range vals {
				v = min(v, x)
			}
		case "SampleCount":
			v = float64(len(vals))
		default: // Maximum, and pNN (the maximum of the minutes' percentiles)
			for _, x := range vals {
				v = max(v, x)
			}
		}
		ts = append(ts, time.Unix(k, 0).UTC())
		vs = append(vs, v)
	}
	return ts, vs
}

// DescribeAlarms lists the metric alarms, evaluated now over their samples. MaxRecords is
// 1-100 (default 50) as the API reference says; NextToken is an offset.
func (w *cloudWatchClient) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	const op = "DescribeAlarms"
	c := w.c
	if err := c.begin(svcCloudWatch, op, ""); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &cloudwatch.DescribeAlarmsInput{}
	}
	limit := int(aws.ToInt32(in.MaxRecords))
	if in.MaxRecords != nil && (limit < 1 || limit > 100) {
		return nil, apiError(svcCloudWatch, op, "ValidationError", "MaxRecords must be between 1 and 100")
	}
	if limit == 0 {
		limit = 50
	}
	var all []cwtypes.MetricAlarm
	for _, a := range c.st.Alarms {
		if p := aws.ToString(in.AlarmNamePrefix); p != "" && !strings.HasPrefix(a.Name, p) {
			continue
		}
		state, reason, since := c.evaluate(a)
		if in.StateValue != "" && in.StateValue != state {
			continue
		}
		ma := cwtypes.MetricAlarm{
			AlarmName: aws.String(a.Name), AlarmArn: aws.String(fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", c.st.Region, c.st.Account, a.Name)),
			Namespace: aws.String(a.Namespace), MetricName: aws.String(a.Metric), Statistic: cwtypes.Statistic(a.Statistic),
			Threshold: aws.Float64(a.Threshold), EvaluationPeriods: aws.Int32(int32(a.EvaluationPeriods)), Period: aws.Int32(60),
			ComparisonOperator: cwtypes.ComparisonOperator(a.Comparison), StateValue: state, StateReason: aws.String(reason),
			StateUpdatedTimestamp: aws.Time(since), StateTransitionedTimestamp: aws.Time(since),
		}
		for _, d := range a.Dimensions {
			ma.Dimensions = append(ma.Dimensions, cwtypes.Dimension{Name: aws.String(d.Key), Value: aws.String(d.Value)})
		}
		all = append(all, ma)
	}
	off := 0
	if t := aws.ToString(in.NextToken); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(all) {
			return nil, apiError(svcCloudWatch, op, "InvalidNextToken", "The service returned an invalid next token.")
		}
		off = n
	}
	out := &cloudwatch.DescribeAlarmsOutput{MetricAlarms: all[off:min(off+limit, len(all))]}
	if off+limit < len(all) {
		out.NextToken = aws.String(strconv.Itoa(off + limit))
	}
	return out, nil
}

// evaluate is the alarm's state over its last EvaluationPeriods complete minutes, and since
// when it has been in it. A minute without a datapoint counts as not breaching (AWS's
// TreatMissingData "missing" then keeps the state; the simulator keeps it simple).
func (c *Cloud) evaluate(a *Alarm) (cwtypes.StateValue, string, time.Time) {
	m := &cwtypes.Metric{Namespace: aws.String(a.Namespace), MetricName: aws.String(a.Metric)}
	for _, d := range a.Dimensions {
		m.Dimensions = append(m.Dimensions, cwtypes.Dimension{Name: aws.String(d.Key), Value: aws.String(d.Value)})
	}
	pick, ok := metricPicker(a.Namespace, a.Metric)
	samples := c.st.Metrics[c.metricSource(m)]
	if !ok || len(samples) < a.EvaluationPeriods {
		since := c.st.Now.Truncate(time.Minute)
		return cwtypes.StateValueInsufficientData, "Insufficient Data: not enough datapoints were received", since
	}
	breach := func(i int) bool {
		v, has := pick(samples[i])
		if !has {
			return false
		}
		if a.Comparison == "LessThanThreshold" {
			return v < a.Threshold
		}
		return v > a.Threshold
	}
	stateAt := func(end int) bool { // the alarm over the periods ending with sample end
		for i := end - a.EvaluationPeriods + 1; i <= end; i++ {
			if i < 0 || !breach(i) {
				return false
			}
		}
		return true
	}
	last := len(samples) - 1
	now := stateAt(last)
	i := last
	for i > 0 && stateAt(i-1) == now {
		i--
	}
	since := samples[i].At.Add(time.Minute)
	if now {
		v, _ := pick(samples[last])
		return cwtypes.StateValueAlarm, fmt.Sprintf("Threshold Crossed: %d datapoint(s) were greater than the threshold (%g). The most recent datapoint: %g.", a.EvaluationPeriods, a.Threshold, v), since
	}
	return cwtypes.StateValueOk, fmt.Sprintf("Threshold Crossed: no datapoint was greater than the threshold (%g).", a.Threshold), since
}

// GetConsoleOutput returns a boot log of the instance, base64-encoded as EC2 returns it.
func (e *ec2Client) GetConsoleOutput(_ context.Context, in *ec2.GetConsoleOutputInput, _ ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error) {
	const op = "GetConsoleOutput"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	id := aws.ToString(in.InstanceId)
	inst := c.st.Instances[id]
	if inst == nil {
		return nil, apiError(svcEC2, op, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	out := &ec2.GetConsoleOutputOutput{InstanceId: aws.String(id), Timestamp: aws.Time(c.st.Now)}
	if inst.Lifecycle == lcPending && c.st.Now.Sub(inst.LaunchedAt) < 5*time.Second {
		return out, nil // nothing written yet
	}
	var b strings.Builder
	t := inst.LaunchedAt
	line := func(d time.Duration, format string, args ...any) {
		at := t.Add(d)
		if at.After(c.st.Now) {
			return
		}
		fmt.Fprintf(&b, "[%9.6f] %s\n", at.Sub(t).Seconds(), fmt.Sprintf(format, args...))
	}
	line(0, "Linux version 6.1.0-amzn2023 (mockbuild@ip-10-0-1-1) #1 SMP")
	line(time.Second, "Command line: BOOT_IMAGE=/boot/vmlinuz root=UUID=%s ro console=ttyS0", inst.ImageID)
	line(3*time.Second, "cloud-init[812]: Cloud-init v. 22.2.2 running 'init' at %s. Up 3.10 seconds.", t.UTC().Format(time.RFC1123))
	line(4*time.Second, "cloud-init[812]: ci-info: | eth0 | True | %s | 255.255.255.0 |", inst.PrivateIP)
	line(6*time.Second, "systemd[1]: Starting app.service - %s release %s...", inst.Group, inst.ImageID)
	line(9*time.Second, "app[1043]: listening on :8080")
	if f, ok := c.st.ErrorImages[inst.ImageID]; ok {
		line(20*time.Second, "app[1043]: ERROR upstream pool exhausted (%.0f%% of requests failing)", f*100)
		line(40*time.Second, "app[1043]: ERROR 502 from bids-backend: connection reset by peer")
	}
	if c.st.BadImages[inst.ImageID] {
		line(12*time.Second, "app[1043]: FATAL cannot bind health endpoint: config key health.path missing")
	}
	line(15*time.Second, "cloud-init[1101]: Cloud-init v. 22.2.2 finished. Up 15.02 seconds")
	out.Output = aws.String(base64.StdEncoding.EncodeToString([]byte(b.String())))
	return out, nil
}
