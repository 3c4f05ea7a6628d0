/* SPDX-License-Identifier: MIT
 *
 * Delivery routes: one delivery with all its attempts, a manual
 * redelivery that queues one more attempt now with the same webhook-id, and
 * the replay of an event, which does that for each of its deliveries.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "common/views.h"
#include "gateway/gateway.h"

bool gw_delivery_id_valid(const char *s)
{
    char event_id[HG_ID_MAX];
    const char *sep;
    size_t body;

    if (strncmp(s, "dlv_", 4) != 0)
        return false;
    sep = strchr(s + 4, '_');
    body = sep ? (size_t)(sep - s - 4) : 0;
    if (body != HG_ID_BODY_LEN || sep[1] == '\0' || strlen(sep + 1) > 6 ||
        strspn(sep + 1, "0123456789") != strlen(sep + 1))
        return false;
    snprintf(event_id, sizeof(event_id), "evt_%.*s", (int)body, s + 4);
    return hg_id_valid("evt_", event_id);
}

static void on_delivery(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "delivery %s does not exist",
                         r->params[1]);
    } else {
        json_t *out = hg_view_delivery(hg_reply_elem(reply, 0));
        json_t *attempts = hg_view_attempts(hg_reply_elem(reply, 1));

        json_object_set_new(out, "attempts", attempts);
        hg_reply_json(r, 200, out);
    }
    hg_req_release(r);
}

static void get_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char k_dlv[HG_KEY_MAX], k_att[HG_KEY_MAX];
    const char *argv[] = {
        hg_key_id(k_dlv, r->params[0], "dlv", r->params[1]),
        hg_key_id(k_att, r->params[0], "att", r->params[1]),
    };

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_delivery_detail, 0, on_delivery, r, 2,
                  2, argv, NULL);
}

static bool check_delivery_param(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return false;
    if (!gw_delivery_id_valid(r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "delivery %s does not exist",
                         r->params[1]);
        return false;
    }
    return true;
}

void gw_get_delivery(hg_req *r)
{
    if (check_delivery_param(r))
        gw_authorize(r, r->params[0], SCOPE_READ, get_authorized);
}

static void on_redeliver(hg_redis_status status, redisReply *reply,
                         void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);
    const char *endpoint = hg_reply_str(reply, 1, NULL);

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (result == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(result, "missing") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "delivery %s does not exist",
                         r->params[1]);
    } else if (strcmp(result, "endpoint_deleted") == 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "the endpoint %s of delivery %s was deleted, so "
                         "nothing would be sent; publish the event again "
                         "to reach the current endpoints",
                         endpoint ? endpoint : "", r->params[1]);
    } else if (strcmp(result, "endpoint_disabled") == 0) {
        hg_reply_problem(r, HG_E_CONFLICT,
                         "the endpoint %s of delivery %s is disabled; enable "
                         "it (POST .../endpoints/%s/enable), then redeliver",
                         endpoint ? endpoint : "", r->params[1],
                         endpoint ? endpoint : "");
    } else {
        hg_log_fields f = {.integration_id = r->params[0],
                           .delivery_id = r->params[1],
                           .correlation_id = r->request_id};

        hg_info(&f, "redelivery queued");
        gw_audit(r, r->params[0], "delivery.redeliver", r->params[1], NULL);
        hg_reply_json(r, 202, json_pack("{s:s, s:s}", "delivery_id",
                                        r->params[1], "status", "queued"));
    }
    hg_req_release(r);
}

static void redeliver_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char k_dlv[HG_KEY_MAX], k_work[HG_KEY_MAX];
    const char *argv[] = {
        hg_key_id(k_dlv, r->params[0], "dlv", r->params[1]),
        hg_key_work(k_work, hg_shard_of(r->params[0],
                                        gw_config->work_shards)),
        r->params[0],
        r->params[1],
    };

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_redeliver, 0, on_redeliver, r, 2, 4,
                  argv, NULL);
}

void gw_redeliver(hg_req *r)
{
    if (check_delivery_param(r))
        gw_authorize(r, r->params[0], SCOPE_MANAGE | SCOPE_OPERATE,
                     redeliver_authorized);
}

static void on_replay(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    const char *result = hg_reply_str(reply, 0, NULL);

    if (gw_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (result == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "unexpected store reply");
    } else if (strcmp(result, "missing") == 0) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
    } else {
        hg_log_fields f = {.integration_id = r->params[0],
                           .event_id = r->params[1],
                           .correlation_id = r->request_id};
        json_t *deliveries = json_array();

        for (size_t i = 1; i < reply->elements; i++) {
            const char *id = hg_reply_str(reply, i, NULL);

            if (id != NULL)
                json_array_append_new(deliveries, json_string(id));
        }
        hg_info(&f, "replay queued %zu attempts", json_array_size(deliveries));
        gw_audit(r, r->params[0], "event.replay", r->params[1],
                 json_pack("{s:O}", "deliveries", deliveries));
        hg_reply_json(r, 202,
                      json_pack("{s:s, s:o, s:s}", "event_id", r->params[1],
                                "deliveries", deliveries, "status", "queued"));
    }
    hg_req_release(r);
}

static void replay_authorized(hg_req *r)
{
    gw_thread *t = hg_req_thread(r);
    char k_evt[HG_KEY_MAX], k_work[HG_KEY_MAX];
    const char *argv[] = {
        hg_key_id(k_evt, r->params[0], "evt", r->params[1]),
        hg_key_work(k_work, hg_shard_of(r->params[0],
                                        gw_config->work_shards)),
        r->params[0],
    };

    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_replay, 0, on_replay, r, 2, 3, argv,
                  NULL);
}

void gw_replay_event(hg_req *r)
{
    if (!gw_check_integration_param(r, r->params[0]))
        return;
    if (!hg_id_valid("evt_", r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
        return;
    }
    gw_authorize(r, r->params[0], SCOPE_MANAGE | SCOPE_OPERATE,
                 replay_authorized);
}
