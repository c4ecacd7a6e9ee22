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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hint, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
