#!/bin/bash
# Concurrency and signals (issue 5): many readers with random offsets and
# sizes get the right bytes; readdir races reads; SIGTERM during heavy reads
# unmounts cleanly; after kill -9 the README's recovery (fusermount3 -u)
# works.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 1500 --accounts 3 --seed 30 \
	--quirks all --quirk-rate 0.2 --avg-attach-kb 40 --out "$TMP/e.ccm" 2>/dev/null
"$CCMAILFS" --extract "$TMP/x" "$TMP/e.ccm" 2>/dev/null || true
mount_fs "$TMP/m" "$TMP/e.ccm"
python3 - "$TMP/m" "$TMP/x" <<'PY' || FAILS=$((FAILS + 1))
import os, random, sys, threading
mnt, ref = sys.argv[1], sys.argv[2]
files = []
for root, dirs, names in os.walk(ref):
    for n in names:
        files.append(os.path.relpath(os.path.join(root, n), ref))
want = {f: open(os.path.join(ref, f), "rb").read() for f in files}
errors = []
def reader(seed):
    rnd = random.Random(seed)
    for _ in range(400):
        f = rnd.choice(files)
        data = want[f]
        fd = os.open(os.path.join(mnt, f), os.O_RDONLY)
        for _ in range(5):
            off = rnd.randrange(len(data) + 1)
            size = rnd.choice([1, 17, 512, 4096, 65536, 200000])
            if os.pread(fd, size, off) != data[off:off + size]:
                errors.append((f, off, size))
        os.close(fd)
def lister(seed):
    rnd = random.Random(seed)
    dirs = sorted({os.path.dirname(f) for f in files})
    for _ in range(300):
        d = rnd.choice(dirs)
        got = sorted(os.listdir(os.path.join(mnt, d)))
        exp = sorted(os.listdir(os.path.join(ref, d)))
        if got != exp:
            errors.append(("listdir", d))
threads = [threading.Thread(target=reader, args=(i,)) for i in range(24)]
threads += [threading.Thread(target=lister, args=(100 + i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print("concurrency: 24 random readers x 2000 preads, 4 listers x 300 readdirs, %d errors" % len(errors))
sys.exit(1 if errors else 0)
PY
# SIGTERM while 8 readers copy everything
for i in $(seq 1 8); do
	(cd "$TMP/m" && find . -type f -exec cat {} + >/dev/null 2>&1) &
done
sleep 0.3
kill -TERM "$LAST_PID"
i=0
while kill -0 "$LAST_PID" 2>/dev/null && [ "$i" -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
if ! kill -0 "$LAST_PID" 2>/dev/null && ! mountpoint -q "$TMP/m"; then
	ok "SIGTERM during heavy reads: unmounted, daemon gone"
else
	fail "SIGTERM during heavy reads left the daemon or the mount"
	kill -9 "$LAST_PID" 2>/dev/null; fusermount3 -u -z "$TMP/m" 2>/dev/null
fi
wait 2>/dev/null || true
# kill -9, then the README's recovery
mount_fs "$TMP/m" "$TMP/e.ccm"
kill -9 "$LAST_PID"
wait "$LAST_PID" 2>/dev/null || true
if ls "$TMP/m" >/dev/null 2>&1; then
	fail "the mount still answered after kill -9"
fi
if fusermount3 -u "$TMP/m" && ! mountpoint -q "$TMP/m"; then
	ok "after kill -9, fusermount3 -u clears the mount point"
else
	fail "fusermount3 -u did not recover after kill -9"
	fusermount3 -u -z "$TMP/m" 2>/dev/null || true
fi
mount_fs "$TMP/m" "$TMP/e.ccm"
diff -r "$TMP/x" "$TMP/m" >/dev/null && ok "remount after recovery serves the same tree" ||
	fail "remount after recovery differs"

# The guard (fs/guard.c).  A reader's READ of file 10 is never answered (a
# test hook), so the reader holds that file's page locked; reading files 8
# and 9 sets the push going, and it waits on that page in the kernel,
# uninterruptibly.  Without the guard, kill -9 would leave daemon and reader
# hanging for ever; with it, both must be gone within seconds.
dir=$(cd "$TMP/m" && for d in */*/; do echo "$(ls -U "$d" | wc -l) $d"; done |
	sort -rn | head -1 | cut -d' ' -f2-)
mapfile -t F < <(ls -U "$TMP/m/$dir")
ino=$(stat -c %i "$TMP/m/$dir/${F[10]}")
umount_fs "$TMP/m"
if [ "$(nproc)" -gt 1 ] && [ -d /sys/fs/fuse/connections ] &&
	[ -w /sys/fs/fuse/connections ]; then
	CCMAILFS_TEST_HOLD_INO=$ino mount_fs "$TMP/m" "$TMP/e.ccm" -d
	(cat "$TMP/m/$dir/${F[10]}" >/dev/null 2>&1) &
	held=$!
	sleep 0.3
	cat "$TMP/m/$dir/${F[8]}" "$TMP/m/$dir/${F[9]}" >/dev/null
	i=0
	while ! grep -q "^State:.*D" /proc/"$LAST_PID"/task/*/status 2>/dev/null &&
		[ "$i" -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if grep -q "^State:.*D" /proc/"$LAST_PID"/task/*/status 2>/dev/null; then
		ok "a push waits uninterruptibly on the held page (the case the guard is for)"
	else
		fail "no thread of the daemon waits on the held page: the push did not start"
	fi
	guard=$(pgrep -P "$LAST_PID" 2>/dev/null || true)
	# Running or hanging, not a zombie waiting for its parent's wait.
	alive() { [ -n "$1" ] && grep -q '^State:[[:space:]]*[^Z]' /proc/"$1"/status 2>/dev/null; }
	kill -9 "$LAST_PID"
	i=0
	while { alive "$LAST_PID" || alive "$held" || alive "$guard"; } &&
		[ "$i" -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if ! alive "$LAST_PID" && ! alive "$held" && ! alive "$guard"; then
		ok "kill -9 during that wait: daemon, guard and reader gone"
	else
		fail "kill -9 during a push left the daemon or its reader hanging"
	fi
	wait "$held" 2>/dev/null || true
	wait "$LAST_PID" 2>/dev/null || true
	fusermount3 -u "$TMP/m" && ok "and fusermount3 -u clears the mount point" ||
		fail "fusermount3 -u failed after the guard's abort"
	grep -q "page cache push: on" "$TMP/daemon.log" ||
		fail "the daemon log does not say the push was on"
else
	echo "NOT TESTED (not counted): the guard needs two CPUs and a writable /sys/fs/fuse/connections"
fi
finish
