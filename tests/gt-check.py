#!/usr/bin/env python3
"""gt-check.py - check an extracted ccmailfs tree against ground truth.

    gt-check.py [--crlf] [--jobs N] TREE TRUTH.json [TRUTH2.json ...]

TREE is a mounted or copied ccmailfs tree: TREE/<account>/<folder...>/
*.eml and *.error.txt; plain files at the root (the summary report) are
ignored.  Each TRUTH.json is written by scripts/gen-export.py (one SOURCE
object, or {"sources": [...]} from --split).

For every .eml: strict validation (emlcheck.py), then match by its
X-CcMail-Source header ("<source>; offset=<n>") to a truth message, and
compare account directory, folder path, Subject, From (display name,
addr-spec, X-CcMail-From), Date (wall clock; X-CcMail-Date for invalid
dates), body (first text/plain part that is not an attachment), the
multiset of attachments (file name, SHA-256 of the decoded bytes) and the
number of extra inline text parts.  Every truth message must appear
exactly once; every .eml must map to a truth message.  For every
*.error.txt, the N bytes after the line "--- raw bytes follow (N) ---" must
equal one truth error region (by account, length and SHA-256), and every
truth error must have one.

Leniencies, stated once: truth attachments of size 0 (CCQ-7) may be absent;
a truth attachment name of null (CCQ-13) matches any file name; a truth
from_name of null is not compared (SMTP forms, CCQ-19).

Exit 0 when there are no problems, 1 otherwise, 2 on usage errors.
Python 3 standard library only.
"""

import argparse
import collections
import hashlib
import json
import multiprocessing
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emlcheck  # noqa: E402

SOURCE_RE = re.compile(r"^\s*(.*?)\s*;\s*offset\s*=\s*(\d+)\s*$")
RAW_RE = re.compile(rb"--- raw bytes follow \((\d+)\) ---\r?\n")
MAX_SHOWN = int(os.environ.get("GT_MAX_SHOWN", "50"))


def _str(h):
    return None if h is None else str(h)


def examine(args):
    """Worker: validate and extract the facts of one .eml."""
    path, crlf = args
    r = {"path": path, "problems": []}
    try:
        with open(path, "rb") as fp:
            data = fp.read()
    except OSError as e:
        r["problems"].append("cannot read: %s" % e)
        return r
    probs, msg, parts = emlcheck.check_bytes(data, crlf)
    r["problems"].extend(probs)
    if msg is None:
        return r
    try:
        _extract(msg, parts, r)
    except Exception as e:
        r["problems"].append("extraction raised %s: %s"
                             % (type(e).__name__, e))
    return r


def _extract(msg, parts, r):
    top = emlcheck.PartInfo(msg, "text/plain")
    get = top.first
    src = _str(get("x-ccmail-source"))
    r["source"] = None
    if src is not None:
        m = SOURCE_RE.match(src)
        if m:
            r["source"] = (m.group(1), int(m.group(2)))
        else:
            r["problems"].append("X-CcMail-Source not '<file>; offset=<n>':"
                                 " %r" % src)
    else:
        r["problems"].append("no X-CcMail-Source header")
    subj = get("subject")
    r["subject"] = "" if subj is None else str(subj)
    fh = get("from")
    r["from_name"] = r["from_addr"] = None
    if fh is not None:
        addrs = getattr(fh, "addresses", ())
        if addrs:
            r["from_name"] = addrs[0].display_name
            r["from_addr"] = addrs[0].addr_spec
    r["x_from"] = _str(get("x-ccmail-from"))
    r["x_date"] = _str(get("x-ccmail-date"))
    dh = get("date")
    r["has_date"] = dh is not None
    r["date"] = None
    if dh is not None:
        dt = getattr(dh, "datetime", None)
        if dt is not None:
            r["date"] = dt.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
    body = None
    texts = 0
    atts = []
    for pi in parts:
        if pi.disposition == "attachment":
            atts.append((pi.filename, hashlib.sha256(pi.payload).hexdigest(),
                         len(pi.payload)))
            continue
        if pi.ctype.startswith("text/"):
            texts += 1
            if body is None and pi.ctype == "text/plain":
                body = pi.payload.decode(pi.charset or "ascii", "replace")
    r["body"] = None if body is None else \
        body.replace("\r\n", "\n").rstrip("\n")
    r["texts"] = texts
    r["atts"] = atts


def load_truth(paths):
    msgs = {}
    errors = collections.defaultdict(list)
    nerr = 0
    for p in paths:
        with open(p, encoding="utf-8") as fp:
            t = json.load(fp)
        for s in (t["sources"] if "sources" in t else [t]):
            for m in s["messages"]:
                msgs[(s["source"], m["offset"])] = m
            for e in s.get("errors", []):
                errors[(e["account"], e["length"], e["sha256"])].append(
                    (s["source"], e["offset"]))
                nerr += 1
    return msgs, errors, nerr


def walk_tree(tree):
    emls, errs = [], []
    for top in sorted(os.listdir(tree)):
        d = os.path.join(tree, top)
        if not os.path.isdir(d):
            continue        # the summary report and other root files
        for root, dirs, files in os.walk(d):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(".eml"):
                    emls.append(os.path.join(root, f))
                elif f.endswith(".error.txt"):
                    errs.append(os.path.join(root, f))
    return emls, errs


def first_diff(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return i, a[max(0, i - 20):i + 30], b[max(0, i - 20):i + 30]


def compare(r, m, rel, P):
    parts = rel.split(os.sep)
    acct, folder = parts[0], parts[1:-1]
    if acct != m["account"]:
        P("account directory %r, expected %r" % (acct, m["account"]))
    if folder != m["folder"]:
        P("folder %r, expected %r" % ("/".join(folder),
                                       "/".join(m["folder"])))
    if r["subject"] != m["subject"]:
        P("Subject %r, expected %r" % (r["subject"], m["subject"]))
    if m["from_name"] is not None and r["from_name"] != m["from_name"]:
        P("From display name %r, expected %r" % (r["from_name"],
                                                 m["from_name"]))
    if m["from_addr"] is not None:
        got = r["from_addr"] or ""
        want = m["from_addr"]
        gl, _, gd = got.rpartition("@")
        wl, _, wd = want.rpartition("@")
        if gl != wl or gd.lower() != wd.lower():
            P("From address %r, expected %r" % (got, want))
    if r["x_from"] is None:
        P("no X-CcMail-From (expected %r)" % m["from_raw"])
    elif r["x_from"].strip() != m["from_raw"]:
        P("X-CcMail-From %r, expected %r" % (r["x_from"], m["from_raw"]))
    if m["date"] is not None:
        if r["date"] != m["date"]:
            P("Date %s, expected %s" % (r["date"], m["date"]))
    else:
        if not r["has_date"]:
            P("no Date header (expected a fallback date)")
        if m["date_raw"] is not None and \
                (r["x_date"] or "").strip() != m["date_raw"]:
            P("X-CcMail-Date %r, expected %r" % (r["x_date"], m["date_raw"]))
    body = r["body"] if r["body"] is not None else ""
    want = m["body"].rstrip("\n")
    if body != want:
        i, g, w = first_diff(body, want)
        P("body differs at char %d (len %d vs %d): got %r, expected %r"
          % (i, len(body), len(want), g, w))
    # extra inline text parts (CCQ-29)
    extra = r["texts"] - (1 if r["body"] is not None else 0)
    if extra != m["extra_texts"]:
        P("%d extra text parts, expected %d" % (extra, m["extra_texts"]))
    compare_atts(r["atts"], m["attachments"], P)


def compare_atts(got, want, P):
    left = list(got)
    missing = []
    wild = []
    for a in want:
        if a["name"] is None:
            wild.append(a)
            continue
        k = next((i for i, g in enumerate(left)
                  if g[0] == a["name"] and g[1] == a["sha256"]), None)
        if k is None:
            if a["size"] != 0:
                missing.append(a)
        else:
            left.pop(k)
    for a in wild:
        k = next((i for i, g in enumerate(left) if g[1] == a["sha256"]),
                 None)
        if k is None:
            if a["size"] != 0:
                missing.append(a)
        else:
            left.pop(k)
    for a in missing:
        # say whether the name or the bytes are wrong
        same_bytes = [g for g in left if g[1] == a["sha256"]]
        same_name = [g for g in left if g[0] == a["name"]]
        if same_bytes:
            P("attachment named %r, expected %r" % (same_bytes[0][0],
                                                    a["name"]))
            left.remove(same_bytes[0])
        elif same_name:
            P("attachment %r: %d bytes, sha256 %s.., expected %d bytes, "
              "%s.." % (a["name"], same_name[0][2], same_name[0][1][:12],
                        a["size"], a["sha256"][:12]))
            left.remove(same_name[0])
        else:
            P("missing attachment %r (%d bytes)" % (a["name"], a["size"]))
    for g in left:
        P("unexpected attachment %r (%d bytes)" % (g[0], g[2]))


def check_error_file(path, tree, terrs, P):
    try:
        with open(path, "rb") as fp:
            data = fp.read()
    except OSError as e:
        P("cannot read: %s" % e)
        return False
    m = RAW_RE.search(data)
    if not m:
        P("no '--- raw bytes follow (N) ---' line")
        return False
    n = int(m.group(1))
    raw = data[m.end():m.end() + n]
    if len(raw) < n:
        P("raw bytes truncated: %d of %d" % (len(raw), n))
        return False
    extra = data[m.end() + n:]
    if extra not in (b"", b"\n", b"\r\n"):
        P("%d bytes after the raw bytes" % len(extra))
    acct = os.path.relpath(path, tree).split(os.sep)[0]
    key = (acct, n, hashlib.sha256(raw).hexdigest())
    if terrs.get(key):
        terrs[key].pop()
        return True
    same = [k for k, v in terrs.items() if v and k[1:] == key[1:]]
    if same:
        P("error entry in account %r, expected %r" % (acct, same[0][0]))
        terrs[same[0]].pop()
        return True
    P("error entry (%d raw bytes) matches no truth error region" % n)
    return False


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Check a ccmailfs tree against gen-export ground truth.")
    ap.add_argument("--crlf", action="store_true",
                    help=".eml files use CRLF line ends (-o crlf)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("tree")
    ap.add_argument("truth", nargs="+")
    a = ap.parse_args(argv)
    if not os.path.isdir(a.tree):
        ap.error("%s is not a directory" % a.tree)
    msgs, terrs, nterr = load_truth(a.truth)
    emls, errfiles = walk_tree(a.tree)
    problems = []

    def add(path, text):
        problems.append("%s: %s" % (os.path.relpath(path, a.tree)
                                    if path else "-", text))

    seen = {}
    natt = 0
    work = [(p, a.crlf) for p in emls]
    if a.jobs > 1 and len(work) > 50:
        with multiprocessing.Pool(a.jobs) as pool:
            results = list(pool.imap(examine, work, chunksize=32))
    else:
        results = [examine(w) for w in work]
    for r in results:
        path = r["path"]
        for x in r["problems"]:
            add(path, x)
        src = r.get("source")
        if src is None:
            continue
        m = msgs.get(src)
        if m is None:
            add(path, "no truth message at %s offset %d" % src)
            continue
        if src in seen:
            add(path, "second .eml for %s offset %d (first: %s)"
                % (src[0], src[1], os.path.relpath(seen[src], a.tree)))
            continue
        seen[src] = path
        natt += len(r.get("atts", ()))
        if "body" not in r:
            continue
        compare(r, m, os.path.relpath(path, a.tree),
                lambda t, p=path: add(p, t))
    for key, m in msgs.items():
        if key not in seen:
            add(None, "missing message %s offset %d (account %s, subject "
                "%r)" % (key[0], key[1], m["account"], m["subject"]))
    nerr_ok = 0
    for path in errfiles:
        if check_error_file(path, a.tree, terrs,
                            lambda t, p=path: add(p, t)):
            nerr_ok += 1
    for key, lst in terrs.items():
        for src, off in lst:
            add(None, "missing error entry for %s offset %d (%d bytes, "
                "account %s)" % (src, off, key[1], key[0]))
    print("gt-check: %d .eml checked (%d truth messages), %d attachments, "
          "%d error files (%d truth errors), %d problems"
          % (len(emls), len(msgs), natt, len(errfiles), nterr,
             len(problems)))
    for x in problems[:MAX_SHOWN]:
        print("  " + x)
    if len(problems) > MAX_SHOWN:
        print("  ... %d more" % (len(problems) - MAX_SHOWN))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
