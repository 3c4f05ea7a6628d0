/* SPDX-License-Identifier: MIT
 *
 * iCalendar content lines (RFC 5545 section 3.1): escaping of TEXT values
 * and folding at 75 octets. See ical.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ical.h"

#define LINE_MAX_OCTETS 75

static void put(hg_ical *c, const char *s, size_t n)
{
    if (c->failed)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        char *grown;

        while (c->len + n + 1 > cap)
            cap *= 2;
        grown = realloc(c->data, cap);
        if (grown == NULL) {
            c->failed = true;
            return;
        }
        c->data = grown;
        c->cap = cap;
    }
    memcpy(c->data + c->len, s, n);
    c->len += n;
    c->data[c->len] = '\0';
}

/* Length of the UTF-8 sequence that starts with byte b (1 for a stray
 * continuation byte, so the loop always advances). */
static size_t seq_len(unsigned char b)
{
    if (b >= 0xF0)
        return 4;
    if (b >= 0xE0)
        return 3;
    if (b >= 0xC0)
        return 2;
    return 1;
}

/* Writes line (without CRLF) folded: the first physical line holds up to
 * 75 octets, each continuation a space and up to 74. */
static void put_folded(hg_ical *c, const char *line, size_t n)
{
    size_t used = 0;

    for (size_t i = 0; i < n;) {
        size_t k = seq_len((unsigned char)line[i]);

        if (i + k > n)
            k = n - i;
        if (used + k > LINE_MAX_OCTETS) {
            put(c, "\r\n ", 3);
            used = 1;
        }
        put(c, line + i, k);
        used += k;
        i += k;
    }
    put(c, "\r\n", 2);
}

void hg_ical_line(hg_ical *c, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    char *line = malloc(nl + vl + 2);

    if (line == NULL) {
        c->failed = true;
        return;
    }
    memcpy(line, name, nl);
    line[nl] = ':';
    memcpy(line + nl + 1, value, vl + 1);
    put_folded(c, line, nl + vl + 1);
    free(line);
}

char *hg_ical_escape(const char *text)
{
    /* Each input byte becomes at most two output bytes. */
    char *out = malloc(strlen(text) * 2 + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (const char *p = text; *p; p++) {
        unsigned char ch = (unsigned char)*p;

        if (ch == '\\' || ch == ';' || ch == ',') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch == '\r' || ch == '\n') {
            /* CRLF is one line break. */
            if (ch == '\r' && p[1] == '\n')
                p++;
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (ch < 0x20 && ch != '\t') {
            continue;
        } else if (ch == 0x7f) {
            continue;
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
    return out;
}

void hg_ical_text(hg_ical *c, const char *name, const char *text)
{
    char *escaped = hg_ical_escape(text);

    if (escaped == NULL) {
        c->failed = true;
        return;
    }
    hg_ical_line(c, name, escaped);
    free(escaped);
}

char *hg_ical_format_time(int64_t ms, char out[HG_ICAL_TIME_BUF])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0 || gmtime_r(&secs, &tm) == NULL ||
        strftime(out, HG_ICAL_TIME_BUF, "%Y%m%dT%H%M%SZ", &tm) == 0)
        snprintf(out, HG_ICAL_TIME_BUF, "19700101T000000Z");
    return out;
}

void hg_ical_time(hg_ical *c, const char *name, int64_t ms)
{
    char text[HG_ICAL_TIME_BUF];

    hg_ical_line(c, name, hg_ical_format_time(ms, text));
}

void hg_ical_free(hg_ical *c)
{
    free(c->data);
    c->data = NULL;
    c->len = 0;
    c->cap = 0;
}
