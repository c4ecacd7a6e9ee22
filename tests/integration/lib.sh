# lib.sh - shared by the integration tests (sourced; bash).
# usage in a test: . lib.sh "$CCMAILFS" "$SRCDIR"
# Real FUSE mounts.  Every mount is unmounted and every daemon is killed in
# the EXIT trap, pass or fail.  Exit 77 (skip) only when this machine cannot
# mount at all; a failure of our own daemon stays a failure.
set -eu
CCMAILFS=$1
SRCDIR=$2
TMP=$(mktemp -d /tmp/ccm-it.XXXXXX)
MOUNTS=""
PIDS=""
FAILS=0

# abort MNT: abort the FUSE connection of MNT through fusectl, if it is still
# mounted, so that a failed test never leaves processes hanging on it.
abort_conn() {
	dev=$(awk -v m="$1" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
	[ -n "$dev" ] || return 0
	id=$(( (${dev%%:*} << 20) | ${dev##*:} ))
	[ -w "/sys/fs/fuse/connections/$id/abort" ] &&
		echo 1 >"/sys/fs/fuse/connections/$id/abort" 2>/dev/null || true
}

cleanup() {
	for m in $MOUNTS; do
		abort_conn "$m"
		mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
	done
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null || true
	done
	for p in $(pgrep -f "ccmailfs.*$TMP" 2>/dev/null); do
		echo "LEFTOVER DAEMON $p killed" >&2
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"

# mount_fs MNT ARGS...: mount in the foreground daemon mode (-f) in the
# background, remember its pid, wait until the mount is there.
mount_fs() {
	mnt=$1
	shift
	mkdir -p "$mnt"
	"$CCMAILFS" -f "$@" "$mnt" 2>>"$TMP/daemon.log" &
	pid=$!
	PIDS="$PIDS $pid"
	MOUNTS="$MOUNTS $mnt"
	i=0
	while ! mountpoint -q "$mnt"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$TMP/daemon.log" >&2
			echo "FAIL: the daemon died before mounting $mnt" >&2
			exit 1
		fi
		i=$((i + 1))
		[ "$i" -lt 600 ] || { echo "FAIL: mount timeout" >&2; exit 1; }
		sleep 0.05
	done
	LAST_PID=$pid
}

# umount_fs MNT: unmount and check that the daemon exits by itself.
umount_fs() {
	fusermount3 -u "$1"
	i=0
	while kill -0 "$LAST_PID" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -ge 200 ]; then
			fail "daemon $LAST_PID still running 10 s after unmount"
			kill -9 "$LAST_PID"
			break
		fi
		sleep 0.05
	done
	wait "$LAST_PID" 2>/dev/null || true
}

# listing DIR: name, type, mode, mtime of everything, and the size of every
# file.  A directory's own size is left out: ext4 grows a directory in 4 KiB
# blocks as entries are added, tmpfs counts entries, the mount says 4096.
listing() {
	(cd "$1" && find . \( -type d -printf '%p %y %m %T@\n' \) -o \
		\( -printf '%p %y %m %T@ %s\n' \) | LC_ALL=C sort)
}

# same_tree X M: M has X's files, bytes, names, types, modes and times
# (the report aside: its status line differs).
same_tree() {
	diff -r -x ccmailfs-report.txt "$1" "$2" >/dev/null &&
		[ "$(listing "$1")" = "$(listing "$2")" ]
}

finish() {
	if [ "$FAILS" -eq 0 ]; then
		echo "all checks passed"
		exit 0
	fi
	echo "$FAILS check(s) failed"
	exit 1
}
