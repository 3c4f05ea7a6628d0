/* SPDX-License-Identifier: MIT
 *
 * Background jobs queued by the gateway (recovering an endpoint's failed or
 * dead deliveries), read with the consumer group hg-jobs and run one at a
 * time in batches. A batch reads and advances the job's cursor in one
 * script, so a job that two workers happen to run at once (after a takeover)
 * is still walked exactly once. Jobs left by a dead worker are taken over
 * after JOB_IDLE_MS.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "retry/retry.h"

#define TICK_MS 1000
#define BATCH "500"
#define JOB_IDLE_MS "60000"

struct jobs_runner {
    struct event_base *base;
    const hg_config *cfg;
    hg_redis *redis;
    const char *consumer;
    const dispatcher *gate; /* jobs wait until it is ready */
    struct event *tick;
    bool group_ready;
    bool busy;
    bool claim_next;
    int64_t prune_after_ms; /* monotonic; next deletion of idle consumers */
    char entry_id[48];
    char integration_id[64];
    char job_id[HG_ID_MAX];
};

static void arm_tick(jobs_runner *j, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(j->tick, &tv);
}

static void finish_job(jobs_runner *j)
{
    hg_redis_command(j->redis, 0, NULL, NULL, "XACK %s %s %s", HG_KEY_JOBS,
                     HG_JOBS_GROUP, j->entry_id);
    hg_redis_command(j->redis, 0, NULL, NULL, "XDEL %s %s", HG_KEY_JOBS,
                     j->entry_id);
    j->busy = false;
    arm_tick(j, 0);
}

static void run_batch(jobs_runner *j);

static void on_batch(hg_redis_status status, redisReply *reply, void *arg)
{
    jobs_runner *j = arg;
    const char *state = hg_reply_str(reply, 0, NULL);
    hg_log_fields f = {.integration_id = j->integration_id};

    if (status != HG_REDIS_OK || hg_reply_is_error(reply) || state == NULL) {
        f.error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                  : reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                              : "no reply";
        hg_warn(&f, "job %s: batch failed; the job is resumed later",
                j->job_id);
        /* The entry stays pending and is taken over after JOB_IDLE_MS. */
        j->busy = false;
        arm_tick(j, TICK_MS);
        return;
    }
    if (strcmp(state, "running") == 0) {
        run_batch(j);
        return;
    }
    if (strcmp(state, "done") == 0) {
        const redisReply *requeued = hg_reply_elem(reply, 2);

        hg_info(&f, "job %s finished: %lld deliveries queued again",
                j->job_id, requeued ? requeued->integer : 0);
    } else if (strcmp(state, "cancelled") == 0) {
        hg_info(&f, "job %s was cancelled; stopped it", j->job_id);
    }
    finish_job(j);
}

static void run_batch(jobs_runner *j)
{
    char k_job[HG_KEY_MAX], k_idx[HG_KEY_MAX], k_work[HG_KEY_MAX];
    char now[HG_TIME_BUF];
    const char *argv[] = {
        hg_key_id(k_job, j->integration_id, "job", j->job_id),
        hg_key(k_idx, j->integration_id, "dlvidx"),
        hg_key_work(k_work, hg_shard_of(j->integration_id,
                                        j->cfg->work_shards)),
        j->integration_id, BATCH, hg_time_format(hg_time_ms(), now),
    };

    hg_redis_eval(j->redis, &hg_script_recover_batch, 0, on_batch, j, 3, 6,
                  argv, NULL);
}

/* Starts the job of one [id, [field, value, ...]] entry. */
static bool start_entry(jobs_runner *j, const redisReply *entry)
{
    const char *id = hg_reply_str(entry, 0, NULL);
    const redisReply *fields = hg_reply_elem(entry, 1);
    const char *integration = NULL, *job_id = NULL;

    for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
        const char *k = hg_reply_str(fields, i, NULL);
        const char *v = hg_reply_str(fields, i + 1, NULL);

        if (k && v && strcmp(k, "i") == 0)
            integration = v;
        else if (k && v && strcmp(k, "j") == 0)
            job_id = v;
    }
    if (id == NULL || integration == NULL || job_id == NULL ||
        !hg_integration_id_valid(integration) || !hg_id_valid("job_", job_id))
        return false;
    snprintf(j->entry_id, sizeof(j->entry_id), "%s", id);
    snprintf(j->integration_id, sizeof(j->integration_id), "%s", integration);
    snprintf(j->job_id, sizeof(j->job_id), "%s", job_id);
    j->busy = true;
    run_batch(j);
    return true;
}

static void on_read(hg_redis_status status, redisReply *reply, void *arg)
{
    jobs_runner *j = arg;
    const redisReply *entries = NULL;

    if (status == HG_REDIS_OK && reply->type == REDIS_REPLY_ERROR &&
        strncmp(reply->str, "NOGROUP", 7) == 0)
        j->group_ready = false;
    if (status == HG_REDIS_OK && reply->type == REDIS_REPLY_ARRAY) {
        /* XREADGROUP: [[stream, entries]]; XAUTOCLAIM: [cursor, entries,
         * deleted]. */
        entries = hg_reply_elem(reply, 0) &&
                          hg_reply_elem(reply, 0)->type == REDIS_REPLY_ARRAY
                      ? hg_reply_elem(hg_reply_elem(reply, 0), 1)
                      : hg_reply_elem(reply, 1);
    }
    if (entries != NULL && entries->elements > 0 &&
        start_entry(j, hg_reply_elem(entries, 0)))
        return;
    arm_tick(j, TICK_MS);
}

static void on_group(hg_redis_status status, redisReply *reply, void *arg)
{
    jobs_runner *j = arg;

    j->group_ready = status == HG_REDIS_OK &&
                     (reply->type != REDIS_REPLY_ERROR ||
                      strncmp(reply->str, "BUSYGROUP", 9) == 0);
    arm_tick(j, j->group_ready ? 0 : TICK_MS);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    jobs_runner *j = arg;

    (void)fd;
    (void)what;
    /* The dispatcher is ready only once the Redis durability check
     * passed; recovery jobs write deliveries too. */
    if (j->busy || !hg_redis_ready(j->redis) ||
        dispatcher_readiness(j->gate) != NULL) {
        arm_tick(j, TICK_MS);
        return;
    }
    if (!j->group_ready) {
        hg_redis_command(j->redis, 0, on_group, j,
                         "XGROUP CREATE %s %s 0 MKSTREAM", HG_KEY_JOBS,
                         HG_JOBS_GROUP);
        return;
    }
    /* Consumers of workers that are gone, with the dispatch group's rule.
     * The jobs runner shares its worker's consumer name and heartbeat. */
    if (hg_mono_ms() >= j->prune_after_ms) {
        j->prune_after_ms = hg_mono_ms() + j->cfg->visibility_timeout_ms / 4;
        retry_prune_consumers(j->redis, j->cfg, HG_KEY_JOBS, HG_JOBS_GROUP,
                              j->consumer);
    }
    /* Alternates between new jobs and jobs left idle by a dead worker. */
    j->claim_next = !j->claim_next;
    if (j->claim_next)
        hg_redis_command(j->redis, 0, on_read, j,
                         "XAUTOCLAIM %s %s %s %s 0-0 COUNT 1", HG_KEY_JOBS,
                         HG_JOBS_GROUP, j->consumer, JOB_IDLE_MS);
    else
        hg_redis_command(j->redis, 0, on_read, j,
                         "XREADGROUP GROUP %s %s COUNT 1 STREAMS %s >",
                         HG_JOBS_GROUP, j->consumer, HG_KEY_JOBS);
}

jobs_runner *jobs_runner_new(struct event_base *base, const hg_config *cfg,
                             const dispatcher *gate)
{
    jobs_runner *j = calloc(1, sizeof(*j));
    hg_redis_options o = {
        .name = "jobs",
        .command_timeout_ms = cfg->redis_timeout_ms,
        .connect_timeout_ms = cfg->redis_timeout_ms,
        .max_inflight = 1000,
        .scripts = hg_scripts_all,
    };

    if (j == NULL)
        return NULL;
    j->base = base;
    j->cfg = cfg;
    j->gate = gate;
    j->consumer = dispatcher_consumer(gate);
    j->redis = hg_redis_new(base, &cfg->redis, &o);
    j->tick = evtimer_new(base, on_tick, j);
    arm_tick(j, TICK_MS);
    return j;
}

void jobs_runner_free(jobs_runner *j)
{
    if (j == NULL)
        return;
    hg_redis_free(j->redis);
    event_free(j->tick);
    free(j);
}
