/*
 * push.c - render the files a sequential reader is about to read and push
 * them into the kernel's page cache (fuse_lowlevel_notify_store).
 *
 * tar, cp -r and rsync read a directory's files one after another, each
 * in one READ; a READ is a round trip to the daemon and two wake-ups
 * through the hypervisor (fs/loop.c).  Files found in the page cache cost
 * neither, and the render runs on this thread while the reader works.
 *
 * The push waits, uninterruptibly, on any page a reader has locked for its
 * own READ; the receiving thread answers that READ, and then the push goes
 * on.  Two things follow.  The receiving thread must keep serving until
 * this thread has finished (push_stopping).  And if the daemon dies at that
 * moment (kill -9), this thread cannot, the device stays open and the
 * reader waits for ever: the push only runs with fs/guard.c watching, which
 * then aborts the connection.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard.h"
#include "loop.h"
#include "push.h"

/*
 * Bytes [lo, lo + n) of file ino (size bytes) into buf; 1 when they are
 * all there.  A file that fails to render, or not to its size, is left to
 * its own READ, which reports the error.
 */
static int render(const struct tree *t, uint64_t ino, uint64_t size,
		  size_t lo, size_t n, struct ccm_buf *buf)
{
	int err;

	if (n == size) {
		ccm_buf_clear(buf);
		buf->windowed = 0;
		err = tree_read(t, ino, buf);
	} else {
		err = tree_read_window(t, ino, lo, n, buf);
	}
	return !err && !buf->oom && buf->len == size &&
	       ccm_buf_stored(buf) == n;
}

/*
 * Push file ino, a window at a time so that memory does not grow with the
 * file: a file left out would cost the reader a READ round trip per 128
 * KiB, each rendering its window again, while the pushers wait for it.
 * 1 when all of it is in the page cache.
 */
static int push_file(struct push *p, uint64_t ino, struct ccm_buf *buf,
		     int *noent)
{
	uint64_t size = tree_node(p->t, ino)->size;
	size_t lo = 0;

	while (lo < size) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
		size_t n = size - lo > PUSH_WINDOW ? PUSH_WINDOW
						   : (size_t)(size - lo);

		/* A large file is many renders: unmounting need not wait
		 * for them all. */
		if (lo && __atomic_load_n(&p->stop, __ATOMIC_RELAXED))
			return 0;
		if (!render(p->t, ino, size, lo, n, buf))
			return 0;
		bv.buf[0].mem = buf->p;
		bv.buf[0].size = n;
		/* Fails (ENOENT) for a file the kernel has no inode for:
		 * nothing to do, its READ renders it. */
		int err = fuse_lowlevel_notify_store(p->se, ino, (off_t)lo,
						     &bv, 0);

		if (err) {
			*noent = err == -ENOENT;
			return 0;
		}
		lo += n;
	}
	return 1;
}

/*
 * A sequential reader reads a pushed file once.  Left in the page cache,
 * the file would hold its pages until reclaim, and every push would need
 * new ones.  On this kind of VM, a page new to the guest costs several
 * times its copy, because the host takes free memory back (free page
 * reporting, DAMON): filling the page cache ran at 500 MB/s, and rsync's
 * destination pays the same.  Dropping the pages of the file pushed
 * PUSH_RECYCLE files ago hands them, still warm, to the next pushes and
 * to the reader's own writes: the first `rsync` of 100k files took
 * 5.1-5.9 s instead of 7.8-8.6 s (BENCHMARKS, session 11).  The kernel
 * drops the attributes with the pages, so a later stat of that file costs
 * a GETATTR.  Files of PUSH_RECYCLE_MIN or less stay: they are most of
 * the files but few of the bytes.  -o keeppushed turns this off, for second
 * passes over the same files.  Called with p->lock held.
 */
static void recycle(struct push *p, uint64_t ino)
{
	uint64_t old = p->recent[p->npushed % PUSH_RECYCLE];
	const struct tree_node *n;

	p->recent[p->npushed++ % PUSH_RECYCLE] = ino;
	n = old ? tree_node(p->t, old) : NULL;
	if (!n || n->size <= PUSH_RECYCLE_MIN)
		return;
	pthread_mutex_unlock(&p->lock);
	/* ENOENT: the kernel has forgotten it, pages and all. */
	if (fuse_lowlevel_notify_inval_inode(p->se, old, 0, 0) == 0)
		__atomic_add_fetch(&p->recycled, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&p->lock);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *pusher(void *arg)
{
	struct push *p = arg;
	struct ccm_buf buf;

	ccm_buf_init(&buf);
	/* Nothing is pushed before the guard watches: a push waiting on a
	 * reader's page when the daemon dies would hang them both. */
	if (!guard_ready(p->guard)) {
		pthread_mutex_lock(&p->lock);
		if (!p->unguarded++)
			fuse_log(FUSE_LOG_WARNING, "ccmailfs: the guard did "
				 "not start; no page cache push\n");
		p->ndone++;
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		uint64_t ino = ahead_plan_take(&p->plan, p->t);
		uint64_t dir = p->plan.want_list;
		int stored, noent = 0;

		if (dir && p->ask_list) {
			/* The plan goes on, or is about to, into a directory
			 * not listed yet: have it listed (push_listed wakes
			 * us), rather than wait for the reader to get there. */
			p->plan.want_list = 0;
			p->plan.asked = dir;
			pthread_mutex_unlock(&p->lock);
			p->ask_list(p->ask_ctx, dir);
			pthread_mutex_lock(&p->lock);
			if (!ino)
				continue;
		}
		if (!ino) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		p->active = now_ms();
		pthread_mutex_unlock(&p->lock);
		stored = push_file(p, ino, &buf, &noent);
		pthread_mutex_lock(&p->lock);
		if (noent) {
			/* The kernel has dropped the directory's inodes
			 * since it was listed: no more hops into it. */
			tree_bit_set(p->listed, tree_node(p->t, ino)->parent,
				     0);
		}
		p->stored += stored;
		if (stored && !p->keep)
			recycle(p, ino);
	}
	p->ndone++;
	pthread_mutex_unlock(&p->lock);
	ccm_buf_release(&buf);
	return NULL;
}

int push_start(struct push *p, struct fuse_session *se, const struct tree *t,
	       pid_t guard, int keep)
{

	memset(p, 0, sizeof(*p));
	p->listed = calloc(1, tree_bitmap_bytes(t));
	if (!p->listed)
		return -1;
	p->plan.listed = p->listed;
	/* A wire in every run: the pushers need never wait at a run's end
	 * for a reader that keeps up (BENCHMARKS, session 14). */
	p->plan.wire_min = PUSH_FILES;
	p->guard = guard;
	p->keep = keep;
	p->se = se;
	p->t = t;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	while (p->nthreads < PUSH_THREADS &&
	       loop_thread_create(&p->thread[p->nthreads], pusher, p) == 0)
		p->nthreads++;
	p->started = p->nthreads > 0;
	if (!p->started) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p->listed);
		p->listed = NULL;
		return -1;
	}
	return 0;
}

void push_listed(struct push *p, uint64_t dir)
{
	if (!p->started || dir > p->t->nnodes)
		return;
	pthread_mutex_lock(&p->lock);
	tree_bit_set(p->listed, dir, 1);
	if (p->plan.asked == dir)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void push_miss(struct push *p, uint64_t ino)
{
	uint64_t now;

	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->misses++;
	now = now_ms();
	/* Nothing taken nor missed for a while: whoever reads now is not
	 * the reader the plan followed (its next directories, and the
	 * misses it would take for races, are another reader's). */
	if (now - p->active > PUSH_IDLE_MS)
		ahead_plan_forget(&p->plan);
	p->active = now;
	ahead_plan_miss(&p->plan, p->t, ino, PUSH_FILES, PUSH_FILES_MAX);
	/* Also when the run is empty: the plan may go on into the next
	 * directory now. */
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int push_stopping(struct push *p)
{
	int running;

	if (!p->started)
		return 0;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->cond);
	running = p->ndone < p->nthreads;
	pthread_mutex_unlock(&p->lock);
	return running;
}

void push_end(struct push *p)
{
	unsigned i;

	if (!p->started)
		return;
	push_stopping(p);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->thread[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->listed);
	p->listed = NULL;
	p->plan.listed = NULL;
	p->started = 0;
}
