#!/usr/bin/env python3
"""gen-export.py - deterministic synthetic Lotus cc:Mail export generator.

Writes a realistic cc:Mail EXPORT.EXE text dump (the layout documented in
SPEC.md 1.1 and reference/ccmail-format.md 1.4-1.12) together with a JSON
ground-truth file that says exactly what a correct converter must produce.
Exporter quirks (CCQ-n) are injected at a chosen rate and recorded per
message; every quirk stays recoverable, i.e. the ground truth is exactly
derivable from the bytes under the project's conventions.

Same arguments give identical bytes: everything comes from one
random.Random(seed); nothing depends on the clock or on hash order.
Python 3 standard library only.

    gen-export.py --messages 30 --accounts 3 --seed 1 \\
                  --out sample.ccm --truth sample.truth.json
    gen-export.py --verify sample.ccm --truth sample.truth.json

Truth format: see the TRUTH FORMAT block below, or --help-truth.
The bundled sample is made with
    gen-export.py --messages 30 --accounts 3 --seed 1 --quirks all \
        --quirk-rate 0.3 --junk-rate 0.05 --out tests/data/sample.ccm \
        --truth tests/data/sample.truth.json

What the quirks look like in the bytes (at most one of CCQ-1/2/4/5 per
message; none of them on a message followed by junk, console noise or
padding, whose sizes are always exact and whose last line ends in CR LF):
  CCQ-1  an item's separator omitted: "...last lineMessage:\r\n" or
         "<binary>File item: ...".  Only on an item with an exact size whose
         payload does not end in CR or LF, and only before another item or
         "Message:" (never before a marker, junk or end of file).
  CCQ-2  a size field of spaces only ("        ", sometimes 1-4 spaces):
         message, contents or item size.  A blanked item never holds a
         token look-alike at a line start (TOKEN_LS_RE) and never ends in
         CR, LF, blank or Ctrl-Z; binary payloads are altered to be so.
  CCQ-3  (recorded, not injected) payloads with token look-alikes at line
         starts: "\r\nMessage:\r\n     123\r\nFrom: x\r\n",
         "\r\nText item:\r\n", "User: root" ...; text bodies quoting an
         export; always with exact sizes.
  CCQ-4  message or contents size 3-9 bytes short (the tail never holds a
         token look-alike), or a text item size that counts its CR LF
         separator (+2; payload then never ends in CR or LF).
  CCQ-5  no Contents: line: the header lines, then the next "Message:" (or
         marker, or end of file).  Truth: no body, no attachments.
  CCQ-6  unknown header lines ("X-Foo-Token: bar", "Unread: Yes", ...) and
         unknown item kinds ("Widget item: x.dat") -> attachments.
  CCQ-7  "Text item:" or "File item: EMPTY.TXT" with size 0 (truth: body
         "", attachment of size 0, which gt-check treats as optional).
  CCQ-8  invalid dates (2/31/99, 4/31/98, 2/29/99, 0/0/95, 13/40/95) -> date
         null, date_raw kept; or no Date: line (date and date_raw null).
  CCQ-9  four-digit years, 69 (= 2069) and 70 (= 1970), 1/1/1900.
  CCQ-11 mdy: day > 12 written first (25/12/98); separators - and .,
         AM/PM ("3:10PM", "3:10 PM"), seconds, zero padding.  With
         --dateorder dmy every date is D/M/Y.
  CCQ-12 file titles with stamps: "BUDGET.WK4 5/6/97 3:10PM",
         "NAME.EXT 9-11-1998", "NAME.EXT 1/1/98" (truth: name only).
  CCQ-13 file item with an empty or date-only title (truth name null).
  CCQ-16 "To: at PO5".  CCQ-17 "To: Admin", "From: Postmaster".
  CCQ-18 "Smith, Jane, Jr. at HUB".  CCQ-19 "user@example.com at INTERNET",
         "[SMTP:user@example.com]", ",User [SMTP:User@dom] at EXSITE",
         "#Social at PO5", "#Social".
  CCQ-22 config pseudo-messages: Folder: Preferences/Rules/Stationery, no
         Subject:, "Contents:" with size 0 and no items.
  CCQ-24 0x1E/0x1F + attribute byte 0x20..0x7F around a word, stray C0
         bytes inside lines (never next to CR/LF).
  CCQ-25 0x1A in place of a space inside a text line (truth: LF); file
         quirk: trailing 0x1A bytes (1-5, or padding to 128).
  CCQ-26 line ends CR LF / LF / CR mixed in header lines, text lines and
         separators (a bare CR is never followed by LF); also whitespace
         padding lines after a message.
  CCQ-27 code-page letters in subjects, names, bodies, folders, file names.
  CCQ-29 extra text items ("Text item: Part 2") or a 20-40 KB body with a
         2000+ character line.  CCQ-30 a To: line of 45-90 recipients.
  CCQ-31 --messages 0: an empty file.  CCQ-34 the previous message again.
  CCQ-35 console lines (EXPORT ... Copyright, Post office directory:,
         EXPORT process ended with error: 4.) and the "Exporting messages
         in mailbox" banner, which starts an account.
Junk (--junk-rate): 1-6 lines of text or binary after a message, each
line starting with a non-blank, non-letter byte, no Ctrl-Z, ending CR LF,
followed by "Message:" or a marker; recorded as an error entry.
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import random
import re
import sys

TRUTH_DOC = r"""
TRUTH FORMAT (JSON, UTF-8)

Single export file:  one SOURCE object.
--split:             {"sources": [SOURCE, ...]}  (one combined file).

SOURCE = {
  "source":   "sample.ccm"      export file base name (as in X-CcMail-Source)
  "codepage": 850, "dateorder": "mdy",
  "size":     <file size in bytes>,
  "accounts": ["sample", "smithj", ...]   default account (file base name
              without extension) unless replaced by a banner at the very
              start, then every marker account, in file order
  "markers":  [{"offset", "length", "account", "kind"}]   account markers
  "noise":    [{"offset", "length"}]     CCQ-35 console lines (ignorable)
  "padding":  [{"offset", "length"}]     whitespace / Ctrl-Z padding
  "file_quirks": ["CCQ-25", "CCQ-35", ...]
  "messages": [MESSAGE, ...]  in file order
  "errors":   [{"offset", "length", "account", "sha256"}]   junk regions
              that must become *.error.txt entries (raw bytes exact)
}
MESSAGE = {
  "offset": <offset of "Message:">, "length": <bytes of the message>,
  "account": "smithj", "folder": ["Projects", "1998"]  (["Inbox"] if none),
  "subject": str, "from_raw": str,
  "from_name": str or null (null: display name not prescribed),
  "from_addr": str or null (null: synthesised by the converter),
  "to_raw": [str], "cc_raw": [str], "bcc_raw": [str],
  "date": "YYYY-MM-DD HH:MM:SS" or null, "date_raw": str or null,
  "body": str   first text item, CCQ-24 codes removed, 0x1A -> LF,
                line ends -> LF, no trailing LF ("" when none),
  "attachments": [{"name": str or null (null: any name, CCQ-13),
                   "size", "sha256", "kind"}]   in item order,
  "extra_texts": n   text items after the first (inline parts, CCQ-29),
  "quirks": ["CCQ-2", ...],
  "layout": {"msize": "     612" or "   " (raw size field),
             "csize": raw field or null when there is no Contents: (CCQ-5),
             "items": [{"kind", "title", "size" (raw field),
                        "payload_offset", "payload_length",
                        "sep" (bytes after the payload: "\r\n", "\n",
                               "\r" or "" for CCQ-1)}]}
}
Size semantics: msize = bytes after the message's own size line to the end
of the message; csize = bytes after the Contents size line to the end of the
message; item size = payload bytes only.
"""

# --------------------------------------------------------------- vocabulary

FIRST = ["Jane", "John", "Jeff", "Mary", "Pat", "Chris", "Anna", "Hans",
         "Peter", "Susan", "Robert", "Linda", "David", "Karen", "Michael",
         "Laura", "Tom", "Ellen", "Frank", "Nancy", "Raj", "Mei", "Olga",
         "Pierre", "Ingrid", "Carlos", "Yuki", "Ahmed", "Fiona", "Greg",
         "Brian", "Sandra", "Kevin", "Donna", "Paul", "Helen", "Mark",
         "Ruth", "Steve", "Alice"]
FIRST_CP = ["José", "François", "Jürgen", "Zoë", "Björn", "Renée", "Inés",
            "Jörg", "Chloé", "Gaëlle", "Hélène", "Jesús", "Göran", "Mónica"]
LAST = ["Smith", "Grewal", "Doe", "Johnson", "Williams", "Brown", "Jones",
        "Miller", "Davis", "Wilson", "Taylor", "Anderson", "Thomas", "Moore",
        "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
        "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter",
        "Mitchell", "O'Brien", "Van Dyke", "McDonald", "Nakamura",
        "Kowalski", "Rossi", "Dubois", "Schmidt", "Patel", "Chen"]
LAST_CP = ["Müller", "García", "Núñez", "Böhm", "Gómez", "Lefèvre",
           "Strauß", "Jäger", "Peña", "Ibáñez", "Høyer", "Özdemir",
           "Brontë", "Dvořák"]
POS = ["HUB", "SALESPO", "HUBPO2", "PO5", "DB8", "CCMAILPO1", "LONDON",
       "PARIS", "NYC_HQ", "FINANCE", "ENG", "MKTG", "DALLAS", "FRANKFURT",
       "TOKYO", "SYDNEY", "LOCALPO"]
BOARDS = ["#Social", "#Announcements", "#For Sale", "#IT-Help", "#Jobs"]
DLS = ["Admin", "All Staff", "Ccm_dl", "Postmaster", "Helpdesk"]
SMTP_USERS = ["jdoe", "mary.k", "sales", "info", "bob_w", "t.nguyen",
              "support", "webmaster", "k.olsen", "ppatel"]
SMTP_DOMAINS = ["example.com", "example.org", "example.net",
                "mail.example.com", "corp.example.org"]

TOPICS = ["Q3 budget", "Staff meeting", "Project status", "Travel plans",
          "New phone list", "Lunch on Friday", "Server downtime tonight",
          "Expense report", "Holiday schedule", "Sales figures",
          "Contract review", "Board presentation", "Network upgrade",
          "Office move", "Parking", "Training session", "Customer visit",
          "Price list", "Year 2000 readiness", "Inventory", "Budget 1999",
          "Weekly report", "Printer on 3rd floor", "Quarterly review",
          "Trade show booth", "Shipping delays", "Invoice #4471",
          "Benefits enrollment", "Fire drill", "cc:Mail migration",
          "Lotus Notes pilot", "Desktop upgrades", "Sales kickoff"]
TOPICS_CP = ["Café Müller order", "Résumé", "Año nuevo party",
             "Straße closure", "Übersicht Q4", "Réunion à Paris",
             "Señor Núñez visit", "Crème brûlée recipe", "Zürich office",
             "Björn's farewell", "Ångström units", "Façade repairs",
             "Prix £ list", "Piñata for the party"]
SUBJ_PREFIX = [("", 55), ("Re: ", 20), ("RE: ", 5), ("Fwd: ", 7),
               ("FW: ", 3), ("Re[2]: ", 3), ("[URGENT] ", 2),
               ("[Fwd: ", 1), ("Lu: ", 1), ("Re: Re: ", 2), ("FYI: ", 1)]
SUBJ_SUFFIX = [("", 80), (" (draft)", 3), (" - please read", 3),
               ("?", 4), (" !!", 1), (" [update]", 3), (" - v2", 3),
               (" (2nd try)", 2), (" 1998", 1)]

WORDS = ("the a we will need to for our and please send me your report by "
         "end of week meeting agenda budget numbers look good I think it "
         "is fine but should check with finance first customer called "
         "about order shipped yesterday can you confirm the price list "
         "update attached see file sales team office server backup "
         "tonight network down from until call if any questions thanks "
         "again project plan schedule slipped two weeks vendor delivered "
         "hardware new printers installed on third floor lunch Friday "
         "noon conference room booked flight hotel reservation expenses "
         "approved quarter results better than expected forecast revised "
         "contract signed legal review draft comments").split()
WORDS_CP = ["café", "déjà", "naïve", "résumé", "Müller", "Straße", "größer",
            "señor", "año", "piñata", "façade", "crème", "über", "Zürich",
            "£50", "½", "±2%", "¿qué?", "¡sí!", "château", "fiancée",
            "Ärger", "Öl", "Übung", "niño", "señal", "âge", "hôtel"]

GREET = ["Hi {f},", "{f},", "Dear {f},", "Hello {f},", "Hi all,",
         "Team,", "Good morning,", "{f} -"]
CLOSE = ["Regards,", "Thanks,", "Cheers,", "Best regards,", "Thanks again,",
         "Talk to you soon,", "-"]

FOLDERS = ["Projects", "Projects\\1998", "Projects\\1999\\Q4", "Drafts",
           "Customers", "Customers\\Acme Corp", "Read Later", "Personal",
           "Budget 1998", "Travel & Expenses", "Archive\\1997",
           "Archive\\1998", "Vendors", "HR", "Team Notes", "Sent Items",
           "Clipboard", "Old Mail", "Projects\\2024", "Meetings\\Weekly",
           "R&D", "Support Cases", "Saved", "To Do"]
FOLDERS_CP = ["Kunden\\Müller GmbH", "Réunions", "Señor Gómez",
              "Übersicht", "Archiv\\Jürgen", "Café Projekt", "Año 1999",
              "Straße 5"]
CONFIG_FOLDERS = ["Preferences", "Rules", "Stationery"]

FILE_NAMES = ["BUDGET.WK4", "REPORT.DOC", "MEMO.TXT", "SALES98.XLS",
              "SETUP.ZIP", "README.TXT", "MINUTES.DOC", "PHONE.LST",
              "AGENDA.WPD", "INVOICE.PDF", "PATCH.EXE", "NOTES.TXT",
              "DATA.DBF", "CONTRACT.DOC", "SLIDES.PPT", "MAP.GIF",
              "Q3 Forecast.xls", "Project Plan.mpp", "ORGCHART.PCX",
              "Meeting Notes.txt", "price list 1999.doc", "EXPORT.LOG",
              "backup.zip", "LETTER.WPD", "FORM.DOC"]
FILE_NAMES_CP = ["Übersicht.doc", "Präsentation.ppt", "CV José.doc",
                 "Café Menü.txt", "Résumé.doc", "Año 1999.xls",
                 "Straße.txt", "Bücher.zip"]
FAX_NAMES = ["FAX0001.PCX", "FAX0417.PCX", "INCOMING.PCX", "FAX9812.PCX"]
GFX_NAMES = ["SCREEN.BMP", "PHOTO.GIF", "LOGO.BMP", "CHART.GIF"]
SND_NAMES = ["GREETING.WAV", "VOICE.WAV", "MEMO1.WAV"]
ODD_ITEMS = [("Widget", ["x.dat", "WIDGET.BIN"]), ("OLE", ["CHART.OLE"]),
             ("Bitmap", ["SCAN001.BMP"]), ("Notes", ["DOCLINK.NDL"])]

MAGIC = {
    "ZIP": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    "DOC": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "XLS":
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "PPT":
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MPP":
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    "PDF": b"%PDF-1.2\r\n%\xe2\xe3\xcf\xd3\r\n", "EXE": b"MZ\x90\x00\x03\x00",
    "GIF": b"GIF89a", "PCX": b"\x0a\x05\x01\x08", "BMP": b"BM",
    "WAV": b"RIFF\x24\x08\x00\x00WAVEfmt ", "WK4": b"\x00\x00\x1a\x00\x02\x10",
    "DBF": b"\x03\x62\x0b\x1c", "WPD": b"\xffWPC", "OLE":
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "NDL": b"<NDL>\r\n",
}
TEXT_EXT = ("TXT", "LST", "LOG")

# Byte sequences that look like export tokens at a line start (CCQ-3).
FAKE_TOKENS = [
    b"\r\nMessage:\r\n     123\r\nFrom: x\r\n",
    b"\r\nText item:\r\n",
    b"\r\nFile item: A.B 1/2/98\r\n      12\r\n",
    b"\nMailbox: evil\r\n",
    b"\rContents:\r\n      40\r\n",
    b"\r\nExporting messages in mailbox \"x\" to file EXPORT\\MSG0001.CCM\r\n",
    b"\r\nUser: root\r\n",
    b"\nMessage:\n\n",
    b"\r\nAccount: nobody\r\n",
    b"\r\n  Message:\r\n",
]
TOKENISH_TEXT = [
    ["Here is what the export file looks like:", "Message:", "     179",
     "From: Grewal, Jeff at Hub", "Contents:", "Text item:", "      32"],
    ["Your new login:", "User: {acct}", "Password: changeme"],
    ["Account: 4471-22", "Mailbox: full, please clean up"],
    ["File item: BUDGET.WK4 5/6/97 3:10PM", "is the one I meant."],
]

NOISE_COPYRIGHT = (b"EXPORT 8.50.00.14 Copyright(c) 1991, 1999 by cc:Mail, "
                   b"Inc.  All Rights Reserved.")
NOISE_PODIR = b"Post office directory: e:\\ccmail\\ccdata"
NOISE_END = b"EXPORT process ended with error: 4."

# A line-start export token (what a scanning parser stops at), or a
# Contents: line to be safe.  Applied at a line start.
TOKEN_RE = re.compile(
    rb"[ \t]*(?:message:|contents:|mailbox:|account:|user:"
    rb"|exporting messages|[a-z][a-z ]* item:)", re.I)
TOKEN_LS_RE = re.compile(
    rb"(?:\A|(?<=[\r\n\x1a]))[ \t]*(?:message:|contents:|mailbox:|account:"
    rb"|user:|exporting messages|[a-z][a-z ]* item:)", re.I)

SUPPORTED = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 18, 19, 22,
             24, 25, 26, 27, 29, 30, 31, 34, 35]
# Per-message quirks picked at --quirk-rate, with relative weights.
PICK = [(1, 6), (2, 6), (4, 6), (5, 3), (6, 4), (7, 3), (8, 4), (9, 4),
        (11, 4), (12, 4), (13, 2), (16, 3), (17, 3), (18, 3), (19, 4),
        (22, 2), (24, 4), (25, 3), (26, 5), (27, 4), (29, 3), (30, 2),
        (34, 2)]
STRUCTURAL = (1, 2, 4, 5)

CTRL_STRAY = bytes(list(range(1, 9)) + [0x0B] + list(range(0x0E, 0x1A)) +
                   [0x1B, 0x1C, 0x1D])
STRIP_RE = re.compile(rb"[\x1e\x1f][\x00-\xff]|[\x1e\x1f]$|"
                      rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1d]")
STAMP_RE = re.compile(r"\s+\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}"
                      r"(\s+\d{1,2}:\d{2}(:\d{2})?\s*([AaPp][Mm])?)?$")


def text_truth(payload, codec):
    """Expected body text for a text payload (CCQ-24, 25, 26)."""
    b = STRIP_RE.sub(b"", payload).replace(b"\x1a", b"\n")
    b = b.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return b.decode(codec).rstrip("\n")


def clean_value(s):
    """Header value as the converter shows it: controls -> space, strip."""
    return "".join(" " if (ord(c) < 0x20 or ord(c) == 0x7f) else c
                   for c in s).strip()


def has_linestart_token(b):
    """True if b has an export-token look-alike at any line start (a line
    start being the start of b or after CR, LF or Ctrl-Z)."""
    return TOKEN_LS_RE.search(b) is not None


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def wchoice(rng, pairs):
    tot = sum(w for _, w in pairs)
    r = rng.random() * tot
    for v, w in pairs:
        r -= w
        if r < 0:
            return v
    return pairs[-1][0]


def size_field(n):
    return b"%8d" % n


# ------------------------------------------------------------------ model

class Item:
    __slots__ = ("kind", "title", "payload", "is_text", "name", "tokens")

    def __init__(self, kind, title, payload, is_text, name=None):
        self.kind = kind          # "Text", "File", "Fax", ... (str)
        self.title = title        # str (unicode), may be ""
        self.payload = payload    # bytes
        self.is_text = is_text
        self.name = name          # expected attachment name (None: any)
        self.tokens = False       # payload has line-start token look-alikes


class Content:
    """What a message says, independent of how sizes/EOLs are written."""

    def __init__(self):
        self.headers = []         # [(token, value unicode)]
        self.items = []
        self.has_contents = True
        self.folder = None        # raw folder value (None: no Folder line)
        self.quirks = set()       # content quirks (kept by a CCQ-34 copy)
        self.from_name = None
        self.from_addr = None


class Render:
    """How a message is written: size fields and line ends."""

    def __init__(self, n_items):
        self.msize = "ok"         # "ok", "blank", or int delta
        self.csize = "ok"
        self.isize = ["ok"] * n_items   # "ok", "blank", "+2"
        self.sep = [b"\r\n"] * n_items
        self.eol26 = False
        self.clean_end = False


# --------------------------------------------------------------- generator

class Generator:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.codec = "cp%d" % a.codepage
        self.q = set(a.quirk_set)
        rng = self.rng

        def ok(s):
            try:
                s.encode(self.codec)
                return True
            except UnicodeEncodeError:
                return False

        cp = 27 in self.q
        self.first_cp = [x for x in FIRST_CP if ok(x)] if cp else []
        self.last_cp = [x for x in LAST_CP if ok(x)] if cp else []
        self.topics_cp = [x for x in TOPICS_CP if ok(x)] if cp else []
        self.words_cp = [x for x in WORDS_CP if ok(x)] if cp else []
        self.folders_cp = [x for x in FOLDERS_CP if ok(x)] if cp else []
        self.files_cp = [x for x in FILE_NAMES_CP if ok(x)] if cp else []
        # Shared random block for binary payloads (cheap slicing).
        self.block = rng.randbytes(1 << 22)
        self.lines = self._line_pool(3000)
        self.lines_cp = [i for i, l in enumerate(self.lines)
                         if not l.isascii()]
        self.persons_global = [self._person() for _ in range(400)]

    # ---------------------------------------------------------- content

    def _line_pool(self, n):
        rng = self.rng
        out = []
        while len(out) < n:
            words = []
            for _ in range(rng.randint(5, 30)):
                if self.words_cp and rng.random() < 0.04:
                    words.append(rng.choice(self.words_cp))
                else:
                    words.append(rng.choice(WORDS))
            if words[0][:1].isascii():
                words[0] = words[0][:1].upper() + words[0][1:]
            sent = " ".join(words) + rng.choice([".", ".", ".", "?", "!"])
            # wrap at 72
            line = ""
            for w in sent.split(" "):
                if line and len(line) + 1 + len(w) > 72:
                    out.append(line)
                    line = w
                else:
                    line = line + " " + w if line else w
            if line:
                out.append(line)
        return out

    def _person(self, cp=False):
        rng = self.rng
        if cp and self.first_cp and rng.random() < 0.5:
            first = rng.choice(self.first_cp)
        else:
            first = rng.choice(FIRST)
        if cp and self.last_cp:
            last = rng.choice(self.last_cp)
        else:
            last = rng.choice(LAST)
        po = rng.choice(POS)
        style = wchoice(rng, [("lf", 60), ("fl", 22), ("lfm", 12),
                              ("lfi", 6)])
        if style == "lf":
            name = "%s, %s" % (last, first)
        elif style == "fl":
            name = "%s %s" % (first, last)
        elif style == "lfm":
            name = "%s, %s %s." % (last, first, rng.choice("ABCDEJKLMRST"))
        else:
            name = "%s, %s" % (last, first[0])
        return (name, po, first, last)

    def make_account(self, name, count):
        rng = self.rng
        owner = self._person(cp=(self.last_cp and rng.random() < 0.1))
        contacts = [rng.choice(self.persons_global) for _ in range(25)]
        if self.last_cp:
            contacts += [self._person(cp=True) for _ in range(3)]
        nf = max(1, self.a.folders)
        pool = list(FOLDERS)
        rng.shuffle(pool)
        folders = ["Inbox"] + pool[:nf - 1]
        if self.folders_cp and nf > 2:
            # one code-page folder per account (replaces the last one)
            folders[-1] = rng.choice(self.folders_cp)
        # dates mostly 1994..2001 whatever the message count
        span = 7 * 365 * 24 * 60
        step = min(900.0, span * 0.6 / max(1, count))
        start = datetime.datetime(1994, 1, 1) + datetime.timedelta(
            minutes=rng.randrange(0, int(span - step * count) + 1))
        return {"name": name, "owner": owner, "contacts": contacts,
                "folders": folders, "clock": start, "step": step}

    def addr(self, p):
        return "%s at %s" % (p[0], p[1])

    def subject(self, cp):
        rng = self.rng
        if cp and self.topics_cp:
            t = rng.choice(self.topics_cp)
        else:
            t = rng.choice(TOPICS)
        pre = wchoice(rng, SUBJ_PREFIX)
        s = pre + t + wchoice(rng, SUBJ_SUFFIX)
        if pre == "[Fwd: ":
            s += "]"
        return s

    def body_lines(self, acct, sender, cp, tokenish, to):
        """Unicode lines of a plain message body."""
        rng = self.rng
        L = []
        first = to[2]
        L.append(rng.choice(GREET).format(f=first))
        L.append("")
        for _ in range(wchoice(rng, [(1, 30), (2, 40), (3, 20), (4, 10)])):
            n = wchoice(rng, [(1, 25), (2, 30), (3, 25), (4, 10), (5, 10)])
            if cp and self.lines_cp and rng.random() < 0.5:
                i = rng.choice(self.lines_cp)
                L.extend(self.lines[i:i + n])
            else:
                i = rng.randrange(len(self.lines) - n)
                L.extend(self.lines[i:i + n])
            L.append("")
        if rng.random() < 0.08:
            L.append("Item\tQty\tPrice")
            for _ in range(rng.randint(1, 4)):
                L.append("%s\t%d\t%d.%02d" % (rng.choice(WORDS),
                         rng.randint(1, 99), rng.randint(1, 999),
                         rng.randrange(100)))
            L.append("")
        if tokenish:
            snip = rng.choice(TOKENISH_TEXT)
            L.extend(x.format(acct=acct["name"]) for x in snip)
            L.append("")
        L.append(rng.choice(CLOSE))
        L.append(sender[0].split(", ")[-1] if ", " in sender[0]
                 else sender[0])
        if rng.random() < 0.25:
            # cc:Mail reply separator with header-looking lines
            other = rng.choice(acct["contacts"])
            L.append("")
            L.append("_" * 30 + " Reply Separator " + "_" * 33)
            L.append("Subject: " + self.subject(False))
            L.append("Author:  " + self.addr(other))
            L.append("Date:    %d/%d/%02d %d:%02d" % (
                rng.randint(1, 12), rng.randint(1, 28), rng.randint(95, 99),
                rng.randint(0, 23), rng.randrange(60)))
            L.append("")
            i = rng.randrange(len(self.lines) - 3)
            L.extend("> " + x for x in self.lines[i:i + 3])
        while L and L[-1] == "":
            L.pop()
        return L

    def text_payload(self, lines, eol26, ctrl=False, ctrlz=False):
        """Encode unicode lines to a text payload.  Returns bytes."""
        rng = self.rng
        enc = [l.encode(self.codec) for l in lines]
        if ctrl or ctrlz:
            cand = [i for i, l in enumerate(enc) if b" " in l.strip()]
            if cand:
                if ctrl:
                    for _ in range(rng.randint(1, 3)):
                        i = rng.choice(cand)
                        enc[i] = self._inject_ctrl(enc[i])
                if ctrlz:
                    i = rng.choice(cand)
                    l = enc[i]
                    sp = [k for k in range(1, len(l) - 1)
                          if l[k] == 0x20 and l[k - 1] not in b"\r\n\x1a "
                          and l[k + 1] not in b"\r\n\x1a "]
                    if sp:
                        k = rng.choice(sp)
                        enc[i] = l[:k] + b"\x1a" + l[k + 1:]
        if not eol26:
            return b"\r\n".join(enc)
        out = []
        prev = None
        for idx, l in enumerate(enc):
            if idx:
                e = wchoice(rng, [(b"\r\n", 4), (b"\n", 3), (b"\r", 3)])
                # a bare CR followed by an empty line ended by LF would read
                # as one CR LF: avoid
                if prev == b"\r" and l == b"" and e == b"\n":
                    e = b"\r\n"
                # an empty line ended by CR followed by ... fine
                out.append(e)
                prev = e
            out.append(l)
        # fix: a bare CR line end must not be followed by LF (empty line
        # whose own terminator is LF) - handled above; also an empty line
        # right after CR whose terminator is CR is fine.
        return b"".join(out)

    def _inject_ctrl(self, l):
        rng = self.rng
        words = [m.start() for m in re.finditer(rb"(?<= )[^ ]", l)]
        if rng.random() < 0.6 and words:
            k = rng.choice(words)
            attr = bytes([rng.randrange(0x20, 0x80)])
            end = l.find(b" ", k)
            if end < 0:
                end = len(l)
            lead = bytes([rng.choice((0x1e, 0x1f))])
            return (l[:k] + lead + attr + l[k:end] + b"\x1f\x70" + l[end:])
        k = rng.randrange(1, len(l))
        return l[:k] + bytes([rng.choice(CTRL_STRAY)]) + l[k:]

    def att_size(self):
        rng = self.rng
        mean = self.a.avg_attach_kb * 1024.0
        sigma = 1.1
        mu = math.log(max(mean, 64)) - sigma * sigma / 2
        n = int(rng.lognormvariate(mu, sigma))
        return max(48, min(n, 3 << 20))

    def binary_payload(self, ext, size, tokens):
        rng = self.rng
        magic = MAGIC.get(ext, b"")
        if ext in TEXT_EXT:
            return self.textfile_payload(size, tokens)
        n = max(0, size - len(magic))
        if n > len(self.block):
            reps = n // len(self.block) + 1
            o = rng.randrange(len(self.block))
            body = (self.block[o:] + self.block * reps)[:n]
        else:
            o = rng.randrange(len(self.block) - n + 1)
            body = self.block[o:o + n]
        p = magic + body
        if tokens and len(p) > 200:
            p = bytearray(p)
            for _ in range(rng.randint(1, 3)):
                t = rng.choice(FAKE_TOKENS)
                k = rng.randrange(len(magic), len(p) - len(t))
                p[k:k + len(t)] = t
            p = bytes(p)
        return p

    def textfile_payload(self, size, tokens):
        rng = self.rng
        out = []
        n = 0
        i = rng.randrange(len(self.lines))
        while n < size:
            l = self.lines[i % len(self.lines)].encode(self.codec)
            i += 1
            out.append(l)
            n += len(l) + 2
            if tokens and rng.random() < 0.05:
                t = rng.choice([b"Message:", b"     123", b"Text item:",
                                b"File item: X.TXT", b"User: admin",
                                b"Mailbox: old"])
                out.append(t)
                n += len(t) + 2
        return b"\r\n".join(out) + b"\r\n"

    def sanitize_for_scan(self, p):
        """Make a binary payload safe to find by scanning (blank size)."""
        p = bytearray(p)
        while True:
            m = TOKEN_LS_RE.search(p)
            if not m:
                break
            # break the token: replace blanks and the first letter
            k = m.start()
            while k < len(p) and p[k] in b" \t":
                p[k] = 0xB0
                k += 1
            if k < len(p):
                p[k] = 0x80 | (p[k] & 0x7f)
        while p and p[-1] in b"\r\n \t\x1a":
            p[-1] = 0xB2
        if p and p[0] in b"\r\n":
            p[0] = 0xB3
        return bytes(p)

    # ------------------------------------------------------------ dates

    def fmt_date(self, y, mo, d, H, M, S, order, style):
        """style: dict(yd=2|4, pad=bool, sep='/', time='24'|'24s'|'ampm'|
        'ampm_sp')"""
        yy = "%02d" % (y % 100) if style["yd"] == 2 else "%04d" % y
        if style["pad"]:
            ds, ms = "%02d" % d, "%02d" % mo
        else:
            ds, ms = "%d" % d, "%d" % mo
        sep = style["sep"]
        if order == "dmy":
            dpart = ds + sep + ms + sep + yy
        elif order == "swap":     # day first although mdy
            dpart = ds + sep + ms + sep + yy
        else:
            dpart = ms + sep + ds + sep + yy
        t = style["time"]
        if t == "24":
            tpart = "%d:%02d" % (H, M)
        elif t == "24s":
            tpart = "%d:%02d:%02d" % (H, M, S)
        else:
            h12 = H % 12 or 12
            ap = "AM" if H < 12 else "PM"
            tpart = "%d:%02d%s%s" % (h12, M, " " if t == "ampm_sp" else "",
                                     ap)
        return dpart + " " + tpart

    def make_date(self, acct, quirks):
        """Returns (date_raw or None, truth 'YYYY-MM-DD HH:MM:SS' or None)."""
        rng = self.rng
        a = self.a
        clk = acct["clock"] + datetime.timedelta(
            minutes=int(rng.expovariate(1 / acct["step"])) + 1)
        acct["clock"] = clk
        dt = clk
        order = a.dateorder
        style = {"yd": 2, "pad": False, "sep": "/", "time": "24"}
        S = 0
        if 11 in quirks:
            # format variants of the /DATE switch and locale (CCQ-11)
            v = rng.randrange(5)
            if v == 0 and order == "mdy":
                if dt.day <= 12:
                    dt = dt.replace(day=rng.randint(13, 28))
                order = "swap"
            elif v == 1:
                style["time"] = rng.choice(["ampm", "ampm_sp"])
            elif v == 2:
                style["time"] = "24s"
                S = rng.randrange(60)
            elif v == 3:
                style["sep"] = rng.choice(["-", "."])
            else:
                style["pad"] = True
                style["time"] = rng.choice(["24", "ampm"])
        if 9 in quirks:
            dt = dt.replace(day=min(dt.day, 28))
            v = rng.randrange(4)
            if v == 0:
                style["yd"] = 4
            elif v == 1:
                dt = dt.replace(year=rng.choice([1969, 2069]))
                if dt.year == 1969:
                    # two-digit 69 means 2069 (pivot < 70)
                    dt = dt.replace(year=2069)
            elif v == 2:
                dt = dt.replace(year=1970)
            else:
                dt = dt.replace(year=1900, month=1, day=1)
                style["yd"] = 4
        if 8 in quirks:
            if rng.random() < 0.35:
                return None, None
            mo, d = rng.choice([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31),
                                (11, 31), (2, 29), (0, 0), (13, 40)])
            y = dt.year
            if (mo, d) == (2, 29):
                y = rng.choice([1997, 1998, 1999, 2001])
            o = a.dateorder
            raw = self.fmt_date(y, mo, d, dt.hour, dt.minute, 0, o, style)
            return raw, None
        raw = self.fmt_date(dt.year, dt.month, dt.day, dt.hour, dt.minute, S,
                            order, style)
        truth = "%04d-%02d-%02d %02d:%02d:%02d" % (dt.year, dt.month, dt.day,
                                                   dt.hour, dt.minute, S)
        return raw, truth

    # ---------------------------------------------------------- message

    def make_content(self, acct, quirks, follower):
        """Build a Content.  quirks: the set picked for this message."""
        rng = self.rng
        c = Content()
        cp = bool(self.last_cp) and (27 in quirks or rng.random() < 0.12)
        config = 22 in quirks
        # ---- From
        owner = acct["owner"]
        incoming = rng.random() < 0.7
        sender = rng.choice(acct["contacts"]) if incoming else owner
        if cp and self.last_cp and rng.random() < 0.5:
            sender = self._person(cp=True)
        from_raw = self.addr(sender)
        from_name, from_addr = sender[0], None
        if 17 in quirks and rng.random() < 0.4:
            from_raw = from_name = rng.choice(["Admin", "Postmaster"])
            c.quirks.add(17)
        elif 18 in quirks and rng.random() < 0.5:
            n = "%s, %s" % (sender[3], sender[2]) + rng.choice(
                [", Jr.", ", III", ", Dr.", ", Sales, Europe"])
            from_raw = "%s at %s" % (n, sender[1])
            from_name = n
            c.quirks.add(18)
        elif 19 in quirks and rng.random() < 0.4:
            u = "%s@%s" % (rng.choice(SMTP_USERS), rng.choice(SMTP_DOMAINS))
            if rng.random() < 0.5:
                from_raw = "%s at INTERNET" % u
            else:
                u = u[:1].upper() + u[1:]
                from_raw = ",%s [SMTP:%s] at EXSITE" % (
                    rng.choice(FIRST), u)
            from_name, from_addr = None, u
            c.quirks.add(19)
        c.headers.append(("From", from_raw))
        c.from_name, c.from_addr = from_name, from_addr
        # ---- Date
        raw, truth = self.make_date(acct, quirks)
        c.date_raw, c.date = raw, truth
        for q in (8, 9, 11):
            if q in quirks:
                c.quirks.add(q)
        if raw is not None:
            c.headers.append(("Date", raw))
        # ---- recipients
        rcpt = []
        if not incoming:
            tos = [rng.choice(acct["contacts"])
                   for _ in range(wchoice(rng, [(1, 60), (2, 25), (3, 10),
                                                (5, 5)]))]
        else:
            tos = [owner] + ([rng.choice(acct["contacts"])]
                             if rng.random() < 0.3 else [])
        if rng.random() < 0.1 and len(tos) >= 2:
            rcpt.append(("To", ", ".join(self.addr(p) for p in tos)))
        else:
            rcpt.extend(("To", self.addr(p)) for p in tos)
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                rcpt.append(("Cc", self.addr(rng.choice(acct["contacts"]))))
        if rng.random() < 0.08:
            rcpt.append(("Bcc", self.addr(rng.choice(acct["contacts"]))))
        if 16 in quirks:
            rcpt.insert(rng.randrange(len(rcpt) + 1),
                        (rng.choice(["To", "Cc"]), "at " + rng.choice(POS)))
            c.quirks.add(16)
        if 17 in quirks:
            rcpt.insert(rng.randrange(len(rcpt) + 1),
                        (rng.choice(["To", "To", "Cc"]), rng.choice(DLS)))
            c.quirks.add(17)
        if 18 in quirks:
            p = rng.choice(acct["contacts"])
            rcpt.append(("To", "%s, %s, Jr. at %s" % (p[3], p[2], p[1])))
            c.quirks.add(18)
        if 19 in quirks:
            u = "%s@%s" % (rng.choice(SMTP_USERS), rng.choice(SMTP_DOMAINS))
            form = rng.randrange(5)
            if form == 0:
                v = "%s at INTERNET" % u
            elif form == 1:
                v = "[SMTP:%s]" % u
            elif form == 2:
                v = ",%s [SMTP:%s] at EXSITE" % (rng.choice(FIRST), u)
            elif form == 3:
                v = "%s at %s" % (rng.choice(BOARDS), rng.choice(POS))
            else:
                v = rng.choice(BOARDS)
            rcpt.insert(rng.randrange(len(rcpt) + 1),
                        (rng.choice(["To", "Cc", "Bcc"]), v))
            c.quirks.add(19)
        if 30 in quirks:
            many = [rng.choice(self.persons_global)
                    for _ in range(rng.randint(45, 90))]
            rcpt.append(("To", ", ".join(self.addr(p) for p in many)))
            c.quirks.add(30)
        order = {"To": 0, "Cc": 1, "Bcc": 2}
        rcpt.sort(key=lambda t: order[t[0]])   # stable
        c.headers.extend(rcpt)
        # ---- Subject
        if config:
            subj = None
        else:
            subj = "" if rng.random() < 0.02 else self.subject(cp)
        if subj is not None:
            c.headers.append(("Subject", subj))
        c.subject = subj or ""
        # ---- Folder
        if config:
            c.folder = rng.choice(CONFIG_FOLDERS)
            c.quirks.add(22)
        else:
            f = wchoice(rng, [(acct["folders"][0], 55)] +
                        [(x, 45.0 / max(1, len(acct["folders"]) - 1))
                         for x in acct["folders"][1:]])
            if 27 in quirks and self.folders_cp and rng.random() < 0.5:
                f = next((x for x in acct["folders"] if not x.isascii()),
                         f)
            if f == "Inbox" and rng.random() < 0.7:
                c.folder = None
            else:
                c.folder = f
        if c.folder is not None:
            c.headers.append(("Folder", c.folder))
        if rng.random() < 0.05:
            c.headers.append(("Priority", rng.choice(["Urgent", "Low"])))
        if rng.random() < 0.03:
            c.headers.append(("RRT", self.addr(sender)))
        if 6 in quirks:
            for _ in range(rng.randint(1, 2)):
                tok = rng.choice([("X-Foo-Token", "bar"), ("Unread", "Yes"),
                                  ("Hilite", "On"), ("Msg-Class", "Normal"),
                                  ("Receipt-Type", "Registered")])
                c.headers.insert(rng.randrange(1, len(c.headers) + 1), tok)
            c.quirks.add(6)
        # ---- items
        if config:
            return c
        tokenish = 3 in self.q and rng.random() < 0.03
        eol26 = 26 in quirks and rng.random() < 0.7
        if eol26:
            c.quirks.add(26)
        ctrl = 24 in quirks
        ctrlz = 25 in quirks
        has_text = rng.random() < 0.97
        if 29 in quirks and rng.random() < 0.4:
            # a large body with one very long line (QP needed)
            lines = self.body_lines(acct, sender, cp, tokenish, tos[0])
            big = []
            while sum(len(x) for x in big) < rng.randint(20000, 40000):
                i = rng.randrange(len(self.lines) - 20)
                big.extend(self.lines[i:i + 20])
                big.append("")
            longl = " ".join(self.lines[:rng.randint(30, 60)])
            lines = lines[:2] + [longl, ""] + big + lines[2:]
            c.quirks.add(29)
        else:
            lines = self.body_lines(acct, sender, cp, tokenish, tos[0])
        if has_text:
            if 7 in quirks and rng.random() < 0.5:
                t = Item("Text", "", b"", True)
                c.quirks.add(7)
            else:
                p = self.text_payload(lines, eol26, ctrl, ctrlz)
                title = "" if rng.random() < 0.97 else "Message Text"
                t = Item("Text", title, p, True)
                t.tokens = has_linestart_token(p)
                if t.tokens:
                    c.quirks.add(3)
                if ctrl:
                    c.quirks.add(24)
                if ctrlz and b"\x1a" in p:
                    c.quirks.add(25)
            c.items.append(t)
            if 29 in quirks and 29 not in c.quirks and t.payload:
                for k in range(rng.randint(1, 2)):
                    i = rng.randrange(len(self.lines) - 8)
                    ex = self.lines[i:i + rng.randint(2, 8)]
                    x = Item("Text", rng.choice(["Part %d" % (k + 2),
                                                 "Continued",
                                                 "Original text"]),
                             self.text_payload(ex, eol26), True)
                    c.items.append(x)
                c.quirks.add(29)
        # attachments
        natt = 0
        if rng.random() < self.a.attach_rate or not has_text:
            natt = wchoice(rng, [(1, 70), (2, 20), (3, 7), (5, 3)])
        for _ in range(natt):
            kind = wchoice(rng, [("File", 90), ("Fax", 3), ("Graphics", 4),
                                 ("Sound", 3)])
            if kind == "File":
                if (cp or 27 in quirks) and self.files_cp and \
                        rng.random() < 0.4:
                    name = rng.choice(self.files_cp)
                else:
                    name = rng.choice(FILE_NAMES)
            elif kind == "Fax":
                name = rng.choice(FAX_NAMES)
            elif kind == "Graphics":
                name = rng.choice(GFX_NAMES)
            else:
                name = rng.choice(SND_NAMES)
            ext = name.rsplit(".", 1)[-1].upper()
            size = self.att_size()
            toks = 3 in self.q and rng.random() < 0.5
            p = self.binary_payload(ext, size, toks)
            it = Item(kind, name, p, False, name)
            it.tokens = has_linestart_token(p)
            if it.tokens:
                c.quirks.add(3)
            if not name.isascii():
                c.quirks.add(27)
            c.items.append(it)
        if 7 in quirks and (7 not in c.quirks or rng.random() < 0.3):
            c.items.append(Item("File", rng.choice(["EMPTY.TXT", "NUL.DAT",
                                                    "BLANK.DOC"]),
                                b"", False, None))
            c.items[-1].name = c.items[-1].title
            c.quirks.add(7)
        if 6 in quirks and rng.random() < 0.6:
            word, names = rng.choice(ODD_ITEMS)
            nm = rng.choice(names)
            p = self.binary_payload(nm.rsplit(".", 1)[-1].upper(),
                                    rng.randint(60, 3000), False)
            c.items.append(Item(word, nm, p, False, nm))
        fidx = [i for i, it in enumerate(c.items)
                if it.kind == "File" and it.payload]
        if 12 in quirks and fidx:
            for i in fidx:
                if i == fidx[0] or rng.random() < 0.5:
                    c.items[i].title = c.items[i].name + " " + \
                        self.stamp()
            c.quirks.add(12)
        if 13 in quirks and fidx:
            i = rng.choice(fidx)
            c.items[i].title = rng.choice(["", self.stamp()])
            c.items[i].name = None
            c.quirks.add(13)
        if 5 in quirks:
            c.has_contents = False
            c.items = []
            c.quirks -= {3, 7, 12, 13, 24, 25, 29}
            c.quirks.add(5)
        if cp:
            c.quirks.add(27)
        return c

    def stamp(self):
        rng = self.rng
        m, d = rng.randint(1, 12), rng.randint(1, 28)
        y = rng.randint(1993, 2001)
        v = rng.randrange(4)
        if v == 0:
            H = rng.randint(1, 12)
            return "%d/%d/%02d %d:%02d%s" % (m, d, y % 100, H,
                                             rng.randrange(60),
                                             rng.choice(["AM", "PM"]))
        if v == 1:
            return "%d-%d-%d" % (m, d, y)
        if v == 2:
            return "%d/%d/%02d" % (m, d, y % 100)
        return "%d/%d/%02d %d:%02d" % (m, d, y % 100, rng.randint(0, 23),
                                       rng.randrange(60))

    # ----------------------------------------------------------- render

    def plan_render(self, c, quirks, follower):
        """Decide size fields / separators / EOLs.  Returns Render and the
        set of structural quirks actually applied."""
        rng = self.rng
        r = Render(len(c.items))
        applied = set()
        items = c.items
        last = len(items) - 1
        r.eol26 = 26 in c.quirks
        clean = follower in ("junk", "noise", "padding")
        r.clean_end = clean
        if r.eol26:
            for i, it in enumerate(items):
                ch = [(b"\r\n", 4), (b"\n", 3), (b"\r", 3)]
                if it.payload.endswith(b"\r"):
                    ch = ch[:1] + ch[2:]
                r.sep[i] = wchoice(rng, ch)
            if clean and items:
                r.sep[last] = b"\r\n"
        struct = [q for q in STRUCTURAL if q in quirks and q != 5]
        if clean or not struct:
            return r, applied
        q = struct[0]
        if q == 1:
            cand = [i for i, it in enumerate(items)
                    if it.payload and it.payload[-1:] not in (b"\r", b"\n")
                    and (i < last or follower == "msg")]
            if cand:
                i = rng.choice(cand)
                r.sep[i] = b""
                applied.add(1)
        elif q == 2:
            tg = ["msize"]
            if c.has_contents:
                tg.append("csize")
            for i, it in enumerate(items):
                if not it.payload:
                    continue
                if it.is_text:
                    if not has_linestart_token(it.payload):
                        tg.extend(["item%d" % i] * 2)
                else:
                    tg.extend(["item%d" % i] * 2)
            t = rng.choice(tg)
            if t == "msize":
                r.msize = "blank"
            elif t == "csize":
                r.csize = "blank"
            else:
                i = int(t[4:])
                it = items[i]
                if not it.is_text:
                    it.payload = self.sanitize_for_scan(it.payload)
                    it.tokens = False
                r.isize[i] = "blank"
            applied.add(2)
        elif q == 4:
            v = rng.randrange(3)
            # Only text items: a size that also counts its CR LF lands
            # exactly on the next token, and the parser trusts such a size
            # (SPEC 1.1), so for a binary the two bytes would stay in the
            # attachment.  For text they are only a trailing line end.
            cand = [i for i, it in enumerate(items)
                    if it.is_text and it.payload
                    and it.payload[-1:] not in (b"\r", b"\n")]
            if v == 2 and cand:
                i = rng.choice(cand)
                r.isize[i] = "+2"
                r.sep[i] = b"\r\n"
                applied.add(4)
            else:
                d = -rng.randint(3, 9)
                tot = sum(len(it.payload) for it in items)
                if v == 0 or not c.has_contents or tot < 20:
                    r.msize = d
                else:
                    r.csize = d
                applied.add(4)
        return r, applied

    def render(self, c, r):
        """Bytes of the message and its layout (offsets relative)."""
        codec = self.codec
        rng = self.rng
        if r.eol26:
            def E(kind="any"):
                if kind == "payload":
                    return rng.choice([b"\r\n", b"\n"])
                return wchoice(rng, [(b"\r\n", 4), (b"\n", 3), (b"\r", 3)])
        else:
            def E(kind="any"):
                return b"\r\n"
        first = b"Message:" + E()
        hdr = []
        for tok, val in c.headers:
            if val == "":
                hdr.append(tok.encode() + b":" + E())
            else:
                hdr.append(tok.encode() + b": " + val.encode(codec) + E())
        hdr = b"".join(hdr)
        layout_items = []
        if c.has_contents:
            chunks = []
            pos = 0
            for i, it in enumerate(c.items):
                line = it.kind.encode() + b" item:"
                if it.title:
                    line += b" " + it.title.encode(codec)
                line += E()
                n = len(it.payload)
                if r.isize[i] == "blank":
                    sf = b" " * rng.choice([8, 8, 8, 1, 4])
                elif r.isize[i] == "+2":
                    sf = size_field(n + 2)
                else:
                    sf = size_field(n)
                sl = sf + E("payload")
                chunks += [line, sl, it.payload, r.sep[i]]
                poff = pos + len(line) + len(sl)
                layout_items.append({
                    "kind": it.kind, "title": it.title,
                    "size": sf.decode("ascii"), "payload_offset": poff,
                    "payload_length": n, "sep": r.sep[i].decode("ascii")})
                pos = poff + n + len(r.sep[i])
            items = b"".join(chunks)
            if r.csize == "blank":
                cf = b" " * rng.choice([8, 8, 3])
            elif r.csize == "ok":
                cf = size_field(len(items))
            else:
                cf = size_field(len(items) + r.csize)
            contents = b"Contents:" + E() + cf + (
                b"\r\n" if (r.clean_end and not c.items) else E())
        else:
            items = b""
            contents = b""
            cf = None
        rest = hdr + contents + items
        if r.msize == "blank":
            mf = b" " * rng.choice([8, 8, 8, 2])
        elif r.msize == "ok":
            mf = size_field(len(rest))
        else:
            mf = size_field(len(rest) + r.msize)
        head = first + mf + E()
        data = head + rest
        base = len(head) + len(hdr) + len(contents)
        for li in layout_items:
            li["payload_offset"] += base
        layout = {"msize": mf.decode("ascii"),
                  "csize": cf.decode("ascii") if cf is not None else None,
                  "items": layout_items}
        return data, layout

    def tail_safe(self, data, k):
        """A size that lands k bytes before the end must not land near a
        token look-alike (CCQ-4 message/contents size off)."""
        lo = max(0, len(data) - k - 10)
        region = data[lo:]
        for m in re.finditer(rb"[\r\n\x1a]", region):
            if TOKEN_RE.match(region, m.end()):
                return False
        return True

    # ------------------------------------------------------------ plan

    def pick_quirks(self, follower):
        rng = self.rng
        q = set()
        pick = [(n, w) for n, w in PICK if n in self.q]
        if not pick or rng.random() >= self.a.quirk_rate:
            return q
        k = 1 if rng.random() < 0.7 else 2
        for _ in range(k * 3):
            if len(q) >= k:
                break
            n = wchoice(rng, pick)
            if n in STRUCTURAL and any(x in STRUCTURAL for x in q):
                continue
            if n in STRUCTURAL and follower in ("junk", "noise", "padding"):
                continue
            if n == 5 and follower not in ("msg", "marker", "eof"):
                continue
            q.add(n)
        return q


# ------------------------------------------------------------ file writer

class SourceWriter:
    """Writes one export file and streams its truth object."""

    def __init__(self, gen, path, truth_fp, first_in_list):
        self.g = gen
        self.path = path
        self.name = os.path.basename(path)
        self.default_account = os.path.splitext(self.name)[0]
        self.f = open(path, "wb", buffering=1 << 20)
        self.pos = 0
        self.tf = truth_fp
        self.nmsg = 0
        self.errors = []
        self.markers = []
        self.noise = []
        self.padding = []
        self.accounts = []
        self.file_quirks = set()
        if self.tf is not None:
            g = gen
            head = {"source": self.name, "codepage": g.a.codepage,
                    "dateorder": g.a.dateorder}
            s = json.dumps(head, ensure_ascii=False)
            self.tf.write(("" if first_in_list else ",\n") + s[:-1] +
                          ', "messages": [\n')

    def write(self, b):
        self.f.write(b)
        self.pos += len(b)

    def add_account(self, name):
        if name not in self.accounts:
            self.accounts.append(name)

    def emit_message(self, data, truth):
        """Write one message; truth is None when no truth file is kept."""
        if truth is not None:
            truth["offset"] = self.pos
            truth["length"] = len(data)
            self.tf.write(("" if self.nmsg == 0 else ",\n") +
                          json.dumps(truth, ensure_ascii=False))
        self.write(data)
        self.nmsg += 1

    def close(self):
        self.f.close()
        size = os.path.getsize(self.path)
        assert size == self.pos
        sys.stderr.write("gen-export: %s: %d messages, %d accounts, %d junk "
                         "regions, %d bytes\n" % (self.path, self.nmsg,
                                                   len(self.accounts),
                                                   len(self.errors), size))
        if self.tf is not None:
            tail = {"errors": self.errors, "accounts": self.accounts,
                    "markers": self.markers, "noise": self.noise,
                    "padding": self.padding,
                    "file_quirks": ["CCQ-%d" % q
                                    for q in sorted(self.file_quirks)],
                    "size": size}
            s = json.dumps(tail, ensure_ascii=False)
            self.tf.write("\n], " + s[1:])


def account_names(rng, n):
    out = []
    seen = set()
    while len(out) < n:
        last = rng.choice(LAST).lower().replace("'", "").replace(" ", "")
        first = rng.choice(FIRST).lower()
        form = rng.randrange(4)
        if form == 0:
            nm = last + first[0]
        elif form == 1:
            nm = "%s_%s" % (last, first[0])
        elif form == 2:
            nm = "%s-%s" % (first, last)
        else:
            nm = "%s%d" % (last[:6], rng.randint(1, 99))
        if nm not in seen:
            seen.add(nm)
            out.append(nm)
    return out


def split_counts(rng, total, parts):
    if parts <= 0:
        return []
    w = [rng.uniform(0.3, 3.0) for _ in range(parts)]
    s = sum(w)
    counts = [int(total * x / s) for x in w]
    i = 0
    while sum(counts) < total:
        counts[i % parts] += 1
        i += 1
    return counts


def junk_bytes(rng):
    """A junk region: starts with a non-blank byte, ends with CR LF, no
    line starts with a token, no blank lines, no Ctrl-Z."""
    safe = b"#*=~!?%&0123456789<>[]{}()$@^|" + bytes(range(0x80, 0xff))
    out = bytearray()
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.5:
            line = rng.choice([
                b"##### lost cluster %d #####" % rng.randint(100, 9999),
                b"*** garbage at sector 0x%04X ***" % rng.randrange(65536),
                b"?? CCDATA read error ??",
                b"0000 1A2B 3C4D 5E6F corrupted record",
                b"~~~ truncated message fragment ~~~ From: x at Y"])
        else:
            n = rng.randint(10, 300)
            body = bytes(b for b in rng.randbytes(n * 2)
                         if b not in (0x0a, 0x0d, 0x1a))[:n]
            line = bytes([rng.choice(safe)]) + body + \
                bytes([rng.choice(safe)])
        out += line + b"\r\n"
    return bytes(out)


def generate(a):
    g = Generator(a)
    rng = g.rng
    tf = None
    if a.truth:
        tf = open(a.truth, "w", encoding="utf-8", newline="\n",
                  buffering=1 << 20)
        if a.split:
            tf.write('{"sources": [\n')
    if a.split:
        os.makedirs(a.split, exist_ok=True)
        names = account_names(rng, max(1, a.accounts))
        counts = split_counts(rng, a.messages, len(names))
        for k, (nm, cnt) in enumerate(zip(names, counts)):
            sw = SourceWriter(g, os.path.join(a.split, nm + ".ccm"), tf,
                              k == 0)
            write_source(g, sw, [(nm, cnt, None)], a)
            sw.close()
        if tf:
            tf.write("\n]}\n")
    else:
        sw = SourceWriter(g, a.out, tf, True)
        base = sw.default_account
        n = max(1, a.accounts)
        others = account_names(rng, n)
        counts = split_counts(rng, a.messages, n)
        plan = []
        for i in range(n):
            if i == 0:
                plan.append((base, counts[0], None))
            else:
                plan.append((others[i], counts[i], "marker"))
        if a.messages == 0:
            plan = []
        write_source(g, sw, plan, a)
        sw.close()
        if tf:
            tf.write("\n")
    if tf:
        tf.close()


def write_source(g, sw, plan, a):
    """plan: [(account name, message count, 'marker' or None)]."""
    rng = g.rng
    q = g.q
    if a.messages == 0 or not plan:
        # CCQ-31: an empty export is valid
        sw.add_account(sw.default_account)
        if a.messages == 0:
            sw.file_quirks.add(31)
        return
    events = []
    noise_on = 35 in q
    # start of file: console noise and maybe a banner naming account 0
    first_name, first_cnt, _ = plan[0]
    start_banner = False
    if noise_on and rng.random() < 0.5:
        events.append(("noise", [NOISE_COPYRIGHT, NOISE_PODIR]))
        if rng.random() < 0.6:
            start_banner = True
    if start_banner:
        if not a.split:
            first_name = account_names(rng, len(plan) + 1)[-1]
            # avoid clashing with other planned names
            if any(first_name == p[0] for p in plan):
                first_name += "0"
        events.append(("marker", first_name, "banner"))
    else:
        sw.add_account(sw.default_account if not a.split else first_name)
    plan = [(first_name, first_cnt, None)] + plan[1:]
    for ai, (name, cnt, mk) in enumerate(plan):
        if mk:
            kind = "banner" if (noise_on and rng.random() < 0.5) else \
                rng.choice(["mailbox", "account", "user"])
            if kind == "banner" and rng.random() < 0.5 and \
                    (not events or events[-1][0] != "junk"):
                # console output captured before the banner; never right
                # after junk (the junk region would swallow it)
                events.append(("noise", [NOISE_COPYRIGHT, NOISE_PODIR]))
            events.append(("marker", name, kind))
        for k in range(cnt):
            events.append(("msg", name))
            if rng.random() < a.junk_rate:
                events.append(("junk", name))
            elif 26 in q and rng.random() < a.quirk_rate * 0.04:
                events.append(("padding", name))
    # no junk/padding after the very last message
    while events and events[-1][0] in ("junk", "padding"):
        events.pop()
    if noise_on and rng.random() < 0.3:
        events.append(("noise", [NOISE_END]))
    trailing_z = 25 in q and rng.random() < 0.5
    if trailing_z:
        sw.file_quirks.add(25)
    if any(e[0] == "noise" or (e[0] == "marker" and e[2] == "banner")
           for e in events):
        sw.file_quirks.add(35)

    counts = {p[0]: p[1] for p in plan}
    account = None if start_banner else (sw.default_account if not a.split
                                         else first_name)
    prev = None          # (content, content quirks) for CCQ-34
    accts = {}
    for ei, ev in enumerate(events):
        nxt = events[ei + 1][0] if ei + 1 < len(events) else "eof"
        typ = ev[0]
        if typ == "noise":
            for line in ev[1]:
                sw.noise.append({"offset": sw.pos, "length": len(line) + 2})
                sw.write(line + b"\r\n")
            continue
        if typ == "marker":
            name, kind = ev[1], ev[2]
            if kind == "banner":
                line = (b'Exporting messages in mailbox "%s" to file '
                        b'EXPORT\\MSG%04X.CCM' % (name.encode(),
                                                  rng.randrange(65536)))
            else:
                line = kind.capitalize().encode() + b": " + name.encode()
            line += b"\r\n"
            sw.markers.append({"offset": sw.pos, "length": len(line),
                               "account": name, "kind": kind})
            sw.write(line)
            sw.add_account(name)
            account = name
            continue
        if typ == "junk":
            jb = junk_bytes(rng)
            sw.errors.append({"offset": sw.pos, "length": len(jb),
                              "account": account, "sha256": sha256(jb)})
            sw.write(jb)
            continue
        if typ == "padding":
            pb = rng.choice([b"\r\n", b"\r\n\r\n", b"   \r\n", b"\x1a\r\n"])
            sw.padding.append({"offset": sw.pos, "length": len(pb)})
            sw.write(pb)
            continue
        # ---- a message
        acct = accts.get(ev[1])
        if acct is None:
            acct = accts[ev[1]] = g.make_account(ev[1], counts[ev[1]])
        quirks = g.pick_quirks(nxt)
        if 34 in quirks and prev is not None and \
                (prev.has_contents or nxt in ("msg", "marker", "eof")):
            c = prev
            r = Render(len(c.items))
            applied = set()
            mq = set(c.quirks) - {1, 2, 4, 26}
            mq.add(34)
            # eol26 content (text payload line ends) is kept as is
            if any(b"\r" in it.payload.replace(b"\r\n", b"") or
                   b"\n" in it.payload.replace(b"\r\n", b"")
                   for it in c.items if it.is_text):
                mq.add(26)
        else:
            quirks.discard(34)
            c = g.make_content(acct, quirks, nxt)
            r, applied = g.plan_render(c, quirks, nxt)
            mq = set(c.quirks) | applied

        data, layout = g.render(c, r)
        if 4 in applied and (isinstance(r.msize, int) or
                             isinstance(r.csize, int)):
            k = -(r.msize if isinstance(r.msize, int) else r.csize)
            if not g.tail_safe(data, k):
                r.msize = r.csize = "ok"
                applied.discard(4)
                mq.discard(4)
                data, layout = g.render(c, r)
        if nxt == "padding":
            mq.add(26)
        if sw.tf is not None:
            truth = message_truth(g, c, account, layout, mq)
        else:
            truth = None
        sw.emit_message(data, truth)
        prev = c
    if trailing_z:
        z = b"\x1a" * rng.choice([1, 1, 2, 5])
        if rng.random() < 0.3:
            z = b"\x1a" * (128 - sw.pos % 128)
        sw.padding.append({"offset": sw.pos, "length": len(z)})
        sw.write(z)


def message_truth(g, c, account, layout, mq):
    codec = g.codec
    folder = ["Inbox"] if c.folder is None else c.folder.split("\\")
    texts = [it for it in c.items if it.is_text]
    body = text_truth(texts[0].payload, codec) if texts else ""
    atts = []
    for it in c.items:
        if it.is_text:
            continue
        atts.append({"name": it.name, "size": len(it.payload),
                     "sha256": sha256(it.payload), "kind": it.kind})
    hv = {}
    for tok, val in c.headers:
        hv.setdefault(tok, []).append(clean_value(val))
    return {
        "offset": 0, "length": 0, "account": account, "folder": folder,
        "subject": clean_value(c.subject),
        "from_raw": clean_value(hv["From"][0]),
        "from_name": c.from_name, "from_addr": c.from_addr,
        "to_raw": hv.get("To", []), "cc_raw": hv.get("Cc", []),
        "bcc_raw": hv.get("Bcc", []),
        "date": c.date, "date_raw": c.date_raw,
        "body": body, "attachments": atts,
        "extra_texts": max(0, len(texts) - 1),
        "quirks": ["CCQ-%d" % q for q in sorted(mq)],
        "layout": layout,
    }


# ---------------------------------------------------------------- verify

def verify(path, truth_path):
    """Check an export against its truth: sizes consistent with the stated
    semantics except where a recorded quirk says otherwise, offsets at
    'Message:', bodies and attachments derivable from the bytes, every byte
    accounted for.  Returns the number of problems."""
    with open(truth_path, encoding="utf-8") as fp:
        t = json.load(fp)
    srcs = t["sources"] if "sources" in t else [t]
    probs = []
    nmsg = 0
    for s in srcs:
        if os.path.isdir(path):
            fpath = os.path.join(path, s["source"])
        else:
            fpath = path
        with open(fpath, "rb") as fp:
            data = fp.read()
        codec = "cp%d" % s["codepage"]

        def P(off, msg):
            probs.append("%s@%d: %s" % (s["source"], off, msg))

        if len(data) != s["size"]:
            P(0, "size %d != truth %d" % (len(data), s["size"]))
        regions = []
        for m in s["messages"]:
            nmsg += 1
            off, ln = m["offset"], m["length"]
            regions.append((off, off + ln, "msg", m))
            qs = set(m["quirks"])
            if data[off:off + 8] != b"Message:":
                P(off, "offset does not point at 'Message:'")
                continue
            lay = m["layout"]
            end = off + ln
            p = off + 8
            p = skip_eol(data, p)
            ml = read_line(data, p)
            mf = data[p:ml[0]].decode("ascii")
            if mf != lay["msize"]:
                P(off, "msize field %r != layout %r" % (mf, lay["msize"]))
            after = ml[1]
            check_size(P, off, "msize", mf, end - after, qs, False)
            if lay["csize"] is None:
                if "CCQ-5" not in qs:
                    P(off, "no Contents: without CCQ-5")
                if re.search(rb"(?m)^Contents:", data[after:end]):
                    P(off, "Contents: present but layout says none")
                continue
            ci = data.find(b"Contents:", after, end)
            if ci < 0:
                P(off, "Contents: missing")
                continue
            cp_ = skip_eol(data, ci + 9)
            cl = read_line(data, cp_)
            cf = data[cp_:cl[0]].decode("ascii")
            if cf != lay["csize"]:
                P(off, "csize field %r != layout %r" % (cf, lay["csize"]))
            check_size(P, off, "csize", cf, end - cl[1], qs, False)
            q = cl[1]
            texts = []
            atts = []
            for it in lay["items"]:
                il = read_line(data, q)
                line = data[q:il[0]]
                want = it["kind"].encode() + b" item:"
                if it["title"]:
                    want += b" " + it["title"].encode(codec)
                if line != want:
                    P(q, "item line %r != %r" % (line, want))
                sl = read_line(data, il[1])
                sf = data[il[1]:sl[0]].decode("ascii")
                if sf != it["size"]:
                    P(q, "item size field %r != %r" % (sf, it["size"]))
                po = sl[1]
                if po != off + it["payload_offset"]:
                    P(q, "payload offset %d != %d" %
                      (po, off + it["payload_offset"]))
                n = it["payload_length"]
                check_size(P, q, "item", sf, n, qs, True)
                if sf.strip() == "" and n:
                    pl = data[po:po + n]
                    bad = has_linestart_token(pl) or \
                        pl[-1:] in (b"\r", b"\n")
                    if bad:
                        P(q, "blank-size payload has token look-alikes")
                payload = data[po:po + n]
                sep = it["sep"].encode("ascii")
                if data[po + n:po + n + len(sep)] != sep:
                    P(q, "separator mismatch")
                if sep == b"" and "CCQ-1" not in qs:
                    P(q, "missing separator without CCQ-1")
                if it["kind"] == "Text":
                    texts.append(payload)
                else:
                    atts.append(payload)
                q = po + n + len(sep)
            if q != end:
                P(off, "items end at %d, message ends at %d" % (q, end))
            body = text_truth(texts[0], codec) if texts else ""
            if body != m["body"]:
                P(off, "body differs from payload-derived text")
            if len(texts) - 1 != m["extra_texts"] and texts:
                P(off, "extra_texts mismatch")
            tsha = [x["sha256"] for x in m["attachments"]]
            if tsha != [sha256(x) for x in atts]:
                P(off, "attachment hashes differ")
        for e in s["errors"]:
            regions.append((e["offset"], e["offset"] + e["length"], "err",
                            e))
            jb = data[e["offset"]:e["offset"] + e["length"]]
            if sha256(jb) != e["sha256"]:
                P(e["offset"], "error sha256 mismatch")
            if jb[:1].isspace() or not jb.endswith(b"\r\n") or \
                    jb[:1] == b"\x1a":
                P(e["offset"], "junk edges")
            if has_linestart_token(jb):
                P(e["offset"], "junk has a token at a line start")
            nx = data[e["offset"] + e["length"]:]
            if not (nx.startswith(b"Message:") or
                    re.match(rb"(Mailbox|Account|User): |Exporting messages",
                             nx)):
                P(e["offset"], "junk not followed by Message:/marker")
        for kind in ("markers", "noise", "padding"):
            for e in s[kind]:
                regions.append((e["offset"], e["offset"] + e["length"],
                                kind, e))
        regions.sort(key=lambda r: r[0])
        p = 0
        account = os.path.splitext(s["source"])[0]
        for a0, a1, kind, obj in regions:
            if a0 != p:
                P(p, "gap/overlap: next region %s at %d" % (kind, a0))
            p = a1
            if kind == "markers":
                account = obj["account"]
                line = data[a0:a1]
                if not re.match(rb"(Mailbox|Account|User): |"
                                rb"Exporting messages in mailbox \"", line):
                    P(a0, "bad marker line")
            elif kind == "noise":
                line = data[a0:a1]
                if not (line.startswith(b"EXPORT ") or
                        line.startswith(b"Post office directory:")):
                    P(a0, "bad noise line")
            elif kind == "padding":
                if data[a0:a1].strip(b" \t\r\n\x1a"):
                    P(a0, "padding not blank")
            elif kind in ("msg", "err"):
                if obj["account"] != account:
                    P(a0, "account %s, expected %s" % (obj["account"],
                                                       account))
        if p != len(data):
            P(p, "bytes after the last region")
    for x in probs[:50]:
        print("verify:", x)
    print("verify: %d messages, %d problems" % (nmsg, len(probs)))
    return len(probs)


def skip_eol(data, p):
    if data[p:p + 2] == b"\r\n":
        return p + 2
    if data[p:p + 1] in (b"\r", b"\n"):
        return p + 1
    return p


def read_line(data, p):
    """(end of content, start of next line)."""
    m = re.compile(rb"\r\n|\r|\n").search(data, p)
    if not m:
        return len(data), len(data)
    return m.start(), m.end()


def check_size(P, off, what, field, actual, qs, is_item):
    f = field.strip()
    if f == "":
        if "CCQ-2" not in qs:
            P(off, "%s blank without CCQ-2" % what)
        return
    v = int(f)
    if v == actual:
        return
    if "CCQ-4" not in qs:
        P(off, "%s %d != actual %d without CCQ-4" % (what, v, actual))
    elif is_item and v != actual + 2:
        P(off, "%s off by %d (item sizes may only be +2)" % (what,
                                                             v - actual))


# ------------------------------------------------------------------ main

def parse_quirks(s):
    s = s.strip().lower()
    if s == "all":
        return set(SUPPORTED)
    if s == "none" or s == "":
        return set()
    out = set()
    for part in s.split(","):
        part = part.strip().upper().replace("CCQ-", "").replace("CCQ", "")
        n = int(part)
        if n not in SUPPORTED:
            sys.stderr.write("gen-export: CCQ-%d is not generated "
                             "(ignored)\n" % n)
            continue
        out.add(n)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate a deterministic synthetic cc:Mail export "
        "and its ground truth.", epilog="Use --help-truth for the truth "
        "file format.")
    ap.add_argument("--messages", type=int, default=30)
    ap.add_argument("--accounts", type=int, default=1)
    ap.add_argument("--folders", type=int, default=5,
                    help="folders per account, Inbox included")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="export file to write")
    ap.add_argument("--truth", help="ground-truth JSON to write (or read "
                    "with --verify); optional when generating")
    ap.add_argument("--quirk-rate", type=float, default=0.1)
    ap.add_argument("--quirks", default="all",
                    help="all | none | comma list of CCQ numbers")
    ap.add_argument("--codepage", type=int, default=850,
                    choices=[437, 850, 1252])
    ap.add_argument("--dateorder", default="mdy", choices=["mdy", "dmy"])
    ap.add_argument("--attach-rate", type=float, default=0.3)
    ap.add_argument("--avg-attach-kb", type=float, default=10.0)
    ap.add_argument("--split", metavar="DIR",
                    help="one file per account (DIR/<account>.ccm), no "
                    "markers other than a CCQ-35 banner naming the file's "
                    "own account; --truth gets {\"sources\": [...]}")
    ap.add_argument("--junk-rate", type=float, default=0.0,
                    help="probability of a junk region after a message")
    ap.add_argument("--verify", metavar="EXPORT",
                    help="check EXPORT (file, or the --split DIR) against "
                    "--truth instead of generating")
    ap.add_argument("--help-truth", action="store_true")
    a = ap.parse_args(argv)
    if a.help_truth:
        print(TRUTH_DOC)
        return 0
    if a.verify:
        if not a.truth:
            ap.error("--verify needs --truth")
        return 1 if verify(a.verify, a.truth) else 0
    if not a.out and not a.split:
        ap.error("--out FILE or --split DIR is required")
    if a.messages < 0 or a.accounts < 1 or a.folders < 1:
        ap.error("--messages >= 0, --accounts >= 1, --folders >= 1")
    if not 0 <= a.quirk_rate <= 1 or not 0 <= a.junk_rate <= 1:
        ap.error("rates are between 0 and 1")
    a.quirk_set = parse_quirks(a.quirks)
    generate(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
