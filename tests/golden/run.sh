#!/bin/sh
# Golden test: dump a fixture and compare with the expected file.
# usage: run.sh CCM_DUMP FIXTURE EXPECTED [-o OPTS]
# The fixture is copied and given a fixed mtime, because messages without a
# valid date take the export file's time (SPEC 2).
set -eu
dump=$1 fixture=$2 expected=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$fixture" "$tmp/"
f="$tmp/$(basename "$fixture")"
touch -d '2001-02-03 04:05:06 UTC' "$f"
"$dump" "$@" "$f" > "$tmp/out" || { echo "ccm_dump failed: $?"; exit 1; }
if [ "${GOLDEN_UPDATE:-}" = 1 ]; then
	cp "$tmp/out" "$expected"
	echo "updated $expected"
	exit 0
fi
diff -u "$expected" "$tmp/out"
