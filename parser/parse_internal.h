/* parse_internal.h - shared between scan.c and msg.c (parser-internal). */
#ifndef CCM_PARSE_INTERNAL_H
#define CCM_PARSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ccm.h"

/* End of the message whose `Message:` line starts at s (unbounded walk). */
size_t msg_find_end(const char *d, size_t size, size_t tail, size_t s);
/*
 * Canonical bounded parse of [off, end) of d, where d[0] is at file offset
 * base (a private copy of one message has base = its offset; the file's
 * own mapping has base 0) and tail is the file's padding start relative to
 * d.  Offsets in m (headers, items, warnings) are file offsets.
 */
int msg_parse_range(const char *d, uint64_t base, size_t tail, size_t off,
		    size_t end, struct ccm_msg *m);

/*
 * Call fn with p = bytes [off, off+len) of f, mapped from the file for the
 * duration of the call.  The source shrinking meanwhile makes it return
 * -CCM_E_CHANGED (see file.c), otherwise it returns what fn returned.
 */
int ccm_file_with_range(const struct ccm_file *f, uint64_t off, size_t len,
			int (*fn)(void *arg, const char *p), void *arg);

#endif
