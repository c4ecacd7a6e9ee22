/*
 * render_internal.h - declarations shared by the parser's conversion and
 * rendering files (charset.c, date.c, addr.c, eml.c, summary.c, common.c).
 * Not part of the public API: fs/ includes ccm.h only.
 *
 * Conventions: text handed between these helpers is UTF-8 unless a name
 * says "raw" (code page bytes from the export).  Writers append to a
 * struct ccm_buf and honour its count_only mode; they never fail, the
 * buffer's sticky oom flag is checked once by the caller.
 */
#ifndef CCM_RENDER_INTERNAL_H
#define CCM_RENDER_INTERNAL_H

#include <iconv.h>

#include "ccm.h"

/* ------------------------------------------------------------ charset.c */

/* glibc iconv name of a supported code page, or NULL. */
const char *ccm_cp_iconv_name(int cp);

/*
 * Streaming code page converter.  Feed it any split of the input: a
 * double-byte character cut between two feeds is carried over.  Owned by
 * one caller (the iconv_t inside is not thread-safe).
 */
struct ccm_cpconv {
	int codepage;
	const void *tab;	/* single-byte table, or NULL */
	iconv_t cd;		/* double-byte converter, or (iconv_t)-1 */
	unsigned char carry;	/* a lead byte left over from the last feed */
	int ncarry;
	size_t nbad;		/* bytes read as Latin-1 so far (CCQ-27) */
};

int ccm_cpconv_open(struct ccm_cpconv *c, int codepage);
void ccm_cpconv_feed(struct ccm_cpconv *c, const char *p, size_t n,
		     int final, struct ccm_buf *out);
void ccm_cpconv_close(struct ccm_cpconv *c);

struct ccm_text_counts {
	size_t ncontrol;	/* bytes removed (CCQ-24) */
	size_t nbad;		/* bytes read as Latin-1 (CCQ-27) */
};

typedef void (*ccm_text_sink)(void *ctx, const char *p, size_t n);

/*
 * Process a raw text item: drop control bytes (CCQ-24), Ctrl-Z to a line
 * break (CCQ-25), every line end to "\n" (CCQ-26), code page to UTF-8.
 * The UTF-8 result is handed to sink in chunks of bounded size; a
 * non-empty result always ends in "\n".  Returns 0 or -ENOMEM.
 */
int ccm_text_stream(const struct ccm_options *o, const char *p, size_t n,
		    ccm_text_sink sink, void *ctx, struct ccm_text_counts *tc);

/* --------------------------------------------------------------- date.c */

int64_t ccm_days_from_civil(int64_t y, int m, int d);

/* ---------------------------------------------------------------- eml.c */

/* 64-bit FNV-1a, for Message-IDs and MIME boundaries. */
#define CCM_FNV_INIT 0xcbf29ce484222325ULL
uint64_t ccm_fnv1a(uint64_t h, const void *p, size_t n);

/*
 * Header line writer that folds at the places its caller allows.  col is
 * the length of the current output line; width the soft limit (78).
 */
struct ccm_fold {
	struct ccm_buf *out;
	const char *eol;
	size_t eollen;
	size_t col;
	size_t width;
};

void ccm_fold_init(struct ccm_fold *f, struct ccm_buf *out, const char *eol,
		   size_t width);
/* Token t; if sp, preceded by a space, or by a fold when it would not fit. */
void ccm_fold_word(struct ccm_fold *f, const char *t, size_t n, int sp);
/* UTF-8 text as RFC 2047 "=?utf-8?b?...?=" words of at most 75 chars. */
void ccm_fold_ew(struct ccm_fold *f, const char *u8, size_t n, int sp);
/*
 * An unstructured value: plain and folded at blanks when it is printable
 * ASCII without "=?" and fits, else encoded words.
 */
void ccm_fold_unstructured(struct ccm_fold *f, const char *u8, size_t n);
/* 1 when printable ASCII (and TAB if tab_ok) without "=?". */
int ccm_is_plain(const char *s, size_t n, int tab_ok);

/* --------------------------------------------------------------- addr.c */

enum {
	CCM_ADDR_NONAME = 1,	/* "at PO" without a user (CCQ-16) */
	CCM_ADDR_ODD = 2,	/* not understood, kept as a name (CCQ-19) */
	CCM_ADDR_EMPTY = 4,	/* nothing there: skip it */
};

/* One converted recipient. */
struct ccm_addr {
	struct ccm_buf name;	/* display name, UTF-8, may be empty */
	struct ccm_buf spec;	/* addr-spec, ASCII, always valid */
	struct ccm_slice po;	/* post office, borrowed from the input */
	int flags;		/* CCM_ADDR_* */
};

void ccm_addr_init(struct ccm_addr *a);
void ccm_addr_release(struct ccm_addr *a);
/*
 * Convert one cc:Mail recipient (UTF-8 text s) to a mailbox.  sender_po
 * (may be NULL) qualifies names without a post office (CCQ-17).  Returns
 * 0 or -ENOMEM; a->flags tells about recoveries.
 */
int ccm_addr_parse(const struct ccm_options *o, const char *sender_po,
		   size_t splen, const char *s, size_t n, struct ccm_addr *a);
/* Write a as RFC 5322 mailbox tokens (display name, then <spec>). */
void ccm_addr_emit(const struct ccm_addr *a, struct ccm_fold *f, int sp);
/*
 * Iterate the recipients of one header line: splits only at commas where
 * the part before ends in " at <PO>" and the rest holds " at " (CCQ-18).
 * ccm_addr_iter_next() returns 1 with *part set, 0 when done.  Linear in
 * the length of the line, whatever it holds.
 */
struct ccm_addr_iter {
	const char *s;
	size_t n, pos;
	long last_at;		/* last " at " in the line, or -1 */
};

void ccm_addr_iter_init(struct ccm_addr_iter *it, const char *s, size_t n);
int ccm_addr_iter_next(struct ccm_addr_iter *it, struct ccm_slice *part);
/*
 * Convenience for tests and tools: one recipient to a one-line mailbox
 * text appended to out; warnings to wl (may be NULL).  0 or -ENOMEM.
 */
int ccm_addr_mailbox(const struct ccm_options *o, const char *sender_po,
		     const char *s, size_t n, struct ccm_buf *out,
		     struct ccm_warnlist *wl);

/* ------------------------------------------------------------ summary.c */

/*
 * The Subject as shown: code page converted, control characters replaced
 * by spaces, trimmed.  Appends to out; returns how many characters were
 * replaced, and the Latin-1 count in *nbad.
 */
size_t ccm_subject_clean(const struct ccm_options *o, const char *p,
			 size_t n, struct ccm_buf *out, size_t *nbad);

#endif
