/*
 * listahead.c - directories listed ahead of a reader walking the tree.
 *
 * Why: on a fresh mount, every name a READDIRPLUS reply carries becomes a
 * new kernel inode and dentry, made in the context of the process that
 * called getdents.  For `find -printf %s` over 100,000 messages that was
 * most of its time (BENCHMARKS.md, session 11): the daemon answers in a
 * fraction of it.  With a second CPU, a thread of ours can list the next
 * directories of the walk, through the mount, while the reader is busy
 * with others: the kernel makes their inodes and dentries then, and caches
 * the listings (cache_readdir), so the reader finds both ready.
 *
 * The thread walks from the far end of the tree backwards, towards the
 * reader: listing just ahead of it does not work, as the reader, which
 * only stats what is listed, goes faster than the lister and catches up
 * (both then list the same directory).  Walking towards each other, they
 * meet once, about halfway.  The lister only goes on while a reader
 * walks: it lists at most twice as many entries as the directories the
 * readers opened hold, plus LISTAHEAD_SLACK, so a reader that stops, or
 * never walked, leaves little behind in the kernel.
 *
 * The lister goes through a private clone of the mount (open_tree), made
 * for each listing: a directory it holds open then never makes an
 * unmount fail with EBUSY, as one opened through the mount point would.
 * An unmount while it lists ends the mount a moment later, when it
 * closes the clone.  Cloning a mount needs CAP_SYS_ADMIN: a daemon
 * mounted through fusermount3 by a user does not list ahead.
 * -o nolistahead turns this off.
 *
 * The reader's progress is seen through OPENDIR (fs/ops.c asks for it
 * while this runs), which the kernel sends for every open of a directory
 * even when the listing is cached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "listahead.h"
#include "loop.h"

#define FUSE_SUPER_MAGIC 0x65735546
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

/* Through syscall(2): glibc has a wrapper only since 2.36. */
static int clone_mount(const char *path)
{
	return (int)syscall(SYS_open_tree, AT_FDCWD, path,
			    OPEN_TREE_CLONE | O_CLOEXEC);
}

static int bit(const uint8_t *b, uint64_t i)
{
	return (b[i >> 3] >> (i & 7)) & 1;
}

static void set_bit(uint8_t *b, uint64_t i)
{
	b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/*
 * List directory ino through a clone of the mount, to its end (only a
 * complete listing is kept by the kernel).  0, or -1 when that cannot be
 * done (no privilege to clone, the mount point covered by another mount,
 * another namespace): then we stop for good.
 */
static int list_one(struct listahead *la, uint64_t ino, struct ccm_buf *path)
{
	struct stat st;
	struct statfs sfs;
	ssize_t n;
	int mfd, fd;

	ccm_buf_clear(path);
	tree_path(la->t, ino, path);
	if (!path->len)
		ccm_buf_putc(path, '.');
	if (path->oom)
		return 0;
	mfd = clone_mount(la->root);
	if (mfd < 0)
		return -1;
	fd = openat(mfd, ccm_buf_cstr(path), O_RDONLY | O_DIRECTORY |
					     O_NOFOLLOW | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -1 : 0;
	/* The file system once (a STATFS round trip), the inode always (its
	 * attributes are cached). */
	if ((!la->checked && (fstatfs(fd, &sfs) != 0 ||
			      sfs.f_type != FUSE_SUPER_MAGIC)) ||
	    fstat(fd, &st) != 0 || st.st_ino != ino) {
		close(fd);
		return -1;
	}
	la->checked = 1;
	do
		n = getdents64(fd, la->buf, LISTAHEAD_BUF);
	while (n > 0);
	close(fd);
	/* Read by the debug log at the end, maybe while we still run. */
	__atomic_add_fetch(&la->listed, 1, __ATOMIC_RELAXED);
	return 0;
}

static int may_list(const struct listahead *la)
{
	return !la->off && la->next > 0 &&
	       la->reader_dirs >= LISTAHEAD_MIN_DIRS &&
	       la->lister_entries < 2 * la->reader_entries + LISTAHEAD_SLACK;
}

static void *lister(void *arg)
{
	struct listahead *la = arg;
	struct ccm_buf path;
	uint64_t ino;

	ccm_buf_init(&path);
	__atomic_store_n(&la->tid, gettid(), __ATOMIC_RELEASE);
	pthread_mutex_lock(&la->lock);
	for (;;) {
		while (!la->stop && !may_list(la))
			pthread_cond_wait(&la->cond, &la->lock);
		if (la->stop)
			break;
		ino = la->dirs[--la->next];
		/* Opened by a reader, which lists it itself. */
		if (bit(la->opened, ino))
			continue;
		la->lister_entries += tree_node(la->t, ino)->nchildren;
		pthread_mutex_unlock(&la->lock);
		if (list_one(la, ino, &path) != 0) {
			pthread_mutex_lock(&la->lock);
			la->off = 1;
			continue;
		}
		pthread_mutex_lock(&la->lock);
	}
	pthread_mutex_unlock(&la->lock);
	ccm_buf_release(&path);
	return NULL;
}

int listahead_start(struct listahead *la, const struct tree *t,
		    const char *root)
{
	size_t bytes = (t->nnodes + 1 + 7) / 8;
	sigset_t old;
	uint64_t d;

	memset(la, 0, sizeof(*la));
	if (!root || root[0] != '/')
		return -1;
	la->t = t;
	la->root = strdup(root);
	la->dirs = calloc(t->ndirs + 1, sizeof(*la->dirs));
	la->opened = calloc(1, bytes);
	la->buf = malloc(LISTAHEAD_BUF);
	if (!la->root || !la->dirs || !la->opened || !la->buf)
		goto fail;
	for (d = TREE_ROOT; d && la->ndirs <= t->ndirs; d = tree_next_dir(t, d))
		la->dirs[la->ndirs++] = (uint32_t)d;
	la->next = la->ndirs;
	pthread_mutex_init(&la->lock, NULL);
	pthread_cond_init(&la->cond, NULL);
	/* Signals are for the loop's thread (fs/loop.c). */
	loop_block_signals(&old);
	la->started = pthread_create(&la->thread, NULL, lister, la) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (la->started)
		return 0;
	pthread_mutex_destroy(&la->lock);
	pthread_cond_destroy(&la->cond);
fail:
	free(la->root);
	free(la->dirs);
	free(la->opened);
	free(la->buf);
	memset(la, 0, sizeof(*la));
	return -1;
}

void listahead_opened(struct listahead *la, uint64_t ino, pid_t pid)
{
	if (!la->started || ino > la->t->nnodes ||
	    pid == __atomic_load_n(&la->tid, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&la->lock);
	if (!bit(la->opened, ino)) {
		set_bit(la->opened, ino);
			la->reader_dirs++;
		la->reader_entries += tree_node(la->t, ino)->nchildren;
		if (may_list(la))
			pthread_cond_signal(&la->cond);
	}
	pthread_mutex_unlock(&la->lock);
}

void listahead_end(struct listahead *la)
{
	if (!la->started)
		return;
	pthread_mutex_lock(&la->lock);
	la->stop = 1;
	pthread_cond_signal(&la->cond);
	pthread_mutex_unlock(&la->lock);
	pthread_join(la->thread, NULL);
	pthread_mutex_destroy(&la->lock);
	pthread_cond_destroy(&la->cond);
	free(la->root);
	free(la->dirs);
	free(la->opened);
	free(la->buf);
	memset(la, 0, sizeof(*la));
}
