/*
 * test_file.c - ccm_file_with_range and ccm_file_guarded: the bytes they
 * give, and the SIGBUS guard that turns a source shrinking under the
 * mapping into an error.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "parse_internal.h"

#define FSIZE (3 * 1024 * 1024 + 123)

struct fixture {
	char path[64];
	struct ccm_file f;
};

static char pattern(uint64_t i)
{
	return (char)('a' + (i * 7 + i / 4096) % 26);
}

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	FILE *fp;
	int fd;
	uint64_t i;

	strcpy(x->path, "/tmp/ccm-test-file-XXXXXX");
	fd = mkstemp(x->path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	for (i = 0; i < FSIZE; i++)
		fputc(pattern(i), fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(ccm_file_open(&x->f, x->path), 0);
	/* As a mounted archive does: no whole-file mapping. */
	munmap((void *)x->f.data, x->f.size);
	x->f.data = NULL;
	*state = x;
	return 0;
}

/* As a mounted archive does since ccm_archive_guard: the whole file
 * stays mapped and is read under the guard. */
static int setup_guarded(void **state)
{
	struct fixture *x;

	setup(state);
	x = *state;
	ccm_file_close(&x->f);
	assert_int_equal(ccm_file_open(&x->f, x->path), 0);
	assert_non_null(x->f.data);
	/* The handler is installed by each test: cmocka sets its own
	 * around every test and fixture. */
	x->f.guarded = 1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	ccm_file_close(&x->f);
	unlink(x->path);
	free(x);
	return 0;
}

struct probe {
	const struct fixture *x;
	uint64_t off;
	size_t len;
	int calls;
};

static int check_bytes(void *arg, const char *p)
{
	struct probe *pr = arg;
	size_t i;

	pr->calls++;
	for (i = 0; i < pr->len; i++)
		if (p[i] != pattern(pr->off + i))
			return -1;
	return 42;
}

static void test_maps_the_range(void **state)
{
	struct fixture *x = *state;
	/* Unaligned starts, a page-crossing middle, the very end. */
	uint64_t offs[] = { 0, 1, 4095, 4097, 1000000, FSIZE - 300000 };
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct probe pr = { x, offs[i], 300000, 0 };

		if (pr.off + pr.len > FSIZE)
			pr.len = (size_t)(FSIZE - pr.off);
		assert_int_equal(ccm_file_with_range(&x->f, pr.off, pr.len,
						     check_bytes, &pr),
				 42);
		assert_int_equal(pr.calls, 1);
	}
}

static void test_range_past_end(void **state)
{
	struct fixture *x = *state;
	struct probe pr = { x, FSIZE - 10, 11, 0 };

	assert_int_equal(ccm_file_with_range(&x->f, pr.off, pr.len,
					     check_bytes, &pr),
			 -CCM_E_CHANGED);
	assert_int_equal(pr.calls, 0);
}

static int shrink_then_touch(void *arg, const char *p)
{
	struct probe *pr = arg;
	volatile char c;

	pr->calls++;
	c = p[0];
	assert_int_equal(truncate(pr->x->path, 0), 0);
	/* The page past the (now empty) file: SIGBUS. */
	c = p[pr->len - 1];
	(void)c;
	return 7;
}

static void test_shrink_under_mapping(void **state)
{
	struct fixture *x = *state;
	int round;

	/* Twice: the first trip must leave SIGBUS unblocked. */
	for (round = 0; round < 2; round++) {
		struct probe pr = { x, 2 * 4096 + 5, 1024 * 1024, 0 };
		int fd = open(x->path, O_WRONLY);

		assert_true(fd >= 0);
		/* Restore the file's size for this round. */
		assert_int_equal(ftruncate(fd, FSIZE), 0);
		close(fd);
		assert_int_equal(ccm_file_with_range(&x->f, pr.off, pr.len,
						     shrink_then_touch, &pr),
				 -CCM_E_CHANGED);
		assert_int_equal(pr.calls, 1);
	}
}

static void test_guarded_bytes(void **state)
{
	struct fixture *x = *state;
	uint64_t offs[] = { 0, 4095, 1000000, FSIZE - 300000 };
	size_t i;

	assert_true(ccm_file_guard_install());
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct probe pr = { x, offs[i], 300000, 0 };

		assert_int_equal(ccm_file_guarded(&x->f, pr.off, check_bytes,
						  &pr),
				 42);
		assert_int_equal(pr.calls, 1);
	}
}

/* The whole-file mapping shrinks under a guarded read: an error, twice
 * (the guard's sigsetjmp keeps no mask: SIGBUS must stay unblocked), and
 * a read that touches only what is left still works afterwards. */
static void test_guarded_shrink(void **state)
{
	struct fixture *x = *state;
	int round;

	assert_true(ccm_file_guard_install());
	for (round = 0; round < 2; round++) {
		struct probe pr = { x, 2 * 4096 + 5, 1024 * 1024, 0 };
		int fd = open(x->path, O_WRONLY);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, FSIZE), 0);
		close(fd);
		assert_int_equal(ccm_file_guarded(&x->f, pr.off,
						  shrink_then_touch, &pr),
				 -CCM_E_CHANGED);
		assert_int_equal(pr.calls, 1);
	}
	{
		sigset_t cur;

		assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &cur), 0);
		assert_false(sigismember(&cur, SIGBUS));
	}
}

static int nothing(void *arg, const char *p)
{
	(void)arg;
	(void)p;
	return 0;
}

/* A SIGBUS that is not ours (no guarded range) still kills the process. */
static void test_foreign_sigbus_kills(void **state)
{
	struct fixture *x = *state;
	pid_t pid;
	int st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Outside cmocka's own handler: as in the daemon. */
		signal(SIGBUS, SIG_DFL);
		if (ccm_file_with_range(&x->f, 0, 10, nothing, NULL) != 0)
			_exit(3);
		raise(SIGBUS);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGBUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_maps_the_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_range_past_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shrink_under_mapping,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_sigbus_kills,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_guarded_bytes,
						setup_guarded, teardown),
		cmocka_unit_test_setup_teardown(test_guarded_shrink,
						setup_guarded, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
