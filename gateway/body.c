/* SPDX-License-Identifier: MIT
 *
 * Reading JSON request bodies of the management routes (not of published
 * events, which are never parsed into a tree).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/text.h"
#include "gateway/gateway.h"

bool gw_is_json_media_type(const char *content_type)
{
    size_t n;

    if (content_type == NULL)
        return false;
    n = strcspn(content_type, "; \t");
    if (n == 16 && strncasecmp(content_type, "application/json", 16) == 0)
        return true;
    /* Structured syntax suffix (RFC 6839), as in
     * application/cloudevents+json: a subtype name before "+json". */
    return n > 17 && strncasecmp(content_type, "application/", 12) == 0 &&
           strncasecmp(content_type + n - 5, "+json", 5) == 0 &&
           memchr(content_type + 12, '/', n - 12) == NULL;
}

json_t *gw_json_body(hg_req *r)
{
    size_t len;
    const char *body;
    json_error_t err;
    json_t *json;

    if (!gw_is_json_media_type(hg_req_header(r, "Content-Type"))) {
        hg_reply_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE,
                         "send the body as Content-Type: application/json");
        return NULL;
    }
    body = hg_req_body(r, &len);
    json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (json == NULL) {
        /* jansson names its own flag for this case, which means nothing
         * to a caller. */
        bool nul = json_error_code(&err) == json_error_null_character;

        hg_reply_problem(r, HG_E_MALFORMED_JSON,
                         "invalid JSON at line %d, column %d: %s", err.line,
                         err.column,
                         nul ? "a string contains \\u0000, which is not "
                               "allowed"
                             : err.text);
        return NULL;
    }
    if (!json_is_object(json)) {
        json_decref(json);
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "the body must be a JSON object");
        return NULL;
    }
    return json;
}

bool gw_redis_failed(hg_req *r, hg_redis_status status,
                     const redisReply *reply)
{
    if (status == HG_REDIS_OK && !hg_reply_is_error(reply))
        return false;
    if (status == HG_REDIS_OK) {
        hg_log_fields f = {.correlation_id = r->request_id,
                           .error = reply->str};
        const char *passing = hg_redis_error_transient(reply->str);

        if (passing != NULL) {
            hg_reply_unavailable(r, passing);
            return true;
        }
        hg_error(&f, "Redis answered an error");
        hg_reply_problem(r, HG_E_INTERNAL_ERROR,
                         "the store rejected the request");
        return true;
    }
    hg_reply_unavailable(r, hg_redis_status_text(status));
    return true;
}

bool gw_query_limit(hg_req *r, int fallback, int max, int *out)
{
    const char *v = hg_req_query(r, "limit");
    char *end;
    long n;

    *out = fallback;
    if (v == NULL)
        return true;
    n = strtol(v, &end, 10);
    if (*end != '\0' || v[0] == '\0' || n < 1 || n > max) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"limit\" must be an integer from 1 to %d", max);
        return false;
    }
    *out = (int)n;
    return true;
}

bool gw_parse_time(const char *text, long long *ms)
{
    int64_t v;

    /* Query values arrive decoded (hg_req_query), so text is not decoded
     * again: a value sent as %252B is the text %2B, not a "+". */
    if (hg_time_parse(text, &v) != 0)
        return false;
    *ms = v;
    return true;
}

int gw_query_decode(const char *in, char *out, size_t cap)
{
    return hg_percent_decode(in, strlen(in), out, cap, HG_PCT_PLUS) < 0 ? -1
                                                                         : 0;
}
