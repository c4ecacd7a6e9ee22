/*
 * addr.c - cc:Mail recipients to RFC 5322 mailboxes (SPEC section 3).
 *
 * cc:Mail names a user "Last, First at PO", and gateways add forms such as
 * "user@dom at INTERNET" or "[SMTP:user@dom]" (CCQ-16..19, 21).  We turn
 * each into a display name plus an addr-spec: an embedded SMTP address is
 * used as is when it is a valid dot-atom@dot-atom, otherwise one is made
 * up under <po>.ccmail.invalid (or the domain the user mapped the post
 * office to).
 *
 * Invariants:
 * - The addr-spec we produce is always a valid ASCII dot-atom@dot-atom,
 *   whatever the input: nothing here can make an address header that a
 *   strict parser rejects.
 * - Never split on a bare comma: "Last, First at PO" is one address
 *   (CCQ-18, SPEC 1.1).
 * - Input is UTF-8 (already converted from the code page).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ccm.h"
#include "render_internal.h"

#define LOCAL_MAX 64
#define LABEL_MAX 63
#define SPEC_MAX 254
#define QUOTED_MAX 60

/* ASCII spellings of U+00C0..U+017F for local parts and domain labels. */
static const char *const latin_fold[192] = {
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i",
	"i", "i", "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u",
	"u", "y", "th", "ss", "a", "a", "a", "a", "a", "a", "ae", "c", "e",
	"e", "e", "e", "i", "i", "i", "i", "d", "n", "o", "o", "o", "o", "o",
	"", "o", "u", "u", "u", "u", "y", "th", "y", "a", "a", "a", "a", "a",
	"a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d", "d", "d", "e",
	"e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g", "g",
	"g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i",
	"i", "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l",
	"l", "l", "l", "l", "l", "l", "l", "n", "n", "n", "n", "n", "n", "n",
	"n", "n", "o", "o", "o", "o", "o", "o", "oe", "oe", "r", "r", "r",
	"r", "r", "r", "s", "s", "s", "s", "s", "s", "s", "s", "t", "t", "t",
	"t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u", "u",
	"u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct ccm_slice trim(const char *p, size_t n)
{
	struct ccm_slice s;

	while (n && is_blank(*p)) {
		p++;
		n--;
	}
	while (n && is_blank(p[n - 1]))
		n--;
	s.p = p;
	s.len = n;
	return s;
}

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/*
 * Position of the last blank-"at"-blank in s (index of the 'a'), or -1.
 * With at_start, a leading "at " counts too (CCQ-16).
 */
static long find_at(const char *s, size_t n, int at_start)
{
	size_t i;

	for (i = n; i-- > 0;) {
		if (i + 2 >= n || lc(s[i]) != 'a' || lc(s[i + 1]) != 't' ||
		    !is_blank(s[i + 2]))
			continue;
		if (i > 0 ? is_blank(s[i - 1]) : at_start)
			return (long)i;
	}
	return -1;
}

/* Decode one UTF-8 sequence at s[*i]; invalid bytes give U+FFFD. */
static unsigned utf8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	size_t left = n - *i, len, k;
	unsigned cp;

	if (p[0] < 0x80) {
		(*i)++;
		return p[0];
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		len = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		len = 4, cp = p[0] & 0x07;
	else
		goto bad;
	if (len > left)
		goto bad;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xC0) != 0x80)
			goto bad;
		cp = cp << 6 | (p[k] & 0x3F);
	}
	*i += len;
	return cp;
bad:
	(*i)++;
	return 0xFFFD;
}

/*
 * ASCII-fold s into out: [a-z0-9] kept (lower-cased), keep_chars kept,
 * Latin letters spelled in ASCII, other ASCII becomes sep, other non-ASCII
 * is dropped.  Runs of sep collapse; no sep at either end.
 */
static void fold_ascii(const char *s, size_t n, const char *keep_chars,
		       char sep, size_t max, struct ccm_buf *out)
{
	size_t i = 0, start = out->len;
	int pending = 0;

	while (i < n) {
		unsigned char c0 = (unsigned char)s[i];
		unsigned cp;
		const char *rep = NULL;
		char one[2] = { 0, 0 };

		/* ASCII, nearly every byte of a name: no decoding, no
		 * string of one. */
		if (c0 < 0x80) {
			i++;
			if (c0 >= 'A' && c0 <= 'Z')
				c0 += 32;
			else if (!((c0 >= 'a' && c0 <= 'z') ||
				   (c0 >= '0' && c0 <= '9') ||
				   (c0 && strchr(keep_chars, c0)))) {
				pending = 1;
				continue;
			}
			if (pending && out->len > start)
				ccm_buf_putc(out, sep);
			pending = 0;
			ccm_buf_putc(out, (char)c0);
			if (out->len - start >= max)
				break;
			continue;
		}
		cp = utf8_next(s, n, &i);

		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ||
		    (cp < 0x80 && cp && strchr(keep_chars, (int)cp))) {
			one[0] = (char)cp;
			rep = one;
		} else if (cp >= 'A' && cp <= 'Z') {
			one[0] = (char)(cp + 32);
			rep = one;
		} else if (cp >= 0xC0 && cp < 0x180) {
			rep = latin_fold[cp - 0xC0];
			if (!*rep)
				rep = NULL, pending = 1;	/* x and / */
		} else if (cp < 0x80) {
			pending = 1;
		}
		if (!rep)
			continue;
		if (pending && out->len > start)
			ccm_buf_putc(out, sep);
		pending = 0;
		ccm_buf_puts(out, rep);
		if (out->len - start >= max)
			break;
	}
	if (out->len - start > max)
		out->len = start + max;
	while (out->len > start && !out->count_only &&
	       out->p[out->len - 1] == sep)
		out->len--;
}

/*
 * Local part from a name, after prefix: "Last, First" gives first.last
 * (SPEC 3).  At most LOCAL_MAX bytes, never empty, dots tidied.
 */
static void local_from_name(const char *prefix, const char *s, size_t n,
			    struct ccm_buf *out)
{
	const char *comma = memchr(s, ',', n);
	size_t start = out->len, i, k;

	ccm_buf_puts(out, prefix);
	if (comma) {
		struct ccm_slice first = trim(comma + 1,
					      n - (size_t)(comma - s) - 1);

		fold_ascii(first.p, first.len, "._-", '.', LOCAL_MAX, out);
		ccm_buf_putc(out, '.');
		n = (size_t)(comma - s);
	}
	fold_ascii(s, n, "._-", '.', LOCAL_MAX, out);
	if (out->count_only || out->oom)
		return;
	/* '.', '_' and '-' may come from the name itself: tidy the dots. */
	for (i = start, k = start; i < out->len && k - start < LOCAL_MAX;
	     i++) {
		if (out->p[i] == '.' && (k == start || out->p[k - 1] == '.'))
			continue;
		out->p[k++] = out->p[i];
	}
	while (k > start && out->p[k - 1] == '.')
		k--;
	out->len = k;
	if (k == start)
		ccm_buf_puts(out, "unknown");
}

static int is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i - 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* dot-atom "@" dot-atom, ASCII, of sane length. */
static int valid_spec(struct ccm_slice s)
{
	const char *at;

	if (s.len > SPEC_MAX)
		return 0;
	at = memchr(s.p, '@', s.len);
	if (!at || (size_t)(at - s.p) > LOCAL_MAX)
		return 0;
	return dot_atom(s.p, (size_t)(at - s.p)) &&
	       dot_atom(at + 1, s.len - (size_t)(at - s.p) - 1);
}

/* Domain for a post office: mapped, else <po>.ccmail.invalid (SPEC 3). */
static void domain_for_po(const struct ccm_options *o, struct ccm_slice po,
			  struct ccm_buf *out)
{
	size_t i, start;

	if (po.len == 0) {
		ccm_buf_puts(out, "ccmail.invalid");
		return;
	}
	for (i = 0; o && i < o->ndomains; i++) {
		const struct ccm_domain_map *d = &o->domains[i];

		if (strlen(d->po) == po.len &&
		    strncasecmp(d->po, po.p, po.len) == 0) {
			ccm_buf_puts(out, d->domain);
			return;
		}
	}
	start = out->len;
	fold_ascii(po.p, po.len, "", '-', LABEL_MAX, out);
	if (out->len == start)
		ccm_buf_puts(out, "unknown");
	ccm_buf_puts(out, ".ccmail.invalid");
}

void ccm_addr_init(struct ccm_addr *a)
{
	memset(a, 0, sizeof(*a));
	ccm_buf_init(&a->name);
	ccm_buf_init(&a->spec);
}

void ccm_addr_release(struct ccm_addr *a)
{
	ccm_buf_release(&a->name);
	ccm_buf_release(&a->spec);
}

/* Strip one pair of surrounding double quotes, undoing \-escapes. */
static void put_name(struct ccm_buf *out, struct ccm_slice s)
{
	size_t i;

	s = trim(s.p, s.len);
	if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"') {
		for (i = 1; i + 1 < s.len; i++) {
			if (s.p[i] == '\\' && i + 2 < s.len)
				i++;
			ccm_buf_putc(out, s.p[i]);
		}
		return;
	}
	ccm_buf_put(out, s.p, s.len);
}

/* "user@dom" or "user@dom at GATEWAY" as an addr-spec candidate. */
static int spec_candidate(struct ccm_slice c, struct ccm_slice *spec)
{
	long at;

	c = trim(c.p, c.len);
	at = find_at(c.p, c.len, 0);
	if (at >= 0)
		c = trim(c.p, (size_t)at);
	if (c.len >= 2 && c.p[0] == '"' && c.p[c.len - 1] == '"')
		c = trim(c.p + 1, c.len - 2);
	if (!valid_spec(c))
		return 0;
	*spec = c;
	return 1;
}

/*
 * Embedded SMTP address forms (CCQ-19): "[TYPE:addr]", "name <addr>",
 * "addr at GATEWAY" and a bare "addr".  Returns 1 and fills a when found.
 */
static int embedded(struct ccm_slice t, struct ccm_addr *a)
{
	const char *lb = memchr(t.p, '[', t.len), *rb, *colon, *lt, *gt;
	struct ccm_slice spec;
	size_t i;

	if (lb && (rb = memchr(lb, ']', t.len - (size_t)(lb - t.p))) &&
	    (colon = memchr(lb, ':', (size_t)(rb - lb)))) {
		struct ccm_slice in = { colon + 1, (size_t)(rb - colon - 1) };
		struct ccm_slice before = trim(t.p, (size_t)(lb - t.p));
		struct ccm_slice after = trim(rb + 1, t.len -
					      (size_t)(rb + 1 - t.p));

		if (spec_candidate(in, &spec)) {
			ccm_buf_put(&a->spec, spec.p, spec.len);
			put_name(&a->name, before);
			/* "... at site" after the bracket is routing. */
			if (after.len && !(after.len >= 3 &&
					   lc(after.p[0]) == 'a' &&
					   lc(after.p[1]) == 't' &&
					   is_blank(after.p[2]))) {
				if (a->name.len)
					ccm_buf_putc(&a->name, ' ');
				ccm_buf_put(&a->name, after.p, after.len);
			}
			return 1;
		}
	}
	lt = NULL;
	for (i = t.len; i-- > 0;)
		if (t.p[i] == '<') {
			lt = t.p + i;
			break;
		}
	if (lt && (gt = memchr(lt, '>', t.len - (size_t)(lt - t.p)))) {
		struct ccm_slice in = { lt + 1, (size_t)(gt - lt - 1) };

		if (spec_candidate(in, &spec)) {
			ccm_buf_put(&a->spec, spec.p, spec.len);
			put_name(&a->name, (struct ccm_slice){
					 t.p, (size_t)(lt - t.p) });
			return 1;
		}
	}
	if (memchr(t.p, '@', t.len) && spec_candidate(t, &spec)) {
		ccm_buf_put(&a->spec, spec.p, spec.len);
		return 1;
	}
	return 0;
}

/*
 * Display names never carry control characters (C0, DEL, C1): readers
 * refuse CR or LF in an address even when it is RFC 2047 encoded.
 */
static void blank_controls(struct ccm_buf *b)
{
	unsigned char *u = (unsigned char *)b->p;
	size_t i;

	if (b->count_only || !u)
		return;
	for (i = 0; i < b->len; i++) {
		if (u[i] < 0x20 || u[i] == 0x7F) {
			u[i] = ' ';
		} else if (u[i] == 0xC2 && i + 1 < b->len && u[i + 1] >= 0x80 &&
			   u[i + 1] <= 0x9F) {
			u[i] = ' ';
			u[i + 1] = ' ';
		}
	}
}

int ccm_addr_parse(const struct ccm_options *o, const char *sender_po,
		   size_t splen, const char *s, size_t n, struct ccm_addr *a)
{
	struct ccm_slice t = trim(s, n), name, po = { NULL, 0 };
	long at;

	ccm_buf_clear(&a->name);
	ccm_buf_clear(&a->spec);
	a->po.p = NULL;
	a->po.len = 0;
	a->flags = 0;
	/* CCQ-19: a leading comma is exporter noise. */
	while (t.len && (t.p[0] == ',' || is_blank(t.p[0])))
		t.p++, t.len--;
	if (t.len == 0) {
		a->flags = CCM_ADDR_EMPTY;
		return 0;
	}
	if (embedded(t, a))
		goto out;
	ccm_buf_clear(&a->name);
	ccm_buf_clear(&a->spec);
	at = find_at(t.p, t.len, 1);
	if (at >= 0) {
		name = trim(t.p, (size_t)at);
		po = trim(t.p + at + 2, t.len - (size_t)at - 2);
		a->po = po;
	} else {
		name = t;
		if (sender_po) {
			po.p = sender_po;
			po.len = splen;	/* CCQ-17: the sender's post office */
		}
	}
	if (name.len == 0) {
		/* CCQ-16: "at PO_NAME" has no user; keep it readable. */
		ccm_buf_put(&a->name, t.p, t.len);
		ccm_buf_puts(&a->spec, "undisclosed-recipient@");
		a->flags |= CCM_ADDR_NONAME;
	} else if (memchr(name.p, '@', name.len) ||
		   memchr(name.p, '<', name.len) ||
		   memchr(name.p, '>', name.len) ||
		   memchr(name.p, '[', name.len) ||
		   memchr(name.p, ']', name.len)) {
		/* Looks like an address but is not a valid one. */
		ccm_buf_put(&a->name, t.p, t.len);
		local_from_name("", name.p, name.len, &a->spec);
		ccm_buf_putc(&a->spec, '@');
		a->flags |= CCM_ADDR_ODD;
	} else if (name.p[0] == '#') {
		/* CCQ-21: bulletin board; keep the '#' in the name. */
		put_name(&a->name, name);
		local_from_name("bb.", name.p + 1, name.len - 1, &a->spec);
		ccm_buf_putc(&a->spec, '@');
	} else {
		put_name(&a->name, name);
		local_from_name("", name.p, name.len, &a->spec);
		ccm_buf_putc(&a->spec, '@');
	}
	domain_for_po(o, po, &a->spec);
out:
	blank_controls(&a->name);
	return a->name.oom || a->spec.oom ? -ENOMEM : 0;
}

void ccm_addr_emit(const struct ccm_addr *a, struct ccm_fold *f, int sp)
{
	/*
	 * Bounded: a quoted name is at most 60 bytes before escaping, and a
	 * spec at most LOCAL_MAX + 1 + 253 bytes (valid_spec, domain_for_po).
	 */
	char tok[2 * QUOTED_MAX + SPEC_MAX + 80];
	size_t k = 0, i;

	if (a->name.len == 0 || a->spec.len > SPEC_MAX + 80) {
		ccm_fold_word(f, a->spec.p, a->spec.len, sp);
		return;
	}
	if (a->name.len <= QUOTED_MAX &&
	    ccm_is_plain(a->name.p, a->name.len, 0)) {
		tok[k++] = '"';
		for (i = 0; i < a->name.len; i++) {
			if (a->name.p[i] == '"' || a->name.p[i] == '\\')
				tok[k++] = '\\';
			tok[k++] = a->name.p[i];
		}
		tok[k++] = '"';
		ccm_fold_word(f, tok, k, sp);
	} else {
		ccm_fold_ew(f, a->name.p, a->name.len, sp);
	}
	k = 0;
	tok[k++] = '<';
	memcpy(tok + k, a->spec.p, a->spec.len);
	k += a->spec.len;
	tok[k++] = '>';
	ccm_fold_word(f, tok, k, 1);
}

void ccm_addr_iter_init(struct ccm_addr_iter *it, const char *s, size_t n)
{
	it->s = s;
	it->n = n;
	it->pos = 0;
	/* Computed once, so that a long line costs linear time overall. */
	it->last_at = find_at(s, n, 1);
}

int ccm_addr_iter_next(struct ccm_addr_iter *it, struct ccm_slice *part)
{
	const char *s = it->s;
	size_t n = it->n, start = it->pos, i;
	int have_at = 0, po_seen = 0;

	if (start > n)
		return 0;
	for (i = start; i < n; i++) {
		char c = s[i];

		if (i + 2 < n && i > start && is_blank(s[i - 1]) &&
		    lc(c) == 'a' && lc(s[i + 1]) == 't' && is_blank(s[i + 2])) {
			have_at = 1;	/* a new " at ": the PO starts after */
			po_seen = 0;
			i += 2;
			continue;
		}
		if (c != ',') {
			if (!is_blank(c))
				po_seen = 1;
			continue;
		}
		/* Split only after "... at <PO>" and before "... at ...". */
		if (have_at && po_seen && it->last_at > (long)i) {
			part->p = s + start;
			part->len = i - start;
			it->pos = i + 1;
			return 1;
		}
		po_seen = 1;
	}
	part->p = s + start;
	part->len = n - start;
	it->pos = n + 1;
	return 1;
}

int ccm_addr_mailbox(const struct ccm_options *o, const char *sender_po,
		     const char *s, size_t n, struct ccm_buf *out,
		     struct ccm_warnlist *wl)
{
	struct ccm_addr a;
	struct ccm_fold f;
	int r;

	ccm_addr_init(&a);
	r = ccm_addr_parse(o, sender_po, sender_po ? strlen(sender_po) : 0,
			   s, n, &a);
	if (!r && !(a.flags & CCM_ADDR_EMPTY)) {
		ccm_fold_init(&f, out, "\n", SIZE_MAX);
		ccm_addr_emit(&a, &f, 0);
		if (wl && (a.flags & CCM_ADDR_NONAME))
			ccm_warn(wl, CCM_W_ADDR_NONAME, 0, 0);
		if (wl && (a.flags & CCM_ADDR_ODD))
			ccm_warn(wl, CCM_W_ADDR_ODD, 0, 0);
	}
	ccm_addr_release(&a);
	return r ? r : out->oom ? -ENOMEM : 0;
}
