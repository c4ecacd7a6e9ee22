#!/bin/bash
# The persistent index (issue 6): a remount loads it and serves the same
# tree; a changed export, other options, a corrupt or foreign index file
# each make a rebuild that the log explains; norebuild fails instead;
# noindex keeps none; a foreign file is never overwritten.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 1500 --accounts 3 --seed 32 \
	--quirks all --quirk-rate 0.2 --junk-rate 0.01 --out "$TMP/e.ccm" 2>/dev/null
export XDG_CACHE_HOME="$TMP/cache"
idx="$TMP/.e.ccm.ccmailfs-index"
mount_log() { # LOGNAME ARGS...: mount, compare with the extract, unmount
	name=$1
	shift
	# A fresh extract with the same options: touching the export moves
	# the times of undated messages and directories, on both sides.
	rm -rf "$TMP/x"
	"$CCMAILFS" --extract "$TMP/x" "$@" "$TMP/e.ccm" 2>/dev/null || true
	: > "$TMP/daemon.log"
	mount_fs "$TMP/m" "$@" "$TMP/e.ccm"
	cp "$TMP/daemon.log" "$TMP/$name.log"
	if same_tree "$TMP/x" "$TMP/m"; then
		ok "$name: the tree equals the extract"
	else
		fail "$name: the tree differs from the extract"
	fi
	umount_fs "$TMP/m"
}
expect_log() { # LOGNAME PATTERN WHAT
	if grep -q "$2" "$TMP/$1.log"; then ok "$1: $3"; else
		fail "$1: $3 (log: $(cat "$TMP/$1.log"))"; fi
}

mount_log first
expect_log first "building the index: there is no index yet" "built, says why"
[ -f "$idx" ] && ok "index written beside the export" || fail "no index file"
mount_log second
expect_log second "index loaded from $idx" "loaded, no scan"
# The same export by another name (relative, through a symlink): the same
# index, not a rebuild.
ln -s "$TMP/e.ccm" "$TMP/link.ccm"
: > "$TMP/daemon.log"
bin=$(realpath "$CCMAILFS")	# meson passes it relative to the build dir
(cd "$TMP" && "$bin" -f -o "index=$idx" link.ccm m 2>>"$TMP/daemon.log") &
PIDS="$PIDS $!"
MOUNTS="$MOUNTS $TMP/m"
LAST_PID=$!
i=0
while ! mountpoint -q "$TMP/m" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if mountpoint -q "$TMP/m"; then
	ls "$TMP/m" >/dev/null
	umount_fs "$TMP/m"
else
	fail "other-name: no mount ($(cat "$TMP/daemon.log"))"
fi
cp "$TMP/daemon.log" "$TMP/other-name.log"
expect_log other-name "index loaded from $idx" "same export by a relative symlink: loaded"

touch -d '2001-01-01' "$TMP/e.ccm"
mount_log touched
expect_log touched "building the index: it was made for .*source" "rebuilt after the export changed"

mount_log options -o codepage=437
expect_log options "building the index: .*options" "rebuilt for other options"
mount_log back
expect_log back "building the index" "rebuilt for the original options"

# corrupt the index body: detected, ignored, rebuilt
size=$(stat -c %s "$idx")
printf 'garbage!' | dd of="$idx" bs=1 seek=$((size / 2)) conv=notrunc status=none
mount_log corrupt
expect_log corrupt "damaged" "a corrupt index is detected and not trusted"

# truncated index
truncate -s $((size / 3)) "$idx"
mount_log truncated
expect_log truncated "building the index: .*damaged" "a truncated index is rejected"

# norebuild: fails with a stale index, works with a valid one
touch -d '2002-02-02' "$TMP/e.ccm"
rc=0
"$CCMAILFS" -f -o norebuild "$TMP/e.ccm" "$TMP/m" 2>"$TMP/nr.err" || rc=$?
if [ "$rc" -ne 0 ] && ! mountpoint -q "$TMP/m" && grep -q "norebuild" "$TMP/nr.err"; then
	ok "norebuild refuses a stale index: $(head -1 "$TMP/nr.err")"
else
	fail "norebuild did not refuse (rc $rc)"
	if mountpoint -q "$TMP/m"; then fusermount3 -u "$TMP/m"; fi
fi
mount_log rebuilt
mount_log norebuild-ok -o norebuild
expect_log norebuild-ok "index loaded" "norebuild mounts with a valid index"

# noindex: neither loads nor writes
rm -f "$idx"
mount_log noindex -o noindex
[ ! -f "$idx" ] && ! grep -q "index" "$TMP/noindex.log" &&
	ok "noindex kept no index" || fail "noindex wrote or loaded an index"

# a foreign file given as index=PATH is neither trusted nor overwritten
printf 'precious user data\n' > "$TMP/foreign"
mount_log foreign -o "index=$TMP/foreign"
expect_log foreign "not a ccmailfs index" "a foreign file is not trusted"
[ "$(cat "$TMP/foreign")" = "precious user data" ] &&
	ok "the foreign file was not overwritten" || fail "foreign file overwritten"

# read-only directory beside the export: the cache directory is used
chmod 0555 "$TMP"
mount_log readonly-dir
chmod 0755 "$TMP"
if [ "$(id -u)" = 0 ]; then
	ok "(root writes anyway; cache fallback not testable as root)"
fi
finish
