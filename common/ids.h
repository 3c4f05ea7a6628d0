/* SPDX-License-Identifier: MIT
 *
 * Identifiers: a prefix ("evt_", "ep_") followed by 26 Crockford base32
 * characters that encode 48 bits of milliseconds and 80 random bits, so ids
 * sort by creation time and never collide in practice.
 */
#ifndef HG_IDS_H
#define HG_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_ID_BODY_LEN 26
#define HG_ID_MAX 64

/* Writes prefix + a new id body into out (HG_ID_MAX bytes). */
char *hg_id_new(const char *prefix, char *out);
/* Writes the 10-character time part that an id made at ms starts with, so
 * ids can be bounded by time in lexicographic order. */
char *hg_id_time_prefix(int64_t ms, char out[11]);
/* Returns true for an integration id: [a-z0-9][a-z0-9_-]{0,62}. */
bool hg_integration_id_valid(const char *s);
/* Returns true for an id made by hg_id_new with this prefix. */
bool hg_id_valid(const char *prefix, const char *s);

#endif
