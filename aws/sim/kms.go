package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMS, as far as EBS encryption across accounts needs it (AWS KMS Developer Guide, "Allowing
// users in other accounts to use a KMS key"; Amazon EBS User Guide, "Share an Amazon EBS
// snapshot"):
//   - Every account has, in each region, the AWS managed key aws/ebs (alias/aws/ebs). Its key
//     policy cannot be changed, so no other account can ever use it: "You can't share
//     snapshots that are encrypted with the default AWS managed key" (ModifySnapshotAttribute
//     refuses, images.go), and another account's image encrypted with it cannot be launched
//     or copied.
//   - A customer managed key (AddKey) is usable by another account only when its key policy
//     (or a grant) allows that account; the simulator keeps, per key, the set of accounts
//     allowed (AllowKey), standing for the policy statement that grants kms:Decrypt,
//     kms:CreateGrant, kms:ReEncrypt*, kms:GenerateDataKey* and kms:DescribeKey. A key the
//     partition does not know (an ARN written by hand) allows no other account.
//   - DescribeKey answers for keys of the caller's account, and for another account's key
//     named by ARN when that key allows the caller.
//
// Not modelled: key policies as documents, grants as objects, IAM policies on keys, key
// states other than Enabled, the Auto Scaling service-linked role's own access to a customer
// managed key of the group's account, and every other KMS operation.

// Key is a customer managed KMS key.
type Key struct {
	ID  string
	ARN string
	// Allowed are the other accounts its key policy lets use it.
	Allowed []string `json:",omitempty"`
}

// awsManagedKeyID is the key ID the simulator gives an account's aws/ebs key.
const awsManagedKeyID = "aws-ebs"

// AddKey creates a customer managed key in this account and region that the accounts named
// may use too, and returns its ARN (for EncryptImage).
func (c *Cloud) AddKey(allowed ...string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.uuid()
	k := &Key{ID: id, ARN: "arn:aws:kms:" + c.st.Region + ":" + c.st.Account + ":key/" + id, Allowed: slices.Clone(allowed)}
	c.st.Keys = append(c.st.Keys, k)
	return k.ARN
}

// AllowKey lets more accounts use a customer managed key of this account (its key policy).
func (c *Cloud) AllowKey(arn string, accounts ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.st.Keys {
		if k.ARN == arn {
			for _, a := range accounts {
				if !slices.Contains(k.Allowed, a) {
					k.Allowed = append(k.Allowed, a)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("allow key: account %s has no key %s in %s", c.st.Account, arn, c.st.Region)
}

// keyUsable reports whether account may use the key that encrypts a snapshot of owner's:
// always its own; another account's customer managed key when that key allows it; never
// another account's aws/ebs. c.mu (shared by the partition) is held.
func (c *Cloud) keyUsable(owner *Cloud, key, account string) bool {
	if key == "" || owner.st.Account == account {
		return true
	}
	if isDefaultEBSKey(key) {
		return false
	}
	k := c.findKey(key)
	return k != nil && slices.Contains(k.Allowed, account)
}

// findKey is the customer managed key an ARN names, in whichever cloud of the partition
// holds it; nil when none does. c.mu is held.
func (c *Cloud) findKey(arn string) *Key {
	clouds := []*Cloud{c}
	if c.partition != nil {
		clouds = c.partition.clouds
	}
	for _, o := range clouds {
		for _, k := range o.st.Keys {
			if k.ARN == arn {
				return k
			}
		}
	}
	return nil
}

// kmsRefusal is why this account cannot launch owner's image: a snapshot encrypted with a
// key it may not use. EC2 accepts the launch and the instance fails at once, which Auto
// Scaling reports as "Client.InternalError: Client error on launch" ("Troubleshoot Amazon
// EC2 Auto Scaling: EC2 instance launch failures",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-instancelaunchfailure.html);
// the simulator reports it as the failed launch. c.mu is held.
func (c *Cloud) kmsRefusal(owner *Cloud, img *Image) string {
	if owner == nil || owner == c {
		return ""
	}
	for _, sid := range img.Snapshots {
		if s := owner.snapshots[sid]; s != nil && !c.keyUsable(owner, s.KMSKey, c.st.Account) {
			return "Client.InternalError: Client error on launch"
		}
	}
	return ""
}

type kmsClient struct{ c *Cloud }

// DescribeKey: "Provides detailed information about a KMS key. ... To perform this operation
// on a KMS key in a different AWS account, specify the key ARN or alias ARN in the value of
// the KeyId parameter" (AWS KMS API reference). KeyId is a key ID, key ARN, alias name
// (alias/aws/ebs) or alias ARN.
func (k *kmsClient) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	const op = "DescribeKey"
	c := k.c
	if err := c.begin(svcKMS, op, ""); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	id := aws.ToString(in.KeyId)
	if id == "" {
		return nil, apiError(svcKMS, op, "ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	notFound := apiError(svcKMS, op, "NotFoundException", "Key '%s' does not exist", id)
	account, region := c.st.Account, c.st.Region
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" {
			return nil, notFound
		}
		region, account = parts[3], parts[4]
		id = parts[5]
	}
	meta := func(keyID string, manager kmstypes.KeyManagerType, desc string) *kms.DescribeKeyOutput {
		return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{
			KeyId: aws.String(keyID), Arn: aws.String("arn:aws:kms:" + region + ":" + account + ":key/" + keyID), AWSAccountId: aws.String(account),
			KeyManager: manager, KeyState: kmstypes.KeyStateEnabled, Enabled: true, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
			KeySpec: kmstypes.KeySpecSymmetricDefault, Description: aws.String(desc),
		}}
	}
	if id == "alias/aws/ebs" || id == "key/"+awsManagedKeyID || id == awsManagedKeyID {
		if account != c.st.Account {
			// Its key policy allows only its own account.
			return nil, apiError(svcKMS, op, "AccessDeniedException", "User: %s is not authorized to perform: kms:DescribeKey on resource: %s", c.st.Caller, aws.ToString(in.KeyId))
		}
		return meta(awsManagedKeyID, kmstypes.KeyManagerTypeAws, "Default key that protects my EBS volumes when no other key is defined"), nil
	}
	keyID := strings.TrimPrefix(id, "key/")
	arn := "arn:aws:kms:" + region + ":" + account + ":key/" + keyID
	key := c.findKey(arn)
	if key == nil {
		return nil, notFound
	}
	if account != c.st.Account && !slices.Contains(key.Allowed, c.st.Account) {
		return nil, apiError(svcKMS, op, "AccessDeniedException", "User: %s is not authorized to perform: kms:DescribeKey on resource: %s", c.st.Caller, arn)
	}
	return meta(keyID, kmstypes.KeyManagerTypeCustomer, ""), nil
}
