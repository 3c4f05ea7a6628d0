/* SPDX-License-Identifier: MIT
 *
 * Event routes. Publishing validates the body in one pass (it is stored and
 * delivered byte for byte, never re-serialised), matches the event type
 * against a per-thread cached copy of the integration's endpoint list, and
 * runs publish.lua, which writes the event, its deliveries and their work
 * entries atomically. If the endpoint list changed since it was cached, the
 * script refuses and the list is read again.
 *
 * The script checks the caller first, so the happy path is one round trip.
 * A problem found in the request before that (its body, headers or
 * payload) is sent only after the caller was authorized on its own, so a
 * caller without a valid credential learns nothing about the request or
 * whether the integration exists.
 */
#include <stdarg.h>
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
#include "gateway/auth.h"
#include "gateway/gateway.h"

#define IDEMPOTENCY_KEY_MAX 255
#define IDEMPOTENCY_TTL_S "86400"
#define STALE_RETRIES 3
/* Keys and fixed arguments of publish.lua before its per-delivery ones. */
#define PUBLISH_FIXED_KEYS 11
/* The write may have happened even though its confirmation never came. */
#define MAYBE_STORED                                                          \
    "Redis did not confirm the write in time, so the event may or may not "  \
    "be stored; retry with the same Idempotency-Key to avoid a duplicate"
#define PUBLISH_FIXED_ARGS 22

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

void gw_snapshot_clear(endpoint_snapshot *s)
{
    for (int i = 0; i < s->count; i++) {
        free(s->endpoints[i].filters);
        free(s->endpoints[i].ordering_key);
    }
    free(s->endpoints);
    memset(s, 0, sizeof(*s));
}

endpoint_snapshot *gw_snapshot_store(gw_thread *t, const char *integration_id,
                                     const redisReply *reply)
{
    endpoint_snapshot *s = snapshot_slot(t, integration_id);
    const char *version = hg_reply_str(reply, 0, NULL);
    const char *validate = hg_reply_str(reply, 1, NULL);
    size_t triples;

    gw_snapshot_clear(s);
    if (version == NULL || reply->elements < 2)
        return NULL;
    triples = (reply->elements - 2) / 3;
    s->endpoints = calloc(triples ? triples : 1, sizeof(*s->endpoints));
    if (s->endpoints == NULL)
        return NULL;
    snprintf(s->integration_id, sizeof(s->integration_id), "%s",
             integration_id);
    snprintf(s->version, sizeof(s->version), "%s", version);
    s->validate_payloads = validate != NULL && strcmp(validate, "1") == 0;
    for (size_t i = 0; i < triples; i++) {
        const char *id = hg_reply_str(reply, 2 + 3 * i, NULL);
        const char *entry = hg_reply_str(reply, 3 + 3 * i, NULL);
        const char *ordering_key = hg_reply_str(reply, 4 + 3 * i, NULL);
        endpoint_entry *e = &s->endpoints[s->count];

        /* An entry is "<status> <filter>...": only enabled ones match. */
        if (id == NULL || entry == NULL || strncmp(entry, "enabled ", 8) != 0)
            continue;
        snprintf(e->id, sizeof(e->id), "%s", id);
        e->filters = strdup(entry + 8);
        e->ordering_key = strdup(ordering_key ? ordering_key : "");
        if (e->filters == NULL || e->ordering_key == NULL) {
            free(e->filters);
            free(e->ordering_key);
            gw_snapshot_clear(s);
            return NULL;
        }
        s->count++;
    }
    return s;
}

/* ---- problems held until the caller is authorized ---------------------- */

typedef struct held_problem {
    hg_error code;
    char detail[1024];
} held_problem;

static void reply_held_problem(hg_req *r)
{
    held_problem *p = r->data;

    hg_reply_problem(r, p->code, "%s", p->detail);
}

/* Sends a client error about the request (its body, headers or payload)
 * only to a caller that may act on integration r->params[0] with scope.
 * Unless this request was authorized already, gw_authorize() runs first,
 * so a caller without a valid credential gets its 401, 403 or 429 and
 * learns nothing about the request or the integration. Replaces r->data,
 * so the caller must return without touching it. */
__attribute__((format(printf, 4, 5))) static void
reply_problem_authorized(hg_req *r, unsigned scope, hg_error code,
                         const char *fmt, ...)
{
    held_problem *p;
    va_list ap;

    if (r->auth_admin || r->auth_integration[0] != '\0') {
        char detail[1024];

        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        hg_reply_problem(r, code, "%s", detail);
        return;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    p->code = code;
    /* Formatted before r->data is freed: the arguments may point into it. */
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
    if (r->data_free != NULL)
        r->data_free(r->data);
    r->data = p;
    r->data_free = free;
    gw_authorize_for_error(r, r->params[0], scope, reply_held_problem);
}

/* ---- request checks ----------------------------------------------------- */

/* A key is 1 to IDEMPOTENCY_KEY_MAX printable ASCII characters and does
 * not start or end with a space. libevhtp reads an empty header value as
 * one space, and an empty key (often an unset variable in the client)
 * must not pass as a key that every such client shares. */
static bool idempotency_key_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > IDEMPOTENCY_KEY_MAX || s[0] == ' ' || s[n - 1] == ' ')
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
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_MALFORMED_JSON,
                                 "%s (at byte %zu)", info->error,
                                 info->error_offset);
        return true;
    case HG_JSON_TOO_DEEP:
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                 "%s: the limit is %d levels (at byte %zu)",
                                 info->error, gw_config->json_max_depth,
                                 info->error_offset);
        return true;
    default:
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                 "%s (at byte %zu)", info->error,
                                 info->error_offset);
        return true;
    }
}

/* Decides the event type from the body's "type" and X-Event-Type. */
static bool choose_type(hg_req *r, const hg_json_intake_info *info,
                        gw_publish *s)
{
    const char *header = hg_req_header(r, "X-Event-Type");

    if (header != NULL && !hg_event_type_valid(header, strlen(header))) {
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                 "X-Event-Type must be 1 to 128 "
                                 "characters of A-Z a-z 0-9 . _ -");
        return false;
    }
    if (info->type[0] != '\0') {
        if (header != NULL && strcmp(header, info->type) != 0) {
            reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                     "X-Event-Type \"%s\" differs from "
                                     "the body's type \"%s\"",
                                     header, info->type);
            return false;
        }
        snprintf(s->type, sizeof(s->type), "%s", info->type);
        return true;
    }
    if (header == NULL) {
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                 "the event has no type: add a top-level "
                                 "\"type\" string or an X-Event-Type "
                                 "header");
        return false;
    }
    snprintf(s->type, sizeof(s->type), "%s", header);
    return true;
}

static bool read_publish_headers(hg_req *r, gw_publish *s)
{
    const char *idem = hg_req_header(r, "Idempotency-Key");
    const char *hops = hg_req_header(r, HG_HOPS_HEADER);
    size_t hops_len = hops != NULL ? strlen(hops) : 0;

    /* The worker sends the hop count of each delivery, so an endpoint that
     * publishes back into hookgate (directly, or through other endpoints
     * and instances) stops after HG_HOPS_MAX rounds instead of looping. */
    if (hops != NULL && (hops_len == 0 || hops_len > 2 ||
                         strspn(hops, "0123456789") != hops_len)) {
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                 HG_HOPS_HEADER " must be a number of hops "
                                 "from 0 to %d",
                                 HG_HOPS_MAX - 1);
        return false;
    }
    if (hops != NULL && atoi(hops) >= HG_HOPS_MAX) {
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                 "the event already came through %d hookgate "
                                 "deliveries (" HG_HOPS_HEADER "), and at "
                                 "most %d are allowed: an endpoint probably "
                                 "publishes its deliveries back into hookgate",
                                 atoi(hops), HG_HOPS_MAX - 1);
        return false;
    }
    if (hops != NULL)
        snprintf(s->hops, sizeof(s->hops), "%d", atoi(hops));

    if (idem != NULL) {
        if (!idempotency_key_valid(idem)) {
            reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR,
                                     "Idempotency-Key must be 1 to %d "
                                     "printable ASCII characters, not "
                                     "starting or ending with a space",
                                     IDEMPOTENCY_KEY_MAX);
            return false;
        }
        snprintf(s->idempotency_key, sizeof(s->idempotency_key), "%s", idem);
        s->has_idempotency_key = true;
    }
    return true;
}

/* ---- publish ------------------------------------------------------------ */

static void on_snapshot(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply) && !hg_req_done(r)) {
        gw_publish *s = r->data;

        s->snapshot_read = true;
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
    char k_idx[HG_KEY_MAX], k_ver[HG_KEY_MAX], k_int[HG_KEY_MAX];
    const char *argv[] = {hg_key(k_idx, r->params[0], "endpoints"),
                          hg_key(k_ver, r->params[0], "epver"),
                          hg_key(k_int, r->params[0], "integration")};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_endpoint_snapshot, 0, on_snapshot, r,
                  3, 3, argv, NULL);
}

static void reply_accepted(hg_req *r, const char *event_id, bool replayed)
{
    gw_publish *s = r->data;
    char location[HG_KEY_MAX];
    char body[HG_ID_MAX + 16];
    int len;

    snprintf(location, sizeof(location), "/api/v1/integrations/%s/events/%s",
             r->params[0], event_id);
    hg_reply_header(r, "Location", location);
    s->replayed = replayed;
    if (replayed)
        hg_reply_header(r, "Idempotent-Replayed", "true");
    if (s->on_accepted != NULL) {
        s->on_accepted(r, event_id, replayed);
        return;
    }
    /* Only on success, so an error response carries no type headers. */
    gw_catalog_headers(r, s->type);
    /* An event id is a prefix and Crockford base32, never escaped in JSON,
     * so the body is written directly instead of through jansson. */
    len = snprintf(body, sizeof(body), "{\"id\":\"%s\"}", event_id);
    if (len > 0 && (size_t)len < sizeof(body) &&
        hg_id_valid("evt_", event_id))
        hg_reply(r, 202, "application/json", body, (size_t)len);
    else
        hg_reply_json(r, 202, json_pack("{s:s}", "id", event_id));
}

static void on_published(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    hg_req *r = arg;
    gw_publish *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *value = hg_reply_str(reply, 1, NULL);
    const redisReply *n1 = hg_reply_elem(reply, 1);
    const redisReply *n2 = hg_reply_elem(reply, 2);
    const redisReply *n3 = hg_reply_elem(reply, 3);
    hg_log_fields f = {.integration_id = r->params[0],
                       .event_id = s->event_id,
                       .correlation_id = r->request_id};

    if (status == HG_REDIS_NOSCRIPT && !s->noscript_retried) {
        s->noscript_retried = true;
        publish_with_snapshot(r);
    } else if (status == HG_REDIS_TIMEOUT ||
               status == HG_REDIS_DISCONNECTED) {
        hg_reply_unavailable(r, MAYBE_STORED);
    } else if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied, or the client is gone */
    } else if (result == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(result, "ok") == 0 || strcmp(result, "duplicate") == 0) {
        bool replayed = result[0] == 'd';

        /* gw_authorize() sent the rate headers of a test event. */
        if (s->cred.kind != CRED_ADMIN && !s->test && n2 && n3)
            gw_rate_limit_headers(r, hg_reply_str(reply, 4, NULL),
                                  n2->integer, n3->integer);
        hg_debug(&f, replayed ? "idempotent repeat" : "event accepted");
        reply_accepted(r, value, replayed);
    } else if (strcmp(result, "idempotency_conflict") == 0) {
        hg_reply_problem(r, HG_E_IDEMPOTENCY_KEY_REUSED,
                         "Idempotency-Key \"%s\" was used for event %s with "
                         "a different body or type; use a new key for a new "
                         "event",
                         s->idempotency_key, value);
    } else if (strcmp(result, "stale") == 0 &&
               s->stale_retries++ < STALE_RETRIES) {
        load_snapshot(r);
    } else if (strcmp(result, "no_integration") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else if (strcmp(result, "no_endpoint") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "endpoint %s does not exist or is disabled; enable "
                         "it to send it a test event",
                         s->only_endpoint);
    } else if (strcmp(result, "denied") == 0) {
        gw_reply_denied(r, &s->cred, value ? value : "unknown", "publish");
    } else if (strcmp(result, "limited") == 0 && n1) {
        gw_reply_limited(r, n1->integer, hg_reply_str(reply, 2, NULL));
    } else {
        hg_reply_unavailable(r, "the endpoint list kept changing");
    }
    hg_req_release(r);
}

/* Writes the ids of the endpoints that receive the event, with their
 * ordering keys: those of the snapshot whose filters match, or the one
 * endpoint of a test event. publish.lua checks that endpoint, so a test
 * does not depend on the cached list knowing a new endpoint. An endpoint
 * the list does not hold gets no ordering key, because the script rejects
 * it: it is disabled, missing, or newer than the list's version. */
static int match_endpoints(const endpoint_snapshot *snap, const gw_publish *s,
                           const char **matched, const char **ordering)
{
    int n = 0;

    if (s->only_endpoint[0] != '\0') {
        matched[0] = s->only_endpoint;
        ordering[0] = "";
        for (int i = 0; i < snap->count; i++) {
            if (strcmp(snap->endpoints[i].id, s->only_endpoint) == 0)
                ordering[0] = snap->endpoints[i].ordering_key;
        }
        return 1;
    }
    for (int i = 0; i < snap->count; i++) {
        if (hg_type_filter_list_match(snap->endpoints[i].filters, s->type)) {
            ordering[n] = snap->endpoints[i].ordering_key;
            matched[n++] = snap->endpoints[i].id;
        }
    }
    return n;
}

/* Storage of the keys and numbers passed to publish.lua. */
typedef struct publish_args {
    char keys[PUBLISH_FIXED_KEYS][HG_KEY_MAX];
    char maxlen[16], retention[24], count[16], rate[16], irate[16];
    char *dkeys;                 /* n delivery keys of HG_KEY_MAX bytes */
    char (*dids)[HG_ID_MAX + 8]; /* n delivery ids */
    const char **argv;
    size_t *lens;
    int argc;
} publish_args;

static void publish_args_free(publish_args *a)
{
    free(a->argv);
    free(a->lens);
    free(a->dkeys);
}

static void fill_keys(hg_req *r, gw_publish *s, publish_args *a)
{
    const char *integration = r->params[0];
    char idem_sha[65] = "";

    if (s->has_idempotency_key)
        hg_sha256_hex(s->idempotency_key, strlen(s->idempotency_key),
                      idem_sha);
    hg_key(a->keys[0], integration, "integration");
    hg_key(a->keys[1], integration, "epver");
    hg_key_id(a->keys[2], integration, "evt", s->event_id);
    hg_key(a->keys[3], integration, "events");
    hg_key_work(a->keys[4], hg_shard_of(integration, gw_config->work_shards));
    snprintf(a->keys[5], HG_KEY_MAX, "%s", HG_KEY_ACTIVITY);
    hg_key_id(a->keys[6], integration, "idem", idem_sha[0] ? idem_sha : "-");
    if (s->cred.kind == CRED_ADMIN) {
        /* Unused by the script for the admin, but keys must be declared. */
        hg_key(a->keys[7], integration, "integration");
        hg_key(a->keys[8], integration, "rl:admin");
        hg_key(a->keys[9], integration, "rl");
    } else {
        gw_credential_keys(&s->cred, integration, a->keys[7], a->keys[8],
                           a->keys[9]);
    }
    hg_key(a->keys[10], integration, "dlvidx");
}

/* Builds the argument vector of publish.lua for n matched endpoints. */
static int build_args(hg_req *r, gw_publish *s, const endpoint_snapshot *snap,
                      const char **matched, const char **ordering, int n,
                      publish_args *a)
{
    const char *integration = r->params[0];
    const char **v;
    int k = 0;

    a->argc = PUBLISH_FIXED_KEYS + n + PUBLISH_FIXED_ARGS + 3 * n;
    a->argv = calloc((size_t)a->argc, sizeof(*a->argv));
    a->lens = calloc((size_t)a->argc, sizeof(*a->lens));
    a->dkeys = malloc((size_t)(n ? n : 1) * (HG_KEY_MAX + HG_ID_MAX + 8));
    if (a->argv == NULL || a->lens == NULL || a->dkeys == NULL)
        return -1;
    a->dids = (void *)(a->dkeys + (size_t)n * HG_KEY_MAX);

    fill_keys(r, s, a);
    v = a->argv;
    for (; k < PUBLISH_FIXED_KEYS; k++)
        v[k] = a->keys[k];
    for (int i = 0; i < n; i++) {
        char *key = a->dkeys + (size_t)i * HG_KEY_MAX;

        /* A delivery id is the event id's body plus the match index, so it
         * is unique without another round trip for ids. */
        snprintf(a->dids[i], sizeof(a->dids[i]), "dlv_%s_%d",
                 s->event_id + 4, i);
        v[k++] = hg_key_id(key, integration, "dlv", a->dids[i]);
    }

    snprintf(a->maxlen, sizeof(a->maxlen), "%d", gw_config->activity_maxlen);
    snprintf(a->retention, sizeof(a->retention), "%lld",
             gw_config->event_retention_s);
    snprintf(a->count, sizeof(a->count), "%d", n);
    /* A test event was authorized, and counted against the rate limits,
     * by gw_authorize() already; a rate of 0 skips the limit. */
    snprintf(a->rate, sizeof(a->rate), "%d",
             s->test ? 0 : gw_config->api_rate_limit);
    snprintf(a->irate, sizeof(a->irate), "%d",
             s->test ? 0 : gw_config->integration_rate_limit);
    const char *fixed[PUBLISH_FIXED_ARGS] = {
        snap->version, s->event_id, s->type, s->received_ms, s->received_at,
        s->body, r->request_id, s->traceparent, a->retention,
        s->has_idempotency_key ? "1" : "0", s->body_sha256,
        IDEMPOTENCY_TTL_S, a->maxlen, integration,
        s->cred.kind == CRED_ADMIN ? "admin" : "principal",
        s->cred.kind == CRED_TOKEN ? s->cred.token_scopes : "", a->rate,
        a->irate, s->test ? "1" : "0", a->count, r->trace.tracestate,
        s->hops[0] != '\0' ? s->hops : "0",
    };
    int payload = k + 5;

    for (int i = 0; i < PUBLISH_FIXED_ARGS; i++)
        v[k++] = fixed[i];
    for (int i = 0; i < n; i++)
        v[k + i] = matched[i];
    for (int i = 0; i < n; i++)
        v[k + n + i] = a->dids[i];
    for (int i = 0; i < n; i++)
        v[k + 2 * n + i] = ordering[i];
    /* The payload is not NUL-terminated and may contain NUL bytes. */
    for (int i = 0; i < a->argc; i++)
        a->lens[i] = i == payload ? s->len : strlen(v[i]);
    return 0;
}

/* Checks the payload when the integration validates payloads; returns
 * false after replying or starting a reload of the snapshot. */
static bool payload_checked(hg_req *r, const endpoint_snapshot *snap)
{
    gw_publish *s = r->data;
    char why[768];

    if (!snap->validate_payloads ||
        gw_payload_valid(s, r->params[0], why, sizeof(why)))
        return true;
    /* A cached snapshot may predate turning validation off; publish.lua
     * only checks its version after this. Read it again before rejecting. */
    if (!s->snapshot_read) {
        load_snapshot(r);
        return false;
    }
    reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_VALIDATION_ERROR, "%s",
                             why);
    return false;
}

/* Runs publish.lua for the endpoints of the cached snapshot that match. */
static void publish_with_snapshot(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    gw_publish *s = r->data;
    endpoint_snapshot *snap = gw_snapshot_find(t, r->params[0]);
    publish_args a;
    const char **matched, **ordering;
    int n;

    if (snap == NULL) {
        load_snapshot(r);
        return;
    }
    if (!payload_checked(r, snap))
        return;
    memset(&a, 0, sizeof(a));
    /* One array: the matched ids, then their ordering keys. */
    matched = calloc(2 * ((size_t)snap->count + 1), sizeof(*matched));
    ordering = matched ? matched + snap->count + 1 : NULL;
    n = matched ? match_endpoints(snap, s, matched, ordering) : 0;
    if (matched == NULL ||
        build_args(r, s, snap, matched, ordering, n, &a) != 0) {
        free(matched);
        publish_args_free(&a);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->timeout_detail = MAYBE_STORED;
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_publish, 0, on_published, r,
                  PUBLISH_FIXED_KEYS + n, a.argc, a.argv, a.lens);
    publish_args_free(&a);
    free(matched);
}

void gw_publish_free(void *p)
{
    gw_publish *s = p;

    if (s != NULL)
        free(s->owned_body);
    free(s);
}

gw_publish *gw_publish_new(hg_req *r)
{
    gw_publish *s = calloc(1, sizeof(*s));
    int64_t now = hg_time_ms();

    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    r->data = s;
    r->data_free = gw_publish_free;
    hg_id_new("evt_", s->event_id);
    snprintf(s->received_ms, sizeof(s->received_ms), "%lld", (long long)now);
    hg_time_format(now, s->received_at);
    /* The event continues the request's trace, with the gateway's span as
     * the parent of every delivery attempt. */
    hg_trace_format(&r->trace, s->traceparent);
    return s;
}

/* Hashes what makes a publish the same publish: its type and its bytes.
 * A repeat that changes either is a conflict, not a replay. */
static void request_fingerprint(gw_publish *s)
{
    char prefix[HG_EVENT_TYPE_MAX + 2];

    snprintf(prefix, sizeof(prefix), "%s\n", s->type);
    hg_sha256_hex2(prefix, strlen(prefix), s->body, s->len, s->body_sha256);
}

void gw_publish_start(hg_req *r)
{
    gw_publish *s = r->data;

    if (s->has_idempotency_key)
        request_fingerprint(s);
    publish_with_snapshot(r);
}

void gw_publish_event(hg_req *r)
{
    gw_publish *s;
    hg_json_intake_info info;
    hg_json_intake_result res;

    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!atomic_load(&gw_redis_verified)) {
        hg_reply_problem(r, HG_E_UNAVAILABLE,
                         "the gateway is starting: the Redis configuration "
                         "has not been checked yet");
        return;
    }
    if ((s = gw_publish_new(r)) == NULL || !gw_read_credential(r, &s->cred))
        return;
    if (s->cred.kind == CRED_TOKEN &&
        strcmp(s->cred.token_integration, r->params[0]) != 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "the access token does not belong to integration %s",
                         r->params[0]);
        return;
    }
    if (!gw_is_json_media_type(hg_req_header(r, "Content-Type"))) {
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_UNSUPPORTED_MEDIA_TYPE,
                                 "publish events as Content-Type: "
                                 "application/json");
        return;
    }
    s->body = hg_req_body(r, &s->len);
    res = hg_json_intake(s->body, s->len, gw_config->json_max_depth, &info);
    if (reply_intake_error(r, res, &info) || !choose_type(r, &info, s) ||
        !read_publish_headers(r, s))
        return;
    /* The credential is checked by the publish script, together with the
     * write, so a failed If-Match is sent only to an authorized caller. */
    if (hg_req_if_match_fails(r)) {
        reply_problem_authorized(r, SCOPE_PUBLISH, HG_E_PRECONDITION_FAILED,
                                 "%s", HG_IF_MATCH_DETAIL);
        return;
    }
    gw_set_actor(r, &s->cred, "");
    gw_publish_start(r);
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
