/* test_tree.c - names, lookups, attributes and stability of fs/tree.c. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "tree.h"

static char *clean(const char *in, size_t max)
{
	struct ccm_buf b;
	char *s;

	ccm_buf_init(&b);
	tree_clean_name(in, strlen(in), max, &b);
	s = strdup(ccm_buf_cstr(&b));
	ccm_buf_release(&b);
	return s;
}

#define assert_clean(in, max, want)                                          \
	do {                                                                 \
		char *s_ = clean((in), (max));                               \
		assert_string_equal(s_, (want));                            \
		free(s_);                                                    \
	} while (0)

static void test_clean_name(void **state)
{
	(void)state;
	assert_clean("Re: Budget", 100, "Re Budget");
	assert_clean("a/b\\c", 100, "a-b-c");
	assert_clean("..hidden", 100, "hidden");
	assert_clean("...", 100, "");
	assert_clean("  lots   of\tspace  ", 100, "lots of space");
	assert_clean("ctl\x01\x1f\x7fx", 100, "ctl x");
	assert_clean("what? <really> \"yes\" *|*", 100, "what really yes");
	assert_clean("trailing dots...", 100, "trailing dots");
	assert_clean("bad \xff utf8 \xc3", 100, "bad _ utf8 _");
	/* Cut on a character boundary: "é" is two bytes. */
	assert_clean("ab\xc3\xa9", 3, "ab");
	assert_clean("ab\xc3\xa9", 4, "ab\xc3\xa9");
	assert_clean("c1\xc2\x85x", 100, "c1 x");
}

struct fixture {
	struct ccm_archive *a;
	struct tree *t;
};

static int setup(void **state)
{
	const char *src[] = { "data/console.ccm" };
	struct ccm_options o;
	struct fixture *f = calloc(1, sizeof(*f));

	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&f->a, src, 1, &o), 0);
	assert_int_equal(tree_build(&f->t, f->a, TREE_LAYOUT_PLAIN), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tree_free(f->t);
	ccm_archive_free(f->a);
	free(f);
	return 0;
}

static uint64_t walk(const struct tree *t, const char *path)
{
	uint64_t ino = TREE_ROOT;
	const char *p = path;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (tree_lookup(t, ino, p, n, &ino))
			return 0;
		p += n + (e ? 1 : 0);
	}
	return ino;
}

/* Directories of the subtree at d in the order of a recursive listing
 * (find's), appended to out. */
static void preorder(const struct tree *t, uint64_t d, uint64_t *out,
		     size_t *n, size_t cap)
{
	size_t i;

	assert_true(*n < cap);
	out[(*n)++] = d;
	for (i = 0; i < tree_node(t, d)->nchildren; i++) {
		uint64_t c = tree_child(t, d, i);

		if (tree_node(t, c)->kind == TREE_DIR)
			preorder(t, c, out, n, cap);
	}
}

/* fs/listahead.c walks the directories with tree_walk_dirs. */
static void check_walk_dirs(const struct tree *t)
{
	uint64_t want[256];
	uint32_t got[256];
	size_t n = 0, i;

	preorder(t, TREE_ROOT, want, &n, 256);
	assert_int_equal(n, t->ndirs);	/* the root included */
	assert_int_equal(tree_walk_dirs(t, got, 256), n);
	for (i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
	/* A short out is filled in order and never overrun. */
	got[2] = 0;
	assert_int_equal(tree_walk_dirs(t, got, 2), 2);
	assert_int_equal(got[0], want[0]);
	assert_int_equal(got[1], want[1]);
	assert_int_equal(got[2], 0);
	assert_int_equal(tree_walk_dirs(t, got, 0), 0);
}

static void test_walk_dirs(void **state)
{
	struct fixture *f = *state;
	struct tree *m;

	check_walk_dirs(f->t);
	/* Maildir: nested directories (cur, new, tmp, .Folder/cur...). */
	assert_int_equal(tree_build(&m, f->a, TREE_LAYOUT_MAILDIR), 0);
	assert_true(m->ndirs > f->t->ndirs);
	check_walk_dirs(m);
	tree_free(m);
}

static void test_layout(void **state)
{
	struct fixture *f = *state;
	const struct tree *t = f->t;
	struct stat st;
	uint64_t ino;

	/* Accounts from markers (SPEC 1.2), merged by name. */
	assert_int_equal(f->a->naccounts, 3);	/* smithj, grewalj, admin */
	ino = walk(t, "smithj/Inbox");
	assert_true(ino != 0);
	assert_int_equal(tree_node(t, ino)->nchildren, 3);	/* 2 + 1 error */
	assert_true(walk(t, "smithj/Inbox/000002.error.txt") != 0);
	assert_true(walk(t, "smithj/Inbox/000001 1998-07-01 0800 in smithj.eml"));
	assert_true(walk(t, "smithj/Inbox/000003 1998-07-04 0800 back in smithj.eml"));
	assert_true(walk(t, "admin/Drafts/000001 1998-07-03 0800 in admin.eml"));
	assert_true(walk(t, TREE_REPORT_NAME) == 2);
	assert_int_equal(tree_lookup(t, TREE_ROOT, "nope", 4, &ino), -ENOENT);
	assert_int_equal(tree_lookup(t, 2, "x", 1, &ino), -ENOTDIR);

	ino = walk(t, "smithj/Inbox/000001 1998-07-01 0800 in smithj.eml");
	assert_int_equal(tree_stat(t, ino, &st), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0444);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_blksize, 4096);
	/* SPEC 2: the times are the message date (1998-07-01 08:00 -0000). */
	assert_int_equal(st.st_mtime, 899280000);
	assert_int_equal(st.st_ctime, 899280000);
	assert_int_equal(tree_stat(t, walk(t, "smithj"), &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 0555);
	assert_int_equal(st.st_nlink, 3);
	/* One getdents buffer for the whole listing, no more: 32 KiB for
	 * a few entries, 1 MiB at most. */
	assert_int_equal(st.st_blksize, 32768);
	assert_int_equal(tree_dir_blksize(0), 32768);
	assert_int_equal(tree_dir_blksize(126), 32768);	/* 128 x 256 */
	assert_int_equal(tree_dir_blksize(127), 65536);
	assert_int_equal(tree_dir_blksize(2300), 1 << 20);
	assert_int_equal(tree_dir_blksize(4094), 1 << 20);
	assert_int_equal(tree_dir_blksize(1000000), 1 << 20);
	assert_int_equal(tree_stat(t, 999999, &st), -ENOENT);
}

/* Every file's size is exact: reading returns exactly st_size bytes. */
static void check_sizes(const struct tree *t, uint64_t ino, size_t *files)
{
	const struct tree_node *n = tree_node(t, ino);
	size_t i;

	if (n->kind == TREE_DIR) {
		for (i = 0; i < n->nchildren; i++) {
			uint64_t c = tree_child(t, ino, i);

			assert_int_equal(tree_node(t, c)->parent, ino);
			check_sizes(t, c, files);
		}
		return;
	} else {
		struct ccm_buf b;

		static const size_t wins[] = { 1, 7, 76, 4096, 65537 };
		struct ccm_buf w;
		size_t k, lo;

		ccm_buf_init(&b);
		assert_int_equal(tree_read(t, ino, &b), 0);
		assert_int_equal(b.len, n->size);
		/* Any window of the file holds exactly those bytes of it. */
		ccm_buf_init(&w);
		for (k = 0; k < sizeof(wins) / sizeof(wins[0]); k++) {
			size_t step = wins[k] < 4096 ? 4093 : wins[k];

			for (lo = 0; lo < b.len; lo += step) {
				size_t want = b.len - lo < wins[k] ?
					      b.len - lo : wins[k];

				assert_int_equal(tree_read_window(t, ino, lo,
								  wins[k], &w),
						 0);
				assert_int_equal(w.len, n->size);
				if (n->kind == TREE_REPORT) {
					assert_memory_equal(w.p, b.p, b.len);
					break;
				}
				assert_int_equal(ccm_buf_stored(&w), want);
				assert_memory_equal(w.p, b.p + lo, want);
			}
		}
		ccm_buf_release(&w);
		ccm_buf_release(&b);
		(*files)++;
	}
}

static void test_sizes(void **state)
{
	struct fixture *f = *state;
	size_t files = 0;

	check_sizes(f->t, TREE_ROOT, &files);
	assert_int_equal(files, f->a->nentries + 1);
	assert_int_equal(tree_child(f->t, TREE_ROOT, 1000), 0);
}

/* Inode numbers depend only on the export: a rebuild gives the same ones. */
static void test_stable_inodes(void **state)
{
	struct fixture *f = *state;
	struct tree *t2;
	size_t i;

	assert_int_equal(tree_build(&t2, f->a, TREE_LAYOUT_PLAIN), 0);
	assert_int_equal(t2->nnodes, f->t->nnodes);
	for (i = 1; i <= t2->nnodes; i++) {
		assert_string_equal(tree_name(t2, i), tree_name(f->t, i));
		assert_int_equal(tree_node(t2, i)->parent,
				 tree_node(f->t, i)->parent);
	}
	tree_free(t2);
}

/* Names that clean to the same string never collide silently. */
static void test_dedup(void **state)
{
	char path[] = "/tmp/ccm-dedup-XXXXXX";
	const char *src[] = { path };
	static const char text[] =
		"Mailbox: a:b\r\nMessage:\r\nFrom: x\r\nFolder: F?\r\nContents:\r\n"
		"Mailbox: a*b\r\nMessage:\r\nFrom: x\r\nFolder: F*\r\nContents:\r\n"
		"Message:\r\nFrom: x\r\nFolder: ..\\.\\\r\nContents:\r\n";
	struct ccm_options o;
	struct ccm_archive *a;
	struct tree *t;
	FILE *fp;

	(void)state;
	close(mkstemp(path));
	fp = fopen(src[0], "wb");
	assert_non_null(fp);
	fwrite(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&a, src, 1, &o), 0);
	remove(src[0]);
	assert_int_equal(tree_build(&t, a, TREE_LAYOUT_PLAIN), 0);
	assert_true(walk(t, "ab/F") != 0);
	assert_true(walk(t, "ab (2)/F") != 0);
	/* Accounts are ordered by raw name: "a*b" < "a:b". ".." and "."
	 * folder components are dropped: the message lands in Inbox. */
	assert_true(walk(t, "ab/Inbox/000002.eml") != 0);
	assert_true(walk(t, "ab (2)/F/000001.eml") != 0);
	/* The file's default account holds nothing and is not shown. */
	assert_int_equal(tree_node(t, TREE_ROOT)->nchildren, 3);
	tree_free(t);
	ccm_archive_free(a);
}

/* Maildir++ layout (issue 4): Inbox at the root, .Folder dirs in modified
 * UTF-7, cur/new/tmp, exact S= sizes, errors/ for error entries. */
static void test_maildir(void **state)
{
	const char *src[] = { "data/console.ccm", "data/codepage.ccm" };
	struct ccm_options o;
	struct ccm_archive *a;
	struct tree *t;
	uint64_t cur, ino;
	struct stat st;
	struct ccm_buf b;
	size_t i;

	(void)state;
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&a, src, 2, &o), 0);
	assert_int_equal(tree_build(&t, a, TREE_LAYOUT_MAILDIR), 0);
	cur = walk(t, "smithj/cur");
	assert_true(cur != 0);
	assert_true(walk(t, "smithj/new") && walk(t, "smithj/tmp"));
	assert_true(walk(t, "smithj/errors/000002.error.txt") != 0);
	assert_true(walk(t, "admin/.Drafts/cur") != 0);
	/* "Persönlich\Café" in modified UTF-7, '.' separating levels. */
	assert_true(walk(t, "codepage/.Pers&APY-nlich.Caf&AOk-/cur") != 0);
	assert_int_equal(tree_node(t, cur)->nchildren, 2);
	for (i = 0; i < 2; i++) {
		const char *name;
		char want[64];

		ino = tree_child(t, cur, i);
		name = tree_name(t, ino);
		assert_int_equal(tree_stat(t, ino, &st), 0);
		snprintf(want, sizeof(want), ",S=%llu:2,S",
			 (unsigned long long)st.st_size);
		/* Dovecot trusts S=: it must be the exact file size. */
		assert_non_null(strstr(name, want));
		assert_int_equal(strlen(strstr(name, want)), strlen(want));
	}
	/* Extended attributes come from the index. */
	ino = tree_child(t, cur, 0);
	ccm_buf_init(&b);
	assert_int_equal(tree_xattr_list(t, ino, &b), 0);
	assert_int_equal(b.len, strlen("user.ccmail.account") + 1 +
				 strlen("user.ccmail.folder") + 1 +
				 strlen("user.ccmail.source") + 1 +
				 strlen("user.ccmail.warnings") + 1);
	ccm_buf_clear(&b);
	assert_int_equal(tree_xattr_get(t, ino, "user.ccmail.account", &b), 0);
	assert_string_equal(ccm_buf_cstr(&b), "smithj");
	ccm_buf_clear(&b);
	assert_int_equal(tree_xattr_get(t, ino, "user.ccmail.source", &b), 0);
	assert_memory_equal(b.p, "console.ccm:", 12);
	ccm_buf_clear(&b);
	assert_int_equal(tree_xattr_get(t, ino, "user.other", &b), -ENODATA);
	assert_int_equal(tree_xattr_get(t, cur, "user.ccmail.account", &b),
			 -ENODATA);
	ccm_buf_clear(&b);
	assert_int_equal(tree_xattr_list(t, cur, &b), 0);
	assert_int_equal(b.len, 0);
	ccm_buf_release(&b);
	tree_free(t);
	ccm_archive_free(a);
}

/* Regression: Maildir++ folder names kept their last character only by
 * luck; a long name must be cut outside any "&...-" run. */
static void test_maildir_names(void **state)
{
	char path[] = "/tmp/ccm-mdnames-XXXXXX";
	const char *src[] = { path };
	struct ccm_options o;
	struct ccm_archive *a;
	struct tree *t;
	FILE *fp;
	uint64_t acc;
	size_t i, k;
	int found_long = 0;

	(void)state;
	close(mkstemp(path));
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("Mailbox: x\r\n", fp);
	/* A long name first, so the pool holds leftovers after it. */
	fputs("Message:\r\nFrom: a\r\nFolder: ", fp);
	for (i = 0; i < 120; i++)
		fputs("\x81x", fp);	/* "üx" in code page 850 */
	fputs("\r\nContents:\r\n", fp);
	fputs("Message:\r\nFrom: a\r\nFolder: Archive\\1997\r\nContents:\r\n", fp);
	fputs("Message:\r\nFrom: a\r\nFolder: A\xa4o 1999\r\nContents:\r\n", fp);
	fputs("Message:\r\nFrom: a\r\nFolder: Travel & Expenses\r\nContents:\r\n", fp);
	fclose(fp);
	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&a, src, 1, &o), 0);
	unlink(path);
	assert_int_equal(tree_build(&t, a, TREE_LAYOUT_MAILDIR), 0);
	assert_true(walk(t, "x/.Archive.1997/cur") != 0);
	assert_true(walk(t, "x/.A&APE-o 1999/cur") != 0);
	assert_true(walk(t, "x/.Travel &- Expenses/cur") != 0);
	acc = walk(t, "x");
	for (i = 0; i < tree_node(t, acc)->nchildren; i++) {
		const char *n = tree_name(t, tree_child(t, acc, i));
		int in = 0;

		if (strlen(n) < 200)
			continue;
		found_long = 1;
		assert_true(strlen(n) <= 255);
		for (k = 0; n[k]; k++)
			in = n[k] == '&' ? 1 : n[k] == '-' ? 0 : in;
		assert_false(in);	/* not cut inside an &...- run */
	}
	assert_true(found_long);
	tree_free(t);
	ccm_archive_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_name),
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stable_inodes, setup,
						teardown),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_maildir),
		cmocka_unit_test(test_maildir_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
