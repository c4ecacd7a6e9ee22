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
umount_fs "$TMP/m"
finish
