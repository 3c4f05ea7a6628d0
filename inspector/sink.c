/* SPDX-License-Identifier: MIT
 *
 * Sinks: test endpoints at /sink/{sink_id}. Every request is recorded
 * (method, path, query, headers, raw body, source address, time) and
 * gets 200 once Redis stored it; if Redis is away the sink responds 503,
 * so hookgate retries the delivery instead of losing the capture.
 * Authorization header values are redacted before they are stored.
 * NOTE: a sink is named after an integration ("sandbox"); sinks with
 * their own names and scripted answers are not built yet.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/text.h"
#include "inspector/inspector.h"

#define CAPTURE_TTL_S (7 * 86400)
/* Body bytes stored per capture. */
#define SINK_BODY_MAX (256 * 1024)

typedef struct capture_state {
    char id[HG_ID_MAX];
} capture_state;

static int add_header(evhtp_kv_t *kv, void *arg)
{
    json_t *headers = arg;
    const char *value = kv->val ? kv->val : "";
    char name[256];
    size_t n = kv->key ? strlen(kv->key) : 0;
    json_t *prior;

    if (n == 0 || n >= sizeof(name))
        return 0;
    for (size_t i = 0; i <= n; i++)
        name[i] = (char)tolower((unsigned char)kv->key[i]);
    if (strcmp(name, "authorization") == 0 ||
        strcmp(name, "proxy-authorization") == 0 ||
        strcmp(name, "cookie") == 0)
        value = "[redacted]";
    if (hg_utf8_valid_prefix((const unsigned char *)value, strlen(value)) !=
        strlen(value))
        value = "[not UTF-8]";
    prior = json_object_get(headers, name);
    if (prior != NULL) {
        char *joined = NULL;

        if (asprintf(&joined, "%s, %s", json_string_value(prior), value) > 0)
            json_object_set_new(headers, name, json_string(joined));
        free(joined);
    } else {
        json_object_set_new(headers, name, json_string(value));
    }
    return 0;
}

static void on_stored(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    capture_state *s = r->data;

    if (insp_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (strcmp(reply->str, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "sink %s does not exist: a sink is named after an "
                         "integration",
                         r->params[0]);
    } else {
        hg_reply_json(r, 200, json_pack("{s:b, s:s}", "received", 1,
                                        "capture_id", s->id));
    }
    hg_req_release(r);
}

static char *activity_record(const char *sink_id, const char *capture_id,
                             const char *method, const char *received_at,
                             const char *webhook_id, size_t body_len)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind",
                          "capture", "sink_id", sink_id, "capture_id",
                          capture_id, "method", method, "received_at",
                          received_at, "body_bytes", (json_int_t)body_len);
    char *text;

    json_object_set_new(o, "webhook_id",
                        webhook_id ? json_string(webhook_id) : json_null());
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

void insp_sink_receive(hg_req *r)
{
    const char *sink_id = r->params[0];
    capture_state *s;
    json_t *capture, *headers;
    char received_at[HG_TIME_BUF], source[80], key[HG_KEY_MAX];
    char limit[16], ttl[16], maxlen[16];
    const char *method = htparser_get_methodstr_m(r->req->method);
    const char *query = r->req->uri->query_raw ? (const char *)r->req->uri
                                                     ->query_raw
                                               : "";
    size_t body_len;
    const char *body = hg_req_body(r, &body_len);
    char *capture_text, *record;
    char path[2048], query_text[4096];

    if (!hg_integration_id_valid(sink_id)) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "sink ids match [a-z0-9][a-z0-9_-]{0,62}");
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free;
    hg_id_new("cap_", s->id);
    hg_time_format(hg_time_ms(), received_at);

    headers = json_object();
    evhtp_kvs_for_each(r->req->headers_in, add_header, headers);
    hg_text_sanitize(hg_req_path(r), path, sizeof(path));
    hg_text_sanitize(query, query_text, sizeof(query_text));
    capture = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I}", "id",
                        s->id, "sink_id", sink_id, "method", method, "path",
                        path, "query", query_text, "headers", headers,
                        "source", hg_req_peer(r, source, sizeof(source)),
                        "received_at", received_at, "body_bytes",
                        (json_int_t)body_len);
    /* Only the start of a large body is kept, like a delivery's response. */
    hg_json_set_body(capture, "body", body,
                     body_len > SINK_BODY_MAX ? SINK_BODY_MAX : body_len,
                     body_len > SINK_BODY_MAX);
    json_object_set_new(capture, "body_truncated",
                        json_boolean(body_len > SINK_BODY_MAX));
    capture_text = json_dumps(capture, JSON_COMPACT);
    record = activity_record(sink_id, s->id, method, received_at,
                             hg_req_header(r, "webhook-id"), body_len);
    json_decref(capture);
    if (capture_text == NULL || record == NULL) {
        free(capture_text);
        free(record);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "failed to encode capture");
        return;
    }

    snprintf(key, sizeof(key), "hg:sink:{%s}:captures", sink_id);
    snprintf(limit, sizeof(limit), "%d", insp->cfg->sink_capture_limit);
    snprintf(ttl, sizeof(ttl), "%d", CAPTURE_TTL_S);
    snprintf(maxlen, sizeof(maxlen), "%d", insp->cfg->activity_maxlen);
    char k_int[HG_KEY_MAX];
    const char *argv[] = {key, HG_KEY_ACTIVITY,
                          hg_key(k_int, sink_id, "integration"),
                          capture_text, limit, ttl, record, maxlen, sink_id};
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_capture, 0, on_stored, r, 3, 9,
                  argv, NULL);
    free(capture_text);
    free(record);
}
