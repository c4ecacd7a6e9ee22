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

/* The saved index of src, scanned after a survey or without one; the
 * survey's account names (first-use order, NUL-separated) in names. */
static void survey_then_scan(const char *const *src, size_t n, int survey,
			     struct ccm_buf *names, struct ccm_buf *out)
{
	struct ccm_options o;
	struct ccm_archive *a, *sh = NULL;
	size_t i;

	ccm_options_init(&o);
	assert_int_equal(ccm_archive_prepare(&a, src, n, &o), 0);
	if (survey) {
		assert_int_equal(ccm_archive_survey(a, NULL, NULL, &sh), 0);
		assert_int_equal(sh->nentries, 0);
	}
	assert_int_equal(ccm_archive_scan(a, NULL, NULL), 0);
	for (i = 0; i < a->naccounts; i++) {
		ccm_buf_puts(names, ccm_archive_str(a, a->accounts[i].name));
		ccm_buf_putc(names, '\0');
	}
	if (survey) {
		/* The same accounts in the same order, and the counts that
		 * tell an export from another file. */
		assert_int_equal(sh->naccounts, a->naccounts);
		for (i = 0; i < a->naccounts; i++)
			assert_string_equal(
				ccm_archive_str(sh, sh->accounts[i].name),
				ccm_archive_str(a, a->accounts[i].name));
		for (i = 0; i < a->nfiles; i++) {
			assert_int_equal(sh->stats[i].nmsg, a->stats[i].nmsg);
			assert_int_equal(sh->stats[i].nerr, a->stats[i].nerr);
			assert_int_equal(sh->stats[i].nnotes,
					 a->stats[i].nnotes);
		}
		ccm_archive_free(sh);
	}
	ccm_archive_save(a, out);
	assert_false(out->oom);
	ccm_archive_free(a);
}

static void assert_survey_exact(const char *const *src, size_t n)
{
	struct ccm_buf names, plain, surveyed, none;

	ccm_buf_init(&names);
	ccm_buf_init(&plain);
	ccm_buf_init(&surveyed);
	ccm_buf_init(&none);
	survey_then_scan(src, n, 1, &names, &surveyed);
	survey_then_scan(src, n, 0, &none, &plain);
	/* The survey leaves the scan alone: its index is byte for byte
	 * that of a scan without a survey. */
	assert_int_equal(names.len, none.len);
	assert_memory_equal(names.p, none.p, names.len);
	assert_true(plain.len > 0);
	assert_int_equal(plain.len, surveyed.len);
	assert_memory_equal(plain.p, surveyed.p, plain.len);
	ccm_buf_release(&names);
	ccm_buf_release(&plain);
	ccm_buf_release(&surveyed);
	ccm_buf_release(&none);
}

/*
 * The mount lists its root from the survey while the scan runs (fs/build):
 * the survey must name exactly the accounts the scan makes, markers inside
 * bodies, console noise, empty and damaged files included.  Every fixture
 * alone, all of them as one source list (several default accounts), and
 * the fuzz corpus (odd inputs found by the fuzzer).
 */
static void test_survey_accounts(void **state)
{
	char path[512];
	const char *one[1];
	FILE *ls;
	size_t i, nfuzz = 0;

	(void)state;
	for (i = 0; i < NFIX; i++) {
		one[0] = fixtures[i];
		assert_survey_exact(one, 1);
	}
	assert_survey_exact(fixtures, NFIX);
	one[0] = "data/empty.ccm";
	assert_survey_exact(one, 1);
	ls = popen("ls fuzz/corpus", "r");
	assert_non_null(ls);
	while (fgets(path + 12, (int)sizeof(path) - 12, ls)) {
		memcpy(path, "fuzz/corpus/", 12);
		path[strcspn(path, "\n")] = '\0';
		one[0] = path;
		assert_survey_exact(one, 1);
		nfuzz++;
	}
	pclose(ls);
	assert_true(nfuzz > 100);
}

/*
 * Sources are watched through their directories, held open (ccm_file.dirfd,
 * one per directory): a deletion or a replacement is seen even after the
 * process has left the directory the sources were named from, and a
 * shadow archive (ccm_archive_shadow) opens nothing until the files are
 * moved to it.
 */
static void test_sources_by_directory(void **state)
{
	char dir[] = "/tmp/ccm-dirfd-XXXXXX", cwd[4096], why[512], moved[128];
	const char *const src[] = { "a.ccm", "b.ccm" };
	struct ccm_archive *a, *b;
	struct ccm_options o;
	FILE *f;
	size_t i;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 2; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", dir, src[i]);
		f = fopen(p, "wb");
		assert_non_null(f);
		fputs("Message:\r\n     0\r\nFrom: X at Y\r\nContents:\r\n     0\r\n", f);
		fclose(f);
	}
	assert_int_equal(chdir(dir), 0);
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_prepare(&a, src, 2, &o), 0);
	assert_int_equal(a->nfiles, 2);
	assert_true(a->files[0].dirfd >= 0);
	assert_int_equal(a->files[1].dirfd, a->files[0].dirfd);
	assert_true(a->files[0].own_dirfd);
	assert_false(a->files[1].own_dirfd);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(ccm_archive_changed(a, why, sizeof(why)), 0);

	assert_int_equal(ccm_archive_shadow(a, &b), 0);
	assert_int_equal(b->nfiles, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(b->files[i].fd, -1);
		assert_null(b->files[i].data);
		assert_string_equal(b->files[i].path, a->files[i].path);
		assert_int_equal(b->files[i].size, a->files[i].size);
	}
	ccm_archive_take_files(b, a);
	assert_int_equal(a->files[0].fd, -1);
	assert_int_equal(a->files[0].dirfd, -1);
	ccm_archive_free(a);
	assert_true(b->files[0].fd >= 0 && b->files[0].dirfd >= 0);
	assert_int_equal(ccm_archive_changed(b, why, sizeof(why)), 0);

	/* Renamed away (its ctime moves too): seen from anywhere. */
	snprintf(moved, sizeof(moved), "%s/b.old", dir);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/b.ccm", dir);
		assert_int_equal(rename(p, moved), 0);
	}
	assert_int_equal(ccm_archive_changed(b, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "b.ccm was"));
	ccm_archive_free(b);
	unlink(moved);
	for (i = 0; i < 1; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", dir, src[i]);
		unlink(p);
	}
	rmdir(dir);
	assert_int_equal(chdir(cwd), 0);
}

/* Every entry of a, rendered, one after another; -1 on any error. */
static int render_all(const struct ccm_archive *a, struct ccm_buf *out)
{
	struct ccm_buf one;
	size_t i;
	int err = 0;

	ccm_buf_init(&one);
	for (i = 0; i < a->nentries && !err; i++) {
		ccm_buf_clear(&one);
		err = ccm_archive_render(a, i, &one);
		if (!err && one.len != a->entries[i].size)
			err = -1;
		ccm_buf_put(out, one.p, one.len);
	}
	ccm_buf_release(&one);
	return err;
}

/*
 * A mounted archive reads its sources under the SIGBUS guard
 * (ccm_archive_guard) or, where that cannot be set up, with pread
 * (ccm_archive_unmap): both give the bytes the scan's mapping gives.
 */
static void test_render_modes(void **state)
{
	struct ccm_buf mapped, guarded, pread_;
	struct ccm_options o;
	struct ccm_archive *a;
	size_t i;

	(void)state;
	ccm_options_init(&o);
	for (i = 0; i < NFIX; i++) {
		ccm_buf_init(&mapped);
		ccm_buf_init(&guarded);
		ccm_buf_init(&pread_);
		assert_int_equal(ccm_archive_open(&a, &fixtures[i], 1, &o), 0);
		assert_int_equal(render_all(a, &mapped), 0);
		ccm_archive_guard(a);
		assert_true(a->nfiles == 0 || !a->files[0].data ||
			    a->files[0].guarded);
		assert_int_equal(render_all(a, &guarded), 0);
		ccm_archive_unmap(a);
		assert_null(a->files[0].data);
		assert_int_equal(render_all(a, &pread_), 0);
		assert_int_equal(mapped.len, guarded.len);
		assert_memory_equal(mapped.p, guarded.p, mapped.len);
		assert_int_equal(mapped.len, pread_.len);
		assert_memory_equal(mapped.p, pread_.p, mapped.len);
		ccm_archive_free(a);
		ccm_buf_release(&mapped);
		ccm_buf_release(&guarded);
		ccm_buf_release(&pread_);
	}
	ccm_options_release(&o);
}

/*
 * A guarded source truncated to a third under the mount: the entries that
 * lie wholly before the cut still render, every other one fails with
 * -CCM_E_CHANGED; nothing raises SIGBUS.
 */
static void test_guarded_truncation(void **state)
{
	char dir[] = "/tmp/ccm-archive-XXXXXX", big[64];
	const char *src[1];
	struct ccm_options o;
	struct ccm_archive *a;
	struct ccm_buf out, first;
	size_t i, ok = 0, changed = 0;
	uint64_t cut, pagecut;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(big, sizeof(big), "%s/big.ccm", dir);
	write_big(big, 20);
	src[0] = big;
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&a, src, 1, &o), 0);
	ccm_archive_guard(a);
	assert_true(a->files[0].guarded);
	ccm_buf_init(&first);
	assert_int_equal(ccm_archive_render(a, 0, &first), 0);
	cut = a->files[0].size / 3;
	/* Bytes of the page the cut falls in read back as zeros, not
	 * SIGBUS: only entries before that page are sure to be intact. */
	pagecut = cut & ~(uint64_t)4095;
	assert_int_equal(truncate(big, (off_t)cut), 0);
	ccm_buf_init(&out);
	for (i = 0; i < a->nentries; i++) {
		const struct ccm_entry *e = &a->entries[i];
		int err;

		ccm_buf_clear(&out);
		err = ccm_archive_render(a, i, &out);
		if (e->off + e->len <= pagecut) {
			assert_int_equal(err, 0);
			ok++;
		} else if (e->off >= ((cut + 4095) & ~(uint64_t)4095)) {
			assert_int_equal(err, -CCM_E_CHANGED);
			changed++;
		} else {
			assert_true(err == 0 || err == -CCM_E_CHANGED);
		}
	}
	assert_true(ok > 100);
	assert_true(changed > 100);
	/* The first fault sends the file's later renders through pread,
	 * which fails without leaking an interrupted render, and still
	 * gives what lies before the cut. */
	assert_true(a->files[0].tripped);
	ccm_buf_clear(&out);
	assert_int_equal(ccm_archive_render(a, 0, &out), 0);
	assert_int_equal(out.len, first.len);
	assert_memory_equal(out.p, first.p, first.len);
	ccm_buf_release(&first);
	ccm_buf_release(&out);
	ccm_archive_free(a);
	ccm_options_release(&o);
	unlink(big);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_same_index),
		cmocka_unit_test(test_survey_accounts),
		cmocka_unit_test(test_sources_by_directory),
		cmocka_unit_test(test_render_modes),
		cmocka_unit_test(test_guarded_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
