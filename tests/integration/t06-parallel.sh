#!/bin/bash
# Sixteen parallel readers of the whole tree get the checksums one reader gets.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 1500 --accounts 3 --seed 26 \
	--quirks all --quirk-rate 0.2 --out "$TMP/e.ccm" >/dev/null
mount_fs "$TMP/m" "$TMP/e.ccm"
sums() { (cd "$TMP/m" && find . -type f -print0 | LC_ALL=C sort -z |
	xargs -0 sha256sum) ; }
sums > "$TMP/one"
# parallel N WANT LABEL: N readers of the mount, each in its own random
# order, must all get the checksums in WANT (sha256sum lines).
parallel() {
	n=$1 want=$2 label=$3
	readers=""
	for i in $(seq 1 "$n"); do
		(cd "$TMP/m" && find . -type f -print0 | shuf -z |
			xargs -0 sha256sum | LC_ALL=C sort -k2) > "$TMP/p$i" &
		readers="$readers $!"
	done
	# Only the readers: a bare `wait` would wait for the mount daemon too.
	wait $readers
	LC_ALL=C sort -k2 "$want" > "$TMP/want.s"
	bad=0
	for i in $(seq 1 "$n"); do
		cmp -s "$TMP/want.s" "$TMP/p$i" || bad=$((bad + 1))
	done
	[ "$bad" = 0 ] && ok "$label: $n parallel readers, identical checksums ($(grep -c '' "$want") files)" ||
		fail "$label: $bad of $n parallel readers got different bytes"
}
parallel 16 "$TMP/one" "whole tree"
umount_fs "$TMP/m"

# The same bytes whichever way a file is served: a sequential tar (files
# rendered ahead by the receiving thread, fs/ahead.c), with polling off
# (nothing rendered ahead), and through open/release (kernels without
# NO_OPEN) with large messages, whose opens and reads go to worker threads.
python3 "$SRCDIR/scripts/gen-export.py" --messages 40 --accounts 2 --seed 27 \
	--attach-rate 1 --avg-attach-kb 500 --quirks none --out "$TMP/big.ccm" >/dev/null
for e in e big; do
	# Exit 1: the quirks were reported as problems; the tree is written.
	rc=0
	"$CCMAILFS" --extract "$TMP/x-$e" "$TMP/$e.ccm" 2>/dev/null || rc=$?
	[ "$rc" -le 1 ] || fail "--extract $e.ccm: exit $rc"
	(cd "$TMP/x-$e" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum) > "$TMP/x-$e.sums"
done
large=$(find "$TMP/x-big" -type f -size +256k | wc -l)
[ "$large" -ge 20 ] || fail "the large-message export has only $large files over 256 KiB"
check_tar() { # LABEL EXPORT; mount options in MOPTS
	label=$1 e=$2
	mkdir -p "$TMP/t"
	rm -rf "${TMP:?}/t"/*
	mount_fs "$TMP/m" "$TMP/$e.ccm" $MOPTS
	(cd "$TMP/m" && tar cf - .) | (cd "$TMP/t" && tar xf - --warning=no-timestamp)
	(cd "$TMP/t" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum) > "$TMP/t.sums"
	umount_fs "$TMP/m"
	if cmp -s "$TMP/x-$e.sums" "$TMP/t.sums"; then
		ok "$label: tar of the mount = --extract ($(grep -c '' "$TMP/t.sums") files)"
	else
		fail "$label: tar of the mount differs from --extract"
	fi
}
MOPTS="" check_tar "default (polling, render-ahead)" e
MOPTS="-o spin=0" check_tar "spin=0" e
MOPTS="" check_tar "large messages" big
export CCMAILFS_TEST_OPEN=1
MOPTS="" check_tar "open/release path, large messages" big
mount_fs "$TMP/m" "$TMP/big.ccm"
parallel 8 "$TMP/x-big.sums" "open/release path, large messages"
umount_fs "$TMP/m"
unset CCMAILFS_TEST_OPEN
finish
