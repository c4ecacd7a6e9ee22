/*
 * tree.c - inode <-> entry <-> name mapping (see tree.h).
 *
 * Inode numbers are assigned in a fixed order (root, report, accounts in
 * name order, then folders and files in export order), so the same export
 * always gives the same numbers.  Every directory's children are contiguous
 * in one array: readdir offsets are child indexes, an O(1) seek.  Lookups go
 * through one hash table keyed on (parent, name).
 *
 * Names (SPEC 2): valid UTF-8, at most 255 bytes, no '/', NUL, control
 * characters or leading dot; message files start with a zero-padded
 * per-account ordinal so `ls` lists them in export order.  Characters that
 * Windows refuses (: * ? " < > |) are dropped too, so an rsync to SMB works.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "report.h"
#include "tree.h"

#define NAME_MAX_BYTES 255
#define SUBJECT_BYTES 100
#define COMPONENT_BYTES 200

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

void tree_clean_name(const char *in, size_t n, size_t max, struct ccm_buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t start = out->len, i = 0, k;
	int space = 1;	/* drop leading blanks, collapse runs */

	while (i < n) {
		unsigned char c = s[i];

		k = utf8_len(s + i, n - i);
		if (k == 0) {
			c = '_';
			k = 1;
		} else if (k == 2 && c == 0xc2 && s[i + 1] < 0xa0) {
			c = ' ';	/* C1 controls */
		} else if (k > 1 || (c >= 0x20 && c != 0x7f)) {
			if (k == 1 && strchr(":*?\"<>|", c)) {
				i++;
				continue;
			}
			if (k == 1 && (c == '/' || c == '\\'))
				c = '-';
		} else {
			c = ' ';	/* C0 controls, DEL */
		}
		if (c == ' ' && space) {
			i += k;
			continue;
		}
		if (out->len - start + k > max)
			break;
		if (k == 1 || c != s[i])
			ccm_buf_putc(out, (char)c);
		else
			ccm_buf_put(out, s + i, k);
		space = c == ' ';
		i += k;
	}
	/* No trailing blanks or dots (Windows), no leading dots (SPEC 2). */
	while (out->len > start &&
	       (out->p[out->len - 1] == ' ' || out->p[out->len - 1] == '.'))
		out->len--;
	k = 0;
	while (start + k < out->len && out->p[start + k] == '.')
		k++;
	if (k) {
		memmove(out->p + start, out->p + start + k, out->len - start - k);
		out->len -= k;
	}
}

static uint64_t hash_key(uint32_t parent, const char *name, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ parent;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

const struct tree_node *tree_node(const struct tree *t, uint64_t ino)
{
	if (ino < 1 || ino > t->nnodes)
		return NULL;
	return &t->nodes[ino - 1];
}

const char *tree_name(const struct tree *t, uint64_t ino)
{
	const struct tree_node *n = tree_node(t, ino);

	return n ? t->names.p + n->name : "";
}

static int name_eq(const struct tree *t, uint32_t ino, uint32_t parent,
		   const char *name, size_t n)
{
	const struct tree_node *nd = &t->nodes[ino - 1];
	const char *s = t->names.p + nd->name;

	return nd->parent == parent && strncmp(s, name, n) == 0 && s[n] == '\0';
}

int tree_lookup(const struct tree *t, uint64_t parent, const char *name,
		size_t len, uint64_t *ino)
{
	const struct tree_node *p = tree_node(t, parent);
	size_t mask = t->hashcap - 1, i;

	if (!p)
		return -ENOENT;
	if (p->kind != TREE_DIR)
		return -ENOTDIR;
	if (!t->hash)
		return -ENOENT;
	if (len == 1 && name[0] == '.') {
		*ino = parent;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = p->parent;
		return 0;
	}
	for (i = hash_key((uint32_t)parent, name, len) & mask; t->hash[i];
	     i = (i + 1) & mask) {
		if (name_eq(t, t->hash[i], (uint32_t)parent, name, len)) {
			*ino = t->hash[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int hash_insert(struct tree *t, uint32_t ino)
{
	const struct tree_node *n = &t->nodes[ino - 1];
	const char *name = t->names.p + n->name;
	size_t mask, i;

	if ((t->nnodes + 1) * 2 > t->hashcap) {
		size_t ncap = t->hashcap ? t->hashcap * 2 : 1024, j;
		uint32_t *nh = calloc(ncap, sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		for (j = 0; j < t->hashcap; j++) {
			uint32_t x = t->hash[j];
			const struct tree_node *xn;
			size_t k;

			if (!x)
				continue;
			xn = &t->nodes[x - 1];
			k = hash_key(xn->parent, t->names.p + xn->name,
				     strlen(t->names.p + xn->name)) &
			    (ncap - 1);
			while (nh[k])
				k = (k + 1) & (ncap - 1);
			nh[k] = x;
		}
		free(t->hash);
		t->hash = nh;
		t->hashcap = ncap;
	}
	mask = t->hashcap - 1;
	i = hash_key(n->parent, name, strlen(name)) & mask;
	while (t->hash[i])
		i = (i + 1) & mask;
	t->hash[i] = ino;
	return 0;
}

/*
 * Add a node named by the bytes at names[name_off..len) (appended to the
 * pool by the caller, not yet terminated).  A duplicate name in one
 * directory gets " (2)", " (3)", ... before the extension: never a silent
 * collision.
 */
static int add_node(struct tree *t, uint32_t parent, size_t name_off,
		    enum tree_kind kind, uint32_t *ino_out)
{
	struct tree_node *n;
	uint64_t dummy;
	size_t base_len = t->names.len - name_off, dup = 2;
	char ext[16] = "";
	size_t el = 0, stem = base_len;
	int err;

	if (t->names.oom)
		return -ENOMEM;
	if (kind != TREE_DIR) {
		const char *base = t->names.p + name_off;
		const char *dot = memrchr(base, '.', base_len);

		if (dot && dot != base &&
		    (size_t)(base + base_len - dot) < sizeof(ext)) {
			stem = (size_t)(dot - base);
			el = base_len - stem;
			memcpy(ext, dot, el);
		}
	}
	while (parent && tree_lookup(t, parent, t->names.p + name_off,
				     t->names.len - name_off, &dummy) == 0) {
		char sfx[32];
		size_t st = stem;

		snprintf(sfx, sizeof(sfx), " (%zu)", dup++);
		if (st + strlen(sfx) + el > NAME_MAX_BYTES)
			st = NAME_MAX_BYTES - strlen(sfx) - el;
		while (st > 0 && st < stem &&
		       ((unsigned char)t->names.p[name_off + st] & 0xc0) == 0x80)
			st--;
		t->names.len = name_off + st;
		ccm_buf_puts(&t->names, sfx);
		ccm_buf_put(&t->names, ext, el);
		if (t->names.oom)
			return -ENOMEM;
	}
	ccm_buf_putc(&t->names, '\0');
	if (t->names.oom)
		return -ENOMEM;
	if (ccm_grow((void **)&t->nodes, &t->nodecap, t->nnodes, sizeof(*t->nodes)))
		return -ENOMEM;
	n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof(*n));
	n->parent = parent ? parent : 1;
	n->name = (uint32_t)name_off;
	n->kind = (uint8_t)kind;
	n->mtime = t->a->newest_mtime;
	*ino_out = (uint32_t)t->nnodes;
	if (parent) {
		err = hash_insert(t, *ino_out);
		if (err)
			return err;
	}
	if (kind == TREE_DIR) {
		t->ndirs++;
		if (parent)
			t->nodes[parent - 1].nsubdirs++;
	} else {
		t->nfiles++;
	}
	return 0;
}

/* Append a clean component; empty, "." and ".." become "_" (SPEC 2). */
static void put_component(struct tree *t, const char *s, size_t n)
{
	size_t start = t->names.len;

	tree_clean_name(s, n, COMPONENT_BYTES, &t->names);
	if (t->names.len == start)
		ccm_buf_putc(&t->names, '_');
}

/* The directory named by names[off..len) under parent: reused if it
 * exists (folders merge), else made. */
static int dir_at(struct tree *t, uint32_t parent, size_t off, uint32_t *ino)
{
	uint64_t found;

	if (!t->names.oom &&
	    tree_lookup(t, parent, t->names.p + off, t->names.len - off,
			&found) == 0 &&
	    t->nodes[found - 1].kind == TREE_DIR) {
		t->names.len = off;
		*ino = (uint32_t)found;
		return 0;
	}
	return add_node(t, parent, off, TREE_DIR, ino);
}

static int add_dir(struct tree *t, uint32_t parent, const char *s, size_t n,
		   uint32_t *ino)
{
	size_t off = t->names.len;

	put_component(t, s, n);
	return dir_at(t, parent, off, ino);
}

/* cur/, new/ and tmp/ of a maildir; *cur gets cur/. */
static int maildir_subdirs(struct tree *t, uint32_t md, uint32_t *cur)
{
	uint32_t dummy;
	int err;

	err = add_dir(t, md, "cur", 3, cur);
	if (!err)
		err = add_dir(t, md, "new", 3, &dummy);
	if (!err)
		err = add_dir(t, md, "tmp", 3, &dummy);
	return err;
}

static int is_inbox(const char *s, size_t n)
{
	return n == 5 && strncasecmp(s, "inbox", 5) == 0;
}

/*
 * IMAP's modified UTF-7 (RFC 3501 5.1.3), which Dovecot and Courier use for
 * folder names on disk: printable ASCII as is ("&" as "&-"), other
 * characters as "&" + base64 of UTF-16BE with ',' for '/' + "-".  Replaces
 * names[from..len) in place.
 */
static void mutf7(struct tree *t, size_t from)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	size_t n = t->names.len - from, i = 0, k;
	char *in = malloc(n ? n : 1);

	if (!in) {
		t->names.oom = 1;
		return;
	}
	memcpy(in, t->names.p + from, n);
	t->names.len = from;
	while (i < n) {
		unsigned char c = (unsigned char)in[i];
		uint32_t bits = 0;
		int nbits = 0;

		if (c >= 0x20 && c < 0x7f) {
			ccm_buf_putc(&t->names, (char)c);
			if (c == '&')
				ccm_buf_putc(&t->names, '-');
			i++;
			continue;
		}
		ccm_buf_putc(&t->names, '&');
		while (i < n && ((unsigned char)in[i] < 0x20 ||
				 (unsigned char)in[i] >= 0x7f)) {
			uint32_t cp, u[2];
			size_t len = utf8_len((const unsigned char *)in + i, n - i);
			int nu, j;

			if (len == 0) {
				cp = 0xfffd;
				len = 1;
			} else if (len == 1) {
				cp = (unsigned char)in[i];
			} else {
				cp = (unsigned char)in[i] & (0xff >> (len + 1));
				for (k = 1; k < len; k++)
					cp = (cp << 6) | ((unsigned char)in[i + k] & 0x3f);
			}
			i += len;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				u[0] = 0xd800 | (cp >> 10);
				u[1] = 0xdc00 | (cp & 0x3ff);
				nu = 2;
			} else {
				u[0] = cp;
				nu = 1;
			}
			for (j = 0; j < nu; j++) {
				bits = (bits << 16) | u[j];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					ccm_buf_putc(&t->names,
						     b64[(bits >> nbits) & 0x3f]);
				}
			}
		}
		if (nbits)
			ccm_buf_putc(&t->names, b64[(bits << (6 - nbits)) & 0x3f]);
		ccm_buf_putc(&t->names, '-');
	}
	free(in);
}

/*
 * Maildir++ (Dovecot's default layout): the account's Inbox is the root,
 * folder "A\B" is the directory ".A.B".  '.' separates levels there, so a
 * '.' inside a component becomes '_'.
 */
static int maildir_folder(struct tree *t, uint32_t acc, const char *folder,
			  uint32_t *cur)
{
	const char *p = folder, *q;
	size_t off = t->names.len, before;
	uint32_t md = acc;
	int parts = 0;

	ccm_buf_putc(&t->names, '.');
	while (*p) {
		q = p;
		while (*q && *q != '\\' && *q != '/')
			q++;
		if (q > p && !(parts == 0 && !*q && is_inbox(p, (size_t)(q - p)))) {
			before = t->names.len;
			if (parts)
				ccm_buf_putc(&t->names, '.');
			tree_clean_name(p, (size_t)(q - p), COMPONENT_BYTES,
					&t->names);
			if (t->names.len == before + (parts ? 1 : 0)) {
				t->names.len = before;
			} else {
				size_t i;

				for (i = before + (parts ? 1 : 0);
				     i < t->names.len; i++)
					if (t->names.p[i] == '.')
						t->names.p[i] = '_';
				mutf7(t, before + (parts ? 1 : 0));
				parts++;
			}
		}
		p = *q ? q + 1 : q;
	}
	if (parts) {
		int err;

		if (t->names.len - off > NAME_MAX_BYTES) {
			/* The name is modified UTF-7 (ASCII): never cut inside
			 * an "&...-" run, back up to its '&' instead. */
			size_t cut = off + NAME_MAX_BYTES, i, amp = 0;
			int in = 0;

			for (i = off; i < cut; i++) {
				if (!in && t->names.p[i] == '&') {
					in = 1;
					amp = i;
				} else if (in && t->names.p[i] == '-') {
					in = 0;
				}
			}
			t->names.len = in ? amp : cut;
		}
		err = dir_at(t, acc, off, &md);
		if (err)
			return err;
	} else {
		t->names.len = off;
	}
	return maildir_subdirs(t, md, cur);
}

/* Folder "A\B" nests as A/B; no folder means "Inbox" (SPEC 2). */
static int folder_dir(struct tree *t, uint32_t acc_ino, const char *folder,
		      uint32_t *ino)
{
	const char *p = folder, *q;
	uint32_t cur = acc_ino;
	int err, any = 0;

	while (*p) {
		q = p;
		while (*q && *q != '\\' && *q != '/')
			q++;
		if (q > p) {
			size_t before = t->names.len;

			tree_clean_name(p, (size_t)(q - p), COMPONENT_BYTES,
					&t->names);
			/* Components that clean to nothing are skipped. */
			if (t->names.len > before) {
				t->names.len = before;
				err = add_dir(t, cur, p, (size_t)(q - p), &cur);
				if (err)
					return err;
				any = 1;
			}
		}
		p = *q ? q + 1 : q;
	}
	if (!any) {
		err = add_dir(t, cur, "Inbox", 5, &cur);
		if (err)
			return err;
	}
	*ino = cur;
	return 0;
}

static int digits_of(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n < 6 ? 6 : n;
}

/*
 * File times are clamped to what ext4 and most other filesystems can store
 * (1901-12-13 .. 2446): a year-1900 date (a Y2K bug, CCQ-9) would otherwise
 * be stored differently by every copy, and rsync would copy it again on
 * every run.  The Date: header keeps the real value.
 */
static int64_t file_time(int64_t t)
{
	if (t < INT32_MIN)
		return INT32_MIN;
	if (t > ((int64_t)1 << 34) - 1)
		return ((int64_t)1 << 34) - 1;
	return t;
}

static int add_entry_file(struct tree *t, uint32_t dir, size_t i, int width)
{
	const struct ccm_entry *e = &t->a->entries[i];
	const struct ccm_options *o = &t->a->opt;
	size_t off = t->names.len;
	uint32_t ino;
	int err;

	if (t->layout == TREE_LAYOUT_MAILDIR && e->kind == CCM_ENTRY_MESSAGE) {
		/* time.unique.host,S=size:2,flags; S= is exact (Dovecot trusts
		 * it), "S" marks it seen: the export has no read status. */
		int64_t ft = file_time(e->mtime);
		const char *src = t->a->files[e->file].name;
		uint32_t h = 2166136261u;
		size_t k;

		for (k = 0; src[k]; k++)
			h = (h ^ (unsigned char)src[k]) * 16777619u;
		for (k = 0; k < 8; k++)
			h = (h ^ (unsigned char)(e->off >> (8 * k))) * 16777619u;
		ccm_buf_printf(&t->names, "%lld.%llu_%08x.ccmailfs,S=%llu:2,S",
			       (long long)(ft < 0 ? 0 : ft),
			       (unsigned long long)e->ordinal, h,
			       (unsigned long long)e->size);
		goto named;
	}
	ccm_buf_printf(&t->names, "%0*llu", width,
		       (unsigned long long)e->ordinal);
	if (e->kind == CCM_ENTRY_ERROR) {
		ccm_buf_puts(&t->names, ".error.txt");
	} else {
		const char *subj = ccm_archive_str(t->a, e->subject);

		if (e->date_ok) {
			/* The wall-clock time as written in the export. */
			time_t wall = (time_t)(e->mtime +
					       (o->tz_set ? o->tz_minutes * 60 : 0));
			struct tm tm;
			char d[32];

			gmtime_r(&wall, &tm);
			strftime(d, sizeof(d), " %Y-%m-%d %H%M", &tm);
			ccm_buf_puts(&t->names, d);
		}
		if (*subj) {
			size_t before = t->names.len;

			ccm_buf_putc(&t->names, ' ');
			tree_clean_name(subj, strlen(subj), SUBJECT_BYTES,
					&t->names);
			if (t->names.len == before + 1)
				t->names.len = before;
		}
		ccm_buf_puts(&t->names, ".eml");
	}
named:
	err = add_node(t, dir, off, TREE_ENTRY, &ino);
	if (err)
		return err;
	t->nodes[ino - 1].entry = (uint32_t)i;
	t->nodes[ino - 1].size = e->size;
	t->nodes[ino - 1].mtime = file_time(e->mtime);
	t->total_size += e->size;
	t->entry_ino[i] = ino;
	return 0;
}

static int cmp_acc(const void *x, const void *y, void *arg)
{
	const struct ccm_archive *a = arg;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;

	return strcmp(ccm_archive_str(a, a->accounts[i].name),
		      ccm_archive_str(a, a->accounts[j].name));
}

/* Group children by parent, keeping creation order: readdir order. */
static int link_children(struct tree *t)
{
	uint32_t *fill;
	size_t i, pos = 0;

	t->children = calloc(t->nnodes ? t->nnodes : 1, sizeof(uint32_t));
	fill = calloc(t->nnodes + 1, sizeof(uint32_t));
	if (!t->children || !fill) {
		free(fill);
		return -ENOMEM;
	}
	for (i = 1; i < t->nnodes; i++)
		t->nodes[t->nodes[i].parent - 1].nchildren++;
	for (i = 0; i < t->nnodes; i++) {
		t->nodes[i].first = (uint32_t)pos;
		pos += t->nodes[i].nchildren;
	}
	for (i = 1; i < t->nnodes; i++) {
		struct tree_node *p = &t->nodes[t->nodes[i].parent - 1];
		size_t pi = (size_t)(p - t->nodes);

		t->children[p->first + fill[pi]++] = (uint32_t)(i + 1);
	}
	free(fill);
	return 0;
}

int tree_layout_option(const char *kv, enum tree_layout *out)
{
	if (strncmp(kv, "layout=", 7) != 0)
		return 1;
	if (strcmp(kv + 7, "plain") == 0)
		*out = TREE_LAYOUT_PLAIN;
	else if (strcmp(kv + 7, "maildir") == 0)
		*out = TREE_LAYOUT_MAILDIR;
	else
		return -1;
	return 0;
}

int tree_build(struct tree **out, const struct ccm_archive *a,
	       enum tree_layout layout)
{
	struct tree *t;
	uint32_t *order = NULL, *acc_ino = NULL, ino;
	int *width = NULL;
	size_t i;
	int err = -ENOMEM;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->a = a;
	t->layout = layout;
	ccm_buf_init(&t->names);
	ccm_buf_init(&t->report);
	order = malloc((a->naccounts + 1) * sizeof(*order));
	acc_ino = calloc(a->naccounts + 1, sizeof(*acc_ino));
	width = calloc(a->naccounts + 1, sizeof(*width));
	t->entry_ino = calloc(a->nentries + 1, sizeof(*t->entry_ino));
	if (!order || !acc_ino || !width || !t->entry_ino)
		goto out;

	ccm_buf_putc(&t->names, '\0');	/* the root's name: "" */
	err = add_node(t, 0, t->names.len, TREE_DIR, &ino);
	if (err)
		goto out;
	ccm_buf_puts(&t->names, TREE_REPORT_NAME);
	err = add_node(t, TREE_ROOT, t->names.len - strlen(TREE_REPORT_NAME),
		       TREE_REPORT, &ino);
	if (err)
		goto out;

	for (i = 0; i < a->naccounts; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, a->naccounts, sizeof(*order), cmp_acc, (void *)a);
	for (i = 0; i < a->naccounts; i++) {
		const char *name = ccm_archive_str(a, a->accounts[order[i]].name);
		uint64_t n = a->accounts[order[i]].nmsg +
			     a->accounts[order[i]].nerr;

		/* An account with nothing in it still gets its directory:
		 * an empty export is a valid result (CCQ-31). */
		size_t off = t->names.len;

		/* Distinct accounts never merge, even when their names clean
		 * to the same directory name (add_node dedups). */
		put_component(t, name, strlen(name));
		err = add_node(t, TREE_ROOT, off, TREE_DIR, &acc_ino[order[i]]);
		if (!err && layout == TREE_LAYOUT_MAILDIR)
			err = maildir_subdirs(t, acc_ino[order[i]], &ino);
		if (err)
			goto out;
		width[order[i]] = digits_of(n);
	}
	for (i = 0; i < a->nentries; i++) {
		const struct ccm_entry *e = &a->entries[i];
		uint32_t dir;

		if (layout == TREE_LAYOUT_PLAIN)
			err = folder_dir(t, acc_ino[e->account],
					 ccm_archive_str(a, e->folder), &dir);
		else if (e->kind == CCM_ENTRY_ERROR)
			err = add_dir(t, acc_ino[e->account], "errors", 6, &dir);
		else
			err = maildir_folder(t, acc_ino[e->account],
					     ccm_archive_str(a, e->folder), &dir);
		if (!err)
			err = add_entry_file(t, dir, i, width[e->account]);
		if (err)
			goto out;
	}
	err = link_children(t);
	if (err)
		goto out;
	err = t->names.oom ? -ENOMEM : 0;
out:
	free(order);
	free(acc_ino);
	free(width);
	if (err)
		tree_free(t);
	else
		*out = t;
	return err;
}

int tree_set_report(struct tree *t, const char *p, size_t n)
{
	ccm_buf_clear(&t->report);
	ccm_buf_put(&t->report, p, n);
	if (t->report.oom)
		return -ENOMEM;
	t->total_size -= t->nodes[1].size;
	t->nodes[1].size = n;
	t->total_size += n;
	return 0;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	if (!t->borrowed) {
		free(t->nodes);
		free(t->children);
		free(t->hash);
		free(t->entry_ino);
		ccm_buf_release(&t->names);
		ccm_buf_release(&t->report);
	}
	free(t);
}

uint64_t tree_child(const struct tree *t, uint64_t ino, size_t i)
{
	const struct tree_node *n = tree_node(t, ino);

	if (!n || n->kind != TREE_DIR || i >= n->nchildren)
		return 0;
	return t->children[n->first + i];
}

blksize_t tree_dir_blksize(uint64_t nchildren)
{
	uint64_t want = (nchildren + 2) * TREE_DIRENT_ROOM;
	blksize_t b = TREE_DIR_BLKSIZE_MIN;

	while (b < TREE_DIR_BLKSIZE && (uint64_t)b < want)
		b *= 2;
	return b;
}

int tree_stat(const struct tree *t, uint64_t ino, struct stat *st)
{
	const struct tree_node *n = tree_node(t, ino);

	if (!n)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (n->kind == TREE_DIR) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2 + n->nsubdirs;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
	}
	/* Directories report 4096 bytes, as ext4 does, so `du -sb` of the
	 * mount equals that of an extracted copy on a usual disk. */
	st->st_size = n->kind == TREE_DIR ? 4096 : (off_t)n->size;
	/* A directory's block size sizes glibc's opendir buffer (32 KiB to
	 * 1 MiB), hence getdents, hence READDIRPLUS (up to max_pages on
	 * Linux 6.16+): a 2,300-file folder lists in one round trip instead
	 * of 15 at 32 KiB; `find -printf` over 100k files took 8 % less
	 * (BENCHMARKS, session 11).  But the kernel allocates and maps that
	 * whole size for every READDIRPLUS, the last empty one too: 1 MiB
	 * for each small folder was 11 % of `find`'s listing time at 10k
	 * (session 12).  So: room for the whole listing, no more.  Files
	 * keep 4 KiB: stdio and Python size a buffer per open file from
	 * it. */
	st->st_blksize = n->kind == TREE_DIR ? tree_dir_blksize(n->nchildren)
					     : 4096;
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	/* SPEC 2: all three times are the message date; nothing uses now. */
	st->st_mtim.tv_sec = (time_t)n->mtime;
	st->st_atim.tv_sec = (time_t)n->mtime;
	st->st_ctim.tv_sec = (time_t)n->mtime;
	return 0;
}

int tree_read(const struct tree *t, uint64_t ino, struct ccm_buf *out)
{
	const struct tree_node *n = tree_node(t, ino);

	if (!n)
		return -ENOENT;
	switch (n->kind) {
	case TREE_DIR:
		return -EISDIR;
	case TREE_REPORT:
		/* Tell whether the sources changed since the mount (issue:
		 * a changing source), in the fixed-size last line. */
		if (t->report.len >= REPORT_STATUS_LEN) {
			char line[REPORT_STATUS_LEN];

			ccm_buf_put(out, t->report.p,
				    t->report.len - REPORT_STATUS_LEN);
			if (ccm_buf_skippable(out, REPORT_STATUS_LEN)) {
				out->len += REPORT_STATUS_LEN;
			} else {
				report_status_line(t->a, line);
				ccm_buf_put(out, line, REPORT_STATUS_LEN);
			}
		} else {
			ccm_buf_put(out, t->report.p, t->report.len);
		}
		return out->oom ? -ENOMEM : 0;
	default:
		return ccm_archive_render(t->a, n->entry, out);
	}
}

int tree_read_window(const struct tree *t, uint64_t ino, size_t lo, size_t n,
		     struct ccm_buf *out)
{
	ccm_buf_clear(out);
	ccm_buf_window(out, lo, n);
	return tree_read(t, ino, out);
}

void tree_path(const struct tree *t, uint64_t ino, struct ccm_buf *out)
{
	const struct tree_node *n = tree_node(t, ino);

	if (!n || ino == TREE_ROOT)
		return;
	if (n->parent != TREE_ROOT) {
		tree_path(t, n->parent, out);
		ccm_buf_putc(out, '/');
	}
	ccm_buf_puts(out, t->names.p + n->name);
}

long tree_walk_dirs(const struct tree *t, uint32_t *out, size_t cap)
{
	struct { uint32_t d, i; } *st;
	size_t n = 0, sp = 0;

	if (!cap)
		return 0;
	/* Each directory is pushed once, so the stack needs no more than
	 * out; an explicit one, as nesting comes from the export. */
	st = malloc(cap * sizeof(*st));
	if (!st)
		return -1;
	out[n++] = TREE_ROOT;
	st[sp].d = TREE_ROOT;
	st[sp++].i = 0;
	while (sp) {
		const struct tree_node *nd = tree_node(t, st[sp - 1].d);
		uint64_t c;

		if (!nd || st[sp - 1].i >= nd->nchildren) {
			sp--;
			continue;
		}
		c = tree_child(t, st[sp - 1].d, st[sp - 1].i++);
		if (n < cap && tree_node(t, c) &&
		    tree_node(t, c)->kind == TREE_DIR) {
			out[n++] = (uint32_t)c;
			st[sp].d = (uint32_t)c;
			st[sp++].i = 0;
		}
	}
	free(st);
	return (long)n;
}

uint64_t tree_entry_ino(const struct tree *t, size_t i)
{
	return i < t->a->nentries ? t->entry_ino[i] : 0;
}

static const char *const xattr_names[] = {
	"user.ccmail.account", "user.ccmail.folder", "user.ccmail.source",
	"user.ccmail.warnings",
};

int tree_xattr_list(const struct tree *t, uint64_t ino, struct ccm_buf *out)
{
	const struct tree_node *n = tree_node(t, ino);
	size_t i;

	if (!n)
		return -ENOENT;
	if (n->kind != TREE_ENTRY)
		return 0;
	for (i = 0; i < sizeof(xattr_names) / sizeof(xattr_names[0]); i++)
		ccm_buf_put(out, xattr_names[i], strlen(xattr_names[i]) + 1);
	return out->oom ? -ENOMEM : 0;
}

int tree_xattr_get(const struct tree *t, uint64_t ino, const char *name,
		   struct ccm_buf *out)
{
	const struct tree_node *n = tree_node(t, ino);
	const struct ccm_archive *a = t->a;
	const struct ccm_entry *e;
	size_t i;

	if (!n)
		return -ENOENT;
	if (n->kind != TREE_ENTRY)
		return -ENODATA;
	e = &a->entries[n->entry];
	if (strcmp(name, xattr_names[0]) == 0) {
		ccm_buf_puts(out, ccm_archive_str(a, a->accounts[e->account].name));
	} else if (strcmp(name, xattr_names[1]) == 0) {
		const char *f = ccm_archive_str(a, e->folder);

		ccm_buf_puts(out, *f ? f : "Inbox");
	} else if (strcmp(name, xattr_names[2]) == 0) {
		ccm_buf_printf(out, "%s:%llu", a->files[e->file].name,
			       (unsigned long long)e->off);
	} else if (strcmp(name, xattr_names[3]) == 0) {
		if (e->kind == CCM_ENTRY_ERROR)
			ccm_buf_printf(out, "%s\n", ccm_reason_text(e->reason));
		for (i = 0; i < e->nwarn; i++) {
			ccm_warning_format(&a->warns.w[e->warn_first + i], out);
			ccm_buf_putc(out, '\n');
		}
	} else {
		return -ENODATA;
	}
	return out->oom ? -ENOMEM : 0;
}

/* ------------------------------------------------------- persistent index */

#define TTAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | \
			  (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

void tree_save(const struct tree *t, struct ccm_buf *out)
{
	uint64_t misc[5] = { t->total_size, t->nfiles, t->ndirs,
			     (uint64_t)t->layout, t->hashcap };

	ccm_sec_put(out, TTAG('N', 'O', 'D', 'E'), t->nodes,
		    t->nnodes * sizeof(*t->nodes));
	ccm_sec_put(out, TTAG('K', 'I', 'D', 'S'), t->children,
		    t->nnodes * sizeof(*t->children));
	ccm_sec_put(out, TTAG('H', 'A', 'S', 'H'), t->hash,
		    t->hashcap * sizeof(*t->hash));
	ccm_sec_put(out, TTAG('E', 'I', 'N', 'O'), t->entry_ino,
		    t->a->nentries * sizeof(*t->entry_ino));
	ccm_sec_put(out, TTAG('N', 'A', 'M', 'E'), t->names.p, t->names.len);
	ccm_sec_put(out, TTAG('R', 'E', 'P', 'T'), t->report.p, t->report.len);
	ccm_sec_put(out, TTAG('T', 'M', 'I', 'S'), misc, sizeof(misc));
}

/*
 * What the checks of one node need to know of the others, gathered in a
 * first walk: restored arrays are read in order, never at random (struct
 * ccm_reader says why).  The side arrays are populated in one call: on
 * the VMs measured (BENCHMARKS, session 10) a page fault costs some 10 us,
 * the first touch of a page populated beforehand a third of that.
 */
#define SIDE_DIR UINT32_MAX		/* tag of a directory */
#define SIDE_OTHER (UINT32_MAX - 1)	/* tag of the report */

struct restore_side {
	uint32_t *tag;		/* per node: TREE_ENTRY's entry, or SIDE_* */
	uint64_t *esize;	/* per archive entry */
	void *mem;
	size_t len;
};

static int side_gather(struct restore_side *sd, const struct ccm_archive *a,
		       const struct ccm_reader *rd, const char *p, size_t n,
		       const struct tree_node *nodes, size_t nn)
{
	const struct tree_node *x;
	const struct ccm_entry *e;
	struct ccm_walk w;
	size_t i = 0, esz = a->nentries * sizeof(*sd->esize);

	/* An entry index must not be taken for a sentinel. */
	if (a->nentries >= SIDE_OTHER)
		return -CCM_E_FORMAT;
	sd->len = esz + nn * sizeof(*sd->tag);
	sd->mem = mmap(NULL, sd->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (sd->mem == MAP_FAILED) {
		sd->mem = NULL;
		return -ENOMEM;
	}
	sd->esize = sd->mem;
	sd->tag = (uint32_t *)((char *)sd->mem + esz);
	ccm_walk_init(&w, rd, p, n, nodes, nn, sizeof(*nodes));
	while ((x = ccm_walk_next(&w)))
		sd->tag[i++] = x->kind == TREE_DIR     ? SIDE_DIR :
			       x->kind == TREE_ENTRY   ? x->entry :
							 SIDE_OTHER;
	if (ccm_walk_end(&w))
		return w.err;
	i = 0;
	ccm_walk_init(&w, rd, p, n, a->entries, a->nentries, sizeof(*e));
	while ((e = ccm_walk_next(&w)))
		sd->esize[i++] = e->size;
	return ccm_walk_end(&w);
}

static void side_free(struct restore_side *sd)
{
	if (sd->mem)
		munmap(sd->mem, sd->len);
}

static int nodes_ok(const struct restore_side *sd, const struct ccm_archive *a,
		    const struct ccm_reader *rd, const char *p, size_t n,
		    const struct tree_node *nodes, size_t nn, size_t nnm)
{
	const struct tree_node *x;
	struct ccm_walk w;
	int bad = 0;

	ccm_walk_init(&w, rd, p, n, nodes, nn, sizeof(*nodes));
	while (!bad && (x = ccm_walk_next(&w)))
		bad = x->parent < 1 || x->parent > nn || x->name >= nnm ||
		      x->kind > TREE_REPORT ||
		      sd->tag[x->parent - 1] != SIDE_DIR ||
		      /* Within the nn - 1 children slots that are checked:
		       * the last one is never a child (nobody's the root). */
		      (x->kind == TREE_DIR &&
		       (x->first > nn - 1 ||
			x->nchildren > nn - 1 - x->first)) ||
		      (x->kind != TREE_DIR && x->nchildren) ||
		      (x->kind == TREE_ENTRY &&
		       (x->entry >= a->nentries ||
			x->size != sd->esize[x->entry]));
	if (ccm_walk_end(&w))
		return w.err;
	return bad ? -CCM_E_FORMAT : 0;
}

/* Every uint32 of arr[0..count) in [lo, hi]; *zeros counts the 0s. */
static int inos_ok(const struct ccm_reader *rd, const char *p, size_t n,
		   const uint32_t *arr, size_t count, uint32_t lo, size_t hi,
		   size_t *zeros)
{
	const uint32_t *v;
	struct ccm_walk w;
	int bad = 0;

	*zeros = 0;
	ccm_walk_init(&w, rd, p, n, arr, count, sizeof(*arr));
	while (!bad && (v = ccm_walk_next(&w))) {
		bad = *v < lo || *v > hi;
		*zeros += *v == 0;
	}
	if (ccm_walk_end(&w))
		return w.err;
	return bad ? -CCM_E_FORMAT : 0;
}

/* entry_ino[i] is the node of entry i. */
static int eino_ok(const struct restore_side *sd, const struct ccm_reader *rd,
		   const char *p, size_t n, const uint32_t *eino, size_t ne,
		   size_t nn)
{
	const uint32_t *v;
	struct ccm_walk w;
	size_t i = 0;
	int bad = 0;

	ccm_walk_init(&w, rd, p, n, eino, ne, sizeof(*eino));
	while (!bad && (v = ccm_walk_next(&w))) {
		bad = *v < 2 || *v > nn || sd->tag[*v - 1] != i;
		i++;
	}
	if (ccm_walk_end(&w))
		return w.err;
	return bad ? -CCM_E_FORMAT : 0;
}

int tree_restore(struct tree **out, const struct ccm_archive *a, const char *p,
		 size_t n, size_t *pos, const struct ccm_reader *rd)
{
	const void *dn, *dk, *dh, *de, *dnm, *dr, *dm;
	size_t nn, nk, nh, ne, nnm, nr, nm, zeros;
	const struct tree_node *nodes;
	const uint32_t *kids, *hash, *eino;
	const uint64_t *misc;
	struct restore_side sd = { 0 };
	struct tree *t;
	int err;

	*out = NULL;
	if ((err = ccm_sec_get(p, n, pos, TTAG('N', 'O', 'D', 'E'),
			       sizeof(struct tree_node), &dn, &nn)) ||
	    (err = ccm_sec_get(p, n, pos, TTAG('K', 'I', 'D', 'S'),
			       sizeof(uint32_t), &dk, &nk)) ||
	    (err = ccm_sec_get(p, n, pos, TTAG('H', 'A', 'S', 'H'),
			       sizeof(uint32_t), &dh, &nh)) ||
	    (err = ccm_sec_get(p, n, pos, TTAG('E', 'I', 'N', 'O'),
			       sizeof(uint32_t), &de, &ne)) ||
	    (err = ccm_sec_get(p, n, pos, TTAG('N', 'A', 'M', 'E'), 0, &dnm,
			       &nnm)) ||
	    (err = ccm_sec_get(p, n, pos, TTAG('R', 'E', 'P', 'T'), 0, &dr,
			       &nr)) ||
	    (err = ccm_sec_get(p, n, pos, TTAG('T', 'M', 'I', 'S'),
			       sizeof(uint64_t), &dm, &nm)))
		return err;
	nodes = dn;
	kids = dk;
	hash = dh;
	eino = de;
	misc = dm;
	/* Never trust it: every reference is checked before use. */
	if (nn < 2 || nn > UINT32_MAX || nk != nn || ne != a->nentries ||
	    nm != 5 || nh != misc[4] || nh < 2 * nn || (nh & (nh - 1)) ||
	    nnm == 0 || ((const char *)dnm)[nnm - 1] != '\0' ||
	    misc[3] > TREE_LAYOUT_MAILDIR || nodes[1].kind != TREE_REPORT ||
	    nodes[1].size != nr || nodes[0].kind != TREE_DIR)
		return -CCM_E_FORMAT;
	err = side_gather(&sd, a, rd, p, n, nodes, nn);
	if (!err)
		err = nodes_ok(&sd, a, rd, p, n, nodes, nn, nnm);
	/* The root is nobody's child: nn - 1 slots are used. */
	if (!err)
		err = inos_ok(rd, p, n, kids, nn - 1, 2, nn, &zeros);
	if (!err)
		err = inos_ok(rd, p, n, hash, nh, 0, nn, &zeros);
	/* A lookup probes until an empty slot: a full table would spin. */
	if (!err && zeros == 0)
		err = -CCM_E_FORMAT;
	if (!err)
		err = eino_ok(&sd, rd, p, n, eino, ne, nn);
	side_free(&sd);
	if (err)
		return err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->a = a;
	t->layout = (enum tree_layout)misc[3];
	t->total_size = misc[0];
	t->nfiles = misc[1];
	t->ndirs = misc[2];
	t->nnodes = t->nodecap = nn;
	t->hashcap = nh;
	ccm_buf_init(&t->names);
	ccm_buf_init(&t->report);
	/* Borrowed from the index bytes, which the archive holds. */
	t->borrowed = 1;
	t->nodes = (struct tree_node *)nodes;
	t->children = (uint32_t *)kids;
	t->hash = (uint32_t *)hash;
	t->entry_ino = (uint32_t *)eino;
	t->names.p = (char *)dnm;
	t->names.len = nnm;
	t->report.p = (char *)dr;
	t->report.len = nr;
	*out = t;
	return 0;
}
