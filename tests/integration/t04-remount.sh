#!/bin/bash
# Inode numbers survive a remount; readdir lists everything the first time.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 1500 --accounts 3 --seed 24 \
	--quirks all --quirk-rate 0.2 --out "$TMP/e.ccm" >/dev/null
mount_fs "$TMP/m" "$TMP/e.ccm"
(cd "$TMP/m" && find . -printf '%i %p\n' | LC_ALL=C sort -k2) > "$TMP/i1"
n1=$(grep -c '' "$TMP/i1")
umount_fs "$TMP/m"
mount_fs "$TMP/m" "$TMP/e.ccm"
(cd "$TMP/m" && find . -printf '%i %p\n' | LC_ALL=C sort -k2) > "$TMP/i2"
umount_fs "$TMP/m"
if cmp -s "$TMP/i1" "$TMP/i2"; then
	ok "$n1 inode numbers identical after a remount"
else
	fail "inode numbers changed"; diff "$TMP/i1" "$TMP/i2" | head -5
fi
# inode numbers are unique
dups=$(cut -d' ' -f1 "$TMP/i1" | sort | uniq -d | head -3)
[ -z "$dups" ] && ok "inode numbers unique" || fail "duplicate inodes: $dups"
finish
