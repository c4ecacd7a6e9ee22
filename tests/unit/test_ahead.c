/* test_ahead.c - the render-ahead plan and its slots (fs/ahead.c). */
#include <stdlib.h>
#include <string.h>

#include "ahead.h"
#include "testlib.h"

struct fixture {
	struct ccm_archive *a;
	struct tree *t;
	uint64_t dir;		/* the directory with the most files */
	struct ahead p;
};

static int setup(void **state)
{
	const char *src[] = { "data/dates.ccm" };
	struct ccm_options o;
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i, best = 0;

	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&f->a, src, 1, &o), 0);
	assert_int_equal(tree_build(&f->t, f->a, TREE_LAYOUT_PLAIN), 0);
	for (i = 0; i < f->t->nnodes; i++) {
		const struct tree_node *n = &f->t->nodes[i];

		if (n->kind == TREE_DIR && n->nchildren > best) {
			best = n->nchildren;
			f->dir = i + 1;
		}
	}
	/* Enough files for a run (the test below relies on 13). */
	assert_true(best >= 13);
	ahead_init(&f->p, f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ahead_release(&f->p);
	tree_free(f->t);
	ccm_archive_free(f->a);
	free(f);
	return 0;
}

static uint64_t child(struct fixture *f, size_t i)
{
	return tree_child(f->t, f->dir, i);
}

/* The slot of ino holds exactly what a read renders. */
static void assert_rendered(struct fixture *f, uint64_t ino)
{
	const struct ccm_buf *b = ahead_get(&f->p, ino);
	struct ccm_buf want;

	assert_non_null(b);
	ccm_buf_init(&want);
	assert_int_equal(tree_read(f->t, ino, &want), 0);
	assert_int_equal(b->len, want.len);
	assert_int_equal(b->len, tree_node(f->t, ino)->size);
	assert_memory_equal(b->p, want.p, want.len);
	ccm_buf_release(&want);
}

static void test_run(void **state)
{
	struct fixture *f = *state;
	size_t n = tree_node(f->t, f->dir)->nchildren, i, steps = 0;

	/* One read is no pattern: nothing is rendered. */
	ahead_note(&f->p, child(f, 0));
	assert_int_equal(ahead_step(&f->p), 0);
	assert_null(ahead_get(&f->p, child(f, 1)));
	/* The same file again changes nothing. */
	ahead_note(&f->p, child(f, 0));
	assert_int_equal(ahead_step(&f->p), 0);

	/* Two in a row: the rest of the directory (under AHEAD_FILES). */
	ahead_note(&f->p, child(f, 1));
	while (ahead_step(&f->p))
		steps++;
	assert_int_equal(steps, n - 2);
	assert_null(ahead_get(&f->p, child(f, 0)));
	assert_null(ahead_get(&f->p, child(f, 1)));
	for (i = 2; i < n; i++)
		assert_rendered(f, child(f, i));

	/* Read to its end: the slot is free. */
	ahead_drop(&f->p, child(f, 2));
	assert_null(ahead_get(&f->p, child(f, 2)));

	/* A skip forward inside the run keeps what lies ahead, frees what
	 * the reader went past. */
	ahead_note(&f->p, child(f, 5));
	assert_null(ahead_get(&f->p, child(f, 3)));
	assert_null(ahead_get(&f->p, child(f, 4)));
	assert_rendered(f, child(f, 5));
	assert_rendered(f, child(f, 6));

	/* A jump back starts over: every other slot is freed. */
	ahead_note(&f->p, child(f, 0));
	for (i = 1; i < n; i++)
		assert_null(ahead_get(&f->p, child(f, i)));
	assert_int_equal(ahead_step(&f->p), 0);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	uint64_t report = TREE_REPORT_INO;

	/* Only archive entries: the report and directories are never
	 * noted, rendered or served from a slot. */
	ahead_note(&f->p, report);
	ahead_note(&f->p, f->dir);
	assert_int_equal(ahead_step(&f->p), 0);
	assert_null(ahead_get(&f->p, report));

	/* Release forgets the plan as well as the bytes. */
	ahead_note(&f->p, child(f, 0));
	ahead_note(&f->p, child(f, 1));
	assert_int_equal(ahead_step(&f->p), 1);
	assert_rendered(f, child(f, 2));
	ahead_release(&f->p);
	assert_null(ahead_get(&f->p, child(f, 2)));
	assert_int_equal(ahead_step(&f->p), 0);
	/* And it can start again after a release. */
	ahead_note(&f->p, child(f, 3));
	ahead_note(&f->p, child(f, 4));
	assert_int_equal(ahead_step(&f->p), 1);
	assert_rendered(f, child(f, 5));
}

static void test_hint(void **state)
{
	struct fixture *f = *state;

	/* Directories and the report are not rendered for a lookup. */
	ahead_hint(&f->p, f->dir);
	assert_int_equal(ahead_step(&f->p), 0);
	ahead_hint(&f->p, TREE_REPORT_INO);
	assert_int_equal(ahead_step(&f->p), 0);

	/* A looked-up file is rendered once, by the next step. */
	ahead_hint(&f->p, child(f, 7));
	assert_int_equal(ahead_step(&f->p), 1);
	assert_rendered(f, child(f, 7));
	assert_int_equal(ahead_step(&f->p), 0);

	/* Its read keeps it (a first read frees every other slot) and it
	 * is freed once read to its end. */
	ahead_note(&f->p, child(f, 7));
	assert_rendered(f, child(f, 7));
	ahead_drop(&f->p, child(f, 7));
	assert_null(ahead_get(&f->p, child(f, 7)));

	/* A run going past it does not free it: it may still be opened.
	 * (A jump elsewhere does, like every other slot.) */
	ahead_note(&f->p, child(f, 0));
	ahead_note(&f->p, child(f, 1));
	ahead_hint(&f->p, child(f, 9));
	assert_int_equal(ahead_step(&f->p), 1);
	assert_rendered(f, child(f, 9));
	assert_null(ahead_get(&f->p, child(f, 2)));
	ahead_note(&f->p, child(f, 10));
	while (ahead_step(&f->p))
		;
	assert_rendered(f, child(f, 9));
	assert_rendered(f, child(f, 11));
	ahead_note(&f->p, child(f, 4));
	assert_null(ahead_get(&f->p, child(f, 9)));

	/* A read that comes before the hint's turn cancels it. */
	ahead_hint(&f->p, child(f, 12));
	ahead_note(&f->p, child(f, 12));
	assert_int_equal(ahead_step(&f->p), 0);
	assert_null(ahead_get(&f->p, child(f, 12)));

	/* Release forgets a pending hint too. */
	ahead_hint(&f->p, child(f, 3));
	ahead_release(&f->p);
	assert_int_equal(ahead_step(&f->p), 0);
	assert_null(ahead_get(&f->p, child(f, 3)));
}

/* Directories of t with at least 3 files, the first a file. */
static size_t dirs_with_files(const struct tree *t, uint64_t *out,
			      size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < t->nnodes && n < max; i++) {
		const struct tree_node *d = &t->nodes[i];

		if (d->kind == TREE_DIR && d->nchildren >= 3 &&
		    tree_node(t, tree_child(t, i + 1, 0))->kind ==
			    TREE_ENTRY)
			out[n++] = i + 1;
	}
	return n;
}

static size_t take_all(struct ahead_plan *p, const struct tree *t,
		       uint64_t *got, size_t max)
{
	size_t n = 0;
	uint64_t ino;

	while (n < max && (ino = ahead_plan_take(p, t)) != 0)
		got[n++] = ino;
	return n;
}

/* The tree of data/sample.ccm: accounts, folders, 34 messages. */
struct sample {
	struct ccm_archive *a;
	struct ccm_options o;
	struct tree *t;
};

static struct tree *sample_open(struct sample *sm)
{
	const char *src[] = { "data/sample.ccm" };

	ccm_options_init(&sm->o);
	assert_int_equal(ccm_archive_open(&sm->a, src, 1, &sm->o), 0);
	assert_int_equal(tree_build(&sm->t, sm->a, TREE_LAYOUT_PLAIN), 0);
	return sm->t;
}

static void sample_close(struct sample *sm)
{
	tree_free(sm->t);
	ccm_archive_free(sm->a);
	ccm_options_release(&sm->o);
}

/* The push plan (fs/push.c): runs, catching up, growing, next directory. */
static void test_plan(void **state)
{
	struct fixture *f = *state;
	struct ahead_plan p;
	uint64_t got[64];
	size_t n;

	memset(&p, 0, sizeof(p));
	/* One read of a file in the middle: no run yet. */
	ahead_plan_miss(&p, f->t, child(f, 2), 2, 8);
	assert_int_equal(take_all(&p, f->t, got, 64), 0);
	/* The next one: a run of 2 files after it. */
	ahead_plan_miss(&p, f->t, child(f, 3), 2, 8);
	assert_int_equal(p.span, 2);
	n = take_all(&p, f->t, got, 64);
	assert_int_equal(n, 2);
	assert_int_equal(got[0], child(f, 4));
	assert_int_equal(got[1], child(f, 5));
	/* The reader read both from the cache and misses at the run's
	 * end: the span doubles. */
	ahead_plan_miss(&p, f->t, child(f, 6), 2, 8);
	assert_int_equal(p.span, 4);
	assert_int_equal(ahead_plan_take(&p, f->t), child(f, 7));
	/* The reader overtakes the pusher (at 8): what it passed is
	 * skipped, and the span stays (the miss is inside the run). */
	ahead_plan_miss(&p, f->t, child(f, 9), 2, 8);
	assert_int_equal(p.span, 4);
	n = take_all(&p, f->t, got, 64);
	assert_true(n >= 3 && n <= 4);
	assert_int_equal(got[0], child(f, 10));
	assert_int_equal(got[2], child(f, 12));
	/* The same file again changes nothing. */
	ahead_plan_miss(&p, f->t, child(f, 9), 2, 8);
	assert_int_equal(take_all(&p, f->t, got, 64), 0);
	/* Growth stops at the maximum. */
	ahead_plan_miss(&p, f->t, child(f, 2), 8, 8);
	ahead_plan_miss(&p, f->t, child(f, 3), 8, 8);
	take_all(&p, f->t, got, 64);
	ahead_plan_miss(&p, f->t, child(f, 12), 8, 8);
	assert_int_equal(p.span, 8);
	/* A jump back: a new run waits for a second read. */
	ahead_plan_miss(&p, f->t, child(f, 1), 2, 8);
	assert_int_equal(take_all(&p, f->t, got, 64), 0);
	assert_int_equal(p.span, 2);

}

/* The plan follows a reader from the end of one directory to the start of
 * another, and only then. */
static void test_plan_dirs(void **state)
{
	struct sample sm;
	struct ahead_plan p;
	struct tree *t;
	uint64_t got[64], d[2];
	size_t n, i;

	(void)state;
	t = sample_open(&sm);
	assert_int_equal(dirs_with_files(t, d, 2), 2);
	/* ahead.c finds a file among its siblings by binary search. */
	for (i = 0; i < t->nnodes; i++)
		for (n = 1; n < t->nodes[i].nchildren; n++)
			assert_true(tree_child(t, i + 1, n - 1) <
				    tree_child(t, i + 1, n));

	memset(&p, 0, sizeof(p));
	n = tree_node(t, d[0])->nchildren;
	ahead_plan_miss(&p, t, tree_child(t, d[0], n - 3), 64, 64);
	ahead_plan_miss(&p, t, tree_child(t, d[0], n - 2), 64, 64);
	assert_int_equal(take_all(&p, t, got, 64), 1);
	ahead_plan_miss(&p, t, tree_child(t, d[1], 0), 64, 64);
	n = take_all(&p, t, got, 64);
	assert_true(n >= 1);
	assert_int_equal(got[0], tree_child(t, d[1], 1));
	/* Only d[1]'s: one move, even in tree order, is not enough for
	 * the plan to go on past a directory by itself
	 * (test_plan_tree_order). */
	for (i = 0; i < n; i++)
		assert_int_equal(tree_node(t, got[i])->parent, d[1]);
	/* Not after a directory left before it was pushed to its end. */
	memset(&p, 0, sizeof(p));
	ahead_plan_miss(&p, t, tree_child(t, d[0], 0), 64, 64);
	ahead_plan_miss(&p, t, tree_child(t, d[0], 1), 64, 64);
	ahead_plan_miss(&p, t, tree_child(t, d[1], 0), 64, 64);
	assert_int_equal(take_all(&p, t, got, 64), 0);
	sample_close(&sm);
}

/* Files under dir in the order tar reads them: as listed, a
 * subdirectory's files where it is listed. */
static size_t tar_order(const struct tree *t, uint64_t dir, uint64_t *out,
			size_t n, size_t max)
{
	const struct tree_node *d = tree_node(t, dir);
	size_t i;

	for (i = 0; i < d->nchildren; i++) {
		uint64_t c = tree_child(t, dir, i);

		if (tree_node(t, c)->kind == TREE_DIR)
			n = tar_order(t, c, out, n, max);
		else if (tree_node(t, c)->kind == TREE_ENTRY && n < max)
			out[n++] = c;
	}
	return n;
}

static size_t index_of(const uint64_t *v, size_t n, uint64_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return i;
	return n;
}

/* How read_along learns which directories the kernel has listed. */
enum listing {
	ALL_LISTED,	/* listed: NULL */
	READER_LISTS,	/* as the reader enters each (tar's getdents) */
	ASKED_TOO,	/* and at once when the plan asks (the lister) */
};

static int is_listed(const uint8_t *b, uint64_t i)
{
	return (b[i >> 3] >> (i & 7)) & 1;
}

static void set_listed(uint8_t *b, uint64_t i)
{
	b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/*
 * A reader that reads files in the order of seq, with pushers that always
 * finish before its next read: the number of reads that missed.  Every
 * file pushed must be one the reader has still to read, at most span
 * ahead of its last miss, in a directory the kernel has listed; with
 * only_dir, one of the directory it is in.  *asks counts the plan's
 * requests for a listing.
 */
static size_t read_along_wired(const struct tree *t, const uint64_t *seq,
			       size_t n, int only_dir, enum listing how,
			       size_t *asks, size_t min_span, size_t max_span,
			       size_t wire_min, size_t *dry)
{
	struct ahead_plan p;
	uint64_t got[64];
	unsigned char pushed[256];
	uint8_t listed[256];
	size_t i, k, ng, misses = 0, last_miss = 0;

	memset(&p, 0, sizeof(p));
	p.wire_min = wire_min;
	*dry = 0;
	memset(pushed, 0, sizeof(pushed));
	memset(listed, 0, sizeof(listed));
	assert_true(n <= sizeof(pushed));
	assert_true(t->nnodes < 8 * sizeof(listed));
	if (how != ALL_LISTED)
		p.listed = listed;
	*asks = 0;
	for (i = 0; i < n; i++) {
		set_listed(listed, tree_node(t, seq[i])->parent);
		if (pushed[i])
			continue;
		misses++;
		/* Nothing pushed is left in front of a reader known to read
		 * in tree order, with files still to read: the pushers ran
		 * out before it came, and waited. */
		for (k = i + 1; k < n && !pushed[k]; k++)
			;
		*dry += k == n && i + 1 < n &&
			p.tree_order >= PLAN_TREE_ORDER;
		last_miss = i;
		ahead_plan_miss(&p, t, seq[i], min_span, max_span);
		for (;;) {
			ng = take_all(&p, t, got, 64);
			for (k = 0; k < ng; k++) {
				size_t at = index_of(seq, n, got[k]);
				uint64_t dir = tree_node(t, got[k])->parent;

				assert_true(at > i && at < n);
				assert_true(at <= last_miss + max_span);
				assert_true(how == ALL_LISTED ||
					    is_listed(listed, dir));
				if (only_dir)
					assert_int_equal(dir,
						tree_node(t, seq[i])->parent);
				/* Never the same file twice. */
				assert_false(pushed[at]);
				pushed[at] = 1;
			}
			if (!p.want_list || how != ASKED_TOO)
				break;	/* no lister: nobody asks */
			assert_false(is_listed(listed, p.want_list));
			/* As fs/push.c does: asked once per directory. */
			assert_int_not_equal(p.want_list, p.asked);
			p.asked = p.want_list;
			p.want_list = 0;
			++*asks;
			set_listed(listed, p.asked);
		}
	}
	return misses;
}

static size_t read_along(const struct tree *t, const uint64_t *seq,
			 size_t n, int only_dir, enum listing how,
			 size_t *asks)
{
	size_t dry;

	return read_along_wired(t, seq, n, only_dir, how, asks, 2, 4, 0, &dry);
}

/*
 * Once a reader has gone from one directory to the next as tar does, the
 * plan goes on past a directory's end by itself, so that the pushers need
 * not wait for the reader at each directory; a reader in another order
 * (rsync sorts names) never has files of another directory pushed.
 */
static void test_plan_tree_order(void **state)
{
	struct sample sm;
	struct tree *t;
	uint64_t seq[256], rev[256];
	size_t n, i, j, k, in_order, reversed, asks;

	(void)state;
	t = sample_open(&sm);
	n = tar_order(t, 1, seq, 0, 256);
	assert_true(n >= 20);
	in_order = read_along(t, seq, n, 0, ALL_LISTED, &asks);
	assert_int_equal(asks, 0);
	/* Listed on request, the next directories are pushed as early. */
	assert_int_equal(read_along(t, seq, n, 0, ASKED_TOO, &asks),
			 in_order);
	assert_true(asks > 0);
	/* Never into a directory before it is listed: without the lister,
	 * the plan waits for the reader at each one, as before. */
	assert_true(read_along(t, seq, n, 0, READER_LISTS, &asks) >
		    in_order);
	/* The same files, the directories taken last to first. */
	for (i = n, k = 0; i > 0; i = j) {
		uint64_t dir = tree_node(t, seq[i - 1])->parent;

		for (j = i; j > 0 && tree_node(t, seq[j - 1])->parent == dir;
		     j--)
			;
		memcpy(rev + k, seq + j, (i - j) * sizeof(*seq));
		k += i - j;
	}
	assert_int_equal(k, n);
	reversed = read_along(t, rev, n, 1, ALL_LISTED, &asks);
	assert_int_equal(asks, 0);
	/* Tar's reader misses twice to start a run, then once at the end
	 * of each window of 4 (the maximum span) only; the other at every
	 * directory too. */
	assert_true(in_order <= 2 + (n + 3) / 4);
	assert_true(in_order < reversed);
	sample_close(&sm);
}

/*
 * The wire: the reader's miss on the file left unpushed halfway through a
 * run tells the plan of its progress while the rest of the run is still
 * to push, so the pushers do not run out and wait for it at every run's
 * end.  Every file is still pushed at most span files past the reader's
 * last miss, and never one it has passed (read_along's checks).
 */
static void test_plan_wire(void **state)
{
	struct sample sm;
	struct tree *t;
	uint64_t seq[256];
	size_t n, asks, plain, wired, dry_plain, dry_wired, dry_small;

	(void)state;
	t = sample_open(&sm);
	n = tar_order(t, 1, seq, 0, 256);
	plain = read_along_wired(t, seq, n, 0, ALL_LISTED, &asks, 4, 8, 0,
				 &dry_plain);
	wired = read_along_wired(t, seq, n, 0, ALL_LISTED, &asks, 4, 8, 4,
				 &dry_wired);
	assert_true(dry_plain > 0);
	assert_int_equal(dry_wired, 0);
	/* At the cost of one more READ a run, at most. */
	assert_true(wired > plain && wired <= 2 * plain);
	/* Runs shorter than wire_min have none. */
	assert_int_equal(read_along_wired(t, seq, n, 0, ALL_LISTED, &asks,
					  4, 8, 16, &dry_small), plain);
	assert_int_equal(dry_small, dry_plain);
	/* Spans growing past wire_min: wires once they have. */
	read_along_wired(t, seq, n, 0, ALL_LISTED, &asks, 4, 16, 0,
			 &dry_plain);
	read_along_wired(t, seq, n, 0, ALL_LISTED, &asks, 4, 16, 8,
			 &dry_small);
	assert_true(dry_small < dry_plain);
	/* With the next directories listed only when the plan asks, as
	 * the lister does: the same, and each asked for before the pushers
	 * reach it, so never a wait at a directory's end. */
	assert_int_equal(read_along_wired(t, seq, n, 0, ASKED_TOO, &asks, 4,
					  8, 4, &dry_small), wired);
	assert_int_equal(dry_small, 0);
	assert_true(asks > 0);
	sample_close(&sm);
}

/*
 * The next directory's listing is asked for as soon as the run reaches its
 * directory's end, while the pushers still have files of it to push, not
 * once they run out.  Here the pushers take one file per file read.
 */
static void test_plan_ask_early(void **state)
{
	struct sample sm;
	struct ahead_plan p;
	struct tree *t;
	uint64_t seq[256], ino;
	unsigned char pushed[256];
	uint8_t listed[256];
	size_t n, i, at, early = 0;

	(void)state;
	t = sample_open(&sm);
	n = tar_order(t, 1, seq, 0, 256);
	memset(&p, 0, sizeof(p));
	memset(pushed, 0, sizeof(pushed));
	memset(listed, 0, sizeof(listed));
	p.listed = listed;
	for (i = 0; i < n; i++) {
		set_listed(listed, tree_node(t, seq[i])->parent);
		if (!pushed[i])
			ahead_plan_miss(&p, t, seq[i], 4, 8);
		ino = ahead_plan_take(&p, t);
		if (ino) {
			at = index_of(seq, n, ino);
			assert_true(at > i && at < n);
			pushed[at] = 1;
		}
		if (p.want_list) {
			early += ino != 0;
			p.asked = p.want_list;
			p.want_list = 0;
			set_listed(listed, p.asked);
		}
	}
	assert_true(early > 0);
	sample_close(&sm);
}

/* Hints that are never read (their files came from the page cache) do
 * not use up the slots: the newest is still rendered. */
static void test_hint_slots(void **state)
{
	struct sample sm;
	struct ahead p;
	struct tree *t;
	uint64_t ino, last = 0;
	size_t n = 0;

	(void)state;
	t = sample_open(&sm);
	ahead_init(&p, t);
	for (ino = 1; ino <= t->nnodes; ino++) {
		const struct tree_node *nd = tree_node(t, ino);

		if (nd->kind != TREE_ENTRY || nd->size == 0 ||
		    nd->size > AHEAD_MAX_SIZE)
			continue;
		ahead_hint(&p, ino);
		while (ahead_step(&p))
			;
		assert_non_null(ahead_get(&p, ino));
		last = ino;
		n++;
	}
	assert_true(n > AHEAD_FILES);
	assert_non_null(ahead_get(&p, last));
	ahead_release(&p);
	sample_close(&sm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
		cmocka_unit_test(test_plan_dirs),
		cmocka_unit_test(test_plan_tree_order),
		cmocka_unit_test(test_plan_wire),
		cmocka_unit_test(test_plan_ask_early),
		cmocka_unit_test(test_hint_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
