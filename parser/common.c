/*
 * common.c - error texts, mount options and the warning list.
 *
 * Options are parsed one "key=value" at a time so that the FUSE front end
 * can hand us every -o item and pass on the ones we return 1 for.
 *
 * Invariants:
 * - struct ccm_options owns its domain map and, when set through
 *   ccm_options_set(), its account string.  The struct has no field for
 *   "account was allocated by us", so the domain array always carries one
 *   hidden slot after the last real entry (domains[ndomains]) whose domain
 *   member holds our copy of the account name.  Release frees that copy
 *   and never the pointer in o->account, which a caller may have set to
 *   something of its own.
 * - Nothing here calls exit() or prints: errors come back as int, with a
 *   human-readable message in the caller's buffer.
 */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccm.h"
#include "render_internal.h"

static const char *const error_text[] = {
#define X(name, text) text,
	CCM_ERRORS(X)
#undef X
};

const char *ccm_strerror(int err)
{
	int e = err < 0 ? -err : err;

	if (e > CCM_E_BASE && e < CCM_E_LAST)
		return error_text[e - CCM_E_BASE - 1];
	if (e == 0)
		return "success";
	return strerror(e);
}

/* ------------------------------------------------------------- options */

void ccm_options_init(struct ccm_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codepage = 850;
	o->dateorder = CCM_DATE_MDY;
}

/* The hidden slot after the last domain (see the header comment). */
static struct ccm_domain_map *hidden_slot(struct ccm_options *o)
{
	return o->domains ? &o->domains[o->ndomains] : NULL;
}

/* Make sure the hidden slot exists; grow the array by extra entries. */
static int domains_reserve(struct ccm_options *o, size_t extra)
{
	struct ccm_domain_map *nd;
	struct ccm_domain_map hidden = { NULL, NULL };

	if (o->domains)
		hidden = o->domains[o->ndomains];
	if (o->ndomains > (SIZE_MAX / sizeof(*nd)) - extra - 2)
		return -ENOMEM;
	nd = realloc(o->domains, (o->ndomains + extra + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	o->domains = nd;
	o->domains[o->ndomains + extra] = hidden;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Does the code page name a converter this glibc can open? */
static int codepage_usable(int cp)
{
	const char *name = ccm_cp_iconv_name(cp);
	iconv_t cd;

	if (!name)
		return 0;
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

/* Bounded decimal parse of the whole string; -1 when not a small number. */
static long small_number(const char *s)
{
	long v = 0;
	size_t i;

	if (!*s)
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 6)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int valid_domain(const char *d)
{
	size_t i, n = strlen(d), label = 0;

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static int set_tz(struct ccm_options *o, const char *v, char *err,
		  size_t errlen)
{
	int sign, hh, mm, i;

	if (strlen(v) != 5 || (v[0] != '+' && v[0] != '-'))
		goto bad;
	for (i = 1; i < 5; i++)
		if (v[i] < '0' || v[i] > '9')
			goto bad;
	sign = v[0] == '-' ? -1 : 1;
	hh = (v[1] - '0') * 10 + (v[2] - '0');
	mm = (v[3] - '0') * 10 + (v[4] - '0');
	if (hh > 23 || mm > 59)
		goto bad;
	/* RFC 5322: -0000 means "local time, zone unknown", our default. */
	if (sign < 0 && hh == 0 && mm == 0) {
		o->tz_set = 0;
		o->tz_minutes = 0;
		return 0;
	}
	o->tz_set = 1;
	o->tz_minutes = sign * (hh * 60 + mm);
	return 0;
bad:
	set_err(err, errlen, "tz=%s: expected +HHMM or -HHMM", v);
	return -CCM_E_OPTION;
}

static int set_domain(struct ccm_options *o, const char *v, char *err,
		      size_t errlen)
{
	const char *eq = strchr(v, '=');
	struct ccm_domain_map *dm;
	char *po, *dom;

	if (!eq || eq == v) {
		set_err(err, errlen, "domain=%s: expected PO=DOMAIN", v);
		return -CCM_E_OPTION;
	}
	if (!valid_domain(eq + 1)) {
		set_err(err, errlen,
			"domain=%s: DOMAIN must be a host name such as "
			"example.com", v);
		return -CCM_E_OPTION;
	}
	po = strndup(v, (size_t)(eq - v));
	dom = strdup(eq + 1);
	if (!po || !dom || domains_reserve(o, 1)) {
		free(po);
		free(dom);
		return -ENOMEM;
	}
	dm = &o->domains[o->ndomains++];
	dm->po = po;
	dm->domain = dom;
	return 0;
}

static int set_account(struct ccm_options *o, const char *v, char *err,
		       size_t errlen)
{
	struct ccm_domain_map *h;
	char *copy;

	if (!*v) {
		set_err(err, errlen, "account=%s: the name is empty", v);
		return -CCM_E_OPTION;
	}
	copy = strdup(v);
	if (!copy || domains_reserve(o, 0)) {
		free(copy);
		return -ENOMEM;
	}
	h = hidden_slot(o);
	free(h->domain);
	h->domain = copy;
	o->account = copy;
	return 0;
}

int ccm_options_set(struct ccm_options *o, const char *kv, char *err,
		    size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	const char *v = eq ? eq + 1 : NULL;

	if (err && errlen)
		err[0] = '\0';
#define KEY(k) (klen == sizeof(k) - 1 && strncmp(kv, k, klen) == 0)
	if (KEY("codepage")) {
		long cp = v ? small_number(v) : -1;

		if (cp < 0 || !codepage_usable((int)cp)) {
			set_err(err, errlen,
				"codepage=%s: unsupported (use 437, 850, 852, "
				"858, 860, 863, 865, 866, 1250, 1252, 10000, "
				"932, 936, 949 or 950)", v ? v : "");
			return -CCM_E_OPTION;
		}
		o->codepage = (int)cp;
		return 0;
	}
	if (KEY("tz")) {
		if (!v) {
			set_err(err, errlen,
				"tz: expected tz=+HHMM or tz=-HHMM");
			return -CCM_E_OPTION;
		}
		return set_tz(o, v, err, errlen);
	}
	if (KEY("dateorder")) {
		if (v && strcasecmp(v, "mdy") == 0)
			o->dateorder = CCM_DATE_MDY;
		else if (v && strcasecmp(v, "dmy") == 0)
			o->dateorder = CCM_DATE_DMY;
		else if (v && strcasecmp(v, "ymd") == 0)
			o->dateorder = CCM_DATE_YMD;
		else {
			set_err(err, errlen,
				"dateorder=%s: expected mdy, dmy or ymd",
				v ? v : "");
			return -CCM_E_OPTION;
		}
		return 0;
	}
	if (KEY("account")) {
		if (!v) {
			set_err(err, errlen, "account: expected account=NAME");
			return -CCM_E_OPTION;
		}
		return set_account(o, v, err, errlen);
	}
	if (KEY("crlf")) {
		if (!v || strcmp(v, "1") == 0)
			o->crlf = 1;
		else if (strcmp(v, "0") == 0)
			o->crlf = 0;
		else {
			set_err(err, errlen, "crlf=%s: expected crlf, crlf=0 "
				"or crlf=1", v);
			return -CCM_E_OPTION;
		}
		return 0;
	}
	if (KEY("domain")) {
		if (!v) {
			set_err(err, errlen,
				"domain: expected domain=PO=DOMAIN");
			return -CCM_E_OPTION;
		}
		return set_domain(o, v, err, errlen);
	}
#undef KEY
	return 1;
}

void ccm_options_release(struct ccm_options *o)
{
	size_t i;

	if (o->domains) {
		for (i = 0; i < o->ndomains; i++) {
			free(o->domains[i].po);
			free(o->domains[i].domain);
		}
		free(o->domains[o->ndomains].po);
		free(o->domains[o->ndomains].domain);
		free(o->domains);
	}
	ccm_options_init(o);
}

/* ------------------------------------------------------------ warnings */

static const char *const warning_text[] = {
#define X(name, text) text,
	CCM_WARNINGS(X)
#undef X
};

void ccm_warn(struct ccm_warnlist *wl, enum ccm_warning_code code,
	      int64_t a, int64_t b)
{
	struct ccm_warning *nw;

	if (wl->n == wl->cap) {
		size_t cap = wl->cap ? wl->cap * 2 : 8;

		if (cap > SIZE_MAX / sizeof(*nw))
			return;
		nw = realloc(wl->w, cap * sizeof(*nw));
		if (!nw)
			return;	/* a lost warning is better than a crash */
		wl->w = nw;
		wl->cap = cap;
	}
	/* The index stores these structs as they are: no stray heap bytes
	 * in the padding after code. */
	memset(&wl->w[wl->n], 0, sizeof(wl->w[wl->n]));
	wl->w[wl->n].code = code;
	wl->w[wl->n].a = a;
	wl->w[wl->n].b = b;
	wl->n++;
}

void ccm_warnlist_release(struct ccm_warnlist *wl)
{
	free(wl->w);
	wl->w = NULL;
	wl->n = wl->cap = 0;
}

void ccm_warning_format(const struct ccm_warning *w, struct ccm_buf *out)
{
	const char *t, *run;

	if ((unsigned)w->code >= CCM_W_COUNT) {
		ccm_buf_printf(out, "unknown warning %d", (int)w->code);
		return;
	}
	t = warning_text[w->code];
	run = t;
	while (*t) {
		if (t[0] == '%' && (t[1] == 'a' || t[1] == 'b')) {
			ccm_buf_put(out, run, (size_t)(t - run));
			ccm_buf_printf(out, "%lld", (long long)(t[1] == 'a' ?
							       w->a : w->b));
			t += 2;
			run = t;
			continue;
		}
		t++;
	}
	ccm_buf_put(out, run, (size_t)(t - run));
}
