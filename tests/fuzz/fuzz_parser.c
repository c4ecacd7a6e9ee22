/*
 * fuzz_parser.c - libFuzzer target over the whole parse-and-render path.
 *
 * The input is an export file as it would be mapped.  Its first byte also
 * picks the options (code page, line ends, date order, time zone, account,
 * domain map), so one corpus covers every option combination without a
 * separate header that would make the seed files unlike real exports.
 *
 * Besides "no crash, no leak, no UB" (the sanitizers), the target checks
 * the guarantees the rest of ccmailfs relies on and aborts when one breaks:
 *  - segments tile the input (SPEC 1.3, the byte-coverage proof);
 *  - a count-only render has exactly the length of a real render (stat sizes
 *    are exact before the first read, SPEC 2);
 *  - ccm_msg_parse of a segment gives what the scan gave (determinism);
 *  - converted text, subjects and folders are valid UTF-8;
 *  - the .eml has no NUL, no bare CR or LF for the chosen line end, and no
 *    line over 998 bytes (RFC 5322 2.1.1, 2.3);
 *  - every archive entry renders to exactly its indexed size, and any
 *    window of it (ccm_buf_window) to exactly those bytes, and tree names
 *    are unique, valid UTF-8, at most 255 bytes, without '/', control bytes
 *    or a leading dot (SPEC 2);
 *  - the persistent index round-trips, and a corrupted one is refused or
 *    at least never crashes a render.
 * The archive and tree half runs only on inputs under 64 KB: it writes the
 * input to a memfd and opens it by path, which costs syscalls per input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ccm.h"
#include "report.h"
#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The archive half re-reads the input through the file system. */
#define ARCHIVE_MAX (64 * 1024)
/* Slices given to the decoders directly, beyond what rendering does. */
#define SLICE_MAX 4096
/* RFC 5322 2.1.1: a line is at most 998 characters without its CRLF. */
#define LINE_MAX_EML 998

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			fail(__LINE__, #cond);                               \
	} while (0)

static void fail(int line, const char *what)
{
	fprintf(stderr, "fuzz_parser.c:%d: check failed: %s\n", line, what);
	abort();
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			min = 0x80;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			min = 0x800;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			min = 0x10000;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i - 1 < need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Line-level checks of a rendered .eml.  An empty render is legal only for
 * nothing; every message has headers, so it must end in a line end too.
 */
static void check_eml(const char *p, size_t n, int crlf)
{
	size_t linelen = 0, i;

	CHECK(n > 0);
	CHECK(memchr(p, '\0', n) == NULL);
	for (i = 0; i < n; i++) {
		if (p[i] == '\r') {
			CHECK(crlf && i + 1 < n && p[i + 1] == '\n');
			continue;
		}
		if (p[i] == '\n') {
			CHECK(!crlf || (i > 0 && p[i - 1] == '\r'));
			linelen = 0;
			continue;
		}
		linelen++;
		CHECK(linelen <= LINE_MAX_EML);
	}
	CHECK(p[n - 1] == '\n');
}

/* Option variants from one byte: each bit field is one option. */
static void options_from_byte(struct ccm_options *o, uint8_t sel)
{
	static const char *const cps[] = {
		"codepage=850", "codepage=437", "codepage=932", "codepage=1252",
	};
	static const char *const orders[] = {
		"dateorder=mdy", "dateorder=dmy", "dateorder=ymd", "dateorder=mdy",
	};
	char err[160];

	ccm_options_init(o);
	CHECK(ccm_options_set(o, cps[sel & 3], err, sizeof(err)) == 0);
	if (sel & 4)
		CHECK(ccm_options_set(o, "crlf", err, sizeof(err)) == 0);
	CHECK(ccm_options_set(o, orders[(sel >> 3) & 3], err,
			      sizeof(err)) == 0);
	if (sel & 0x20)
		CHECK(ccm_options_set(o, (sel & 0x40) ? "tz=-0800" : "tz=+0130",
				      err, sizeof(err)) == 0);
	if (sel & 0x80) {
		CHECK(ccm_options_set(o, "account=Fuzz User", err,
				      sizeof(err)) == 0);
		CHECK(ccm_options_set(o, "domain=PO1=example.com", err,
				      sizeof(err)) == 0);
	}
}

static void check_date(const struct ccm_options *o, const char *p, size_t n)
{
	struct ccm_date d;
	struct ccm_buf b;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = ccm_date_parse(o, p, n, &d);
	CHECK((rc == 0) == (d.ok != 0));
	if (!d.ok)
		return;
	CHECK(d.mon >= 1 && d.mon <= 12);
	CHECK(d.day >= 1 && d.day <= 31);
	CHECK(d.hour >= 0 && d.hour <= 23);
	CHECK(d.min >= 0 && d.min <= 59);
	CHECK(d.sec >= 0 && d.sec <= 60);
	ccm_buf_init(&b);
	ccm_date_format(o, d.epoch, &b);
	CHECK(!b.oom && b.len > 0 && b.len < 64);
	for (size_t i = 0; i < b.len; i++)
		CHECK(b.p[i] >= 0x20 && b.p[i] < 0x7f);
	ccm_buf_release(&b);
}

static void check_cp(const struct ccm_options *o, const char *p, size_t n)
{
	struct ccm_buf b;
	size_t nbad = 0;

	ccm_buf_init(&b);
	CHECK(ccm_cp_to_utf8(o, p, n, &b, &nbad) == 0);
	CHECK(!b.oom);
	CHECK(nbad <= n);
	CHECK(utf8_valid((const unsigned char *)b.p, b.len));
	ccm_buf_release(&b);
}

struct scan_ctx {
	const struct ccm_file *f;
	const struct ccm_options *o;
	uint64_t next;		/* where the next segment must start */
	uint64_t nmsg;
};

static void check_same_parse(const struct ccm_msg *a, const struct ccm_msg *b)
{
	CHECK(a->off == b->off && a->len == b->len);
	CHECK(a->nhdr == b->nhdr);
	CHECK(a->nitems == b->nitems);
	CHECK(a->has_contents == b->has_contents);
	CHECK(a->warn.n == b->warn.n);
	for (size_t i = 0; i < a->nhdr; i++) {
		CHECK(a->hdr[i].off == b->hdr[i].off);
		CHECK(a->hdr[i].value.p == b->hdr[i].value.p);
		CHECK(a->hdr[i].value.len == b->hdr[i].value.len);
	}
	for (size_t i = 0; i < a->nitems; i++) {
		CHECK(a->items[i].kind == b->items[i].kind);
		CHECK(a->items[i].payload.p == b->items[i].payload.p);
		CHECK(a->items[i].payload.len == b->items[i].payload.len);
	}
}

/* Every slice the parser hands out must lie inside the message. */
static void check_in_msg(const struct ccm_file *f, const struct ccm_msg *m,
			 struct ccm_slice s)
{
	const char *lo = f->data + m->off, *hi = lo + m->len;

	if (s.len == 0)
		return;
	CHECK(s.p >= lo && s.p <= hi && s.len <= (size_t)(hi - s.p));
}

static void check_message(struct scan_ctx *c, const struct ccm_seg *seg,
			  const struct ccm_msg *m)
{
	const struct ccm_options *o = c->o;
	struct ccm_render_ctx rc = {
		.opt = o,
		.source_name = "fuzz.ccm",
		.account = "fuzz",
		.ordinal = ++c->nmsg,
		.fallback_mtime = 896776740,
	};
	struct ccm_summary s;
	struct ccm_buf cnt, out;
	struct ccm_warnlist wl = { 0 };
	struct ccm_msg again;

	CHECK(m != NULL);
	CHECK(m->off == seg->off && m->len == seg->len);
	for (size_t i = 0; i < m->nhdr; i++) {
		check_in_msg(c->f, m, m->hdr[i].name);
		check_in_msg(c->f, m, m->hdr[i].value);
		check_date(o, m->hdr[i].value.p, m->hdr[i].value.len);
		check_cp(o, m->hdr[i].value.p, m->hdr[i].value.len);
	}
	for (size_t i = 0; i < m->nitems; i++) {
		check_in_msg(c->f, m, m->items[i].word);
		check_in_msg(c->f, m, m->items[i].title);
		check_in_msg(c->f, m, m->items[i].payload);
	}
	(void)ccm_msg_header(m, "Subject");

	ccm_summary_init(&s);
	CHECK(ccm_msg_summarize(o, m, 0, &s) == 0);
	CHECK(utf8_valid((const unsigned char *)s.subject.p, s.subject.len));
	CHECK(utf8_valid((const unsigned char *)s.folder.p, s.folder.len));
	ccm_summary_release(&s);

	ccm_buf_init(&cnt);
	cnt.count_only = 1;
	CHECK(ccm_eml_render(&rc, m, &cnt, NULL) == 0);
	ccm_buf_init(&out);
	CHECK(ccm_eml_render(&rc, m, &out, &wl) == 0);
	CHECK(!out.oom);
	if (cnt.len != out.len) {
		fprintf(stderr, "fuzz_parser: count-only %zu != rendered %zu "
			"(message at %llu)\n", cnt.len, out.len,
			(unsigned long long)m->off);
		abort();
	}
	check_eml(out.p, out.len, o->crlf);
	for (size_t i = 0; i < wl.n; i++) {
		ccm_buf_clear(&out);
		ccm_warning_format(&wl.w[i], &out);
		CHECK(out.len > 0);
	}
	ccm_warnlist_release(&wl);
	ccm_buf_release(&out);
	ccm_buf_release(&cnt);

	ccm_msg_init(&again);
	CHECK(ccm_msg_parse(c->f, seg->off, seg->len, &again) == 0);
	check_same_parse(m, &again);
	ccm_msg_release(&again);
}

static int on_seg(void *ctx, const struct ccm_seg *seg, const struct ccm_msg *m)
{
	struct scan_ctx *c = ctx;

	CHECK(seg->off == c->next);
	CHECK(seg->len > 0);
	CHECK(seg->len <= c->f->size - seg->off);
	c->next += seg->len;
	if (seg->kind == CCM_SEG_MESSAGE)
		check_message(c, seg, m);
	else if (seg->kind == CCM_SEG_ERROR)
		CHECK(seg->reason >= 0 && seg->reason < CCM_R_COUNT);
	return 0;
}

/*
 * SPEC 2: what a tree name may be.  Maildir++ folder directories are the one
 * exception to "no leading dot": ".Folder.Sub" is how Maildir++ names them.
 */
static void check_name(const char *name, int dot_ok)
{
	size_t n = strlen(name);

	CHECK(n > 0 && n <= 255);
	CHECK(dot_ok || name[0] != '.');
	CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	CHECK(utf8_valid((const unsigned char *)name, n));
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		CHECK(ch != '/' && ch >= 0x20 && ch != 0x7f);
	}
}

static void check_tree(const struct ccm_archive *a, enum tree_layout layout)
{
	struct tree *t = NULL;
	struct ccm_buf b;
	struct stat st;

	CHECK(tree_build(&t, a, layout) == 0);
	ccm_buf_init(&b);
	/* The summary file at the root, built as the mount builds it. */
	{
		struct report_counts rc;

		CHECK(report_build(a, t, &b, &rc) == 0);
		CHECK(rc.coverage_ok);
		CHECK(tree_set_report(t, b.p, b.len) == 0);
	}
	for (uint64_t ino = TREE_ROOT + 1; ino <= t->nnodes; ino++) {
		const struct tree_node *nd = tree_node(t, ino);
		const char *name = tree_name(t, ino);
		uint64_t found = 0;

		CHECK(nd != NULL && name != NULL);
		check_name(name, layout == TREE_LAYOUT_MAILDIR &&
				 nd->kind == TREE_DIR);
		/* Unique in its directory: the name finds this very node. */
		CHECK(tree_lookup(t, nd->parent, name, strlen(name),
				  &found) == 0);
		CHECK(found == ino);
		CHECK(tree_stat(t, ino, &st) == 0);
		if (nd->kind == TREE_ENTRY) {
			CHECK(nd->entry < a->nentries);
			CHECK((uint64_t)st.st_size == a->entries[nd->entry].size);
			ccm_buf_clear(&b);
			CHECK(tree_xattr_list(t, ino, &b) == 0);
		}
	}
	ccm_buf_release(&b);
	tree_free(t);
}

/* struct ccm_reader over a buffer: what pread of the file would give. */
static int copy_read(void *ctx, void *dst, size_t len, uint64_t off)
{
	const struct ccm_buf *b = ctx;

	CHECK(off <= b->len && len <= b->len - off);
	memcpy(dst, b->p + off, len);
	return 0;
}

/*
 * The persistent index (fs/index.c): what ccm_archive_save writes,
 * ccm_archive_restore must read back into a freshly prepared archive as the
 * same entries.  Then one byte of it is changed, at a place and to a value
 * taken from the input's last bytes so that the fuzzer can steer it: a
 * corrupt index is refused (-CCM_E_FORMAT) or, if it still passes every
 * check, renders without crashing.  It is never trusted blindly.
 */
static void check_index(const struct ccm_archive *a, const char *const *paths,
			const struct ccm_options *o, const uint8_t *data,
			size_t size)
{
	struct ccm_archive *b = NULL;
	struct ccm_buf idx, out;
	size_t pos = 0, at;
	uint8_t flip;
	int err;

	ccm_buf_init(&idx);
	ccm_archive_save(a, &idx);
	CHECK(!idx.oom);
	CHECK(ccm_archive_prepare(&b, paths, 1, o) == 0);
	err = ccm_archive_restore(b, idx.p, idx.len, &pos, NULL);
	if (err) {
		fprintf(stderr, "fuzz_parser: own index refused: %s\n",
			ccm_strerror(err));
		abort();
	}
	CHECK(pos == idx.len);
	CHECK(b->nentries == a->nentries);
	for (size_t i = 0; i < a->nentries; i++) {
		CHECK(b->entries[i].off == a->entries[i].off);
		CHECK(b->entries[i].len == a->entries[i].len);
		CHECK(b->entries[i].size == a->entries[i].size);
		CHECK(b->entries[i].mtime == a->entries[i].mtime);
		CHECK(b->entries[i].kind == a->entries[i].kind);
	}
	ccm_archive_free(b);

	if (idx.len == 0 || size < 4) {
		ccm_buf_release(&idx);
		return;
	}
	at = ((size_t)data[size - 4] << 16 | (size_t)data[size - 3] << 8 |
	      data[size - 2]) % idx.len;
	flip = data[size - 1] ? data[size - 1] : 0x80;
	idx.p[at] = (char)(idx.p[at] ^ flip);
	b = NULL;
	pos = 0;
	CHECK(ccm_archive_prepare(&b, paths, 1, o) == 0);
	err = ccm_archive_restore(b, idx.p, idx.len, &pos, NULL);
	if (err != 0 && err != -CCM_E_FORMAT && err != -CCM_E_LIMIT) {
		fprintf(stderr, "fuzz_parser: corrupt index (byte %zu ^ 0x%02x):"
			" %s\n", at, flip, ccm_strerror(err));
		abort();
	}
	if (err == 0) {
		ccm_buf_init(&out);
		for (size_t i = 0; i < b->nentries; i++) {
			ccm_buf_clear(&out);
			if (ccm_archive_render(b, i, &out) == 0)
				CHECK(out.len == b->entries[i].size);
		}
		ccm_buf_release(&out);
	}
	ccm_archive_free(b);
	/* Through a reader (fs/index.c reads the arrays with pread), the
	 * same verdict. */
	b = NULL;
	pos = 0;
	CHECK(ccm_archive_prepare(&b, paths, 1, o) == 0);
	{
		struct ccm_reader rd = { copy_read, &idx };

		CHECK(ccm_archive_restore(b, idx.p, idx.len, &pos, &rd) == err);
	}
	ccm_archive_free(b);
	ccm_buf_release(&idx);
}

static void check_archive(const uint8_t *data, size_t size,
			  const struct ccm_options *o)
{
	static int fd = -1;
	char path[64];
	const char *paths[1] = { path };
	struct ccm_archive *a = NULL;
	struct ccm_buf out, win;

	/* One memfd for the whole run, rewritten for every input. */
	if (fd < 0) {
		fd = memfd_create("fuzz.ccm", MFD_CLOEXEC);
		CHECK(fd >= 0);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	CHECK(ccm_archive_open(&a, paths, 1, o) == 0 && a != NULL);
	ccm_buf_init(&out);
	ccm_buf_init(&win);
	for (size_t i = 0; i < a->nentries; i++) {
		int err;

		ccm_buf_clear(&out);
		err = ccm_archive_render(a, i, &out);
		if (err != 0) {
			fprintf(stderr, "fuzz_parser: entry %zu: %s\n", i,
				ccm_strerror(err));
			abort();
		}
		if (out.len != a->entries[i].size) {
			fprintf(stderr, "fuzz_parser: entry %zu rendered %zu "
				"bytes, indexed size %llu\n", i, out.len,
				(unsigned long long)a->entries[i].size);
			abort();
		}
		/* Windows of the render (the mount's reads of large files)
		 * hold exactly those bytes of it. */
		for (size_t wn = 1; wn < out.len; wn = wn * 5 + 3) {
			size_t lo = (out.len * 7 / 11 + wn) % out.len;
			size_t want = out.len - lo < wn ? out.len - lo : wn;

			ccm_buf_window(&win, lo, wn);
			CHECK(ccm_archive_render(a, i, &win) == 0);
			CHECK(win.len == out.len);
			CHECK(ccm_buf_stored(&win) == want);
			CHECK(memcmp(win.p, out.p + lo, want) == 0);
		}
		(void)ccm_archive_line(a, a->entries[i].file,
				       a->entries[i].off);
	}
	ccm_buf_release(&win);
	ccm_buf_release(&out);
	for (size_t i = 0; i < a->nfiles; i++)
		CHECK(a->stats[i].gaps == 0 && a->stats[i].overlaps == 0);
	check_tree(a, TREE_LAYOUT_PLAIN);
	check_tree(a, TREE_LAYOUT_MAILDIR);
	check_index(a, paths, o, data, size);
	ccm_archive_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccm_options o;
	struct ccm_file f;
	struct scan_ctx c;

	options_from_byte(&o, size ? data[0] : 0);

	memset(&f, 0, sizeof(f));
	f.data = size ? (const char *)data : NULL;
	f.size = size;
	f.fd = -1;
	f.name = (char *)"fuzz.ccm";
	memset(&c, 0, sizeof(c));
	c.f = &f;
	c.o = &o;
	CHECK(ccm_scan(&f, on_seg, &c) == 0);
	CHECK(c.next == size);

	/* The decoders on raw bytes, not only on what the parser cut out. */
	check_date(&o, (const char *)data, size < 64 ? size : 64);
	check_cp(&o, (const char *)data, size < SLICE_MAX ? size : SLICE_MAX);

	if (size < ARCHIVE_MAX)
		check_archive(data, size, &o);
	ccm_options_release(&o);
	return 0;
}
