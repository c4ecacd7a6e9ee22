#!/bin/bash
# Odd chunk sizes and offsets (t02-reads.py) on a generated export.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 400 --accounts 2 --seed 22 \
	--quirks all --quirk-rate 0.3 --avg-attach-kb 60 --out "$TMP/e.ccm" >/dev/null
"$CCMAILFS" --extract "$TMP/x" "$TMP/e.ccm" 2>/dev/null || true
mount_fs "$TMP/m" "$TMP/e.ccm"
python3 "$(dirname "$0")/t02-reads.py" "$TMP/m" "$TMP/x" || fail "reads"
umount_fs "$TMP/m"

# Read-ahead (fs/ahead.c): after two files of a directory are read in a
# row, the following ones are pushed into the page cache, with the same
# bytes; a directory nobody read gets nothing.
mount_fs "$TMP/m" "$TMP/e.ccm"
dir=$(cd "$TMP/m" && for d in */*/; do
	[ "$(ls -U "$d" | wc -l)" -ge 12 ] && { echo "${d%/}"; break; }
done)
other=$(cd "$TMP/m" && for d in */*/; do
	[ "${d%/}" != "$dir" ] && [ "$(ls -U "$d" | wc -l)" -ge 3 ] &&
		{ echo "${d%/}"; break; }
done)
[ -n "$dir" ] && [ -n "$other" ] || fail "read-ahead: no directories"
mapfile -t files < <(ls -U "$TMP/m/$dir")
cat "$TMP/m/$dir/${files[0]}" "$TMP/m/$dir/${files[1]}" >/dev/null
cached() { fincore --noheadings --output PAGES "$1" | tr -d ' '; }
i=0
while [ "$(cached "$TMP/m/$dir/${files[11]}")" = 0 ] && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
n=0 want=0
for k in 2 3 4 5 6 7 8 9 10 11; do
	# Larger files are left to the kernel's own readahead.
	[ "$(stat -c %s "$TMP/m/$dir/${files[$k]}")" -le 262144 ] || continue
	want=$((want + 1))
	[ "$(cached "$TMP/m/$dir/${files[$k]}")" -gt 0 ] && n=$((n + 1))
done
[ "$want" -ge 5 ] && [ "$n" = "$want" ] &&
	ok "read-ahead: $n following files cached" ||
	fail "read-ahead: $n of $want following files cached"
m=0
while IFS= read -r f; do
	[ "$(cached "$TMP/m/$other/$f")" = 0 ] || m=$((m + 1))
done < <(ls -U "$TMP/m/$other" | head -3)
[ "$m" = 0 ] && ok "read-ahead: an unread directory stays uncached" ||
	fail "read-ahead: $m files of an unread directory cached"
for k in 2 3 4 5 6 7 8 9 10 11; do
	cmp -s "$TMP/m/$dir/${files[$k]}" "$TMP/x/$dir/${files[$k]}" ||
		fail "read-ahead: ${files[$k]} differs"
done
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
