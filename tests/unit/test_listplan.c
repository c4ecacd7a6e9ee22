/* test_listplan.c - the order of the lister (fs/listplan.c), against a
 * model of a reader walking the tree and of the lister, in time units. */
#include <stdlib.h>
#include <string.h>

#include "listplan.h"
#include "testlib.h"

#define NDIRS 300

struct walk {
	double t;		/* when the reader finished */
	double self;		/* share of the entries it listed itself */
	unsigned clashes;	/* directories it opened while being listed */
};

/*
 * A reader opens the directories in walk order.  One nobody has listed
 * costs it (c + s) an entry: listing, then a stat; one the lister has
 * listed, s.  The lister lists in the plan's order (back: from the far
 * end, as before listplan.c), c an entry, starting once the reader has
 * opened three.  Every directory must be listed exactly once.
 */
static struct walk walk(const uint32_t *count, size_t n, double c, double s,
			int back)
{
	struct listplan lp;
	uint32_t dirs[NDIRS];
	double done[NDIRS], tr = 0, tl = -1;
	uint64_t all = 0, self = 0;
	unsigned listed[NDIRS];
	struct walk w = { 0, 0, 0 };
	size_t i, r = 0, pos, bk = n;

	assert_true(n <= NDIRS);
	for (i = 0; i < n; i++) {
		dirs[i] = (uint32_t)(100 + 7 * i);	/* any inodes */
		done[i] = -1;
		listed[i] = 0;
		all += count[i];
	}
	assert_int_equal(listplan_init_dirs(&lp, dirs, count, n), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(listplan_pos(&lp, dirs[i]), i);
	assert_int_equal(listplan_pos(&lp, 99), n);
	while (r < n) {
		if (tl >= 0 && tl <= tr) {
			/* The lister takes its next directory. */
			if (back) {
				while (bk > 0 && lp.state[bk - 1] !=
						 LISTPLAN_FREE)
					bk--;
				pos = bk > 0 ? bk - 1 : n;
			} else {
				pos = listplan_peek(&lp);
			}
			if (pos >= n) {
				tl = -1;
				continue;
			}
			assert_int_equal(lp.state[pos], LISTPLAN_FREE);
			listplan_taken(&lp, pos);
			listed[pos]++;
			done[pos] = tl + c * count[pos];
			tl = done[pos];
			continue;
		}
		/* The reader opens the next directory. */
		listplan_opened(&lp, r);
		if (done[r] < 0) {
			listed[r]++;
			self += count[r];
			tr += (c + s) * count[r];
		} else {
			if (done[r] > tr) {
				w.clashes++;
				tr = done[r];
			}
			tr += s * count[r];
		}
		if (++r == 3)
			tl = tr;
	}
	for (i = 0; i < n; i++)
		assert_int_equal(listed[i], 1);
	listplan_release(&lp);
	w.t = tr;
	w.self = (double)self / (double)all;
	return w;
}

/* Directories of mixed sizes, as accounts and their folders. */
static size_t layout(uint32_t *count)
{
	uint32_t x = 12345;
	size_t i;

	for (i = 0; i < NDIRS; i++) {
		x = x * 1103515245u + 12345u;
		count[i] = i % 12 == 0 ? 6 : 50 + (x >> 16) % 3000;
	}
	return NDIRS;
}

/* A reader that stats (find -printf: s about half of c) lists a quarter
 * itself, not 40 %, and is done sooner; one that does not (find -type f)
 * or one slower than the lister (ls -lR) loses nothing. */
static void test_order(void **state)
{
	uint32_t count[NDIRS];
	size_t n = layout(count);
	struct walk p, b;

	(void)state;
	p = walk(count, n, 2.0, 1.0, 0);
	b = walk(count, n, 2.0, 1.0, 1);
	assert_true(p.self < 0.3);
	assert_true(b.self > 0.35);
	assert_true(p.t < 0.9 * b.t);
	assert_true(p.clashes <= 2);

	p = walk(count, n, 2.0, 0.0, 0);
	b = walk(count, n, 2.0, 0.0, 1);
	assert_true(p.t < 1.05 * b.t);
	assert_true(p.clashes <= 4);

	p = walk(count, n, 2.0, 4.0, 0);
	b = walk(count, n, 2.0, 4.0, 1);
	assert_true(p.t < 1.05 * b.t);
	assert_true(p.clashes <= 2);
}

/* A reader that never walks far: the plan hands out every directory
 * once, then n. */
static void test_exhaust(void **state)
{
	uint32_t count[NDIRS], dirs[NDIRS];
	size_t n = layout(count), i, k, pos, first = 0;
	uint64_t all = 0, before = 0;
	struct listplan lp;
	unsigned seen[NDIRS];

	(void)state;
	for (i = 0; i < n; i++) {
		dirs[i] = (uint32_t)(n - i);	/* inodes in reverse */
		seen[i] = 0;
	}
	assert_int_equal(listplan_init_dirs(&lp, dirs, count, n), 0);
	listplan_opened(&lp, 0);
	listplan_opened(&lp, 1);
	listplan_opened(&lp, 2);
	for (k = 0; (pos = listplan_peek(&lp)) < n; k++) {
		assert_true(k < n);
		if (k == 0)
			first = pos;
		/* Peeking again gives the same one. */
		assert_int_equal(listplan_peek(&lp), pos);
		seen[pos]++;
		listplan_taken(&lp, pos);
	}
	assert_int_equal(k, n - 3);
	for (i = 3; i < n; i++)
		assert_int_equal(seen[i], 1);
	/* It started a quarter of the entries ahead of the reader. */
	for (i = 3; i < n; i++) {
		all += count[i];
		before += i < first ? count[i] : 0;
	}
	assert_true(first > 3);
	assert_true(4 * before >= all);
	assert_true(4 * (before - count[first - 1]) < all);
	listplan_release(&lp);
}

/* A reader that catches up with the lister: it jumps to the middle of
 * what is left ahead of the reader. */
static void test_jump(void **state)
{
	uint32_t count[NDIRS], dirs[NDIRS];
	size_t n = layout(count), i, first, mid;
	uint64_t all = 0, before = 0;
	struct listplan lp;

	(void)state;
	for (i = 0; i < n; i++)
		dirs[i] = (uint32_t)(i + 1);
	assert_int_equal(listplan_init_dirs(&lp, dirs, count, n), 0);
	for (i = 0; i < 3; i++)
		listplan_opened(&lp, i);
	first = listplan_peek(&lp);
	listplan_taken(&lp, first);
	assert_int_equal(listplan_peek(&lp), first + 1);
	/* The reader gets to the lister's first directory. */
	for (i = 3; i <= first; i++)
		listplan_opened(&lp, i);
	mid = listplan_peek(&lp);
	for (i = first + 1; i < n; i++) {
		all += count[i];
		before += i < mid ? count[i] : 0;
	}
	assert_true(mid > first + 1 && mid < n);
	assert_true(2 * before >= all);
	assert_true(2 * (before - count[mid - 1]) < all);
	/* Then on from there, the directories it skipped left to the
	 * reader until the forward walk ends. */
	listplan_taken(&lp, mid);
	assert_int_equal(listplan_peek(&lp), mid + 1);
	listplan_release(&lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_exhaust),
		cmocka_unit_test(test_jump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
