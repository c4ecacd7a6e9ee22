/*
 * buf.c - growable byte buffer with a count-only mode.
 *
 * Allocation failure is sticky (b->oom) instead of fatal, because the buffer
 * is used inside a long-lived daemon: callers check oom once at the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ccm.h"

void ccm_buf_init(struct ccm_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ccm_buf_release(struct ccm_buf *b)
{
	int count_only = b->count_only;

	free(b->p);
	ccm_buf_init(b);
	b->count_only = count_only;
}

void ccm_buf_window(struct ccm_buf *b, size_t lo, size_t n)
{
	b->len = 0;
	b->oom = 0;
	b->windowed = 1;
	b->win_lo = lo;
	b->win_hi = n > SIZE_MAX - lo ? SIZE_MAX : lo + n;
}

size_t ccm_buf_stored(const struct ccm_buf *b)
{
	if (b->count_only)
		return 0;
	if (!b->windowed)
		return b->len;
	if (b->len <= b->win_lo)
		return 0;
	return (b->len < b->win_hi ? b->len : b->win_hi) - b->win_lo;
}

int ccm_buf_skippable(const struct ccm_buf *b, size_t n)
{
	if (b->count_only)
		return 1;
	if (!b->windowed)
		return 0;
	return b->len >= b->win_hi ||
	       (b->len <= b->win_lo && n <= b->win_lo - b->len);
}

/* Append in window mode: copy the part of [len, len + n) in the window. */
static void window_put(struct ccm_buf *b, const char *p, size_t n)
{
	size_t s = b->len, e = n > SIZE_MAX - s ? SIZE_MAX : s + n;
	size_t lo = s > b->win_lo ? s : b->win_lo;
	size_t hi = e < b->win_hi ? e : b->win_hi;

	b->len = e;
	if (lo >= hi || b->oom)
		return;
	if (b->cap < b->win_hi - b->win_lo + 1) {
		/* The whole window at once: it is bounded by the caller. */
		char *np = realloc(b->p, b->win_hi - b->win_lo + 1);

		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = b->win_hi - b->win_lo + 1;
	}
	memcpy(b->p + (lo - b->win_lo), p + (lo - s), hi - lo);
}

void ccm_buf_clear(struct ccm_buf *b)
{
	b->len = 0;
	b->oom = 0;
}

static int buf_grow(struct ccm_buf *b, size_t extra)
{
	size_t need, cap;
	char *np;

	if (b->oom)
		return -1;
	if (extra > SIZE_MAX - b->len - 1) {
		b->oom = 1;
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

int ccm_buf_reserve(struct ccm_buf *b, size_t extra)
{
	if (b->count_only || b->windowed)
		return -1;
	return buf_grow(b, extra);
}

void ccm_buf_put_any(struct ccm_buf *b, const void *p, size_t n)
{
	if (b->count_only) {
		b->len += n;
		return;
	}
	if (b->windowed) {
		window_put(b, p, n);
		return;
	}
	if (n == 0 || buf_grow(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void ccm_buf_putc_any(struct ccm_buf *b, char c)
{
	if (b->count_only) {
		b->len++;
		return;
	}
	if (b->windowed) {
		window_put(b, &c, 1);
		return;
	}
	if (buf_grow(b, 1))
		return;
	b->p[b->len++] = c;
}

void ccm_buf_put_u64(struct ccm_buf *b, uint64_t v)
{
	char d[20];
	size_t k = sizeof(d);

	do {
		d[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ccm_buf_put(b, d + k, sizeof(d) - k);
}

void ccm_buf_put_hex64(struct ccm_buf *b, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char d[16];
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		d[i] = hex[v & 15];
	ccm_buf_put(b, d, sizeof(d));
}

void ccm_buf_printf(struct ccm_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small) || b->count_only) {
		ccm_buf_put(b, small, (size_t)n);
		return;
	}
	if (b->windowed) {
		char *big = malloc((size_t)n + 1);

		if (!big) {
			b->oom = 1;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		window_put(b, big, (size_t)n);
		free(big);
		return;
	}
	if (buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *ccm_buf_cstr(struct ccm_buf *b)
{
	if (b->count_only || b->windowed || buf_grow(b, 0) || !b->p)
		return "";
	b->p[b->len] = '\0';
	return b->p;
}

int ccm_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	np = realloc(*arr, ncap * elem);
	if (!np)
		return -ENOMEM;
	*arr = np;
	*cap = ncap;
	return 0;
}
