/*
 * test_date.c - cc:Mail date parsing and RFC 5322 formatting (CCQ-8..11).
 *
 * Table-driven: every accepted form, the 12-hour clock edges, the year
 * pivot, the day/month swap, invalid and absurd values, time zones, and
 * formatting across the whole 1900..9999 range including negative epochs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ccm.h"

struct good {
	const char *in;
	int y, mo, d, h, mi, s;
	int swapped;
};

static void parse_ok(const struct ccm_options *o, const struct good *g)
{
	struct ccm_date d;
	int r = ccm_date_parse(o, g->in, strlen(g->in), &d);

	if (r != 0 || !d.ok)
		fail_msg("date \"%s\" rejected", g->in);
	if (d.year != g->y || d.mon != g->mo || d.day != g->d ||
	    d.hour != g->h || d.min != g->mi || d.sec != g->s ||
	    d.swapped != g->swapped)
		fail_msg("date \"%s\" gave %04d-%02d-%02d %02d:%02d:%02d "
			 "swapped=%d", g->in, d.year, d.mon, d.day, d.hour,
			 d.min, d.sec, d.swapped);
}

static void test_forms_mdy(void **state)
{
	static const struct good g[] = {
		{ "6/2/98 8:39", 1998, 6, 2, 8, 39, 0, 0 },
		{ "6/2/98 8:39:15", 1998, 6, 2, 8, 39, 15, 0 },
		{ "6/2/98 8:39 AM", 1998, 6, 2, 8, 39, 0, 0 },
		{ "6/2/98 8:39 PM", 1998, 6, 2, 20, 39, 0, 0 },
		{ "6/2/98 8:39PM", 1998, 6, 2, 20, 39, 0, 0 },
		{ "6/2/98 8:39 pm", 1998, 6, 2, 20, 39, 0, 0 },
		{ "6/2/98 8:39:15 pM", 1998, 6, 2, 20, 39, 15, 0 },
		{ "6/2/98 8:39 p", 1998, 6, 2, 20, 39, 0, 0 },
		{ "6/2/98 8:39a", 1998, 6, 2, 8, 39, 0, 0 },
		{ "6/2/98 8:39 A", 1998, 6, 2, 8, 39, 0, 0 },
		{ "12/31/98 12:00 AM", 1998, 12, 31, 0, 0, 0, 0 },
		{ "12/31/98 12:30 AM", 1998, 12, 31, 0, 30, 0, 0 },
		{ "12/31/98 12:00 PM", 1998, 12, 31, 12, 0, 0, 0 },
		{ "12/31/98 12:59:59 PM", 1998, 12, 31, 12, 59, 59, 0 },
		{ "12/31/98 11:59 PM", 1998, 12, 31, 23, 59, 0, 0 },
		{ "12/31/98 23:59", 1998, 12, 31, 23, 59, 0, 0 },
		{ "06-02-1998 08:39", 1998, 6, 2, 8, 39, 0, 0 },
		{ "6.2.98 8:39", 1998, 6, 2, 8, 39, 0, 0 },
		{ "6-2.98", 1998, 6, 2, 0, 0, 0, 0 },
		{ "  6/2/98  ", 1998, 6, 2, 0, 0, 0, 0 },
		{ "\t6/2/98 8:39 \t", 1998, 6, 2, 8, 39, 0, 0 },
		{ "6/2/98", 1998, 6, 2, 0, 0, 0, 0 },
		{ "1/1/69", 2069, 1, 1, 0, 0, 0, 0 },
		{ "1/1/70", 1970, 1, 1, 0, 0, 0, 0 },
		{ "1/1/00", 2000, 1, 1, 0, 0, 0, 0 },
		{ "1/1/99", 1999, 1, 1, 0, 0, 0, 0 },
		{ "2/29/2000", 2000, 2, 29, 0, 0, 0, 0 },
		{ "2/29/96", 1996, 2, 29, 0, 0, 0, 0 },
		{ "12/31/9999 23:59:59", 9999, 12, 31, 23, 59, 59, 0 },
		/* CCQ-11: a month over 12 with a valid day is swapped. */
		{ "25/12/98 10:00", 1998, 12, 25, 10, 0, 0, 1 },
		/* ISO-looking dates are read as y/m/d whatever the order. */
		{ "1998-06-02 08:39", 1998, 6, 2, 8, 39, 0, 0 },
	};
	struct ccm_options o;
	size_t i;

	(void)state;
	ccm_options_init(&o);
	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		parse_ok(&o, &g[i]);
}

static void test_forms_dmy_ymd(void **state)
{
	static const struct good dmy[] = {
		{ "2/6/98 8:39", 1998, 6, 2, 8, 39, 0, 0 },
		{ "25/12/98", 1998, 12, 25, 0, 0, 0, 0 },
		{ "12/25/98", 1998, 12, 25, 0, 0, 0, 1 },
	};
	static const struct good ymd[] = {
		{ "98/06/02 8:39", 1998, 6, 2, 8, 39, 0, 0 },
		{ "2001.1.2", 2001, 1, 2, 0, 0, 0, 0 },
	};
	struct ccm_options o;
	char err[128];
	size_t i;

	(void)state;
	ccm_options_init(&o);
	assert_int_equal(ccm_options_set(&o, "dateorder=dmy", err,
					 sizeof(err)), 0);
	for (i = 0; i < sizeof(dmy) / sizeof(dmy[0]); i++)
		parse_ok(&o, &dmy[i]);
	assert_int_equal(ccm_options_set(&o, "dateorder=ymd", err,
					 sizeof(err)), 0);
	for (i = 0; i < sizeof(ymd) / sizeof(ymd[0]); i++)
		parse_ok(&o, &ymd[i]);
	ccm_options_release(&o);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "   ", "garbage", "2/31/99", "13/13/98", "0/1/98", "1/0/98",
		"2/29/1900", "2/29/99", "6/2", "6/2/", "6//98", "6/2/98x",
		"6/2/98 25:00", "6/2/98 8:60", "6/2/98 8:39:60", "6/2/98 8",
		"6/2/98 8:", "6/2/98 8:39 XM", "6/2/98 13:00 AM",
		"6/2/98 0:30 PM", "6/2/198", "6/2/12345", "1/1/1899",
		"123456789012345678901234567890/1/1",
		"1/1/123456789012345678901234567890",
		"6/2/98 12345678901234567890:00",
		"6/2/98 8:123456789012345678901234567890",
		"99999999999/99999999999/99999999999 99999:99999:99999",
		"6/2/98 8:39 AM extra", "6/2/98 8:39:15:16", "-1/2/98",
	};
	struct ccm_options o;
	struct ccm_date d;
	size_t i;

	(void)state;
	ccm_options_init(&o);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.ok = 1;
		if (ccm_date_parse(&o, bad[i], strlen(bad[i]), &d) !=
		    -CCM_E_FORMAT || d.ok || d.year)
			fail_msg("invalid date \"%s\" accepted", bad[i]);
	}
	/* Not NUL-terminated input: the length is the bound. */
	assert_int_equal(ccm_date_parse(&o, "6/2/98 8:39 junk", 11, &d), 0);
	assert_int_equal(d.min, 39);
}

static void test_epoch_and_flags(void **state)
{
	struct ccm_options o;
	struct ccm_date d;
	char err[128];

	(void)state;
	ccm_options_init(&o);
	assert_int_equal(ccm_date_parse(&o, "6/2/98 8:39", 11, &d), 0);
	assert_true(d.epoch == 896776740);
	assert_int_equal(d.y1900, 0);
	assert_int_equal(ccm_date_parse(&o, "6/2/98 8:39:15 PM", 17, &d), 0);
	assert_true(d.epoch == 896819955);
	assert_int_equal(ccm_date_parse(&o, "1/1/1900", 8, &d), 0);
	assert_true(d.epoch == -2208988800LL);
	assert_int_equal(d.y1900, 1);
	assert_int_equal(ccm_date_parse(&o, "12/31/9999 23:59:59", 19, &d),
			 0);
	assert_true(d.epoch == 253402300799LL);
	assert_int_equal(ccm_date_parse(&o, "1/1/69", 6, &d), 0);
	assert_true(d.epoch == 3124224000LL);
	/* tz: the wall-clock time is local, the epoch is UTC. */
	assert_int_equal(ccm_options_set(&o, "tz=+0200", err, sizeof(err)), 0);
	assert_int_equal(ccm_date_parse(&o, "6/2/98 8:39", 11, &d), 0);
	assert_true(d.epoch == 896776740 - 7200);
	assert_int_equal(ccm_options_set(&o, "tz=-0530", err, sizeof(err)), 0);
	assert_int_equal(ccm_date_parse(&o, "6/2/98 8:39", 11, &d), 0);
	assert_true(d.epoch == 896776740 + 5 * 3600 + 30 * 60);
}

static void expect_format(const struct ccm_options *o, int64_t t,
			  const char *want)
{
	struct ccm_buf b;

	ccm_buf_init(&b);
	ccm_date_format(o, t, &b);
	if (strcmp(ccm_buf_cstr(&b), want) != 0)
		fail_msg("%lld formatted as \"%s\", want \"%s\"",
			 (long long)t, ccm_buf_cstr(&b), want);
	ccm_buf_release(&b);
}

static void test_format(void **state)
{
	struct ccm_options o;
	struct ccm_date d;
	char err[128];

	(void)state;
	ccm_options_init(&o);
	expect_format(&o, 0, "Thu, 01 Jan 1970 00:00:00 -0000");
	expect_format(&o, -1, "Wed, 31 Dec 1969 23:59:59 -0000");
	expect_format(&o, 896776740, "Tue, 02 Jun 1998 08:39:00 -0000");
	expect_format(&o, -2208988800LL, "Mon, 01 Jan 1900 00:00:00 -0000");
	expect_format(&o, 253402300799LL, "Fri, 31 Dec 9999 23:59:59 -0000");
	expect_format(&o, 951782400, "Tue, 29 Feb 2000 00:00:00 -0000");
	expect_format(&o, 914544000, "Fri, 25 Dec 1998 00:00:00 -0000");
	expect_format(&o, -86400 * 365LL, "Wed, 01 Jan 1969 00:00:00 -0000");
	/* With a zone, the printed wall clock is the parsed local time. */
	assert_int_equal(ccm_options_set(&o, "tz=+0200", err, sizeof(err)), 0);
	assert_int_equal(ccm_date_parse(&o, "6/2/98 8:39", 11, &d), 0);
	expect_format(&o, d.epoch, "Tue, 02 Jun 1998 08:39:00 +0200");
	assert_int_equal(ccm_options_set(&o, "tz=-0530", err, sizeof(err)), 0);
	assert_int_equal(ccm_date_parse(&o, "1/1/70 1:00", 11, &d), 0);
	expect_format(&o, d.epoch, "Thu, 01 Jan 1970 01:00:00 -0530");
	assert_int_equal(ccm_options_set(&o, "tz=+0000", err, sizeof(err)), 0);
	expect_format(&o, 0, "Thu, 01 Jan 1970 00:00:00 +0000");
	assert_int_equal(ccm_options_set(&o, "tz=-0000", err, sizeof(err)), 0);
	assert_int_equal(o.tz_set, 0);
	expect_format(&o, 0, "Thu, 01 Jan 1970 00:00:00 -0000");
}

/* Round trip over many days, including leap days and the epoch's sign. */
static void test_roundtrip(void **state)
{
	struct ccm_options o;
	int64_t t;

	(void)state;
	ccm_options_init(&o);
	for (t = -2208988800LL; t < 253402300799LL; t += 86400LL * 97 + 3661) {
		struct ccm_buf b;
		struct ccm_date d;
		char in[64];
		static const char *const mon[] = {
			"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
			"Aug", "Sep", "Oct", "Nov", "Dec"
		};
		int dd, yy, hh, mi, ss, m;
		char wd[4], ms[4];

		ccm_buf_init(&b);
		ccm_date_format(&o, t, &b);
		assert_int_equal(sscanf(ccm_buf_cstr(&b),
					"%3s, %d %3s %d %d:%d:%d", wd, &dd, ms,
					&yy, &hh, &mi, &ss), 7);
		for (m = 0; m < 12; m++)
			if (strcmp(ms, mon[m]) == 0)
				break;
		snprintf(in, sizeof(in), "%d/%d/%d %d:%02d:%02d", m + 1, dd,
			 yy, hh, mi, ss);
		assert_int_equal(ccm_date_parse(&o, in, strlen(in), &d), 0);
		if (d.epoch != t)
			fail_msg("%s -> %lld, want %lld", in,
				 (long long)d.epoch, (long long)t);
		ccm_buf_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms_mdy),
		cmocka_unit_test(test_forms_dmy_ymd),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_epoch_and_flags),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
