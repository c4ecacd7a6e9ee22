/*
 * listplan.h - the order in which fs/listahead.c lists directories ahead
 * of a reader walking the tree.  Pure bookkeeping, for the unit tests.
 */
#ifndef CCMFS_LISTPLAN_H
#define CCMFS_LISTPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

/*
 * Where the lister starts, as a share of the entries still ahead of the
 * reader when it does: LISTPLAN_START_NUM / LISTPLAN_START_DEN.
 */
#define LISTPLAN_START_NUM 1
#define LISTPLAN_START_DEN 4

enum { LISTPLAN_FREE, LISTPLAN_OPENED, LISTPLAN_TAKEN };

struct listplan {
	size_t n;		/* directories */
	uint32_t *dirs;		/* their inodes, in walk order */
	uint32_t *count;	/* their entries, by position */
	uint32_t *byino;	/* pairs (inode, position), by inode */
	uint8_t *state;		/* LISTPLAN_* by position */
	size_t reader;		/* 1 + the furthest position a reader opened */
	size_t fwd;		/* the forward walk's next position */
	size_t back;		/* the backward walk takes back - 1 next */
	int started, forward;
};

/* The directories of t in walk order; 0, or -1 (out of memory). */
int listplan_init(struct listplan *lp, const struct tree *t);
/* The same for n directories (inodes) and their entries, in walk order. */
int listplan_init_dirs(struct listplan *lp, const uint32_t *dirs,
		       const uint32_t *count, size_t n);
void listplan_release(struct listplan *lp);
/* The position of directory ino, or n if it is none. */
size_t listplan_pos(const struct listplan *lp, uint64_t ino);
/* A reader opened the directory at pos: it lists that one itself. */
void listplan_opened(struct listplan *lp, size_t pos);
/* The directory at pos is listed (by the lister, or on request). */
void listplan_taken(struct listplan *lp, size_t pos);
/* The next directory to list (a position), or n when none is left. */
size_t listplan_peek(struct listplan *lp);

#endif
