/*
 * tree.h - the mounted tree as a pure data structure (no FUSE types).
 *
 * Built once from an archive: root, the summary report, one directory per
 * account, nested folder directories, one file per entry.  The same tree is
 * written by --extract and served by the mount, so both show the same names,
 * sizes, contents and times.  Inode numbers are node indexes + 1 (the root
 * is 1, FUSE_ROOT_ID): deterministic, hence stable across remounts of the
 * same export.
 */
#ifndef CCMFS_TREE_H
#define CCMFS_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ccm.h"

#define TREE_ROOT 1
#define TREE_REPORT_INO 2	/* the report is always the root's first node */
#define TREE_REPORT_NAME "ccmailfs-report.txt"

enum tree_kind { TREE_DIR, TREE_ENTRY, TREE_REPORT };

/*
 * TREE_LAYOUT_PLAIN: <account>/<folder>/<ordinal date subject>.eml (SPEC 2).
 * TREE_LAYOUT_MAILDIR: each account is a Maildir++ root (Dovecot's default):
 * its Inbox in cur/, other folders as .Folder.Sub/cur, error entries in
 * errors/; file names <time>.<ordinal>_<hash>.ccmailfs,S=<size>:2,S.
 */
enum tree_layout { TREE_LAYOUT_PLAIN, TREE_LAYOUT_MAILDIR };

/* Parse "layout=plain|maildir"; 1 if kv is not a layout option, -1 bad. */
int tree_layout_option(const char *kv, enum tree_layout *out);

struct tree_node {
	uint32_t parent;	/* inode of the parent (root: itself) */
	uint32_t name;		/* offset into the name pool */
	uint32_t first;		/* directories: first index into children */
	uint32_t nchildren;
	uint32_t nsubdirs;
	uint32_t entry;		/* TREE_ENTRY: archive entry index */
	uint8_t kind;		/* enum tree_kind */
	uint64_t size;
	int64_t mtime;
};

struct tree {
	const struct ccm_archive *a;
	enum tree_layout layout;
	struct tree_node *nodes;	/* nodes[ino - 1] */
	size_t nnodes, nodecap;
	uint32_t *children;		/* inodes, grouped by directory */
	uint32_t *hash;			/* open addressing: inode or 0 */
	size_t hashcap;
	struct ccm_buf names;
	struct ccm_buf report;		/* the summary report's bytes */
	uint64_t total_size;		/* sum of file sizes (statfs) */
	uint64_t nfiles, ndirs;
	uint32_t *entry_ino;		/* archive entry -> inode */
	int borrowed;			/* arrays point into the index */
};

/* Build the tree of a in the given layout. */
int tree_build(struct tree **out, const struct ccm_archive *a,
	       enum tree_layout layout);
/* Set the report file's content (after tree_build: it names tree paths). */
int tree_set_report(struct tree *t, const char *p, size_t n);
void tree_free(struct tree *t);

/* NULL for an inode that does not exist. */
const struct tree_node *tree_node(const struct tree *t, uint64_t ino);
const char *tree_name(const struct tree *t, uint64_t ino);
/* 0 and *ino, or -ENOENT / -ENOTDIR. */
int tree_lookup(const struct tree *t, uint64_t parent, const char *name,
		size_t len, uint64_t *ino);
/* Child number i of directory ino (0-based), or 0 past the end. */
uint64_t tree_child(const struct tree *t, uint64_t ino, size_t i);
/*
 * st_blksize of a directory (tree_stat): room for a READDIRPLUS reply of
 * all its entries (a fuse_direntplus is 152 bytes and the name), as a
 * power of two from glibc's least opendir buffer to its most.
 */
#define TREE_DIR_BLKSIZE (1 << 20)
#define TREE_DIR_BLKSIZE_MIN (1 << 15)
#define TREE_DIRENT_ROOM 256
blksize_t tree_dir_blksize(uint64_t nchildren);

/* A bit per inode (the lister's opened, the push's listed): calloc this
 * many bytes. */
static inline size_t tree_bitmap_bytes(const struct tree *t)
{
	return (t->nnodes + 1 + 7) / 8;
}

static inline int tree_bit(const uint8_t *b, uint64_t ino)
{
	return (b[ino >> 3] >> (ino & 7)) & 1;
}

static inline void tree_bit_set(uint8_t *b, uint64_t ino, int on)
{
	if (on)
		b[ino >> 3] |= (uint8_t)(1u << (ino & 7));
	else
		b[ino >> 3] &= (uint8_t)~(1u << (ino & 7));
}
/* Attributes: mode 0444/0555, nlink, size, times, block size; uid/gid
 * left 0. */
int tree_stat(const struct tree *t, uint64_t ino, struct stat *st);
/* The whole content of a file, appended to out.  -EISDIR for directories. */
int tree_read(const struct tree *t, uint64_t ino, struct ccm_buf *out);
/*
 * Bytes [lo, lo + n) of a file into out (window mode, see ccm_buf), in
 * memory bounded by n whatever the file's size; out->len ends at the
 * file's size, which is checked as for tree_read.
 */
int tree_read_window(const struct tree *t, uint64_t ino, size_t lo, size_t n,
		     struct ccm_buf *out);
/* Path of ino relative to the root ("" for the root), appended to out. */
void tree_path(const struct tree *t, uint64_t ino, struct ccm_buf *out);
/*
 * The directories in the order of a recursive listing (find's, tar's),
 * the root first, at most cap of them into out; their number, or -1 out
 * of memory.  In O(nodes), whatever the nesting.
 */
long tree_walk_dirs(const struct tree *t, uint32_t *out, size_t cap);

/* Inode of archive entry i (0 if none). */
uint64_t tree_entry_ino(const struct tree *t, size_t i);

/*
 * Extended attributes of a file (user.ccmail.account, .folder, .source,
 * .warnings), from the index, without rendering.  list: the names, each
 * NUL-terminated.  get: the value, or -ENODATA.
 */
int tree_xattr_list(const struct tree *t, uint64_t ino, struct ccm_buf *out);
int tree_xattr_get(const struct tree *t, uint64_t ino, const char *name,
		   struct ccm_buf *out);

/*
 * Persistent index: append the tree's arrays (and the report) to out, or
 * read them back for archive a, checking every reference (-CCM_E_FORMAT),
 * through rd (ccm.h: struct ccm_reader).
 */
void tree_save(const struct tree *t, struct ccm_buf *out);
int tree_restore(struct tree **out, const struct ccm_archive *a, const char *p,
		 size_t n, size_t *pos, const struct ccm_reader *rd);

/* Name rules (exposed for tests): append a clean name component. */
void tree_clean_name(const char *in, size_t n, size_t max, struct ccm_buf *out);

#endif
