package sim

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Image sharing and copying across the accounts and regions of a Partition, as the EC2 API
// reference describes ModifyImageAttribute, ModifySnapshotAttribute, their Describe
// counterparts and CopyImage. Only the launchPermission and description attributes of an
// image, and the createVolumePermission attribute of a snapshot, are modelled; sharing with
// organizations and organizational units is not.

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// ownImage is an image of this account for an attribute call: another account's image the
// caller can see is refused as AWS refuses it (only the owner reads or changes its
// attributes), one it cannot see does not exist. c.mu is held.
func (c *Cloud) ownImage(op, id string) (*Image, error) {
	if !strings.HasPrefix(id, "ami-") {
		return nil, apiError(svcEC2, op, "InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
	}
	img, owner := c.visibleImage(id)
	if img == nil || img.Deregistered {
		return nil, apiError(svcEC2, op, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	if owner != c {
		return nil, apiError(svcEC2, op, "AuthFailure", "Not authorized for image:%s", id)
	}
	return img, nil
}

// permissionList turns granted accounts into the API's list (Group all for "all").
func launchPermissions(perms []string) []ec2types.LaunchPermission {
	out := []ec2types.LaunchPermission{}
	for _, p := range perms {
		if p == "all" {
			out = append(out, ec2types.LaunchPermission{Group: ec2types.PermissionGroupAll})
		} else {
			out = append(out, ec2types.LaunchPermission{UserId: aws.String(p)})
		}
	}
	return out
}

// modifyPermissions adds or removes accounts (or "all") from a permission list: adding one
// already there, or removing one that is not, changes nothing, as on AWS.
func modifyPermissions(perms []string, add bool, who []string) []string {
	for _, w := range who {
		i := slices.Index(perms, w)
		switch {
		case add && i < 0:
			perms = append(perms, w)
		case !add && i >= 0:
			perms = slices.Delete(perms, i, i+1)
		}
	}
	return perms
}

// permissionTargets validates the accounts and groups of a permission change: account IDs
// are twelve digits, and the only group is "all".
func permissionTargets(op, code string, users []string, groups []string) ([]string, error) {
	var out []string
	for _, u := range users {
		if !accountID.MatchString(u) {
			return nil, apiError(svcEC2, op, code, "Invalid attribute item value: %s is not a 12-digit account ID", u)
		}
		out = append(out, u)
	}
	for _, g := range groups {
		if g != "all" {
			return nil, apiError(svcEC2, op, code, "Invalid attribute item value: group %s (the only group is all)", g)
		}
		out = append(out, "all")
	}
	return out, nil
}

// DescribeImageAttribute: "Describes the specified attribute of the specified AMI. You can
// specify only one attribute at a time" (EC2 API reference). Only the owner may.
func (e *ec2Client) DescribeImageAttribute(_ context.Context, in *ec2.DescribeImageAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error) {
	const op = "DescribeImageAttribute"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.ImageId) == "" || in.Attribute == "" {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameters ImageId and Attribute")
	}
	img, err := c.ownImage(op, aws.ToString(in.ImageId))
	if err != nil {
		return nil, err
	}
	out := &ec2.DescribeImageAttributeOutput{ImageId: aws.String(img.ID)}
	switch in.Attribute {
	case ec2types.ImageAttributeNameLaunchPermission:
		out.LaunchPermissions = launchPermissions(img.LaunchPermissions)
	case ec2types.ImageAttributeNameDescription:
		out.Description = &ec2types.AttributeValue{Value: aws.String(img.Description)}
	case ec2types.ImageAttributeNameBlockDeviceMapping:
		// "The blockDeviceMapping attribute is deprecated. Using this attribute returns the
		// Client.AuthFailure error" (DescribeImageAttributeInput).
		return nil, apiError(svcEC2, op, "AuthFailure", "Unauthorized attempt to access restricted resource")
	default:
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "the simulator does not model the image attribute %s", in.Attribute)
	}
	return out, nil
}

// ModifyImageAttribute: "Modifies the specified attribute of the specified AMI. You can
// specify only one attribute at a time. To specify the attribute, you can use the Attribute
// parameter, or one of the following parameters: Description, ImdsSupport, or
// LaunchPermission" (EC2 API reference). Only the owner may.
func (e *ec2Client) ModifyImageAttribute(_ context.Context, in *ec2.ModifyImageAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	const op = "ModifyImageAttribute"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-write"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.ImageId) == "" {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter ImageId")
	}
	img, err := c.ownImage(op, aws.ToString(in.ImageId))
	if err != nil {
		return nil, err
	}
	attr := aws.ToString(in.Attribute)
	switch {
	case in.LaunchPermission != nil:
		if len(in.LaunchPermission.Add) > 0 && len(in.LaunchPermission.Remove) > 0 {
			return nil, apiError(svcEC2, op, "InvalidParameterCombination", "You can add or remove launch permissions, not both, in one request")
		}
		for _, change := range []struct {
			add   bool
			perms []ec2types.LaunchPermission
		}{{true, in.LaunchPermission.Add}, {false, in.LaunchPermission.Remove}} {
			var users, groups []string
			for _, lp := range change.perms {
				if lp.OrganizationArn != nil || lp.OrganizationalUnitArn != nil {
					return nil, apiError(svcEC2, op, "InvalidParameterValue", "the simulator does not model sharing with organizations")
				}
				if lp.UserId != nil {
					users = append(users, aws.ToString(lp.UserId))
				}
				if lp.Group != "" {
					groups = append(groups, string(lp.Group))
				}
			}
			who, err := permissionTargets(op, "InvalidAMIAttributeItemValue", users, groups)
			if err != nil {
				return nil, err
			}
			img.LaunchPermissions = modifyPermissions(img.LaunchPermissions, change.add, who)
		}
	case attr == "launchPermission":
		if in.OperationType != ec2types.OperationTypeAdd && in.OperationType != ec2types.OperationTypeRemove {
			return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter OperationType (add or remove)")
		}
		who, err := permissionTargets(op, "InvalidAMIAttributeItemValue", in.UserIds, in.UserGroups)
		if err != nil {
			return nil, err
		}
		img.LaunchPermissions = modifyPermissions(img.LaunchPermissions, in.OperationType == ec2types.OperationTypeAdd, who)
	case in.Description != nil || attr == "description":
		d := aws.ToString(in.Value)
		if in.Description != nil {
			d = aws.ToString(in.Description.Value)
		}
		if !utf8.ValidString(d) || utf8.RuneCountInString(d) > 255 {
			return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value for parameter description is invalid. Length exceeds maximum of 255 characters or is not valid UTF-8.")
		}
		img.Description = d
	default:
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "the simulator does not model the image attribute %q", attr)
	}
	return &ec2.ModifyImageAttributeOutput{}, nil
}

// ownSnapshot is a snapshot of this account: other accounts' snapshots are not found
// through it (the simulator lists only an account's own snapshots). c.mu is held.
func (c *Cloud) ownSnapshot(op, id string) (*Snapshot, error) {
	s := c.snapshots[id]
	if s == nil {
		return nil, apiError(svcEC2, op, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
	}
	return s, nil
}

// DescribeSnapshotAttribute: "Describes the specified attribute of the specified snapshot.
// You can specify only one attribute at a time" (EC2 API reference).
func (e *ec2Client) DescribeSnapshotAttribute(_ context.Context, in *ec2.DescribeSnapshotAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error) {
	const op = "DescribeSnapshotAttribute"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-read"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.SnapshotId) == "" || in.Attribute == "" {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameters SnapshotId and Attribute")
	}
	s, err := c.ownSnapshot(op, aws.ToString(in.SnapshotId))
	if err != nil {
		return nil, err
	}
	out := &ec2.DescribeSnapshotAttributeOutput{SnapshotId: aws.String(s.ID)}
	switch in.Attribute {
	case ec2types.SnapshotAttributeNameCreateVolumePermission:
		out.CreateVolumePermissions = []ec2types.CreateVolumePermission{}
		for _, p := range s.CreateVolumePermissions {
			if p == "all" {
				out.CreateVolumePermissions = append(out.CreateVolumePermissions, ec2types.CreateVolumePermission{Group: ec2types.PermissionGroupAll})
			} else {
				out.CreateVolumePermissions = append(out.CreateVolumePermissions, ec2types.CreateVolumePermission{UserId: aws.String(p)})
			}
		}
	case ec2types.SnapshotAttributeNameProductCodes:
		out.ProductCodes = []ec2types.ProductCode{}
	default:
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid", in.Attribute)
	}
	return out, nil
}

// ModifySnapshotAttribute: "Adds or removes permission settings for the specified snapshot.
// You may add or remove specified Amazon Web Services account IDs from a snapshot's list of
// create volume permissions, but you cannot do both in a single operation ... Encrypted
// snapshots ... cannot be made public. Snapshots encrypted with your default KMS key cannot
// be shared with other accounts" (EC2 API reference).
func (e *ec2Client) ModifySnapshotAttribute(_ context.Context, in *ec2.ModifySnapshotAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error) {
	const op = "ModifySnapshotAttribute"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-write"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.SnapshotId) == "" {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter SnapshotId")
	}
	s, err := c.ownSnapshot(op, aws.ToString(in.SnapshotId))
	if err != nil {
		return nil, err
	}
	var add bool
	var users, groups []string
	switch {
	case in.CreateVolumePermission != nil:
		if len(in.CreateVolumePermission.Add) > 0 && len(in.CreateVolumePermission.Remove) > 0 {
			return nil, apiError(svcEC2, op, "InvalidParameterCombination", "You can add or remove create volume permissions, not both, in one request")
		}
		perms := in.CreateVolumePermission.Remove
		if add = len(in.CreateVolumePermission.Add) > 0; add {
			perms = in.CreateVolumePermission.Add
		}
		for _, p := range perms {
			if p.UserId != nil {
				users = append(users, aws.ToString(p.UserId))
			}
			if p.Group != "" {
				groups = append(groups, string(p.Group))
			}
		}
	case in.Attribute == ec2types.SnapshotAttributeNameCreateVolumePermission:
		if in.OperationType != ec2types.OperationTypeAdd && in.OperationType != ec2types.OperationTypeRemove {
			return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameter OperationType (add or remove)")
		}
		add, users, groups = in.OperationType == ec2types.OperationTypeAdd, in.UserIds, in.GroupNames
	default:
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid", in.Attribute)
	}
	if len(users)+len(groups) > 500 {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "You can make up to 500 modifications to a snapshot in a single operation")
	}
	who, err := permissionTargets(op, "InvalidParameterValue", users, groups)
	if err != nil {
		return nil, err
	}
	if add && s.KMSKey != "" {
		if slices.Contains(who, "all") {
			return nil, apiError(svcEC2, op, "InvalidParameter", "Encrypted snapshots with EBS default key cannot be shared")
		}
		if isDefaultEBSKey(s.KMSKey) {
			return nil, apiError(svcEC2, op, "InvalidParameter", "Snapshots encrypted with the AWS Managed CMK can't be shared. Try again with a customer managed CMK.")
		}
	}
	s.CreateVolumePermissions = modifyPermissions(s.CreateVolumePermissions, add, who)
	return &ec2.ModifySnapshotAttributeOutput{}, nil
}

// isDefaultEBSKey tells the AWS managed key for EBS (alias/aws/ebs) from customer keys.
func isDefaultEBSKey(key string) bool { return strings.HasSuffix(key, "alias/aws/ebs") }

// CopyImage: "Initiates an AMI copy operation. You must specify the source AMI ID and both
// the source and destination locations. The copy operation must be initiated in the
// destination Region" (EC2 API reference). The source is an image of the partition in
// SourceRegion that this account owns or may launch; a shared one also needs create-volume
// permission on its snapshots (Amazon EC2 User Guide, "Copy an AMI": the owner "must grant
// you read permissions for the storage that backs the AMI"). ClientToken makes a repeated
// request return the first copy. The copy is pending until its snapshot is copied
// (snapshotTime, twice that from another region), then available.
func (e *ec2Client) CopyImage(_ context.Context, in *ec2.CopyImageInput, _ ...func(*ec2.Options)) (*ec2.CopyImageOutput, error) {
	const op = "CopyImage"
	c := e.c
	if err := c.begin(svcEC2, op, "ec2-write"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	if in == nil || aws.ToString(in.Name) == "" || aws.ToString(in.SourceImageId) == "" || aws.ToString(in.SourceRegion) == "" {
		return nil, apiError(svcEC2, op, "MissingParameter", "The request must contain the parameters Name, SourceImageId and SourceRegion")
	}
	if tok := aws.ToString(in.ClientToken); tok != "" {
		for _, img := range c.st.Images {
			if img.CopyToken == tok {
				return &ec2.CopyImageOutput{ImageId: aws.String(img.ID)}, nil
			}
		}
	}
	name := aws.ToString(in.Name)
	if len(name) < 3 || len(name) > 128 {
		return nil, apiError(svcEC2, op, "InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long.")
	}
	if d := aws.ToString(in.Description); !utf8.ValidString(d) || utf8.RuneCountInString(d) > 255 {
		return nil, apiError(svcEC2, op, "InvalidParameterValue", "Value for parameter description is invalid. Length exceeds maximum of 255 characters or is not valid UTF-8.")
	}
	// KmsKeyId: "If you specify a KMS key, you must also set the encrypted state to true"
	// (CopyImageInput).
	if aws.ToString(in.KmsKeyId) != "" && !aws.ToBool(in.Encrypted) {
		return nil, apiError(svcEC2, op, "InvalidParameterCombination", "KmsKeyId requires Encrypted to be true")
	}
	id, region := aws.ToString(in.SourceImageId), aws.ToString(in.SourceRegion)
	var src *Image
	var owner *Cloud
	candidates := c.peers(region)
	if region == c.st.Region {
		candidates = append([]*Cloud{c}, candidates...)
	}
	for _, o := range candidates {
		if img := o.images[id]; img != nil && !img.Deregistered && (o.st.Account == c.st.Account || grants(img.LaunchPermissions, c.st.Account)) {
			src, owner = img, o
			break
		}
	}
	if src == nil {
		return nil, apiError(svcEC2, op, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist in %s", id, region)
	}
	if owner.imageState(src) != "available" {
		return nil, apiError(svcEC2, op, "InvalidAMIID.Unavailable", "The image %s is %s, not available", id, owner.imageState(src))
	}
	key := aws.ToString(in.KmsKeyId)
	for _, sid := range src.Snapshots {
		s := owner.snapshots[sid]
		if s == nil {
			continue
		}
		if owner.st.Account != c.st.Account && !grants(s.CreateVolumePermissions, c.st.Account) {
			// The error code is the simulator's choice; the rule is the User Guide's.
			return nil, apiError(svcEC2, op, "AuthFailure", "You do not have permission to access the storage of this ami")
		}
		// An encrypted snapshot of another account is read with its key: the copying account
		// needs that key's permission ("Copy an AMI": to copy an encrypted AMI shared with you,
		// the owner must share the key too; aws/ebs never can be, see kms.go). The error code
		// is the simulator's choice.
		if !c.keyUsable(owner, s.KMSKey, c.st.Account) {
			return nil, apiError(svcEC2, op, "AuthFailure", "You do not have permission to use the KMS key %s that encrypts snapshot %s of %s", s.KMSKey, sid, id)
		}
		// "you cannot create an unencrypted copy of an encrypted snapshot. The default KMS
		// key for Amazon EBS is used unless you specify a non-default ... KMS key"
		// (CopyImageInput.Encrypted).
		if key == "" && (s.KMSKey != "" || aws.ToBool(in.Encrypted)) {
			key = "arn:aws:kms:" + c.st.Region + ":" + c.st.Account + ":alias/aws/ebs"
			if s.KMSKey != "" && owner == c {
				key = s.KMSKey
			}
		}
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
	if aws.ToBool(in.CopyImageTags) && owner.st.Account == c.st.Account {
		imgTags = append(slices.Clone(src.Tags), imgTags...)
	}
	img := c.createImage("", name, aws.ToString(in.Description), imgTags, snapTags, c.st.Now)
	img.CopyToken = aws.ToString(in.ClientToken)
	if region != c.st.Region {
		s := c.snapshots[img.Snapshots[0]]
		s.DoneAt = s.StartTime.Add(2 * snapshotTime)
		img.ReadyAt = s.DoneAt.Add(registerTime)
	}
	if key != "" {
		c.snapshots[img.Snapshots[0]].KMSKey = key
	}
	return &ec2.CopyImageOutput{ImageId: aws.String(img.ID)}, nil
}
