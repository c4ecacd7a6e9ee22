"""imaplib_util.py - small helpers for the IMAP end-to-end test.

Parsing of IMAP FETCH responses (as returned by Python's imaplib) into
nested lists, BODYSTRUCTURE walking, INTERNALDATE parsing, modified UTF-7
(RFC 3501 5.1.3) encoding and decoding.  Python 3 standard library only.
"""

import base64
import datetime
import email.header
import email.utils
import re
import urllib.parse

_TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|(\{\d+\}$)|'
                    rb'([^\s()"]+))', re.S)


def _tokenize(buf, out):
    pos = 0
    while pos < len(buf):
        m = _TOKEN.match(buf, pos)
        if not m:
            if buf[pos:].strip() == b"":
                break
            raise ValueError("cannot tokenize %r" % buf[pos:pos + 40])
        pos = m.end()
        if m.group(1):
            out.append("(")
        elif m.group(2):
            out.append(")")
        elif m.group(3) is not None:
            out.append(("S", re.sub(rb"\\(.)", rb"\1", m.group(3))))
        elif m.group(4):
            pass                      # literal marker: value follows
        elif m.group(5):
            out.append(("A", m.group(5)))


def parse_fetch(data):
    """imaplib fetch data of ONE message -> nested list (strings are bytes,
    atoms are str, NIL is None)."""
    toks = []
    for item in data:
        if isinstance(item, tuple):
            _tokenize(item[0], toks)
            toks.append(("S", item[1]))
        elif item is not None:
            _tokenize(item, toks)
    stack = [[]]
    for t in toks:
        if t == "(":
            stack.append([])
        elif t == ")":
            lst = stack.pop()
            stack[-1].append(lst)
        elif t[0] == "S":
            stack[-1].append(t[1])
        else:
            a = t[1].decode("ascii", "replace")
            stack[-1].append(None if a.upper() == "NIL" else a)
    while len(stack) > 1:             # unbalanced: be lenient
        lst = stack.pop()
        stack[-1].append(lst)
    return stack[0]


def fetch_items(data):
    """-> dict of FETCH item name (upper case) -> value, for one message."""
    top = parse_fetch(data)
    lst = next((x for x in top if isinstance(x, list)), [])
    d = {}
    for i in range(0, len(lst) - 1, 2):
        k = lst[i]
        if isinstance(k, str):
            d[k.upper()] = lst[i + 1]
    return d


def _s(v):
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def _params(lst):
    d = {}
    if isinstance(lst, list):
        for i in range(0, len(lst) - 1, 2):
            d[_s(lst[i]).lower()] = _s(lst[i + 1])
    return d


def _filename(params):
    """RFC 2231 (with continuations) or RFC 2047 file name from params."""
    if "filename*" in params:
        return _decode2231(params["filename*"])
    if "filename*0*" in params or "filename*0" in params:
        pieces = []
        i = 0
        enc = False
        while True:
            if "filename*%d*" % i in params:
                pieces.append(params["filename*%d*" % i])
                enc = enc or i == 0
            elif "filename*%d" % i in params:
                pieces.append(params["filename*%d" % i])
            else:
                break
            i += 1
        v = "".join(pieces)
        return _decode2231(v) if enc else v
    if "filename" in params:
        return _decode2047(params["filename"])
    return None


def _decode2231(v):
    if v.count("'") < 2:
        return urllib.parse.unquote(v)
    charset, _lang, value = v.split("'", 2)
    return urllib.parse.unquote_to_bytes(value).decode(charset or "ascii",
                                                       "replace")


def _decode2047(v):
    if "=?" not in v:
        return v
    return str(email.header.make_header(email.header.decode_header(v)))


def leaf_parts(bs, prefix=""):
    """BODYSTRUCTURE -> [(part_number, 'type/subtype', disposition, filename,
    encoding, size)] for every leaf part, in order."""
    out = []
    if bs and isinstance(bs[0], list):                 # multipart
        n = 0
        for sub in bs:
            if not isinstance(sub, list):
                break
            n += 1
            out += leaf_parts(sub, (prefix + "." if prefix else "") + str(n))
        return out
    typ = (_s(bs[0]) or "").lower()
    sub = (_s(bs[1]) or "").lower()
    params = _params(bs[2])
    enc = (_s(bs[5]) or "").lower()
    size = int(bs[6]) if bs[6] is not None else 0
    # extension data: text has "lines" at 7; message/rfc822 has envelope,
    # body, lines; then md5, disposition
    base = 7
    if typ == "text":
        base = 8
    elif typ == "message" and sub == "rfc822":
        base = 10
    disp = None
    fname = None
    if len(bs) > base + 1 and isinstance(bs[base + 1], list):
        dl = bs[base + 1]
        disp = (_s(dl[0]) or "").lower()
        fname = _filename(_params(dl[1] if len(dl) > 1 else None))
    if fname is None and "name" in params:
        fname = _decode2047(params["name"])
    out.append((prefix or "1", typ + "/" + sub, disp, fname, enc, size))
    return out


def top_type(bs):
    if bs and isinstance(bs[0], list):
        sub = next((x for x in bs if not isinstance(x, list)), b"")
        return "multipart/" + (_s(sub) or "").lower()
    return ((_s(bs[0]) or "") + "/" + (_s(bs[1]) or "")).lower()


def internaldate_epoch(v):
    s = _s(v)
    return datetime.datetime.strptime(s, "%d-%b-%Y %H:%M:%S %z").timestamp()


def mutf7_encode(s):
    out = []
    buf = []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=")
                       .replace("/", ",") + "-")
            buf.clear()
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def mutf7_decode(s):
    def dec(m):
        if m.group(1) == "":
            return "&"
        b = m.group(1).replace(",", "/")
        b += "=" * (-len(b) % 4)
        return base64.b64decode(b).decode("utf-16-be")
    return re.sub(r"&([A-Za-z0-9+,]*)-", dec, s)


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LIST = re.compile(rb'\((.*?)\) (NIL|"(?:[^"\\]|\\.)*") (.*)$')


def list_mailboxes(M):
    """-> [(name, flags)] from LIST "" "*" (names as on the wire)."""
    typ, data = M.list('""', '"*"')
    if typ != "OK":
        raise RuntimeError("LIST failed: %r" % data)
    res = []
    i = 0
    while i < len(data):
        item = data[i]
        if isinstance(item, tuple):                    # literal name
            m = _LIST.match(item[0])
            flags = m.group(1).decode()
            name = item[1].decode()
        else:
            if item is None:
                i += 1
                continue
            m = _LIST.match(item)
            flags = m.group(1).decode()
            name = m.group(3).decode()
            if name.startswith('"'):
                name = re.sub(r"\\(.)", r"\1", name[1:-1])
        res.append((name, flags))
        i += 1
    return res
