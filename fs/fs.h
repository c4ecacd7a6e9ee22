/*
 * fs.h - the FUSE front end's shared state (fs/ops.c, fs/mount.c).
 */
#ifndef CCMFS_FS_H
#define CCMFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sys/types.h>

#include "ahead.h"
#include "listahead.h"
#include "push.h"
#include "tree.h"

struct ccmfs {
	struct tree *tree;	/* NULL until ready, then the whole tree */
	/* A first mount serves while the scan runs (fs/mount.c): until
	 * ready, the root is served from top (index_open's io->defer) and
	 * every other request waits; ccmfs_publish ends that. */
	struct tree *top;
	int ready, build_err;
	struct parked *parked, **parked_tail;	/* fs/early.c */
	pthread_mutex_t rlock;
	pthread_cond_t rcond;
	int live;		/* go_live has run (receiving thread only) */
	int want_push;		/* the guard runs: go_live starts the push */
	int keep_pushed;	/* -o keeppushed (fs/push.c recycle) */
	int no_xattr;		/* -o noxattr: ENOSYS, the kernel stops asking */
	int want_listahead;	/* go_live starts the lister (listahead.c) */
	const char *mountpoint;	/* absolute */
	pid_t guard;		/* fs/guard.c, or -1 */
	void (*on_live)(struct ccmfs *fs);	/* then calls this */
	uid_t uid;
	gid_t gid;
	double timeout;		/* entry and attribute timeouts, seconds */
	struct fuse_session *se;
	struct loop *loop;	/* fs/loop.c: defers slow reads */
	struct ahead ahead;	/* owned by the loop's receiving thread */
	char *dirbuf;		/* listings' replies, the same thread's */
	size_t dircap;
	struct push push;	/* fs/push.c, when started */
	struct listahead listahead;	/* fs/listahead.c, when started */
	uint64_t hold_ino;	/* test only: its READs are never answered */
	int no_open;		/* the kernel skips open/release (NO_OPEN) */
	int no_opendir;		/* and opendir/releasedir (NO_OPENDIR) */
	int can_no_opendir;	/* the kernel offered NO_OPENDIR */
	int parallel_dirops;	/* the kernel offered it (op_init) */
	int dirops_sent;	/* and our INIT reply asked for it */
	int init_sent;		/* the INIT reply has been written */
	/* The report's page cache is dropped shortly after each read of it,
	 * by a thread (never from inside a request), so that its status
	 * line is fresh at the next read: see ccmfs_watch_start. */
	pthread_t watcher;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	int wpending, wroot, wstop, wstarted, wdone;
};

extern const struct fuse_lowlevel_ops ccmfs_ops;

/* The one place where library errors become errno values for replies. */
int ccmfs_errno(int err);

/* The loop's idle hook (fs/loop.h): renders ahead of sequential readers. */
int ccmfs_idle(void *fs, int sleeping);

/* The tree is ready (t), or could not be built (t NULL, err): wake
 * every waiting request.  Any thread; once. */
void ccmfs_publish(struct ccmfs *fs, struct tree *t, int err);

/* Start and stop the report invalidation thread (fs->se must be set). */
void ccmfs_watch_start(struct ccmfs *fs);
void ccmfs_watch_stop(struct ccmfs *fs);
/* Have the kernel drop what it keeps of the root (its listing). */
void ccmfs_watch_inval_root(struct ccmfs *fs);

/* Mount SOURCE... at the mount point given in argv; returns an exit code. */
int ccmfs_mount_main(int argc, char **argv);

#endif
