/*
 * measure.c - sizing messages on a second CPU while the scan goes on.
 *
 * A first mount must know the exact size of every .eml, which means a
 * count-only render of every message: about 60 % of the scan's time, and
 * independent from message to message.  The scanning thread queues each
 * message (a copy of its parse: slices into the mapping, no bytes) in a
 * ring; a worker thread renders them, and the scanning thread lends a
 * hand when the ring is full.  Results are handed back to the caller in
 * queue order, on the scanning thread, so that everything order-dependent
 * (warning list, line numbers, the index bytes) is exactly what a serial
 * scan gives.
 *
 * Lifecycle: measure_start, measure_put..., measure_drain (at the end of
 * each file), measure_stop.  CCMAILFS_SCAN_THREADS=1 in the environment,
 * or a single CPU, gives no worker: measure_start returns NULL and the
 * caller measures inline.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccm.h"
#include "parse_internal.h"

#define RING 256

enum { J_QUEUED, J_TAKEN, J_DONE };

struct job {
	size_t entry;
	uint64_t tag;
	int is_msg, state, err;
	uint64_t size;
	struct ccm_msg m;		/* a copy; its arrays are the job's */
	struct ccm_buf account;		/* the account name, NUL-terminated */
	struct ccm_render_ctx rc;
	struct ccm_warnlist wl;
};

struct ccm_measure {
	const struct ccm_options *opt;
	measure_apply_fn apply;
	void *ctx;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	/* job[i % RING] for head <= i < tail; [head, next) are taken. */
	size_t head, next, tail;
	int stop, worker_idle, waiting;
	struct ccm_buf meas;		/* the scanning thread's, when helping */
	struct job job[RING];
};

static void run(struct job *j, struct ccm_buf *meas)
{
	ccm_buf_clear(meas);
	j->wl.n = 0;
	j->err = j->is_msg ? ccm_eml_render(&j->rc, &j->m, meas, &j->wl) : 0;
	j->size = meas->len;
}

static void *worker(void *arg)
{
	struct ccm_measure *p = arg;
	struct ccm_buf meas;

	ccm_buf_init(&meas);
	meas.count_only = 1;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		while (!p->stop && p->next == p->tail) {
			p->worker_idle = 1;
			pthread_cond_wait(&p->work, &p->mu);
			p->worker_idle = 0;
		}
		if (p->stop)
			break;
		j = &p->job[p->next++ % RING];
		j->state = J_TAKEN;
		pthread_mutex_unlock(&p->mu);
		run(j, &meas);
		pthread_mutex_lock(&p->mu);
		j->state = J_DONE;
		if (p->waiting)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	ccm_buf_release(&meas);
	return NULL;
}

static int want_worker(void)
{
	const char *e = getenv("CCMAILFS_SCAN_THREADS");

	if (e && *e)
		return atoi(e) > 1;
	return sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

int measure_start(struct ccm_measure **out, const struct ccm_options *o,
		  measure_apply_fn apply, void *ctx)
{
	struct ccm_measure *p;
	sigset_t all, old;
	int err;

	*out = NULL;
	if (!want_worker())
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return 0;	/* as without a thread: measured inline */
	p->opt = o;
	p->apply = apply;
	p->ctx = ctx;
	ccm_buf_init(&p->meas);
	p->meas.count_only = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	/* Signals are for the caller's thread. */
	/* Not the faults: blocked, a SIGBUS would kill the process
	 * instead of reaching the guard (file.c). */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&p->thr, NULL, worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		/* No thread is no failure: the caller measures inline. */
		pthread_cond_destroy(&p->done);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return 0;
	}
	*out = p;
	return 0;
}

/* Room for n elements, grown as everywhere else (ccm_grow). */
static int reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
	while (*cap < n)
		if (ccm_grow(arr, cap, *cap, elem))
			return -ENOMEM;
	return 0;
}

static int copy_msg(struct ccm_msg *d, const struct ccm_msg *s)
{
	size_t i;

	if (reserve((void **)&d->hdr, &d->hdrcap, s->nhdr, sizeof(*d->hdr)) ||
	    reserve((void **)&d->items, &d->itemcap, s->nitems,
		    sizeof(*d->items)))
		return -ENOMEM;
	if (s->nhdr)
		memcpy(d->hdr, s->hdr, s->nhdr * sizeof(*d->hdr));
	if (s->nitems)
		memcpy(d->items, s->items, s->nitems * sizeof(*d->items));
	d->nhdr = s->nhdr;
	d->nitems = s->nitems;
	d->off = s->off;
	d->len = s->len;
	d->stray = s->stray;
	d->has_contents = s->has_contents;
	d->warn.n = 0;
	/* ccm_warn drops what it cannot store, as the serial scan would. */
	for (i = 0; i < s->warn.n; i++)
		ccm_warn(&d->warn, s->warn.w[i].code, s->warn.w[i].a,
			 s->warn.w[i].b);
	return 0;
}

/*
 * With the lock held: hand back the oldest job if it is done; otherwise,
 * when must is set, make progress by rendering a queued job here, or wait
 * for the worker's.  Returns an error from the caller's apply.
 */
static int advance(struct ccm_measure *p, int must)
{
	struct job *j;
	int err;

	if (p->head == p->tail)
		return 0;
	j = &p->job[p->head % RING];
	if (j->state == J_DONE) {
		p->head++;
		pthread_mutex_unlock(&p->mu);
		err = p->apply(p->ctx, j->entry, j->tag, j->is_msg, j->err,
			       j->size, &j->wl);
		pthread_mutex_lock(&p->mu);
		return err;
	}
	if (!must)
		return 0;
	if (p->next < p->tail) {
		j = &p->job[p->next++ % RING];
		j->state = J_TAKEN;
		pthread_mutex_unlock(&p->mu);
		run(j, &p->meas);
		pthread_mutex_lock(&p->mu);
		j->state = J_DONE;
		return 0;
	}
	p->waiting = 1;
	pthread_cond_wait(&p->done, &p->mu);
	p->waiting = 0;
	return 0;
}

int measure_put(struct ccm_measure *p, size_t entry, uint64_t tag,
		const struct ccm_msg *m, const struct ccm_render_ctx *rc)
{
	struct job *j;
	int err = 0;

	pthread_mutex_lock(&p->mu);
	while (!err && p->tail - p->head == RING)
		err = advance(p, 1);
	pthread_mutex_unlock(&p->mu);
	if (err)
		return err;
	/* The slot at tail is the caller's until tail moves past it. */
	j = &p->job[p->tail % RING];
	j->entry = entry;
	j->tag = tag;
	j->is_msg = m != NULL;
	j->err = 0;
	j->size = 0;
	if (m) {
		err = copy_msg(&j->m, m);
		ccm_buf_clear(&j->account);
		ccm_buf_puts(&j->account, rc->account ? rc->account : "");
		ccm_buf_putc(&j->account, '\0');
		if (!err && j->account.oom)
			err = -ENOMEM;
		if (err)
			return err;
		j->rc = *rc;
		j->rc.account = j->account.p;
	}
	pthread_mutex_lock(&p->mu);
	j->state = J_QUEUED;
	p->tail++;
	if (p->worker_idle)
		pthread_cond_signal(&p->work);
	/* Hand back whatever is finished, without waiting. */
	do {
		size_t before = p->head;

		err = advance(p, 0);
		if (p->head == before)
			break;
	} while (!err);
	pthread_mutex_unlock(&p->mu);
	return err;
}

int measure_drain(struct ccm_measure *p)
{
	int err = 0;

	pthread_mutex_lock(&p->mu);
	while (!err && p->head < p->tail)
		err = advance(p, 1);
	pthread_mutex_unlock(&p->mu);
	return err;
}

void measure_stop(struct ccm_measure *p)
{
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thr, NULL);
	for (i = 0; i < RING; i++) {
		ccm_msg_release(&p->job[i].m);
		ccm_buf_release(&p->job[i].account);
		ccm_warnlist_release(&p->job[i].wl);
	}
	ccm_buf_release(&p->meas);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
