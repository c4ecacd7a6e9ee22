/* extract.h - write the tree to a directory (--extract). */
#ifndef CCMFS_EXTRACT_H
#define CCMFS_EXTRACT_H

#include "tree.h"

/*
 * Write t under dir.  dir must not exist or be empty, unless force.
 * Returns 0, or -errno with a message in err.
 */
int extract_tree(const struct tree *t, const char *dir, int force, char *err,
		 size_t errlen);

#endif
