/*
 * test_charset.c - code page conversion (CCQ-27) and the text-item byte
 * clean-up (CCQ-24, 25, 26).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "ccm.h"
#include "render_internal.h"

struct sample {
	int cp;
	const char *in;
	size_t inlen;
	const char *out;
	size_t nbad;
};

#define S(cp, in, out, nbad) { cp, in, sizeof(in) - 1, out, nbad }

static const struct sample samples[] = {
	S(850, "plain ASCII ~\x7f", "plain ASCII ~\x7f", 0),
	S(850, "\x82", "\xc3\xa9", 0),				/* é */
	S(850, "\x81", "\xc3\xbc", 0),				/* ü */
	S(850, "\x9d", "\xc3\x98", 0),				/* Ø */
	S(850, "caf\x82 \xe1", "caf\xc3\xa9 \xc3\x9f", 0),	/* café ß */
	S(437, "\x82\x81", "\xc3\xa9\xc3\xbc", 0),
	S(437, "\x9d", "\xc2\xa5", 0),				/* ¥ */
	S(437, "\xb0", "\xe2\x96\x91", 0),			/* ░ */
	S(858, "\xd5", "\xe2\x82\xac", 0),			/* € */
	S(866, "\x80", "\xd0\x90", 0),				/* А */
	S(1252, "\x80", "\xe2\x82\xac", 0),
	S(1252, "a\x81z", "a\xc2\x81z", 1),	/* undefined: Latin-1 */
	S(10000, "\x8e", "\xc3\xa9", 0),			/* Mac é */
	S(932, "\x82\xa0\xb1", "\xe3\x81\x82\xef\xbd\xb1", 0),	/* あｱ */
	S(932, "x\x85\x40y", "x\xc2\x85@y", 1),
	S(932, "\xff", "\xc3\xbf", 1),
	S(932, "ab\x82", "ab\xc2\x82", 1),		/* cut lead byte */
	S(936, "\xc4\xe3\xba\xc3", "\xe4\xbd\xa0\xe5\xa5\xbd", 0),
	S(949, "\xc7\xd1", "\xed\x95\x9c", 0),
	S(950, "\xa4\xa4", "\xe4\xb8\xad", 0),
	S(850, "", "", 0),
};

static void convert(const struct sample *s, int count_only)
{
	struct ccm_options o;
	struct ccm_buf b;
	size_t nbad = 99;
	const char *got;

	ccm_options_init(&o);
	o.codepage = s->cp;
	ccm_buf_init(&b);
	b.count_only = count_only;
	assert_int_equal(ccm_cp_to_utf8(&o, s->in, s->inlen, &b, &nbad), 0);
	if (count_only) {
		assert_int_equal(b.len, strlen(s->out));
		return;
	}
	got = ccm_buf_cstr(&b);
	if (strcmp(got, s->out) != 0 || nbad != s->nbad)
		fail_msg("cp %d sample \"%s\": got \"%s\" nbad %zu", s->cp,
			 s->in, got, nbad);
	ccm_buf_release(&b);
}

static void test_samples(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		convert(&samples[i], 0);
		convert(&samples[i], 1);
	}
}

static void test_every_byte_is_utf8(void **state)
{
	static const int cps[] = { 437, 850, 852, 858, 860, 863, 865, 866,
				   1250, 1252, 10000, 932, 936, 949, 950 };
	struct ccm_options o;
	char all[256];
	size_t i, k;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (char)i;
	ccm_options_init(&o);
	for (k = 0; k < sizeof(cps) / sizeof(cps[0]); k++) {
		struct ccm_buf b;
		const unsigned char *u;

		o.codepage = cps[k];
		ccm_buf_init(&b);
		assert_int_equal(ccm_cp_to_utf8(&o, all, sizeof(all), &b,
						NULL), 0);
		/* ASCII half unchanged; the whole thing valid UTF-8. */
		assert_memory_equal(b.p, all, 0x80);
		u = (const unsigned char *)b.p;
		for (i = 0; i < b.len;) {
			size_t n = u[i] < 0x80 ? 1 : u[i] < 0xE0 ? 2 :
				   u[i] < 0xF0 ? 3 : 4, j;

			assert_true(u[i] < 0x80 || u[i] >= 0xC2);
			assert_true(i + n <= b.len);
			for (j = 1; j < n; j++)
				assert_int_equal(u[i + j] & 0xC0, 0x80);
			i += n;
		}
		ccm_buf_release(&b);
	}
}

static void test_options(void **state)
{
	struct ccm_options o;
	char err[200];

	(void)state;
	ccm_options_init(&o);
	assert_int_equal(o.codepage, 850);
	assert_int_equal(ccm_options_set(&o, "codepage=437", err, sizeof(err)),
			 0);
	assert_int_equal(o.codepage, 437);
	assert_int_equal(ccm_options_set(&o, "codepage=932", err, sizeof(err)),
			 0);
	assert_int_equal(ccm_options_set(&o, "codepage=10000", err,
					 sizeof(err)), 0);
	assert_int_equal(o.codepage, 10000);
	assert_int_equal(ccm_options_set(&o, "codepage=1234", err,
					 sizeof(err)), -CCM_E_OPTION);
	assert_non_null(strstr(err, "codepage"));
	assert_int_equal(ccm_options_set(&o, "codepage=", err, sizeof(err)),
			 -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "codepage=85O", err, sizeof(err)),
			 -CCM_E_OPTION);
	assert_int_equal(o.codepage, 10000);
	assert_int_equal(ccm_options_set(&o, "tz=0200", err, sizeof(err)),
			 -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "tz=+2400", err, sizeof(err)),
			 -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "dateorder=xyz", err,
					 sizeof(err)), -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "crlf", err, sizeof(err)), 0);
	assert_int_equal(o.crlf, 1);
	assert_int_equal(ccm_options_set(&o, "crlf=0", err, sizeof(err)), 0);
	assert_int_equal(o.crlf, 0);
	assert_int_equal(ccm_options_set(&o, "crlf=2", err, sizeof(err)),
			 -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "account=Jane Doe", err,
					 sizeof(err)), 0);
	assert_string_equal(o.account, "Jane Doe");
	assert_int_equal(ccm_options_set(&o, "account=Other", err,
					 sizeof(err)), 0);
	assert_string_equal(o.account, "Other");
	assert_int_equal(ccm_options_set(&o, "domain=PO1=example.com", err,
					 sizeof(err)), 0);
	assert_int_equal(ccm_options_set(&o, "domain=PO2=mail.example.org",
					 err, sizeof(err)), 0);
	assert_int_equal(o.ndomains, 2);
	assert_string_equal(o.domains[1].po, "PO2");
	assert_string_equal(o.domains[1].domain, "mail.example.org");
	assert_string_equal(o.account, "Other");
	assert_int_equal(ccm_options_set(&o, "domain=PO3=bad domain", err,
					 sizeof(err)), -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "domain=PO3=a..b", err,
					 sizeof(err)), -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "domain=example.com", err,
					 sizeof(err)), -CCM_E_OPTION);
	assert_int_equal(ccm_options_set(&o, "allow_other", err, sizeof(err)),
			 1);
	assert_int_equal(ccm_options_set(&o, "codepages=850", err,
					 sizeof(err)), 1);
	ccm_options_release(&o);
	assert_null(o.domains);
	assert_null(o.account);
	assert_int_equal(o.codepage, 850);
}

static void test_strerror_warnings(void **state)
{
	struct ccm_warning w = { CCM_W_ITEM_SIZE_BAD, 3, -42 };
	struct ccm_warnlist wl = { NULL, 0, 0 };
	struct ccm_buf b;
	int i;

	(void)state;
	assert_string_equal(ccm_strerror(-CCM_E_OPTION), "bad option value");
	assert_string_equal(ccm_strerror(-CCM_E_FORMAT),
			    "not a cc:Mail export or broken structure");
	assert_non_null(ccm_strerror(-2));
	ccm_buf_init(&b);
	ccm_warning_format(&w, &b);
	assert_string_equal(ccm_buf_cstr(&b),
			    "item 3 size -42 does not fit (CCQ-4); end found "
			    "by scanning");
	for (i = 0; i < 100; i++)
		ccm_warn(&wl, CCM_W_CHARSET, i, 850);
	assert_int_equal(wl.n, 100);
	ccm_buf_clear(&b);
	ccm_warning_format(&wl.w[99], &b);
	assert_string_equal(ccm_buf_cstr(&b), "99 bytes not valid in code page "
			    "850, read as Latin-1 (CCQ-27)");
	ccm_warnlist_release(&wl);
	ccm_buf_release(&b);
}

/* ------------------------------------------------------- text items */

static void collect(void *ctx, const char *p, size_t n)
{
	ccm_buf_put(ctx, p, n);
}

static void text_case(int cp, const char *in, size_t n, const char *want,
		      size_t ncontrol, size_t nbad)
{
	struct ccm_options o;
	struct ccm_text_counts tc;
	struct ccm_buf b;

	ccm_options_init(&o);
	o.codepage = cp;
	ccm_buf_init(&b);
	assert_int_equal(ccm_text_stream(&o, in, n, collect, &b, &tc), 0);
	if (strcmp(ccm_buf_cstr(&b), want) != 0 || tc.ncontrol != ncontrol ||
	    tc.nbad != nbad)
		fail_msg("text \"%.*s\" gave \"%s\" ncontrol %zu nbad %zu",
			 (int)n, in, ccm_buf_cstr(&b), tc.ncontrol, tc.nbad);
	ccm_buf_release(&b);
}

#define T(cp, in, want, nc, nb) text_case(cp, in, sizeof(in) - 1, want, nc, nb)

static void test_text_items(void **state)
{
	(void)state;
	T(850, "", "", 0, 0);
	T(850, "a\r\nb\rc\nd", "a\nb\nc\nd\n", 0, 0);		/* CCQ-26 */
	T(850, "a\r\n\r\n", "a\n\n", 0, 0);
	T(850, "a\n\r", "a\n\n", 0, 0);
	T(850, "a\r\r\nb", "a\n\nb\n", 0, 0);
	T(850, "x\x1e\x02y\x1f\x01z", "xyz\n", 4, 0);		/* CCQ-24 */
	T(850, "x\x1e\r\ny", "x\ny\n", 1, 0);
	T(850, "nul\0bel\x07 esc\x1b.", "nulbel esc.\n", 3, 0);
	T(850, "tab\tff\x0c", "tab\tff\x0c\n", 0, 0);
	T(850, "one\x1atwo\x1a\x1a", "one\ntwo\n", 0, 0);	/* CCQ-25 */
	T(850, "\x1a\x1a", "", 0, 0);
	T(850, "\x01\x02", "", 2, 0);
	T(850, "caf\x82", "caf\xc3\xa9\n", 0, 0);
	T(1252, "bad\x81", "bad\xc2\x81\n", 0, 1);
	T(932, "\x82\xa0\r\n", "\xe3\x81\x82\n", 0, 0);
}

/* A double-byte character across the internal chunk boundary. */
static void test_dbcs_chunks(void **state)
{
	static char in[20000];
	struct ccm_options o;
	struct ccm_text_counts tc;
	struct ccm_buf b;
	size_t i, k, n;

	(void)state;
	ccm_options_init(&o);
	o.codepage = 932;
	for (k = 1; k <= 2; k++) {
		/* k ASCII bytes, then pairs: one of the two cuts a pair. */
		memset(in, 'a', k);
		for (i = k; i + 2 <= sizeof(in); i += 2)
			memcpy(in + i, "\x82\xa0", 2);
		n = i;
		ccm_buf_init(&b);
		assert_int_equal(ccm_text_stream(&o, in, n, collect, &b, &tc),
				 0);
		assert_int_equal(tc.nbad, 0);
		assert_int_equal(b.len, k + (n - k) / 2 * 3 + 1);
		for (i = k; i + 3 < b.len; i += 3)
			if (memcmp(b.p + i, "\xe3\x81\x82", 3) != 0)
				fail_msg("bad character at %zu (k=%zu)", i, k);
		ccm_buf_release(&b);
	}
}

/*
 * The text rules one byte at a time (CCQ-24/25/26), then the whole result
 * converted at once: what ccm_text_stream must give however it chunks and
 * whatever shortcuts it takes for runs of plain ASCII.
 */
static void text_reference(int cp, const unsigned char *p, size_t n,
			   struct ccm_buf *out, size_t *ncontrol, size_t *nbad)
{
	struct ccm_options o;
	struct ccm_buf clean;
	int skip_lf = 0, skip_attr = 0;
	size_t i;

	ccm_options_init(&o);
	o.codepage = cp;
	ccm_buf_init(&clean);
	*ncontrol = 0;
	while (n && p[n - 1] == 0x1A)
		n--;
	for (i = 0; i < n; i++) {
		unsigned char b = p[i];

		if (skip_attr) {
			skip_attr = 0;
			if (b != '\r' && b != '\n') {
				(*ncontrol)++;
				continue;
			}
		}
		if (skip_lf) {
			skip_lf = 0;
			if (b == '\n')
				continue;
		}
		if (b >= 0x20 || b == '\t' || b == '\f') {
			ccm_buf_putc(&clean, (char)b);
		} else if (b == '\r') {
			ccm_buf_putc(&clean, '\n');
			skip_lf = 1;
		} else if (b == '\n' || b == 0x1A) {
			ccm_buf_putc(&clean, '\n');
		} else {
			(*ncontrol)++;
			skip_attr = b == 0x1E || b == 0x1F;
		}
	}
	assert_int_equal(ccm_cp_to_utf8(&o, clean.p ? clean.p : "", clean.len,
					out, nbad), 0);
	if (out->len && out->p[out->len - 1] != '\n')
		ccm_buf_putc(out, '\n');
	ccm_buf_release(&clean);
}

static void test_text_random(void **state)
{
	/* Long plain runs, every special byte, high bytes (valid in 850,
	 * invalid in 1252: 0x81), near 16-byte steps and 8 KiB chunks. */
	static const unsigned char special[] = {
		'\r', '\n', 0x1A, 0x1E, 0x1F, 0x01, 0x00, '\t', '\f', 0x82,
		0x81, 0xE9, 0x7F, ' ',
	};
	static const int cps[] = { 850, 1252, 437 };
	static unsigned char in[20000];
	struct ccm_options o;
	struct ccm_text_counts tc;
	struct ccm_buf got, want;
	unsigned seed = 7;
	size_t round, i, n, nc, nb;

	(void)state;
	for (round = 0; round < 300; round++) {
		int cp = cps[round % 3];
		unsigned rate;

		seed = seed * 1103515245u + 12345u;
		n = round < 250 ? (seed >> 8) % 200 : (seed >> 8) % sizeof(in);
		rate = 1 + (seed >> 4) % 40;	/* 1 in rate bytes special */
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % rate == 0)
				in[i] = special[(seed >> 8) % sizeof(special)];
			else
				in[i] = (unsigned char)('a' + (seed >> 20) % 26);
		}
		ccm_options_init(&o);
		o.codepage = cp;
		ccm_buf_init(&got);
		ccm_buf_init(&want);
		assert_int_equal(ccm_text_stream(&o, (const char *)in, n,
						 collect, &got, &tc), 0);
		text_reference(cp, in, n, &want, &nc, &nb);
		if (got.len != want.len ||
		    (got.len && memcmp(got.p, want.p, got.len) != 0) ||
		    tc.ncontrol != nc || tc.nbad != nb)
			fail_msg("round %zu (cp %d, %zu bytes): %zu/%zu bytes, "
				 "ncontrol %zu/%zu, nbad %zu/%zu", round, cp,
				 n, got.len, want.len, tc.ncontrol, nc,
				 tc.nbad, nb);
		ccm_buf_release(&got);
		ccm_buf_release(&want);
	}
}

/* A double-byte lead byte ends one 8 KiB chunk and the next chunk is
 * plain ASCII: the ASCII shortcut must not skip the pending lead byte. */
static void test_dbcs_lead_then_ascii(void **state)
{
	static unsigned char in[8192 + 101];
	struct ccm_options o;
	struct ccm_text_counts tc;
	struct ccm_buf got, want;
	size_t nc, nb;

	(void)state;
	memset(in, 'a', 8191);
	in[8191] = 0x83;		/* CP932 lead byte ... */
	in[8192] = '@';			/* ... of U+30A1 */
	memset(in + 8193, 'b', 100);
	ccm_options_init(&o);
	o.codepage = 932;
	ccm_buf_init(&got);
	ccm_buf_init(&want);
	assert_int_equal(ccm_text_stream(&o, (const char *)in, sizeof(in),
					 collect, &got, &tc), 0);
	text_reference(932, in, sizeof(in), &want, &nc, &nb);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, got.len);
	assert_memory_equal(got.p + 8191, "\xe3\x82\xa1", 3);
	assert_int_equal(tc.nbad, 0);
	ccm_buf_release(&got);
	ccm_buf_release(&want);
}

struct job {
	int cp;
	int ok;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	struct ccm_options o;
	int round;

	ccm_options_init(&o);
	o.codepage = j->cp;
	j->ok = 1;
	for (round = 0; round < 200; round++) {
		struct ccm_buf b;

		ccm_buf_init(&b);
		if (ccm_cp_to_utf8(&o, "\x82\x81\x9d", 3, &b, NULL) ||
		    b.len < 3)
			j->ok = 0;
		ccm_buf_release(&b);
	}
	return NULL;
}

/* Tables are built once under a lock; concurrent first use must work. */
static void test_threads(void **state)
{
	static const int cps[] = { 860, 863, 865, 852, 860, 863, 865, 852,
				   949, 950 };
	pthread_t t[10];
	struct job j[10];
	size_t i;

	(void)state;
	for (i = 0; i < 10; i++) {
		j[i].cp = cps[i];
		assert_int_equal(pthread_create(&t[i], NULL, worker, &j[i]), 0);
	}
	for (i = 0; i < 10; i++) {
		pthread_join(t[i], NULL);
		assert_true(j[i].ok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_every_byte_is_utf8),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_strerror_warnings),
		cmocka_unit_test(test_text_items),
		cmocka_unit_test(test_dbcs_chunks),
		cmocka_unit_test(test_text_random),
		cmocka_unit_test(test_dbcs_lead_then_ascii),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
