#!/usr/bin/env python3
"""Every write-like call fails with EROFS.  usage: t03-readonly.py MOUNT"""
import errno
import os
import sys

mnt = sys.argv[1]
f = None
for root, dirs, names in os.walk(mnt):
    if names and root != mnt:
        f = os.path.join(root, names[0])
        d = root
        break
assert f, "no file in the mount"
calls = {
    "open O_WRONLY": lambda: os.open(f, os.O_WRONLY),
    "open O_RDWR": lambda: os.open(f, os.O_RDWR),
    "open O_TRUNC": lambda: os.open(f, os.O_RDONLY | os.O_TRUNC),
    "create": lambda: os.open(os.path.join(d, "new"), os.O_CREAT | os.O_WRONLY),
    "mkdir": lambda: os.mkdir(os.path.join(d, "newdir")),
    "rmdir": lambda: os.rmdir(d),
    "unlink": lambda: os.unlink(f),
    "rename": lambda: os.rename(f, f + ".x"),
    "link": lambda: os.link(f, f + ".l"),
    "symlink": lambda: os.symlink("x", os.path.join(d, "sym")),
    "chmod": lambda: os.chmod(f, 0o644),
    "chown": lambda: os.chown(f, 0, 0),
    "truncate": lambda: os.truncate(f, 0),
    "utime": lambda: os.utime(f, (0, 0)),
    "setxattr": lambda: os.setxattr(f, "user.x", b"1"),
    "removexattr": lambda: os.removexattr(f, "user.x"),
    "mknod": lambda: os.mknod(os.path.join(d, "fifo"), 0o600 | 0o010000),
}
fails = 0
for name, call in calls.items():
    try:
        call()
        print("FAIL %s succeeded" % name)
        fails += 1
    except OSError as e:
        if e.errno != errno.EROFS:
            print("FAIL %s: %s (want EROFS)" % (name, e))
            fails += 1
st = os.stat(f)
if st.st_mode & 0o777 != 0o444 or os.stat(d).st_mode & 0o777 != 0o555:
    print("FAIL modes %o %o" % (st.st_mode, os.stat(d).st_mode))
    fails += 1
if st.st_uid != os.getuid() or st.st_gid != os.getgid():
    print("FAIL owner")
    fails += 1
sv = os.statvfs(mnt)
if not sv.f_flag & os.ST_RDONLY or sv.f_files == 0 or sv.f_blocks == 0:
    print("FAIL statvfs", sv)
    fails += 1
print("readonly: %d calls checked, %d failures" % (len(calls), fails))
sys.exit(1 if fails else 0)
