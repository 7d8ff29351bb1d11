// Package release holds the rules about a service's releases that every screen, plan and
// command must agree on: today, which release a rollback returns to. It is pure (no I/O): the
// inventory reads launch template versions and image states, and this package decides.
package release

import (
	"cmp"
	"slices"

	"github.com/adstage/adstage-ops/model"
)

// Previous is the one previous-release rule, used by rollback readiness (services column,
// service screen, status) and by the rollback plan alike. Given a group's launch template
// versions (any order), the version it launches now and that version's AMI, it returns the
// release a rollback rolls out, and the older candidates, newest first: versions before the
// current one whose AMI differs from the current AMI, one per AMI. ok is false when there is
// no candidate.
func Previous(versions []model.Release, current int64, currentImage string) (target model.Release, older []model.Release, ok bool) {
	sorted := slices.Clone(versions)
	slices.SortFunc(sorted, func(a, b model.Release) int { return cmp.Compare(b.Version, a.Version) })
	seen := map[string]bool{currentImage: true}
	var cands []model.Release
	for _, r := range sorted {
		if r.Version >= current || r.ImageID == "" || seen[r.ImageID] {
			continue
		}
		seen[r.ImageID] = true
		cands = append(cands, r)
	}
	if len(cands) == 0 {
		return model.Release{}, nil, false
	}
	return cands[0], cands[1:], true
}

// Current resolves the version a group launches when it follows "$Latest" or "$Default":
// the newest version, or the one marked default. A numeric version is returned as it is.
func Current(versions []model.Release, numeric int64, alias string) int64 {
	if numeric > 0 {
		return numeric
	}
	var cur int64
	for _, r := range versions {
		if alias == "$Default" && r.Default {
			return r.Version
		}
		cur = max(cur, r.Version)
	}
	return cur
}

// FirstAvailable is the newest release among rels whose AMI is available, by state (the AMI's
// state as EC2 reports it, "" or "missing" when EC2 does not know it).
func FirstAvailable(rels []model.Release, state func(imageID string) string) (model.Release, bool) {
	for _, r := range rels {
		if state(r.ImageID) == "available" {
			return r, true
		}
	}
	return model.Release{}, false
}
