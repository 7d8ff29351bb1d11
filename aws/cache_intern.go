package aws

// interner keeps one copy of each repeated string (availability zones, AMI ids, balancer
// names, health reasons, launch template versions) so that a 20,000-instance fleet holds a
// few hundred distinct strings, not 20,000 copies of each.
type interner struct {
	m map[string]string
}

// maxInterned bounds the table: past it the table starts over (the strings already handed
// out stay valid; only the sharing of new ones restarts).
const maxInterned = 1 << 16

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
	if s, ok := in.m[v]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 256)
	}
	in.m[v] = v
	return v
}
