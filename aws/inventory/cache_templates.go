package inventory

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// aliasTTL is how long a "$Latest" or "$Default" resolution is trusted. Numeric launch template
// versions are immutable and cached forever; the aliases move whenever someone creates a version
// or changes the default, so they are re-read after this short TTL (within the EC2 budget).
const aliasTTL = time.Minute

// maxVersionsPerCall bounds the version numbers asked of DescribeLaunchTemplateVersions at once.
const maxVersionsPerCall = 100

// ltKey names one launch template version. The template is its ID, or "name:"+name when only
// the name is known.
type ltKey struct {
	template string
	version  int64
}

// ltAlias is what "$Latest" and "$Default" pointed at when last read.
type ltAlias struct {
	latest, deflt int64
	at            time.Time
}

// templateCache maps launch template versions to AMIs.
type templateCache struct {
	images  map[ltKey]model.Sym // numeric version -> AMI, forever (versions are immutable)
	aliases map[string]ltAlias  // template -> alias resolution, aliasTTL
}

func newTemplateCache() templateCache {
	return templateCache{images: map[ltKey]model.Sym{}, aliases: map[string]ltAlias{}}
}

// resolve returns the numeric version a group's version string means right now, if known.
func (c *templateCache) resolve(template, version string) (int64, bool) {
	if n, ok := awsapi.NumericVersion(version); ok {
		return n, true
	}
	a, ok := c.aliases[template]
	if !ok {
		return 0, false
	}
	switch version {
	case "$Latest", "":
		return a.latest, a.latest > 0
	case "$Default":
		return a.deflt, a.deflt > 0
	}
	return 0, false
}

// image returns the AMI of a template version string, if known.
func (c *templateCache) image(template, version string) string {
	return c.imageSym(template, version).String()
}

// imageSym is image as the instances keep it.
func (c *templateCache) imageSym(template, version string) model.Sym {
	n, ok := c.resolve(template, version)
	if !ok {
		return model.Sym{}
	}
	return c.images[ltKey{template, n}]
}

// templateWant collects what one snapshot needs from one template.
type templateWant struct {
	numbers []int64
	alias   bool
}

// templateWants gathers, per template, the version numbers not cached yet and whether its
// aliases are due for a re-read.
type templateWants struct {
	order []string
	by    map[string]*templateWant
}

func (w *templateWants) want(c *templateCache, now time.Time, key, version string) {
	if key == "" {
		return
	}
	get := func() *templateWant {
		if w.by == nil {
			w.by = map[string]*templateWant{}
		}
		t, ok := w.by[key]
		if !ok {
			t = &templateWant{}
			w.by[key] = t
			w.order = append(w.order, key)
		}
		return t
	}
	if n, ok := awsapi.NumericVersion(version); ok {
		if _, cached := c.images[ltKey{key, n}]; !cached {
			t := get()
			if !slices.Contains(t.numbers, n) {
				t.numbers = append(t.numbers, n)
			}
		}
		return
	}
	a, ok := c.aliases[key]
	if !ok || now.Sub(a.at) >= aliasTTL {
		get().alias = true
	} else if n, ok := c.resolve(key, version); ok {
		if _, cached := c.images[ltKey{key, n}]; !cached {
			t := get()
			if !slices.Contains(t.numbers, n) {
				t.numbers = append(t.numbers, n)
			}
		}
	}
}

// ltVersionInfo is one version as read from EC2, before it enters the cache.
type ltVersionInfo struct {
	number int64
	image  string
	deflt  bool
}

// calls splits the wants into DescribeLaunchTemplateVersions requests: one per template (more
// when it needs over maxVersionsPerCall numbers). Numbers and aliases share a request: the
// largest number returned is "$Latest" (every number asked for exists, so none is larger) and
// the one flagged DefaultVersion is "$Default".
func (w *templateWants) calls() []templateCall {
	var out []templateCall
	for _, key := range w.order {
		t := w.by[key]
		nums := slices.Clone(t.numbers)
		slices.Sort(nums)
		first := true
		for first || len(nums) > 0 {
			n := min(len(nums), maxVersionsPerCall)
			call := templateCall{key: key, alias: first && t.alias}
			for _, v := range nums[:n] {
				call.versions = append(call.versions, strconv.FormatInt(v, 10))
			}
			nums = nums[n:]
			first = false
			if call.alias {
				call.versions = append(call.versions, "$Latest", "$Default")
			}
			if len(call.versions) > 0 {
				out = append(out, call)
			}
		}
	}
	return out
}

// templateCall is one DescribeLaunchTemplateVersions request.
type templateCall struct {
	key      string
	versions []string
	alias    bool
}

// missingVersion reads the version number out of EC2's "Could not find launch template version
// 7 for launch template lt-..." (InvalidLaunchTemplateId.VersionNotFound).
var missingVersion = regexp.MustCompile(`version (\d+)\b`)

// do runs the request (paginated) and returns the versions it found. A deleted version that
// instances still reference fails the whole call in EC2 (InvalidLaunchTemplateId.VersionNotFound,
// naming it): the call is made again without it, and gone lists the versions left out.
func (tc templateCall) do(ctx context.Context, api awsapi.EC2Reader) (got []ltVersionInfo, gone []int64, err error) {
	for range len(tc.versions) + 1 {
		got, err = tc.once(ctx, api)
		if err == nil || !awsapi.IsCode(err, "InvalidLaunchTemplateId.VersionNotFound") {
			return got, gone, err
		}
		m := missingVersion.FindStringSubmatch(err.Error())
		i := -1
		if m != nil {
			i = slices.Index(tc.versions, m[1])
		}
		if i < 0 {
			// The message names no version we asked for: ask for each alone.
			return tc.oneByOne(ctx, api, gone)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		gone = append(gone, n)
		tc.versions = slices.Delete(slices.Clone(tc.versions), i, i+1)
		if len(tc.versions) == 0 {
			return nil, gone, nil
		}
	}
	return got, gone, err
}

// oneByOne asks for each version alone, leaving out the ones EC2 does not have.
func (tc templateCall) oneByOne(ctx context.Context, api awsapi.EC2Reader, gone []int64) ([]ltVersionInfo, []int64, error) {
	var got []ltVersionInfo
	for _, v := range tc.versions {
		one := tc
		one.versions = []string{v}
		g, err := one.once(ctx, api)
		switch {
		case err == nil:
			got = append(got, g...)
		case awsapi.IsCode(err, "InvalidLaunchTemplateId.VersionNotFound"):
			if n, ok := awsapi.NumericVersion(v); ok {
				gone = append(gone, n)
			}
		default:
			return got, gone, err
		}
	}
	return got, gone, nil
}

// once is one paginated request.
func (tc templateCall) once(ctx context.Context, api awsapi.EC2Reader) ([]ltVersionInfo, error) {
	// ResolveAlias: a version whose ImageId is an SSM parameter shows the AMI it resolves to.
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: tc.versions, ResolveAlias: aws.Bool(true)}
	in.LaunchTemplateId, in.LaunchTemplateName = awsapi.TemplateKey(tc.key).Ref()
	var out []ltVersionInfo
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("read launch template %s versions %v: %w", tc.key, tc.versions, err)
		}
		for _, v := range page.LaunchTemplateVersions {
			info := ltVersionInfo{number: aws.ToInt64(v.VersionNumber), deflt: aws.ToBool(v.DefaultVersion)}
			if v.LaunchTemplateData != nil {
				info.image = aws.ToString(v.LaunchTemplateData.ImageId)
			}
			out = append(out, info)
		}
	}
	return out, nil
}

// store puts a call's result in the cache. A version EC2 no longer has is remembered as gone
// (it has no AMI to tell), so that it is not asked for again.
func (c *templateCache) store(tc templateCall, got []ltVersionInfo, gone []int64, now time.Time, in *interner) {
	for _, n := range gone {
		c.images[ltKey{tc.key, n}] = model.Sym{}
	}
	var a ltAlias
	for _, v := range got {
		if v.number <= 0 {
			continue
		}
		c.images[ltKey{tc.key, v.number}] = in.sym(v.image)
		if v.number > a.latest {
			a.latest = v.number
		}
		if v.deflt {
			a.deflt = v.number
		}
	}
	if tc.alias && a.latest > 0 {
		a.at = now
		c.aliases[tc.key] = a
	}
}
