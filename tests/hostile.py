#!/usr/bin/env python3
"""Hostile inputs for --check (issue acceptance 4): each must finish quickly
with a clear report, exit 0 or 1 (never a crash), and account for 100 % of
the bytes.  usage: hostile.py CCMAILFS SRCDIR"""
import os
import random
import re
import subprocess
import sys
import tempfile

ccmailfs, src = sys.argv[1], sys.argv[2]
rnd = random.Random(5)
tmp = tempfile.mkdtemp(prefix="ccm-hostile-")
cases = {}

base_path = os.path.join(tmp, "base.ccm")
subprocess.run([sys.executable, os.path.join(src, "scripts/gen-export.py"),
                "--messages", "300", "--accounts", "2", "--seed", "3",
                "--quirks", "all", "--quirk-rate", "0.3", "--out", base_path],
               check=True, stdout=subprocess.DEVNULL)
base = open(base_path, "rb").read()

cases["empty"] = b""
cases["junk-only"] = bytes(rnd.getrandbits(8) for _ in range(1 << 20))
cases["text-junk"] = b"".join(b"just some text line %d\r\n" % i
                              for i in range(20000))
cases["nul-only"] = b"\0" * 100000
for i in range(60):
    cut = rnd.randrange(len(base))
    cases["truncated-%d" % cut] = base[:cut]
nul = bytearray(base)
for _ in range(2000):
    nul[rnd.randrange(len(nul))] = 0
cases["nul-bytes"] = bytes(nul)
for name, repl in [("size-zero", b"0"), ("size-huge", b"99999999999"),
                   ("size-negative", b"-12"), ("size-30digits", b"9" * 30),
                   ("size-past-end", str(len(base) * 2).encode())]:
    cases[name] = re.sub(rb"(?m)^( *)\d+( *)\r$", lambda m: repl + b"\r",
                         base)
cases["ctrl-z-middle"] = base[:len(base) // 2] + b"\x1a" * 50 + \
    base[len(base) // 2:]
cases["long-line"] = b"Message:\r\nFrom: A at B\r\nSubject: " + \
    b"x" * (20 << 20) + b"\r\nContents:\r\nText item:\r\n" + \
    b"y" * (20 << 20) + b"\r\n"
cases["many-empty-messages"] = b"Message:\r\nFrom: x\r\nContents:\r\n" * 100000
cases["many-headers"] = b"Message:\r\n" + b"X-H: v\r\n" * 200000 + \
    b"Contents:\r\nText item:\r\nbody\r\n"
cases["only-markers"] = b"Mailbox: a\r\nUser: b\r\n" * 1000
cases["binary-after-message"] = base[:5000] + bytes(range(256)) * 40

fail = 0
for name, data in sorted(cases.items()):
    path = os.path.join(tmp, name + ".ccm")
    with open(path, "wb") as f:
        f.write(data)
    try:
        r = subprocess.run([ccmailfs, "--check", path], capture_output=True,
                           timeout=30)
    except subprocess.TimeoutExpired:
        print("FAIL %s: timed out" % name)
        fail += 1
        continue
    out = r.stdout.decode("utf-8", "replace")
    m = re.search(r"^coverage: (\d+) of (\d+) bytes accounted for "
                  r"\((\d+\.\d+) %\)", out, re.M)
    if r.returncode not in (0, 1):
        print("FAIL %s: exit %d: %s" % (name, r.returncode,
                                         r.stderr.decode()[-300:]))
        fail += 1
    elif not m or m.group(1) != m.group(2) or int(m.group(2)) != len(data):
        print("FAIL %s: coverage line wrong: %s" % (name, m and m.group(0)))
        fail += 1
    os.unlink(path)
os.unlink(base_path)
os.rmdir(tmp)
print("hostile: %d cases, %d failed" % (len(cases), fail))
sys.exit(1 if fail else 0)
