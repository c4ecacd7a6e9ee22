/*
 * msg.c - find where a message ends, and parse one message into slices.
 *
 * One walker serves two modes:
 *   - unbounded (msg_find_end): from a `Message:` line, decide where the
 *     message ends, looking as far as the end of the file;
 *   - bounded (ccm_msg_parse): parse exactly [off, end) as decided before,
 *     recording headers, items and every recovery as a warning.
 * The bounded parse is the canonical one: the scanner and the renderer both
 * call it on the same range, so they can never disagree on the structure.
 *
 * Sizes are hints (CCQ-1..4).  A size is trusted when the bytes right after
 * the block, after 0..2 bytes of CR/LF slack, start a plausible next token;
 * binary payloads with such a size are skipped and never scanned (CCQ-3).
 * Otherwise a block ends at the next line that starts a token, validated so
 * that text rarely passes for structure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lex.h"
#include "parse_internal.h"

struct walk {
	const char *d;
	size_t lim;	/* range end: message end (bounded) or file size */
	size_t tail;	/* start of the file's trailing padding */
	int bounded;
	struct ccm_msg *m;	/* output, bounded mode only */
	int sized;	/* the export writes size lines (/ITEMSIZE) */
	size_t ftail;	/* the file's own padding start, for RUN_ON at lim */
	int past_eof;	/* message (and contents) size point past the file */
	uint64_t base;	/* file offset of d[0]: reported offsets add it */
};

static int plausible(const struct walk *w, size_t q)
{
	struct ccm_slice a, b;
	const char *d = w->d;

	if (q >= w->lim || q >= w->tail)
		return q <= w->lim;
	return lex_message_line(d, q, w->lim) ||
	       lex_item_line(d, q, w->lim, &a, &b) ||
	       lex_marker_line(d, q, w->lim, &a);
}

static int is_eolc(char c)
{
	return c == '\r' || c == '\n';
}

/* CCQ-1: the block may be followed by CR LF, LF, CR, nothing, or 2 bytes. */
static int landing(const struct walk *w, size_t q, size_t *after)
{
	size_t k;

	if (q > w->lim)
		return 0;
	if (plausible(w, q)) {
		*after = q;
		return 1;
	}
	k = lex_eol_len(w->d, q, w->lim);
	if (k && plausible(w, q + k)) {
		*after = q + k;
		return 1;
	}
	if (k == 1 && q + 1 < w->lim && is_eolc(w->d[q + 1]) &&
	    plausible(w, q + 2)) {
		*after = q + 2;
		return 1;
	}
	return 0;
}

static size_t eol_before(const char *d, size_t r, size_t floor)
{
	if (r > floor && d[r - 1] == '\n')
		return r - 1 > floor && d[r - 2] == '\r' ? 2 : 1;
	if (r > floor && d[r - 1] == '\r')
		return 1;
	return 0;
}

/* A token that ends a block found by scanning. */
static int scan_token_at(const struct walk *w, size_t p)
{
	struct ccm_slice a, b;

	if (p >= w->lim || p >= w->tail)
		return 1;
	return lex_item_line(w->d, p, w->lim, &a, &b) ||
	       lex_message_validated(w->d, p, w->lim) ||
	       lex_marker_validated(w->d, p, w->lim);
}

/*
 * CCQ-1 run-on: "...last line of textMessage:" with the token glued to the
 * end of a line.  Returns the token position or 0.
 */
static size_t run_on_message(const struct walk *w, size_t ls, size_t le)
{
	static const char tok[] = "message:";
	size_t e = le, i;

	while (e > ls && (w->d[e - 1] == ' ' || w->d[e - 1] == '\t'))
		e--;
	if (e - ls <= 8)
		return 0;
	for (i = 0; i < 8; i++) {
		int c = (unsigned char)w->d[e - 8 + i];

		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != tok[i])
			return 0;
	}
	return lex_message_validated(w->d, e - 8, w->lim) ? e - 8 : 0;
}

/*
 * Scan from ps (a line start) for the next token; *pe gets the payload end
 * (the line end before the token belongs to the separator).
 */
static size_t scan_block(const struct walk *w, size_t ps, size_t *pe,
			 int skip_first)
{
	size_t p = ps, e, r;

	/* skip_first: ps is known not to start a block end, or is the
	 * very token that made us scan; either way, always make progress. */
	while (p < w->lim && p < w->tail) {
		if (!(skip_first && p == ps) && scan_token_at(w, p)) {
			*pe = p - eol_before(w->d, p, ps);
			return p;
		}
		e = lex_eol(w->d, p, w->lim);
		r = run_on_message(w, p, e);
		if (r) {
			*pe = r;
			return r;
		}
		p = e + lex_eol_len(w->d, e, w->lim);
	}
	if (p > w->lim)
		p = w->lim;
	if (p > w->tail && w->tail >= ps)
		p = w->tail;
	*pe = p - eol_before(w->d, p, ps);
	return p;
}

/* CCQ-1: a size a few bytes off; look for a line-start token near q. */
static int size_window(const struct walk *w, size_t ps, size_t q, size_t *r)
{
	size_t delta, cand;
	int side;

	for (delta = 1; delta <= 8; delta++) {
		for (side = 0; side < 2; side++) {
			if (side == 0) {
				if (q < ps + delta)
					continue;
				cand = q - delta;
			} else {
				cand = q + delta;
			}
			if (cand > w->lim || cand <= ps)
				continue;
			if (!lex_at_line_start(w->d, cand))
				continue;
			if (cand == w->lim || plausible(w, cand)) {
				*r = cand;
				return 1;
			}
		}
	}
	return 0;
}

static void warn(const struct walk *w, enum ccm_warning_code c, int64_t a,
		 int64_t b)
{
	if (w->bounded)
		ccm_warn(&w->m->warn, c, a, b);
}

static int add_header(const struct walk *w, struct ccm_slice name,
		      struct ccm_slice value, size_t off)
{
	struct ccm_msg *m = w->m;

	if (!w->bounded)
		return 0;
	if (ccm_grow((void **)&m->hdr, &m->hdrcap, m->nhdr, sizeof(*m->hdr)))
		return -ENOMEM;
	m->hdr[m->nhdr].name = name;
	m->hdr[m->nhdr].value = value;
	m->hdr[m->nhdr].off = w->base + off;
	m->nhdr++;
	return 0;
}

static enum ccm_item_kind item_kind(struct ccm_slice word)
{
	static const struct {
		const char *w;
		enum ccm_item_kind k;
	} kinds[] = {
		{ "text", CCM_ITEM_TEXT },	   { "file", CCM_ITEM_FILE },
		{ "fax", CCM_ITEM_FAX },	   { "graphics", CCM_ITEM_GRAPHICS },
		{ "sound", CCM_ITEM_SOUND },	   { "message", CCM_ITEM_MESSAGE },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (word.len == strlen(kinds[i].w) &&
		    strncasecmp(word.p, kinds[i].w, word.len) == 0)
			return kinds[i].k;
	return CCM_ITEM_OTHER;
}

static int add_item(const struct walk *w, enum ccm_item_kind kind,
		    struct ccm_slice word, struct ccm_slice title, size_t ps,
		    size_t pe, size_t off)
{
	struct ccm_msg *m = w->m;
	struct ccm_item *it;

	if (!w->bounded)
		return 0;
	if (ccm_grow((void **)&m->items, &m->itemcap, m->nitems, sizeof(*m->items)))
		return -ENOMEM;
	it = &m->items[m->nitems++];
	it->kind = kind;
	it->word = word;
	it->title = title;
	it->payload.p = w->d + ps;
	it->payload.len = pe > ps ? pe - ps : 0;
	it->off = w->base + off;
	return 0;
}

/* Check a message/contents size against the decided end (bounded mode). */
static void check_size(const struct walk *w, const struct lex_size *sz,
		       size_t from, enum ccm_warning_code blank,
		       enum ccm_warning_code bad)
{
	size_t after;

	if (!w->bounded || sz->state == SZ_NONE)
		return;
	if (sz->state == SZ_BLANK) {
		warn(w, blank, 0, 0);
		return;
	}
	if (sz->state == SZ_VALID && sz->value <= w->lim - from &&
	    landing(w, from + sz->value, &after) && after == w->lim)
		return;
	warn(w, bad, sz->state == SZ_VALID ? (int64_t)sz->value : -1, 0);
}

/* Parse the item list starting at p.  Returns the end (unbounded mode). */
static int walk_items(struct walk *w, size_t p, size_t *endp)
{
	const char *d = w->d;
	size_t last_end = p, idx = 0;
	int err;

	while (p < w->lim && p < w->tail) {
		struct ccm_slice word, title;
		struct lex_size sz = { SZ_NONE, 0, 0 };
		size_t ps, pe, next, after, r, q;

		if (lex_item_line(d, p, w->lim, &word, &title)) {
			idx++;
			ps = lex_next_line(d, p, w->lim);
			if (ps < w->lim && lex_size_line(d, ps, w->lim, &sz)) {
				/* Without /ITEMSIZE a digits line is text,
				 * unless it lands exactly on a token. */
				if (w->sized ||
				    (sz.state == SZ_VALID &&
				     sz.value <= w->lim - sz.next &&
				     landing(w, sz.next + sz.value, &after)))
					ps = sz.next;
				else
					sz.state = SZ_NONE;
			}
			q = ps + (sz.state == SZ_VALID ? sz.value : 0);
			if (sz.state == SZ_VALID && sz.value <= w->lim - ps &&
			    landing(w, q, &after)) {
				pe = q;
				next = after;
				if (after == q && q < w->ftail &&
				    !lex_at_line_start(d, q))
					warn(w, CCM_W_RUN_ON,
					     (int64_t)(w->base + q), 0);
			} else if (sz.state == SZ_VALID &&
				   sz.value <= w->lim - ps &&
				   size_window(w, ps, q, &r)) {
				next = r;
				pe = r - eol_before(d, r, ps);
				warn(w, CCM_W_ITEM_SIZE_OFF, (int64_t)idx,
				     (int64_t)(pe - ps) - (int64_t)sz.value);
			} else if (sz.state == SZ_VALID && w->past_eof &&
				   sz.value > w->ftail - ps) {
				/*
				 * Every size of the message points past the
				 * end of the file: the export was cut short.
				 * Scanning the cut payload for tokens would
				 * split a binary into fake messages (CCQ-3).
				 */
				pe = next = w->bounded ? w->lim : w->tail;
				warn(w, CCM_W_TRUNCATED, 0, 0);
			} else {
				next = scan_block(w, ps, &pe, 0);
				if (sz.state == SZ_BLANK)
					warn(w, CCM_W_ITEM_SIZE_BLANK,
					     (int64_t)idx, 0);
				else if (sz.state == SZ_VALID &&
					 sz.value > w->lim - ps)
					warn(w, CCM_W_TRUNCATED, 0, 0);
				else if (sz.state != SZ_NONE)
					warn(w, CCM_W_ITEM_SIZE_BAD,
					     (int64_t)idx,
					     sz.state == SZ_VALID ?
						     (int64_t)sz.value : -1);
			}
			err = add_item(w, item_kind(word), word, title, ps, pe,
				       p);
			if (err)
				return err;
			p = last_end = next;
			continue;
		}
		if (lex_blank_line(d, p, w->lim)) {
			p = lex_next_line(d, p, w->lim);
			continue;
		}
		if (!w->bounded &&
		    (lex_message_line(d, p, w->lim) ||
		     lex_marker_validated(d, p, w->lim)))
			break;
		/* Not an item: keep it as text up to the next token. */
		next = scan_block(w, p, &pe, 1);
		warn(w, CCM_W_TRAILING, (int64_t)(w->base + p), 0);
		word.p = d + p;
		word.len = 0;
		title = word;
		err = add_item(w, CCM_ITEM_TEXT, word, title, p, pe, p);
		if (err)
			return err;
		p = last_end = next;
	}
	/* Blank lines before the next message are padding, not message. */
	*endp = w->bounded ? w->lim : last_end;
	if (!w->bounded && p >= w->tail && last_end < w->tail)
		*endp = last_end;
	return 0;
}

/*
 * CCQ-5: no Contents: line.  The lines after the first line that is not a
 * header become the body; header lines among them are body text too.
 */
static int body_from_strays(struct walk *w, size_t first_stray)
{
	struct ccm_msg *m = w->m;
	struct ccm_slice word = { w->d + first_stray, 0 };
	size_t i, n = 0;

	for (i = 0; i < m->nhdr; i++)
		if (m->hdr[i].off < w->base + first_stray)
			m->hdr[n++] = m->hdr[i];
	m->nhdr = n;
	/* The STRAY_LINE warnings no longer apply: those lines are body. */
	for (i = n = 0; i < m->warn.n; i++)
		if (m->warn.w[i].code != CCM_W_STRAY_LINE)
			m->warn.w[n++] = m->warn.w[i];
	m->warn.n = n;
	return add_item(w, CCM_ITEM_TEXT, word, word, first_stray, w->lim,
			first_stray);
}

static int walk_message(struct walk *w, size_t s, size_t *endp)
{
	const char *d = w->d;
	struct lex_size msz = { SZ_NONE, 0, 0 }, csz = { SZ_NONE, 0, 0 };
	size_t p, h1, after, last_hdr_end, first_stray = (size_t)-1;
	int has_contents = 0, err;

	p = lex_next_line(d, s, w->lim);
	if (p < w->lim && lex_size_line(d, p, w->lim, &msz)) {
		p = msz.next;
		w->sized = 1;
	}
	h1 = p;
	/* A message size that lands on a token bounds the message (CCQ-3). */
	if (!w->bounded && msz.state == SZ_VALID && msz.value <= w->lim - h1 &&
	    landing(w, h1 + msz.value, &after)) {
		*endp = after;
		return 0;
	}
	last_hdr_end = p;
	while (p < w->lim && p < w->tail) {
		struct ccm_slice name, value, a;

		if (lex_contents_line(d, p, w->lim)) {
			has_contents = 1;
			p = lex_next_line(d, p, w->lim);
			break;
		}
		if (lex_item_line(d, p, w->lim, &name, &value))
			break;
		if (!w->bounded &&
		    (lex_message_line(d, p, w->lim) ||
		     lex_marker_validated(d, p, w->lim)))
			break;
		if (lex_blank_line(d, p, w->lim)) {
			p = lex_next_line(d, p, w->lim);
			continue;
		}
		if (lex_header_line(d, p, w->lim, &name, &value)) {
			err = add_header(w, name, value, p);
		} else {
			size_t e = lex_eol(d, p, w->lim);

			if (first_stray == (size_t)-1)
				first_stray = p;
			a.p = d + p;
			a.len = 0;
			value.p = d + p;
			value.len = e - p;
			warn(w, CCM_W_STRAY_LINE, (int64_t)(w->base + p), 0);
			err = add_header(w, a, value, p);
		}
		if (err)
			return err;
		p = lex_next_line(d, p, w->lim);
		last_hdr_end = p;
	}
	if (w->bounded) {
		w->m->has_contents = has_contents;
		check_size(w, &msz, h1, CCM_W_MSG_SIZE_BLANK, CCM_W_MSG_SIZE_BAD);
	}
	w->past_eof = msz.state == SZ_VALID && msz.value > w->ftail - h1;
	if (has_contents && p < w->lim &&
	    lex_size_line(d, p, w->lim, &csz)) {
		p = csz.next;
		if (csz.state == SZ_VALID && csz.value <= w->ftail - p)
			w->past_eof = 0;
		w->sized = 1;
		if (!w->bounded && csz.state == SZ_VALID &&
		    csz.value <= w->lim - p &&
		    landing(w, p + csz.value, &after)) {
			*endp = after;
			return 0;
		}
		if (w->bounded && csz.state == SZ_BLANK)
			warn(w, CCM_W_CONTENTS_SIZE_BLANK, 0, 0);
		else if (csz.state == SZ_VALID || csz.state == SZ_BAD)
			check_size(w, &csz, p, CCM_W_CONTENTS_SIZE_BLANK,
				   CCM_W_CONTENTS_SIZE_BAD);
	}
	if (!has_contents) {
		struct ccm_slice a, b;

		if (p >= w->lim || !lex_item_line(d, p, w->lim, &a, &b)) {
			/* CCQ-5: the message ends where the header ends. */
			if (w->bounded) {
				warn(w, CCM_W_NO_CONTENTS, 0, 0);
				if (first_stray != (size_t)-1)
					return body_from_strays(w, first_stray);
				*endp = w->lim;
				return 0;
			}
			*endp = last_hdr_end;
			return 0;
		}
		warn(w, CCM_W_NO_CONTENTS, 0, 0);
	}
	return walk_items(w, p, endp);
}

/* Every size in the message agreed with the structure. */
static int sizes_clean(const struct ccm_msg *m)
{
	size_t i;

	if (!m->has_contents)
		return 0;
	for (i = 0; i < m->warn.n; i++) {
		switch (m->warn.w[i].code) {
		case CCM_W_MSG_SIZE_BLANK:
		case CCM_W_MSG_SIZE_BAD:
		case CCM_W_CONTENTS_SIZE_BLANK:
		case CCM_W_CONTENTS_SIZE_BAD:
		case CCM_W_ITEM_SIZE_BLANK:
		case CCM_W_ITEM_SIZE_BAD:
		case CCM_W_ITEM_SIZE_OFF:
		case CCM_W_TRAILING:
		case CCM_W_TRUNCATED:
			return 0;
		default:
			break;
		}
	}
	return 1;
}

size_t msg_find_end(const char *d, size_t size, size_t tail, size_t s)
{
	struct walk w = { .d = d, .lim = size, .tail = tail, .ftail = tail };
	struct lex_size msz;
	struct ccm_msg trial;
	size_t end = size, h1, q;

	if (walk_message(&w, s, &end) || end <= s)
		end = lex_next_line(d, s, size);
	/*
	 * SPEC 1.1: when the message's sizes agree with each other and land
	 * at a line start, what follows up to the next token is not part of
	 * the message (it becomes an error entry) even though it is no token.
	 */
	h1 = lex_next_line(d, s, size);
	if (h1 < size && lex_size_line(d, h1, size, &msz) &&
	    msz.state == SZ_VALID && msz.value <= tail - msz.next &&
	    msz.next + msz.value != end && msz.value > 0) {
		q = msz.next + msz.value;
		if (q <= tail && lex_at_line_start(d, q)) {
			ccm_msg_init(&trial);
			if (msg_parse_range(d, 0, tail, s, q, &trial) == 0 &&
			    sizes_clean(&trial))
				end = q;
			ccm_msg_release(&trial);
		}
	}
	return end;
}

/*
 * What msg_parse_range would say of [off, end) through usable() in
 * scan.c, without parsing: walk_message's header loop.  A Contents: line
 * makes a message usable, and so does a named header, except that without
 * Contents: or an item line the lines from the first stray one on become
 * the body (body_from_strays) and the headers after it are dropped.
 */
int msg_usable(const char *d, size_t off, size_t end)
{
	struct lex_size sz;
	struct ccm_slice name, value;
	size_t p = lex_next_line(d, off, end);
	int stray = 0, after = 0;

	if (p < end && lex_size_line(d, p, end, &sz))
		p = sz.next;
	for (; p < end; p = lex_next_line(d, p, end)) {
		if (lex_contents_line(d, p, end))
			return 1;
		if (lex_item_line(d, p, end, &name, &value))
			return after;
		if (lex_blank_line(d, p, end))
			continue;
		if (lex_header_line(d, p, end, &name, &value)) {
			/* Named before any stray line: usable, whatever
			 * follows. */
			if (!stray && name.len)
				return 1;
			after |= name.len > 0;
		} else {
			stray = 1;
		}
	}
	return 0;
}

int msg_parse_range(const char *d, uint64_t base, size_t tail, size_t off,
		    size_t end, struct ccm_msg *m)
{
	struct walk w = { .d = d, .lim = end, .tail = end, .bounded = 1,
			  .m = m, .ftail = tail, .base = base };
	size_t e;

	/* Reuse the arrays: the scanner parses every message with one msg. */
	m->nhdr = 0;
	m->nitems = 0;
	m->warn.n = 0;
	m->has_contents = 0;
	m->off = base + off;
	m->len = end - off;
	return walk_message(&w, off, &e);
}

void ccm_msg_init(struct ccm_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void ccm_msg_release(struct ccm_msg *m)
{
	free(m->hdr);
	free(m->items);
	ccm_warnlist_release(&m->warn);
	ccm_msg_init(m);
}

int ccm_msg_parse(const struct ccm_file *f, uint64_t off, uint64_t len,
		  struct ccm_msg *m)
{
	if (off > f->size || len > f->size - off)
		return -CCM_E_LIMIT;
	/* The same tail the scanner used, so the parse is the scanner's. */
	return msg_parse_range(f->data, 0,
			       f->data ? lex_tail_padding(f->data,
							  (size_t)f->size) : 0,
			       (size_t)off, (size_t)(off + len), m);
}

const struct ccm_header *ccm_msg_header(const struct ccm_msg *m,
					const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < m->nhdr; i++)
		if (m->hdr[i].name.len == n &&
		    strncasecmp(m->hdr[i].name.p, name, n) == 0)
			return &m->hdr[i];
	return NULL;
}
