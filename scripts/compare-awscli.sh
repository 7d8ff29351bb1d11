#!/usr/bin/env bash
# The peer comparison of issue 12: adstage-ops `status --json` against an AWS CLI script that
# gathers the same facts, on a moto server seeded with N groups (one target group each, two
# instances each, faults injected: an instance deregistered from its target group, an
# instance the group marks Unhealthy). Prints, for both, the wall time, the requests by
# action (from moto's request recorder) and every fact on which they differ. Exit 0 when
# they agree on every fact.
#
# Usage: scripts/compare-awscli.sh N   (KEEP=1 keeps the work directory)
# Needs Go, jq, and a Python virtual environment with moto[server] 5.x and awscli (v1):
#   VENV=/path/to/venv (default .venv):  python3 -m venv .venv && .venv/bin/pip install 'moto[server]>=5,<6' awscli
# Not part of scripts/test.sh: it takes minutes at a few hundred groups.
set -euo pipefail

n=${1:?usage: scripts/compare-awscli.sh N}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=$(cd "${VENV:-.venv}" 2>/dev/null && pwd || echo "${VENV:-.venv}")
for tool in "$venv/bin/moto_server" "$venv/bin/aws" "$venv/bin/python"; do
	[ -x "$tool" ] || { echo "compare-awscli: $tool not found; install moto[server] and awscli into $venv (see the header)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "compare-awscli: jq not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/compare-awscli.XXXXXX")
moto_pid=''
cleanup() {
	if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${KEEP:-}" ]; then # keep the files (status.json, cli/, recordings) to look at
	trap 'kill "$moto_pid" 2>/dev/null || true; echo "compare-awscli: files kept in $work"' EXIT
fi

go build -o "$work/adstage-ops" ./cmd/adstage-ops

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
# moto writes its recording (moto_recording) into its working directory: run it in $work.
(cd "$work" && MOTO_ENABLE_RECORDING=True exec "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1) &
moto_pid=$!
for _ in $(seq 100); do curl -fs "$endpoint/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done

export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
	AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE
"$venv/bin/python" scripts/compare-awscli/seed.py "$endpoint" "$n"

recorder() { curl -fs -X "$1" "$endpoint/moto-api/recorder/$2"; }
now() { date +%s.%N; }

recorder POST reset-recording >/dev/null
recorder POST start-recording >/dev/null
t0=$(now)
set +e
"$work/adstage-ops" status --json >"$work/status.json" 2>"$work/status.err"
status_exit=$?
set -e
t1=$(now)
recorder GET download-recording >"$work/status.rec"

# Once more with AWS_MAX_ATTEMPTS=1: moto answers DescribeInstanceRefreshes with a 500 (not
# implemented), which the first run retries; this run shows the cost without those retries.
recorder POST reset-recording >/dev/null
recorder POST start-recording >/dev/null
t4=$(now)
AWS_MAX_ATTEMPTS=1 "$work/adstage-ops" status --json >"$work/status1.json" 2>/dev/null || true
t5=$(now)
recorder GET download-recording >"$work/status1.rec"

recorder POST reset-recording >/dev/null
recorder POST start-recording >/dev/null
t2=$(now)
PATH="$venv/bin:$PATH" scripts/compare-awscli/gather.sh "$work/cli"
t3=$(now)
recorder GET download-recording >"$work/cli.rec"
recorder POST stop-recording >/dev/null

if [ -s "$work/status.err" ]; then
	echo "--- adstage-ops status stderr (first lines):"
	head -n 5 "$work/status.err"
fi
"$venv/bin/python" scripts/compare-awscli/compare.py "$work/status.json" "$work/cli" "$work/status.rec" "$work/cli.rec" \
	"$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" "$status_exit" \
	"$work/status1.rec" "$(echo "$t5 - $t4" | bc)"
