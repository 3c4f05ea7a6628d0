/* SPDX-License-Identifier: MIT
 *
 * The dispatcher reads work entries with XREADGROUP on a connection of its
 * own (a blocking read would hold up other commands), runs each entry as a
 * job (load, send, record) and acknowledges the entry in the same script
 * that records the attempt. Entries left pending by a worker that died are
 * taken over with XAUTOCLAIM once idle longer than the visibility timeout.
 * The scheduler part moves due retries to the work streams.
 *
 * Every Redis step of a job is retried with backoff until it succeeds, so a
 * Redis outage after a 2xx answer never makes the delivery go out again
 * from this worker; only a crash of the worker can, at least once.
 */
#include <ctype.h>
#include <pthread.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "common/attempt_codec.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics_store.h"
#include "common/prom.h"
#include "common/scripts.h"
#include "common/secretbox.h"
#include "common/service.h"
#include "retry/retry.h"

#define READ_BLOCK_MS 1000
#define READ_BATCH_MAX 256
#define CLAIM_BATCH_MAX 100
#define PROMOTE_BATCH 1000
#define STEP_RETRY_MIN_MS 250
#define STEP_RETRY_MAX_MS 5000
/* After a delivery was deferred by its endpoint's concurrency cap, reads
 * are paced by finished sends for this long (see read_work): up to one
 * entry per finished send, and CAPPED_PROBE entries more every probe
 * interval, so other endpoints' entries are still read while one endpoint
 * is full. The interval starts at CAPPED_PROBE_MS (800 entries a second)
 * and doubles up to CAPPED_PROBE_MAX_MS (40 a second) while reads only
 * meet the full endpoint, since each entry deferred costs a load and a
 * trip through the schedule. */
#define CAPPED_HOLD_MS 1000
#define CAPPED_PROBE 4
#define CAPPED_PROBE_MS 5
#define CAPPED_PROBE_MAX_MS 100

typedef enum job_step { STEP_LOAD, STEP_SETTLE, STEP_RECORD } job_step;

typedef struct job_node {
    job j;
    job_step step;
    const char *settle_reason;
    int64_t due_ms; /* due time of a promoted retry (ms), else 0 */
    bool sent;      /* the attempt went out, so a lease was held */
    TAILQ_ENTRY(job_node) link;
} job_node;

TAILQ_HEAD(job_list, job_node);

/* Callback argument that names the shard a command was about. */
struct shard_ctx {
    dispatcher *d;
    int shard;
};

struct dispatcher {
    struct event_base *base;
    const hg_config *cfg;
    hg_redis *redis;
    hg_redis *blocking;
    hg_metrics *metrics; /* delivery outcomes, flushed each second */
    hg_http_client *http;
    hg_attempt_packer *packer; /* deflates attempt records for Redis */
    struct curl_slist *resolve; /* HOOKGATE_RESOLVE_OVERRIDE entries */
    char consumer[160];
    int shards;
    char (*work_keys)[HG_KEY_MAX];
    char (*sched_keys)[HG_KEY_MAX];
    bool redis_checked; /* the durability check passed on this connection */
    bool groups_ready;
    bool groups_failed;
    int groups_pending;
    struct shard_ctx *shard_ctx;
    bool reading;
    bool stopping;
    /* Set while the dispatcher is freed: the Redis steps that fail then
     * were cut off by the exit and are not tried again. */
    bool freeing;
    int64_t capped_until_ms; /* monotonic; see CAPPED_HOLD_MS */
    int freed;               /* sends finished since the last read */
    int64_t probe_after_ms;  /* monotonic; next paced read without a send */
    int probe_ms;            /* current probe interval (ms) */
    int capped_deferrals;    /* cap deferrals since the last probe read */
    int others_sent;         /* sends since then to other endpoints */
    char capped_integration[HG_ID_MAX]; /* of the last cap deferral */
    char capped_endpoint[HG_ID_MAX];
    int64_t sched_next_ms; /* earliest next due time this promote round */
    bool sched_more;       /* a shard had more due than one batch */
    int jobs;
    struct job_list job_list;
    struct event *read_retry;
    struct event *group_retry;
    struct event *claim_timer;
    struct event *sched_timer;
    struct event *queue_timer; /* reads the retry schedule's gauges */
    struct event *stop_timer;
    void (*stop_done)(void *arg);
    void *stop_arg;
    int64_t last_read_warn_ms;
};

static void read_work(dispatcher *d);
static void run_step(job_node *n);
static void start_send(job_node *n);
static void count_attempt(job *j, int http_status);

static void arm(struct event *ev, int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

    evtimer_add(ev, &tv);
}

/* Ids of a job's log lines; the trace ids are set once the delivery is
 * loaded, and span_id is the attempt's span. */
static hg_log_fields job_fields(const job *j)
{
    hg_log_fields f = {.integration_id = j->integration_id,
                       .event_id = j->event_id[0] ? j->event_id : NULL,
                       .delivery_id = j->delivery_id,
                       .endpoint_id = j->endpoint_id[0] ? j->endpoint_id
                                                        : NULL,
                       .trace_id = j->trace.trace_id,
                       .span_id = j->trace.span_id};
    return f;
}

/* ---- job lifecycle ----------------------------------------------------- */

static void wipe_free(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

/* Frees what load_delivery.lua filled in, so a load can run again. */
static void job_unload(job *j)
{
    free(j->payload);
    free(j->url);
    wipe_free(j->secret);
    wipe_free(j->previous_secret);
    free(j->headers_json);
    j->payload = j->url = j->secret = j->previous_secret = NULL;
    j->headers_json = NULL;
}

static void job_free(job_node *n)
{
    job *j = &n->j;

    job_unload(j);
    attempt_request_free(j->request);
    free(j->attempt_json);
    free(j->attempt_packed);
    free(j->activity_fields);
    if (j->retry_timer != NULL)
        event_free(j->retry_timer);
    free(n);
}

static void job_finish(job_node *n)
{
    dispatcher *d = n->j.d;

    TAILQ_REMOVE(&d->job_list, n, link);
    d->jobs--;
    if (n->sent)
        d->freed++;
    job_free(n);
    if (d->stopping && d->jobs == 0 && d->stop_done != NULL) {
        void (*done)(void *) = d->stop_done;

        d->stop_done = NULL;
        done(d->stop_arg);
        return;
    }
    read_work(d);
}

static void on_step_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_step(arg);
}

/* Runs the current Redis step again later, with capped exponential
 * backoff; a job is never dropped because Redis was briefly away. */
static void retry_step(job_node *n, const char *why)
{
    job *j = &n->j;
    hg_log_fields f = job_fields(j);
    int64_t delay = STEP_RETRY_MIN_MS << (j->record_failures < 5
                                              ? j->record_failures
                                              : 5);

    if (delay > STEP_RETRY_MAX_MS)
        delay = STEP_RETRY_MAX_MS;
    /* Another worker takes the entry over after the visibility timeout. */
    if (j->d->freeing)
        return;
    j->record_failures++;
    f.error = why;
    hg_warn(&f, "Redis step of a delivery failed; retrying in %lld ms",
            (long long)delay);
    if (j->retry_timer == NULL)
        j->retry_timer = evtimer_new(j->d->base, on_step_retry, n);
    arm(j->retry_timer, delay);
}

static bool step_failed(job_node *n, hg_redis_status status,
                        const redisReply *reply)
{
    if (status == HG_REDIS_OK && !hg_reply_is_error(reply))
        return false;
    retry_step(n, status != HG_REDIS_OK ? hg_redis_status_text(status)
                                        : reply->str);
    return true;
}

static void schedule_member(const job *j, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s", j->integration_id, j->delivery_id);
}

/* ---- settle: acknowledge without an attempt ---------------------------- */

static void on_settled(hg_redis_status status, redisReply *reply, void *arg)
{
    job_node *n = arg;

    if (step_failed(n, status, reply))
        return;
    if (n->settle_reason[0] != '\0') {
        hg_log_fields f = job_fields(&n->j);

        hg_warn(&f, "delivery ended without an attempt: %s",
                n->settle_reason);
    }
    job_finish(n);
}

static void do_settle(job_node *n)
{
    job *j = &n->j;
    dispatcher *d = j->d;
    char k_dlv[HG_KEY_MAX], member[200], now[HG_TIME_BUF], maxlen[16];
    const char *argv[] = {
        hg_key_id(k_dlv, j->integration_id, "dlv", j->delivery_id),
        d->work_keys[j->shard], d->sched_keys[j->shard], HG_KEY_ACTIVITY,
        j->entry_id, HG_DISPATCH_GROUP, n->settle_reason,
        hg_time_format(hg_time_ms(), now), member, maxlen, j->integration_id,
        j->manual ? "1" : "0",
    };

    schedule_member(j, member, sizeof(member));
    snprintf(maxlen, sizeof(maxlen), "%d", d->cfg->activity_maxlen);
    hg_redis_eval(d->redis, &hg_script_settle, 0, on_settled, n, 4, 12, argv,
                  NULL);
}

static void settle(job_node *n, const char *reason)
{
    n->step = STEP_SETTLE;
    n->settle_reason = reason;
    run_step(n);
}

/* ---- record: the attempt and its consequence --------------------------- */

static const char *outcome_name(job_outcome o)
{
    return o == OUTCOME_SUCCEEDED ? "succeeded"
           : o == OUTCOME_FAILED  ? "failed"
                                  : "dead";
}

/* What record_attempt.lua did to the endpoint, for operators. */
static void log_endpoint_action(const job *j, const char *action)
{
    hg_log_fields f = {.integration_id = j->integration_id,
                       .endpoint_id = j->endpoint_id};

    if (action == NULL || action[0] == '\0')
        return;
    if (strcmp(action, "opened") == 0)
        hg_warn(&f, "circuit breaker opened after %d consecutive failures: "
                    "only trial deliveries go to this endpoint until one "
                    "succeeds",
                j->d->cfg->breaker_failures);
    else if (strcmp(action, "closed") == 0)
        hg_info(&f, "circuit breaker closed: the endpoint answered a trial "
                    "delivery");
    else if (strcmp(action, "disabled") == 0)
        hg_warn(&f, "endpoint disabled: %s",
                j->endpoint_action ? j->endpoint_action
                                   : "failing for longer than "
                                     "HOOKGATE_DISABLE_AFTER_S");
}

static void on_recorded(hg_redis_status status, redisReply *reply, void *arg)
{
    job_node *n = arg;
    job *j = &n->j;
    hg_log_fields f = job_fields(j);
    const redisReply *number = hg_reply_elem(reply, 0);
    const redisReply *state = hg_reply_elem(reply, 1);
    const char *late = hg_reply_str(reply, 3, NULL);

    if (step_failed(n, status, reply))
        return;
    /* Attempt number 0: the delivery or its integration is gone, and
     * counters written now would outlive the integration's purge. */
    if (number != NULL && number->type == REDIS_REPLY_INTEGER &&
        number->integer > 0 && (late == NULL || late[0] == '\0'))
        count_attempt(j, j->http_status);
    if (state != NULL && state->type == REDIS_REPLY_STRING &&
        strcmp(state->str, "failed") == 0 && j->outcome == OUTCOME_FAILED &&
        !j->manual) {
        char due[HG_TIME_BUF];

        f.next_attempt_at = hg_time_format(j->next_due_ms, due);
        f.error_class = j->error_class;
        f.error = j->error_message[0] ? j->error_message : NULL;
        hg_warn(&f, "delivery attempt failed; next attempt at %s",
                f.next_attempt_at);
    } else if (j->outcome == OUTCOME_DEAD) {
        f.error = j->error_message[0] ? j->error_message : NULL;
        f.error_class = j->error_class;
        hg_warn(&f, "delivery is dead: %s", j->dead_reason);
    } else {
        hg_debug(&f, "delivery attempt recorded: %s",
                 outcome_name(j->outcome));
    }
    log_endpoint_action(j, hg_reply_str(reply, 2, NULL));
    job_finish(n);
}

/* Returns the job's attempt record as record_attempt.lua stores it,
 * deflated on the first call; a retried record reuses it. The bytes are
 * binary, of j->attempt_packed_len. */
static const char *packed_attempt(job *j)
{
    if (j->attempt_packed == NULL) {
        j->attempt_packed =
            hg_attempt_pack(j->d->packer, j->attempt_json,
                            strlen(j->attempt_json), &j->attempt_packed_len);
        if (j->attempt_packed == NULL) {
            hg_error(NULL, "deflating an attempt record of %zu bytes failed",
                     strlen(j->attempt_json));
            abort();
        }
    }
    return (const char *)j->attempt_packed;
}

static void do_record(job_node *n)
{
    job *j = &n->j;
    dispatcher *d = j->d;
    char k_dlv[HG_KEY_MAX], k_att[HG_KEY_MAX];
    char due_ms[24], due_at[HG_TIME_BUF], now[HG_TIME_BUF];
    char member[200], retention[24], maxlen[16];
    char failures[16], probe_ms[24], probe_max_ms[24], disable_ms[24];
    char op_event[HG_ID_MAX];
    const char *argv[] = {
        hg_key_id(k_dlv, j->integration_id, "dlv", j->delivery_id),
        hg_key_id(k_att, j->integration_id, "att", j->delivery_id),
        d->work_keys[j->shard],
        d->sched_keys[j->shard],
        HG_KEY_ACTIVITY,
        j->entry_id,
        packed_attempt(j),
        outcome_name(j->outcome),
        due_ms,
        j->next_due_ms ? hg_time_format(j->next_due_ms, due_at) : "",
        j->dead_reason ? j->dead_reason : "",
        hg_time_format(hg_time_ms(), now),
        j->manual ? "1" : "0",
        member,
        retention,
        maxlen,
        j->integration_id,
        HG_DISPATCH_GROUP,
        j->activity_fields,
        j->attempt_id,
        j->endpoint_action ? j->endpoint_action : "",
        failures,
        probe_ms,
        probe_max_ms,
        disable_ms,
        op_event,
        j->counts_for_health ? "1" : "0",
        j->probe ? "1" : "0",
    };
    size_t argvlen[sizeof(argv) / sizeof(argv[0])];

    snprintf(due_ms, sizeof(due_ms), "%lld", (long long)j->next_due_ms);
    snprintf(failures, sizeof(failures), "%d", d->cfg->breaker_failures);
    snprintf(probe_ms, sizeof(probe_ms), "%lld",
             (long long)d->cfg->breaker_probe_s * 1000);
    snprintf(probe_max_ms, sizeof(probe_max_ms), "%lld",
             (long long)d->cfg->breaker_probe_max_s * 1000);
    snprintf(disable_ms, sizeof(disable_ms), "%lld",
             (long long)d->cfg->disable_after_s * 1000);
    hg_id_new("evt_", op_event);
    schedule_member(j, member, sizeof(member));
    snprintf(retention, sizeof(retention), "%lld", d->cfg->event_retention_s);
    snprintf(maxlen, sizeof(maxlen), "%d", d->cfg->activity_maxlen);
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        argvlen[i] = i == 6 ? j->attempt_packed_len : strlen(argv[i]);
    hg_redis_eval(d->redis, &hg_script_record_attempt, 0, on_recorded, n, 5,
                  (int)(sizeof(argv) / sizeof(argv[0])), argv, argvlen);
}

/* ---- send ------------------------------------------------------------ */

/* Returns the publish time embedded in an event id (the first 48 of the
 * 128 bits after the prefix are the unix time in ms, see hg_id_new), or 0
 * when the id is not of that form. */
static int64_t event_time_ms(const char *event_id)
{
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const char *body = strchr(event_id, '_');
    int64_t ms = 0;

    if (body == NULL || strlen(body + 1) < 10)
        return 0;
    /* 10 characters carry 50 bits: 2 bits of padding, then the time. */
    for (int i = 1; i <= 10; i++) {
        const char *p = strchr(digits, body[i]);

        if (p == NULL || body[i] == '\0')
            return 0;
        ms = ms * 32 + (p - digits);
    }
    return ms;
}

/* Counts the attempt's outcome in the integration's and the endpoint's
 * metrics, once Redis recorded it. A late duplicate (see
 * record_attempt.lua) is left out: the attempt that ended its delivery
 * was counted, and nothing was scheduled after this one. */
static void count_attempt(job *j, int http_status)
{
    hg_metrics *m = j->d->metrics;
    static const char *const counters[] = {
        [OUTCOME_SUCCEEDED] = "d_ok",
        [OUTCOME_FAILED] = "d_fail",
        [OUTCOME_DEAD] = "d_dead",
    };
    char field[48] = "err:";

    for (int scope = 0; scope < 2; scope++) {
        const char *ep = scope == 0 ? NULL : j->endpoint_id;

        hg_metrics_add(m, j->integration_id, ep, counters[j->outcome], 1);
        /* A manual attempt (redelivery, replay, recovery job) starts when
         * someone requests it, so its time since the publish would feed
         * the latency percentiles and their alerts with that wait. */
        if (j->outcome == OUTCOME_SUCCEEDED && !j->manual) {
            int64_t published = event_time_ms(j->event_id);

            if (published > 0)
                hg_metrics_observe(m, j->integration_id, ep, "dl",
                                   hg_time_ms() - published);
        }
    }
    if (j->outcome == OUTCOME_SUCCEEDED || j->error_class == NULL)
        return;
    if (strcmp(j->error_class, "http_status") != 0) {
        size_t i = 4;

        for (const char *c = j->error_class; *c && i + 1 < sizeof(field); c++)
            field[i++] = (char)toupper((unsigned char)*c);
        field[i] = '\0';
    } else {
        snprintf(field, sizeof(field), "err:%s",
                 http_status >= 500   ? "HTTP_5XX"
                 : http_status >= 400 ? "HTTP_4XX"
                                      : "HTTP_STATUS");
    }
    hg_metrics_add(m, j->integration_id, NULL, field, 1);
    hg_metrics_add(m, j->integration_id, j->endpoint_id, field, 1);
}

/* ---- Prometheus metrics ----------------------------------------------- */

/* Milliseconds between reads of the retry schedule's size and oldest due
 * time; scrapes read the last values, so a scrape costs no Redis command. */
#define QUEUE_GAUGE_INTERVAL_MS 5000

/* Upper bounds in seconds of the delivery attempt duration histogram. */
static const double delivery_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,  1,     2.5,  5,
                                          10,    30};

static struct {
    hg_prom_metric *deliveries;
    hg_prom_metric *duration;
    hg_prom_metric *queue_depth;
    hg_prom_metric *oldest_due_age;
    hg_prom_metric *schedule_lag;
    hg_prom_metric *deferred;
} prom;
static pthread_once_t prom_once = PTHREAD_ONCE_INIT;

/* Upper bounds in seconds of the scheduler lag histogram. */
static const double lag_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                     0.05,  0.1,    0.25,  0.5,  1,
                                     2.5,   5,      10,    30};

static void declare_prom_metrics(void)
{
    hg_prom_registry *reg = hg_prom_default();
    const char *const outcome_class[] = {"outcome", "error_class"};
    const char *const shard[] = {"shard"};
    const char *const reason[] = {"reason"};

    prom.deliveries = hg_prom_declare(
        reg, HG_PROM_COUNTER, "hookgate_deliveries_total",
        "Delivery attempts by outcome (succeeded, failed: a retry is "
        "scheduled, dead: no retry is left) and error class.",
        2, outcome_class, 0, NULL);
    prom.duration = hg_prom_declare(
        reg, HG_PROM_HISTOGRAM, "hookgate_delivery_duration_seconds",
        "Duration of one delivery attempt's HTTP exchange.", 0, NULL,
        (int)(sizeof(delivery_buckets) / sizeof(double)), delivery_buckets);
    prom.queue_depth = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_retry_queue_depth",
        "Retries scheduled in the shard's schedule (ZCARD), read every 5 "
        "seconds.",
        1, shard, 0, NULL);
    prom.oldest_due_age = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_retry_oldest_due_age_seconds",
        "Seconds since the earliest scheduled retry of the shard fell due; 0 "
        "when none is due. Read every 5 seconds.",
        1, shard, 0, NULL);
    prom.schedule_lag = hg_prom_declare(
        reg, HG_PROM_HISTOGRAM, "hookgate_retry_schedule_lag_seconds",
        "Start of a scheduled retry's attempt minus its due time.", 0, NULL,
        (int)(sizeof(lag_buckets) / sizeof(double)), lag_buckets);
    prom.deferred = hg_prom_declare(
        reg, HG_PROM_COUNTER, "hookgate_deliveries_deferred_total",
        "Deliveries put back on the schedule without an attempt because "
        "their endpoint was at its limit: reason \"cap\" (concurrency), "
        "\"breaker\" (circuit open) or \"rate\" (rate limit).",
        1, reason, 0, NULL);
}

/* Counts one attempt in hookgate_deliveries_total. The error class is the
 * attempt's ("timeout", "connect", ...), with an HTTP status split into
 * "http_4xx", "http_5xx" and "http_status" (1xx or 3xx), and "none" for a
 * success. */
static void prom_count_attempt(const job *j, const hg_http_result *res)
{
    const char *error_class = "none";
    const char *values[2];

    if (j->outcome != OUTCOME_SUCCEEDED && j->error_class != NULL) {
        error_class = j->error_class;
        if (strcmp(error_class, "http_status") == 0)
            error_class = res->http_status >= 500   ? "http_5xx"
                          : res->http_status >= 400 ? "http_4xx"
                                                    : "http_status";
    }
    values[0] = outcome_name(j->outcome);
    values[1] = error_class;
    hg_prom_inc(prom.deliveries, values, 1);
    hg_prom_observe(prom.duration, NULL, (double)res->duration_ms / 1000);
}

/* Counts one deferral in hookgate_deliveries_deferred_total. reason is
 * the load script's: "cap", "breaker" or "rate". */
static void prom_count_deferral(const char *reason)
{
    const char *values[1] = {reason != NULL ? reason : "unknown"};

    hg_prom_inc(prom.deferred, values, 1);
}

static void on_queue_depth(hg_redis_status status, redisReply *reply,
                           void *arg)
{
    struct shard_ctx *ctx = arg;
    char label[12];
    const char *values[] = {label};

    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_INTEGER)
        return;
    snprintf(label, sizeof(label), "%d", ctx->shard);
    hg_prom_set(prom.queue_depth, values, (double)reply->integer);
}

/* ZRANGE ... WITHSCORES replies [member, score] in RESP2; the score is the
 * due time in Unix milliseconds. */
static void on_queue_oldest(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    struct shard_ctx *ctx = arg;
    char label[12];
    const char *values[] = {label};
    double age_s = 0;

    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_ARRAY)
        return;
    if (reply->elements >= 2 && reply->element[1]->str != NULL) {
        double due_ms = strtod(reply->element[1]->str, NULL);
        double now_ms = (double)hg_time_ms();

        if (due_ms < now_ms)
            age_s = (now_ms - due_ms) / 1000;
    }
    snprintf(label, sizeof(label), "%d", ctx->shard);
    hg_prom_set(prom.oldest_due_age, values, age_s);
}

static void on_queue_tick(evutil_socket_t fd, short what, void *arg)
{
    dispatcher *d = arg;

    (void)fd;
    (void)what;
    if (d->stopping)
        return;
    for (int i = 0; hg_redis_ready(d->redis) && i < d->shards; i++) {
        hg_redis_command(d->redis, d->cfg->redis_timeout_ms, on_queue_depth,
                         &d->shard_ctx[i], "ZCARD %s", d->sched_keys[i]);
        hg_redis_command(d->redis, d->cfg->redis_timeout_ms, on_queue_oldest,
                         &d->shard_ctx[i], "ZRANGE %s 0 0 WITHSCORES",
                         d->sched_keys[i]);
    }
    arm(d->queue_timer, QUEUE_GAUGE_INTERVAL_MS);
}

static void on_sent(const hg_http_result *res, void *arg)
{
    job_node *n = arg;
    job *j = &n->j;
    dispatcher *d = j->d;

    attempt_decide(j, res, d->cfg);
    if (res->blocked_address[0] != '\0')
        snprintf(j->error_message, sizeof(j->error_message),
                 "%.255s (blocked address %.63s)", res->error_message,
                 res->blocked_address);
    else
        snprintf(j->error_message, sizeof(j->error_message), "%s",
                 res->error_message);
    hg_id_new("att_", j->attempt_id);
    j->record_failures = 0;
    if (attempt_describe(j, j->request, res) != 0) {
        hg_log_fields f = job_fields(j);

        hg_error(&f, "out of memory recording an attempt");
        abort();
    }
    j->http_status = res->http_status;
    prom_count_attempt(j, res);
    n->step = STEP_RECORD;
    run_step(n);
}

static void start_send(job_node *n)
{
    job *j = &n->j;
    dispatcher *d = j->d;
    attempt_request *req = malloc(sizeof(*req));
    hg_http_request http;

    if (req == NULL || attempt_prepare(j, req) != 0) {
        attempt_request_free(req);
        settle(n, "invalid_secret");
        return;
    }
    memset(&http, 0, sizeof(http));
    http.url = j->url;
    http.headers = req->line_ptrs;
    http.body = j->payload;
    http.body_len = j->payload_len;
    http.connect_timeout_ms = j->connect_timeout_ms > 0
                                  ? j->connect_timeout_ms
                                  : d->cfg->connect_timeout_ms;
    http.total_timeout_ms = j->timeout_ms > 0 ? j->timeout_ms
                                              : d->cfg->delivery_timeout_ms;
    /* The visibility timeout was sized for the global timeout. */
    if (http.total_timeout_ms > d->cfg->delivery_timeout_ms)
        http.total_timeout_ms = d->cfg->delivery_timeout_ms;
    http.capture_limit = (size_t)d->cfg->response_capture_bytes;
    http.allow_private = d->cfg->allow_private_targets;
    http.proxy = d->cfg->outbound_proxy;
    http.resolve = d->resolve;
    /* The headers go into the attempt record after the answer. */
    j->request = req;
    n->sent = true;
    if (n->due_ms > 0) {
        int64_t lag = hg_time_ms() - n->due_ms;

        hg_prom_observe(prom.schedule_lag, NULL,
                        (double)(lag > 0 ? lag : 0) / 1000);
        n->due_ms = 0; /* a repeated send step is not a second lag */
    }
    hg_http_client_send(d->http, &http, on_sent, n);
}

/* ---- load ------------------------------------------------------------- */

static char *dup_reply(const redisReply *r, size_t i, size_t *len)
{
    size_t n;
    const char *s = hg_reply_str(r, i, &n);
    char *out;

    if (s == NULL)
        return NULL;
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    if (len != NULL)
        *len = n;
    return out;
}

static void copy_reply(const redisReply *r, size_t i, char *out, size_t cap)
{
    const char *s = hg_reply_str(r, i, NULL);

    snprintf(out, cap, "%s", s ? s : "");
}

/* Fields of a "send" reply of load_delivery.lua, by position. */
enum {
    LOAD_STATUS = 1, LOAD_EVENT, LOAD_ENDPOINT, LOAD_ATTEMPTS, LOAD_RETRY,
    LOAD_PAYLOAD, LOAD_TYPE, LOAD_TRACE, LOAD_URL, LOAD_SECRET,
    LOAD_PREVIOUS, LOAD_PREVIOUS_EXPIRES, LOAD_HEADERS, LOAD_CONNECT_TIMEOUT,
    LOAD_TIMEOUT, LOAD_PROBE, LOAD_TRACESTATE, LOAD_HOPS
};

/* Opens the sealed values of the endpoint's custom headers (credential
 * headers, which the gateway seals) in j->headers_json. Values stored in
 * clear, before sealing existed, pass as they are. A value that does not
 * open makes the delivery wait, as a secret does (see open_secrets()). */
static int open_headers(job_node *n)
{
    job *j = &n->j;
    json_t *headers;
    const char *name;
    json_t *value;
    bool changed = false;
    int rc = 0;

    if (j->headers_json == NULL ||
        strstr(j->headers_json, HG_SECRETBOX_PREFIX) == NULL)
        return 0;
    headers = json_loads(j->headers_json, 0, NULL);
    json_object_foreach(headers, name, value) {
        char aad[HG_KEY_MAX + 160], plain[HG_HEADER_SEALED_MAX];

        if (!json_is_string(value) ||
            !hg_secretbox_is_sealed(json_string_value(value)))
            continue;
        hg_endpoint_header_aad(aad, sizeof(aad), j->integration_id,
                               j->endpoint_id, name);
        if (hg_secretbox_open(j->d->cfg->endpoint_secrets_key, aad,
                              json_string_value(value), plain,
                              sizeof(plain)) != 0) {
            rc = -1;
            break;
        }
        json_object_set_new(headers, name, json_string(plain));
        memset(plain, 0, sizeof(plain));
        changed = true;
    }
    if (rc == 0 && changed) {
        char *text = json_dumps(headers, JSON_COMPACT);

        if (text == NULL) {
            rc = -1;
        } else {
            free(j->headers_json);
            j->headers_json = text;
        }
    }
    json_decref(headers);
    if (rc != 0)
        retry_step(n, "cannot open a custom header value of the endpoint; "
                      "is HOOKGATE_SECRET_KEY the same as the gateway's?");
    return rc;
}

/* Opens the endpoint's sealed secret, and the previous one while its
 * grace period lasts. A secret that does not open means this worker has
 * another HOOKGATE_SECRET_KEY than the gateway: the delivery waits, since
 * ending it would lose it for a configuration mistake. */
static int open_secrets(job_node *n, const redisReply *reply)
{
    job *j = &n->j;
    const char *sealed = hg_reply_str(reply, LOAD_SECRET, NULL);
    const char *previous = hg_reply_str(reply, LOAD_PREVIOUS, NULL);
    const char *expires = hg_reply_str(reply, LOAD_PREVIOUS_EXPIRES, NULL);
    char aad[HG_KEY_MAX], plain[HG_SECRET_MAX_LEN];

    snprintf(aad, sizeof(aad), "%s/%s", j->integration_id, j->endpoint_id);
    if (sealed == NULL ||
        hg_secretbox_open(j->d->cfg->endpoint_secrets_key, aad, sealed, plain,
                          sizeof(plain)) != 0) {
        retry_step(n, "cannot open the endpoint secret; is "
                      "HOOKGATE_SECRET_KEY the same as the gateway's?");
        return -1;
    }
    j->secret = strdup(plain);
    if (previous != NULL && previous[0] != '\0' && expires != NULL &&
        atoll(expires) > hg_time_ms() &&
        hg_secretbox_open(j->d->cfg->endpoint_secrets_key, aad, previous,
                          plain, sizeof(plain)) == 0)
        j->previous_secret = strdup(plain);
    memset(plain, 0, sizeof(plain));
    return open_headers(n);
}

static void on_loaded(hg_redis_status status, redisReply *reply, void *arg)
{
    job_node *n = arg;
    job *j = &n->j;
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *trace_state;
    hg_log_fields f = job_fields(j);
    char number[16];

    if (step_failed(n, status, reply))
        return;
    job_unload(j);
    if (result == NULL || strcmp(result, "send") != 0) {
        /* skip, ended or deferred: the script already acknowledged. */
        if (result != NULL && strcmp(result, "ended") == 0)
            hg_warn(&f, "delivery ended without an attempt: %s",
                    hg_reply_str(reply, 1, NULL));
        else if (result != NULL && strcmp(result, "deferred") == 0) {
            const char *why = hg_reply_str(reply, 2, NULL);

            if (why != NULL && strcmp(why, "cap") == 0) {
                dispatcher *d = j->d;

                d->capped_until_ms = hg_mono_ms() + CAPPED_HOLD_MS;
                d->capped_deferrals++;
                snprintf(d->capped_integration, sizeof(d->capped_integration),
                         "%s", j->integration_id);
                copy_reply(reply, 3, d->capped_endpoint,
                           sizeof(d->capped_endpoint));
            }
            prom_count_deferral(why);
            hg_debug(&f, "delivery deferred by the endpoint's limits");
        }
        job_finish(n);
        return;
    }
    copy_reply(reply, LOAD_STATUS, j->status, sizeof(j->status));
    copy_reply(reply, LOAD_EVENT, j->event_id, sizeof(j->event_id));
    copy_reply(reply, LOAD_ENDPOINT, j->endpoint_id, sizeof(j->endpoint_id));
    if (strcmp(j->endpoint_id, j->d->capped_endpoint) != 0 ||
        strcmp(j->integration_id, j->d->capped_integration) != 0)
        j->d->others_sent++;
    copy_reply(reply, LOAD_RETRY, number, sizeof(number));
    j->retry_index = atoi(number);
    j->payload = dup_reply(reply, LOAD_PAYLOAD, &j->payload_len);
    copy_reply(reply, LOAD_TYPE, j->type, sizeof(j->type));
    copy_reply(reply, LOAD_TRACE, j->traceparent, sizeof(j->traceparent));
    /* Trace state is optional: one that is too long goes as none. */
    trace_state = hg_reply_str(reply, LOAD_TRACESTATE, NULL);
    snprintf(j->tracestate, sizeof(j->tracestate), "%s",
             trace_state != NULL && strlen(trace_state) <= HG_TRACESTATE_MAX
                 ? trace_state
                 : "");
    /* A stored traceparent that does not parse (an event stored before
     * trace context was kept) gets a new trace rather than none. */
    hg_trace_begin(&j->trace, j->traceparent, j->tracestate);
    j->url = dup_reply(reply, LOAD_URL, NULL);
    j->headers_json = dup_reply(reply, LOAD_HEADERS, NULL);
    copy_reply(reply, LOAD_CONNECT_TIMEOUT, number, sizeof(number));
    j->connect_timeout_ms = atol(number);
    copy_reply(reply, LOAD_TIMEOUT, number, sizeof(number));
    j->timeout_ms = atol(number);
    copy_reply(reply, LOAD_PROBE, number, sizeof(number));
    j->probe = strcmp(number, "1") == 0;
    copy_reply(reply, LOAD_HOPS, number, sizeof(number));
    j->hops = atoi(number);
    if (j->payload == NULL || j->url == NULL || open_secrets(n, reply) != 0)
        return;
    start_send(n);
}

/* How long a delivery may hold one of its endpoint's concurrency slots:
 * its total timeout plus time to record the answer. */
static long lease_ms(const dispatcher *d)
{
    return d->cfg->delivery_timeout_ms + d->cfg->redis_timeout_ms + 5000;
}

static void do_load(job_node *n)
{
    job *j = &n->j;
    dispatcher *d = j->d;
    char k_dlv[HG_KEY_MAX], lease[24], cap[16], now[HG_TIME_BUF];
    char maxlen[16], member[200];
    const char *argv[] = {
        hg_key_id(k_dlv, j->integration_id, "dlv", j->delivery_id),
        d->work_keys[j->shard],
        d->sched_keys[j->shard],
        HG_KEY_ACTIVITY,
        j->integration_id,
        j->entry_id,
        HG_DISPATCH_GROUP,
        j->manual ? "1" : "0",
        lease,
        cap,
        hg_time_format(hg_time_ms(), now),
        maxlen,
        member,
    };

    snprintf(lease, sizeof(lease), "%ld", lease_ms(d));
    snprintf(cap, sizeof(cap), "%d", d->cfg->endpoint_max_concurrency);
    snprintf(maxlen, sizeof(maxlen), "%d", d->cfg->activity_maxlen);
    schedule_member(j, member, sizeof(member));
    hg_redis_eval(d->redis, &hg_script_load_delivery, 0, on_loaded, n, 4, 13,
                  argv, NULL);
}

static void run_step(job_node *n)
{
    switch (n->step) {
    case STEP_LOAD:
        do_load(n);
        break;
    case STEP_SETTLE:
        do_settle(n);
        break;
    case STEP_RECORD:
        do_record(n);
        break;
    }
}

/* ---- work entries ------------------------------------------------------- */

/* Entry ids are unique per stream only: two shards can hold the same id. */
static bool entry_in_progress(const dispatcher *d, int shard,
                              const char *entry_id)
{
    const job_node *n;

    TAILQ_FOREACH(n, &d->job_list, link) {
        if (n->j.shard == shard && strcmp(n->j.entry_id, entry_id) == 0)
            return true;
    }
    return false;
}

static void ack_malformed(dispatcher *d, int shard, const char *entry_id)
{
    hg_log_fields f = {.error = entry_id};

    hg_error(&f, "work entry without integration or delivery; dropping it");
    hg_redis_command(d->redis, 0, NULL, NULL, "XACK %s %s %s",
                     d->work_keys[shard], HG_DISPATCH_GROUP, entry_id);
}

/* Starts a job for one [id, [field, value, ...]] stream entry. */
static void start_entry(dispatcher *d, int shard, const redisReply *entry)
{
    const char *id = hg_reply_str(entry, 0, NULL);
    const redisReply *fields = hg_reply_elem(entry, 1);
    const char *integration = NULL, *delivery = NULL;
    bool manual = false;
    long long due_ms = 0;
    job_node *n;

    if (id == NULL || entry_in_progress(d, shard, id))
        return;
    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);
        const char *v = hg_reply_str(fields, i + 1, NULL);

        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "i") == 0)
            integration = v;
        else if (strcmp(k, "d") == 0)
            delivery = v;
        else if (strcmp(k, "m") == 0)
            manual = strcmp(v, "1") == 0;
        else if (strcmp(k, "t") == 0)
            due_ms = atoll(v);
    }
    if (integration == NULL || delivery == NULL ||
        !hg_integration_id_valid(integration) || strlen(delivery) >= 96) {
        ack_malformed(d, shard, id);
        return;
    }

    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        hg_error(NULL, "out of memory starting a delivery job");
        abort();
    }
    n->j.d = d;
    n->j.shard = shard;
    n->j.manual = manual;
    n->due_ms = due_ms > 0 ? due_ms : 0;
    snprintf(n->j.entry_id, sizeof(n->j.entry_id), "%s", id);
    snprintf(n->j.integration_id, sizeof(n->j.integration_id), "%s",
             integration);
    snprintf(n->j.delivery_id, sizeof(n->j.delivery_id), "%s", delivery);
    TAILQ_INSERT_TAIL(&d->job_list, n, link);
    d->jobs++;
    n->step = STEP_LOAD;
    run_step(n);
}

static int shard_of_key(const dispatcher *d, const char *key)
{
    for (int i = 0; i < d->shards; i++) {
        if (strcmp(d->work_keys[i], key) == 0)
            return i;
    }
    return -1;
}

static void ensure_groups(dispatcher *d);

static void warn_read(dispatcher *d, const char *why)
{
    int64_t now = hg_mono_ms();
    hg_log_fields f = {.error = why};

    if (now - d->last_read_warn_ms >= 10000) {
        d->last_read_warn_ms = now;
        hg_warn(&f, "reading the work queue failed; retrying");
    }
}

static void on_read(hg_redis_status status, redisReply *reply, void *arg)
{
    dispatcher *d = arg;

    d->reading = false;
    if (d->stopping)
        return;
    if (status != HG_REDIS_OK) {
        warn_read(d, hg_redis_status_text(status));
        arm(d->read_retry, 500);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        warn_read(d, reply->str);
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            /* Redis lost the group (restart without persistence). */
            d->groups_ready = false;
            ensure_groups(d);
        } else {
            arm(d->read_retry, 500);
        }
        return;
    }
    for (size_t s = 0; reply->type == REDIS_REPLY_ARRAY && s < reply->elements;
         s++) {
        const redisReply *stream = hg_reply_elem(reply, s);
        const char *key = hg_reply_str(stream, 0, NULL);
        const redisReply *entries = hg_reply_elem(stream, 1);
        int shard = key ? shard_of_key(d, key) : -1;

        for (size_t e = 0; shard >= 0 && entries && e < entries->elements;
             e++)
            start_entry(d, shard, hg_reply_elem(entries, e));
    }
    read_work(d);
}

static void read_work(dispatcher *d)
{
    int room = d->cfg->max_inflight - d->jobs;
    const char *argv[9 + 2 * 64];
    char count[16], block[16];
    int64_t now = hg_mono_ms();
    int argc = 0;

    if (d->reading || !d->groups_ready || d->stopping || room <= 0)
        return;
    /* An entry that meets a full endpoint is deferred at the cost of a
     * load and a trip through the schedule, and a large batch for one busy
     * endpoint would defer most of itself. While that happens, read about
     * as many entries as sends finished (each freed a lease), plus a few
     * every CAPPED_PROBE_MS for the other endpoints. At the end of the
     * hold, reads go back to full batches. */
    if (now < d->capped_until_ms && d->jobs > 0) {
        int allowed = d->freed;

        if (now >= d->probe_after_ms) {
            /* A send to another endpoint: reading ahead reaches other
             * work, so it keeps its full pace. Otherwise, as many cap
             * deferrals as entries read ahead: it only met the full
             * endpoint. A reply still on its way counts in the next
             * round, which only delays the change. */
            if (d->others_sent > 0)
                d->probe_ms = CAPPED_PROBE_MS;
            else if (d->capped_deferrals >= CAPPED_PROBE)
                d->probe_ms = d->probe_ms * 2 < CAPPED_PROBE_MAX_MS
                                  ? d->probe_ms * 2
                                  : CAPPED_PROBE_MAX_MS;
            d->capped_deferrals = d->others_sent = 0;
            allowed += CAPPED_PROBE;
            d->probe_after_ms = now + d->probe_ms;
        }
        if (allowed == 0) {
            arm(d->read_retry, d->probe_after_ms - now);
            return;
        }
        if (room > allowed)
            room = allowed;
    } else {
        d->probe_ms = CAPPED_PROBE_MS;
        d->capped_deferrals = d->others_sent = 0;
    }
    d->freed = 0;
    snprintf(count, sizeof(count), "%d",
             room < READ_BATCH_MAX ? room : READ_BATCH_MAX);
    snprintf(block, sizeof(block), "%d", READ_BLOCK_MS);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = HG_DISPATCH_GROUP;
    argv[argc++] = d->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    argv[argc++] = "BLOCK";
    argv[argc++] = block;
    argv[argc++] = "STREAMS";
    for (int i = 0; i < d->shards; i++)
        argv[argc++] = d->work_keys[i];
    for (int i = 0; i < d->shards; i++)
        argv[argc++] = ">";
    d->reading = true;
    hg_redis_command_argv(d->blocking,
                          READ_BLOCK_MS + d->cfg->redis_timeout_ms, on_read,
                          d, argc, argv, NULL);
}

static void on_read_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    read_work(arg);
}

/* ---- consumer groups --------------------------------------------------- */

static void on_group_created(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    dispatcher *d = arg;
    bool ok = status == HG_REDIS_OK &&
              (reply->type != REDIS_REPLY_ERROR ||
               strncmp(reply->str, "BUSYGROUP", 9) == 0);

    if (!ok) {
        hg_log_fields f = {.error = status != HG_REDIS_OK
                                        ? hg_redis_status_text(status)
                                        : reply->str};

        hg_warn(&f, "creating the consumer group failed; retrying");
        d->groups_failed = true;
    }
    if (--d->groups_pending > 0)
        return;
    if (d->groups_failed) {
        arm(d->group_retry, 1000);
        return;
    }
    d->groups_ready = true;
    hg_info(NULL, "consumer group %s ready on %d work shard(s)",
            HG_DISPATCH_GROUP, d->shards);
    read_work(d);
}

static void ensure_groups(dispatcher *d)
{
    if (d->groups_pending > 0)
        return;
    d->groups_failed = false;
    d->groups_pending = d->shards;
    for (int i = 0; i < d->shards; i++) {
        /* Id 0 lets a new group see entries queued before it existed. */
        hg_redis_command(d->redis, 0, on_group_created, d,
                         "XGROUP CREATE %s %s 0 MKSTREAM", d->work_keys[i],
                         HG_DISPATCH_GROUP);
    }
}

static void on_group_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ensure_groups(arg);
}

static void on_redis_safe(void *arg)
{
    dispatcher *d = arg;

    d->redis_checked = true;
    ensure_groups(d);
}

static void on_redis_ready(hg_redis *r, void *arg)
{
    dispatcher *d = arg;

    /* Checked on every connect: the Redis behind the address may have
     * restarted with another configuration. */
    d->groups_ready = false;
    d->redis_checked = false;
    hg_service_check_redis(r, d->cfg, d->base, on_redis_safe, d);
}

static void on_blocking_ready(hg_redis *r, void *arg)
{
    (void)r;
    read_work(arg);
}

/* ---- reclaim and schedule ----------------------------------------------- */

static void on_claimed(hg_redis_status status, redisReply *reply, void *arg)
{
    struct shard_ctx *sc = arg;
    dispatcher *d = sc->d;
    const redisReply *entries;

    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_ARRAY ||
        d->stopping)
        return;
    entries = hg_reply_elem(reply, 1);
    for (size_t e = 0; entries && e < entries->elements; e++) {
        const redisReply *entry = hg_reply_elem(entries, e);
        const char *id = hg_reply_str(entry, 0, NULL);

        if (id == NULL || entry_in_progress(d, sc->shard, id))
            continue;
        hg_info(NULL, "taking over work entry %s left idle by another "
                      "worker",
                id);
        start_entry(d, sc->shard, entry);
    }
}

/* Logs the reply of consumers_prune.lua; arg is the group's name. */
static void on_consumers_pruned(hg_redis_status status, redisReply *reply,
                                void *arg)
{
    const char *group = arg;
    hg_log_fields f = {0};

    if (status != HG_REDIS_OK)
        f.error = hg_redis_status_text(status);
    else if (reply->type == REDIS_REPLY_ERROR)
        f.error = reply->str;
    else if (reply->type != REDIS_REPLY_INTEGER)
        f.error = "unexpected reply";
    if (f.error != NULL)
        hg_warn(&f, "deleting idle consumers of group %s failed; trying "
                    "again at the next claim round",
                group);
    else if (reply->integer > 0)
        hg_info(NULL, "deleted %lld idle consumers of group %s",
                reply->integer, group);
}

void retry_prune_consumers(hg_redis *r, const hg_config *cfg,
                           const char *stream, const char *group,
                           const char *consumer)
{
    char idle[24], now[24];
    const char *argv[] = {stream, RETRY_KEY_WORKERS, group, idle, consumer,
                          now};

    snprintf(idle, sizeof(idle), "%d", cfg->visibility_timeout_ms);
    snprintf(now, sizeof(now), "%lld", (long long)hg_time_ms());
    hg_redis_eval(r, &hg_script_consumers_prune, 0, on_consumers_pruned,
                  (void *)group, 2, 6, argv, NULL);
}

static void on_claim_tick(evutil_socket_t fd, short what, void *arg)
{
    dispatcher *d = arg;
    int room = d->cfg->max_inflight - d->jobs;
    char idle[24], count[16];

    (void)fd;
    (void)what;
    for (int i = 0; d->groups_ready && !d->stopping && i < d->shards; i++)
        retry_prune_consumers(d->redis, d->cfg, d->work_keys[i],
                              HG_DISPATCH_GROUP, d->consumer);
    if (d->groups_ready && room > 0 && !d->stopping) {
        snprintf(idle, sizeof(idle), "%d", d->cfg->visibility_timeout_ms);
        snprintf(count, sizeof(count), "%d",
                 room < CLAIM_BATCH_MAX ? room : CLAIM_BATCH_MAX);
        for (int i = 0; i < d->shards; i++) {
            const char *argv[] = {"XAUTOCLAIM", d->work_keys[i],
                                  HG_DISPATCH_GROUP, d->consumer, idle, "0-0",
                                  "COUNT", count};

            hg_redis_command_argv(d->redis, 0, on_claimed, &d->shard_ctx[i],
                                  8, argv, NULL);
        }
    }
    arm(d->claim_timer, d->cfg->visibility_timeout_ms / 4);
}

static void promote_shard(dispatcher *d, int shard);

/* Runs for every shard's promote_due.lua; the replies come in order on
 * one connection, so the last shard's reply ends the round. The next round
 * starts when the earliest remaining retry falls due, and at the latest
 * after the scheduler interval (another worker may add earlier ones). */
static void on_promoted(hg_redis_status status, redisReply *reply, void *arg)
{
    struct shard_ctx *sc = arg;
    dispatcher *d = sc->d;
    const redisReply *moved = hg_reply_elem(reply, 0);
    const redisReply *next = hg_reply_elem(reply, 1);
    const redisReply *dropped = hg_reply_elem(reply, 2);
    int64_t wait = d->cfg->scheduler_interval_ms;

    /* A failing promote stops every retry of the shard, so it is logged
     * (repeats are counted by the log) rather than only retried. */
    if (status == HG_REDIS_OK && reply != NULL &&
        reply->type == REDIS_REPLY_ERROR) {
        hg_log_fields f = {.error = reply->str};

        hg_error(&f, "moving due retries of shard %d to the work stream "
                     "failed; retrying",
                 sc->shard);
    } else if (dropped != NULL && dropped->type == REDIS_REPLY_INTEGER &&
               dropped->integer > 0) {
        hg_log_fields f = {.error = hg_reply_str(reply, 3, NULL)};

        hg_error(&f, "dropped %lld malformed retry schedule entries of "
                     "shard %d (expected \"<integration> <delivery>\")",
                 (long long)dropped->integer, sc->shard);
    }
    if (status == HG_REDIS_OK && reply->type == REDIS_REPLY_ARRAY) {
        if (moved != NULL && moved->type == REDIS_REPLY_INTEGER &&
            moved->integer >= PROMOTE_BATCH)
            d->sched_more = true;
        if (next != NULL && next->type == REDIS_REPLY_INTEGER &&
            next->integer >= 0 &&
            (d->sched_next_ms < 0 || next->integer < d->sched_next_ms))
            d->sched_next_ms = next->integer;
    }
    if (sc->shard != d->shards - 1)
        return;
    if (d->sched_more) {
        wait = 0; /* more are due right now */
    } else if (d->sched_next_ms >= 0) {
        int64_t until = d->sched_next_ms - hg_time_ms();

        if (until < wait)
            wait = until > 0 ? until : 0;
    }
    arm(d->sched_timer, wait);
}

static void promote_shard(dispatcher *d, int shard)
{
    char now[24], limit[16];
    const char *argv[] = {d->sched_keys[shard], d->work_keys[shard], now,
                          limit, HG_DISPATCH_GROUP};

    snprintf(now, sizeof(now), "%lld", (long long)hg_time_ms());
    snprintf(limit, sizeof(limit), "%d", PROMOTE_BATCH);
    hg_redis_eval(d->redis, &hg_script_promote_due, 0, on_promoted,
                  &d->shard_ctx[shard], 2, 5, argv, NULL);
}

static void on_sched_tick(evutil_socket_t fd, short what, void *arg)
{
    dispatcher *d = arg;

    (void)fd;
    (void)what;
    if (d->stopping)
        return;
    if (!hg_redis_ready(d->redis) || !d->redis_checked) {
        arm(d->sched_timer, d->cfg->scheduler_interval_ms);
        return;
    }
    d->sched_next_ms = -1;
    d->sched_more = false;
    for (int i = 0; i < d->shards; i++)
        promote_shard(d, i);
}

/* ---- lifecycle -------------------------------------------------------- */

static hg_redis *connect_redis(dispatcher *d, const char *name,
                               void (*on_ready)(hg_redis *, void *))
{
    hg_redis_options o = {
        .name = name,
        .command_timeout_ms = d->cfg->redis_timeout_ms,
        .connect_timeout_ms = d->cfg->redis_timeout_ms,
        .max_inflight = 100000,
        .scripts = hg_scripts_all,
        .on_ready = on_ready,
        .on_ready_arg = d,
    };

    return hg_redis_new(d->base, &d->cfg->redis, &o);
}

/* Splits "host:port:address,..." into libcurl's CURLOPT_RESOLVE list. */
static struct curl_slist *resolve_list(const char *spec)
{
    struct curl_slist *list = NULL;
    char *copy = strdup(spec);
    char *save = NULL;

    if (copy == NULL)
        return NULL;
    for (char *item = strtok_r(copy, ", ", &save); item != NULL;
         item = strtok_r(NULL, ", ", &save)) {
        struct curl_slist *next = curl_slist_append(list, item);

        if (next == NULL)
            break;
        list = next;
    }
    free(copy);
    if (list != NULL)
        hg_warn(NULL, "HOOKGATE_RESOLVE_OVERRIDE replaces DNS for some "
                      "names; use it only in tests");
    return list;
}

dispatcher *dispatcher_new(struct event_base *base, const hg_config *cfg)
{
    dispatcher *d = calloc(1, sizeof(*d));
    char host[100] = "worker";

    if (d == NULL)
        return NULL;
    d->base = base;
    d->cfg = cfg;
    d->probe_ms = CAPPED_PROBE_MS;
    d->shards = cfg->work_shards;
    d->work_keys = calloc((size_t)d->shards, sizeof(*d->work_keys));
    d->sched_keys = calloc((size_t)d->shards, sizeof(*d->sched_keys));
    d->shard_ctx = calloc((size_t)d->shards, sizeof(*d->shard_ctx));
    for (int i = 0; i < d->shards; i++) {
        hg_key_work(d->work_keys[i], i);
        hg_key_sched(d->sched_keys[i], i);
        d->shard_ctx[i].d = d;
        d->shard_ctx[i].shard = i;
    }
    gethostname(host, sizeof(host) - 1);
    snprintf(d->consumer, sizeof(d->consumer), "%s:%d", host, (int)getpid());
    TAILQ_INIT(&d->job_list);

    d->read_retry = evtimer_new(base, on_read_retry, d);
    d->group_retry = evtimer_new(base, on_group_retry, d);
    d->claim_timer = evtimer_new(base, on_claim_tick, d);
    d->sched_timer = evtimer_new(base, on_sched_tick, d);
    pthread_once(&prom_once, declare_prom_metrics);
    d->queue_timer = evtimer_new(base, on_queue_tick, d);
    d->http = hg_http_client_new(base);
    d->packer = hg_attempt_packer_new();
    if (d->packer == NULL) {
        hg_error(NULL, "out of memory creating the attempt record packer");
        abort();
    }
    d->resolve = resolve_list(cfg->resolve_override);
    d->redis = connect_redis(d, "dispatch", on_redis_ready);
    d->metrics = hg_metrics_new(d->base, d->redis);
    d->blocking = connect_redis(d, "dispatch-read", on_blocking_ready);
    arm(d->claim_timer, d->cfg->visibility_timeout_ms / 4);
    arm(d->sched_timer, d->cfg->scheduler_interval_ms);
    arm(d->queue_timer, QUEUE_GAUGE_INTERVAL_MS);
    hg_info(NULL, "dispatcher started as consumer %s", d->consumer);
    return d;
}

static void on_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
    dispatcher *d = arg;
    void (*done)(void *) = d->stop_done;

    (void)fd;
    (void)what;
    if (done == NULL)
        return;
    d->stop_done = NULL;
    if (d->jobs > 0)
        hg_warn(NULL, "stopping with %d deliveries unfinished after "
                      "HOOKGATE_SHUTDOWN_TIMEOUT_MS; they stay pending in "
                      "the consumer group and another worker takes them "
                      "over after the visibility timeout",
                d->jobs);
    done(d->stop_arg);
}

void dispatcher_stop(dispatcher *d, void (*done)(void *arg), void *arg)
{
    d->stopping = true;
    d->stop_done = done;
    d->stop_arg = arg;
    evtimer_del(d->claim_timer);
    evtimer_del(d->sched_timer);
    evtimer_del(d->queue_timer);
    evtimer_del(d->read_retry);
    d->stop_timer = evtimer_new(d->base, on_stop_deadline, d);
    arm(d->stop_timer, d->jobs == 0 ? 0 : d->cfg->shutdown_timeout_ms);
}

void dispatcher_free(dispatcher *d)
{
    job_node *n;

    if (d == NULL)
        return;
    d->freeing = true;
    hg_http_client_free(d->http);
    hg_attempt_packer_free(d->packer);
    curl_slist_free_all(d->resolve);
    hg_redis_free(d->blocking);
    hg_metrics_free(d->metrics);
    hg_redis_free(d->redis);
    while ((n = TAILQ_FIRST(&d->job_list)) != NULL) {
        TAILQ_REMOVE(&d->job_list, n, link);
        job_free(n);
    }
    event_free(d->read_retry);
    event_free(d->group_retry);
    event_free(d->claim_timer);
    event_free(d->sched_timer);
    event_free(d->queue_timer);
    if (d->stop_timer != NULL)
        event_free(d->stop_timer);
    free(d->work_keys);
    free(d->sched_keys);
    free(d->shard_ctx);
    free(d);
}

const char *dispatcher_readiness(const dispatcher *d)
{
    if (!hg_redis_ready(d->redis))
        return "redis is not connected";
    if (!d->groups_ready)
        return "the consumer group does not exist yet";
    return NULL;
}

const char *dispatcher_consumer(const dispatcher *d)
{
    return d->consumer;
}
