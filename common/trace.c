/* SPDX-License-Identifier: MIT */
#include "common/trace.h"

#include <stdio.h>
#include <string.h>

#include "common/crypto.h"

static int lower_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Checks that s starts with n lower-case hex digits, not all zero when
 * nonzero is set. */
static bool hex_field(const char *s, size_t n, bool nonzero)
{
    bool any = false;

    for (size_t i = 0; i < n; i++) {
        if (lower_hex_value(s[i]) < 0)
            return false;
        any = any || s[i] != '0';
    }
    return any || !nonzero;
}

bool hg_traceparent_parse(const char *s, char trace_id[HG_TRACE_ID_LEN + 1],
                          char parent_id[HG_SPAN_ID_LEN + 1], uint8_t *flags)
{
    size_t len;

    if (s == NULL)
        return false;
    len = strlen(s);
    if (len < HG_TRACEPARENT_LEN || !hex_field(s, 2, false))
        return false;
    if (strncmp(s, "ff", 2) == 0)
        return false;
    /* Version 00 has exactly four fields; a later version may append
     * fields, each introduced by "-". */
    if (strncmp(s, "00", 2) == 0 ? len != HG_TRACEPARENT_LEN
                                 : len > HG_TRACEPARENT_LEN && s[55] != '-')
        return false;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return false;
    if (!hex_field(s + 3, HG_TRACE_ID_LEN, true) ||
        !hex_field(s + 36, HG_SPAN_ID_LEN, true) ||
        !hex_field(s + 53, 2, false))
        return false;

    memcpy(trace_id, s + 3, HG_TRACE_ID_LEN);
    trace_id[HG_TRACE_ID_LEN] = '\0';
    memcpy(parent_id, s + 36, HG_SPAN_ID_LEN);
    parent_id[HG_SPAN_ID_LEN] = '\0';
    *flags = (uint8_t)(lower_hex_value(s[53]) << 4 | lower_hex_value(s[54]));
    return true;
}

void hg_traceparent_format(const char *trace_id, const char *span_id,
                           uint8_t flags, char *out)
{
    snprintf(out, HG_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-%02x", trace_id,
             span_id, flags & HG_TRACE_FLAG_SAMPLED);
}

/* ---- tracestate --------------------------------------------------------- */

static bool is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_key_char(char c)
{
    return is_lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '*' || c == '/';
}

/* key = lcalpha 0*255(keychar), or tenant "@" system where tenant is
 * (lcalpha / DIGIT) 0*240(keychar) and system is lcalpha 0*13(keychar). */
static bool key_valid(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    size_t tenant_len, system_len;

    if (at == NULL) {
        if (n == 0 || n > 256 || !is_lcalpha(k[0]))
            return false;
        for (size_t i = 1; i < n; i++) {
            if (!is_key_char(k[i]))
                return false;
        }
        return true;
    }
    tenant_len = (size_t)(at - k);
    system_len = n - tenant_len - 1;
    if (tenant_len == 0 || tenant_len > 241 || system_len == 0 ||
        system_len > 14 || !is_lcalpha(at[1]) ||
        !(is_lcalpha(k[0]) || (k[0] >= '0' && k[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (i != tenant_len && !is_key_char(k[i]))
            return false;
    }
    return true;
}

/* value = 0*255(chr) nblk-chr: printable ASCII except "," and "=", where
 * only the last character may not be a space. */
static bool value_valid(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* One member of a tracestate list, as offsets into the normalized output. */
typedef struct member_span {
    size_t key_at;
    size_t key_len;
} member_span;

static bool key_seen(const char *out, const member_span *seen, int count,
                     const char *key, size_t key_len)
{
    for (int i = 0; i < count; i++) {
        if (seen[i].key_len == key_len &&
            memcmp(out + seen[i].key_at, key, key_len) == 0)
            return true;
    }
    return false;
}

bool hg_tracestate_normalize(const char *s, char *out, size_t cap)
{
    member_span seen[HG_TRACESTATE_MEMBERS_MAX];
    int count = 0;
    size_t pos = 0;

    if (cap == 0)
        return false;
    out[0] = '\0';
    if (s == NULL)
        return true;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        const char *next = s[len] == ',' ? s + len + 1 : s + len;
        const char *eq;
        size_t key_len, value_len, need;

        /* Optional white space around the member; a member of only white
         * space is empty and left out. */
        while (len > 0 && is_ows(*s)) {
            s++;
            len--;
        }
        while (len > 0 && is_ows(s[len - 1]))
            len--;
        if (len == 0) {
            s = next;
            continue;
        }

        eq = memchr(s, '=', len);
        if (eq == NULL)
            return false;
        key_len = (size_t)(eq - s);
        value_len = len - key_len - 1;
        if (!key_valid(s, key_len) || !value_valid(eq + 1, value_len))
            return false;
        if (count == HG_TRACESTATE_MEMBERS_MAX ||
            key_seen(out, seen, count, s, key_len))
            return false;
        need = pos + (pos > 0) + len;
        if (need >= cap || need > HG_TRACESTATE_MAX)
            return false;

        if (pos > 0)
            out[pos++] = ',';
        seen[count].key_at = pos;
        seen[count].key_len = key_len;
        count++;
        memcpy(out + pos, s, len);
        pos += len;
        out[pos] = '\0';
        s = next;
    }
    return true;
}

/* ---- trace context ------------------------------------------------------ */

int hg_trace_random_hex(size_t nbytes, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t bytes[32];

    if (nbytes == 0 || nbytes > sizeof(bytes) ||
        hg_random_bytes(bytes, nbytes) != 0) {
        out[0] = '\0';
        return -1;
    }
    /* An all-zero id is invalid, so the last bit is forced on. */
    bytes[nbytes - 1] |= 1;
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return 0;
}

bool hg_trace_begin(hg_trace *t, const char *traceparent,
                    const char *tracestate)
{
    bool valid = hg_traceparent_parse(traceparent, t->trace_id, t->parent_id,
                                      &t->flags);

    /* A tracestate belongs to the trace of its traceparent, so it goes when
     * the traceparent is replaced. */
    if (!valid || !hg_tracestate_normalize(tracestate, t->tracestate,
                                           sizeof(t->tracestate)))
        t->tracestate[0] = '\0';
    if (!valid) {
        hg_trace_random_hex(HG_TRACE_ID_LEN / 2, t->trace_id);
        t->parent_id[0] = '\0';
        t->flags = HG_TRACE_FLAG_SAMPLED;
    }
    hg_trace_random_hex(HG_SPAN_ID_LEN / 2, t->span_id);
    return valid;
}

void hg_trace_new_span(hg_trace *t)
{
    memcpy(t->parent_id, t->span_id, sizeof(t->parent_id));
    hg_trace_random_hex(HG_SPAN_ID_LEN / 2, t->span_id);
}

void hg_trace_format(const hg_trace *t, char *out)
{
    hg_traceparent_format(t->trace_id, t->span_id, t->flags, out);
}
