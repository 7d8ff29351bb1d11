package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/adstage/adstage-ops/aws/awsapi"
)

// maxInstancesPerCall is DescribeInstances' limit on instance IDs in one request.
const maxInstancesPerCall = 1000

// instanceFacts are what DescribeAutoScalingGroups does not say about an instance: when it
// launched. It never changes, so it is read once per instance ID and kept until the instance
// leaves the fleet. id is the instance ID string every snapshot, balancer and cache then shares,
// so that 20,000 IDs are held once, not once per response they came in. (The AMI of instances
// the group listing gives none for, launch configuration ones on older APIs, is kept apart in
// Inventory.images.)
type instanceFacts struct {
	id       string
	launched int64 // unix second
}

// factTable holds the instanceFacts of every instance the fleet lists, sorted by ID: a
// slice costs 24 bytes an instance where a map cost 77. Lookups are a binary search; a
// snapshot looks up only the instances of the groups it listed again (a kept group's
// instances have their facts in the last fleet).
type factTable struct {
	rows []instanceFacts
}

func (t *factTable) find(id string) (int, bool) {
	return slices.BinarySearchFunc(t.rows, id, func(f instanceFacts, id string) int { return strings.Compare(f.id, id) })
}

// get returns the facts of an instance, if known.
func (t *factTable) get(id string) (instanceFacts, bool) {
	if i, ok := t.find(id); ok {
		return t.rows[i], true
	}
	return instanceFacts{}, false
}

func (t *factTable) has(id string) bool {
	_, ok := t.find(id)
	return ok
}

func (t *factTable) len() int { return len(t.rows) }

// add stores one read's facts (a new fact for a known ID replaces it).
func (t *factTable) add(fs []instanceFacts) {
	if len(fs) == 0 {
		return
	}
	// The new facts go first and the sort is stable, so that compacting keeps them.
	merged := make([]instanceFacts, 0, len(t.rows)+len(fs))
	merged = append(append(merged, fs...), t.rows...)
	slices.SortStableFunc(merged, func(a, b instanceFacts) int { return strings.Compare(a.id, b.id) })
	merged = slices.CompactFunc(merged, func(a, b instanceFacts) bool { return a.id == b.id })
	t.rows = slices.Clip(merged)
}

// keep forgets the instances for which listed is false.
func (t *factTable) keep(listed func(id string) bool) {
	t.rows = slices.DeleteFunc(t.rows, func(f instanceFacts) bool { return !listed(f.id) })
	if len(t.rows) < cap(t.rows)/2 {
		t.rows = slices.Clone(t.rows) // let the array of a bigger table go (nil when empty)
	}
}

// instanceCall is one DescribeInstances request for instances never seen before.
type instanceCall struct {
	ids []string
}

// instanceInfo is one instance as read from EC2.
type instanceInfo struct {
	id       string
	launched int64
	image    string
}

func instanceCalls(ids []string) []instanceCall {
	var out []instanceCall
	for len(ids) > 0 {
		n := min(len(ids), maxInstancesPerCall)
		out = append(out, instanceCall{ids: ids[:n]})
		ids = ids[n:]
	}
	return out
}

// do reads the instances. An ID EC2 does not know yet (new instances are eventually
// consistent) makes the by-ID form fail as a whole, so on InvalidInstanceID.NotFound it asks
// again with an instance-id filter, which returns the ones that exist.
func (ic instanceCall) do(ctx context.Context, api awsapi.EC2Reader) ([]instanceInfo, error) {
	out, err := ic.read(ctx, api, &ec2.DescribeInstancesInput{InstanceIds: ic.ids})
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) && ae.ErrorCode() == "InvalidInstanceID.NotFound" {
		// A filter takes at most MaxFilterValues values, fewer than a by-ID call's IDs.
		out, err = nil, nil
		for _, part := range Chunks(ic.ids, MaxFilterValues) {
			got, perr := ic.read(ctx, api, &ec2.DescribeInstancesInput{
				Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: part}},
			})
			out = append(out, got...)
			if perr != nil {
				err = perr
				break
			}
		}
	}
	if err != nil {
		return out, fmt.Errorf("read launch time of %d new instances: %w", len(ic.ids), err)
	}
	return out, nil
}

func (ic instanceCall) read(ctx context.Context, api awsapi.EC2Reader, in *ec2.DescribeInstancesInput) ([]instanceInfo, error) {
	var out []instanceInfo
	p := ec2.NewDescribeInstancesPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				info := instanceInfo{id: aws.ToString(i.InstanceId), image: aws.ToString(i.ImageId)}
				if i.LaunchTime != nil {
					info.launched = i.LaunchTime.Unix()
				}
				out = append(out, info)
			}
		}
	}
	return out, nil
}
