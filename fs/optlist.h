/* optlist.h - "-o a,b\\,c" option lists, shared by the mount and the
 * one-shot commands. */
#ifndef CCMFS_OPTLIST_H
#define CCMFS_OPTLIST_H

/*
 * Call fn for each option of list, split at unescaped commas.  kv is the
 * option with "\\," unescaped; raw is it as written (for passing on to
 * libfuse, which unescapes itself).  Returns the first non-zero fn result,
 * or -1 when out of memory.
 */
int optlist_each(const char *list,
		 int (*fn)(void *ctx, const char *kv, const char *raw),
		 void *ctx);

#endif
