#!/usr/bin/env python3
"""validators.py - every .eml of a quirky export judged by independent
MIME parsers, attachments compared with the generator's ground truth.

    validators.py CCMAILFS SRCDIR [MESSAGES]

Generates an export (5,000 messages by default, 4 accounts, every quirk at
rate 0.3, junk regions), extracts it with `ccmailfs --extract`, then:

  - Python email, policy.default (tests/emlcheck.py): zero defects on
    every .eml;
  - Perl MIME-tools (mimetools-check.pl, one process): zero errors and
    warnings on every .eml, and the decoded attachments of every message
    equal the truth (SHA-256 and size);
  - reformime (maildrop): `reformime -i` sections and `reformime -e -s`
    decoded attachments of every message that has attachments: names and
    SHA-256 equal the truth;
  - mblaze: `mshow -t` and `mshow -O` on every MBLAZE_EVERY-th message with
    attachments (default 1, all of them): names and SHA-256 equal the truth.

Messages map to the truth by their `X-CcMail-Source: <file>; offset=<n>`
header.  Exit 0 pass, 1 fail.  The tools are installed by scripts/deps.sh;
a missing one is a failure.
"""

import collections
import hashlib
import importlib.util
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CCMAILFS = os.path.abspath(sys.argv[1])
SRCDIR = os.path.abspath(sys.argv[2])
NMSG = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
MBLAZE_EVERY = int(os.environ.get("MBLAZE_EVERY", "1"))
JOBS = max(1, min(4, os.cpu_count() or 1))

sys.path.insert(0, os.path.join(SRCDIR, "tests"))
import emlcheck  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "gtcheck", os.path.join(SRCDIR, "tests", "gt-check.py"))
gtcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gtcheck)

FAILS = collections.Counter()


def log(*a):
    print(*a, flush=True)


def fail(kind, msg):
    FAILS[kind] += 1
    if FAILS[kind] <= 10:
        log("FAIL: %s: %s" % (kind, msg))
    elif FAILS[kind] == 11:
        log("FAIL: %s: (more not shown)" % kind)


for tool in ("perl", "reformime", "mshow"):
    if not shutil.which(tool):
        log("FAIL: %s is missing (scripts/deps.sh installs maildrop, "
            "mblaze, libmime-tools-perl)" % tool)
        sys.exit(1)
if subprocess.run(["perl", "-MMIME::Parser", "-e", "1"]).returncode:
    log("FAIL: Perl MIME-tools is missing (libmime-tools-perl)")
    sys.exit(1)

SRC_RE = re.compile(rb"^X-CcMail-Source:\s*(.*?)\s*;\s*offset\s*=\s*(\d+)"
                    rb"\s*$", re.M | re.I)


def source_of(path):
    with open(path, "rb") as f:
        head = f.read(65536)
    m = re.search(rb"\r?\n\r?\n", head)
    m = SRC_RE.search(head[:m.start()] if m else head)
    return (m.group(1).decode("utf-8", "replace"), int(m.group(2))) \
        if m else None


def py_check(path):
    with open(path, "rb") as f:
        data = f.read()
    probs, _msg, _parts = emlcheck.check_bytes(data, False)
    return path, probs


def reformime_atts(path):
    """-> [(name, sha256, size)] of the attachment sections."""
    with open(path, "rb") as f:
        data = f.read()
    out = subprocess.run(["reformime", "-i"], input=data,
                         stdout=subprocess.PIPE, check=True).stdout
    res = []
    for block in out.decode("utf-8", "replace").split("\n\n"):
        kv = {}
        for line in block.splitlines():
            k, _, v = line.partition(": ")
            kv.setdefault(k, v)
        if kv.get("content-disposition") != "attachment":
            continue
        raw = subprocess.run(["reformime", "-e", "-s", kv["section"]],
                             input=data, stdout=subprocess.PIPE,
                             check=True).stdout
        res.append((kv.get("content-disposition-filename") or
                    kv.get("content-name"),
                    hashlib.sha256(raw).hexdigest(), len(raw)))
    return path, res


_MSHOW = re.compile(r'^\s*(\d+): (\S+) size=\d+(?: name="(.*)")?$')


def mblaze_parts(path):
    """-> [(name, type, sha256, size)] of the named leaf parts."""
    out = subprocess.run(["mshow", "-t", path], stdout=subprocess.PIPE,
                         check=True).stdout.decode("utf-8", "replace")
    res = []
    for line in out.splitlines():
        m = _MSHOW.match(line)
        if not m or m.group(3) is None or m.group(2).startswith("multipart"):
            continue
        raw = subprocess.run(["mshow", "-O", path, m.group(1)],
                             stdout=subprocess.PIPE, check=True).stdout
        res.append((m.group(3), m.group(2), hashlib.sha256(raw).hexdigest(),
                    len(raw)))
    return path, res


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="ccm-valid.")
    try:
        return run(tmp, t0)
    finally:
        if not os.environ.get("KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, t0):
    exp = os.path.join(tmp, "export.ccm")
    truthf = os.path.join(tmp, "export.json")
    subprocess.run([sys.executable,
                    os.path.join(SRCDIR, "scripts", "gen-export.py"),
                    "--messages", str(NMSG), "--accounts", "4",
                    "--seed", "4242", "--quirks", "all",
                    "--quirk-rate", "0.3", "--junk-rate", "0.02",
                    "--out", exp, "--truth", truthf], check=True)
    truth = json.load(open(truthf))
    tmsg = {(truth["source"], m["offset"]): m for m in truth["messages"]}
    tree = os.path.join(tmp, "x")
    t = time.time()
    r = subprocess.run([CCMAILFS, "--extract", tree, exp])
    if r.returncode > 1:
        log("FAIL: ccmailfs --extract exited %d" % r.returncode)
        return 1
    log("generated %d messages, extracted in %.1f s"
        % (len(tmsg), time.time() - t))
    emls = []
    for dp, dn, fn in os.walk(tree):
        dn.sort()
        emls += [os.path.join(dp, f) for f in sorted(fn)
                 if f.endswith(".eml")]
    by_path = {}
    seen = collections.Counter()
    for p in emls:
        k = source_of(p)
        if k not in tmsg:
            fail("truth", "%s: X-CcMail-Source %r not in the truth" % (p, k))
            continue
        by_path[p] = tmsg[k]
        seen[k] += 1
    for k in tmsg:
        if seen[k] != 1:
            fail("truth", "message at offset %d: %d .eml files"
                 % (k[1], seen[k]))
    log("%d .eml files, %d mapped to the truth" % (len(emls), len(by_path)))

    # Perl MIME-tools runs beside Python's checks (two cores)
    t = time.time()
    perl_out = open(os.path.join(tmp, "mimetools.out"), "w+b")
    perl = subprocess.Popen(["perl", os.path.join(HERE,
                                                  "mimetools-check.pl")],
                            stdin=subprocess.PIPE, stdout=perl_out)
    perl.stdin.write(b"".join(os.fsencode(p) + b"\0" for p in emls))
    perl.stdin.close()
    perl_done = {}
    waiter = threading.Thread(target=lambda: perl_done.setdefault(
        "t", (perl.wait(), time.time())[1]))
    waiter.start()

    # Python email, policy.default
    ndef = 0
    with multiprocessing.Pool(max(1, JOBS - 1)) as pool:
        for p, probs in pool.imap_unordered(py_check, emls, chunksize=50):
            for pr in probs:
                ndef += 1
                fail("python-email", "%s: %s" % (os.path.relpath(p, tree),
                                                 pr))
    t_py = time.time() - t
    log("python email (policy.default): %d files, %d defects (%.1f s)"
        % (len(emls), ndef, t_py))
    waiter.join()
    t_perl = perl_done["t"] - t
    perl_out.seek(0)
    cur = None
    patts = collections.defaultdict(list)
    nwarn = nfiles = natt = 0
    for line in perl_out.read().split(b"\n"):
        if not line:
            continue
        tag, _, rest = line.partition(b"\t")
        if tag == b"F":
            cur = os.fsdecode(rest)
            nfiles += 1
            patts[cur]
        elif tag == b"W":
            nwarn += 1
            fail("mime-tools", "%s: %s" % (os.path.relpath(cur, tree),
                                           rest.decode("utf-8", "replace")))
        elif tag == b"A":
            sha, size = rest.split(b"\t")
            patts[cur].append((None, sha.decode(), int(size)))
            natt += 1
    if nfiles != len(emls):
        fail("mime-tools", "%d files judged, %d expected (exit %d)"
             % (nfiles, len(emls), perl.returncode))
    ncmp = 0
    for p, m in by_path.items():
        want = [dict(a, name=None) for a in m["attachments"]]
        probs = []
        gtcheck.compare_atts(patts.get(p, []), want, probs.append)
        ncmp += len(patts.get(p, []))
        for pr in probs:
            fail("mime-tools-atts", "%s: %s" % (os.path.relpath(p, tree),
                                                pr))
    log("perl MIME-tools: %d files, %d errors/warnings, %d attachments "
        "decoded, %d compared with the truth by SHA-256 and size (%.1f s)"
        % (nfiles, nwarn, natt, ncmp, t_perl))

    # reformime on every message with attachments
    with_atts = [p for p in emls if p in by_path
                 and by_path[p]["attachments"]]
    t = time.time()
    nr = nra = 0
    with multiprocessing.Pool(JOBS) as pool:
        for p, got in pool.imap_unordered(reformime_atts, with_atts,
                                          chunksize=20):
            nr += 1
            nra += len(got)
            probs = []
            gtcheck.compare_atts(got, by_path[p]["attachments"],
                                 probs.append)
            for pr in probs:
                fail("reformime", "%s: %s" % (os.path.relpath(p, tree), pr))
    log("reformime: %d messages with attachments, %d attachments extracted, "
        "names and SHA-256 compared with the truth (%.1f s)"
        % (nr, nra, time.time() - t))

    # mblaze on a sample
    sample = with_atts[::MBLAZE_EVERY]
    t = time.time()
    nm = nma = 0
    with multiprocessing.Pool(JOBS) as pool:
        for p, parts in pool.imap_unordered(mblaze_parts, sample,
                                            chunksize=20):
            nm += 1
            tm = by_path[p]
            got = [(n, s, z) for n, ty, s, z in parts]
            probs = []
            # every truth attachment among the named parts ...
            left = list(got)
            for a in tm["attachments"]:
                k = next((i for i, g in enumerate(left)
                          if g[1] == a["sha256"] and
                          (a["name"] is None or g[0] == a["name"])), None)
                if k is not None:
                    left.pop(k)
                    nma += 1
                elif a["size"]:
                    probs.append("attachment %r (%d bytes, %s..) not among "
                                 "mshow's parts %r" % (
                                     a["name"], a["size"], a["sha256"][:12],
                                     [(g[0], g[2]) for g in got]))
            # ... and the other named parts are the inline text parts
            if len(left) > tm["extra_texts"]:
                probs.append("%d unexpected named parts: %r"
                             % (len(left) - tm["extra_texts"],
                                [(g[0], g[2]) for g in left]))
            for pr in probs:
                fail("mblaze", "%s: %s" % (os.path.relpath(p, tree), pr))
    log("mblaze: %d messages (every %d-th with attachments), %d attachments "
        "(mshow -O) equal to the truth (%.1f s)"
        % (nm, MBLAZE_EVERY, nma, time.time() - t))
    log("total %.1f s" % (time.time() - t0))
    if FAILS:
        log("%d check(s) failed: %s" % (sum(FAILS.values()), dict(FAILS)))
        return 1
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
