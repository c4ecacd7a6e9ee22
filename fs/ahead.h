/*
 * ahead.h - plan of files to render before they are read (see ahead.c).
 */
#ifndef CCMFS_AHEAD_H
#define CCMFS_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

/* How far in front of a sequential reader, and the largest file pushed
 * (larger ones are streamed by the kernel's own readahead). */
#define AHEAD_FILES 128
#define AHEAD_MAX_SIZE (256 * 1024)

struct ahead {
	uint64_t dir;		/* directory being read through; 0: none */
	size_t last;		/* position of the last miss in dir */
	size_t next, end;	/* positions [next, end) still to render */
};

void ahead_init(struct ahead *p);
/* A read of file ino reached the daemon (it was not in the page cache). */
void ahead_miss(struct ahead *p, const struct tree *t, uint64_t ino);
/* The next file to render in advance, or 0 when there is none. */
uint64_t ahead_take(struct ahead *p, const struct tree *t);

#endif
