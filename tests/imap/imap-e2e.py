#!/usr/bin/env python3
"""imap-e2e.py - ccmailfs into a real IMAP server (Dovecot on loopback).

    imap-e2e.py CCMAILFS SRCDIR [MESSAGES]

Generates an export (3 accounts, 1,200 messages by default, every quirk)
with scripts/gen-export.py and:

 0. mounts it with -o layout=maildir,allow_other and checks the Maildir++
    tree against the ground truth: each message once, in the folder the
    truth says (Maildir++ name, modified UTF-7), names
    <mtime>.<ordinal>_<8 hex>.ccmailfs,S=<size>:2,S with S= the real size
    and mtime the file's, new/ and tmp/ empty, the xattrs
    user.ccmail.{account,folder,source,warnings}, setxattr/removexattr EROFS;
 1. rsync -a's each account into a writable Maildir, starts Dovecot on
    127.0.0.1 (random port, config in a temp dir, no systemd, passwd-file
    passdb/userdb, mail as nobody), and fetches every message with imaplib:
    per-folder counts, bytes (the file with LF -> CRLF), RFC822.SIZE and
    INTERNALDATE (= the file's mtime);
 2. serves the mount itself, read-only (maildir:MOUNT/acct:INDEX=..:
    CONTROL=..:VOLATILEDIR=..), and fetches everything again;
 3. mounts the default .eml layout and uploads every .eml with IMAP APPEND
    (INTERNALDATE = the Date header), then checks per message: APPENDUID,
    INTERNALDATE, BODYSTRUCTURE (multipart or not, the text parts, the
    attachment names and count as in the truth) and the attachments'
    decoded bytes fetched with BODY.PEEK[n] (SHA-256 as in the truth).

Dovecot is stopped by its pid, every mount is unmounted and every daemon
is gone at exit, pass or fail.  Exit 0 pass, 1 fail, 77 skip (no /dev/fuse,
fusermount3 or dovecot, and CI is not "true").
"""

import atexit
import base64
import collections
import datetime
import email
import email.policy
import email.utils
import hashlib
import imaplib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import imaplib_util as iu  # noqa: E402

CCMAILFS = os.path.abspath(sys.argv[1])
SRCDIR = os.path.abspath(sys.argv[2])
NMSG = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
CI = os.environ.get("CI") == "true"
NOBODY = 65534
FAILS = []
SHOWN = collections.Counter()


def log(*a):
    print(*a, flush=True)


def fail(kind, msg):
    FAILS.append(kind)
    SHOWN[kind] += 1
    if SHOWN[kind] <= 8:
        log("FAIL: %s: %s" % (kind, msg))
    elif SHOWN[kind] == 9:
        log("FAIL: %s: (more not shown)" % kind)


def skip(why):
    if CI:
        log("FAIL (CI=true, a skip is a failure): %s" % why)
        sys.exit(1)
    log("SKIP: %s" % why)
    sys.exit(77)


def which(prog, extra=("/usr/sbin", "/sbin")):
    p = shutil.which(prog)
    if p:
        return p
    for d in extra:
        if os.access(os.path.join(d, prog), os.X_OK):
            return os.path.join(d, prog)
    return None


import stat as _stat  # noqa: E402
if not (os.path.exists("/dev/fuse")
        and _stat.S_ISCHR(os.stat("/dev/fuse").st_mode)):
    skip("no /dev/fuse")
if not which("fusermount3"):
    skip("no fusermount3")
DOVECOT = which("dovecot")
if not DOVECOT:
    skip("no dovecot (apt-get install dovecot-imapd)")
if not which("rsync"):
    log("FAIL: rsync is missing (scripts/deps.sh installs it)")
    sys.exit(1)

_spec = importlib.util.spec_from_file_location(
    "gtcheck", os.path.join(SRCDIR, "tests", "gt-check.py"))
gtcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gtcheck)

# ---------------------------------------------------------------- cleanup

TMP = tempfile.mkdtemp(prefix="ccm-imap.")
os.chmod(TMP, 0o755)              # Dovecot's mail processes run as nobody
INSTANCE = "ccmimap-" + os.path.basename(TMP).split(".")[-1]
MOUNTS = []                       # [(mountpoint, Popen)]
DOVE = {"proc": None}


def _proc_pids_matching(needle):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
        except OSError:
            continue
        if needle.encode() in cmd:
            pids.append(int(d))
    return pids


def stop_dovecot():
    p = DOVE["proc"]
    if p is None:
        return
    DOVE["proc"] = None
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            log("dovecot %d did not stop in 15 s: SIGKILL" % p.pid)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    # children are titled "<instance>/imap" etc.; none may survive
    for _ in range(50):
        left = _proc_pids_matching(INSTANCE)
        if not left:
            break
        time.sleep(0.1)
    for pid in _proc_pids_matching(INSTANCE):
        fail("leftover", "dovecot process %d still running, killed" % pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def umount(mnt, proc):
    if os.path.ismount(mnt):
        r = subprocess.run(["fusermount3", "-u", mnt],
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            log("fusermount3 -u %s: %s; lazy unmount" % (mnt, r.stderr))
            subprocess.run(["fusermount3", "-u", "-z", mnt])
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        fail("leftover", "ccmailfs %d alive 10 s after unmount" % proc.pid)
        proc.kill()
        proc.wait()


def cleanup():
    try:
        stop_dovecot()
    finally:
        for mnt, proc in list(MOUNTS):
            umount(mnt, proc)
        MOUNTS.clear()
        for pid in _proc_pids_matching(TMP):
            log("LEFTOVER process %d killed" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        still = [m for m in _mounts_under(TMP)]
        if still:
            log("NOT removing %s: still mounted: %s" % (TMP, still))
        elif not os.environ.get("KEEP_TMP"):
            shutil.rmtree(TMP, ignore_errors=True)


def _mounts_under(path):
    res = []
    with open("/proc/self/mounts") as f:
        for line in f:
            mp = line.split()[1].encode().decode("unicode_escape")
            if mp.startswith(path + "/"):
                res.append(mp)
    return res


atexit.register(cleanup)


def _sig(signum, frame):
    raise SystemExit(128 + signum)


for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, _sig)


def mount(mnt, srcs, opts):
    os.makedirs(mnt, exist_ok=True)
    errlog = open(os.path.join(TMP, "ccmailfs.log"), "ab")
    p = subprocess.Popen([CCMAILFS, "-f", "-o", opts] + srcs + [mnt],
                         stdout=errlog, stderr=errlog)
    MOUNTS.append((mnt, p))
    t0 = time.time()
    while not os.path.ismount(mnt):
        if p.poll() is not None:
            log(open(os.path.join(TMP, "ccmailfs.log"), errors="replace")
                .read()[-2000:])
            log("FAIL: ccmailfs exited %d before mounting %s"
                % (p.returncode, mnt))
            sys.exit(1)
        if time.time() - t0 > 60:
            log("FAIL: mount timeout")
            sys.exit(1)
        time.sleep(0.05)
    return p


# ------------------------------------------------------------ the export

T0 = time.time()
exp = os.path.join(TMP, "export.ccm")
truthf = os.path.join(TMP, "export.json")
subprocess.run([sys.executable, os.path.join(SRCDIR, "scripts",
                                             "gen-export.py"),
                "--messages", str(NMSG), "--accounts", "3", "--folders", "5",
                "--seed", "404", "--quirks", "all", "--quirk-rate", "0.3",
                "--junk-rate", "0.02", "--out", exp, "--truth", truthf],
               check=True)
TRUTH = json.load(open(truthf))
TMSG = {(TRUTH["source"], m["offset"]): m for m in TRUTH["messages"]}
log("export: %d messages, %d accounts, %d bytes"
    % (len(TMSG), len(set(m["account"] for m in TMSG.values())),
       os.path.getsize(exp)))

SRC_RE = re.compile(rb"^X-CcMail-Source:\s*(.*?)\s*;\s*offset\s*=\s*(\d+)"
                    rb"\s*$", re.M | re.I)


def header_block(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return data[:m.start()] if m else data


def source_of(data):
    m = SRC_RE.search(header_block(data))
    if not m:
        return None
    return (m.group(1).decode("utf-8", "replace"), int(m.group(2)))


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def maildir_folder_name(folder):
    """truth folder components -> the Maildir++ directory name ('' for
    INBOX) the brief specifies: '.' joins, '.' inside a component -> '_',
    modified UTF-7 on disk (Dovecot's default)."""
    if folder == ["Inbox"]:
        return ""
    return "." + ".".join(iu.mutf7_encode(c.replace(".", "_"))
                          for c in folder)


# --------------------------------------------- 0. the maildir layout mount

MNT = os.path.join(TMP, "mnt-maildir")
mount(MNT, [exp], "layout=maildir,allow_other")
t_mount = time.time()
accounts = sorted(d for d in os.listdir(MNT)
                  if os.path.isdir(os.path.join(MNT, d)))
log("maildir mount: root %s" % sorted(os.listdir(MNT)))
if "ccmailfs-report.txt" not in os.listdir(MNT):
    fail("layout", "no ccmailfs-report.txt at the root")

NAME_RE = re.compile(r"^(-?\d+)\.(\d+)_([0-9a-f]{8})\.ccmailfs,S=(\d+):2,S$")
# MB[account][mailbox wire name] = [(path, bytes)] ; FILES[path] = info
MB = {}
seen = collections.Counter()
n_files = n_xattr = 0
for acct in accounts:
    root = os.path.join(MNT, acct)
    MB[acct] = {}
    for d in ("cur", "new", "tmp"):
        if not os.path.isdir(os.path.join(root, d)):
            fail("layout", "%s has no %s/" % (acct, d))
    for entry in sorted(os.listdir(root)):
        p = os.path.join(root, entry)
        if entry in ("cur", "new", "tmp", "errors"):
            continue
        if not entry.startswith(".") or not os.path.isdir(p):
            fail("layout", "unexpected entry %s/%s" % (acct, entry))
    boxes = [("INBOX", root)] + [
        (e[1:], os.path.join(root, e)) for e in sorted(os.listdir(root))
        if e.startswith(".") and os.path.isdir(os.path.join(root, e))]
    for box, bdir in boxes:
        for d in ("new", "tmp"):
            if os.listdir(os.path.join(bdir, d)):
                fail("layout", "%s/%s/%s is not empty" % (acct, box, d))
        files = []
        for fn in sorted(os.listdir(os.path.join(bdir, "cur"))):
            fp = os.path.join(bdir, "cur", fn)
            st = os.stat(fp)
            data = open(fp, "rb").read()
            n_files += 1
            if len(data) != st.st_size:
                fail("size", "%s: read %d bytes, stat says %d"
                     % (fp, len(data), st.st_size))
            m = NAME_RE.match(fn)
            if not m:
                fail("name", "%s/%s: bad maildir name %r" % (acct, box, fn))
            else:
                if int(m.group(4)) != len(data):
                    fail("name", "%s: S=%s but the file has %d bytes"
                         % (fn, m.group(4), len(data)))
                # a clamped pre-1970 mtime is named 0 (no '-' in names)
                if int(m.group(1)) != max(0, int(st.st_mtime)):
                    fail("name-mtime", "%s: name says mtime %s, stat %d"
                         % (fn, m.group(1), int(st.st_mtime)))
            key = source_of(data)
            tm = TMSG.get(key)
            if tm is None:
                fail("truth", "%s: X-CcMail-Source %r not in the truth"
                     % (fp, key))
            else:
                seen[key] += 1
                if tm["account"] != acct:
                    fail("account", "%s: in %s, truth says %s"
                         % (fn, acct, tm["account"]))
                want = maildir_folder_name(tm["folder"])
                got = "" if box == "INBOX" else "." + box
                if want != got:
                    fail("folder", "%s (offset %d): in %r, truth folder %r "
                         "-> %r" % (fn, key[1], got or "INBOX",
                                    "\\".join(tm["folder"]), want))
            # xattrs
            try:
                xa = {k: os.getxattr(fp, k) for k in os.listxattr(fp)}
            except OSError as e:
                xa = {}
                fail("xattr", "%s: %s" % (fp, e))
            n_xattr += len(xa)
            if key is not None:
                for k in ("user.ccmail.account", "user.ccmail.folder",
                          "user.ccmail.source", "user.ccmail.warnings"):
                    if k not in xa:
                        fail("xattr", "%s: no %s (has %s)"
                             % (fn, k, sorted(xa)))
                if xa.get("user.ccmail.account", acct.encode()) != \
                        acct.encode():
                    fail("xattr", "%s: account %r" % (
                        fn, xa["user.ccmail.account"]))
                if "user.ccmail.source" in xa and xa["user.ccmail.source"] \
                        != ("%s:%d" % key).encode():
                    fail("xattr", "%s: source %r, expected %r" % (
                        fn, xa["user.ccmail.source"], "%s:%d" % key))
                if tm is not None and "user.ccmail.folder" in xa and \
                        xa["user.ccmail.folder"].decode("utf-8", "replace") \
                        not in ("\\".join(tm["folder"]),
                                "/".join(tm["folder"])):
                    fail("xattr", "%s: folder %r, truth %r" % (
                        fn, xa["user.ccmail.folder"],
                        "\\".join(tm["folder"])))
                if "user.ccmail.warnings" in xa:
                    hw = [re.sub(r"\s+", " ", w.decode("utf-8", "replace"))
                          for w in re.findall(
                              rb"^X-CcMail-Warning:(.*(?:\n[ \t].*)*)",
                              header_block(data), re.M)]
                    xw = [w for w in xa["user.ccmail.warnings"].decode(
                        "utf-8", "replace").split("\n") if w]
                    if len(hw) != len(xw):
                        fail("xattr", "%s: %d warnings in the xattr, %d "
                             "X-CcMail-Warning headers" % (fn, len(xw),
                                                           len(hw)))
            files.append((fp, data, st.st_mtime))
        MB[acct][box] = files
# every truth message exactly once
for k in TMSG:
    if seen[k] != 1:
        fail("truth", "message at offset %d appears %d times" % (k[1],
                                                               seen[k]))
# read-only xattrs
probe = next(f[0] for a in MB.values() for b in a.values() for f in b)
for what, fn in (("setxattr", lambda: os.setxattr(probe, "user.x", b"1")),
                 ("removexattr",
                  lambda: os.removexattr(probe, "user.ccmail.source"))):
    try:
        fn()
        fail("xattr", "%s succeeded on the read-only mount" % what)
    except OSError as e:
        if e.errno != 30:
            fail("xattr", "%s: %s, expected EROFS" % (what, e))
total_bytes = sum(len(f[1]) for a in MB.values() for b in a.values()
                  for f in b)
log("0. maildir tree: %d accounts, %d mailboxes, %d message files, %d bytes,"
    " %d xattrs read; truth: %d of %d messages found once (%.1f s)"
    % (len(MB), sum(len(a) for a in MB.values()), n_files, total_bytes,
       n_xattr, sum(1 for k in TMSG if seen[k] == 1), len(TMSG),
       time.time() - t_mount))

# ------------------------------------------------------------- Dovecot


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


USERS = []          # (user, mail_location)
for i, acct in enumerate(accounts):
    # 1. a writable copy made with rsync -a
    rw = os.path.join(TMP, "rw", "u%d" % i)
    os.makedirs(os.path.dirname(rw), exist_ok=True)
    t = time.time()
    subprocess.run(["rsync", "-a", "--chmod=Du+w", "--chown=%d:%d"
                    % (NOBODY, NOBODY), os.path.join(MNT, acct) + "/",
                    rw + "/"], check=True)
    r = subprocess.run(["rsync", "-ai", "--chmod=Du+w", "--chown=%d:%d"
                        % (NOBODY, NOBODY), "--exclude=dovecot*",
                        os.path.join(MNT, acct) + "/", rw + "/"],
                       check=True, stdout=subprocess.PIPE)
    if r.stdout.strip():
        fail("rsync", "a second rsync -a of %s copied: %r"
             % (acct, r.stdout[:200]))
    USERS.append(("rw%d" % i, "maildir:%s" % rw, acct))
    # 2. the mount itself, read-only; index and control files elsewhere
    link = os.path.join(TMP, "ro", "u%d" % i)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(os.path.join(MNT, acct), link)
    idx = os.path.join(TMP, "idx", "u%d" % i)
    for sub in ("index", "control", "vol"):
        os.makedirs(os.path.join(idx, sub))
    USERS.append(("ro%d" % i, "maildir:%s:INDEX=%s/index:CONTROL=%s/control"
                  ":VOLATILEDIR=%s/vol" % (link, idx, idx, idx), acct))
up = os.path.join(TMP, "up")
os.makedirs(os.path.join(up, "Maildir"))
USERS.append(("upload", "maildir:%s/Maildir" % up, None))
subprocess.run(["chown", "-R", "%d:%d" % (NOBODY, NOBODY),
                os.path.join(TMP, "idx"), up], check=True)
for u, loc, _ in USERS:
    if " " in loc:
        log("FAIL: a space in a mail location: %r" % loc)
        sys.exit(1)
with open(os.path.join(TMP, "users"), "w") as f:
    for u, loc, _ in USERS:
        f.write("%s:{PLAIN}secret:%d:%d::%s::userdb_mail=%s\n"
                % (u, NOBODY, NOBODY, TMP, loc))
for d in ("run", "state"):
    os.makedirs(os.path.join(TMP, d))
PORT = free_port()
conf = os.path.join(TMP, "dovecot.conf")
with open(conf, "w") as f:
    f.write("""protocols = imap
listen = 127.0.0.1
base_dir = {T}/run
state_dir = {T}/state
instance_name = {I}
log_path = {T}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_max_userip_connections = 50
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {T}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {T}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {P}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""".format(T=TMP, I=INSTANCE, P=PORT))
r = subprocess.run([which("doveconf"), "-n", "-c", conf],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if r.returncode != 0:
    log("FAIL: doveconf: %s" % r.stderr.decode())
    sys.exit(1)
dlog = open(os.path.join(TMP, "dovecot.stdout"), "wb")
DOVE["proc"] = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=dlog,
                                stderr=dlog, start_new_session=True)
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", PORT), 0.2).close()
        break
    except OSError:
        if DOVE["proc"].poll() is not None:
            break
        time.sleep(0.1)
else:
    pass
if DOVE["proc"].poll() is not None:
    log(open(os.path.join(TMP, "dovecot.stdout"), errors="replace").read())
    log("FAIL: dovecot exited %d" % DOVE["proc"].returncode)
    sys.exit(1)
log("dovecot %s running as pid %d on 127.0.0.1:%d"
    % (subprocess.run([DOVECOT, "--version"], stdout=subprocess.PIPE)
       .stdout.decode().split()[0], DOVE["proc"].pid, PORT))


def imap_login(user):
    M = imaplib.IMAP4("127.0.0.1", PORT)
    M.login(user, "secret")
    return M


def dovecot_log_tail():
    try:
        return open(os.path.join(TMP, "dovecot.log"),
                    errors="replace").read()[-3000:]
    except OSError:
        return ""


def check_served(user, acct, label):
    """Every mailbox of the account: counts, bytes, sizes, INTERNALDATE."""
    M = imap_login(user)
    st = collections.Counter()
    try:
        boxes = {n: fl for n, fl in iu.list_mailboxes(M)}
        want = MB[acct]
        selectable = {n for n, fl in boxes.items()
                      if "\\noselect" not in fl.lower()
                      and "\\nonexistent" not in fl.lower()}
        if set(want) != selectable:
            fail(label + "-list", "%s: IMAP mailboxes %s, mount %s"
                 % (acct, sorted(selectable), sorted(want)))
        for box, files in want.items():
            byhash = collections.defaultdict(list)
            for fp, data, mtime in files:
                c = crlf(data)
                byhash[hashlib.sha256(c).hexdigest()].append(
                    (fp, len(c), mtime))
            typ, d = M.select(iu.quote(box), readonly=True)
            if typ != "OK":
                fail(label + "-select", "%s/%s: %r" % (acct, box, d))
                continue
            typ, d = M.uid("SEARCH", None, "ALL")
            uids = d[0].split()
            if len(uids) != len(files):
                fail(label + "-count", "%s/%s: %d messages over IMAP, %d "
                     "files" % (acct, box, len(uids), len(files)))
            st["mailboxes"] += 1
            for i in range(0, len(uids), 100):
                chunk = b",".join(uids[i:i + 100]).decode()
                typ, d = M.uid("FETCH", chunk,
                               "(RFC822.SIZE INTERNALDATE BODY.PEEK[])")
                if typ != "OK":
                    fail(label + "-fetch", "%s/%s: %r; dovecot log: %s"
                         % (acct, box, d, dovecot_log_tail()))
                    break
                msgs = []
                cur = []
                for item in d:
                    if item == b")":
                        msgs.append(cur)
                        cur = []
                    else:
                        cur.append(item)
                for mparts in msgs:
                    it = iu.fetch_items(mparts)
                    body = it.get("BODY[]")
                    if not isinstance(body, bytes):
                        fail(label + "-fetch", "no body in %r"
                             % (mparts[:1],))
                        continue
                    h = hashlib.sha256(body).hexdigest()
                    if not byhash.get(h):
                        fail(label + "-bytes", "%s/%s: a fetched message "
                             "(%d bytes, %r) matches no file"
                             % (acct, box, len(body),
                                source_of(body.replace(b"\r\n", b"\n"))))
                        continue
                    fp, clen, mtime = byhash[h].pop()
                    st["messages"] += 1
                    st["bytes"] += len(body)
                    # Subject and date as a mail client sees them, against
                    # the generator's truth (issue 4, acceptance 2).
                    tm = TMSG.get(source_of(body.replace(b"\r\n", b"\n")))
                    hm = email.message_from_bytes(
                        header_block(body), policy=email.policy.default)
                    if tm is None:
                        fail(label + "-truth", "%s: no truth message" % fp)
                    else:
                        if str(hm["subject"] or "") != tm["subject"]:
                            fail(label + "-subject", "%s: %r != %r" % (
                                fp, str(hm["subject"]), tm["subject"]))
                        else:
                            st["subject_ok"] += 1
                        if tm["date"] is not None:
                            d = hm["date"].datetime
                            if d.strftime("%Y-%m-%d %H:%M:%S") != tm["date"]:
                                fail(label + "-date", "%s: %s != %s" % (
                                    fp, d, tm["date"]))
                            else:
                                st["date_ok"] += 1
                    if int(it.get("RFC822.SIZE", -1)) != clen:
                        fail(label + "-size", "%s: RFC822.SIZE %s, expected "
                             "%d" % (fp, it.get("RFC822.SIZE"), clen))
                    idate = iu.internaldate_epoch(it["INTERNALDATE"])
                    st["idate"] += 1
                    if int(idate) != int(mtime):
                        fail(label + "-internaldate", "%s: INTERNALDATE %s, "
                             "mtime %s" % (fp, it["INTERNALDATE"],
                                           datetime.datetime.utcfromtimestamp(
                                               mtime) if mtime > -2**31 - 1
                                           else mtime))
                    else:
                        st["idate_ok"] += 1
            left = sum(len(v) for v in byhash.values())
            if left:
                fail(label + "-bytes", "%s/%s: %d files not fetched"
                     % (acct, box, left))
    finally:
        try:
            M.logout()
        except Exception:
            pass
    return st


for label, prefix in (("1-rsync", "rw"), ("2-direct-ro", "ro")):
    t = time.time()
    tot = collections.Counter()
    for u, loc, acct in USERS:
        if u.startswith(prefix):
            tot += check_served(u, acct, label)
    log("%s: %d mailboxes, %d messages fetched, %d bytes (CRLF) equal to "
        "the files, INTERNALDATE = mtime for %d of %d, subject = truth for "
        "%d, date = truth for %d (%.1f s)"
        % (label, tot["mailboxes"], tot["messages"], tot["bytes"],
           tot["idate_ok"], tot["idate"], tot["subject_ok"], tot["date_ok"],
           time.time() - t))
    if tot["messages"] != n_files:
        fail(label, "%d messages fetched, %d files on the mount"
             % (tot["messages"], n_files))

# ------------------------------------ 3. APPEND the default .eml layout

t = time.time()
MNT2 = os.path.join(TMP, "mnt-eml")
mount(MNT2, [exp], "ro")
emls = []
for dp, dn, fn in os.walk(MNT2):
    dn.sort()
    for f in sorted(fn):
        if f.endswith(".eml"):
            emls.append(os.path.join(dp, f))
M = imap_login("upload")
st = collections.Counter()
mbox_of = {}
try:
    appended = []               # (uid, mailbox, path, truth, date)
    t_start_append = time.time()
    for p in emls:
        acct = os.path.relpath(p, MNT2).split(os.sep)[0]
        box = mbox_of.get(acct)
        if box is None:
            box = mbox_of[acct] = "acct%d" % len(mbox_of)
            typ, d = M.create(box)
            if typ != "OK":
                fail("3-create", "%s: %r" % (box, d))
        data = open(p, "rb").read()
        key = source_of(data)
        tm = TMSG.get(key)
        hb = header_block(data).decode("utf-8", "replace")
        dm = re.search(r"^Date:\s*(.*)$", hb, re.M | re.I)
        dt = email.utils.parsedate_to_datetime(dm.group(1)) if dm else None
        if dt is None:
            dt = datetime.datetime.fromtimestamp(os.stat(p).st_mtime,
                                                 datetime.timezone.utc)
        if dt.tzinfo is None:                 # -0000: unknown zone, as UTC
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        mt = os.stat(p).st_mtime
        if int(dt.timestamp()) != int(mt):
            st["date_ne_mtime"] += 1
        typ, d = M.append(box, r"(\Seen)", dt, crlf(data))
        if typ != "OK":
            fail("3-append", "%s: %r" % (p, d))
            continue
        m = re.search(rb"APPENDUID (\d+) (\d+)", d[0] or b"")
        if not m:
            fail("3-append", "no APPENDUID in %r" % d)
            continue
        appended.append((m.group(2).decode(), box, p, tm, dt))
        st["appended"] += 1
        st["bytes"] += len(crlf(data))
    t_app = time.time() - t
    t_end_append = time.time()
    t = time.time()
    cur = None
    for uid, box, p, tm, dt in appended:
        if box != cur:
            M.select(box, readonly=True)
            cur = box
        typ, d = M.uid("FETCH", uid, "(INTERNALDATE BODYSTRUCTURE)")
        it = iu.fetch_items(d)
        idate = iu.internaldate_epoch(it["INTERNALDATE"])
        want = int(dt.timestamp())
        if want < -2**31:
            # Dovecot stores INTERNALDATE as a maildir file's mtime: ext4
            # keeps nothing before 1901-12-13 20:45:52
            want = -2**31
            st["idate_clamped_old"] += 1
        elif want > t_end_append:
            # Dovecot refuses INTERNALDATEs in the future and uses the
            # time of the APPEND instead (Y2K-bug dates such as 2069)
            st["idate_future"] += 1
            if t_start_append - 2 <= idate <= t_end_append + 2:
                want = int(idate)
        if int(idate) != want:
            fail("3-internaldate", "%s: INTERNALDATE %s, Date %s"
                 % (os.path.basename(p), it["INTERNALDATE"], dt))
        else:
            st["idate_ok"] += 1
        bs = it["BODYSTRUCTURE"]
        leaves = iu.leaf_parts(bs)
        if tm is None:
            fail("3-truth", "%s: no truth message" % p)
            continue
        atts = [lp for lp in leaves if lp[2] == "attachment"]
        texts = [lp for lp in leaves if lp[2] != "attachment"
                 and lp[1].startswith("text/")]
        multi = iu.top_type(bs).startswith("multipart/")
        want_multi = bool(tm["extra_texts"] or
                          [a for a in tm["attachments"] if a["size"]])
        if multi != want_multi and not (multi and tm["attachments"]):
            fail("3-structure", "%s: %s, expected %s" % (
                os.path.basename(p), iu.top_type(bs),
                "multipart/mixed" if want_multi else "single part"))
        has_body = any(lp[1] == "text/plain" for lp in texts)
        extra = len(texts) - (1 if has_body else 0)
        if extra != tm["extra_texts"]:
            fail("3-structure", "%s: %d extra text parts, truth %d"
                 % (os.path.basename(p), extra, tm["extra_texts"]))
        got = []
        for lp in atts:
            typ, d = M.uid("FETCH", uid, "(BODY.PEEK[%s])" % lp[0])
            raw = iu.fetch_items(d).get("BODY[%s]" % lp[0])
            payload = base64.b64decode(raw) if lp[4] == "base64" else raw
            got.append((lp[3], hashlib.sha256(payload).hexdigest(),
                        len(payload)))
            st["att_bytes"] += len(payload)
        probs = []
        gtcheck.compare_atts(got, tm["attachments"], probs.append)
        for pr in probs:
            fail("3-attachments", "%s: %s" % (os.path.basename(p), pr))
        st["atts"] += len(got)
        st["truth_atts"] += len(tm["attachments"])
        st["checked"] += 1
finally:
    try:
        M.logout()
    except Exception:
        pass
log("3-append: %d .eml uploaded (%d bytes) in %.1f s; BODYSTRUCTURE of %d "
    "checked against the truth, %d attachments (truth %d, size-0 ones may be"
    " absent) fetched and equal by SHA-256 (%d bytes); INTERNALDATE = Date "
    "for %d (of them %d before 1901 -> 1901-12-13 and %d in the future -> "
    "the upload time, both by Dovecot); Date header != file mtime for %d "
    "(%.1f s)"
    % (st["appended"], st["bytes"], t_app, st["checked"], st["atts"],
       st["truth_atts"], st["att_bytes"], st["idate_ok"],
       st["idate_clamped_old"], st["idate_future"], st["date_ne_mtime"], time.time() - t))
if st["appended"] != len(TMSG):
    fail("3-append", "%d uploaded, %d messages in the truth"
         % (st["appended"], len(TMSG)))

# --------------------------------------------------------------- the end

stop_dovecot()
for mnt, proc in list(MOUNTS):
    umount(mnt, proc)
MOUNTS.clear()
try:
    dlines = open(os.path.join(TMP, "dovecot.log"),
                  errors="replace").read().splitlines()
except OSError:
    dlines = []
errs = [l for l in dlines
        if "Error" in l or "Panic" in l or "Fatal" in l]
for l in errs[:5]:
    log("dovecot log: " + l)
if errs:
    fail("dovecot-log", "%d error lines in the Dovecot log" % len(errs))
log("total %.1f s" % (time.time() - T0))
if FAILS:
    c = collections.Counter(FAILS)
    log("%d check(s) failed: %s" % (len(FAILS), dict(c)))
    sys.exit(1)
log("all checks passed")
sys.exit(0)
