/* test_scan.c - segment boundaries and byte coverage of the scanner. */
#include <stdlib.h>

#include "testlib.h"

#define MAXSEG 64

struct rec {
	struct ccm_seg seg[MAXSEG];
	size_t n;
	size_t nitems[MAXSEG];
	size_t payload_len[MAXSEG][4];
	int warn[MAXSEG][CCM_W_COUNT];
};

static int collect(void *ctx, const struct ccm_seg *g, const struct ccm_msg *m)
{
	struct rec *r = ctx;
	size_t i;

	if (r->n >= MAXSEG)
		return 0;
	r->seg[r->n] = *g;
	if (m) {
		r->nitems[r->n] = m->nitems;
		for (i = 0; i < m->nitems && i < 4; i++)
			r->payload_len[r->n][i] = m->items[i].payload.len;
		for (i = 0; i < m->warn.n; i++)
			r->warn[r->n][m->warn.w[i].code]++;
	}
	r->n++;
	return 0;
}

static struct rec *scan(const char *p, size_t n)
{
	struct ccm_file f = mem_file(p, n);
	struct rec *r = calloc(1, sizeof(*r));
	uint64_t at = 0;
	size_t i;

	assert_non_null(r);
	assert_int_equal(ccm_scan(&f, collect, r), 0);
	/* Every scan must tile the input exactly (SPEC 1.3). */
	for (i = 0; i < r->n; i++) {
		assert_int_equal(r->seg[i].off, at);
		at += r->seg[i].len;
	}
	assert_int_equal(at, n);
	return r;
}

#define SCAN(lit) scan((lit), sizeof(lit) - 1)

static void test_empty(void **state)
{
	struct rec *r = scan("", 0);

	(void)state;
	assert_int_equal(r->n, 0);	/* CCQ-31: nothing, and no error */
	free(r);
}

static void test_sample(void **state)
{
	struct rec *r = SCAN("Message:\r\n179\r\nFrom: Grewal, Jeff at Hub\r\n"
			     "Date: 6/2/98 8:39\r\nTo: Admin at HUBPO2\r\n"
			     "Subject: Another message\r\nContents:\r\n58\r\n"
			     "Text item:\r\n32\r\nThis is the message body\r\n");

	(void)state;
	assert_int_equal(r->n, 2);
	assert_int_equal(r->seg[0].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->nitems[0], 1);
	assert_int_equal(r->payload_len[0][0], 24);
	assert_int_equal(r->seg[1].kind, CCM_SEG_PAD);
	free(r);
}

static const char runon[] =
	"Message:\r\n\r\nFrom: A at B\r\nSubject: x\r\nContents:\r\n\r\n"
	"File item: X.BIN\r\n      10\r\n0123456789Message:\r\n"
	"      12\r\nFrom: C at D\r\nContents:\r\nText item:\r\n2\r\nhi\r\n";

static void test_run_on(void **state)
{
	struct rec *r = SCAN(runon);

	(void)state;
	/* CCQ-1: the payload is exact and the next message is found. */
	assert_int_equal(r->seg[0].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->payload_len[0][0], 10);
	assert_int_equal(r->warn[0][CCM_W_RUN_ON], 1);
	assert_int_equal(r->seg[1].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->payload_len[1][0], 2);
	free(r);
}

static void test_blank_sizes(void **state)
{
	struct rec *r = SCAN("Message:\r\n        \r\nFrom: A at B\r\n"
			     "Contents:\r\n     \r\nText item:\r\n    \r\n"
			     "body one\r\nbody two\r\nMessage:\r\n  \r\n"
			     "From: C at D\r\nContents:\r\n\r\nText item:\r\n"
			     "   \r\nlast\r\n");

	(void)state;
	/* CCQ-2: spaces are "unknown", never zero; scanning finds the end. */
	assert_int_equal(r->seg[0].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->payload_len[0][0], strlen("body one\r\nbody two"));
	assert_int_equal(r->warn[0][CCM_W_MSG_SIZE_BLANK], 1);
	assert_int_equal(r->warn[0][CCM_W_ITEM_SIZE_BLANK], 1);
	assert_int_equal(r->seg[1].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->payload_len[1][0], 4);
	free(r);
}

static void test_binary_tokens(void **state)
{
	static const char bin[] = "\x00\r\nMessage:\r\n     12\r\nFrom: X at Y"
				  "\r\nText item:\r\n\xff";
	char buf[512];
	size_t n;
	struct rec *r;

	(void)state;
	n = (size_t)snprintf(buf, sizeof(buf),
			     "Message:\r\n     \r\nFrom: A at B\r\nContents:\r\n"
			     "\r\nFile item: T.BIN\r\n%8zu\r\n",
			     sizeof(bin) - 1);
	memcpy(buf + n, bin, sizeof(bin) - 1);
	n += sizeof(bin) - 1;
	memcpy(buf + n, "\r\n", 2);
	n += 2;
	r = scan(buf, n);
	/* CCQ-3: a payload with a valid size is never scanned. */
	assert_int_equal(r->n, 2);
	assert_int_equal(r->seg[1].kind, CCM_SEG_PAD);
	assert_int_equal(r->nitems[0], 1);
	assert_int_equal(r->payload_len[0][0], sizeof(bin) - 1);
	free(r);
}

static void test_no_contents(void **state)
{
	struct rec *r = SCAN("Message:\r\nFrom: A at B\r\nSubject: s\r\n"
			     "Message:\r\nFrom: C at D\r\nContents:\r\n"
			     "Text item:\r\nx\r\n");

	(void)state;
	/* CCQ-5: the header-only message ends where the next one starts. */
	assert_int_equal(r->n, 3);
	assert_int_equal(r->seg[0].len, strlen("Message:\r\nFrom: A at B\r\n"
					       "Subject: s\r\n"));
	assert_int_equal(r->warn[0][CCM_W_NO_CONTENTS], 1);
	free(r);
}

static void test_markers_and_junk(void **state)
{
	struct rec *r = SCAN("EXPORT 8.50.00.14 Copyright(c) 1991\r\n"
			     "Exporting messages in mailbox \"smithj\" to file X\r\n"
			     "Message:\r\nFrom: A at B\r\nContents:\r\n"
			     "Text item:\r\nUser: not a marker here\r\n"
			     "garbage line\r\nMailbox: grewalj\r\n\x1a\x1a");

	(void)state;
	assert_int_equal(r->seg[0].kind, CCM_SEG_NOISE);
	assert_int_equal(r->seg[1].kind, CCM_SEG_MARKER);
	assert_int_equal(r->seg[1].name.len, 6);
	assert_memory_equal(r->seg[1].name.p, "smithj", 6);
	assert_int_equal(r->seg[2].kind, CCM_SEG_MESSAGE);
	/* "User:" inside a body is text; the trailing marker ends the body. */
	assert_int_equal(r->payload_len[2][0],
			 strlen("User: not a marker here\r\ngarbage line"));
	assert_int_equal(r->seg[3].kind, CCM_SEG_MARKER);
	assert_int_equal(r->seg[4].kind, CCM_SEG_PAD);
	assert_int_equal(r->n, 5);
	free(r);
}

static void test_junk_is_error(void **state)
{
	struct rec *r = SCAN("hello junk\r\n\x00\x01\x02 more\r\nMessage:\r\n"
			     "From: A at B\r\nContents:\r\n");

	(void)state;
	assert_int_equal(r->seg[0].kind, CCM_SEG_ERROR);
	assert_int_equal(r->seg[0].reason, CCM_R_JUNK);
	assert_int_equal(r->seg[0].len, 22);
	assert_int_equal(r->seg[1].kind, CCM_SEG_MESSAGE);
	free(r);
}

static void test_no_header(void **state)
{
	struct rec *r = SCAN("Message:\r\n\x01\x02\x03\r\n");

	(void)state;
	assert_int_equal(r->seg[0].kind, CCM_SEG_ERROR);
	assert_int_equal(r->seg[0].reason, CCM_R_NO_HEADER);
	free(r);
}

static void test_absurd_sizes(void **state)
{
	struct rec *r = SCAN("Message:\r\n999999999999999999999999999999\r\n"
			     "From: A at B\r\nContents:\r\n-5\r\nText item:\r\n"
			     "18446744073709551615\r\nbody\r\n");

	(void)state;
	assert_int_equal(r->seg[0].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->nitems[0], 1);
	assert_int_equal(r->payload_len[0][0], 4);
	assert_int_equal(r->warn[0][CCM_W_MSG_SIZE_BAD], 1);
	free(r);
}

/* Truncating a realistic export at every offset never loses a byte. */
static void test_truncate_everywhere(void **state)
{
	size_t n = sizeof(runon) - 1, cut;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		char *copy = malloc(cut ? cut : 1);

		memcpy(copy, runon, cut);
		free(scan(copy, cut));
		free(copy);
	}
}

static void test_line_ends(void **state)
{
	struct rec *r = SCAN("Message:\rFrom: A at B\rContents:\rText item:\r"
			     "one\rtwo\rMessage:\nFrom: C\nContents:\n"
			     "Text item:\nx\n");

	(void)state;
	/* CCQ-26: CR-only and LF-only exports are read like CR LF ones. */
	assert_int_equal(r->seg[0].kind, CCM_SEG_MESSAGE);
	assert_int_equal(r->payload_len[0][0], 7);
	assert_int_equal(r->seg[1].kind, CCM_SEG_MESSAGE);
	free(r);
}

/* The straightforward definition the report's line numbers must match. */
static uint64_t ref_lines(const char *d, uint64_t to)
{
	uint64_t n = 1, i;

	for (i = 0; i < to; i++)
		if (d[i] == '\n' || (d[i] == '\r' && !(i + 1 < to && d[i + 1] == '\n')))
			n++;
	return n;
}

static void test_line_numbers(void **state)
{
	static const char alphabet[] = "\r\n\nx\r";
	char buf[300];
	struct ccm_archive a;
	struct ccm_file f;
	unsigned seed = 1;
	size_t i, round, off;

	(void)state;
	/* Counted 16 bytes at a time with a scalar tail (CCQ-26 CR-only ends
	 * included): every range end, every mix of CR, LF and CR LF, and CR
	 * LF pairs straddling the 16-byte steps must give the same count. */
	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		f = mem_file(buf, sizeof(buf));
		memset(&a, 0, sizeof(a));
		a.files = &f;
		a.nfiles = 1;
		for (off = 0; off <= sizeof(buf); off++)
			assert_int_equal(ccm_archive_line(&a, 0, off),
					 ref_lines(buf, off));
	}
	{
		/* Long enough for the lane counters' periodic sums (every
		 * 127 steps of 16 bytes). */
		static char big[9000];

		for (i = 0; i < sizeof(big); i++) {
			seed = seed * 1103515245u + 12345u;
			big[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		f = mem_file(big, sizeof(big));
		a.files = &f;
		for (off = 0; off <= sizeof(big); off += 97)
			assert_int_equal(ccm_archive_line(&a, 0, off),
					 ref_lines(big, off));
		assert_int_equal(ccm_archive_line(&a, 0, sizeof(big)),
				 ref_lines(big, sizeof(big)));
	}
	memset(buf, '\r', sizeof(buf));
	f = mem_file(buf, sizeof(buf));
	assert_int_equal(ccm_archive_line(&a, 0, 40), 41);
	memset(buf, '\n', sizeof(buf));
	assert_int_equal(ccm_archive_line(&a, 0, 33), 34);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_run_on),
		cmocka_unit_test(test_blank_sizes),
		cmocka_unit_test(test_binary_tokens),
		cmocka_unit_test(test_no_contents),
		cmocka_unit_test(test_markers_and_junk),
		cmocka_unit_test(test_junk_is_error),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_absurd_sizes),
		cmocka_unit_test(test_truncate_everywhere),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_line_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
