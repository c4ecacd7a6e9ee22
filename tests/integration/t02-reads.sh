#!/bin/bash
# Odd chunk sizes and offsets (t02-reads.py) on a generated export.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 400 --accounts 2 --seed 22 \
	--quirks all --quirk-rate 0.3 --avg-attach-kb 60 --out "$TMP/e.ccm" >/dev/null
"$CCMAILFS" --extract "$TMP/x" "$TMP/e.ccm" 2>/dev/null || true
mount_fs "$TMP/m" "$TMP/e.ccm"
python3 "$(dirname "$0")/t02-reads.py" "$TMP/m" "$TMP/x" || fail "reads"
umount_fs "$TMP/m"
finish
