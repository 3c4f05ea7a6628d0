/* SPDX-License-Identifier: MIT
 *
 * The sink routes of the inspector API: set, read, list and delete a
 * sink's answer script, and list or clear its captures. A sink belongs to
 * one integration: callers who may see it (insp_may_see) read it, and
 * callers who may act on it (insp_may_act) change it. The older routes
 * /inspector/api/sinks/{sink}/captures stay as aliases with their
 * original response shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/text.h"
#include "inspector/inspector.h"
#include "inspector/sink.h"

#define CAPTURES_DEFAULT 50
#define CAPTURES_MAX 1000
/* Largest PUT body; the script's own bounds are far below it. */
#define CONFIG_BODY_MAX (2 * 1024 * 1024)

/* What a sink route needs between its Redis steps. */
typedef struct sink_call {
    char owner[64];
    /* PUT: the integration_id of the body, or empty. */
    char requested_owner[64];
    json_t *config; /* PUT: the validated body */
    char endpoint_id[64];
    void (*next)(hg_req *r); /* the route's step once the sink is read */
    bool need_act;           /* the route changes the sink */
    bool legacy;             /* the /inspector/api/.../captures shape */
    bool created;            /* PUT made a new sink: 201 */
} sink_call;

static void sink_call_free(void *p)
{
    sink_call *c = p;

    if (c != NULL)
        json_decref(c->config);
    free(c);
}

static sink_call *call_new(hg_req *r)
{
    sink_call *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    r->data = c;
    r->data_free = sink_call_free;
    return c;
}

/* Returns the limit parameter (digits only, 1 to CAPTURES_MAX), the
 * default without one, or -1; the gateway's lists take the same range
 * rule. */
static int query_limit(const hg_req *r)
{
    const char *v = hg_req_query(r, "limit");
    size_t len = v != NULL ? strlen(v) : 0;
    long n;

    if (v == NULL)
        return CAPTURES_DEFAULT;
    if (len == 0 || len > 7 || strspn(v, "0123456789") != len)
        return -1;
    n = strtol(v, NULL, 10);
    return n >= 1 && n <= CAPTURES_MAX ? (int)n : -1;
}

static void reply_validation(hg_req *r, const char *field, const char *message)
{
    json_t *problem;
    char detail[HG_SINK_FIELD_MAX + 256 + 2];

    snprintf(detail, sizeof(detail), "%s %s", field, message);
    problem = hg_problem_new(r, HG_E_VALIDATION_ERROR, detail);
    json_object_set_new(problem, "field", json_string(field));
    hg_reply_problem_json(r, HG_E_VALIDATION_ERROR, problem);
}

/* ---- the sink view ------------------------------------------------------ */

static json_t *string_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* Builds the JSON of a sink from a sink_read.lua reply. */
static json_t *sink_view(const char *sink_id, const redisReply *reply)
{
    const char *owner = hg_reply_str(reply, 0, NULL);
    const char *config = hg_reply_str(reply, 1, NULL);
    const char *seq = hg_reply_str(reply, 5, NULL);
    const redisReply *captures = hg_reply_elem(reply, 6);
    const char *bytes = hg_reply_str(reply, 7, NULL);
    const redisReply *stats = hg_reply_elem(reply, 8);
    json_t *answers = json_object();
    long long requests = 0;
    char path[HG_PARAM_MAX + 8];
    json_t *config_json = NULL;

    for (size_t i = 0; stats && i + 1 < stats->elements; i += 2) {
        const char *k = hg_reply_str(stats, i, NULL);
        const char *v = hg_reply_str(stats, i + 1, NULL);

        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "requests") == 0)
            requests = atoll(v);
        else if (strncmp(k, "status:", 7) == 0)
            json_object_set_new(answers, k + 7, json_integer(atoll(v)));
    }
    if (config != NULL && config[0] != '\0')
        config_json = json_loads(config, JSON_ALLOW_NUL, NULL);
    snprintf(path, sizeof(path), "/sink/%s", sink_id);
    return json_pack(
        "{s:s, s:s, s:b, s:s, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, "
        "s:o}}",
        "sink_id", sink_id, "integration_id", owner ? owner : "", "configured",
        config_json != NULL, "url_path", path, "config",
        config_json ? config_json : json_null(), "endpoint_id",
        string_or_null(hg_reply_str(reply, 2, NULL)), "created_at",
        string_or_null(hg_reply_str(reply, 3, NULL)), "updated_at",
        string_or_null(hg_reply_str(reply, 4, NULL)), "counters", "requests",
        (json_int_t)requests, "sequence_position",
        (json_int_t)(seq ? atoll(seq) : 0), "captures",
        (json_int_t)(captures && captures->type == REDIS_REPLY_INTEGER
                         ? captures->integer
                         : 0),
        "capture_bytes", (json_int_t)(bytes ? atoll(bytes) : 0), "answers",
        answers);
}

/* ---- reading a sink, then the route's step ------------------------------ */

static void read_sink(hg_req *r, hg_redis_cb cb)
{
    const char *id = r->params[0];
    char k_config[HG_KEY_MAX], k_int[HG_KEY_MAX], k_seq[HG_KEY_MAX];
    char k_stats[HG_KEY_MAX], k_list[HG_KEY_MAX], k_bytes[HG_KEY_MAX];
    const char *argv[] = {sink_key(k_config, id, "config"),
                          hg_key(k_int, id, "integration"),
                          sink_key(k_seq, id, "seq"),
                          sink_key(k_stats, id, "stats"),
                          sink_key(k_list, id, "captures"),
                          sink_key(k_bytes, id, "bytes"),
                          id};

    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_read, 0, cb, r, 6, 7, argv,
                  NULL);
}

/* Checks the owner in a sink_read.lua reply against the caller; replies
 * and returns false when the sink is missing or off limits. */
static bool owner_allows(hg_req *r, const redisReply *reply, bool act)
{
    sink_call *c = r->data;
    const char *owner = hg_reply_str(reply, 0, NULL);

    if (owner == NULL || owner[0] == '\0') {
        hg_reply_problem(r, HG_E_NOT_FOUND, "sink %s does not exist",
                         r->params[0]);
        return false;
    }
    snprintf(c->owner, sizeof(c->owner), "%s", owner);
    /* A sink of an integration the caller cannot see answers as a missing
     * one, so sink ids do not reveal other integrations' sinks. */
    if (!insp_may_see(r, owner)) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "sink %s does not exist",
                         r->params[0]);
        return false;
    }
    if (act && !insp_may_act(r, owner)) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "these credentials cannot change sink %s of integration "
                         "%s",
                         r->params[0], owner);
        return false;
    }
    return true;
}

static void on_read_then_next(hg_redis_status status, redisReply *reply,
                              void *arg)
{
    hg_req *r = arg;
    sink_call *c = r->data;

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r) &&
        owner_allows(r, reply, c->need_act))
        c->next(r);
    hg_req_release(r);
}

/* Starts a route that works on an existing sink: checks the id, reads the
 * owner, checks the caller, then runs next. */
static void start_on_sink(hg_req *r, void (*next)(hg_req *r), bool act,
                          bool legacy)
{
    sink_call *c;

    if (!hg_integration_id_valid(r->params[0])) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "sink ids match [a-z0-9][a-z0-9_-]{0,62}");
        return;
    }
    c = call_new(r);
    if (c == NULL)
        return;
    c->next = next;
    c->need_act = act;
    c->legacy = legacy;
    read_sink(r, on_read_then_next);
}

/* ---- GET /api/v1/sinks/{sink} ------------------------------------------- */

static void on_get(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r) &&
        owner_allows(r, reply, false))
        hg_reply_json(r, 200, sink_view(r->params[0], reply));
    hg_req_release(r);
}

static void get_authorized(hg_req *r)
{
    if (!hg_integration_id_valid(r->params[0])) {
        hg_reply_problem(r, HG_E_NOT_FOUND,
                         "sink ids match [a-z0-9][a-z0-9_-]{0,62}");
        return;
    }
    if (call_new(r) != NULL)
        read_sink(r, on_get);
}

void insp_sink_get(hg_req *r)
{
    insp_authorize(r, get_authorized);
}

/* ---- PUT /api/v1/sinks/{sink} ------------------------------------------- */

static void on_put_view(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_call *c = r->data;
    char location[HG_KEY_MAX];

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r)) {
        if (c->created) {
            snprintf(location, sizeof(location), "/api/v1/sinks/%s",
                     r->params[0]);
            hg_reply_header(r, "Location", location);
        }
        hg_reply_json(r, c->created ? 201 : 200,
                      sink_view(r->params[0], reply));
    }
    hg_req_release(r);
}

/* Replies 409 to a sink id owned by another integration, naming the owner
 * only to a caller who may see it. */
static void reply_taken(hg_req *r, const char *owner)
{
    if (owner != NULL && insp_may_see(r, owner))
        hg_reply_problem(r, HG_E_CONFLICT, "sink %s belongs to integration %s",
                         r->params[0], owner);
    else
        hg_reply_problem(r, HG_E_CONFLICT,
                         "sink id %s is taken; choose another id",
                         r->params[0]);
}

static void on_put_done(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_call *c = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "no_integration") == 0) {
        reply_validation(r, "integration_id",
                         "names an integration that does not exist");
    } else if (result != NULL && strcmp(result, "no_endpoint") == 0) {
        reply_validation(r, "endpoint_id",
                         "names no endpoint of the sink's integration");
    } else if (result == NULL || strcmp(result, "ok") != 0) {
        reply_taken(r, hg_reply_str(reply, 1, NULL));
    } else {
        hg_log_fields f = {.integration_id = c->owner,
                           .correlation_id = r->request_id};
        const char *created = hg_reply_str(reply, 2, NULL);

        hg_info(&f, "sink %s configured by %s", r->params[0],
                r->auth_actor[0] ? r->auth_actor : r->auth_role);
        c->created = created != NULL && strcmp(created, "1") == 0;
        read_sink(r, on_put_view);
    }
    hg_req_release(r);
}

static void put_write(hg_req *r)
{
    sink_call *c = r->data;
    const char *id = r->params[0];
    char k_config[HG_KEY_MAX], k_seq[HG_KEY_MAX], k_owner[HG_KEY_MAX];
    char k_int[HG_KEY_MAX], now[HG_TIME_BUF];
    char *text;

    json_object_del(c->config, "integration_id");
    text = json_dumps(c->config, JSON_COMPACT | JSON_ALLOW_NUL);
    if (text == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "failed to encode JSON");
        return;
    }
    hg_time_format(hg_time_ms(), now);

    const char *argv[] = {sink_key(k_config, id, "config"),
                          HG_KEY_SINKS,
                          sink_key(k_seq, id, "seq"),
                          hg_key(k_owner, c->owner, "integration"),
                          hg_key(k_int, id, "integration"),
                          id,
                          c->owner,
                          text,
                          now,
                          c->endpoint_id};
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_put, 0, on_put_done, r, 5, 10,
                  argv, NULL);
    free(text);
}

/* Decides the owner of the sink being configured: the current owner if it
 * has one, else the caller's integration, else the integration_id of the
 * body. Replies and returns false when that is not possible. */
static bool choose_owner(hg_req *r, const char *current, const char *requested)
{
    sink_call *c = r->data;
    const char *own = r->auth_integration;

    if (own[0] != '\0' && requested[0] != '\0' && strcmp(own, requested) != 0) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "an integration key configures sinks of its own "
                         "integration only; leave out integration_id");
        return false;
    }
    if (requested[0] == '\0')
        requested = own;
    if (current[0] != '\0') {
        if (requested[0] != '\0' && strcmp(requested, current) != 0) {
            reply_taken(r, current);
            return false;
        }
        requested = current;
    }
    if (requested[0] == '\0') {
        reply_validation(r, "integration_id",
                         "is required: name the integration that owns the "
                         "new sink");
        return false;
    }
    snprintf(c->owner, sizeof(c->owner), "%s", requested);
    if (!insp_may_act(r, c->owner)) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "these credentials cannot configure sinks of integration "
                         "%s",
                         c->owner);
        return false;
    }
    return true;
}

static void on_put_read(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_call *c = r->data;

    if (!insp_redis_failed(r, status, reply) && !hg_req_done(r)) {
        const char *current = hg_reply_str(reply, 0, NULL);

        if (choose_owner(r, current ? current : "", c->requested_owner))
            put_write(r);
    }
    hg_req_release(r);
}

static void put_authorized(hg_req *r)
{
    size_t len;
    const char *body = hg_req_body(r, &len);
    json_error_t jerr;
    hg_sink_script script;
    hg_sink_error err;
    sink_call *c;

    if (!hg_integration_id_valid(r->params[0])) {
        reply_validation(r, "sink_id", "must match [a-z0-9][a-z0-9_-]{0,62}");
        return;
    }
    if (!hg_req_is_json(r)) {
        hg_reply_problem(r, HG_E_UNSUPPORTED_MEDIA_TYPE,
                         "send the sink config as Content-Type: "
                         "application/json");
        return;
    }
    if (len > CONFIG_BODY_MAX) {
        hg_reply_problem(r, HG_E_PAYLOAD_TOO_LARGE,
                         "a sink config may have at most %d bytes",
                         CONFIG_BODY_MAX);
        return;
    }
    c = call_new(r);
    if (c == NULL)
        return;
    c->config =
        json_loadb(body, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (c->config == NULL) {
        hg_reply_problem(r, HG_E_MALFORMED_JSON,
                         "the body is not valid JSON: %s at line %d", jerr.text,
                         jerr.line);
        return;
    }
    if (hg_sink_script_parse(c->config, hg_time_ms() / 1000, &script, &err) !=
        0) {
        reply_validation(r, err.field, err.message);
        return;
    }
    snprintf(c->requested_owner, sizeof(c->requested_owner), "%s",
             script.integration_id);
    snprintf(c->endpoint_id, sizeof(c->endpoint_id), "%s", script.endpoint_id);
    hg_sink_script_clear(&script);
    read_sink(r, on_put_read);
}

void insp_sink_put(hg_req *r)
{
    insp_authorize(r, put_authorized);
}

/* ---- DELETE /api/v1/sinks/{sink} ---------------------------------------- */

static void on_deleted(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_call *c = r->data;

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STATUS &&
               reply->type != REDIS_REPLY_STRING) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected reply");
    } else if (strcmp(reply->str, "ok") != 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "sink %s changed owner meanwhile; read it again",
                         r->params[0]);
    } else {
        hg_log_fields f = {.integration_id = c->owner,
                           .correlation_id = r->request_id};

        hg_info(&f, "sink %s deleted", r->params[0]);
        hg_reply(r, 204, NULL, NULL, 0);
    }
    hg_req_release(r);
}

static void delete_sink(hg_req *r)
{
    sink_call *c = r->data;
    const char *id = r->params[0];
    char k[7][HG_KEY_MAX];
    const char *argv[] = {sink_key(k[0], id, "config"),
                          HG_KEY_SINKS,
                          sink_key(k[1], id, "seq"),
                          sink_key(k[2], id, "stats"),
                          sink_key(k[3], id, "captures"),
                          sink_key(k[4], id, "bytes"),
                          hg_key(k[5], id, "integration"),
                          id,
                          c->owner};

    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_delete, 0, on_deleted, r, 7, 9,
                  argv, NULL);
}

static void delete_authorized(hg_req *r)
{
    start_on_sink(r, delete_sink, true, false);
}

void insp_sink_delete(hg_req *r)
{
    insp_authorize(r, delete_authorized);
}

/* ---- GET /api/v1/sinks -------------------------------------------------- */

static int by_sink_id(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;

    return strcmp(json_string_value(json_object_get(*x, "sink_id")),
                  json_string_value(json_object_get(*y, "sink_id")));
}

static void on_list(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    const redisReply *index = hg_reply_elem(reply, 0);
    const redisReply *integrations = hg_reply_elem(reply, 1);
    json_t *seen = json_object(), *sinks = json_array(), *sorted;
    json_t **items;
    size_t n;

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        json_decref(seen);
        json_decref(sinks);
        hg_req_release(r);
        return;
    }
    for (size_t i = 0; index && i + 1 < index->elements; i += 2) {
        const char *id = hg_reply_str(index, i, NULL);
        const char *owner = hg_reply_str(index, i + 1, NULL);

        if (id == NULL || owner == NULL || !insp_may_see(r, owner))
            continue;
        json_object_set_new(seen, id, json_true());
        json_array_append_new(sinks, json_pack("{s:s, s:s, s:b}", "sink_id", id,
                                               "integration_id", owner,
                                               "configured", 1));
    }
    /* Every integration has a sink of the same id, configured or not. */
    for (size_t i = 0; integrations && i < integrations->elements; i++) {
        const char *id = hg_reply_str(integrations, i, NULL);

        if (id == NULL || json_object_get(seen, id) != NULL ||
            !insp_may_see(r, id))
            continue;
        json_array_append_new(sinks,
                              json_pack("{s:s, s:s, s:b}", "sink_id", id,
                                        "integration_id", id, "configured", 0));
    }
    n = json_array_size(sinks);
    items = calloc(n + 1, sizeof(*items));
    sorted = json_array();
    for (size_t i = 0; items != NULL && i < n; i++)
        items[i] = json_array_get(sinks, i);
    if (items != NULL)
        qsort(items, n, sizeof(*items), by_sink_id);
    for (size_t i = 0; items != NULL && i < n; i++) {
        json_t *item = items[i];
        char path[HG_PARAM_MAX + 8];

        snprintf(path, sizeof(path), "/sink/%s",
                 json_string_value(json_object_get(item, "sink_id")));
        json_object_set_new(item, "url_path", json_string(path));
        json_array_append(sorted, item);
    }
    free(items);
    json_decref(sinks);
    json_decref(seen);
    hg_reply_json(r, 200, json_pack("{s:o}", "sinks", sorted));
    hg_req_release(r);
}

static void list_authorized(hg_req *r)
{
    /* NOTE: the list is not paged; it grows with the number of sinks and
     * integrations. */
    const char *argv[] = {HG_KEY_SINKS, HG_KEY_INTEGRATIONS};

    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_sink_list, 0, on_list, r, 2, 2, argv,
                  NULL);
}

void insp_sink_list(hg_req *r)
{
    insp_authorize(r, list_authorized);
}

/* ---- captures ----------------------------------------------------------- */

/* Adds the legacy "body" member (text, or base64 with body_encoding) that
 * the older captures route returned. */
static void add_legacy_body(json_t *capture)
{
    const char *b64 =
        json_string_value(json_object_get(capture, "body_base64"));
    size_t len = b64 ? strlen(b64) : 0;
    uint8_t *raw = malloc(len / 4 * 3 + 3);
    int n = raw && b64 ? hg_base64_decode(b64, len, raw, len / 4 * 3 + 3) : -1;

    if (n >= 0)
        hg_json_set_body(
            capture, "body", (const char *)raw, (size_t)n,
            json_is_true(json_object_get(capture, "body_truncated")));
    free(raw);
}

static void on_captures(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    sink_call *c = r->data;
    json_t *captures;

    if (insp_redis_failed(r, status, reply) || hg_req_done(r)) {
        hg_req_release(r);
        return;
    }
    captures = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        size_t len;
        const char *text = hg_reply_str(reply, i, &len);
        json_t *one = text ? json_loadb(text, len, 0, NULL) : NULL;

        if (one == NULL)
            continue;
        if (c->legacy)
            add_legacy_body(one);
        json_array_append_new(captures, one);
    }
    hg_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:o}", "sink_id", r->params[0],
                            "integration_id", c->owner,
                            c->legacy ? "captures" : "requests", captures));
    hg_req_release(r);
}

static void list_captures(hg_req *r)
{
    char key[HG_KEY_MAX];
    int limit = query_limit(r);

    if (limit < 0) {
        reply_validation(r, "limit", "must be an integer from 1 to 1000");
        return;
    }
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command(insp->redis, 0, on_captures, r, "LRANGE %s 0 %d",
                     sink_key(key, r->params[0], "captures"), limit - 1);
}

static void requests_authorized(hg_req *r)
{
    start_on_sink(r, list_captures, false, false);
}

void insp_sink_requests(hg_req *r)
{
    insp_authorize(r, requests_authorized);
}

static void legacy_captures_authorized(hg_req *r)
{
    start_on_sink(r, list_captures, false, true);
}

void insp_sink_captures(hg_req *r)
{
    insp_authorize(r, legacy_captures_authorized);
}

static void on_cleared(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!insp_redis_failed(r, status, reply))
        hg_reply(r, 204, NULL, NULL, 0);
    hg_req_release(r);
}

static void clear_captures(hg_req *r)
{
    char k_list[HG_KEY_MAX], k_bytes[HG_KEY_MAX];

    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command(insp->redis, 0, on_cleared, r, "DEL %s %s",
                     sink_key(k_list, r->params[0], "captures"),
                     sink_key(k_bytes, r->params[0], "bytes"));
}

static void clear_authorized(hg_req *r)
{
    start_on_sink(r, clear_captures, true, false);
}

void insp_sink_clear(hg_req *r)
{
    insp_authorize(r, clear_authorized);
}
