/*
 * archive.c - every source scanned into one index of entries.
 *
 * The only eager work of a mount: scan each file once, and for each message
 * parse it (bounded), summarise it (date, subject, folder) and measure its
 * .eml with the renderer in count-only mode, so that stat sizes are exact
 * before any read.  Accounts follow SPEC 1.2: one per file by default,
 * switched by in-file markers, merged by name across files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ccm.h"
#include "lex.h"
#include "parse_internal.h"

struct build {
	struct ccm_archive *a;
	uint32_t file;
	uint32_t account;	/* current account of this file */
	ccm_progress_fn progress;
	void *progress_ctx;
	uint64_t total, before;	/* bytes in all files, before this one */
	uint64_t next_report;
	const char *pending;	/* default account, made on first use */
	int had_marker;
	size_t pending_len;
	uint32_t last_folder;	/* folder of the previous message, per file */
	uint64_t cursor_off, cursor_line;	/* incremental line count */
	uint64_t expect_off;	/* coverage: where the next segment starts */
	struct ccm_summary sum;
	struct ccm_measure *ms;	/* sizes on a second CPU, or NULL */
	struct ccm_buf meas;
	struct ccm_warnlist wl;
	struct ccm_buf tmp;
};

static uint32_t pool_add(struct ccm_archive *a, const char *s, size_t n)
{
	uint32_t off = (uint32_t)a->pool.len;

	ccm_buf_put(&a->pool, s, n);
	ccm_buf_putc(&a->pool, '\0');
	return off;
}

const char *ccm_archive_str(const struct ccm_archive *a, uint32_t off)
{
	return a->pool.p ? a->pool.p + off : "";
}

/*
 * Line numbers for the report: LF ends a line, and so does a CR not
 * followed by LF inside the range (CR-only line ends, CCQ-26).  This runs
 * over the whole export on every first mount, so it counts 16 bytes at a
 * time where SSE2 exists (every x86-64): two memchr calls per line cost
 * 40 % of the scan.
 */
static uint64_t count_lines(const char *d, uint64_t from, uint64_t to)
{
	const unsigned char *p = (const unsigned char *)d + from;
	const unsigned char *e = (const unsigned char *)d + to;
	uint64_t n = 0;

#ifdef __SSE2__
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');

	/* Byte lanes count matches (compare gives -1); summed before they
	 * can overflow, so no popcount instruction is needed. */
	while (e - p >= 17) {
		__m128i acc = _mm_setzero_si128();
		int k;

		for (k = 0; k < 127 && e - p >= 17; k++, p += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)p);
			__m128i w = _mm_loadu_si128((const __m128i *)(p + 1));

			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, lf));
			acc = _mm_sub_epi8(acc, _mm_andnot_si128(
				_mm_cmpeq_epi8(w, lf), _mm_cmpeq_epi8(v, cr)));
		}
		acc = _mm_sad_epu8(acc, _mm_setzero_si128());
		n += (uint64_t)_mm_cvtsi128_si32(acc) +
		     (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(acc, 8));
	}
#endif
	for (; p < e; p++)
		n += *p == '\n' || (*p == '\r' && !(p + 1 < e && p[1] == '\n'));
	return n;
}

uint64_t ccm_archive_line(const struct ccm_archive *a, uint32_t f,
			  uint64_t off)
{
	const struct ccm_file *file = &a->files[f];

	if (off > file->size)
		off = file->size;
	return 1 + (file->data ? count_lines(file->data, 0, off) : 0);
}

static uint64_t line_at(struct build *b, uint64_t off)
{
	const struct ccm_file *f = &b->a->files[b->file];

	if (off < b->cursor_off)
		return ccm_archive_line(b->a, b->file, off);
	b->cursor_line += count_lines(f->data, b->cursor_off, off);
	b->cursor_off = off;
	return b->cursor_line;
}

static int find_account(struct ccm_archive *a, const char *name, size_t n,
			uint32_t *out)
{
	size_t i;

	for (i = 0; i < a->naccounts; i++) {
		const char *s = ccm_archive_str(a, a->accounts[i].name);

		if (strlen(s) == n && memcmp(s, name, n) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	}
	if (ccm_grow((void **)&a->accounts, &a->acccap, a->naccounts,
		 sizeof(*a->accounts)))
		return -ENOMEM;
	memset(&a->accounts[a->naccounts], 0, sizeof(a->accounts[0]));
	a->accounts[a->naccounts].name = pool_add(a, name, n);
	*out = (uint32_t)a->naccounts++;
	return 0;
}

/*
 * The file's default account exists only if something lands in it, or if
 * the file has no marker at all (an empty export still shows its account,
 * CCQ-31).  Otherwise a file that starts with a marker would show an empty
 * directory named after the file.
 */
static int resolve_pending(struct build *b)
{
	int err = 0;

	if (b->pending)
		err = find_account(b->a, b->pending, b->pending_len, &b->account);
	b->pending = NULL;
	return err;
}

static int add_entry(struct build *b, struct ccm_entry **out)
{
	struct ccm_archive *a = b->a;

	if (resolve_pending(b))
		return -ENOMEM;

	if (ccm_grow((void **)&a->entries, &a->entcap, a->nentries,
		 sizeof(*a->entries)))
		return -ENOMEM;
	*out = &a->entries[a->nentries++];
	memset(*out, 0, sizeof(**out));
	(*out)->file = b->file;
	(*out)->account = b->account;
	(*out)->ordinal = ++a->accounts[b->account].nmsg +
			  a->accounts[b->account].nerr;
	(*out)->warn_first = (uint32_t)a->warns.n;
	return 0;
}

/* Read through the guarded mapping (ccm_archive_guard), unless the source
 * has shrunk under it once already. */
static int mapped_guarded(const struct ccm_file *f)
{
	return f->data && f->guarded &&
	       !__atomic_load_n(&f->tripped, __ATOMIC_RELAXED);
}

struct copy_job {
	char *buf;
	size_t len;
};

static int copy_out(void *arg, const char *p)
{
	struct copy_job *c = arg;

	memcpy(c->buf, p, c->len);
	return 0;
}

/*
 * Bytes [off, off+len) of file f: from the mapping (under the guard once
 * mounted), else with pread.  A fault or a short read means the source
 * changed under us.
 */
static int read_range(const struct ccm_file *f, uint64_t off, size_t len,
		      char *buf)
{
	size_t got = 0;

	if (mapped_guarded(f)) {
		struct copy_job c = { buf, len };

		return ccm_file_guarded(f, off, copy_out, &c);
	}
	if (f->data && !f->guarded) {
		memcpy(buf, f->data + off, len);
		return 0;
	}
	while (got < len) {
		ssize_t r = pread(f->fd, buf + got, len - got,
				  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -EIO;
		if (r == 0)
			return -CCM_E_CHANGED;
		got += (size_t)r;
	}
	return 0;
}

/* The text of an error entry: explanation, then the raw bytes. */
static int render_error(const struct ccm_archive *a, const struct ccm_entry *e,
			struct ccm_buf *out)
{
	const struct ccm_file *f = &a->files[e->file];
	const char *nl = a->opt.crlf ? "\r\n" : "\n";

	ccm_buf_printf(out, "ccmailfs could not read this entry as a message.%s%s",
		       nl, nl);
	ccm_buf_printf(out, "Source:  %s%s", f->name, nl);
	ccm_buf_printf(out, "Offset:  %llu (line %llu)%s",
		       (unsigned long long)e->off, (unsigned long long)e->line,
		       nl);
	ccm_buf_printf(out, "Length:  %llu bytes%s", (unsigned long long)e->len,
		       nl);
	ccm_buf_printf(out, "Account: %s%s",
		       ccm_archive_str(a, a->accounts[e->account].name), nl);
	ccm_buf_printf(out, "Problem: %s%s", ccm_reason_text(e->reason), nl);
	ccm_buf_printf(out,
		       "Action:  the raw bytes are kept below, unchanged; no "
		       "message was made of them.%s%s",
		       nl, nl);
	ccm_buf_printf(out, "--- raw bytes follow (%llu) ---%s",
		       (unsigned long long)e->len, nl);
	if (ccm_buf_skippable(out, (size_t)e->len)) {
		out->len += (size_t)e->len;
		return 0;
	}
	{
		/* Only the part inside the output window is read. */
		size_t start = out->len, lo = 0, hi = (size_t)e->len;
		char *raw;
		int err;

		if (out->windowed) {
			if (out->win_lo > start)
				lo = out->win_lo - start;
			if (out->win_hi - start < hi)
				hi = out->win_hi - start;
		}
		raw = malloc(hi > lo ? hi - lo : 1);
		if (!raw)
			return -ENOMEM;
		err = read_range(f, e->off + lo, hi - lo, raw);
		if (!err) {
			out->len = start + lo;
			ccm_buf_put(out, raw, hi - lo);
			out->len = start + (size_t)e->len;
		}
		free(raw);
		return err;
	}
}

/*
 * The rest of an entry once its .eml is measured, in export order (the
 * warning list and so the index bytes depend on it): a message's size and
 * warnings, an error entry's text.  line is the entry's line number,
 * counted when it was scanned, while its bytes are in cache: counted up to
 * 256 messages later, on the way back from measure.c, the count took 44 %
 * of a 100k --check's CPU samples instead of 7 %.
 */
static int apply_message(struct build *b, size_t idx, uint64_t line,
			 uint64_t size, const struct ccm_warnlist *wl)
{
	struct ccm_archive *a = b->a;
	struct ccm_entry *e = &a->entries[idx];
	size_t i;

	e->warn_first = (uint32_t)a->warns.n;
	e->size = size;
	for (i = 0; i < wl->n; i++)
		ccm_warn(&a->warns, wl->w[i].code, wl->w[i].a, wl->w[i].b);
	e->nwarn = (uint32_t)wl->n;
	if (e->nwarn)
		e->line = line;
	return 0;
}

static int apply_error(struct build *b, size_t idx, uint64_t line)
{
	struct ccm_archive *a = b->a;
	struct ccm_entry *e = &a->entries[idx];
	int err;

	e->warn_first = (uint32_t)a->warns.n;
	e->line = line;
	ccm_buf_clear(&b->meas);
	err = render_error(a, e, &b->meas);
	if (err)
		return err;
	e->size = b->meas.len;
	return 0;
}

static int measured(void *ctx, size_t idx, uint64_t line, int is_msg,
		    int err, uint64_t size, const struct ccm_warnlist *wl)
{
	if (err)
		return err;
	return is_msg ? apply_message(ctx, idx, line, size, wl) :
			apply_error(ctx, idx, line);
}

static int on_error(struct build *b, const struct ccm_seg *g)
{
	struct ccm_archive *a = b->a;
	struct ccm_entry *e;
	uint64_t line;
	int err;

	err = add_entry(b, &e);
	if (err)
		return err;
	/* add_entry counted it as a message; it is an error entry. */
	a->accounts[b->account].nmsg--;
	a->accounts[b->account].nerr++;
	e->kind = CCM_ENTRY_ERROR;
	e->reason = (uint8_t)g->reason;
	e->off = g->off;
	e->len = g->len;
	e->mtime = a->files[b->file].mtime;
	e->folder = b->last_folder;
	e->subject = 0;
	a->stats[b->file].nerr++;
	line = line_at(b, g->off);
	if (b->ms)
		return measure_put(b->ms, a->nentries - 1, line, NULL, NULL);
	return apply_error(b, a->nentries - 1, line);
}

static int on_message(struct build *b, const struct ccm_seg *g,
		      const struct ccm_msg *m)
{
	struct ccm_archive *a = b->a;
	struct ccm_render_ctx rc;
	struct ccm_entry *e;
	size_t i, nattach = 0;
	uint64_t line;
	int err;

	err = add_entry(b, &e);
	if (err)
		return err;
	e->kind = CCM_ENTRY_MESSAGE;
	e->off = g->off;
	e->len = g->len;
	err = ccm_msg_summarize(&a->opt, m, a->files[b->file].mtime, &b->sum);
	if (err)
		return err;
	e->mtime = b->sum.mtime;
	e->date_ok = (uint8_t)b->sum.date_ok;
	e->subject = pool_add(a, b->sum.subject.p ? b->sum.subject.p : "",
			      b->sum.subject.len);
	if (b->sum.folder.len)
		e->folder = pool_add(a, b->sum.folder.p, b->sum.folder.len);
	else
		e->folder = 0;	/* pool offset 0 is always "" */
	b->last_folder = e->folder;
	for (i = 0; i < m->nitems; i++)
		if (m->items[i].kind != CCM_ITEM_TEXT)
			nattach++;
	e->nattach = (uint16_t)(nattach > 65535 ? 65535 : nattach);
	a->nattach += nattach;
	a->stats[b->file].nmsg++;
	if (a->pool.oom)
		return -ENOMEM;

	memset(&rc, 0, sizeof(rc));
	rc.opt = &a->opt;
	rc.source_name = a->files[b->file].name;
	rc.account = ccm_archive_str(a, a->accounts[b->account].name);
	rc.ordinal = e->ordinal;
	rc.fallback_mtime = a->files[b->file].mtime;
	line = line_at(b, g->off);
	if (b->ms)
		return measure_put(b->ms, a->nentries - 1, line, m, &rc);
	ccm_buf_clear(&b->meas);
	b->wl.n = 0;
	err = ccm_eml_render(&rc, m, &b->meas, &b->wl);
	if (err)
		return err;
	return apply_message(b, a->nentries - 1, line, b->meas.len, &b->wl);
}

/* SPEC 1.2: the messages after a marker belong to its account. */
static int marker_account(struct build *b, const struct ccm_seg *g)
{
	int err;

	ccm_buf_clear(&b->tmp);
	err = ccm_cp_to_utf8(&b->a->opt, g->name.p, g->name.len, &b->tmp,
			     NULL);
	if (!err)
		err = find_account(b->a, b->tmp.p ? b->tmp.p : "", b->tmp.len,
				   &b->account);
	b->pending = NULL;
	b->had_marker = 1;
	return err;
}

static void report_progress(struct build *b, const struct ccm_seg *g)
{
	if (b->progress && b->before + g->off >= b->next_report) {
		b->progress(b->progress_ctx, b->before + g->off, b->total);
		b->next_report = b->before + g->off + (16u << 20);
	}
}

static int on_segment(void *ctx, const struct ccm_seg *g,
		      const struct ccm_msg *m)
{
	struct build *b = ctx;
	struct ccm_archive *a = b->a;
	struct ccm_file_stats *st = &a->stats[b->file];
	int err = 0;

	/* Coverage is measured, not assumed: segments must tile the file. */
	if (g->off > b->expect_off)
		st->gaps += g->off - b->expect_off;
	else if (g->off < b->expect_off)
		st->overlaps += b->expect_off - g->off;
	b->expect_off = g->off + g->len;
	st->bytes[g->kind] += g->len;

	report_progress(b, g);
	switch (g->kind) {
	case CCM_SEG_MESSAGE:
		err = on_message(b, g, m);
		break;
	case CCM_SEG_ERROR:
		err = on_error(b, g);
		break;
	case CCM_SEG_MARKER:
		err = marker_account(b, g);
		b->last_folder = 0;
		/* fall through */
	case CCM_SEG_NOISE:
		if (!err && !ccm_grow((void **)&a->notes, &a->notecap, a->nnotes,
				  sizeof(*a->notes))) {
			struct ccm_note *n = &a->notes[a->nnotes++];

			memset(n, 0, sizeof(*n));	/* stored as is */
			n->file = b->file;
			n->kind = (uint8_t)g->kind;
			n->off = g->off;
			n->len = g->len;
			st->nnotes++;
		}
		break;
	case CCM_SEG_PAD:
		break;
	}
	return err;
}

static const char *default_account(const struct ccm_archive *a,
				   const char *name, size_t *len, int lone)
{
	const char *dot;

	if (lone && a->opt.account && *a->opt.account) {
		*len = strlen(a->opt.account);
		return a->opt.account;
	}
	dot = strrchr(name, '.');
	*len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
	return name;
}

static int add_bad(struct ccm_archive *a, const char *path, int err)
{
	struct ccm_bad_source *nb;

	nb = realloc(a->bad, (a->nbad + 1) * sizeof(*a->bad));
	if (!nb)
		return -ENOMEM;
	a->bad = nb;
	a->bad[a->nbad].path = strdup(path);
	a->bad[a->nbad].err = err;
	a->nbad++;
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/*
 * Without the whole-file mapping (ccm_archive_unmap rather than
 * ccm_archive_guard), messages above this size are parsed from a mapping
 * of their own bytes (ccm_file_with_range) rather than a heap copy, so the
 * daemon's memory does not grow with attachment size; smaller ones are
 * cheaper to pread.
 */
#define MAP_FROM (256 * 1024)

struct render_job {
	const struct ccm_archive *a;
	const struct ccm_entry *e;
	struct ccm_buf *out;
	struct ccm_msg m;
};

/*
 * Parse and render the message whose bytes start at raw, with the file's
 * tail position as seen when indexing, so the parse (and the size) is
 * exactly the indexed one.
 */
static int render_from(void *arg, const char *raw)
{
	struct render_job *j = arg;
	const struct ccm_archive *a = j->a;
	const struct ccm_entry *e = j->e;
	const struct ccm_file *f = &a->files[e->file];
	struct ccm_render_ctx rc;
	int err;

	err = msg_parse_range(raw, e->off, (size_t)(f->tail - e->off), 0,
			      (size_t)e->len, &j->m);
	if (err)
		return err;
	memset(&rc, 0, sizeof(rc));
	rc.opt = &a->opt;
	rc.source_name = f->name;
	rc.account = ccm_archive_str(a, a->accounts[e->account].name);
	rc.ordinal = e->ordinal;
	rc.fallback_mtime = f->mtime;
	return ccm_eml_render(&rc, &j->m, j->out, NULL);
}

/* Expand directories into their regular files, sorted by name. */
static int expand(struct ccm_archive *a, const char *const *paths, size_t n,
		  char ***out, size_t *nout)
{
	char **list = NULL;
	size_t cnt = 0, cap = 0, i;
	struct stat st;

	for (i = 0; i < n; i++) {
		DIR *dir;
		struct dirent *de;
		char **names = NULL;
		size_t nn = 0, ncap = 0, j;

		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			dir = opendir(paths[i]);
			if (!dir) {
				if (add_bad(a, paths[i], -errno))
					goto oom;
				continue;
			}
			while ((de = readdir(dir))) {
				char *full;
				struct stat fst;

				if (de->d_name[0] == '.')
					continue;
				if (asprintf(&full, "%s/%s", paths[i],
					     de->d_name) < 0)
					break;
				if (stat(full, &fst) == 0 && !S_ISREG(fst.st_mode)) {
					free(full);
					continue;
				}
				if (ccm_grow((void **)&names, &ncap, nn,
					 sizeof(*names))) {
					free(full);
					break;
				}
				names[nn++] = full;
			}
			closedir(dir);
			qsort(names, nn, sizeof(*names), cmp_str);
		} else {
			if (ccm_grow((void **)&names, &ncap, nn, sizeof(*names)))
				goto oom;
			names[nn++] = strdup(paths[i]);
		}
		for (j = 0; j < nn; j++) {
			if (ccm_grow((void **)&list, &cap, cnt, sizeof(*list)))
				goto oom;
			list[cnt++] = names[j];
		}
		free(names);
	}
	*out = list;
	*nout = cnt;
	return 0;
oom:
	for (i = 0; i < cnt; i++)
		free(list[i]);
	free(list);
	return -ENOMEM;
}

/* An empty archive, as both prepare and shadow start one. */
static struct ccm_archive *archive_new(const struct ccm_options *o)
{
	struct ccm_archive *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->opt = *o;
	ccm_buf_init(&a->pool);
	pool_add(a, "", 0);
	return a;
}

/* Same directory as the file before: one descriptor for both. */
static void share_dir(struct ccm_file *f, const struct ccm_file *prev)
{
	const char *s1 = strrchr(f->path, '/'), *s2 = strrchr(prev->path, '/');
	size_t n1 = s1 ? (size_t)(s1 - f->path) : 0;
	size_t n2 = s2 ? (size_t)(s2 - prev->path) : 0;

	if (f->dirfd < 0 || prev->dirfd < 0 || n1 != n2 ||
	    memcmp(f->path, prev->path, n1))
		return;
	close(f->dirfd);
	f->dirfd = prev->dirfd;
	f->own_dirfd = 0;
}

int ccm_archive_prepare(struct ccm_archive **out, const char *const *paths,
			size_t npaths, const struct ccm_options *o)
{
	struct ccm_archive *a;
	char **list = NULL;
	size_t nlist = 0, i;
	int err;

	*out = NULL;
	a = archive_new(o);
	if (!a)
		return -ENOMEM;
	err = expand(a, paths, npaths, &list, &nlist);
	if (err)
		goto fail;
	a->lone = nlist == 1;
	a->files = calloc(nlist ? nlist : 1, sizeof(*a->files));
	a->stats = calloc(nlist ? nlist : 1, sizeof(*a->stats));
	if (!a->files || !a->stats) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nlist && !err; i++) {
		struct ccm_file *f = &a->files[a->nfiles];

		err = ccm_file_open(f, list[i]);
		if (err) {
			err = add_bad(a, list[i], err);
			continue;
		}
		if (f->mtime > a->newest_mtime)
			a->newest_mtime = f->mtime;
		f->tail = f->data ? lex_tail_padding(f->data, (size_t)f->size) : 0;
		if (a->nfiles > 0)
			share_dir(f, &a->files[a->nfiles - 1]);
		a->nfiles++;
	}
	for (i = 0; i < nlist; i++)
		free(list[i]);
	free(list);
	if (err)
		goto fail;
	*out = a;
	return 0;
fail:
	ccm_archive_free(a);
	return err;
}

int ccm_archive_shadow(const struct ccm_archive *a, struct ccm_archive **out)
{
	struct ccm_archive *b = archive_new(&a->opt);

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->lone = a->lone;
	b->newest_mtime = a->newest_mtime;
	b->files = calloc(a->nfiles ? a->nfiles : 1, sizeof(*b->files));
	b->stats = calloc(a->nfiles ? a->nfiles : 1, sizeof(*b->stats));
	if (!b->files || !b->stats) {
		ccm_archive_free(b);
		return -ENOMEM;
	}
	for (; b->nfiles < a->nfiles; b->nfiles++) {
		struct ccm_file *f = &b->files[b->nfiles];

		*f = a->files[b->nfiles];
		f->fd = f->dirfd = -1;
		f->own_dirfd = 0;
		f->data = NULL;
		f->path = strdup(f->path);
		f->name = strdup(f->name);
		if (!f->path || !f->name) {
			b->nfiles++;
			ccm_archive_free(b);
			return -ENOMEM;
		}
	}
	*out = b;
	return 0;
}

void ccm_archive_take_files(struct ccm_archive *to, struct ccm_archive *from)
{
	size_t i;

	for (i = 0; i < to->nfiles && i < from->nfiles; i++) {
		struct ccm_file *t = &to->files[i], *f = &from->files[i];

		t->fd = f->fd;
		t->dirfd = f->dirfd;
		t->own_dirfd = f->own_dirfd;
		t->data = f->data;
		f->fd = f->dirfd = -1;
		f->own_dirfd = 0;
		f->data = NULL;
	}
}

/*
 * The survey keeps only what decides the accounts (SPEC 1.2), with the same
 * rules as on_segment: a message or error entry makes the pending default
 * account, a marker names the next one.  Nothing is parsed beyond what
 * ccm_scan parses to cut the file.
 */
static int survey_segment(void *ctx, const struct ccm_seg *g,
			  const struct ccm_msg *m)
{
	struct build *b = ctx;
	struct ccm_file_stats *st = &b->a->stats[b->file];

	(void)m;
	report_progress(b, g);
	switch (g->kind) {
	case CCM_SEG_MESSAGE:
		st->nmsg++;
		return resolve_pending(b);
	case CCM_SEG_ERROR:
		st->nerr++;
		return resolve_pending(b);
	case CCM_SEG_MARKER:
		st->nnotes++;
		return marker_account(b, g);
	case CCM_SEG_NOISE:
		st->nnotes++;
		return 0;
	case CCM_SEG_PAD:
		break;
	}
	return 0;
}

int ccm_archive_survey(const struct ccm_archive *a, ccm_progress_fn progress,
		       void *ctx, struct ccm_archive **out)
{
	struct ccm_archive *sh;
	struct build b;
	uint64_t total = 0, before = 0;
	size_t i;
	int err = 0;

	*out = NULL;
	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	/* A separate archive: the scan's own pool and accounts stay those
	 * of a scan alone, so its index is the same bytes. */
	sh->opt = a->opt;
	sh->newest_mtime = a->newest_mtime;
	sh->lone = a->lone;
	ccm_buf_init(&sh->pool);
	pool_add(sh, "", 0);
	sh->stats = calloc(a->nfiles ? a->nfiles : 1, sizeof(*sh->stats));
	if (!sh->stats) {
		free(sh);
		return -ENOMEM;
	}
	for (i = 0; i < a->nfiles; i++)
		total += a->files[i].size;
	memset(&b, 0, sizeof(b));
	ccm_buf_init(&b.tmp);
	b.a = sh;
	b.progress = progress;
	b.progress_ctx = ctx;
	b.total = total;
	for (i = 0; i < a->nfiles && !err; i++) {
		const struct ccm_file *f = &a->files[i];

		b.file = (uint32_t)i;
		b.before = before;
		b.pending = default_account(a, f->name, &b.pending_len, a->lone);
		b.had_marker = 0;
		err = ccm_scan_cut(f, survey_segment, &b);
		if (!err && !b.had_marker)
			err = resolve_pending(&b);
		before += f->size;
	}
	if (!err && progress)
		progress(ctx, total, total);
	ccm_buf_release(&b.tmp);
	if (!err && sh->pool.oom)
		err = -ENOMEM;
	if (err)
		ccm_archive_free(sh);
	else
		*out = sh;
	return err;
}

int ccm_archive_scan(struct ccm_archive *a, ccm_progress_fn progress,
		     void *ctx)
{
	struct build b;
	uint64_t total = 0, before = 0;
	size_t i;
	int err = 0;

	for (i = 0; i < a->nfiles; i++)
		total += a->files[i].size;
	memset(&b, 0, sizeof(b));
	ccm_summary_init(&b.sum);
	ccm_buf_init(&b.meas);
	b.meas.count_only = 1;
	ccm_buf_init(&b.tmp);
	b.progress = progress;
	b.progress_ctx = ctx;
	b.total = total;
	err = measure_start(&b.ms, &a->opt, measured, &b);
	for (i = 0; i < a->nfiles && !err; i++) {
		struct ccm_file *f = &a->files[i];
		const char *acc;
		size_t acclen;

		b.a = a;
		b.file = (uint32_t)i;
		b.last_folder = 0;
		b.cursor_off = 0;
		b.cursor_line = 1;
		b.expect_off = 0;
		b.before = before;
		acc = default_account(a, f->name, &acclen, a->lone);
		b.pending = acc;
		b.pending_len = acclen;
		b.had_marker = 0;
		err = ccm_scan(f, on_segment, &b);
		/* Line numbers count within this file: finish it first. */
		if (!err && b.ms)
			err = measure_drain(b.ms);
		if (!err && !b.had_marker)
			err = resolve_pending(&b);
		if (!err && b.expect_off != f->size)
			a->stats[b.file].gaps += f->size - b.expect_off;
		before += f->size;
	}
	measure_stop(b.ms);
	if (!err && progress)
		progress(ctx, total, total);
	ccm_summary_release(&b.sum);
	ccm_buf_release(&b.meas);
	ccm_buf_release(&b.tmp);
	ccm_warnlist_release(&b.wl);
	if (!err && a->pool.oom)
		err = -ENOMEM;
	return err;
}

int ccm_archive_open(struct ccm_archive **out, const char *const *paths,
		     size_t npaths, const struct ccm_options *o)
{
	int err = ccm_archive_prepare(out, paths, npaths, o);

	if (!err) {
		err = ccm_archive_scan(*out, NULL, NULL);
		if (err) {
			ccm_archive_free(*out);
			*out = NULL;
		}
	}
	return err;
}

void ccm_archive_free(struct ccm_archive *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nfiles; i++)
		ccm_file_close(&a->files[i]);
	for (i = 0; i < a->nbad; i++)
		free(a->bad[i].path);
	free(a->bad);
	free(a->files);
	free(a->stats);
	if (!a->borrowed) {
		free(a->entries);
		free(a->accounts);
		free(a->notes);
		ccm_warnlist_release(&a->warns);
		ccm_buf_release(&a->pool);
	}
	if (a->held_mapped)
		munmap(a->held, a->heldlen);
	else
		free(a->held);
	free(a);
}

int ccm_archive_render(const struct ccm_archive *a, size_t i,
		       struct ccm_buf *out)
{
	const struct ccm_entry *e = &a->entries[i];
	const struct ccm_file *f = &a->files[e->file];
	size_t start = out->len;
	int err;

	if (e->kind == CCM_ENTRY_ERROR) {
		err = render_error(a, e, out);
		if (err)
			return err;
	} else {
		struct render_job j;

		j.a = a;
		j.e = e;
		j.out = out;
		ccm_msg_init(&j.m);
		if (mapped_guarded(f)) {
			err = ccm_file_guarded(f, e->off, render_from, &j);
		} else if (f->data && !f->guarded) {
			err = render_from(&j, f->data + e->off);
		} else if (e->len > MAP_FROM) {
			err = ccm_file_with_range(f, e->off, (size_t)e->len,
						  render_from, &j);
		} else {
			char *raw = malloc(e->len ? (size_t)e->len : 1);

			if (!raw) {
				ccm_msg_release(&j.m);
				return -ENOMEM;
			}
			err = read_range(f, e->off, (size_t)e->len, raw);
			if (!err)
				err = render_from(&j, raw);
			free(raw);
		}
		ccm_msg_release(&j.m);
		if (err)
			return err;
	}
	if (out->oom)
		return -ENOMEM;
	/* The size promised by stat must hold; never serve a partial file. */
	if (out->len - start != e->size)
		return -CCM_E_CHANGED;
	return 0;
}

void ccm_archive_unmap(struct ccm_archive *a)
{
	size_t i;

	for (i = 0; i < a->nfiles; i++) {
		struct ccm_file *f = &a->files[i];

		if (f->data)
			munmap((void *)f->data, f->size);
		f->data = NULL;
	}
}

void ccm_archive_guard(struct ccm_archive *a)
{
	size_t i;

	if (!ccm_file_guard_install()) {
		ccm_archive_unmap(a);
		return;
	}
	for (i = 0; i < a->nfiles; i++) {
		struct ccm_file *f = &a->files[i];

		if (!f->data)
			continue;
		/* Renders jump about: the scan's MADV_SEQUENTIAL would make
		 * reclaim drop pages as soon as they were read. */
		madvise((void *)f->data, f->size, MADV_NORMAL);
		f->guarded = 1;
	}
}

int ccm_archive_changed(const struct ccm_archive *a, char *why, size_t n)
{
	size_t i;

	for (i = 0; i < a->nfiles; i++) {
		const struct ccm_file *f = &a->files[i];
		struct stat st, pst;
		int gone;

		/* Never by path (see ccm_file.dirfd); without its directory
		 * only the open file itself is checked. */
		if (f->dirfd >= 0) {
			gone = fstatat(f->dirfd, f->name, &pst, 0) != 0;
		} else {
			gone = 0;
			pst.st_ino = (ino_t)f->ino;
			pst.st_dev = (dev_t)f->dev;
		}
		if (fstat(f->fd, &st) != 0 || (uint64_t)st.st_size != f->size ||
		    (int64_t)st.st_mtime != f->mtime ||
		    (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec !=
			    f->ctime_ns) {
			snprintf(why, n, "%s was modified after it was indexed "
				 "(now %lld bytes)", f->path,
				 (long long)st.st_size);
			return 1;
		}
		if (gone || (uint64_t)pst.st_ino != f->ino ||
		    (uint64_t)pst.st_dev != f->dev) {
			snprintf(why, n, "%s was %s after it was indexed; the "
				 "indexed copy is still served", f->path,
				 gone ? "deleted" : "replaced");
			return 1;
		}
	}
	return 0;
}

/* --------------------------------------------------------------- index */

static uint64_t fnv64(uint64_t h, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void ccm_archive_key(const struct ccm_archive *a, const char *extra,
		     struct ccm_buf *out)
{
	const struct ccm_options *o = &a->opt;
	size_t i;

	/* The struct sizes catch an index written by another build. */
	ccm_buf_printf(out, "ccmailfs index %d, libccm %s, structs %zu/%zu/%zu/"
		       "%zu/%zu\n", CCM_INDEX_VERSION, CCM_VERSION,
		       sizeof(struct ccm_entry), sizeof(struct ccm_account),
		       sizeof(struct ccm_warning), sizeof(struct ccm_note),
		       sizeof(struct ccm_file_stats));
	ccm_buf_printf(out, "options codepage=%d tz=%d/%d dateorder=%d crlf=%d "
		       "account=%s lone=%d %s", o->codepage, o->tz_set,
		       o->tz_minutes, (int)o->dateorder, o->crlf,
		       o->account ? o->account : "", a->lone, extra ? extra : "");
	for (i = 0; i < o->ndomains; i++)
		ccm_buf_printf(out, " domain=%s=%s", o->domains[i].po,
			       o->domains[i].domain);
	ccm_buf_putc(out, '\n');
	for (i = 0; i < a->nfiles; i++) {
		const struct ccm_file *f = &a->files[i];
		uint64_t h = 1469598103934665603ULL;
		size_t head = f->size < 65536 ? (size_t)f->size : 65536;
		char *canon;

		/* Size and mtime are cheap but can lie (a copy keeps mtime,
		 * an edit can keep the size): the ends of the file are read
		 * too, the way ratarmount samples entries.  Mapped or not,
		 * the same bytes are hashed. */
		char *buf = malloc(head ? head : 1);

		if (buf && read_range(f, 0, head, buf) == 0) {
			h = fnv64(h, buf, head);
			if (read_range(f, f->size - head, head, buf) == 0)
				h = fnv64(h, buf, head);
		}
		free(buf);
		/* The same export named by another path (relative, through
		 * a symlink) is the same index. */
		canon = realpath(f->path, NULL);
		ccm_buf_printf(out, "source %s size=%llu mtime=%lld ends=%016llx\n",
			       canon ? canon : f->path,
			       (unsigned long long)f->size,
			       (long long)f->mtime, (unsigned long long)h);
		free(canon);
	}
	for (i = 0; i < a->nbad; i++)
		ccm_buf_printf(out, "unreadable %s\n", a->bad[i].path);
}

struct sec_head {
	uint32_t tag, elem;
	uint64_t count;
};

void ccm_sec_put(struct ccm_buf *out, uint32_t tag, const void *p, size_t n)
{
	static const char zero[8];
	struct sec_head h = { tag, 1, n };

	ccm_buf_put(out, &h, sizeof(h));
	ccm_buf_put(out, p, n);
	ccm_buf_put(out, zero, (8 - n % 8) % 8);
}

int ccm_sec_get(const char *p, size_t n, size_t *pos, uint32_t tag,
		size_t elem, const void **data, size_t *count)
{
	struct sec_head h;

	/* Sections are 8-byte aligned: their arrays are read in place. */
	if (n - *pos < sizeof(h) || ((uintptr_t)(p + *pos) & 7))
		return -CCM_E_FORMAT;
	memcpy(&h, p + *pos, sizeof(h));
	if (h.tag != tag || h.elem != 1 || h.count > n - *pos - sizeof(h) ||
	    (elem && h.count % elem))
		return -CCM_E_FORMAT;
	*data = p + *pos + sizeof(h);
	*count = elem ? (size_t)h.count / elem : (size_t)h.count;
	*pos += sizeof(h) + (size_t)h.count + (8 - h.count % 8) % 8;
	if (*pos > n)
		return -CCM_E_FORMAT;
	return 0;
}

#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | \
			 (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

void ccm_archive_save(const struct ccm_archive *a, struct ccm_buf *out)
{
	uint64_t misc[2] = { a->nattach, (uint64_t)a->newest_mtime };
	uint64_t *tails = calloc(a->nfiles + 1, sizeof(*tails));
	size_t i;

	if (!tails) {
		out->oom = 1;
		return;
	}
	for (i = 0; i < a->nfiles; i++)
		tails[i] = a->files[i].tail;
	ccm_sec_put(out, TAG('E', 'N', 'T', 'R'), a->entries,
		    a->nentries * sizeof(*a->entries));
	ccm_sec_put(out, TAG('A', 'C', 'C', 'T'), a->accounts,
		    a->naccounts * sizeof(*a->accounts));
	ccm_sec_put(out, TAG('W', 'A', 'R', 'N'), a->warns.w,
		    a->warns.n * sizeof(*a->warns.w));
	ccm_sec_put(out, TAG('N', 'O', 'T', 'E'), a->notes,
		    a->nnotes * sizeof(*a->notes));
	ccm_sec_put(out, TAG('S', 'T', 'A', 'T'), a->stats,
		    a->nfiles * sizeof(*a->stats));
	ccm_sec_put(out, TAG('T', 'A', 'I', 'L'), tails,
		    a->nfiles * sizeof(*tails));
	ccm_sec_put(out, TAG('P', 'O', 'O', 'L'), a->pool.p, a->pool.len);
	ccm_sec_put(out, TAG('M', 'I', 'S', 'C'), misc, sizeof(misc));
	free(tails);
}

void ccm_archive_hold(struct ccm_archive *a, void *p, size_t len, int mapped)
{
	a->held = p;
	a->heldlen = len;
	a->held_mapped = mapped;
}

/* The restored array of n elements at arr: every one passes ok(ctx, e). */
static int walk_all(const struct ccm_reader *rd, const char *p, size_t n,
		    const void *arr, size_t count, size_t esz,
		    int (*ok)(const struct ccm_archive *, const void *, void *),
		    const struct ccm_archive *a, void *ctx)
{
	struct ccm_walk w;
	const void *e;
	int bad = 0;

	ccm_walk_init(&w, rd, p, n, arr, count, esz);
	while (!bad && (e = ccm_walk_next(&w)))
		bad = !ok(a, e, ctx);
	if (ccm_walk_end(&w))
		return w.err;
	return bad ? -CCM_E_FORMAT : 0;
}

struct restore_lim {
	size_t nacc, nw, npool;
	const uint64_t *tails;
	uint64_t nmsg, nerr;	/* entries of each kind, counted */
};

static int account_ok(const struct ccm_archive *a, const void *x, void *ctx)
{
	const struct ccm_account *acc = x;
	struct restore_lim *l = ctx;

	(void)a;
	/* The accounts' counts must add up to the entries' (below). */
	l->nmsg += acc->nmsg;
	l->nerr += acc->nerr;
	return acc->name < l->npool && l->nmsg >= acc->nmsg &&
	       l->nerr >= acc->nerr;
}

static int warning_ok(const struct ccm_archive *a, const void *x, void *ctx)
{
	(void)a;
	(void)ctx;
	return (unsigned)((const struct ccm_warning *)x)->code < CCM_W_COUNT;
}

static int note_ok(const struct ccm_archive *a, const void *x, void *ctx)
{
	const struct ccm_note *no = x;

	(void)ctx;
	return no->file < a->nfiles && no->off <= a->files[no->file].size &&
	       no->len <= a->files[no->file].size - no->off;
}

static int entry_ok(const struct ccm_archive *a, const void *x, void *ctx)
{
	const struct ccm_entry *e = x;
	struct restore_lim *l = ctx;

	if (e->kind == CCM_ENTRY_MESSAGE)
		l->nmsg--;
	else
		l->nerr--;
	return !(e->file >= a->nfiles || e->account >= l->nacc ||
		 e->off > a->files[e->file].size ||
		 e->len > a->files[e->file].size - e->off ||
		 e->off > l->tails[e->file] || e->subject >= l->npool ||
		 e->folder >= l->npool || e->warn_first > l->nw ||
		 e->nwarn > l->nw - e->warn_first || e->kind > 1 ||
		 e->reason >= CCM_R_COUNT);
}

int ccm_archive_restore(struct ccm_archive *a, const char *p, size_t n,
			size_t *pos, const struct ccm_reader *rd)
{
	const void *d;
	const uint64_t *tails, *misc;
	const struct ccm_entry *ent;
	const struct ccm_account *acc;
	const struct ccm_warning *w;
	const struct ccm_note *no;
	const char *pool;
	size_t nent, nacc, nw, nno, nst, ntail, npool, nmisc, i;
	struct restore_lim lim;
	const void *st;
	int err;

	if ((err = ccm_sec_get(p, n, pos, TAG('E', 'N', 'T', 'R'),
			       sizeof(*ent), &d, &nent)))
		return err;
	ent = d;
	if ((err = ccm_sec_get(p, n, pos, TAG('A', 'C', 'C', 'T'),
			       sizeof(*acc), &d, &nacc)))
		return err;
	acc = d;
	if ((err = ccm_sec_get(p, n, pos, TAG('W', 'A', 'R', 'N'),
			       sizeof(*w), &d, &nw)))
		return err;
	w = d;
	if ((err = ccm_sec_get(p, n, pos, TAG('N', 'O', 'T', 'E'),
			       sizeof(*no), &d, &nno)))
		return err;
	no = d;
	if ((err = ccm_sec_get(p, n, pos, TAG('S', 'T', 'A', 'T'),
			       sizeof(struct ccm_file_stats), &st, &nst)))
		return err;
	if ((err = ccm_sec_get(p, n, pos, TAG('T', 'A', 'I', 'L'),
			       sizeof(uint64_t), &d, &ntail)))
		return err;
	tails = d;
	if ((err = ccm_sec_get(p, n, pos, TAG('P', 'O', 'O', 'L'), 0, &d,
			       &npool)))
		return err;
	pool = d;
	if ((err = ccm_sec_get(p, n, pos, TAG('M', 'I', 'S', 'C'),
			       sizeof(uint64_t), &d, &nmisc)))
		return err;
	misc = d;

	/* Never trust it: every count, offset and index is checked. */
	if (nst != a->nfiles || ntail != a->nfiles || nmisc != 2 ||
	    npool == 0 || pool[npool - 1] != '\0' || nacc == 0 ||
	    nent > UINT32_MAX || nw > UINT32_MAX || npool > UINT32_MAX)
		return -CCM_E_FORMAT;
	for (i = 0; i < a->nfiles; i++)
		if (tails[i] > a->files[i].size)
			return -CCM_E_FORMAT;
	memset(&lim, 0, sizeof(lim));
	lim.nacc = nacc;
	lim.nw = nw;
	lim.npool = npool;
	lim.tails = tails;
	if ((err = walk_all(rd, p, n, acc, nacc, sizeof(*acc), account_ok, a,
			    &lim)) ||
	    (err = walk_all(rd, p, n, w, nw, sizeof(*w), warning_ok, a,
			    NULL)) ||
	    (err = walk_all(rd, p, n, no, nno, sizeof(*no), note_ok, a,
			    NULL)) ||
	    (err = walk_all(rd, p, n, ent, nent, sizeof(*ent), entry_ok, a,
			    &lim)))
		return err;
	if (lim.nmsg || lim.nerr)
		return -CCM_E_FORMAT;
	for (i = 0; i < a->nfiles; i++)
		a->files[i].tail = tails[i];
	/* Borrowed from p, never written: nothing is added after a scan. */
	free(a->entries);
	free(a->accounts);
	free(a->warns.w);
	free(a->notes);
	ccm_buf_release(&a->pool);
	a->borrowed = 1;
	a->pool.p = (char *)pool;
	a->pool.len = npool;
	a->entries = (struct ccm_entry *)ent;
	a->accounts = (struct ccm_account *)acc;
	a->warns.w = (struct ccm_warning *)w;
	a->notes = (struct ccm_note *)no;
	memcpy(a->stats, st, nst * sizeof(*a->stats));
	a->nentries = a->entcap = nent;
	a->naccounts = a->acccap = nacc;
	a->warns.n = a->warns.cap = nw;
	a->nnotes = a->notecap = nno;
	a->nattach = misc[0];
	a->newest_mtime = (int64_t)misc[1];
	return 0;
}
