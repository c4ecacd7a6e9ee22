/* parse_internal.h - shared between scan.c and msg.c (parser-internal). */
#ifndef CCM_PARSE_INTERNAL_H
#define CCM_PARSE_INTERNAL_H

#include <stddef.h>

#include "ccm.h"

/* End of the message whose `Message:` line starts at s (unbounded walk). */
size_t msg_find_end(const char *d, size_t size, size_t tail, size_t s);
/* Canonical bounded parse of [off, end). */
int msg_parse_range(const char *d, size_t tail, size_t off, size_t end,
		    struct ccm_msg *m);

#endif
