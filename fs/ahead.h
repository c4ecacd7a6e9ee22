/*
 * ahead.h - files rendered before they are read (see ahead.c).
 */
#ifndef CCMFS_AHEAD_H
#define CCMFS_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

/* How far in front of a sequential reader, and the largest file rendered
 * ahead (the loop hands larger ones to a worker thread anyway). */
#define AHEAD_FILES 16
#define AHEAD_MAX_SIZE (256 * 1024)

struct ahead_slot {
	uint64_t ino;		/* 0: free */
	size_t pos;		/* its position in the directory */
	struct ccm_buf buf;	/* the whole file */
};

struct ahead {
	const struct tree *t;
	uint64_t dir;		/* directory being read through; 0: none */
	size_t last;		/* position of the last file read in dir */
	size_t next, end;	/* positions [next, end) still to render */
	uint64_t hint;		/* a file just looked up; 0: none */
	struct ahead_slot slot[AHEAD_FILES];
};

void ahead_init(struct ahead *p, const struct tree *t);
/* Forget the plan and free every rendered file and its memory. */
void ahead_release(struct ahead *p);
/*
 * A read of file ino from offset 0 arrived: follow the reader.  Two files
 * of one directory read in a row start a run of AHEAD_FILES after them.
 */
void ahead_note(struct ahead *p, uint64_t ino);
/*
 * File ino was just looked up by name, as `cat FILE` or an open by path
 * does before its READ: render it next, while the reply travels and the
 * caller wakes.  It keeps its slot until read, a jump, or release.
 */
void ahead_hint(struct ahead *p, uint64_t ino);
/* A read of ino came first: drop its hint, if any. */
void ahead_unhint(struct ahead *p, uint64_t ino);
/* The rendered bytes of ino (its whole size), or NULL. */
const struct ccm_buf *ahead_get(const struct ahead *p, uint64_t ino);
/* The file has been read to its end: free its slot. */
void ahead_drop(struct ahead *p, uint64_t ino);
/* Render the next planned file; 0 when there was nothing to do. */
int ahead_step(struct ahead *p);

/* Directories the plan goes on through between two misses, at most. */
#define PLAN_HOPS 8
/* Moves from a directory to the next in tree order, in a row, before the
 * plan goes on by itself. */
#define PLAN_TREE_ORDER 2
/* Misses in directories gone through, in a row, taken as races with the
 * pushers; one more and the plan starts again. */
#define PLAN_IGNORE_MAX 16

/*
 * The plan of files to push into the kernel's page cache (fs/push.c).
 * Files found there send no request, so the plan only learns of the
 * reader's progress when it misses: at the wire (below), at the end of
 * the pushed run, or inside it when the pusher has fallen behind.  Each
 * extends the run to span files after the miss.  Pure bookkeeping, like
 * the above.
 */
struct ahead_plan {
	uint64_t dir;		/* 0: no run */
	size_t last;		/* position of the last miss in dir */
	size_t next, end;	/* positions [next, end) still to push */
	size_t span;		/* files pushed after a miss */
	size_t since;		/* files planned since the last miss */
	int tree_order;		/* times in a row the reader went on as tar */
	int hopped;		/* dir is one the reader has not reached */
	unsigned nhops;		/* directories left since the last miss */
	unsigned ignored;	/* misses taken as races, in a row */
	uint64_t hop_dir[PLAN_HOPS];
	/*
	 * Bit per inode: directories the kernel has listed, hence has
	 * inodes for the files of (a push of any other fails); NULL: all.
	 * A hop waits for its directory's bit, with want_list set to the
	 * directory (once: asked) for the caller to have it listed.
	 */
	const uint8_t *listed;
	uint64_t want_list, asked;
	uint64_t peeked;	/* the last dir plan_ask_early looked past */
	uint64_t hops;		/* for the debug log */
	/*
	 * The wire: one file of a run, half a span after the last miss,
	 * left unpushed.  The reader's READ of it is the only news of its
	 * progress through pushed files; arriving while the pushers still
	 * have the run's second half to push, it extends the run before they
	 * run out (else they wait idle at the run's end, and the reader then
	 * waits for them).  Runs of at least wire_min files have one; 0:
	 * none.
	 */
	size_t wire_min;
	uint64_t wire;		/* 0: not set */
	size_t taken;		/* files taken past the reader's last miss */
	size_t wire_since;	/* the part of since up to the wire */
	size_t wire_taken;	/* taken when the wire was set */
	unsigned wire_hops;	/* nhops when the wire was set */
	uint64_t wires;		/* reached by the reader, for the debug log */
};

/*
 * Like the kernel's readahead window, the span starts at min_span files
 * and doubles, up to max_span, each time the reader misses at the very end
 * of the run (it read everything pushed, and no miss told where it was),
 * or reads the wire once everything planned was taken (the pushers had
 * run out of work).
 */
void ahead_plan_miss(struct ahead_plan *p, const struct tree *t,
		     uint64_t ino, size_t min_span, size_t max_span);
/* Files up to this size are pushed (fs/push.c pushes one window at a time). */
#define PLAN_MAX_SIZE ((uint64_t)16 << 20)
/*
 * The next file to push (not empty, at most PLAN_MAX_SIZE), or 0.  A
 * directory pushed to its end is followed, as tar and cp -r go on, by the
 * next files in tree order, up to span files past the last miss, once the
 * reader has twice gone from one directory to the next in that order.
 * With wire_min set, the file half a span past the last miss is skipped:
 * the wire, left for the reader to READ.
 */
uint64_t ahead_plan_take(struct ahead_plan *p, const struct tree *t);
/* The reader has stopped (fs/push.c: no request for a while): the next
 * miss starts a new run, the reader's order unknown. */
void ahead_plan_forget(struct ahead_plan *p);

#endif
