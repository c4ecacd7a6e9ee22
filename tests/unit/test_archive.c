/* test_archive.c - the scan of whole sources into an archive (archive.c,
 * measure.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static const char *const fixtures[] = {
	"data/addresses.ccm", "data/attach-names.ccm", "data/binary-tokens.ccm",
	"data/blank-sizes.ccm", "data/codepage.ccm", "data/console.ccm",
	"data/control-codes.ccm", "data/dates.ccm", "data/line-ends.ccm",
	"data/no-contents.ccm", "data/q184052.ccm", "data/runon.ccm",
	"data/sample.ccm", "data/size-off.ccm", "data/unknown-tokens.ccm",
	"data/zero-items.ccm", "data/truncated.ccm",
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

/* Every fixture, reps times over, in one file: thousands of messages,
 * errors, markers and warnings, more than the measuring ring holds. */
static void write_big(const char *path, int reps)
{
	FILE *out = fopen(path, "wb");
	char buf[65536];
	size_t i, n;
	int r;

	assert_non_null(out);
	for (r = 0; r < reps; r++)
		for (i = 0; i < NFIX; i++) {
			FILE *in = fopen(fixtures[i], "rb");

			assert_non_null(in);
			while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
				assert_int_equal(fwrite(buf, 1, n, out), n);
			fclose(in);
		}
	assert_int_equal(fclose(out), 0);
}

/* The saved index of sources scanned with CCMAILFS_SCAN_THREADS=threads. */
static void scan_saved(const char *const *src, size_t n, const char *threads,
		       struct ccm_buf *out)
{
	struct ccm_options o;
	struct ccm_archive *a;

	setenv("CCMAILFS_SCAN_THREADS", threads, 1);
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&a, src, n, &o), 0);
	ccm_archive_save(a, out);
	assert_false(out->oom);
	ccm_archive_free(a);
	unsetenv("CCMAILFS_SCAN_THREADS");
}

static void assert_same_scan(const char *const *src, size_t n)
{
	struct ccm_buf one, two;

	ccm_buf_init(&one);
	ccm_buf_init(&two);
	scan_saved(src, n, "1", &one);
	scan_saved(src, n, "2", &two);
	assert_true(one.len > 0);
	assert_int_equal(one.len, two.len);
	assert_memory_equal(one.p, two.p, one.len);
	ccm_buf_release(&one);
	ccm_buf_release(&two);
}

/*
 * Sizes measured on a second thread (measure.c) give the very index bytes
 * of a serial scan: sizes, warnings and their order, line numbers, error
 * entries, also across files and with the ring full.
 */
static void test_threads_same_index(void **state)
{
	char dir[] = "/tmp/ccm-archive-XXXXXX", big[64], big2[64];
	const char *two[2];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(big, sizeof(big), "%s/big.ccm", dir);
	snprintf(big2, sizeof(big2), "%s/more.ccm", dir);
	write_big(big, 40);
	write_big(big2, 3);
	assert_same_scan(fixtures, NFIX);
	two[0] = big;
	two[1] = big2;
	assert_same_scan(two, 2);
	unlink(big);
	unlink(big2);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_same_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
