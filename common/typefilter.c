/* SPDX-License-Identifier: MIT */
#include "common/typefilter.h"

#include <string.h>

static bool type_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool hg_event_type_valid(const char *s, size_t len)
{
    if (len == 0 || len > HG_EVENT_TYPE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!type_char(s[i]))
            return false;
    }
    return true;
}

bool hg_type_filter_valid(const char *filter)
{
    size_t len = strlen(filter);

    if (strcmp(filter, "*") == 0)
        return true;
    if (len >= 3 && strcmp(filter + len - 2, ".*") == 0)
        return hg_event_type_valid(filter, len - 2);
    return hg_event_type_valid(filter, len);
}

bool hg_type_filter_match(const char *filter, const char *type)
{
    size_t flen = strlen(filter);

    if (flen == 1 && filter[0] == '*')
        return true;
    if (flen >= 2 && filter[flen - 1] == '*' && filter[flen - 2] == '.') {
        /* "booking.*" matches "booking.created" but not "booking" itself. */
        return strncmp(filter, type, flen - 1) == 0 && type[flen - 1] != '\0';
    }
    return strcmp(filter, type) == 0;
}

bool hg_type_filter_list_match(const char *list, const char *type)
{
    char filter[HG_EVENT_TYPE_MAX + 3];
    const char *p = list;

    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n > 0 && n < sizeof(filter)) {
            memcpy(filter, p, n);
            filter[n] = '\0';
            if (hg_type_filter_match(filter, type))
                return true;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    return false;
}
