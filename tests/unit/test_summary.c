/*
 * test_summary.c - ccm_msg_summarize(): date, subject and folder of a
 * message without rendering it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ccm.h"

#define H(n, v) { { n, sizeof(n) - 1 }, { v, sizeof(v) - 1 }, 0 }

static void msg_with(struct ccm_msg *m, struct ccm_header *h, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->hdr = h;
	m->nhdr = n;
}

static void test_full(void **state)
{
	struct ccm_header h[] = {
		H("From", "A at B"),
		H("subject", "  R\x82sum\x82\x01\x1ex\tend  "),
		H("DATE", "6/2/98 8:39 AM"),
		H("Folder", "Projekte\\Pr\x81" "fung"),
		H("Subject", "second"),
	};
	struct ccm_options o;
	struct ccm_summary s;
	struct ccm_msg m;

	(void)state;
	ccm_options_init(&o);
	ccm_summary_init(&s);
	msg_with(&m, h, 5);
	assert_int_equal(ccm_msg_summarize(&o, &m, 12345, &s), 0);
	assert_int_equal(s.date_ok, 1);
	assert_true(s.mtime == 896776740);
	assert_string_equal(s.subject.p, "R\xc3\xa9sum\xc3\xa9  x end");
	assert_string_equal(s.folder.p, "Projekte\\Pr\xc3\xbc" "fung");
	ccm_summary_release(&s);
}

static void test_fallbacks_and_reuse(void **state)
{
	struct ccm_header bad[] = {
		H("Date", "2/31/99 10:00"),
	};
	struct ccm_header good[] = {
		H("Subject", "x"),
		H("Date", "1/1/70 1:00"),
	};
	struct ccm_options o;
	struct ccm_summary s;
	struct ccm_msg m;
	char err[64];

	(void)state;
	ccm_options_init(&o);
	ccm_summary_init(&s);
	msg_with(&m, good, 2);
	assert_int_equal(ccm_msg_summarize(&o, &m, 12345, &s), 0);
	assert_true(s.mtime == 3600);
	assert_string_equal(s.subject.p, "x");

	/* The same summary reused: nothing of the last message remains. */
	msg_with(&m, bad, 1);
	assert_int_equal(ccm_msg_summarize(&o, &m, 12345, &s), 0);
	assert_int_equal(s.date_ok, 0);
	assert_true(s.mtime == 12345);
	assert_string_equal(s.subject.p, "");
	assert_int_equal(s.subject.len, 0);
	assert_string_equal(s.folder.p, "");

	msg_with(&m, NULL, 0);
	assert_int_equal(ccm_msg_summarize(&o, &m, -5, &s), 0);
	assert_true(s.mtime == -5);
	assert_int_equal(s.date_ok, 0);

	/* The zone option moves the epoch. */
	assert_int_equal(ccm_options_set(&o, "tz=+0100", err, sizeof(err)), 0);
	msg_with(&m, good, 2);
	assert_int_equal(ccm_msg_summarize(&o, &m, 0, &s), 0);
	assert_true(s.mtime == 0);
	ccm_summary_release(&s);
}

static void test_codepages(void **state)
{
	struct ccm_header h[] = {
		H("Subject", "\x82\xa0\x82\xa2"),
		H("Folder", "\x8e\x91\x97\xbf"),
	};
	struct ccm_options o;
	struct ccm_summary s;
	struct ccm_msg m;

	(void)state;
	ccm_options_init(&o);
	o.codepage = 932;
	ccm_summary_init(&s);
	msg_with(&m, h, 2);
	assert_int_equal(ccm_msg_summarize(&o, &m, 0, &s), 0);
	assert_string_equal(s.subject.p, "\xe3\x81\x82\xe3\x81\x84");
	assert_string_equal(s.folder.p, "\xe8\xb3\x87\xe6\x96\x99");
	/* 437: 0x82 is é too, 0x9d is ¥ (Ø in 850) */
	o.codepage = 437;
	h[0].value.p = "\x9d";
	h[0].value.len = 1;
	assert_int_equal(ccm_msg_summarize(&o, &m, 0, &s), 0);
	assert_string_equal(s.subject.p, "\xc2\xa5");
	ccm_summary_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_fallbacks_and_reuse),
		cmocka_unit_test(test_codepages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
