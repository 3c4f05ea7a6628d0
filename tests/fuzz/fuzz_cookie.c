/* SPDX-License-Identifier: MIT
 *
 * Fuzzes insp_cookie_value() (inspector/auth.c), which reads the session
 * cookie of the inspector from the Cookie header. The whole input is taken
 * as a header value, read with the session cookie's name and with the
 * first line as the name. A value found is non-empty, shorter than the
 * buffer, free of ';' and of white space at its ends, and the same as a
 * second, simpler reader written here gives. The input's lines are also
 * made into a header where the session cookie appears exactly once among
 * other cookies, and it must be found with its value.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "inspector/inspector.h"

/* Definition that auth.c and feed.c take from the inspector's main.c. The
 * parser never reads it. */
inspector *insp;

#define SESSION_COOKIE "hg_session"
#define VALUE_CAP 512 /* the token buffer of inspector/auth.c */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 6265 section 4.2.1 read plainly: split at ';', drop the white space
 * before each pair, and take the first pair that starts with "name=". */
static bool reference_value(const char *header, const char *name,
                            char *out, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = header;

    while (p != NULL) {
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 0 && is_blank(*p)) {
            p++;
            len--;
        }
        if (len > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t n = len - nlen - 1;

            while (n > 0 && is_blank(*v)) {
                v++;
                n--;
            }
            while (n > 0 && is_blank(v[n - 1]))
                n--;
            if (n == 0 || n >= cap)
                return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return false;
}

/* Reads name from header with a buffer of cap bytes and checks the value
 * against the reference reader. */
static void check_read(const char *header, const char *name, size_t cap)
{
    char got[VALUE_CAP], want[VALUE_CAP];
    bool ok = insp_cookie_value(header, name, got, cap);
    bool want_ok = reference_value(header, name, want, cap);
    size_t n;

    FUZZ_CHECK(ok == want_ok);
    if (!ok)
        return;
    n = strlen(got);
    FUZZ_CHECK(n > 0 && n < cap);
    FUZZ_CHECK(strchr(got, ';') == NULL);
    FUZZ_CHECK(!is_blank(got[0]) && !is_blank(got[n - 1]));
    FUZZ_CHECK(strstr(header, got) != NULL);
    FUZZ_CHECK(strcmp(got, want) == 0);
}

static void check_header(const char *header, const char *name,
                         size_t small_cap)
{
    char value[VALUE_CAP];

    check_read(header, name, VALUE_CAP);
    check_read(header, name, small_cap);
    /* A header without "name=" anywhere has no such cookie. */
    if (strstr(header, name) == NULL) {
        FUZZ_CHECK(!insp_cookie_value(header, name, value, VALUE_CAP));
        FUZZ_CHECK(insp_cookie_count(header, name) == 0);
    }
    /* A cookie that can be read is counted. */
    if (insp_cookie_value(header, name, value, VALUE_CAP))
        FUZZ_CHECK(insp_cookie_count(header, name) >= 1);
}

/* Turns a line into text that can sit between separators: no ';', no
 * white space at its ends. */
static void make_pair_text(char *s)
{
    size_t n;

    for (char *p = s; *p; p++) {
        if (*p == ';')
            *p = ',';
    }
    n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    n = strspn(s, " \t");
    memmove(s, s + n, strlen(s + n) + 1);
}

/* Builds "a=1; hg_session=<value>; b=2" from lines: the first is the
 * session value, the others are other cookies, and the first byte picks
 * the session cookie's place and the separators. */
static void check_present_once(const uint8_t *data, size_t size)
{
    unsigned style = size > 0 ? data[0] : 0;
    char *value = fuzz_next_line(&data, &size);
    char *others[8];
    size_t count = 0, place, len = 0;
    char header[16 * 1024], got[VALUE_CAP];

    make_pair_text(value);
    while (size > 0 && count < 8) {
        char *pair = fuzz_next_line(&data, &size);

        make_pair_text(pair);
        /* Another pair called hg_session would not leave it once. */
        if (strncmp(pair, SESSION_COOKIE "=", sizeof(SESSION_COOKIE)) == 0 ||
            strlen(pair) > 1024) {
            free(pair);
            continue;
        }
        others[count++] = pair;
    }
    place = style % (count + 1);
    if (value[0] != '\0' && strlen(value) < VALUE_CAP) {
        for (size_t i = 0; i <= count; i++) {
            const char *sep = (style & 16) ? ";" : "; ";

            if (i > 0)
                len += (size_t)sprintf(header + len, "%s", sep);
            if (i == place)
                len += (size_t)sprintf(header + len, "%s%s=%s%s",
                                       (style & 32) ? " " : "",
                                       SESSION_COOKIE, value,
                                       (style & 64) ? "\t " : "");
            else
                len += (size_t)sprintf(header + len, "%s",
                                       others[i < place ? i : i - 1]);
        }
        FUZZ_CHECK(insp_cookie_value(header, SESSION_COOKIE, got,
                                     sizeof(got)));
        FUZZ_CHECK(strcmp(got, value) == 0);
    }
    for (size_t i = 0; i < count; i++)
        free(others[i]);
    free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest = data;
    size_t rest_size = size;
    char *name = fuzz_next_line(&rest, &rest_size);
    char *header = fuzz_strndup(data, size);
    size_t small_cap = size > 0 ? 1 + data[size - 1] % 48 : 1;

    check_header(header, SESSION_COOKIE, small_cap);
    /* Any name works the same if it has no '=', ';' or leading blank. */
    if (name[0] != '\0' && !is_blank(name[0]) &&
        strpbrk(name, "=;") == NULL) {
        char *after_name = fuzz_strndup(rest, rest_size);

        check_header(after_name, name, small_cap);
        free(after_name);
    }
    check_present_once(data, size);
    free(name);
    free(header);
    return 0;
}
