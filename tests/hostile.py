#!/usr/bin/env python3
"""Hostile inputs (issue 5): every case must finish within its time and
memory bound, exit 0 or 1 from --check (2 only for unreadable input) with a
report that accounts for every byte, and mount with the daemon alive
afterwards, every file reading back exactly its stat size.
usage: hostile.py CCMAILFS SRCDIR [--no-mount]"""
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ccmailfs, src = sys.argv[1], sys.argv[2]
do_mount = "--no-mount" not in sys.argv and os.path.exists("/dev/fuse") \
    and shutil.which("fusermount3")
rnd = random.Random(5)
tmp = tempfile.mkdtemp(prefix="ccm-hostile-")
MB = 1 << 20
cases = []          # (name, bytes or None for a directory, seconds, MB)


def case(name, data, secs=20, mem=512):
    cases.append((name, data, secs, mem))


base_path = os.path.join(tmp, "base.ccm")
subprocess.run([sys.executable, os.path.join(src, "scripts/gen-export.py"),
                "--messages", "300", "--accounts", "2", "--seed", "3",
                "--quirks", "all", "--quirk-rate", "0.3", "--out", base_path],
               check=True, stderr=subprocess.DEVNULL)
base = open(base_path, "rb").read()

case("empty", b"")
case("junk-only", bytes(rnd.getrandbits(8) for _ in range(MB)))
case("text-junk", b"".join(b"just some text line %d\r\n" % i
                           for i in range(20000)))
case("nul-only", b"\0" * 100000)
for i in range(40):
    cut = rnd.randrange(len(base))
    case("truncated-%d" % cut, base[:cut], secs=10, mem=256)
nul = bytearray(base)
for _ in range(2000):
    nul[rnd.randrange(len(nul))] = 0
case("nul-bytes", bytes(nul))
junk = bytearray()
for chunk in re.split(rb"(?=Message:\r\n)", base):
    junk += chunk + bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(300)))
case("binary-junk-between", bytes(junk))
for name, repl in [("size-zero", b"0"), ("size-huge", b"99999999999"),
                   ("size-negative", b"-12"), ("size-30digits", b"9" * 30),
                   ("size-past-end", str(len(base) * 2).encode())]:
    case(name, re.sub(rb"(?m)^( *)\d+( *)\r$", lambda m: repl + b"\r", base))
case("lf-only", base.replace(b"\r\n", b"\n"))
case("cr-only", base.replace(b"\r\n", b"\r"))
case("mixed-line-ends", re.sub(rb"\r\n", lambda m: rnd.choice(
    [b"\r\n", b"\n", b"\r"]), base))
case("ctrl-z-middle", base[:len(base) // 2] + b"\x1a" * 50 +
     base[len(base) // 2:])
case("line-100mb", b"Message:\r\nFrom: A at B\r\nSubject: " + b"x" * (100 * MB)
     + b"\r\nContents:\r\nText item:\r\n" + b"y" * (10 * MB) + b"\r\n",
     secs=60, mem=2048)
case("million-empty-messages",
     b"Message:\r\nFrom: x\r\nContents:\r\n" * 1000000, secs=120, mem=2048)
case("million-headers", b"Message:\r\n" + b"X-H: v\r\n" * 1000000 +
     b"Contents:\r\nText item:\r\nbody\r\n", secs=60, mem=1024)
case("nested-folders", b"".join(
    b"Message:\r\nFrom: x\r\nFolder: " +
    b"\\".join(b"level%d" % k for k in range(d)) + b"\r\nContents:\r\n"
    for d in range(1, 120)))
case("names-10kb", b"Mailbox: " + b"A" * 10240 + b"\r\nMessage:\r\nFrom: "
     + b"B" * 10240 + b"\r\nSubject: " + b"C" * 10240 + b"\r\nFolder: "
     + b"D" * 10240 + b"\r\nContents:\r\nFile item: " + b"E" * 10240 +
     b".txt\r\n2\r\nhi\r\n")
case("every-byte-subject", b"".join(
    b"Message:\r\nFrom: x\r\nSubject: " + bytes([b]) * 3 + b" " +
    bytes(range(256)).replace(b"\r", b"").replace(b"\n", b"") +
    b"\r\nContents:\r\n" for b in range(256)))
case("only-markers", b"Mailbox: a\r\nUser: b\r\n" * 1000)
case("binary-after-message", base[:5000] + bytes(range(256)) * 40)
case("unreadable-dir", None)


def limits(mem_mb):
    # An ASan build (scripts/sanitize.sh sets ASAN_OPTIONS) reserves
    # terabytes of shadow address space at start-up, so any RLIMIT_AS kills
    # it; there the memory bound is left to the normal build's run.
    if "ASAN_OPTIONS" in os.environ:
        return None

    def f():
        resource.setrlimit(resource.RLIMIT_AS,
                           (mem_mb * MB + 256 * MB, mem_mb * MB + 256 * MB))
    return f


def make_dir(path):
    os.mkdir(path)
    with open(os.path.join(path, "a.ccm"), "wb") as f:
        f.write(base[:20000])
    os.symlink("/nonexistent/target", os.path.join(path, "b-dangling.ccm"))
    os.symlink("c-loop.ccm", os.path.join(path, "c-loop.ccm"))
    os.mkfifo(os.path.join(path, "d-fifo.ccm"))
    os.mkdir(os.path.join(path, "e-subdir"))


def mounted(mnt):
    return subprocess.run(["mountpoint", "-q", mnt]).returncode == 0


def check_mount(name, path, secs, mem):
    mnt = os.path.join(tmp, "mnt-" + name)
    os.mkdir(mnt)
    proc = subprocess.Popen([ccmailfs, "-f", path, mnt],
                            stderr=subprocess.PIPE, preexec_fn=limits(mem))
    deadline = time.time() + secs
    while not mounted(mnt):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            return "did not mount: %s" % proc.stderr.read()[-300:]
        time.sleep(0.05)
    err = None
    nfile = 0
    try:
        for root, dirs, files in os.walk(mnt):
            for fn in files:
                nfile += 1
                # Every entry is listed; in huge trees every 97th is read.
                if nfile > 5000 and nfile % 97:
                    continue
                p = os.path.join(root, fn)
                with open(p, "rb") as fh:
                    n = len(fh.read())
                if n != os.stat(p).st_size:
                    err = "size mismatch on %s" % p
            if time.time() > deadline:
                err = "reading took over %d s" % secs
                break
    except OSError as e:
        err = "read error: %s" % e
    if proc.poll() is not None:
        err = "daemon died (exit %s)" % proc.returncode
    subprocess.run(["fusermount3", "-u", mnt])
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        err = err or "daemon did not exit after unmount"
    os.rmdir(mnt)
    return err


fail = 0
for name, data, secs, mem in cases:
    path = os.path.join(tmp, name + ".ccm")
    if data is None:
        make_dir(path)
        size = 20000
    else:
        with open(path, "wb") as f:
            f.write(data)
        size = len(data)
    t0 = time.time()
    try:
        r = subprocess.run([ccmailfs, "--check", path], capture_output=True,
                           timeout=secs, preexec_fn=limits(mem))
    except subprocess.TimeoutExpired:
        print("FAIL %s: --check over %d s" % (name, secs))
        fail += 1
        continue
    took = time.time() - t0
    out = r.stdout.decode("utf-8", "replace")
    m = re.search(r"^coverage: (\d+) of (\d+) bytes accounted for "
                  r"\((\d+\.\d+) %\)", out, re.M)
    want_rc = (2,) if data is None else (0, 1)
    problem = None
    if r.returncode not in want_rc:
        problem = "exit %d: %s" % (r.returncode, r.stderr.decode()[-300:])
    elif not m or m.group(1) != m.group(2) or int(m.group(2)) != size:
        problem = "coverage line wrong: %s" % (m and m.group(0))
    elif data is None and out.count("UNREADABLE") != 2:
        problem = "unreadable members not reported"
    elif do_mount and m and re.search(r"^Totals: .*, 0 messages,", out, re.M) \
            and data is not None and \
            len(data) and not re.search(r"account marker:", out):
        # Not an export at all: the mount must refuse with one clear line.
        mnt = os.path.join(tmp, "mnt-" + name)
        os.mkdir(mnt)
        r2 = subprocess.run([ccmailfs, path, mnt], capture_output=True,
                            timeout=secs)
        if r2.returncode != 2 or b"not a cc:Mail export" not in r2.stderr \
                or mounted(mnt):
            problem = "a non-export was not refused: %r" % r2.stderr
            if mounted(mnt):
                subprocess.run(["fusermount3", "-u", mnt])
        os.rmdir(mnt)
    elif do_mount:
        problem = check_mount(name, path, secs, mem)
    if problem:
        print("FAIL %s: %s" % (name, problem))
        fail += 1
    elif took > 2:
        print("ok %s (%.1f s)" % (name, took))
shutil.rmtree(tmp, ignore_errors=True)
print("hostile: %d cases%s, %d failed" % (len(cases),
      " (checked and mounted)" if do_mount else "", fail))
sys.exit(1 if fail else 0)
