/*
 * early.c - serving a first mount while its tree is built (fs/mount.c).
 *
 * Until ccmfs_publish, the root's attributes and listing come from the top
 * of the tree (index_open's survey), and every other request is parked: its
 * arguments are kept on a list and the receiving thread goes on, so that
 * one `ls account` does not hold up the root's requests of everybody else.
 * The builder then wakes the loop (loop_wake), whose idle hook replays the
 * parked requests, in order, through the ops table, on the receiving
 * thread that owns fs->ahead.  Nothing here is shared with other threads
 * but ready, tree and build_err, which the builder writes once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "early.h"
#include "loop.h"

struct parked {
	struct parked *next;
	struct early_args a;
	fuse_req_t req;
	struct fuse_file_info fi;
	char name[];		/* a.name points here */
};

static int is_ready(struct ccmfs *fs)
{
	return __atomic_load_n(&fs->ready, __ATOMIC_ACQUIRE);
}

void ccmfs_publish(struct ccmfs *fs, struct tree *t, int err)
{
	pthread_mutex_lock(&fs->rlock);
	fs->tree = t;
	fs->build_err = t ? 0 : err ? err : -EIO;
	__atomic_store_n(&fs->ready, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&fs->rcond);
	pthread_mutex_unlock(&fs->rlock);
	loop_wake(fs->loop);
}

/* 1 if the root's children are not those of the survey, by name. */
static int accounts_moved(const struct tree *top, const struct tree *t)
{
	const struct tree_node *a = tree_node(top, FUSE_ROOT_ID);
	const struct tree_node *b = tree_node(t, FUSE_ROOT_ID);
	uint64_t i;

	if (!a || !b || a->nchildren != b->nchildren)
		return 1;
	for (i = 0; i < a->nchildren; i++) {
		uint64_t x = tree_child(top, FUSE_ROOT_ID, i);
		uint64_t y = tree_child(t, FUSE_ROOT_ID, i);

		if (x != y || strcmp(tree_name(top, x), tree_name(t, y)))
			return 1;
	}
	return 0;
}

/* The push's way to the lister (fs/push.h). */
static void ask_list(void *ctx, uint64_t dir)
{
	listahead_request(ctx, dir);
}

/*
 * The first time the receiving thread finds the tree ready: what serves
 * files (render-ahead, report watcher, page cache push) starts only now,
 * and never once the loop has ended (a push then could wait for ever on a
 * reader's page whose READ nobody answers).
 */
static void go_live(struct ccmfs *fs)
{
	if (fs->live || !fs->tree)
		return;
	fs->live = 1;
	ahead_init(&fs->ahead, fs->tree);
	ccmfs_watch_start(fs);
	if (fs->top && accounts_moved(fs->top, fs->tree)) {
		/* The sources changed between the survey and the scan: the
		 * kernel's copy of the early listing is dropped. */
		fuse_log(FUSE_LOG_WARNING, "ccmailfs: the accounts changed "
			 "while the export was read; the root is listed again\n");
		ccmfs_watch_inval_root(fs);
	}
	if (fs->want_push && push_start(&fs->push, fs->se, fs->tree,
					 fs->guard, fs->keep_pushed) != 0)
		fs->want_push = 0;
	/* Without parallel directory operations the kernel would make the
	 * lister and the reader take turns in each directory. */
	if (fs->want_listahead && fs->dirops_sent &&
	    listahead_start(&fs->listahead, fs->tree, fs->mountpoint,
			    fs->guard) != 0)
		fs->want_listahead = 0;
	/* The push goes on into the next directory before the reader
	 * does, once the lister has listed it. */
	if (fs->push.started && fs->listahead.started) {
		pthread_mutex_lock(&fs->push.lock);
		fs->push.ask_list = ask_list;
		fs->push.ask_ctx = &fs->listahead;
		pthread_mutex_unlock(&fs->push.lock);
	}
	if (fs->on_live)
		fs->on_live(fs);
}

const struct tree *early_root(struct ccmfs *fs, fuse_ino_t ino)
{
	if (ino != FUSE_ROOT_ID || !fs->top)
		return NULL;
	/* After a failed build too: the log promised the root's listing. */
	if (is_ready(fs) && fs->tree)
		return NULL;
	return fs->top;
}

static int park(struct ccmfs *fs, fuse_req_t req, const struct early_args *a)
{
	size_t nlen = a->name ? strlen(a->name) + 1 : 0;
	struct parked *p = malloc(sizeof(*p) + nlen);

	if (!p)
		return -1;
	p->next = NULL;
	p->a = *a;
	p->req = req;
	if (a->fi)
		p->fi = *a->fi;
	else
		memset(&p->fi, 0, sizeof(p->fi));
	p->a.fi = &p->fi;
	if (a->name) {
		memcpy(p->name, a->name, nlen);
		p->a.name = p->name;
	}
	if (!fs->parked_tail)
		fs->parked_tail = &fs->parked;
	*fs->parked_tail = p;
	fs->parked_tail = &p->next;
	return 0;
}

int early_wait(fuse_req_t req, const struct early_args *a)
{
	struct ccmfs *fs = fuse_req_userdata(req);

	if (!is_ready(fs) && park(fs, req, a) == 0)
		return 1;
	if (!is_ready(fs)) {
		/* Out of memory to park it: this one waits in place. */
		pthread_mutex_lock(&fs->rlock);
		while (!fs->ready)
			pthread_cond_wait(&fs->rcond, &fs->rlock);
		pthread_mutex_unlock(&fs->rlock);
	}
	if (fs->build_err) {
		fuse_reply_err(req, ccmfs_errno(fs->build_err));
		return 1;
	}
	go_live(fs);
	return 0;
}

static void replay(struct parked *p)
{
	const struct early_args *a = &p->a;
	struct fuse_file_info *fi = &p->fi;
	fuse_req_t req = p->req;

	switch (a->op) {
	case EARLY_LOOKUP:
		ccmfs_ops.lookup(req, a->ino, a->name);
		break;
	case EARLY_GETATTR:
		ccmfs_ops.getattr(req, a->ino, fi);
		break;
	case EARLY_OPENDIR:
		ccmfs_ops.opendir(req, a->ino, fi);
		break;
	case EARLY_READDIR:
		ccmfs_ops.readdir(req, a->ino, a->size, a->off, fi);
		break;
	case EARLY_READDIRPLUS:
		ccmfs_ops.readdirplus(req, a->ino, a->size, a->off, fi);
		break;
	case EARLY_OPEN:
		ccmfs_ops.open(req, a->ino, fi);
		break;
	case EARLY_READ:
		ccmfs_ops.read(req, a->ino, a->size, a->off, fi);
		break;
	case EARLY_STATFS:
		ccmfs_ops.statfs(req, a->ino);
		break;
	case EARLY_LISTXATTR:
		ccmfs_ops.listxattr(req, a->ino, a->size);
		break;
	case EARLY_GETXATTR:
		ccmfs_ops.getxattr(req, a->ino, a->name, a->size);
		break;
	}
}

int early_replay(struct ccmfs *fs)
{
	struct parked *p = fs->parked, *next;

	if (!p || !is_ready(fs))
		return 0;
	/* A replayed request is answered, never parked again: ready. */
	fs->parked = NULL;
	fs->parked_tail = &fs->parked;
	for (; p; p = next) {
		next = p->next;
		replay(p);
		free(p);
	}
	return 1;
}

void early_drop(struct ccmfs *fs)
{
	struct parked *p = fs->parked, *next;

	fs->parked = NULL;
	fs->parked_tail = &fs->parked;
	for (; p; p = next) {
		next = p->next;
		/* The daemon is ending before the tree was there. */
		fuse_reply_err(p->req, EIO);
		free(p);
	}
}
