#!/usr/bin/env bash
# The whole test suite, as the README's "run the tests" command and CI (.ci/run) run it:
#   1. moto 5.x (PyPI) in a virtual environment under .venv, started on 127.0.0.1 on a free
#      port with request recording on, for the integration tests (MOTO_URL);
#   2. go vet and go test over every package (with CI set, a missing moto fails the tests).
# Test binaries are compiled in parallel first; the tests then run one package at a time,
# since the read-only key sweep resets moto, which the integration tests share.
# .ci/run adds the slower release checks after it (race detector, goreleaser check).
# Needs Go (go.mod's version) and Python 3 with venv. Stops moto on exit, however it exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

MOTO_REQUIREMENT='moto[server]>=5,<6'
MOTO_START_TIMEOUT=60        # seconds

step_start=$SECONDS
step() {
	echo "==> $* (t+$((SECONDS - step_start))s)"
}

# --- moto ---------------------------------------------------------------------------------
step "moto: virtual environment in .venv"
if [ ! -x .venv/bin/python ]; then
	python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "$MOTO_REQUIREMENT"
.venv/bin/python -c 'import moto; print("moto", moto.__version__)'

work=$(mktemp -d "${TMPDIR:-/tmp}/adstage-ops-test.XXXXXX")
moto_pid=''
cleanup() {
	local rc=$?
	if [ -n "$moto_pid" ] && kill -0 "$moto_pid" 2>/dev/null; then
		kill "$moto_pid" 2>/dev/null || true
		wait "$moto_pid" 2>/dev/null || true
	fi
	if [ "$rc" -ne 0 ] && [ -s "$work/moto.log" ]; then
		echo "--- last lines of the moto log:" >&2
		tail -n 20 "$work/moto.log" >&2 || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
step "moto: starting moto_server on 127.0.0.1:$port"
MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$work/moto_recording" \
	.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!

export MOTO_URL="http://127.0.0.1:$port"
deadline=$((SECONDS + MOTO_START_TIMEOUT))
until .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2)' "$MOTO_URL" 2>/dev/null; do
	if ! kill -0 "$moto_pid" 2>/dev/null; then
		echo "moto_server exited before answering" >&2
		exit 1
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "moto_server did not answer on $MOTO_URL within ${MOTO_START_TIMEOUT}s" >&2
		exit 1
	fi
	sleep 0.5
done
step "moto: answering on $MOTO_URL"

# --- Go -----------------------------------------------------------------------------------
step "go vet ./..."
go vet ./...

# Compile every test binary with all cores first (-run '^$' runs none), so that the serial
# run below only links and runs.
step "go test: compile"
go test -count=1 -run '^$' ./... >/dev/null

# -p 1: one test binary at a time. The packages share this one moto server, and some tests
# reset moto or its recorder (global state); side by side, one package's reset would wipe
# another's fixtures or recording.
step "go test -count=1 -p 1 ./..."
go test -count=1 -p 1 ./...

step "all passed"
