#!/bin/sh
# Install what is missing, build, and convert an export: the bundled sample
# (tests/data/sample.ccm) by default, or the SOURCEs given.
# usage: scripts/run.sh [SOURCE...]    (output in ${OUT:-/tmp/ccmail-sample})
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh
build=${BUILD_DIR:-build}
[ -d "$build" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
[ $# -gt 0 ] || set -- "$top/tests/data/sample.ccm"
out=${OUT:-/tmp/ccmail-sample}
rm -rf "$out"
rc=0
"$build/fs/ccmailfs" --check "$@" | tail -n 1
"$build/fs/ccmailfs" --extract "$out" "$@" || rc=$?
echo
find "$out" -maxdepth 3 | sort | head -n 30
echo "..."
echo "Open a message:  less \"\$(find $out -name '*.eml' | head -n 1)\""
echo "The report:      less $out/ccmailfs-report.txt"
[ "$rc" -le 1 ]
