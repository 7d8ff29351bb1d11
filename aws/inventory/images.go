package inventory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/adstage/adstage-ops/aws/awsapi"
	"github.com/adstage/adstage-ops/model"
)

// MaxFilterValues is how many values EC2 takes in one filter (Amazon EC2 User Guide, "List
// and filter your resources"); a longer list fails the whole call (FilterLimitExceeded).
const MaxFilterValues = 200

// Chunks cuts values into lists of at most n.
func Chunks(values []string, n int) [][]string {
	var out [][]string
	for len(values) > n {
		out = append(out, values[:n:n])
		values = values[n:]
	}
	if len(values) > 0 {
		out = append(out, values)
	}
	return out
}

// ImageLookup is what DescribeImages said about a set of AMIs: found ones by ID.
type ImageLookup map[string]ec2types.Image

// LookupImages reads the AMIs, disabled ones too (IncludeDisabled: DescribeImages leaves
// them out by default, and a disabled AMI is not a deregistered one). An AMI EC2 does not know (never existed, or deregistered long
// enough ago) is simply absent from the result: the by-ID form fails as a whole on one
// unknown ID, so then it asks again with an image-id filter, which does not.
func LookupImages(ctx context.Context, api awsapi.EC2Reader, ids []string) (ImageLookup, error) {
	var want []string
	for _, id := range ids {
		if id != "" && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	out := ImageLookup{}
	if len(want) == 0 {
		return out, nil
	}
	read := func(in *ec2.DescribeImagesInput) error {
		p := ec2.NewDescribeImagesPaginator(api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, img := range page.Images {
				out[aws.ToString(img.ImageId)] = img
			}
		}
		return nil
	}
	err := read(&ec2.DescribeImagesInput{ImageIds: want, IncludeDisabled: aws.Bool(true)})
	if err != nil && awsapi.IsCode(err, "InvalidAMIID.") {
		err = nil
		for _, part := range Chunks(want, MaxFilterValues) {
			if err = read(&ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("image-id"), Values: part}}, IncludeDisabled: aws.Bool(true)}); err != nil {
				break
			}
		}
	}
	if err != nil {
		if len(want) > 3 {
			return nil, fmt.Errorf("read %d images (%s, ...): %w", len(want), strings.Join(want[:3], ", "), err)
		}
		return nil, fmt.Errorf("read images %s: %w", strings.Join(want, ", "), err)
	}
	return out, nil
}

// Ref describes an AMI for a plan from what bake tagged it with.
func (l ImageLookup) Ref(id, serviceKey string) model.ImageRef {
	r := model.ImageRef{ImageID: id}
	img, ok := l[id]
	if !ok {
		return r
	}
	m := MapImage(&img, serviceKey)
	r.Label, r.ReleasedBy, r.ReleasedAt = m.Label, m.BakedBy, m.CreatedAt
	for _, t := range img.Tags {
		if aws.ToString(t.Key) == model.TagBakedAt {
			if ts, err := time.Parse(time.RFC3339, aws.ToString(t.Value)); err == nil {
				r.ReleasedAt = ts
			}
		}
	}
	return r
}

// State is the AMI's state, "missing" when EC2 does not know it.
func (l ImageLookup) State(id string) string {
	img, ok := l[id]
	if !ok {
		return "missing"
	}
	return string(img.State)
}

// Service is the service tag of the AMI ("" when untagged or unknown).
func (l ImageLookup) Service(id, serviceKey string) string {
	img, ok := l[id]
	if !ok {
		return ""
	}
	return TagOf(img.Tags, serviceKey)
}

// TagOf is the value of an EC2 tag, "" when absent.
func TagOf(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return model.SafeText(aws.ToString(t.Value))
		}
	}
	return ""
}

// Marks are the marks operators wrote on the AMI (rolled back, bad, good), oldest first.
func (l ImageLookup) Marks(id string) []model.Mark {
	img, ok := l[id]
	if !ok {
		return nil
	}
	return MarksOf(img.Tags)
}

// MarksOf reads the marks among an image's tags, oldest first.
func MarksOf(tags []ec2types.Tag) []model.Mark {
	var out []model.Mark
	for _, t := range tags {
		if m, ok := model.ParseMark(aws.ToString(t.Key), aws.ToString(t.Value)); ok {
			m.Env, m.Who, m.Reason = model.SafeText(m.Env), model.SafeText(m.Who), model.SafeText(m.Reason)
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b model.Mark) int { return a.When.Compare(b.When) })
	return out
}
