/* SPDX-License-Identifier: MIT
 *
 * Fuzzes the request target parsers of common/http.c: the query string
 * splitter and decoder behind hg_req_query(), and the route matcher. The
 * first line of an input is a request path, the rest the raw query string.
 * Decoded names and values, percent-encoded again, must decode to the same
 * pairs. A matched path must be the route pattern with its parameters put
 * back in.
 */
#include <stdbool.h>

#include "common/http_parse.h"
#include "fuzz.h"

/* Patterns of the kind the gateway and inspector route tables hold. */
static const char *const patterns[] = {
    "/api/v1/integrations/{id}/events",
    "/api/v1/integrations/{id}/endpoints/{endpoint_id}",
    "/api/v1/integrations/{id}/endpoints/{endpoint_id}/deliveries/{delivery_id}",
    "/api/v1/sinks/{sink}/{a}/{b}/{c}",
    "/healthz",
};

/* Parses query with a request that has only the fields the parser reads;
 * the caller frees r->query and r->query_text. */
static void parse(hg_req *r, evhtp_request_t *req, evhtp_uri_t *uri,
                  char *query)
{
    memset(r, 0, sizeof(*r));
    memset(req, 0, sizeof(*req));
    memset(uri, 0, sizeof(*uri));
    uri->query_raw = (unsigned char *)query;
    req->uri = uri;
    r->req = req;
    FUZZ_CHECK(hg_http_parse_query(r));
}

/* Appends s percent-encoded, leaving only unreserved characters as they
 * are. */
static size_t encode(char *out, size_t pos, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~", c) != NULL) {
            out[pos++] = (char)c;
        } else {
            out[pos++] = '%';
            out[pos++] = hex[c >> 4];
            out[pos++] = hex[c & 15];
        }
    }
    return pos;
}

static void check_query(char *raw)
{
    hg_req r, again;
    evhtp_request_t req, req_again;
    evhtp_uri_t uri, uri_again;
    char *encoded = malloc(strlen(raw) * 3 + 2);
    size_t pos = 0, pairs = 0;

    FUZZ_CHECK(encoded != NULL);
    parse(&r, &req, &uri, raw);

    /* Empty pairs ("a&&b") are skipped. */
    for (char *p = raw; *p != '\0';) {
        size_t n = strcspn(p, "&");

        pairs += n > 0;
        p += n + (p[n] == '&');
    }
    FUZZ_CHECK((size_t)r.query_count == pairs);

    for (int i = 0; i < r.query_count; i++) {
        const char *first = hg_req_query(&r, r.query[i].name);

        FUZZ_CHECK(first != NULL);
        if (i > 0)
            encoded[pos++] = '&';
        pos = encode(encoded, pos, r.query[i].name);
        encoded[pos++] = '=';
        pos = encode(encoded, pos, r.query[i].value);
    }
    encoded[pos] = '\0';

    parse(&again, &req_again, &uri_again, encoded);
    FUZZ_CHECK(again.query_count == r.query_count);
    for (int i = 0; i < r.query_count; i++) {
        FUZZ_CHECK(strcmp(again.query[i].name, r.query[i].name) == 0);
        FUZZ_CHECK(strcmp(again.query[i].value, r.query[i].value) == 0);
    }
    free(again.query);
    free(again.query_text);
    free(r.query);
    free(r.query_text);
    free(encoded);
}

/* Rebuilds the path from the pattern and the parameters. */
static void check_route(const char *pattern, const char *path)
{
    char params[HG_MAX_PARAMS][HG_PARAM_MAX];
    char rebuilt[4096];
    size_t pos = 0;
    int n = 0;

    if (!hg_http_match_route(pattern, path, params))
        return;
    for (const char *p = pattern; *p != '\0' && pos < sizeof(rebuilt) - 1;) {
        if (*p == '{') {
            FUZZ_CHECK(n < HG_MAX_PARAMS);
            FUZZ_CHECK(params[n][0] != '\0' && strchr(params[n], '/') == NULL);
            pos += (size_t)snprintf(rebuilt + pos, sizeof(rebuilt) - pos,
                                    "%s", params[n++]);
            p = strchr(p, '}') + 1;
        } else {
            rebuilt[pos++] = *p++;
        }
    }
    rebuilt[pos] = '\0';
    FUZZ_CHECK(strcmp(rebuilt, path) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fuzz_next_line(&data, &size);
    char *query = fuzz_strndup(data, size);

    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        check_route(patterns[i], path);
    check_query(query);
    free(path);
    free(query);
    return 0;
}
