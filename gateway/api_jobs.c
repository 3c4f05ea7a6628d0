/* SPDX-License-Identifier: MIT
 *
 * Background jobs: recovering the failed or dead deliveries of an endpoint
 * since a time. The gateway records the job and queues it; a delivery
 * worker runs it in batches (retry/jobs.c) and keeps its progress in the
 * job record, which GET .../jobs/{job_id} returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/auth.h"
#include "gateway/gateway.h"
#include "gateway/validate.h"

/* Job records are kept for a week after their creation. */
#define JOB_RETENTION_S "604800"

typedef struct recover_state {
    char job_id[HG_ID_MAX];
    char since[HG_TIME_BUF];
    char until[HG_TIME_BUF];
} recover_state;

static void on_job_created(hg_redis_status status, redisReply *reply,
                           void *arg)
{
    hg_req *r = arg;
    recover_state *s = r->data;
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *running = hg_reply_str(reply, 1, NULL);
    char location[HG_KEY_MAX];

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result != NULL && strcmp(result, "busy") == 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "endpoint %s already has an unfinished recovery "
                         "job, %s; wait for it or cancel it first",
                         r->params[1], running != NULL ? running : "");
    } else if (result != NULL && strcmp(result, "no_endpoint") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
    } else if (result == NULL || strcmp(result, "ok") != 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "integration %s does not exist",
                         r->params[0]);
    } else {
        gw_audit(r, r->params[0], "endpoint.recover", r->params[1],
                 json_pack("{s:s, s:s, s:s}", "job_id", s->job_id, "since",
                           s->since, "until", s->until));
        snprintf(location, sizeof(location),
                 "/api/v1/integrations/%s/jobs/%s", r->params[0], s->job_id);
        hg_reply_header(r, "Location", location);
        hg_reply_json(r, 202,
                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", s->job_id,
                                "type", "recover", "status", "queued",
                                "since", s->since, "until", s->until));
    }
    hg_req_release(r);
}

static void recover_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    json_t *body = gw_json_body(r);
    recover_state *s;
    gw_validate_result res;
    long long since_ms, until_ms;
    char prefix[11], cursor[32], bound[32], now[HG_TIME_BUF];
    char k_int[HG_KEY_MAX], k_job[HG_KEY_MAX], k_ep[HG_KEY_MAX];
    char k_marker[HG_KEY_MAX], marker[96];

    if (body == NULL)
        return;
    res = gw_validate_recovery(body, hg_time_ms(),
                               gw_config->event_retention_s, &since_ms,
                               &until_ms);
    json_decref(body);
    if (!res.ok) {
        hg_reply_problem(r, res.code, "%s", res.message);
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = s;
    r->data_free = free;
    hg_id_new("job_", s->job_id);
    hg_time_format(since_ms, s->since);
    hg_time_format(until_ms, s->until);
    /* The job walks delivery ids, which start with their event's time. */
    snprintf(cursor, sizeof(cursor), "[dlv_%s",
             hg_id_time_prefix(since_ms, prefix));
    snprintf(bound, sizeof(bound), "(dlv_%s",
             hg_id_time_prefix(until_ms + 1, prefix));
    hg_time_format(hg_time_ms(), now);
    snprintf(marker, sizeof(marker), "ep:%.63s:job", r->params[1]);

    const char *argv[] = {
        hg_key(k_int, r->params[0], "integration"),
        hg_key_id(k_job, r->params[0], "job", s->job_id),
        HG_KEY_JOBS,
        hg_key_id(k_ep, r->params[0], "ep", r->params[1]),
        hg_key(k_marker, r->params[0], marker),
        r->params[0], s->job_id, JOB_RETENTION_S,
        "id", s->job_id, "type", "recover", "endpoint_id", r->params[1],
        "since", s->since, "until_at", s->until, "cursor", cursor,
        "until", bound, "status", "queued", "scanned", "0", "requeued", "0",
        "created_at", now, "updated_at", now, "finished_at", "",
    };
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_job_create, 0, on_job_created, r, 5,
                  (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
}

void gw_recover_endpoint(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!gw_endpoint_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "endpoint %s does not exist",
                         r->params[1]);
        return;
    }
    gw_authorize_existing(r, r->params[0], SCOPE_MANAGE, recover_authorized);
}

/* Builds the API object of a job from its record, given as flat field and
 * value pairs from index first of reply. */
static json_t *job_json(const redisReply *reply, size_t first)
{
    json_t *out = json_object();
    static const char *const shown[] = {
        "id", "type", "endpoint_id", "since", "until_at", "status",
        "scanned", "requeued", "created_at", "updated_at", "finished_at",
        NULL,
    };

    for (int k = 0; shown[k] != NULL; k++) {
        for (size_t i = first; i + 1 < reply->elements; i += 2) {
            const char *name = hg_reply_str(reply, i, NULL);
            const char *v = hg_reply_str(reply, i + 1, NULL);

            if (name == NULL || v == NULL || strcmp(name, shown[k]) != 0)
                continue;
            if (strcmp(name, "scanned") == 0 || strcmp(name, "requeued") == 0)
                json_object_set_new(out, name, json_integer(atoll(v)));
            else if (strcmp(name, "until_at") == 0)
                json_object_set_new(out, "until", json_string(v));
            else
                json_object_set_new(out, name,
                                    v[0] ? json_string(v) : json_null());
        }
    }
    return out;
}

static void on_job(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "job %s does not exist",
                         r->params[1]);
    } else {
        hg_reply_json(r, 200, job_json(reply, 0));
    }
    hg_req_release(r);
}

static void job_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX];

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_command(t->redis, 0, on_job, r, "HGETALL %s",
                     hg_key_id(key, r->params[0], "job", r->params[1]));
}

/* Checks the integration and job ids of a job route, then authorizes the
 * caller for scope. A malformed job id gets the 404 of a missing job. */
static void authorize_job_route(hg_req *r, unsigned scope,
                                void (*next)(hg_req *r))
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!hg_id_valid("job_", r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "job %s does not exist",
                         r->params[1]);
        return;
    }
    gw_authorize_existing(r, r->params[0], scope, next);
}

void gw_get_job(hg_req *r)
{
    authorize_job_route(r, SCOPE_READ, job_authorized);
}

static void on_job_cancelled(hg_redis_status status, redisReply *reply,
                             void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply) || hg_req_done(r)) {
        /* already replied */
    } else if (result == NULL || strcmp(result, "missing") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "job %s does not exist",
                         r->params[1]);
    } else if (strcmp(result, "finished") == 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "job %s already finished, so there is nothing to "
                         "cancel",
                         r->params[1]);
    } else {
        /* A repeated cancel gets the same response, but only the first
         * one changed something worth an audit record. */
        if (strcmp(result, "ok") == 0)
            gw_audit(r, r->params[0], "job.cancel", r->params[1], NULL);
        hg_reply_json(r, 200, job_json(reply, 1));
    }
    hg_req_release(r);
}

static void cancel_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char key[HG_KEY_MAX], now[HG_TIME_BUF];
    const char *argv[] = {hg_key_id(key, r->params[0], "job", r->params[1]),
                          hg_time_format(hg_time_ms(), now), r->params[0],
                          r->params[1]};

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_job_cancel, 0, on_job_cancelled, r, 1,
                  4, argv, NULL);
}

void gw_cancel_job(hg_req *r)
{
    authorize_job_route(r, SCOPE_MANAGE, cancel_authorized);
}
