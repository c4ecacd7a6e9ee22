/*
 * test_index.c - the persistent index's checks: the body checksum
 * (fs/checksum.c) and restoring through a struct ccm_reader (the archive's
 * and the tree's arrays read as copies, never in place).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testlib.h"
#include "checksum.h"
#include "tree.h"

/* ------------------------------------------------------------ checksum */

static void fill(char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (char)(seed >> 16);
	}
}

static int temp_with(const char *p, size_t n)
{
	char path[] = "/tmp/ccm-cksum-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(pwrite(fd, p, n, 0), (ssize_t)n);
	return fd;
}

/* The file's checksum, read in chunks on one or two threads, is the one
 * saved from memory, at every size around the chunk and block edges. */
static void test_checksum_file_is_mem(void **state)
{
	static const size_t sizes[] = {
		0, 1, 7, 8, 31, 32, 33, 65535, 65536, 65537,
		1048575, 1048576, 1048577, 4 * 1048576, 5 * 1048576 + 17,
	};
	const size_t head = 40;	/* the body starts after a head */
	size_t i, max = 5 * 1048576 + 17;
	char *p = malloc(head + max);
	uint64_t h;
	int fd;

	(void)state;
	assert_non_null(p);
	fill(p, head + max, 7);
	fd = temp_with(p, head + max);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(checksum_file(fd, head, sizes[i], &h), 0);
		assert_true(h == checksum_mem(p + head, sizes[i]));
	}
	close(fd);
	free(p);
}

/* One changed byte anywhere changes it: in a lane's word, in a block's
 * tail, in either thread's half. */
static void test_checksum_sees_a_byte(void **state)
{
	const size_t n = 5 * 1048576 + 17;
	static const size_t at[] = {
		0, 8, 16, 24, 31, 1048575, 1048576, 3 * 1048576 + 5,
		5 * 1048576, 5 * 1048576 + 16,
	};
	char *p = malloc(n);
	uint64_t base, h;
	size_t i;
	int fd;

	(void)state;
	assert_non_null(p);
	fill(p, n, 11);
	base = checksum_mem(p, n);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		p[at[i]] ^= 0x20;
		assert_true(checksum_mem(p, n) != base);
		fd = temp_with(p, n);
		assert_int_equal(checksum_file(fd, 0, n, &h), 0);
		assert_true(h != base);
		close(fd);
		p[at[i]] ^= 0x20;
	}
	/* Trailing zero words count: a longer body of zeros is another. */
	memset(p, 0, n);
	assert_true(checksum_mem(p, 1048576) != checksum_mem(p, 1048576 + 32));
	free(p);
}

/* A file shorter than its header says is an error, not a checksum. */
static void test_checksum_short_file(void **state)
{
	char p[100];
	uint64_t h;
	int fd;

	(void)state;
	fill(p, sizeof(p), 3);
	fd = temp_with(p, sizeof(p));
	assert_int_equal(checksum_file(fd, 0, 5 * 1048576, &h), -EIO);
	close(fd);
	/* Short only in the half the second thread reads. */
	{
		char *big = calloc(1, 5 * 1048576);

		assert_non_null(big);
		fd = temp_with(big, 5 * 1048576);
		free(big);
	}
	assert_int_equal(checksum_file(fd, 0, 5 * 1048576, &h), 0);
	assert_int_equal(checksum_file(fd, 0, 8 * 1048576, &h), -EIO);
	close(fd);
	fd = temp_with(p, sizeof(p));
	assert_int_equal(pread_full(fd, p, 10, 95), -EIO);
	assert_int_equal(pread_full(fd, p, 10, 90), 0);
	close(fd);
}

/* ------------------------------------------------------------- restore */

static char SRC[] = "/tmp/ccm-index-src-XXXXXX";

static void write_src(void)
{
	static const char *const parts[] = {
		"data/console.ccm", "data/truncated.ccm", "data/sample.ccm",
		"data/no-contents.ccm",
	};
	char buf[65536];
	size_t i, n;
	int fd = mkstemp(SRC);
	FILE *out;

	assert_true(fd >= 0);
	out = fdopen(fd, "wb");
	assert_non_null(out);
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		FILE *in = fopen(parts[i], "rb");

		assert_non_null(in);
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			assert_int_equal(fwrite(buf, 1, n, out), n);
		fclose(in);
	}
	assert_int_equal(fclose(out), 0);
}

/* Where the saved arrays are, found by restoring in place once. */
struct layout {
	size_t len;
	size_t accounts, entries, nodes, eino, hash;
	size_t naccounts, nentries, nnodes, nhash;
};

/* The copies a reader gives: of its own bytes, which may differ from the
 * mapping's, failing at call fail_at (-1: never). */
struct mem_src {
	const char *p;
	size_t n;
	long fail_at, calls;
	uint64_t bytes;
};

static int mem_read(void *ctx, void *dst, size_t len, uint64_t off)
{
	struct mem_src *m = ctx;

	if (m->fail_at >= 0 && m->calls == m->fail_at)
		return -EIO;
	m->calls++;
	/* Only the arrays inside the index are ever asked for. */
	assert_true(off <= m->n && len <= m->n - off);
	memcpy(dst, m->p + off, len);
	m->bytes += len;
	return 0;
}

static char *saved_index(size_t *len)
{
	struct ccm_options o;
	struct ccm_archive *a;
	struct tree *t;
	struct ccm_buf b;
	const char *src = SRC;
	char *p;

	ccm_options_init(&o);
	assert_int_equal(ccm_archive_open(&a, &src, 1, &o), 0);
	assert_int_equal(tree_build(&t, a, TREE_LAYOUT_PLAIN), 0);
	assert_true(a->naccounts > 1);
	ccm_buf_init(&b);
	ccm_archive_save(a, &b);
	tree_save(t, &b);
	assert_false(b.oom);
	/* 8-aligned, as a mapping is: sections are read in place. */
	p = aligned_alloc(8, (b.len + 7) & ~(size_t)7);
	assert_non_null(p);
	memcpy(p, b.p, b.len);
	*len = b.len;
	ccm_buf_release(&b);
	tree_free(t);
	ccm_archive_free(a);
	return p;
}

/* Restore the archive and the tree from p (through rd when not NULL). */
static int restore(const char *p, size_t n, const struct ccm_reader *rd,
		   struct layout *lay)
{
	struct ccm_options o;
	struct ccm_archive *a;
	struct tree *t = NULL;
	const char *src = SRC;
	size_t pos = 0;
	int err;

	ccm_options_init(&o);
	assert_int_equal(ccm_archive_prepare(&a, &src, 1, &o), 0);
	err = ccm_archive_restore(a, p, n, &pos, rd);
	if (!err)
		err = tree_restore(&t, a, p, n, &pos, rd);
	if (!err && lay) {
		lay->len = n;
		lay->accounts = (size_t)((const char *)a->accounts - p);
		lay->entries = (size_t)((const char *)a->entries - p);
		lay->nodes = (size_t)((const char *)t->nodes - p);
		lay->eino = (size_t)((const char *)t->entry_ino - p);
		lay->hash = (size_t)((const char *)t->hash - p);
		lay->nhash = t->hashcap;
		lay->naccounts = a->naccounts;
		lay->nentries = a->nentries;
		lay->nnodes = t->nnodes;
	}
	tree_free(t);
	ccm_archive_free(a);
	return err;
}

static int restore_via_lay(const char *map, const char *copy, size_t n,
			   long fail_at, struct mem_src *out,
			   struct layout *lay)
{
	struct mem_src m = { copy, n, fail_at, 0, 0 };
	struct ccm_reader rd = { mem_read, &m };
	int err = restore(map, n, &rd, lay);

	if (out)
		*out = m;
	return err;
}

static int restore_via(const char *map, const char *copy, size_t n,
		       long fail_at, struct mem_src *out)
{
	return restore_via_lay(map, copy, n, fail_at, out, NULL);
}

static int setup(void **state)
{
	(void)state;
	write_src();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(SRC);
	strcpy(SRC, "/tmp/ccm-index-src-XXXXXX");
	return 0;
}

/* A good index restores the same through a reader as in place, and the
 * reader is what gives the bulk of the arrays. */
static void test_restore_reader_same(void **state)
{
	struct layout lay, lay2;
	struct mem_src m;
	size_t n;
	char *p = saved_index(&n);

	(void)state;
	assert_int_equal(restore(p, n, NULL, &lay), 0);
	assert_int_equal(restore_via_lay(p, p, n, -1, &m, &lay2), 0);
	assert_memory_equal(&lay, &lay2, sizeof(lay));
	assert_true(lay.nnodes > lay.nentries);
	assert_true(m.calls > 0);
	/* Entries and nodes at least once each, whole. */
	assert_true(m.bytes >= lay.nentries * sizeof(struct ccm_entry) +
				       lay.nnodes * sizeof(struct tree_node));
	free(p);
}

/* bad is refused in place and as the copy behind the good mapping, and
 * accepted as the mapping behind a good copy. */
static void assert_copy_judged(const char *good, const char *bad, size_t n)
{
	assert_int_equal(restore(bad, n, NULL, NULL), -CCM_E_FORMAT);
	assert_int_equal(restore_via(good, bad, n, -1, NULL), -CCM_E_FORMAT);
	assert_int_equal(restore_via(bad, good, n, -1, NULL), 0);
}

/* The checks judge the reader's bytes, not the mapping's: a corrupt copy
 * behind a clean mapping is refused, a clean copy behind a mapping whose
 * checked arrays are corrupt is accepted (the body checksum, not these
 * checks, is what catches a corrupt mapping). */
static void test_restore_reads_copies(void **state)
{
	struct layout lay;
	struct ccm_entry e;
	struct tree_node x;
	size_t n, at;
	char *p = saved_index(&n), *bad = malloc(n + 8);

	(void)state;
	assert_non_null(bad);
	assert_int_equal(restore(p, n, NULL, &lay), 0);

	/* An entry of another file than the one source. */
	memcpy(bad, p, n);
	at = lay.entries + (lay.nentries / 2) * sizeof(e);
	memcpy(&e, bad + at, sizeof(e));
	e.file = 7;
	memcpy(bad + at, &e, sizeof(e));
	assert_copy_judged(p, bad, n);

	/* A file node whose parent is a file node. */
	memcpy(bad, p, n);
	at = lay.nodes + (lay.nnodes - 1) * sizeof(x);
	memcpy(&x, bad + at, sizeof(x));
	assert_int_equal(x.kind, TREE_ENTRY);
	x.parent = (uint32_t)lay.nnodes - 1;
	memcpy(bad + at, &x, sizeof(x));
	memcpy(&x, bad + at - sizeof(x), sizeof(x));
	assert_int_equal(x.kind, TREE_ENTRY);
	assert_copy_judged(p, bad, n);

	/* A file's size that is not its entry's. */
	memcpy(bad, p, n);
	at = lay.nodes + (lay.nnodes - 1) * sizeof(x);
	memcpy(&x, bad + at, sizeof(x));
	x.size++;
	memcpy(bad + at, &x, sizeof(x));
	assert_copy_judged(p, bad, n);

	/* entry_ino pointing at another entry's node. */
	memcpy(bad, p, n);
	memcpy(bad + lay.eino, p + lay.eino + 4, 4);
	assert_copy_judged(p, bad, n);

	/* Accounts whose counts do not add up to the entries. */
	memcpy(bad, p, n);
	{
		struct ccm_account acc;

		memcpy(&acc, bad + lay.accounts, sizeof(acc));
		acc.nmsg++;
		memcpy(bad + lay.accounts, &acc, sizeof(acc));
	}
	assert_copy_judged(p, bad, n);

	/* Counts that add up only by wrapping around. */
	memcpy(bad, p, n);
	{
		struct ccm_account acc;
		size_t k;

		for (k = 0; k < 2; k++) {
			at = lay.accounts + k * sizeof(acc);
			memcpy(&acc, bad + at, sizeof(acc));
			acc.nmsg += (uint64_t)1 << 63;
			memcpy(bad + at, &acc, sizeof(acc));
		}
	}
	assert_int_equal(restore(bad, n, NULL, NULL), -CCM_E_FORMAT);
	free(bad);
	free(p);
}

/*
 * References a lookup or a listing would follow without looking further:
 * a directory's children reaching the one slot of the children array
 * that is nobody's (it holds 0, and inode 0 is no node), and a hash table
 * without an empty slot (a lookup of a missing name would probe for
 * ever).
 */
static void test_restore_holes(void **state)
{
	struct layout lay;
	struct tree_node x;
	size_t n, i, at, found = 0;
	uint32_t one = 1;
	char *p = saved_index(&n), *bad = malloc(n + 8);

	(void)state;
	assert_non_null(bad);
	assert_int_equal(restore(p, n, NULL, &lay), 0);
	for (i = 0; i < lay.nnodes; i++) {
		at = lay.nodes + i * sizeof(x);
		memcpy(&x, p + at, sizeof(x));
		if (x.kind != TREE_DIR ||
		    x.first + x.nchildren != lay.nnodes - 1)
			continue;
		found = 1;
		memcpy(bad, p, n);
		x.nchildren++;
		memcpy(bad + at, &x, sizeof(x));
		assert_int_equal(restore(bad, n, NULL, NULL), -CCM_E_FORMAT);
		assert_int_equal(restore_via(bad, bad, n, -1, NULL),
				 -CCM_E_FORMAT);
	}
	assert_true(found);

	memcpy(bad, p, n);
	for (i = 0; i < lay.nhash; i++)
		if (!memcmp(bad + lay.hash + 4 * i, "\0\0\0\0", 4))
			memcpy(bad + lay.hash + 4 * i, &one, 4);
	assert_int_equal(restore(bad, n, NULL, NULL), -CCM_E_FORMAT);
	assert_int_equal(restore_via(bad, bad, n, -1, NULL), -CCM_E_FORMAT);
	free(bad);
	free(p);
}

/* A read that fails fails the restore with its error, at every call. */
static void test_restore_reader_fails(void **state)
{
	struct mem_src m;
	size_t n;
	char *p = saved_index(&n);
	long k;

	(void)state;
	assert_int_equal(restore_via(p, p, n, -1, &m), 0);
	assert_true(m.calls >= 8);
	for (k = 0; k < m.calls; k++)
		assert_int_equal(restore_via(p, p, n, k, NULL), -EIO);
	free(p);
}

/* Any one changed byte: the same verdict through a reader as in place. */
static void test_restore_reader_verdicts(void **state)
{
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };
	size_t n, at, f, refused = 0, tried = 0;
	char *p = saved_index(&n), *bad = malloc(n + 8);
	int e1, e2;

	(void)state;
	assert_non_null(bad);
	for (at = 0; at < n; at += 3) {
		for (f = 0; f < sizeof(flips); f++) {
			memcpy(bad, p, n);
			bad[at] = (char)(bad[at] ^ flips[f]);
			e1 = restore(bad, n, NULL, NULL);
			e2 = restore_via(bad, bad, n, -1, NULL);
			if (e1 != e2)
				fail_msg("byte %zu ^ 0x%02x: %d in place, %d "
					 "through a reader", at, flips[f], e1,
					 e2);
			refused += e1 != 0;
			tried++;
		}
	}
	/* The sweep met the checks: over a third of the flips refused. */
	assert_true(3 * refused > tried);
	free(bad);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_file_is_mem),
		cmocka_unit_test(test_checksum_sees_a_byte),
		cmocka_unit_test(test_checksum_short_file),
		cmocka_unit_test_setup_teardown(test_restore_reader_same,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_reads_copies,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_reader_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_holes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore_reader_verdicts,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
