/*
 * ops.c - low-level FUSE operations over the tree (fs/tree.c).
 *
 * Each op computes through tree.c and replies exactly once at its end.  The
 * tree never changes after the mount, so entries and attributes carry long
 * timeouts, directories are cached by the kernel (cache_readdir, keep_cache)
 * and `forget` has nothing to free: inodes are permanent.  An open file
 * owns a window of its rendered bytes (fi->fh): a file up to WINDOW bytes
 * is rendered whole in open(), so a sequential reader causes one render;
 * a larger one is rendered a window at a time (the renderer skips what
 * lies before the window arithmetically), so memory does not grow with the
 * size of a message or its attachments.  Text items cannot be skipped that
 * way (code page conversion has to run from their start), so a file of
 * more than 16 windows gets windows of 1/16 of its size: a sequential
 * read then costs at most 17 renders (a 100 MB line in hostile.py).
 * Kernels with NO_OPEN support skip open and release altogether; reads
 * then render on their own (read_no_open).  Ops run on the loop's one
 * receiving thread (fs/loop.c), except opens and reads of files over
 * DEFER_FROM, which go to worker threads.  Files of a directory read in
 * order are pushed into the page cache ahead of the reader (fs/push.c),
 * or, where that cannot be made safe (fs/guard.c), answered from files
 * rendered ahead (fs/ahead.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "early.h"
#include "fs.h"
#include "loop.h"

#define WINDOW ((size_t)1 << 20)

struct handle {
	struct ccm_buf buf;	/* bytes [lo, lo + stored) of the file */
	size_t lo;
	uint64_t size;
};

/*
 * The kernel may read one file from several threads (readahead), so a
 * read holds a lock while it refills the window and while its reply is
 * written from it.  The locks live outside the handles: the moment a
 * reply reaches the kernel, the reader may close the file and another
 * thread free the handle in release(), before the replying thread has
 * unlocked (glibc caught that as heap corruption).
 */
#define NLOCKS 64
static pthread_mutex_t locks[NLOCKS] = {
#define L4 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
	   PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
#define L16 L4, L4, L4, L4
	L16, L16, L16, L16
#undef L16
#undef L4
};

static pthread_mutex_t *lock_of(const struct handle *h)
{
	return &locks[((uintptr_t)h >> 4) % NLOCKS];
}

static size_t window_for(uint64_t size)
{
	uint64_t w = (size / 16 + 4095) & ~(uint64_t)4095;

	return w > WINDOW ? (size_t)w : WINDOW;
}

/* Render the window that starts at lo (page-aligned by the caller). */
static int handle_fill(struct ccmfs *fs, fuse_ino_t ino, struct handle *h,
		       size_t lo, size_t n)
{
	int err;

	/* The window is allocated whole: no larger than what is left. */
	if (lo < h->size && n > h->size - lo)
		n = (size_t)(h->size - lo);
	err = tree_read_window(fs->tree, ino, lo, n, &h->buf);

	h->lo = h->buf.windowed ? lo : 0;
	if (err) {
		ccm_buf_release(&h->buf);
		h->lo = 0;
	}
	return err;
}

static void handle_free(struct handle *h)
{
	ccm_buf_release(&h->buf);
	free(h);
}

int ccmfs_errno(int err)
{
	if (err >= 0)
		return 0;
	if (-err < CCM_E_BASE)
		return -err;
	if (-err == CCM_E_LIMIT)
		return EFBIG;
	/* Format problems and a changed source: the bytes cannot be served. */
	return EIO;
}

static struct ccmfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int await_tree(fuse_req_t req, enum early_op op, fuse_ino_t ino,
		      const char *name, size_t size, off_t off,
		      const struct fuse_file_info *fi)
{
	struct early_args a = { op, ino, name, size, off, fi };

	return early_wait(req, &a);
}

static int fill_stat(struct ccmfs *fs, fuse_ino_t ino, struct stat *st)
{
	int err = tree_stat(fs->tree, ino, st);

	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	return err;
}

static int fill_entry(struct ccmfs *fs, fuse_ino_t ino,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->generation = 1;
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
	return fill_stat(fs, ino, &e->attr);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ccmfs *fs = userdata;

	/* Files need no per-open state (reads render from the index), so
	 * the kernel may skip open and release: two of the four requests a
	 * copy makes per message.  Their pages stay cached as with
	 * keep_cache. */
	fs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	/* Tests: the open/release path kernels without NO_OPEN take. */
	if (getenv("CCMAILFS_TEST_OPEN"))
		fs->no_open = 0;
	/* Likewise for directories: no opendir/releasedir pair around each
	 * listing; the kernel then caches listings as with cache_readdir. */
	fs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
	/* But OPENDIR is how the lister follows a reader (listahead.c);
	 * the listings are cached all the same.  op_opendir refuses it
	 * again once the lister is done. */
	fs->can_no_opendir = fs->no_opendir;
	if (fs->want_listahead)
		fs->no_opendir = 0;
	/* The data never changes: no revalidation before reads (libfuse#142). */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* Always readdirplus: attributes come free from the index, and
	 * the adaptive mode falls back to one LOOKUP per entry for tools
	 * like find and tar. */
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) {
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
		fs->parallel_dirops = 1;	/* see fs/mount.c */
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ccmfs *fs = fs_of(req);
	struct fuse_entry_param e;
	uint64_t ino;
	int err;

	if (await_tree(req, EARLY_LOOKUP, parent, name, 0, 0, NULL))
		return;
	err = tree_lookup(fs->tree, parent, name, strlen(name), &ino);
	if (err == -ENOENT) {
		/* Cache the miss too: the tree is complete and final. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (!err)
		err = fill_entry(fs, ino, &e);
	if (err) {
		fuse_reply_err(req, ccmfs_errno(err));
		return;
	}
	fuse_reply_entry(req, &e);
	/* Lookups run on the loop's receiving thread, the owner of
	 * fs->ahead; a lookup by name is usually followed by a read, which
	 * only read_no_open serves from fs->ahead. */
	if (fs->loop && fs->no_open)
		ahead_hint(&fs->ahead, ino);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ccmfs *fs = fs_of(req);
	struct stat st;
	int err;

	(void)fi;
	if (early_root(fs, ino)) {
		/* Exact already: its links count the accounts, its times
		 * are the sources' newest. */
		err = tree_stat(fs->top, ino, &st);
		st.st_uid = fs->uid;
		st.st_gid = fs->gid;
	} else if (await_tree(req, EARLY_GETATTR, ino, NULL, 0, 0, fi)) {
		return;
	} else {
		err = fill_stat(fs, ino, &st);
	}
	if (err)
		fuse_reply_err(req, ccmfs_errno(err));
	else
		fuse_reply_attr(req, &st, fs->timeout);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	const struct tree *t = early_root(fs_of(req), ino);
	const struct tree_node *n;
	struct ccmfs *fs;
	pid_t pid;

	if (!t && await_tree(req, EARLY_OPENDIR, ino, NULL, 0, 0, fi))
		return;
	n = tree_node(t ? t : fs_of(req)->tree, ino);
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind != TREE_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fs = fs_of(req);
	if (fs->no_opendir ||
	    (fs->can_no_opendir && fs->live &&
	     (!fs->want_listahead || !listahead_active(&fs->listahead)))) {
		/* The kernel takes this as "no opendir needed, ever". */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->keep_cache = 1;
	fi->cache_readdir = 1;
	pid = fuse_req_ctx(req)->pid;
	fuse_reply_open(req, fi);
	if (!t)
		listahead_opened(&fs->listahead, ino, pid);
}

/*
 * Offsets are stable cookies: 1 = ".", 2 = "..", 2 + i + 1 = child i, so a
 * listing resumes in O(1) at any offset (musefs#442).  readdirplus returns
 * attributes from the index; nothing is rendered.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct ccmfs *fs = fs_of(req);
	const struct tree *t = early_root(fs, ino);
	const struct tree_node *n;
	char *buf;
	size_t used = 0;
	uint64_t i;
	int names_only;

	if (!t && await_tree(req, plus ? EARLY_READDIRPLUS : EARLY_READDIR,
			     ino, NULL, size, off, fi))
		return;
	/* Early, the root lists names only (no entry is made, so the
	 * accounts' attributes are asked for, later, by LOOKUP); its
	 * names, inode numbers and offsets are the full tree's. */
	names_only = t != NULL;
	if (!t)
		t = fs->tree;
	n = tree_node(t, ino);
	if (!n || n->kind != TREE_DIR) {
		fuse_reply_err(req, n ? ENOTDIR : ENOENT);
		return;
	}
	/* Kept: a fresh mapping for each reply (malloc maps blocks of this
	 * size) was a page fault per 4 KiB of it. */
	if (size > fs->dircap) {
		buf = realloc(fs->dirbuf, size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		fs->dirbuf = buf;
		fs->dircap = size;
	}
	buf = fs->dirbuf;
	for (i = (uint64_t)(off < 0 ? 0 : off); i < 2 + (uint64_t)n->nchildren;
	     i++) {
		uint64_t child = i == 0 ? ino : i == 1 ? n->parent
					     : tree_child(t, ino, i - 2);
		const char *name = i == 0 ? "." : i == 1 ? ".." :
				   tree_name(t, child);
		size_t len;

		if (plus) {
			struct fuse_entry_param e;

			if (names_only) {
				/* Node id 0: "no entry, just the name"
				 * (fuse_direntplus_link). */
				memset(&e, 0, sizeof(e));
				e.attr.st_ino = child;
				e.attr.st_mode = tree_node(t, child)->kind ==
							 TREE_DIR ? S_IFDIR
								  : S_IFREG;
			} else {
				fill_entry(fs, child, &e);
			}
			len = fuse_add_direntry_plus(req, buf + used, size - used,
						     name, &e, (off_t)(i + 1));
		} else {
			struct stat st;

			memset(&st, 0, sizeof(st));
			st.st_ino = child;
			st.st_mode = tree_node(t, child)->kind == TREE_DIR
					     ? S_IFDIR : S_IFREG;
			len = fuse_add_direntry(req, buf + used, size - used,
						name, &st, (off_t)(i + 1));
		}
		if (len > size - used)
			break;
		used += len;
	}
	/* Past the last entry: the kernel has taken in the listing, and
	 * has an inode for each file (only names, early). */
	if (plus && !names_only && (uint64_t)off >= 2 + (uint64_t)n->nchildren)
		push_listed(&fs->push, ino);
	fuse_reply_buf(req, buf, used);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

/*
 * Opening or reading a large file renders a window of it, which can take
 * long: that is done on a worker thread (fs/loop.c), while the receiving
 * thread goes on serving everything else.
 */
#define DEFER_FROM (256 * 1024)

enum deferred_op { DEFER_OPEN, DEFER_READ };

struct deferred {
	enum deferred_op op;
	fuse_req_t req;
	fuse_ino_t ino;
	size_t size;
	off_t off;
	struct fuse_file_info fi;
};

static void run_deferred(void *arg);

/* 1 if the request was handed to a worker, which will answer it. */
static int defer(enum deferred_op op, fuse_req_t req, fuse_ino_t ino,
		 size_t size, off_t off, struct fuse_file_info *fi)
{
	struct deferred *d = malloc(sizeof(*d));

	if (!d)
		return 0;
	d->op = op;
	d->req = req;
	d->ino = ino;
	d->size = size;
	d->off = off;
	if (fi)
		d->fi = *fi;
	else
		memset(&d->fi, 0, sizeof(d->fi));
	if (loop_defer(fs_of(req)->loop, run_deferred, d) == 0)
		return 1;
	free(d);
	return 0;
}

/* Render the first window of ino and answer the open with it. */
static void open_render(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct ccmfs *fs = fs_of(req);
	const struct tree_node *n = tree_node(fs->tree, ino);
	struct handle *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ccm_buf_init(&h->buf);
	h->size = n->size;
	err = handle_fill(fs, ino, h, 0, window_for(h->size));
	if (err) {
		/* Never serve a partial file: the size in stat must hold. */
		handle_free(h);
		fuse_reply_err(req, ccmfs_errno(err));
		return;
	}
	fi->fh = (uintptr_t)h;
	/* The report's last line may change (a source changed under us):
	 * it alone is re-read on every open; everything else is immutable. */
	fi->keep_cache = n->kind != TREE_REPORT;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ccmfs *fs = fs_of(req);
	const struct tree_node *n;

	if (await_tree(req, EARLY_OPEN, ino, NULL, 0, 0, fi))
		return;
	n = tree_node(fs->tree, ino);
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind == TREE_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fs->no_open) {
		/* The kernel takes this as "no open needed, ever". */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (n->size > DEFER_FROM && defer(DEFER_OPEN, req, ino, 0, 0, fi))
		return;
	open_render(req, ino, fi);
}

/*
 * Without open, a read renders its window itself.  Each worker thread
 * keeps the last window it rendered, so the next read of a large file by
 * the same thread is served from it; a file is the same bytes whatever
 * thread renders it.
 */
struct tcache {
	fuse_ino_t ino;
	struct handle h;
};

static pthread_key_t tkey;
static pthread_once_t tkey_once = PTHREAD_ONCE_INIT;

static void tcache_free(void *p)
{
	struct tcache *c = p;

	ccm_buf_release(&c->h.buf);
	free(c);
}

static void tkey_make(void)
{
	if (pthread_key_create(&tkey, tcache_free) != 0)
		abort();
}

/*
 * Files larger than one window share four slots, whatever thread reads
 * them: readahead spreads one file's reads over threads, and a window of a
 * huge file is costly to render.  A slot's lock is held while its window
 * is refilled and replied from; a slot drops its window once the file is
 * read to its end.
 */
#define NSLOTS 4
#define EOF_KEEP (64 * 1024)
static struct tcache slots[NSLOTS];
static pthread_mutex_t slot_locks[NSLOTS] = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER
};

/* Set one of the watcher's flags (fs->wlock) and wake it. */
static void watch_poke(struct ccmfs *fs, int *flag)
{
	pthread_mutex_lock(&fs->wlock);
	*flag = 1;
	pthread_cond_signal(&fs->wcond);
	pthread_mutex_unlock(&fs->wlock);
}

/*
 * Reads of files a sequential reader is about to ask for are spared by the
 * page cache push (fs/push.c): read_no_open and op_read tell it of every
 * read from a file's start that reached the daemon.
 */
static void serve_read(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off)
{
	struct ccmfs *fs = fs_of(req);
	const struct tree_node *n = tree_node(fs->tree, ino);
	pthread_mutex_t *slot_lock = NULL;
	struct tcache *c;
	size_t o, have, len;
	int err = 0;

	if (!n || n->kind == TREE_DIR) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
		return;
	}
	if (off < 0 || (uint64_t)off >= n->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	pthread_once(&tkey_once, tkey_make);
	c = pthread_getspecific(tkey);
	if (n->size > WINDOW) {
		slot_lock = &slot_locks[ino % NSLOTS];
		c = &slots[ino % NSLOTS];
		pthread_mutex_lock(slot_lock);
	} else if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c || pthread_setspecific(tkey, c) != 0) {
			free(c);
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	o = (size_t)off;
	if (size > n->size - o)
		size = (size_t)(n->size - o);
	have = ccm_buf_stored(&c->h.buf);
	/* The report's last line can change: a read from its start renders
	 * it again. */
	if ((n->kind == TREE_REPORT && o == 0) || c->ino != ino ||
	    o < c->h.lo || o + size > c->h.lo + have) {
		size_t w = window_for(n->size);

		c->ino = 0;
		c->h.size = n->size;
		if (o < w && n->size <= w)
			o = 0;	/* small file: render it whole */
		err = handle_fill(fs, ino, &c->h, o & ~(size_t)4095,
				  (size > w ? size : w) + 4096);
		if (!err)
			c->ino = ino;
		o = (size_t)off;
		have = ccm_buf_stored(&c->h.buf);
	}
	if (!err && (o < c->h.lo || o >= c->h.lo + have))
		err = -EIO;
	if (err) {
		fuse_reply_err(req, ccmfs_errno(err));
		if (slot_lock)
			pthread_mutex_unlock(slot_lock);
		return;
	}
	len = c->h.lo + have - o;
	if (len > size)
		len = size;
	fuse_reply_buf(req, c->h.buf.p + (o - c->h.lo), len);
	/* A large file read to its end is done with (tar, cp, rsync); its
	 * window would otherwise stay until the slot is reused. */
	if (o + len >= n->size && c->h.buf.cap > EOF_KEEP) {
		ccm_buf_release(&c->h.buf);
		c->ino = 0;
	}
	if (slot_lock)
		pthread_mutex_unlock(slot_lock);
	if (n->kind == TREE_REPORT)
		watch_poke(fs, &fs->wpending);
	/* Keep small windows only: a thread holds at most one. */
	if (!slot_lock && c->h.buf.cap > WINDOW + 8192) {
		ccm_buf_release(&c->h.buf);
		c->ino = 0;
	}
}

static int watch_stopping(struct ccmfs *fs);

int ccmfs_idle(void *arg, int sleeping)
{
	struct ccmfs *fs = arg;

	if (sleeping == 2)
		return push_stopping(&fs->push) | watch_stopping(fs);
	if (!sleeping && early_replay(fs))
		return 1;
	if (!fs->live)
		return 0;
	if (!sleeping)
		return ahead_step(&fs->ahead);
	ahead_release(&fs->ahead);
	return 0;
}

/* Runs on the loop's receiving thread only, the owner of fs->ahead. */
static void read_no_open(fuse_req_t req, fuse_ino_t ino, size_t size,
			 off_t off)
{
	struct ccmfs *fs = fs_of(req);
	const struct tree_node *n = tree_node(fs->tree, ino);
	const struct ccm_buf *b;

	if (n && n->kind == TREE_ENTRY && off >= 0 &&
	    (uint64_t)off < n->size) {
		/* With the push on, it follows sequential readers, and
		 * fs->ahead only renders looked-up files. */
		if (off == 0 && fs->push.started) {
			ahead_unhint(&fs->ahead, ino);
			push_miss(&fs->push, ino);
		} else if (off == 0) {
			ahead_note(&fs->ahead, ino);
		}
		b = ahead_get(&fs->ahead, ino);
		if (b) {
			size_t o = (size_t)off;

			if (size > n->size - o)
				size = (size_t)(n->size - o);
			fuse_reply_buf(req, b->p + o, size);
			if (o + size >= n->size)
				ahead_drop(&fs->ahead, ino);
			return;
		}
	}

	if (n && n->kind != TREE_DIR && n->size > DEFER_FROM &&
	    defer(DEFER_READ, req, ino, size, off, NULL))
		return;
	serve_read(req, ino, size, off);
}

static void *watcher(void *arg)
{
	struct ccmfs *fs = arg;

	pthread_mutex_lock(&fs->wlock);
	while (!fs->wstop) {
		int root = fs->wroot, report = fs->wpending;

		if (!root && !report) {
			pthread_cond_wait(&fs->wcond, &fs->wlock);
			continue;
		}
		fs->wpending = 0;
		fs->wroot = 0;
		pthread_mutex_unlock(&fs->wlock);
		if (root)
			fuse_lowlevel_notify_inval_inode(fs->se, FUSE_ROOT_ID,
							 0, 0);
		if (report) {
			/* Let the reader finish with the pages first. */
			usleep(50000);
			fuse_lowlevel_notify_inval_inode(fs->se,
							 TREE_REPORT_INO, 0, 0);
		}
		pthread_mutex_lock(&fs->wlock);
	}
	fs->wdone = 1;
	pthread_mutex_unlock(&fs->wlock);
	return NULL;
}

void ccmfs_watch_inval_root(struct ccmfs *fs)
{
	if (fs->wstarted)
		watch_poke(fs, &fs->wroot);
}

/* Like push_stopping: the invalidation may wait on a reader's page. */
static int watch_stopping(struct ccmfs *fs)
{
	int running;

	if (!fs->wstarted)
		return 0;
	pthread_mutex_lock(&fs->wlock);
	fs->wstop = 1;
	pthread_cond_signal(&fs->wcond);
	running = !fs->wdone;
	pthread_mutex_unlock(&fs->wlock);
	return running;
}

void ccmfs_watch_start(struct ccmfs *fs)
{
	pthread_mutex_init(&fs->wlock, NULL);
	pthread_cond_init(&fs->wcond, NULL);
	fs->wstarted = loop_thread_create(&fs->watcher, watcher, fs) == 0;
}

void ccmfs_watch_stop(struct ccmfs *fs)
{
	if (!fs->wstarted)
		return;
	watch_poke(fs, &fs->wstop);
	pthread_join(fs->watcher, NULL);
	fs->wstarted = 0;
}

static void handle_read(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t off, struct handle *h)
{
	pthread_mutex_t *lock;
	size_t n = 0, have, o;
	int err = 0;

	if (off < 0 || (uint64_t)off >= h->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	o = (size_t)off;
	if (size > h->size - o)
		size = (size_t)(h->size - o);
	lock = lock_of(h);
	pthread_mutex_lock(lock);
	have = ccm_buf_stored(&h->buf);
	if (o < h->lo || o + size > h->lo + have) {
		/* A short read would tell the kernel the file ends here:
		 * the window always holds the whole request. */
		err = handle_fill(fs_of(req), ino, h, o & ~(size_t)4095,
				  (size > window_for(h->size) ? size :
				   window_for(h->size)) + 4096);
		have = ccm_buf_stored(&h->buf);
	}
	if (!err && o >= h->lo && o < h->lo + have) {
		n = h->lo + have - o;
		if (n > size)
			n = size;
		fuse_reply_buf(req, h->buf.p + (o - h->lo), n);
	} else {
		fuse_reply_err(req, err ? ccmfs_errno(err) : EIO);
	}
	pthread_mutex_unlock(lock);
}

static void run_deferred(void *arg)
{
	struct deferred *d = arg;
	struct handle *h = (struct handle *)(uintptr_t)d->fi.fh;

	if (d->op == DEFER_OPEN)
		open_render(d->req, d->ino, &d->fi);
	else if (h)
		handle_read(d->req, d->ino, d->size, d->off, h);
	else
		serve_read(d->req, d->ino, d->size, d->off);
	free(d);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	if (await_tree(req, EARLY_READ, ino, NULL, size, off, fi))
		return;
	/* t10 tests the guard (fs/guard.c) with a reader whose READ stays
	 * unanswered, its page locked, while a push waits on that page. */
	if (ino == fs_of(req)->hold_ino)
		return;

	if (!h) {
		read_no_open(req, ino, size, off);
		return;
	}
	if (off == 0)
		push_miss(&fs_of(req)->push, ino);
	if (h->size <= DEFER_FROM ||
	    !defer(DEFER_READ, req, ino, size, off, fi))
		handle_read(req, ino, size, off, h);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h)
		handle_free(h);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ccmfs *fs = fs_of(req);
	struct statvfs sv;

	(void)ino;
	if (await_tree(req, EARLY_STATFS, ino, NULL, 0, 0, NULL))
		return;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (fs->tree->total_size + 4095) / 4096;
	sv.f_files = fs->tree->nnodes;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* Reply to an xattr query from a buffer: size 0 asks for the length. */
static void reply_xattr_buf(fuse_req_t req, int err, struct ccm_buf *b,
			    size_t size)
{
	if (err)
		fuse_reply_err(req, ccmfs_errno(err));
	else if (size == 0)
		fuse_reply_xattr(req, b->len);
	else if (b->len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, b->p, b->len);
}

/*
 * cp -a copies every xattr: 11 round trips a file (list twice, each name
 * twice, the ACL), 25 s for 100,000 messages against 2.6 s for tar
 * (BENCHMARKS, session 13).  FUSE caches no xattr; only ENOSYS makes the
 * kernel stop asking, for the whole mount.
 */
static int no_xattr(fuse_req_t req)
{
	if (!fs_of(req)->no_xattr)
		return 0;
	fuse_reply_err(req, ENOSYS);
	return 1;
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct ccm_buf b;

	if (no_xattr(req))
		return;
	if (await_tree(req, EARLY_LISTXATTR, ino, NULL, size, 0, NULL))
		return;
	ccm_buf_init(&b);
	reply_xattr_buf(req, tree_xattr_list(fs_of(req)->tree, ino, &b), &b,
			size);
	ccm_buf_release(&b);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct ccm_buf b;

	if (no_xattr(req))
		return;
	if (await_tree(req, EARLY_GETXATTR, ino, name, size, 0, NULL))
		return;
	ccm_buf_init(&b);
	reply_xattr_buf(req, tree_xattr_get(fs_of(req)->tree, ino, name, &b),
			&b, size);
	ccm_buf_release(&b);
}

/* Every write-like call: the filesystem is read-only (SPEC 2). */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)p, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *name,
		     mode_t mode)
{
	(void)p, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *name)
{
	(void)p, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t p,
		       const char *name)
{
	(void)link, (void)p, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t p, const char *name,
		      fuse_ino_t np, const char *nname, unsigned int flags)
{
	(void)p, (void)name, (void)np, (void)nname, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np,
		    const char *nname)
{
	(void)ino, (void)np, (void)nname;
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t p, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)p, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)off, (void)len, (void)fi;
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops ccmfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};
