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
 * abort file is not ours to write) or the fork failed.
 */
pid_t guard_start(const char *mountpoint);
/* Stop the guard before a clean exit; it aborts nothing. */
void guard_stop(pid_t pid);

#endif
