/*
 * guard.c - abort the FUSE connection if the daemon dies.
 *
 * Normally a dying daemon closes /dev/fuse and the kernel aborts the
 * connection: pending READs fail, readers get ENOTCONN.  A thread that is
 * pushing into the page cache (fs/push.c) can be waiting, uninterruptibly,
 * on a page that a reader holds locked for its READ; after a kill -9 that
 * thread can never exit, so the device is never closed, the READ never
 * answered, and reader and daemon hang for good.
 *
 * The guard is a child process that does what the kernel would have done:
 * the kernel signals it (PR_SET_PDEATHSIG) when the thread that forked it,
 * the daemon's serving thread, exits, and it writes to the connection's
 * abort file in fusectl (/sys/fs/fuse/connections/N/abort).  That fails
 * the READ, the reader unlocks the page, the push returns and the daemon
 * dies.  The mount stays, disconnected, as after any crash.  On a clean
 * exit the daemon kills the guard first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"
#include "mountinfo.h"

/*
 * The fusectl name of the FUSE mount at path: the kernel's device number
 * of its superblock (major << 20 | minor).
 */
static int connection_of(const char *path, unsigned long *id)
{
	unsigned long ma, mi;

	if (!mountinfo_find(path, "fuse", &ma, &mi))
		return 0;
	*id = ma << 20 | mi;
	return 1;
}

static void close_from(int lo)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, ~0U, 0) == 0)
		return;
#endif
	for (; lo < 1024; lo++)
		close(lo);
}

/* The read end of the guard's ready pipe, until guard_ready has read it. */
static int ready_fd = -1;
static int ready_state;		/* 0 not known yet, 1 watching, -1 not */
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;

pid_t guard_start(const char *mountpoint)
{
	char path[64];
	unsigned long id;
	sigset_t set, old;
	pid_t parent = getpid(), pid;
	int fd, ready[2];

	if (!connection_of(mountpoint, &id))
		return -1;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%lu/abort", id);
	if (access(path, W_OK) != 0)
		return -1;
	/* Blocked before the fork, so that a death right after it is not
	 * missed: the signal waits for sigwaitinfo. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	if (pipe2(ready, O_CLOEXEC) != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	pid = fork();
	if (pid != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(ready[1]);
		if (pid < 0) {
			close(ready[0]);
			return -1;
		}
		/* Not waited for here: the guard starts while the daemon
		 * does (guard_ready). */
		ready_fd = ready[0];
		ready_state = 0;
		return pid;
	}
	/* The child holds nothing of the daemon's, the device above all:
	 * an open /dev/fuse would keep the connection alive; fd 3 becomes
	 * the ready pipe. */
	if (ready[1] != 3 && dup2(ready[1], 3) < 0)
		_exit(1);
	close_from(4);
	/* Opened now, while the number is this mount's: a write through it
	 * once the connection is gone does nothing, where the same path
	 * could by then name another mount. */
	fd = open(path, O_WRONLY);
	/* Signals meant for the daemon, or for its terminal's process
	 * group (^C, ^\, a hangup), must not take the guard with it. */
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	prctl(PR_SET_NAME, "ccmailfs-guard");
	if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0)
		_exit(1);	/* no byte on the pipe: no push */
	if (write(3, "1", 1) != 1)
		_exit(1);
	close(3);
	if (getppid() == parent) {
		siginfo_t si;

		/* The kernel sends the death signal as from the daemon; a
		 * SIGUSR1 from anyone else (pkill -USR1 ccmailfs) is not it. */
		for (;;) {
			if (sigwaitinfo(&set, &si) < 0)
				continue;
			if (si.si_pid == parent)
				break;
		}
	}
	if (write(fd, "1", 1) < 0) {
		/* Nothing left to tell: the connection is gone. */
	}
	_exit(0);
}

int guard_ready(pid_t pid)
{
	int ok;

	if (pid <= 0)
		return 0;
	pthread_mutex_lock(&ready_lock);
	if (ready_state == 0) {
		char c = 0;
		ssize_t n;

		/* One byte once the guard watches; nothing if it could not
		 * (it has exited and the pipe is closed). */
		do
			n = read(ready_fd, &c, 1);
		while (n < 0 && errno == EINTR);
		close(ready_fd);
		ready_fd = -1;
		ready_state = n == 1 ? 1 : -1;
	}
	ok = ready_state > 0;
	pthread_mutex_unlock(&ready_lock);
	return ok;
}

void guard_stop(pid_t pid)
{
	pthread_mutex_lock(&ready_lock);
	if (ready_fd >= 0) {
		/* Never asked (the mount never went live). */
		close(ready_fd);
		ready_fd = -1;
		ready_state = -1;
	}
	pthread_mutex_unlock(&ready_lock);
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}
