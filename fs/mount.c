/*
 * mount.c - `ccmailfs [options] SOURCE... MOUNTPOINT`.
 *
 * Order matters for users (fuse-archive#3): options and sources are checked,
 * the index is loaded or the accounts found (index_open), and every path an
 * index may be written to is opened, before anything is mounted: a mistake
 * costs one line on stderr, and nothing the daemon does later goes through
 * its own mount point or depends on the directory it was started in.  A
 * first scan then runs on a thread while the root is served (fs/early.c).
 * In the background, messages go to syslog.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <malloc.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "early.h"
#include "fs.h"
#include "guard.h"
#include "index.h"
#include "loop.h"
#include "mountinfo.h"
#include "optlist.h"

static int use_syslog;
static enum tree_layout layout = TREE_LAYOUT_PLAIN;
static struct index_opts iopts;
static unsigned spin_us = 100;
static int no_push, keep_pushed, no_listahead, no_xattr;
static const char *listahead_why;

static void log_line(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if (use_syslog)
		vsyslog((int)level, fmt, ap);
	else
		vfprintf(stderr, fmt, ap);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(LOG_INFO, fmt, ap);
	} else {
		fputs("ccmailfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ccmailfs: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

struct split {
	struct ccm_options *o;
	struct ccm_buf *fuse_opts;
};

/* One option of -o: ours are taken, the rest go to libfuse as written. */
static int split_one(void *ctx, const char *kv, const char *raw)
{
	/* The mount's on/off options. */
	static const struct {
		const char *name;
		int *set;
	} flags[] = {
		{ "nopush", &no_push },
		{ "keeppushed", &keep_pushed },
		{ "nolistahead", &no_listahead },
		{ "noxattr", &no_xattr },
	};
	struct split *sp = ctx;
	char err[256];
	size_t i;
	int r = index_option(kv, &iopts);

	if (r > 0 && !strncmp(kv, "spin=", 5)) {
		char *end;
		unsigned long v = strtoul(kv + 5, &end, 10);

		if (!kv[5] || *end || v > 1000000)
			return fail("%s: spin must be 0 to 1000000 "
				    "microseconds", kv);
		spin_us = (unsigned)v;
		return 0;
	}
	for (i = 0; r > 0 && i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(kv, flags[i].name)) {
			*flags[i].set = 1;
			return 0;
		}
	if (r > 0)
		r = tree_layout_option(kv, &layout);
	if (r < 0)
		return fail("%s: layout must be plain or maildir", kv);
	if (r > 0)
		r = ccm_options_set(sp->o, kv, err, sizeof(err));
	if (r < 0)
		return fail("%s", err);
	if (r > 0) {
		if (sp->fuse_opts->len)
			ccm_buf_putc(sp->fuse_opts, ',');
		ccm_buf_puts(sp->fuse_opts, raw);
	}
	return 0;
}

static int split_options(struct ccm_options *o, const char *list,
			 struct ccm_buf *fuse_opts)
{
	struct split sp = { o, fuse_opts };
	int rc = optlist_each(list, split_one, &sp);

	return rc < 0 ? fail("out of memory") : rc;
}

static void usage_hint(void)
{
	fprintf(stderr, "Try 'ccmailfs --help' for more information.\n");
}

/* A named file with bytes but not one message or marker is no export. */
/*
 * A first mount is served as soon as the accounts are known: the scan,
 * the tree and the index are built here, on a thread of their own, while
 * the root lists (SPEC 6: a mount is ready in about the time the export
 * takes to read).  Everything else waits for ccmfs_publish.
 */
struct builder {
	struct ccmfs *fs;
	struct ccm_archive *a;	/* prepared, unscanned; replaced by reload */
	struct index_plan *plan;
	const char *source, *mountpoint;
	pthread_t tid;
	int started;
};

static void log_counts(const struct ccm_archive *a, const char *source,
		       const char *mountpoint)
{
	uint64_t nmsg = 0, nerr = 0;
	size_t i;

	/* The accounts' counts, not the entries': a restored index is read
	 * only as it is used (ccm.h, struct ccm_reader); restore checked
	 * that the two agree. */
	for (i = 0; i < a->naccounts; i++) {
		nmsg += a->accounts[i].nmsg;
		nerr += a->accounts[i].nerr;
	}
	say("mounted %s on %s: %llu messages, %llu error entries, %llu "
	    "warnings", source, mountpoint, (unsigned long long)nmsg,
	    (unsigned long long)nerr, (unsigned long long)a->warns.n);
}

static void *build_thread(void *arg)
{
	struct builder *b = arg;
	struct tree *t = NULL;
	int err;

	/* The scan (and the measuring thread it starts, which inherits
	 * this) yields to the root's requests and to whoever asked for
	 * them: on two CPUs both would otherwise be busy with the scan. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	/* Test hook: a slow first scan, to see what waits for it (t11). */
	if (getenv("CCMAILFS_TEST_BUILD_DELAY_MS"))
		usleep(1000u * (unsigned)atoi(getenv("CCMAILFS_TEST_BUILD_DELAY_MS")));
	err = index_finish(b->a, layout, &t);
	if (err) {
		say("cannot index %s: %s; every request but the root's "
		    "listing fails with EIO", b->source, ccm_strerror(err));
	} else {
		index_store(&iopts, b->plan, &b->a, &t);
		/* As before a mount: a shrinking source gives EIO, never
		 * SIGBUS. */
		ccm_archive_guard(b->a);
		log_counts(b->a, b->source, b->mountpoint);
	}
	ccmfs_publish(b->fs, t, err);
	return NULL;
}

static int build_start(struct builder *b)
{
	b->started = loop_thread_create(&b->tid, build_thread, b) == 0;
	return b->started ? 0 : -1;
}

/*
 * libfuse 3.14 sets FUSE_CAP_PARALLEL_DIROPS in conn->want but never
 * passes it on: its INIT reply lacks the flag (later releases send it).
 * Without it the kernel serialises LOOKUP and READDIR in each directory,
 * so one lookup parked behind the first scan (fs/early.c) would hold up
 * every listing of the root.  Replies go through this writev, which adds
 * the flag to the session's first reply, INIT's, when the kernel offered
 * it.  Our lookups and listings share nothing that needs the kernel's
 * lock: the tree is immutable.
 */
static ssize_t io_writev(int fd, struct iovec *iov, int count, void *ud)
{
	struct ccmfs *fs = ud;

	if (!fs->init_sent) {
		fs->init_sent = 1;
		if (fs->parallel_dirops && count >= 2 &&
		    iov[0].iov_len >= sizeof(struct fuse_out_header) &&
		    ((struct fuse_out_header *)iov[0].iov_base)->error == 0 &&
		    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) +
				      sizeof(uint32_t)) {
			((struct fuse_init_out *)iov[1].iov_base)->flags |=
				FUSE_PARALLEL_DIROPS;
			fs->dirops_sent = 1;
		}
	}
	return writev(fd, iov, count);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *ud)
{
	(void)ud;
	return read(fd, buf, len);
}

static int take_io(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.writev = io_writev,
		.read = io_read,
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

static int debug_push;

static void say_push(struct ccmfs *fs)
{
	if (debug_push)
		say("page cache push: %s", fs->push.started ? "on" :
		    no_push ? "off (-o nopush)" :
		    "off (needs two CPUs and a writable "
		    "/sys/fs/fuse/connections)");
}

static const char *not_an_export(const struct ccm_archive *a,
				 const struct ccm_file_stats *stats,
				 char **src, size_t nsrc)
{
	size_t i, j;

	for (i = 0; i < nsrc; i++) {
		struct stat st;

		if (stat(src[i], &st) || !S_ISREG(st.st_mode))
			continue;
		for (j = 0; j < a->nfiles; j++) {
			const struct ccm_file_stats *s = &stats[j];

			if (strcmp(a->files[j].path, src[i]) == 0 &&
			    a->files[j].size > 0 && s->nmsg == 0 &&
			    s->nnotes == 0)
				return src[i];
		}
	}
	return NULL;
}

int ccmfs_mount_main(int argc, char **argv)
{
	struct ccm_options opt;
	struct ccm_buf fopts, fsname;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_cmdline_opts co;
	struct fuse_session *se = NULL;
	struct ccm_archive *a = NULL;
	struct ccmfs fs;
	char **pos, *mnt, real[PATH_MAX];
	const char *bad;
	size_t npos = 0, i;
	int status = 2, err, j, loaded = 0, unmounted = 0;
	struct builder bld;
	struct index_plan plan;
	char note[700];
	struct stat st;
	pid_t guard = -1;

	ccm_options_init(&opt);
	ccm_buf_init(&fopts);
	ccm_buf_init(&fsname);
	memset(&fs, 0, sizeof(fs));
	memset(&bld, 0, sizeof(bld));
	index_plan_init(&plan);
	memset(&co, 0, sizeof(co));
	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (!pos || fuse_opt_add_arg(&args, argv[0]))
		return fail("out of memory");

	for (j = 1; j < argc; j++) {
		const char *arg = argv[j];

		if (!strcmp(arg, "-o") || (!strncmp(arg, "-o", 2) && arg[2])) {
			const char *list = arg[2] ? arg + 2 : argv[++j];

			if (!list) {
				status = fail("-o needs options");
				usage_hint();
				goto out;
			}
			if (split_options(&opt, list, &fopts))
				goto out;
		} else if (!strcmp(arg, "-f") || !strcmp(arg, "-d") ||
			   !strcmp(arg, "-s") || !strcmp(arg, "--debug") ||
			   !strcmp(arg, "--foreground") ||
			   !strncmp(arg, "--max-threads=", 14) ||
			   !strcmp(arg, "--clone-fd")) {
			if (fuse_opt_add_arg(&args, arg))
				goto oom;
		} else if (arg[0] == '-' && arg[1]) {
			status = fail("unknown option: %s", arg);
			usage_hint();
			goto out;
		} else {
			pos[npos++] = argv[j];
		}
	}
	if (npos < 2) {
		status = fail(npos ? "no MOUNTPOINT given (usage: ccmailfs "
				     "[options] SOURCE... MOUNTPOINT)"
				   : "no SOURCE and MOUNTPOINT given");
		usage_hint();
		goto out;
	}
	mnt = pos[--npos];
	if (stat(mnt, &st) || !S_ISDIR(st.st_mode)) {
		status = fail("mount point %s: %s", mnt,
			      errno ? strerror(errno) : "not a directory");
		goto out;
	}
	if (realpath(mnt, real) && mountinfo_find(real, "", NULL, NULL)) {
		status = fail("mount point %s is busy (already mounted); "
			      "unmount it with 'fusermount3 -u %s' first",
			      mnt, mnt);
		goto out;
	}
	for (i = 0; i < npos; i++) {
		if (access(pos[i], R_OK)) {
			status = fail("source %s: %s", pos[i], strerror(errno));
			goto out;
		}
	}

	/* libfuse checks its own options now, before any indexing work.
	 * Ours go last, so a "rw" from mount(8) cannot undo "ro". */
	ccm_buf_puts(&fsname, "ro,default_permissions,subtype=ccmailfs,fsname=ccmail:");
	for (const char *s = pos[0]; *s; s++) {
		if (*s == ',' || *s == '\\')
			ccm_buf_putc(&fsname, '\\');
		ccm_buf_putc(&fsname, *s);
	}
	if (fopts.len && (fuse_opt_add_arg(&args, "-o") ||
			  fuse_opt_add_arg(&args, ccm_buf_cstr(&fopts))))
		goto oom;
	if (fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, ccm_buf_cstr(&fsname)) ||
	    fuse_opt_add_arg(&args, mnt))
		goto oom;
	if (fuse_parse_cmdline(&args, &co) != 0) {
		status = 2;
		goto out;
	}
	se = fuse_session_new(&args, &ccmfs_ops, sizeof(ccmfs_ops), &fs);
	if (!se) {
		/* libfuse has said which option it did not take, in one line. */
		status = 2;
		goto out;
	}
	{
		char msg[1024];
		struct rlimit nofile;

		/* Every source stays open while mounted (a directory of
		 * exports can hold many): as many as we are allowed. */
		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
		    nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			setrlimit(RLIMIT_NOFILE, &nofile);
		}
		/* Load the index, or find the accounts now, before anything
		 * is mounted; the rest of a first scan runs once mounted. */
		iopts.progress = isatty(STDERR_FILENO);
		iopts.log = say;
		iopts.defer = 1;
		err = index_open(&iopts, pos, npos, &opt, layout, &a, &fs.tree,
				 &loaded, &plan, note, sizeof(note), msg,
				 sizeof(msg));
		if (err) {
			status = fail("%s", msg);
			goto out_session;
		}
	}
	if (!loaded) {
		fs.top = fs.tree;
		fs.tree = NULL;
	}
	for (i = 0; i < a->nbad; i++) {
		size_t k;
		int named = 0;

		for (k = 0; k < npos; k++)
			named |= strcmp(pos[k], a->bad[i].path) == 0;
		if (named) {
			status = fail("source %s: %s", a->bad[i].path,
				      ccm_strerror(a->bad[i].err));
			goto out_session;
		}
		/* A bad member of a directory source costs that file only;
		 * the report lists it as unreadable. */
		say("warning: skipped %s: %s", a->bad[i].path,
		    ccm_strerror(a->bad[i].err));
	}
	bad = not_an_export(a, fs.top ? fs.top->a->stats : a->stats, pos,
			    npos);
	if (bad) {
		status = fail("%s is not a cc:Mail export (no Message: line "
			      "found; see 'ccmailfs --check %s')", bad, bad);
		goto out_session;
	}
	if (getenv("CCMAILFS_TEST_HOLD_INO"))
		fs.hold_ino = strtoull(getenv("CCMAILFS_TEST_HOLD_INO"), NULL,
				       10);
	fs.uid = getuid();
	fs.gid = getgid();
	fs.timeout = 86400.0;
	pthread_mutex_init(&fs.rlock, NULL);
	pthread_cond_init(&fs.rcond, NULL);

	/* Only now, with a result worth keeping (not a non-export). */
	if (note[0])
		say("%s", note);
	/* From here on, sources are read under a SIGBUS guard: a source that
	 * shrinks under the mount gives EIO, never SIGBUS.  A first scan
	 * reads them unguarded until it is done (build_thread). */
	if (loaded)
		ccm_archive_guard(a);

	/* A shell starts background jobs with SIGINT ignored; SIGINT and
	 * SIGTERM must always unmount cleanly, and loop_set_signal_handlers
	 * sets them whatever they were. */
	if (loop_set_signal_handlers() != 0) {
		status = fail("cannot set signal handlers");
		goto out_session;
	}
	if (fuse_session_mount(se, co.mountpoint) != 0) {
		status = fail("cannot mount on %s", co.mountpoint);
		goto out_signals;
	}
	if (take_io(se) != 0)
		say("warning: libfuse refused our I/O functions; lookups "
		    "and listings in one directory wait for each other");
	if (!co.foreground) {
		openlog("ccmailfs", LOG_PID, LOG_DAEMON);
		use_syslog = 1;
		fuse_set_log_func(log_line);
	}
	fuse_daemonize(co.foreground);
	/*
	 * A render allocates and frees blocks as large as one message or
	 * window; glibc would keep freed ones in per-thread heaps and grow
	 * its threshold with them.  A fixed threshold maps them instead, so
	 * the memory goes back to the system when a file is closed.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	fs.se = se;
	/* The lister waits for our own replies: not with one CPU or the
	 * single-threaded loop, and only with the guard, as the push; it
	 * lists through a clone of the mount, which needs CAP_SYS_ADMIN
	 * (fs/listahead.c). */
	listahead_why = no_listahead ? "off (-o nolistahead)" :
			co.singlethread || loop_cpus() < 2 ?
			"off (needs two CPUs and no -s)" :
			!listahead_capable() ?
			"off (cloning the mount needs CAP_SYS_ADMIN)" : NULL;
	/* Before any thread: the guard is forked from this one, and
	 * watches it (fs/guard.c).  The push needs a second CPU and the
	 * guard: without it a kill -9 could hang readers (fs/push.c). */
	guard = -1;
	if ((!no_push || !listahead_why) && !co.singlethread &&
	    loop_cpus() > 1)
		guard = guard_start(co.mountpoint);
	fs.want_push = !no_push && guard > 0;
	fs.keep_pushed = keep_pushed;
	fs.no_xattr = no_xattr;
	if (!listahead_why && guard <= 0)
		listahead_why = "off (needs a writable /sys/fs/fuse/connections)";
	fs.want_listahead = !listahead_why;
	fs.mountpoint = co.mountpoint;
	fs.guard = guard;
	debug_push = co.foreground && co.debug;
	fs.on_live = say_push;
	/* The loop exists before the builder, which wakes it (early.c). */
	fs.loop = loop_new(se, co.singlethread ? 0 : co.max_threads, spin_us);
	if (!fs.loop) {
		say("out of memory");
		err = -ENOMEM;
	} else {
		if (loaded) {
			log_counts(a, pos[0], co.mountpoint);
			ccmfs_publish(&fs, fs.tree, 0);
		} else {
			bld.fs = &fs;
			bld.a = a;
			bld.plan = &plan;
			bld.source = pos[0];
			bld.mountpoint = co.mountpoint;
			if (build_start(&bld) != 0) {
				say("cannot start the indexing thread");
				ccmfs_publish(&fs, NULL, -ENOMEM);
			}
		}
		err = loop_run(fs.loop, ccmfs_idle, &fs);
	}
	early_drop(&fs);
	if (!fs.live) {
		/* Nothing serves files yet, and the scan may run on: the
		 * mount point is given back now (SIGTERM), not when it ends.
		 * Its index is still worth writing for the next mount. */
		guard_stop(guard);
		guard = -1;
		fuse_session_unmount(se);
		unmounted = 1;
	}
	if (bld.started) {
		pthread_join(bld.tid, NULL);
		a = bld.a;
	}
	if (fs.live)
		ahead_release(&fs.ahead);
	status = err < 0 ? 1 : 0;
	push_end(&fs.push);
	if (co.foreground && co.debug)
		say("page cache push: %llu files pushed, %llu later dropped, "
		    "%llu reads of a file's start reached the daemon, "
		    "%llu directories entered before the reader, "
		    "%llu wires read",
		    (unsigned long long)fs.push.stored,
		    (unsigned long long)fs.push.recycled,
		    (unsigned long long)fs.push.misses,
		    (unsigned long long)fs.push.plan.hops,
		    (unsigned long long)fs.push.plan.wires);
	if (co.foreground && co.debug)
		say("list ahead: %s%s, %llu directories listed",
		    listahead_state(&fs.listahead) ? "" :
		    listahead_why ? listahead_why : "off (not started: no "
		    "parallel directory operations, or never live)",
		    listahead_state(&fs.listahead) ?
		    listahead_state(&fs.listahead) : "",
		    (unsigned long long)__atomic_load_n(&fs.listahead.listed,
							__ATOMIC_RELAXED));
	if (fs.live)
		ccmfs_watch_stop(&fs);
	guard_stop(guard);
	loop_free(fs.loop);
	fs.loop = NULL;
	if (!unmounted)
		fuse_session_unmount(se);
	say("unmounted %s", co.mountpoint);
out_signals:
	loop_remove_signal_handlers();
out_session:
	fuse_session_destroy(se);
	/* Only now: a listing it has in flight fails once the connection
	 * is closed, and never gets a reply after the loop has stopped. */
	listahead_end(&fs.listahead);
	goto out;
oom:
	status = fail("out of memory");
out:
	free(co.mountpoint);
	fuse_opt_free_args(&args);
	free(fs.dirbuf);
	tree_free(fs.tree);
	index_top_free(fs.top);
	ccm_archive_free(a);
	index_plan_release(&plan);
	ccm_buf_release(&fopts);
	ccm_buf_release(&fsname);
	ccm_options_release(&opt);
	free(pos);
	return status;
}
