#!/bin/bash
# Security (issue 5): names from the export never contain '/' or '..' and
# never escape their directory; attachment names are stripped of paths; the
# mount is private unless allow_other.
. "$(dirname "$0")/lib.sh"
python3 - "$TMP/evil.ccm" <<'PY'
import sys
def msg(folder, subject, att):
    body = b"x"
    att_payload = b"payload"
    items = (b"Text item:\r\n" + str(len(body)).encode() + b"\r\n" + body + b"\r\n"
             + b"File item: " + att + b"\r\n" + str(len(att_payload)).encode()
             + b"\r\n" + att_payload + b"\r\n")
    head = (b"From: A at B\r\nDate: 1/2/98 3:04\r\nSubject: " + subject
            + b"\r\nFolder: " + folder + b"\r\nContents:\r\n")
    return b"Message:\r\n" + head + items
out = b"Mailbox: ../../etc\r\n" + msg(b"..\\..\\..\\tmp", b"../../passwd", b"..\\..\\boot.ini")
out += b"Account: /root/.ssh\r\n" + msg(b"/etc/cron.d", b"a/b\\c/../d", b"/etc/passwd")
out += b"User: .\r\n" + msg(b".\\..\\.hidden", b".bashrc", b"C:\\WINDOWS\\..\\..\\x.exe")
out += msg(b"A" * 10000, b"\xff" * 5000, b"N" * 10000 + b".txt")
out += msg(b"\\".join([b"deep%d" % i for i in range(200)]), bytes(range(1, 256)), b"all")
open(sys.argv[1], "wb").write(out)
PY
mount_fs "$TMP/m" "$TMP/evil.ccm"
bad=$(cd "$TMP/m" && find . -mindepth 1 -name '.*' -print | head)
[ -z "$bad" ] && ok "no entry named . .. or with a leading dot" || fail "dot names: $bad"
python3 - "$TMP/m" <<'PY' || FAILS=$((FAILS + 1))
import email, email.policy, os, sys
mnt = os.path.realpath(sys.argv[1])
bad = 0
n = 0
for root, dirs, files in os.walk(mnt):
    for name in dirs + files:
        n += 1
        p = os.path.join(root, name)
        if "/" in name or name in (".", "..") or len(name.encode()) > 255 \
                or any(ord(c) < 32 for c in name):
            print("FAIL name:", repr(name)); bad += 1
        if not os.path.realpath(p).startswith(mnt + "/"):
            print("FAIL escapes:", p); bad += 1
    for name in files:
        if not name.endswith(".eml"):
            continue
        msg = email.message_from_bytes(open(os.path.join(root, name), "rb").read(),
                                       policy=email.policy.default)
        for part in msg.iter_attachments():
            fn = part.get_filename() or ""
            if "/" in fn or "\\" in fn or fn in ("", ".", "..") or fn.startswith(".."):
                print("FAIL attachment name:", repr(fn)); bad += 1
print("security: %d names checked, %d problems" % (n, bad))
sys.exit(1 if bad else 0)
PY
# private unless allow_other: another user cannot even stat it
if id nobody >/dev/null 2>&1; then
	if su -s /bin/sh nobody -c "ls '$TMP/m'" >/dev/null 2>&1; then
		fail "another user can read the mount without allow_other"
	else
		ok "another user cannot read the mount (no allow_other)"
	fi
fi
umount_fs "$TMP/m"
finish
