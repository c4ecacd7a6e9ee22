/*
 * lex.c - line and token recognition (see lex.h for the contract).
 *
 * Tokens are case-insensitive and may be preceded by blanks (SPEC 1.1).
 * Matching is deliberately strict about what follows a token (a line end)
 * so that text and binary payloads rarely look like structure (CCQ-3).
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "lex.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_eolc(char c)
{
	return c == '\r' || c == '\n';
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

size_t lex_eol(const char *d, size_t p, size_t lim)
{
	const char *s = d + p, *e = d + lim;

	/* Two memchr passes would be O(2n); one loop is enough here, and
	 * with SSE2 it looks at 16 bytes a step (lines average 60). */
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

	while (e - s >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)s);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)));

		if (m)
			return (size_t)(s - d) + (size_t)__builtin_ctz(m);
		s += 16;
	}
#endif
	while (s < e && *s != '\n' && *s != '\r')
		s++;
	return (size_t)(s - d);
}

size_t lex_eol_len(const char *d, size_t p, size_t lim)
{
	if (p >= lim)
		return 0;
	if (d[p] == '\r')
		return p + 1 < lim && d[p + 1] == '\n' ? 2 : 1;
	return d[p] == '\n' ? 1 : 0;
}

size_t lex_next_line(const char *d, size_t p, size_t lim)
{
	size_t e = lex_eol(d, p, lim);

	return e + lex_eol_len(d, e, lim);
}

int lex_at_line_start(const char *d, size_t p)
{
	return p == 0 || is_eolc(d[p - 1]);
}

int lex_blank_line(const char *d, size_t p, size_t lim)
{
	while (p < lim && is_blank(d[p]))
		p++;
	return p >= lim || is_eolc(d[p]);
}

static size_t skip_blanks(const char *d, size_t p, size_t lim)
{
	while (p < lim && is_blank(d[p]))
		p++;
	return p;
}

/* Case-insensitive match of the ASCII word w at p; returns the end or 0. */
static size_t match_word(const char *d, size_t p, size_t lim, const char *w)
{
	size_t n = strlen(w), i;

	if (lim - p < n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)d[p + i]) != w[i])
			return 0;
	return p + n;
}

/* The rest of the line from p is blanks only. */
static int rest_blank(const char *d, size_t p, size_t lim)
{
	return lex_blank_line(d, p, lim);
}

int lex_message_line(const char *d, size_t p, size_t lim)
{
	size_t e;

	if (p >= lim)
		return 0;
	p = skip_blanks(d, p, lim);
	e = match_word(d, p, lim, "message:");
	return e && rest_blank(d, e, lim);
}

int lex_contents_line(const char *d, size_t p, size_t lim)
{
	size_t e;

	if (p >= lim)
		return 0;
	p = skip_blanks(d, p, lim);
	e = match_word(d, p, lim, "contents:");
	return e && rest_blank(d, e, lim);
}

static struct ccm_slice trimmed(const char *d, size_t a, size_t b)
{
	struct ccm_slice s;

	while (a < b && is_blank(d[a]))
		a++;
	while (b > a && is_blank(d[b - 1]))
		b--;
	s.p = d + a;
	s.len = b - a;
	return s;
}

int lex_item_line(const char *d, size_t p, size_t lim, struct ccm_slice *word,
		  struct ccm_slice *title)
{
	size_t w0, w1, q, e;

	if (p >= lim)
		return 0;
	w0 = skip_blanks(d, p, lim);
	w1 = w0;
	while (w1 < lim && w1 - w0 <= 32 && is_alpha(d[w1]))
		w1++;
	if (w1 == w0 || w1 - w0 > 32)
		return 0;
	q = w1;
	if (q >= lim || d[q] != ' ')
		return 0;
	while (q < lim && d[q] == ' ')
		q++;
	e = match_word(d, q, lim, "item:");
	if (!e)
		return 0;
	word->p = d + w0;
	word->len = w1 - w0;
	*title = trimmed(d, e, lex_eol(d, e, lim));
	return 1;
}

static int quoted_name(const char *d, size_t p, size_t lim,
		       struct ccm_slice *name)
{
	size_t e = lex_eol(d, p, lim), q;

	p = skip_blanks(d, p, lim);
	if (p >= e || d[p] != '"')
		return 0;
	for (q = p + 1; q < e && d[q] != '"'; q++)
		;
	if (q >= e || q == p + 1)
		return 0;
	*name = trimmed(d, p + 1, q);
	return name->len > 0;
}

int lex_marker_line(const char *d, size_t p, size_t lim, struct ccm_slice *name)
{
	static const char *const keys[] = { "mailbox:", "account:", "user:" };
	size_t e, i;

	if (p >= lim)
		return 0;
	p = skip_blanks(d, p, lim);
	e = match_word(d, p, lim, "exporting messages in mailbox");
	if (e)
		return quoted_name(d, e, lim, name);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		e = match_word(d, p, lim, keys[i]);
		if (e) {
			*name = trimmed(d, e, lex_eol(d, e, lim));
			return name->len > 0;
		}
	}
	return 0;
}

int lex_noise_line(const char *d, size_t p, size_t lim)
{
	size_t e;

	if (p >= lim)
		return 0;
	p = skip_blanks(d, p, lim);
	if (match_word(d, p, lim, "post office directory:") ||
	    match_word(d, p, lim, "export process ended") ||
	    match_word(d, p, lim, "import process ended"))
		return 1;
	/* Version banners: "EXPORT 8.50.00.14 Copyright(c) ...", "Export2 5.1" */
	e = match_word(d, p, lim, "export");
	if (!e)
		return 0;
	if (e < lim && (d[e] == '2' || d[e] == '3'))
		e++;
	if (e < lim && d[e] == '2')
		e++;
	if (e >= lim || d[e] != ' ')
		return 0;
	e = skip_blanks(d, e, lim);
	return e < lim && d[e] >= '0' && d[e] <= '9';
}

int lex_size_line(const char *d, size_t p, size_t lim, struct lex_size *sz)
{
	size_t e = lex_eol(d, p, lim), q = p, ndig = 0;
	uint64_t v = 0;
	int neg = 0, bad = 0;

	q = skip_blanks(d, q, e);
	if (q < e && (d[q] == '-' || d[q] == '+')) {
		neg = d[q] == '-';
		q++;
		if (q >= e || d[q] < '0' || d[q] > '9')
			return 0;
	}
	while (q < e && d[q] >= '0' && d[q] <= '9') {
		/* 30-digit sizes exist in hostile input: saturate, mark bad. */
		if (v > (UINT64_MAX - 9) / 10)
			bad = 1;
		else
			v = v * 10 + (uint64_t)(d[q] - '0');
		q++;
		ndig++;
	}
	q = skip_blanks(d, q, e);
	if (q != e)
		return 0;
	/* An empty line counts as a blank size only when a size is expected;
	 * the caller decides that. */
	sz->next = e + lex_eol_len(d, e, lim);
	sz->value = v;
	if (ndig == 0)
		sz->state = SZ_BLANK;
	else if (neg || bad || ndig > 18)
		sz->state = SZ_BAD;
	else
		sz->state = SZ_VALID;
	return 1;
}

int lex_header_line(const char *d, size_t p, size_t lim,
		    struct ccm_slice *name, struct ccm_slice *value)
{
	size_t e = lex_eol(d, p, lim), t0, q;

	t0 = skip_blanks(d, p, e);
	if (t0 >= e || !is_alpha(d[t0]))
		return 0;
	for (q = t0; q < e && q - t0 <= 64; q++) {
		char c = d[q];

		if (c == ':')
			break;
		if (!(is_alpha(c) || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.' || c == ' ' || c == '#'))
			return 0;
	}
	if (q >= e || d[q] != ':' || q - t0 > 64)
		return 0;
	*name = trimmed(d, t0, q);
	*value = trimmed(d, q + 1, e);
	return 1;
}

/* Only Ctrl-Z, blanks and line ends from p to lim (CCQ-25 padding).  The
 * end of a bounded range and the file's trailing padding must validate the
 * same way, or a re-parse of one message could split it differently. */
static int only_padding(const char *d, size_t p, size_t lim)
{
	while (p < lim && (d[p] == 0x1a || is_blank(d[p]) || is_eolc(d[p])))
		p++;
	return p >= lim;
}

int lex_message_validated(const char *d, size_t p, size_t lim)
{
	struct ccm_slice a, b;
	struct lex_size sz;
	size_t q;

	if (!lex_message_line(d, p, lim))
		return 0;
	q = lex_next_line(d, p, lim);
	if (q >= lim)
		return 1;
	if (lex_size_line(d, q, lim, &sz) && !lex_blank_line(d, q, lim)) {
		q = sz.next;
		if (q >= lim)
			return 1;
	} else if (lex_blank_line(d, q, lim)) {
		/* spaces-only size line (CCQ-2) */
		q = lex_next_line(d, q, lim);
		if (q >= lim)
			return 1;
	}
	return lex_header_line(d, q, lim, &a, &b) ||
	       lex_contents_line(d, q, lim) || only_padding(d, q, lim);
}

int lex_marker_validated(const char *d, size_t p, size_t lim)
{
	struct ccm_slice name;
	size_t q;

	if (!lex_marker_line(d, p, lim, &name))
		return 0;
	q = lex_next_line(d, p, lim);
	while (q < lim && (lex_blank_line(d, q, lim) || lex_noise_line(d, q, lim) ||
			   lex_marker_line(d, q, lim, &name)))
		q = lex_next_line(d, q, lim);
	return only_padding(d, q, lim) || lex_message_line(d, q, lim);
}

size_t lex_tail_padding(const char *d, size_t size)
{
	size_t p = size;

	while (p > 0 && (d[p - 1] == 0x1a || is_eolc(d[p - 1]) ||
			 is_blank(d[p - 1])))
		p--;
	return p;
}
