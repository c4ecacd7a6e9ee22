/*
 * fs.h - the FUSE front end's shared state (fs/ops.c, fs/mount.c).
 */
#ifndef CCMFS_FS_H
#define CCMFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <sys/types.h>

#include "tree.h"

struct ccmfs {
	struct tree *tree;
	uid_t uid;
	gid_t gid;
	double timeout;		/* entry and attribute timeouts, seconds */
};

extern const struct fuse_lowlevel_ops ccmfs_ops;

/* The one place where library errors become errno values for replies. */
int ccmfs_errno(int err);

/* Mount SOURCE... at the mount point given in argv; returns an exit code. */
int ccmfs_mount_main(int argc, char **argv);

#endif
