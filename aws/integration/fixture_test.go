package integration_test

import (
	"context"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/adstage/adstage-ops/aws/internal/awstest"
)

// motoInvFleet is a small fleet created in moto through the SDK:
//
//	web-production  Service=web Environment=production  template web-lt $Default (v2, amiV2), 2 instances, target group web-prod-tg
//	web-staging     Service=web Environment=staging     template web-lt v2 (amiV2), 1 instance, target group web-stg-tg
//	api-production  Service=api Environment=production  template api-lt $Latest (v1, amiV1), 1 instance, classic ELB api-classic
//	batch-untagged  no tags                            template api-lt v1 (amiV1), 1 instance
//
// web-lt has two versions with different AMIs (v1 amiV1, v2 amiV2 "release 2"), v2 the
// default. Where moto differs from AWS: it reports every group instance's launch template
// version as the template's default version, not the version the instance was launched from
// (moto/autoscaling/models.py, InstanceState.launch_template), so no group of this fixture
// runs a non-default version of a template it shares with another group.
type motoInvFleet struct {
	amiV1, amiV2 string
	webLT, apiLT string // launch template ids
	webProdTG    string // target group ARNs
	webStgTG     string
	classic      string
	azs          []string
}

func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("moto fixture: %s: %v", what, err)
	}
}

// createMotoInvFleet builds motoInvFleet in the test's moto account with read-write clients.
func createMotoInvFleet(t *testing.T, c awstest.SDKClients) motoInvFleet {
	t.Helper()
	ctx := context.Background()
	s := aws.String
	var f motoInvFleet

	// Two of moto's stock AMIs stand in for two releases.
	imgs, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{
		{Name: s("state"), Values: []string{"available"}},
		{Name: s("architecture"), Values: []string{"x86_64"}},
	}})
	mustOK(t, "DescribeImages", err)
	var ids []string
	for _, i := range imgs.Images {
		ids = append(ids, aws.ToString(i.ImageId))
	}
	sort.Strings(ids)
	if len(ids) < 2 {
		t.Fatalf("moto fixture: moto lists %d stock AMIs, need 2", len(ids))
	}
	f.amiV1, f.amiV2 = ids[0], ids[1]

	vpc, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: s("10.42.0.0/16")})
	mustOK(t, "CreateVpc", err)
	vpcID := vpc.Vpc.VpcId
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: s([]string{"10.42.1.0/24", "10.42.2.0/24"}[i]), AvailabilityZone: s(az)})
		mustOK(t, "CreateSubnet", err)
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
		f.azs = append(f.azs, az)
	}

	web, err := c.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: s("web-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: s(f.amiV1), InstanceType: ec2types.InstanceTypeT3Micro},
	})
	mustOK(t, "CreateLaunchTemplate web-lt", err)
	f.webLT = aws.ToString(web.LaunchTemplate.LaunchTemplateId)
	_, err = c.EC2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   s(f.webLT),
		SourceVersion:      s("1"),
		VersionDescription: s("release 2"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: s(f.amiV2)},
	})
	mustOK(t, "CreateLaunchTemplateVersion web-lt v2", err)
	_, err = c.EC2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: s(f.webLT), DefaultVersion: s("2")})
	mustOK(t, "ModifyLaunchTemplate web-lt default 2", err)
	api, err := c.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: s("api-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: s(f.amiV1), InstanceType: ec2types.InstanceTypeT3Micro},
	})
	mustOK(t, "CreateLaunchTemplate api-lt", err)
	f.apiLT = aws.ToString(api.LaunchTemplate.LaunchTemplateId)

	for name, arn := range map[string]*string{"web-prod-tg": &f.webProdTG, "web-stg-tg": &f.webStgTG} {
		tg, err := c.ELBv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: s(name), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: vpcID,
			TargetType: elbv2types.TargetTypeEnumInstance,
		})
		mustOK(t, "CreateTargetGroup "+name, err)
		*arn = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	}
	f.classic = "api-classic"
	_, err = c.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		LoadBalancerName:  s(f.classic),
		Listeners:         []elbtypes.Listener{{Protocol: s("HTTP"), LoadBalancerPort: 80, InstancePort: aws.Int32(8080)}},
		AvailabilityZones: f.azs,
	})
	mustOK(t, "CreateLoadBalancer (classic)", err)

	tags := func(group, service, env string) []astypes.Tag {
		if service == "" {
			return nil
		}
		return []astypes.Tag{
			{Key: s("Service"), Value: s(service), ResourceId: s(group), ResourceType: s("auto-scaling-group"), PropagateAtLaunch: aws.Bool(true)},
			{Key: s("Environment"), Value: s(env), ResourceId: s(group), ResourceType: s("auto-scaling-group"), PropagateAtLaunch: aws.Bool(true)},
		}
	}
	for _, g := range []struct {
		name, service, env, lt, version string
		size                            int32
		tgs, elbs                       []string
	}{
		{"web-production", "web", "production", f.webLT, "$Default", 2, []string{f.webProdTG}, nil},
		{"web-staging", "web", "staging", f.webLT, "2", 1, []string{f.webStgTG}, nil},
		{"api-production", "api", "production", f.apiLT, "$Latest", 1, nil, []string{f.classic}},
		{"batch-untagged", "", "", f.apiLT, "1", 1, nil, nil},
	} {
		_, err := c.AutoScaling.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: s(g.name),
			LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateId: s(g.lt), Version: s(g.version)},
			MinSize:              aws.Int32(g.size), MaxSize: aws.Int32(g.size + 2), DesiredCapacity: aws.Int32(g.size),
			VPCZoneIdentifier:      s(subnets[0] + "," + subnets[1]),
			TargetGroupARNs:        g.tgs,
			LoadBalancerNames:      g.elbs,
			HealthCheckType:        s("ELB"),
			HealthCheckGracePeriod: aws.Int32(90),
			Tags:                   tags(g.name, g.service, g.env),
		})
		mustOK(t, "CreateAutoScalingGroup "+g.name, err)
	}
	return f
}
