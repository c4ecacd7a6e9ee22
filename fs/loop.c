/*
 * loop.c - the session loop: one thread receives and answers requests,
 * polling /dev/fuse for a moment after each one before it sleeps; slow
 * work is handed to a few worker threads.
 *
 * Why not fuse_session_loop_mt: a file read through FUSE costs a READ
 * round trip, and on a virtual machine whose idle CPUs halt, waking a
 * sleeping thread takes an inter-processor interrupt, 20-30 us here (a
 * pipe ping-pong between two CPUs: 57 us per round trip; 5 us when the
 * other side polls).  tar, cp and rsync issue one READ per file back to
 * back, so those wake-ups were most of their cost per file.  While
 * requests keep coming (within spin_ns of the last one) the receiving
 * thread reads the non-blocking device in a loop instead of sleeping.
 * With several threads waiting on the device, every request would still
 * wake one of them (and its CPU) for nothing, so there is one receiver:
 * requests that may take long (rendering a window of a large file) go to
 * the workers through loop_defer, everything else is answered in place.
 * With one CPU the polling would steal the reader's CPU: no polling.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

struct job {
	void (*fn)(void *);
	void *arg;
	struct job *next;
};

struct loop {
	struct fuse_session *se;
	uint64_t spin_ns;
	unsigned nworkers;
	/* Deferred work; the queue is drained before the workers stop. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, **tail;
	int stopping, running;
	/* Workers start with the first deferred job: a remount is served
	 * sooner, and most mounts never need them. */
	pthread_t *tid;
	unsigned nstarted;
	int wakefd;	/* loop_wake: ends the receiving thread's sleep */
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int loop_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

/* Synchronous: blocked, they kill the process instead of reaching a
 * handler (the parser's SIGBUS guard), so they are never blocked, even if
 * the daemon was started with them blocked. */
static void unblock_faults(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	sigaddset(&set, SIGSEGV);
	sigaddset(&set, SIGFPE);
	sigaddset(&set, SIGILL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	unblock_faults();
}

int loop_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t old;
	int err;

	/* The new thread inherits the mask in force here. */
	block_signals(&old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/*
 * SIGTERM, SIGINT and SIGHUP end the loop through this flag, not through
 * fuse_session_exit as libfuse's handlers do: once the session is marked
 * exited, libfuse's receive drops the request it has just read, and a
 * reader whose READ is dropped keeps its page locked; a push waiting on
 * that page (fs/push.c) would then never finish, nor the daemon.
 */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	(void)sig;
	stop_signal = 1;
}

static int set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int loop_set_signal_handlers(void)
{
	unblock_faults();
	stop_signal = 0;
	if (set_handler(SIGTERM, on_stop) || set_handler(SIGINT, on_stop) ||
	    set_handler(SIGHUP, on_stop) || set_handler(SIGPIPE, SIG_IGN))
		return -1;
	return 0;
}

void loop_remove_signal_handlers(void)
{
	set_handler(SIGTERM, SIG_DFL);
	set_handler(SIGINT, SIG_DFL);
	set_handler(SIGHUP, SIG_DFL);
	set_handler(SIGPIPE, SIG_DFL);
}

struct loop *loop_new(struct fuse_session *se, unsigned workers,
		      unsigned spin_us)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->se = se;
	l->nworkers = workers;
	/* Polling only helps, and only does no harm, with a CPU to spare. */
	l->spin_ns = loop_cpus() > 1 ? (uint64_t)spin_us * 1000 : 0;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->tail = &l->head;
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wakefd < 0) {
		loop_free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->wakefd >= 0)
		close(l->wakefd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void *worker(void *arg)
{
	struct loop *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct job *j = l->head;

		if (!j) {
			if (l->stopping)
				break;
			pthread_cond_wait(&l->cond, &l->lock);
			continue;
		}
		l->head = j->next;
		if (!l->head)
			l->tail = &l->head;
		pthread_mutex_unlock(&l->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static void start_workers(struct loop *l)
{
	l->tid = calloc(l->nworkers, sizeof(*l->tid));
	if (!l->tid) {
		l->running = 0;
		return;
	}
	/* Signals (SIGINT, SIGTERM, SIGHUP: loop_set_signal_handlers) go
	 * to the receiving thread, whose poll then returns EINTR. */
	while (l->nstarted < l->nworkers &&
	       loop_thread_create(&l->tid[l->nstarted], worker, l) == 0)
		l->nstarted++;
	l->running = l->nstarted > 0;
}

/* The receiving thread's only (ops.c). */
int loop_defer(struct loop *l, void (*fn)(void *), void *arg)
{
	struct job *j;

	if (l && l->running && !l->nstarted)
		start_workers(l);
	if (!l || !l->running)
		return -1;
	j = malloc(sizeof(*j));
	if (!j)
		return -1;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&l->lock);
	*l->tail = j;
	l->tail = &j->next;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void loop_wake(struct loop *l)
{
	uint64_t one = 1;

	if (l && write(l->wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, a wake-up is pending anyway. */
	}
}

int loop_run(struct loop *l, int (*idle)(void *, int), void *idle_arg)
{
	struct fuse_session *se = l->se;
	struct fuse_buf buf;
	struct pollfd pfd, fds[2];
	uint64_t last = 0;
	int awake = 0;
	unsigned i;
	int flags, err = 0, r;

	memset(&buf, 0, sizeof(buf));
	pfd.fd = fuse_session_fd(se);
	pfd.events = POLLIN;
	fds[0] = pfd;
	fds[1].fd = l->wakefd;
	fds[1].events = POLLIN;
	flags = fcntl(pfd.fd, F_GETFL);
	if (flags < 0 || fcntl(pfd.fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	l->running = l->nworkers > 0;	/* started by loop_defer */
	l->nstarted = 0;

	while (!fuse_session_exited(se) && !stop_signal) {
		r = fuse_session_receive_buf(se, &buf);
		if (r == -EAGAIN) {
			/* Work ahead first, then poll, then sleep. */
			if (idle && idle(idle_arg, 0)) {
				awake = 1;
				continue;
			}
			if (l->spin_ns && now_ns() - last < l->spin_ns) {
				continue;
			}
			/* Work rendered ahead may still be asked for after a
			 * pause (rsync's per-file work can outlast the spin):
			 * it is dropped after a second of quiet. */
			r = poll(fds, 2, awake ? 1000 : -1);
			if (r < 0 && errno != EINTR) {
				err = -errno;
				break;
			}
			if (r > 0 && (fds[1].revents & POLLIN)) {
				uint64_t count;

				if (read(l->wakefd, &count, sizeof(count)) < 0)
					count = 0;	/* nothing pending */
				awake = 1;
			}
			if (r == 0) {
				idle(idle_arg, 1);
				awake = 0;
			}
			continue;
		}
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			/* 0: unmounted (ENODEV), or told to exit. */
			err = r;
			break;
		}
		fuse_session_process_buf(se, &buf);
		last = now_ns();
	}
	/* Background work may wait on a reader whose request is queued
	 * (fs/push.c): serve until it has stopped, or the device is gone
	 * (the kernel has then failed every request). */
	while (idle && idle(idle_arg, 2)) {
		r = fuse_session_receive_buf(se, &buf);
		if (r > 0)
			fuse_session_process_buf(se, &buf);
		else if (r == -EAGAIN || r == -EINTR)
			poll(&pfd, 1, 10);
		else
			break;
	}
	if (idle)
		idle(idle_arg, 1);

	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < l->nstarted; i++)
		pthread_join(l->tid[i], NULL);
	l->running = 0;
	l->stopping = 0;
	l->nstarted = 0;
	free(l->tid);
	l->tid = NULL;
	free(buf.mem);
	fcntl(pfd.fd, F_SETFL, flags);
	fuse_session_reset(se);
	return err;
}
