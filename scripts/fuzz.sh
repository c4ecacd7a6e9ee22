#!/bin/sh
# Fuzz the parse-and-render path with libFuzzer (SPEC 7).
# usage: scripts/fuzz.sh [MINUTES] [libFuzzer flags...]   (default 10 minutes;
# later flags win, e.g. -timeout=5 on a loaded machine)
#
# Builds build-fuzz with clang and -Dfuzz=true, then runs fuzz_parser on the
# seed corpus with the dictionary.  New inputs go to build-fuzz/corpus (not
# into the repository, which keeps only seeds and fixed crashers); crashes,
# leaks and timeouts go to tests/fuzz/crashes/.  Environment:
#   FUZZ_JOBS  parallel fuzzing processes (default 1: leaves a core free
#              on a 2-core machine), FUZZ_NICE  nice level (default 10).
set -eu
cd "$(dirname "$0")/.."
minutes=${1:-10}
[ $# -gt 0 ] && shift
jobs=${FUZZ_JOBS:-1}
build="build-fuzz"

scripts/deps.sh clang libclang-rt-14-dev
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dfuzz=true >/dev/null
else
	CC=clang meson setup "$build" -Dfuzz=true >/dev/null
fi
meson compile -C "$build" tests/fuzz/fuzz_parser >/dev/null
mkdir -p "$build/corpus" tests/fuzz/crashes

# -timeout=1: an input that takes a second is a hang (SPEC 7: bounded time).
# -max_len: the largest seed; longer inputs mostly cost time, not coverage.
# With -jobs each worker logs to fuzz-N.log in the current directory.
log="$build/fuzz-run-$$.log"
set -- -max_total_time=$((minutes * 60)) -timeout=1 -rss_limit_mb=2048 \
	-max_len=65536 -dict=tests/fuzz/ccm.dict -print_final_stats=1 \
	-artifact_prefix=tests/fuzz/crashes/ "$@"
rc=0
if [ "$jobs" -gt 1 ]; then
	nice -n "${FUZZ_NICE:-10}" "$build/tests/fuzz/fuzz_parser" "$@" \
		-jobs="$jobs" -workers="$jobs" \
		"$build/corpus" tests/fuzz/corpus >"$log" 2>&1 || rc=$?
	cat fuzz-*.log >>"$log" 2>/dev/null && rm -f fuzz-*.log
else
	nice -n "${FUZZ_NICE:-10}" "$build/tests/fuzz/fuzz_parser" "$@" \
		"$build/corpus" tests/fuzz/corpus >"$log" 2>&1 || rc=$?
fi

# The last progress line carries the totals: "#N DONE cov: C ft: F ...".
grep -E '^#[0-9]+' "$log" | tail -n 1
grep -E '^stat::' "$log" || true
for f in tests/fuzz/crashes/*; do [ -e "$f" ] && echo "crash: $f"; done
[ "$rc" -eq 0 ] || echo "fuzz: fuzz_parser exited $rc; see $log" >&2
exit "$rc"
