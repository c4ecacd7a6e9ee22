/*
 * test_addr.c - cc:Mail recipients to RFC 5322 mailboxes (SPEC 3,
 * CCQ-16..19, 21) and the recipient-line splitting rule (CCQ-18).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ccm.h"
#include "render_internal.h"

#define assert_slice_equal_n(s, lit)                                         \
	do {                                                                 \
		assert_int_equal((s).len, strlen(lit));                      \
		assert_memory_equal((s).p, (lit), (s).len);                  \
	} while (0)

struct acase {
	const char *in;
	const char *sender_po;
	const char *want;
	int warn;		/* -1 none, else the expected warning code */
};

static void run_case(const struct ccm_options *o, const struct acase *c)
{
	struct ccm_warnlist wl = { NULL, 0, 0 };
	struct ccm_buf b;

	ccm_buf_init(&b);
	assert_int_equal(ccm_addr_mailbox(o, c->sender_po, c->in,
					  strlen(c->in), &b, &wl), 0);
	if (strcmp(ccm_buf_cstr(&b), c->want) != 0)
		fail_msg("\"%s\" gave '%s', want '%s'", c->in,
			 ccm_buf_cstr(&b), c->want);
	if (c->warn < 0 && wl.n != 0)
		fail_msg("\"%s\": unexpected warning %d", c->in, wl.w[0].code);
	if (c->warn >= 0 && (wl.n != 1 || (int)wl.w[0].code != c->warn))
		fail_msg("\"%s\": expected warning %d", c->in, c->warn);
	ccm_warnlist_release(&wl);
	ccm_buf_release(&b);
}

static const struct acase cases[] = {
	{ "Smith, John at PO1", NULL,
	  "\"Smith, John\" <john.smith@po1.ccmail.invalid>", -1 },
	{ "John Smith at PO1", NULL,
	  "\"John Smith\" <john.smith@po1.ccmail.invalid>", -1 },
	{ "  Smith,   John   at   PO1  ", NULL,
	  "\"Smith,   John\" <john.smith@po1.ccmail.invalid>", -1 },
	{ "Smith, John AT PO1", NULL,
	  "\"Smith, John\" <john.smith@po1.ccmail.invalid>", -1 },
	{ "Cat at the Hat at PO9", NULL,
	  "\"Cat at the Hat\" <cat.at.the.hat@po9.ccmail.invalid>", -1 },
	{ "J. R. R. Tolkien at PO", NULL,
	  "\"J. R. R. Tolkien\" <j.r.r.tolkien@po.ccmail.invalid>", -1 },
	{ "O'Brien, Pat at PO", NULL,
	  "\"O'Brien, Pat\" <pat.o.brien@po.ccmail.invalid>", -1 },
	{ "M\xc3\xbcller, J\xc3\xbcrgen at BERLIN", NULL,
	  "=?utf-8?b?TcO8bGxlciwgSsO8cmdlbg==?= "
	  "<jurgen.muller@berlin.ccmail.invalid>", -1 },
	{ "Stra\xc3\x9f" "e, \xc3\x86sa at PO", NULL,
	  "=?utf-8?b?U3RyYcOfZSwgw4ZzYQ==?= <aesa.strasse@po.ccmail.invalid>",
	  -1 },
	{ "\xe6\x97\xa5\xe6\x9c\xac at PO", NULL,
	  "=?utf-8?b?5pel5pys?= <unknown@po.ccmail.invalid>", -1 },
	{ "Admin at PO#1 (main)", NULL,
	  "\"Admin\" <admin@po-1-main.ccmail.invalid>", -1 },
	/* CCQ-17: no post office, the sender's or none. */
	{ "Admin", "PO1", "\"Admin\" <admin@po1.ccmail.invalid>", -1 },
	{ "Admin", NULL, "\"Admin\" <admin@ccmail.invalid>", -1 },
	/* CCQ-19: embedded SMTP addresses. */
	{ "user@dom.com at INTERNET", NULL, "user@dom.com", -1 },
	{ "[SMTP:user@dom.com]", NULL, "user@dom.com", -1 },
	{ "[smtp:user@dom.com] at INTERNET", NULL, "user@dom.com", -1 },
	{ "[ccmail:user@dom.com at internet]", NULL, "user@dom.com", -1 },
	{ ",User [SMTP:User@Domain.com] at site", NULL,
	  "\"User\" <User@Domain.com>", -1 },
	{ "\"Test User\" <u@d.example>", NULL, "\"Test User\" <u@d.example>",
	  -1 },
	{ "\"Test User\" <u@d.example> at INTERNET", NULL,
	  "\"Test User\" <u@d.example>", -1 },
	{ "Test User <u@d.example>", NULL, "\"Test User\" <u@d.example>",
	  -1 },
	{ "first.o'neil+tag@sub.example.org at INET", NULL,
	  "first.o'neil+tag@sub.example.org", -1 },
	/* CCQ-21: bulletin boards. */
	{ "#Social at PO5", NULL,
	  "\"#Social\" <bb.social@po5.ccmail.invalid>", -1 },
	{ "#Sales Team", "HQ",
	  "\"#Sales Team\" <bb.sales.team@hq.ccmail.invalid>", -1 },
	{ "# at HQ", NULL, "\"#\" <bb@hq.ccmail.invalid>", -1 },
	/* Local parts are capped at 64 even with two long name halves. */
	{ "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
	  "Bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb at P", NULL,
	  "=?utf-8?b?QWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEs"
	  "IEJiYmJi?= =?utf-8?b?YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=?= "
	  "<bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "@p.ccmail.invalid>", -1 },
	/* CCQ-16: no user name. */
	{ "at PO_NAME", NULL,
	  "\"at PO_NAME\" <undisclosed-recipient@po-name.ccmail.invalid>",
	  CCM_W_ADDR_NONAME },
	{ "AT PO2", NULL,
	  "\"AT PO2\" <undisclosed-recipient@po2.ccmail.invalid>",
	  CCM_W_ADDR_NONAME },
	/* Not understood: readable, valid, flagged. */
	{ "bad@@addr at INTERNET", NULL,
	  "\"bad@@addr at INTERNET\" <bad.addr@internet.ccmail.invalid>",
	  CCM_W_ADDR_ODD },
	{ "<<>> at PO", NULL, "\"<<>> at PO\" <unknown@po.ccmail.invalid>",
	  CCM_W_ADDR_ODD },
	{ "[SMTP:not an address] at X", NULL,
	  "\"[SMTP:not an address] at X\" "
	  "<smtp.not.an.address@x.ccmail.invalid>", CCM_W_ADDR_ODD },
	/* Display name quoting and encoding. */
	{ "Smith \"JJ\" \\ John at PO", NULL,
	  "\"Smith \\\"JJ\\\" \\\\ John\" <smith.jj.john@po.ccmail.invalid>",
	  -1 },
	/* Control characters in a name become blanks (CR/LF break readers) */
	{ "Tab\there\r\nx at PO", NULL,
	  "\"Tab here  x\" <tab.here.x@po.ccmail.invalid>", -1 },
	{ "a=?b at PO", NULL, "=?utf-8?b?YT0/Yg==?= <a.b@po.ccmail.invalid>",
	  -1 },
	{ "", NULL, "", -1 },
	{ "  ,  ", NULL, "", -1 },
};

static void test_forms(void **state)
{
	struct ccm_options o;
	size_t i;

	(void)state;
	ccm_options_init(&o);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&o, &cases[i]);
}

static void test_domain_map(void **state)
{
	static const struct acase mapped[] = {
		{ "Smith, John at PO1", NULL,
		  "\"Smith, John\" <john.smith@example.com>", -1 },
		{ "Smith, John at po1", NULL,
		  "\"Smith, John\" <john.smith@example.com>", -1 },
		{ "Admin", "Po1", "\"Admin\" <admin@example.com>", -1 },
		{ "Admin at PO11", NULL,
		  "\"Admin\" <admin@po11.ccmail.invalid>", -1 },
	};
	struct ccm_options o;
	char err[128];
	size_t i;

	(void)state;
	ccm_options_init(&o);
	assert_int_equal(ccm_options_set(&o, "domain=PO1=example.com", err,
					 sizeof(err)), 0);
	for (i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++)
		run_case(&o, &mapped[i]);
	ccm_options_release(&o);
}

/* Long names become several encoded words, each at most 75 chars. */
static void test_long_names(void **state)
{
	struct ccm_options o;
	struct ccm_buf b, in;
	const char *p, *q;
	int i, words = 0;

	(void)state;
	ccm_options_init(&o);
	ccm_buf_init(&in);
	for (i = 0; i < 30; i++)
		ccm_buf_puts(&in, "\xc3\xa9t\xc3\xa9 ");	/* "été " */
	ccm_buf_puts(&in, "at PO");
	ccm_buf_init(&b);
	assert_int_equal(ccm_addr_mailbox(&o, NULL, in.p, in.len, &b, NULL),
			 0);
	p = ccm_buf_cstr(&b);
	while ((q = strstr(p, "=?utf-8?b?"))) {
		const char *e = strstr(q + 10, "?=");

		assert_non_null(e);
		assert_true(e + 2 - q <= 75);
		words++;
		p = e + 2;
	}
	assert_true(words >= 3);
	assert_non_null(strstr(p, "<ete.ete.ete"));
	ccm_buf_release(&b);

	/* 70 printable ASCII characters: too long for a quoted string. */
	ccm_buf_clear(&in);
	for (i = 0; i < 70; i++)
		ccm_buf_putc(&in, 'A');
	ccm_buf_init(&b);
	assert_int_equal(ccm_addr_mailbox(&o, "X", in.p, in.len, &b, NULL), 0);
	assert_true(strncmp(ccm_buf_cstr(&b), "=?utf-8?b?", 10) == 0);
	/* the local part is capped at 64 */
	assert_non_null(strstr(ccm_buf_cstr(&b), " <aaaaaaaaaaaaaaaaaaaaaaaa"
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "@x.ccmail.invalid>"));
	ccm_buf_release(&b);
	ccm_buf_release(&in);
}

static int split(const char *s, struct ccm_slice *parts, int max)
{
	struct ccm_addr_iter it;
	int n = 0;

	ccm_addr_iter_init(&it, s, strlen(s));
	while (n < max && ccm_addr_iter_next(&it, &parts[n]))
		n++;
	return n;
}

static void test_split(void **state)
{
	struct ccm_slice p[8];

	(void)state;
	assert_int_equal(split("Smith, John at PO1", p, 8), 1);
	assert_int_equal(split("Smith, John", p, 8), 1);
	assert_int_equal(split("Smith, John at PO1, Doe, Jane at PO2", p, 8),
			 2);
	assert_slice_equal_n(p[0], "Smith, John at PO1");
	assert_slice_equal_n(p[1], " Doe, Jane at PO2");
	assert_int_equal(split("a at X, b at Y,c at Z", p, 8), 3);
	assert_slice_equal_n(p[2], "c at Z");
	assert_int_equal(split("a at X, Jones", p, 8), 1);
	assert_int_equal(split("user@x.com at INTERNET, Smith, J at PO", p, 8),
			 2);
	assert_int_equal(split(",User [SMTP:u@d.com] at site", p, 8), 1);
	assert_int_equal(split("a at X,, b at Y", p, 8), 2);
	assert_slice_equal_n(p[1], ", b at Y");
	assert_int_equal(split("a at ,b at Y", p, 8), 1);
	assert_int_equal(split("", p, 8), 1);
	assert_int_equal(p[0].len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_domain_map),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
