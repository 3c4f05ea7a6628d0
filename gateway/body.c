/* SPDX-License-Identifier: MIT
 *
 * Reading JSON request bodies of the management routes (not of published
 * events, which are never parsed into a tree).
 */
#include <string.h>
#include <strings.h>

#include "gateway/gateway.h"

bool gw_is_json_media_type(const char *content_type)
{
    size_t n;
    const char *slash;

    if (content_type == NULL)
        return false;
    n = strcspn(content_type, "; \t");
    if (n == 16 && strncasecmp(content_type, "application/json", 16) == 0)
        return true;
    /* Structured syntax suffix, as in application/cloudevents+json. */
    slash = memchr(content_type, '/', n);
    return slash != NULL && n >= 17 &&
           strncasecmp(content_type, "application/", 12) == 0 &&
           strncasecmp(content_type + n - 5, "+json", 5) == 0;
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
        hg_reply_problem(r, HG_E_MALFORMED_JSON,
                         "invalid JSON at line %d, column %d: %s", err.line,
                         err.column, err.text);
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

        hg_error(&f, "Redis answered an error");
        hg_reply_problem(r, HG_E_INTERNAL_ERROR,
                         "the store rejected the request");
        return true;
    }
    hg_reply_unavailable(r, hg_redis_status_text(status));
    return true;
}
