/* SPDX-License-Identifier: MIT
 *
 * Intake check of a published event body. The body is validated against the
 * JSON grammar of RFC 8259 in one pass without building a tree, because the
 * stored and delivered bytes are the published bytes: nothing here converts
 * numbers or strings, so numbers of any size and escaped "\u0000" pass
 * through untouched. The pass also extracts the top-level "type" member.
 */
#ifndef HG_JSON_INTAKE_H
#define HG_JSON_INTAKE_H

#include <stddef.h>

#include "common/typefilter.h"

/* Default and floor of the nesting limit; see hg_json_intake(). */
#define HG_JSON_DEFAULT_MAX_DEPTH 512

typedef enum hg_json_intake_result {
    HG_JSON_OK = 0,
    HG_JSON_MALFORMED,      /* not JSON: bad grammar, bad UTF-8, empty body */
    HG_JSON_NOT_OBJECT,     /* valid JSON whose top-level value is no object */
    HG_JSON_TOO_DEEP,       /* nesting deeper than max_depth */
    HG_JSON_TYPE_NOT_STRING,/* a top-level "type" member that is no string */
    HG_JSON_TYPE_DUPLICATE, /* more than one top-level "type" member */
    HG_JSON_TYPE_INVALID    /* "type" is not 1 to 128 of A-Z a-z 0-9 . _ - */
} hg_json_intake_result;

typedef struct hg_json_intake_info {
    /* The unescaped top-level "type" string, or "" when the object has none. */
    char type[HG_EVENT_TYPE_MAX + 1];
    /* Byte offset of the first error, for the problem+json detail. */
    size_t error_offset;
    /* A static English sentence naming the error, or NULL when OK. */
    const char *error;
} hg_json_intake_info;

/* Validates body (len bytes, not NUL-terminated) as one JSON value with
 * optional surrounding whitespace. Objects and arrays nested deeper than
 * max_depth levels (the top-level object counts as level 1) give
 * HG_JSON_TOO_DEEP. Strings must be valid UTF-8 and escapes valid; lone
 * surrogate escapes such as "\ud800" are accepted because the grammar allows
 * them. A byte order mark is rejected as malformed. Fills *info. */
hg_json_intake_result hg_json_intake(const char *body, size_t len,
                                     int max_depth, hg_json_intake_info *info);

#endif
