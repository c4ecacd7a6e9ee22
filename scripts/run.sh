#!/bin/sh
# Install what is missing, build, and mount an export read-only: the bundled
# sample (tests/data/sample.ccm) by default, or the SOURCEs given.
# usage: scripts/run.sh [SOURCE...]   (mount point ${MNT:-/tmp/ccmail-sample})
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
scripts/deps.sh
build=${BUILD_DIR:-build}
[ -d "$build" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
[ $# -gt 0 ] || set -- "$top/tests/data/sample.ccm"
mnt=${MNT:-/tmp/ccmail-sample}
if mountpoint -q "$mnt"; then
	fusermount3 -u "$mnt"
fi
mkdir -p "$mnt"
"$build/fs/ccmailfs" "$@" "$mnt"
"$build/fs/ccmailfs" --check "$@" | tail -n 1
echo
ls -l "$mnt"
echo
echo "Mounted on $mnt.  Try:"
echo "  ls -l $mnt/*/Inbox"
echo "  less $mnt/ccmailfs-report.txt"
echo "  mutt -f \"\$(find $mnt -name '*.eml' | head -n 1)\""
echo "Unmount with:  fusermount3 -u $mnt"
