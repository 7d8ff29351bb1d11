package inventory

import (
	"unique"

	"github.com/adstage/adstage-ops/model"
)

// interner keeps one copy of each repeated string (availability zones, AMI ids, balancer
// names, health reasons, launch template versions) so that a 20,000-instance fleet holds a
// few hundred distinct strings, not 20,000 copies of each. unique.Make does the sharing; the
// runtime frees a string once no snapshot holds it. Every string is made terminal-safe on
// the way in (model.SafeText): what AWS returns is data, never terminal control.
type interner struct{}

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
	return unique.Make(model.SafeText(v)).Value()
}
