/*
 * index.c - the persistent index (see index.h).
 *
 * File: "CCMFSIDX", the key (text: versions, options, every source's path,
 * size, mtime and a hash of its ends), then the body (the archive's and the
 * tree's arrays, ccm_archive_save / tree_save) with its length and a hash.
 * A key that differs says why the index is stale, in words, in the log; a
 * wrong hash or any inconsistent reference makes the file ignored, never
 * trusted.  The index is written to a temporary name and renamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index.h"
#include "report.h"

#define MAGIC "CCMFSIDX"

int index_option(const char *kv, struct index_opts *io)
{
	if (strcmp(kv, "noindex") == 0 || strcmp(kv, "index=none") == 0)
		io->mode = INDEX_NONE;
	else if (strcmp(kv, "norebuild") == 0)
		io->mode = INDEX_REQUIRE;
	else if (strncmp(kv, "index=", 6) == 0 && kv[6])
		io->path = strdup(kv + 6);	/* kv is the caller's scratch */
	else
		return 1;
	return 0;
}

/* A fast 64-bit hash, eight bytes at a step: corruption, not attacks. */
static uint64_t body_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h ^ n;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The places an index may live, in order of preference. */
static int candidates(const struct index_opts *io, const struct ccm_archive *a,
		      const char *key, char out[2][4096])
{
	const char *first, *slash, *cache;
	int n = 0;

	if (io->path) {
		snprintf(out[0], 4096, "%s", io->path);
		return 1;
	}
	first = a->files[0].path;
	slash = strrchr(first, '/');
	if (slash)
		snprintf(out[n++], 4096, "%.*s/.%s.ccmailfs-index",
			 (int)(slash - first), first, slash + 1);
	else
		snprintf(out[n++], 4096, ".%s.ccmailfs-index", first);
	cache = getenv("XDG_CACHE_HOME");
	{
		/* The cache name depends on the sources, not the options:
		 * a remount with other options replaces it. */
		const char *src = strstr(key, "\nsource ");
		uint64_t h = str_hash(src ? src : key);
		const char *home = getenv("HOME");

		if (cache && *cache)
			snprintf(out[n++], 4096, "%s/ccmailfs/%016llx.idx", cache,
				 (unsigned long long)h);
		else if (home && *home)
			snprintf(out[n++], 4096, "%s/.cache/ccmailfs/%016llx.idx",
				 home, (unsigned long long)h);
	}
	return n;
}

/*
 * Map the index read-only: the restored archive and tree point into it,
 * so its pages are the kernel's page cache (dropped and re-read as
 * needed), not the daemon's heap.  Indexes are replaced by rename, never
 * rewritten in place, so the mapped file does not change under us.
 */
static int map_file(const char *path, struct ccm_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *p;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	b->p = p;
	b->len = (size_t)st.st_size;
	return 0;
}

/* The first line where two keys differ, for the log. */
static void key_diff(const char *want, const char *have, char *why, size_t n)
{
	while (*want && *have) {
		const char *we = strchr(want, '\n'), *he = strchr(have, '\n');
		size_t wl = we ? (size_t)(we - want) : strlen(want);
		size_t hl = he ? (size_t)(he - have) : strlen(have);

		if (wl != hl || memcmp(want, have, wl)) {
			snprintf(why, n, "it was made for \"%.*s\", now \"%.*s\"",
				 (int)(hl > 120 ? 120 : hl), have,
				 (int)(wl > 120 ? 120 : wl), want);
			return;
		}
		want += wl + (we ? 1 : 0);
		have += hl + (he ? 1 : 0);
	}
	snprintf(why, n, "it lists other sources");
}

static int try_load(const char *path, const char *key, struct ccm_archive *a,
		    struct tree **t, char *why, size_t n)
{
	struct ccm_buf b;
	uint64_t klen, blen, bhash;
	size_t pos = 8, bpos, kl = strlen(key);
	int err = -CCM_E_FORMAT;

	ccm_buf_init(&b);
	if (map_file(path, &b)) {
		snprintf(why, n, "there is no index at %.400s", path);
		goto out;
	}
	if (b.len < 8 + 24 || memcmp(b.p, MAGIC, 8)) {
		snprintf(why, n, "%.400s is not a ccmailfs index", path);
		goto out;
	}
	memcpy(&klen, b.p + pos, 8);
	pos += 8;
	if (klen > b.len - pos - 16) {
		snprintf(why, n, "%.400s is damaged (key length)", path);
		goto out;
	}
	if (klen != kl || memcmp(b.p + pos, key, kl)) {
		char have[4096];

		snprintf(have, sizeof(have), "%.*s",
			 (int)(klen < sizeof(have) - 1 ? klen : sizeof(have) - 1),
			 b.p + pos);
		key_diff(key, have, why, n);
		goto out;
	}
	pos += (size_t)klen + (size_t)((8 - klen % 8) % 8);
	if (b.len - pos < 16) {
		snprintf(why, n, "%.400s is damaged (key length)", path);
		goto out;
	}
	memcpy(&blen, b.p + pos, 8);
	memcpy(&bhash, b.p + pos + 8, 8);
	pos += 16;
	if (blen != b.len - pos || body_hash(b.p + pos, (size_t)blen) != bhash) {
		snprintf(why, n, "%.400s is damaged (length or checksum)", path);
		goto out;
	}
	bpos = pos;
	err = ccm_archive_restore(a, b.p, b.len, &bpos);
	if (!err)
		err = tree_restore(t, a, b.p, b.len, &bpos);
	if (err) {
		snprintf(why, n, "%.400s is inconsistent (%s)", path,
			 ccm_strerror(err));
	} else {
		/* The archive keeps the mapping; the caller frees it with
		 * the archive (a failed restore is freed whole as well). */
		ccm_archive_hold(a, b.p, b.len, 1);
		return 0;
	}
out:
	if (b.p && !a->held)
		munmap(b.p, b.len);
	return err;
}

/* Never overwrite a file that is not one of our indexes (a mistyped
 * -o index=PATH must not destroy anything). */
static int foreign_file(const char *path)
{
	char head[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return 0;
	r = read(fd, head, sizeof(head));
	close(fd);
	return !(r == 8 && memcmp(head, MAGIC, 8) == 0) && r != 0;
}

static int save(const char *path, const char *key, const struct ccm_archive *a,
		const struct tree *t)
{
	struct ccm_buf b;
	uint64_t klen = strlen(key), blen, bhash;
	size_t body;
	char tmp[4200], dir[4096], *slash;
	int fd, err = 0;

	if (foreign_file(path))
		return -EEXIST;
	snprintf(dir, sizeof(dir), "%.4000s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		/* the cache directory may not exist yet */
		if (strstr(dir, "/ccmailfs") == dir + strlen(dir) - 9) {
			char *p2 = strrchr(dir, '/');

			*p2 = '\0';
			mkdir(dir, 0700);
			*p2 = '/';
			mkdir(dir, 0700);
		}
	}
	ccm_buf_init(&b);
	ccm_buf_put(&b, MAGIC, 8);
	ccm_buf_put(&b, &klen, 8);
	ccm_buf_put(&b, key, (size_t)klen);
	/* Padding: every section then starts 8-byte aligned in the buffer
	 * it is read back into (malloc'd), as its uint64_t fields need. */
	ccm_buf_put(&b, "\0\0\0\0\0\0\0", (8 - klen % 8) % 8);
	ccm_buf_put(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	body = b.len;
	ccm_archive_save(a, &b);
	tree_save(t, &b);
	if (b.oom) {
		ccm_buf_release(&b);
		return -ENOMEM;
	}
	blen = b.len - body;
	bhash = body_hash(b.p + body, (size_t)blen);
	memcpy(b.p + body - 16, &blen, 8);
	memcpy(b.p + body - 8, &bhash, 8);
	snprintf(tmp, sizeof(tmp), "%.4000s.tmp%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
	} else {
		size_t off = 0;

		while (off < b.len) {
			ssize_t w = write(fd, b.p + off, b.len - off);

			if (w < 0) {
				err = -errno;
				break;
			}
			off += (size_t)w;
		}
		if (close(fd) < 0 && !err)
			err = -errno;
		if (!err && rename(tmp, path) < 0)
			err = -errno;
		if (err)
			unlink(tmp);
	}
	ccm_buf_release(&b);
	return err;
}

struct progress {
	struct timespec start;
	const char *name;
	int shown;
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	double secs = since(&p->start), rate = secs > 0 ? done / secs : 0;

	if (secs < 0.5 && done < total)
		return;
	fprintf(stderr, "\rccmailfs: indexing %s: %3d%%  %.1f MB/s  ETA %.0f s   ",
		p->name, total ? (int)(done * 100 / total) : 100, rate / 1e6,
		rate > 0 ? (double)(total - done) / rate : 0.0);
	p->shown = 1;
}

static void make_key(const struct ccm_archive *a, enum tree_layout layout,
		     struct ccm_buf *key)
{
	struct stat st;
	char extra[128];

	/*
	 * The sizes in an index are what this very program renders.  A new
	 * build may render differently without anyone bumping the index
	 * version, so the program's own file is part of the key: an
	 * upgrade (or a rebuild) reindexes instead of promising wrong sizes.
	 */
	if (stat("/proc/self/exe", &st) != 0)
		memset(&st, 0, sizeof(st));
	snprintf(extra, sizeof(extra), "layout=%s program=%lld/%lld",
		 layout == TREE_LAYOUT_MAILDIR ? "maildir" : "plain",
		 (long long)st.st_size, (long long)st.st_mtime);
	ccm_archive_key(a, extra, key);
}

/* The tree of a scanned archive, with its report. */
static int finish(const struct ccm_archive *a, enum tree_layout layout,
		  struct tree **tp)
{
	struct ccm_buf report;
	struct report_counts rc;
	struct tree *t = NULL;
	int err;

	ccm_buf_init(&report);
	err = tree_build(&t, a, layout);
	if (!err)
		err = report_build(a, t, &report, &rc);
	if (!err)
		err = tree_set_report(t, report.p, report.len);
	ccm_buf_release(&report);
	if (err) {
		tree_free(t);
		t = NULL;
	}
	*tp = t;
	return err;
}

int index_finish(struct ccm_archive *a, enum tree_layout layout,
		 struct tree **tp)
{
	int err = ccm_archive_scan(a, NULL, NULL);

	*tp = NULL;
	return err ? err : finish(a, layout, tp);
}

void index_top_free(struct tree *top)
{
	struct ccm_archive *sh;

	if (!top)
		return;
	sh = (struct ccm_archive *)top->a;
	tree_free(top);
	ccm_archive_free(sh);
}

int index_open(const struct index_opts *io, char **paths, size_t npaths,
	       const struct ccm_options *o, enum tree_layout layout,
	       struct ccm_archive **ap, struct tree **tp, int *loaded,
	       char *note, size_t notelen, char *msg, size_t msglen)
{
	struct ccm_archive *a = NULL;
	struct tree *t = NULL;
	struct ccm_buf key;
	struct progress pr;
	char cand[2][4096], why[600] = "";
	int ncand = 0, i, err;

	*ap = NULL;
	*tp = NULL;
	*loaded = 0;
	note[0] = '\0';
	ccm_buf_init(&key);
	err = ccm_archive_prepare(&a, (const char *const *)paths, npaths, o);
	if (err) {
		snprintf(msg, msglen, "cannot read the sources: %s",
			 ccm_strerror(err));
		return err;
	}
	make_key(a, layout, &key);
	if (io->mode != INDEX_NONE && a->nfiles > 0 && !a->nbad) {
		ncand = candidates(io, a, ccm_buf_cstr(&key), cand);
		for (i = 0; i < ncand; i++) {
			err = try_load(cand[i], ccm_buf_cstr(&key), a, &t, why,
				       sizeof(why));
			if (!err) {
				snprintf(note, notelen, "index loaded from %.600s",
					 cand[i]);
				*loaded = 1;
				goto done;
			}
			/* A half-restored archive is thrown away whole. */
			ccm_archive_free(a);
			t = NULL;
			err = ccm_archive_prepare(&a, (const char *const *)paths,
						  npaths, o);
			if (err) {
				snprintf(msg, msglen, "cannot read the sources: %s",
					 ccm_strerror(err));
				goto fail;
			}
			if (!strstr(why, "there is no index"))
				break;
			if (i == ncand - 1)
				snprintf(why, sizeof(why), "there is no index yet");
		}
		if (io->mode == INDEX_REQUIRE) {
			snprintf(msg, msglen, "no usable index and norebuild was "
				 "given: %s", why);
			err = -CCM_E_FORMAT;
			goto fail;
		}
		snprintf(note, notelen, "building the index: %s", why);
	}
	memset(&pr, 0, sizeof(pr));
	clock_gettime(CLOCK_MONOTONIC, &pr.start);
	pr.name = a->nfiles ? a->files[0].name : "";
	if (io->defer) {
		struct ccm_archive *sh = NULL;

		/* The pass that reads the sources, with the progress line;
		 * index_finish then works from page cache. */
		err = ccm_archive_survey(a, io->progress ? show_progress : NULL,
					 &pr, &sh);
		if (pr.shown)
			fputc('\n', stderr);
		if (!err) {
			err = tree_build(&t, sh, layout);
			if (err)
				ccm_archive_free(sh);
		}
	} else {
		err = ccm_archive_scan(a, io->progress ? show_progress : NULL,
				       &pr);
		if (pr.shown)
			fputc('\n', stderr);
		if (!err)
			err = finish(a, layout, &t);
	}
	if (err) {
		snprintf(msg, msglen, "%s", ccm_strerror(err));
		goto fail;
	}
done:
	ccm_buf_release(&key);
	*ap = a;
	*tp = t;
	return 0;
fail:
	tree_free(t);
	ccm_archive_free(a);
	ccm_buf_release(&key);
	return err ? err : -CCM_E_FORMAT;
}

/* Load the index just written at path in place of *ap, *tp. */
static void reload(const char *path, const char *key, char **paths,
		   size_t npaths, const struct ccm_options *o,
		   enum tree_layout layout, struct ccm_archive **ap,
		   struct tree **tp)
{
	struct ccm_archive *b = NULL;
	struct tree *t = NULL;
	struct ccm_buf k2;
	char why[600];

	if (ccm_archive_prepare(&b, (const char *const *)paths, npaths, o))
		return;
	ccm_buf_init(&k2);
	make_key(b, layout, &k2);
	/* The sources must still be the ones just indexed. */
	if (!k2.oom && strcmp(ccm_buf_cstr(&k2), key) == 0 &&
	    try_load(path, key, b, &t, why, sizeof(why)) == 0 &&
	    b->nentries == (*ap)->nentries) {
		tree_free(*tp);
		ccm_archive_free(*ap);
		*ap = b;
		*tp = t;
		b = NULL;
		t = NULL;
	}
	tree_free(t);
	ccm_archive_free(b);
	ccm_buf_release(&k2);
}

void index_store(const struct index_opts *io, char **paths, size_t npaths,
		 const struct ccm_options *o, struct ccm_archive **ap,
		 struct tree **tp, enum tree_layout layout)
{
	const struct ccm_archive *a = *ap;
	struct ccm_buf key;
	char cand[2][4096];
	int ncand, i, err;

	if (io->mode == INDEX_NONE || a->nfiles == 0 || a->nbad)
		return;
	ccm_buf_init(&key);
	make_key(a, layout, &key);
	ncand = candidates(io, a, ccm_buf_cstr(&key), cand);
	for (i = 0; i < ncand; i++) {
		err = save(cand[i], ccm_buf_cstr(&key), a, *tp);
		if (!err) {
			if (io->log)
				io->log("index written to %s", cand[i]);
			reload(cand[i], ccm_buf_cstr(&key), paths, npaths, o,
			       layout, ap, tp);
			break;
		}
		if (io->log)
			io->log("cannot write the index to %s: %s", cand[i],
				err == -EEXIST ? "a file that is not a ccmailfs "
						 "index is there" : strerror(-err));
	}
	ccm_buf_release(&key);
}
