#!/bin/bash
# Sixteen parallel readers of the whole tree get the checksums one reader gets.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 1500 --accounts 3 --seed 26 \
	--quirks all --quirk-rate 0.2 --out "$TMP/e.ccm" >/dev/null
mount_fs "$TMP/m" "$TMP/e.ccm"
sums() { (cd "$TMP/m" && find . -type f -print0 | LC_ALL=C sort -z |
	xargs -0 sha256sum) ; }
sums > "$TMP/one"
readers=""
for i in $(seq 1 16); do
	# each reader walks in a different order
	(cd "$TMP/m" && find . -type f -print0 | shuf -z |
		xargs -0 sha256sum | LC_ALL=C sort -k2) > "$TMP/p$i" &
	readers="$readers $!"
done
# Only the readers: a bare `wait` would wait for the mount daemon too.
wait $readers
LC_ALL=C sort -k2 "$TMP/one" > "$TMP/one.s"
bad=0
for i in $(seq 1 16); do
	cmp -s "$TMP/one.s" "$TMP/p$i" || bad=$((bad + 1))
done
[ "$bad" = 0 ] && ok "16 parallel readers: identical checksums ($(grep -c '' "$TMP/one") files)" ||
	fail "$bad of 16 parallel readers got different bytes"
umount_fs "$TMP/m"
finish
