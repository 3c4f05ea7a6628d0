/* SPDX-License-Identifier: MIT
 *
 * Per-integration metrics: counting the API requests of integrations as
 * they finish, and the routes that read the sums back from Redis (see
 * docs/metrics.md for the fields and their definitions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/metrics_store.h"
#include "common/scripts.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"

#define INTEGRATION_ROUTE_PREFIX "/api/v1/integrations/{id}"
#define FIELD_MAX (HG_EVENT_TYPE_MAX + 8)

/* Returns the error code counted for a response status. Routes can send
 * several codes with one status; the most common one is counted. */
static const char *error_code_of(int status)
{
    switch (status) {
    case 400: return "BAD_REQUEST";
    case 401: return "UNAUTHORIZED";
    case 403: return "FORBIDDEN";
    case 404: return "NOT_FOUND";
    case 405: return "METHOD_NOT_ALLOWED";
    case 409: return "CONFLICT";
    case 412: return "PRECONDITION_FAILED";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 415: return "UNSUPPORTED_MEDIA_TYPE";
    case 422: return "VALIDATION_ERROR";
    case 429: return "RATE_LIMITED";
    case 503: return "UNAVAILABLE";
    default: return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
    }
}

static bool actor_is_integration(const hg_req *r)
{
    return strncmp(r->auth_actor, "key:", 4) == 0 ||
           strncmp(r->auth_actor, "client:", 7) == 0;
}

/* Returns the integration a finished request counts for, or NULL: calls
 * made with an API key or OAuth token of that integration. The admin key,
 * support tokens and inspector sessions are not counted. */
static const char *request_integration(const hg_req *r, int status)
{
    bool integration_route =
        r->route != NULL &&
        strncmp(r->route->pattern, INTEGRATION_ROUTE_PREFIX,
                strlen(INTEGRATION_ROUTE_PREFIX)) == 0 &&
        hg_integration_id_valid(r->params[0]);

    if (r->auth_admin || strcmp(r->auth_actor, "admin") == 0)
        return NULL;
    /* A publish names its actor before the store has checked the key, so
     * a revoked or unknown key would count there but nowhere else. */
    if (status == 401)
        return NULL;
    if (actor_is_integration(r))
        return r->auth_integration[0] != '\0' ? r->auth_integration
               : integration_route            ? r->params[0]
                                              : NULL;
    /* NOTE: the rate limit is checked before the credential's integration,
     * so a 429 is counted for the integration in the path, whoever sent
     * it. */
    if (status == 429 && integration_route)
        return r->params[0];
    return NULL;
}

void gw_metrics_on_done(hg_req *r, int status, long long duration_us)
{
    gw_thread *t = hg_req_thread(r);
    const char *integration = request_integration(r, status);
    char field[FIELD_MAX];

    if (t == NULL || t->metrics == NULL || integration == NULL || status == 0)
        return;
    hg_metrics_add(t->metrics, integration, NULL, "req", 1);
    hg_metrics_add(t->metrics, integration, NULL,
                   status < 400 ? "req_ok" : "req_fail", 1);
    hg_metrics_observe(t->metrics, integration, NULL, "rt",
                       (duration_us + 500) / 1000);
    hg_metrics_add(t->metrics, integration, NULL, "rt_sum_us", duration_us);
    if (status == 429)
        hg_metrics_add(t->metrics, integration, NULL, "rl", 1);
    if (status >= 400) {
        snprintf(field, sizeof(field), "err:%s", error_code_of(status));
        hg_metrics_add(t->metrics, integration, NULL, field, 1);
    }
    /* A repeat with the same Idempotency-Key is a request but no new
     * event. */
    if (status == 202 && r->route->handler == gw_publish_event &&
        r->data != NULL && !((const gw_publish *)r->data)->replayed) {
        const gw_publish *s = r->data;

        hg_metrics_add(t->metrics, integration, NULL, "ev", 1);
        snprintf(field, sizeof(field), "ev:%s", s->type);
        hg_metrics_add(t->metrics, integration, NULL, field, 1);
    }
}

/* ---- read -------------------------------------------------------------- */

typedef struct metrics_read {
    char integration_id[HG_PARAM_MAX];
    char endpoint_id[HG_PARAM_MAX]; /* "" for the integration as a whole */
    const char *period;
    int keys;            /* hashes read, one per step */
    bool hourly;         /* hour roll-ups instead of minute hashes */
    long long first_slot; /* series: unix minute or hour of the oldest step */
    void (*read)(hg_req *r); /* runs once the endpoint was looked up */
    bool endpoint_missing;   /* the endpoint does not exist (now) */
} metrics_read;

static const struct {
    const char *name;
    int keys;      /* hashes read */
    bool hourly;   /* hour roll-ups instead of minute hashes */
} periods[] = {
    {"last_1h", 60, false},
    {"last_24h", 24, true},
    {"last_7d", 168, true},
};

/* Fields a series step reads, in the order of the metrics_series.lua
 * reply: four counters, then the delivery latency buckets dl:0 to dl:15. */
static const char *const series_counters[] = {"ev", "d_ok", "d_fail",
                                              "d_dead"};
#define SERIES_COUNTERS 4
#define SERIES_FIELDS (SERIES_COUNTERS + HG_METRICS_BUCKETS)

static long long total_of(const json_t *sums, const char *field)
{
    return json_integer_value(json_object_get(sums, field));
}

static double round_tenth(double v)
{
    return (double)(long long)(v * 10 + 0.5) / 10;
}

static void histogram_of(const json_t *sums, const char *prefix,
                         long long counts[HG_METRICS_BUCKETS])
{
    char field[32];

    for (int i = 0; i < HG_METRICS_BUCKETS; i++) {
        snprintf(field, sizeof(field), "%s:%d", prefix, i);
        counts[i] = total_of(sums, field);
    }
}

static void add_request_metrics(json_t *m, json_t *errors, const json_t *sums)
{
    long long counts[HG_METRICS_BUCKETS];
    long long req = total_of(sums, "req");
    json_t *types = json_object();
    const char *field;
    json_t *value;

    histogram_of(sums, "rt", counts);
    json_object_set_new(m, "total_requests", json_integer(req));
    json_object_set_new(m, "successful_requests",
                        json_integer(total_of(sums, "req_ok")));
    json_object_set_new(m, "failed_requests",
                        json_integer(total_of(sums, "req_fail")));
    json_object_set_new(
        m, "average_response_time_ms",
        json_real(req ? round_tenth((double)total_of(sums, "rt_sum_us") /
                                    1000.0 / (double)req)
                      : 0));
    json_object_set_new(
        m, "p95_response_time_ms",
        json_real(round_tenth(hg_metrics_percentile(counts, 0.95))));
    json_object_set_new(m, "rate_limit_hits",
                        json_integer(total_of(sums, "rl")));
    json_object_set_new(m, "events_received",
                        json_integer(total_of(sums, "ev")));
    json_object_foreach((json_t *)sums, field, value) {
        if (strncmp(field, "ev:", 3) == 0)
            json_object_set(types, field + 3, value);
        else if (strncmp(field, "err:", 4) == 0)
            json_object_set(errors, field + 4, value);
    }
    json_object_set_new(m, "events_by_type", types);
}

static void add_delivery_metrics(json_t *m, json_t *errors,
                                 const json_t *sums, bool with_errors)
{
    long long counts[HG_METRICS_BUCKETS];
    long long ok = total_of(sums, "d_ok");
    long long fail = total_of(sums, "d_fail");
    long long dead = total_of(sums, "d_dead");
    const char *field;
    json_t *value;

    histogram_of(sums, "dl", counts);
    json_object_set_new(m, "deliveries_succeeded", json_integer(ok));
    json_object_set_new(m, "deliveries_failed", json_integer(fail));
    json_object_set_new(m, "deliveries_dead", json_integer(dead));
    json_object_set_new(
        m, "delivery_success_rate",
        json_real(ok + dead ? round_tenth(1000.0 * (double)ok /
                                          (double)(ok + dead)) / 1000
                            : 0.0));
    json_object_set_new(
        m, "average_delivery_latency_ms",
        json_real(ok ? round_tenth((double)total_of(sums, "dl_sum_ms") /
                                   (double)ok)
                     : 0));
    json_object_set_new(
        m, "p95_delivery_latency_ms",
        json_real(round_tenth(hg_metrics_percentile(counts, 0.95))));
    json_object_set_new(
        m, "p99_delivery_latency_ms",
        json_real(round_tenth(hg_metrics_percentile(counts, 0.99))));
    if (!with_errors)
        return;
    json_object_foreach((json_t *)sums, field, value) {
        if (strncmp(field, "err:", 4) == 0)
            json_object_set(errors, field + 4, value);
    }
}

static void reply_no_endpoint(hg_req *r, const metrics_read *q)
{
    hg_reply_problem(r, HG_E_NOT_FOUND,
                     "endpoint %s not found: it does not exist and has no "
                     "metrics in %s",
                     q->endpoint_id, q->period);
}

static void on_summed(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    metrics_read *q = r->data;
    json_t *sums = json_object();
    json_t *out, *m = json_object(), *errors = json_object();

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        json_decref(sums);
        json_decref(m);
        json_decref(errors);
        hg_req_release(r);
        return;
    }
    if (q->endpoint_missing && reply->elements == 0) {
        reply_no_endpoint(r, q);
        json_decref(sums);
        json_decref(m);
        json_decref(errors);
        hg_req_release(r);
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const char *field = hg_reply_str(reply, i, NULL);
        const char *value = hg_reply_str(reply, i + 1, NULL);

        if (field != NULL && value != NULL)
            json_object_set_new(sums, field,
                                json_integer(strtoll(value, NULL, 10)));
    }
    if (q->endpoint_id[0] == '\0')
        add_request_metrics(m, errors, sums);
    add_delivery_metrics(m, errors, sums, q->endpoint_id[0] != '\0');
    out = json_pack("{s:s}", "integration_id", q->integration_id);
    if (q->endpoint_id[0] != '\0')
        json_object_set_new(out, "endpoint_id", json_string(q->endpoint_id));
    json_object_set_new(out, "time_period", json_string(q->period));
    json_object_set_new(out, "metrics", m);
    json_object_set_new(out, "errors_by_type", errors);
    json_decref(sums);
    /* Every real here is already rounded (to 0.1 ms or 0.0001). */
    hg_reply_json_digits(r, 200, out, 12);
    hg_req_release(r);
}

static void read_metrics(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    metrics_read *q = r->data;
    long long minute = hg_time_ms() / 60000;
    const char **argv;
    char (*keys)[HG_KEY_MAX];
    char suffix[HG_PARAM_MAX + 8] = "";
    int n = q->keys;
    bool hourly = q->hourly;

    argv = calloc((size_t)n, sizeof(*argv));
    keys = calloc((size_t)n, sizeof(*keys));
    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (q->endpoint_id[0] != '\0')
        snprintf(suffix, sizeof(suffix), ":ep:%s", q->endpoint_id);
    for (int i = 0; i < n; i++) {
        long long slot = hourly ? minute / 60 - i : minute - i;

        snprintf(keys[i], HG_KEY_MAX, "hg:{%s}:%s:%lld%s", q->integration_id,
                 hourly ? "mh" : "m", slot, suffix);
        argv[i] = keys[i];
    }
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_metrics_sum, 0, on_summed, r, n, n,
                  argv, NULL);
    free(argv);
    free(keys);
}

/* ---- series ------------------------------------------------------------ */

/* Returns the integer at index i of a series row, 0 when it is missing. */
static long long row_value(const redisReply *row, size_t i)
{
    const redisReply *v = hg_reply_elem(row, i);

    return v != NULL && v->type == REDIS_REPLY_INTEGER ? v->integer : 0;
}

/* Returns part / whole rounded to 4 decimals, or null when whole is 0. */
static json_t *ratio_or_null(long long part, long long whole)
{
    double ratio;

    if (whole <= 0)
        return json_null();
    ratio = (double)part / (double)whole;
    return json_real((double)(long long)(ratio * 10000 + 0.5) / 10000);
}

static json_t *latency_or_null(const long long counts[HG_METRICS_BUCKETS],
                               long long samples, double q)
{
    return samples > 0
               ? json_real(round_tenth(hg_metrics_percentile(counts, q)))
               : json_null();
}

/* Builds one point of a series from the row of one minute or hour. */
static json_t *series_point(const metrics_read *q, const redisReply *row,
                            long long slot)
{
    long long step_ms = q->hourly ? 3600000LL : 60000LL;
    long long ok = row_value(row, 1), fail = row_value(row, 2);
    long long dead = row_value(row, 3), attempts = ok + fail + dead;
    long long counts[HG_METRICS_BUCKETS], samples = 0;
    char when[HG_TIME_BUF];
    json_t *p;

    for (int i = 0; i < HG_METRICS_BUCKETS; i++) {
        counts[i] = row_value(row, (size_t)(SERIES_COUNTERS + i));
        samples += counts[i];
    }
    p = json_pack("{s:s}", "t", hg_time_format(slot * step_ms, when));
    /* Events are published to the integration, so an endpoint has none. */
    json_object_set_new(p, "events_received",
                        q->endpoint_id[0] != '\0'
                            ? json_null()
                            : json_integer(row_value(row, 0)));
    json_object_set_new(p, "deliveries_succeeded", json_integer(ok));
    json_object_set_new(p, "deliveries_failed", json_integer(fail));
    json_object_set_new(p, "deliveries_dead", json_integer(dead));
    json_object_set_new(p, "delivery_success_rate",
                        ratio_or_null(ok, attempts));
    json_object_set_new(p, "p50_delivery_latency_ms",
                        latency_or_null(counts, samples, 0.50));
    json_object_set_new(p, "p95_delivery_latency_ms",
                        latency_or_null(counts, samples, 0.95));
    return p;
}

/* Returns true when every counter of every row is 0. */
static bool series_empty(const redisReply *reply)
{
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *row = reply->element[i];

        for (size_t k = 0; row->type == REDIS_REPLY_ARRAY && k < row->elements;
             k++) {
            if (row->element[k]->type == REDIS_REPLY_INTEGER &&
                row->element[k]->integer != 0)
                return false;
        }
    }
    return true;
}

static void on_series(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    metrics_read *q = r->data;
    json_t *out, *points;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        hg_req_release(r);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != (size_t)q->keys) {
        hg_log_fields f = {.correlation_id = r->request_id,
                           .integration_id = q->integration_id};

        hg_warn(&f, "metrics_series.lua returned %zu rows for %d hashes",
                reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0,
                q->keys);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
        hg_req_release(r);
        return;
    }
    if (q->endpoint_missing && series_empty(reply)) {
        reply_no_endpoint(r, q);
        hg_req_release(r);
        return;
    }
    points = json_array();
    for (size_t i = 0; i < reply->elements; i++)
        json_array_append_new(points,
                              series_point(q, reply->element[i],
                                           q->first_slot + (long long)i));
    out = json_pack("{s:s}", "integration_id", q->integration_id);
    json_object_set_new(out, "endpoint_id",
                        q->endpoint_id[0] != '\0'
                            ? json_string(q->endpoint_id)
                            : json_null());
    json_object_set_new(out, "time_period", json_string(q->period));
    json_object_set_new(out, "step_s", json_integer(q->hourly ? 3600 : 60));
    json_object_set_new(out, "points", points);
    /* Every real here is already rounded (to 0.1 ms or 0.0001). */
    hg_reply_json_digits(r, 200, out, 12);
    hg_req_release(r);
}

/* Reads one row per step, oldest first, with one metrics_series.lua call:
 * KEYS are the minute or hour hashes, ARGV the fields of a row. */
static void read_series(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    metrics_read *q = r->data;
    long long minute = hg_time_ms() / 60000;
    long long now_slot = q->hourly ? minute / 60 : minute;
    int n = q->keys, argc = n + SERIES_FIELDS;
    char fields[HG_METRICS_BUCKETS][8];
    char suffix[HG_PARAM_MAX + 8] = "";
    char (*keys)[HG_KEY_MAX] = calloc((size_t)n, sizeof(*keys));
    const char **argv = calloc((size_t)argc, sizeof(*argv));

    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (q->endpoint_id[0] != '\0')
        snprintf(suffix, sizeof(suffix), ":ep:%s", q->endpoint_id);
    q->first_slot = now_slot - (n - 1);
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], HG_KEY_MAX, "hg:{%s}:%s:%lld%s", q->integration_id,
                 q->hourly ? "mh" : "m", q->first_slot + i, suffix);
        argv[i] = keys[i];
    }
    for (int i = 0; i < SERIES_COUNTERS; i++)
        argv[n + i] = series_counters[i];
    for (int i = 0; i < HG_METRICS_BUCKETS; i++) {
        snprintf(fields[i], sizeof(fields[i]), "dl:%d", i);
        argv[n + SERIES_COUNTERS + i] = fields[i];
    }
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_metrics_series, 0, on_series, r, n,
                  argc, argv, NULL);
    free(argv);
    free(keys);
}

/* ---- parameters ---------------------------------------------------------- */

static void on_endpoint_checked(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    hg_req *r = arg;
    metrics_read *q = r->data;

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied, or the client left */
    } else {
        q->endpoint_missing =
            reply->type != REDIS_REPLY_INTEGER || reply->integer == 0;
        q->read(r);
    }
    hg_req_release(r);
}

/* Looks the endpoint up before its metrics are read. A deleted endpoint
 * keeps its history, but an endpoint that does not exist and has no
 * metrics in the period gets 404, so that a mistyped id does not read as
 * an idle endpoint. */
static void check_endpoint(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    metrics_read *q = r->data;
    char suffix[HG_PARAM_MAX + 8], key[HG_KEY_MAX];

    snprintf(suffix, sizeof(suffix), "ep:%s", q->endpoint_id);
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_endpoint_checked, r, "EXISTS %s",
                     hg_key(key, q->integration_id, suffix));
}

/* Validates the period, stores the parameters as r->data, authorizes and
 * checks that the endpoint exists, then runs next. The ids are well
 * formed. The admin key gets 404 for an integration that does not exist
 * (the other credentials belong to one that does). */
static void start_read(hg_req *r, const char *endpoint_id,
                       void (*next)(hg_req *r))
{
    const char *period = hg_req_query(r, "time_period");
    metrics_read *q;
    int known = -1;

    if (period == NULL)
        period = "last_24h";
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
        if (strcmp(periods[i].name, period) == 0)
            known = (int)i;
    if (known < 0) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "time_period must be last_1h, last_24h or last_7d");
        return;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    snprintf(q->integration_id, sizeof(q->integration_id), "%s",
             r->params[0]);
    if (endpoint_id != NULL)
        snprintf(q->endpoint_id, sizeof(q->endpoint_id), "%s", endpoint_id);
    q->period = periods[known].name;
    q->keys = periods[known].keys;
    q->hourly = periods[known].hourly;
    q->read = next;
    r->data = q;
    r->data_free = free;
    gw_authorize_existing(r, r->params[0], SCOPE_READ,
                          endpoint_id != NULL ? check_endpoint : next);
}

void gw_get_integration_metrics(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        start_read(r, NULL, read_metrics);
}

void gw_get_endpoint_metrics(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!gw_endpoint_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s not found",
                         r->params[1]);
        return;
    }
    start_read(r, r->params[1], read_metrics);
}

void gw_get_metrics_series(hg_req *r)
{
    const char *endpoint_id = hg_req_query(r, "endpoint_id");

    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (endpoint_id != NULL && !gw_endpoint_id_valid(endpoint_id)) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "endpoint_id must be an endpoint id such as "
                         "ep_2x8Yb9");
        return;
    }
    start_read(r, endpoint_id, read_series);
}
