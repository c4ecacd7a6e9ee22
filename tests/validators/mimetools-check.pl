#!/usr/bin/perl
# mimetools-check.pl - judge .eml files with Perl MIME-tools, one process.
#
#   mimetools-check.pl < NUL-separated list of paths
#
# For each file prints "F\t<path>", then one "W\t<text>" per MIME-tools
# error or warning (and per Perl warning raised while parsing), then one
# "A\t<sha256>\t<size>" per part whose Content-Disposition is attachment
# (decoded bytes).  Exit 0 when there was no W line, 1 otherwise.
use strict;
use warnings;
use MIME::Parser;
use Digest::SHA qw(sha256_hex);

binmode STDOUT;
my $rc = 0;
my @perlwarn;
local $SIG{__WARN__} = sub { push @perlwarn, $_[0] };
my $p = MIME::Parser->new;
$p->output_to_core(1);
$p->decode_bodies(1);
$p->tmp_to_core(1);
local $/ = "\0";
while (my $f = <STDIN>) {
	chomp $f;
	@perlwarn = ();
	print "F\t$f\n";
	my $ent = eval { $p->parse_open($f) };
	if (!$ent) {
		my $e = $@ || 'no entity';
		$e =~ s/\s+/ /g;
		print "W\tFATAL: $e\n";
		$rc = 1;
		next;
	}
	my $r = $p->results;
	for my $m ($r->errors, $r->warnings, @perlwarn) {
		my $t = $m;
		$t =~ s/\s+/ /g;
		print "W\t$t\n";
		$rc = 1;
	}
	my @stack = ($ent);
	while (my $e = shift @stack) {
		my @parts = $e->parts;
		if (@parts) {
			unshift @stack, @parts;
			next;
		}
		my $disp = $e->head->mime_attr('content-disposition') || '';
		next unless lc($disp) eq 'attachment';
		my $b = $e->bodyhandle;
		my $data = $b ? $b->as_string : '';
		printf "A\t%s\t%d\n", sha256_hex($data), length($data);
	}
	$ent->purge;
}
exit $rc;
