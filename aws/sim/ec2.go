package sim

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ec2Client is the simulated EC2 API.
type ec2Client struct{ c *Cloud }

// Image timing: snapshots take snapshotTime to reach 100%, the image is available a few
// seconds after its last snapshot completes.
const (
	snapshotTime = 30 * time.Second
	registerTime = 3 * time.Second
	// terminatedVisible is how long a terminated instance stays visible to DescribeInstances
	// (AWS: about an hour).
	terminatedVisible = time.Hour
)

func ec2Tags(tags []Tag) []ec2types.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]ec2types.Tag, len(tags))
	for i, t := range tags {
		out[i] = ec2types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
}

// maxFilterValues is how many values EC2 takes in one filter (Amazon EC2 User Guide, "List
// and filter your resources": up to 200 values per filter); more fails the whole call with
// FilterLimitExceeded (EC2 API reference, "Error codes").
const maxFilterValues = 200

// filterLimit refuses a request with a filter of more than maxFilterValues values.
func filterLimit(op string, filters []ec2types.Filter) error {
	for _, f := range filters {
		if len(f.Values) > maxFilterValues {
			return apiError(svcEC2, op, "FilterLimitExceeded", "The maximum number of filter values specified on a single call is %d", maxFilterValues)
		}
	}
	return nil
}

// ec2Filter applies the EC2 filters the sim supports (tag:<key>, tag-key and the named
// fields given in fields); an unsupported filter name is an error, as on AWS.
func ec2Filter(filters []ec2types.Filter, tags []Tag, fields map[string]string) (bool, string) {
	for _, f := range filters {
		name := aws.ToString(f.Name)
		ok := false
		switch {
		case strings.HasPrefix(name, "tag:"):
			v, has := tagValue(tags, name[4:])
			ok = has && matchAny(f.Values, v)
		case name == "tag-key":
			for _, t := range tags {
				if matchAny(f.Values, t.Key) {
					ok = true
				}
			}
		default:
			v, known := fields[name]
			if !known {
				return false, name
			}
			ok = matchAny(f.Values, v)
		}
		if !ok {
			return false, ""
		}
	}
	return true, ""
}

// matchAny matches EC2 filter values, which may use * and ? wildcards.
func matchAny(values []string, v string) bool {
	for _, p := range values {
		if wildcard(p, v) {
			return true
		}
	}
	return false
}

func wildcard(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcard(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcard(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && wildcard(p[1:], s[1:])
}

func (e *ec2Client) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	const op = "DescribeLaunchTemplateVersions"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil {
		in = &ec2.DescribeLaunchTemplateVersionsInput{}
	}
	limit, ok := pageSize(in.MaxResults, 200, 200)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "MaxResults must be between 1 and 200")
	}
	var templates []*Template
	switch {
	case aws.ToString(in.LaunchTemplateId) != "":
		t := c.templates[aws.ToString(in.LaunchTemplateId)]
		if t == nil {
			return nil, apiError(svcEC2, op, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", aws.ToString(in.LaunchTemplateId))
		}
		templates = []*Template{t}
	case aws.ToString(in.LaunchTemplateName) != "":
		t := c.templates["name:"+aws.ToString(in.LaunchTemplateName)]
		if t == nil {
			return nil, apiError(svcEC2, op, "InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
		templates = []*Template{t}
	default:
		// Without a template, AWS only describes $Latest or $Default versions of every
		// template.
		for _, v := range in.Versions {
			if v != "$Latest" && v != "$Default" {
				return nil, apiError(svcEC2, op, "InvalidParameterCombination", "A launch template ID or name must be specified to describe specific versions.")
			}
		}
		templates = c.st.Templates
	}
	minV, maxV := 0, int(^uint(0)>>1)
	if s := aws.ToString(in.MinVersion); s != "" {
		minV, _ = strconv.Atoi(s)
	}
	if s := aws.ToString(in.MaxVersion); s != "" {
		maxV, _ = strconv.Atoi(s)
	}
	var list []*ec2types.LaunchTemplateVersion
	for _, t := range templates {
		var vs []*TemplateVersion
		if len(in.Versions) > 0 {
			for _, want := range in.Versions {
				cfg, ok := c.resolve(TemplateSpec{ID: t.ID, Version: want})
				if !ok {
					return nil, apiError(svcEC2, op, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s.", want, t.ID)
				}
				if v := t.version(cfg.Version); v != nil && !slices.Contains(vs, v) {
					vs = append(vs, v)
				}
			}
		} else {
			// Newest first.
			for i := len(t.Versions) - 1; i >= 0; i-- {
				vs = append(vs, t.Versions[i])
			}
		}
		for _, v := range vs {
			if v.Number < minV || v.Number > maxV {
				continue
			}
			o := c.versionOut(t, v)
			// ResolveAlias: "If true, and if a Systems Manager parameter is specified for
			// ImageId, the AMI ID is displayed in the response for imageId" (API reference);
			// by default the parameter is.
			if aws.ToBool(in.ResolveAlias) {
				o.LaunchTemplateData.ImageId = aws.String(c.resolveAMI(v.ImageID))
			}
			list = append(list, o)
		}
	}
	pg, next, ok := paginate(list, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidPaginationToken", "The pagination token is invalid.")
	}
	out := &ec2.DescribeLaunchTemplateVersionsOutput{NextToken: next, LaunchTemplateVersions: make([]ec2types.LaunchTemplateVersion, 0, len(pg))}
	for _, v := range pg {
		out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, *v)
	}
	return out, nil
}

func (c *Cloud) versionOut(t *Template, v *TemplateVersion) *ec2types.LaunchTemplateVersion {
	o := &ec2types.LaunchTemplateVersion{
		LaunchTemplateId:   aws.String(t.ID),
		LaunchTemplateName: aws.String(t.Name),
		VersionNumber:      aws.Int64(int64(v.Number)),
		CreateTime:         aws.Time(v.CreatedAt),
		CreatedBy:          aws.String(v.CreatedBy),
		DefaultVersion:     aws.Bool(v.Number == t.DefaultVersion),
		LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String(v.ImageID), InstanceType: ec2types.InstanceType(v.InstanceType)},
	}
	if v.Description != "" {
		o.VersionDescription = aws.String(v.Description)
	}
	return o
}

func (e *ec2Client) CreateLaunchTemplateVersion(_ context.Context, in *ec2.CreateLaunchTemplateVersionInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	const op = "CreateLaunchTemplateVersion"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-write"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || in.LaunchTemplateData == nil {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter LaunchTemplateData.")
	}
	// VersionDescription: "Constraints: Maximum 255 characters" (API reference), valid UTF-8.
	if d := aws.ToString(in.VersionDescription); !utf8.ValidString(d) || utf8.RuneCountInString(d) > 255 {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value for parameter versionDescription is invalid. Length exceeds maximum of 255 characters or is not valid UTF-8.")
	}
	var t *Template
	switch {
	case aws.ToString(in.LaunchTemplateId) != "":
		if t = c.templates[aws.ToString(in.LaunchTemplateId)]; t == nil {
			return nil, apiError(svcEC2, op, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", aws.ToString(in.LaunchTemplateId))
		}
	case aws.ToString(in.LaunchTemplateName) != "":
		if t = c.templates["name:"+aws.ToString(in.LaunchTemplateName)]; t == nil {
			return nil, apiError(svcEC2, op, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", aws.ToString(in.LaunchTemplateName))
		}
	default:
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter LaunchTemplateName or LaunchTemplateId.")
	}
	if d := aws.ToString(in.VersionDescription); len(d) > 255 {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "The version description must be at most 255 characters.")
	}
	// Only the fields the simulator models (ImageId, InstanceType) are carried; with a
	// SourceVersion the new version starts from it, as on AWS.
	v := &TemplateVersion{CreatedBy: c.st.Caller, CreatedAt: c.st.Now, Description: aws.ToString(in.VersionDescription), InstanceType: "t3.medium"}
	if src := aws.ToString(in.SourceVersion); src != "" {
		cfg, ok := c.resolve(TemplateSpec{ID: t.ID, Version: src})
		if !ok {
			return nil, apiError(svcEC2, op, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for launch template %s.", src, t.ID)
		}
		s := t.version(cfg.Version)
		v.ImageID, v.InstanceType = s.ImageID, s.InstanceType
	}
	if id := aws.ToString(in.LaunchTemplateData.ImageId); id != "" {
		v.ImageID = id
	}
	if it := in.LaunchTemplateData.InstanceType; it != "" {
		v.InstanceType = string(it)
	}
	v.Number = t.Versions[len(t.Versions)-1].Number + 1
	t.Versions = append(t.Versions, v)
	out := &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: c.versionOut(t, v)}
	// AWS accepts a version whose AMI does not exist and says so in a warning.
	if img, _ := c.visibleImage(v.ImageID); img == nil || img.Deregistered {
		out.Warning = &ec2types.ValidationWarning{Errors: []ec2types.ValidationError{{Code: aws.String("InvalidAMIID.NotFound"), Message: aws.String(fmt.Sprintf("The image id '[%s]' does not exist", v.ImageID))}}}
	}
	return out, nil
}

// instanceState is the EC2 state of an instance, derived from its Auto Scaling lifecycle.
func (c *Cloud) instanceState(in *Instance) (string, int32) {
	now := c.st.Now
	switch {
	case in.Lifecycle == lcTerminated:
		return "terminated", 48
	case in.Lifecycle == lcTerminating && !now.Before(in.TerminateAt.Add(-2*time.Second)):
		return "shutting-down", 32
	case in.Lifecycle == lcPending && now.Before(in.LaunchedAt.Add(5*time.Second)):
		return "pending", 0
	}
	return "running", 16
}

func (e *ec2Client) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	const op = "DescribeInstances"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in != nil {
		if err := filterLimit(op, in.Filters); err != nil {
			return nil, err
		}
	}
	if in == nil {
		in = &ec2.DescribeInstancesInput{}
	}
	if in.MaxResults != nil && len(in.InstanceIds) > 0 {
		return nil, apiError(svcEC2, op, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	limit, ok := pageSize(in.MaxResults, 1000, 1000)
	if !ok || (in.MaxResults != nil && *in.MaxResults < 5) {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value for parameter maxResults is invalid. Expecting a value between 5 and 1000.")
	}
	visible := func(i *Instance) bool {
		return i.Lifecycle != lcTerminated || c.st.Now.Sub(i.TerminatedAt) < terminatedVisible
	}
	var list []*Instance
	if len(in.InstanceIds) > 0 {
		var missing []string
		for _, id := range in.InstanceIds {
			i := c.st.Instances[id]
			if i == nil || !visible(i) {
				missing = append(missing, id)
				continue
			}
			list = append(list, i)
		}
		if len(missing) > 0 {
			return nil, apiError(svcEC2, op, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
		}
	} else {
		for _, i := range c.st.Instances {
			if visible(i) {
				list = append(list, i)
			}
		}
		slices.SortFunc(list, func(a, b *Instance) int { return strings.Compare(a.ID, b.ID) })
	}
	filtered := list[:0:0]
	for _, i := range list {
		state, _ := c.instanceState(i)
		ok, bad := ec2Filter(in.Filters, i.Tags, map[string]string{
			"instance-id": i.ID, "image-id": i.ImageID, "instance-state-name": state,
			"availability-zone": i.AZ, "instance-type": i.InstanceType,
		})
		if bad != "" {
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "The filter '%s' is invalid", bad)
		}
		if ok {
			filtered = append(filtered, i)
		}
	}
	pg, next, ok := paginate(filtered, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Invalid value for parameter nextToken")
	}
	out := &ec2.DescribeInstancesOutput{NextToken: next, Reservations: []ec2types.Reservation{}}
	for _, i := range pg {
		state, code := c.instanceState(i)
		inst := ec2types.Instance{
			InstanceId:       aws.String(i.ID),
			ImageId:          aws.String(i.ImageID),
			InstanceType:     ec2types.InstanceType(i.InstanceType),
			LaunchTime:       aws.Time(i.LaunchedAt),
			Placement:        &ec2types.Placement{AvailabilityZone: aws.String(i.AZ), Tenancy: ec2types.TenancyDefault},
			State:            &ec2types.InstanceState{Name: ec2types.InstanceStateName(state), Code: aws.Int32(code)},
			PrivateIpAddress: aws.String(i.PrivateIP),
			Tags:             ec2Tags(i.Tags),
			Architecture:     ec2types.ArchitectureValuesX8664,
			RootDeviceName:   aws.String("/dev/xvda"),
			RootDeviceType:   ec2types.DeviceTypeEbs,
		}
		out.Reservations = append(out.Reservations, ec2types.Reservation{
			ReservationId: aws.String("r-" + strings.TrimPrefix(i.ID, "i-")),
			OwnerId:       aws.String(c.st.Account),
			RequesterId:   aws.String("940372691376"), // Auto Scaling launches on the account's behalf
			Instances:     []ec2types.Instance{inst},
		})
	}
	return out, nil
}

// imageState is pending until the image's snapshots are done, then available.
func (c *Cloud) imageState(img *Image) string {
	if img.Disabled {
		return "disabled"
	}
	if c.st.Now.Before(img.ReadyAt) {
		return "pending"
	}
	return "available"
}

func (e *ec2Client) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	const op = "DescribeImages"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in != nil {
		if err := filterLimit(op, in.Filters); err != nil {
			return nil, err
		}
	}
	if in == nil {
		in = &ec2.DescribeImagesInput{}
	}
	limit, ok := pageSize(in.MaxResults, 1000, 1000)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "MaxResults must be between 5 and 1000")
	}
	// Owners: "If you omit this parameter, the results include all images for which you
	// have launch permissions, regardless of ownership" (DescribeImagesInput); self or an
	// account ID scope them to that owner. The simulator has no amazon or marketplace images.
	// ExecutableUsers (who may launch them) is not modelled.
	if len(in.ExecutableUsers) > 0 {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "the simulator does not model ExecutableUsers; use Owners")
	}
	owners := map[string]bool{}
	for _, o := range in.Owners {
		if o == "self" {
			o = c.st.Account
		}
		owners[o] = true
	}
	ownerOK := func(owner *Cloud) bool { return len(owners) == 0 || owners[owner.st.Account] }
	listed := func(img *Image) bool {
		return !img.Deregistered && (!img.Disabled || aws.ToBool(in.IncludeDisabled))
	}
	type owned struct {
		img   *Image
		owner *Cloud
	}
	var list []owned
	if len(in.ImageIds) > 0 {
		var missing []string
		for _, id := range in.ImageIds {
			if !strings.HasPrefix(id, "ami-") {
				return nil, apiError(svcEC2, op, "InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
			}
			img, owner := c.visibleImage(id)
			// DescribeImages "IncludeDisabled: ... Default: No disabled AMIs are included in
			// the response" (EC2 API Reference).
			if img == nil || !listed(img) {
				missing = append(missing, id)
				continue
			}
			if ownerOK(owner) {
				list = append(list, owned{img, owner})
			}
		}
		if len(missing) > 0 {
			return nil, apiError(svcEC2, op, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
		}
	} else {
		if ownerOK(c) {
			for _, img := range c.st.Images {
				if listed(img) {
					list = append(list, owned{img, c})
				}
			}
		}
		for _, o := range c.peers(c.st.Region) {
			if !ownerOK(o) {
				continue
			}
			for _, img := range o.st.Images {
				if listed(img) && grants(img.LaunchPermissions, c.st.Account) {
					list = append(list, owned{img, o})
				}
			}
		}
	}
	var filtered []owned
	for _, x := range list {
		img := x.img
		ok, bad := ec2Filter(in.Filters, c.tagsOf(img, x.owner), map[string]string{
			"image-id": img.ID, "name": img.Name, "state": c.imageState(img), "owner-id": x.owner.st.Account,
		})
		if bad != "" {
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "The filter '%s' is invalid", bad)
		}
		if ok {
			filtered = append(filtered, x)
		}
	}
	pg, next, ok := paginate(filtered, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Invalid value for parameter nextToken")
	}
	out := &ec2.DescribeImagesOutput{NextToken: next, Images: make([]ec2types.Image, 0, len(pg))}
	for _, x := range pg {
		img, owner := x.img, x.owner
		o := ec2types.Image{
			ImageId:        aws.String(img.ID),
			Name:           aws.String(img.Name),
			State:          ec2types.ImageState(c.imageState(img)),
			CreationDate:   aws.String(img.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")),
			OwnerId:        aws.String(owner.st.Account),
			Public:         aws.Bool(slices.Contains(img.LaunchPermissions, "all")),
			Architecture:   ec2types.ArchitectureValuesX8664,
			ImageType:      ec2types.ImageTypeValuesMachine,
			RootDeviceName: aws.String("/dev/xvda"),
			RootDeviceType: ec2types.DeviceTypeEbs,
		}
		o.Tags = ec2Tags(c.tagsOf(img, owner))
		if img.Description != "" {
			o.Description = aws.String(img.Description)
		}
		for i, sid := range img.Snapshots {
			dev := "/dev/xvda"
			if i > 0 {
				dev = fmt.Sprintf("/dev/xvd%c", 'a'+i)
			}
			size := int32(8)
			encrypted := false
			if s := owner.snapshots[sid]; s != nil {
				size, encrypted = s.VolumeSize, s.KMSKey != ""
			}
			o.BlockDeviceMappings = append(o.BlockDeviceMappings, ec2types.BlockDeviceMapping{DeviceName: aws.String(dev),
				Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String(sid), VolumeSize: aws.Int32(size), DeleteOnTermination: aws.Bool(true), VolumeType: ec2types.VolumeTypeGp3, Encrypted: aws.Bool(encrypted)}})
		}
		out.Images = append(out.Images, o)
	}
	return out, nil
}

// snapshotProgress is the snapshot's percentage and state at the current time.
func (c *Cloud) snapshotProgress(s *Snapshot) (int, string) {
	now := c.st.Now
	if !now.Before(s.DoneAt) {
		return 100, "completed"
	}
	total := s.DoneAt.Sub(s.StartTime)
	if total <= 0 {
		return 100, "completed"
	}
	return int(100 * now.Sub(s.StartTime) / total), "pending"
}

func (e *ec2Client) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	const op = "DescribeSnapshots"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in != nil {
		if err := filterLimit(op, in.Filters); err != nil {
			return nil, err
		}
	}
	if in == nil {
		in = &ec2.DescribeSnapshotsInput{}
	}
	limit, ok := pageSize(in.MaxResults, 1000, 1000)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "MaxResults must be between 5 and 1000")
	}
	var list []*Snapshot
	if len(in.SnapshotIds) > 0 {
		for _, id := range in.SnapshotIds {
			s := c.snapshots[id]
			if s == nil {
				return nil, apiError(svcEC2, op, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
			}
			list = append(list, s)
		}
	} else {
		list = c.st.Snapshots
	}
	var filtered []*Snapshot
	for _, s := range list {
		_, state := c.snapshotProgress(s)
		ok, bad := ec2Filter(in.Filters, s.Tags, map[string]string{"snapshot-id": s.ID, "status": state, "owner-id": c.st.Account, "volume-id": s.VolumeID})
		if bad != "" {
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "The filter '%s' is invalid", bad)
		}
		if ok {
			filtered = append(filtered, s)
		}
	}
	pg, next, ok := paginate(filtered, in.NextToken, limit)
	if !ok {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Invalid value for parameter nextToken")
	}
	out := &ec2.DescribeSnapshotsOutput{NextToken: next, Snapshots: make([]ec2types.Snapshot, 0, len(pg))}
	for _, s := range pg {
		pct, state := c.snapshotProgress(s)
		o := ec2types.Snapshot{
			SnapshotId:  aws.String(s.ID),
			VolumeId:    aws.String(s.VolumeID),
			VolumeSize:  aws.Int32(s.VolumeSize),
			StartTime:   aws.Time(s.StartTime),
			Progress:    aws.String(fmt.Sprintf("%d%%", pct)),
			State:       ec2types.SnapshotState(state),
			OwnerId:     aws.String(c.st.Account),
			Encrypted:   aws.Bool(s.KMSKey != ""),
			Description: aws.String(fmt.Sprintf("Created by CreateImage(%s) for %s", s.VolumeID, s.ImageID)),
			Tags:        ec2Tags(s.Tags),
		}
		if state == "completed" {
			o.CompletionTime = aws.Time(s.DoneAt)
		}
		if s.KMSKey != "" {
			o.KmsKeyId = aws.String(s.KMSKey)
		}
		out.Snapshots = append(out.Snapshots, o)
	}
	return out, nil
}

func (e *ec2Client) CreateImage(_ context.Context, in *ec2.CreateImageInput, _ ...func(*ec2.Options)) (*ec2.CreateImageOutput, error) {
	const op = "CreateImage"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-write"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.InstanceId) == "" {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter InstanceId.")
	}
	name := aws.ToString(in.Name)
	if len(name) < 3 || len(name) > 128 {
		return nil, apiError(svcEC2, op, "InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long.")
	}
	src := c.st.Instances[aws.ToString(in.InstanceId)]
	if src == nil || src.Lifecycle == lcTerminated {
		return nil, apiError(svcEC2, op, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", aws.ToString(in.InstanceId))
	}
	for _, img := range c.st.Images {
		if img.Name == name && !img.Deregistered {
			return nil, apiError(svcEC2, op, "InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, img.ID)
		}
	}
	imgTags, snapTags, err := imageTagSpecs(op, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	// CreateImage's Description: "Constraints: Up to 255 characters" (API reference), and
	// like every string parameter, valid UTF-8.
	if d := aws.ToString(in.Description); !utf8.ValidString(d) || utf8.RuneCountInString(d) > 255 {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value (%s) for parameter description is invalid. Length exceeds maximum of 255 characters or is not valid UTF-8.", d)
	}
	// Without NoReboot AWS reboots the instance for a consistent disk; the sim does not model
	// the reboot (the instance keeps serving).
	img := c.createImage(src.ID, name, aws.ToString(in.Description), imgTags, snapTags, c.st.Now)
	return &ec2.CreateImageOutput{ImageId: aws.String(img.ID)}, nil
}

// CreateTags adds or overwrites tags on images, the one resource type adstage-ops tags on its
// own. Tags an account puts on an image another account shares with it are its own: only it
// sees them (see tagsOf). As the Amazon EC2 API Reference (CreateTags) and "Tag your Amazon EC2 resources" say:
// each resource ID must exist (InvalidAMIID.NotFound otherwise, and nothing is tagged); a tag
// whose key exists overwrites it; keys are at most 128 and values at most 256 Unicode
// characters; keys may not start with "aws:"; a resource has at most 50 tags.
func (e *ec2Client) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	const op = "CreateTags"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-write"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || len(in.Resources) == 0 {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	type tagged struct {
		img   *Image
		owner *Cloud
	}
	var imgs []tagged
	for _, id := range in.Resources {
		if !strings.HasPrefix(id, "ami-") {
			return nil, apiError(svcEC2, op, "InvalidID", "The ID '%s' is not valid (the simulator tags images only)", id)
		}
		img, owner := c.visibleImage(id)
		if img == nil || img.Deregistered {
			return nil, apiError(svcEC2, op, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
		imgs = append(imgs, tagged{img, owner})
	}
	for _, t := range in.Tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		switch {
		case k == "" || utf8.RuneCountInString(k) > 128:
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "Tag key must be between 1 and 128 characters")
		case utf8.RuneCountInString(v) > 256:
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	for _, x := range imgs {
		tags := slices.Clone(c.tagsOf(x.img, x.owner))
		for _, t := range in.Tags {
			k, v := aws.ToString(t.Key), aws.ToString(t.Value)
			if i := slices.IndexFunc(tags, func(x Tag) bool { return x.Key == k }); i >= 0 {
				tags[i].Value = v
			} else {
				tags = append(tags, Tag{Key: k, Value: v})
			}
		}
		if len(tags) > 50 {
			return nil, apiError(svcEC2, op, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
		if x.owner == c {
			x.img.Tags = tags
			continue
		}
		if c.st.SharedImageTags == nil {
			c.st.SharedImageTags = map[string][]Tag{}
		}
		c.st.SharedImageTags[x.img.ID] = tags
	}
	return &ec2.CreateTagsOutput{}, nil
}

// createImage registers a pending image with one root snapshot.
func (c *Cloud) createImage(source, name, desc string, imgTags, snapTags []Tag, at time.Time) *Image {
	img := &Image{ID: c.newID("ami-0", 16), Name: name, Description: desc, SourceInstance: source, CreatedAt: at, Tags: imgTags}
	s := &Snapshot{ID: c.newID("snap-0", 16), ImageID: img.ID, VolumeID: c.newID("vol-0", 16), VolumeSize: 8, StartTime: at, DoneAt: at.Add(snapshotTime), Tags: snapTags}
	img.Snapshots = []string{s.ID}
	img.ReadyAt = s.DoneAt.Add(registerTime)
	c.st.Images = append(c.st.Images, img)
	c.st.Snapshots = append(c.st.Snapshots, s)
	c.images[img.ID] = img
	c.snapshots[s.ID] = s
	return img
}

// tagsOf are the tags of an image as this account sees them: its own image's, or the tags
// it put on an image another account shares with it ("For public and shared AMIs,
// user-defined tags that are attached by other Amazon Web Services accounts" are not the
// viewer's: CopyImageInput.CopyImageTags). c.mu is held.
func (c *Cloud) tagsOf(img *Image, owner *Cloud) []Tag {
	if owner == c {
		return img.Tags
	}
	return c.st.SharedImageTags[img.ID]
}

// imageTagSpecs reads the tag specifications of CreateImage or CopyImage: tags for the image
// and for its snapshots. Tag restrictions ("Tag your Amazon EC2 resources", EC2 User Guide):
// values are at most 256 Unicode characters, also when tagged on creation.
func imageTagSpecs(op string, specs []ec2types.TagSpecification) (img, snap []Tag, err error) {
	for _, ts := range specs {
		var tags []Tag
		for _, t := range ts.Tags {
			if utf8.RuneCountInString(aws.ToString(t.Value)) > 256 {
				return nil, nil, apiError(svcEC2, op, "InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
			}
			tags = append(tags, Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)})
		}
		switch ts.ResourceType {
		case ec2types.ResourceTypeImage:
			img = append(img, tags...)
		case ec2types.ResourceTypeSnapshot:
			snap = append(snap, tags...)
		default:
			return nil, nil, apiError(svcEC2, op, "InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", ts.ResourceType)
		}
	}
	return img, snap, nil
}
