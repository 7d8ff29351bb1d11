package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/adstage/adstage-ops/aws/accounts"
	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/aws/inventory"
	"github.com/adstage/adstage-ops/aws/ops"
	"github.com/adstage/adstage-ops/model"
)

// memberSpec is one identity in one region with the tag keys of its groups: the clients
// the console builds once for every environment that shares them.
type memberSpec struct {
	identity Identity
	region   string
	tags     model.TagKeys
	envs     []string
	catchAll bool
}

func (s memberSpec) name() string {
	where := s.identity.String()
	if s.region != "" {
		where += ", " + s.region
	}
	envs := strings.Join(s.envs, ", ")
	if s.catchAll {
		if envs != "" {
			envs += " and "
		}
		envs += "other environments"
	}
	return fmt.Sprintf("%s (%s)", envs, where)
}

// memberSpecs groups the configured environments by identity, region and tag keys. only,
// when set, keeps just those environments. It returns nil when no environment names an
// identity or region of its own: one set of clients reads everything, as before.
func (c Config) memberSpecs(only ...string) []memberSpec {
	located := false
	for name, e := range c.Environments {
		if len(only) == 0 || slices.Contains(only, name) {
			located = located || e.located()
		}
	}
	if !located {
		return nil
	}
	type key struct {
		id     Identity
		region string
		tags   model.TagKeys
	}
	var specs []memberSpec
	index := map[key]int{}
	add := func(k key, env string) {
		i, ok := index[k]
		if !ok {
			i = len(specs)
			index[k] = i
			specs = append(specs, memberSpec{identity: k.id, region: k.region, tags: k.tags})
		}
		if env != "" {
			specs[i].envs = append(specs[i].envs, env)
		}
	}
	defaultUsed := false
	for _, name := range sortedEnvs(c.Environments) {
		if len(only) > 0 && !slices.Contains(only, name) {
			continue
		}
		e := c.Environments[name]
		for _, r := range e.regions() {
			add(key{e.identity(), r, c.envTags(name)}, name)
		}
		defaultUsed = defaultUsed || !e.located()
	}
	if defaultUsed && len(only) == 0 {
		// The default chain also reads the environments the config does not name.
		k := key{Identity{}, "", c.tags()}
		add(k, "")
		specs[index[k]].catchAll = true
	}
	return specs
}

func sortedEnvs(m map[string]EnvConfig) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// buildMembers makes one reader (and operator, unless read-only) per member spec and the
// console that composes them. A member whose clients cannot be built (a missing profile,
// no MFA code) is kept with its error: its rows say why, the others work.
func (a *app) buildMembers(ctx context.Context, specs []memberSpec, opts ops.Options) {
	var members []accounts.Member
	for _, s := range specs {
		ro := a.readOnly
		if !ro {
			ro = len(s.envs) > 0 && !s.catchAll
			for _, e := range s.envs {
				ro = ro && a.cfg.Environments[e].ReadOnly
			}
		}
		m := accounts.Member{Name: s.name(), Envs: s.envs, CatchAll: s.catchAll, Tags: s.tags}
		if a.memberIDs == nil {
			a.memberIDs = map[string]Identity{}
		}
		a.memberIDs[m.Name] = s.identity
		clients, read, err := awsapi.LoadClients(ctx, awsapi.LoadOptions{
			Profile: s.identity.Profile, RoleARN: s.identity.RoleARN, ExternalID: s.identity.ExternalID, SessionName: s.identity.SessionName,
			Region: s.region, ReadOnly: ro, MFA: a.askMFA,
		})
		if err != nil {
			m.Err = err
			members = append(members, m)
			continue
		}
		o := opts
		o.Tags = s.tags
		m.Read = read
		if ro {
			m.Reader = inventory.NewInventory(read, o.Options)
		} else {
			op := ops.NewOperator(clients, o)
			m.Reader, m.Operator, m.Write = op, op, clients
		}
		members = append(members, m)
	}
	a.compose(members)
}

// buildDemo reads the demo's accounts each with its own clients, as a config with a
// profile per environment does: staging's and production's, merged in one console. A demo
// state of one account (saved by an older adstage-ops) runs as one set of clients.
func (a *app) buildDemo(opts ops.Options) {
	clouds := a.demo.world.Clouds()
	if len(clouds) == 1 {
		clients := a.demo.clientsOf(clouds[0])
		a.build(clients, clients.Read(), opts)
		return
	}
	var members []accounts.Member
	for _, c := range clouds {
		envs := a.demo.world.Envs(c.Account())
		clients := a.demo.clientsOf(c)
		name := "other environments"
		if len(envs) > 0 {
			name = strings.Join(envs, ", ")
		}
		m := accounts.Member{Name: fmt.Sprintf("%s (demo account %s, %s)", name, c.Account(), c.Region()), Envs: envs, CatchAll: len(envs) == 0,
			Tags: opts.Tags, Read: clients.Read()}
		if a.readOnly {
			m.Reader = inventory.NewInventory(m.Read, opts.Options)
		} else {
			op := ops.NewOperator(clients, opts)
			m.Reader, m.Operator, m.Write = op, op, clients
		}
		members = append(members, m)
	}
	a.compose(members)
}

// compose makes the console over the members: read-only, or the operators with the
// config's read-only environments guarded.
func (a *app) compose(members []accounts.Member) {
	aopts := accounts.Options{SkipUntagged: a.cfg.SkipUntagged, Now: a.now}
	if a.readOnly {
		c := accounts.New(members, aopts)
		a.reader, a.members = c, c
		return
	}
	o := accounts.NewOperators(members, aopts)
	a.members = o.Console
	var op ops.Operator = o
	if ro := a.readOnlyEnvs(); len(ro) > 0 {
		op = envGuard{Operator: op, readOnly: ro}
	}
	a.op, a.reader = op, op
}

// readOnlyEnvs are the environments the config makes read-only.
func (a *app) readOnlyEnvs() map[string]bool {
	ro := map[string]bool{}
	for name, e := range a.cfg.Environments {
		if e.ReadOnly {
			ro[name] = true
		}
	}
	return ro
}
