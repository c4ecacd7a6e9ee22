/* parse_internal.h - shared between the parser's files (parser-internal). */
#ifndef CCM_PARSE_INTERNAL_H
#define CCM_PARSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ccm.h"

/* End of the message whose `Message:` line starts at s (unbounded walk). */
size_t msg_find_end(const char *d, size_t size, size_t tail, size_t s);
/* Whether msg_parse_range of [off, end) gives a usable message, cheaply. */
int msg_usable(const char *d, size_t off, size_t end);
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
/* Install the guard's SIGBUS handler (file.c); 1 on success. */
int ccm_file_guard_install(void);
/*
 * Call fn with p = bytes [off, ...) of f's mapping (f->guarded), under the
 * guard: a fault on the mapping makes it return -CCM_E_CHANGED.
 */
int ccm_file_guarded(const struct ccm_file *f, uint64_t off,
		     int (*fn)(void *arg, const char *p), void *arg);

/*
 * measure.c: count-only renders on a second thread during a scan.  apply
 * gets every queued entry back on the queuing thread, in queue order,
 * with the caller's tag: err is the render's, size its length, wl its
 * warnings (NULL m: an error entry, size 0).  measure_start leaves *out
 * NULL when there is no second CPU (or CCMAILFS_SCAN_THREADS=1): the
 * caller then measures inline.
 */
struct ccm_measure;
typedef int (*measure_apply_fn)(void *ctx, size_t entry, uint64_t tag,
				int is_msg, int err, uint64_t size,
				const struct ccm_warnlist *wl);
int measure_start(struct ccm_measure **out, const struct ccm_options *o,
		  measure_apply_fn apply, void *ctx);
/* Queue entry (m is copied, rc's account too); may apply finished ones. */
int measure_put(struct ccm_measure *p, size_t entry, uint64_t tag,
		const struct ccm_msg *m, const struct ccm_render_ctx *rc);
/* Apply everything queued. */
int measure_drain(struct ccm_measure *p);
/* Stop the worker and free; whatever was not applied is dropped. */
void measure_stop(struct ccm_measure *p);

#endif
