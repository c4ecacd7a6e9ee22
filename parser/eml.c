/*
 * eml.c - render one parsed cc:Mail message as an RFC 5322 / MIME message.
 *
 * The layout is fixed by SPEC section 3: the standard headers, then the
 * X-CcMail-* record of the original header, then X-CcMail-Warning lines,
 * then a single text part or a multipart/mixed body whose first part is
 * the first text item and whose other parts are further text items
 * (inline, CCQ-29) and attachments (base64, CCQ-6/12/13/15).
 *
 * Invariants:
 * - Deterministic: the output depends only on the message bytes, the
 *   options and the render context.  No clock, no locale, no addresses of
 *   objects.
 * - Measuring and rendering share every line of code.  In count_only mode
 *   the only shortcuts are arithmetic ones that the real path matches by
 *   construction: base64 sizes, and 7bit/8bit text sizes taken from the
 *   analysis pass that the real render also runs.  Quoted-printable text
 *   is measured by running the encoder into the counting buffer.
 * - Nothing large is buffered: text items are streamed through
 *   ccm_text_stream() in bounded chunks, attachments are encoded in
 *   bounded blocks.  Header values are converted in scratch buffers.
 * - Every header line we write is ASCII and shorter than 998 octets; we
 *   fold at 78 where the grammar allows it.
 * - The work is linear in the size of the message (a second streaming pass
 *   over a text item happens only when its bytes collide with the MIME
 *   boundary, which a fresh boundary then avoids).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccm.h"
#include "render_internal.h"

#define WIDTH 78		/* preferred header line length */
#define B64_LINE 76		/* base64 characters per body line */
#define QP_LINE 76		/* quoted-printable line, soft break included */
#define EW_BYTES 45		/* UTF-8 bytes in one 75-char encoded word */
#define PLAIN_RUN 900		/* longest unbroken run kept unencoded */
#define TOKEN_MAX 60		/* longest X-CcMail-<Token> suffix */
#define NAME_MAX_BYTES 200	/* attachment file names (bytes) */
#define LINE_MAX_OCTETS 998	/* RFC 5322 2.1.1 */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint64_t ccm_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* --------------------------------------------------- header folding */

void ccm_fold_init(struct ccm_fold *f, struct ccm_buf *out, const char *eol,
		   size_t width)
{
	f->out = out;
	f->eol = eol;
	f->eollen = strlen(eol);
	f->col = 0;
	f->width = width;
}

static void fold_break(struct ccm_fold *f)
{
	ccm_buf_put(f->out, f->eol, f->eollen);
	f->col = 0;
}

void ccm_fold_word(struct ccm_fold *f, const char *t, size_t n, int sp)
{
	if (sp) {
		/* col > 1: never fold a line that holds only its blank. */
		if (f->col > 1 && f->col + 1 + n > f->width)
			fold_break(f);
		ccm_buf_putc(f->out, ' ');
		f->col++;
	}
	ccm_buf_put(f->out, t, n);
	f->col += n;
}

/* Two base64 characters per 12 bits: half the lookups (attachments are
 * most of the bytes a copy of the mount reads). */
static char b64pairs[4096][2];
static pthread_once_t b64pairs_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_B64_SSSE3 1
static int b64_ssse3, b64_avx2;

/*
 * 12 input bytes to 16 characters per step, after Wojciech Mula's and
 * Alfred Klomp's SSSE3 encoder (aklomp/base64, BSD-2-Clause): a shuffle
 * spreads each 3-byte group over 4 lanes, two multiplies shift the
 * 6-bit fields into place, and a 16-entry table adds the offset of each
 * field's character range.  Stops 16 bytes before the end (it loads 16);
 * returns the input bytes consumed.
 */
__attribute__((target("ssse3")))
static inline void b64_step(const unsigned char *in, char *o)
{
	const __m128i shuf = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7,
					  4, 5, 3, 4, 1, 2, 0, 1);
	const __m128i lut = _mm_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4,
					  -4, -4, -4, -4, -19, -16, 0, 0);
	__m128i v = _mm_loadu_si128((const __m128i *)in);
	__m128i t0, t1, t2, t3, idx, mask;

	v = _mm_shuffle_epi8(v, shuf);
	t0 = _mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00));
	t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
	t2 = _mm_and_si128(v, _mm_set1_epi32(0x003f03f0));
	t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
	v = _mm_or_si128(t1, t3);
	/* Ranges: A-Z +65 (index 0), a-z +71 (1), 0-9 -4 (2..11),
	 * '+' -19 (12), '/' -16 (13). */
	idx = _mm_subs_epu8(v, _mm_set1_epi8(51));
	mask = _mm_cmpgt_epi8(v, _mm_set1_epi8(25));
	idx = _mm_sub_epi8(idx, mask);
	v = _mm_add_epi8(v, _mm_shuffle_epi8(lut, idx));
	_mm_storeu_si128((__m128i *)o, v);
}

__attribute__((target("ssse3")))
static size_t b64_encode_ssse3(const unsigned char *in, size_t n, char *o)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 12, o += 16)
		b64_step(in + i, o);
	return i;
}

/*
 * One whole body line, 57 bytes to 76 characters, in five steps: the last
 * encodes 12 bytes of which 9 are the line's, and writes 4 characters too
 * many, which the caller overwrites.  in must have 64 readable bytes and
 * o room for 80.
 */
__attribute__((target("ssse3")))
static void b64_line_ssse3(const unsigned char *in, char *o)
{
	b64_step(in, o);
	b64_step(in + 12, o + 16);
	b64_step(in + 24, o + 32);
	b64_step(in + 36, o + 48);
	b64_step(in + 48, o + 64);
}

/*
 * The same with AVX2, two groups of 12 bytes a step (one per 128-bit
 * lane): a line is two such steps and a last SSSE3 one.  Attachments are
 * a third of the bytes tar reads; this halves their encoding's
 * instructions.
 */
__attribute__((target("avx2")))
static inline void b64_step_avx2(const unsigned char *in, char *o)
{
	const __m256i shuf = _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8,
					      7, 10, 9, 11, 10, 1, 0, 2, 1, 4,
					      3, 5, 4, 7, 6, 8, 7, 10, 9, 11,
					      10);
	const __m256i lut = _mm256_setr_epi8(65, 71, -4, -4, -4, -4, -4, -4,
					     -4, -4, -4, -4, -19, -16, 0, 0,
					     65, 71, -4, -4, -4, -4, -4, -4,
					     -4, -4, -4, -4, -19, -16, 0, 0);
	__m256i v = _mm256_inserti128_si256(
		_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)in)),
		_mm_loadu_si128((const __m128i *)(in + 12)), 1);
	__m256i t0, t1, t2, t3, idx, mask;

	v = _mm256_shuffle_epi8(v, shuf);
	t0 = _mm256_and_si256(v, _mm256_set1_epi32(0x0fc0fc00));
	t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
	t2 = _mm256_and_si256(v, _mm256_set1_epi32(0x003f03f0));
	t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
	v = _mm256_or_si256(t1, t3);
	idx = _mm256_subs_epu8(v, _mm256_set1_epi8(51));
	mask = _mm256_cmpgt_epi8(v, _mm256_set1_epi8(25));
	idx = _mm256_sub_epi8(idx, mask);
	v = _mm256_add_epi8(v, _mm256_shuffle_epi8(lut, idx));
	_mm256_storeu_si256((__m256i *)o, v);
}

/* b64_line_ssse3's contract: 64 readable bytes, room for 80. */
__attribute__((target("avx2")))
static void b64_line_avx2(const unsigned char *in, char *o)
{
	b64_step_avx2(in, o);
	b64_step_avx2(in + 24, o + 32);
	b64_step(in + 48, o + 64);
}

/*
 * n whole lines, each followed by eol: a loop here, so that the
 * constants stay in registers.  64 bytes readable from each line's start,
 * room for 4 bytes past the last line's end.
 */
__attribute__((target("avx2")))
static char *b64_lines_avx2(const unsigned char *in, size_t n, char *o,
			    const char *eol, size_t eollen)
{
	for (; n; n--, in += B64_LINE / 4 * 3) {
		b64_line_avx2(in, o);
		o += B64_LINE;
		memcpy(o, eol, eollen);
		o += eollen;
	}
	return o;
}

__attribute__((target("ssse3")))
static char *b64_lines_ssse3(const unsigned char *in, size_t n, char *o,
			     const char *eol, size_t eollen)
{
	for (; n; n--, in += B64_LINE / 4 * 3) {
		b64_line_ssse3(in, o);
		o += B64_LINE;
		memcpy(o, eol, eollen);
		o += eollen;
	}
	return o;
}

#endif

static void b64pairs_make(void)
{
	unsigned v;

#ifdef HAVE_B64_SSSE3
	b64_ssse3 = __builtin_cpu_supports("ssse3") &&
		    !getenv("CCMAILFS_NO_SIMD");
	b64_avx2 = b64_ssse3 && __builtin_cpu_supports("avx2") &&
		   !getenv("CCMAILFS_NO_AVX2");
#endif
	for (v = 0; v < 4096; v++) {
		b64pairs[v][0] = b64chars[v >> 6];
		b64pairs[v][1] = b64chars[v & 63];
	}
}

static size_t b64_encode(const unsigned char *in, size_t n, char *o)
{
	size_t i, k = 0;

	pthread_once(&b64pairs_once, b64pairs_make);
	i = 0;
#ifdef HAVE_B64_SSSE3
	if (b64_ssse3) {
		i = b64_encode_ssse3(in, n, o);
		k = i / 3 * 4;
	}
#endif
	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
			     in[i + 2];

		memcpy(o + k, b64pairs[v >> 12], 2);
		memcpy(o + k + 2, b64pairs[v & 4095], 2);
		k += 4;
	}
	if (i < n) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		o[k++] = b64chars[v >> 18];
		o[k++] = b64chars[(v >> 12) & 63];
		o[k++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		o[k++] = '=';
	}
	return k;
}

/* Largest prefix of s (at most max bytes) ending on a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	size_t k;

	if (n <= max)
		return n;
	k = max;
	while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
		k--;
	return k;
}

void ccm_fold_ew(struct ccm_fold *f, const char *u8, size_t n, int sp)
{
	char w[12 + 4 * (EW_BYTES / 3) + 8];
	size_t i = 0;

	while (i < n) {
		size_t room, take, k;

		room = f->width > f->col + (size_t)sp + 12 ?
		       f->width - f->col - (size_t)sp - 12 : 0;
		take = utf8_cut(u8 + i, n - i,
				room / 4 * 3 < EW_BYTES ? room / 4 * 3 :
				EW_BYTES);
		if (take == 0 && sp && f->col > 1) {
			fold_break(f);
			continue;
		}
		if (take == 0) {
			/* Not even one character fits: overflow the soft
			 * limit rather than split a character. */
			take = utf8_cut(u8 + i, n - i, EW_BYTES);
			if (take == 0)
				take = 1;
		}
		memcpy(w, "=?utf-8?b?", 10);
		k = 10 + b64_encode((const unsigned char *)u8 + i, take,
				    w + 10);
		w[k++] = '?';
		w[k++] = '=';
		ccm_fold_word(f, w, k, sp);
		i += take;
		sp = 1;
	}
}

int ccm_is_plain(const char *s, size_t n, int tab_ok)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t' && tab_ok)
			continue;
		if (c < 0x20 || c > 0x7E)
			return 0;
		if (c == '=' && i + 1 < n && s[i + 1] == '?')
			return 0;
	}
	return 1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* ccm_is_plain(s, n, 1), with no word longer than PLAIN_RUN: one pass
 * over every header value. */
static int plain_short_words(const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_blank((char)c)) {
			run = 0;
			continue;
		}
		if (c < 0x20 || c > 0x7E ||
		    (c == '=' && i + 1 < n && s[i + 1] == '?') ||
		    ++run > PLAIN_RUN)
			return 0;
	}
	return 1;
}

void ccm_fold_unstructured(struct ccm_fold *f, const char *u8, size_t n)
{
	size_t i = 0;
	int first = 1;

	if (n == 0)
		return;
	if (!plain_short_words(u8, n)) {
		ccm_fold_ew(f, u8, n, 1);
		return;
	}
	while (i < n) {
		size_t ws = i, w, wsn, wn;

		while (i < n && is_blank(u8[i]))
			i++;
		w = i;
		while (i < n && !is_blank(u8[i]))
			i++;
		wsn = w - ws;
		wn = i - w;
		if (first) {
			ccm_buf_putc(f->out, ' ');
			f->col++;
			first = 0;
		} else if (wn && f->col > 1 && f->col + wsn + wn > f->width) {
			/* Fold before the blanks: they start the next line. */
			fold_break(f);
		}
		ccm_buf_put(f->out, u8 + ws, wsn + wn);
		f->col += wsn + wn;
	}
}

/* ------------------------------------------------------ render state */

enum cte { CTE_7BIT, CTE_8BIT, CTE_QP, CTE_BASE64 };

static const char *const cte_name[] = {
	"7bit", "8bit", "quoted-printable", "base64"
};

struct part {
	const struct ccm_item *it;
	unsigned index;			/* 1-based item number */
	int text;			/* text item, else attachment */
	int rtf;
	int bhit;			/* holds the first boundary (text) */
	enum cte cte;
	size_t u8len, nlines;		/* text: sizes from the analysis */
	struct ccm_buf name;		/* cleaned file name, UTF-8 */
	const char *ctype;
};

struct render {
	const struct ccm_render_ctx *rc;
	const struct ccm_options *o;
	const struct ccm_msg *m;
	struct ccm_buf *out;
	const char *eol;
	size_t eollen;
	struct ccm_warnlist w;		/* render-time warnings */
	size_t nbad, ncontrol;
	struct ccm_buf s1, s2;		/* scratch for header values */
	struct ccm_buf fromu8;		/* From: value, holds sender_po */
	int oom;
	uint64_t hash;
	char boundary[40];
	struct part *parts;
	size_t nparts;
	const struct ccm_slice *sender_po;
	struct ccm_addr from;
};

static void put(struct render *r, const char *s)
{
	ccm_buf_puts(r->out, s);
}

static void put_eol(struct render *r)
{
	ccm_buf_put(r->out, r->eol, r->eollen);
}

static const struct ccm_header *find_hdr(const struct ccm_msg *m,
					 const char *name, size_t from)
{
	size_t i, n = strlen(name);

	for (i = from; i < m->nhdr; i++)
		if (m->hdr[i].name.len == n &&
		    strncasecmp(m->hdr[i].name.p, name, n) == 0)
			return &m->hdr[i];
	return NULL;
}

static int hdr_is(const struct ccm_header *h, const char *name)
{
	size_t n = strlen(name);

	return h->name.len == n && strncasecmp(h->name.p, name, n) == 0;
}

/* Reuse a scratch buffer; an allocation failure in it must not be lost. */
static void sclear(struct render *r, struct ccm_buf *b)
{
	if (b->oom)
		r->oom = 1;
	ccm_buf_clear(b);
}

/* Convert a raw header value; count its Latin-1 bytes when count. */
static void conv(struct render *r, struct ccm_slice v, struct ccm_buf *b,
		 int count)
{
	size_t nbad = 0;

	sclear(r, b);
	if (ccm_cp_to_utf8(r->o, v.p, v.len, b, &nbad))
		r->oom = 1;
	if (count)
		r->nbad += nbad;
}

/* Append s as UTF-8, reading bytes that are not UTF-8 as Latin-1. */
static void put_sane_utf8(struct ccm_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = strlen(s);

	while (i < n) {
		size_t len = p[i] < 0x80 ? 1 : p[i] >= 0xC2 && p[i] <= 0xDF ?
			     2 : p[i] >= 0xE0 && p[i] <= 0xEF ? 3 :
			     p[i] >= 0xF0 && p[i] <= 0xF4 ? 4 : 0, k;

		for (k = 1; len && k < len; k++)
			if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
				len = 0;
		if (len) {
			ccm_buf_put(b, p + i, len);
			i += len;
		} else {
			char l[2] = { (char)(0xC0 | (p[i] >> 6)),
				      (char)(0x80 | (p[i] & 0x3F)) };

			ccm_buf_put(b, l, 2);
			i++;
		}
	}
}

/* "Name: value" with an unstructured UTF-8 value. */
static void hdr_text(struct render *r, const char *name, const char *v,
		     size_t n)
{
	struct ccm_fold f;

	ccm_fold_init(&f, r->out, r->eol, WIDTH);
	put(r, name);
	ccm_buf_putc(r->out, ':');
	f.col = strlen(name) + 1;
	ccm_fold_unstructured(&f, v, n);
	put_eol(r);
}

/* ------------------------------------------------------------ addresses */

static void addr_flags(struct render *r, int flags)
{
	if (flags & CCM_ADDR_NONAME)
		ccm_warn(&r->w, CCM_W_ADDR_NONAME, 0, 0);
	if (flags & CCM_ADDR_ODD)
		ccm_warn(&r->w, CCM_W_ADDR_ODD, 0, 0);
}

static void hdr_from(struct render *r)
{
	const struct ccm_header *h = find_hdr(r->m, "From", 0);
	struct ccm_fold f;

	if (h) {
		conv(r, h->value, &r->fromu8, 0);
		if (ccm_addr_parse(r->o, NULL, 0,
				   r->fromu8.p ? r->fromu8.p : "",
				   r->fromu8.len, &r->from))
			r->oom = 1;
	}
	if (!h || (r->from.flags & CCM_ADDR_EMPTY) || r->oom) {
		put(r, "From: \"unknown sender\" <unknown@ccmail.invalid>");
		put_eol(r);
		return;
	}
	addr_flags(r, r->from.flags);
	if (r->from.po.len)
		r->sender_po = &r->from.po;
	ccm_fold_init(&f, r->out, r->eol, WIDTH);
	put(r, "From:");
	f.col = 5;
	ccm_addr_emit(&r->from, &f, 1);
	put_eol(r);
}

/* All To: (or Cc:, Bcc:) lines as one header (SPEC 1.1, CCQ-18, 20). */
static void hdr_recipients(struct render *r, const char *name)
{
	const struct ccm_slice *spo = r->sender_po;
	struct ccm_addr a;
	struct ccm_fold f;
	size_t i, nout = 0;

	ccm_addr_init(&a);
	ccm_fold_init(&f, r->out, r->eol, WIDTH);
	for (i = 0; i < r->m->nhdr; i++) {
		const struct ccm_header *h = &r->m->hdr[i];
		struct ccm_addr_iter ai;
		struct ccm_slice part;

		if (!hdr_is(h, name))
			continue;
		conv(r, h->value, &r->s2, 0);
		ccm_addr_iter_init(&ai, r->s2.p ? r->s2.p : "", r->s2.len);
		while (ccm_addr_iter_next(&ai, &part)) {
			if (ccm_addr_parse(r->o, spo ? spo->p : NULL,
					   spo ? spo->len : 0, part.p,
					   part.len, &a)) {
				r->oom = 1;
				break;
			}
			if (a.flags & CCM_ADDR_EMPTY)
				continue;
			addr_flags(r, a.flags);
			if (nout++ == 0) {
				put(r, name);
				ccm_buf_putc(r->out, ':');
				f.col = strlen(name) + 1;
			} else {
				ccm_buf_putc(r->out, ',');
				f.col++;
			}
			ccm_addr_emit(&a, &f, 1);
		}
	}
	if (nout)
		put_eol(r);
	ccm_addr_release(&a);
}

/* ---------------------------------------------------------------- text */

/* Quoted-printable encoder writing through a small staging block. */
struct qp {
	struct ccm_buf *out;
	const char *eol;
	size_t eollen;
	size_t col;
	int pend;		/* a blank not yet known to end its line */
	size_t k;
	char stage[1024];
};

static void qp_flush(struct qp *q)
{
	ccm_buf_put(q->out, q->stage, q->k);
	q->k = 0;
}

static inline void qp_raw(struct qp *q, const char *s, size_t n)
{
	if (q->k + n > sizeof(q->stage))
		qp_flush(q);
	memcpy(q->stage + q->k, s, n);
	q->k += n;
}

static inline void qp_tok(struct qp *q, const char *t, size_t n)
{
	if (q->col + n > QP_LINE - 1) {
		qp_raw(q, "=", 1);
		qp_raw(q, q->eol, q->eollen);
		q->col = 0;
	}
	qp_raw(q, t, n);
	q->col += n;
}

static inline void qp_hex(struct qp *q, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char t[3] = { '=', hex[c >> 4], hex[c & 15] };

	qp_tok(q, t, 3);
}

/* Feed UTF-8 text with "\n" line ends; the input always ends in "\n". */
static void qp_feed(struct qp *q, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n') {
			if (q->pend)
				qp_hex(q, (unsigned char)q->pend);
			q->pend = 0;
			qp_raw(q, q->eol, q->eollen);
			q->col = 0;
			continue;
		}
		if (q->pend) {
			char b = (char)q->pend;

			qp_tok(q, &b, 1);
			q->pend = 0;
		}
		if (c == ' ' || c == '\t')
			q->pend = c;
		else if (c >= 33 && c <= 126 && c != '=')
			qp_tok(q, (const char *)&p[i], 1);
		else
			qp_hex(q, c);
	}
}

/* Analysis of a text item: sizes, line lengths, boundary collisions. */
struct tstat {
	size_t u8len, nlines, maxline, cur;
	int nonascii;
	const char *bnd;	/* "--boundary" to look for at line starts */
	size_t bndlen, bpos;	/* matched so far; SIZE_MAX: no match */
	int bhit;
};

/* Match "--boundary" at a line start, possibly across chunks. */
static void bnd_match(struct tstat *t, const char *p, size_t n)
{
	size_t k = t->bndlen - t->bpos;

	if (k > n)
		k = n;
	if (memcmp(p, t->bnd + t->bpos, k) != 0) {
		t->bpos = SIZE_MAX;
		return;
	}
	t->bpos += k;
	if (t->bpos == t->bndlen) {
		t->bhit = 1;
		t->bpos = SIZE_MAX;
	}
}

static void stat_sink(void *ctx, const char *p, size_t n)
{
	struct tstat *t = ctx;
	unsigned char any = 0;
	size_t i;

	for (i = 0; i < n; i++)
		any |= (unsigned char)p[i];
	if (any & 0x80)
		t->nonascii = 1;
	t->u8len += n;
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;

		if (t->bpos != SIZE_MAX && len)
			bnd_match(t, p, len);
		t->cur += len;
		if (!nl)
			break;
		if (t->cur > t->maxline)
			t->maxline = t->cur;
		t->cur = 0;
		t->nlines++;
		t->bpos = 0;
		n -= len + 1;
		p = nl + 1;
	}
}

/* Writes UTF-8 text, turning "\n" into the configured line end. */
struct eolw {
	struct ccm_buf *out;
	const char *eol;
	size_t eollen;
};

static void eol_sink(void *ctx, const char *p, size_t n)
{
	struct eolw *e = ctx;
	const char *nl;

	if (e->eollen == 1) {
		ccm_buf_put(e->out, p, n);
		return;
	}
	while (n && (nl = memchr(p, '\n', n))) {
		ccm_buf_put(e->out, p, (size_t)(nl - p));
		ccm_buf_put(e->out, e->eol, e->eollen);
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	ccm_buf_put(e->out, p, n);
}

static void qp_sink(void *ctx, const char *p, size_t n)
{
	qp_feed(ctx, p, n);
}

static int is_rtf(struct ccm_slice s)
{
	size_t i = 0;

	while (i < s.len && (is_blank(s.p[i]) || s.p[i] == '\r' ||
			     s.p[i] == '\n'))
		i++;
	return s.len - i >= 5 && memcmp(s.p + i, "{\\rtf", 5) == 0;
}

/* Stream a text part once through the converter, counting (no output). */
static void text_stats(struct render *r, struct part *pt, struct tstat *t,
		       struct ccm_text_counts *tc)
{
	memset(t, 0, sizeof(*t));
	t->bnd = r->boundary;
	t->bndlen = strlen(r->boundary);
	if (ccm_text_stream(r->o, pt->it->payload.p, pt->it->payload.len,
			    stat_sink, t, tc))
		r->oom = 1;
}

static void analyze_text(struct render *r, struct part *pt)
{
	struct ccm_text_counts tc;
	struct tstat t;

	text_stats(r, pt, &t, &tc);
	r->ncontrol += tc.ncontrol;
	r->nbad += tc.nbad;
	pt->u8len = t.u8len;
	pt->nlines = t.nlines;
	pt->rtf = is_rtf(pt->it->payload);
	if (t.maxline > LINE_MAX_OCTETS)
		pt->cte = CTE_QP;
	else
		pt->cte = t.nonascii ? CTE_8BIT : CTE_7BIT;
	pt->bhit = t.bhit;
}

/* Does the current boundary occur at a line start of this text part? */
static int boundary_hit(struct render *r, struct part *pt)
{
	struct ccm_text_counts tc;
	struct tstat t;

	text_stats(r, pt, &t, &tc);
	return t.bhit;
}

static void make_boundary(struct render *r, unsigned attempt)
{
	uint64_t h = ccm_fnv1a(r->hash, "boundary", 8);

	h = ccm_fnv1a(h, &attempt, sizeof(attempt));
	/* Stored with the leading "--" so analysis can match line starts. */
	snprintf(r->boundary, sizeof(r->boundary), "--=_ccm_%016llx",
		 (unsigned long long)h);
}

static void write_text_body(struct render *r, struct part *pt)
{
	struct ccm_text_counts tc;

	if (pt->cte != CTE_QP &&
	    ccm_buf_skippable(r->out,
			      pt->u8len + pt->nlines * (r->eollen - 1))) {
		r->out->len += pt->u8len + pt->nlines * (r->eollen - 1);
		return;
	}
	if (pt->cte == CTE_QP) {
		struct qp q;

		/* Measured by running the encoder: QP is rare, and there is
		 * no closed form for its length. */
		memset(&q, 0, sizeof(q));
		q.out = r->out;
		q.eol = r->eol;
		q.eollen = r->eollen;
		if (ccm_text_stream(r->o, pt->it->payload.p,
				    pt->it->payload.len, qp_sink, &q, &tc))
			r->oom = 1;
		qp_flush(&q);
	} else {
		struct eolw e = { r->out, r->eol, r->eollen };

		if (ccm_text_stream(r->o, pt->it->payload.p,
				    pt->it->payload.len, eol_sink, &e, &tc))
			r->oom = 1;
	}
}

/* -------------------------------------------------------- attachments */

/* Output length of n bytes as base64 lines, from a line start. */
static size_t base64_len(const struct render *r, size_t n)
{
	size_t chars = (n + 2) / 3 * 4;

	return chars + (chars + B64_LINE - 1) / B64_LINE * r->eollen;
}

static void base64_body(struct render *r, const unsigned char *p, size_t n)
{
	const size_t in_line = B64_LINE / 4 * 3;
	char block[64 * (B64_LINE + 2)];
	struct ccm_buf *out = r->out;
	size_t i = 0, k = 0;

	if (ccm_buf_skippable(out, base64_len(r, n))) {
		out->len += base64_len(r, n);
		return;
	}
	if (out->windowed && out->len < out->win_lo) {
		/* Whole lines before the window are only counted. */
		size_t lines = (out->win_lo - out->len) / (B64_LINE + r->eollen);

		if (lines > n / in_line)
			lines = n / in_line;
		i = lines * in_line;
		out->len += lines * (B64_LINE + r->eollen);
	}
	pthread_once(&b64pairs_once, b64pairs_make);
#ifdef HAVE_B64_SSSE3
	if (b64_ssse3 && n - i >= 64) {
		/* The SIMD lines straight into the output, no staging: each
		 * reads 64 bytes from its start and writes 4 past its end
		 * (overwritten by the next, or left beyond len). */
		size_t lines = (n - i - 64) / in_line + 1;
		size_t per = B64_LINE + r->eollen;

		if (ccm_buf_reserve(out, lines * per + 4) == 0) {
			char *o = out->p + out->len;

			if (b64_avx2)
				b64_lines_avx2(p + i, lines, o, r->eol,
					       r->eollen);
			else
				b64_lines_ssse3(p + i, lines, o, r->eol,
						r->eollen);
			i += lines * in_line;
			out->len += lines * per;
		}
	}
#endif
	while (i < n) {
		size_t take = n - i < in_line ? n - i : in_line;

#ifdef HAVE_B64_SSSE3
		if (b64_avx2 && n - i >= 64) {
			b64_line_avx2(p + i, block + k);
			k += B64_LINE;
		} else if (b64_ssse3 && n - i >= 64) {
			b64_line_ssse3(p + i, block + k);
			k += B64_LINE;
		} else
#endif
			k += b64_encode(p + i, take, block + k);
		memcpy(block + k, r->eol, r->eollen);
		k += r->eollen;
		i += take;
		/* Room for a line and its end, and the 4 bytes the SIMD line
		 * writes past it. */
		if (k + B64_LINE + 6 > sizeof(block)) {
			ccm_buf_put(out, block, k);
			k = 0;
			if (out->windowed && out->len >= out->win_hi) {
				/* Past the window: the rest is only counted. */
				out->len += base64_len(r, n - i);
				return;
			}
		}
	}
	ccm_buf_put(out, block, k);
}

struct magic {
	const char *sig;
	size_t len;
	const char *ext;
};

static const char *magic_ext(struct ccm_slice s)
{
	static const struct magic mg[] = {
		{ "PK\3\4", 4, "zip" },
		{ "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8, "ole" },
		{ "%PDF-", 5, "pdf" },
		{ "GIF87a", 6, "gif" },
		{ "GIF89a", 6, "gif" },
		{ "\x89PNG\r\n\x1A\n", 8, "png" },
		{ "\xFF\xD8\xFF", 3, "jpg" },
	};
	const unsigned char *u = (const unsigned char *)s.p;
	size_t i;

	for (i = 0; i < sizeof(mg) / sizeof(mg[0]); i++)
		if (s.len >= mg[i].len &&
		    memcmp(s.p, mg[i].sig, mg[i].len) == 0)
			return mg[i].ext;
	if (s.len >= 12 && memcmp(s.p, "RIFF", 4) == 0 &&
	    memcmp(s.p + 8, "WAVE", 4) == 0)
		return "wav";
	if (s.len >= 26 && u[0] == 'B' && u[1] == 'M' && u[14] >= 12)
		return "bmp";
	/* CCQ-15: PCX only with its magic byte and a sane header. */
	if (s.len >= 128 && u[0] == 0x0A && u[1] <= 5 && u[2] <= 1)
		return "pcx";
	return NULL;
}

struct ctype_map {
	const char *ext;
	const char *type;
};

static const struct ctype_map ctypes[] = {
	{ "txt", "text/plain" }, { "pdf", "application/pdf" },
	{ "doc", "application/msword" }, { "dot", "application/msword" },
	{ "xls", "application/vnd.ms-excel" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "rtf", "application/rtf" }, { "zip", "application/zip" },
	{ "gif", "image/gif" }, { "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" }, { "png", "image/png" },
	{ "bmp", "image/bmp" }, { "tif", "image/tiff" },
	{ "tiff", "image/tiff" }, { "pcx", "image/x-pcx" },
	{ "wav", "audio/wav" }, { "htm", "text/html" },
	{ "html", "text/html" },
	{ "wk1", "application/vnd.lotus-1-2-3" },
	{ "wk3", "application/vnd.lotus-1-2-3" },
	{ "wk4", "application/vnd.lotus-1-2-3" },
	{ "wks", "application/vnd.lotus-1-2-3" },
	{ "123", "application/vnd.lotus-1-2-3" },
	{ "csv", "text/csv" }, { "xml", "text/xml" },
	{ "ps", "application/postscript" },
	{ "wpd", "application/vnd.wordperfect" },
	{ "wp", "application/vnd.wordperfect" },
	{ "gz", "application/gzip" }, { "tar", "application/x-tar" },
	{ "mid", "audio/midi" }, { "mp3", "audio/mpeg" },
	{ "avi", "video/x-msvideo" }, { "ole", "application/x-ole-storage" },
	{ "docx", "application/vnd.openxmlformats-officedocument."
		  "wordprocessingml.document" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument."
		  "spreadsheetml.sheet" },
	{ "pptx", "application/vnd.openxmlformats-officedocument."
		  "presentationml.presentation" },
};

static const char *ctype_for_ext(const char *ext, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++)
		if (strlen(ctypes[i].ext) == n &&
		    strncasecmp(ctypes[i].ext, ext, n) == 0)
			return ctypes[i].type;
	return NULL;
}

/* Extension of a file name (without the dot), or NULL. */
static const char *name_ext(const char *s, size_t n, size_t *elen)
{
	size_t i;

	for (i = n; i-- > 1;) {
		if (s[i] == '.') {
			if (n - i - 1 == 0 || n - i - 1 > 16)
				return NULL;
			*elen = n - i - 1;
			return s + i + 1;
		}
	}
	return NULL;
}

/* Digits at s[*k], between min and max of them. */
static int digits(const char *s, size_t n, size_t *k, int min, int max)
{
	int c = 0;

	while (*k < n && s[*k] >= '0' && s[*k] <= '9' && c <= max) {
		(*k)++;
		c++;
	}
	return c >= min && c <= max;
}

static int blanks(const char *s, size_t n, size_t *k)
{
	size_t st = *k;

	while (*k < n && (s[*k] == ' ' || s[*k] == '\t'))
		(*k)++;
	return *k > st;
}

static int is_dsep(char c)
{
	return c == '/' || c == '.' || c == '-';
}

/*
 * CCQ-12: does s[j..n) match (with need_blank; else \s* at the start)
 *   \s+\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}
 *   (\s+\d{1,2}:\d{2}(:\d{2})?\s*([AaPp][Mm]?)?)?$
 */
static int date_stamp_at(const char *s, size_t n, size_t j, int need_blank)
{
	size_t k = j;

	if ((!blanks(s, n, &k) && need_blank) || !digits(s, n, &k, 1, 4) ||
	    k >= n ||
	    !is_dsep(s[k++]) || !digits(s, n, &k, 1, 2) || k >= n ||
	    !is_dsep(s[k++]) || !digits(s, n, &k, 1, 4))
		return 0;
	if (k == n)
		return 1;
	if (!blanks(s, n, &k) || !digits(s, n, &k, 1, 2) || k >= n ||
	    s[k++] != ':' || !digits(s, n, &k, 2, 2))
		return 0;
	if (k < n && s[k] == ':') {
		k++;
		if (!digits(s, n, &k, 2, 2))
			return 0;
	}
	blanks(s, n, &k);
	if (k < n && strchr("AaPp", s[k])) {
		k++;
		if (k < n && (s[k] == 'M' || s[k] == 'm'))
			k++;
	}
	return k == n;
}

/*
 * Length of the white space character at s (what str.strip() of readers
 * removes: ASCII blanks, NBSP, U+1680, U+2000..200A, 2028, 2029, 202F,
 * 205F, 3000), or 0.
 */
static size_t uspace(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 1 && (u[0] == ' ' || u[0] == '\t'))
		return 1;
	if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (n < 3)
		return 0;
	if (u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80)
		return 3;
	if (u[0] == 0xE2 && u[1] == 0x80 &&
	    (u[2] <= 0x8A || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF))
		return 3;
	if (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F)
		return 3;
	if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
		return 3;
	return 0;
}

/*
 * The file name for an item title: code page converted, trailing date
 * stamp removed (CCQ-12), last path component, no control characters, no
 * dot-only names, at most 200 bytes with its extension kept.  May be empty.
 */
static void clean_name(struct render *r, struct ccm_slice title,
		       struct ccm_buf *out)
{
	struct ccm_buf *t = &r->s1;
	size_t i, n, st, k;
	char *s;

	conv(r, title, t, 1);
	if (t->oom || t->len == 0)
		return;
	s = t->p;
	n = t->len;
	while (n && is_blank(s[n - 1]))
		n--;
	/* CCQ-13: a title that is only a date names nothing. */
	if (date_stamp_at(s, n, 0, 0))
		return;
	for (i = 0; i < n; i++) {
		if (!is_blank(s[i]) || (i > 0 && is_blank(s[i - 1])))
			continue;
		if (date_stamp_at(s, n, i, 1)) {
			size_t keep = i;

			while (keep && is_blank(s[keep - 1]))
				keep--;
			if (keep)
				n = keep;
			break;
		}
	}
	st = 0;
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == '\\')
			st = i + 1;
	if (n - st >= 2 && s[st + 1] == ':' &&
	    ((s[st] >= 'A' && s[st] <= 'Z') || (s[st] >= 'a' && s[st] <= 'z')))
		st += 2;
	/*
	 * Drop control characters in place (C0, DEL, and C1 as UTF-8), and
	 * the quotes '"', '<' and '>': readers unquote names ('""' or "<>"
	 * would name nothing).
	 */
	for (i = st, k = st; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F || c == '"' || c == '<' || c == '>')
			continue;
		if (c == 0xC2 && i + 1 < n &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9F) {
			i++;
			continue;
		}
		s[k++] = s[i];
	}
	n = k;
	/* Blanks, Unicode ones included, do not make a name. */
	while (st < n && (k = uspace(s + st, n - st)))
		st += k;
	for (;;) {
		for (k = 1; k <= 3 && k <= n - st; k++)
			if (uspace(s + n - k, k) == k)
				break;
		if (k > 3 || k > n - st)
			break;
		n -= k;
	}
	for (i = st; i < n && s[i] == '.'; i++)
		;
	if (i == n)
		return;		/* empty, ".", ".." and the like */
	if (n - st > NAME_MAX_BYTES) {
		size_t elen = 0, base;
		const char *e = name_ext(s + st, n - st, &elen);

		elen = e ? elen + 1 : 0;
		base = utf8_cut(s + st, n - st - elen, NAME_MAX_BYTES - elen);
		ccm_buf_put(out, s + st, base);
		ccm_buf_put(out, s + n - elen, elen);
		return;
	}
	ccm_buf_put(out, s + st, n - st);
}

static int seven_bit_text(struct ccm_slice s)
{
	const unsigned char *u = (const unsigned char *)s.p;
	size_t i;

	for (i = 0; i < s.len; i++)
		if (u[i] >= 0x7f ||
		    (u[i] < 0x20 && u[i] != '\t' && u[i] != '\r' &&
		     u[i] != '\n' && u[i] != '\f'))
			return 0;
	return 1;
}

static void prepare_attachment(struct render *r, struct part *pt)
{
	const char *ext, *mx = magic_ext(pt->it->payload);
	size_t elen = 0;

	clean_name(r, pt->it->title, &pt->name);
	if (pt->name.len == 0) {
		/* CCQ-13: a name from the item number and the magic bytes. */
		ccm_buf_printf(&pt->name, "ATT%05u.%s", pt->index,
			       mx ? mx : "bin");
	}
	pt->ctype = NULL;
	ext = name_ext(pt->name.p, pt->name.len, &elen);
	if (ext)
		pt->ctype = ctype_for_ext(ext, elen);
	if (!pt->ctype && mx)
		pt->ctype = ctype_for_ext(mx, strlen(mx));
	/*
	 * A text type without a charset means US-ASCII: an attachment whose
	 * bytes are not 7-bit text is labelled as bytes instead, so no reader
	 * decodes it with the wrong character set (the payload's code page is
	 * not known).
	 */
	if (pt->ctype && strncmp(pt->ctype, "text/", 5) == 0 &&
	    !seven_bit_text(pt->it->payload))
		pt->ctype = NULL;
	if (!pt->ctype)
		pt->ctype = "application/octet-stream";
	pt->cte = CTE_BASE64;
}

/* RFC 2231 attr-char. */
static int attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c);
}

/* A name="..." (or name*=utf-8''...) parameter as one fold token. */
static void param(struct render *r, struct ccm_fold *f, const char *attr,
		  const struct ccm_buf *v)
{
	static const char hex[] = "0123456789ABCDEF";
	struct ccm_buf *t = &r->s2;
	size_t i;

	sclear(r, t);
	if (ccm_is_plain(v->p, v->len, 0) && !memchr(v->p, '"', v->len) &&
	    !memchr(v->p, '\\', v->len)) {
		ccm_buf_printf(t, "%s=\"", attr);
		ccm_buf_put(t, v->p, v->len);
		ccm_buf_putc(t, '"');
	} else {
		ccm_buf_printf(t, "%s*=utf-8''", attr);
		for (i = 0; i < v->len; i++) {
			unsigned char c = (unsigned char)v->p[i];

			if (attr_char(c)) {
				ccm_buf_putc(t, (char)c);
			} else {
				char e[3] = { '%', hex[c >> 4], hex[c & 15] };

				ccm_buf_put(t, e, 3);
			}
		}
	}
	if (t->oom)
		r->oom = 1;
	else
		ccm_fold_word(f, t->p, t->len, 1);
}

/* ------------------------------------------------------------ headers */

/* "X-CcMail-<Token>" for an export header, or NULL for X-CcMail-Stray. */
static const char *x_name(const struct ccm_header *h, char *buf, size_t len)
{
	static const char *const ours[] = { "Source", "Warning", "Stray" };
	size_t i, k;

	if (h->name.len == 0 || h->name.len > TOKEN_MAX ||
	    len < h->name.len + 10)
		return NULL;
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (hdr_is(h, ours[i]))
			return NULL;
	memcpy(buf, "X-CcMail-", 9);
	k = 9;
	for (i = 0; i < h->name.len; i++) {
		char c = h->name.p[i];

		buf[k++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' ? c : '-';
	}
	buf[k] = '\0';
	return buf;
}

/* Every header line named name as X-CcMail-<xname>: (raw, converted). */
static void x_copies(struct render *r, const char *name, const char *xname,
		     size_t skip_first)
{
	size_t i;

	for (i = 0; i < r->m->nhdr; i++) {
		const struct ccm_header *h = &r->m->hdr[i];

		if (!hdr_is(h, name))
			continue;
		if (skip_first) {
			skip_first = 0;
			continue;
		}
		conv(r, h->value, &r->s1, 1);
		hdr_text(r, xname, r->s1.p, r->s1.len);
	}
}

static int handled(const struct ccm_header *h)
{
	static const char *const names[] = {
		"From", "To", "Cc", "Bcc", "Date", "Subject", "Folder"
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (hdr_is(h, names[i]))
			return 1;
	return 0;
}

static void hdr_date(struct render *r)
{
	const struct ccm_header *h = find_hdr(r->m, "Date", 0);
	struct ccm_date d;
	int64_t t = r->rc->fallback_mtime;

	if (!h) {
		ccm_warn(&r->w, CCM_W_DATE_MISSING, 0, 0);
	} else if (ccm_date_parse(r->o, h->value.p, h->value.len, &d)) {
		ccm_warn(&r->w, CCM_W_DATE_INVALID, 0, 0);
	} else {
		t = d.epoch;
		if (d.swapped)
			ccm_warn(&r->w, CCM_W_DATE_SWAPPED, 0, 0);
		if (d.y1900)
			ccm_warn(&r->w, CCM_W_DATE_1900, 0, 0);
	}
	put(r, "Date: ");
	ccm_date_format(r->o, t, r->out);
	put_eol(r);
}

/* Subject: cleaned (controls to blanks); returns 1 when that changed it. */
static int hdr_subject(struct render *r)
{
	const struct ccm_header *h = find_hdr(r->m, "Subject", 0);
	size_t nbad = 0, nrep = 0;

	sclear(r, &r->s1);
	if (h) {
		nrep = ccm_subject_clean(r->o, h->value.p, h->value.len,
					 &r->s1, &nbad);
		r->nbad += nbad;
	}
	hdr_text(r, "Subject", r->s1.p, r->s1.len);
	return nrep > 0;
}

static void hdr_priority(struct render *r)
{
	const struct ccm_header *h = find_hdr(r->m, "Priority", 0);
	const char *v;
	size_t n;

	if (!h)
		return;
	v = h->value.p;
	n = h->value.len;
	while (n && is_blank(*v))
		v++, n--;
	if ((n >= 6 && strncasecmp(v, "urgent", 6) == 0) ||
	    (n >= 4 && strncasecmp(v, "high", 4) == 0)) {
		put(r, "X-Priority: 1");
		put_eol(r);
		put(r, "Importance: high");
		put_eol(r);
	} else if (n >= 3 && strncasecmp(v, "low", 3) == 0) {
		put(r, "X-Priority: 5");
		put_eol(r);
		put(r, "Importance: low");
		put_eol(r);
	}
}

static void hdr_message_id(struct render *r)
{
	put(r, "Message-ID: ");
	ccm_buf_putc(r->out, '<');
	ccm_buf_put_hex64(r->out, r->hash);
	ccm_buf_putc(r->out, '.');
	ccm_buf_put_u64(r->out, r->rc->ordinal);
	ccm_buf_puts(r->out, "@ccmailfs.invalid>");
	put_eol(r);
}

static void hdr_source(struct render *r)
{
	struct ccm_buf *t = &r->s1;

	sclear(r, t);
	put_sane_utf8(t, r->rc->source_name ? r->rc->source_name : "");
	ccm_buf_puts(t, "; offset=");
	ccm_buf_put_u64(t, r->m->off);
	hdr_text(r, "X-CcMail-Source", t->p, t->len);
}

static void hdr_others(struct render *r)
{
	char xb[TOKEN_MAX + 16];
	size_t i;

	for (i = 0; i < r->m->nhdr; i++) {
		const struct ccm_header *h = &r->m->hdr[i];
		const char *xn;

		if (h->name.len && handled(h))
			continue;
		xn = x_name(h, xb, sizeof(xb));
		if (xn) {
			conv(r, h->value, &r->s1, 1);
		} else {
			/* Keep an unusable token with its value. */
			struct ccm_slice v = h->value;

			sclear(r, &r->s2);
			if (h->name.len) {
				ccm_buf_put(&r->s2, h->name.p, h->name.len);
				ccm_buf_puts(&r->s2, ": ");
			}
			ccm_buf_put(&r->s2, v.p, v.len);
			v.p = r->s2.p ? r->s2.p : "";
			v.len = r->s2.len;
			conv(r, v, &r->s1, 1);
			xn = "X-CcMail-Stray";
		}
		hdr_text(r, xn, r->s1.p, r->s1.len);
	}
}

static void hdr_warnings(struct render *r)
{
	const struct ccm_warnlist *lists[2] = { &r->m->warn, &r->w };
	size_t l, i;

	for (l = 0; l < 2; l++) {
		for (i = 0; i < lists[l]->n; i++) {
			sclear(r, &r->s1);
			ccm_warning_format(&lists[l]->w[i], &r->s1);
			hdr_text(r, "X-CcMail-Warning", r->s1.p, r->s1.len);
		}
	}
}

/* The hash of v's decimal digits and a NUL, as if printed. */
static uint64_t fnv_decimal(uint64_t h, uint64_t v)
{
	char d[21];
	size_t k = sizeof(d) - 1;

	d[k] = '\0';
	do {
		d[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return ccm_fnv1a(h, d + k, sizeof(d) - k);
}

static void hash_message(struct render *r)
{
	const struct ccm_render_ctx *rc = r->rc;
	const char *src = rc->source_name ? rc->source_name : "";
	const char *acc = rc->account ? rc->account : "";
	uint64_t h = CCM_FNV_INIT;
	size_t i;

	h = ccm_fnv1a(h, src, strlen(src) + 1);
	h = fnv_decimal(h, r->m->off);
	h = ccm_fnv1a(h, acc, strlen(acc) + 1);
	h = fnv_decimal(h, rc->ordinal);
	for (i = 0; i < r->m->nhdr; i++) {
		const struct ccm_header *hd = &r->m->hdr[i];

		h = ccm_fnv1a(h, hd->name.p, hd->name.len);
		h = ccm_fnv1a(h, ":", 1);
		h = ccm_fnv1a(h, hd->value.p, hd->value.len);
		h = ccm_fnv1a(h, "\n", 1);
	}
	r->hash = h;
}

/* ---------------------------------------------------------- the body */

static void part_headers(struct render *r, struct part *pt, int first)
{
	struct ccm_fold f;

	if (pt->text) {
		put(r, pt->rtf ? "Content-Type: text/rtf; charset=utf-8" :
				 "Content-Type: text/plain; charset=utf-8");
		put_eol(r);
		put(r, "Content-Transfer-Encoding: ");
		put(r, cte_name[pt->cte]);
		put_eol(r);
		if (first)
			return;
		ccm_fold_init(&f, r->out, r->eol, WIDTH);
		put(r, "Content-Disposition: inline");
		f.col = 27;
		if (pt->name.len) {
			ccm_buf_putc(r->out, ';');
			f.col++;
			param(r, &f, "filename", &pt->name);
		}
		put_eol(r);
		return;
	}
	ccm_fold_init(&f, r->out, r->eol, WIDTH);
	put(r, "Content-Type: ");
	put(r, pt->ctype);
	ccm_buf_putc(r->out, ';');
	f.col = 15 + strlen(pt->ctype);
	param(r, &f, "name", &pt->name);
	put_eol(r);
	put(r, "Content-Transfer-Encoding: base64");
	put_eol(r);
	ccm_fold_init(&f, r->out, r->eol, WIDTH);
	put(r, "Content-Disposition: attachment;");
	f.col = 32;
	param(r, &f, "filename", &pt->name);
	put_eol(r);
}

static void part_body(struct render *r, struct part *pt)
{
	if (pt->text)
		write_text_body(r, pt);
	else
		base64_body(r, (const unsigned char *)pt->it->payload.p,
			    pt->it->payload.len);
}

/*
 * Collect the parts: text items that are not empty after processing, and
 * every other item (CCQ-6, CCQ-7).  Returns the number of empty items.
 */
static size_t collect_parts(struct render *r)
{
	const struct ccm_msg *m = r->m;
	size_t i, nempty = 0;

	for (i = 0; i < m->nitems; i++) {
		const struct ccm_item *it = &m->items[i];
		struct part *pt = &r->parts[r->nparts];

		if (it->payload.len == 0)
			nempty++;
		memset(pt, 0, sizeof(*pt));
		ccm_buf_init(&pt->name);
		pt->it = it;
		pt->index = (unsigned)(i + 1);
		if (it->kind == CCM_ITEM_TEXT) {
			if (it->payload.len == 0)
				continue;
			pt->text = 1;
			analyze_text(r, pt);
			if (pt->u8len == 0)
				continue;
			if (it->title.len)
				clean_name(r, it->title, &pt->name);
		} else {
			prepare_attachment(r, pt);
		}
		if (pt->name.oom)
			r->oom = 1;
		r->nparts++;
	}
	return nempty;
}

/* Pick a boundary that no 7bit/8bit text part holds at a line start. */
static void settle_boundary(struct render *r)
{
	unsigned attempt = 0;
	size_t i;
	int hit;

	for (;;) {
		hit = 0;
		for (i = 0; i < r->nparts; i++) {
			struct part *pt = &r->parts[i];

			if (!pt->text || pt->cte == CTE_QP)
				continue;
			if (attempt == 0 ? pt->bhit : boundary_hit(r, pt)) {
				hit = 1;
				/* QP cannot hold a boundary ("=" is
				 * encoded), so it ends the search. */
				if (attempt >= 8)
					pt->cte = CTE_QP;
			}
		}
		if (!hit || attempt >= 8)
			break;
		make_boundary(r, ++attempt);
	}
}

int ccm_eml_render(const struct ccm_render_ctx *rc, const struct ccm_msg *m,
		   struct ccm_buf *out, struct ccm_warnlist *wl)
{
	struct ccm_options dflt;
	struct render R, *r = &R;
	size_t i, nempty, first = 0;
	int subject_changed, multi, has_text = 0;

	memset(r, 0, sizeof(*r));
	ccm_options_init(&dflt);
	r->rc = rc;
	r->o = rc->opt ? rc->opt : &dflt;
	r->m = m;
	r->out = out;
	r->eol = r->o->crlf ? "\r\n" : "\n";
	r->eollen = strlen(r->eol);
	ccm_buf_init(&r->s1);
	ccm_buf_init(&r->s2);
	ccm_buf_init(&r->fromu8);
	ccm_addr_init(&r->from);
	hash_message(r);
	make_boundary(r, 0);

	if (m->nitems) {
		r->parts = calloc(m->nitems, sizeof(*r->parts));
		if (!r->parts) {
			r->oom = 1;
			goto out;
		}
	}
	nempty = collect_parts(r);
	for (i = 0; i < r->nparts; i++)
		if (r->parts[i].text) {
			first = i;
			has_text = 1;
			break;
		}
	multi = r->nparts > 1 || (r->nparts == 1 && !r->parts[0].text);
	if (multi)
		settle_boundary(r);

	hdr_from(r);
	hdr_recipients(r, "To");
	hdr_recipients(r, "Cc");
	hdr_recipients(r, "Bcc");	/* the owner's copy (CCQ-20) */
	subject_changed = hdr_subject(r);
	hdr_date(r);
	hdr_message_id(r);
	put(r, "MIME-Version: 1.0");
	put_eol(r);
	if (multi) {
		put(r, "Content-Type: multipart/mixed; boundary=\"");
		put(r, r->boundary + 2);
		put(r, "\"");
		put_eol(r);
	} else if (r->nparts == 1) {
		part_headers(r, &r->parts[0], 1);
	} else {
		put(r, "Content-Type: text/plain; charset=utf-8");
		put_eol(r);
		put(r, "Content-Transfer-Encoding: 7bit");
		put_eol(r);
	}
	hdr_priority(r);
	x_copies(r, "Folder", "X-CcMail-Folder", 0);
	hdr_source(r);
	x_copies(r, "From", "X-CcMail-From", 0);
	x_copies(r, "To", "X-CcMail-To", 0);
	x_copies(r, "Cc", "X-CcMail-Cc", 0);
	x_copies(r, "Bcc", "X-CcMail-Bcc", 0);
	x_copies(r, "Date", "X-CcMail-Date", 0);
	x_copies(r, "Subject", "X-CcMail-Subject", subject_changed ? 0 : 1);
	hdr_others(r);
	if (nempty)
		ccm_warn(&r->w, CCM_W_EMPTY_ITEM, (int64_t)nempty, 0);
	if (r->ncontrol)
		ccm_warn(&r->w, CCM_W_CONTROL, (int64_t)r->ncontrol, 0);
	if (r->nbad)
		ccm_warn(&r->w, CCM_W_CHARSET, (int64_t)r->nbad,
			 r->o->codepage);
	hdr_warnings(r);
	put_eol(r);

	if (!multi) {
		if (r->nparts == 1)
			part_body(r, &r->parts[0]);
	} else {
		/* Body text first, then the other parts in item order. */
		for (i = 0; i < r->nparts; i++) {
			size_t k = !has_text ? i : i == 0 ? first :
				   i <= first ? i - 1 : i;

			put(r, r->boundary);
			put_eol(r);
			part_headers(r, &r->parts[k], has_text && i == 0);
			put_eol(r);
			part_body(r, &r->parts[k]);
			put_eol(r);
		}
		put(r, r->boundary);
		put(r, "--");
		put_eol(r);
	}
	if (wl) {
		for (i = 0; i < m->warn.n; i++)
			ccm_warn(wl, m->warn.w[i].code, m->warn.w[i].a,
				 m->warn.w[i].b);
		for (i = 0; i < r->w.n; i++)
			ccm_warn(wl, r->w.w[i].code, r->w.w[i].a,
				 r->w.w[i].b);
	}
out:
	sclear(r, &r->s1);
	sclear(r, &r->s2);
	sclear(r, &r->fromu8);
	for (i = 0; i < r->nparts; i++)
		ccm_buf_release(&r->parts[i].name);
	free(r->parts);
	ccm_buf_release(&r->s1);
	ccm_buf_release(&r->s2);
	ccm_buf_release(&r->fromu8);
	ccm_addr_release(&r->from);
	ccm_warnlist_release(&r->w);
	if (r->oom || out->oom)
		return -ENOMEM;
	return 0;
}
