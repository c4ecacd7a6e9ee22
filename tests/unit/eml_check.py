#!/usr/bin/env python3
"""eml_check.py - judge the renderer's output with independent MIME parsers.

Usage: eml_check.py TEST_EML_BINARY

Runs "TEST_EML_BINARY --dump DIR" (tests/unit/test_eml.c writes every test
message as DIR/NN.eml and the exact payload of each attachment as DIR/NN.aK)
and checks each message:
  - Python's email package with policy.default finds zero defects, in the
    message, in every header and in every part after get_payload(decode=True);
  - no line exceeds 998 octets, line ends are all LF or all CRLF;
  - attachment parts, in order, decode to exactly the payload bytes;
  - text parts decode as UTF-8;
  - Perl MIME-tools (when installed) parses it without warnings or errors.
Exit 0 when all pass, 1 otherwise (meson's exit-code protocol).
"""
import email
import email.policy
import os
import shutil
import subprocess
import sys
import tempfile

PERL = r'''
use strict; use warnings;
use MIME::Parser;
my $bad = 0;
local $SIG{__WARN__} = sub { print "perl warning: $_[0]"; $bad = 1; };
for my $f (@ARGV) {
    my $p = MIME::Parser->new;
    $p->output_to_core(1);
    $p->tmp_to_core(1);
    $p->extract_nested_messages(0);
    my $e = eval { $p->parse_open($f) };
    if (!$e) { print "$f: parse failed: $@\n"; $bad = 1; next; }
    my @w = $p->results->warnings;
    my @r = $p->results->errors;
    if (@w || @r) { print "$f: MIME-tools: @w @r\n"; $bad = 1; }
    for my $part ($e->parts_DFS) {
        next if $part->parts;
        my $b = $part->bodyhandle;
        if (!$b) { print "$f: a part without a body\n"; $bad = 1; next; }
        $b->as_string;
    }
}
exit $bad;
'''


def check_one(path, attachments):
    problems = []
    data = open(path, 'rb').read()
    crlf = b'\r\n' in data
    for n, line in enumerate(data.split(b'\n')):
        if crlf and n < data.count(b'\n') and not line.endswith(b'\r'):
            problems.append('bare LF in a CRLF message at line %d' % n)
        if not crlf and b'\r' in line:
            problems.append('CR in an LF message at line %d' % n)
        if len(line.rstrip(b'\r')) > 998:
            problems.append('line %d has %d octets' % (n, len(line)))
    msg = email.message_from_bytes(data, policy=email.policy.default)
    got = []
    for part in msg.walk():
        for k, v in part.items():
            for d in getattr(v, 'defects', ()):
                problems.append('header %s: %r' % (k, d))
        for d in part.defects:
            problems.append('%s: %r' % (part.get_content_type(), d))
        if part.is_multipart():
            continue
        body = part.get_payload(decode=True)
        for d in part.defects:
            problems.append('after decode %s: %r'
                            % (part.get_content_type(), d))
        if part.get_content_disposition() == 'attachment':
            if not part.get_filename():
                problems.append('attachment without a file name')
            got.append(body)
        elif part.get_content_maintype() == 'text':
            try:
                body.decode('utf-8')
                part.get_content()
            except (UnicodeDecodeError, LookupError) as e:
                problems.append('text part not UTF-8: %s' % e)
    for k in ('From', 'Date', 'Message-ID', 'Subject', 'MIME-Version'):
        if msg[k] is None:
            problems.append('no %s header' % k)
    if len(got) != len(attachments):
        problems.append('%d attachments, want %d'
                        % (len(got), len(attachments)))
    for i, (g, want) in enumerate(zip(got, attachments)):
        if g != want:
            problems.append('attachment %d differs (%d vs %d bytes)'
                            % (i + 1, len(g), len(want)))
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tmp = tempfile.mkdtemp(prefix='eml_check.')
    try:
        subprocess.run([sys.argv[1], '--dump', tmp], check=True)
        names = sorted(f for f in os.listdir(tmp) if f.endswith('.eml'))
        if not names:
            print('no messages were written')
            return 1
        failed = 0
        for name in names:
            stem = name[:-4]
            atts = []
            k = 1
            while os.path.exists(os.path.join(tmp, '%s.a%d' % (stem, k))):
                with open(os.path.join(tmp, '%s.a%d' % (stem, k)), 'rb') as f:
                    atts.append(f.read())
                k += 1
            problems = check_one(os.path.join(tmp, name), atts)
            for p in problems:
                print('%s: %s' % (name, p))
            failed += bool(problems)
        paths = [os.path.join(tmp, n) for n in names]
        have_perl = shutil.which('perl') and subprocess.run(
            ['perl', '-MMIME::Parser', '-e', '1'],
            stderr=subprocess.DEVNULL).returncode == 0
        if have_perl:
            r = subprocess.run(['perl', '-e', PERL] + paths)
            failed += r.returncode != 0
        else:
            print('note: Perl MIME-tools not installed, that check not run')
        print('%d messages checked, %d with problems%s'
              % (len(names), failed, '' if have_perl else ' (Python only)'))
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp)


if __name__ == '__main__':
    sys.exit(main())
