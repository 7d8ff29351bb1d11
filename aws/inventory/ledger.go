package inventory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// LedgerGroup names what a ledger is read for: a group, its launch template and the version
// it names ("$Latest" and "$Default" allowed), and the AMI it launches if already known.
type LedgerGroup struct {
	Name     string
	Template awsapi.TemplateKey
	Version  string
	Image    string
}

// Ledgers is the release history of a set of groups, and what EC2 said about every AMI in it.
type Ledgers struct {
	Groups []model.Ledger // in the order asked
	Images ImageLookup
	// Releases and Refreshes are everything read, for the history view: every version of
	// every template, every refresh of every group.
	Releases  []model.Release
	Refreshes []model.RefreshRecord
	// Problems name the sources that could not be read (a template's versions); the ledgers
	// of the groups they concern say so too.
	Problems []string
}

// ReadLedgers reads what a release ledger is derived from (model.DeriveLedger), for each
// group: every version of its launch template, every instance refresh AWS remembers (six
// weeks), and the AMIs with their marks. A refresh history that cannot be read (IAM denies
// DescribeInstanceRefreshes, say) does not fail it: that group's outcomes become unknown,
// and the ledger says why. Launch configuration groups (no template) get an empty ledger.
func ReadLedgers(ctx context.Context, ec2api awsapi.EC2Reader, asg awsapi.AutoScalingReader, groups []LedgerGroup, now time.Time) (Ledgers, error) {
	out := Ledgers{Groups: make([]model.Ledger, len(groups))}
	versions := map[awsapi.TemplateKey][]model.Release{}
	// A template whose versions cannot be read (denied, a 5xx) leaves its groups' ledgers
	// empty, with the reason, rather than failing every group's.
	unread := map[awsapi.TemplateKey]string{}
	type history struct {
		refs    []model.Refresh
		tpls    []string // the template each refresh rolled out
		problem string
	}
	hist := make([]history, len(groups))
	var tasks []task
	for _, g := range groups {
		if g.Template == "" {
			continue
		}
		if _, ok := versions[g.Template]; ok {
			continue
		}
		versions[g.Template] = nil
		key := g.Template
		tasks = append(tasks, func(ctx context.Context) func() {
			rels, err := ListReleases(ctx, ec2api, string(key))
			return func() {
				if err != nil {
					unread[key] = fmt.Sprintf("the versions of launch template %s could not be read, so its releases are not known: %s", key, awsapi.Explain(err))
				}
				versions[key] = rels
			}
		})
	}
	for i, g := range groups {
		if g.Template == "" {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) func() {
			refs, tpls, err := groupRefreshes(ctx, asg, g.Name, string(g.Template))
			return func() {
				if err != nil {
					hist[i].problem = fmt.Sprintf("the instance refresh history of %s could not be read, so no release's outcome is known: %s", g.Name, awsapi.Explain(err))
					return
				}
				hist[i].refs, hist[i].tpls = refs, tpls
			}
		})
	}
	runTasks(ctx, tasks)
	if err := ctx.Err(); err != nil {
		return out, err
	}
	for _, p := range unread {
		out.Problems = append(out.Problems, p)
	}
	sort.Strings(out.Problems)
	var ids []string
	for _, rels := range versions {
		out.Releases = append(out.Releases, rels...)
		for _, r := range rels {
			ids = append(ids, r.ImageID)
		}
	}
	for i, g := range groups {
		for _, r := range hist[i].refs {
			out.Refreshes = append(out.Refreshes, model.RefreshRecord{Group: g.Name, Refresh: r})
		}
	}
	for _, g := range groups {
		ids = append(ids, g.Image)
	}
	images, err := LookupImages(ctx, ec2api, ids)
	if err != nil {
		return out, err
	}
	out.Images = images
	for i, g := range groups {
		if g.Template == "" {
			out.Groups[i] = model.Ledger{Group: g.Name}
			continue
		}
		if p, ok := unread[g.Template]; ok {
			out.Groups[i] = model.Ledger{Group: g.Name, Template: g.Template.String(), HistoryProblem: p}
			continue
		}
		rels := versions[g.Template]
		numeric, _ := awsapi.NumericVersion(g.Version)
		current := model.ResolveVersion(rels, numeric, g.Version)
		// A refresh may name the template by ID or by name.
		same := map[string]bool{string(g.Template): true}
		if len(rels) > 0 {
			same[string(awsapi.KeyOf(rels[0].TemplateID, ""))] = true
			same[string(awsapi.KeyOf("", rels[0].TemplateName))] = true
		}
		var refs []model.Refresh
		for j, r := range hist[i].refs {
			if same[hist[i].tpls[j]] {
				refs = append(refs, r)
			}
		}
		marks := map[string][]model.Mark{}
		for _, r := range rels {
			if _, ok := marks[r.ImageID]; !ok {
				marks[r.ImageID] = images.Marks(r.ImageID)
			}
		}
		out.Groups[i] = model.DeriveLedger(model.LedgerInput{
			Group: g.Name, Template: g.Template.String(), Versions: rels,
			Refreshes: refs, HistoryKnown: hist[i].problem == "", HistoryProblem: hist[i].problem,
			Marks: marks, Current: current, CurrentImage: g.Image, Now: now,
		})
	}
	return out, nil
}

// groupRefreshes reads every instance refresh AWS remembers for a group, with the template
// each rolled out (the group's template when it named none).
func groupRefreshes(ctx context.Context, api awsapi.AutoScalingReader, group, template string) ([]model.Refresh, []string, error) {
	var out []model.Refresh
	var tpls []string
	var in interner
	p := autoscaling.NewDescribeInstanceRefreshesPaginator(api, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(group)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("read instance refreshes of %s: %w", group, err)
		}
		for i := range page.InstanceRefreshes {
			r, tpl := mapRefresh(&page.InstanceRefreshes[i], template, &in)
			out = append(out, *r)
			tpls = append(tpls, tpl)
		}
	}
	return out, tpls, nil
}
