#!/usr/bin/env python3
"""Reads with odd chunk sizes and offsets return the right bytes.
usage: t02-reads.py MOUNT EXTRACTED"""
import os
import random
import sys

mnt, ref = sys.argv[1], sys.argv[2]
rnd = random.Random(1)
fails = files = 0
for root, dirs, names in os.walk(ref):
    for n in names:
        rp = os.path.join(root, n)
        mp = os.path.join(mnt, os.path.relpath(rp, ref))
        want = open(rp, "rb").read()
        files += 1
        if os.stat(mp).st_size != len(want):
            print("FAIL size", mp)
            fails += 1
            continue
        for chunk in (1, 7, 4096, 65537, 1 << 20):
            if chunk == 1 and len(want) > 20000:
                continue
            got = bytearray()
            with open(mp, "rb", buffering=0) as f:
                while True:
                    b = f.read(chunk)
                    if not b:
                        break
                    got += b
            if bytes(got) != want:
                print("FAIL chunk %d: %s" % (chunk, mp))
                fails += 1
        fd = os.open(mp, os.O_RDONLY)
        # Backwards in 100,000-byte steps, with the page cache dropped, so
        # that the daemon sees reads leave its window backwards.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        got, end = [], len(want)
        while end > 0:
            start = max(0, end - 100000)
            got.append(os.pread(fd, end - start, start))
            end = start
        if b"".join(reversed(got)) != want:
            print("FAIL backwards: %s" % mp)
            fails += 1
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        for _ in range(20):
            off = rnd.randrange(len(want) + 10)
            size = rnd.choice([1, 3, 100, 4095, 4097, 70000])
            if os.pread(fd, size, off) != want[off:off + size]:
                print("FAIL pread %d+%d: %s" % (off, size, mp))
                fails += 1
        os.close(fd)
print("reads: %d files, %d failures" % (files, fails))
sys.exit(1 if fails or not files else 0)
