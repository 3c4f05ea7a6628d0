/* SPDX-License-Identifier: MIT
 *
 * The inspector's JSON API: recent activity (the page's initial list),
 * one event with its deliveries and every attempt, and the raw payload.
 * Every route checks that the caller may see the integration or sink
 * involved. The sink routes are in sink_api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/keys.h"
#include "common/scripts.h"
#include "common/views.h"
#include "inspector/inspector.h"

#define ACTIVITY_DEFAULT 200
#define ACTIVITY_MAX 1000

static int query_int(const hg_req *r, const char *name, int fallback, int lo,
                     int hi)
{
    const char *v = hg_req_query(r, name);
    char *end;
    long n;

    if (v == NULL)
        return fallback;
    n = strtol(v, &end, 10);
    if (*end != '\0' || n < lo)
        return fallback;
    return n > hi ? hi : (int)n;
}

/* ---- activity ----------------------------------------------------------- */

/* The shared stream's last generated id, read just before the records. */
typedef struct activity_read {
    char last_id[48];
} activity_read;

static void on_stream_info(hg_redis_status status, redisReply *reply,
                           void *arg)
{
    hg_req *r = arg;
    activity_read *a = r->data;

    /* A missing stream is an error reply; the feed then starts at 0-0. */
    for (size_t i = 0; status == HG_REDIS_OK &&
                       reply->type == REDIS_REPLY_ARRAY &&
                       i + 1 < reply->elements;
         i += 2) {
        const char *name = hg_reply_str(reply, i, NULL);
        const char *value = hg_reply_str(reply, i + 1, NULL);

        if (name != NULL && value != NULL &&
            strcmp(name, "last-generated-id") == 0)
            snprintf(a->last_id, sizeof(a->last_id), "%s", value);
    }
    hg_req_release(r);
}

static void on_activity(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    activity_read *a = r->data;
    int limit = query_int(r, "limit", ACTIVITY_DEFAULT, 1, ACTIVITY_MAX);
    json_t *entries = json_array();

    if (insp_redis_failed(r, status, reply)) {
        json_decref(entries);
        hg_req_release(r);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *entry = hg_reply_elem(reply, i);
        const redisReply *fields = hg_reply_elem(entry, 1);
        const char *id = hg_reply_str(entry, 0, NULL);
        const char *integration = NULL, *sink = NULL, *json = NULL;
        size_t json_len = 0;

        for (size_t k = 0; fields && k + 1 < fields->elements; k += 2) {
            const char *name = hg_reply_str(fields, k, NULL);
            size_t len;
            const char *value = hg_reply_str(fields, k + 1, &len);

            if (name == NULL || value == NULL)
                continue;
            if (strcmp(name, "i") == 0)
                integration = value;
            else if (strcmp(name, "s") == 0)
                sink = value;
            else if (strcmp(name, "j") == 0) {
                json = value;
                json_len = len;
            }
        }
        /* An integration's own stream holds only its records. */
        if (id == NULL || json == NULL ||
            (insp_may_see_all(r) &&
             !(sink ? insp_may_see_sink(r, sink)
                    : insp_may_see(r, integration))))
            continue;

        json_t *record = json_loadb(json, json_len, 0, NULL);

        if (record == NULL)
            continue;
        json_object_set_new(record, "id", json_string(id));
        json_array_append_new(entries, record);
        if ((int)json_array_size(entries) >= limit)
            break;
    }
    /* last_id is where a live feed opened now must start (?since=): the
     * newest id the shared stream generated, also when its newest entries
     * were deleted with an integration or belong to an integration the
     * caller cannot see. An id of a visible record, or of the caller's own
     * stream, could be older than an XDEL, and the feed would then send a
     * reset for every open from it. */
    hg_reply_json(r, 200,
                  json_pack("{s:o, s:o}", "entries", entries, "last_id",
                            a->last_id[0] ? json_string(a->last_id)
                                          : json_null()));
    hg_req_release(r);
}

/* Admins and support staff read the shared activity stream; an
 * integration reads its own copy, so its records show however busy other
 * integrations are. */
static void activity_authorized(hg_req *r)
{
    int limit = query_int(r, "limit", ACTIVITY_DEFAULT, 1, ACTIVITY_MAX);
    char count[16], own[HG_KEY_MAX];
    activity_read *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        hg_reply_problem(r, HG_E_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->data = a;
    r->data_free = free;
    snprintf(count, sizeof(count), "%d", limit);
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    /* Read first, so no record added in between is missed: the list may
     * then end after last_id, and the feed repeats those records, which
     * the page merges by id. */
    hg_req_hold(r);
    hg_redis_command(insp->redis, 0, on_stream_info, r, "XINFO STREAM %s",
                     HG_KEY_ACTIVITY);
    hg_redis_command(insp->redis, 0, on_activity, r,
                     "XREVRANGE %s + - COUNT %s",
                     insp_may_see_all(r)
                         ? HG_KEY_ACTIVITY
                         : hg_key(own, r->auth_integration, "activity"),
                     count);
}

void insp_activity(hg_req *r)
{
    insp_authorize(r, activity_authorized);
}

/* ---- events ------------------------------------------------------------- */

static bool check_event_params(hg_req *r)
{
    if (!hg_integration_id_valid(r->params[0]) ||
        !hg_id_valid("evt_", r->params[1])) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
        return false;
    }
    if (!insp_may_see(r, r->params[0])) {
        hg_reply_problem(r, HG_E_FORBIDDEN,
                         "these credentials cannot see integration %s",
                         r->params[0]);
        return false;
    }
    return true;
}

static void on_event(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;
    json_t *event;

    if (insp_redis_failed(r, status, reply)) {
        /* already replied */
    } else if ((event = hg_view_event(reply, true)) == NULL) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
    } else {
        json_object_set_new(event, "integration_id",
                            json_string(r->params[0]));
        hg_reply_json(r, 200, event);
    }
    hg_req_release(r);
}

static void event_authorized(hg_req *r)
{
    char key[HG_KEY_MAX];
    const char *argv[] = {hg_key_id(key, r->params[0], "evt", r->params[1]),
                          r->params[0], "1"};

    if (!check_event_params(r))
        return;
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_eval(insp->redis, &hg_script_event_detail, 0, on_event, r, 1, 3,
                  argv, NULL);
}

void insp_event(hg_req *r)
{
    insp_authorize(r, event_authorized);
}

static void on_payload(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (insp_redis_failed(r, status, reply)) {
        /* already replied */
    } else if (reply->type != REDIS_REPLY_STRING) {
        hg_reply_problem(r, HG_E_NOT_FOUND, "event %s does not exist",
                         r->params[1]);
    } else {
        hg_reply(r, 200, "application/json", reply->str, reply->len);
    }
    hg_req_release(r);
}

static void payload_authorized(hg_req *r)
{
    char key[HG_KEY_MAX];

    if (!check_event_params(r))
        return;
    hg_req_async(r, insp->cfg->redis_timeout_ms + 1000);
    hg_redis_command(insp->redis, 0, on_payload, r, "HGET %s payload",
                     hg_key_id(key, r->params[0], "evt", r->params[1]));
}

void insp_event_payload(hg_req *r)
{
    insp_authorize(r, payload_authorized);
}
