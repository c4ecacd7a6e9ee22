#!/bin/bash
# A first mount lists its root while the scan is still running (issue 6,
# target 1a): the root's names, inode numbers and attributes are already
# those of the whole tree, every other request waits for the tree and then
# gets the full answer, and an unmount during the scan still ends cleanly
# and leaves the index for the next mount.  The scan is slowed down on
# purpose by a test hook (CCMAILFS_TEST_BUILD_DELAY_MS).
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 800 --accounts 4 --seed 13 \
	--quirks all --quirk-rate 0.2 --junk-rate 0.01 --out "$TMP/e.ccm" 2>/dev/null
export XDG_CACHE_HOME="$TMP/cache"

# d_ino of every root entry straight from getdents (no stat, no LOOKUP).
dents() { python3 -c '
import os, sys
for e in sorted(os.scandir(sys.argv[1]), key=lambda e: e.name):
    print(e.name, e.inode(), "d" if e.is_dir(follow_symlinks=False) else "f")
' "$1"; }
# ino, links, mode and times of the root, and of every entry by stat
# (LOOKUP: the whole tree's answer).
stats() { (cd "$1" && stat -c '%n %i %h %f %Y %Z' . * | LC_ALL=C sort); }

early() { # NAME ARGS...: the checks, for one set of mount options
	name=$1
	shift
	rm -rf "$TMP/x"
	"$CCMAILFS" --extract "$TMP/x" "$@" "$TMP/e.ccm" 2>/dev/null || true
	: > "$TMP/daemon.log"
	CCMAILFS_TEST_BUILD_DELAY_MS=2500 mount_fs "$TMP/m" -o noindex "$@" "$TMP/e.ccm"
	t0=$(date +%s%N)
	root=$(ls "$TMP/m")
	d_early=$(dents "$TMP/m")
	s_root=$(stat -c '%i %h %f %Y' "$TMP/m")
	t1=$(date +%s%N)
	built=$(grep -c 'messages, .* error entries' "$TMP/daemon.log" || true)
	if [ "$built" = 0 ] && [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]; then
		ok "$name: the root lists while the scan runs ($(( (t1 - t0) / 1000000 )) ms)"
	else
		fail "$name: the root waited for the scan ($(( (t1 - t0) / 1000000 )) ms, log: $(cat "$TMP/daemon.log"))"
	fi
	[ "$root" = "$(ls "$TMP/x")" ] && ok "$name: early root names are the extract's" ||
		fail "$name: early root: $root, extract: $(ls "$TMP/x")"
	# A folder asked for now waits for the scan, then lists in full.
	acc=$(ls "$TMP/x" | grep -v ccmailfs-report.txt | head -1)
	ls "$TMP/m/$acc" > "$TMP/acc.ls" &
	lspid=$!
	sleep 0.5
	if kill -0 "$lspid" 2>/dev/null; then ok "$name: an account waits for the scan"; else
		fail "$name: an account listed before the scan ended"; fi
	wait "$lspid" || fail "$name: ls of an account failed"
	[ "$(cat "$TMP/acc.ls")" = "$(ls "$TMP/x/$acc")" ] &&
		ok "$name: the account then lists in full" || fail "$name: account listing differs"
	grep -q 'messages, .* error entries' "$TMP/daemon.log" &&
		ok "$name: the daemon logs the counts once built" || fail "$name: no count line"
	# The names and numbers the kernel kept from the early listing are
	# the whole tree's; so are the root's attributes.
	[ "$d_early" = "$(dents "$TMP/m")" ] || fail "$name: cached listing changed"
	if [ "$(stat -c '%i %h %f %Y' "$TMP/m")" = "$s_root" ]; then
		ok "$name: root attributes were exact early"; else
		fail "$name: root attributes changed: $s_root -> $(stat -c '%i %h %f %Y' "$TMP/m")"; fi
	bad=0
	while read -r n ino t; do
		[ "$(stat -c %i "$TMP/m/$n")" = "$ino" ] || { bad=1; echo "  $n: d_ino $ino, stat $(stat -c %i "$TMP/m/$n")"; }
	done <<< "$d_early"
	[ "$bad" = 0 ] && ok "$name: early inode numbers are those of the tree" ||
		fail "$name: early inode numbers differ from the tree's"
	# What the kernel keeps of the accounts (links, size, times) came
	# from their LOOKUP, after the scan: the extract's.
	links() { (cd "$1" && stat -c '%n %h %Y' */ | LC_ALL=C sort); }
	[ "$(links "$TMP/m")" = "$(links "$TMP/x")" ] &&
		ok "$name: accounts' links and times are the extract's" ||
		fail "$name: accounts differ: $(links "$TMP/m") vs $(links "$TMP/x")"
	umount_fs "$TMP/m"
	# A fresh mount of the same (no kernel cache): the same numbers.
	mount_fs "$TMP/m" -o noindex "$@" "$TMP/e.ccm"
	find "$TMP/m" -maxdepth 2 >/dev/null
	[ "$d_early" = "$(dents "$TMP/m")" ] && ok "$name: a fresh mount lists the same" ||
		fail "$name: a fresh mount lists differently"
	if same_tree "$TMP/x" "$TMP/m"; then
		ok "$name: the tree equals the extract"
	else
		fail "$name: the tree differs from the extract"
	fi
	umount_fs "$TMP/m"
}

early plain
early maildir -o layout=maildir

# Unmounted during the scan: the daemon finishes it, writes the index,
# and exits; the next mount loads that index.
: > "$TMP/daemon.log"
CCMAILFS_TEST_BUILD_DELAY_MS=1500 mount_fs "$TMP/m" "$TMP/e.ccm"
ls "$TMP/m" >/dev/null
umount_fs "$TMP/m"
if [ -f "$TMP/.e.ccm.ccmailfs-index" ]; then
	ok "unmounted during the scan: the index was still written"
else
	fail "unmounted during the scan: no index (log: $(cat "$TMP/daemon.log"))"
fi
: > "$TMP/daemon.log"
mount_fs "$TMP/m" "$TMP/e.ccm"
ls "$TMP/m" >/dev/null
grep -q 'index loaded from' "$TMP/daemon.log" && ok "the next mount loads it" ||
	fail "the next mount did not load the index (log: $(cat "$TMP/daemon.log"))"
umount_fs "$TMP/m"

# kill -9 during the scan: nothing hangs, the mount point can be freed.
CCMAILFS_TEST_BUILD_DELAY_MS=3000 mount_fs "$TMP/m" -o noindex "$TMP/e.ccm"
ls "$TMP/m" >/dev/null
ls "$TMP/m/$acc" >/dev/null 2>&1 &
lspid=$!
sleep 0.3
kill -9 "$LAST_PID"
i=0
while kill -0 "$lspid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$lspid" 2>/dev/null; then fail "a waiting reader hangs after kill -9"; else
	ok "kill -9 during the scan: the waiting reader gets an error"; fi
fusermount3 -u "$TMP/m" 2>/dev/null && ok "and the mount point is freed" ||
	fail "fusermount3 -u failed after kill -9"
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# One request waiting for the tree does not hold up the others: a LOOKUP
# parked while the scan runs, the root still lists at once (a fresh
# mount: nothing of the root is in the kernel's cache yet).
CCMAILFS_TEST_BUILD_DELAY_MS=4000 mount_fs "$TMP/m" -o noindex "$TMP/e.ccm"
timeout 20 stat -c %i "$TMP/m/$acc" > "$TMP/acc.ino" &
stpid=$!
sleep 0.3
t0=$(date +%s%N)
timeout 20 ls "$TMP/m" > "$TMP/root.ls" || true
took=$(ms_since "$t0")
if kill -0 "$stpid" 2>/dev/null && [ "$took" -lt 2500 ]; then
	ok "the root lists ($took ms) while a lookup waits for the scan"
else
	fail "the root waited behind a lookup ($took ms)"
fi
wait "$stpid" && [ -s "$TMP/acc.ino" ] && ok "the parked lookup is answered" ||
	fail "the parked lookup failed"
umount_fs "$TMP/m"

# SIGTERM during the scan gives the mount point back at once; the
# waiting request gets an error, the daemon ends once the scan has (and
# still writes the index).
rm -f "$TMP/.e.ccm.ccmailfs-index"
CCMAILFS_TEST_BUILD_DELAY_MS=4000 mount_fs "$TMP/m" "$TMP/e.ccm"
ls "$TMP/m" >/dev/null
timeout 20 stat "$TMP/m/$acc" >/dev/null 2>&1 &
stpid=$!
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$LAST_PID"
while mountpoint -q "$TMP/m" && [ "$(ms_since "$t0")" -lt 5000 ]; do sleep 0.05; done
took=$(ms_since "$t0")
if ! mountpoint -q "$TMP/m" && [ "$took" -lt 2500 ]; then
	ok "SIGTERM during the scan: unmounted in $took ms"
else
	fail "SIGTERM during the scan: still mounted after $took ms"
fi
if wait "$stpid"; then fail "the waiting stat succeeded after SIGTERM"; else
	ok "the waiting stat gets an error"; fi
umount_fs "$TMP/m" 2>/dev/null || true
[ -f "$TMP/.e.ccm.ccmailfs-index" ] && ok "and the index was written" ||
	fail "no index after SIGTERM during the scan (log: $(cat "$TMP/daemon.log"))"

# The mount point is the export's own directory, or holds the index:
# writing the index must not go through the mount (it would wait for the
# very scan that writes it).
mkdir -p "$TMP/d" "$TMP/d2"
cp "$TMP/e.ccm" "$TMP/d/e.ccm"
over() { # WHAT MNT ARGS...: mount, list an account, compare, unmount
	what=$1
	mnt=$2
	shift 2
	: > "$TMP/daemon.log"
	CCMAILFS_TEST_BUILD_DELAY_MS=500 mount_fs "$mnt" "$@"
	if timeout 20 ls "$mnt/$acc" > "$TMP/over.ls"; then
		ok "$what: an account lists"
	else
		fail "$what: listing an account hangs (log: $(cat "$TMP/daemon.log"))"
		abort_conn "$mnt"
		fusermount3 -u -z "$mnt" 2>/dev/null || true
		return 0
	fi
	same_tree "$TMP/x" "$mnt" && ok "$what: the tree equals the extract" ||
		fail "$what: the tree differs"
	# The report's status line asks whether the source is still there,
	# without going through the mount that hides it.
	if timeout 20 cat "$mnt/ccmailfs-report.txt" > "$TMP/report.txt" &&
		grep -q "Source status: unchanged" "$TMP/report.txt"; then
		ok "$what: the report reads, source unchanged"
	else
		fail "$what: report: $(grep 'Source status' "$TMP/report.txt")"
	fi
	umount_fs "$mnt"
	grep -q "index written to" "$TMP/daemon.log" && ok "$what: index written" ||
		fail "$what: no index written (log: $(cat "$TMP/daemon.log"))"
}
rm -rf "$TMP/x"
"$CCMAILFS" --extract "$TMP/x" "$TMP/d/e.ccm" 2>/dev/null || true
over "mounted over the export's directory" "$TMP/d" "$TMP/d/e.ccm"
[ -f "$TMP/d/.e.ccm.ccmailfs-index" ] && ok "the index is beside the export" ||
	fail "no index beside the export"
rm -rf "$TMP/x"
"$CCMAILFS" --extract "$TMP/x" "$TMP/e.ccm" 2>/dev/null || true
over "index=PATH under the mount point" "$TMP/d2" -o "index=$TMP/d2/my.idx" "$TMP/e.ccm"
[ -f "$TMP/d2/my.idx" ] && ok "the index is where index= said" ||
	fail "no index at index=PATH"
: > "$TMP/daemon.log"
mount_fs "$TMP/d" "$TMP/d/e.ccm"
ls "$TMP/d" >/dev/null
grep -q "index loaded from" "$TMP/daemon.log" && ok "the remount over it loads that index" ||
	fail "the remount over the export's directory did not load the index"
umount_fs "$TMP/d"

# A relative source, mounted in the background (the daemon changes to
# "/"): the index is still written beside the export.
rm -f "$TMP/.e.ccm.ccmailfs-index"
bin=$(realpath "$CCMAILFS")
mkdir -p "$TMP/bg"
MOUNTS="$MOUNTS $TMP/bg"
(cd "$TMP" && CCMAILFS_TEST_BUILD_DELAY_MS=300 "$bin" e.ccm bg 2>/dev/null)
PIDS="$PIDS $(pgrep -xf "$bin e.ccm bg" || true)"
if mountpoint -q "$TMP/bg" && timeout 20 ls "$TMP/bg/$acc" >/dev/null; then
	ok "background mount of a relative source lists"
else
	fail "background mount of a relative source"
fi
timeout 20 cat "$TMP/bg/ccmailfs-report.txt" > "$TMP/bg-report.txt" || true
grep -q "Source status: unchanged" "$TMP/bg-report.txt" &&
	ok "background: the report says the source is unchanged" ||
	fail "background: $(grep 'Source status' "$TMP/bg-report.txt")"
fusermount3 -u "$TMP/bg" || fail "cannot unmount the background mount"
i=0
while pgrep -xf "$bin e.ccm bg" >/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
pgrep -xf "$bin e.ccm bg" >/dev/null && fail "the background daemon did not exit"
[ -f "$TMP/.e.ccm.ccmailfs-index" ] && [ ! -e /.e.ccm.ccmailfs-index ] &&
	ok "its index is beside the export, not in /" ||
	fail "background: no index beside the export"
rm -f /.e.ccm.ccmailfs-index
# The export changes between the survey and the scan (an account's name
# is overwritten in place): the daemon says so, and the root, listed
# early with the old name, lists the new one once the scan is done.
cp "$TMP/e.ccm" "$TMP/e2.ccm"
off=$(grep -abo 'mailbox "' "$TMP/e2.ccm" | head -1 | cut -d: -f1)
: > "$TMP/daemon.log"
CCMAILFS_TEST_BUILD_DELAY_MS=1500 mount_fs "$TMP/m" -o noindex "$TMP/e2.ccm"
before=$(ls "$TMP/m")
printf 'Q' | dd of="$TMP/e2.ccm" bs=1 seek=$((off + 9)) conv=notrunc status=none
timeout 20 stat -f "$TMP/m" >/dev/null	# waits for the scan
sleep 0.3	# the invalidation is sent by a thread of its own
after=$(ls "$TMP/m")
if grep -q "accounts changed" "$TMP/daemon.log" && [ "$after" != "$before" ] &&
	echo "$after" | grep -qi '^q'; then
	ok "accounts changed during the scan: logged, the root lists anew"
else
	fail "accounts changed during the scan: before: $before; after: $after; log: $(cat "$TMP/daemon.log")"
fi
umount_fs "$TMP/m"
finish
