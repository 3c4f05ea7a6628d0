/* SPDX-License-Identifier: MIT
 *
 * Event routes. Publishing validates the body in one pass (it is stored and
 * delivered byte for byte, never re-serialised), matches the event type
 * against a per-thread cached copy of the integration's endpoint list, and
 * runs publish.lua, which writes the event, its deliveries and their work
 * entries atomically. If the endpoint list changed since it was cached, the
 * script refuses and the list is read again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/json_intake.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/typefilter.h"
#include "common/views.h"
#include "gateway/gateway.h"

#define IDEMPOTENCY_KEY_MAX 255
#define IDEMPOTENCY_TTL_S "86400"
#define STALE_RETRIES 3
#define TRACEPARENT_LEN 55

typedef struct publish_state {
    const char *body; /* the request's buffer; valid until the reply */
    size_t len;
    char type[HG_EVENT_TYPE_MAX + 1];
    char event_id[HG_ID_MAX];
    char received_ms[24];
    char received_at[HG_TIME_BUF];
    char body_sha256[65];
    char idempotency_key[IDEMPOTENCY_KEY_MAX + 1];
    bool has_idempotency_key;
    char traceparent[TRACEPARENT_LEN + 1];
    int stale_retries;
    bool noscript_retried;
} publish_state;

static void publish_with_snapshot(hg_req *r);

/* ---- endpoint snapshot cache ----------------------------------------- */

static endpoint_snapshot *snapshot_slot(gw_thread *t, const char *id)
{
    return &t->snapshots[hg_shard_of(id, ENDPOINT_CACHE_SLOTS)];
}

endpoint_snapshot *gw_snapshot_find(gw_thread *t, const char *integration_id)
{
    endpoint_snapshot *s = snapshot_slot(t, integration_id);

    return strcmp(s->integration_id, integration_id) == 0 ? s : NULL;
}

static void snapshot_clear(endpoint_snapshot *s)
{
    for (int i = 0; i < s->count; i++)
        free(s->endpoints[i].filters);
    free(s->endpoints);
    memset(s, 0, sizeof(*s));
}

endpoint_snapshot *gw_snapshot_store(gw_thread *t, const char *integration_id,
                                     const redisReply *reply)
{
    endpoint_snapshot *s = snapshot_slot(t, integration_id);
    const char *version = hg_reply_str(reply, 0, NULL);
    size_t pairs;

    snapshot_clear(s);
    if (version == NULL)
        return NULL;
    pairs = (reply->elements - 1) / 2;
    s->endpoints = calloc(pairs ? pairs : 1, sizeof(*s->endpoints));
    if (s->endpoints == NULL)
        return NULL;
    snprintf(s->integration_id, sizeof(s->integration_id), "%s",
             integration_id);
    snprintf(s->version, sizeof(s->version), "%s", version);
    for (size_t i = 0; i < pairs; i++) {
        const char *id = hg_reply_str(reply, 1 + 2 * i, NULL);
        const char *entry = hg_reply_str(reply, 2 + 2 * i, NULL);

        /* An entry is "<status> <filter>...": only enabled ones match. */
        if (id == NULL || entry == NULL || strncmp(entry, "enabled ", 8) != 0)
            continue;
        snprintf(s->endpoints[s->count].id, sizeof(s->endpoints[0].id), "%s",
                 id);
        s->endpoints[s->count].filters = strdup(entry + 8);
        s->count++;
    }
    return s;
}

/* ---- request checks ----------------------------------------------------- */

static bool traceparent_valid(const char *s)
{
    static const int dashes[] = {2, 35, 52};
    bool nonzero_trace = false, nonzero_span = false;

    if (s == NULL || strlen(s) != TRACEPARENT_LEN)
        return false;
    for (int i = 0; i < TRACEPARENT_LEN; i++) {
        bool dash = i == dashes[0] || i == dashes[1] || i == dashes[2];
        char c = s[i];

        if (dash != (c == '-'))
            return false;
        if (!dash && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        if (!dash && c != '0' && i > 2 && i < 35)
            nonzero_trace = true;
        if (!dash && c != '0' && i > 35 && i < 52)
            nonzero_span = true;
    }
    /* Version ff is forbidden by W3C Trace Context. */
    return nonzero_trace && nonzero_span && strncmp(s, "ff", 2) != 0;
}

static void new_traceparent(char *out)
{
    uint8_t bytes[24];
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    hg_random_bytes(bytes, sizeof(bytes));
    bytes[0] |= 1; /* never all zero */
    bytes[16] |= 1;
    memcpy(p, "00-", 3);
    p += 3;
    for (int i = 0; i < 24; i++) {
        if (i == 16)
            *p++ = '-';
        *p++ = hex[bytes[i] >> 4];
        *p++ = hex[bytes[i] & 15];
    }
    memcpy(p, "-01", 4);
}

static bool idempotency_key_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > IDEMPOTENCY_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    }
    return true;
}

static bool reply_intake_error(hg_req *r, hg_json_intake_result res,
                               const hg_json_intake_info *info)
{
    switch (res) {
    case HG_JSON_OK:
        return false;
    case HG_JSON_MALFORMED:
        hg_reply_problem(r, HG_E_MALFORMED_JSON, "%s (at byte %zu)",
                         info->error, info->error_offset);
        return true;
    case HG_JSON_TOO_DEEP:
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "%s: the limit is %d levels (at byte %zu)",
                         info->error, gw_config->json_max_depth,
                         info->error_offset);
        return true;
    default:
        hg_reply_problem(r, HG_E_VALIDATION_ERROR, "%s (at byte %zu)",
                         info->error, info->error_offset);
        return true;
    }
}

/* Decides the event type from the body's "type" and X-Event-Type. */
static bool choose_type(hg_req *r, const hg_json_intake_info *info,
                        publish_state *s)
{
    const char *header = hg_req_header(r, "X-Event-Type");

    if (header != NULL && !hg_event_type_valid(header, strlen(header))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "X-Event-Type must be 1 to 128 characters of "
                         "A-Z a-z 0-9 . _ -");
        return false;
    }
    if (info->type[0] != '\0') {
        if (header != NULL && strcmp(header, info->type) != 0) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "X-Event-Type \"%s\" differs from the body's "
                             "type \"%s\"",
                             header, info->type);
            return false;
        }
        snprintf(s->type, sizeof(s->type), "%s", info->type);
        return true;
    }
    if (header == NULL) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "the event has no type: add a top-level \"type\" "
                         "string or an X-Event-Type header");
        return false;
    }
    snprintf(s->type, sizeof(s->type), "%s", header);
    return true;
}

static bool read_publish_headers(hg_req *r, publish_state *s)
{
    const char *idem = hg_req_header(r, "Idempotency-Key");
    const char *trace = hg_req_header(r, "traceparent");

    if (idem != NULL) {
        if (!idempotency_key_valid(idem)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "Idempotency-Key must be 1 to %d printable "
                             "ASCII characters",
                             IDEMPOTENCY_KEY_MAX);
            return false;
        }
        snprintf(s->idempotency_key, sizeof(s->idempotency_key), "%s", idem);
        s->has_idempotency_key = true;
    }
    if (traceparent_valid(trace))
        snprintf(s->traceparent, sizeof(s->traceparent), "%s", trace);
    else
        new_traceparent(s->traceparent);
    return true;
}

/* ---- publish ------------------------------------------------------------ */

static void on_snapshot(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r)) {
        if (gw_snapshot_store(hg_req_thread(r), r->params[0], reply) == NULL)
            hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        else
            publish_with_snapshot(r);
    }
    hg_req_release(r);
}

static void load_snapshot(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX];
    const char *argv[] = {hg_key(k_idx, r->params[0], "endpoints"),
                          hg_key(k_ver, r->params[0], "epver")};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_snapshot, 0, on_snapshot, r,
                  2, 2, argv, NULL);
}

static void reply_accepted(hg_req *r, const char *event_id, bool replayed)
{
    char location[HG_KEY_MAX];

    snprintf(location, sizeof(location), "/api/v1/integrations/%s/events/%s",
             r->params[0], event_id);
    hg_reply_header(r, "Location", location);
    if (replayed)
        hg_reply_header(r, "Idempotent-Replayed", "true");
    hg_reply_json(r, 202, json_pack("{s:s}", "id", event_id));
}

static void on_published(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    hg_req *r = arg;
    publish_state *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *value = hg_reply_str(reply, 1, NULL);
    hg_log_fields f = {.integration_id = r->params[0],
                       .event_id = s->event_id,
                       .correlation_id = r->request_id};

    if (status == HG_REDIS_NOSCRIPT && !s->noscript_retried) {
        s->noscript_retried = true;
        publish_with_snapshot(r);
    } else if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied, or the client is gone */
    } else if (result == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(result, "ok") == 0) {
        hg_debug(&f, "event accepted");
        reply_accepted(r, s->event_id, false);
    } else if (strcmp(result, "duplicate") == 0) {
        reply_accepted(r, value, true);
    } else if (strcmp(result, "idempotency_conflict") == 0) {
        hg_reply_problem(r, HG_E_IDEMPOTENCY_KEY_REUSED,
                         "Idempotency-Key \"%s\" was used for event %s with "
                         "a different body; use a new key for a new event",
                         s->idempotency_key, value);
    } else if (strcmp(result, "stale") == 0 &&
               s->stale_retries++ < STALE_RETRIES) {
        load_snapshot(r);
    } else if (strcmp(result, "no_integration") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        hg_reply_unavailable(r, "the endpoint list kept changing");
    }
    hg_req_release(r);
}

/* Runs publish.lua for the endpoints of the cached snapshot that match. */
static void publish_with_snapshot(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    publish_state *s = r->data;
    const char *integration = r->params[0];
    endpoint_snapshot *snap = gw_snapshot_find(t, integration);
    int *matched;
    int n = 0;
    char keys[7][HG_KEY_MAX];
    char idem_sha[65] = "";
    char shard_key[HG_KEY_MAX];
    char maxlen[16], retention[24], count[16];

    if (snap == NULL) {
        load_snapshot(r);
        return;
    }
    matched = malloc(sizeof(*matched) * (size_t)(snap->count + 1));
    if (matched == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    for (int i = 0; i < snap->count; i++) {
        if (hg_type_filter_list_match(snap->endpoints[i].filters, s->type))
            matched[n++] = i;
    }

    int argc = 7 + n + 15 + 2 * n;
    const char **argv = calloc((size_t)argc, sizeof(*argv));
    size_t *lens = calloc((size_t)argc, sizeof(*lens));
    char *dkeys = malloc((size_t)(n ? n : 1) * (HG_KEY_MAX + HG_ID_MAX + 8));
    char(*dids)[HG_ID_MAX + 8] = (void *)(dkeys + (size_t)n * HG_KEY_MAX);

    if (argv == NULL || lens == NULL || dkeys == NULL) {
        free(argv);
        free(lens);
        free(dkeys);
        free(matched);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (s->has_idempotency_key)
        hg_sha256_hex(s->idempotency_key, strlen(s->idempotency_key),
                      idem_sha);
    hg_key(keys[0], integration, "integration");
    hg_key(keys[1], integration, "epver");
    hg_key_id(keys[2], integration, "evt", s->event_id);
    hg_key(keys[3], integration, "events");
    hg_key_work(shard_key, hg_shard_of(integration, gw_config->work_shards));
    snprintf(keys[4], HG_KEY_MAX, "%s", shard_key);
    snprintf(keys[5], HG_KEY_MAX, "%s", HG_KEY_ACTIVITY);
    hg_key_id(keys[6], integration, "idem", idem_sha[0] ? idem_sha : "-");
    for (int k = 0; k < 7; k++)
        argv[k] = keys[k];
    for (int i = 0; i < n; i++) {
        char *key = dkeys + (size_t)i * HG_KEY_MAX;

        /* A delivery id is the event id's body plus the match index, so it
         * is unique without another round trip for ids. */
        snprintf(dids[i], sizeof(dids[i]), "dlv_%s_%d", s->event_id + 4, i);
        hg_key_id(key, integration, "dlv", dids[i]);
        argv[7 + i] = key;
    }

    snprintf(maxlen, sizeof(maxlen), "%d", gw_config->activity_maxlen);
    snprintf(retention, sizeof(retention), "%lld",
             gw_config->event_retention_s);
    snprintf(count, sizeof(count), "%d", n);
    const char **a = argv + 7 + n;
    a[0] = snap->version;
    a[1] = s->event_id;
    a[2] = s->type;
    a[3] = s->received_ms;
    a[4] = s->received_at;
    a[5] = s->body;
    a[6] = r->request_id;
    a[7] = s->traceparent;
    a[8] = retention;
    a[9] = s->has_idempotency_key ? "1" : "0";
    a[10] = s->body_sha256;
    a[11] = IDEMPOTENCY_TTL_S;
    a[12] = maxlen;
    a[13] = integration;
    a[14] = count;
    for (int i = 0; i < n; i++) {
        a[15 + i] = snap->endpoints[matched[i]].id;
        a[15 + n + i] = dids[i];
    }
    /* The payload is the request body: not NUL-terminated, and it may
     * contain NUL bytes. */
    for (int k = 0; k < argc; k++)
        lens[k] = k == 7 + n + 5 ? s->len : strlen(argv[k]);

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_publish, 0, on_published, r, 7 + n,
                  argc, argv, lens);
    free(argv);
    free(lens);
    free(dkeys);
    free(matched);
}

static void publish_authorized(hg_req *r)
{
    publish_state *s = calloc(1, sizeof(*s));
    hg_json_intake_info info;
    hg_json_intake_result res;
    int64_t now = hg_time_ms();

    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free;
    if (!gw_is_json_media_type(hg_req_header(r, "Content-Type"))) {
        hg_reply_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE,
                         "publish events as Content-Type: application/json");
        return;
    }
    s->body = hg_req_body(r, &s->len);
    res = hg_json_intake(s->body, s->len, gw_config->json_max_depth, &info);
    if (reply_intake_error(r, res, &info) || !choose_type(r, &info, s) ||
        !read_publish_headers(r, s))
        return;

    hg_id_new("evt_", s->event_id);
    snprintf(s->received_ms, sizeof(s->received_ms), "%lld", (long long)now);
    hg_time_format(now, s->received_at);
    if (s->has_idempotency_key)
        hg_sha256_hex(s->body, s->len, s->body_sha256);
    publish_with_snapshot(r);
}

void gw_publish_event(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    gw_authorize(r, r->params[0], SCOPE_PUBLISH, publish_authorized);
}

/* ---- reading events ----------------------------------------------------- */

static void on_event(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
    } else {
        hg_reply_json(r, 200, hg_view_event(reply, false));
    }
    hg_req_release(r);
}

static void get_event_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];
    const char *argv[] = {hg_key_id(key, r->params[0], "evt", r->params[1]),
                          r->params[0], "0"};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_event_detail, 0, on_event, r, 1, 3,
                  argv, NULL);
}

static bool check_event_param(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return false;
    if (!hg_id_valid("evt_", r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
        return false;
    }
    return true;
}

void gw_get_event(hg_req *r)
{
    if (check_event_param(r))
        gw_authorize(r, r->params[0], SCOPE_READ, get_event_authorized);
}

static void on_payload(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STRING) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
    } else {
        hg_reply(r, 200, "application/json", reply->str, reply->len);
    }
    hg_req_release(r);
}

static void get_payload_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_payload, r, "HGET %s payload",
                     hg_key_id(key, r->params[0], "evt", r->params[1]));
}

void gw_get_event_payload(hg_req *r)
{
    if (check_event_param(r))
        gw_authorize(r, r->params[0], SCOPE_READ, get_payload_authorized);
}
