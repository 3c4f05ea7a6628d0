/* SPDX-License-Identifier: MIT
 *
 * Alert evaluation in the delivery worker: every
 * HOOKGATE_ALERT_EVAL_INTERVAL_MS it walks the set of integrations and runs
 * alert_eval.lua for each one, which decides, records and announces alerts
 * atomically (see docs/alerts.md). This file only schedules the runs,
 * writes the log line of each change and keeps the active-alerts gauge.
 * It has its own Redis connection, so a long pass never delays
 * deliveries.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert_rules.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/metrics_store.h"
#include "common/prom.h"
#include "common/scripts.h"
#include "retry/retry.h"

/* Integrations read per SSCAN step; their evaluations go out together. */
#define SCAN_COUNT "100"
/* Alert records kept per integration; older ones are trimmed. */
#define ALERT_RECORDS_MAX "1000"
/* Endpoints evaluated per integration and run. Each can make up to four
 * ids, and one run derives at most 1024 ids from its seed. */
#define ALERT_ENDPOINTS_MAX "200"
/* Wait before retrying when Redis or the dispatcher is not ready. */
#define NOT_READY_RETRY_MS 1000

/* Active alerts by scope and rule, in the order alert_eval.lua returns
 * them. */
enum { ACTIVE_SERIES = 4 };
static const char *const series_labels[ACTIVE_SERIES][2] = {
    {"integration", "error_rate"},
    {"integration", "p95_latency"},
    {"endpoint", "error_rate"},
    {"endpoint", "p95_latency"},
};

struct alert_runner {
    const hg_config *cfg;
    hg_redis *redis;
    const dispatcher *gate; /* evaluation waits until it is ready */
    struct event *tick;
    hg_prom_metric *gauge;
    bool stopping;
    bool in_pass;
    char cursor[32];
    int pending; /* evaluations of the current SSCAN step in flight */
    long long active[ACTIVE_SERIES];
};

/* One evaluation in flight. */
typedef struct eval_call {
    alert_runner *a;
    char integration_id[64];
} eval_call;

static void arm_tick(alert_runner *a, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (!a->stopping)
        evtimer_add(a->tick, &tv);
}

static void end_pass(alert_runner *a)
{
    for (int i = 0; i < ACTIVE_SERIES; i++)
        hg_prom_set(a->gauge, series_labels[i], (double)a->active[i]);
    a->in_pass = false;
    arm_tick(a, a->cfg->alert_eval_interval_ms);
}

static void scan_next(alert_runner *a);

/* Logs the changes of one evaluation: groups of six strings after the
 * five leading elements. */
static void log_changes(const eval_call *c, const redisReply *reply)
{
    for (size_t i = 5; i + 5 < reply->elements; i += 6) {
        const char *kind = hg_reply_str(reply, i, NULL);
        const char *id = hg_reply_str(reply, i + 1, NULL);
        const char *endpoint = hg_reply_str(reply, i + 2, NULL);
        const char *rule = hg_reply_str(reply, i + 3, NULL);
        const char *value = hg_reply_str(reply, i + 4, NULL);
        const char *threshold = hg_reply_str(reply, i + 5, NULL);
        hg_log_fields f = {.integration_id = c->integration_id};

        if (kind == NULL || id == NULL || endpoint == NULL || rule == NULL ||
            value == NULL || threshold == NULL)
            continue;
        if (endpoint[0] != '\0')
            f.endpoint_id = endpoint;
        if (strcmp(kind, "triggered") == 0)
            hg_warn(&f,
                    "alert %s triggered: %s of %s is %s, above the "
                    "threshold %s",
                    id, rule, endpoint[0] ? "the endpoint" : "the integration",
                    value, threshold);
        else
            hg_info(&f,
                    "alert %s resolved: %s of %s is %s, below the resolve "
                    "level of the threshold %s",
                    id, rule, endpoint[0] ? "the endpoint" : "the integration",
                    value, threshold);
    }
}

static void on_evaluated(hg_redis_status status, redisReply *reply, void *arg)
{
    eval_call *c = arg;
    alert_runner *a = c->a;
    const char *state = hg_reply_str(reply, 0, NULL);

    if (status != HG_REDIS_OK || hg_reply_is_error(reply) || state == NULL) {
        hg_log_fields f = {
            .integration_id = c->integration_id,
            .error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                     : reply != NULL && reply->type == REDIS_REPLY_ERROR
                         ? reply->str
                         : "unexpected reply",
        };

        hg_warn(&f, "alert evaluation failed; it runs again at the next "
                    "interval");
    } else {
        for (int i = 0; i < ACTIVE_SERIES; i++) {
            const redisReply *n = hg_reply_elem(reply, (size_t)i + 1);

            if (n != NULL && n->type == REDIS_REPLY_INTEGER)
                a->active[i] += n->integer;
        }
        log_changes(c, reply);
    }
    free(c);
    if (--a->pending == 0 && !a->stopping)
        scan_next(a);
}

static void evaluate(alert_runner *a, const char *integration_id)
{
    eval_call *c = calloc(1, sizeof(*c));
    hg_alert_rules rules;
    char seed[HG_ID_MAX], interval[24], retention[24], fine[16], fine_max[16];
    char k_int[HG_KEY_MAX], k_work[HG_KEY_MAX];
    char rule_text[HG_ALERT_RULE_FIELDS][32];
    char bounds[HG_METRICS_BUCKETS - 1][24];
    const char *argv[2 + 14 + HG_METRICS_BUCKETS - 1];
    int argc = 0;

    if (c == NULL)
        return;
    c->a = a;
    snprintf(c->integration_id, sizeof(c->integration_id), "%s",
             integration_id);
    hg_alert_rules_defaults(&rules, a->cfg);
    hg_id_new("alr_", seed);
    snprintf(interval, sizeof(interval), "%d", a->cfg->alert_eval_interval_ms);
    snprintf(retention, sizeof(retention), "%lld", a->cfg->event_retention_s);
    snprintf(fine, sizeof(fine), "%d", HG_METRICS_FINE_S);
    snprintf(fine_max, sizeof(fine_max), "%d", HG_METRICS_FINE_MAX_S);

    argv[argc++] = hg_key(k_int, integration_id, "integration");
    argv[argc++] =
        hg_key_work(k_work, hg_shard_of(integration_id, a->cfg->work_shards));
    argv[argc++] = integration_id;
    argv[argc++] = seed + 4;
    argv[argc++] = interval;
    argv[argc++] = retention;
    for (int i = 0; i < HG_ALERT_RULE_FIELDS; i++) {
        hg_alert_rules_format(&rules, i, rule_text[i], sizeof(rule_text[i]));
        argv[argc++] = rule_text[i];
    }
    argv[argc++] = fine;
    argv[argc++] = fine_max;
    argv[argc++] = ALERT_RECORDS_MAX;
    argv[argc++] = ALERT_ENDPOINTS_MAX;
    for (int i = 0; i < HG_METRICS_BUCKETS - 1; i++) {
        snprintf(bounds[i], sizeof(bounds[i]), "%lld", hg_metrics_bounds_ms[i]);
        argv[argc++] = bounds[i];
    }
    a->pending++;
    hg_redis_eval(a->redis, &hg_script_alert_eval, 0, on_evaluated, c, 2, argc,
                  argv, NULL);
}

static void on_scanned(hg_redis_status status, redisReply *reply, void *arg)
{
    alert_runner *a = arg;
    const char *cursor = hg_reply_str(reply, 0, NULL);
    const redisReply *members = hg_reply_elem(reply, 1);

    if (status != HG_REDIS_OK || cursor == NULL || members == NULL ||
        members->type != REDIS_REPLY_ARRAY) {
        hg_log_fields f = {
            .error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                     : reply != NULL && reply->type == REDIS_REPLY_ERROR
                         ? reply->str
                         : "unexpected reply",
        };

        hg_warn(&f, "alert evaluation: reading the integrations failed; "
                    "the pass runs again at the next interval");
        end_pass(a);
        return;
    }
    snprintf(a->cursor, sizeof(a->cursor), "%s", cursor);
    /* One extra count keeps scan_next from running before the loop has
     * issued every evaluation. */
    a->pending++;
    for (size_t i = 0; i < members->elements && !a->stopping; i++) {
        const char *id = hg_reply_str(members, i, NULL);

        if (id != NULL && hg_integration_id_valid(id))
            evaluate(a, id);
    }
    if (--a->pending == 0 && !a->stopping)
        scan_next(a);
}

/* Reads the next step of integrations, or ends the pass when the scan has
 * come back to cursor 0. */
static void scan_next(alert_runner *a)
{
    if (strcmp(a->cursor, "0") == 0) {
        end_pass(a);
        return;
    }
    hg_redis_command(a->redis, 0, on_scanned, a, "SSCAN %s %s COUNT %s",
                     HG_KEY_INTEGRATIONS, a->cursor, SCAN_COUNT);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    alert_runner *a = arg;

    (void)fd;
    (void)what;
    if (a->in_pass)
        return;
    /* The dispatcher is ready only once the Redis durability check
     * passed; an evaluation queues operational events. */
    if (!hg_redis_ready(a->redis) || dispatcher_readiness(a->gate) != NULL) {
        arm_tick(a, NOT_READY_RETRY_MS);
        return;
    }
    a->in_pass = true;
    memset(a->active, 0, sizeof(a->active));
    hg_redis_command(a->redis, 0, on_scanned, a, "SSCAN %s 0 COUNT %s",
                     HG_KEY_INTEGRATIONS, SCAN_COUNT);
}

alert_runner *alert_runner_new(struct event_base *base, const hg_config *cfg,
                               const dispatcher *gate)
{
    alert_runner *a = calloc(1, sizeof(*a));
    static const char *const labels[] = {"scope", "rule"};
    hg_redis_options o = {
        .name = "alerts",
        .command_timeout_ms = cfg->redis_timeout_ms,
        .connect_timeout_ms = cfg->redis_timeout_ms,
        .max_inflight = 1000,
        .scripts = hg_scripts_all,
    };

    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->gate = gate;
    a->gauge = hg_prom_declare(
        hg_prom_default(), HG_PROM_GAUGE, "hookgate_alerts_active",
        "Active alerts at the end of this worker's latest evaluation pass", 2,
        labels, 0, NULL);
    a->redis = hg_redis_new(base, &cfg->redis, &o);
    a->tick = evtimer_new(base, on_tick, a);
    if (a->redis == NULL || a->tick == NULL) {
        alert_runner_free(a);
        return NULL;
    }
    arm_tick(a, cfg->alert_eval_interval_ms);
    return a;
}

void alert_runner_free(alert_runner *a)
{
    if (a == NULL)
        return;
    a->stopping = true;
    if (a->tick != NULL)
        event_free(a->tick);
    /* Completes the evaluations in flight; their callbacks see
     * a->stopping and start nothing new. */
    hg_redis_free(a->redis);
    free(a);
}
