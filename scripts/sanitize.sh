#!/bin/sh
# The robustness runs of SPEC 7, after scripts/test.sh (which .ci/run calls
# first and whose build directory "build" this reuses):
#  1. build-asan: everything built with ASan+UBSan, any report fatal, and the
#     unit, golden, fuzz-regress, hostile and integration suites run on it
#     (the integration tests mount the ASan-built daemon for real);
#  2. valgrind over the unit tests and the fuzz corpus replay in "build", for
#     what ASan cannot see: reads of uninitialised memory.
# Prints each run's "N passed, N failed" line; exits non-zero on any failure.
# usage: scripts/sanitize.sh
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
asan="build-asan"
build=${BUILD_DIR:-build}

# -fno-sanitize-recover: UBSan otherwise prints and carries on, and the test
# passes.  b_lundef=false: the sanitizer runtimes are linked by the compiler
# driver, not resolved at link time of the libraries.
set -- -Db_sanitize=address,undefined -Db_lundef=false \
	-Dc_args=-fno-sanitize-recover=all
if [ -d "$asan" ]; then
	meson setup --reconfigure "$asan" "$@" >/dev/null
else
	meson setup "$asan" "$@" >/dev/null
fi
meson compile -C "$asan" >/dev/null
# Reports go to files as well as failing the test: the mounted daemon runs
# detached, with stderr on /dev/null.  A report there kills the daemon and
# fails its test; leaks at its exit only show in these files.
logs=$PWD/$asan/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
rc=0
ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:log_path=$logs/asan:suppressions=$PWD/scripts/asan.supp \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan \
	meson test -C "$asan" --print-errorlogs --num-processes 2 \
	--suite unit --suite golden --suite fuzz-regress --suite hostile \
	--suite integration || rc=$?
for f in "$logs"/*; do
	[ -f "$f" ] || continue
	echo "--- $f"
	cat "$f"
	# Anything but a leak at exit is a bug even if no test noticed it.
	grep -q 'ERROR: AddressSanitizer\|runtime error' "$f" && rc=1
done
echo 'sanitize: ASan+UBSan build:'
python3 scripts/test-summary.py "$asan/meson-logs/testlog.json" || rc=1

# valgrind: native unit tests and the corpus replay.  eml-parsers is left
# out: it is python3 driving test_eml, and valgrind would trace python.
# With a wrapper, meson names the log testlog-valgrind.json, so the normal
# run's testlog.json is kept for .ci/run's total.
[ -d "$build" ] || meson setup "$build" >/dev/null
meson compile -C "$build" >/dev/null
vtests=$(meson test -C "$build" --list --suite unit --suite fuzz-regress 2>/dev/null |
	sed -n 's/^ccmailfs:[a-z-]* \/ //p' | grep -v '^eml-parsers$')
# shellcheck disable=SC2086
meson test -C "$build" --print-errorlogs --timeout-multiplier 10 \
	--wrapper "valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$PWD/scripts/valgrind.supp" \
	$vtests || rc=$?
echo 'sanitize: valgrind:'
python3 scripts/test-summary.py "$build/meson-logs/testlog-valgrind.json" || rc=1
exit $rc
