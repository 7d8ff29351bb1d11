package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// The one-shot read (Options.OneShot) is what `status` and CI gates need: a complete answer
// or a named list of what is missing, never the console's partial per-tick view. It reads
//
//   - every DescribeAutoScalingGroups page (tag-filtered when one service or environment is
//     asked for);
//   - "$Latest" and "$Default" of every launch template in one paginated account-wide
//     DescribeLaunchTemplateVersions (AWS allows it without a template ID), then only the
//     numeric versions that call did not cover, one request per template;
//   - every instance with DescribeInstances (1,000 IDs a call): its launch time and AMI;
//   - every target group and classic ELB once, plus the drain delay of those draining;
//   - the instance refreshes of every group when at most 100 are listed, else of the groups
//     that move, run mixed versions or drain (a rollout in progress does all three).
//
// So it costs Cmin = ceil(groups/100) + target groups + classic ELBs + ceil(instances/1000),
// plus the identity, ceil(templates x 2 / 200) alias pages and the refreshes. Calls are paced
// per API by AWS's documented token buckets (the burst, then the refill rate), not by the
// console's budget; a throttled call waits for the bucket and is tried again, up to
// OneShot.Attempts times. Whatever is still unread when the context ends (status's
// --max-wait, or an interrupt) or after the attempts is named, per resource, in
// Fleet.Problems and counted in PollStats.Unread; an unread balancer's targets are
// TargetUnknown, never unhealthy.

// rateSpec is one API's token bucket as AWS documents it.
type rateSpec struct{ burst, refill float64 }

var (
	autoScalingRate = rateSpec{40, 10}  // Auto Scaling API: 40, refilling 10 a second
	ec2ReadRate     = rateSpec{100, 20} // EC2 Describe* (non-mutating) actions: 100, 20 a second
	// Elastic Load Balancing Describe*: 40, 10 a second, a bucket for each API version (v2:
	// target groups, v1: classic ELBs; see elbAPI).
	elbReadRate = rateSpec{40, 10}
)

// defaultAttempts is OneShot.Attempts' default.
const defaultAttempts = 3

// maxOneShotProblems bounds Fleet.Problems of a one-shot read: every unread resource is
// named up to it.
const maxOneShotProblems = 200

// pacer holds one API's calls to its token bucket on the inventory's clock.
type pacer struct {
	mu     sync.Mutex
	spec   rateSpec
	tokens float64
	last   time.Time
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time
}

func newPacer(spec rateSpec, now func() time.Time, after func(time.Duration) <-chan time.Time) *pacer {
	return &pacer{spec: spec, tokens: spec.burst, now: now, after: after}
}

// take waits until the bucket has a token and takes it; waited says whether it had to wait.
func (p *pacer) take(ctx context.Context) (waited bool, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return waited, err
		}
		p.mu.Lock()
		now := p.now()
		if p.last.IsZero() {
			p.last = now
		} else if now.After(p.last) {
			p.tokens = min(p.spec.burst, p.tokens+p.spec.refill*now.Sub(p.last).Seconds())
			p.last = now
		}
		if p.tokens >= 1 {
			p.tokens--
			p.mu.Unlock()
			return waited, nil
		}
		wait := time.Duration((1 - p.tokens) / p.spec.refill * float64(time.Second))
		p.mu.Unlock()
		waited = true
		select {
		case <-ctx.Done():
			return waited, ctx.Err()
		case <-p.after(wait):
		}
	}
}

// throttled empties the bucket after AWS refused a call: someone else (another console, a
// deploy script) shares the account's bucket, so the next calls wait longer each attempt.
func (p *pacer) throttled(attempt int) {
	p.mu.Lock()
	p.tokens = min(p.tokens, 0) - float64(attempt)
	p.mu.Unlock()
}

// oneShotRun is the bookkeeping of one one-shot read.
type oneShotRun struct {
	inv           *Inventory
	s             *snapshotRun
	as, ec2       *pacer
	elb           [elbAPIs]*pacer // per ELB API version
	attempts      int
	progress      func(Progress)
	mu            sync.Mutex
	done, total   int
	unread        int
	waitedForRate bool
}

// plan adds n calls to the progress total.
func (o *oneShotRun) plan(n int) {
	o.mu.Lock()
	o.total += n
	o.report()
	o.mu.Unlock()
}

func (o *oneShotRun) report() {
	if o.progress != nil {
		o.progress(Progress{Done: o.done, Total: max(o.total, o.done), Waiting: o.waitedForRate})
	}
}

// call makes one paced call (do counts and makes it), trying a throttled one again.
func (o *oneShotRun) call(ctx context.Context, p *pacer, do func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		waited, err := p.take(ctx)
		if err == nil {
			err = do(ctx)
			if err != nil && awsapi.Throttled(err) && attempt < o.attempts && ctx.Err() == nil {
				p.throttled(attempt)
				continue
			}
		}
		o.mu.Lock()
		o.done++
		o.waitedForRate = waited
		o.report()
		o.mu.Unlock()
		return err
	}
}

// missing names one resource the read could not read, with the next step.
func (o *oneShotRun) missing(what string, err error) {
	o.mu.Lock()
	o.unread++
	o.mu.Unlock()
	o.s.problem(errors.New(what + " not read: " + o.why(err)))
}

func (o *oneShotRun) why(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "the time allowed ran out first (raise --max-wait, or narrow the read with --service/--env)"
	case errors.Is(err, context.Canceled):
		return "interrupted before it was read; run status again"
	case isNotFound(err):
		return "it no longer exists in AWS, but a group still names it; detach it from the group"
	case awsapi.Throttled(err):
		return fmt.Sprintf("AWS kept throttling it after %d attempts (another tool is using this account's rate); run status again in a minute", o.attempts)
	}
	return awsapi.Explain(err)
}

// readAll is Snapshot in one-shot mode; inv.running is held.
func (inv *Inventory) readAll(ctx context.Context) (model.Fleet, error) {
	s := &snapshotRun{now: inv.opts.Now(), calls: map[string]int{}, maxProblems: maxOneShotProblems}
	defer inv.keepStats(s)
	cfg := inv.opts.OneShot
	o := &oneShotRun{inv: inv, s: s, attempts: cfg.Attempts, progress: cfg.Progress,
		as:  newPacer(autoScalingRate, inv.opts.Now, inv.opts.After),
		ec2: newPacer(ec2ReadRate, inv.opts.Now, inv.opts.After),
		elb: [elbAPIs]*pacer{newPacer(elbReadRate, inv.opts.Now, inv.opts.After), newPacer(elbReadRate, inv.opts.Now, inv.opts.After)}}
	if o.attempts <= 0 {
		o.attempts = defaultAttempts
	}
	defer func() {
		o.mu.Lock()
		s.mu.Lock()
		s.stats.Unread = o.unread
		s.mu.Unlock()
		o.mu.Unlock()
	}()

	fleet := inv.newFleet(ctx, s)

	var filters []astypes.Filter
	if inv.opts.SkipUntagged {
		filters = append(filters, astypes.Filter{Name: aws.String("tag-key"), Values: []string{inv.opts.Tags.Service}})
	}
	if cfg.Service != "" {
		filters = append(filters, astypes.Filter{Name: aws.String("tag:" + inv.opts.Tags.Service), Values: []string{cfg.Service}})
	}
	if cfg.Env != "" {
		filters = append(filters, astypes.Filter{Name: aws.String("tag:" + inv.opts.Tags.Environment), Values: []string{cfg.Env}})
	}
	var raw []astypes.AutoScalingGroup
	o.plan(1)
	pages := 0
	err := describeGroupsEach(ctx, inv.c.AutoScaling, filters, func(ctx context.Context) error {
		if pages > 0 {
			o.plan(1)
		}
		pages++
		_, err := o.as.take(ctx)
		s.count("DescribeAutoScalingGroups")
		return err
	}, func(err error, attempt int) bool {
		if awsapi.Throttled(err) && attempt < o.attempts && ctx.Err() == nil {
			o.as.throttled(attempt)
			return true
		}
		return false
	}, func(page []astypes.AutoScalingGroup) {
		o.mu.Lock()
		o.done++
		o.report()
		o.mu.Unlock()
		raw = append(raw, page...)
	})
	if err != nil {
		return model.Fleet{}, fmt.Errorf("read the fleet: %w", err)
	}
	inv.gen++
	reads := inv.mapListing(raw)
	raw = nil
	inv.carryStates(reads)
	if cfg.ListOnly {
		for i := range reads {
			fleet.Groups = append(fleet.Groups, *reads[i].g)
		}
		fleet.BuildServices(inv.opts.SkipUntagged)
		return fleet, nil
	}

	// Templates: the account-wide aliases first, then what they did not cover.
	if inv.anyTemplate(reads) {
		o.plan(1)
		if err := o.call(ctx, o.ec2, func(ctx context.Context) error { return inv.readAllAliases(ctx, o) }); err != nil {
			s.problem(fmt.Errorf("read $Latest/$Default of every launch template (falling back to one request per template): %s", o.why(err)))
		}
	}
	var tasks []task
	tasks = append(tasks, o.templateTasks(reads, true)...)
	var ids []string
	for i := range reads {
		for j := range reads[i].g.Instances {
			if !inv.instances.has(reads[i].g.Instances[j].ID) {
				ids = append(ids, reads[i].g.Instances[j].ID)
			}
		}
	}
	s.stats.NewInstances = len(ids)
	for _, call := range instanceCalls(ids) {
		tasks = append(tasks, o.instanceTask(call))
	}
	bals := inv.allBalancers(reads)
	s.stats.Balancers, s.stats.BalancersRead = len(bals), len(bals)
	for _, b := range bals {
		tasks = append(tasks, o.balancerTask(b))
	}
	o.plan(len(tasks))
	runTasks(ctx, tasks)

	// Rollouts, now that draining is known; then the AMIs of the versions they roll out.
	for i := range reads {
		reads[i].draining = inv.groupDraining(&reads[i])
	}
	tasks = o.refreshTasks(reads)
	o.plan(len(tasks))
	runTasks(ctx, tasks)
	tasks = o.templateTasks(reads, false)
	o.plan(len(tasks))
	runTasks(ctx, tasks)

	fleet.Groups = inv.assemble(reads, s)
	inv.keepFacts(fleet.Groups, s)
	inv.prune()
	// The refresh states go with the listing to the next read (carryStates).
	inv.listed = slices.Grow(inv.listed[:0], len(reads))[:len(reads)]
	for i := range reads {
		inv.listed[i] = reads[i].listing
	}
	inv.listedGroups = fleet.Groups
	fleet.BuildServices(inv.opts.SkipUntagged)
	fleet.Problems = s.problemList()
	inv.mu.Lock()
	inv.last = fleet.Groups
	inv.mu.Unlock()
	return fleet, nil
}

// anyTemplate reports whether any group launches from a launch template.
func (inv *Inventory) anyTemplate(reads []groupRead) bool {
	for i := range reads {
		if reads[i].template != "" {
			return true
		}
	}
	return false
}

// readAllAliases is one paginated, account-wide DescribeLaunchTemplateVersions of "$Latest"
// and "$Default": every template's two aliases and their AMIs, under both the template's ID
// and its name (a group may name either).
func (inv *Inventory) readAllAliases(ctx context.Context, o *oneShotRun) error {
	type alias struct {
		id, name string
		a        ltAlias
		images   map[int64]string
	}
	by := map[string]*alias{}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest", "$Default"}, MaxResults: aws.Int32(200)}
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(inv.c.EC2, in)
	for first := true; p.HasMorePages(); first = false {
		if !first {
			o.plan(1)
			if _, err := o.ec2.take(ctx); err != nil {
				return err
			}
		}
		o.s.count("DescribeLaunchTemplateVersions")
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("read $Latest/$Default of every launch template: %w", err)
		}
		if !first {
			o.mu.Lock()
			o.done++
			o.mu.Unlock()
		}
		for _, v := range page.LaunchTemplateVersions {
			id := aws.ToString(v.LaunchTemplateId)
			a := by[id]
			if a == nil {
				a = &alias{id: id, name: aws.ToString(v.LaunchTemplateName), images: map[int64]string{}}
				by[id] = a
			}
			n := aws.ToInt64(v.VersionNumber)
			if n > a.a.latest {
				a.a.latest = n
			}
			if aws.ToBool(v.DefaultVersion) {
				a.a.deflt = n
			}
			if v.LaunchTemplateData != nil {
				a.images[n] = aws.ToString(v.LaunchTemplateData.ImageId)
			}
		}
	}
	now := o.s.now
	for _, a := range by {
		a.a.at = now
		for _, key := range []awsapi.TemplateKey{awsapi.KeyOf(a.id, ""), awsapi.KeyOf("", a.name)} {
			if key == "" {
				continue
			}
			inv.templates.aliases[string(key)] = a.a
			for n, img := range a.images {
				inv.templates.images[ltKey{string(key), n}] = inv.in.sym(img)
			}
		}
	}
	return nil
}

// templateTasks reads the template versions still unknown: the groups' (groups) or the
// running rollouts' (otherwise). Instances need none: DescribeInstances gives their AMI.
func (o *oneShotRun) templateTasks(reads []groupRead, groups bool) []task {
	inv := o.inv
	var wants templateWants
	for i := range reads {
		r := &reads[i]
		if groups {
			if lt := r.g.LaunchTemplate; lt != nil {
				wants.want(&inv.templates, o.s.now, r.template, lt.Version)
			}
		} else if st := r.state; st != nil && st.last.Active() && st.last.DesiredVersion != "" {
			wants.want(&inv.templates, o.s.now, st.last.template, st.last.DesiredVersion)
		}
	}
	var tasks []task
	for _, call := range wants.calls() {
		tasks = append(tasks, func(ctx context.Context) func() {
			var got []ltVersionInfo
			var gone []int64
			err := o.call(ctx, o.ec2, func(ctx context.Context) error {
				o.s.count("DescribeLaunchTemplateVersions")
				var err error
				got, gone, err = call.do(ctx, inv.c.EC2)
				return err
			})
			return func() {
				if err != nil {
					o.missing(fmt.Sprintf("launch template %s versions %v (the AMI of the groups launching them)", call.key, call.versions), err)
					return
				}
				inv.templates.store(call, got, gone, o.s.now, &inv.in)
			}
		})
	}
	return tasks
}

// instanceTask reads launch time and AMI of up to 1,000 instances.
func (o *oneShotRun) instanceTask(call instanceCall) task {
	inv := o.inv
	return func(ctx context.Context) func() {
		var got []instanceInfo
		err := o.call(ctx, o.ec2, func(ctx context.Context) error {
			o.s.count("DescribeInstances")
			var err error
			got, err = call.do(ctx, inv.c.EC2)
			return err
		})
		return func() {
			if err != nil {
				o.missing(fmt.Sprintf("launch time and AMI of %d instances (%s … %s)", len(call.ids), call.ids[0], call.ids[len(call.ids)-1]), err)
			}
			facts := make([]instanceFacts, len(got))
			for i, info := range got {
				facts[i] = instanceFacts{id: info.id, launched: info.launched}
				inv.images[info.id] = inv.in.sym(info.image)
			}
			inv.instances.add(facts)
		}
	}
}

// allBalancers is every balancer the listed groups use, each once.
func (inv *Inventory) allBalancers(reads []groupRead) []*balancer {
	var all []*balancer
	use := func(key, name string, kind model.BalancerKind) {
		b, ok := inv.balancers[key]
		if !ok {
			b = &balancer{kind: kind, key: key, name: model.Intern(name)}
			inv.balancers[key] = b
		}
		if b.gen != uint32(inv.gen) {
			b.gen, b.readNow = uint32(inv.gen), false
			all = append(all, b)
		}
	}
	for i := range reads {
		r := &reads[i]
		for j, arn := range r.tgARNs {
			use(arn, r.g.TargetGroups[j], model.TargetGroup)
		}
		for _, name := range r.g.ClassicELBs {
			use(name, name, model.ClassicELB)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key < all[j].key })
	return all
}

// balancerTask reads one balancer's health, and its drain delay when a target drains.
func (o *oneShotRun) balancerTask(b *balancer) task {
	inv, s := o.inv, o.s
	what := "target group " + b.name.String()
	if b.kind == model.ClassicELB {
		what = "classic ELB " + b.name.String()
	}
	return func(ctx context.Context) func() {
		var reads []targetRead
		err := o.call(ctx, o.elb[apiOf(b.kind)], func(ctx context.Context) error {
			var err error
			if b.kind == model.ClassicELB {
				s.count("DescribeInstanceHealth")
				reads, err = readInstanceHealth(ctx, inv.c.ELB, b.key)
			} else {
				s.count("DescribeTargetHealth")
				reads, err = readTargetHealth(ctx, inv.c.ELBv2, b.key)
			}
			return err
		})
		var delay int32
		var delayErr error
		needDelay := false
		for _, r := range reads {
			if err == nil && r.state == model.TargetDraining {
				needDelay = true
				break
			}
		}
		if needDelay {
			o.plan(1)
			delayErr = o.call(ctx, o.elb[apiOf(b.kind)], func(ctx context.Context) error {
				if b.kind == model.ClassicELB {
					s.count("DescribeLoadBalancerAttributes")
				} else {
					s.count("DescribeTargetGroupAttributes")
				}
				var err error
				delay, err = readDrainDelay(ctx, inv.c, b)
				return err
			})
		}
		return func() {
			if err != nil {
				b.setErr(o.why(err))
				o.missing(what+" (its targets' health is unknown)", err)
				return
			}
			b.setErr("")
			// The delay first: the draining targets' notes carry it.
			if needDelay {
				if delayErr != nil {
					o.missing(what+"'s drain delay (the drain countdown is unknown)", delayErr)
				} else {
					b.delay, b.delayAt = delay, stampOf(s.now)
					inv.timings.storeDelay(balancerRef{b.kind, b.name.String()}, delay, s.now)
				}
			}
			inv.applyHealth(b, reads, s)
		}
	}
}

// refreshTasks reads the instance refreshes of every group when there are at most a page of
// them, else of the groups where a rollout can be running: instances arriving or leaving,
// more than one version, or targets draining.
func (o *oneShotRun) refreshTasks(reads []groupRead) []task {
	inv := o.inv
	all := len(reads) <= maxGroupsPerPage
	var tasks []task
	for i := range reads {
		r := &reads[i]
		st := stateOf(r)
		if !all && !r.moving && r.mix() == "" && !r.draining {
			continue
		}
		name, template, mix := r.g.Name, r.template, r.mix()
		tasks = append(tasks, func(ctx context.Context) func() {
			var got *astypes.InstanceRefresh
			err := o.call(ctx, o.as, func(ctx context.Context) error {
				o.s.count("DescribeInstanceRefreshes")
				var err error
				got, err = ReadRefresh(ctx, inv.c.AutoScaling, name)
				return err
			})
			return func() {
				if err != nil {
					o.missing("the rollouts of group "+name, err)
					return
				}
				st.checkedAt = stampOf(o.s.now)
				if got == nil {
					st.last, st.quietMix = nil, mix
					return
				}
				st.last = newLastRefresh(mapRefresh(got, template, &inv.in))
			}
		})
	}
	o.s.stats.RefreshesRead = len(tasks)
	return tasks
}

// isNotFound reports whether AWS says a balancer the groups name does not exist.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "TargetGroupNotFound", "LoadBalancerNotFound", "AccessPointNotFound":
		return true
	}
	return false
}

// carryStates gives the groups read again their refresh state from the last read's listing.
func (inv *Inventory) carryStates(reads []groupRead) {
	for i := range reads {
		r := &reads[i]
		if k, ok := slices.BinarySearchFunc(inv.listedGroups, r.g.Name, func(g model.Group, name string) int { return strings.Compare(g.Name, name) }); ok {
			r.state = inv.listed[k].state
		}
	}
}
