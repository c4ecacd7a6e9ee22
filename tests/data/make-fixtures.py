#!/usr/bin/env python3
"""Write the small fixture exports used by the golden and unit tests.

Each fixture exercises named quirks of ../shared/reference/ccmail-format.md
(CCQ-n).  The files are committed; rerun this script after changing it and
review the golden diffs (tests/golden/update.sh).  Standard library only.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CRLF = b"\r\n"


def L(*lines, eol=CRLF):
    return b"".join(x + eol for x in lines)


def size_line(n, width=8, eol=CRLF):
    return str(n).rjust(width).encode() + eol


def message(headers, items, msize=True, csize=True, eol=CRLF, sep=CRLF,
            msize_override=None, blank_msize=False):
    """Build one message with /ITEMSIZE sizes computed the project's way:
    message size = bytes after its size line to the end of the message,
    contents size = bytes after its size line to the end, item size =
    payload bytes.  items: list of (item line, payload bytes, opts dict)."""
    body = b""
    for line, payload, opt in items:
        body += line + eol
        if opt.get("size", True):
            if opt.get("blank"):
                body += b"        " + eol
            else:
                body += size_line(len(payload) + opt.get("delta", 0),
                                  eol=eol)
        body += payload + opt.get("sep", sep)
    contents = body
    head = b"".join(h + eol for h in headers) + b"Contents:" + eol
    if csize:
        rest = head + size_line(len(contents), eol=eol) + contents
    else:
        rest = head + contents
    out = b"Message:" + eol
    if msize:
        if blank_msize:
            out += b"        " + eol
        else:
            n = len(rest) if msize_override is None else msize_override
            out += size_line(n, eol=eol)
    return out + rest


def T(text):
    return (b"Text item:", text, {})


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


BIN = bytes(range(256)) + b"\r\nMessage:\r\n     123\r\nFrom: Fake at PO\r\n" \
    + b"\r\nText item:\r\n   12\r\n" + bytes(range(255, -1, -1))

# 1. The only verbatim sample (Q184052); its sizes are illustrative only.
write("q184052.ccm", L(b"Message:", b"179", b"From: Grewal, Jeff at Hub",
                       b"Date: 6/2/98 8:39", b"To: Admin at HUBPO2",
                       b"Subject: Another message", b"Contents:", b"58",
                       b"Text item:", b"32", b"This is the message body"))

# 2. CCQ-1: blocks not followed by CR LF (seed bug Q184391).
m1 = message([b"From: Smith, Jane at SALESPO", b"Date: 6/2/98 8:39",
              b"To: Grewal, Jeff at HUB", b"Subject: text runs on"],
             [(b"Text item:", b"Line one\r\nLine two", {"sep": b""})])
m2 = message([b"From: Grewal, Jeff at HUB", b"Date: 6/3/98 14:05",
              b"To: Smith, Jane at SALESPO", b"Subject: binary runs on"],
             [T(b"See attached."),
              (b"File item: DATA.BIN 5/6/97 3:10PM", BIN, {"sep": b""})])
m3 = message([b"From: Smith, Jane at SALESPO", b"Date: 6/4/98 9:00",
              b"Subject: unsized text runs on"],
             [(b"Text item:", b"No size here", {"size": False, "sep": b""})],
             msize=False, csize=False)
write("runon.ccm", m1 + m2 + m3 + message(
    [b"From: A at B", b"Date: 6/5/98 10:00", b"Subject: last"],
    [T(b"end")]))

# 3. CCQ-2: size lines written as spaces (seed bug Q287056).
write("blank-sizes.ccm",
      message([b"From: Smith, Jane at SALESPO", b"Date: 1/2/99 8:00",
               b"To: Admin at HUBPO2", b"Subject: every size blank"],
              [(b"Text item:", b"Body text\r\nsecond line", {"blank": True}),
               (b"File item: NOTES.TXT", b"plain attachment\r\nline 2",
                {"blank": True})], blank_msize=True, csize=False)
      + message([b"From: Admin at HUBPO2", b"Date: 1/3/99 9:00",
                 b"Subject: item size blank only"],
                [(b"Text item:", b"Hello", {"blank": True})]))

# 4. CCQ-3: binary payloads that look like tokens, skipped by size.
write("binary-tokens.ccm",
      message([b"From: Smith, Jane at SALESPO", b"Date: 2/10/98 11:28",
               b"Subject: tokens inside a binary"],
              [T(b"Two attachments follow."),
               (b"File item: TOKENS.BIN", BIN, {}),
               (b"Graphics item: PIC.PCX", b"\x0a\x05\x01\x08" + BIN, {})])
      + message([b"From: A at B", b"Date: 2/11/98 8:00", b"Subject: next"],
                [T(b"still here")]))

# 5. CCQ-4: sizes that do not fit.
write("size-off.ccm",
      message([b"From: A at B", b"Date: 3/1/98 8:00",
               b"Subject: message size wrong"], [T(b"body")],
              msize_override=7)
      + message([b"From: A at B", b"Date: 3/2/98 8:00",
                 b"Subject: item size counts the separator"],
                [(b"Text item:", b"body two", {"delta": 2}),
                 (b"File item: X.BIN", BIN, {"delta": 2})])
      + message([b"From: A at B", b"Date: 3/3/98 8:00",
                 b"Subject: item size off by three"],
                [(b"Text item:", b"body three", {"delta": -3})])
      + b"Message:\r\n" + size_line(99999) + L(
          b"From: A at B", b"Date: 3/4/98 8:00",
          b"Subject: sizes point past the end", b"Contents:")
      + size_line(88888) + b"File item: CUT.BIN\r\n" + size_line(77777)
      + b"only a few bytes\r\n")

# 6. CCQ-5: no Contents: line.
write("no-contents.ccm",
      L(b"Message:", b"From: A at B", b"Date: 4/1/98 8:00",
        b"Subject: header only, no contents")
      + L(b"Message:", b"From: A at B", b"Date: 4/2/98 8:00",
          b"Subject: body without contents", b"This line is body text",
          b"Note: so is this") +
      message([b"From: A at B", b"Date: 4/3/98", b"Subject: after"],
              [T(b"ok")]))

# 7. CCQ-6: unknown header tokens and item kinds.
write("unknown-tokens.ccm", message(
    [b"From: Smith, Jane at SALESPO", b"Date: 5/1/98 8:00",
     b"To: Admin at HUBPO2", b"Subject: unknown things",
     b"Priority: Urgent", b"RRT: Smith, Jane at SALESPO",
     b"X-Odd Token: some value", b"Folder: Projects\\1998"],
    [T(b"Body."), (b"Widget item: THING.DAT", b"\x00\x01widget\x02", {}),
     (b"Sound item: HELLO.WAV", b"RIFF\x04\x00\x00\x00WAVE", {}),
     (b"Fax item:", b"\x0a\x05\x01fax", {})]))

# 8. CCQ-7: zero-length items.
write("zero-items.ccm", message(
    [b"From: A at B", b"Date: 5/2/98 8:00", b"Subject: empty items"],
    [(b"Text item:", b"", {}), (b"File item: EMPTY.TXT", b"", {}),
     T(b"after the empty ones")]) + message(
    [b"From: A at B", b"Date: 5/3/98 8:00", b"Subject: nothing at all"], []))

# 9. CCQ-8, 9, 11: dates.
dates = [b"2/31/99 10:00", b"1/1/00 0:00", b"12/31/69 23:59",
         b"1/1/70 0:00", b"25/12/98 8:00", b"6/2/1998 8:39 PM",
         b"12/1/98 12:05AM", b"7-4-1998 7:04:33", b"3.15.98 13:45",
         b"1/1/1900 0:00", b"13/13/98 1:00", b"banana"]
write("dates.ccm", b"".join(
    message([b"From: A at B", b"Date: " + d, b"Subject: date " + d],
            [T(b"x")]) for d in dates) + message(
    [b"From: A at B", b"Subject: no date line"], [T(b"x")]))

# 10. CCQ-12: attachment titles with date stamps and paths.
titles = [b"BUDGET.WK4 5/6/97 3:10PM", b"ATT.TXT 9-11-1998",
          b"REPORT.DOC 1/1/98", b"C:\\DATA\\..\\SECRET.XLS",
          b"../../etc/passwd", b"5/6/97 3:10PM", b"", b"My File.pdf"]
write("attach-names.ccm", message(
    [b"From: A at B", b"Date: 6/1/98 8:00", b"Subject: names"],
    [T(b"names")] + [(b"File item: " + t if t else b"File item:",
                      b"%PDF-1.1 x" if t.endswith(b"pdf") else
                      b"PK\x03\x04zip" if not t else b"payload",
                      {}) for t in titles]))

# 11. CCQ-16..19: addresses.
write("addresses.ccm", message(
    [b"From: ,Test User [SMTP:Test.User@Example.COM] at EXCHSITE",
     b"Date: 6/2/98 8:00",
     b"To: at PO_NAME", b"To: Admin", b"To: Last, First at PO1",
     b"To: Doe, John at PO5, Roe, Jane at PO6",
     b"Cc: user@example.com at INTERNET", b"Cc: [SMTP:x.y@example.org]",
     b"Cc: [ccmail:someone@example.net at internet]",
     b"Bcc: #Social at PO5", b"Bcc: First Middle. Last at PO2",
     b"Subject: addresses"], [T(b"addr")]))

# 12. CCQ-24, 25: highlight codes and Ctrl-Z.
write("control-codes.ccm", message(
    [b"From: A at B", b"Date: 6/3/98 8:00", b"Subject: control\x01 codes"],
    [T(b"plain \x1eAhighlighted\x1f0 text\x07 bell\r\nline\x1atwo\x0cpage")])
    + b"\x1a\x1a")

# 13. CCQ-26: LF-only, CR-only and mixed line ends.
write("line-ends.ccm",
      message([b"From: A at B", b"Date: 6/4/98 8:00", b"Subject: LF only"],
              [(b"Text item:", b"one\ntwo", {"sep": b"\n"})], eol=b"\n",
              sep=b"\n")
      + message([b"From: A at B", b"Date: 6/5/98 8:00", b"Subject: CR only"],
                [(b"Text item:", b"one\rtwo", {"sep": b"\r"})], eol=b"\r",
                sep=b"\r")
      + message([b"From: A at B", b"Date: 6/6/98 8:00", b"Subject: mixed"],
                [T(b"a\r\nb\nc\rd")]))

# 14. CCQ-27: code page 850 text.
write("codepage.ccm", message(
    [b"From: M\x81ller, J\x81rgen at M\x9aNCHEN",
     b"Date: 6/7/98 8:00", b"To: Pe\xa4a, Jos\x82 at MADRID",
     b"Subject: Gr\x81\xe1e aus M\x81nchen \x9c",
     b"Folder: Pers\x94nlich\\Caf\x82"],
    [T(b"\x84\x94\x81 \x8e\x99\x9a \xe1 \x82\x85\x8a"),
     (b"File item: R\x82SUM\x90.TXT", b"cv", {})]))

# 15. CCQ-31: an empty export.
write("empty.ccm", b"")

# 16. CCQ-35 and SPEC 1.2: console noise, markers, junk.
write("console.ccm",
      L(b"EXPORT 8.50.00.14 Copyright(c) 1991, 1999 by cc:Mail, Inc.",
        b"Post office directory: e:\\ccmail\\ccdata",
        b'Exporting messages in mailbox "smithj" to file EXPORT\\MSG4A27.CCM')
      + message([b"From: Smith, Jane at SALESPO", b"Date: 7/1/98 8:00",
                 b"Subject: in smithj"], [T(b"one")])
      + L(b"this is junk between messages", b"and more junk")
      + L(b"Mailbox: grewalj")
      + message([b"From: Grewal, Jeff at HUB", b"Date: 7/2/98 8:00",
                 b"Subject: in grewalj"], [T(b"two")])
      + L(b"Account: admin", b"")
      + message([b"From: Admin at HUBPO2", b"Date: 7/3/98 8:00",
                 b"Subject: in admin", b"Folder: Drafts"], [T(b"three")])
      + L(b"User: smithj")
      + message([b"From: Smith, Jane at SALESPO", b"Date: 7/4/98 8:00",
                 b"Subject: back in smithj"], [T(b"four")])
      + L(b"EXPORT process ended with error: 4."))

# 17. Truncated in the middle of an attachment.
full = message([b"From: A at B", b"Date: 8/1/98 8:00",
                b"Subject: cut short"],
               [T(b"text"), (b"File item: BIG.BIN", BIN * 4, {})])
write("truncated.ccm", message([b"From: A at B", b"Date: 7/31/98 8:00",
                                b"Subject: whole"], [T(b"fine")])
      + full[:len(full) - 700])
