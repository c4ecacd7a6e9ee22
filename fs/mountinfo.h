/*
 * mountinfo.h - what /proc/self/mountinfo says of a mount point
 * (fs/mountinfo.c).
 */
#ifndef CCMFS_MOUNTINFO_H
#define CCMFS_MOUNTINFO_H

/*
 * 1 if something whose filesystem type starts with type_prefix ("" for
 * any) is mounted at path (absolute, resolved), else 0.  *major and *minor
 * (either may be NULL) get its device number; with several mounts stacked
 * there, the last, the one made most recently.
 */
int mountinfo_find(const char *path, const char *type_prefix,
		   unsigned long *major, unsigned long *minor);

#endif
