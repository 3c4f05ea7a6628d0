/* SPDX-License-Identifier: MIT */
#include "common/service.h"

#include <event2/event.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/redis_check.h"
#include "common/scripts.h"
#include "common/secretbox.h"
#include "common/urlpolicy.h"

typedef struct stop_state {
    struct event_base *base;
    void (*on_stop)(struct event_base *base, void *arg);
    void *arg;
    int signals;
} stop_state;

static const hg_config *service_cfg;
static atomic_bool stopping;

/* Raises the open-file soft limit to the hard limit, because every client
 * connection uses a descriptor (see HOOKGATE_MAX_CONNECTIONS). */
static void raise_open_file_limit(void)
{
    struct rlimit rl;
    struct rlimit raised;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    raised.rlim_cur = rl.rlim_max;
    raised.rlim_max = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
        hg_warn(NULL,
                "raising the open-file limit from %llu to %llu failed: %s",
                (unsigned long long)rl.rlim_cur,
                (unsigned long long)rl.rlim_max, strerror(errno));
}

int hg_service_init(int argc, char **argv, const char *program,
                    const char *summary, unsigned service,
                    const char *log_name, hg_config *cfg)
{
    char err[512];
    int rc = hg_config_handle_args(argc, argv, program, summary, service);

    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (hg_config_load(cfg, service, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", program, err);
        return 2;
    }
    if (hg_log_reopen(cfg->log_file) != 0) {
        fprintf(stderr, "%s: invalid HOOKGATE_LOG_FILE: cannot open %s: %s\n",
                program, cfg->log_file, strerror(errno));
        return 2;
    }
    service_cfg = cfg;
    hg_log_init(log_name, cfg->log_level);
    raise_open_file_limit();
    hg_http_set_limits(&(hg_http_limits){
        .header_timeout_ms = cfg->header_timeout_ms,
        .body_timeout_ms = cfg->body_timeout_ms,
        .idle_timeout_ms = cfg->idle_timeout_ms,
        .max_connections = cfg->max_connections,
    });
    hg_info(NULL,
            "connection limits: headers within %d ms, bodies within %d ms, "
            "idle keep-alive %d ms, %d connections",
            cfg->header_timeout_ms, cfg->body_timeout_ms,
            cfg->idle_timeout_ms, hg_http_connection_limit());
    hg_urlpolicy_allow(cfg->allowed_cidrs, cfg->allowed_cidr_count);
    for (int i = 0; i < cfg->allowed_cidr_count; i++) {
        const hg_cidr *c = &cfg->allowed_cidrs[i];
        char text[INET6_ADDRSTRLEN];

        /* Deliveries to such addresses reach this host or the cloud's
         * metadata service, which is rarely what was meant. */
        if (hg_cidr_reaches_local(c) &&
            inet_ntop(c->family, c->addr, text, sizeof(text)) != NULL)
            hg_warn(NULL,
                    "HOOKGATE_ALLOWED_CIDRS has %s/%d, which includes "
                    "loopback or link-local addresses (such as 127.0.0.1 "
                    "or the metadata address 169.254.169.254); list only "
                    "the private networks that endpoints need",
                    text, c->prefix);
    }
    if ((service & HG_SVC_RETRY) &&
        cfg->alert_min_samples > cfg->breaker_failures)
        hg_warn(NULL,
                "HOOKGATE_ALERT_MIN_SAMPLES (%lld) is above "
                "HOOKGATE_BREAKER_FAILURES (%d): an endpoint that fails every "
                "delivery makes too few attempts for an alert once its "
                "breaker opens; lower HOOKGATE_ALERT_MIN_SAMPLES",
                (long long)cfg->alert_min_samples, cfg->breaker_failures);
    hg_scripts_init();
    /* A peer that closes early must give EPIPE, not end the process. */
    signal(SIGPIPE, SIG_IGN);
    return -1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    stop_state *s = arg;

    (void)what;
    if (s->signals++ > 0) {
        hg_warn(NULL, "received signal %d again; stopping now", (int)sig);
        event_base_loopbreak(s->base);
        return;
    }
    atomic_store(&stopping, true);
    hg_info(NULL, "received signal %d; stopping within %d ms", (int)sig,
            service_cfg->shutdown_timeout_ms);
    if (s->on_stop != NULL)
        s->on_stop(s->base, s->arg);
    else
        event_base_loopbreak(s->base);
}

static int exit_code;

void hg_service_fail(struct event_base *base)
{
    exit_code = 1;
    event_base_loopbreak(base);
}

typedef struct redis_guard {
    const hg_config *cfg;
    struct event_base *base;
    hg_redis *redis;
    void (*safe)(void *arg);
    void *arg;
} redis_guard;

/* A value sealed with HOOKGATE_SECRET_KEY, stored by the first process that
 * connects to a Redis whose endpoint secrets its key opens. A process with
 * another key cannot open it, nor the endpoint secrets the others sealed,
 * so it stops at start instead of stalling every delivery. */
#define KEY_CHECK_KEY "hg:secret_key_check"
#define KEY_CHECK_AAD "hookgate/secret-key-check"
#define KEY_CHECK_TEXT "hookgate secret key check"

static void reject_secret_key(redis_guard *g)
{
    hg_error(NULL, "refusing to run: HOOKGATE_SECRET_KEY is not the key "
                   "that sealed the endpoint secrets in this Redis, so no "
                   "delivery could be signed; give every gateway, "
                   "worker and inspector the same key (if that key is "
                   "lost, see docs/troubleshooting.md)");
    hg_service_fail(g->base);
    free(g);
}

/* The work queue shard count that the processes on a Redis use, stored by
 * the first one. Work and retries sit in the shard that the count chose,
 * so a process with another count would miss some or put work where no
 * worker reads. */
#define SHARDS_KEY "hg:work_shards"

/* Warns when a Sentinel-managed primary accepts writes without a replica
 * (min-replicas-to-write 0). In a planned failover the old primary then
 * keeps taking writes after the promotion until the Sentinels switch, and
 * events acknowledged with 202 in that window are lost. */
static void on_min_replicas(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    const char *value = hg_reply_str(reply, 1, NULL);

    (void)arg;
    if (status == HG_REDIS_OK && value != NULL && strcmp(value, "0") == 0)
        hg_warn(NULL, "the Redis primary has min-replicas-to-write 0: a "
                      "planned Sentinel failover can lose events answered "
                      "202 in the second or two before the Sentinels switch; "
                      "set min-replicas-to-write 1 on every Redis node (see "
                      "docs/operations.md)");
}

static void on_shards_stored(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    redis_guard *g = arg;
    const char *stored = reply != NULL && reply->type == REDIS_REPLY_STRING
                             ? reply->str
                             : NULL;

    /* A lost connection: the caller checks again on the next ready. */
    if (status != HG_REDIS_OK || reply == NULL) {
        free(g);
        return;
    }
    if (stored != NULL && atoi(stored) != g->cfg->work_shards) {
        hg_error(NULL,
                 "refusing to run: HOOKGATE_WORK_SHARDS is %d, but the "
                 "processes on this Redis use %s (%s); give every process "
                 "the same value, and see docs/operations.md to change it",
                 g->cfg->work_shards, stored, SHARDS_KEY);
        hg_service_fail(g->base);
        free(g);
        return;
    }
    /* An error reply (a replica, a missing permission) lets it run, as for
     * the secret key check. */
    if (g->cfg->redis.sentinel_count > 0)
        hg_redis_command(g->redis, 0, on_min_replicas, NULL,
                         "CONFIG GET min-replicas-to-write");
    if (g->safe != NULL)
        g->safe(g->arg);
    free(g);
}

static void check_shards(redis_guard *g)
{
    hg_redis_command(g->redis, 0, on_shards_stored, g, "SET %s %d NX GET",
                     SHARDS_KEY, g->cfg->work_shards);
}

static void accept_secret_key(redis_guard *g)
{
    check_shards(g);
}

/* A reply without a usable value (an error, a replica) lets the process
 * run: the check guards against a mistake and must not stop a fleet. */
static bool key_check_unusable(hg_redis_status status, redisReply *reply,
                               redis_guard *g)
{
    if (status != HG_REDIS_OK || reply == NULL) {
        /* A lost connection: the caller checks again on the next ready. */
        free(g);
        return true;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        hg_log_fields f = {.error = reply->str};

        hg_warn(&f, "cannot compare HOOKGATE_SECRET_KEY with the other "
                    "processes' key; running on");
        accept_secret_key(g);
        return true;
    }
    return false;
}

/* Accepts the key when stored (the check value, or NULL when none was
 * stored before) opens with it, and rejects it otherwise. */
static void judge_check_value(redis_guard *g, const char *stored)
{
    char plain[64];

    if (stored == NULL ||
        (hg_secretbox_open(g->cfg->endpoint_secrets_key, KEY_CHECK_AAD,
                           stored, plain, sizeof(plain)) == 0 &&
         strcmp(plain, KEY_CHECK_TEXT) == 0))
        accept_secret_key(g);
    else
        reject_secret_key(g);
}

static void on_key_stored(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    redis_guard *g = arg;

    if (key_check_unusable(status, reply, g))
        return;
    /* SET ... GET returns the value another process stored first. */
    judge_check_value(g, reply->type == REDIS_REPLY_STRING ? reply->str
                                                           : NULL);
}

static void on_key_sample(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    redis_guard *g = arg;
    const char *kind = hg_reply_str(reply, 0, NULL);
    char sealed[HG_SECRETBOX_SEALED_MAX];
    char plain[HG_SECRET_MAX_LEN];
    size_t tried = 0, opened = 0;

    if (key_check_unusable(status, reply, g))
        return;
    if (kind != NULL && strcmp(kind, "check") == 0) {
        judge_check_value(g, hg_reply_str(reply, 1, NULL));
        return;
    }
    /* No check value yet: stored secrets decide whether this key may
     * write it, so a mistaken first process cannot lock the others out. */
    for (size_t i = 1; i + 1 < reply->elements; i += 2) {
        const char *aad = hg_reply_str(reply, i, NULL);
        const char *secret = hg_reply_str(reply, i + 1, NULL);

        if (aad == NULL || secret == NULL ||
            !hg_secretbox_is_sealed(secret))
            continue;
        tried++;
        if (hg_secretbox_open(g->cfg->endpoint_secrets_key, aad, secret,
                              plain, sizeof(plain)) == 0)
            opened++;
    }
    memset(plain, 0, sizeof(plain));
    if (tried > 0 && opened == 0 && !g->cfg->secret_key_reset) {
        reject_secret_key(g);
        return;
    }
    if (tried > 0 && opened == 0)
        hg_warn(NULL, "HOOKGATE_SECRET_KEY_RESET=1: storing the check value "
                      "for this HOOKGATE_SECRET_KEY, which opens none of the "
                      "%zu endpoint secrets sampled; rotate every endpoint's "
                      "secret and set its credential headers again, then "
                      "remove the setting",
                tried);
    if (hg_secretbox_seal(g->cfg->endpoint_secrets_key, KEY_CHECK_AAD,
                          KEY_CHECK_TEXT, sealed, sizeof(sealed)) != 0) {
        hg_error(NULL, "sealing the secret key check value failed");
        abort();
    }
    hg_redis_command(g->redis, 0, on_key_stored, g, "SET %s %s NX GET",
                     KEY_CHECK_KEY, sealed);
}

/* Compares this process's key with the check value, or with a sample of
 * the stored endpoint secrets before storing the check value. */
static void check_secret_key(redis_guard *g)
{
    const char *argv[] = {KEY_CHECK_KEY, HG_KEY_INTEGRATIONS};

    hg_redis_eval(g->redis, &hg_script_secret_key_sample, 0, on_key_sample,
                  g, 2, 2, argv, NULL);
}

static void on_redis_checked(bool checked, const char *problem, void *arg)
{
    redis_guard *g = arg;

    if (!checked) {
        free(g);
        return;
    }
    if (problem != NULL && !g->cfg->allow_unsafe_redis) {
        hg_error(NULL, "refusing to run: %s", problem);
        hg_service_fail(g->base);
    } else {
        if (problem != NULL)
            hg_warn(NULL, "running anyway (HOOKGATE_ALLOW_UNSAFE_REDIS=1): "
                          "%s",
                    problem);
        if (g->cfg->secret_key_set)
            check_secret_key(g);
        else
            check_shards(g);
        return;
    }
    free(g);
}

void hg_service_check_redis(hg_redis *r, const hg_config *cfg,
                            struct event_base *base,
                            void (*safe)(void *arg), void *arg)
{
    redis_guard *g = malloc(sizeof(*g));

    if (g == NULL) {
        hg_error(NULL, "out of memory checking Redis");
        abort();
    }
    *g = (redis_guard){cfg, base, r, safe, arg};
    hg_redis_check_durability(r, on_redis_checked, g);
}

void hg_service_check_secret_key(hg_redis *r, const hg_config *cfg,
                                 struct event_base *base)
{
    redis_guard *g;

    if (!cfg->secret_key_set)
        return;
    if ((g = malloc(sizeof(*g))) == NULL) {
        hg_error(NULL, "out of memory checking HOOKGATE_SECRET_KEY");
        abort();
    }
    *g = (redis_guard){cfg, base, r, NULL, NULL};
    check_secret_key(g);
}

/* One drain per process; hg_service_run frees its timer after the loop,
 * which a second signal can end while the drain still waits. */
static struct {
    struct event_base *base;
    struct event *timer;
    int64_t deadline_ms;
} drain;

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    hg_log_fields f = {0};

    (void)sig;
    (void)what;
    (void)arg;
    if (service_cfg->log_file[0] == '\0') {
        hg_info(NULL, "received SIGHUP; logging to stdout, nothing to "
                      "reopen");
        return;
    }
    if (hg_log_reopen(service_cfg->log_file) != 0) {
        f.error = strerror(errno);
        hg_error(&f, "reopening the log file %s failed; logging on to the "
                     "previous file",
                 service_cfg->log_file);
        return;
    }
    hg_info(NULL, "received SIGHUP; reopened the log file %s",
            service_cfg->log_file);
}

int hg_service_run(struct event_base *base,
                    void (*on_stop)(struct event_base *base, void *arg),
                    void *arg)
{
    stop_state s = {base, on_stop, arg, 0};
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, &s);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, &s);
    struct event *sighup = evsignal_new(base, SIGHUP, on_sighup, NULL);

    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sighup, NULL);
    event_base_dispatch(base);
    event_free(sigterm);
    event_free(sigint);
    event_free(sighup);
    if (drain.timer != NULL)
        event_free(drain.timer);
    drain.timer = NULL;
    return exit_code;
}

bool hg_service_stopping(void)
{
    return atomic_load(&stopping);
}

/* ---- draining at shutdown ----------------------------------------------- */

#define DRAIN_TICK_MS 50

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    struct timeval tick = {0, DRAIN_TICK_MS * 1000};
    int active = hg_http_active_requests();

    (void)fd;
    (void)what;
    (void)arg;
    if (active > 0 && hg_mono_ms() < drain.deadline_ms) {
        evtimer_add(drain.timer, &tick);
        return;
    }
    if (active > 0)
        hg_warn(NULL, "stopping with %d requests still in progress after "
                      "HOOKGATE_SHUTDOWN_TIMEOUT_MS",
                active);
    event_base_loopbreak(drain.base);
}

/* NOTE: a request counts as in progress only once its whole body arrived,
 * so one whose body is still being received when the drain ends is cut. */
void hg_service_drain(struct event_base *base, hg_http *http)
{
    hg_http_stop_accepting(http);
    if (drain.timer != NULL)
        return;
    drain.base = base;
    drain.deadline_ms = hg_mono_ms() + service_cfg->shutdown_timeout_ms;
    drain.timer = evtimer_new(base, on_drain_tick, NULL);
    if (drain.timer == NULL) {
        event_base_loopbreak(base);
        return;
    }
    on_drain_tick(-1, 0, NULL);
}

/* ---- readiness probe ---------------------------------------------------- */

/* A PING reply older than PROBE_STALE_MS makes the process not ready: two
 * missed probes plus one command deadline. */
#define PROBE_INTERVAL_MS 1000
#define PROBE_TIMEOUT_MS 2000
#define PROBE_STALE_MS (2 * PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS)

/* Upper bounds in seconds of the PING round-trip histogram. */
static const double rtt_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                     0.025,  0.05,  0.1,    0.25,  0.5,
                                     1,      2};

static struct {
    hg_prom_metric *rtt;
    hg_prom_metric *lag;
    hg_prom_metric *pending;
} probe_metrics;
static pthread_once_t probe_metrics_once = PTHREAD_ONCE_INIT;

static void declare_probe_metrics(void)
{
    hg_prom_registry *reg = hg_prom_default();
    const char *const shard[] = {"shard"};

    probe_metrics.rtt = hg_prom_declare(
        reg, HG_PROM_HISTOGRAM, "hookgate_redis_round_trip_seconds",
        "Round-trip time of the readiness probe's PING to Redis, every "
        "second.",
        0, NULL, (int)(sizeof(rtt_buckets) / sizeof(double)), rtt_buckets);
    probe_metrics.lag = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_stream_lag_entries",
        "Entries of the work stream not yet read by the consumer group "
        "(XINFO GROUPS lag), per shard.",
        1, shard, 0, NULL);
    probe_metrics.pending = hg_prom_declare(
        reg, HG_PROM_GAUGE, "hookgate_stream_pending_entries",
        "Entries read by the consumer group and not yet acknowledged "
        "(XINFO GROUPS pending), per shard.",
        1, shard, 0, NULL);
}

typedef struct probe_shard {
    struct hg_probe *probe;
    char label[12];
} probe_shard;

struct hg_probe {
    const hg_config *cfg;
    int64_t ping_sent_us;
    probe_shard *shards; /* work_shards entries when group is set */
    hg_redis *redis;
    struct event *timer;
    const char *group;
    int pending; /* commands of the current round not yet completed */
    int groups_found;
    _Atomic int64_t last_pong_ms;
    atomic_bool groups_ok;
};

static void probe_round_end(hg_probe *p)
{
    struct timeval tv = {0, PROBE_INTERVAL_MS * 1000};

    if (--p->pending > 0)
        return;
    if (p->group != NULL) {
        bool ok = p->groups_found == p->cfg->work_shards;

        if (ok != atomic_load(&p->groups_ok))
            hg_info(NULL, "consumer group %s is %s on every work shard",
                    p->group, ok ? "now present" : "missing");
        atomic_store(&p->groups_ok, ok);
    }
    evtimer_add(p->timer, &tv);
}

static void on_probe_pong(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    hg_probe *p = arg;

    if (status == HG_REDIS_OK && reply->type == REDIS_REPLY_STATUS) {
        atomic_store(&p->last_pong_ms, hg_mono_ms());
        hg_prom_observe(probe_metrics.rtt, NULL,
                        (double)(hg_mono_us() - p->ping_sent_us) / 1e6);
    }
    probe_round_end(p);
}

/* Sets the lag and pending gauges from one group's flat name/value array.
 * Redis 7.0 and later report "lag", which is nil when Redis cannot compute
 * it; the gauge keeps its last value then. */
static void set_stream_gauges(const redisReply *group, const char *shard)
{
    const char *labels[] = {shard};

    if (group == NULL || group->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < group->elements; i += 2) {
        const char *field = hg_reply_str(group, i, NULL);
        const redisReply *value = group->element[i + 1];

        if (field == NULL || value->type != REDIS_REPLY_INTEGER)
            continue;
        if (strcmp(field, "lag") == 0)
            hg_prom_set(probe_metrics.lag, labels, (double)value->integer);
        else if (strcmp(field, "pending") == 0)
            hg_prom_set(probe_metrics.pending, labels,
                        (double)value->integer);
    }
}

/* XINFO GROUPS returns an array of groups, each a flat name/value array
 * starting with "name". A missing stream gives an error reply. */
static void on_probe_groups(hg_redis_status status, redisReply *reply,
                            void *arg)
{
    probe_shard *shard = arg;
    hg_probe *p = shard->probe;

    for (size_t i = 0; status == HG_REDIS_OK &&
                       reply->type == REDIS_REPLY_ARRAY && i < reply->elements;
         i++) {
        const char *name = hg_reply_str(hg_reply_elem(reply, i), 1, NULL);

        if (name != NULL && strcmp(name, p->group) == 0) {
            p->groups_found++;
            set_stream_gauges(hg_reply_elem(reply, i), shard->label);
            break;
        }
    }
    probe_round_end(p);
}

static void on_probe_tick(evutil_socket_t fd, short what, void *arg)
{
    hg_probe *p = arg;
    char key[HG_KEY_MAX];

    (void)fd;
    (void)what;
    p->pending = 1;
    p->groups_found = 0;
    if (p->group != NULL)
        p->pending += p->cfg->work_shards;
    p->ping_sent_us = hg_mono_us();
    hg_redis_command(p->redis, PROBE_TIMEOUT_MS, on_probe_pong, p, "PING");
    for (int i = 0; p->group != NULL && i < p->cfg->work_shards; i++)
        hg_redis_command(p->redis, PROBE_TIMEOUT_MS, on_probe_groups,
                         &p->shards[i], "XINFO GROUPS %s",
                         hg_key_work(key, i));
}

hg_probe *hg_probe_new(struct event_base *base, const hg_config *cfg,
                       const char *name, const char *group)
{
    hg_probe *p = calloc(1, sizeof(*p));
    hg_redis_options o = {
        .name = name,
        .command_timeout_ms = PROBE_TIMEOUT_MS,
        .connect_timeout_ms = PROBE_TIMEOUT_MS,
        .max_inflight = 64,
    };
    struct timeval now = {0, 0};

    if (p == NULL)
        return NULL;
    pthread_once(&probe_metrics_once, declare_probe_metrics);
    p->cfg = cfg;
    p->group = group;
    if (group != NULL) {
        p->shards = calloc((size_t)cfg->work_shards, sizeof(probe_shard));
        if (p->shards == NULL) {
            free(p);
            return NULL;
        }
        for (int i = 0; i < cfg->work_shards; i++) {
            p->shards[i].probe = p;
            snprintf(p->shards[i].label, sizeof(p->shards[i].label), "%d",
                     i);
        }
    }
    atomic_store(&p->last_pong_ms, INT64_MIN / 2);
    p->redis = hg_redis_new(base, &cfg->redis, &o);
    p->timer = evtimer_new(base, on_probe_tick, p);
    if (p->redis == NULL || p->timer == NULL) {
        hg_probe_free(p);
        return NULL;
    }
    evtimer_add(p->timer, &now);
    return p;
}

const char *hg_probe_readiness(const hg_probe *p)
{
    if (hg_service_stopping())
        return "shutting down";
    if (hg_mono_ms() - atomic_load(&p->last_pong_ms) > PROBE_STALE_MS) {
        /* Per thread, because several threads serve /readyz. */
        static _Thread_local char reason[300];
        char last_error[200];

        hg_redis_last_error(p->redis, last_error, sizeof(last_error));
        if (last_error[0] == '\0')
            return "redis did not answer a PING in the last 4 seconds";
        snprintf(reason, sizeof(reason),
                 "redis did not answer a PING in the last 4 seconds; the "
                 "last connection attempt failed: %s",
                 last_error);
        return reason;
    }
    if (p->group != NULL && !atomic_load(&p->groups_ok))
        return "the consumer group is missing on a work shard";
    return NULL;
}

void hg_probe_free(hg_probe *p)
{
    if (p == NULL)
        return;
    if (p->timer != NULL)
        event_free(p->timer);
    p->timer = NULL;
    /* Pending commands complete inside hg_redis_free; their callbacks
     * must not re-arm the freed timer. */
    p->group = NULL;
    p->pending = 1 << 20;
    hg_redis_free(p->redis);
    free(p->shards);
    free(p);
}
