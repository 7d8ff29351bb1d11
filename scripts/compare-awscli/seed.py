"""Seed a moto server with a fleet for scripts/compare-awscli.sh.

N autoscaling groups (service svc-NNN, environment production), each with its own launch
template (two of moto's stock AMIs, version 1 and 2; the group runs $Default = 1, every
fifth group runs $Latest = 2) and its own target group, two instances each. Faults:
  - group 0: one instance deregistered from its target group behind the group's back;
  - group 1: one instance marked Unhealthy in the group (SetInstanceHealth).
Usage: seed.py ENDPOINT N   (credentials and region from the environment)
"""
import sys

import boto3

endpoint, n = sys.argv[1], int(sys.argv[2])
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
ec2 = boto3.client("ec2", **kw)
asg = boto3.client("autoscaling", **kw)
elbv2 = boto3.client("elbv2", **kw)

imgs = ec2.describe_images(Filters=[{"Name": "state", "Values": ["available"]},
                                    {"Name": "architecture", "Values": ["x86_64"]}])["Images"]
amis = sorted(i["ImageId"] for i in imgs)[:2]
vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=c, AvailabilityZone=az)["Subnet"]["SubnetId"]
           for c, az in (("10.42.0.0/18", "us-east-1a"), ("10.42.64.0/18", "us-east-1b"))]

for i in range(n):
    svc = f"svc-{i:03d}"
    lt = ec2.create_launch_template(LaunchTemplateName=f"lt-{i:03d}",
                                    LaunchTemplateData={"ImageId": amis[0], "InstanceType": "t3.micro"})
    lt_id = lt["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=lt_id, LaunchTemplateData={"ImageId": amis[1]})
    tg = elbv2.create_target_group(Name=f"tg-{i:03d}", Protocol="HTTP", Port=80, VpcId=vpc,
                                   TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    name = f"{svc}-production"
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": lt_id, "Version": "$Latest" if i % 5 == 4 else "$Default"},
        MinSize=2, MaxSize=4, DesiredCapacity=2,
        VPCZoneIdentifier=",".join(subnets),
        TargetGroupARNs=[tg],
        HealthCheckType="EC2", HealthCheckGracePeriod=90,
        Tags=[{"Key": k, "Value": v, "ResourceId": name, "ResourceType": "auto-scaling-group",
               "PropagateAtLaunch": True} for k, v in (("Service", svc), ("Environment", "production"))])
    insts = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]
    if i == 0:
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": insts[0]["InstanceId"]}])
    if i == 1:
        asg.set_instance_health(InstanceId=insts[0]["InstanceId"], HealthStatus="Unhealthy",
                                ShouldRespectGracePeriod=False)
print(f"seeded {n} groups, {2 * n} instances, {n} target groups", file=sys.stderr)
