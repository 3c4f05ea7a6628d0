/* SPDX-License-Identifier: MIT
 *
 * Helpers shared by the libFuzzer targets: a NUL-terminated copy of the
 * input, a splitter for inputs that carry several fields, and FUZZ_CHECK,
 * which aborts with the failed property so that libFuzzer saves the input
 * as a crash reproducer.
 */
#ifndef HG_FUZZ_H
#define HG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* Returns a malloc'd copy of data with a NUL after it. NUL bytes inside
 * the input stay, so C-string parsers see the text up to the first one,
 * as they would from a libevhtp header value. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Takes the next field of *data up to a newline (or the end) and returns
 * it as a new NUL-terminated string; the caller frees it. */
static inline char *fuzz_next_line(const uint8_t **data, size_t *size)
{
    const uint8_t *nl = *size > 0 ? memchr(*data, '\n', *size) : NULL;
    size_t len = nl != NULL ? (size_t)(nl - *data) : *size;
    char *s = fuzz_strndup(*data, len);

    *data += nl != NULL ? len + 1 : len;
    *size -= nl != NULL ? len + 1 : len;
    return s;
}

#endif
