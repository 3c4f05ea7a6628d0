/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the request header parsers of common/http.c: the bearer token of
 * Authorization, the JSON media type check, the X-Request-Id check and the
 * Content-Length framing check. An input is a header block, one
 * "Name: value" line each, which becomes the request's header list as
 * libevhtp would build it. Each parser's result is compared with what the
 * header values allow.
 */
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

static void check_framing(evhtp_headers_t *headers)
{
    unsigned long long length = 12345;
    bool has_length = true;
    const char *error = hg_http_framing_error(headers, &length, &has_length);
    const char *value = NULL;
    bool te = false;
    evhtp_kv_t *kv;

    TAILQ_FOREACH(kv, headers, next) {
        if (strcasecmp(kv->key, "Content-Length") == 0 && value == NULL)
            value = kv->val;
        te = te || strcasecmp(kv->key, "Transfer-Encoding") == 0;
    }
    if (error != NULL)
        return;
    FUZZ_CHECK(has_length == (value != NULL));
    if (!has_length)
        return;
    FUZZ_CHECK(!te);
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
