/*
 * loop.h - the FUSE session loop (fs/loop.c).
 */
#ifndef CCMFS_LOOP_H
#define CCMFS_LOOP_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <signal.h>

struct loop;

/*
 * A loop for se with `workers` threads for deferred work (0: everything
 * runs in the receiving thread; they start with the first job handed to
 * them, loop_defer) that polls the device for spin_us
 * microseconds after each request (0: never; ignored with one CPU).
 */
struct loop *loop_new(struct fuse_session *se, unsigned workers,
		      unsigned spin_us);
void loop_free(struct loop *l);
/*
 * SIGTERM, SIGINT and SIGHUP make loop_run return (SIGPIPE is ignored);
 * 0, or -1 with errno.  Unlike libfuse's handlers, no request is lost.
 */
int loop_set_signal_handlers(void);
void loop_remove_signal_handlers(void);
/* The CPUs this process may run on. */
int loop_cpus(void);
/*
 * pthread_create for every thread of the daemon: the new thread blocks
 * every signal that is for the loop's thread (SIGINT, SIGTERM, SIGHUP:
 * loop_set_signal_handlers), all but the synchronous faults.  A SIGBUS
 * raised while blocked would kill the process instead of reaching the
 * parser's guard (a source that shrinks under a render, parser/file.c).
 * 0, or pthread_create's error.
 */
int loop_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/*
 * Serve requests in the calling thread until the session is unmounted or
 * told to exit; 0 or a negative errno.  When no request is waiting,
 * idle(idle_arg, 0), if not NULL, does one piece of work ahead and returns
 * 1, or 0 when there is none; idle(idle_arg, 1) drops that work, after a
 * second without requests and at the end; at the end, idle(idle_arg, 2)
 * asks background work to stop and returns 1 while it has not: requests
 * are served until then.
 * Deferred work still queued is done before it returns.
 */
int loop_run(struct loop *l, int (*idle)(void *, int), void *idle_arg);

/* From any thread: the receiving thread, if asleep, wakes and calls idle. */
void loop_wake(struct loop *l);

/*
 * Run fn(arg) on a worker thread, from inside a request that will be
 * answered there.  -1 (nothing queued) when the loop has no workers: the
 * caller then does the work itself.
 */
int loop_defer(struct loop *l, void (*fn)(void *), void *arg);

#endif
