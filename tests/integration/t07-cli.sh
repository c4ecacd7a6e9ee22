#!/bin/bash
# Mistakes give one clear line on stderr and a non-zero exit before anything
# is mounted; the background mode is ready when the command returns;
# SIGTERM and SIGINT unmount cleanly.
. "$(dirname "$0")/lib.sh"
mkdir -p "$TMP/m" "$TMP/busy"
printf 'just some text\nnot an export\n' > "$TMP/notes.txt"
expect_error() { # DESCRIPTION ARGS...
	what=$1
	shift
	rc=0
	"$CCMAILFS" "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
	lines=$(grep -vc '^Try ' "$TMP/err" || true)
	if [ "$rc" -ne 0 ] && [ "$lines" = 1 ] && ! mountpoint -q "$TMP/m"; then
		ok "$what: exit $rc: $(head -1 "$TMP/err")"
	else
		fail "$what: exit $rc, $lines lines: $(cat "$TMP/err")"
		if mountpoint -q "$TMP/m"; then fusermount3 -u "$TMP/m"; fi
	fi
}
S="$SRCDIR/tests/data/sample.ccm"
expect_error "bad option value" -o codepage=999 "$S" "$TMP/m"
expect_error "unknown option" --frobnicate "$S" "$TMP/m"
expect_error "bad FUSE option" -o no_such_fuse_option "$S" "$TMP/m"
expect_error "bad spin value" -o spin=fast "$S" "$TMP/m"
expect_error "spin out of range" -o spin=2000000 "$S" "$TMP/m"
expect_error "missing source" "$TMP/nonexistent.ccm" "$TMP/m"
expect_error "not an export" "$TMP/notes.txt" "$TMP/m"
expect_error "no mount point" "$S"
expect_error "missing mount point" "$S" "$TMP/nonexistent"
mount_fs "$TMP/busy" "$S"
busy_pid=$LAST_PID
expect_error "busy mount point" "$S" "$TMP/busy"
LAST_PID=$busy_pid
umount_fs "$TMP/busy"

# Background mode: usable the moment the command returns.
"$CCMAILFS" "$S" "$TMP/m"
MOUNTS="$MOUNTS $TMP/m"
if ls "$TMP/m/ccmailfs-report.txt" >/dev/null && [ "$(ls "$TMP/m" | wc -l)" -gt 1 ]; then
	ok "background mount listable when the command returns"
else
	fail "background mount not ready"
fi
pid=$(pgrep -f "ccmailfs $S $TMP/m" | head -1)
[ -n "$pid" ] || fail "no daemon found"
LAST_PID=$pid
umount_fs "$TMP/m"

for sig in TERM INT; do
	mount_fs "$TMP/m" "$S"
	(cd "$TMP/m" && find . -type f -exec cat {} + >/dev/null) &
	reader=$!
	kill -s "$sig" "$LAST_PID"
	i=0
	while kill -0 "$LAST_PID" 2>/dev/null && [ "$i" -lt 200 ]; do
		sleep 0.05; i=$((i + 1))
	done
	wait "$reader" 2>/dev/null || true
	if ! kill -0 "$LAST_PID" 2>/dev/null && ! mountpoint -q "$TMP/m"; then
		ok "SIG$sig: daemon exited and the mount is gone"
	else
		fail "SIG$sig: daemon or mount left behind"
		kill -9 "$LAST_PID" 2>/dev/null || true
		fusermount3 -u -z "$TMP/m" 2>/dev/null || true
	fi
	wait "$LAST_PID" 2>/dev/null || true
done
finish
