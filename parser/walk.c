/*
 * walk.c - read a restored array in order, in place or through copies
 * (struct ccm_reader: why).
 */
#include <errno.h>
#include <stdlib.h>

#include "ccm.h"

/* Elements per copy: enough to make each read worth a system call, few
 * enough that the buffer's own pages stay warm. */
#define WALK_BYTES (64 * 1024)

void ccm_walk_init(struct ccm_walk *w, const struct ccm_reader *rd,
		   const char *base, size_t len, const void *arr, size_t n,
		   size_t esz)
{
	const char *a = arr;

	w->rd = rd && rd->read && a >= base && a <= base + len ? rd : NULL;
	w->base = base;
	w->arr = a;
	w->esz = esz;
	w->n = n;
	w->i = 0;
	w->buf = NULL;
	w->bfirst = w->bcount = 0;
	/* Elements of no size are no array: a caller's mistake. */
	w->err = esz ? 0 : -EINVAL;
}

const void *ccm_walk_next(struct ccm_walk *w)
{
	size_t per, k;
	int err;

	if (w->err || w->i >= w->n)
		return NULL;
	if (!w->rd)
		return w->arr + w->i++ * w->esz;
	if (w->i >= w->bfirst + w->bcount) {
		per = WALK_BYTES / w->esz ? WALK_BYTES / w->esz : 1;
		k = w->n - w->i < per ? w->n - w->i : per;
		if (!w->buf && !(w->buf = malloc(per * w->esz))) {
			w->err = -ENOMEM;
			return NULL;
		}
		err = w->rd->read(w->rd->ctx, w->buf, k * w->esz,
				  (uint64_t)(w->arr - w->base) +
					  (uint64_t)w->i * w->esz);
		if (err) {
			w->err = err;
			return NULL;
		}
		w->bfirst = w->i;
		w->bcount = k;
	}
	return w->buf + (w->i++ - w->bfirst) * w->esz;
}

int ccm_walk_end(struct ccm_walk *w)
{
	free(w->buf);
	w->buf = NULL;
	return w->err;
}
