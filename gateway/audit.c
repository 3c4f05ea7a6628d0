/* SPDX-License-Identifier: MIT
 *
 * The audit log: every change made through the API is recorded with who
 * (the caller's actor), what (action and target), when, and the request id,
 * in a stream per integration (hg:{I}:audit), and in the global stream
 * hg:{admin}:audit for changes made with the admin key or to integrations
 * as a whole. Records are written after the change succeeded; a Redis
 * failure at that moment is logged, not retried. The routes that list the
 * records are in api_history.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keys.h"
#include "common/log.h"
#include "gateway/gateway.h"

#define AUDIT_MAXLEN "100000"

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
