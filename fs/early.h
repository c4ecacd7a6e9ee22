/*
 * early.h - serving a first mount while its tree is built (fs/early.c).
 */
#ifndef CCMFS_EARLY_H
#define CCMFS_EARLY_H

#include "fs.h"

enum early_op {
	EARLY_LOOKUP, EARLY_GETATTR, EARLY_OPENDIR, EARLY_READDIR,
	EARLY_READDIRPLUS, EARLY_OPEN, EARLY_READ, EARLY_STATFS,
	EARLY_LISTXATTR, EARLY_GETXATTR,
};

/* The arguments of a request, as its op received them (ccmfs_ops). */
struct early_args {
	enum early_op op;
	fuse_ino_t ino;
	const char *name;	/* lookup, getxattr */
	size_t size;
	off_t off;
	const struct fuse_file_info *fi;
};

/*
 * 0 when fs->tree is the whole tree (the request goes on); 1 when the
 * request has been parked, to be replayed once the tree is published, or
 * answered with the build's error.  Receiving thread only.
 */
int early_wait(fuse_req_t req, const struct early_args *a);

/* The tree the root is served from before the whole one: NULL if none. */
const struct tree *early_root(struct ccmfs *fs, fuse_ino_t ino);

/* The idle hook's part: replay the parked requests once the tree is
 * there; 1 if it did. */
int early_replay(struct ccmfs *fs);

/* At the end, before unmounting: fail what is still parked. */
void early_drop(struct ccmfs *fs);

#endif
