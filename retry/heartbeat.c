/* SPDX-License-Identifier: MIT
 *
 * The worker heartbeat behind the status page's "delivery" component:
 * every HEARTBEAT_MS this worker writes its consumer name into the sorted
 * set hg:{status}:workers, scored by the time in milliseconds, and trims
 * entries older than an hour. Within TICK_MS of a stop signal it removes
 * its own entry, and a worker that stops before that tick removes it
 * before it exits (retry_heartbeat_stop), so a clean stop shows at the
 * page's next refresh. A
 * crashed worker ages out after the inspector's
 * HOOKGATE_STATUS_WORKER_STALE_MS. The heartbeat has
 * its own Redis connection, so a busy dispatcher cannot delay it.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/service.h"
#include "retry/retry.h"

#define HEARTBEAT_MS 2000
/* The tick notices a stop signal within this time. */
#define TICK_MS 250
#define KEEP_MS (3600 * 1000)

typedef struct heartbeat {
    hg_redis *redis;
    struct event *tick;
    char worker[128];
    int64_t last_ms;
    bool removed;
} heartbeat;

static heartbeat *beat;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    heartbeat *h = arg;
    int64_t now = hg_time_ms();
    char score[24], oldest[24];

    (void)fd;
    (void)what;
    if (h->removed)
        return;
    if (hg_service_stopping()) {
        h->removed = true;
        hg_redis_command(h->redis, 0, NULL, NULL, "ZREM %s %s",
                         RETRY_KEY_WORKERS, h->worker);
        return;
    }
    if (now - h->last_ms < HEARTBEAT_MS || !hg_redis_ready(h->redis))
        return;
    h->last_ms = now;
    snprintf(score, sizeof(score), "%lld", (long long)now);
    snprintf(oldest, sizeof(oldest), "(%lld", (long long)(now - KEEP_MS));
    hg_redis_command(h->redis, 0, NULL, NULL, "ZADD %s %s %s",
                     RETRY_KEY_WORKERS, score, h->worker);
    hg_redis_command(h->redis, 0, NULL, NULL, "ZREMRANGEBYSCORE %s -inf %s",
                     RETRY_KEY_WORKERS, oldest);
}

void retry_heartbeat_start(struct event_base *base, const hg_config *cfg,
                           const char *worker)
{
    struct timeval every = {0, TICK_MS * 1000};
    hg_redis_options o = {
        .name = "heartbeat",
        .command_timeout_ms = cfg->redis_timeout_ms,
        .connect_timeout_ms = cfg->redis_timeout_ms,
        .max_inflight = 64,
        .scripts = hg_scripts_all,
    };

    if (beat != NULL || worker == NULL)
        return;
    beat = calloc(1, sizeof(*beat));
    if (beat == NULL)
        return;
    snprintf(beat->worker, sizeof(beat->worker), "%s", worker);
    beat->redis = hg_redis_new(base, &cfg->redis, &o);
    beat->tick = event_new(base, -1, EV_PERSIST, on_tick, beat);
    if (beat->redis == NULL || beat->tick == NULL) {
        hg_warn(NULL, "cannot start the worker heartbeat; the status page "
                      "will not count this worker");
        retry_heartbeat_free();
        return;
    }
    event_add(beat->tick, &every);
}

typedef struct stop_wait {
    void (*done)(void *arg);
    void *arg;
} stop_wait;

static void on_removed(hg_redis_status status, redisReply *reply, void *arg)
{
    stop_wait *w = arg;

    (void)status;
    (void)reply;
    w->done(w->arg);
    free(w);
}

void retry_heartbeat_stop(void (*done)(void *arg), void *arg)
{
    stop_wait *w;

    if (beat == NULL || beat->removed || !hg_redis_ready(beat->redis) ||
        (w = malloc(sizeof(*w))) == NULL) {
        done(arg);
        return;
    }
    w->done = done;
    w->arg = arg;
    beat->removed = true;
    /* At most a second: the page drops a silent worker later anyway. */
    hg_redis_command(beat->redis, 1000, on_removed, w, "ZREM %s %s",
                     RETRY_KEY_WORKERS, beat->worker);
}

void retry_heartbeat_free(void)
{
    if (beat == NULL)
        return;
    if (beat->tick != NULL)
        event_free(beat->tick);
    hg_redis_free(beat->redis);
    free(beat);
    beat = NULL;
}
