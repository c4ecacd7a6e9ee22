#!/bin/bash
# Odd chunk sizes and offsets (t02-reads.py) on a generated export.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 400 --accounts 2 --seed 22 \
	--quirks all --quirk-rate 0.3 --avg-attach-kb 60 --out "$TMP/e.ccm" >/dev/null
"$CCMAILFS" --extract "$TMP/x" "$TMP/e.ccm" 2>/dev/null || true
mount_fs "$TMP/m" "$TMP/e.ccm"
python3 "$(dirname "$0")/t02-reads.py" "$TMP/m" "$TMP/x" || fail "reads"
umount_fs "$TMP/m"

# Opened by path on a fresh mount, nothing listed first: every file is
# looked up and rendered right after its LOOKUP (ahead_hint in fs/ahead.c),
# so its READ is answered from that copy.
mount_fs "$TMP/m" "$TMP/e.ccm"
n=0
while IFS= read -r rel; do
	cmp -s "$TMP/m/$rel" "$TMP/x/$rel" || fail "read by path: $rel"
	n=$((n + 1))
done < <(cd "$TMP/x" && find . -type f -name '*.eml' | sed 's|^\./||' | sort | awk 'NR % 5 == 0')
[ "$n" -ge 50 ] || fail "read by path: only $n files"
umount_fs "$TMP/m"

# Files larger than the daemon's 1 MiB read window (fs/ops.c): attachments
# of ~1.5 MB, and a 3 MB error entry, read forwards, backwards and across
# window edges.
python3 "$SRCDIR/scripts/gen-export.py" --messages 12 --accounts 1 --seed 23 \
	--quirks all --quirk-rate 0.3 --attach-rate 1 --avg-attach-kb 1500 \
	--out "$TMP/big.ccm" >/dev/null
head -c 3000000 /dev/urandom | tr -d 'M' >>"$TMP/big.ccm"
"$CCMAILFS" --extract "$TMP/xb" "$TMP/big.ccm" 2>/dev/null || true
[ "$(find "$TMP/xb" -type f -size +1100k | wc -l)" -ge 8 ] || fail "big files"
mount_fs "$TMP/mb" "$TMP/big.ccm"
python3 "$(dirname "$0")/t02-reads.py" "$TMP/mb" "$TMP/xb" || fail "big reads"
umount_fs "$TMP/mb"
finish
