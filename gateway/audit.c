/* SPDX-License-Identifier: MIT
 *
 * The audit log: every change made through the API is recorded with who
 * (the caller's actor), what (action and target), when, and the request id,
 * in a stream per integration (hg:{I}:audit), and in the global stream
 * hg:{admin}:audit for changes made with the admin key or to integrations
 * as a whole. Records are written after the change succeeded; a Redis
 * failure at that moment is logged, not retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/scripts.h"
#include "gateway/gateway.h"

#define AUDIT_MAXLEN "100000"
#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 500

static void on_written(hg_redis_status status, redisReply *reply, void *arg)
{
    char *action = arg;
    hg_log_fields f = {0};

    if (status != HG_REDIS_OK || hg_reply_is_error(reply)) {
        f.error = status != HG_REDIS_OK ? hg_redis_status_text(status)
                                        : reply->str;
        hg_error(&f, "writing the audit record of %s failed", action);
    }
    free(action);
}

static void append(gw_thread *t, const char *stream, const char *action,
                   const char *actor, const char *record)
{
    const char *argv[] = {"XADD", stream, "MAXLEN", "~", AUDIT_MAXLEN, "*",
                          "a",    action, "u",      actor, "j", record};

    hg_redis_command_argv(t->redis, 0, on_written, strdup(action), 12, argv,
                          NULL);
}

void gw_audit(hg_req *r, const char *integration_id, const char *action,
              const char *target, json_t *details)
{
    gw_thread *t = hg_req_thread(r);
    char now[HG_TIME_BUF], stream[HG_KEY_MAX];
    json_t *record;
    char *text;

    record = json_pack("{s:s, s:s, s:s, s:s, s:s}", "at",
                       hg_time_format(hg_time_ms(), now), "actor",
                       r->auth_actor[0] ? r->auth_actor : "anonymous",
                       "action", action, "target", target ? target : "",
                       "request_id", r->request_id);
    json_object_set_new(record, "integration_id",
                        integration_id ? json_string(integration_id)
                                       : json_null());
    json_object_set_new(record, "details", details ? details : json_object());
    text = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    if (text == NULL)
        return;
    if (integration_id != NULL)
        append(t, hg_key(stream, integration_id, "audit"), action,
               r->auth_actor, text);
    if (integration_id == NULL || r->auth_admin ||
        strncmp(action, "integration.", 12) == 0)
        append(t, HG_KEY_AUDIT, action, r->auth_actor, text);
    free(text);
}

/* Converts an RFC 3339 time or milliseconds into a stream id bound. */
static bool time_bound(const char *text, const char *suffix, char *out,
                       size_t cap)
{
    long long ms;

    if (text == NULL)
        return false;
    if (!gw_parse_time(text, &ms))
        return false;
    snprintf(out, cap, "%lld%s", ms, suffix);
    return true;
}

static void on_list(hg_redis_status status, redisReply *reply, void *arg)
{
    hg_req *r = arg;

    if (!gw_redis_failed(r, status, reply)) {
        const char *next = hg_reply_str(reply, 0, NULL);
        json_t *items = json_array();

        for (size_t i = 1; i < reply->elements; i++) {
            size_t len;
            const char *text = hg_reply_str(reply, i, &len);
            json_t *item = text ? json_loadb(text, len, 0, NULL) : NULL;

            if (item != NULL)
                json_array_append_new(items, item);
        }
        hg_reply_json(r, 200,
                      json_pack("{s:o, s:o}", "data", items, "next_cursor",
                                next && next[0] ? json_string(next)
                                                : json_null()));
    }
    hg_req_release(r);
}

/* Lists records of stream; query: action (prefix), actor, since, until,
 * limit, cursor. */
static void list_stream(hg_req *r, const char *stream)
{
    gw_thread *t = hg_req_thread(r);
    const char *action = hg_req_query(r, "action");
    const char *actor = hg_req_query(r, "actor");
    const char *cursor = hg_req_query(r, "cursor");
    const char *since = hg_req_query(r, "since");
    const char *until = hg_req_query(r, "until");
    char from[64] = "+", to[64] = "-", limit[16];
    int n;

    if (!gw_query_limit(r, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, &n))
        return;
    if ((since && !time_bound(since, "-0", to, sizeof(to))) ||
        (until && !time_bound(until, "-18446744073709551615", from,
                              sizeof(from)))) {
        hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                         "\"since\" and \"until\" must be RFC 3339 times");
        return;
    }
    if (cursor != NULL) {
        if (strlen(cursor) > 40 || strspn(cursor, "0123456789-") !=
                                       strlen(cursor)) {
            hg_reply_problem(r, HG_E_VALIDATION_ERROR,
                             "\"cursor\" must be the next_cursor of a "
                             "previous page");
            return;
        }
        snprintf(from, sizeof(from), "(%s", cursor);
    }
    snprintf(limit, sizeof(limit), "%d", n);
    const char *argv[] = {stream, from, to, limit, action ? action : "",
                          actor ? actor : ""};
    hg_req_async(r, gw_config->redis_timeout_ms + 1000);
    hg_redis_eval(t->redis, &hg_script_audit_list, 0, on_list, r, 1, 6, argv,
                  NULL);
}

static void list_integration_authorized(hg_req *r)
{
    char stream[HG_KEY_MAX];

    list_stream(r, hg_key(stream, r->params[0], "audit"));
}

void gw_list_audit(hg_req *r)
{
    if (gw_check_integration_param(r, r->params[0]))
        gw_authorize(r, r->params[0], SCOPE_MANAGE,
                     list_integration_authorized);
}

static void list_global_authorized(hg_req *r)
{
    list_stream(r, HG_KEY_AUDIT);
}

void gw_list_global_audit(hg_req *r)
{
    gw_authorize(r, NULL, SCOPE_ALL, list_global_authorized);
}
