/*
 * summary.c - what the tree needs to name and date a message, cheaply.
 *
 * The FUSE tree calls this for every message at mount time, so it must not
 * render: it parses the Date: value and converts Subject: and Folder:,
 * nothing else.  The subject text is the same as the renderer's Subject:
 * header (both use ccm_subject_clean), so a file name and the mail it
 * names agree.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ccm.h"
#include "render_internal.h"

size_t ccm_subject_clean(const struct ccm_options *o, const char *p,
			 size_t n, struct ccm_buf *out, size_t *nbad)
{
	struct ccm_buf tmp;
	size_t i, start, end, nrep = 0;
	unsigned char *u;

	ccm_buf_init(&tmp);
	if (ccm_cp_to_utf8(o, p, n, &tmp, nbad) || tmp.len == 0) {
		out->oom |= tmp.oom;
		ccm_buf_release(&tmp);
		return 0;
	}
	u = (unsigned char *)tmp.p;
	for (i = 0; i < tmp.len; i++) {
		if (u[i] < 0x20 || u[i] == 0x7F) {
			u[i] = ' ';
			nrep++;
		} else if (u[i] == 0xC2 && i + 1 < tmp.len &&
			   u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
			/* C1 controls (from Latin-1 fallback) too. */
			u[i] = ' ';
			u[i + 1] = ' ';
			nrep++;
			i++;
		}
	}
	start = 0;
	end = tmp.len;
	while (start < end && u[start] == ' ')
		start++;
	while (end > start && u[end - 1] == ' ')
		end--;
	ccm_buf_put(out, tmp.p + start, end - start);
	ccm_buf_release(&tmp);
	return nrep;
}

void ccm_summary_init(struct ccm_summary *s)
{
	memset(s, 0, sizeof(*s));
	ccm_buf_init(&s->subject);
	ccm_buf_init(&s->folder);
}

void ccm_summary_release(struct ccm_summary *s)
{
	ccm_buf_release(&s->subject);
	ccm_buf_release(&s->folder);
	ccm_summary_init(s);
}

int ccm_msg_summarize(const struct ccm_options *o, const struct ccm_msg *m,
		      int64_t fallback_mtime, struct ccm_summary *s)
{
	const struct ccm_header *h;
	struct ccm_date d;

	ccm_buf_clear(&s->subject);
	ccm_buf_clear(&s->folder);
	s->mtime = fallback_mtime;
	s->date_ok = 0;
	h = ccm_msg_header(m, "Date");
	if (h && ccm_date_parse(o, h->value.p, h->value.len, &d) == 0) {
		s->mtime = d.epoch;
		s->date_ok = 1;
	}
	h = ccm_msg_header(m, "Subject");
	if (h)
		ccm_subject_clean(o, h->value.p, h->value.len, &s->subject,
				  NULL);
	h = ccm_msg_header(m, "Folder");
	if (h)
		ccm_cp_to_utf8(o, h->value.p, h->value.len, &s->folder, NULL);
	ccm_buf_cstr(&s->subject);
	ccm_buf_cstr(&s->folder);
	return s->subject.oom || s->folder.oom ? -ENOMEM : 0;
}
