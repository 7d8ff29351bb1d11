// Package accounts composes one console over several AWS identities: each member reads (and
// acts on) the environments it serves with its own clients, account, region and call budget;
// the console merges their fleets and routes every action to the member of its environment.
// A member that cannot be read names why on its rows while the others go on.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// Member is one identity in one region: the clients of one or more environments.
type Member struct {
	// Name says who the member is in the operator's words: "staging (profile staging-sso,
	// eu-west-1)".
	Name string
	// Envs are the environments it serves. CatchAll serves, besides, every environment no
	// other member serves (the default credential chain, for environments not configured).
	Envs     []string
	CatchAll bool
	Reader   ops.Reader
	// Operator is nil when the member is read-only (its clients carry the read-only guard).
	Operator ops.Operator
	// Read and Write are its clients: the cross-account promote reads and shares images
	// with them (Write is zero for a read-only member).
	Read  awsapi.ReadClients
	Write awsapi.Clients
	Tags  model.TagKeys
	// Err is why its clients could not be built (a profile that does not exist, an MFA code
	// not given): every read of its environments says so.
	Err error
}

// Options configure the console.
type Options struct {
	SkipUntagged bool
	Now          func() time.Time
}

// Console reads every member and merges their fleets. It implements ops.Reader.
type Console struct {
	members []*member
	opts    Options
	running sync.Mutex
}

type member struct {
	Member
	mu      sync.Mutex
	last    []model.Group // the groups of its environments from its last good snapshot
	lastAt  time.Time
	lastErr error
	origin  model.Origin
}

var _ ops.Reader = (*Console)(nil)

// New builds the console over the members.
func New(members []Member, opts Options) *Console {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts}
	for _, m := range members {
		c.members = append(c.members, &member{Member: m})
	}
	return c
}

// serves reports whether the member reads env.
func (c *Console) serves(m *member, env string) bool {
	if slices.Contains(m.Envs, env) {
		return true
	}
	if !m.CatchAll {
		return false
	}
	for _, o := range c.members {
		if o != m && slices.Contains(o.Envs, env) {
			return false
		}
	}
	return true
}

// Snapshot reads every member in parallel, each within its own call budget, and merges
// their groups. A member that fails keeps its last groups, marked unread with why, and is
// named in Fleet.Problems; only when every member fails does Snapshot fail.
func (c *Console) Snapshot(ctx context.Context) (model.Fleet, error) {
	if !c.running.TryLock() {
		return model.Fleet{}, awsapi.ErrRefreshRunning
	}
	defer c.running.Unlock()
	var wg sync.WaitGroup
	problems := make([][]string, len(c.members))
	for i, m := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			problems[i] = c.read(ctx, m)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return model.Fleet{}, fmt.Errorf("refresh fleet: %w", err)
	}
	fleet := model.Fleet{FetchedAt: c.opts.Now()}
	var origin model.Origin
	var failed []error
	seen := map[string]bool{}
	type unreadIn struct{ region, why string }
	unread := map[string][]unreadIn{} // env -> the members of it that failed
	for i, m := range c.members {
		fleet.Problems = append(fleet.Problems, problems[i]...)
		m.mu.Lock()
		if m.lastErr != nil {
			failed = append(failed, fmt.Errorf("%s: %w", m.Name, m.lastErr))
			why := m.why()
			for _, e := range m.Envs {
				unread[e] = append(unread[e], unreadIn{m.origin.Region, why})
			}
			if len(m.last) == 0 {
				for _, e := range m.Envs {
					fleet.Services = append(fleet.Services, model.Service{ServiceKey: model.ServiceKey{Name: model.NotRead, Env: e}, Unread: why, Origin: originPtr(m.origin)})
				}
			}
		}
		if !m.lastAt.IsZero() && m.lastAt.Before(fleet.FetchedAt) {
			fleet.FetchedAt = m.lastAt
		}
		for _, g := range m.last {
			// Two members may read one account and region (different roles or tag keys):
			// a group is listed once.
			o := g.From()
			k := o.Account + "/" + o.Region + "/" + g.Name
			if seen[k] {
				continue
			}
			seen[k] = true
			fleet.Groups = append(fleet.Groups, g)
		}
		if m.origin != (model.Origin{}) {
			origin = origin.Merge(m.origin)
		}
		m.mu.Unlock()
	}
	if len(failed) == len(c.members) && len(fleet.Groups) == 0 {
		return model.Fleet{}, fmt.Errorf("refresh fleet: %w", errors.Join(failed...))
	}
	fleet.Account, fleet.Region, fleet.Identity = origin.Account, origin.Region, origin.Identity
	placeholders := fleet.Services
	fleet.Services = nil // BuildServices reuses the slice
	fleet.BuildServices(c.opts.SkipUntagged)
	fleet.SplitRegions()
	for i := range fleet.Services {
		s := &fleet.Services[i]
		var o model.Origin
		for _, g := range s.Groups {
			o = o.Merge(g.From())
		}
		s.Origin = originPtr(o)
		// A row of one region is unread only when that region's member failed (or one
		// whose region was never read).
		var whys []string
		for _, u := range unread[s.Env] {
			if s.Region == "" || u.region == "" || u.region == s.Region {
				whys = append(whys, u.why)
			}
		}
		s.Unread = strings.Join(whys, "; ")
	}
	if len(placeholders) > 0 {
		fleet.Services = append(fleet.Services, placeholders...)
		sort.SliceStable(fleet.Services, func(i, j int) bool {
			a, b := fleet.Services[i], fleet.Services[j]
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			if a.Env != b.Env {
				return a.Env < b.Env
			}
			return a.Region < b.Region
		})
	}
	return fleet, nil
}

// why is the sentence on the rows of a member that could not be read.
func (m *member) why() string {
	return fmt.Sprintf("%s could not be read: %s", m.Name, awsapi.Explain(m.lastErr))
}

// read takes one member's snapshot and keeps the groups of the environments it serves.
func (c *Console) read(ctx context.Context, m *member) []string {
	if m.Err != nil {
		m.mu.Lock()
		m.lastErr = m.Err
		m.mu.Unlock()
		return []string{fmt.Sprintf("%s could not be read: %s", m.Name, awsapi.Explain(m.Err))}
	}
	f, err := m.Reader.Snapshot(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if errors.Is(err, awsapi.ErrRefreshRunning) || ctx.Err() != nil {
			return nil
		}
		m.lastErr = err
		msg := fmt.Sprintf("%s could not be read: %s", m.Name, awsapi.Explain(err))
		if !m.lastAt.IsZero() {
			msg += fmt.Sprintf(" (its rows show data from %s)", m.lastAt.Format("15:04:05"))
		}
		return []string{msg}
	}
	m.lastErr = nil
	m.lastAt = f.FetchedAt
	m.origin = model.Origin{Account: f.Account, Region: f.Region, Identity: f.Identity}
	var keep []model.Group
	origin := m.origin // one per read, shared by its groups
	for _, g := range f.Groups {
		if g.Env != "" && !c.serves(m, g.Env) {
			continue
		}
		g.Origin = &origin
		keep = append(keep, g)
	}
	m.last = keep
	out := make([]string, len(f.Problems))
	for i, p := range f.Problems {
		out[i] = m.Name + ": " + p
	}
	return out
}

// route finds the member of a service's environment. An environment in several regions is
// served by the member whose last read found the service there; when several did, the
// action must name a region: region, when set, keeps only the members that read that
// region (a console row of one region, model.ServiceKey.Region).
func (c *Console) route(env, service, region string) (*member, error) {
	var cands []*member
	for _, m := range c.members {
		// Untagged groups (no environment) belong to whichever member read them.
		if (env == "" || c.serves(m, env)) && (region == "" || m.region() == region) {
			cands = append(cands, m)
		}
	}
	if env == "" && len(cands) == 1 && !cands[0].has(env, service) {
		cands = nil
	}
	switch len(cands) {
	case 0:
		if region != "" {
			return nil, fmt.Errorf("no AWS identity the console reads environment %s with has read region %s: wait for the next refresh, or check the environment's regions in the config", env, region)
		}
		if env == "" {
			return nil, fmt.Errorf("no AWS identity the console reads with found untagged groups named %q: wait for the next refresh", service)
		}
		return nil, fmt.Errorf("no AWS identity in the config reads environment %s: add it under environments: with its profile or role", env)
	case 1:
		if cands[0].Err != nil {
			return nil, fmt.Errorf("%s could not be read: %w", cands[0].Name, cands[0].Err)
		}
		return cands[0], nil
	}
	var found []*member
	var regions []string
	for _, m := range cands {
		if m.has(env, service) {
			found = append(found, m)
			regions = append(regions, m.region())
		}
	}
	if env == "" && len(found) > 1 {
		var names []string
		for _, m := range found {
			names = append(names, m.Name)
		}
		return nil, fmt.Errorf("untagged groups are read by several identities (%s): tag them with a service and an environment to act on them here, or use --profile and --region on the command line", strings.Join(names, "; "))
	}
	switch len(found) {
	case 0:
		if region != "" {
			return nil, fmt.Errorf("%s/%s was not found in %s: wait for the next refresh, or check the service name", service, env, region)
		}
		return nil, fmt.Errorf("%s/%s was found in none of the regions %s is read in: wait for the next refresh, or check the service name", service, env, env)
	case 1:
		return found[0], nil
	}
	if region != "" {
		var names []string
		for _, m := range found {
			names = append(names, m.Name)
		}
		return nil, fmt.Errorf("%s/%s in %s is read by several identities (%s): give the environment one identity per region in the config", service, env, region, strings.Join(names, "; "))
	}
	return nil, fmt.Errorf("%s/%s runs in %s: act on one region's row in the console, or pass --env %s --region R on the command line", service, env, strings.Join(regions, " and "), env)
}

// has reports whether the member's last read found the service in the environment.
func (m *member) has(env, service string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.last {
		name := g.Service
		if name == "" {
			name = model.Untagged // groups without a service tag are listed under it
		}
		if g.Env == env && (name == service || g.Service == service) {
			return true
		}
	}
	return false
}

// region is the region of the member's last good read ("" before it has one).
func (m *member) region() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.origin.Region
}

// owns reports whether the member reads a service row: its environment, and its region
// when the row names one.
func (c *Console) owns(m *member, k model.ServiceKey) bool {
	return k.Env != "" && c.serves(m, k.Env) && (k.Region == "" || m.region() == k.Region)
}

// History reads with the member of the environment.
func (c *Console) History(ctx context.Context, service, env string) (model.History, error) {
	return c.history(ctx, service, env, "")
}

func (c *Console) history(ctx context.Context, service, env, region string) (model.History, error) {
	m, err := c.route(env, service, region)
	if err != nil {
		return model.History{}, err
	}
	return m.Reader.History(ctx, service, env)
}

// Readiness reads with the member of the environment.
func (c *Console) Readiness(ctx context.Context, service, env string) (model.Readiness, error) {
	return c.readiness(ctx, service, env, "")
}

func (c *Console) readiness(ctx context.Context, service, env, region string) (model.Readiness, error) {
	m, err := c.route(env, service, region)
	if err != nil {
		return model.Readiness{}, err
	}
	return m.Reader.Readiness(ctx, service, env)
}

// Images lists the images baked for the service in every member's account and region,
// newest first. A member that cannot be read is left out unless none can.
func (c *Console) Images(ctx context.Context, service string) ([]model.Image, error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		all  []model.Image
		errs []error
	)
	for _, m := range c.members {
		if m.Err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs, err := m.Reader.Images(ctx, service)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
				return
			}
			all = append(all, imgs...)
		}()
	}
	wg.Wait()
	if len(all) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	seen := map[string]bool{}
	out := all[:0]
	for _, img := range all {
		if !seen[img.ID] {
			seen[img.ID] = true
			out = append(out, img)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// Identity is the first member's that can be read (the console header names each row's).
func (c *Console) Identity(ctx context.Context) (awsapi.Identity, error) {
	var errs []error
	for _, m := range c.members {
		if m.Err != nil {
			errs = append(errs, m.Err)
			continue
		}
		id, err := m.Reader.Identity(ctx)
		if err == nil {
			return id, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
	}
	return awsapi.Identity{}, errors.Join(errs...)
}

// Focus tells each member which of the services on screen are its.
func (c *Console) Focus(services []model.ServiceKey) {
	for _, m := range c.members {
		if m.Err != nil {
			continue
		}
		var mine []model.ServiceKey
		for _, k := range services {
			if c.owns(m, k) {
				k.Region = "" // the member's inventory keys its services without it
				mine = append(mine, k)
			}
		}
		m.Reader.Focus(mine)
	}
}

// Cursor tells the member of the service under the cursor; the others have none.
func (c *Console) Cursor(k model.ServiceKey) {
	for _, m := range c.members {
		if m.Err != nil {
			continue
		}
		if c.owns(m, k) {
			k.Region = ""
			m.Reader.Cursor(k)
		} else {
			m.Reader.Cursor(model.ServiceKey{})
		}
	}
}

// Signals reads each member's services with its own CloudWatch client (metrics and alarms
// live in the account and region of the balancers), and merges the answers. A member that
// cannot be read is left out, with its error joined, unless none can.
func (c *Console) Signals(ctx context.Context, services []model.Service) (map[model.ServiceKey]model.Signals, error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = map[model.ServiceKey]model.Signals{}
		errs []error
	)
	for _, m := range c.members {
		if m.Err != nil {
			continue
		}
		var mine []model.Service
		for _, s := range services {
			if c.owns(m, s.ServiceKey) && (s.Region != "" || s.From().Region == "" || s.From().Region == m.region() || len(model.Merged(s.From().Region)) > 1) {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Reader.Signals(ctx, mine)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			}
			for k, v := range got {
				out[k] = v
			}
		}()
	}
	wg.Wait()
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ConsoleOutput reads with the member whose last read holds the instance.
func (c *Console) ConsoleOutput(ctx context.Context, instanceID string) (model.ConsoleOutput, error) {
	if m := c.holder(instanceID); m != nil {
		return m.Reader.ConsoleOutput(ctx, instanceID)
	}
	return model.ConsoleOutput{}, fmt.Errorf("instance %s is in no environment the console reads: wait for the next refresh", instanceID)
}

// holder is the member whose last read holds the instance (instance IDs are unique across
// accounts and regions), nil when none does.
func (c *Console) holder(instanceID string) *member {
	for _, m := range c.members {
		if m.Err != nil {
			continue
		}
		m.mu.Lock()
		found := false
		for i := range m.last {
			for j := range m.last[i].Instances {
				found = found || m.last[i].Instances[j].ID == instanceID
			}
		}
		m.mu.Unlock()
		if found {
			return m
		}
	}
	return nil
}

// Locate says which member's last read holds the instance (its name, as Member.Name) and
// where it read it: what a command handed to the AWS CLI for that instance (a shell) must
// use. ok is false when no member holds it.
func (c *Console) Locate(instanceID string) (origin model.Origin, name string, ok bool) {
	m := c.holder(instanceID)
	if m == nil {
		return model.Origin{}, "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.origin, m.Name, true
}

// LastPoll adds up what every member's last snapshot read; a member that could not be read
// at all counts as one thing unread (its rows say why), so that a one-shot status over
// several accounts cannot pass for complete.
func (c *Console) LastPoll() inventory.PollStats {
	out := inventory.PollStats{Calls: map[string]int{}, FullListing: true}
	for _, m := range c.members {
		m.mu.Lock()
		failed := m.lastErr != nil
		m.mu.Unlock()
		if failed {
			out.Unread++
		}
		lp, ok := m.Reader.(interface{ LastPoll() inventory.PollStats })
		if m.Err != nil || !ok {
			continue
		}
		s := lp.LastPoll()
		if s.At.After(out.At) {
			out.At = s.At
		}
		for k, v := range s.Calls {
			out.Calls[k] += v
		}
		out.Balancers += s.Balancers
		out.BalancersRead += s.BalancersRead
		out.BalancersPriority += s.BalancersPriority
		out.BalancersStale += s.BalancersStale
		out.RefreshesRead += s.RefreshesRead
		out.NewInstances += s.NewInstances
		out.DeferredInstances += s.DeferredInstances
		out.GroupsChanged += s.GroupsChanged
		out.FullListing = out.FullListing && s.FullListing
		out.Unread += s.Unread
	}
	return out
}

// originPtr is o for a model.Service's Origin: nil when o is the zero Origin.
func originPtr(o model.Origin) *model.Origin {
	if o == (model.Origin{}) {
		return nil
	}
	return &o
}
