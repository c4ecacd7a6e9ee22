/*
 * ahead.c - which files to render before they are asked for.
 *
 * tar, cp -r and rsync read a directory's files one after another, each
 * in a single READ: the reader waits for one round trip and one render
 * per file.  When two reads in a row hit neighbouring files of one
 * directory, the files after them are rendered in advance (by the thread
 * in prefetch.c, which pushes them into the kernel's page cache), so the
 * reader finds them cached and the daemon renders while it reads.
 *
 * Files found in the page cache send no request, so the plan only learns
 * of the reader's progress when it misses: at the end of the stored run,
 * or inside it when the renderer has fallen behind.  Either extends the
 * run by AHEAD_FILES from the miss.  Pure bookkeeping: no FUSE, no locks.
 */
#include "ahead.h"

void ahead_init(struct ahead *p)
{
	p->dir = 0;
	p->last = p->next = p->end = 0;
}

static size_t position(const struct tree *t, const struct tree_node *d,
		       uint64_t ino)
{
	size_t i;

	/* Misses are one per AHEAD_FILES files: a scan is cheap enough. */
	for (i = 0; i < d->nchildren; i++)
		if (t->children[d->first + i] == ino)
			return i;
	return d->nchildren;
}

void ahead_miss(struct ahead *p, const struct tree *t, uint64_t ino)
{
	const struct tree_node *n = tree_node(t, ino), *d;
	size_t pos;

	if (!n || n->kind != TREE_ENTRY)
		return;
	d = tree_node(t, n->parent);
	pos = position(t, d, ino);
	if (pos >= d->nchildren)
		return;
	if (p->dir == n->parent && pos > p->last && pos <= p->end) {
		/* The reader keeps going: stay AHEAD_FILES in front of it. */
		if (p->next < pos + 1)
			p->next = pos + 1;
		p->end = pos + 1 + AHEAD_FILES;
		if (p->end > d->nchildren)
			p->end = d->nchildren;
	} else {
		/* A first read, or a jump: wait for a second one in a row. */
		p->dir = n->parent;
		p->next = p->end = pos + 1;
	}
	p->last = pos;
}

uint64_t ahead_take(struct ahead *p, const struct tree *t)
{
	while (p->dir && p->next < p->end) {
		const struct tree_node *d = tree_node(t, p->dir);
		uint64_t ino = t->children[d->first + p->next++];
		const struct tree_node *n = tree_node(t, ino);

		if (n->kind == TREE_ENTRY && n->size > 0 &&
		    n->size <= AHEAD_MAX_SIZE)
			return ino;
	}
	return 0;
}
