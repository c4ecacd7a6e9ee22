#!/bin/sh
# Install what is missing, build, and run every test suite; the last line is
# "N passed, N failed".  This is what .ci/run calls.
# usage: scripts/test.sh [meson test arguments...]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${BUILD_DIR:-build}
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" >/dev/null
else
	meson setup "$build" >/dev/null
fi
meson compile -C "$build"
rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?
python3 scripts/test-summary.py "$build/meson-logs/testlog.json" || rc=1
exit $rc
