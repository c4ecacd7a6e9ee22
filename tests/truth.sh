#!/bin/sh
# Ground-truth test (issue acceptance 3-5): generate realistic exports with
# every quirk, check 100 % byte coverage, extract, compare every message with
# the generator's truth and validate every .eml, and extract twice to prove
# determinism (names, bytes and mtimes).
# usage: truth.sh CCMAILFS SRCDIR [MESSAGES]
set -eu
ccmailfs=$1 src=$2 n=${3:-6000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen="python3 $src/scripts/gen-export.py"
fail=0

coverage() { # FILE-OF-REPORT
	grep -Eq '^coverage: ([0-9]+) of \1 bytes accounted for \(100\.00 %\)' "$1" ||
		{ echo "FAIL: coverage is not 100 %:"; tail -3 "$1"; fail=1; }
}

check_run() { # NAME OPTIONS SOURCE... (truth in $tmp/NAME.json)
	name=$1 opts=$2
	shift 2
	echo "== $name: $*"
	rc=0
	"$ccmailfs" --check $opts "$@" > "$tmp/$name.check" || rc=$?
	[ "$rc" -le 1 ] || { echo "FAIL: --check exit $rc"; fail=1; }
	coverage "$tmp/$name.check"
	rc=0
	"$ccmailfs" --extract "$tmp/$name.x1" $opts "$@" || rc=$?
	[ "$rc" -le 1 ] || { echo "FAIL: --extract exit $rc"; fail=1; return; }
	python3 "$src/tests/gt-check.py" $gtopts "$tmp/$name.x1" "$tmp/$name.json" ||
		fail=1
	"$ccmailfs" --extract "$tmp/$name.x2" $opts "$@" 2>/dev/null || true
	if ! diff -r "$tmp/$name.x1" "$tmp/$name.x2" >/dev/null; then
		echo "FAIL: two extractions differ"; fail=1
	fi
	(cd "$tmp/$name.x1" && find . -printf '%p %s %T@ %m\n' | sort) > "$tmp/l1"
	(cd "$tmp/$name.x2" && find . -printf '%p %s %T@ %m\n' | sort) > "$tmp/l2"
	if ! cmp -s "$tmp/l1" "$tmp/l2"; then
		echo "FAIL: names, sizes or mtimes differ between extractions"
		diff "$tmp/l1" "$tmp/l2" | head -5
		fail=1
	fi
	echo "$name: $(grep -c '' "$tmp/l1") paths, identical across extractions"
}

# One file, several accounts through markers, every quirk, junk regions.
$gen --messages "$n" --accounts 4 --folders 5 --seed 11 --quirks all \
	--quirk-rate 0.3 --junk-rate 0.02 --out "$tmp/one.ccm" \
	--truth "$tmp/one.json"
gtopts=""
check_run one "" "$tmp/one.ccm"

# A directory of files (one account per file), code page 437, D/M/Y dates.
mkdir "$tmp/dir"
$gen --messages 1500 --accounts 3 --folders 3 --seed 12 --quirks all \
	--quirk-rate 0.3 --codepage 437 --dateorder dmy --split "$tmp/dir" \
	--truth "$tmp/dir.json"
check_run dir "-o codepage=437,dateorder=dmy" "$tmp/dir"

# CRLF output.
$gen --messages 500 --accounts 2 --seed 13 --quirks all --quirk-rate 0.5 \
	--out "$tmp/crlf.ccm" --truth "$tmp/crlf.json"
gtopts="--crlf"
check_run crlf "-o crlf" "$tmp/crlf.ccm"

[ "$fail" -eq 0 ] && echo "truth: all checks passed"
exit "$fail"
