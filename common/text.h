/* SPDX-License-Identifier: MIT
 *
 * Byte-string helpers for storing bodies and headers received from the
 * network in JSON records, which must be valid UTF-8.
 */
#ifndef HG_TEXT_H
#define HG_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Returns the length of the longest prefix of s that is valid UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
size_t hg_utf8_valid_prefix(const unsigned char *s, size_t len);
/* Sets member `name` of o to the body as a string when it is UTF-8, else
 * to its base64 form plus `name`_encoding = "base64". When cut is true the
 * body was truncated, and a final UTF-8 sequence cut in half is dropped
 * instead of forcing base64. */
void hg_json_set_body(json_t *o, const char *name, const char *body,
                      size_t len, bool cut);

/* Copies s into out (cap bytes) with every byte that is not part of valid
 * UTF-8, and every control character, replaced by '?', so text quoted from
 * a request can go into a JSON string. */
void hg_text_sanitize(const char *s, char *out, size_t cap);

/* Returns the value of a hexadecimal digit (either case), or -1. */
int hg_hex_value(int c);

/* Flags of hg_percent_decode(). */
enum {
    /* "+" means a space, as in query strings and HTML form bodies. */
    HG_PCT_PLUS = 1 << 0,
    /* A "%" that does not start a valid escape, and "%00", stay as they
     * are instead of failing the decode. */
    HG_PCT_LENIENT = 1 << 1,
};

/* Decodes the len bytes of src, turning each %XX into its byte (RFC 3986,
 * section 2.1), into dst of cap bytes and NUL-terminates it. dst may be
 * src (the result is never longer), or NULL to check src only. Without
 * HG_PCT_LENIENT an invalid escape or %00 fails, since a NUL byte would
 * cut the text short where it is used. Returns the decoded length, or -1
 * when src is invalid or the result and its NUL do not fit. */
long hg_percent_decode(const char *src, size_t len, char *dst, size_t cap,
                       unsigned flags);

/* Returns the first character of value that is not a space or tab, and
 * stores in *len the length without trailing spaces and tabs: the field
 * value without the optional whitespace around it (RFC 9110, section
 * 5.5). */
const char *hg_http_trim_ows(const char *value, size_t *len);

/* Returns true for an RFC 9110 token character (section 5.6.2). */
bool hg_http_tchar(int c);
/* Returns true when s is 1 to max bytes of token characters, as a header
 * field name must be. */
bool hg_http_token_valid(const char *s, size_t max);
/* Returns true when the len bytes of value contain no control character
 * but tab (RFC 9110, section 5.5): NUL, CR, LF, the other C0 controls and
 * DEL would split or corrupt a header. */
bool hg_http_field_value_valid(const char *value, size_t len);
/* Returns true when the len bytes of UTF-8 text contain a C1 control
 * character (U+0080 to U+009F, the bytes C2 80 to C2 9F). HTTP lets such
 * bytes through as obs-text, so a check for "no control characters" must
 * look for them too. */
bool hg_text_has_c1_control(const char *text, size_t len);

#endif
