/*
 * push.h - files pushed into the kernel's page cache before they are read
 * (fs/push.c).
 */
#ifndef CCMFS_PUSH_H
#define CCMFS_PUSH_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "ahead.h"

/* How far in front of a sequential reader the pusher goes, at first and
 * at most (ahead_plan_miss). */
#define PUSH_FILES 64
#define PUSH_FILES_MAX 2048
/* A miss after this long without one, or a push, starts a new plan. */
#define PUSH_IDLE_MS 2000
/* Larger files are rendered and pushed this much at a time. */
#define PUSH_WINDOW ((size_t)1 << 20)
/* Rendering is most of a push: two threads keep ahead of tar. */
#define PUSH_THREADS 2
/*
 * A pushed file over PUSH_RECYCLE_MIN bytes leaves the page cache once
 * PUSH_RECYCLE files have been pushed after it (push.c, recycle): twice
 * PUSH_FILES_MAX, so a sequential reader has passed it.  One that went
 * into a subfolder or another directory midway may not have; such a file
 * then costs it a READ.
 */
#define PUSH_RECYCLE (2 * PUSH_FILES_MAX)
#define PUSH_RECYCLE_MIN 16384

struct push {
	struct fuse_session *se;
	const struct tree *t;
	pthread_t thread[PUSH_THREADS];
	unsigned nthreads, ndone;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ahead_plan plan;
	pid_t guard;		/* fs/guard.c: pushes wait until it watches */
	int started, stop, unguarded;
	int keep;		/* -o keeppushed: no recycle */
	uint64_t recent[PUSH_RECYCLE];	/* the last files pushed, a ring */
	uint64_t npushed;
	uint64_t stored, misses, recycled;	/* for the debug log */
	uint8_t *listed;	/* bit per inode: the kernel listed it */
	uint64_t active;	/* ms (monotonic) of the last take or miss */
	/* Asks for a directory to be listed (fs/listahead.c), without
	 * waiting; push_listed follows once it is. */
	void (*ask_list)(void *ctx, uint64_t dir);
	void *ask_ctx;
};

/* Start the pushing threads, which push nothing until guard watches
 * (guard_ready), and drop what they pushed unless keep; 0, or -1
 * (nothing started: p stays off). */
int push_start(struct push *p, struct fuse_session *se, const struct tree *t,
	       pid_t guard, int keep);
/* A READ of ino from offset 0 reached the daemon. */
void push_miss(struct push *p, uint64_t ino);
/*
 * The kernel has listed directory dir to its end (a READDIRPLUS past its
 * last entry: the reply before it has been taken in), so it has inodes
 * for its files, and a push into it can succeed.
 */
void push_listed(struct push *p, uint64_t dir);
/*
 * Ask the thread to stop; 1 while it has not finished.  Until then the
 * caller must keep answering requests: the push may be waiting on a page
 * that a reader holds locked for a READ in the queue.
 */
int push_stopping(struct push *p);
/* Join the finished thread and free everything. */
void push_end(struct push *p);

#endif
