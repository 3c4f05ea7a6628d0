/* SPDX-License-Identifier: MIT
 *
 * A writer of iCalendar (RFC 5545) text: content lines ended by CRLF and
 * folded so that no line exceeds 75 octets, TEXT values escaped, and
 * UTC date-times in the basic form. It builds text in memory, and the
 * caller writes the BEGIN/END lines and properties in order.
 */
#ifndef HG_ICAL_H
#define HG_ICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The text being written. Zero-initialise it; failed is set when memory
 * ran out, after which writes do nothing. Free data with hg_ical_free(). */
typedef struct hg_ical {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} hg_ical;

/* Room for "YYYYMMDDTHHMMSSZ" and its NUL. */
#define HG_ICAL_TIME_BUF 17

/* Writes the content line "name:value" with value as given (it must not
 * hold CR or LF), folded at 75 octets: each continuation line starts with
 * one space, and no UTF-8 sequence is split. */
void hg_ical_line(hg_ical *c, const char *name, const char *value);
/* Writes "name:" and text escaped as an RFC 5545 TEXT value: backslash,
 * semicolon and comma get a backslash, a line break (LF, CR or CRLF)
 * becomes "\n", and other control characters except tab are dropped. */
void hg_ical_text(hg_ical *c, const char *name, const char *text);
/* Writes "name:" and the UTC date-time of ms (milliseconds since the
 * epoch, seconds kept) as YYYYMMDDTHHMMSSZ. */
void hg_ical_time(hg_ical *c, const char *name, int64_t ms);
/* Formats ms as YYYYMMDDTHHMMSSZ into out. */
char *hg_ical_format_time(int64_t ms, char out[HG_ICAL_TIME_BUF]);
/* Returns the escaped TEXT form of text (see hg_ical_text) as a string
 * to free(), or NULL when memory runs out. */
char *hg_ical_escape(const char *text);
/* Frees the text; accepts a zeroed or already freed c. */
void hg_ical_free(hg_ical *c);

#endif
