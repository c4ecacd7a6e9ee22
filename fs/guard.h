/*
 * guard.h - a process that aborts the FUSE connection if the daemon dies
 * (fs/guard.c).
 */
#ifndef CCMFS_GUARD_H
#define CCMFS_GUARD_H

#include <sys/types.h>

/*
 * Start the guard of the FUSE mount at mountpoint (an absolute path, as
 * in /proc/self/mountinfo).  Call from the thread that will serve the
 * mount, while the process has no other thread.  The guard's pid, or -1
 * when the connection cannot be aborted from here (no fusectl, or its
 * abort file is not ours to write) or the fork failed; whether the guard
 * then watches, guard_ready tells.
 */
pid_t guard_start(const char *mountpoint);
/*
 * 1 once the guard watches (waiting for it to say so, the first time),
 * 0 if it could not.  guard_start does not wait: the guard starts while
 * the daemon starts serving, and only what needs the guard asks.  Any
 * thread.
 */
int guard_ready(pid_t pid);
/* Stop the guard before a clean exit; it aborts nothing. */
void guard_stop(pid_t pid);

#endif
