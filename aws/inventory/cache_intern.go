package inventory

import (
	"unique"

	"github.com/adstage/adstage-ops/model"
)

// interner keeps one copy of each repeated string (availability zones, AMI ids, balancer
// names, health reasons, launch template versions) so that a 20,000-instance fleet holds a
// few thousand distinct strings, not 20,000 copies of each. Every string is made
// terminal-safe on the way in (model.SafeText): what AWS returns is data, never terminal
// control.
//
// The inventory's own interner keeps its strings in a map (newInterner), bounded at
// maxInterned: unique.Make alone forgets an entry at the first GC after its handle is
// dropped, so every tick would copy the same target group names and zones again and pay
// for a new weak entry each (half of mapping a page of groups). The zero interner, for the
// one-off reads of history and readiness, uses unique.Make.
type interner struct {
	m map[string]string // raw -> safe, shared copy; nil: unique.Make
}

// maxInterned bounds the inventory's interner: past it the map starts over, so strings of
// deleted resources do not pile up.
const maxInterned = 1 << 16

func newInterner() interner { return interner{m: map[string]string{}} }

func (in *interner) s(p *string) string {
	if p == nil {
		return ""
	}
	return in.str(*p)
}

func (in *interner) str(v string) string {
	if v == "" {
		return ""
	}
	if in.m == nil {
		return unique.Make(model.SafeText(v)).Value()
	}
	if s, ok := in.m[v]; ok {
		return s
	}
	if len(in.m) >= maxInterned {
		clear(in.m)
	}
	s := unique.Make(model.SafeText(v)).Value()
	in.m[v] = s
	return s
}

// sp is the Sym of *p, the zero Sym for nil.
func (in *interner) sp(p *string) model.Sym {
	if p == nil {
		return model.Sym{}
	}
	return in.sym(*p)
}

// sym is the terminal-safe copy of v as a model.Sym (kept in model's own table).
func (in *interner) sym(v string) model.Sym { return model.Intern(model.SafeText(v)) }
