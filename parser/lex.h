/*
 * lex.h - line and token recognition over the mapped export (parser-internal).
 *
 * Every function takes the buffer d, a position and a limit `lim` and never
 * reads at or beyond lim: the mapping is not NUL-terminated, and a bounded
 * re-parse of one message must see exactly the same bytes the scanner saw.
 */
#ifndef CCM_LEX_H
#define CCM_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "ccm.h"

enum ccm_size_state { SZ_NONE, SZ_BLANK, SZ_VALID, SZ_BAD };

struct lex_size {
	enum ccm_size_state state;
	uint64_t value;
	size_t next;	/* position after the size line */
};

/* Position of the first CR or LF at or after p, or lim. */
size_t lex_eol(const char *d, size_t p, size_t lim);
/* Length of the line end at p: 2 for CR LF, 1 for CR or LF, else 0. */
size_t lex_eol_len(const char *d, size_t p, size_t lim);
/* Position after the line that contains p (after its line end), or lim. */
size_t lex_next_line(const char *d, size_t p, size_t lim);
/* 1 if p is the start of a line (p == 0 or the byte before is CR/LF). */
int lex_at_line_start(const char *d, size_t p);
/* 1 if the line at p holds only blanks (spaces, tabs), possibly nothing. */
int lex_blank_line(const char *d, size_t p, size_t lim);

/* "Message:" alone on its line (leading/trailing blanks allowed). */
int lex_message_line(const char *d, size_t p, size_t lim);
/* "Contents:" alone on its line. */
int lex_contents_line(const char *d, size_t p, size_t lim);
/*
 * "<word> item:[ title]": word is 1..32 letters.  Outputs are offsets of the
 * word and title (title trimmed, may be empty).  Returns 1 on a match.
 */
int lex_item_line(const char *d, size_t p, size_t lim, struct ccm_slice *word,
		  struct ccm_slice *title);
/*
 * Account markers (CCQ-35): EXPORT's banner `Exporting messages in mailbox
 * "NAME" ...`, or `Mailbox: NAME`, `Account: NAME`, `User: NAME`.
 */
int lex_marker_line(const char *d, size_t p, size_t lim, struct ccm_slice *name);
/* EXPORT console output other than the banner (CCQ-35). */
int lex_noise_line(const char *d, size_t p, size_t lim);
/* A size line (CCQ-2): blanks and digits only.  Returns 0 if not one. */
int lex_size_line(const char *d, size_t p, size_t lim, struct lex_size *sz);
/* "Token: value".  Returns 1 and slices on a match. */
int lex_header_line(const char *d, size_t p, size_t lim,
		    struct ccm_slice *name, struct ccm_slice *value);

/*
 * A `Message:` line that really starts a message when found by scanning
 * (CCQ-3): followed by a size line, a header line or Contents:, or the end.
 */
int lex_message_validated(const char *d, size_t p, size_t lim);
/* A marker found by scanning: its next non-blank line is `Message:`. */
int lex_marker_validated(const char *d, size_t p, size_t lim);

/* Start of the trailing run of Ctrl-Z / blanks / line ends (CCQ-25). */
size_t lex_tail_padding(const char *d, size_t size);

#endif
