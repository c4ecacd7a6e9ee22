/*
 * file.c - open and map one export file read-only.
 *
 * The mapping is shared by every slice the parser hands out.  A zero-length
 * file cannot be mapped, so it is represented by data == NULL, size == 0.
 * If the file shrank while mapped, touching the vanished pages would raise
 * SIGBUS, so a mounted archive either keeps the mapping and reads it only
 * under a SIGBUS guard (ccm_archive_guard, ccm_file_guarded), or drops it
 * (ccm_archive_unmap) and reads with pread, or, for one large message, maps
 * just its bytes under the guard (ccm_file_with_range).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ccm.h"
#include "parse_internal.h"

static char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return strdup(s ? s + 1 : path);
}

/* -1 when it cannot be opened: ccm_archive_changed then goes by path. */
static int open_dir_of(const char *path)
{
	const char *s = strrchr(path, '/');
	char *dir;
	int fd;

	if (!s)
		return open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	dir = strndup(path, s == path ? 1 : (size_t)(s - path));
	if (!dir)
		return -1;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	return fd;
}

int ccm_file_open(struct ccm_file *f, const char *path)
{
	struct stat st;
	void *map;
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->dirfd = -1;
	/* O_NONBLOCK: a FIFO given as a source must not hang us; it is
	 * refused below like any non-regular file. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) < 0) {
		err = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out_close;
	}
	f->size = (uint64_t)st.st_size;
	f->mtime = (int64_t)st.st_mtime;
	f->tail = f->size;
	f->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	f->dev = (uint64_t)st.st_dev;
	f->ino = (uint64_t)st.st_ino;
	f->path = strdup(path);
	f->name = base_name(path);
	if (!f->path || !f->name) {
		err = -ENOMEM;
		goto out_free;
	}
	f->dirfd = open_dir_of(path);
	f->own_dirfd = f->dirfd >= 0;
	if (f->size > 0) {
		map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
		if (map == MAP_FAILED) {
			err = -errno;
			goto out_free;
		}
		madvise(map, f->size, MADV_SEQUENTIAL);
		f->data = map;
	}
	return 0;

out_free:
	free(f->path);
	free(f->name);
out_close:
	close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->dirfd = -1;
	return err;
}

void ccm_file_close(struct ccm_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0 && f->own_dirfd)
		close(f->dirfd);
	free(f->path);
	free(f->name);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->dirfd = -1;
}

/*
 * A large message is parsed from a mapping of its own bytes rather than a
 * heap copy: page-cache pages cost the daemon no anonymous memory, so its
 * footprint does not grow with attachment size.  The price is SIGBUS if
 * the source shrinks while mapped (the size check below narrows that to a
 * race): the handler jumps back here and the read fails with
 * CCM_E_CHANGED instead of killing the mount.  Whatever the interrupted
 * parse had allocated and not yet linked into its result is leaked.
 */
struct bus_guard {
	sigjmp_buf jb;
	const char *lo, *hi;
};

/* volatile: the stores around fn must stay, even were fn inlined. */
static __thread struct bus_guard *volatile bus_cur;
static struct sigaction bus_old;
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct bus_guard *g = bus_cur;

	if (g && (const char *)si->si_addr >= g->lo &&
	    (const char *)si->si_addr < g->hi)
		siglongjmp(g->jb, 1);
	/* Not ours: behave as if we had never been installed. */
	if (bus_old.sa_flags & SA_SIGINFO)
		bus_old.sa_sigaction(sig, si, uc);
	else if (bus_old.sa_handler != SIG_IGN &&
		 bus_old.sa_handler != SIG_DFL)
		bus_old.sa_handler(sig);
	else {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
	}
}

/* Checked on every use, not once: a program (or a test harness) may have
 * set its own handler since; it becomes the one we chain to. */
static int bus_install(void)
{
	struct sigaction sa, cur;
	int ok = 1;

	pthread_mutex_lock(&bus_lock);
	if (sigaction(SIGBUS, NULL, &cur) != 0)
		ok = 0;
	else if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_sigbus) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_sigbus;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		ok = sigaction(SIGBUS, &sa, &bus_old) == 0;
	}
	pthread_mutex_unlock(&bus_lock);
	return ok;
}

int ccm_file_guard_install(void)
{
	return bus_install();
}

/*
 * sigsetjmp without the signal mask (a system call per render otherwise):
 * the handler runs with SA_NODEFER and an empty sa_mask, so jumping out of
 * it leaves the mask as it was.
 */
int ccm_file_guarded(const struct ccm_file *f, uint64_t off,
		     int (*fn)(void *arg, const char *p), void *arg)
{
	struct bus_guard g;
	int err;

	g.lo = f->data;
	g.hi = f->data + f->size;
	if (sigsetjmp(g.jb, 0)) {
		bus_cur = NULL;
		/* The source shrank: from now on its renders take the pread
		 * path, which fails cleanly, instead of leaking what each
		 * interrupted render had allocated. */
		__atomic_store_n(&((struct ccm_file *)f)->tripped, 1,
				 __ATOMIC_RELAXED);
		return -CCM_E_CHANGED;
	}
	bus_cur = &g;
	err = fn(arg, f->data + off);
	bus_cur = NULL;
	return err;
}

int ccm_file_with_range(const struct ccm_file *f, uint64_t off, size_t len,
			int (*fn)(void *arg, const char *p), void *arg)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct bus_guard g;
	struct stat st;
	uint64_t moff;
	size_t mlen;
	char *volatile map;
	int err;

	if (len == 0)
		return fn(arg, "");
	if (!bus_install())
		return -ENOTSUP;
	if (fstat(f->fd, &st) != 0)
		return -EIO;
	if ((uint64_t)st.st_size < off + len)
		return -CCM_E_CHANGED;
	moff = off & ~(uint64_t)(pg - 1);
	mlen = len + (size_t)(off - moff);
	map = mmap(NULL, mlen, PROT_READ, MAP_SHARED, f->fd, (off_t)moff);
	if (map == MAP_FAILED)
		return -errno;
	madvise(map, mlen, MADV_SEQUENTIAL);
	g.lo = map;
	g.hi = map + mlen;
	if (sigsetjmp(g.jb, 1)) {
		bus_cur = NULL;
		munmap(map, mlen);
		return -CCM_E_CHANGED;
	}
	bus_cur = &g;
	err = fn(arg, map + (off - moff));
	bus_cur = NULL;
	munmap(map, mlen);
	return err;
}
