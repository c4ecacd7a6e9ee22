/*
 * date.c - cc:Mail date values to epoch seconds and RFC 5322 dates.
 *
 * cc:Mail writes local time without a zone, in an order that depends on
 * the EXPORT switch or the locale (CCQ-8, 9, 10, 11).  We accept
 * "M/D/YY H:MM[:SS] [AM|PM]" and its variants, validate every field and
 * convert with pure civil-calendar arithmetic: no TZ variable, no
 * mktime(), no locale, so the result is the same on every machine and in
 * every thread.
 *
 * Invariants: every number is read with a bounded digit count, so absurd
 * input cannot overflow; an invalid date gives d->ok == 0 and never a
 * partly filled epoch.
 */
#include <string.h>

#include "ccm.h"
#include "render_internal.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; any sign). */
int64_t ccm_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* A cursor over the value; never reads at or past end. */
struct cur {
	const char *p, *end;
};

static void skip_blanks(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/*
 * Read 1..maxd digits into *v and their count into *nd.  More digits than
 * maxd make the field invalid (returns -1): no overflow is possible.
 */
static int number(struct cur *c, int maxd, int *v, int *nd)
{
	int n = 0, x = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (n == maxd)
			return -1;
		x = x * 10 + (*c->p - '0');
		n++;
		c->p++;
	}
	if (n == 0)
		return -1;
	*v = x;
	*nd = n;
	return 0;
}

static int is_datesep(char ch)
{
	return ch == '/' || ch == '-' || ch == '.';
}

static int lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Parse the optional "H:MM[:SS] [AM|PM]" part; 0 or -1. */
static int parse_time(struct cur *c, struct ccm_date *d)
{
	int h, mi, s = 0, nd, ampm = 0;

	if (number(c, 2, &h, &nd) || c->p >= c->end || *c->p != ':')
		return -1;
	c->p++;
	if (number(c, 2, &mi, &nd))
		return -1;
	if (c->p < c->end && *c->p == ':') {
		c->p++;
		if (number(c, 2, &s, &nd))
			return -1;
	}
	skip_blanks(c);
	if (c->p < c->end && (lower(*c->p) == 'a' || lower(*c->p) == 'p')) {
		ampm = lower(*c->p) == 'a' ? 1 : 2;
		c->p++;
		if (c->p < c->end && lower(*c->p) == 'm')
			c->p++;
	}
	if (ampm) {
		/* 12 AM is midnight, 12 PM noon; "13:00 PM" is read as 13. */
		if (h > 12 && !(ampm == 2 && h < 24))
			return -1;
		if (h == 0 && ampm == 2)
			return -1;
		if (h <= 12)
			h = h % 12 + (ampm == 2 ? 12 : 0);
	}
	if (h > 23 || mi > 59 || s > 59)
		return -1;
	d->hour = h;
	d->min = mi;
	d->sec = s;
	return 0;
}

static int parse_date(const struct ccm_options *o, const char *p, size_t n,
		      struct ccm_date *d)
{
	struct cur c = { p, p + n };
	int f[3], nd[3], i, y, mo, dy, ynd;
	enum ccm_dateorder order = o ? o->dateorder : CCM_DATE_MDY;

	memset(d, 0, sizeof(*d));
	skip_blanks(&c);
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (c.p >= c.end || !is_datesep(*c.p))
				return -1;
			c.p++;
		}
		if (number(&c, 4, &f[i], &nd[i]))
			return -1;
	}
	/* A first field that is no month or day is a year (y/m/d dates). */
	if (nd[0] == 4 || f[0] > 31)
		order = CCM_DATE_YMD;
	if (order == CCM_DATE_YMD) {
		y = f[0], ynd = nd[0], mo = f[1], dy = f[2];
	} else {
		y = f[2], ynd = nd[2];
		mo = order == CCM_DATE_MDY ? f[0] : f[1];
		dy = order == CCM_DATE_MDY ? f[1] : f[0];
		/* CCQ-11: the other order is the only way to be valid. */
		if (mo > 12 && dy >= 1 && dy <= 12) {
			int t = mo;

			mo = dy;
			dy = t;
			d->swapped = 1;
		}
	}
	if (ynd <= 2)
		y += y < 70 ? 2000 : 1900;	/* CCQ-9 pivot */
	else if (ynd != 4)
		return -1;
	if (y < 1900 || mo < 1 || mo > 12 || dy < 1 ||
	    dy > days_in_month(y, mo))
		return -1;
	if (c.p < c.end && (*c.p == ' ' || *c.p == '\t')) {
		skip_blanks(&c);
		if (c.p < c.end && parse_time(&c, d))
			return -1;
		skip_blanks(&c);
	}
	if (c.p != c.end)
		return -1;
	d->year = y;
	d->mon = mo;
	d->day = dy;
	d->y1900 = y == 1900;
	d->epoch = ccm_days_from_civil(y, mo, dy) * 86400 + d->hour * 3600 +
		   d->min * 60 + d->sec;
	if (o && o->tz_set)
		d->epoch -= (int64_t)o->tz_minutes * 60;
	d->ok = 1;
	return 0;
}

int ccm_date_parse(const struct ccm_options *o, const char *p, size_t n,
		   struct ccm_date *d)
{
	if (parse_date(o, p, n, d) == 0)
		return 0;
	memset(d, 0, sizeof(*d));	/* never a half-filled date */
	return -CCM_E_FORMAT;
}

static void two_digits(char *s, int v)
{
	s[0] = (char)('0' + v / 10);
	s[1] = (char)('0' + v % 10);
}

void ccm_date_format(const struct ccm_options *o, int64_t epoch,
		     struct ccm_buf *out)
{
	static const char wday[7][4] = { "Thu", "Fri", "Sat", "Sun",
					 "Mon", "Tue", "Wed" };
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr",
					 "May", "Jun", "Jul", "Aug",
					 "Sep", "Oct", "Nov", "Dec" };
	int tz = o && o->tz_set ? o->tz_minutes : 0;
	int64_t local = epoch + (int64_t)tz * 60, days, secs, y;
	int m, d, w, atz = tz < 0 ? -tz : tz;
	char zone[8];

	days = local / 86400;
	secs = local % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	w = (int)(days % 7);
	if (w < 0)
		w += 7;
	if (o && o->tz_set)
		snprintf(zone, sizeof(zone), "%c%02d%02d", tz < 0 ? '-' : '+',
			 atz / 60 % 100, atz % 60);
	else
		strcpy(zone, "-0000");
	if (y < 0 || y > 9999) {
		ccm_buf_printf(out, "%s, %02d %s %04lld %02d:%02d:%02d %s",
			       wday[w], d, mon[m - 1], (long long)y,
			       (int)(secs / 3600), (int)(secs / 60 % 60),
			       (int)(secs % 60), zone);
		return;
	}
	/* Every message has a date: by hand, the format above costs a
	 * tenth of what printf does. */
	{
		char s[32];
		int hh = (int)(secs / 3600), mm = (int)(secs / 60 % 60),
		    ss = (int)(secs % 60), yy = (int)y;

		memcpy(s, wday[w], 3);
		s[3] = ',';
		s[4] = ' ';
		two_digits(s + 5, d);
		s[7] = ' ';
		memcpy(s + 8, mon[m - 1], 3);
		s[11] = ' ';
		two_digits(s + 12, yy / 100);
		two_digits(s + 14, yy % 100);
		s[16] = ' ';
		two_digits(s + 17, hh);
		s[19] = ':';
		two_digits(s + 20, mm);
		s[22] = ':';
		two_digits(s + 23, ss);
		s[25] = ' ';
		ccm_buf_put(out, s, 26);
		ccm_buf_puts(out, zone);
	}
}
