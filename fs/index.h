/*
 * index.h - the persistent index: the scan and the tree of a mount saved
 * next to the export (else under $XDG_CACHE_HOME/ccmailfs/), so that a
 * remount loads it instead of scanning.
 */
#ifndef CCMFS_INDEX_H
#define CCMFS_INDEX_H

#include "ccm.h"
#include "tree.h"

enum index_mode {
	INDEX_AUTO,	/* load a valid index, else scan and save one */
	INDEX_NONE,	/* -o noindex: neither load nor save */
	INDEX_REQUIRE,	/* -o norebuild: fail rather than rebuild */
};

struct index_opts {
	enum index_mode mode;
	const char *path;	/* -o index=PATH, else the default places */
	int progress;		/* show progress on stderr (a terminal) */
	int defer;		/* without an index, survey only (index_finish) */
	void (*log)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

/*
 * Where an index may be read and written, found before anything is
 * mounted: the directory is held open, so that neither a mount point
 * above it (`ccmailfs dir/e.ccm dir`) nor the daemon's chdir("/") changes
 * what the name means, and writing never goes through our own mount.
 */
struct index_dest {
	int dirfd;		/* -1: the directory could not be opened */
	int mkdirs;		/* leading components of rel to create */
	char rel[4096];		/* the file, below dirfd */
	char shown[4096];	/* the file as the user named it, for the log */
};

/* What index_store needs, gathered by index_open while nothing is mounted. */
struct index_plan {
	struct ccm_buf key;
	int ndest;
	struct index_dest dest[2];
};

void index_plan_init(struct index_plan *p);
void index_plan_release(struct index_plan *p);

/* Parse index=PATH, noindex, norebuild; 1 if kv is not one of them. */
int index_option(const char *kv, struct index_opts *io);

/*
 * Open the sources, then load the index, or scan and build the tree and the
 * report.  *a and *t are set on success; *loaded tells which happened and
 * note says it in words ("index loaded from ...", or why it is being
 * built).  Nothing is written: index_store saves, once the caller is happy
 * with the result, from what index_open left in plan (release it in any
 * case).  On failure the returned error is described in msg.
 */
int index_open(const struct index_opts *io, char **paths, size_t npaths,
	       const struct ccm_options *o, enum tree_layout layout,
	       struct ccm_archive **a, struct tree **t, int *loaded,
	       struct index_plan *plan, char *note, size_t notelen, char *msg,
	       size_t msglen);
/*
 * With io->defer, when there is no index to load, index_open reads the
 * sources once to find the accounts (ccm_archive_survey) and *t is only the
 * top of the tree: root, report and account directories, with the inode
 * numbers and names of the full tree, no folders or files, no report text.
 * Free it with index_top_free.  index_finish then scans *a and builds the
 * whole tree; it may run on another thread (it touches only a and t).
 */
int index_finish(struct ccm_archive *a, enum tree_layout layout,
		 struct tree **t);
void index_top_free(struct tree *top);

/*
 * Save the index of a freshly built *a and *t (logs where, through
 * io->log), then replace them by the same index loaded back from the file
 * (mapped: page cache instead of heap).  When anything fails the built
 * ones stay.  Touches no path by name: safe under our own mount.
 */
void index_store(const struct index_opts *io, struct index_plan *plan,
		 struct ccm_archive **a, struct tree **t);

#endif
