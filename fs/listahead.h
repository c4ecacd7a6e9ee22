/*
 * listahead.h - directories listed ahead of a reader walking the tree
 * (fs/listahead.c).
 */
#ifndef CCMFS_LISTAHEAD_H
#define CCMFS_LISTAHEAD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "listplan.h"
#include "tree.h"

/* Readers must have opened this many directories before the lister
 * starts, and it lists at most twice as many entries as the directories
 * they opened hold, plus LISTAHEAD_SLACK: it is slower than a reader
 * that only stats, and must not wait for it. */
#define LISTAHEAD_MIN_DIRS 3
#define LISTAHEAD_SLACK 8192
/* The getdents buffer: the kernel sizes its READDIRPLUS from it. */
#define LISTAHEAD_BUF TREE_DIR_BLKSIZE

struct listahead {
	const struct tree *t;
	char *root;		/* the mount point, absolute */
	pid_t guard;		/* fs/guard.c: nothing is listed before it
				 * watches */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t tid;		/* the lister's thread id (its requests) */
	int started, stop;
	int off, done;		/* stopped for good (why), or walked all */
	const char *why;
	/* The lister's own: */
	int guarded, checked;
	dev_t dev;		/* of the mount, from the first listing */
	struct listplan plan;	/* which directory next (fs/listplan.c) */
	uint8_t *opened;	/* bit per inode: opened by a reader */
	uint64_t reader_dirs, reader_entries, lister_entries;
	char *buf;
	uint64_t listed;	/* for the debug log */
	uint64_t urgent;	/* listahead_request's directory, or 0 */
};

/* Start the thread that lists directories of t under the mount point
 * root (an absolute path) once guard watches; 0, or -1 (nothing started:
 * la stays off). */
int listahead_start(struct listahead *la, const struct tree *t,
		    const char *root, pid_t guard);
/* 1 if this process may clone mounts (CAP_SYS_ADMIN in effect). */
int listahead_capable(void);
/* 1 while the lister may still list: it needs to see OPENDIR.  Any
 * thread. */
int listahead_active(const struct listahead *la);
/*
 * Directory ino was opened by pid (an OPENDIR): unless pid is the
 * lister, a reader's progress.  Any thread; returns at once.
 */
void listahead_opened(struct listahead *la, uint64_t ino, pid_t pid);
/*
 * List directory ino next, whatever the budget and the readers' progress
 * (the push goes on into it: fs/push.c).  Any thread; returns at once.
 * Nothing happens if the lister is off.
 */
void listahead_request(struct listahead *la, uint64_t ino);
/* "on", why it stopped, or NULL if it never started; for the log. */
const char *listahead_state(struct listahead *la);
/*
 * Stop and join the thread, and free everything.  A listing in progress
 * waits for its reply: call once the FUSE connection is closed (its
 * pending requests then fail), or while requests are still answered.
 */
void listahead_end(struct listahead *la);

#endif
