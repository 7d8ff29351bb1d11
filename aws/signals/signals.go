// Package signals reads what CloudWatch says about the services on screen: their balancers'
// request count, target 5xx, p99 response time and healthy/unhealthy hosts for the last hour
// at one-minute resolution, and the alarms in ALARM that name their target groups, load
// balancers or groups.
//
// Cost: one GetMetricData call per Interval (a minute: the metrics' resolution) carries the
// metrics of every balancer due (five queries each, at most 500 queries, so 100 balancers a
// call), and each balancer is read at most once per Interval; a balancer never read before (a
// service just scrolled into view) is read at once rather than a minute later; DescribeAlarms (StateValue ALARM, 100 a page)
// is read at most once per Interval as well. A target group's load balancer (the second
// dimension of its metrics) comes from DescribeTargetGroups, 20 names a call, kept for 30
// minutes. Balancers that do not fit in one call wait for the next minute, the first services
// given first. What cannot be read keeps its last value and becomes a warning that names it;
// a minute CloudWatch has no datapoint for stays absent ("no data"), never zero.
package signals

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// Limits of the APIs and of the reader.
const (
	// MaxQueries is GetMetricData's limit: "A single GetMetricData call can include as many
	// as 500 MetricDataQuery structures" (GetMetricDataInput.MetricDataQueries).
	MaxQueries = 500
	// queriesPerBalancer are the five metrics read per balancer.
	queriesPerBalancer = 5
	// namesPerCall is how many target groups one DescribeTargetGroups names.
	namesPerCall = 20
	// targetGroupTTL is how long a target group's load balancers are kept.
	targetGroupTTL = 30 * time.Minute
	// Window is how far back the series go.
	Window = time.Hour
)

// Options configure the reader.
type Options struct {
	// Now is the clock (time.Now by default; the simulator's in the demo and tests).
	Now func() time.Time
	// Interval is the least time between two reads of one metric (default one minute, the
	// metrics' resolution).
	Interval time.Duration
	// AlarmPattern, when set, also counts alarms whose name matches it (path.Match syntax,
	// with {service} and {env} replaced), e.g. "{service}-{env}-*".
	AlarmPattern string
}

// Reader reads and caches the signals. It is safe for concurrent use; reads do not overlap.
type Reader struct {
	cw   awsapi.CloudWatchReader
	elb  awsapi.ELBv2Reader
	opts Options

	run sync.Mutex // one read at a time

	mu        sync.Mutex
	tgs       map[string]*targetGroup // by name
	balancers map[string]*balancer    // by key ("tg/NAME", "elb/NAME")
	alarms    []cwtypes.MetricAlarm
	alarmsAt  time.Time
	alarmErr  string
	metricsAt time.Time // the last GetMetricData
	calls     map[string]int
}

type targetGroup struct {
	suffix string   // "targetgroup/NAME/ID"
	lbs    []string // "app/NAME/ID"
	readAt time.Time
	err    string
}

type balancer struct {
	label  string // "target group web-production"
	readAt time.Time
	// series by metric index, per load balancer merged
	requests, errors, p99, healthy, unhealthy model.Series
	err                                       string
}

// New is a reader over the CloudWatch and ELBv2 clients.
func New(cw awsapi.CloudWatchReader, elb awsapi.ELBv2Reader, o Options) *Reader {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	return &Reader{cw: cw, elb: elb, opts: o, tgs: map[string]*targetGroup{}, balancers: map[string]*balancer{}, calls: map[string]int{}}
}

// Calls counts the AWS calls made per operation, for budgets and tests.
func (r *Reader) Calls() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.calls))
	for k, v := range r.calls {
		out[k] = v
	}
	return out
}

func (r *Reader) count(op string) {
	r.mu.Lock()
	r.calls[op]++
	r.mu.Unlock()
}

// Read returns the signals of the services, reading from AWS only the balancers and alarms
// whose last read is older than the interval. Errors do not fail the read: they are in each
// service's Warnings, and the error returned is only a cancelled context.
func (r *Reader) Read(ctx context.Context, services []model.Service) (map[model.ServiceKey]model.Signals, error) {
	r.run.Lock()
	defer r.run.Unlock()
	now := r.opts.Now()
	if r.cw == nil {
		out := map[model.ServiceKey]model.Signals{}
		for _, s := range services {
			out[s.ServiceKey] = model.Signals{Key: s.ServiceKey, Warnings: []string{"CloudWatch is not configured: no signals"}}
		}
		return out, nil
	}
	r.resolveTargetGroups(ctx, services, now)
	r.readMetrics(ctx, services, now)
	r.readAlarms(ctx, now)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[model.ServiceKey]model.Signals, len(services))
	for _, s := range services {
		out[s.ServiceKey] = r.assemble(s, now)
	}
	return out, nil
}

// resolveTargetGroups reads the load balancers of target groups not known (or known for
// longer than targetGroupTTL).
func (r *Reader) resolveTargetGroups(ctx context.Context, services []model.Service, now time.Time) {
	var names []string
	seen := map[string]bool{}
	r.mu.Lock()
	for _, s := range services {
		for _, g := range s.Groups {
			for _, n := range g.TargetGroups {
				if seen[n] {
					continue
				}
				seen[n] = true
				if tg := r.tgs[n]; tg == nil || now.Sub(tg.readAt) >= targetGroupTTL {
					names = append(names, n)
				}
			}
		}
	}
	r.mu.Unlock()
	if r.elb == nil {
		return
	}
	for len(names) > 0 {
		batch := names[:min(len(names), namesPerCall)]
		names = names[len(batch):]
		r.count("DescribeTargetGroups")
		out, err := r.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: batch})
		r.mu.Lock()
		if err != nil {
			msg := "target groups " + strings.Join(batch, ", ") + " not read: " + awsapi.Explain(err)
			for _, n := range batch {
				if tg := r.tgs[n]; tg != nil {
					tg.err = msg // keep the load balancers known before
				} else {
					r.tgs[n] = &targetGroup{readAt: now, err: msg}
				}
			}
			r.mu.Unlock()
			continue
		}
		found := map[string]bool{}
		for _, t := range out.TargetGroups {
			n := aws.ToString(t.TargetGroupName)
			found[n] = true
			tg := &targetGroup{suffix: arnSuffix(aws.ToString(t.TargetGroupArn), "targetgroup/"), readAt: now}
			for _, lb := range t.LoadBalancerArns {
				if s := arnSuffix(lb, "app/"); s != "" {
					tg.lbs = append(tg.lbs, s)
				}
			}
			r.tgs[n] = tg
		}
		for _, n := range batch {
			if !found[n] {
				r.tgs[n] = &targetGroup{readAt: now, err: "target group " + n + " was not found"}
			}
		}
		r.mu.Unlock()
	}
}

// arnSuffix is the part of an ELB ARN that CloudWatch uses as a dimension value, from marker
// on: "targetgroup/NAME/ID", "app/NAME/ID".
func arnSuffix(arn, marker string) string {
	if i := strings.Index(arn, marker); i >= 0 {
		return arn[i:]
	}
	return ""
}

// query is one balancer's five metric queries for one load balancer.
type query struct {
	key  string
	list []cwtypes.MetricDataQuery
}

// Metric names per namespace, in the order of the balancer's series.
var (
	albMetrics = [queriesPerBalancer][2]string{
		{"RequestCount", "Sum"}, {"HTTPCode_Target_5XX_Count", "Sum"}, {"TargetResponseTime", "p99"},
		{"HealthyHostCount", "Minimum"}, {"UnHealthyHostCount", "Maximum"},
	}
	elbMetrics = [queriesPerBalancer][2]string{
		{"RequestCount", "Sum"}, {"HTTPCode_Backend_5XX", "Sum"}, {"Latency", "p99"},
		{"HealthyHostCount", "Minimum"}, {"UnHealthyHostCount", "Maximum"},
	}
)

// due lists the balancers to read now, in the services' order, as query sets that fit one
// call; the others wait.
func (r *Reader) due(services []model.Service, now time.Time) []query {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []query
	n := 0
	seen := map[string]bool{}
	// One call per interval; a balancer never read (a service just scrolled into view) is
	// read at once, with every other one due.
	callDue := r.metricsAt.IsZero() || now.Sub(r.metricsAt) >= r.opts.Interval
	firstLook := false
	add := func(key, label, ns string, metrics [queriesPerBalancer][2]string, dims []cwtypes.Dimension) {
		b := r.balancers[key]
		if b != nil && !b.readAt.IsZero() && now.Sub(b.readAt) < r.opts.Interval {
			return
		}
		if b == nil || b.readAt.IsZero() {
			firstLook = true
		}
		if n+queriesPerBalancer > MaxQueries {
			return
		}
		if r.balancers[key] == nil {
			r.balancers[key] = &balancer{label: label}
		}
		q := query{key: key}
		for i, m := range metrics {
			q.list = append(q.list, cwtypes.MetricDataQuery{
				Id:    aws.String(fmt.Sprintf("m%d_%d", n/queriesPerBalancer, i)),
				Label: aws.String(key + " " + m[0]),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(m[0]), Dimensions: dims},
					Period: aws.Int32(60), Stat: aws.String(m[1]),
				},
			})
		}
		n += queriesPerBalancer
		out = append(out, q)
	}
	for _, s := range services {
		for _, g := range s.Groups {
			for _, name := range g.TargetGroups {
				tg := r.tgs[name]
				if tg == nil || tg.suffix == "" {
					continue
				}
				for _, lb := range tg.lbs {
					key := "tg/" + name + "@" + lb
					if seen[key] {
						continue
					}
					seen[key] = true
					add(key, "target group "+name, "AWS/ApplicationELB", albMetrics, []cwtypes.Dimension{
						{Name: aws.String("TargetGroup"), Value: aws.String(tg.suffix)},
						{Name: aws.String("LoadBalancer"), Value: aws.String(lb)},
					})
				}
			}
			for _, name := range g.ClassicELBs {
				key := "elb/" + name
				if seen[key] {
					continue
				}
				seen[key] = true
				add(key, "classic ELB "+name, "AWS/ELB", elbMetrics, []cwtypes.Dimension{{Name: aws.String("LoadBalancerName"), Value: aws.String(name)}})
			}
		}
	}
	if !callDue && !firstLook {
		return nil
	}
	return out
}

// readMetrics makes the one GetMetricData call (its pages, if AWS paginates) for the due
// balancers.
func (r *Reader) readMetrics(ctx context.Context, services []model.Service, now time.Time) {
	due := r.due(services, now)
	if len(due) == 0 {
		return
	}
	end := now.UTC().Truncate(time.Minute) // the minute under way is incomplete: left out
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(end.Add(-Window)), EndTime: aws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending}
	byID := map[string]struct {
		key    string
		metric int
	}{}
	for _, q := range due {
		for i, m := range q.list {
			in.MetricDataQueries = append(in.MetricDataQueries, m)
			byID[aws.ToString(m.Id)] = struct {
				key    string
				metric int
			}{q.key, i}
		}
	}
	got := map[string]*[queriesPerBalancer][]model.Point{}
	var failure string
	for {
		r.count("GetMetricData")
		out, err := r.cw.GetMetricData(ctx, in)
		if err != nil {
			failure = "CloudWatch metrics not read: " + awsapi.Explain(err)
			break
		}
		for _, res := range out.MetricDataResults {
			ref, ok := byID[aws.ToString(res.Id)]
			if !ok {
				continue
			}
			pts := got[ref.key]
			if pts == nil {
				pts = &[queriesPerBalancer][]model.Point{}
				got[ref.key] = pts
			}
			for i := range min(len(res.Timestamps), len(res.Values)) {
				pts[ref.metric] = append(pts[ref.metric], model.Point{At: res.Timestamps[i].UTC(), Value: res.Values[i]})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metricsAt = now
	for _, q := range due {
		b := r.balancers[q.key]
		b.readAt = now
		if failure != "" {
			b.err = failure
			continue // keep the last series
		}
		b.err = ""
		pts := got[q.key]
		if pts == nil {
			pts = &[queriesPerBalancer][]model.Point{}
		}
		b.requests = model.Series(nil).Merge(pts[0], false)
		b.errors = model.Series(nil).Merge(pts[1], false)
		b.p99 = model.Series(nil).Merge(pts[2], true)
		b.healthy = model.Series(nil).Merge(pts[3], false)
		b.unhealthy = model.Series(nil).Merge(pts[4], false)
	}
}

// readAlarms lists the alarms in ALARM, at most once per interval.
func (r *Reader) readAlarms(ctx context.Context, now time.Time) {
	r.mu.Lock()
	fresh := !r.alarmsAt.IsZero() && now.Sub(r.alarmsAt) < r.opts.Interval
	r.mu.Unlock()
	if fresh {
		return
	}
	var all []cwtypes.MetricAlarm
	in := &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm, MaxRecords: aws.Int32(100)}
	var failure string
	for {
		r.count("DescribeAlarms")
		out, err := r.cw.DescribeAlarms(ctx, in)
		if err != nil {
			failure = "CloudWatch alarms not read: " + awsapi.Explain(err)
			break
		}
		all = append(all, out.MetricAlarms...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alarmsAt = now
	r.alarmErr = failure
	if failure == "" {
		r.alarms = all
	}
}

// assemble sums the service's balancers into its signals. r.mu is not held.
func (r *Reader) assemble(s model.Service, now time.Time) model.Signals {
	r.mu.Lock()
	defer r.mu.Unlock()
	sig := model.Signals{Key: s.ServiceKey, ReadAt: now}
	warn := map[string]bool{}
	addWarn := func(w string) {
		if w != "" && !warn[w] {
			warn[w] = true
			sig.Warnings = append(sig.Warnings, model.SafeText(w))
		}
	}
	tgSuffixes, lbSuffixes, elbNames, groups := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var keys []string
	for _, g := range s.Groups {
		groups[g.Name] = true
		for _, name := range g.TargetGroups {
			sig.Balancers = appendOnce(sig.Balancers, "target group "+name)
			tg := r.tgs[name]
			if tg == nil {
				continue
			}
			addWarn(tg.err)
			if tg.suffix != "" {
				tgSuffixes[tg.suffix] = true
				if len(tg.lbs) == 0 {
					addWarn("target group " + name + " is not attached to a load balancer: it has no traffic metrics")
				}
			}
			for _, lb := range tg.lbs {
				lbSuffixes[lb] = true
				keys = appendOnce(keys, "tg/"+name+"@"+lb)
			}
		}
		for _, name := range g.ClassicELBs {
			sig.Balancers = appendOnce(sig.Balancers, "classic ELB "+name)
			elbNames[name] = true
			keys = appendOnce(keys, "elb/"+name)
		}
	}
	for _, k := range keys {
		b := r.balancers[k]
		if b == nil {
			continue
		}
		addWarn(b.err)
		sig.Requests = sig.Requests.Merge(b.requests, false)
		sig.Errors = sig.Errors.Merge(b.errors, false)
		sig.P99 = sig.P99.Merge(b.p99, true)
		sig.Healthy = sig.Healthy.Merge(b.healthy, false)
		sig.Unhealthy = sig.Unhealthy.Merge(b.unhealthy, false)
	}
	addWarn(r.alarmErr)
	pattern := ""
	if p := r.opts.AlarmPattern; p != "" {
		pattern = strings.NewReplacer("{service}", s.Name, "{env}", s.Env).Replace(p)
	}
	for _, a := range r.alarms {
		if !alarmNames(a, tgSuffixes, lbSuffixes, elbNames, groups) {
			if ok, _ := path.Match(pattern, aws.ToString(a.AlarmName)); pattern == "" || !ok {
				continue
			}
		}
		sig.Alarms = append(sig.Alarms, model.Alarm{
			Name:   model.SafeText(aws.ToString(a.AlarmName)),
			Reason: model.SafeText(aws.ToString(a.StateReason)),
			Since:  aws.ToTime(a.StateUpdatedTimestamp),
			Metric: model.SafeText(aws.ToString(a.Namespace) + "/" + aws.ToString(a.MetricName)),
		})
	}
	sort.Slice(sig.Alarms, func(i, j int) bool { return sig.Alarms[i].Name < sig.Alarms[j].Name })
	return sig
}

// alarmNames reports whether an alarm's dimensions name one of the service's target groups,
// load balancers, classic ELBs or groups.
func alarmNames(a cwtypes.MetricAlarm, tgs, lbs, elbs, groups map[string]bool) bool {
	dims := a.Dimensions
	if m := a.Metrics; len(dims) == 0 && len(m) > 0 {
		for _, q := range m {
			if q.MetricStat != nil && q.MetricStat.Metric != nil {
				dims = append(dims, q.MetricStat.Metric.Dimensions...)
			}
		}
	}
	for _, d := range dims {
		v := aws.ToString(d.Value)
		switch aws.ToString(d.Name) {
		case "TargetGroup":
			if tgs[v] {
				return true
			}
		case "LoadBalancer":
			if lbs[v] {
				return true
			}
		case "LoadBalancerName":
			if elbs[v] {
				return true
			}
		case "AutoScalingGroupName":
			if groups[v] {
				return true
			}
		}
	}
	return false
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
