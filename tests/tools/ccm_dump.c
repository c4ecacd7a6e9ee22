/*
 * ccm_dump - print what the parser and the tree make of export files, for
 * golden tests and debugging: every segment with offsets, each message's
 * headers, items and warnings, then the tree (path, size, mtime) with the
 * full content of every file.  Usage: ccm_dump [-o OPTS] FILE...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccm.h"
#include "report.h"
#include "tree.h"

static const char *const seg_names[] = { "message", "error", "padding",
					  "marker", "console" };

static void put_escaped(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
}

static int on_seg(void *ctx, const struct ccm_seg *g, const struct ccm_msg *m)
{
	const char *base = ctx;
	size_t i;

	printf("seg %" PRIu64 "+%" PRIu64 " %s", g->off, g->len,
	       seg_names[g->kind]);
	if (g->kind == CCM_SEG_ERROR)
		printf(" (%s)", ccm_reason_text(g->reason));
	if (g->kind == CCM_SEG_MARKER) {
		printf(" name=\"");
		put_escaped(g->name.p, g->name.len);
		printf("\"");
	}
	printf("\n");
	if (!m)
		return 0;
	for (i = 0; i < m->nhdr; i++) {
		printf("  header @%" PRIu64 " \"", m->hdr[i].off);
		put_escaped(m->hdr[i].name.p, m->hdr[i].name.len);
		printf("\" = \"");
		put_escaped(m->hdr[i].value.p, m->hdr[i].value.len);
		printf("\"\n");
	}
	printf("  contents: %s\n", m->has_contents ? "yes" : "no");
	for (i = 0; i < m->nitems; i++) {
		const struct ccm_item *it = &m->items[i];

		printf("  item @%" PRIu64 " kind=%d word=\"", it->off, it->kind);
		put_escaped(it->word.p, it->word.len);
		printf("\" title=\"");
		put_escaped(it->title.p, it->title.len);
		printf("\" payload=%zu+%zu\n",
		       (size_t)(it->payload.p - base), it->payload.len);
	}
	for (i = 0; i < m->warn.n; i++) {
		struct ccm_buf b;

		ccm_buf_init(&b);
		ccm_warning_format(&m->warn.w[i], &b);
		printf("  warning: %s\n", ccm_buf_cstr(&b));
		ccm_buf_release(&b);
	}
	return 0;
}

static void dump_tree(const struct tree *t, uint64_t ino)
{
	const struct tree_node *n = tree_node(t, ino);
	struct ccm_buf path, content;
	size_t i;
	int err;

	ccm_buf_init(&path);
	tree_path(t, ino, &path);
	printf("%s %s/%s size=%" PRIu64 " mtime=%" PRId64 " ino=%" PRIu64 "\n",
	       n->kind == TREE_DIR ? "dir " : "file", "",
	       ccm_buf_cstr(&path), n->size, n->mtime, ino);
	ccm_buf_release(&path);
	if (n->kind == TREE_DIR) {
		for (i = 0; i < n->nchildren; i++)
			dump_tree(t, tree_child(t, ino, i));
		return;
	}
	ccm_buf_init(&content);
	err = tree_read(t, ino, &content);
	if (err) {
		printf("  READ ERROR: %s\n", ccm_strerror(err));
	} else {
		const char *p = content.p ? content.p : "", *e = p + content.len;

		if (content.len != n->size)
			printf("  SIZE MISMATCH: read %zu\n", content.len);
		/* One "| " line per content line; the line end is shown. */
		while (p < e) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(e - p);

			printf("  | ");
			put_escaped(p, len);
			printf("\n");
			p += len;
		}
	}
	ccm_buf_release(&content);
}

int main(int argc, char **argv)
{
	struct ccm_options opt;
	struct ccm_archive *a;
	struct tree *t;
	struct ccm_buf report;
	struct report_counts rc;
	char err[256];
	int i, first = 1, status = 0;

	enum tree_layout layout = TREE_LAYOUT_PLAIN;

	ccm_options_init(&opt);
	if (argc > 2 && strcmp(argv[1], "-o") == 0) {
		char *list = strdup(argv[2]), *tok, *save = NULL;

		for (tok = strtok_r(list, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			if (tree_layout_option(tok, &layout) != 0 &&
			    ccm_options_set(&opt, tok, err, sizeof(err))) {
				fprintf(stderr, "ccm_dump: %s\n", err);
				return 2;
			}
		free(list);
		first = 3;
	}
	for (i = first; i < argc; i++) {
		struct ccm_file f;
		const char *base = strrchr(argv[i], '/');

		if (ccm_file_open(&f, argv[i])) {
			fprintf(stderr, "ccm_dump: cannot open %s\n", argv[i]);
			return 2;
		}
		printf("file %s size %" PRIu64 "\n", base ? base + 1 : argv[i],
		       f.size);
		if (ccm_scan(&f, on_seg, (void *)f.data))
			status = 1;
		ccm_file_close(&f);
	}
	if (ccm_archive_open(&a, (const char *const *)argv + first,
			     (size_t)(argc - first), &opt))
		return 2;
	if (tree_build(&t, a, layout))
		return 2;
	ccm_buf_init(&report);
	report_build(a, t, &report, &rc);
	tree_set_report(t, report.p, report.len);
	printf("tree\n");
	dump_tree(t, TREE_ROOT);
	tree_free(t);
	ccm_archive_free(a);
	ccm_buf_release(&report);
	ccm_options_release(&opt);
	return status;
}
