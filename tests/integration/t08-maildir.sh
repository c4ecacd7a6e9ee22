#!/bin/bash
# -o layout=maildir: the mount equals --extract in the same layout; every
# S= is the exact size; xattrs answer from the index and cannot be set.
. "$(dirname "$0")/lib.sh"
python3 "$SRCDIR/scripts/gen-export.py" --messages 1500 --accounts 3 --seed 28 \
	--quirks all --quirk-rate 0.3 --junk-rate 0.02 --out "$TMP/e.ccm" 2>/dev/null
"$CCMAILFS" --extract "$TMP/x" -o layout=maildir "$TMP/e.ccm" 2>/dev/null || true
mount_fs "$TMP/m" -o layout=maildir "$TMP/e.ccm"
diff -r "$TMP/x" "$TMP/m" >/dev/null && ok "maildir mount equals the extract" ||
	fail "maildir mount differs from the extract"
[ "$(listing "$TMP/x")" = "$(listing "$TMP/m")" ] && ok "same names, modes, mtimes" ||
	fail "metadata differs"
python3 - "$TMP/m" <<'PY' || FAILS=$((FAILS + 1))
import errno, os, re, sys
mnt = sys.argv[1]
n = bad = 0
for root, dirs, files in os.walk(mnt):
    base = os.path.basename(root)
    for d in dirs:
        if d.startswith("."):
            sub = set(os.listdir(os.path.join(root, d)))
            if not {"cur", "new", "tmp"} <= sub:
                print("FAIL: %s lacks cur/new/tmp" % d); bad += 1
    if base != "cur":
        continue
    for f in files:
        p = os.path.join(root, f)
        n += 1
        m = re.search(r",S=(\d+):2,S$", f)
        if not m or int(m.group(1)) != os.stat(p).st_size:
            print("FAIL: S= is not the size:", p); bad += 1
        names = os.listxattr(p)
        want = ["user.ccmail.account", "user.ccmail.folder",
                "user.ccmail.source", "user.ccmail.warnings"]
        if sorted(names) != sorted(want):
            print("FAIL: xattrs", names); bad += 1
        src = os.getxattr(p, "user.ccmail.source").decode()
        with open(p, "rb") as fh:
            head = fh.read(8192)
        off = re.search(rb"X-CcMail-Source: [^;]+; offset=(\d+)", head)
        if not off or src.split(":")[-1] != off.group(1).decode():
            print("FAIL: user.ccmail.source", src); bad += 1
        warns = os.getxattr(p, "user.ccmail.warnings").decode()
        if warns.count("\n") != head.count(b"X-CcMail-Warning:"):
            print("FAIL: warnings xattr does not match the headers", p); bad += 1
        if n == 1:
            for call in (lambda: os.setxattr(p, "user.ccmail.account", b"x"),
                         lambda: os.removexattr(p, "user.ccmail.account")):
                try:
                    call(); print("FAIL: xattr write succeeded"); bad += 1
                except OSError as e:
                    if e.errno not in (errno.EROFS, errno.ENOTSUP):
                        print("FAIL: xattr write:", e); bad += 1
print("maildir: %d messages checked, %d failures" % (n, bad))
sys.exit(1 if bad or n == 0 else 0)
PY
umount_fs "$TMP/m"

# -o noxattr: no xattrs, and the kernel is told so once (ENOSYS), so that
# cp -a asks nothing per file; the copy is the same otherwise.
: >"$TMP/daemon.log"
mount_fs "$TMP/m" "$TMP/e.ccm" -o layout=maildir,noxattr -d
f=$(find "$TMP/m" -type f -name '*ccmailfs*' | head -n 1)
python3 - "$f" <<'PY' && ok "noxattr: no xattrs" || fail "noxattr: xattrs still there"
import errno, os, sys
try:
    names = os.listxattr(sys.argv[1])
except OSError as e:
    sys.exit(0 if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP) else 1)
sys.exit(1)
PY
cp -a "$TMP/m" "$TMP/cpa"
diff -r "$TMP/x" "$TMP/cpa" >/dev/null && ok "noxattr: cp -a copy equals the extract" ||
	fail "noxattr: cp -a copy differs"
umount_fs "$TMP/m"
n=$(grep -c "opcode: GETXATTR\|opcode: LISTXATTR" "$TMP/daemon.log")
[ "$n" -le 2 ] && ok "noxattr: $n xattr requests for cp -a of the mount" ||
	fail "noxattr: $n xattr requests for cp -a of the mount"
finish
