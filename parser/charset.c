/*
 * charset.c - DOS code page to UTF-8, and the text-item byte clean-up.
 *
 * Two converters sit behind one streaming interface (struct ccm_cpconv):
 * - single-byte code pages use a 256-entry table built once per code page
 *   from glibc iconv, so the hot loop is a table lookup and no iconv_t is
 *   ever shared between threads;
 * - double-byte code pages (932, 936, 949, 950) use an iconv_t owned by
 *   the converter, i.e. by one caller and one conversion.
 *
 * Invariants:
 * - Conversion never fails except for memory: a byte (or byte pair) that
 *   is not valid in the code page is read as Latin-1, U+0080..U+00FF, and
 *   counted (CCQ-27).  Bytes below 0x80 are ASCII in every code page we
 *   accept.
 * - Tables are built under a mutex and published with a release store;
 *   after that they are read-only, so readers need no lock.
 * - ccm_text_stream() never sees more than TEXT_CHUNK input bytes at a
 *   time, so measuring a huge text item costs bounded memory.
 */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ccm.h"
#include "render_internal.h"

#define TEXT_CHUNK 8192

struct cp_name {
	int cp;
	const char *iconv;
	int dbcs;
};

static const struct cp_name cp_names[] = {
	{ 437, "CP437", 0 },
	{ 850, "CP850", 0 },
	{ 852, "CP852", 0 },
	{ 858, "CP858", 0 },
	{ 860, "CP860", 0 },
	{ 863, "CP863", 0 },
	{ 865, "CP865", 0 },
	{ 866, "CP866", 0 },
	{ 1250, "CP1250", 0 },
	{ 1252, "CP1252", 0 },
	{ 10000, "MACINTOSH", 0 },
	{ 932, "CP932", 1 },
	{ 936, "CP936", 1 },
	{ 949, "CP949", 1 },
	{ 950, "CP950", 1 },
};

#define NCP (sizeof(cp_names) / sizeof(cp_names[0]))

struct cp_table {
	unsigned char len[256];		/* UTF-8 length of each byte */
	unsigned char bad[256];		/* 1: not valid, read as Latin-1 */
	char u8[256][4];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cp_table *tables[NCP + 1];	/* last: Latin-1 fallback */

const char *ccm_cp_iconv_name(int cp)
{
	size_t i;

	for (i = 0; i < NCP; i++)
		if (cp_names[i].cp == cp)
			return cp_names[i].iconv;
	return NULL;
}

static int cp_index(int cp)
{
	size_t i;

	for (i = 0; i < NCP; i++)
		if (cp_names[i].cp == cp)
			return (int)i;
	return -1;
}

static size_t latin1(unsigned char b, char *o)
{
	o[0] = (char)(0xC0 | (b >> 6));
	o[1] = (char)(0x80 | (b & 0x3F));
	return 2;
}

/* Fill t for code page name (NULL: every high byte is bad). */
static void table_fill(struct cp_table *t, const char *name)
{
	iconv_t cd = (iconv_t)-1;
	unsigned b;

	if (name)
		cd = iconv_open("UTF-8", name);
	for (b = 0; b < 256; b++) {
		char in = (char)b, *ip = &in, *op = t->u8[b];
		size_t il = 1, ol = sizeof(t->u8[b]);

		t->bad[b] = 0;
		if (b < 0x80) {
			t->u8[b][0] = (char)b;
			t->len[b] = 1;
			continue;
		}
		if (cd != (iconv_t)-1) {
			iconv(cd, NULL, NULL, NULL, NULL);
			if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 &&
			    il == 0 && ol < sizeof(t->u8[b])) {
				t->len[b] = (unsigned char)(sizeof(t->u8[b]) -
							    ol);
				continue;
			}
		}
		t->len[b] = (unsigned char)latin1((unsigned char)b, t->u8[b]);
		t->bad[b] = 1;
	}
	if (cd != (iconv_t)-1)
		iconv_close(cd);
}

/* The table for a single-byte code page; NULL only when out of memory. */
static const struct cp_table *table_get(int cp)
{
	int i = cp_index(cp);
	struct cp_table *t;

	if (i < 0 || cp_names[i].dbcs)
		i = (int)NCP;
	t = __atomic_load_n(&tables[i], __ATOMIC_ACQUIRE);
	if (t)
		return t;
	pthread_mutex_lock(&table_lock);
	t = tables[i];
	if (!t) {
		t = malloc(sizeof(*t));
		if (t) {
			table_fill(t, i < (int)NCP ? cp_names[i].iconv : NULL);
			__atomic_store_n(&tables[i], t, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&table_lock);
	return t;
}

/* Lead bytes of the double-byte code pages. */
static int dbcs_lead(int cp, unsigned char b)
{
	if (cp == 932)
		return (b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC);
	return b >= 0x81 && b <= 0xFE;
}

int ccm_cpconv_open(struct ccm_cpconv *c, int codepage)
{
	int i = cp_index(codepage);

	memset(c, 0, sizeof(*c));
	c->codepage = codepage;
	c->cd = (iconv_t)-1;
	if (i >= 0 && cp_names[i].dbcs) {
		c->cd = iconv_open("UTF-8", cp_names[i].iconv);
		if (c->cd == (iconv_t)-1 && errno == ENOMEM)
			return -ENOMEM;
		if (c->cd != (iconv_t)-1)
			return 0;
		/* glibc without the module: degrade to Latin-1, counted. */
	}
	c->tab = table_get(codepage);
	return c->tab ? 0 : -ENOMEM;
}

void ccm_cpconv_close(struct ccm_cpconv *c)
{
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	c->cd = (iconv_t)-1;
}

/* Length of the ASCII prefix of p, eight bytes at a time. */
static size_t ascii_run(const unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ull)
			break;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

static void table_convert(struct ccm_cpconv *c, const unsigned char *p,
			  size_t n, struct ccm_buf *out)
{
	const struct cp_table *t = c->tab;
	char stage[4096];
	size_t i = 0, k = 0, run;

	/* ASCII (most of any text) goes straight through, a run at a
	 * time; only the other bytes are staged. */
	while (i < n) {
		unsigned char b;

		run = ascii_run(p + i, n - i);
		if (run) {
			if (k) {
				ccm_buf_put(out, stage, k);
				k = 0;
			}
			ccm_buf_put(out, p + i, run);
			i += run;
			continue;
		}
		for (; i < n && (b = p[i]) >= 0x80; i++) {
			if (k + 4 > sizeof(stage)) {
				ccm_buf_put(out, stage, k);
				k = 0;
			}
			memcpy(stage + k, t->u8[b], 4);
			k += t->len[b];
			c->nbad += t->bad[b];
		}
	}
	if (k)
		ccm_buf_put(out, stage, k);
}

/* iconv a run of whole characters; invalid bytes become Latin-1. */
static void iconv_convert(struct ccm_cpconv *c, const unsigned char *p,
			  size_t n, struct ccm_buf *out)
{
	char stage[2048];
	char *ip = (char *)(uintptr_t)p;
	size_t il = n;

	iconv(c->cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		char *op = stage;
		size_t ol = sizeof(stage);
		size_t r = iconv(c->cd, &ip, &il, &op, &ol);
		int e = errno;

		if (op > stage)
			ccm_buf_put(out, stage, (size_t)(op - stage));
		if (r != (size_t)-1 || e == E2BIG)
			continue;
		/* EILSEQ or EINVAL: one byte as Latin-1 (CCQ-27). */
		if ((unsigned char)*ip < 0x80) {
			ccm_buf_put(out, ip, 1);
		} else {
			char l[2];

			ccm_buf_put(out, l, latin1((unsigned char)*ip, l));
			c->nbad++;
		}
		ip++;
		il--;
		iconv(c->cd, NULL, NULL, NULL, NULL);
	}
}

void ccm_cpconv_feed(struct ccm_cpconv *c, const char *s, size_t n,
		     int final, struct ccm_buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cut, i;

	if (c->cd == (iconv_t)-1) {
		table_convert(c, p, n, out);
		return;
	}
	if (c->ncarry && n) {
		unsigned char two[2] = { c->carry, p[0] };

		c->ncarry = 0;
		iconv_convert(c, two, 2, out);
		p++;
		n--;
	}
	/* Never cut a double-byte character in two between chunks. */
	for (i = 0; i < n;) {
		if (!dbcs_lead(c->codepage, p[i]))
			i++;
		else if (i + 1 < n)
			i += 2;
		else
			break;
	}
	cut = final ? n : i;
	if (cut)
		iconv_convert(c, p, cut, out);
	if (cut < n) {
		c->carry = p[cut];
		c->ncarry = 1;
	}
	if (final && c->ncarry) {
		c->ncarry = 0;
		iconv_convert(c, &c->carry, 1, out);
	}
}

int ccm_cp_to_utf8(const struct ccm_options *o, const char *p, size_t n,
		   struct ccm_buf *out, size_t *nbad)
{
	struct ccm_cpconv c;
	int r;

	if (nbad)
		*nbad = 0;
	r = ccm_cpconv_open(&c, o->codepage);
	if (r)
		return r;
	ccm_cpconv_feed(&c, p, n, 1, out);
	ccm_cpconv_close(&c);
	if (nbad)
		*nbad = c.nbad;
	return out->oom ? -ENOMEM : 0;
}

/* ------------------------------------------------------- text items */

int ccm_text_stream(const struct ccm_options *o, const char *s, size_t n,
		    ccm_text_sink sink, void *ctx, struct ccm_text_counts *tc)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char clean[TEXT_CHUNK];
	struct ccm_cpconv c;
	struct ccm_buf u8;
	int skip_lf = 0, skip_attr = 0, r;
	char last = 0;
	size_t total = 0, i = 0;

	tc->ncontrol = tc->nbad = 0;
	/* CCQ-25: Ctrl-Z padding at the very end is not a line break. */
	while (n && p[n - 1] == 0x1A)
		n--;
	r = ccm_cpconv_open(&c, o->codepage);
	if (r)
		return r;
	ccm_buf_init(&u8);
	while (i < n) {
		size_t end = n - i > TEXT_CHUNK ? i + TEXT_CHUNK : n, k = 0;
		unsigned char hi = 0;

		for (; i < end; i++) {
			unsigned char b;

#ifdef __SSE2__
			/* Most text is printable ASCII: 16 such bytes at a
			 * time go straight through (a signed compare flags
			 * controls and bytes >= 0x80 alike). */
			while (!skip_attr && !skip_lf && end - i >= 16) {
				__m128i v = _mm_loadu_si128(
					(const __m128i *)(p + i));
				unsigned m = (unsigned)_mm_movemask_epi8(
					_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
				size_t run = m ? (size_t)__builtin_ctz(m) : 16;

				memcpy(clean + k, p + i, 16);
				k += run;
				i += run;
				if (run < 16)
					break;
			}
			if (i >= end)
				break;
#endif
			b = p[i];
			hi |= b;

			if (skip_attr) {
				/* CCQ-24: the attribute byte after 0x1E/0x1F,
				 * unless the line ends there. */
				skip_attr = 0;
				if (b != '\r' && b != '\n') {
					tc->ncontrol++;
					continue;
				}
			}
			if (skip_lf) {
				skip_lf = 0;
				if (b == '\n')
					continue;
			}
			if (b >= 0x20 || b == '\t' || b == '\f') {
				clean[k++] = b;
			} else if (b == '\r') {
				/* CCQ-26: CR LF and lone CR are one line end */
				clean[k++] = '\n';
				skip_lf = 1;
			} else if (b == '\n' || b == 0x1A) {
				clean[k++] = '\n';	/* CCQ-25 for 0x1A */
			} else if (b == 0x1E || b == 0x1F) {
				tc->ncontrol++;
				skip_attr = 1;
			} else {
				tc->ncontrol++;		/* CCQ-24 */
			}
		}
		if (hi < 0x80 && !c.ncarry) {
			/* ASCII is ASCII in every code page we accept. */
			if (k) {
				sink(ctx, (const char *)clean, k);
				total += k;
				last = (char)clean[k - 1];
			}
			continue;
		}
		ccm_buf_clear(&u8);
		ccm_cpconv_feed(&c, (const char *)clean, k, i >= n, &u8);
		if (u8.oom)
			break;
		if (u8.len) {
			sink(ctx, u8.p, u8.len);
			total += u8.len;
			last = u8.p[u8.len - 1];
		}
	}
	if (!u8.oom && c.ncarry) {
		ccm_buf_clear(&u8);
		ccm_cpconv_feed(&c, NULL, 0, 1, &u8);
		if (u8.len) {
			sink(ctx, u8.p, u8.len);
			total += u8.len;
			last = u8.p[u8.len - 1];
		}
	}
	if (total && last != '\n')
		sink(ctx, "\n", 1);
	tc->nbad = c.nbad;
	ccm_cpconv_close(&c);
	r = u8.oom ? -ENOMEM : 0;
	ccm_buf_release(&u8);
	return r;
}
