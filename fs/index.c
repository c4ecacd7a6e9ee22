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

#include "checksum.h"
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

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/*
 * Hold open the directory of a file at path whose last 1 + maxmk
 * components may still have to be made: the deepest one that exists.
 */
static void dest_open(struct index_dest *d, const char *path, int maxmk)
{
	char norm[4096], dir[4096];
	size_t len = 0;
	int k;

	snprintf(d->shown, sizeof(d->shown), "%s", path);
	snprintf(d->rel, sizeof(d->rel), "%s", path);
	d->dirfd = -1;
	d->mkdirs = 0;
	/* "a//b" is "a/b": an empty name is no directory to make. */
	for (; *path && len < sizeof(norm) - 1; path++)
		if (*path != '/' || len == 0 || norm[len - 1] != '/')
			norm[len++] = *path;
	if (*path)
		return;
	norm[len] = '\0';
	path = norm;
	memcpy(dir, path, len + 1);
	for (k = 0; k <= maxmk; k++) {
		char *slash = strrchr(dir, '/');
		const char *at = ".";

		if (slash) {
			*slash = '\0';
			at = slash == dir ? "/" : dir;
		}
		d->dirfd = open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d->dirfd >= 0) {
			snprintf(d->rel, sizeof(d->rel), "%s",
				 path + (slash ? (size_t)(slash - dir) + 1 : 0));
			d->mkdirs = k;
			return;
		}
		if (!slash)
			return;
	}
}

/* The places an index may live, in order of preference. */
static void plan_dests(const struct index_opts *io, const struct ccm_archive *a,
		       struct index_plan *p)
{
	const char *key = ccm_buf_cstr(&p->key);
	const char *first, *slash, *cache, *home, *src;
	char path[4096];
	uint64_t h;

	if (io->path) {
		dest_open(&p->dest[p->ndest++], io->path, 0);
		return;
	}
	first = a->files[0].path;
	slash = strrchr(first, '/');
	if (slash)
		snprintf(path, sizeof(path), "%.*s/.%s.ccmailfs-index",
			 (int)(slash - first), first, slash + 1);
	else
		snprintf(path, sizeof(path), ".%s.ccmailfs-index", first);
	dest_open(&p->dest[p->ndest++], path, 0);
	/* The cache name depends on the sources, not the options: a
	 * remount with other options replaces it. */
	src = strstr(key, "\nsource ");
	h = str_hash(src ? src : key);
	cache = getenv("XDG_CACHE_HOME");
	home = getenv("HOME");
	if (cache && *cache)
		snprintf(path, sizeof(path), "%s/ccmailfs/%016llx.idx", cache,
			 (unsigned long long)h);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.cache/ccmailfs/%016llx.idx",
			 home, (unsigned long long)h);
	else
		return;
	/* The cache directories are made when an index is written there. */
	dest_open(&p->dest[p->ndest++], path, 2);
}

void index_plan_init(struct index_plan *p)
{
	memset(p, 0, sizeof(*p));
	ccm_buf_init(&p->key);
	p->dest[0].dirfd = p->dest[1].dirfd = -1;
}

void index_plan_release(struct index_plan *p)
{
	int i;

	for (i = 0; i < p->ndest; i++)
		if (p->dest[i].dirfd >= 0)
			close(p->dest[i].dirfd);
	ccm_buf_release(&p->key);
	index_plan_init(p);
}

/*
 * Map the index read-only: the restored archive and tree point into it,
 * so its pages are the kernel's page cache (dropped and re-read as
 * needed), not the daemon's heap.  Indexes are replaced by rename, never
 * rewritten in place, so the mapped file does not change under us.  The
 * file stays open (*fd) for the checks, which read it with pread (struct
 * ccm_reader says why).
 */
static int map_file(const struct index_dest *d, struct ccm_buf *b, int *fdp)
{
	struct stat st;
	void *p;
	int fd;

	*fdp = -1;
	if (d->dirfd < 0)
		return -ENOENT;
	fd = openat(d->dirfd, d->rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	b->p = p;
	b->len = (size_t)st.st_size;
	*fdp = fd;
	return 0;
}

/* struct ccm_reader over the index file */
static int read_at(void *ctx, void *dst, size_t len, uint64_t off)
{
	return pread_full(*(int *)ctx, dst, len, off);
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

static int try_load(const struct index_dest *d, const char *key,
		    struct ccm_archive *a, struct tree **t, char *why, size_t n)
{
	const char *path = d->shown;
	struct ccm_buf b;
	struct ccm_reader rd;
	uint64_t klen, blen, bhash, h;
	size_t pos = 8, bpos, kl = strlen(key);
	int fd, err = -CCM_E_FORMAT;

	ccm_buf_init(&b);
	if (map_file(d, &b, &fd)) {
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
	if (blen != b.len - pos || checksum_file(fd, pos, blen, &h) || h != bhash) {
		snprintf(why, n, "%.400s is damaged (length or checksum)", path);
		goto out;
	}
	bpos = pos;
	rd.read = read_at;
	rd.ctx = &fd;
	err = ccm_archive_restore(a, b.p, b.len, &bpos, &rd);
	if (!err)
		err = tree_restore(t, a, b.p, b.len, &bpos, &rd);
	if (err) {
		snprintf(why, n, "%.400s is inconsistent (%s)", path,
			 ccm_strerror(err));
	} else {
		/* The archive keeps the mapping; the caller frees it with
		 * the archive (a failed restore is freed whole as well). */
		ccm_archive_hold(a, b.p, b.len, 1);
		close(fd);
		return 0;
	}
out:
	if (b.p && !a->held)
		munmap(b.p, b.len);
	if (fd >= 0)
		close(fd);
	return err;
}

/* Never overwrite a file that is not one of our indexes (a mistyped
 * -o index=PATH must not destroy anything). */
static int foreign_file(const struct index_dest *d)
{
	char head[8];
	int fd = openat(d->dirfd, d->rel, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return 0;
	r = read(fd, head, sizeof(head));
	close(fd);
	return !(r == 8 && memcmp(head, MAGIC, 8) == 0) && r != 0;
}

/* Make the missing cache directories (dest_open), private. */
static void make_dirs(const struct index_dest *d)
{
	const char *slash = d->rel;
	char sub[4096];
	int k;

	for (k = 0; k < d->mkdirs && (slash = strchr(slash, '/')); k++) {
		snprintf(sub, sizeof(sub), "%.*s", (int)(slash - d->rel),
			 d->rel);
		mkdirat(d->dirfd, sub, 0700);
		slash++;
	}
}

static int save(const struct index_dest *d, const char *key,
		const struct ccm_archive *a, const struct tree *t)
{
	struct ccm_buf b;
	uint64_t klen = strlen(key), blen, bhash;
	size_t body;
	char tmp[4200];
	int fd, err = 0;

	if (d->dirfd < 0)
		return -ENOENT;
	if (foreign_file(d))
		return -EEXIST;
	make_dirs(d);
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
	bhash = checksum_mem(b.p + body, (size_t)blen);
	memcpy(b.p + body - 16, &blen, 8);
	memcpy(b.p + body - 8, &bhash, 8);
	snprintf(tmp, sizeof(tmp), "%.4000s.tmp%ld", d->rel, (long)getpid());
	fd = openat(d->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644);
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
		if (!err && renameat(d->dirfd, tmp, d->dirfd, d->rel) < 0)
			err = -errno;
		if (err)
			unlinkat(d->dirfd, tmp, 0);
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
	       struct index_plan *plan, char *note, size_t notelen, char *msg,
	       size_t msglen)
{
	struct ccm_archive *a = NULL;
	struct tree *t = NULL;
	struct progress pr;
	char why[600] = "";
	int i, err;

	*ap = NULL;
	*tp = NULL;
	*loaded = 0;
	note[0] = '\0';
	err = ccm_archive_prepare(&a, (const char *const *)paths, npaths, o);
	if (err) {
		snprintf(msg, msglen, "cannot read the sources: %s",
			 ccm_strerror(err));
		return err;
	}
	make_key(a, layout, &plan->key);
	if (io->mode != INDEX_NONE && a->nfiles > 0 && !a->nbad) {
		const char *key = ccm_buf_cstr(&plan->key);

		plan_dests(io, a, plan);
		for (i = 0; i < plan->ndest; i++) {
			const struct index_dest *d = &plan->dest[i];

			err = try_load(d, key, a, &t, why, sizeof(why));
			if (!err) {
				snprintf(note, notelen, "index loaded from %.600s",
					 d->shown);
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
			if (i == plan->ndest - 1)
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
	*ap = a;
	*tp = t;
	return 0;
fail:
	tree_free(t);
	ccm_archive_free(a);
	return err ? err : -CCM_E_FORMAT;
}

/* Load the index just written to d in place of *ap, *tp. */
static void reload(struct index_plan *p, const struct index_dest *d,
		   struct ccm_archive **ap, struct tree **tp)
{
	struct ccm_archive *b = NULL;
	struct tree *t = NULL;
	char why[600];

	if (ccm_archive_shadow(*ap, &b))
		return;
	if (try_load(d, ccm_buf_cstr(&p->key), b, &t, why, sizeof(why)) == 0 &&
	    b->nentries == (*ap)->nentries) {
		ccm_archive_take_files(b, *ap);
		tree_free(*tp);
		ccm_archive_free(*ap);
		*ap = b;
		*tp = t;
		b = NULL;
		t = NULL;
	}
	tree_free(t);
	ccm_archive_free(b);
}

void index_store(const struct index_opts *io, struct index_plan *plan,
		 struct ccm_archive **ap, struct tree **tp)
{
	const struct ccm_archive *a = *ap;
	int i, err;

	if (io->mode == INDEX_NONE || a->nfiles == 0 || a->nbad ||
	    plan->key.oom)
		return;
	for (i = 0; i < plan->ndest; i++) {
		const struct index_dest *d = &plan->dest[i];

		err = save(d, ccm_buf_cstr(&plan->key), a, *tp);
		if (!err) {
			if (io->log)
				io->log("index written to %s", d->shown);
			reload(plan, d, ap, tp);
			break;
		}
		if (io->log)
			io->log("cannot write the index to %s: %s", d->shown,
				err == -EEXIST ? "a file that is not a ccmailfs "
						 "index is there" : strerror(-err));
	}
}
