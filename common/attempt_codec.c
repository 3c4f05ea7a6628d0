/* SPDX-License-Identifier: MIT */
#include "common/attempt_codec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define PACKED_PREFIX "z1:"
#define PACKED_PREFIX_LEN 3
/* Raw deflate (no zlib header or checksum) with a 32 KiB window. */
#define WINDOW_BITS (-15)

/* What attempt records repeat: their member names in the order the worker
 * writes them, the headers it sends, and common response headers and
 * values. deflate finds matches nearer the end more cheaply, so the most
 * common text comes last. Records stored as "z1:" were packed with exactly
 * these bytes: changing them needs a new prefix. */
static const char dictionary[] =
    "\"error_message\":\"HTTP 500\",\"error_class\":\"timeout\","
    "\"error_class\":\"connect\",\"error_class\":\"dns\","
    "\"error_class\":\"blocked_by_policy\",\"response_body_encoding\":"
    "\"base64\",\"http_status\":502,\"http_status\":503,"
    "\"http_status\":404,\"http_status\":204,\"http_status\":201,"
    "\"manual\":true,\"tracestate\":\"\",\"content-type\":\"text/plain; "
    "charset=utf-8\",\"content-type\":\"text/html\",\"server\":\"nginx\","
    "\"transfer-encoding\":\"chunked\",\"x-request-id\":\"\","
    "\"cache-control\":\"no-cache\",\"keep-alive\":\"timeout=5\","
    "\"content-type\":\"application/json; charset=utf-8\","
    "\"started_at\":\"2026-01-01T00:00:00.000Z\",\"duration_ms\":1,"
    "\"http_status\":200,\"error_class\":null,\"error_message\":null,"
    "\"manual\":false,\"url\":\"https://\",\"url\":\"http://127.0.0.1:"
    "\",\"request_headers\":{\"content-type\":\"application/json\","
    "\"user-agent\":\"hookgate/0.1.0\",\"webhook-id\":\"evt_01\","
    "\"webhook-timestamp\":\"17\",\"webhook-signature\":\"v1,\","
    "\"traceparent\":\"00-\"},\"response_headers\":{\"content-length\":"
    "\"0\",\"date\":\"Mon, 01 Jan 2026 00:00:00 GMT\",\"connection\":"
    "\"keep-alive\",\"keep-alive\":\"timeout=60\"},\"response_body\":\"\","
    "\"response_truncated\":false,\"response_complete\":true}";

struct hg_attempt_packer {
    z_stream z;
};

hg_attempt_packer *hg_attempt_packer_new(void)
{
    hg_attempt_packer *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    /* Level 1: the dictionary does most of the work. Level 6 made the
     * 688-byte sample of the unit test 207 bytes instead of 219. */
    if (deflateInit2(&p->z, 1, Z_DEFLATED, WINDOW_BITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(p);
        return NULL;
    }
    return p;
}

void hg_attempt_packer_free(hg_attempt_packer *p)
{
    if (p == NULL)
        return;
    deflateEnd(&p->z);
    free(p);
}

unsigned char *hg_attempt_pack(hg_attempt_packer *p, const char *json,
                               size_t len, size_t *out_len)
{
    unsigned char *out;
    uLong cap;

    if (len > HG_ATTEMPT_UNPACKED_MAX || deflateReset(&p->z) != Z_OK ||
        deflateSetDictionary(&p->z, (const Bytef *)dictionary,
                             sizeof(dictionary) - 1) != Z_OK)
        return NULL;
    cap = deflateBound(&p->z, (uLong)len);
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    p->z.next_in = (Bytef *)(uintptr_t)json;
    p->z.avail_in = (uInt)len;
    p->z.next_out = out;
    p->z.avail_out = (uInt)cap;
    if (deflate(&p->z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_len = cap - p->z.avail_out;
    return out;
}

/* Inflates a packed body into a malloc'ed, NUL-terminated text of at most
 * HG_ATTEMPT_UNPACKED_MAX bytes. Returns NULL for damaged input. */
static char *inflate_body(const unsigned char *in, size_t len,
                          size_t *text_len)
{
    z_stream z;
    size_t cap = 4096, used = 0;
    char *text = malloc(cap);
    int rc = Z_OK;

    memset(&z, 0, sizeof(z));
    if (text == NULL || inflateInit2(&z, WINDOW_BITS) != Z_OK) {
        free(text);
        return NULL;
    }
    /* A raw stream does not name its dictionary, so inflate() never
     * requests it, and it is set before the first call. */
    if (inflateSetDictionary(&z, (const Bytef *)dictionary,
                             sizeof(dictionary) - 1) != Z_OK) {
        inflateEnd(&z);
        free(text);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    while (rc != Z_STREAM_END) {
        if (used + 1 >= cap) {
            char *grown;

            if (cap >= HG_ATTEMPT_UNPACKED_MAX + 1)
                break;
            cap = cap * 2 > HG_ATTEMPT_UNPACKED_MAX + 1
                      ? HG_ATTEMPT_UNPACKED_MAX + 1
                      : cap * 2;
            grown = realloc(text, cap);
            if (grown == NULL)
                break;
            text = grown;
        }
        z.next_out = (Bytef *)text + used;
        z.avail_out = (uInt)(cap - 1 - used);
        rc = inflate(&z, Z_NO_FLUSH);
        used = cap - 1 - z.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        /* No progress with output room left: the input ended early. */
        if (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0)
            break;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || z.avail_in != 0) {
        free(text);
        return NULL;
    }
    text[used] = '\0';
    *text_len = used;
    return text;
}

json_t *hg_attempt_unpack(const char *record, size_t len)
{
    const char *colon;
    char *end, *text;
    size_t text_len;
    long long number;
    json_t *body, *out;

    if (record == NULL)
        return NULL;
    if (len < PACKED_PREFIX_LEN ||
        memcmp(record, PACKED_PREFIX, PACKED_PREFIX_LEN) != 0) {
        body = json_loadb(record, len, JSON_ALLOW_NUL, NULL);
        if (!json_is_object(body)) {
            json_decref(body);
            return NULL;
        }
        return body;
    }
    colon = memchr(record + PACKED_PREFIX_LEN, ':', len - PACKED_PREFIX_LEN);
    if (colon == NULL || colon == record + PACKED_PREFIX_LEN ||
        colon - record > PACKED_PREFIX_LEN + 10)
        return NULL;
    /* Digits only: strtoll() alone would take a sign or spaces. */
    for (const char *c = record + PACKED_PREFIX_LEN; c < colon; c++) {
        if (*c < '0' || *c > '9')
            return NULL;
    }
    errno = 0;
    number = strtoll(record + PACKED_PREFIX_LEN, &end, 10);
    if (end != colon || errno != 0 || number < 1)
        return NULL;
    text = inflate_body((const unsigned char *)colon + 1,
                        len - (size_t)(colon + 1 - record), &text_len);
    if (text == NULL)
        return NULL;
    body = json_loadb(text, text_len, JSON_ALLOW_NUL, NULL);
    free(text);
    if (!json_is_object(body)) {
        json_decref(body);
        return NULL;
    }
    out = json_pack("{s:I}", "attempt", (json_int_t)number);
    json_object_del(body, "attempt");
    json_object_update(out, body);
    json_decref(body);
    return out;
}
