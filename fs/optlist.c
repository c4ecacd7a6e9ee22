/*
 * optlist.c - split an option list (see optlist.h).
 */
#include <stdlib.h>
#include <string.h>

#include "optlist.h"

int optlist_each(const char *list,
		 int (*fn)(void *ctx, const char *kv, const char *raw),
		 void *ctx)
{
	char *raw = strdup(list), *kv = strdup(list), *p, *start;
	int rc = 0;

	if (!raw || !kv) {
		free(raw);
		free(kv);
		return -1;
	}
	for (p = start = raw;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == ',' || *p == '\0') {
			int end = *p == '\0';
			char *w = kv, *r;

			*p = '\0';
			for (r = start; *r; r++) {
				if (*r == '\\' && r[1])
					r++;
				*w++ = *r;
			}
			*w = '\0';
			if (*kv)
				rc = fn(ctx, kv, start);
			if (rc || end)
				break;
			start = p + 1;
		}
	}
	free(raw);
	free(kv);
	return rc;
}
