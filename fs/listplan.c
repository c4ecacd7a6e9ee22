/*
 * listplan.c - the order in which the lister (fs/listahead.c) takes the
 * directories of the tree.
 *
 * A reader that stats what it lists (find -printf, ls -lR) walks a
 * directory the lister has listed faster than one it must list itself:
 * at 100,000 entries, 145 ms against 425 ms, where the lister alone
 * takes 280 ms (BENCHMARKS, session 14).  A lister that walked from the
 * far end back towards the reader met it at about 56 % of the entries,
 * and then had nothing left to do while the reader walked the rest.
 * This one starts a quarter of the way ahead of the reader and walks
 * forward: a reader that stats stays behind it to the end, and lists
 * only that first quarter itself.  A reader that does not stat
 * (find -type f) catches up with it instead; the lister then jumps to
 * the middle of what is left ahead of the reader, and the two again end
 * together.  Once the forward walk reaches the end of the tree, the
 * lister walks back from there over what is left, as it used to.
 */
#include <stdlib.h>
#include <string.h>

#include "listplan.h"

static int cmp_ino(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Room for cap directories; 0, or -1 with lp zeroed. */
static int alloc(struct listplan *lp, size_t cap)
{
	memset(lp, 0, sizeof(*lp));
	lp->dirs = malloc(cap * sizeof(*lp->dirs));
	lp->count = malloc(cap * sizeof(*lp->count));
	lp->byino = malloc(2 * cap * sizeof(*lp->byino));
	lp->state = calloc(cap, 1);
	if (lp->dirs && lp->count && lp->byino && lp->state)
		return 0;
	listplan_release(lp);
	return -1;
}

/* With dirs and count filled for n directories: the lookup by inode. */
static void index_dirs(struct listplan *lp, size_t n)
{
	size_t i;

	lp->n = n;
	for (i = 0; i < n; i++) {
		lp->byino[2 * i] = lp->dirs[i];
		lp->byino[2 * i + 1] = (uint32_t)i;
	}
	qsort(lp->byino, n, 2 * sizeof(*lp->byino), cmp_ino);
	lp->back = n;
}

int listplan_init(struct listplan *lp, const struct tree *t)
{
	size_t cap = (t->ndirs < t->nnodes ? t->ndirs : t->nnodes) + 1, i;
	long n;

	if (alloc(lp, cap))
		return -1;
	n = tree_walk_dirs(t, lp->dirs, cap);
	if (n < 0) {
		listplan_release(lp);
		return -1;
	}
	for (i = 0; i < (size_t)n; i++)
		lp->count[i] = (uint32_t)tree_node(t, lp->dirs[i])->nchildren;
	index_dirs(lp, (size_t)n);
	return 0;
}

int listplan_init_dirs(struct listplan *lp, const uint32_t *dirs,
		       const uint32_t *count, size_t n)
{
	if (alloc(lp, n + 1))
		return -1;
	memcpy(lp->dirs, dirs, n * sizeof(*dirs));
	memcpy(lp->count, count, n * sizeof(*count));
	index_dirs(lp, n);
	return 0;
}

void listplan_release(struct listplan *lp)
{
	free(lp->dirs);
	free(lp->count);
	free(lp->byino);
	free(lp->state);
	memset(lp, 0, sizeof(*lp));
}

size_t listplan_pos(const struct listplan *lp, uint64_t ino)
{
	size_t lo = 0, hi = lp->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t v = lp->byino[2 * mid];

		if (v == ino)
			return lp->byino[2 * mid + 1];
		if (v < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lp->n;
}

void listplan_opened(struct listplan *lp, size_t pos)
{
	if (pos >= lp->n)
		return;
	if (lp->state[pos] == LISTPLAN_FREE)
		lp->state[pos] = LISTPLAN_OPENED;
	if (pos + 1 > lp->reader)
		lp->reader = pos + 1;
}

void listplan_taken(struct listplan *lp, size_t pos)
{
	if (pos < lp->n && lp->state[pos] == LISTPLAN_FREE)
		lp->state[pos] = LISTPLAN_TAKEN;
}

/* The first directory from position `from` on with num/den of the
 * entries of those nobody has listed yet before it. */
static size_t share(const struct listplan *lp, size_t from, unsigned num,
		    unsigned den)
{
	uint64_t all = 0, acc = 0;
	size_t i;

	for (i = from; i < lp->n; i++)
		if (lp->state[i] == LISTPLAN_FREE)
			all += lp->count[i];
	for (i = from; i < lp->n; i++) {
		if (lp->state[i] != LISTPLAN_FREE)
			continue;
		if (acc * den >= all * num)
			return i;
		acc += lp->count[i];
	}
	return lp->n;
}

size_t listplan_peek(struct listplan *lp)
{
	if (!lp->started) {
		lp->started = 1;
		lp->forward = 1;
		lp->fwd = share(lp, lp->reader, LISTPLAN_START_NUM,
				LISTPLAN_START_DEN);
	}
	if (lp->forward) {
		/* The reader has opened the directory listed last, and
		 * would list the next one too. */
		if (lp->reader >= lp->fwd)
			lp->fwd = share(lp, lp->reader, 1, 2);
		while (lp->fwd < lp->n && lp->state[lp->fwd] != LISTPLAN_FREE)
			lp->fwd++;
		if (lp->fwd < lp->n)
			return lp->fwd;
		lp->forward = 0;
	}
	while (lp->back > 0 && lp->state[lp->back - 1] != LISTPLAN_FREE)
		lp->back--;
	return lp->back > 0 ? lp->back - 1 : lp->n;
}
