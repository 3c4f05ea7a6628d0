/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/log.h"

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

char *hg_audit_record(const char *actor, const char *action,
                      const char *target, const char *request_id,
                      const char *integration_id, json_t *details)
{
    char now[HG_TIME_BUF];
    json_t *record;
    char *text;

    record = json_pack("{s:s, s:s, s:s, s:s, s:s}", "at",
                       hg_time_format(hg_time_ms(), now), "actor",
                       actor != NULL && actor[0] ? actor : "anonymous",
                       "action", action, "target", target ? target : "",
                       "request_id", request_id ? request_id : "");
    if (record == NULL) {
        json_decref(details);
        return NULL;
    }
    json_object_set_new(record, "integration_id",
                        integration_id ? json_string(integration_id)
                                       : json_null());
    json_object_set_new(record, "details", details ? details : json_object());
    text = json_dumps(record, JSON_COMPACT);
    json_decref(record);
    return text;
}

void hg_audit_append(hg_redis *redis, const char *stream, const char *action,
                     const char *actor, const char *record)
{
    const char *argv[] = {"XADD", stream, "MAXLEN", "~", AUDIT_MAXLEN, "*",
                          "a",    action, "u",      actor, "j", record};

    hg_redis_command_argv(redis, 0, on_written, strdup(action), 12, argv,
                          NULL);
}
