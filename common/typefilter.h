/* SPDX-License-Identifier: MIT
 *
 * Event types and endpoint type filters. A type is 1 to 128 characters of
 * A-Z a-z 0-9 . _ -. A filter is an exact type, "prefix.*" (every type that
 * starts with "prefix."), or "*" (every type).
 */
#ifndef HG_TYPEFILTER_H
#define HG_TYPEFILTER_H

#include <stdbool.h>
#include <stddef.h>

#define HG_EVENT_TYPE_MAX 128
/* An endpoint subscribes to at most this many filters. */
#define HG_TYPE_FILTERS_MAX 64

bool hg_event_type_valid(const char *s, size_t len);
bool hg_type_filter_valid(const char *filter);
/* Returns true when filter (assumed valid) selects type. */
bool hg_type_filter_match(const char *filter, const char *type);
/* Returns true when any filter of a space-separated list selects type. */
bool hg_type_filter_list_match(const char *list, const char *type);

#endif
