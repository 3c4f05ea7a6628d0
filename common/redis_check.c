/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/redis_check.h"

typedef struct check_state {
    hg_redis *redis;
    hg_redis_check_cb done;
    void *arg;
    char appendonly[16];
} check_state;

const char *hg_redis_durability_problem(const char *appendonly,
                                        const char *policy)
{
    if (appendonly != NULL && strcmp(appendonly, "yes") != 0)
        return "Redis runs without the append-only file (appendonly no), so "
               "a restart loses accepted events; run CONFIG SET appendonly "
               "yes (and CONFIG REWRITE), or set "
               "HOOKGATE_ALLOW_UNSAFE_REDIS=1 to accept the risk";
    if (policy != NULL && strcmp(policy, "noeviction") != 0)
        return "Redis may evict keys under memory pressure "
               "(maxmemory-policy is not noeviction), which drops queued "
               "deliveries; run CONFIG SET maxmemory-policy noeviction, or "
               "set HOOKGATE_ALLOW_UNSAFE_REDIS=1 to accept the risk";
    return NULL;
}

/* Returns the value of a CONFIG GET reply ([name, value]), or NULL. */
static const char *config_value(hg_redis_status status,
                                const redisReply *reply)
{
    if (status != HG_REDIS_OK || reply->type != REDIS_REPLY_ARRAY)
        return NULL;
    return hg_reply_str(reply, 1, NULL);
}

static void finish(check_state *s, const char *problem)
{
    s->done(true, problem, s->arg);
    free(s);
}

static void on_policy(hg_redis_status status, redisReply *reply, void *arg)
{
    check_state *s = arg;
    const char *policy = config_value(status, reply);

    if (status != HG_REDIS_OK) {
        /* The caller checks again when the connection is back. */
        s->done(false, NULL, s->arg);
        free(s);
        return;
    }
    if (policy == NULL) {
        hg_warn(NULL, "cannot read maxmemory-policy from Redis; make sure "
                      "it is noeviction");
        finish(s, hg_redis_durability_problem(s->appendonly, NULL));
        return;
    }
    finish(s, hg_redis_durability_problem(s->appendonly, policy));
}

static void on_appendonly(hg_redis_status status, redisReply *reply,
                          void *arg)
{
    check_state *s = arg;
    const char *value = config_value(status, reply);

    if (status != HG_REDIS_OK) {
        s->done(false, NULL, s->arg);
        free(s);
        return;
    }
    if (value == NULL) {
        /* Managed services often rename or refuse CONFIG. */
        hg_warn(NULL, "cannot read the Redis configuration (%s); make sure "
                      "appendonly is yes and maxmemory-policy is noeviction",
                reply->type == REDIS_REPLY_ERROR ? reply->str
                                                 : "unexpected reply");
        finish(s, NULL);
        return;
    }
    snprintf(s->appendonly, sizeof(s->appendonly), "%s", value);
    hg_redis_command(s->redis, 0, on_policy, s,
                     "CONFIG GET maxmemory-policy");
}

void hg_redis_check_durability(hg_redis *r, hg_redis_check_cb done,
                               void *arg)
{
    check_state *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        done(false, NULL, arg);
        return;
    }
    s->redis = r;
    s->done = done;
    s->arg = arg;
    hg_redis_command(r, 0, on_appendonly, s, "CONFIG GET appendonly");
}
