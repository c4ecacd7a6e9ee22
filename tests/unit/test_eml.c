/*
 * test_eml.c - the .eml renderer (SPEC section 3).
 *
 * Messages are built by hand (slices into literals), rendered, and checked
 * for content, layout, determinism (two renders are byte-identical) and
 * measurement (count_only length == real length), on every message.
 *
 * "test_eml --dump DIR" writes every test message as DIR/NN.eml, with the
 * exact payload of each attachment as DIR/NN.aK (K = 1.. in part order),
 * for tests/unit/eml_check.py, which runs independent MIME parsers on them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ccm.h"
#include "render_internal.h"

#define MAXH 40
#define MAXI 16

struct tmsg {
	struct ccm_msg m;
	struct ccm_header h[MAXH];
	struct ccm_item it[MAXI];
	struct ccm_options o;
	int64_t fallback;
};

static void tm_init(struct tmsg *t)
{
	memset(t, 0, sizeof(*t));
	t->m.hdr = t->h;
	t->m.items = t->it;
	t->m.has_contents = 1;
	t->m.off = 4242;
	t->fallback = 915148800;	/* 1 Jan 1999 */
	ccm_options_init(&t->o);
}

static void hdrn(struct tmsg *t, const char *name, const char *v, size_t n)
{
	struct ccm_header *h = &t->h[t->m.nhdr++];

	assert_true(t->m.nhdr <= MAXH);
	h->name.p = name;
	h->name.len = strlen(name);
	h->value.p = v;
	h->value.len = n;
}

static void hdr(struct tmsg *t, const char *name, const char *v)
{
	hdrn(t, name, v, strlen(v));
}

static void itemn(struct tmsg *t, enum ccm_item_kind k, const char *title,
		  const char *p, size_t n)
{
	struct ccm_item *it = &t->it[t->m.nitems++];
	static const char *const words[] = { "Text", "File", "Fax",
					     "Graphics", "Sound", "Message",
					     "Widget" };

	assert_true(t->m.nitems <= MAXI);
	it->kind = k;
	it->word.p = words[k];
	it->word.len = strlen(words[k]);
	it->title.p = title;
	it->title.len = strlen(title);
	it->payload.p = p;
	it->payload.len = n;
}

static void item(struct tmsg *t, enum ccm_item_kind k, const char *title,
		 const char *p)
{
	itemn(t, k, title, p, strlen(p));
}

/*
 * Render m, checking determinism, the count_only measure and line ends.
 * Returns a NUL-terminated copy (free it) and the warnings in wl.
 */
static char *render(struct tmsg *t, size_t *len, struct ccm_warnlist *wl)
{
	struct ccm_render_ctx rc = { &t->o, "export.ccm", "jdoe", 17,
				     t->fallback };
	struct ccm_buf a, b, c;
	struct ccm_warnlist w2 = { NULL, 0, 0 };
	char *copy;
	size_t i;

	ccm_buf_init(&a);
	ccm_buf_init(&b);
	ccm_buf_init(&c);
	c.count_only = 1;
	assert_int_equal(ccm_eml_render(&rc, &t->m, &a, wl), 0);
	assert_int_equal(ccm_eml_render(&rc, &t->m, &b, &w2), 0);
	assert_int_equal(ccm_eml_render(&rc, &t->m, &c, NULL), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	if (c.len != a.len)
		fail_msg("count_only measured %zu, render wrote %zu", c.len,
			 a.len);
	/* Line ends: LF only, or CRLF only; no line over 998 octets. */
	for (i = 0; i < a.len; i++) {
		if (t->o.crlf) {
			if (a.p[i] == '\n')
				assert_true(i > 0 && a.p[i - 1] == '\r');
			if (a.p[i] == '\r')
				assert_true(i + 1 < a.len &&
					    a.p[i + 1] == '\n');
		} else {
			assert_true(a.p[i] != '\r');
		}
	}
	for (i = 0; i < a.len;) {
		const char *nl = memchr(a.p + i, '\n', a.len - i);
		size_t l = nl ? (size_t)(nl - a.p) - i : a.len - i;

		if (l > 998 + (t->o.crlf ? 1 : 0))
			fail_msg("line of %zu octets at %zu", l, i);
		i += l + 1;
	}
	copy = malloc(a.len + 1);
	assert_non_null(copy);
	memcpy(copy, a.p, a.len);
	copy[a.len] = '\0';
	*len = a.len;
	ccm_buf_release(&a);
	ccm_buf_release(&b);
	ccm_warnlist_release(&w2);
	return copy;
}

static const char *header_block_end(const char *s)
{
	const char *e = strstr(s, "\n\n");

	if (!e)
		e = strstr(s, "\r\n\r\n");
	assert_non_null(e);
	return e;
}

/*
 * The message, unfolded (CR dropped, line end + blank joined), must hold
 * want as a whole line.  Folding is checked separately.
 */
static void has_line(const char *s, const char *want)
{
	size_t n = strlen(want), i, k = 0;
	char *u = malloc(strlen(s) + 1);
	const char *p;

	assert_non_null(u);
	for (i = 0; s[i]; i++) {
		if (s[i] == '\r')
			continue;
		if (s[i] == '\n' && (s[i + 1] == ' ' ||
				     (s[i + 1] == '\r' && s[i + 2] == ' ')))
			continue;
		u[k++] = s[i];
	}
	u[k] = '\0';
	for (p = u; (p = strstr(p, want)); p++) {
		if ((p == u || p[-1] == '\n') && (p[n] == '\n' || !p[n])) {
			free(u);
			return;
		}
	}
	fail_msg("no line \"%s\" in:\n%.1500s", want, u);
}

static int has_warning(const struct ccm_warnlist *wl,
		       enum ccm_warning_code c)
{
	size_t i;

	for (i = 0; i < wl->n; i++)
		if (wl->w[i].code == c)
			return 1;
	return 0;
}

/* ----------------------------------------------------- test messages */

static void msg_simple(struct tmsg *t)
{
	tm_init(t);
	hdr(t, "From", "Smith, John at PO1");
	hdr(t, "To", "Doe, Jane at PO2");
	hdr(t, "Subject", "Another message");
	hdr(t, "Date", "6/2/98 8:39");
	hdr(t, "Folder", "Inbox");
	item(t, CCM_ITEM_TEXT, "", "Hello Jane,\r\n\r\nsee you.\r\n");
}

static const char simple_expected[] =
	"From: \"Smith, John\" <john.smith@po1.ccmail.invalid>\n"
	"To: \"Doe, Jane\" <jane.doe@po2.ccmail.invalid>\n"
	"Subject: Another message\n"
	"Date: Tue, 02 Jun 1998 08:39:00 -0000\n"
	"Message-ID: <%s.17@ccmailfs.invalid>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: 7bit\n"
	"X-CcMail-Folder: Inbox\n"
	"X-CcMail-Source: export.ccm; offset=4242\n"
	"X-CcMail-From: Smith, John at PO1\n"
	"X-CcMail-To: Doe, Jane at PO2\n"
	"X-CcMail-Date: 6/2/98 8:39\n"
	"\n"
	"Hello Jane,\n"
	"\n"
	"see you.\n";

static const char binary[] =
	"PK\3\4\0\0\0\0binary\r\nMessage:\r\nContents:\r\n\0\0\xff\xfe"
	"Text item: x\r\n\x1a\x1a";

static char pcx[130] = "\x0a\x05\x01\x08";

static void msg_multipart(struct tmsg *t)
{
	tm_init(t);
	hdr(t, "From", "Smith, John at PO1");
	hdr(t, "To", "Doe, Jane at PO2, Roe, Rick at PO2");
	hdr(t, "To", "Admin");
	hdr(t, "Cc", "user@example.com at INTERNET");
	hdr(t, "Bcc", "#Social at PO5");
	hdr(t, "Subject", "Budget");
	hdr(t, "Date", "6/3/98 2:05 PM");
	hdr(t, "Priority", "Urgent");
	hdr(t, "RRT", "Yes");
	/* The attachment comes first in the export, the body first in MIME. */
	itemn(t, CCM_ITEM_FILE, "C:\\DATA\\BUDGET.ZIP 6/3/98 2:01 PM", binary,
	      sizeof(binary) - 1);
	item(t, CCM_ITEM_TEXT, "", "Here is the budget.\r\n");
	item(t, CCM_ITEM_TEXT, "notes.txt", "More notes.\r\n");
	itemn(t, CCM_ITEM_OTHER, "", "", 0);
	itemn(t, CCM_ITEM_FAX, "", pcx, sizeof(pcx));
}

static void msg_nonascii(struct tmsg *t)
{
	tm_init(t);
	hdr(t, "From", "M\x81ller, J\x81rgen at BERLIN");	/* cp850 ü */
	hdr(t, "To", "Caf\x82, Ren\x82 at PARIS");
	hdr(t, "Subject", "R\x82sum\x82 \x9b ann\x82" "e 1998");
	hdr(t, "Date", "02.06.1998 08:39");
	hdr(t, "Folder", "Projekte\\Pr\x81" "fung");
	item(t, CCM_ITEM_TEXT, "", "Gr\x81\xe1" "e aus K\x94ln\r\n");
	item(t, CCM_ITEM_FILE, "R\x82sum\x82 \"final\".doc",
	     "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1olefile");
}

static void msg_rtf(struct tmsg *t)
{
	tm_init(t);
	hdr(t, "From", "A at B");
	hdr(t, "Subject", "rtf");
	hdr(t, "Date", "1/2/03 4:05");
	item(t, CCM_ITEM_TEXT, "", "  {\\rtf1\\ansi Hello \\b bold\\b0}\r\n");
}

static char longline[6000];

static void msg_qp(struct tmsg *t)
{
	size_t i;

	for (i = 0; i < sizeof(longline) - 1; i++)
		longline[i] = "abc = d\x82  \t"[i % 11];
	longline[2000] = '\r';
	longline[2001] = '\n';
	longline[4000] = ' ';
	longline[4001] = '\r';
	longline[4002] = '\n';
	tm_init(t);
	hdr(t, "From", "A at B");
	hdr(t, "Subject", "long lines");
	hdr(t, "Date", "1/2/03 4:05");
	itemn(t, CCM_ITEM_TEXT, "", longline, sizeof(longline) - 1);
}

static char bigtext[3 * 1024 * 1024];

static void msg_big(struct tmsg *t)
{
	size_t i;

	for (i = 0; i < sizeof(bigtext); i++)
		bigtext[i] = i % 71 == 70 ? '\n' :
			     "caf\x82 \x1e\x01ol\xc3\xa9"[i % 11];
	tm_init(t);
	hdr(t, "From", "A at B");
	hdr(t, "Subject", "big");
	hdr(t, "Date", "1/2/03 4:05");
	itemn(t, CCM_ITEM_TEXT, "", bigtext, sizeof(bigtext));
	itemn(t, CCM_ITEM_FILE, "big.bin", bigtext, sizeof(bigtext) - 7);
}

static char longvalue[5000];
static char spaced[3000];

static void msg_odd_headers(struct tmsg *t)
{
	size_t i;

	memset(longvalue, 'x', sizeof(longvalue) - 1);
	for (i = 0; i < sizeof(spaced) - 1; i++)
		spaced[i] = i % 9 == 8 ? ' ' : 'w';
	tm_init(t);
	t->o.codepage = 1252;
	hdr(t, "Subject", "ctl\x01here\x81");
	hdr(t, "Date", "2/31/99 10:00");
	hdr(t, "X Foo!", "token with odd characters");
	hdr(t, "", "a stray line");
	hdr(t, "Warning", "not ours");
	hdr(t, "Long", longvalue);
	hdr(t, "Spaced", spaced);
	hdr(t, "Enc", "=?utf-8?q?fake?=");
	hdrn(t, "Nul", "a\0b", 3);
	hdr(t, "Priority", "Low");
	hdr(t, "Subject", "second subject");
	hdr(t, "Cc", "at PO_NAME");
	hdr(t, "Cc", "bad@@addr at X");
	itemn(t, CCM_ITEM_TEXT, "", "", 0);
	itemn(t, CCM_ITEM_TEXT, "", "\x1e\x01", 2);
	item(t, CCM_ITEM_MESSAGE, "../../etc/passwd", "root:x:0:0\n");
	item(t, CCM_ITEM_GRAPHICS, "..", "GIF89a....");
	itemn(t, CCM_ITEM_SOUND, "  6/2/98 8:39  ", "RIFF\0\0\0\0WAVEfmt ", 16);
	item(t, CCM_ITEM_FILE, "D:REPORT.WK1", "lotus");
	item(t, CCM_ITEM_FILE, " \"<>\" \xa0", "quotes only");	/* NBSP */
}

static void msg_empty(struct tmsg *t)
{
	tm_init(t);
}

static void msg_dbcs(struct tmsg *t)
{
	tm_init(t);
	t->o.codepage = 932;
	hdr(t, "From", "\x93\xfa\x96\x7b, \x91\xbe\x98\x59 at TOKYO");
	hdr(t, "Subject", "\x82\xa0\x82\xa2\x82\xa4");
	hdr(t, "Date", "98/06/02 8:39");
	item(t, CCM_ITEM_TEXT, "",
	     "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\r\n");
	item(t, CCM_ITEM_FILE, "\x8e\x91\x97\xbf.txt", "plain text file\n");
}

typedef void (*builder)(struct tmsg *t);

static void msg_crlf_multipart(struct tmsg *t)
{
	msg_multipart(t);
	t->o.crlf = 1;
}

static void msg_crlf_qp(struct tmsg *t)
{
	msg_qp(t);
	t->o.crlf = 1;
}

static const builder all_msgs[] = {
	msg_simple, msg_multipart, msg_nonascii, msg_rtf, msg_qp,
	msg_odd_headers, msg_empty, msg_dbcs, msg_crlf_multipart,
	msg_crlf_qp, msg_big,
};

/* -------------------------------------------------------------- tests */

static void test_simple_exact(void **state)
{
	struct tmsg t;
	struct ccm_warnlist wl = { NULL, 0, 0 };
	char want[2048], id[17];
	const char *mid;
	size_t len;
	char *s;

	(void)state;
	msg_simple(&t);
	s = render(&t, &len, &wl);
	mid = strstr(s, "Message-ID: <");
	assert_non_null(mid);
	memcpy(id, mid + 13, 16);
	id[16] = '\0';
	assert_int_equal(strspn(id, "0123456789abcdef"), 16);
	snprintf(want, sizeof(want), simple_expected, id);
	assert_string_equal(s, want);
	assert_int_equal(wl.n, 0);
	free(s);
	ccm_warnlist_release(&wl);
}

static void test_message_id(void **state)
{
	struct tmsg t;
	size_t len;
	char *a, *b, *c;

	(void)state;
	msg_simple(&t);
	a = render(&t, &len, NULL);
	t.m.off = 4243;
	b = render(&t, &len, NULL);
	msg_simple(&t);
	t.h[2].value.len = 5;	/* another subject */
	c = render(&t, &len, NULL);
	assert_true(strncmp(strstr(a, "Message-ID:"), strstr(b, "Message-ID:"),
			    40) != 0);
	assert_true(strncmp(strstr(a, "Message-ID:"), strstr(c, "Message-ID:"),
			    40) != 0);
	free(a);
	free(b);
	free(c);
}

static void test_multipart(void **state)
{
	struct tmsg t;
	struct ccm_warnlist wl = { NULL, 0, 0 };
	const char *body, *p1, *p2, *p3;
	char bnd[64];
	size_t len;
	char *s;

	(void)state;
	msg_multipart(&t);
	s = render(&t, &len, &wl);
	has_line(s, "To: \"Doe, Jane\" <jane.doe@po2.ccmail.invalid>, "
		 "\"Roe, Rick\" <rick.roe@po2.ccmail.invalid>, "
		 "\"Admin\" <admin@po1.ccmail.invalid>");
	has_line(s, "Cc: user@example.com");
	has_line(s, "Bcc: \"#Social\" <bb.social@po5.ccmail.invalid>");
	has_line(s, "Date: Wed, 03 Jun 1998 14:05:00 -0000");
	has_line(s, "X-Priority: 1");
	has_line(s, "Importance: high");
	has_line(s, "X-CcMail-Priority: Urgent");
	has_line(s, "X-CcMail-RRT: Yes");
	has_line(s, "X-CcMail-To: Admin");
	has_line(s, "X-CcMail-Warning: 1 zero-length item(s) (CCQ-7)");
	assert_true(has_warning(&wl, CCM_W_EMPTY_ITEM));
	p1 = strstr(s, "boundary=\"");
	assert_non_null(p1);
	assert_int_equal(sscanf(p1 + 10, "%63[^\"]", bnd), 1);
	assert_int_equal(strncmp(bnd, "=_ccm_", 6), 0);
	assert_int_equal(strlen(bnd), 22);
	body = header_block_end(s);
	/* First part: the body text, no disposition. */
	p1 = strstr(body, "Content-Type: text/plain; charset=utf-8\n"
		    "Content-Transfer-Encoding: 7bit\n\nHere is the budget.\n");
	p2 = strstr(body, "Content-Type: application/zip; name=\"BUDGET.ZIP\"\n"
		    "Content-Transfer-Encoding: base64\n"
		    "Content-Disposition: attachment; filename=\"BUDGET.ZIP\"\n"
		    "\nUEsDBAAAAABiaW5hcnkNCk1lc3NhZ2U6DQpDb250ZW50czoNCgAA"
		    "//5UZXh0IGl0ZW06IHgNChoa\n");
	p3 = strstr(body, "Content-Disposition: inline; "
		    "filename=\"notes.txt\"\n\nMore notes.\n");
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(p3);
	assert_true(p1 < p2 && p2 < p3);
	assert_non_null(strstr(body, "name=\"ATT00004.bin\""));
	assert_non_null(strstr(body, "Content-Type: image/x-pcx; "
			       "name=\"ATT00005.pcx\""));
	/* Closed, with a line end after the close delimiter. */
	snprintf(bnd + strlen(bnd), sizeof(bnd) - strlen(bnd), "--\n");
	assert_string_equal(s + len - strlen(bnd), bnd);
	free(s);
	ccm_warnlist_release(&wl);
}

static void test_nonascii(void **state)
{
	struct tmsg t;
	size_t len;
	char *s;

	(void)state;
	msg_nonascii(&t);
	s = render(&t, &len, NULL);
	/* "Résumé ø année 1998" */
	has_line(s, "Subject: =?utf-8?b?UsOpc3Vtw6kgw7ggYW5uw6llIDE5OTg=?=");
	has_line(s, "From: =?utf-8?b?TcO8bGxlciwgSsO8cmdlbg==?= "
		 "<jurgen.muller@berlin.ccmail.invalid>");
	has_line(s, "X-CcMail-Folder: =?utf-8?b?UHJvamVrdGVcUHLDvGZ1bmc=?=");
	has_line(s, "Date: Fri, 06 Feb 1998 08:39:00 -0000");
	assert_non_null(strstr(s, "Content-Transfer-Encoding: 8bit\n\n"
			       "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n"));
	has_line(s, "Content-Type: application/msword; "
		 "name*=utf-8''R%C3%A9sum%C3%A9%20final.doc");
	has_line(s, "Content-Disposition: attachment; "
		 "filename*=utf-8''R%C3%A9sum%C3%A9%20final.doc");
	free(s);
}

static void test_rtf(void **state)
{
	struct tmsg t;
	size_t len;
	char *s;

	(void)state;
	msg_rtf(&t);
	s = render(&t, &len, NULL);
	has_line(s, "Content-Type: text/rtf; charset=utf-8");
	assert_null(strstr(s, "multipart"));
	free(s);
}

static void test_qp(void **state)
{
	struct tmsg t;
	const char *body, *p;
	size_t len, col = 0;
	char *s;

	(void)state;
	msg_qp(&t);
	s = render(&t, &len, NULL);
	has_line(s, "Content-Transfer-Encoding: quoted-printable");
	body = header_block_end(s) + 2;
	for (p = body; *p; p++) {
		if (*p == '\n') {
			assert_true(col <= 76);
			/* no blank before a line end */
			assert_true(p == body || (p[-1] != ' ' &&
						  p[-1] != '\t'));
			col = 0;
			continue;
		}
		assert_true(*p >= 33 || *p == ' ' || *p == '\t');
		assert_true(*p <= 126);
		col++;
	}
	assert_non_null(strstr(body, "abc =3D d=C3=A9"));
	assert_non_null(strstr(body, "=20\n"));
	free(s);

	msg_crlf_qp(&t);
	s = render(&t, &len, NULL);
	assert_non_null(strstr(s, "=\r\n"));
	free(s);
}

static void test_crlf(void **state)
{
	struct tmsg t;
	size_t len;
	char *s;

	(void)state;
	msg_crlf_multipart(&t);
	s = render(&t, &len, NULL);
	assert_non_null(strstr(s, "\r\n\r\nHere is the budget.\r\n"
			       "\r\n--=_ccm_"));
	assert_non_null(strstr(s, "To: \"Doe, Jane\" "
			       "<jane.doe@po2.ccmail.invalid>, \"Roe, Rick\""
			       "\r\n <rick.roe@"));
	free(s);
}

static void test_empty_and_defaults(void **state)
{
	struct tmsg t;
	struct ccm_warnlist wl = { NULL, 0, 0 };
	size_t len;
	char *s;

	(void)state;
	msg_empty(&t);
	s = render(&t, &len, &wl);
	has_line(s, "From: \"unknown sender\" <unknown@ccmail.invalid>");
	has_line(s, "Subject:");
	has_line(s, "Date: Fri, 01 Jan 1999 00:00:00 -0000");
	has_line(s, "Content-Type: text/plain; charset=utf-8");
	has_line(s, "Content-Transfer-Encoding: 7bit");
	has_line(s, "X-CcMail-Warning: no Date: line; the export file's time "
		 "is used");
	assert_true(has_warning(&wl, CCM_W_DATE_MISSING));
	assert_null(strstr(s, "To:"));
	assert_string_equal(s + len - 2, "\n\n");
	free(s);
	ccm_warnlist_release(&wl);
}

static void test_odd_headers(void **state)
{
	struct tmsg t;
	struct ccm_warnlist wl = { NULL, 0, 0 };
	const char *p, *hend;
	size_t len;
	char *s;

	(void)state;
	msg_odd_headers(&t);
	/* a parse-time warning comes first */
	ccm_warn(&t.m.warn, CCM_W_STRAY_LINE, 99, 0);
	s = render(&t, &len, &wl);
	hend = header_block_end(s);
	has_line(s, "Subject: ctl here");
	has_line(s, "X-CcMail-Subject: =?utf-8?b?Y3RsAWhlcmXCgQ==?=");
	has_line(s, "X-CcMail-Subject: second subject");
	has_line(s, "Date: Fri, 01 Jan 1999 00:00:00 -0000");
	has_line(s, "X-CcMail-Date: 2/31/99 10:00");
	has_line(s, "X-CcMail-X-Foo-: token with odd characters");
	has_line(s, "X-CcMail-Stray: a stray line");
	has_line(s, "X-CcMail-Stray: Warning: not ours");
	has_line(s, "X-CcMail-Enc: =?utf-8?b?PT91dGYtOD9xP2Zha2U/PQ==?=");
	has_line(s, "X-CcMail-Nul: =?utf-8?b?YQBi?=");
	has_line(s, "X-Priority: 5");
	has_line(s, "Importance: low");
	has_line(s, "X-CcMail-Warning: header line without a token at offset "
		 "99 kept as X-CcMail-Stray");
	has_line(s, "X-CcMail-Warning: date is not valid (CCQ-8); kept in "
		 "X-CcMail-Date, the export file's time is used");
	has_line(s, "X-CcMail-Warning: recipient without a user name "
		 "(CCQ-16)");
	has_line(s, "X-CcMail-Warning: address not understood, kept as a "
		 "name (CCQ-19)");
	has_line(s, "X-CcMail-Warning: 1 zero-length item(s) (CCQ-7)");
	has_line(s, "X-CcMail-Warning: 2 highlight/control bytes removed "
		 "from text (CCQ-24)");
	assert_true(strstr(s, "99 kept as") < strstr(s, "date is not valid"));
	assert_true(has_warning(&wl, CCM_W_STRAY_LINE));
	assert_true(has_warning(&wl, CCM_W_CHARSET));
	assert_true(has_warning(&wl, CCM_W_DATE_INVALID));
	/* Header lines: folded at 78 where there are blanks. */
	for (p = s; p < hend;) {
		const char *nl = strchr(p, '\n');

		assert_true(nl - p <= 78);
		p = nl + 1;
	}
	assert_non_null(strstr(s, "X-CcMail-Spaced: wwwwwwww wwwwwwww"));
	/* File names: no path, no dot-only names, no date-only names. */
	assert_non_null(strstr(s, "name=\"passwd\""));
	assert_null(strstr(s, "etc"));
	assert_non_null(strstr(s, "Content-Type: image/gif; "
			       "name=\"ATT00004.gif\""));
	assert_non_null(strstr(s, "Content-Type: audio/wav; "
			       "name=\"ATT00005.wav\""));
	assert_non_null(strstr(s, "Content-Type: application/vnd.lotus-1-2-3; "
			       "name=\"REPORT.WK1\""));
	assert_non_null(strstr(s, "filename=\"ATT00007.bin\""));
	free(s);
	ccm_warnlist_release(&wl);
	ccm_warnlist_release(&t.m.warn);
}

static void test_date_warnings(void **state)
{
	struct tmsg t;
	struct ccm_warnlist wl = { NULL, 0, 0 };
	size_t len;
	char *s;

	(void)state;
	msg_simple(&t);
	t.h[3].value.p = "25/12/1900 1:00 PM";
	t.h[3].value.len = strlen(t.h[3].value.p);
	s = render(&t, &len, &wl);
	has_line(s, "Date: Tue, 25 Dec 1900 13:00:00 -0000");
	assert_true(has_warning(&wl, CCM_W_DATE_SWAPPED));
	assert_true(has_warning(&wl, CCM_W_DATE_1900));
	free(s);
	ccm_warnlist_release(&wl);
}

/* A text part that holds the boundary at a line start forces a new one. */
static void test_boundary_collision(void **state)
{
	struct tmsg t;
	char bnd[64], text[128], bnd2[64];
	size_t len;
	char *s;

	(void)state;
	msg_multipart(&t);
	s = render(&t, &len, NULL);
	assert_int_equal(sscanf(strstr(s, "boundary=\"") + 10, "%63[^\"]",
				bnd), 1);
	free(s);
	snprintf(text, sizeof(text), "before\r\n--%s\r\nafter\r\n", bnd);
	t.it[1].payload.p = text;
	t.it[1].payload.len = strlen(text);
	s = render(&t, &len, NULL);
	assert_int_equal(sscanf(strstr(s, "boundary=\"") + 10, "%63[^\"]",
				bnd2), 1);
	assert_string_not_equal(bnd, bnd2);
	snprintf(text, sizeof(text), "\n\nbefore\n--%s\nafter\n\n--=_ccm_",
		 bnd);
	assert_non_null(strstr(s, text));
	free(s);
}

static void test_dbcs(void **state)
{
	struct tmsg t;
	size_t len;
	char *s;

	(void)state;
	msg_dbcs(&t);
	s = render(&t, &len, NULL);
	/* こんにちは */
	assert_non_null(strstr(s, "\n\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab"
			       "\xe3\x81\xa1\xe3\x81\xaf\n"));
	has_line(s, "Date: Tue, 02 Jun 1998 08:39:00 -0000");
	assert_non_null(strstr(s, "filename*=utf-8''%E8%B3%87%E6%96%99.txt"));
	assert_non_null(strstr(s, "\nContent-Type: text/plain; name*="));
	free(s);
}

static void test_all_measured(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(all_msgs) / sizeof(all_msgs[0]); i++) {
		struct tmsg t;
		char *s;

		all_msgs[i](&t);
		s = render(&t, &len, NULL);
		free(s);
	}
}

/* Write every test message for tests/unit/eml_check.py. */
static int dump(const char *dir)
{
	size_t i, k, len;
	char path[4096];

	for (i = 0; i < sizeof(all_msgs) / sizeof(all_msgs[0]); i++) {
		struct tmsg t;
		struct ccm_render_ctx rc;
		struct ccm_buf b;
		FILE *f;
		int na = 0;

		all_msgs[i](&t);
		memset(&rc, 0, sizeof(rc));
		rc.opt = &t.o;
		rc.source_name = "export.ccm";
		rc.account = "jdoe";
		rc.ordinal = i + 1;
		rc.fallback_mtime = t.fallback;
		ccm_buf_init(&b);
		if (ccm_eml_render(&rc, &t.m, &b, NULL))
			return 1;
		snprintf(path, sizeof(path), "%s/%02zu.eml", dir, i);
		f = fopen(path, "wb");
		if (!f || fwrite(b.p, 1, b.len, f) != b.len || fclose(f))
			return 1;
		ccm_buf_release(&b);
		for (k = 0; k < t.m.nitems; k++) {
			if (t.it[k].kind == CCM_ITEM_TEXT)
				continue;
			snprintf(path, sizeof(path), "%s/%02zu.a%d", dir, i,
				 ++na);
			f = fopen(path, "wb");
			len = t.it[k].payload.len;
			if (!f || (len && fwrite(t.it[k].payload.p, 1, len, f)
					  != len) || fclose(f))
				return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_exact),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_nonascii),
		cmocka_unit_test(test_rtf),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_empty_and_defaults),
		cmocka_unit_test(test_odd_headers),
		cmocka_unit_test(test_date_warnings),
		cmocka_unit_test(test_boundary_collision),
		cmocka_unit_test(test_dbcs),
		cmocka_unit_test(test_all_measured),
	};

	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		return dump(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
