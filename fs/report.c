/*
 * report.c - the report text (see report.h).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "report.h"

static void put_time(struct ccm_buf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm);
	ccm_buf_puts(out, s);
}

static void pct(struct ccm_buf *out, uint64_t part, uint64_t whole)
{
	/* Integer arithmetic: 100.00 only when exactly all, never rounded up. */
	uint64_t bp = whole ? (uint64_t)((unsigned __int128)part * 10000 / whole)
			    : 10000;

	ccm_buf_printf(out, "%llu.%02llu %%", (unsigned long long)(bp / 100),
		       (unsigned long long)(bp % 100));
}

static void folder_list(const struct tree *t, uint64_t dir, int depth,
			struct ccm_buf *out, uint64_t *n)
{
	const struct tree_node *d = tree_node(t, dir);
	size_t i;

	for (i = 0; i < d->nchildren; i++) {
		uint64_t c = tree_child(t, dir, i);
		const struct tree_node *cn = tree_node(t, c);
		size_t files = 0, j;

		if (cn->kind != TREE_DIR)
			continue;
		for (j = 0; j < cn->nchildren; j++)
			if (tree_node(t, tree_child(t, c, j))->kind != TREE_DIR)
				files++;
		ccm_buf_printf(out, "    %*s%s/  (%zu files)\n", depth * 2, "",
			       tree_name(t, c), files);
		(*n)++;
		folder_list(t, c, depth + 1, out, n);
	}
}

int report_build(const struct ccm_archive *a, const struct tree *t,
		 struct ccm_buf *out, struct report_counts *c)
{
	const char *kindname[] = { "messages", "error entries", "padding",
				   "account markers", "console lines" };
	uint64_t nfolders = 0, line;
	size_t i, j;

	memset(c, 0, sizeof(*c));
	c->coverage_ok = 1;
	ccm_buf_printf(out, "ccmailfs %s report\n\n", CCM_VERSION);

	ccm_buf_printf(out, "Sources (%zu):\n", a->nfiles);
	for (i = 0; i < a->nfiles; i++) {
		const struct ccm_file *f = &a->files[i];

		ccm_buf_printf(out, "  %s: %llu bytes, modified ", f->name,
			       (unsigned long long)f->size);
		put_time(out, f->mtime);
		ccm_buf_printf(out, ", %llu messages, %llu error entries\n",
			       (unsigned long long)a->stats[i].nmsg,
			       (unsigned long long)a->stats[i].nerr);
	}
	for (i = 0; i < a->nbad; i++) {
		ccm_buf_printf(out, "  %s: UNREADABLE: %s\n", a->bad[i].path,
			       ccm_strerror(a->bad[i].err));
		c->unreadable = 1;
		c->problems++;
	}

	ccm_buf_printf(out, "\nAccounts (%zu):\n", a->naccounts);
	for (i = 0; i < tree_node(t, TREE_ROOT)->nchildren; i++) {
		uint64_t acc = tree_child(t, TREE_ROOT, i);

		if (tree_node(t, acc)->kind != TREE_DIR)
			continue;
		ccm_buf_printf(out, "  %s/\n", tree_name(t, acc));
		folder_list(t, acc, 0, out, &nfolders);
	}
	for (i = 0; i < a->nentries; i++) {
		if (a->entries[i].kind == CCM_ENTRY_MESSAGE)
			c->messages++;
		else
			c->errors++;
	}
	c->warnings = a->warns.n;
	ccm_buf_printf(out,
		       "\nTotals: %zu accounts, %llu folders, %llu messages, "
		       "%llu attachments, %llu error entries, %llu warnings\n",
		       a->naccounts, (unsigned long long)nfolders,
		       (unsigned long long)c->messages,
		       (unsigned long long)a->nattach,
		       (unsigned long long)c->errors,
		       (unsigned long long)c->warnings);

	c->problems += c->errors + c->warnings;
	ccm_buf_printf(out, "\nProblems (%llu):\n",
		       (unsigned long long)(c->errors + c->warnings));
	for (i = 0; i < a->nentries; i++) {
		const struct ccm_entry *e = &a->entries[i];
		struct ccm_buf path;

		if (e->kind == CCM_ENTRY_MESSAGE && e->nwarn == 0)
			continue;
		ccm_buf_init(&path);
		tree_path(t, tree_entry_ino(t, i), &path);
		line = e->line;
		if (e->kind == CCM_ENTRY_ERROR) {
			ccm_buf_printf(out,
				       "  %s offset %llu line %llu: %s: %s "
				       "(%llu bytes kept as an error entry)\n",
				       a->files[e->file].name,
				       (unsigned long long)e->off,
				       (unsigned long long)line,
				       ccm_buf_cstr(&path),
				       ccm_reason_text(e->reason),
				       (unsigned long long)e->len);
		}
		for (j = 0; j < e->nwarn; j++) {
			ccm_buf_printf(out, "  %s offset %llu line %llu: %s: ",
				       a->files[e->file].name,
				       (unsigned long long)e->off,
				       (unsigned long long)line,
				       ccm_buf_cstr(&path));
			ccm_warning_format(&a->warns.w[e->warn_first + j], out);
			ccm_buf_putc(out, '\n');
		}
		ccm_buf_release(&path);
	}

	ccm_buf_printf(out, "\nNotes (%zu):\n", a->nnotes);
	for (i = 0; i < a->nnotes; i++) {
		const struct ccm_note *n = &a->notes[i];
		const struct ccm_file *f = &a->files[n->file];
		size_t len = (size_t)n->len;

		while (len && (f->data[n->off + len - 1] == '\n' ||
			       f->data[n->off + len - 1] == '\r'))
			len--;
		ccm_buf_printf(out, "  %s offset %llu: %s: ", f->name,
			       (unsigned long long)n->off,
			       n->kind == CCM_SEG_MARKER ? "account marker"
							 : "EXPORT console line");
		/* Shown as printable ASCII only: the report is plain text. */
		for (j = 0; j < len && j < 200; j++) {
			unsigned char ch = (unsigned char)f->data[n->off + j];

			ccm_buf_putc(out, ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
		}
		ccm_buf_putc(out, '\n');
	}

	ccm_buf_puts(out, "\nCoverage:\n");
	for (i = 0; i < a->nfiles; i++) {
		const struct ccm_file_stats *st = &a->stats[i];
		uint64_t sum = 0;

		for (j = 0; j < 5; j++)
			sum += st->bytes[j];
		ccm_buf_printf(out, "  %s: %llu bytes =", a->files[i].name,
			       (unsigned long long)a->files[i].size);
		for (j = 0; j < 5; j++)
			ccm_buf_printf(out, "%s %llu %s", j ? " +" : "",
				       (unsigned long long)st->bytes[j],
				       kindname[j]);
		ccm_buf_printf(out, "; gaps %llu, overlaps %llu\n",
			       (unsigned long long)st->gaps,
			       (unsigned long long)st->overlaps);
		c->bytes += a->files[i].size;
		if (sum == a->files[i].size && !st->gaps && !st->overlaps)
			c->covered += a->files[i].size;
		else
			c->coverage_ok = 0;
	}
	ccm_buf_printf(out,
		       "coverage: %llu of %llu bytes accounted for (",
		       (unsigned long long)c->covered,
		       (unsigned long long)c->bytes);
	pct(out, c->covered, c->bytes);
	ccm_buf_printf(out, ") in messages, error entries and ignorable "
			    "padding, markers and console lines\n");
	{
		char status[REPORT_STATUS_LEN];

		report_status_line(a, status);
		ccm_buf_puts(out, "\n");
		ccm_buf_put(out, status, REPORT_STATUS_LEN);
	}
	return out->oom ? -ENOMEM : 0;
}

void report_status_line(const struct ccm_archive *a,
			char line[REPORT_STATUS_LEN])
{
	char why[REPORT_STATUS_LEN];
	int n;

	if (ccm_archive_changed(a, why, sizeof(why)))
		n = snprintf(line, REPORT_STATUS_LEN,
			     "Source status: CHANGED: %s; files whose bytes are "
			     "gone fail with EIO", why);
	else
		n = snprintf(line, REPORT_STATUS_LEN,
			     "Source status: unchanged since it was indexed");
	if (n < 0)
		n = 0;
	if (n > REPORT_STATUS_LEN - 1)
		n = REPORT_STATUS_LEN - 1;
	/* Padded with blanks to the fixed length, then one line end. */
	memset(line + n, ' ', (size_t)(REPORT_STATUS_LEN - 1 - n));
	line[REPORT_STATUS_LEN - 1] = '\n';
}
