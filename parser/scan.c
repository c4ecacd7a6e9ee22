/*
 * scan.c - the one eager pass: partition a file into segments.
 *
 * At top level (where `Message:` is expected) a line is one of: blank or
 * Ctrl-Z padding, a `Message:` line (a message follows), an account marker
 * (SPEC 1.2, CCQ-35), EXPORT console noise (CCQ-35), or junk.  Junk runs up
 * to the next line that starts a message or a marker and becomes one error
 * entry.  Every byte ends up in exactly one segment (SPEC 1.3).
 */
#include <errno.h>
#include <string.h>

#include "lex.h"
#include "parse_internal.h"

struct scanner {
	const char *d;
	size_t size, tail;
	ccm_scan_fn fn;
	void *ctx;
	struct ccm_seg pad;	/* pending padding, merged across lines */
	struct ccm_msg msg;
	int cut_only;		/* ccm_scan_cut: no message is parsed */
};

const char *ccm_reason_text(int reason)
{
	static const char *const text[] = {
#define X(name, t) t,
		CCM_REASONS(X)
#undef X
	};

	if (reason < 0 || reason >= CCM_R_COUNT)
		return "unknown problem";
	return text[reason];
}

static int emit(struct scanner *s, const struct ccm_seg *seg,
		const struct ccm_msg *m)
{
	int err;

	if (seg->len == 0)
		return 0;
	if (seg->kind == CCM_SEG_PAD) {
		if (s->pad.len && s->pad.off + s->pad.len == seg->off) {
			s->pad.len += seg->len;
			return 0;
		}
		s->pad = *seg;
		return 0;
	}
	if (s->pad.len) {
		err = s->fn(s->ctx, &s->pad, NULL);
		s->pad.len = 0;
		if (err)
			return err;
	}
	return s->fn(s->ctx, seg, m);
}

static struct ccm_seg seg_of(enum ccm_seg_kind kind, size_t a, size_t b)
{
	struct ccm_seg g;

	memset(&g, 0, sizeof(g));
	g.kind = kind;
	g.off = a;
	g.len = b - a;
	return g;
}

/* Top-level tokens that end a junk region. */
static int junk_stop(const struct scanner *s, size_t p)
{
	struct ccm_slice name;

	return p >= s->tail || lex_message_line(s->d, p, s->size) ||
	       lex_marker_line(s->d, p, s->size, &name);
}

static int usable(const struct ccm_msg *m)
{
	size_t i;

	if (m->has_contents)
		return 1;
	for (i = 0; i < m->nhdr; i++)
		if (m->hdr[i].name.len)
			return 1;
	return 0;
}

static int scan_message(struct scanner *s, size_t p, size_t *next)
{
	size_t end = msg_find_end(s->d, s->size, s->tail, p);
	struct ccm_seg g;
	int err, ok;

	if (s->cut_only) {
		ok = msg_usable(s->d, p, end);
	} else {
		err = msg_parse_range(s->d, 0, s->tail, p, end, &s->msg);
		if (err)
			return err;
		ok = usable(&s->msg);
	}
	if (ok) {
		g = seg_of(CCM_SEG_MESSAGE, p, end);
		err = emit(s, &g, s->cut_only ? NULL : &s->msg);
	} else {
		g = seg_of(CCM_SEG_ERROR, p, end);
		g.reason = CCM_R_NO_HEADER;
		err = emit(s, &g, NULL);
	}
	*next = end;
	return err;
}

static int scan(const struct ccm_file *f, ccm_scan_fn fn, void *ctx,
		int cut_only)
{
	struct scanner s;
	struct ccm_slice name;
	struct ccm_seg g;
	size_t p = 0, q;
	int err = 0;

	memset(&s, 0, sizeof(s));
	s.d = f->data;
	s.size = (size_t)f->size;
	s.tail = s.size ? lex_tail_padding(s.d, s.size) : 0;
	s.fn = fn;
	s.ctx = ctx;
	s.cut_only = cut_only;
	ccm_msg_init(&s.msg);

	while (!err && p < s.tail) {
		const char *d = s.d;

		if (d[p] == 0x1a || lex_blank_line(d, p, s.size)) {
			q = d[p] == 0x1a ? p + 1 : lex_next_line(d, p, s.size);
			g = seg_of(CCM_SEG_PAD, p, q);
			err = emit(&s, &g, NULL);
			p = q;
		} else if (lex_message_line(d, p, s.size)) {
			err = scan_message(&s, p, &p);
		} else if (lex_marker_line(d, p, s.size, &name)) {
			q = lex_next_line(d, p, s.size);
			g = seg_of(CCM_SEG_MARKER, p, q);
			g.name = name;
			err = emit(&s, &g, NULL);
			p = q;
		} else if (lex_noise_line(d, p, s.size)) {
			q = lex_next_line(d, p, s.size);
			g = seg_of(CCM_SEG_NOISE, p, q);
			err = emit(&s, &g, NULL);
			p = q;
		} else {
			q = lex_next_line(d, p, s.size);
			while (q < s.size && !junk_stop(&s, q))
				q = lex_next_line(d, q, s.size);
			if (q > s.tail && p < s.tail)
				q = s.tail;
			g = seg_of(CCM_SEG_ERROR, p, q);
			g.reason = CCM_R_JUNK;
			err = emit(&s, &g, NULL);
			p = q;
		}
	}
	if (!err && p < s.size) {
		g = seg_of(CCM_SEG_PAD, p, s.size);
		err = emit(&s, &g, NULL);
	}
	if (!err && s.pad.len) {
		err = s.fn(s.ctx, &s.pad, NULL);
		s.pad.len = 0;
	}
	ccm_msg_release(&s.msg);
	return err;
}

int ccm_scan(const struct ccm_file *f, ccm_scan_fn fn, void *ctx)
{
	return scan(f, fn, ctx, 0);
}

int ccm_scan_cut(const struct ccm_file *f, ccm_scan_fn fn, void *ctx)
{
	return scan(f, fn, ctx, 1);
}
