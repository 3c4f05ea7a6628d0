/* SPDX-License-Identifier: MIT */
#include "common/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

size_t hg_utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (i + n > len)
            return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return i;
        i += n;
    }
    return i;
}

void hg_json_set_body(json_t *o, const char *name, const char *body,
                      size_t len, bool cut)
{
    const unsigned char *b = (const unsigned char *)body;
    size_t valid = hg_utf8_valid_prefix(b, len);
    char encoding_name[64];
    size_t cap;
    char *encoded;

    /* A NUL costs six bytes as \u0000 in JSON, so binary bodies are
     * stored as base64 instead. */
    bool binary = memchr(body, '\0', len) != NULL;

    if (!binary && (valid == len || (cut && len - valid < 4 &&
                                     b[valid] >= 0xc2 && b[valid] <= 0xf4))) {
        json_object_set_new(o, name, json_stringn(body, valid));
        return;
    }
    cap = 4 * ((len + 2) / 3) + 1;
    encoded = malloc(cap);
    if (encoded == NULL)
        return;
    hg_base64_encode(b, len, encoded, cap);
    json_object_set_new(o, name, json_string(encoded));
    snprintf(encoding_name, sizeof(encoding_name), "%s_encoding", name);
    json_object_set_new(o, encoding_name, json_string("base64"));
    free(encoded);
}

void hg_text_sanitize(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t o = 0;

    while (len > 0 && o + 5 < cap) {
        size_t valid = hg_utf8_valid_prefix(p, len);

        for (size_t i = 0; i < valid && o + 5 < cap; i++)
            out[o++] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
        if (valid == len)
            break;
        out[o++] = '?';
        p += valid + 1;
        len -= valid + 1;
    }
    out[o] = '\0';
    /* A cut at the end of the buffer may split a character. */
    out[hg_utf8_valid_prefix((const unsigned char *)out, o)] = '\0';
}


int hg_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long hg_percent_decode(const char *src, size_t len, char *dst, size_t cap,
                       unsigned flags)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];

        if (c == '%') {
            int hi = i + 2 < len ? hg_hex_value(src[i + 1]) : -1;
            int lo = hi >= 0 ? hg_hex_value(src[i + 2]) : -1;

            if (lo >= 0 && (hi | lo) != 0) {
                c = hi << 4 | lo;
                i += 2;
            } else if ((flags & HG_PCT_LENIENT) == 0) {
                return -1;
            }
        } else if (c == '+' && (flags & HG_PCT_PLUS) != 0) {
            c = ' ';
        } else if (c == '\0' && (flags & HG_PCT_LENIENT) == 0) {
            return -1;
        }
        if (dst != NULL) {
            if (n + 1 >= cap)
                return -1;
            dst[n] = (char)c;
        }
        n++;
    }
    if (dst != NULL) {
        if (n >= cap)
            return -1;
        dst[n] = '\0';
    }
    return (long)n;
}

const char *hg_http_trim_ows(const char *value, size_t *len)
{
    size_t n;

    value += strspn(value, " \t");
    n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    *len = n;
    return value;
}

bool hg_http_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool hg_http_token_valid(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!hg_http_tchar((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool hg_text_has_c1_control(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if ((unsigned char)text[i] == 0xC2 &&
            (unsigned char)text[i + 1] >= 0x80 &&
            (unsigned char)text[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

bool hg_http_field_value_valid(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];

        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return false;
    }
    return true;
}
