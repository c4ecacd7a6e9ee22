#!/bin/bash
# Issue acceptance at 20,000 messages: find | wc -l, du -sb, tar | sha256sum,
# cp -a and rsync -a of the mount give what they give on the --extract tree;
# a repeated rsync -a transfers nothing.  (CCM_SCALE=N for another size.)
. "$(dirname "$0")/lib.sh"
n=${CCM_SCALE:-20000}
python3 "$SRCDIR/scripts/gen-export.py" --messages "$n" --accounts 4 --seed 25 \
	--quirks all --quirk-rate 0.2 --junk-rate 0.01 --out "$TMP/e.ccm" 2>/dev/null
"$CCMAILFS" --extract "$TMP/x" "$TMP/e.ccm" 2>/dev/null || true
mount_fs "$TMP/m" "$TMP/e.ccm"
for d in x m; do
	(cd "$TMP/$d" && find . -type f | wc -l) > "$TMP/$d.count"
	(cd "$TMP/$d" && find . | wc -l) > "$TMP/$d.all"
	# du -sb of the files (a directory's own size is filesystem-specific,
	# see lib.sh); tar in name order (readdir order is filesystem-specific).
	(cd "$TMP/$d" && find . -type f -print0 | du -cb --files0-from=- |
		tail -n 1 | cut -f1) > "$TMP/$d.du"
	(cd "$TMP/$d" && tar --sort=name -cf - . | sha256sum) > "$TMP/$d.tar"
done
for k in count all du tar; do
	if cmp -s "$TMP/x.$k" "$TMP/m.$k"; then
		ok "$k equal: $(cat "$TMP/m.$k")"
	else
		fail "$k differs: extract $(cat "$TMP/x.$k") mount $(cat "$TMP/m.$k")"
	fi
done
cp -a "$TMP/m" "$TMP/cp"
diff -r "$TMP/x" "$TMP/cp" >/dev/null && ok "cp -a copy equals the extract" ||
	fail "cp -a copy differs"
[ "$(listing "$TMP/x")" = "$(listing "$TMP/cp")" ] &&
	ok "cp -a kept names, sizes and mtimes" || fail "cp -a lost metadata"
rsync -a "$TMP/m/" "$TMP/r/"
diff -r "$TMP/x" "$TMP/r" >/dev/null && ok "rsync -a copy equals the extract" ||
	fail "rsync copy differs"
again=$(rsync -a --stats "$TMP/m/" "$TMP/r/" |
	sed -n 's/^Number of regular files transferred: //p')
[ "$again" = 0 ] && ok "second rsync -a transferred 0 files" ||
	fail "second rsync -a transferred $again files"
umount_fs "$TMP/m"
finish
