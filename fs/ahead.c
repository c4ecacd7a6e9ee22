/*
 * ahead.c - files rendered before they are read.
 *
 * tar, cp -r and rsync read a directory's files one after another, each
 * in one READ, and wait for its render.  When two files of a directory are
 * read in a row, the receiving thread (fs/loop.c), between polls of the
 * device, renders the files after them, so the next READ is answered from
 * memory while the reader was busy elsewhere.  A run stays AHEAD_FILES in
 * front of the reader; a file leaves its slot once read to its end, or
 * when the reader jumps elsewhere.  With the page cache push on
 * (fs/push.c), which spares the round trip too, only looked-up files are
 * rendered here, and ahead_plan_* below plan the push.  No FUSE, no
 * locks: one thread owns a struct ahead, the push's lock its plan.
 */
#include <string.h>

#include "ahead.h"

void ahead_init(struct ahead *p, const struct tree *t)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->t = t;
	for (i = 0; i < AHEAD_FILES; i++)
		ccm_buf_init(&p->slot[i].buf);
}

/* A small buffer stays for the next file (until ahead_release); a large
 * one goes, so that idle slots hold at most AHEAD_FILES * SLOT_KEEP. */
#define SLOT_KEEP (64 * 1024)

static void slot_free(struct ahead_slot *s)
{
	s->ino = 0;
	if (s->buf.cap > SLOT_KEEP)
		ccm_buf_release(&s->buf);
	else
		ccm_buf_clear(&s->buf);
}

void ahead_release(struct ahead *p)
{
	size_t i;

	for (i = 0; i < AHEAD_FILES; i++) {
		p->slot[i].ino = 0;
		ccm_buf_release(&p->slot[i].buf);
	}
	p->dir = 0;
	p->last = p->next = p->end = 0;
	p->hint = 0;
}

/*
 * The position of ino among d's children.  link_children (tree.c) fills a
 * directory's children in inode order, so a binary search finds it.
 */
static size_t find_child(const struct tree *t, const struct tree_node *d,
			 uint64_t ino)
{
	const uint32_t *c = t->children + d->first;
	size_t lo = 0, hi = d->nchildren;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c[mid] < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->nchildren && c[lo] == ino ? lo : d->nchildren;
}

static size_t position(const struct ahead *p, const struct tree_node *d,
		       uint64_t dir, uint64_t ino)
{
	const uint32_t *c = p->t->children + d->first;

	/* The common case: the file after the last one. */
	if (p->dir == dir && p->last + 1 < d->nchildren &&
	    c[p->last + 1] == ino)
		return p->last + 1;
	return find_child(p->t, d, ino);
}

void ahead_note(struct ahead *p, uint64_t ino)
{
	const struct tree_node *n = tree_node(p->t, ino), *d;
	size_t pos, i;

	ahead_unhint(p, ino);	/* its read came first: too late to render */
	if (!n || n->kind != TREE_ENTRY)
		return;
	d = tree_node(p->t, n->parent);
	pos = position(p, d, n->parent, ino);
	if (pos >= d->nchildren)
		return;
	if (p->dir == n->parent && pos == p->last)
		return;		/* the same file again */
	if (p->dir == n->parent && pos > p->last && pos <= p->end) {
		if (p->next < pos + 1)
			p->next = pos + 1;
		p->end = pos + 1 + AHEAD_FILES;
		if (p->end > d->nchildren)
			p->end = d->nchildren;
		/* Files the reader went past will not be asked for. */
		for (i = 0; i < AHEAD_FILES; i++)
			if (p->slot[i].ino && p->slot[i].pos < pos)
				slot_free(&p->slot[i]);
	} else {
		/* A first read, or a jump: wait for a second one in a row. */
		for (i = 0; i < AHEAD_FILES; i++)
			if (p->slot[i].ino != ino)
				slot_free(&p->slot[i]);
		p->dir = n->parent;
		p->next = p->end = pos + 1;
	}
	p->last = pos;
}

void ahead_hint(struct ahead *p, uint64_t ino)
{
	p->hint = ino;
}

void ahead_unhint(struct ahead *p, uint64_t ino)
{
	if (p->hint == ino)
		p->hint = 0;
}

/* A slot of a looked-up file: never behind a reader's run position. */
#define HINT_POS ((size_t)-1)

static int fill(struct ahead *p, struct ahead_slot *s, uint64_t ino,
		size_t pos)
{
	const struct tree_node *n = tree_node(p->t, ino);

	if (!n || n->kind != TREE_ENTRY || n->size == 0 ||
	    n->size > AHEAD_MAX_SIZE || ahead_get(p, ino))
		return 0;
	ccm_buf_clear(&s->buf);
	/* A file that does not render to its size is left to the READ,
	 * which reports the error. */
	if (tree_read(p->t, ino, &s->buf) == 0 && !s->buf.oom &&
	    s->buf.len == n->size) {
		s->ino = ino;
		s->pos = pos;
	} else {
		slot_free(s);
	}
	return 1;
}

const struct ccm_buf *ahead_get(const struct ahead *p, uint64_t ino)
{
	size_t i;

	for (i = 0; i < AHEAD_FILES; i++)
		if (p->slot[i].ino == ino)
			return &p->slot[i].buf;
	return NULL;
}

void ahead_drop(struct ahead *p, uint64_t ino)
{
	size_t i;

	for (i = 0; i < AHEAD_FILES; i++)
		if (p->slot[i].ino == ino)
			slot_free(&p->slot[i]);
}

int ahead_step(struct ahead *p)
{
	struct ahead_slot *s = NULL;
	size_t i;

	for (i = 0; i < AHEAD_FILES && !s; i++)
		if (!p->slot[i].ino)
			s = &p->slot[i];
	/* A looked-up file read from the page cache (the push) never frees
	 * its slot through a READ: a newer hint takes the place of one. */
	for (i = 0; i < AHEAD_FILES && !s && p->hint; i++)
		if (p->slot[i].pos == HINT_POS) {
			slot_free(&p->slot[i]);
			s = &p->slot[i];
		}
	if (s && p->hint) {
		uint64_t ino = p->hint;

		p->hint = 0;
		if (fill(p, s, ino, HINT_POS))
			return 1;
	}
	while (s && p->dir && p->next < p->end) {
		const struct tree_node *d = tree_node(p->t, p->dir);
		size_t pos = p->next++;

		if (fill(p, s, p->t->children[d->first + pos], pos))
			return 1;
	}
	return 0;
}

/*
 * The first file at or after position *pos of *dir in the order tar and
 * cp -r read a tree: a directory's children as listed, a subdirectory's
 * files where the subdirectory is listed.  0 when the tree has no more.
 */
static int tree_order_next(const struct tree *t, uint64_t *dir, size_t *pos)
{
	uint64_t d = *dir;
	size_t i = *pos;

	for (;;) {
		const struct tree_node *n = tree_node(t, d), *up;

		if (!n || n->kind != TREE_DIR)
			return 0;
		while (i < n->nchildren) {
			uint64_t c = t->children[n->first + i];
			const struct tree_node *cn = tree_node(t, c);

			if (cn && cn->kind == TREE_ENTRY) {
				*dir = d;
				*pos = i;
				return 1;
			}
			if (cn && cn->kind == TREE_DIR) {
				d = c;
				n = cn;
				i = 0;
				continue;
			}
			i++;
		}
		if (n->parent == d)
			return 0;	/* the root */
		up = tree_node(t, n->parent);
		i = find_child(t, up, d) + 1;
		d = n->parent;
	}
}

/* No file before position pos of directory d. */
static int first_file(const struct tree *t, const struct tree_node *d,
		      size_t pos)
{
	size_t i;

	for (i = 0; i < pos; i++) {
		const struct tree_node *c =
			tree_node(t, t->children[d->first + i]);

		if (c && c->kind == TREE_ENTRY)
			return 0;
	}
	return 1;
}

void ahead_plan_forget(struct ahead_plan *p)
{
	p->dir = 0;
	p->hopped = 0;
	p->nhops = 0;
	p->ignored = 0;
	p->tree_order = 0;
	p->wire = 0;
	p->taken = 0;
	p->peeked = 0;
}

/*
 * The reader has read the wire: it follows the run, and is half a span
 * behind the plan.  If the pushers had taken all of the run, it was too
 * short to keep them busy: the span doubles, as at a miss at its end.  A wire in the directory the plan is in is an ordinary
 * miss inside the run (1 to carry on).  One in a directory the plan has
 * since left through the next ones renews the budget they took from the
 * span, from the wire on, and leaves the run as it is (0).
 */
static int plan_wire(struct ahead_plan *p, const struct tree *t,
		     const struct tree_node *n, size_t pos, size_t max_span)
{
	const struct tree_node *d;
	unsigned i, k = p->wire_hops;

	p->wire = 0;
	p->wires++;
	if (p->next >= p->end && p->span < max_span)
		p->span = 2 * p->span < max_span ? 2 * p->span : max_span;
	if (n->parent == p->dir || k >= p->nhops ||
	    p->hop_dir[k] != n->parent)
		return 1;
	for (i = k; i < p->nhops; i++)
		p->hop_dir[i - k] = p->hop_dir[i];
	p->nhops -= k;
	p->since = p->since > p->wire_since ? p->since - p->wire_since : 0;
	p->taken = p->taken > p->wire_taken ? p->taken - p->wire_taken : 0;
	/* The run in the plan's directory may have stopped short of its
	 * end for want of budget: it goes on with the budget renewed. */
	d = tree_node(t, p->dir);
	if (p->since < p->span && p->end < d->nchildren) {
		size_t more = d->nchildren - p->end;

		if (more > p->span - p->since)
			more = p->span - p->since;
		p->end += more;
		p->since += more;
	}
	p->last = pos;
	p->ignored = 0;
	return 0;
}

void ahead_plan_miss(struct ahead_plan *p, const struct tree *t,
		     uint64_t ino, size_t min_span, size_t max_span)
{
	const struct tree_node *n = tree_node(t, ino), *d;
	size_t pos;
	unsigned i;

	if (!n || n->kind != TREE_ENTRY)
		return;
	d = tree_node(t, n->parent);
	pos = find_child(t, d, ino);
	if (pos >= d->nchildren)
		return;
	if (p->dir == n->parent && !p->hopped && pos == p->last)
		return;		/* the same file again */
	if (p->wire == ino && !plan_wire(p, t, n, pos, max_span))
		return;
	/* In a directory the plan went on through since the last miss, a
	 * file it took that a pusher has yet to store: the reader caught
	 * up with the pushers, and the plan is still ahead of it.  Many in
	 * a row mean the plan is stale (the reader went elsewhere, ahead of
	 * a slow push): start again. */
	for (i = 0; i < p->nhops && n->parent != p->dir; i++) {
		if (p->hop_dir[i] != n->parent || (i == 0 && pos <= p->last))
			continue;
		if (++p->ignored <= PLAN_IGNORE_MAX)
			return;
		ahead_plan_forget(p);
		break;
	}
	if (p->dir == n->parent && (pos > p->last || p->hopped) &&
	    pos <= p->end) {
		/* The reader keeps going (into the directory the plan went
		 * on to, if it hopped: last is another directory's): stay
		 * span files in front of it, and never push what it has
		 * passed. */
		if (pos == p->end && p->next == p->end &&
		    (p->hopped || p->end > p->last + 1) && p->span < max_span)
			p->span = 2 * p->span < max_span ? 2 * p->span
							 : max_span;
		if (p->next < pos + 1)
			p->next = pos + 1;
		p->end = pos + 1 + p->span;
		if (p->end > d->nchildren)
			p->end = d->nchildren;
	} else if (p->dir && first_file(t, d, pos) &&
		   (p->hopped ||
		    p->next >= tree_node(t, p->dir)->nchildren)) {
		/* A directory's first file after another directory pushed to
		 * its end: tar, cp -r or rsync going on to the next one.  Go
		 * on with them at once, at the same pace; and count the times
		 * in a row they went where tar would (rsync sorts names, and
		 * may match once by chance), for the plan to go on by itself
		 * after two. */
		uint64_t want = p->dir;
		size_t wpos = tree_node(t, p->dir)->nchildren;

		if (tree_order_next(t, &want, &wpos) && want == n->parent &&
		    wpos == pos)
			p->tree_order += p->tree_order < PLAN_TREE_ORDER;
		else
			p->tree_order = 0;
		p->dir = n->parent;
		p->next = pos + 1;
		p->end = pos + 1 + p->span < d->nchildren ? pos + 1 + p->span
							  : d->nchildren;
	} else {
		/* A first read, or a jump: wait for a second one in a row. */
		p->dir = n->parent;
		p->next = p->end = pos + 1;
		p->span = min_span;
		p->tree_order = 0;
	}
	p->last = pos;
	p->hopped = 0;
	p->nhops = 0;
	p->ignored = 0;
	p->since = p->end - (pos + 1);
	p->wire = 0;
	p->taken = p->next - (pos + 1);
}

/* Past the end of a directory, on to the next files in tree order, when
 * the reader is known to read that way, has not been left behind by span
 * files, and the kernel has listed the next directory (else it is asked
 * for, through want_list). */
static int plan_hop(struct ahead_plan *p, const struct tree *t)
{
	uint64_t dir = p->dir;
	size_t pos = p->end, n;

	if (!dir || p->tree_order < PLAN_TREE_ORDER || p->since >= p->span ||
	    p->nhops >= PLAN_HOPS || p->end < tree_node(t, dir)->nchildren ||
	    !tree_order_next(t, &dir, &pos))
		return 0;
	if (p->listed && !tree_bit(p->listed, dir)) {
		if (p->asked != dir)
			p->want_list = dir;
		return 0;
	}
	p->hop_dir[p->nhops++] = p->dir;
	n = tree_node(t, dir)->nchildren - pos;
	if (n > p->span - p->since)
		n = p->span - p->since;
	p->dir = dir;
	p->next = pos;
	p->end = pos + n;
	p->since += n;
	p->hopped = 1;
	p->hops++;
	return 1;
}

/* The run has reached its directory's end: ask for the next directory's
 * listing now, for it to be there when the pushers get to it. */
static void plan_ask_early(struct ahead_plan *p, const struct tree *t)
{
	uint64_t dir = p->dir;
	size_t pos = tree_node(t, dir)->nchildren;

	p->peeked = p->dir;
	if (p->listed && p->tree_order >= PLAN_TREE_ORDER &&
	    tree_order_next(t, &dir, &pos) && !tree_bit(p->listed, dir) &&
	    p->asked != dir)
		p->want_list = dir;
}

uint64_t ahead_plan_take(struct ahead_plan *p, const struct tree *t)
{
	do {
		while (p->dir && p->next < p->end) {
			const struct tree_node *d = tree_node(t, p->dir);
			uint64_t ino = t->children[d->first + p->next++];
			const struct tree_node *n = tree_node(t, ino);

			if (!n || n->kind != TREE_ENTRY || n->size == 0 ||
			    n->size > PLAN_MAX_SIZE)
				continue;
			if (p->wire_min && !p->wire &&
			    p->span >= p->wire_min &&
			    p->taken >= p->span / 2) {
				p->wire = ino;
				p->wire_since = p->since - (p->end - p->next);
				p->wire_hops = p->nhops;
				p->wire_taken = p->taken;
				continue;
			}
			p->taken++;
			if (p->peeked != p->dir &&
			    p->end >= tree_node(t, p->dir)->nchildren)
				plan_ask_early(p, t);
			return ino;
		}
	} while (plan_hop(p, t));
	return 0;
}
