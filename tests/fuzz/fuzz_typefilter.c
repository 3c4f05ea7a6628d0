/* SPDX-License-Identifier: MIT
 *
 * Fuzzes event type and type filter checks. The first line of an input is
 * an event type, the rest a space-separated filter list as stored on an
 * endpoint. A list must match exactly when one of its filters matches,
 * "*" and an exact filter must match their types, and a "prefix.*" filter
 * must match only types that start with "prefix." and are longer.
 */
#include <stdbool.h>

#include "common/typefilter.h"
#include "fuzz.h"

static void check_filter(const char *filter, const char *type)
{
    size_t n = strlen(filter);
    bool matches;

    if (!hg_type_filter_valid(filter))
        return;
    FUZZ_CHECK(n >= 1 && n <= HG_EVENT_TYPE_MAX + 2);
    matches = hg_type_filter_match(filter, type);
    if (strcmp(filter, "*") == 0) {
        FUZZ_CHECK(matches);
    } else if (n >= 3 && strcmp(filter + n - 2, ".*") == 0) {
        FUZZ_CHECK(matches == (strncmp(filter, type, n - 1) == 0 &&
                               strlen(type) > n - 1));
    } else {
        FUZZ_CHECK(hg_event_type_valid(filter, n));
        FUZZ_CHECK(matches == (strcmp(filter, type) == 0));
        FUZZ_CHECK(hg_type_filter_match(filter, filter));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *type = fuzz_next_line(&data, &size);
    char *list = fuzz_strndup(data, size);
    char *copy = fuzz_strndup((const uint8_t *)list, strlen(list));
    bool any = false, valid_type = hg_event_type_valid(type, strlen(type));
    char *save = NULL;

    if (valid_type)
        FUZZ_CHECK(strlen(type) <= HG_EVENT_TYPE_MAX &&
                   strspn(type, "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                       strlen(type));
    for (char *f = strtok_r(copy, " ", &save); f != NULL;
         f = strtok_r(NULL, " ", &save)) {
        check_filter(f, type);
        /* Stored lists hold only valid filters, whose length fits the
         * list matcher's buffer. */
        if (hg_type_filter_valid(f))
            any = any || hg_type_filter_match(f, type);
    }
    if (valid_type) {
        bool all_valid = true;

        save = NULL;
        memcpy(copy, list, strlen(list) + 1);
        for (char *f = strtok_r(copy, " ", &save); f != NULL;
             f = strtok_r(NULL, " ", &save))
            all_valid = all_valid && hg_type_filter_valid(f);
        if (all_valid)
            FUZZ_CHECK(hg_type_filter_list_match(list, type) == any);
    }
    free(type);
    free(list);
    free(copy);
    return 0;
}
