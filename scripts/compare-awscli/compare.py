"""Compare `adstage-ops status --json` with the AWS CLI's facts, for scripts/compare-awscli.sh.

Usage: compare.py STATUS_JSON CLI_DIR STATUS_RECORDING CLI_RECORDING STATUS_SECONDS CLI_SECONDS STATUS_EXIT \
       STATUS1_RECORDING STATUS1_SECONDS
(STATUS1: the same status run with AWS_MAX_ATTEMPTS=1, requests and time only.)

Facts compared, per group: service, environment, min, desired, max, launch template name and
version, the AMI that version resolves to; per instance: group, zone, lifecycle, group health,
AMI; per instance and target group: the target state (an in-service instance the target
group does not list is "unused", as the console calls it). Requests are counted by action
from moto's recording (one JSON object per request).
"""
import base64
import collections
import json
import os
import sys
from urllib.parse import parse_qs, urlparse


def status_facts(path):
    doc = json.load(open(path))
    groups, insts, targets = {}, {}, {}
    for s in doc["services"]:
        for g in s["groups"]:
            groups[g["name"]] = (s["service"], s["env"], g["min"], g["desired"], g["max"],
                                 g.get("launch_template", ""), g.get("version", ""), g.get("image", ""))
            for i in g["instances"]:
                insts[i["id"]] = (g["name"], i["az"], i["lifecycle"], i["healthy"], i.get("image", ""))
                for t in i.get("targets") or []:
                    targets[(i["id"], t["balancer"])] = t["state"]
    return groups, insts, targets, doc


def cli_facts(d):
    asgs = json.load(open(os.path.join(d, "groups.json")))["AutoScalingGroups"]
    images = {}
    for r in json.load(open(os.path.join(d, "instances.json")))["Reservations"]:
        for i in r["Instances"]:
            images[i["InstanceId"]] = i.get("ImageId", "")
    versions = {}  # template id -> (default, latest, {number: ami})
    for f in os.listdir(os.path.join(d, "lt")):
        vs = json.load(open(os.path.join(d, "lt", f)))["LaunchTemplateVersions"]
        by = {v["VersionNumber"]: v["LaunchTemplateData"].get("ImageId", "") for v in vs}
        default = next((v["VersionNumber"] for v in vs if v.get("DefaultVersion")), None)
        versions[f[:-5]] = (default, max(by) if by else None, by)
    health = {}
    for f in os.listdir(os.path.join(d, "tg")):
        descs = json.load(open(os.path.join(d, "tg", f)))["TargetHealthDescriptions"]
        health[f[:-5]] = {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in descs}
    groups, insts, targets = {}, {}, {}
    for a in asgs:
        tags = {t["Key"]: t["Value"] for t in a.get("Tags", [])}
        lt = a.get("LaunchTemplate") or {}
        ver = lt.get("Version", "$Default")
        default, latest, by = versions.get(lt.get("LaunchTemplateId"), (None, None, {}))
        n = {"$Default": default, "$Latest": latest}.get(ver, int(ver) if ver.isdigit() else None)
        groups[a["AutoScalingGroupName"]] = (tags.get("Service", ""), tags.get("Environment", ""),
                                             a["MinSize"], a["DesiredCapacity"], a["MaxSize"],
                                             lt.get("LaunchTemplateName", ""), ver, by.get(n, ""))
        tg_names = [arn.split(":targetgroup/")[1].split("/")[0] for arn in a.get("TargetGroupARNs", [])]
        for i in a["Instances"]:
            iid = i["InstanceId"]
            insts[iid] = (a["AutoScalingGroupName"], i["AvailabilityZone"], i["LifecycleState"],
                          i["HealthStatus"] == "Healthy", images.get(iid, ""))
            for tg in tg_names:
                state = health.get(tg, {}).get(iid)
                if state is None and i["LifecycleState"] == "InService":
                    state = "unused"
                if state is not None:
                    targets[(iid, tg)] = state
    return groups, insts, targets


def records(path):
    """The recording's requests. moto appends one JSON object a line, but requests arriving
    at once can land on one line; a fragment that does not parse is counted apart."""
    text, dec, out, bad, i = open(path).read(), json.JSONDecoder(), [], 0, 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        try:
            r, i = dec.raw_decode(text, i)
            out.append(r)
        except json.JSONDecodeError:
            bad += 1
            j = text.find('{"', i + 1)
            i = len(text) if j < 0 else j
    return out, bad


def actions(path):
    counts = collections.Counter()
    rs, bad = records(path)
    for r in rs:
        body = r.get("body") or ""
        if r.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        target = next((v for k, v in (r.get("headers") or {}).items() if k.lower() == "x-amz-target"), "")
        act = target.rsplit(".", 1)[-1] if target else (parse_qs(body).get("Action") or
                                                        parse_qs(urlparse(r.get("url", "")).query).get("Action") or
                                                        [r.get("method", "") + " " + urlparse(r.get("url", "")).path])[0]
        counts[act] += 1
    if bad:
        counts["(unparsed recording fragments)"] = bad
    return counts


def main():
    st_path, cli_dir, st_rec, cli_rec, st_sec, cli_sec, st_exit, st1_rec, st1_sec = sys.argv[1:10]
    sg, si, stt, doc = status_facts(st_path)
    cg, ci, ct = cli_facts(cli_dir)
    fields = {"group": ("service", "env", "min", "desired", "max", "launch_template", "version", "image"),
              "instance": ("group", "az", "lifecycle", "healthy", "image"), "target": ("state",)}
    diffs, by_field = [], collections.Counter()
    for kind, a, b in (("group", sg, cg), ("instance", si, ci), ("target", stt, ct)):
        for k in sorted(set(a) | set(b), key=str):
            x, y = a.get(k), b.get(k)
            if x == y:
                continue
            if x is None or y is None:
                by_field[f"{kind} {'missing in adstage-ops' if x is None else 'missing in the AWS CLI facts'}"] += 1
            else:
                xs, ys = (x, y) if isinstance(x, tuple) else ((x,), (y,))
                for f, u, v in zip(fields[kind], xs, ys):
                    if u != v:
                        by_field[f"{kind} {f}"] += 1
            diffs.append(f"{kind} {k}: adstage-ops {x if x is not None else 'absent'} | aws cli {y if y is not None else 'absent'}")
    n_facts = len(cg) * 8 + len(ci) * 5 + len(ct)
    sa, ca, s1 = actions(st_rec), actions(cli_rec), actions(st1_rec)
    faults = sorted(f"{k[0]}@{k[1]}={v}" for k, v in ct.items() if v != "healthy") + \
        sorted(f"{k} group-health=Unhealthy" for k, v in ci.items() if not v[3])
    print(f"fleet: {len(cg)} groups, {len(ci)} instances, {len(ct)} targets; faults seen by the AWS CLI: {', '.join(faults) or 'none'}")
    print(f"{'':32}{'adstage-ops status':>20}{'(max attempts 1)':>18}{'AWS CLI script':>16}")
    print(f"{'wall time (s)':32}{float(st_sec):>20.2f}{float(st1_sec):>18.2f}{float(cli_sec):>16.2f}")
    print(f"{'requests':32}{sum(sa.values()):>20}{sum(s1.values()):>18}{sum(ca.values()):>16}")
    for act in sorted(set(sa) | set(ca) | set(s1)):
        print(f"{'  ' + act:32}{sa.get(act, 0):>20}{s1.get(act, 0):>18}{ca.get(act, 0):>16}")
    if sa.get("DescribeInstanceRefreshes"):
        print("note: moto does not implement DescribeInstanceRefreshes (it answers 500): adstage-ops retries it "
              "and names each group's rollouts unread, so status exits 2; the AWS CLI script does not read rollouts")
    print(f"status exit code {st_exit}, unread {doc.get('unread', 0)}, problems {len(doc.get('problems') or [])}, "
          f"degraded services {sum(1 for s in doc['services'] if s.get('degraded'))}, "
          f"unknown services {sum(1 for s in doc['services'] if s.get('unknown'))}")
    print(f"facts compared: {n_facts} (groups x 8, instances x 5, targets x 1); differences: {len(diffs)}")
    for f, c in sorted(by_field.items()):
        print(f"  {f}: {c}")
    for d in diffs[:6]:
        print("  e.g. " + d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
