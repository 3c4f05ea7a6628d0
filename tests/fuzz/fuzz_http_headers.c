/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the request header parsers of common/http.c: the bearer token of
 * Authorization, the JSON media type check, the X-Request-Id check and the
 * framing check (header names, Content-Length, Transfer-Encoding). An
 * input is a header block, one "Name: value" line each, which becomes the request's header list as
 * libevhtp would build it. Each parser's result is compared with what the
 * header values allow.
 */
#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include "common/http_parse.h"
#include "fuzz.h"

#define HEADERS_MAX 16

static void check_bearer(const hg_req *r)
{
    const char *h = hg_req_header(r, "Authorization");
    char token[64], big[1024];

    if (hg_req_bearer(r, token, sizeof(token))) {
        FUZZ_CHECK(h != NULL && strncasecmp(h, "Bearer ", 7) == 0);
        FUZZ_CHECK(token[0] != '\0' && strpbrk(token, " \t") == NULL);
        FUZZ_CHECK(strlen(token) < sizeof(token));
        /* The token is the end of the value after "Bearer" and spaces. */
        FUZZ_CHECK(strcmp(h + strlen(h) - strlen(token), token) == 0);
        FUZZ_CHECK(strspn(h + 6, " ") == strlen(h) - 6 - strlen(token));
        FUZZ_CHECK(hg_req_bearer(r, big, sizeof(big)));
        FUZZ_CHECK(strcmp(big, token) == 0);
    }
    /* One byte of room holds only the NUL, so no token fits. */
    FUZZ_CHECK(!hg_req_bearer(r, token, 1));
}

static void check_request_id(const hg_req *r)
{
    const char *id = hg_req_header(r, "X-Request-Id");
    size_t n;

    if (id == NULL || !hg_http_request_id_valid(id))
        return;
    n = strlen(id);
    FUZZ_CHECK(n >= 1 && n <= HG_REQUEST_ID_MAX);
    FUZZ_CHECK(strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-_.:") == n);
}

static bool is_token(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
            return false;
    }
    return true;
}

/* An accepted header list frames its body one way only: every name is a
 * token, and either one Content-Length value of digits (repeats must be
 * equal), or one Transfer-Encoding that libevhtp reads as chunked, or
 * neither. */
static void check_framing(evhtp_headers_t *headers)
{
    unsigned long long length = 12345;
    bool has_length = true;
    const char *error = hg_http_framing_error(headers, &length, &has_length);
    const char *value = NULL;
    int te = 0;
    bool te_chunked = true, names_ok = true;
    evhtp_kv_t *kv;

    TAILQ_FOREACH(kv, headers, next) {
        names_ok = names_ok && is_token(kv->key);
        if (strcasecmp(kv->key, "Content-Length") == 0) {
            if (value != NULL && strcmp(value, kv->val) != 0)
                FUZZ_CHECK(error != NULL);
            if (value == NULL)
                value = kv->val;
        }
        if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
            te++;
            te_chunked = te_chunked && (strcmp(kv->val, "chunked") == 0 ||
                                        strcmp(kv->val, "Chunked") == 0);
        }
    }
    if (!names_ok || te > 1 || !te_chunked)
        FUZZ_CHECK(error != NULL);
    if (error != NULL)
        return;
    FUZZ_CHECK(has_length == (value != NULL));
    if (!has_length)
        return;
    FUZZ_CHECK(te == 0);
    FUZZ_CHECK(value[0] != '\0' && strspn(value, "0123456789") == strlen(value));
    FUZZ_CHECK(length == strtoull(value, NULL, 10));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    evhtp_headers_t *headers = evhtp_headers_new();
    evhtp_request_t req;
    hg_req r;
    const char *type;

    FUZZ_CHECK(headers != NULL);
    for (int i = 0; i < HEADERS_MAX && size > 0; i++) {
        char *line = fuzz_next_line(&data, &size);
        char *colon = strchr(line, ':');

        if (colon != NULL) {
            *colon = '\0';
            evhtp_headers_add_header(
                headers, evhtp_header_new(line, colon + 1 + strspn(colon + 1, " "),
                                          1, 1));
        }
        free(line);
    }

    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    req.headers_in = headers;
    r.req = &req;

    check_bearer(&r);
    check_request_id(&r);
    check_framing(headers);
    type = hg_req_header(&r, "Content-Type");
    if (hg_req_is_json(&r))
        FUZZ_CHECK(strncasecmp(type, "application/json", 16) == 0);

    evhtp_headers_free(headers);
    return 0;
}
