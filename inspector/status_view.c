/* SPDX-License-Identifier: MIT
 *
 * Builds incident and maintenance window objects from their Redis hashes;
 * see status_view.h. The components and updates are stored as JSON text
 * written by the gateway, so a value that does not parse is left out
 * rather than failing the whole response.
 */
#include <stdlib.h>
#include <string.h>

#include "inspector/status_view.h"

const char *const hg_status_components[] = {
    "gateway", "delivery", "inspector", "redis", NULL,
};

const char *hg_status_field(const redisReply *fields, const char *name)
{
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        const redisReply *v = fields->element[i + 1];

        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return v->str;
    }
    return NULL;
}

static json_t *string_or_empty(const redisReply *fields, const char *name)
{
    const char *v = hg_status_field(fields, name);

    return json_string(v ? v : "");
}

static json_t *components_json(const redisReply *fields)
{
    const char *text = hg_status_field(fields, "components");
    json_t *list = text ? json_loads(text, 0, NULL) : NULL;

    if (!json_is_array(list)) {
        json_decref(list);
        return json_array();
    }
    return list;
}

json_t *hg_status_incident_json(const redisReply *fields,
                                const redisReply *updates)
{
    const char *id = hg_status_field(fields, "id");
    const char *resolved = hg_status_field(fields, "resolved_at");
    json_t *list = json_array();
    json_t *out;

    if (id == NULL) {
        json_decref(list);
        return NULL;
    }
    for (size_t i = 0; updates && updates->type == REDIS_REPLY_ARRAY &&
                       i < updates->elements;
         i++) {
        const redisReply *u = updates->element[i];
        json_t *update = u->type == REDIS_REPLY_STRING
                             ? json_loadb(u->str, u->len, 0, NULL)
                             : NULL;

        if (json_is_object(update))
            json_array_append_new(list, update);
        else
            json_decref(update);
    }
    out = json_object();
    json_object_set_new(out, "id", json_string(id));
    json_object_set_new(out, "title", string_or_empty(fields, "title"));
    json_object_set_new(out, "status", string_or_empty(fields, "status"));
    json_object_set_new(out, "impact", string_or_empty(fields, "impact"));
    json_object_set_new(out, "components", components_json(fields));
    json_object_set_new(out, "created_at",
                        string_or_empty(fields, "created_at"));
    json_object_set_new(out, "updated_at",
                        string_or_empty(fields, "updated_at"));
    json_object_set_new(out, "resolved_at",
                        resolved && resolved[0] ? json_string(resolved)
                                                : json_null());
    json_object_set_new(out, "updates", list);
    return out;
}

json_t *hg_status_window_json(const redisReply *fields, int64_t now_ms)
{
    const char *id = hg_status_field(fields, "id");
    const char *starts = hg_status_field(fields, "starts_ms");
    const char *ends = hg_status_field(fields, "ends_ms");
    long long s, e;
    const char *state;
    json_t *out;

    if (id == NULL || starts == NULL || ends == NULL)
        return NULL;
    s = atoll(starts);
    e = atoll(ends);
    state = now_ms >= e ? "completed"
            : now_ms >= s ? "in_progress"
                          : "scheduled";
    out = json_object();
    json_object_set_new(out, "id", json_string(id));
    json_object_set_new(out, "title", string_or_empty(fields, "title"));
    json_object_set_new(out, "description",
                        string_or_empty(fields, "description"));
    json_object_set_new(out, "starts_at",
                        string_or_empty(fields, "starts_at"));
    json_object_set_new(out, "ends_at", string_or_empty(fields, "ends_at"));
    json_object_set_new(out, "components", components_json(fields));
    json_object_set_new(out, "state", json_string(state));
    json_object_set_new(out, "created_at",
                        string_or_empty(fields, "created_at"));
    json_object_set_new(out, "updated_at",
                        string_or_empty(fields, "updated_at"));
    return out;
}
