#!/usr/bin/env bash
# The AWS CLI side of scripts/compare-awscli.sh: gathers the facts `adstage-ops status --json`
# reports, the way an operator's script would, into directory OUT:
#   groups.json       every autoscaling group (describe-auto-scaling-groups, 100 a page)
#   instances.json    every instance, for its AMI and launch time (describe-instances)
#   lt/ID.json        each launch template's $Default and $Latest versions, for the AMIs
#   tg/N.json         each target group's target health
# The group listing is read once (jq picks the templates and target groups out of it); the
# per-template and per-target-group calls run 8 at a time (xargs -P 8).
# Usage: gather.sh OUT   (AWS_ENDPOINT_URL, credentials and region from the environment)
set -euo pipefail
out=$1
mkdir -p "$out/lt" "$out/tg"
aws autoscaling describe-auto-scaling-groups --page-size 100 --output json >"$out/groups.json"
aws ec2 describe-instances --page-size 1000 --output json >"$out/instances.json"
jq -r '.AutoScalingGroups[].LaunchTemplate.LaunchTemplateId // empty' "$out/groups.json" | sort -u |
	xargs -P 8 -I{} sh -c "aws ec2 describe-launch-template-versions --launch-template-id {} --versions '\$Default' '\$Latest' --output json >'$out/lt/{}.json'"
jq -r '.AutoScalingGroups[].TargetGroupARNs[]' "$out/groups.json" | sort -u |
	while read -r arn; do n=${arn#*:targetgroup/}; echo "${n%%/*} $arn"; done |
	xargs -P 8 -L1 sh -c "aws elbv2 describe-target-health --target-group-arn \"\$1\" --output json >'$out/tg/'\$0'.json'"
