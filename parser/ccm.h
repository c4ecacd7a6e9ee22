/*
 * ccm.h - the cc:Mail export parser and .eml renderer (libccm).
 *
 * This is the only header the rest of ccmailfs includes from parser/.  It
 * knows nothing of FUSE.  Ownership rule, stated once: every struct ccm_slice
 * handed out by this library borrows from the mapped export file and stays
 * valid until ccm_archive_free() (or ccm_file_close()) of that file.
 * Anything normalised (code page conversion, rendered .eml) goes into a
 * struct ccm_buf that the caller owns and frees with ccm_buf_release().
 *
 * Error currency: functions return int, 0 on success, -errno for system
 * failures, or -CCM_E_* for format/limit problems (values above any errno).
 */
#ifndef CCM_H
#define CCM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CCM_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

#define CCM_ERRORS(X)                                                        \
	X(FORMAT, "not a cc:Mail export or broken structure")                \
	X(TRUNCATED, "file ends inside a message")                           \
	X(LIMIT, "value exceeds a limit")                                    \
	X(EMPTY, "no cc:Mail messages found")                                \
	X(OPTION, "bad option value")                                        \
	X(CHANGED, "the export file changed while in use")

enum {
	CCM_E_BASE = 1024,
#define X(name, text) CCM_E_##name,
	CCM_ERRORS(X)
#undef X
	CCM_E_LAST
};

/* Text for a negative return value of any ccm_* function. */
const char *ccm_strerror(int err);

/* ---------------------------------------------------------------- slices */

struct ccm_slice {
	const char *p;
	size_t len;
};

/* --------------------------------------------------------------- buffers */

/*
 * Growable byte buffer.  When count_only is set, appends only advance len
 * (nothing is stored, p may stay NULL): this is how an .eml is measured with
 * exactly the code that renders it.
 */
struct ccm_buf {
	char *p;
	size_t len;
	size_t cap;
	int count_only;
	int oom;	/* sticky: an allocation failed, content is incomplete */
	/*
	 * Window mode (ccm_buf_window): len still counts every byte
	 * appended, but only those at positions [win_lo, win_hi) are kept,
	 * at p[0 .. ccm_buf_stored()).  A range of a large .eml is rendered
	 * this way in bounded memory, with the same code that measures it.
	 */
	int windowed;
	size_t win_lo, win_hi;
};

void ccm_buf_init(struct ccm_buf *b);
void ccm_buf_release(struct ccm_buf *b);	/* frees, back to init state */
void ccm_buf_clear(struct ccm_buf *b);		/* len = 0, keeps memory */
/* Every case: counting, windows, growth, a sticky oom. */
void ccm_buf_put_any(struct ccm_buf *b, const void *p, size_t n);
void ccm_buf_putc_any(struct ccm_buf *b, char c);

/*
 * Rendering appends a few bytes at a time, a million times a second while
 * tar reads: the plain case (storing, room left) is inlined, the rest is
 * ccm_buf_put_any.  Room for the NUL of ccm_buf_cstr is kept either way.
 */
static inline int ccm_buf_room(const struct ccm_buf *b, size_t n)
{
	return !(b->count_only | b->windowed | b->oom) && b->cap > b->len &&
	       n < b->cap - b->len;
}

static inline void ccm_buf_put(struct ccm_buf *b, const void *p, size_t n)
{
	if (ccm_buf_room(b, n)) {
		/* p may be NULL when n is 0: not for memcpy. */
		if (n)
			memcpy(b->p + b->len, p, n);
		b->len += n;
		return;
	}
	ccm_buf_put_any(b, p, n);
}

static inline void ccm_buf_putc(struct ccm_buf *b, char c)
{
	if (ccm_buf_room(b, 1)) {
		b->p[b->len++] = c;
		return;
	}
	ccm_buf_putc_any(b, c);
}

static inline void ccm_buf_puts(struct ccm_buf *b, const char *s)
{
	ccm_buf_put(b, s, strlen(s));
}

/*
 * Room for extra bytes (and the NUL) at p + len, for a caller that writes
 * them itself and then adds to len.  -1 when counting, windowed or out of
 * memory: append as usual then.
 */
int ccm_buf_reserve(struct ccm_buf *b, size_t extra);

/* Decimal, and 16 lower-case hex digits: printf's cost, without printf. */
void ccm_buf_put_u64(struct ccm_buf *b, uint64_t v);
void ccm_buf_put_hex64(struct ccm_buf *b, uint64_t v);
void ccm_buf_printf(struct ccm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NUL-terminate (not counted in len); returns b->p or "" when empty. */
const char *ccm_buf_cstr(struct ccm_buf *b);
/* Keep only bytes [lo, lo + n) of what will be appended (see above). */
void ccm_buf_window(struct ccm_buf *b, size_t lo, size_t n);
/* Bytes held in p: len, or the part of the window written so far. */
size_t ccm_buf_stored(const struct ccm_buf *b);
/*
 * 1 when the next n bytes appended would not be kept (count_only, or
 * wholly outside the window): writers may then just add n to len.
 */
int ccm_buf_skippable(const struct ccm_buf *b, size_t n);
/* Make room for element n of *arr (capacity *cap, doubling).  0 or -ENOMEM. */
int ccm_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* --------------------------------------------------------------- options */

enum ccm_dateorder { CCM_DATE_MDY, CCM_DATE_DMY, CCM_DATE_YMD };

struct ccm_domain_map {
	char *po;	/* post office name, compared case-insensitively */
	char *domain;	/* replaces "<po>.ccmail.invalid" */
};

struct ccm_options {
	int codepage;			/* 437, 850 (default), 1252, 932, ... */
	int tz_set;			/* 0: Date: uses -0000 (unknown zone) */
	int tz_minutes;			/* offset east of UTC when tz_set */
	enum ccm_dateorder dateorder;	/* default mdy (EXPORT /DATE/1) */
	const char *account;		/* -o account=: name for a lone file */
	int crlf;			/* 1: .eml lines end in CRLF, else LF */
	struct ccm_domain_map *domains;
	size_t ndomains;
};

void ccm_options_init(struct ccm_options *o);
/* Parse one "key=value" or "key" option (codepage, tz, dateorder, account,
 * crlf, domain).  Returns 0, 1 if the key is not ours, or -CCM_E_OPTION
 * (with a message in err). */
int ccm_options_set(struct ccm_options *o, const char *kv, char *err,
		    size_t errlen);
void ccm_options_release(struct ccm_options *o);

/* ---------------------------------------------------------- source files */

struct ccm_file {
	char *path;		/* as given */
	char *name;		/* base name, used in X-CcMail-Source */
	const char *data;	/* mapping (NULL when size == 0 or unmapped) */
	int guarded;		/* data is read only under a SIGBUS guard */
	int tripped;		/* and faulted once: read with pread instead */
	uint64_t size;
	int64_t mtime;		/* seconds since the epoch */
	uint64_t tail;		/* start of the trailing Ctrl-Z/blank padding */
	uint64_t dev, ino;	/* identity, to notice a changed source */
	int64_t ctime_ns;	/* any write changes it, even within a second */
	int fd;
	/* Its directory, held open: whether the name still leads to this
	 * file is asked there, not by path, which may lie under our own
	 * mount or be relative to a directory the daemon has left.  Files
	 * of one directory share it; the first of them closes it. */
	int dirfd;
	int own_dirfd;
};

/* Map a file read-only.  -errno on failure; a directory gives -EISDIR. */
int ccm_file_open(struct ccm_file *f, const char *path);
void ccm_file_close(struct ccm_file *f);

/* ------------------------------------------------------------- warnings */

/*
 * Recoveries the parser or renderer applied.  Each becomes one
 * X-CcMail-Warning: header and one line in the report.  The text may use
 * %a and %b for the two numeric arguments.
 */
#define CCM_WARNINGS(X)                                                      \
	X(MSG_SIZE_BLANK, "message size is blank (CCQ-2); end found by scanning") \
	X(MSG_SIZE_BAD, "message size %a does not fit (CCQ-4); end found by scanning") \
	X(CONTENTS_SIZE_BLANK, "contents size is blank (CCQ-2)")            \
	X(CONTENTS_SIZE_BAD, "contents size %a does not match the items (CCQ-4)") \
	X(ITEM_SIZE_BLANK, "item %a size is blank (CCQ-2); end found by scanning") \
	X(ITEM_SIZE_BAD, "item %a size %b does not fit (CCQ-4); end found by scanning") \
	X(ITEM_SIZE_OFF, "item %a size is off by %b bytes (CCQ-1/CCQ-4)")  \
	X(RUN_ON, "block not followed by a line end at offset %a (CCQ-1)")  \
	X(NO_CONTENTS, "no Contents: line (CCQ-5); lines after the header kept as body") \
	X(STRAY_LINE, "header line without a token at offset %a kept as X-CcMail-Stray") \
	X(TRUNCATED, "message ends at end of file (truncated?)")            \
	X(DATE_MISSING, "no Date: line; the export file's time is used")    \
	X(DATE_INVALID, "date is not valid (CCQ-8); kept in X-CcMail-Date, the export file's time is used") \
	X(DATE_SWAPPED, "day and month swapped to make the date valid (CCQ-11)") \
	X(DATE_1900, "year 1900 is probably a Y2K bug (CCQ-9)")             \
	X(CHARSET, "%a bytes not valid in code page %b, read as Latin-1 (CCQ-27)") \
	X(CONTROL, "%a highlight/control bytes removed from text (CCQ-24)") \
	X(ADDR_NONAME, "recipient without a user name (CCQ-16)")            \
	X(ADDR_ODD, "address not understood, kept as a name (CCQ-19)")      \
	X(EMPTY_ITEM, "%a zero-length item(s) (CCQ-7)")                   \
	X(TRAILING, "bytes at offset %a that are not an item kept as text (CCQ-6)")

enum ccm_warning_code {
#define X(name, text) CCM_W_##name,
	CCM_WARNINGS(X)
#undef X
	CCM_W_COUNT
};

struct ccm_warning {
	enum ccm_warning_code code;
	int64_t a, b;
};

struct ccm_warnlist {
	struct ccm_warning *w;
	size_t n, cap;
};

void ccm_warn(struct ccm_warnlist *wl, enum ccm_warning_code code,
	      int64_t a, int64_t b);
void ccm_warnlist_release(struct ccm_warnlist *wl);
/* Append the text of w (ASCII, no line end) to out. */
void ccm_warning_format(const struct ccm_warning *w, struct ccm_buf *out);

/* -------------------------------------------------------------- messages */

struct ccm_header {
	struct ccm_slice name;	/* token without ':' and surrounding blanks */
	struct ccm_slice value;	/* after ": ", without line end */
	uint64_t off;		/* file offset of the line */
};

enum ccm_item_kind {
	CCM_ITEM_TEXT,
	CCM_ITEM_FILE,
	CCM_ITEM_FAX,
	CCM_ITEM_GRAPHICS,
	CCM_ITEM_SOUND,
	CCM_ITEM_MESSAGE,
	CCM_ITEM_OTHER,		/* any other word: an attachment (CCQ-6) */
};

struct ccm_item {
	enum ccm_item_kind kind;
	struct ccm_slice word;		/* "Text", "File", "Widget", ... */
	struct ccm_slice title;		/* text after "item:", trimmed; may be empty */
	struct ccm_slice payload;	/* the item's bytes, exact */
	uint64_t off;			/* file offset of the item line */
};

/*
 * One parsed message.  All slices borrow from the file mapping.
 * body_lines: when Contents: is missing (CCQ-5), the non-header lines that
 * followed the header, to be rendered as the body text.
 */
struct ccm_msg {
	uint64_t off, len;		/* the message's bytes in the file */
	struct ccm_header *hdr;
	size_t nhdr, hdrcap;
	struct ccm_item *items;
	size_t nitems, itemcap;
	struct ccm_slice stray;		/* unused; see STRAY_LINE headers */
	int has_contents;
	struct ccm_warnlist warn;	/* parse-time recoveries */
};

void ccm_msg_init(struct ccm_msg *m);
void ccm_msg_release(struct ccm_msg *m);
/*
 * Parse the message occupying exactly [off, off+len) of f, as found by the
 * scanner.  Deterministic: the same bytes give the same result.  Returns 0
 * or -ENOMEM.
 */
int ccm_msg_parse(const struct ccm_file *f, uint64_t off, uint64_t len,
		  struct ccm_msg *m);
/* First header named name (case-insensitive), or NULL. */
const struct ccm_header *ccm_msg_header(const struct ccm_msg *m,
					const char *name);

/* ------------------------------------------------------------- scanning */

enum ccm_seg_kind {
	CCM_SEG_MESSAGE,	/* a message (possibly damaged, with warnings) */
	CCM_SEG_ERROR,		/* not a message: becomes an error entry */
	CCM_SEG_PAD,		/* blank lines, line ends, Ctrl-Z (CCQ-25) */
	CCM_SEG_MARKER,		/* account marker line (CCQ-35, SPEC 1.2) */
	CCM_SEG_NOISE,		/* EXPORT console output (CCQ-35) */
};

#define CCM_REASONS(X)                                                       \
	X(JUNK, "bytes between messages that are not a message")             \
	X(NO_HEADER, "a Message: line without any header or Contents: line") \
	X(AFTER_MESSAGE, "bytes after a message whose sizes all agree, before the next token")

enum ccm_reason {
#define X(name, text) CCM_R_##name,
	CCM_REASONS(X)
#undef X
	CCM_R_COUNT
};

const char *ccm_reason_text(int reason);

/*
 * One segment of a file.  Consecutive segments are contiguous and cover the
 * whole file: that is the byte-coverage guarantee (SPEC 1.3).
 */
struct ccm_seg {
	uint64_t off, len;
	enum ccm_seg_kind kind;
	int reason;		/* CCM_SEG_ERROR: enum ccm_reason */
	struct ccm_slice name;	/* CCM_SEG_MARKER: the account name (raw) */
};

/*
 * Called for every segment in file order.  For CCM_SEG_MESSAGE, m is the
 * canonical parse of the segment (valid only during the call).  A non-zero
 * return stops the scan and is returned by ccm_scan.
 */
typedef int (*ccm_scan_fn)(void *ctx, const struct ccm_seg *seg,
			   const struct ccm_msg *m);

/* Scan a whole file in one pass.  Returns 0, -ENOMEM, or fn's value. */
int ccm_scan(const struct ccm_file *f, ccm_scan_fn fn, void *ctx);
/* The same segments, three times faster: messages are cut, not parsed, and
 * fn gets NULL for every message. */
int ccm_scan_cut(const struct ccm_file *f, ccm_scan_fn fn, void *ctx);

/* ------------------------------------------------- decoding and summary */

/*
 * Convert text in the DOS code page o->codepage to UTF-8, appending to out.
 * Invalid bytes are read as Latin-1; their count is returned in *nbad (may be
 * NULL).  No line-end or control-byte processing.  Returns 0 or -errno.
 */
int ccm_cp_to_utf8(const struct ccm_options *o, const char *p, size_t n,
		   struct ccm_buf *out, size_t *nbad);

struct ccm_date {
	int ok;			/* 1: y..sec valid and epoch set */
	int year, mon, day, hour, min, sec;
	int64_t epoch;		/* seconds since the epoch, tz applied */
	int swapped;		/* CCQ-11 day/month swap applied */
	int y1900;		/* CCQ-9 */
};

/* Parse a cc:Mail date value (CCQ-8, 9, 11).  Returns 0 when d->ok. */
int ccm_date_parse(const struct ccm_options *o, const char *p, size_t n,
		   struct ccm_date *d);
/* Append an RFC 5322 date ("Tue, 02 Jun 1998 08:39:00 -0000"). */
void ccm_date_format(const struct ccm_options *o, int64_t epoch,
		     struct ccm_buf *out);

/*
 * What the tree needs to name and date a message, without rendering it.
 * subject and folder are UTF-8, NUL-terminated, owned by the summary
 * (ccm_summary_release).  folder is the raw Folder: value converted (empty
 * if none); components are separated by '\\' or '/' as in the export.
 */
struct ccm_summary {
	int64_t mtime;		/* message date, else fallback_mtime */
	int date_ok;
	struct ccm_buf subject;
	struct ccm_buf folder;
};

void ccm_summary_init(struct ccm_summary *s);
void ccm_summary_release(struct ccm_summary *s);
int ccm_msg_summarize(const struct ccm_options *o, const struct ccm_msg *m,
		      int64_t fallback_mtime, struct ccm_summary *s);

/* ------------------------------------------------------------ rendering */

struct ccm_render_ctx {
	const struct ccm_options *opt;
	const char *source_name;	/* file base name for X-CcMail-Source */
	const char *account;		/* UTF-8 account name */
	uint64_t ordinal;		/* per-account ordinal (Message-ID) */
	int64_t fallback_mtime;		/* export file mtime */
};

/*
 * Render m as an RFC 5322 / MIME message, appending to out (which may be in
 * count_only mode: the length is then exactly what a real render writes).
 * Every recovery applied (parse-time ones from m->warn and render-time ones)
 * becomes an X-CcMail-Warning: header and, when wl is not NULL, an entry in
 * wl.  Deterministic byte for byte.  Returns 0 or -ENOMEM.
 */
int ccm_eml_render(const struct ccm_render_ctx *rc, const struct ccm_msg *m,
		   struct ccm_buf *out, struct ccm_warnlist *wl);

/* -------------------------------------------------------------- archive */

/*
 * An archive is every source file scanned, with its entries (messages and
 * error entries) assigned to accounts in export order.  It is the index the
 * tree and the FUSE layer serve from; nothing in it is rendered eagerly
 * except each message's exact .eml size.
 */
enum ccm_entry_kind { CCM_ENTRY_MESSAGE, CCM_ENTRY_ERROR };

struct ccm_entry {
	uint64_t off, len;	/* bytes in the source file */
	uint64_t size;		/* exact size of the rendered file */
	int64_t mtime;		/* message date, else the file's mtime */
	uint64_t ordinal;	/* 1-based, per account, export order */
	uint64_t line;		/* line of off, when there are problems */
	uint32_t file;		/* index into files */
	uint32_t account;	/* index into accounts */
	uint32_t subject;	/* pool offset (UTF-8, messages) */
	uint32_t folder;	/* pool offset: UTF-8 folder, "" = default */
	uint32_t warn_first;	/* index into warns */
	uint32_t nwarn;
	uint16_t nattach;	/* attachments in the .eml */
	uint8_t kind;		/* enum ccm_entry_kind */
	uint8_t reason;		/* enum ccm_reason, error entries */
	uint8_t date_ok;
};

struct ccm_account {
	uint32_t name;		/* pool offset, UTF-8 */
	uint64_t nmsg, nerr;
};

/* Per source file: bytes by segment kind, for the coverage proof. */
struct ccm_file_stats {
	uint64_t bytes[5];	/* indexed by enum ccm_seg_kind */
	uint64_t nmsg, nerr, nnotes;
	uint64_t gaps;		/* bytes not covered by any segment (must be 0) */
	uint64_t overlaps;	/* bytes covered twice (must be 0) */
};

/* Console lines and markers, listed in the report (not problems). */
struct ccm_note {
	uint32_t file;
	uint8_t kind;		/* CCM_SEG_MARKER or CCM_SEG_NOISE */
	uint64_t off, len;
};

struct ccm_bad_source {
	char *path;
	int err;		/* -errno or -CCM_E_* */
};

struct ccm_archive {
	struct ccm_options opt;		/* copied; pointers borrowed */
	struct ccm_file *files;
	struct ccm_file_stats *stats;
	size_t nfiles;
	struct ccm_entry *entries;
	size_t nentries, entcap;
	struct ccm_account *accounts;
	size_t naccounts, acccap;
	struct ccm_warnlist warns;
	struct ccm_note *notes;
	size_t nnotes, notecap;
	struct ccm_bad_source *bad;
	size_t nbad;
	struct ccm_buf pool;
	uint64_t nattach;
	int64_t newest_mtime;		/* newest source mtime (dirs, report) */
	int lone;			/* a single source file (-o account=) */
	/*
	 * After ccm_archive_restore the arrays above (entries, accounts,
	 * warns, notes, pool) point into the index bytes instead of owning
	 * memory: a mapped index costs page cache, not the daemon's heap.
	 * held is that memory when the archive owns it (ccm_archive_hold).
	 */
	int borrowed;
	void *held;
	size_t heldlen;
	int held_mapped;
};

/* Called while scanning: bytes done of total (for a progress display). */
typedef void (*ccm_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/*
 * Scan every source (files, or directories of files, in the order given;
 * directory members in byte order of their names).  Unreadable sources are
 * listed in a->bad and skipped.  Returns 0 or -ENOMEM; *out is NULL on
 * failure.  o is copied, the strings it points to must outlive the archive.
 */
int ccm_archive_open(struct ccm_archive **out, const char *const *paths,
		     size_t npaths, const struct ccm_options *o);
void ccm_archive_free(struct ccm_archive *a);
/* ccm_archive_open in two steps: open the sources, then scan them (or
 * restore the scan from an index instead, ccm_archive_restore). */
int ccm_archive_prepare(struct ccm_archive **out, const char *const *paths,
			size_t npaths, const struct ccm_options *o);
/*
 * A prepared archive over the same files as a, opening nothing: an index
 * just written is restored into it (fs/index.c), even where the sources'
 * names now lead through a mount.  Its files have no descriptors or
 * mappings until ccm_archive_take_files moves a's to it (same sources).
 */
int ccm_archive_shadow(const struct ccm_archive *a, struct ccm_archive **out);
void ccm_archive_take_files(struct ccm_archive *to, struct ccm_archive *from);
int ccm_archive_scan(struct ccm_archive *a, ccm_progress_fn progress,
		     void *ctx);
/*
 * Before ccm_archive_scan, and cheaper: find the accounts only.  *shell is a
 * new archive with no files and no entries whose accounts (names, in
 * first-use order, no counts) are exactly those the scan of a will make,
 * and whose stats (one per file of a) count messages, errors and notes.
 * The mount lists its root from it while the scan goes on in the
 * background.  Free it with ccm_archive_free.
 */
int ccm_archive_survey(const struct ccm_archive *a, ccm_progress_fn progress,
		       void *ctx, struct ccm_archive **shell);
/*
 * Persistent index support.  ccm_archive_key appends what an index must
 * match (library and index version, options, every source's path, size,
 * mtime and a hash of its first and last 64 KiB) as text lines.
 * ccm_archive_save appends the scan's results; ccm_archive_restore reads
 * them back into a prepared archive, checking every count, offset and
 * index, and returns -CCM_E_FORMAT for anything inconsistent (a corrupt or
 * foreign index is never trusted).  *pos advances past what was read.
 */
#define CCM_INDEX_VERSION 2	/* 2: the body checksum hashes 1 MiB blocks */
void ccm_archive_key(const struct ccm_archive *a, const char *extra,
		     struct ccm_buf *out);
void ccm_archive_save(const struct ccm_archive *a, struct ccm_buf *out);
/*
 * The arrays restored by ccm_archive_restore (and tree_restore) borrow
 * p: it must live as long as the archive.  ccm_archive_hold gives the
 * archive that memory to release in ccm_archive_free (munmap when mapped,
 * else free).
 */
void ccm_archive_hold(struct ccm_archive *a, void *p, size_t len, int mapped);
/*
 * How a restore reads the arrays it checks.  NULL: in place, at p.  Else
 * copies of them, through read (at offsets from p: pread on the index's
 * file), so that checking a freshly mapped index does not touch every page
 * of the mapping.  On the shadow-paging VMs this project is measured on,
 * the first touch of a page through a new mapping costs about four times
 * a copy of it (BENCHMARKS, session 10); pages read later, as files are
 * listed and served, pay it then.
 */
struct ccm_reader {
	int (*read)(void *ctx, void *dst, size_t len, uint64_t off);
	void *ctx;
};

/*
 * One restored array of n elements of esz bytes at arr, walked in order
 * through rd.  An array outside [base, base + len) is walked in place.
 * ccm_walk_next returns NULL at the end and on a failed read (w->err);
 * ccm_walk_end frees the buffer and returns w->err.
 */
struct ccm_walk {
	const struct ccm_reader *rd;
	const char *base, *arr;
	size_t esz, n, i;
	char *buf;
	size_t bfirst, bcount;	/* buf holds elements [bfirst, +bcount) */
	int err;
};
void ccm_walk_init(struct ccm_walk *w, const struct ccm_reader *rd,
		   const char *base, size_t len, const void *arr, size_t n,
		   size_t esz);
const void *ccm_walk_next(struct ccm_walk *w);
int ccm_walk_end(struct ccm_walk *w);
int ccm_archive_restore(struct ccm_archive *a, const char *p, size_t n,
			size_t *pos, const struct ccm_reader *rd);
/* Section helpers shared with the tree's own save/restore. */
void ccm_sec_put(struct ccm_buf *out, uint32_t tag, const void *p, size_t n);
int ccm_sec_get(const char *p, size_t n, size_t *pos, uint32_t tag,
		size_t elem, const void **data, size_t *count);
const char *ccm_archive_str(const struct ccm_archive *a, uint32_t off);
/*
 * Render entry i (an .eml, or the text of an error entry) into out.  The
 * result is exactly a->entries[i].size bytes, or an error is returned
 * (-CCM_E_CHANGED when the source no longer matches).
 */
int ccm_archive_render(const struct ccm_archive *a, size_t i,
		       struct ccm_buf *out);
/*
 * Drop the mappings once the index is built; renders then read each entry's
 * bytes with pread.  A source truncated, overwritten or deleted while in use
 * can then never raise SIGBUS: a short read is -CCM_E_CHANGED (EIO).
 */
void ccm_archive_unmap(struct ccm_archive *a);
/*
 * Instead of ccm_archive_unmap: keep the mappings, and from now on read them
 * only under a SIGBUS guard, so that a source that shrinks while in use
 * makes the render fail with -CCM_E_CHANGED instead of killing the process.
 * Cheaper than pread (no copy of every message).  The guard's handler is
 * installed here, once: the program must not replace SIGBUS's handler
 * afterwards.  Falls back to ccm_archive_unmap if it cannot be installed.
 */
void ccm_archive_guard(struct ccm_archive *a);
/*
 * 1 if a source file no longer matches what was indexed (size, mtime,
 * identity of the path, or bytes the index relies on); fills why.
 */
int ccm_archive_changed(const struct ccm_archive *a, char *why, size_t n);
/* 1-based line number of a byte offset in file f (counts LF, CR, CR LF). */
uint64_t ccm_archive_line(const struct ccm_archive *a, uint32_t f,
			  uint64_t off);

#endif
