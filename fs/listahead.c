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
 * The thread takes the directories in the order fs/listplan.c gives:
 * from a quarter of the way ahead of the reader forward, so that a
 * reader that stats what it lists walks behind it, and lists only that
 * first quarter itself.  The lister only goes on while a reader walks:
 * it lists at most twice as many entries as the directories the
 * readers opened hold, plus LISTAHEAD_SLACK, so a reader that stops, or
 * never walked, leaves little behind in the kernel.  The push asks for
 * one more directory at a time besides (listahead_request): the next one
 * of a reader that reads files in tree order, which it is about to list
 * anyway.
 *
 * The lister goes through a private clone of the mount (open_tree), made
 * for each listing: a directory it holds open then never makes an
 * unmount fail with EBUSY, as one opened through the mount point would.
 * An unmount while it lists ends the mount a moment later, when it
 * closes the clone.  Cloning a mount needs CAP_SYS_ADMIN: a daemon
 * mounted through fusermount3 by a user does not list ahead.
 * -o nolistahead turns this off.
 *
 * The lister waits for replies from its own daemon: if the daemon were
 * killed (kill -9) while it holds one of the lister's requests, the
 * kernel would wait for that reply for ever, and the daemon could never
 * exit.  So, as for the push (fs/push.c), nothing is listed unless the
 * guard (fs/guard.c) watches, which aborts the connection then.
 *
 * The reader's progress is seen through OPENDIR (fs/ops.c asks for it
 * while this runs), which the kernel sends for every open of a directory
 * even when the listing is cached; once the lister is done or off, OPENDIR
 * is refused with ENOSYS, which stops the kernel from sending it again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "guard.h"
#include "listahead.h"
#include "listplan.h"
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

/*
 * List directory ino through a clone of the mount, to its end (only a
 * complete listing is kept by the kernel).  NULL, or why that cannot be
 * done: then we stop for good.
 */
static const char *list_one(struct listahead *la, uint64_t ino,
			    struct ccm_buf *path)
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
		return "out of memory";
	mfd = clone_mount(la->root);
	if (mfd < 0)
		return errno == EPERM ? "cloning the mount needs CAP_SYS_ADMIN"
				      : "the mount could not be cloned";
	fd = openat(mfd, ccm_buf_cstr(path), O_RDONLY | O_DIRECTORY |
					     O_NOFOLLOW | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return "the mount point leads elsewhere";
	/* Another file system mounted over ours has a root of inode 1 too:
	 * the first listing checks the type (a STATFS round trip) and
	 * keeps the device, every one the device and the inode (cached). */
	if (fstat(fd, &st) != 0 || st.st_ino != ino ||
	    (la->checked && st.st_dev != la->dev) ||
	    (!la->checked && (fstatfs(fd, &sfs) != 0 ||
			      sfs.f_type != FUSE_SUPER_MAGIC))) {
		close(fd);
		return "the mount point leads elsewhere";
	}
	la->checked = 1;
	la->dev = st.st_dev;
	/* As a reader's glibc would size it (tree_stat): the kernel
	 * allocates this much for each READDIRPLUS. */
	do
		n = getdents64(fd, la->buf, (size_t)tree_dir_blksize(
				    tree_node(la->t, ino)->nchildren));
	while (n > 0);
	close(fd);
	/* Read by the debug log at the end, maybe while we still run. */
	__atomic_add_fetch(&la->listed, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* The next directory to list, or 0 to wait; with la->lock held.  The
 * budget counts a directory's entries before it is listed: a huge one
 * waits until readers have gone as far. */
static uint64_t take(struct listahead *la)
{
	uint64_t d;
	size_t pos;

	if (la->off)
		return 0;
	if (la->urgent) {
		/* The push's: unless a reader lists it itself. */
		d = la->urgent;
		la->urgent = 0;
		if (!tree_bit(la->opened, d)) {
			listplan_taken(&la->plan, listplan_pos(&la->plan, d));
			la->lister_entries += tree_node(la->t, d)->nchildren;
			return d;
		}
	}
	if (la->reader_dirs < LISTAHEAD_MIN_DIRS)
		return 0;
	pos = listplan_peek(&la->plan);
	if (pos < la->plan.n) {
		d = la->plan.dirs[pos];
		if (la->lister_entries + tree_node(la->t, d)->nchildren >
		    2 * la->reader_entries + LISTAHEAD_SLACK)
			return 0;
		listplan_taken(&la->plan, pos);
		la->lister_entries += tree_node(la->t, d)->nchildren;
		return d;
	}
	/* Every directory listed or opened: OPENDIR is of no more use. */
	__atomic_store_n(&la->done, 1, __ATOMIC_RELEASE);
	return 0;
}

static void set_off(struct listahead *la, const char *why)
{
	la->why = why;
	__atomic_store_n(&la->off, 1, __ATOMIC_RELEASE);
}

static void *lister(void *arg)
{
	struct listahead *la = arg;
	struct ccm_buf path;
	struct listplan plan;
	const char *why;
	uint64_t ino;
	size_t i;
	int err;

	ccm_buf_init(&path);
	__atomic_store_n(&la->tid, gettid(), __ATOMIC_RELEASE);
	/* The walk's order, here rather than in the request that started
	 * us (its cost grows with the tree); then the directories readers
	 * opened meanwhile. */
	err = listplan_init(&plan, la->t);
	pthread_mutex_lock(&la->lock);
	if (err) {
		set_off(la, "out of memory");
	} else {
		la->plan = plan;
		for (i = 0; i < plan.n; i++)
			if (tree_bit(la->opened, plan.dirs[i]))
				listplan_opened(&la->plan, i);
	}
	for (;;) {
		ino = 0;
		while (!la->stop && !(ino = take(la)))
			pthread_cond_wait(&la->cond, &la->lock);
		if (la->stop)
			break;
		pthread_mutex_unlock(&la->lock);
		why = NULL;
		if (!la->guarded) {
			/* Nothing before the guard watches (see above). */
			if (guard_ready(la->guard))
				la->guarded = 1;
			else
				why = "the guard does not watch";
		}
		if (!why)
			why = list_one(la, ino, &path);
		pthread_mutex_lock(&la->lock);
		if (why)
			set_off(la, why);
	}
	pthread_mutex_unlock(&la->lock);
	ccm_buf_release(&path);
	return NULL;
}

int listahead_start(struct listahead *la, const struct tree *t,
		    const char *root, pid_t guard)
{
	size_t bytes = tree_bitmap_bytes(t);

	memset(la, 0, sizeof(*la));
	if (!root || root[0] != '/' || guard <= 0)
		return -1;
	la->t = t;
	la->guard = guard;
	la->root = strdup(root);
	la->opened = calloc(1, bytes);
	la->buf = malloc(LISTAHEAD_BUF);
	if (!la->root || !la->opened || !la->buf)
		goto fail;
	pthread_mutex_init(&la->lock, NULL);
	pthread_cond_init(&la->cond, NULL);
	la->started = loop_thread_create(&la->thread, lister, la) == 0;
	if (la->started)
		return 0;
	pthread_mutex_destroy(&la->lock);
	pthread_cond_destroy(&la->cond);
fail:
	free(la->root);
	free(la->opened);
	free(la->buf);
	memset(la, 0, sizeof(*la));
	return -1;
}

int listahead_capable(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return found && (eff >> 21) & 1;	/* CAP_SYS_ADMIN */
}

int listahead_active(const struct listahead *la)
{
	return la->started && !__atomic_load_n(&la->off, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&la->done, __ATOMIC_ACQUIRE);
}

void listahead_opened(struct listahead *la, uint64_t ino, pid_t pid)
{
	if (!la->started || ino > la->t->nnodes ||
	    pid == __atomic_load_n(&la->tid, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&la->lock);
	listplan_opened(&la->plan, listplan_pos(&la->plan, ino));
	if (!tree_bit(la->opened, ino)) {
		tree_bit_set(la->opened, ino, 1);
		la->reader_dirs++;
		la->reader_entries += tree_node(la->t, ino)->nchildren;
		pthread_cond_signal(&la->cond);
	}
	pthread_mutex_unlock(&la->lock);
}

void listahead_request(struct listahead *la, uint64_t ino)
{
	if (!la->started || !ino || ino > la->t->nnodes)
		return;
	pthread_mutex_lock(&la->lock);
	if (!la->off && !la->stop) {
		la->urgent = ino;
		pthread_cond_signal(&la->cond);
	}
	pthread_mutex_unlock(&la->lock);
}

const char *listahead_state(struct listahead *la)
{
	const char *s;

	if (!la->started)
		return NULL;
	pthread_mutex_lock(&la->lock);
	s = la->off ? la->why : "on";
	pthread_mutex_unlock(&la->lock);
	return s;
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
	listplan_release(&la->plan);
	free(la->opened);
	free(la->buf);
	memset(la, 0, sizeof(*la));
}
